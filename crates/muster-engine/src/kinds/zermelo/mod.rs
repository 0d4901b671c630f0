//! `kind = "zermelo"`: Zermelo's REST API v3. Fields are Zermelo's own names, taken as
//! written; the address is `email`. `class_field`, `school_field` and `school_year_from`
//! imply the class-placement rule. Its simulator: `muster sim zermelo`.

use super::sim::{SimError, SimOption, SimValues, Simulator};
use super::{settings_of, Implied, ImpliedError, TargetKind, TargetSettings, Validated};
use crate::config::implied::{dynamic_rule, template_of};
use crate::connectors::Connected;
use async_trait::async_trait;
use futures::future::BoxFuture;
use muster_connectors::zermelo::{SchoolYearFrom, ZermeloConfig, ZermeloConnector};
use muster_core::connector::ConnectorError;
use muster_core::rules::ContractSelection;
use muster_core::TargetName;
use muster_sim::zermelo::{ZermeloSim, ZermeloSimConfig, ZermeloState};
use std::any::Any;
use std::net::SocketAddr;
use tokio::net::TcpListener;

pub struct Zermelo;

impl TargetKind for Zermelo {
    fn name(&self) -> &'static str {
        "zermelo"
    }

    fn settings(&self, connection: toml::Value) -> Result<Validated, String> {
        settings_of(connection, ZermeloConfig::validate)
    }

    fn simulator(&self) -> &'static dyn Simulator {
        &ZermeloSimulator
    }
}

#[async_trait]
impl TargetSettings for ZermeloConfig {
    fn domain_field(&self) -> &'static str {
        "email"
    }

    fn implied(&self, target: &TargetName) -> Result<Implied, ImpliedError> {
        let year = match self.school_year_from {
            SchoolYearFrom::ContractStart => "{PrimaryContract.StartDate|schoolyear}",
            SchoolYearFrom::RunDate => "{Today|schoolyear}",
        };
        // The connector names each department of branch `<code> / <school> <year>`.
        let template = format!(
            "{{{}|trim}} / {{{}|trim}} {year}",
            self.class_field, self.school_field
        );
        let rule = dynamic_rule(
            target,
            "class placement",
            template_of("connection.class_field / school_field", &template)?,
            ContractSelection::Primary,
        );
        Ok(Implied {
            rules: vec![rule],
            mappings: Vec::new(),
        })
    }

    async fn connect(&self, target: TargetName) -> Result<Connected, ConnectorError> {
        let c = ZermeloConnector::connect(target, self)?;
        let (counters, bucket) = (c.request_counters(), c.rate_bucket());
        Ok(Connected::new(c, counters, bucket))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct ZermeloSimulator;

static OPTIONS: [SimOption; 1] = [SimOption::one("token", "API token the simulator accepts.")
    .env("ZERMELO_TOKEN")
    .default("zermelo-token")];

fn sim_state(token: &str) -> ZermeloState {
    ZermeloState::new(ZermeloSimConfig {
        tokens: vec![token.to_owned()],
        ..ZermeloSimConfig::default()
    })
}

#[async_trait]
impl Simulator for ZermeloSimulator {
    fn about(&self) -> &'static str {
        "Zermelo's REST API v3 (envelope answers, partial PUT, classes of two school years)."
    }

    fn default_port(&self) -> u16 {
        8083
    }

    fn options(&self) -> &'static [SimOption] {
        &OPTIONS
    }

    fn banner(&self, addr: SocketAddr) -> String {
        let classes = sim_state("").departments().len();
        format!("Zermelo simulator on http://{addr} (API under /api/v3, bearer token from --token / ZERMELO_TOKEN, {classes} classes over two school years); test API at http://{addr}/_sim/state, switches at /_sim/switches. Ctrl-C stops it.")
    }

    async fn serve(
        &self,
        values: &SimValues,
        listener: TcpListener,
        shutdown: BoxFuture<'static, ()>,
    ) -> Result<(), SimError> {
        let state = sim_state(values.one("token"));
        Ok(ZermeloSim::serve_with_shutdown(state, listener, shutdown).await?)
    }
}
