//! Builds connectors from configuration: the one place that maps a connector kind to its
//! constructor. Secrets are resolved here, and only here.

use crate::config::{Connection, TargetConfig};
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

pub async fn connect(target: &TargetConfig) -> Result<Connected, ConnectorError> {
    fn connected<C: Connector + 'static>(
        c: C,
        counters: Arc<RequestCounters>,
        bucket: Arc<TokenBucket>,
    ) -> Connected {
        Connected {
            connector: Arc::new(c),
            meters: HttpMeters { counters, bucket },
        }
    }
    match &target.connection {
        Connection::Scim(cfg) => {
            let c =
                muster_connectors::scim::ScimConnector::connect(target.name.clone(), cfg).await?;
            let (counters, bucket) = (c.request_counters(), c.rate_bucket());
            Ok(connected(c, counters, bucket))
        }
        Connection::Zivver(cfg) => {
            let c = muster_connectors::zivver::ZivverConnector::connect(target.name.clone(), cfg)?;
            let (counters, bucket) = (c.request_counters(), c.rate_bucket());
            Ok(connected(c, counters, bucket))
        }
        Connection::HelloId(cfg) => {
            let c =
                muster_connectors::helloid::HelloIdConnector::connect(target.name.clone(), cfg)?;
            let (counters, bucket) = (c.request_counters(), c.rate_bucket());
            Ok(connected(c, counters, bucket))
        }
        Connection::Zermelo(cfg) => {
            let c =
                muster_connectors::zermelo::ZermeloConnector::connect(target.name.clone(), cfg)?;
            let (counters, bucket) = (c.request_counters(), c.rate_bucket());
            Ok(connected(c, counters, bucket))
        }
    }
}
