//! Runs Muster's pipeline. Reads `muster.toml` ([`config`]), drives the stages of
//! `muster-core` over data fetched from the source, the store and the targets ([`run`]), and
//! executes gated plans through connectors with a journal and audit trail ([`execute`]).
//! [`import`] reads a target and reports how its accounts correlate with persons; [`reconcile`]
//! acts on the accounts no person owns.
//! [`jit`] creates an account when a person signs in (the one-person pipeline).
//! [`kinds`] is the one table of target and source kinds.
//! [`recover`] settles what a run that died left in the journal, under the [`lock`] that keeps
//! one apply per store. [`computed_cache`] keeps mapping-script results in the store between
//! processes.

pub mod computed_cache;
pub mod config;
pub mod connectors;
pub mod coord;
pub mod error;
pub mod execute;
pub mod fingerprint;
pub mod import;
pub mod jit;
pub mod kinds;
pub mod lock;
pub mod progress;
pub mod reconcile;
pub mod recover;
pub mod remembered;
pub mod run;
pub mod store;

pub use config::Config;
pub use error::EngineError;
pub use run::{Engine, RunReport};
pub use store::open_store;
