//! What SQLite does its own way, under the names the shared queries (`src/sql/`) use: the
//! database types, how a timestamp, a JSON value and a date are stored (TEXT), and the few
//! SQL fragments and locks that differ. `postgres/dialect.rs` offers the same names.

use chrono::{DateTime, NaiveDate, Utc};

pub(super) use super::SqliteStore as BackendStore;
pub(super) use sqlx::sqlite::{SqliteConnection as Conn, SqlitePool as Pool};
pub(super) use sqlx::Sqlite as Db;

// How a `Json` column is written and read back.
pub(super) use crate::codec::{encode_json as json, parse_json as read_json};
use crate::error::StoreError;

/// A timestamp column: RFC 3339 text in UTC with six fractional digits, so that text order
/// is time order (`WHERE at >= $1`, `ORDER BY at`).
pub(super) type Time = String;

/// A JSON column: the JSON text.
pub(super) type Json = String;

/// A date column: `YYYY-MM-DD`.
pub(super) type Day = String;

pub(super) fn ts(t: DateTime<Utc>) -> Time {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(super) fn read_ts(
    table: &'static str,
    column: &'static str,
    text: Time,
) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            StoreError::corrupt(table, column, format!("`{text}` is not a timestamp: {e}"))
        })
}

/// As [`read_json`], for a column that holds any JSON value (a record, a summary, a plan).
pub(super) fn read_value(
    table: &'static str,
    column: &'static str,
    text: Json,
) -> Result<serde_json::Value, StoreError> {
    read_json(table, column, text)
}

pub(super) fn day(d: NaiveDate) -> Day {
    d.format("%Y-%m-%d").to_string()
}

pub(super) fn read_day(
    table: &'static str,
    column: &'static str,
    text: Day,
) -> Result<NaiveDate, StoreError> {
    text.parse()
        .map_err(|e| StoreError::corrupt(table, column, format!("`{text}` is not a date: {e}")))
}

/// One script's stored values (`computed_values v`) packed by SQLite in one JSON array text,
/// each value as `[hex digest, iteration, value_json, error]` (`codec::Packed`).
pub(super) const PACKED_VALUES: &str =
    "json_group_array(json_array(hex(v.person_digest), v.iteration, v.value_json, v.error))";

/// What a write transaction appends to a `SELECT` of the blocked records a decision is about
/// to lock them: nothing, since a transaction that began `IMMEDIATE` is the only writer.
pub(super) const LOCK_FOR_DECISION: Option<&str> = None;

/// Makes two saves of one source's snapshot queue, so that pruning sees every snapshot kept:
/// nothing to do, since a transaction that began `IMMEDIATE` is the only writer.
pub(super) async fn queue_snapshot_saves(
    _tx: &mut Conn,
    _source: &str,
    _op: &'static str,
) -> Result<(), StoreError> {
    Ok(())
}
