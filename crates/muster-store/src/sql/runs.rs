//! Runs: started, finished once, listed newest first, found by id or by a unique prefix.

use super::dialect::{json, ts, Conn, Pool};
use super::rows::RunRow;
use crate::codec::{now, to_i64};
use crate::error::StoreError;
use crate::store::{RunId, RunMode, RunRecord, RunStatus, MIN_RUN_PREFIX};

const RUN_COLUMNS: &str =
    "SELECT id, mode, started_at, finished_at, status, summary, config_digest FROM runs";

async fn run_exists(conn: &mut Conn, op: &'static str, run: &str) -> Result<bool, StoreError> {
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM runs WHERE id = $1")
        .bind(run)
        .fetch_optional(conn)
        .await
        .map_err(StoreError::db(op, "runs", run))?;
    Ok(found.is_some())
}

/// A new run's record, started now; [`insert_run`] stores it.
pub(super) fn new_run(mode: RunMode, config_digest: &str) -> RunRecord {
    RunRecord {
        id: RunId::from(uuid::Uuid::new_v4().to_string()),
        mode,
        started_at: now(),
        finished_at: None,
        status: None,
        summary: None,
        config_digest: config_digest.to_owned(),
    }
}

/// One of the writes (`writes::Write`) each backend commits its own way.
pub(super) async fn insert_run(conn: &mut Conn, record: &RunRecord) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO runs (id, mode, started_at, config_digest) VALUES ($1, $2, $3, $4)")
        .bind(record.id.as_str())
        .bind(record.mode.as_str())
        .bind(ts(record.started_at))
        .bind(&record.config_digest)
        .execute(conn)
        .await
        .map_err(StoreError::db("start_run", "runs", record.id.as_str()))?;
    Ok(())
}

/// One of the writes (`writes::Write`) each backend commits its own way.
pub(super) async fn finish_run(
    conn: &mut Conn,
    run: &str,
    status: RunStatus,
    summary: &serde_json::Value,
) -> Result<(), StoreError> {
    let summary = json("finish_run", "runs", "summary", summary)?;
    let done = sqlx::query(
        "UPDATE runs SET finished_at = $1, status = $2, summary = $3 \
         WHERE id = $4 AND finished_at IS NULL",
    )
    .bind(ts(now()))
    .bind(status.as_str())
    .bind(summary)
    .bind(run)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("finish_run", "runs", run))?;
    if done.rows_affected() == 1 {
        Ok(())
    } else if run_exists(conn, "finish_run", run).await? {
        Err(StoreError::RunFinished {
            run: run.to_owned(),
        })
    } else {
        Err(StoreError::RunNotFound {
            run: run.to_owned(),
        })
    }
}

pub(super) async fn runs(pool: &Pool, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
    let rows: Vec<RunRow> = sqlx::query_as(&format!(
        "{RUN_COLUMNS} ORDER BY started_at DESC, id DESC LIMIT $1"
    ))
    .bind(to_i64(limit))
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("runs", "runs", format!("newest {limit}")))?;
    rows.into_iter().map(RunRow::into_record).collect()
}

pub(super) async fn run(pool: &Pool, run: &str) -> Result<Option<RunRecord>, StoreError> {
    let wanted = run.trim().to_ascii_lowercase();
    if wanted.chars().count() < MIN_RUN_PREFIX {
        return Err(StoreError::RunPrefixTooShort {
            prefix: run.to_owned(),
            min: MIN_RUN_PREFIX,
        });
    }
    // `substr` and `length` count characters in both dialects.
    let mut rows: Vec<RunRow> = sqlx::query_as(&format!(
        "{RUN_COLUMNS} WHERE id = $1 OR substr(id, 1, length($1)) = $1 ORDER BY id"
    ))
    .bind(&wanted)
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("run", "runs", &wanted))?;
    if let Some(i) = rows.iter().position(|r| r.id == wanted) {
        return rows.swap_remove(i).into_record().map(Some);
    }
    match rows.len() {
        0 => Ok(None),
        1 => rows.swap_remove(0).into_record().map(Some),
        matches => Err(StoreError::AmbiguousRun {
            prefix: run.to_owned(),
            matches,
        }),
    }
}

pub(super) async fn unfinished_runs(
    pool: &Pool,
    except_run: &str,
) -> Result<Vec<RunRecord>, StoreError> {
    let rows: Vec<RunRow> = sqlx::query_as(&format!(
        "{RUN_COLUMNS} WHERE finished_at IS NULL AND id <> $1 ORDER BY started_at, id"
    ))
    .bind(except_run)
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("unfinished_runs", "runs", except_run))?;
    rows.into_iter().map(RunRow::into_record).collect()
}
