//! Builds connectors from configuration. Each kind connects itself
//! (`crate::kinds::TargetSettings::connect`); secrets are resolved there, and only there.

use crate::config::TargetConfig;
use muster_connectors::http::rate::TokenBucket;
use muster_connectors::http::RequestCounters;
use muster_core::connector::{Connector, ConnectorError};
use std::sync::Arc;

/// What a running server may watch of a target's HTTP traffic: requests sent (retries and
/// 429s included) and the rate budget in use. Shared with the connector, read without locks.
#[derive(Debug, Clone)]
pub struct HttpMeters {
    pub counters: Arc<RequestCounters>,
    pub bucket: Arc<TokenBucket>,
}

/// A connector and its meters.
pub struct Connected {
    pub connector: Arc<dyn Connector>,
    pub meters: HttpMeters,
}

impl Connected {
    pub fn new<C: Connector + 'static>(
        connector: C,
        counters: Arc<RequestCounters>,
        bucket: Arc<TokenBucket>,
    ) -> Self {
        Self {
            connector: Arc::new(connector),
            meters: HttpMeters { counters, bucket },
        }
    }
}

pub async fn connect(target: &TargetConfig) -> Result<Connected, ConnectorError> {
    target.connection.connect(target.name.clone()).await
}
