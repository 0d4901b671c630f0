//! The audit trail: appended in batches, read back filtered and oldest first. Field changes go
//! in as their redacted JSON, so secret values never reach the disk.

use muster_core::report::AuditEvent;
use muster_core::{AccountRef, ExternalId};
use sqlx::QueryBuilder;

use super::dialect::{json, ts, Conn, Db, Pool};
use super::rows::{AuditRow, BATCH_ROWS};
use crate::codec::to_i64;
use crate::error::StoreError;
use crate::store::AuditQuery;

/// Inserts `events` within the caller's transaction (`append_audit` is one of the writes,
/// `writes::Write`, each backend commits its own way).
pub(super) async fn insert_audit(
    conn: &mut Conn,
    events: &[AuditEvent],
    op: &'static str,
    context: &str,
) -> Result<(), StoreError> {
    for chunk in events.chunks(BATCH_ROWS) {
        let mut encoded = Vec::with_capacity(chunk.len());
        for e in chunk {
            // `FieldChange` serializes secret values as "***": this is where the
            // guarantee that secrets never reach the disk is kept.
            let changes = json(op, "audit", "changes", &e.changes)?;
            let permission = e
                .permission
                .as_ref()
                .map(|p| json(op, "audit", "permission", p))
                .transpose()?;
            encoded.push((e, changes, permission));
        }
        let mut insert = QueryBuilder::<Db>::new(
            "INSERT INTO audit (at, run, target, person, action, outcome, account, reason, \
             detail, changes, permission) ",
        );
        insert.push_values(encoded, |mut row, (e, changes, permission)| {
            row.push_bind(ts(e.at))
                .push_bind(e.run.as_str())
                .push_bind(e.target.as_str())
                .push_bind(e.person.as_str())
                .push_bind(e.action.as_str())
                .push_bind(e.outcome.as_str())
                .push_bind(e.account.as_ref().map(AccountRef::as_str))
                .push_bind(e.reason.as_str())
                .push_bind(e.detail.as_deref())
                .push_bind(changes)
                .push_bind(permission);
        });
        insert
            .build()
            .execute(&mut *conn)
            .await
            .map_err(StoreError::db(op, "audit", context))?;
    }
    Ok(())
}

pub(super) async fn audit(pool: &Pool, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
    let mut select = QueryBuilder::<Db>::new(
        "SELECT at, run, target, person, action, outcome, account, reason, detail, changes, \
         permission FROM audit WHERE 1 = 1",
    );
    if let Some(person) = &query.person {
        select.push(" AND person = ").push_bind(person.as_str());
    }
    if let Some(target) = &query.target {
        select.push(" AND target = ").push_bind(target.as_str());
    }
    if let Some(since) = query.since {
        select.push(" AND at >= ").push_bind(ts(since));
    }
    if let Some(run) = &query.run {
        select.push(" AND run = ").push_bind(run.as_str());
    }
    if let Some(action) = query.action {
        select.push(" AND action = ").push_bind(action.as_str());
    }
    if let Some(outcome) = query.outcome {
        select.push(" AND outcome = ").push_bind(outcome.as_str());
    }
    if let Some(until) = query.until {
        select.push(" AND at < ").push_bind(ts(until));
    }
    select
        .push(" ORDER BY at, id LIMIT ")
        .push_bind(to_i64(query.limit));
    let rows: Vec<AuditRow> = select
        .build_query_as()
        .fetch_all(pool)
        .await
        .map_err(StoreError::db("audit", "audit", format!("{query:?}")))?;
    rows.into_iter().map(AuditRow::into_event).collect()
}

/// The newest `limit` events of `person`, oldest first: the `audit_by_person (person, at)`
/// index read backwards, so the cost follows `limit`, not the person's whole history.
pub(super) async fn person_audit(
    pool: &Pool,
    person: &ExternalId,
    limit: usize,
) -> Result<Vec<AuditEvent>, StoreError> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT at, run, target, person, action, outcome, account, reason, detail, changes, \
         permission FROM audit WHERE person = $1 ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(person.as_str())
    .bind(to_i64(limit))
    .fetch_all(pool)
    .await
    .map_err(StoreError::db(
        "person_audit",
        "audit",
        person.as_str().to_owned(),
    ))?;
    let mut events = rows
        .into_iter()
        .map(AuditRow::into_event)
        .collect::<Result<Vec<_>, _>>()?;
    events.reverse();
    Ok(events)
}
