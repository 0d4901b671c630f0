//! An Exchange Online simulator written from `sources/exchange-online.md` (§4 is its checklist):
//! the Microsoft identity platform's token endpoint (client credentials with a secret, or with
//! a certificate: a signed `client_assertion` checked as Entra does; a bad secret or assertion
//! is a 401 `invalid_client`) and an Azure managed-identity endpoint, the Exchange admin API under
//! `/adminapi/beta/{tenant}` (`Mailbox` paged by `@odata.nextLink` with `$select` and the
//! `RecipientTypeDetails` filter honoured, `Mailbox('{base64}')/MailboxPermission`,
//! `Recipient('…')`, `InvokeCommand` for `Get-DistributionGroupMember` and `Get-Mailbox`,
//! `$batch` of up to 10), and Graph's `/v1.0/groups/{id}/members` and `transitiveMembers`.
//! Every API call needs a bearer token issued for its audience (Exchange or Graph).
//!
//! This module owns the configuration ([`ExchangeSimConfig`], [`ExchangeSwitches`]) and
//! starting and stopping ([`ExchangeSim`], [`RunningExchangeSim`]). The tenant's data and its
//! look-ups live in `tenant`, HTTP in `routes`, the `/_sim` test API (tenant changes between
//! runs, counters, switches) in `testapi`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use muster_sim::exchange::{ExchangeSim, ExchangeSimConfig};
//! let sim = ExchangeSim::start(ExchangeSimConfig::default()).await?;
//! println!("token endpoint {}", sim.token_url());
//! sim.shutdown().await
//! # }
//! ```

mod assertion;
mod routes;
mod state;
pub mod tenant;
mod testapi;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::faults::Faults;
use crate::serve::{serve_router, ServerHandle};

pub use state::ExchangeState;
pub use tenant::{SeedGroup, SeedMailbox, SeedPermission, TenantSeed};

/// The Exchange admin API's path; the tenant follows it.
pub const EXCHANGE_PATH: &str = "/adminapi/beta";
/// The Graph API's path.
pub const GRAPH_PATH: &str = "/v1.0";
/// The managed-identity endpoint's path (what `IDENTITY_ENDPOINT` points at).
pub const MSI_PATH: &str = "/msi/token";
/// The scope (client credentials) or resource (managed identity) of the Exchange admin API.
pub const EXCHANGE_RESOURCE: &str = "https://outlook.office365.com";
/// The same for Microsoft Graph.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

/// How a simulator is set up when it starts.
#[derive(Clone)]
pub struct ExchangeSimConfig {
    /// The tenant as the URLs name it: its id or initial domain. Both are accepted in URLs.
    /// Default: `contoso.onmicrosoft.com`.
    pub tenant: String,
    /// The tenant's GUID, also accepted. Default: a fixed GUID.
    pub tenant_id: String,
    /// The application (client) id. Default: `muster-app`.
    pub client_id: String,
    /// The client secret the token endpoint accepts. Default: `sim-secret`.
    pub client_secret: String,
    /// The app's registered certificates (PEM texts; only their `CERTIFICATE` blocks are
    /// read): client assertions signed by their keys are accepted. Default: none.
    pub certificates: Vec<String>,
    /// The `X-IDENTITY-HEADER` value of the managed-identity endpoint. Default: `sim-identity`.
    pub identity_header: String,
    /// The mailboxes, groups and permissions. Default: empty.
    pub tenant_seed: TenantSeed,
    /// Behaviour and faults; can also be changed while running.
    pub switches: ExchangeSwitches,
    /// Seed for fault draws and tokens. Default: 42.
    pub seed: u64,
}

impl Default for ExchangeSimConfig {
    fn default() -> Self {
        Self {
            tenant: "contoso.onmicrosoft.com".into(),
            tenant_id: "0d2b7c1e-52f3-4a8e-9a51-6c1b2f0e4d77".into(),
            client_id: "muster-app".into(),
            client_secret: "sim-secret".into(),
            certificates: Vec::new(),
            identity_header: "sim-identity".into(),
            tenant_seed: TenantSeed::default(),
            switches: ExchangeSwitches::default(),
            seed: 42,
        }
    }
}

// The secrets stay out of logs and test output.
impl fmt::Debug for ExchangeSimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeSimConfig")
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("identity_header", &"***")
            .field("certificates", &self.certificates.len())
            .field("mailboxes", &self.tenant_seed.mailboxes.len())
            .field("switches", &self.switches)
            .finish_non_exhaustive()
    }
}

/// What the "bad page" switch answers for that page of the mailbox list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadPageAnswer {
    /// A 500 with an Exchange error body.
    #[default]
    Error,
    /// A 200 whose body is not JSON.
    Garbage,
    /// The page is answered after `bad_page_hang_ms`.
    Hang,
}

/// Behaviour and fault switches, readable and writable through `GET|PUT /_sim/switches`;
/// fields left out take their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExchangeSwitches {
    /// Mailboxes (and group members, Graph members) per page; a client's
    /// `Prefer: odata.maxpagesize` or `$top` can only lower it. Default: 1000.
    pub page_size: usize,
    /// The mailbox-list page (1-based) that misbehaves; 0 = none. Default: 0.
    pub bad_page: u32,
    /// How it misbehaves. Default: `error`.
    pub bad_page_answer: BadPageAnswer,
    /// How long a `hang` page waits before answering, in milliseconds. Default: 30000.
    pub bad_page_hang_ms: u64,
    /// Token lifetime in seconds. Default: 3599.
    pub token_lifetime_s: u64,
    /// How far the token endpoint's clock runs ahead of this machine's, in seconds (negative:
    /// behind), as seen by client assertions' `nbf`/`exp`. Default: 0.
    pub clock_offset_s: i64,
    /// The shared fault switches (429 with `Retry-After`, 5xx, resets, slow answers).
    pub faults: Faults,
}

impl Default for ExchangeSwitches {
    fn default() -> Self {
        Self {
            page_size: 1000,
            bad_page: 0,
            bad_page_answer: BadPageAnswer::Error,
            bad_page_hang_ms: 30_000,
            token_lifetime_s: 3599,
            clock_offset_s: 0,
            faults: Faults::default(),
        }
    }
}

/// Entry points of the Exchange Online simulator.
#[derive(Debug)]
pub struct ExchangeSim;

impl ExchangeSim {
    /// Starts a simulator on `127.0.0.1` with a port chosen by the OS.
    pub async fn start(cfg: ExchangeSimConfig) -> io::Result<RunningExchangeSim> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        Self::start_on(ExchangeState::new(cfg), listener)
    }

    /// Starts serving `state` on `listener` in the background; needs a Tokio runtime.
    pub fn start_on(state: ExchangeState, listener: TcpListener) -> io::Result<RunningExchangeSim> {
        let addr = listener.local_addr()?;
        let handle = ServerHandle::spawn(listener, Self::app(state.clone()))?;
        tracing::debug!(%addr, "Exchange Online simulator started.");
        Ok(RunningExchangeSim {
            base_url: format!("http://{addr}"),
            addr,
            state,
            handle,
        })
    }

    /// Serves `state` on `listener` until `shutdown` resolves.
    pub async fn serve_with_shutdown(
        state: ExchangeState,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        serve_router(listener, Self::app(state), shutdown).await
    }

    /// The router: token endpoints, the Exchange admin API, Graph, and the test API.
    pub fn app(state: ExchangeState) -> axum::Router {
        routes::router(state)
    }
}

/// A simulator running in the background; dropping it stops it.
#[derive(Debug)]
pub struct RunningExchangeSim {
    /// `http://127.0.0.1:PORT`: the base of every URL below, and of the test API (`/_sim`).
    pub base_url: String,
    pub addr: SocketAddr,
    /// The simulator's state, for seeding, inspecting and switching.
    pub state: ExchangeState,
    handle: ServerHandle,
}

impl RunningExchangeSim {
    /// The client-credentials token endpoint of the tenant.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.base_url,
            self.state.tenant_name()
        )
    }

    /// What `IDENTITY_ENDPOINT` is for a managed identity.
    pub fn identity_endpoint(&self) -> String {
        format!("{}{MSI_PATH}", self.base_url)
    }

    /// The Exchange admin API's base URL (without `/adminapi/beta/{tenant}`).
    pub fn exchange_url(&self) -> String {
        self.base_url.clone()
    }

    /// Graph's base URL (without `/v1.0`).
    pub fn graph_url(&self) -> String {
        self.base_url.clone()
    }

    /// Stops the simulator and waits until its port is released.
    pub async fn shutdown(self) -> io::Result<()> {
        self.handle.shutdown().await
    }
}
