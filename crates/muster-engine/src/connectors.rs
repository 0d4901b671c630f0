//! Builds connectors from configuration. Each kind connects itself
//! (`crate::kinds::TargetSettings::connect`); secrets are resolved there, and only there.

use crate::config::TargetConfig;
use muster_core::connector::{Connector, ConnectorError};
use std::sync::Arc;

pub async fn connect(target: &TargetConfig) -> Result<Arc<dyn Connector>, ConnectorError> {
    target.connection.connect(target.name.clone()).await
}
