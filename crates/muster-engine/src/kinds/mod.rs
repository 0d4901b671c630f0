//! The one table of kinds: every kind of target and of source Muster knows, each implemented
//! in its own folder here, and listed once in [`TARGETS`] or [`SOURCES`]. Nothing else in the
//! tree names a kind: configuration, connecting, implied rules and `muster sim` all ask this
//! table.
//!
//! A target kind ([`TargetKind`]) gives its name, turns the raw `connection` table into its
//! typed, validated settings ([`TargetSettings`]: the account-field spelling, the address field
//! `included_domains` checks, the rules and mappings its settings imply, and `connect`), and
//! its simulator for `muster sim <kind>` ([`sim`]). A source kind ([`SourceKind`]) gives its
//! name and turns the raw `[source]` table into a [`Source`] that reads records: persons, or
//! other identities ([`muster_core::model::IdentityKind`]).
//!
//! A new kind is its folder plus one line in the table below.

pub mod csv;
pub mod exchange_online;
pub mod helloid;
pub mod json;
pub mod scim;
pub mod sim;
pub mod zermelo;
pub mod zivver;

pub use crate::config::implied::{Implied, ImpliedError};
pub use muster_sources::Source;

use crate::connectors::Connected;
use async_trait::async_trait;
use muster_core::connector::ConnectorError;
use muster_core::TargetName;
use serde::de::DeserializeOwned;
use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

/// Every target kind, by the name `kind = "…"` gives it. One line per kind.
pub static TARGETS: &[&dyn TargetKind] = &[
    &scim::Scim,
    &zivver::Zivver,
    &helloid::HelloId,
    &zermelo::Zermelo,
];

/// Every source kind, by the name `[source] kind = "…"` gives it. One line per kind.
pub static SOURCES: &[&dyn SourceKind] =
    &[&csv::Csv, &json::Json, &exchange_online::ExchangeOnline];

/// The target kind named `name`.
pub fn target(name: &str) -> Option<&'static dyn TargetKind> {
    TARGETS.iter().copied().find(|k| k.name() == name)
}

/// The source kind named `name`.
pub fn source(name: &str) -> Option<&'static dyn SourceKind> {
    SOURCES.iter().copied().find(|k| k.name() == name)
}

/// Every simulator by the name `muster sim <name>` gives it: each target kind's, then the
/// source kinds' that have one.
pub fn simulators() -> impl Iterator<Item = (&'static str, &'static dyn sim::Simulator)> {
    let targets = TARGETS.iter().map(|k| (k.name(), k.simulator()));
    let sources = SOURCES
        .iter()
        .filter_map(|k| k.simulator().map(|s| (k.name(), s)));
    targets.chain(sources)
}

/// The simulator named `name`.
pub fn simulator(name: &str) -> Option<(&'static str, &'static dyn sim::Simulator)> {
    simulators().find(|(n, _)| *n == name)
}

/// `` `a`, `b` or `c` ``: the names of a table, for an error that says what was expected.
pub fn expected<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// A kind of target: what `[targets.<name>] kind = "…"` names.
pub trait TargetKind: Sync {
    /// The name in `kind = "…"` and in `muster sim <name>`.
    fn name(&self) -> &'static str;
    /// The `connection` table as this kind's typed settings, with every validation problem
    /// (each naming its key). `Err` when the table does not have the settings' shape.
    fn settings(&self, connection: toml::Value) -> Result<Validated, String>;
    /// Its simulator, for `muster sim <name>`.
    fn simulator(&self) -> &'static dyn sim::Simulator;
}

/// Settings and the problems found in them (empty when they are usable).
pub type Validated = (Arc<dyn TargetSettings>, Vec<String>);

/// Deserialises `connection` into `C` and validates it with `validate`: what most kinds'
/// [`TargetKind::settings`] is.
pub fn settings_of<C: TargetSettings + DeserializeOwned>(
    connection: toml::Value,
    validate: impl FnOnce(&C) -> Vec<String>,
) -> Result<Validated, String> {
    let settings = C::deserialize(connection).map_err(|e| e.to_string())?;
    let problems = validate(&settings);
    Ok((Arc::new(settings), problems))
}

/// One target's checked connector settings. Holds references to secrets, never their values.
#[async_trait]
pub trait TargetSettings: Debug + Send + Sync + Any {
    /// The one spelling of a mapped (or correlated) account field for this kind, so that what
    /// is written compares equal to what the next read returns; an error names why a field
    /// could never compare equal. Default: taken as written.
    fn mapping_field(&self, field: &str) -> Result<String, String> {
        Ok(field.to_owned())
    }
    /// The account field that holds the address, which `included_domains` checks unless
    /// `domain_field` says otherwise.
    fn domain_field(&self) -> &'static str;
    /// The rules and mappings these settings imply for `target`. Default: none.
    fn implied(&self, target: &TargetName) -> Result<Implied, ImpliedError> {
        let _ = target;
        Ok(Implied::default())
    }
    /// Opens the connector: resolves the secrets and builds the client.
    async fn connect(&self, target: TargetName) -> Result<Connected, ConnectorError>;
    /// For tests and tools that need the concrete settings.
    fn as_any(&self) -> &dyn Any;
}

/// A kind of source: what `[source] kind = "…"` names.
pub trait SourceKind: Sync {
    /// The name in `kind = "…"`.
    fn name(&self) -> &'static str;
    /// The `[source]` table without its `kind` as this kind's settings. `Err` when the table
    /// does not have the settings' shape.
    fn settings(&self, table: toml::Value) -> Result<Arc<dyn Source>, String>;
    /// Its simulator, for `muster sim <name>`, when the source reads a service. Default: none.
    fn simulator(&self) -> Option<&'static dyn sim::Simulator> {
        None
    }
}

/// Deserialises a source table into `S`: what most kinds' [`SourceKind::settings`] is.
pub fn source_of<S: Source + DeserializeOwned + 'static>(
    table: toml::Value,
) -> Result<Arc<dyn Source>, String> {
    let source = S::deserialize(table).map_err(|e| e.to_string())?;
    Ok(Arc::new(source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_in_each_table() {
        let mut targets: Vec<&str> = TARGETS.iter().map(|k| k.name()).collect();
        targets.sort_unstable();
        targets.dedup();
        assert_eq!(targets.len(), TARGETS.len());
        let mut sources: Vec<&str> = SOURCES.iter().map(|k| k.name()).collect();
        sources.sort_unstable();
        sources.dedup();
        assert_eq!(sources.len(), SOURCES.len());
    }

    /// Every kind's simulator serves its test API with its default options, and stops when
    /// told to.
    #[tokio::test]
    async fn every_simulator_serves_and_stops() {
        for (name, sim) in simulators() {
            let mut values = sim::SimValues::default();
            for option in sim.options() {
                let default = option.default.map(str::to_owned);
                values.set(option.name, default.into_iter().collect());
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            assert!(sim.banner(addr).contains(&addr.to_string()));
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(async move {
                let shutdown = async {
                    let _ = stopped.await;
                };
                sim.serve(&values, listener, Box::pin(shutdown)).await
            });
            let answer = reqwest::get(format!("http://{addr}/_sim/state"))
                .await
                .unwrap();
            assert!(answer.status().is_success(), "{name}: {}", answer.status());
            stop.send(()).unwrap();
            let ended = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
            assert!(matches!(ended, Ok(Ok(Ok(())))), "{name}: {ended:?}");
        }
    }

    #[test]
    fn expected_lists_names_for_an_error() {
        assert_eq!(expected(["a"].into_iter()), "`a`");
        assert_eq!(expected(["a", "b", "c"].into_iter()), "`a`, `b` or `c`");
        assert_eq!(
            expected(TARGETS.iter().map(|k| k.name())),
            "`scim`, `zivver`, `helloid` or `zermelo`"
        );
    }
}
