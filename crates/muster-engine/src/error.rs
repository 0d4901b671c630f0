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
    #[error("{0}")]
    Usage(String),
}

impl EngineError {
    pub fn target(target: impl ToString, source: ConnectorError) -> Self {
        Self::Target {
            target: target.to_string(),
            source: Box::new(source),
        }
    }
}
