//! [`StoreError`]: every way the state store can fail, each variant naming the operation and
//! the table, run or record at fault, so a caller can report it without guessing. Values that
//! may be secret (the fingerprint key, HMACs, snapshot records) are never copied into an error.

use muster_core::plan::ActionKind;
use muster_core::{AccountRef, TargetName};
use std::path::PathBuf;

use crate::store::JournalState;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the directory {path} for the state store: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot create the state store at {location}: {source}")]
    CreateFile {
        location: String,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot open the state store at {location}: {source}")]
    Open {
        location: String,
        #[source]
        source: sqlx::Error,
    },

    /// The PostgreSQL store's settings are not usable (the URL, the TLS CA file, the schema).
    /// The detail never holds the URL's password.
    #[error("PostgreSQL store: {detail}")]
    PostgresSettings { detail: String },

    #[error(
        "cannot reach the PostgreSQL state store at {location} within {seconds} s: is the \
         server running and the address right?"
    )]
    ConnectTimeout { location: String, seconds: u64 },

    #[error("cannot migrate the state store at {location}: {source}")]
    Migrate {
        location: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// The database refused or failed a statement.
    #[error("{op} on table `{table}` ({context}) failed: {source}")]
    Database {
        op: &'static str,
        table: &'static str,
        /// Which run, target or record the operation was about.
        context: String,
        #[source]
        source: sqlx::Error,
    },

    /// A value read back is not one this version of Muster wrote (unknown enum text, bad
    /// timestamp, invalid JSON): the database was edited by hand or by a newer version.
    #[error("corrupt value in {table}.{column}: {detail}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        detail: String,
    },

    /// A value could not be turned into JSON for storage.
    #[error("{op}: cannot encode {table}.{column} as JSON: {source}")]
    Encode {
        op: &'static str,
        table: &'static str,
        column: &'static str,
        #[source]
        source: serde_json::Error,
    },

    #[error("run {run} not found")]
    RunNotFound { run: String },

    #[error("run {run} has already finished")]
    RunFinished { run: String },

    #[error("run id `{prefix}` is too short: give at least {min} characters of the id")]
    RunPrefixTooShort { prefix: String, min: usize },

    #[error("run id `{prefix}` matches {matches} runs: give more characters of the id")]
    AmbiguousRun { prefix: String, matches: usize },

    #[error("account {account} in target {target} is already linked to another person")]
    AccountAlreadyLinked {
        target: TargetName,
        account: AccountRef,
    },

    #[error("journal entry for run {run} names run {entry_run}")]
    JournalRunMismatch { run: String, entry_run: String },

    #[error("no journal entry for action {action} of target {target} in run {run}")]
    JournalEntryNotFound {
        run: String,
        target: TargetName,
        action: u32,
    },

    #[error(
        "journal entry for action {action} of target {target} in run {run} cannot go from {from} to {to}"
    )]
    JournalTransition {
        run: String,
        target: TargetName,
        action: u32,
        from: JournalState,
        to: JournalState,
    },

    #[error("run {run} has no blocked {} to approve", kind.map_or("actions".to_owned(), |k| format!("`{k}` actions")))]
    NothingToApprove {
        run: String,
        kind: Option<ActionKind>,
    },

    #[error("run {run} has no blocked {} to decide on", kind.map_or("actions".to_owned(), |k| format!("`{k}` actions")))]
    NothingBlocked {
        run: String,
        kind: Option<ActionKind>,
    },

    #[error(
        "the blocked `{kind}` actions of target {target} in run {run} were already {decision}"
    )]
    AlreadyDecided {
        run: String,
        target: TargetName,
        kind: ActionKind,
        decision: crate::store::DecisionKind,
    },

    #[error("API token {id} not found")]
    TokenNotFound { id: String },

    #[error("approval {id} not found")]
    ApprovalNotFound { id: i64 },

    #[error("approval {id} was already used by run {by}")]
    ApprovalConsumed { id: i64, by: String },

    /// A lease changed hands between every attempt to take or read it (several nodes).
    #[error("lease `{name}` kept changing hands while it was being taken; try again")]
    LeaseContended { name: String },

    #[error("the fingerprint key is missing from the store; was the database created by Muster?")]
    MissingFingerprintKey,
}

impl StoreError {
    pub(crate) fn db(
        op: &'static str,
        table: &'static str,
        context: impl Into<String>,
    ) -> impl FnOnce(sqlx::Error) -> StoreError {
        let context = context.into();
        move |source| StoreError::Database {
            op,
            table,
            context,
            source,
        }
    }

    /// As [`StoreError::db`], but a failed foreign key on `run` reports the run as unknown
    /// rather than as a database error.
    pub(crate) fn unknown_run_or(
        run: &str,
        op: &'static str,
        table: &'static str,
        context: &str,
    ) -> impl FnOnce(sqlx::Error) -> StoreError {
        let run = run.to_owned();
        let context = context.to_owned();
        move |source| match source.as_database_error() {
            Some(e) if e.is_foreign_key_violation() => StoreError::RunNotFound { run },
            _ => StoreError::db(op, table, context)(source),
        }
    }

    pub(crate) fn corrupt(
        table: &'static str,
        column: &'static str,
        detail: impl Into<String>,
    ) -> StoreError {
        StoreError::Corrupt {
            table,
            column,
            detail: detail.into(),
        }
    }
}
