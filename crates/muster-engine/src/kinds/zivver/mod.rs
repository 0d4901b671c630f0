//! `kind = "zivver"`: Zivver's SCIM API. Fields are SCIM attribute paths; the address is
//! `userName`. Its simulator: `muster sim zivver`.

use super::sim::{SimError, SimOption, SimValues, Simulator};
use super::{settings_of, TargetKind, TargetSettings, Validated};
use crate::connectors::Connected;
use async_trait::async_trait;
use futures::future::BoxFuture;
use muster_connectors::zivver::{ZivverConfig, ZivverConnector};
use muster_core::connector::ConnectorError;
use muster_core::TargetName;
use muster_sim::zivver::{ZivverSim, ZivverSimConfig, ZivverState};
use std::any::Any;
use std::net::SocketAddr;
use tokio::net::TcpListener;

pub struct Zivver;

impl TargetKind for Zivver {
    fn name(&self) -> &'static str {
        "zivver"
    }

    fn settings(&self, connection: toml::Value) -> Result<Validated, String> {
        settings_of(connection, ZivverConfig::validate)
    }

    fn simulator(&self) -> &'static dyn Simulator {
        &ZivverSimulator
    }
}

#[async_trait]
impl TargetSettings for ZivverConfig {
    fn mapping_field(&self, field: &str) -> Result<String, String> {
        muster_connectors::scim::path::mapping_field(field)
    }

    fn domain_field(&self) -> &'static str {
        "userName"
    }

    async fn connect(&self, target: TargetName) -> Result<Connected, ConnectorError> {
        let c = ZivverConnector::connect(target, self)?;
        let (counters, bucket) = (c.request_counters(), c.rate_bucket());
        Ok(Connected::new(c, counters, bucket))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct ZivverSimulator;

static OPTIONS: [SimOption; 4] = [
    SimOption::one("token", "API key the simulator accepts.")
        .env("ZIVVER_TOKEN")
        .default("zivver-token"),
    SimOption::list(
        "functional-accounts",
        "Functional accounts to create at start, comma separated.",
    ),
    SimOption::list("divisions", "Divisions that exist, comma separated."),
    SimOption::list(
        "domains",
        "Organisation domains (addresses outside them are refused), comma separated.",
    )
    .default("example.org"),
];

#[async_trait]
impl Simulator for ZivverSimulator {
    fn about(&self) -> &'static str {
        "Zivver's SCIM API (50 requests per 10 s, write-only SSO key, whole-list functional accounts)."
    }

    fn default_port(&self) -> u16 {
        8081
    }

    fn options(&self) -> &'static [SimOption] {
        &OPTIONS
    }

    fn banner(&self, addr: SocketAddr) -> String {
        format!("Zivver simulator on http://{addr} (API under /api/scim/v2, API key from --token / ZIVVER_TOKEN, 50 requests per 10 s); test API at http://{addr}/_sim/state. Ctrl-C stops it.")
    }

    async fn serve(
        &self,
        values: &SimValues,
        listener: TcpListener,
        shutdown: BoxFuture<'static, ()>,
    ) -> Result<(), SimError> {
        let state = ZivverState::new(ZivverSimConfig {
            tokens: vec![values.one("token").to_owned()],
            divisions: values.list("divisions").to_vec(),
            domains: values.list("domains").to_vec(),
            ..ZivverSimConfig::default()
        });
        for name in values.list("functional-accounts") {
            state
                .seed_group(serde_json::json!({ "displayName": name, "members": [] }))
                .map_err(|e| SimError::Seed {
                    what: format!("functional account {name}"),
                    detail: format!("{e:?}"),
                })?;
        }
        Ok(ZivverSim::serve_with_shutdown(state, listener, shutdown).await?)
    }
}
