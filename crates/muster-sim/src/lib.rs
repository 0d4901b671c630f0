//! Muster's target simulators: in-memory HTTP servers that behave like the systems Muster
//! provisions, for its tests, demo and benchmarks. Each one is written from its page in
//! `targets/*.md`, with its own types or raw JSON, never with a connector's wire types, so a
//! simulator and a connector cannot share one misunderstanding.
//!
//! - [`scim`]: a SCIM 2.0 server ([`ScimSim`]) with capability and fault switches.
//! - [`control`]: request counters, their middleware and the `/_sim` test API, shared by all
//!   simulators.
//! - [`faults`]: the one set of fault switches ([`Faults`]), their scope, seeded randomness, rate
//!   limiting, the fault log and the middleware that applies them, shared by all simulators.
//! - [`exchange`]: Exchange Online as a source reads it ([`exchange::ExchangeSim`]): tokens,
//!   the Exchange admin API (mailboxes, Full Access, recipients, groups) and Graph group members.
//! - [`zivver`]: Zivver's SCIM dialect ([`ZivverSim`]) with its quirks, rate limit and faults.
//! - [`helloid`]: HelloID's REST API v1 ([`HelloIdSim`]) with Basic auth, paging and products.
//! - [`zermelo`]: Zermelo's REST API v3 ([`ZermeloSim`]): envelope, partial PUT, class placements.
//! - [`serve`]: the accept loop that can drop a connection without answering.
//!
//! Simulators bind `127.0.0.1` only.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use muster_sim::{ScimSim, ScimSimConfig};
//! let sim = ScimSim::start(ScimSimConfig::default()).await?;
//! println!("SCIM at {} (Bearer sim-token)", sim.base_url);
//! sim.shutdown().await
//! # }
//! ```

pub mod control;
pub mod exchange;
pub mod faults;
pub mod helloid;
mod order;
pub mod scim;
pub mod serve;
pub mod zermelo;
pub mod zivver;

pub use faults::{FaultScope, Faults};
pub use helloid::{
    HelloIdError, HelloIdSim, HelloIdSimConfig, HelloIdState, HelloIdSwitches, RunningHelloIdSim,
};
pub use scim::{
    run_until_ctrl_c, RunningScimSim, ScimError, ScimSim, ScimSimConfig, ScimState, ScimSwitches,
    ScimType, SpcMode,
};
pub use zermelo::{
    RunningZermeloSim, ZermeloError, ZermeloSchoolYear, ZermeloSim, ZermeloSimConfig, ZermeloState,
    ZermeloSwitches,
};
pub use zivver::{
    DuplicateStatus, RunningZivverSim, ZivverError, ZivverSim, ZivverSimConfig, ZivverState,
    ZivverSwitches,
};
