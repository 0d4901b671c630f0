//! Builds connectors from configuration: the one place that maps a connector kind to its
//! constructor. Secrets are resolved here, and only here.

use crate::config::{Connection, TargetConfig};
use muster_core::connector::{Connector, ConnectorError};
use std::sync::Arc;

pub async fn connect(target: &TargetConfig) -> Result<Arc<dyn Connector>, ConnectorError> {
    match &target.connection {
        Connection::Scim(cfg) => {
            let c =
                muster_connectors::scim::ScimConnector::connect(target.name.clone(), cfg).await?;
            Ok(Arc::new(c))
        }
        Connection::Zivver(cfg) => {
            let c = muster_connectors::zivver::ZivverConnector::connect(target.name.clone(), cfg)?;
            Ok(Arc::new(c))
        }
        Connection::HelloId(cfg) => {
            let c =
                muster_connectors::helloid::HelloIdConnector::connect(target.name.clone(), cfg)?;
            Ok(Arc::new(c))
        }
        Connection::Zermelo(cfg) => {
            let c =
                muster_connectors::zermelo::ZermeloConnector::connect(target.name.clone(), cfg)?;
            Ok(Arc::new(c))
        }
    }
}
