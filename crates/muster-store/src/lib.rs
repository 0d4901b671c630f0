//! Muster's state store: what one run leaves for the next, and for the people who read them.
//!
//! It holds runs, source snapshots, links (person ↔ account per target), fingerprints of
//! write-only values, the results of mapping scripts (a cache, so a new process only runs
//! scripts for persons who changed), the action journal (written before and after every
//! request, so a crashed run can be resumed without duplicates), threshold blocks and their
//! approvals, the audit trail, and the key for fingerprints. Everything goes through one async trait,
//! [`Store`], so the engine, CLI and server never name a database:
//!
//! - [`store`]: the trait and its records ([`RunRecord`], [`Link`], [`JournalEntry`], ...).
//! - [`sqlite`]: [`SqliteStore`], one SQLite file in WAL mode, opened with [`open_sqlite`];
//!   the default.
//! - [`postgres`]: [`PostgresStore`], a PostgreSQL database opened with [`open_postgres`],
//!   for several nodes sharing one state; the same guarantees.
//! - [`private_file`]: files created 0600 (the store, saved plans, logs, the lock).
//! - [`error`]: [`StoreError`], whose variants name the operation and the table, run or
//!   record at fault.
//!
//! Deciding *what* to store (plans, gates, HMACs) is left to `muster-core` and the engine;
//! this crate only keeps it. Schemas are versioned migrations under `migrations/sqlite/` and
//! `migrations/postgres/`, applied on open and only ever added to.
//!
//! ```no_run
//! # async fn demo() -> Result<(), muster_store::StoreError> {
//! use muster_store::{open_sqlite, RunMode, RunStatus, Store};
//! let store = open_sqlite(std::path::Path::new(muster_store::DEFAULT_SQLITE_PATH)).await?;
//! let run = store.start_run(RunMode::Preview, "sha256:…").await?;
//! store.finish_run(&run.id, RunStatus::NoChanges, &serde_json::json!({})).await?;
//! # Ok(()) }
//! ```

mod codec;
pub mod copy;
pub mod error;
pub mod lease;
pub mod postgres;
pub mod private_file;
pub mod schema;
pub mod sqlite;
pub mod store;

pub use error::StoreError;
pub use postgres::{
    open_postgres, PostgresOptions, PostgresStore, PostgresTls, DEFAULT_MAX_CONNECTIONS,
};
pub use sqlite::{open_sqlite, open_sqlite_memory, SqliteStore, DEFAULT_SQLITE_PATH};
pub use store::{
    ApiToken, Approval, AuditQuery, BlockedRecord, ComputedChanges, ComputedEntry, ComputedKey,
    ComputedValues, Decision, DecisionKind, Fingerprint, GrantMade, GrantState, JournalEntry,
    JournalState, Link, LinkState, OrphanDecision, OrphanVerdict, ReportKind, RunId, RunMode,
    RunRecord, RunStatus, SnapshotMeta, SnapshotPerson, Store, StoredPlan, StoredReport, TokenRole,
    UnknownDecisionKind, UnknownJournalState, UnknownLinkState, UnknownRunMode, UnknownRunStatus,
    UnknownTokenRole, MIN_RUN_PREFIX,
};
