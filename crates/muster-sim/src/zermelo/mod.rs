//! A Zermelo simulator written from `targets/zermelo.md` (§7 is its checklist): the portal's
//! REST API v3 under `/api/v3`, every answer wrapped in the `response` envelope with `data` as
//! an array, users keyed by `code` and written by partial PUT, string booleans, archiving instead
//! of deleting, `isStudent` creating the student record, the classes of several schools and
//! school years, and class placements that only add up.
//!
//! This module owns the configuration ([`ZermeloSimConfig`], [`ZermeloSwitches`]) and starting
//! and stopping ([`ZermeloSim`], [`RunningZermeloSim`]). Request bodies are read in `input`, the
//! portal's data and rules live in `store`, the envelope in `envelope`, HTTP in `routes`, faults
//! in `inject` (plugging into the shared [`crate::faults`] middleware), and the `/_sim` test
//! API in `testapi`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use muster_sim::{ZermeloSim, ZermeloSimConfig};
//! let sim = ZermeloSim::start(ZermeloSimConfig::default()).await?;
//! println!("Zermelo at {} (Bearer zermelo-token)", sim.api_url());
//! sim.shutdown().await
//! # }
//! ```

mod envelope;
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

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::faults::{FaultDefaults, Faults};
use crate::serve::{serve_router, ServerHandle};

pub use error::ZermeloError;
pub use state::ZermeloState;
pub use store::{DEPARTMENT_FIELDS, PLACEMENT_FIELDS, STUDENT_FIELDS, USER_FIELDS};

/// Path under which the API is served; clients append it to the portal URL.
pub const API_PATH: &str = "/api/v3";

/// The classes of one school in one school year, e.g. `Lyceum`, `2024-2025`, `[h3a, h3b]`; the
/// SchoolInSchoolYear is named `"{school} {year}"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZermeloSchoolYear {
    pub school: String,
    /// `"YYYY-YYYY"`, the year starting on 1 August.
    pub year: String,
    /// Class codes (DepartmentOfBranch `code`), e.g. `h3a`.
    pub classes: Vec<String>,
}

impl ZermeloSchoolYear {
    /// `ZermeloSchoolYear::new("Lyceum", "2024-2025", &["h3a", "h3b"])`.
    pub fn new(school: &str, year: &str, classes: &[&str]) -> Self {
        Self {
            school: school.to_string(),
            year: year.to_string(),
            classes: classes.iter().map(|c| c.to_string()).collect(),
        }
    }

    /// The default portal (zermelo.md §7): two school years; `h3a` in every school; `Lyceum`
    /// contained in `Stedelijk Lyceum`, which trips a substring match; a third school, and a
    /// class (`v5a`) that exists in one year only.
    pub fn defaults() -> Vec<Self> {
        vec![
            Self::new("Lyceum", "2024-2025", &["h3a", "h3b", "v4a"]),
            Self::new("Stedelijk Lyceum", "2024-2025", &["h3a", "h3b", "v4b"]),
            Self::new("Lyceum", "2025-2026", &["h3a", "h3b", "v4a", "v5a"]),
            Self::new("Stedelijk Lyceum", "2025-2026", &["h3a", "h4a", "v4b"]),
            Self::new("Gymnasium", "2025-2026", &["h3a", "g4a"]),
        ]
    }
}

/// How a simulator is set up when it starts.
#[derive(Clone)]
pub struct ZermeloSimConfig {
    /// API tokens accepted as `Authorization: Bearer <token>`. Default: `["zermelo-token"]`.
    pub tokens: Vec<String>,
    /// The classes of each school and year. Default: [`ZermeloSchoolYear::defaults`].
    pub departments: Vec<ZermeloSchoolYear>,
    /// Behaviour and faults; can also be changed while running. Default: see [`ZermeloSwitches`].
    pub switches: ZermeloSwitches,
    /// Seed for fault draws, so runs are reproducible (ids are counters). Default: 42.
    pub seed: u64,
}

impl Default for ZermeloSimConfig {
    fn default() -> Self {
        Self {
            tokens: vec!["zermelo-token".into()],
            departments: ZermeloSchoolYear::defaults(),
            switches: ZermeloSwitches::default(),
            seed: 42,
        }
    }
}

// Tokens stay out of logs and test output.
impl fmt::Debug for ZermeloSimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZermeloSimConfig")
            .field("tokens", &format_args!("[{} x ***]", self.tokens.len()))
            .field("departments", &self.departments)
            .field("switches", &self.switches)
            .field("seed", &self.seed)
            .finish()
    }
}

/// Behaviour and fault switches (zermelo.md §7). Readable and writable as JSON through
/// `GET|PUT /_sim/switches`; fields left out take their defaults, also within `faults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZermeloSwitches {
    /// Answer `GET users` (the list); off answers it 403, as a tenant that refuses the list
    /// (no public client lists users, zermelo.md §6). Default: on.
    pub list_users: bool,
    /// Answer `GET studentsindepartments?student={code}`; off answers 403, the API's support
    /// for it not being established. Default: off.
    pub placement_read: bool,
    /// Allow `DELETE studentsindepartments/{id}`; off answers 403, likewise. Default: off.
    pub placement_delete: bool,
    /// The shared fault switches; 429 and 5xx come in the envelope. Default: see
    /// [`ZermeloSwitches::default_faults`].
    #[serde(deserialize_with = "crate::faults::over_defaults::<ZermeloSwitches, _>")]
    pub faults: Faults,
}

impl Default for ZermeloSwitches {
    fn default() -> Self {
        Self {
            list_users: true,
            placement_read: false,
            placement_delete: false,
            faults: Self::default_faults(),
        }
    }
}

impl FaultDefaults for ZermeloSwitches {
    /// [`Faults::target_defaults`]: no rate limit, as none is documented.
    fn default_faults() -> Faults {
        Faults::target_defaults()
    }
}

/// Entry points of the Zermelo simulator.
#[derive(Debug)]
pub struct ZermeloSim;

impl ZermeloSim {
    /// Starts a simulator on `127.0.0.1` with a port chosen by the OS.
    pub async fn start(cfg: ZermeloSimConfig) -> io::Result<RunningZermeloSim> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        Self::start_on(ZermeloState::new(cfg), listener)
    }

    /// Starts serving `state` on `listener` in the background; needs a Tokio runtime.
    pub fn start_on(state: ZermeloState, listener: TcpListener) -> io::Result<RunningZermeloSim> {
        let addr = listener.local_addr()?;
        let handle = ServerHandle::spawn(listener, Self::app(state.clone()))?;
        tracing::debug!(%addr, "Zermelo simulator started.");
        Ok(RunningZermeloSim {
            base_url: format!("http://{addr}"),
            addr,
            state,
            handle,
        })
    }

    /// Serves `state` on `listener` until `shutdown` resolves.
    pub async fn serve_with_shutdown(
        state: ZermeloState,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        serve_router(listener, Self::app(state), shutdown).await
    }

    /// The router: the API under [`API_PATH`] and the test API under `/_sim`. Serve it with
    /// [`crate::serve::serve_router`] for dropped connections to be real.
    pub fn app(state: ZermeloState) -> axum::Router {
        routes::router(state)
    }
}

/// A simulator running in the background; dropping it stops it.
#[derive(Debug)]
pub struct RunningZermeloSim {
    /// `http://127.0.0.1:PORT`, the portal URL: clients append `/api/v3`; the test API lives
    /// at `/_sim`.
    pub base_url: String,
    /// Address the simulator listens on.
    pub addr: SocketAddr,
    /// The simulator's state, for seeding, inspecting and switching.
    pub state: ZermeloState,
    handle: ServerHandle,
}

impl RunningZermeloSim {
    /// `http://127.0.0.1:PORT/api/v3`.
    pub fn api_url(&self) -> String {
        format!("{}{API_PATH}", self.base_url)
    }

    /// Stops the simulator and waits until its port is released.
    pub async fn shutdown(self) -> io::Result<()> {
        self.handle.shutdown().await
    }
}
