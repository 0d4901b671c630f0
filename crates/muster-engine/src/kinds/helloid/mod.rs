//! `kind = "helloid"`: HelloID's REST API v1. Fields are HelloID's own names, taken as
//! written; the address is `contactEmail`. `set_manager` and `department_groups` imply a
//! mapping and a rule. Its simulator: `muster sim helloid`.

use super::sim::{SimError, SimOption, SimValues, Simulator};
use super::{settings_of, Implied, ImpliedError, TargetKind, TargetSettings, Validated};
use crate::config::implied::{dynamic_rule, escape, path, template_of};
use crate::connectors::Connected;
use async_trait::async_trait;
use futures::future::BoxFuture;
use muster_connectors::helloid::{HelloIdConfig, HelloIdConnector};
use muster_core::connector::ConnectorError;
use muster_core::mapping::{ActionSet, FieldMapping, ValueSource};
use muster_core::rules::ContractSelection;
use muster_core::TargetName;
use muster_sim::helloid::{HelloIdSim, HelloIdSimConfig, HelloIdState};
use std::any::Any;
use std::net::SocketAddr;
use tokio::net::TcpListener;

pub struct HelloId;

impl TargetKind for HelloId {
    fn name(&self) -> &'static str {
        "helloid"
    }

    fn settings(&self, connection: toml::Value) -> Result<Validated, String> {
        settings_of(connection, HelloIdConfig::validate)
    }

    fn simulator(&self) -> &'static dyn Simulator {
        &HelloIdSimulator
    }
}

#[async_trait]
impl TargetSettings for HelloIdConfig {
    fn domain_field(&self) -> &'static str {
        "contactEmail"
    }

    fn implied(&self, target: &TargetName) -> Result<Implied, ImpliedError> {
        let mut out = Implied::default();
        if self.set_manager {
            out.mappings.push(FieldMapping {
                field: "managedByUserGUID".into(),
                value: ValueSource::AccountOf(path("PrimaryContract.Manager")?),
                actions: ActionSet::ALWAYS,
                secret: false,
            });
        }
        if let Some(groups) = &self.department_groups {
            // HelloID names them `department_<sanitised department id>`; the literal prefix
            // is also what scopes the revokes to these groups only.
            let template = format!(
                "{}{{{}|sanitize}}",
                escape(&groups.prefix),
                groups.field.trim()
            );
            out.rules.push(dynamic_rule(
                target,
                "department groups",
                template_of("connection.department_groups", &template)?,
                ContractSelection::InScope,
            ));
        }
        Ok(out)
    }

    async fn connect(&self, target: TargetName) -> Result<Connected, ConnectorError> {
        let c = HelloIdConnector::connect(target, self)?;
        let (counters, bucket) = (c.request_counters(), c.rate_bucket());
        Ok(Connected::new(c, counters, bucket))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct HelloIdSimulator;

static OPTIONS: [SimOption; 4] = [
    SimOption::one(
        "key",
        "API key the simulator accepts (HTTP Basic user name).",
    )
    .env("HELLOID_KEY")
    .default("helloid-key"),
    SimOption::one(
        "secret",
        "API secret the simulator accepts (HTTP Basic password).",
    )
    .env("HELLOID_SECRET")
    .default("helloid-secret")
    .secret(),
    SimOption::list("groups", "Groups to create at start, comma separated."),
    SimOption::list("products", "Products to create at start, comma separated."),
];

#[async_trait]
impl Simulator for HelloIdSimulator {
    fn about(&self) -> &'static str {
        "HelloID's REST API v1 (Basic auth, skip/take paging, soft deletes, self-service products)."
    }

    fn default_port(&self) -> u16 {
        8082
    }

    fn options(&self) -> &'static [SimOption] {
        &OPTIONS
    }

    fn banner(&self, addr: SocketAddr) -> String {
        format!("HelloID simulator on http://{addr} (API under /api/v1, Basic auth with --key/--secret or HELLOID_KEY/HELLOID_SECRET); test API at http://{addr}/_sim/state, switches at /_sim/switches, approvals at POST /_sim/approve. Ctrl-C stops it.")
    }

    async fn serve(
        &self,
        values: &SimValues,
        listener: TcpListener,
        shutdown: BoxFuture<'static, ()>,
    ) -> Result<(), SimError> {
        let state = HelloIdState::new(HelloIdSimConfig {
            credentials: vec![(
                values.one("key").to_owned(),
                values.one("secret").to_owned(),
            )],
            groups: values.list("groups").to_vec(),
            products: values.list("products").to_vec(),
            ..HelloIdSimConfig::default()
        });
        Ok(HelloIdSim::serve_with_shutdown(state, listener, shutdown).await?)
    }
}
