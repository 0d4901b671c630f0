//! `kind = "scim"`: a SCIM 2.0 service. Fields are SCIM attribute paths; the address is
//! `userName`. Its simulator: `muster sim scim`.

use super::sim::{SimError, SimOption, SimValues, Simulator};
use super::{settings_of, TargetKind, TargetSettings, Validated};
use crate::connectors::Connected;
use async_trait::async_trait;
use futures::future::BoxFuture;
use muster_connectors::scim::{ScimConfig, ScimConnector};
use muster_core::connector::ConnectorError;
use muster_core::TargetName;
use muster_sim::scim::{ScimSim, ScimSimConfig, ScimState};
use std::any::Any;
use std::net::SocketAddr;
use tokio::net::TcpListener;

pub struct Scim;

impl TargetKind for Scim {
    fn name(&self) -> &'static str {
        "scim"
    }

    fn settings(&self, connection: toml::Value) -> Result<Validated, String> {
        settings_of(connection, ScimConfig::validate)
    }

    fn simulator(&self) -> &'static dyn Simulator {
        &ScimSimulator
    }
}

#[async_trait]
impl TargetSettings for ScimConfig {
    fn mapping_field(&self, field: &str) -> Result<String, String> {
        muster_connectors::scim::path::mapping_field(field)
    }

    fn domain_field(&self) -> &'static str {
        "userName"
    }

    async fn connect(&self, target: TargetName) -> Result<Connected, ConnectorError> {
        let c = ScimConnector::connect(target, self).await?;
        let (counters, bucket) = (c.request_counters(), c.rate_bucket());
        Ok(Connected::new(c, counters, bucket))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Creates the SCIM groups named in `groups`, empty.
pub fn seed_groups(state: &ScimState, groups: &[String]) -> Result<(), SimError> {
    for g in groups {
        state
            .seed_group(serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": g,
                "members": []
            }))
            .map_err(|e| SimError::Seed {
                what: format!("group {g}"),
                detail: format!("{e:?}"),
            })?;
    }
    Ok(())
}

struct ScimSimulator;

static OPTIONS: [SimOption; 2] = [
    SimOption::one("token", "Bearer token the simulator accepts.")
        .env("SCIM_TOKEN")
        .default("sim-token"),
    SimOption::list("groups", "Groups to create at start, comma separated."),
];

#[async_trait]
impl Simulator for ScimSimulator {
    fn about(&self) -> &'static str {
        "A SCIM 2.0 service."
    }

    fn default_port(&self) -> u16 {
        8080
    }

    fn options(&self) -> &'static [SimOption] {
        &OPTIONS
    }

    fn banner(&self, addr: SocketAddr) -> String {
        format!("SCIM simulator on http://{addr}/scim/v2 (bearer token from --token / SCIM_TOKEN); test API at http://{addr}/_sim/state. Ctrl-C stops it.")
    }

    async fn serve(
        &self,
        values: &SimValues,
        listener: TcpListener,
        shutdown: BoxFuture<'static, ()>,
    ) -> Result<(), SimError> {
        let state = ScimState::new(ScimSimConfig {
            token: values.one("token").to_owned(),
            ..ScimSimConfig::default()
        });
        seed_groups(&state, values.list("groups"))?;
        Ok(ScimSim::serve_with_shutdown(state, listener, shutdown).await?)
    }
}
