//! The action journal: a run's planned actions, each moved on before and after its request,
//! with the allowed moves checked in the same statement that makes them.

use muster_core::report::AuditEvent;
use muster_core::{AccountRef, TargetName};
use sqlx::QueryBuilder;

use super::dialect::{ts, Conn, Db, Pool};
use super::rows::{JournalRow, BATCH_ROWS};
use crate::codec::{now, parse_text};
use crate::error::StoreError;
use crate::store::{JournalEntry, JournalState};

const JOURNAL_COLUMNS: &str = "SELECT run, target, action, kind, person, account, state, \
     detail, updated_at, permission FROM journal";

/// Refuses entries that belong to another run than `run` (checked before any is written).
pub(super) fn planned_run(run: &str, entries: &[JournalEntry]) -> Result<(), StoreError> {
    match entries.iter().find(|e| e.run != run) {
        Some(stray) => Err(StoreError::JournalRunMismatch {
            run: run.to_owned(),
            entry_run: stray.run.to_string(),
        }),
        None => Ok(()),
    }
}

/// One of the writes (`writes::Write`) each backend commits its own way, inside a
/// transaction: the run's entries are written all or none.
pub(super) async fn journal_planned(
    tx: &mut Conn,
    run: &str,
    entries: &[JournalEntry],
) -> Result<(), StoreError> {
    const OP: &str = "journal_planned";
    let context = format!("run {run}");
    for chunk in entries.chunks(BATCH_ROWS) {
        let mut insert = QueryBuilder::<Db>::new(
            "INSERT INTO journal \
             (run, target, action, kind, person, account, state, detail, updated_at, \
             permission) ",
        );
        insert.push_values(chunk, |mut row, e| {
            row.push_bind(run)
                .push_bind(e.target.as_str())
                .push_bind(i64::from(e.action))
                .push_bind(e.kind.as_str())
                .push_bind(e.person.as_str())
                .push_bind(e.account.as_ref().map(AccountRef::as_str))
                .push_bind(e.state.as_str())
                .push_bind(e.detail.as_deref())
                .push_bind(ts(e.updated_at))
                .push_bind(e.permission.as_deref());
        });
        insert
            .build()
            .execute(&mut *tx)
            .await
            .map_err(StoreError::unknown_run_or(run, OP, "journal", &context))?;
    }
    Ok(())
}

/// One conditional UPDATE moving an entry to `state` from one of its predecessors, so the
/// check and the move cannot be split by another writer.
fn transition<'a>(
    run: &'a str,
    target: &'a TargetName,
    action: u32,
    state: JournalState,
    detail: Option<&'a str>,
) -> QueryBuilder<'a, Db> {
    let mut update = QueryBuilder::<Db>::new("UPDATE journal SET state = ");
    update
        .push_bind(state.as_str())
        .push(", detail = COALESCE(")
        .push_bind(detail)
        .push(", detail), updated_at = ")
        .push_bind(ts(now()))
        .push(" WHERE run = ")
        .push_bind(run)
        .push(" AND target = ")
        .push_bind(target.as_str())
        .push(" AND action = ")
        .push_bind(i64::from(action))
        .push(" AND state IN (");
    let mut states = update.separated(", ");
    for s in JournalState::predecessors(state) {
        states.push_bind(s.as_str());
    }
    update.push(")");
    update
}

/// Makes the move when the entry is in a state that may become `state`: whether it was made.
async fn moved(
    conn: &mut Conn,
    op: &'static str,
    run: &str,
    target: &TargetName,
    action: u32,
    state: JournalState,
    detail: Option<&str>,
) -> Result<bool, StoreError> {
    if JournalState::predecessors(state).is_empty() {
        return Ok(false);
    }
    let done = transition(run, target, action, state, detail)
        .build()
        .execute(conn)
        .await
        .map_err(StoreError::db(
            op,
            "journal",
            format!("run {run}, target {target}, action {action}"),
        ))?;
    Ok(done.rows_affected() == 1)
}

/// One of the executor's per-action writes (`writes::Write`): durable once the backend has
/// committed it.
pub(super) async fn journal_set(
    conn: &mut Conn,
    run: &str,
    target: &TargetName,
    action: u32,
    state: JournalState,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    const OP: &str = "journal_set";
    if moved(conn, OP, run, target, action, state, detail).await? {
        return Ok(());
    }
    refused(conn, OP, run, target, action, state).await
}

/// One of the executor's per-action writes (`writes::Write`), in a transaction or savepoint
/// of its own: the move and its audit event are committed together or not at all.
pub(super) async fn journal_settle(
    conn: &mut Conn,
    run: &str,
    target: &TargetName,
    action: u32,
    state: JournalState,
    detail: Option<&str>,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    const OP: &str = "journal_settle";
    if moved(conn, OP, run, target, action, state, detail).await? {
        let context = format!("run {run}, target {target}, action {action}");
        return super::audit::insert_audit(conn, std::slice::from_ref(event), OP, &context).await;
    }
    refused(conn, OP, run, target, action, state).await
}

/// The error for a move that did not happen: the entry is unknown, or not in a state that may
/// become `state`.
async fn refused(
    conn: &mut Conn,
    op: &'static str,
    run: &str,
    target: &TargetName,
    action: u32,
    state: JournalState,
) -> Result<(), StoreError> {
    let context = format!("run {run}, target {target}, action {action}");
    let current: Option<String> = sqlx::query_scalar(
        "SELECT state FROM journal WHERE run = $1 AND target = $2 AND action = $3",
    )
    .bind(run)
    .bind(target.as_str())
    .bind(i64::from(action))
    .fetch_optional(conn)
    .await
    .map_err(StoreError::db(op, "journal", &context))?;
    match current {
        None => Err(StoreError::JournalEntryNotFound {
            run: run.to_owned(),
            target: target.clone(),
            action,
        }),
        Some(current) => Err(StoreError::JournalTransition {
            run: run.to_owned(),
            target: target.clone(),
            action,
            from: parse_text("journal", "state", &current)?,
            to: state,
        }),
    }
}

pub(super) async fn journal(pool: &Pool, run: &str) -> Result<Vec<JournalEntry>, StoreError> {
    let rows: Vec<JournalRow> = sqlx::query_as(&format!(
        "{JOURNAL_COLUMNS} WHERE run = $1 ORDER BY target, action"
    ))
    .bind(run)
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("journal", "journal", run))?;
    rows.into_iter().map(JournalRow::into_entry).collect()
}

pub(super) async fn journal_in_flight(
    pool: &Pool,
    target: &TargetName,
) -> Result<Vec<JournalEntry>, StoreError> {
    let rows: Vec<JournalRow> = sqlx::query_as(&format!(
        "{JOURNAL_COLUMNS} WHERE state = $1 AND target = $2 ORDER BY updated_at, run, action"
    ))
    .bind(JournalState::Sent.as_str())
    .bind(target.as_str())
    .fetch_all(pool)
    .await
    .map_err(StoreError::db(
        "journal_in_flight",
        "journal",
        target.as_str(),
    ))?;
    rows.into_iter().map(JournalRow::into_entry).collect()
}

pub(super) async fn journal_unsettled(
    pool: &Pool,
    except_run: &str,
) -> Result<Vec<JournalEntry>, StoreError> {
    let rows: Vec<JournalRow> = sqlx::query_as(
        "SELECT j.run, j.target, j.action, j.kind, j.person, j.account, j.state, j.detail, \
         j.updated_at, j.permission FROM journal j JOIN runs r ON r.id = j.run \
         WHERE j.state IN ($1, $2) AND j.run <> $3 \
         ORDER BY r.started_at, j.run, j.target, j.action",
    )
    .bind(JournalState::Planned.as_str())
    .bind(JournalState::Sent.as_str())
    .bind(except_run)
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("journal_unsettled", "journal", except_run))?;
    rows.into_iter().map(JournalRow::into_entry).collect()
}

/// How many entries have no outcome yet (`planned` or `sent`), over every run.
pub(super) async fn journal_pending(pool: &Pool) -> Result<u64, StoreError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM journal WHERE state IN ($1, $2)")
        .bind(JournalState::Planned.as_str())
        .bind(JournalState::Sent.as_str())
        .fetch_one(pool)
        .await
        .map_err(StoreError::db("journal_pending", "journal", ""))?;
    Ok(u64::try_from(n).unwrap_or(0))
}
