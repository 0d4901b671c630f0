//! The schema version a store is at: the newest migration sqlx recorded in
//! `_sqlx_migrations` (for `muster store migrate`).

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

use crate::error::StoreError;

/// The newest migration applied to a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaVersion {
    pub version: i64,
    pub description: String,
    /// Migrations applied in all.
    pub applied: i64,
}

const NEWEST: &str =
    "SELECT version, description, (SELECT count(*) FROM _sqlx_migrations WHERE success) \
     FROM _sqlx_migrations WHERE success ORDER BY version DESC LIMIT 1";

fn read(row: Option<(i64, String, i64)>) -> SchemaVersion {
    let (version, description, applied) = row.unwrap_or((0, String::new(), 0));
    SchemaVersion {
        version,
        description,
        applied,
    }
}

pub async fn sqlite(pool: &SqlitePool) -> Result<SchemaVersion, StoreError> {
    let row = sqlx::query_as(NEWEST)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::db(
            "schema version",
            "_sqlx_migrations",
            "sqlite",
        ))?;
    Ok(read(row))
}

pub async fn postgres(pool: &PgPool) -> Result<SchemaVersion, StoreError> {
    let row = sqlx::query_as(NEWEST)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::db(
            "schema version",
            "_sqlx_migrations",
            "postgres",
        ))?;
    Ok(read(row))
}
