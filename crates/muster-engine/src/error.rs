//! Errors that stop a run (as opposed to a failed action, which is recorded and the run goes on).

use muster_core::connector::ConnectorError;
use muster_sources::SourceError;
use muster_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigErrors),
    #[error("source: {0}")]
    Source(#[from] SourceError),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    /// The secret holding the PostgreSQL store's URL could not be read.
    #[error("state store: cannot read the PostgreSQL URL: {0}")]
    StoreUrl(#[source] muster_connectors::SecretError),
    #[error("target {target}: {source}")]
    Target {
        target: String,
        #[source]
        source: Box<ConnectorError>,
    },
    #[error("plan file {path}: {message}")]
    PlanFile { path: String, message: String },
    /// `apply --plan` refuses a plan made against a different source, target or config.
    #[error("the saved plan is out of date: {0}. Make a new plan with `muster plan`.")]
    StalePlan(String),
    /// A target name the configuration lacks (a server schedule, `--target`).
    #[error("no target `{target}` is configured in {config}")]
    UnknownTarget { target: String, config: String },
    /// A configured target without a connector: the engine was built for other targets.
    #[error("target {0} is not connected")]
    NotConnected(String),
    /// A run id (or prefix) the store does not know.
    #[error("no run `{run}` in {store}")]
    UnknownRun { run: String, store: String },
    /// `muster approve` of a run that holds nothing to approve.
    #[error("{0}: no threshold or all-or-nothing limit blocked it")]
    NothingToApprove(StoreError),
    /// A reconcile decision about an account that a person owns or correlates with.
    #[error("account {account} in target {target} is not an orphan: it is linked to, or correlates with, a person (see `muster import --target {target}`)")]
    NotAnOrphan { target: String, account: String },
    /// A reconcile decision about an account the target does not hold.
    #[error("target {target} has no account {account}")]
    NoSuchAccount { target: String, account: String },
    /// Another process applies with the same store (its lock file is held).
    #[error("another Muster is applying with this state store ({lock} is locked); wait for it to finish")]
    AlreadyApplying { lock: String },
    /// Another node applies with the same PostgreSQL store (it holds the `apply` lease).
    #[error("another Muster node ({holder}) is applying with this state store: it holds the lease `{lease}` until {deadline} unless it renews it; wait for it to finish (a node that died loses it at that time)")]
    LeaseHeld {
        lease: String,
        holder: String,
        deadline: String,
    },
    /// The lease could not be taken or read.
    #[error("cannot take the lease `{lease}`: {error}")]
    Lease {
        lease: String,
        #[source]
        error: Box<muster_store::StoreError>,
    },
    /// The apply lock could not be taken for another reason than a holder.
    #[error("cannot take the apply lock {path}: {error}")]
    Lock { path: String, error: std::io::Error },
    /// A person could not be written into the source snapshot.
    #[error("snapshot of {person}: {error}")]
    Snapshot {
        person: String,
        error: serde_json::Error,
    },
    /// A sign-in that cannot be handled at all (no person key, too many at once).
    #[error("sign-in of {subject}: {reason}")]
    SignIn { subject: String, reason: String },
    /// A task of the pipeline stopped before it ended (a panic: a bug), named by `stage`.
    #[error("the {stage} stopped unexpectedly: {detail}")]
    Stopped { stage: &'static str, detail: String },
}

impl EngineError {
    pub fn target(target: impl ToString, source: ConnectorError) -> Self {
        Self::Target {
            target: target.to_string(),
            source: Box::new(source),
        }
    }
}
