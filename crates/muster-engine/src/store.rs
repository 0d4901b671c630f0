//! Opens the configured state store: the one place that turns `[store]` into a [`Store`].

use crate::config::StoreConfig;
use crate::error::EngineError;
use muster_store::Store;
use std::sync::Arc;

/// Opens (and migrates) the store `config` names: the SQLite file, or the PostgreSQL database
/// (its URL's secret is read here).
pub async fn open_store(config: &StoreConfig) -> Result<Arc<dyn Store>, EngineError> {
    Ok(match config {
        StoreConfig::Sqlite { path } => Arc::new(muster_store::open_sqlite(path).await?),
        StoreConfig::Postgres(pg) => Arc::new(muster_store::open_postgres(&pg.options()?).await?),
    })
}

/// Connections of the coordinator's own pool: lease renewals never wait behind busy runs.
const LEASE_CONNECTIONS: u32 = 2;

/// The node's leases in a store several nodes may share (PostgreSQL), on a small pool of its
/// own; `None` for SQLite (one process at a time, a file lock).
pub async fn open_coordinator(
    config: &StoreConfig,
) -> Result<Option<crate::coord::Coordinator>, EngineError> {
    let StoreConfig::Postgres(pg) = config else {
        return Ok(None);
    };
    let mut options = pg.options()?;
    options.max_connections = LEASE_CONNECTIONS;
    let store = muster_store::open_postgres(&options).await?;
    Ok(Some(crate::coord::Coordinator::new(
        store.pool().clone(),
        pg.lease,
    )))
}
