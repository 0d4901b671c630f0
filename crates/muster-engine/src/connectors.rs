//! Builds connectors from configuration. Each kind connects itself
//! (`crate::kinds::TargetSettings::connect`); secrets are resolved there, and only there.
//! [`Connections`] holds an engine's connectors; a target that cannot be reached is recorded
//! there and connected again when a run needs it.

use crate::config::TargetConfig;
use crate::error::EngineError;
use muster_connectors::http::rate::TokenBucket;
use muster_connectors::http::RequestCounters;
use muster_core::connector::{Connector, ConnectorError};
use muster_core::TargetName;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

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

/// Whether [`Connections::open`] stops at the first target it cannot reach (a one-shot CLI
/// command) or records it and goes on (a server: its runs connect again, see
/// [`Connections::ensure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    Fail,
    Record,
}

/// Each target's connector and meters, and the targets whose last connect failed with why.
/// Shared by an engine and its `only_targets` copies, so a target connected late by one run
/// stays connected for the next.
#[derive(Default)]
pub struct Connections {
    table: RwLock<Table>,
}

#[derive(Default)]
struct Table {
    connectors: BTreeMap<TargetName, Arc<dyn Connector>>,
    meters: BTreeMap<TargetName, HttpMeters>,
    /// The connector's error text (it carries no secrets).
    unreachable: BTreeMap<TargetName, String>,
}

impl Connections {
    /// Connects every target in `targets`, in order.
    pub async fn open(targets: &[TargetConfig], on: Unreachable) -> Result<Self, EngineError> {
        let connections = Self::default();
        for t in targets {
            if let Err(e) = connections.connect(t).await {
                if on == Unreachable::Fail {
                    return Err(e);
                }
                tracing::warn!(target_name = %t.name, error = %e, "Target cannot be reached; each run that involves it connects again.");
            }
        }
        Ok(connections)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        // Only plain maps behind the lock: a panic while holding it leaves them usable.
        self.table.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The connector of `target`, if it is connected.
    pub fn get(&self, target: &TargetName) -> Option<Arc<dyn Connector>> {
        self.read().connectors.get(target).cloned()
    }

    /// Each connected target's HTTP meters, as of now.
    pub fn meters(&self) -> BTreeMap<TargetName, HttpMeters> {
        self.read().meters.clone()
    }

    /// The targets whose last connect failed, with the reason.
    pub fn unreachable(&self) -> BTreeMap<TargetName, String> {
        self.read().unreachable.clone()
    }

    /// Connects `t` (again); on success its connector is kept.
    async fn connect(&self, t: &TargetConfig) -> Result<Arc<dyn Connector>, EngineError> {
        // No lock is held while connecting: the connect does network I/O.
        match connect(t).await {
            Ok(c) => {
                let mut table = self.write();
                table.unreachable.remove(&t.name);
                table.meters.entry(t.name.clone()).or_insert(c.meters);
                let kept = table
                    .connectors
                    .entry(t.name.clone())
                    .or_insert(c.connector);
                Ok(kept.clone())
            }
            Err(e) => {
                self.write()
                    .unreachable
                    .insert(t.name.clone(), e.to_string());
                Err(EngineError::target(&t.name, e))
            }
        }
    }

    /// The connector of `t`, connecting it first if it is not connected yet.
    pub async fn connected(&self, t: &TargetConfig) -> Result<Arc<dyn Connector>, EngineError> {
        match self.get(&t.name) {
            Some(c) => Ok(c),
            None => self.connect(t).await,
        }
    }

    /// Connects those of `targets` not connected yet; returns the ones that still cannot be
    /// reached, with the reason (the connector's error, which names the target).
    pub async fn ensure(&self, targets: &[TargetConfig]) -> BTreeMap<TargetName, String> {
        let mut failed = Vec::new();
        for t in targets {
            if self.connected(t).await.is_err() {
                failed.push(&t.name);
            }
        }
        let table = self.read();
        failed
            .into_iter()
            .filter_map(|name| Some((name.clone(), table.unreachable.get(name)?.clone())))
            .collect()
    }
}
