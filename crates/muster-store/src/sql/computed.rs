//! Mapping-script results kept between processes (see migration 0004): loaded whole, written
//! whole or as changes, always in one transaction and in multi-row statements, since a
//! target of 100,000 persons with four scripts holds 400,000 of them.

use chrono::{DateTime, Utc};
use muster_core::TargetName;
use sqlx::QueryBuilder;
use tracing::debug;

use super::begin_write;
use super::dialect::{ts, Conn, Db, Pool, PACKED_VALUES};
use crate::codec::{computed_entry, encode_json, now, parse_json, Packed};
use crate::error::StoreError;
use crate::store::{ComputedChanges, ComputedEntry, ComputedKey, ComputedValues};

const SCRIPTS: &str = "computed_scripts";
const VALUES: &str = "computed_values";

/// Rows per multi-row statement. Five parameters a row keeps a batch at 20,000, well below
/// SQLite's 32,766 (and PostgreSQL's 65,535) bound parameters; larger batches than the
/// store's usual 500 matter here, where one write may hold 400,000 rows.
const BATCH: usize = 4_000;

pub(super) async fn computed_values(
    pool: &Pool,
    target: &TargetName,
) -> Result<Vec<ComputedValues>, StoreError> {
    const OP: &str = "computed_values";
    // One row per script with all its values packed in a JSON array by the database: a row
    // costs the driver about 2 µs, so 400,000 rows took 0.75 s; four rows and one JSON parse
    // take a quarter of that. One statement, so the scripts and values are from the same
    // write. `value_json` is TEXT on both backends.
    let scripts: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT s.field, s.mapping_digest, \
         (SELECT {PACKED_VALUES} FROM computed_values v WHERE v.script = s.id) \
         FROM computed_scripts s WHERE s.target = $1 ORDER BY s.field, s.mapping_digest",
    ))
    .bind(target.as_str())
    .fetch_all(pool)
    .await
    .map_err(StoreError::db(OP, VALUES, target.as_str()))?;
    scripts
        .into_iter()
        .map(|(field, mapping_digest, packed)| {
            let packed: Vec<Packed> = parse_json(VALUES, "value_json", &packed)?;
            Ok(ComputedValues {
                field,
                mapping_digest,
                values: packed
                    .into_iter()
                    .map(computed_entry)
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect()
}

pub(super) async fn replace_computed_values(
    pool: &Pool,
    target: &TargetName,
    scripts: &[ComputedValues],
) -> Result<(), StoreError> {
    const OP: &str = "replace_computed_values";
    let context = target.as_str();
    let mut tx = begin_write(pool, OP, SCRIPTS, context).await?;
    drop_scripts(&mut tx, target, &[], OP).await?;
    let saved_at = now();
    let mut rows = 0;
    for s in scripts {
        let id = script_id(&mut tx, target, &s.field, &s.mapping_digest, saved_at, OP).await?;
        insert(&mut tx, id, &s.values, OP, context).await?;
        rows += s.values.len();
    }
    tx.commit()
        .await
        .map_err(StoreError::db(OP, SCRIPTS, context))?;
    debug!(target = %target, scripts = scripts.len(), rows, "Computed values replaced.");
    Ok(())
}

pub(super) async fn update_computed_values(
    pool: &Pool,
    target: &TargetName,
    scripts: &[ComputedChanges],
) -> Result<(), StoreError> {
    const OP: &str = "update_computed_values";
    let context = target.as_str();
    let mut tx = begin_write(pool, OP, SCRIPTS, context).await?;
    let saved_at = now();
    let mut kept = Vec::with_capacity(scripts.len());
    let (mut removed, mut added) = (0, 0);
    for s in scripts {
        let id = script_id(&mut tx, target, &s.field, &s.mapping_digest, saved_at, OP).await?;
        kept.push(id);
        remove(&mut tx, id, &s.removed, OP, context).await?;
        insert(&mut tx, id, &s.added, OP, context).await?;
        removed += s.removed.len();
        added += s.added.len();
    }
    drop_scripts(&mut tx, target, &kept, OP).await?;
    tx.commit()
        .await
        .map_err(StoreError::db(OP, SCRIPTS, context))?;
    debug!(target = %target, scripts = scripts.len(), added, removed, "Computed values updated.");
    Ok(())
}

/// The id of a script, stamped with `saved_at`; created when new.
async fn script_id(
    tx: &mut Conn,
    target: &TargetName,
    field: &str,
    digest: &str,
    saved_at: DateTime<Utc>,
    op: &'static str,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO computed_scripts (target, field, mapping_digest, saved_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (target, field, mapping_digest) \
         DO UPDATE SET saved_at = excluded.saved_at RETURNING id",
    )
    .bind(target.as_str())
    .bind(field)
    .bind(digest)
    .bind(ts(saved_at))
    .fetch_one(tx)
    .await
    .map_err(StoreError::db(
        op,
        SCRIPTS,
        format!("target {target}, field {field}"),
    ))
}

/// Drops every script of the target (and its values) but those in `keep`.
async fn drop_scripts(
    tx: &mut Conn,
    target: &TargetName,
    keep: &[i64],
    op: &'static str,
) -> Result<(), StoreError> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM computed_scripts WHERE target = $1")
        .bind(target.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::db(op, SCRIPTS, target.as_str()))?;
    for id in ids.into_iter().filter(|id| !keep.contains(id)) {
        let context = format!("target {target}, script {id}");
        // Values first, so nothing depends on the foreign key's cascade being switched on.
        sqlx::query("DELETE FROM computed_values WHERE script = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(op, VALUES, &context))?;
        sqlx::query("DELETE FROM computed_scripts WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(op, SCRIPTS, &context))?;
    }
    Ok(())
}

async fn insert(
    tx: &mut Conn,
    script: i64,
    values: &[ComputedEntry],
    op: &'static str,
    context: &str,
) -> Result<(), StoreError> {
    // In key order, so each batch extends the primary key's B-tree instead of splitting pages
    // all over it (person digests are random).
    let mut sorted: Vec<&ComputedEntry> = values.iter().collect();
    sorted.sort_unstable_by_key(|e| e.key);
    for chunk in sorted.chunks(BATCH) {
        let json = chunk
            .iter()
            .map(|e| match &e.outcome {
                Ok(Some(v)) => encode_json(op, VALUES, "value_json", v).map(Some),
                Ok(None) | Err(_) => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut q = QueryBuilder::<Db>::new(
            "INSERT INTO computed_values (script, person_digest, iteration, value_json, error) ",
        );
        q.push_values(chunk.iter().zip(json), |mut row, (e, json)| {
            row.push_bind(script)
                .push_bind(&e.key.person_digest[..])
                .push_bind(i64::from(e.key.iteration))
                .push_bind(json)
                .push_bind(e.outcome.as_ref().err().cloned());
        });
        q.push(
            " ON CONFLICT (script, person_digest, iteration) DO UPDATE SET \
             value_json = excluded.value_json, error = excluded.error",
        );
        q.build()
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(op, VALUES, context))?;
    }
    Ok(())
}

async fn remove(
    tx: &mut Conn,
    script: i64,
    keys: &[ComputedKey],
    op: &'static str,
    context: &str,
) -> Result<(), StoreError> {
    for chunk in keys.chunks(BATCH) {
        let mut q = QueryBuilder::<Db>::new("DELETE FROM computed_values WHERE script = ");
        q.push_bind(script);
        q.push(" AND (person_digest, iteration) IN (");
        q.push_values(chunk, |mut row, k| {
            row.push_bind(&k.person_digest[..])
                .push_bind(i64::from(k.iteration));
        });
        q.push(")");
        q.build()
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(op, VALUES, context))?;
    }
    Ok(())
}
