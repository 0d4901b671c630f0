//! What PostgreSQL does its own way, under the names the shared queries (`src/sql/`) use: the
//! database types, how a timestamp (`TIMESTAMPTZ`), a JSON value (`JSONB`) and a date (`DATE`)
//! are stored, and the few SQL fragments and locks that differ. `sqlite/dialect.rs` offers the
//! same names.

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};

pub(super) use super::PostgresStore as BackendStore;
pub(super) use sqlx::postgres::{PgConnection as Conn, PgPool as Pool};
pub(super) use sqlx::Postgres as Db;

// How a `Json` column is written and read back.
pub(super) use crate::codec::{encode_json_value as json, from_json_value as read_json};
use crate::error::StoreError;

/// A timestamp column (microseconds).
pub(super) type Time = DateTime<Utc>;

/// A `JSONB` column.
pub(super) type Json = serde_json::Value;

/// A `DATE` column.
pub(super) type Day = NaiveDate;

/// A timestamp as stored: cut to microseconds as SQLite's text is (PostgreSQL would round
/// instead), so both backends read back the same instant.
pub(super) fn ts(t: DateTime<Utc>) -> Time {
    t.trunc_subsecs(6)
}

pub(super) fn read_ts(
    _table: &'static str,
    _column: &'static str,
    t: Time,
) -> Result<DateTime<Utc>, StoreError> {
    Ok(t)
}

/// As [`read_json`], for a column that holds any JSON value (a record, a summary, a plan):
/// the value as the driver decoded it.
pub(super) fn read_value(
    _table: &'static str,
    _column: &'static str,
    value: Json,
) -> Result<serde_json::Value, StoreError> {
    Ok(value)
}

pub(super) fn day(d: NaiveDate) -> Day {
    d
}

pub(super) fn read_day(
    _table: &'static str,
    _column: &'static str,
    d: Day,
) -> Result<NaiveDate, StoreError> {
    Ok(d)
}

/// One script's stored values (`computed_values v`) packed by the server in one JSON array
/// text, each value as `[hex digest, iteration, value_json, error]` (`codec::Packed`).
pub(super) const PACKED_VALUES: &str =
    "COALESCE(json_agg(json_build_array(encode(v.person_digest, 'hex'), \
     v.iteration, v.value_json, v.error)), '[]')::TEXT";

/// What a write transaction appends to a `SELECT` of the blocked records a decision is about
/// to lock them, so two decisions on one record queue and the second sees the first.
pub(super) const LOCK_FOR_DECISION: Option<&str> = Some(" ORDER BY b.id FOR UPDATE");

/// Makes two saves of one source's snapshot queue (a lock held to the end of `tx`), so that
/// pruning sees every snapshot kept.
pub(super) async fn queue_snapshot_saves(
    tx: &mut Conn,
    source: &str,
    op: &'static str,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("muster.snapshots.{source}"))
        .execute(tx)
        .await
        .map_err(StoreError::db(op, "snapshots", source))?;
    Ok(())
}
