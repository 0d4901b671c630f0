//! `[source] kind = "exchange-online"`: user and shared mailboxes with their addresses and Full
//! Access delegations (`muster_exchange::ExchangeOnlineConfig`). Its simulator:
//! `muster sim exchange-online`.

use super::sim::{SimError, SimOption, SimValues, Simulator};
use super::{source_of, Source, SourceKind};
use async_trait::async_trait;
use futures::future::BoxFuture;
use muster_exchange::ExchangeOnlineConfig;
use muster_sim::exchange::{ExchangeSim, ExchangeSimConfig, ExchangeState, TenantSeed};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

pub struct ExchangeOnline;

impl SourceKind for ExchangeOnline {
    fn name(&self) -> &'static str {
        "exchange-online"
    }

    fn settings(&self, table: toml::Value) -> Result<Arc<dyn Source>, String> {
        source_of::<ExchangeOnlineConfig>(table)
    }

    fn simulator(&self) -> Option<&'static dyn Simulator> {
        Some(&ExchangeSimulator)
    }
}

struct ExchangeSimulator;

static OPTIONS: [SimOption; 6] = [
    SimOption::one("tenant", "The tenant's initial domain, as URLs name it.")
        .default("contoso.onmicrosoft.com"),
    SimOption::one(
        "client-id",
        "The application (client) id the token endpoint accepts.",
    )
    .default("muster-app"),
    SimOption::one(
        "client-secret",
        "The client secret the token endpoint accepts.",
    )
    .env("EXO_SIM_SECRET")
    .default("sim-secret")
    .secret(),
    SimOption::one(
        "tenant-file",
        "A JSON tenant (mailboxes, groups, permissions); default: a generated example tenant.",
    ),
    SimOption::one("users", "User mailboxes of the generated tenant.").default("200"),
    SimOption::one("shared", "Shared mailboxes of the generated tenant.").default("40"),
];

fn seed(values: &SimValues) -> Result<TenantSeed, SimError> {
    let bad = |what: &str, detail: String| SimError::Seed {
        what: what.into(),
        detail,
    };
    let file = values.one("tenant-file");
    if !file.is_empty() {
        let text =
            std::fs::read_to_string(file).map_err(|e| bad("the tenant", format!("{file}: {e}")))?;
        return serde_json::from_str(&text).map_err(|e| bad("the tenant", format!("{file}: {e}")));
    }
    let number = |name: &str| {
        values
            .one(name)
            .parse::<usize>()
            .map_err(|e| bad("the tenant", format!("--{name}: {e}")))
    };
    Ok(TenantSeed::example(
        "contoso.nl",
        number("users")?,
        number("shared")?,
        3,
    ))
}

#[async_trait]
impl Simulator for ExchangeSimulator {
    fn about(&self) -> &'static str {
        "Exchange Online as the exchange-online source reads it: tokens, the Exchange admin API (mailboxes, Full Access, recipients, groups, $batch) and Graph group members."
    }

    fn default_port(&self) -> u16 {
        8084
    }

    fn options(&self) -> &'static [SimOption] {
        &OPTIONS
    }

    fn banner(&self, addr: SocketAddr) -> String {
        format!("Exchange Online simulator on http://{addr}: token_url = http://{addr}/<tenant>/oauth2/v2.0/token, exchange_url = graph_url = http://{addr}, client secret from --client-secret / EXO_SIM_SECRET; test API at http://{addr}/_sim/state, switches at /_sim/switches. Ctrl-C stops it.")
    }

    async fn serve(
        &self,
        values: &SimValues,
        listener: TcpListener,
        shutdown: BoxFuture<'static, ()>,
    ) -> Result<(), SimError> {
        let cfg = ExchangeSimConfig {
            tenant: values.one("tenant").to_owned(),
            client_id: values.one("client-id").to_owned(),
            client_secret: values.one("client-secret").to_owned(),
            tenant_seed: seed(values)?,
            ..ExchangeSimConfig::default()
        };
        Ok(ExchangeSim::serve_with_shutdown(ExchangeState::new(cfg), listener, shutdown).await?)
    }
}
