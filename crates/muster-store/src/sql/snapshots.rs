//! Snapshots: one complete read of a source, saved in batches in one transaction and pruned
//! to the newest three per source in that same transaction.

use futures::TryStreamExt;
use sqlx::QueryBuilder;
use tracing::debug;

use super::begin_write;
use super::dialect::{json, queue_snapshot_saves, ts, Db, Pool};
use super::rows::{SnapshotPersonRow, SnapshotRow, BATCH_ROWS};
use crate::codec::{now, to_i64};
use crate::error::StoreError;
use crate::store::{SnapshotMeta, SnapshotPerson};

/// Snapshots kept per source: the newest, and two to compare or roll back to.
const SNAPSHOTS_KEPT: usize = 3;

const SNAPSHOT_COLUMNS: &str =
    "SELECT id, source, run, digest, persons, blocked, taken_at FROM snapshots";

pub(super) async fn latest_snapshot(
    pool: &Pool,
    source: &str,
) -> Result<Option<SnapshotMeta>, StoreError> {
    let row: Option<SnapshotRow> = sqlx::query_as(&format!(
        "{SNAPSHOT_COLUMNS} WHERE source = $1 ORDER BY id DESC LIMIT 1"
    ))
    .bind(source)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("latest_snapshot", "snapshots", source))?;
    row.map(SnapshotRow::into_meta).transpose()
}

pub(super) async fn snapshot_persons(
    pool: &Pool,
    snapshot_id: i64,
) -> Result<Vec<SnapshotPerson>, StoreError> {
    let context = format!("snapshot {snapshot_id}");
    // Streamed, so a million persons are not held twice (rows and records) at once.
    let mut rows = sqlx::query_as::<_, SnapshotPersonRow>(
        "SELECT external_id, record_hash, record FROM snapshot_persons \
         WHERE snapshot_id = $1 ORDER BY external_id",
    )
    .bind(snapshot_id)
    .fetch(pool);
    let mut persons = Vec::new();
    while let Some(row) = rows.try_next().await.map_err(StoreError::db(
        "snapshot_persons",
        "snapshot_persons",
        &context,
    ))? {
        persons.push(row.into_person()?);
    }
    Ok(persons)
}

pub(super) async fn save_snapshot(
    pool: &Pool,
    source: &str,
    run: &str,
    digest: &str,
    persons: &[SnapshotPerson],
    blocked: usize,
) -> Result<SnapshotMeta, StoreError> {
    const OP: &str = "save_snapshot";
    let taken_at = now();
    let mut tx = begin_write(pool, OP, "snapshots", source).await?;
    // Two saves of one source queue here, so that pruning sees every snapshot kept.
    queue_snapshot_saves(&mut tx, source, OP).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO snapshots (source, run, digest, persons, blocked, taken_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(source)
    .bind(run)
    .bind(digest)
    .bind(to_i64(persons.len()))
    .bind(to_i64(blocked))
    .bind(ts(taken_at))
    .fetch_one(&mut *tx)
    .await
    .map_err(StoreError::unknown_run_or(run, OP, "snapshots", source))?;

    let context = format!("source {source}, snapshot {id}");
    for chunk in persons.chunks(BATCH_ROWS) {
        let records = chunk
            .iter()
            .map(|p| json(OP, "snapshot_persons", "record", &p.record))
            .collect::<Result<Vec<_>, _>>()?;
        let mut insert = QueryBuilder::<Db>::new(
            "INSERT INTO snapshot_persons (snapshot_id, external_id, record_hash, record) ",
        );
        insert.push_values(chunk.iter().zip(records), |mut row, (person, record)| {
            row.push_bind(id)
                .push_bind(person.external_id.as_str())
                .push_bind(person.record_hash.as_str())
                .push_bind(record);
        });
        insert
            .build()
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(OP, "snapshot_persons", &context))?;
    }

    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM snapshots WHERE source = $1 ORDER BY id DESC")
            .bind(source)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::db(OP, "snapshots", &context))?;
    let pruned = ids.len().saturating_sub(SNAPSHOTS_KEPT);
    for old in ids.into_iter().skip(SNAPSHOTS_KEPT) {
        let context = format!("source {source}, pruning snapshot {old}");
        sqlx::query("DELETE FROM snapshot_persons WHERE snapshot_id = $1")
            .bind(old)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(OP, "snapshot_persons", &context))?;
        sqlx::query("DELETE FROM snapshots WHERE id = $1")
            .bind(old)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(OP, "snapshots", &context))?;
    }
    tx.commit()
        .await
        .map_err(StoreError::db(OP, "snapshots", &context))?;
    debug!(
        source,
        snapshot = id,
        persons = persons.len(),
        pruned,
        "Snapshot saved."
    );
    Ok(SnapshotMeta {
        id,
        source: source.to_owned(),
        run: run.into(),
        digest: digest.to_owned(),
        persons: persons.len(),
        blocked,
        taken_at,
    })
}
