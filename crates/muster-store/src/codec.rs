//! Checked conversions shared by every backend: enum text, JSON, counts and action ids as the
//! store keeps them. Anything this version of Muster would not have written becomes
//! [`StoreError::Corrupt`] naming the table and column, never a panic and never a default.

use chrono::{DateTime, SubsecRound, Utc};
use muster_core::report::ActionOutcome;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Display;
use std::str::FromStr;

use crate::error::StoreError;
use crate::store::{ComputedEntry, ComputedKey};

/// Parses enum text (`ActionKind`, `JournalState`, ...), naming the column when it fails.
pub(crate) fn parse_text<T>(
    table: &'static str,
    column: &'static str,
    text: &str,
) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: Display,
{
    text.parse()
        .map_err(|e: T::Err| StoreError::corrupt(table, column, e.to_string()))
}

pub(crate) fn parse_outcome(table: &'static str, text: &str) -> Result<ActionOutcome, StoreError> {
    const ALL: [ActionOutcome; 4] = [
        ActionOutcome::Done,
        ActionOutcome::Failed,
        ActionOutcome::Blocked,
        ActionOutcome::Skipped,
    ];
    ALL.into_iter().find(|o| o.as_str() == text).ok_or_else(|| {
        StoreError::corrupt(
            table,
            "outcome",
            format!("unknown outcome `{text}`: expected one of done, failed, blocked, skipped"),
        )
    })
}

/// Decodes stored JSON text. The error names the column but does not echo the text, which may
/// be a whole person record.
pub(crate) fn parse_json<T: DeserializeOwned>(
    table: &'static str,
    column: &'static str,
    text: impl AsRef<str>,
) -> Result<T, StoreError> {
    serde_json::from_str(text.as_ref())
        .map_err(|e| StoreError::corrupt(table, column, format!("invalid JSON: {e}")))
}

/// Decodes a stored JSON value (a `JSONB` column) into its record type, without echoing it.
pub(crate) fn from_json_value<T: DeserializeOwned>(
    table: &'static str,
    column: &'static str,
    value: serde_json::Value,
) -> Result<T, StoreError> {
    serde_json::from_value(value)
        .map_err(|e| StoreError::corrupt(table, column, format!("unexpected JSON: {e}")))
}

pub(crate) fn encode_json<T: Serialize + ?Sized>(
    op: &'static str,
    table: &'static str,
    column: &'static str,
    value: &T,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode {
        op,
        table,
        column,
        source,
    })
}

/// As [`encode_json`], as a value for a `JSONB` column.
pub(crate) fn encode_json_value<T: Serialize + ?Sized>(
    op: &'static str,
    table: &'static str,
    column: &'static str,
    value: &T,
) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(value).map_err(|source| StoreError::Encode {
        op,
        table,
        column,
        source,
    })
}

pub(crate) fn count(
    table: &'static str,
    column: &'static str,
    n: i64,
) -> Result<usize, StoreError> {
    usize::try_from(n)
        .map_err(|_| StoreError::corrupt(table, column, format!("{n} is not a count")))
}

pub(crate) fn action_id(table: &'static str, n: i64) -> Result<u32, StoreError> {
    u32::try_from(n)
        .map_err(|_| StoreError::corrupt(table, "action", format!("{n} is not an action id")))
}

/// The current time as the store keeps it (microseconds, cut rather than rounded), so a
/// record read back equals the record returned when it was written, on either backend.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub(crate) fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored mapping-script result as both backends' load queries pack it, in its script's JSON array: the person
/// digest in hexadecimal, the iteration, the value's JSON text and the failure.
pub(crate) type Packed = (String, i64, Option<String>, Option<String>);

pub(crate) fn computed_entry(
    (digest, iteration, value, error): Packed,
) -> Result<ComputedEntry, StoreError> {
    let person_digest = unhex(&digest).ok_or_else(|| {
        StoreError::corrupt(
            "computed_values",
            "person_digest",
            format!("`{digest}` is not 16 bytes"),
        )
    })?;
    let iteration = u32::try_from(iteration).map_err(|_| {
        StoreError::corrupt(
            "computed_values",
            "iteration",
            format!("{iteration} is not an iteration"),
        )
    })?;
    let outcome = match (value, error) {
        (_, Some(error)) => Err(error),
        (Some(json), None) => Ok(Some(parse_json("computed_values", "value_json", &json)?)),
        (None, None) => Ok(None),
    };
    Ok(ComputedEntry {
        key: ComputedKey {
            person_digest,
            iteration,
        },
        outcome,
    })
}

/// 32 hexadecimal digits → 16 bytes.
fn unhex(text: &str) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    if text.len() != 32 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
