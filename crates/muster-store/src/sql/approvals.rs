//! Threshold blocks per run and the approvals that release them, each used by one later run.

use muster_core::plan::ActionKind;
use muster_core::TargetName;
use sqlx::QueryBuilder;

use super::begin_write;
use super::dialect::{ts, Db, Pool};
use super::rows::{ApprovalRow, BlockedRow};
use crate::codec::{now, to_i64};
use crate::error::StoreError;
use crate::store::{Approval, BlockedRecord};

const APPROVAL_COLUMNS: &str = "SELECT id, run, target, kind, count, approved_by, approved_at, \
     consumed_by FROM approvals";

pub(super) async fn record_blocked(
    pool: &Pool,
    run: &str,
    target: &TargetName,
    kind: ActionKind,
    count: usize,
    reason: &str,
) -> Result<(), StoreError> {
    let context = format!("run {run}, target {target}, {kind}");
    sqlx::query(
        "INSERT INTO blocked (run, target, kind, count, reason, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (run, target, kind) DO UPDATE SET \
         count = excluded.count, reason = excluded.reason, recorded_at = excluded.recorded_at",
    )
    .bind(run)
    .bind(target.as_str())
    .bind(kind.as_str())
    .bind(to_i64(count))
    .bind(reason)
    .bind(ts(now()))
    .execute(pool)
    .await
    .map_err(StoreError::unknown_run_or(
        run,
        "record_blocked",
        "blocked",
        &context,
    ))?;
    Ok(())
}

pub(super) async fn blocked(pool: &Pool, run: &str) -> Result<Vec<BlockedRecord>, StoreError> {
    let rows: Vec<BlockedRow> = sqlx::query_as(
        "SELECT run, target, kind, count, reason FROM blocked \
         WHERE run = $1 ORDER BY target, kind",
    )
    .bind(run)
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("blocked", "blocked", run))?;
    rows.into_iter().map(BlockedRow::into_record).collect()
}

pub(super) async fn approve(
    pool: &Pool,
    run: &str,
    kind: Option<ActionKind>,
    by: &str,
) -> Result<Vec<Approval>, StoreError> {
    const OP: &str = "approve";
    let context = match kind {
        Some(kind) => format!("run {run}, {kind}"),
        None => format!("run {run}"),
    };
    let matching = |q: &mut QueryBuilder<'_, Db>| {
        q.push(" WHERE run = ").push_bind(run.to_owned());
        if let Some(kind) = kind {
            q.push(" AND kind = ").push_bind(kind.as_str());
        }
    };
    // The write comes first: in SQLite the IMMEDIATE transaction is then the only lock
    // taken; in PostgreSQL a concurrent approval of the same records waits on it.
    let mut tx = begin_write(pool, OP, "approvals", &context).await?;
    let mut insert = QueryBuilder::<Db>::new(
        "INSERT INTO approvals \
         (blocked_id, run, target, kind, count, approved_by, approved_at) \
         SELECT id, run, target, kind, count, ",
    );
    insert
        .push_bind(by)
        .push(", ")
        .push_bind(ts(now()))
        .push(" FROM blocked");
    matching(&mut insert);
    insert.push(" ORDER BY id ON CONFLICT (blocked_id) DO NOTHING");
    insert
        .build()
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db(OP, "approvals", &context))?;

    let mut select = QueryBuilder::<Db>::new(format!(
        "{APPROVAL_COLUMNS} WHERE blocked_id IN (SELECT id FROM blocked"
    ));
    matching(&mut select);
    select.push(") ORDER BY id");
    let rows: Vec<ApprovalRow> = select
        .build_query_as()
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::db(OP, "approvals", &context))?;
    if rows.is_empty() {
        return Err(StoreError::NothingToApprove {
            run: run.to_owned(),
            kind,
        });
    }
    let approvals = rows
        .into_iter()
        .map(ApprovalRow::into_approval)
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit()
        .await
        .map_err(StoreError::db(OP, "approvals", &context))?;
    Ok(approvals)
}

pub(super) async fn open_approvals(
    pool: &Pool,
    target: &TargetName,
) -> Result<Vec<Approval>, StoreError> {
    let rows: Vec<ApprovalRow> = sqlx::query_as(&format!(
        "{APPROVAL_COLUMNS} WHERE target = $1 AND consumed_by IS NULL ORDER BY id"
    ))
    .bind(target.as_str())
    .fetch_all(pool)
    .await
    .map_err(StoreError::db(
        "open_approvals",
        "approvals",
        target.as_str(),
    ))?;
    rows.into_iter().map(ApprovalRow::into_approval).collect()
}

pub(super) async fn consume_approval(
    pool: &Pool,
    approval_id: i64,
    by_run: &str,
) -> Result<(), StoreError> {
    const OP: &str = "consume_approval";
    let context = format!("approval {approval_id}, run {by_run}");
    let done = sqlx::query(
        "UPDATE approvals SET consumed_by = $1, consumed_at = $2 \
         WHERE id = $3 AND consumed_by IS NULL",
    )
    .bind(by_run)
    .bind(ts(now()))
    .bind(approval_id)
    .execute(pool)
    .await
    .map_err(StoreError::unknown_run_or(
        by_run,
        OP,
        "approvals",
        &context,
    ))?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    let consumed: Option<Option<String>> =
        sqlx::query_scalar("SELECT consumed_by FROM approvals WHERE id = $1")
            .bind(approval_id)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db(OP, "approvals", &context))?;
    match consumed {
        None | Some(None) => Err(StoreError::ApprovalNotFound { id: approval_id }),
        Some(Some(by)) => Err(StoreError::ApprovalConsumed {
            id: approval_id,
            by,
        }),
    }
}
