//! A SCIM 2.0 server simulator (RFC 7643/7644) written from `targets/scim.md` §4: users with the
//! enterprise extension, groups, filters, paging, PATCH, ETags, discovery, bulk, and the switches
//! that make it behave like the many real servers that implement only part of SCIM or misreport
//! what they do.
//!
//! This module owns the configuration ([`ScimSimConfig`], [`ScimSwitches`]) and starting and
//! stopping ([`ScimSim`], [`RunningScimSim`]). The directory lives in `store`, request handling in
//! `routes`, and the fault machinery, shared with other simulators, in [`crate::faults`].

mod bulk;
mod discovery;
pub mod error;
pub mod filter;
mod members;
mod patch;
mod project;
mod routes;
pub mod schema;
mod state;
mod store;
mod testapi;
mod validate;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::faults::Faults;
use crate::serve::{serve_router, ServerHandle};

pub use error::{ScimError, ScimType};
pub use state::ScimState;

/// Path under which the SCIM endpoints are served.
pub const BASE_PATH: &str = "/scim/v2";

/// How a simulator is set up when it starts.
#[derive(Clone)]
pub struct ScimSimConfig {
    /// Bearer token clients must send. An empty token turns Bearer auth off. Default: `sim-token`.
    pub token: String,
    /// User name and password accepted with HTTP Basic, when set. Default: none.
    pub basic: Option<(String, String)>,
    /// Capabilities and faults; can also be changed while running. Default: see [`ScimSwitches`].
    pub switches: ScimSwitches,
    /// Seed for ids and fault draws, so runs are reproducible. Default: 42.
    pub seed: u64,
}

impl Default for ScimSimConfig {
    fn default() -> Self {
        Self {
            token: "sim-token".into(),
            basic: None,
            switches: ScimSwitches::default(),
            seed: 42,
        }
    }
}

// Credentials stay out of logs and test output.
impl fmt::Debug for ScimSimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimSimConfig")
            .field("token", &"***")
            .field("basic", &self.basic.as_ref().map(|(user, _)| (user, "***")))
            .field("switches", &self.switches)
            .field("seed", &self.seed)
            .finish()
    }
}

/// What `/ServiceProviderConfig` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpcMode {
    /// Describes the switches truthfully.
    #[default]
    Accurate,
    /// Advertises PATCH, yet every PATCH is answered 501.
    Lying,
    /// The endpoint answers 404.
    Absent,
}

/// Capability switches (scim.md §4 switch table). Readable and writable as JSON through
/// `GET|PUT /_sim/switches`; fields left out take their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScimSwitches {
    /// Serve and advertise PATCH; off answers 501. Default: on.
    pub patch: bool,
    /// Serve and advertise `POST /Bulk`; off answers 501. Default: off.
    pub bulk: bool,
    /// Serve `ETag`/`meta.version` and honour `If-Match`; off ignores `If-Match`. Default: on.
    pub etag: bool,
    /// Serve and advertise `filter`; off answers a filtered list with 501. Default: on.
    pub filter: bool,
    /// What `/ServiceProviderConfig` says. Default: accurate.
    pub spc: SpcMode,
    /// Honour `startIndex` and `count`; off returns every match in one page. Default: on.
    pub honour_paging: bool,
    /// Cap on `count`, also the page size when `count` is absent. Default: 200.
    pub max_results: usize,
    /// Misbehave like servers that ignore RFC 7644 §3.5.2.1's SHOULD: a PATCH `add` of a
    /// member the group already lists lists it once more, and member lists are stored as sent
    /// (a PUT or seed with a member twice keeps both). A remove by value filter still takes
    /// every entry. Default: off (adding an existing member changes nothing).
    pub duplicate_member_adds: bool,
    /// Fault injection. Default: none.
    pub faults: Faults,
}

impl Default for ScimSwitches {
    fn default() -> Self {
        Self {
            patch: true,
            bulk: false,
            etag: true,
            filter: true,
            spc: SpcMode::Accurate,
            honour_paging: true,
            max_results: 200,
            duplicate_member_adds: false,
            faults: Faults::default(),
        }
    }
}

/// Entry points of the SCIM simulator.
#[derive(Debug)]
pub struct ScimSim;

impl ScimSim {
    /// Starts a simulator on `127.0.0.1` with a port chosen by the OS.
    pub async fn start(cfg: ScimSimConfig) -> io::Result<RunningScimSim> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        Self::start_on(ScimState::new(cfg), listener).await
    }

    /// Starts serving `state` on `listener` in the background (on the current Tokio runtime).
    pub async fn start_on(state: ScimState, listener: TcpListener) -> io::Result<RunningScimSim> {
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}{BASE_PATH}");
        state.set_base_url(&base_url);
        let handle = ServerHandle::spawn(listener, Self::app(state.clone()))?;
        tracing::debug!(%addr, "SCIM simulator started.");
        Ok(RunningScimSim {
            base_url,
            addr,
            state,
            handle,
        })
    }

    /// Serves a new simulator on `listener` until the task is dropped or the listener fails.
    pub async fn serve(cfg: ScimSimConfig, listener: TcpListener) -> io::Result<()> {
        Self::serve_with_shutdown(ScimState::new(cfg), listener, std::future::pending()).await
    }

    /// Serves `state` on `listener` until `shutdown` resolves.
    pub async fn serve_with_shutdown(
        state: ScimState,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let addr = listener.local_addr()?;
        state.set_base_url(&format!("http://{addr}{BASE_PATH}"));
        serve_router(listener, Self::app(state), shutdown).await
    }

    /// The router: SCIM under [`BASE_PATH`] and the test API under `/_sim`. Serve it with
    /// [`crate::serve::serve_router`] for dropped connections to be real; plain `axum::serve`
    /// answers them with a 500 instead.
    pub fn app(state: ScimState) -> axum::Router {
        routes::router(state)
    }
}

/// A simulator running in the background; dropping it stops it.
#[derive(Debug)]
pub struct RunningScimSim {
    /// SCIM base URL, e.g. `http://127.0.0.1:41234/scim/v2`.
    pub base_url: String,
    /// Address the simulator listens on.
    pub addr: SocketAddr,
    /// The simulator's state, for seeding, inspecting and switching.
    pub state: ScimState,
    handle: ServerHandle,
}

impl RunningScimSim {
    /// `http://127.0.0.1:PORT`, the root for the test API (`/_sim/...`).
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the simulator and waits until its port is released.
    pub async fn shutdown(self) -> io::Result<()> {
        self.handle.shutdown().await
    }
}

/// Runs a simulator on `127.0.0.1:port` until Ctrl-C, for `muster sim scim --port N`.
pub async fn run_until_ctrl_c(cfg: ScimSimConfig, port: u16) -> io::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let addr = listener.local_addr()?;
    tracing::info!(base_url = %format!("http://{addr}{BASE_PATH}"), "SCIM simulator listening.");
    let shutdown = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "Cannot listen for Ctrl-C; stopping.");
        }
    };
    ScimSim::serve_with_shutdown(ScimState::new(cfg), listener, shutdown).await
}
