//! A Zivver simulator written from `targets/zivver.md` (§6 is its checklist): Zivver's SCIM 2.0
//! dialect under `/api/scim/v2`, with users written by whole-object `PUT`, the write-only
//! `SsoAccountKey`, 400 for unknown ids, plain-text errors, functional accounts (groups) whose
//! members change only by PatchOp `replace` or remove-all, and its 50-per-10-s rate limit.
//! Functional accounts are also created and changed as Zivver's own Cloud Sync client does
//! (`sources/exchange-online.md` §3): `POST Groups`, a partial `PUT Groups/{id}` whose empty
//! member list changes nothing, and the remove-all PATCH, which needs `application/scim+json`
//! as both `Content-Type` and `Accept`; seeded guest addresses refuse aliases.
//!
//! This module owns the configuration ([`ZivverSimConfig`], [`ZivverSwitches`]) and starting
//! and stopping ([`ZivverSim`], [`RunningZivverSim`]). Request bodies are read in `input`, the
//! organisation and its rules live in `store`, HTTP in `routes`, Zivver's fault answers in
//! `inject` (plugging into the shared [`crate::faults`], which owns the rate limiter, fault
//! scopes and the fault log), and the `/_sim` test API in `testapi`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use muster_sim::{ZivverSim, ZivverSimConfig};
//! let sim = ZivverSim::start(ZivverSimConfig::default()).await?;
//! println!("Zivver at {}/api/scim/v2 (Bearer zivver-token)", sim.base_url);
//! sim.shutdown().await
//! # }
//! ```

mod error;
mod inject;
mod input;
mod routes;
mod state;
mod store;
mod testapi;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::faults::{FaultDefaults, Faults, RateRefill};
use crate::serve::{serve_router, ServerHandle};

pub use error::ZivverError;
pub use input::{ENTERPRISE, PATCH_OP, ZIVVER, ZIVVER_GROUP};
pub use routes::LIST_SCHEMA;
pub use state::ZivverState;

/// Path under which the Zivver API is served; clients append it to the base URL.
pub const API_PATH: &str = "/api/scim/v2";

/// How a simulator is set up when it starts.
#[derive(Clone)]
pub struct ZivverSimConfig {
    /// API keys accepted as `Authorization: Bearer <key>`. Default: `["zivver-token"]`.
    pub tokens: Vec<String>,
    /// Divisions users may be placed in, besides `"/"`. Default: none.
    pub divisions: Vec<String>,
    /// The organisation's domains; `userName` and aliases must be in one (ignoring case). An
    /// empty list accepts every address. Default: `["example.org"]`.
    pub domains: Vec<String>,
    /// Behaviour and faults; can also be changed while running. Default: see [`ZivverSwitches`].
    pub switches: ZivverSwitches,
    /// Seed for ids and fault draws, so runs are reproducible. Default: 42.
    pub seed: u64,
}

impl Default for ZivverSimConfig {
    fn default() -> Self {
        Self {
            tokens: vec!["zivver-token".into()],
            divisions: Vec::new(),
            domains: vec!["example.org".into()],
            switches: ZivverSwitches::default(),
            seed: 42,
        }
    }
}

// API keys stay out of logs and test output.
impl fmt::Debug for ZivverSimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZivverSimConfig")
            .field("tokens", &format_args!("[{} x ***]", self.tokens.len()))
            .field("divisions", &self.divisions)
            .field("domains", &self.domains)
            .field("switches", &self.switches)
            .field("seed", &self.seed)
            .finish()
    }
}

/// The status a duplicate `userName` is refused with; Zivver's is not documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub enum DuplicateStatus {
    /// 409 Conflict.
    #[default]
    Conflict,
    /// 400 Bad Request.
    BadRequest,
}

impl DuplicateStatus {
    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::Conflict => StatusCode::CONFLICT,
            Self::BadRequest => StatusCode::BAD_REQUEST,
        }
    }
}

impl TryFrom<u16> for DuplicateStatus {
    type Error = String;

    fn try_from(code: u16) -> Result<Self, Self::Error> {
        match code {
            409 => Ok(Self::Conflict),
            400 => Ok(Self::BadRequest),
            other => Err(format!("duplicate_status must be 409 or 400, not {other}")),
        }
    }
}

impl From<DuplicateStatus> for u16 {
    fn from(d: DuplicateStatus) -> Self {
        d.status().as_u16()
    }
}

/// Behaviour switches (zivver.md §6) and the shared fault switches with Zivver's defaults.
/// Readable and writable as JSON through `GET|PUT /_sim/switches`; fields left out take their
/// defaults, also within `faults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZivverSwitches {
    /// A PUT without `SsoAccountKey` clears the stored key, the documented risk of a partial
    /// PUT (zivver.md §4.3). Off keeps it. Default: on.
    pub sso_clear_on_omit: bool,
    /// Accept `add` and filtered `remove` on `members`, which Zivver is not known to accept;
    /// off answers them 400 `Unsupported patch operation`. Default: off.
    pub membership_add_remove: bool,
    /// Apply `startIndex` and `count` on `GET Users` and `GET Groups`; off returns everything
    /// in one answer, as every known client expects. Default: off.
    pub honour_paging: bool,
    /// Cap on every page, paging honoured or not (a capped page without paging is a server
    /// that truncates). Default: none.
    pub max_page: Option<usize>,
    /// Status of a refused duplicate `userName`: 409 or 400. Default: 409.
    pub duplicate_status: DuplicateStatus,
    /// The fault switches of §6, each limited to the requests `fault_scope` matches (but the
    /// rate limit) and logged (`GET /_sim/faults`). Over the rate limit, and on a
    /// `throttle_ratio` 429, the exact body of §4.4; a 5xx is plain text. Default: see
    /// [`ZivverSwitches::default_faults`].
    #[serde(deserialize_with = "crate::faults::over_defaults::<ZivverSwitches, _>")]
    pub faults: Faults,
}

impl Default for ZivverSwitches {
    fn default() -> Self {
        Self {
            sso_clear_on_omit: true,
            membership_add_remove: false,
            honour_paging: false,
            max_page: None,
            duplicate_status: DuplicateStatus::Conflict,
            faults: Self::default_faults(),
        }
    }
}

impl ZivverSwitches {
    /// The defaults with the rate limit off, for tests and benchmarks that do not test it.
    pub fn without_rate_limit() -> Self {
        let mut sw = Self::default();
        sw.faults.rate_limit = false;
        sw
    }
}

impl FaultDefaults for ZivverSwitches {
    /// Zivver's rate limit (§4.4) on: 50 requests per window of 10 s, where the window opens
    /// with its first request and the whole budget returns when it closes; no `Retry-After`
    /// (when turned on, only a 429 carries it). The rest as [`Faults::target_defaults`].
    fn default_faults() -> Faults {
        Faults {
            rate_limit: true,
            rate_budget: 50,
            rate_window_s: 10,
            rate_refill: RateRefill::Window,
            retry_after: false,
            unavailable_retry_after_s: 0,
            ..Faults::target_defaults()
        }
    }
}

/// Entry points of the Zivver simulator.
#[derive(Debug)]
pub struct ZivverSim;

impl ZivverSim {
    /// Starts a simulator on `127.0.0.1` with a port chosen by the OS.
    pub async fn start(cfg: ZivverSimConfig) -> io::Result<RunningZivverSim> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        Self::start_on(ZivverState::new(cfg), listener)
    }

    /// Starts serving `state` on `listener` in the background; needs a Tokio runtime.
    pub fn start_on(state: ZivverState, listener: TcpListener) -> io::Result<RunningZivverSim> {
        let addr = listener.local_addr()?;
        let handle = ServerHandle::spawn(listener, Self::app(state.clone()))?;
        tracing::debug!(%addr, "Zivver simulator started.");
        Ok(RunningZivverSim {
            base_url: format!("http://{addr}"),
            addr,
            state,
            handle,
        })
    }

    /// Serves a new simulator on `listener` until the task is dropped or the listener fails.
    pub async fn serve(cfg: ZivverSimConfig, listener: TcpListener) -> io::Result<()> {
        Self::serve_with_shutdown(ZivverState::new(cfg), listener, std::future::pending()).await
    }

    /// Serves `state` on `listener` until `shutdown` resolves.
    pub async fn serve_with_shutdown(
        state: ZivverState,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        serve_router(listener, Self::app(state), shutdown).await
    }

    /// The router: the API under [`API_PATH`] and the test API under `/_sim`. Serve it with
    /// [`crate::serve::serve_router`] for dropped connections to be real; plain `axum::serve`
    /// answers them with a 500 instead.
    pub fn app(state: ZivverState) -> axum::Router {
        routes::router(state)
    }
}

/// A simulator running in the background; dropping it stops it.
#[derive(Debug)]
pub struct RunningZivverSim {
    /// `http://127.0.0.1:PORT`, the tenant URL: clients append `/api/scim/v2`, and the test
    /// API lives at `/_sim`.
    pub base_url: String,
    /// Address the simulator listens on.
    pub addr: SocketAddr,
    /// The simulator's state, for seeding, inspecting and switching.
    pub state: ZivverState,
    handle: ServerHandle,
}

impl RunningZivverSim {
    /// `http://127.0.0.1:PORT/api/scim/v2`.
    pub fn api_url(&self) -> String {
        format!("{}{API_PATH}", self.base_url)
    }

    /// Stops the simulator and waits until its port is released.
    pub async fn shutdown(self) -> io::Result<()> {
        self.handle.shutdown().await
    }
}

/// Runs a simulator on `127.0.0.1:port` until Ctrl-C, e.g. for a `muster sim zivver` command.
pub async fn run_until_ctrl_c(cfg: ZivverSimConfig, port: u16) -> io::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let addr = listener.local_addr()?;
    tracing::info!(base_url = %format!("http://{addr}"), "Zivver simulator listening.");
    let shutdown = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "Cannot listen for Ctrl-C; stopping.");
        }
    };
    ZivverSim::serve_with_shutdown(ZivverState::new(cfg), listener, shutdown).await
}
