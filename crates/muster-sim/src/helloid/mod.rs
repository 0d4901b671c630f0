//! A HelloID simulator written from `targets/helloid.md` (§7 is its checklist): HelloID's REST
//! API v1 under `/api/v1`, with HTTP Basic auth, `skip`/`take` paging in two page shapes, users
//! found by `userGUID` or `userName`, full-object `PUT`s that rename only through
//! `IdentifierObject`, soft deletes, groups with idempotent memberships, and products requested
//! through self-service (optionally waiting for approval) and withdrawn by product.
//!
//! This module owns the configuration ([`HelloIdSimConfig`]) and starting and stopping
//! ([`HelloIdSim`], [`RunningHelloIdSim`]); the switches are in `switches`. Request bodies are
//! read in `input`, the tenant lives in `store` (its rules in `users` and `catalog`), HTTP in
//! `routes` and `handlers`, faults in `inject` (on top of the shared [`crate::faults`]), and the
//! `/_sim` test API in `testapi`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use muster_sim::{HelloIdSim, HelloIdSimConfig};
//! let sim = HelloIdSim::start(HelloIdSimConfig::default()).await?;
//! println!("HelloID at {} (Basic helloid-key:helloid-secret)", sim.api_url());
//! sim.shutdown().await
//! # }
//! ```

mod catalog;
mod error;
mod handlers;
mod inject;
mod input;
mod routes;
mod state;
mod store;
mod switches;
mod testapi;
mod users;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;

use crate::serve::{serve_router, ServerHandle};

pub use error::HelloIdError;
pub use state::HelloIdState;
pub use switches::{ErrorField, HelloIdSwitches, ListShape, RevokeMissing};

/// Path under which the API is served; clients use `{base_url}/api/v1` as their base URL.
pub const API_PATH: &str = "/api/v1";

/// How a simulator is set up when it starts, and what a reset returns it to.
#[derive(Clone)]
pub struct HelloIdSimConfig {
    /// `(apiKey, apiSecret)` pairs accepted as HTTP Basic credentials.
    /// Default: `[("helloid-key", "helloid-secret")]`.
    pub credentials: Vec<(String, String)>,
    /// Groups (enabled) that exist at start, in this order. Default: none.
    pub groups: Vec<String>,
    /// Products that exist at start, in this order. Default: none.
    pub products: Vec<String>,
    /// Behaviour and faults; can also be changed while running. Default: see [`HelloIdSwitches`].
    pub switches: HelloIdSwitches,
    /// Seed for ids and fault draws, so runs are reproducible. Default: 42.
    pub seed: u64,
}

impl Default for HelloIdSimConfig {
    fn default() -> Self {
        Self {
            credentials: vec![("helloid-key".into(), "helloid-secret".into())],
            groups: Vec::new(),
            products: Vec::new(),
            switches: HelloIdSwitches::default(),
            seed: 42,
        }
    }
}

// Secrets stay out of logs and test output; the keys are not secret and help debugging.
impl fmt::Debug for HelloIdSimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = self
            .credentials
            .iter()
            .map(|(key, _)| format!("{key}:***"))
            .collect();
        f.debug_struct("HelloIdSimConfig")
            .field("credentials", &keys)
            .field("groups", &self.groups)
            .field("products", &self.products)
            .field("switches", &self.switches)
            .field("seed", &self.seed)
            .finish()
    }
}

/// Entry points of the HelloID simulator.
#[derive(Debug)]
pub struct HelloIdSim;

impl HelloIdSim {
    /// Starts a simulator on `127.0.0.1` with a port chosen by the OS.
    pub async fn start(cfg: HelloIdSimConfig) -> io::Result<RunningHelloIdSim> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        Self::start_on(HelloIdState::new(cfg), listener)
    }

    /// Starts serving `state` on `listener` in the background; needs a Tokio runtime.
    pub fn start_on(state: HelloIdState, listener: TcpListener) -> io::Result<RunningHelloIdSim> {
        let addr = listener.local_addr()?;
        let handle = ServerHandle::spawn(listener, Self::app(state.clone()))?;
        tracing::debug!(%addr, "HelloID simulator started.");
        Ok(RunningHelloIdSim {
            base_url: format!("http://{addr}"),
            addr,
            state,
            handle,
        })
    }

    /// Serves a new simulator on `listener` until the task is dropped or the listener fails.
    pub async fn serve(cfg: HelloIdSimConfig, listener: TcpListener) -> io::Result<()> {
        Self::serve_with_shutdown(HelloIdState::new(cfg), listener, std::future::pending()).await
    }

    /// Serves `state` on `listener` until `shutdown` resolves.
    pub async fn serve_with_shutdown(
        state: HelloIdState,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        serve_router(listener, Self::app(state), shutdown).await
    }

    /// The router: the API under [`API_PATH`] and the test API under `/_sim`. Serve it with
    /// [`crate::serve::serve_router`] for dropped connections to be real; plain `axum::serve`
    /// answers them with a 500 instead.
    pub fn app(state: HelloIdState) -> axum::Router {
        routes::router(state)
    }
}

/// A simulator running in the background; dropping it stops it.
#[derive(Debug)]
pub struct RunningHelloIdSim {
    /// `http://127.0.0.1:PORT`: the API is at [`Self::api_url`], the test API at `/_sim`.
    pub base_url: String,
    /// Address the simulator listens on.
    pub addr: SocketAddr,
    /// The simulator's state, for seeding, inspecting and switching.
    pub state: HelloIdState,
    handle: ServerHandle,
}

impl RunningHelloIdSim {
    /// `http://127.0.0.1:PORT/api/v1`, the `base_url` a HelloID client is configured with.
    pub fn api_url(&self) -> String {
        format!("{}{API_PATH}", self.base_url)
    }

    /// Stops the simulator and waits until its port is released.
    pub async fn shutdown(self) -> io::Result<()> {
        self.handle.shutdown().await
    }
}

/// Runs a simulator on `127.0.0.1:port` until Ctrl-C, e.g. for a `muster sim helloid` command.
pub async fn run_until_ctrl_c(cfg: HelloIdSimConfig, port: u16) -> io::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let addr = listener.local_addr()?;
    tracing::info!(base_url = %format!("http://{addr}"), "HelloID simulator listening.");
    let shutdown = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "Cannot listen for Ctrl-C; stopping.");
        }
    };
    HelloIdSim::serve_with_shutdown(HelloIdState::new(cfg), listener, shutdown).await
}
