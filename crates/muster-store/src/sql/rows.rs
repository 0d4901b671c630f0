//! Rows as the database returns them and their checked conversion into the store's records.
//! Timestamps and JSON come as the backend stores them (`dialect::Time`, `dialect::Json`) and
//! are read through its `dialect`. Anything this version of Muster would not have
//! written — an unknown state, a malformed timestamp, invalid JSON, a negative count —
//! becomes [`StoreError::Corrupt`] naming the table and column, never a panic and never a
//! default.

use chrono::{DateTime, Utc};
use muster_core::plan::{ActionKind, FieldChange, PermissionTarget};
use muster_core::report::AuditEvent;
use muster_core::AccountRef;

use super::dialect::{read_json, read_ts, read_value, Json, Time};
use crate::codec::{action_id, count, parse_outcome, parse_text};
use crate::error::StoreError;
use crate::store::{
    Approval, BlockedRecord, Fingerprint, JournalEntry, Link, RunRecord, SnapshotMeta,
    SnapshotPerson,
};

/// Rows per multi-row INSERT: few enough to stay far below SQLite's 32,766 bound parameters
/// (and PostgreSQL's 65,535), many enough that a million-person snapshot is 2,000 statements.
pub(super) const BATCH_ROWS: usize = 500;

/// An optional timestamp column, read as [`read_ts`] reads one.
pub(super) fn read_opt_ts(
    table: &'static str,
    column: &'static str,
    t: Option<Time>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    t.map(|t| read_ts(table, column, t)).transpose()
}

#[derive(sqlx::FromRow)]
pub(super) struct RunRow {
    pub(super) id: String,
    mode: String,
    started_at: Time,
    finished_at: Option<Time>,
    status: Option<String>,
    summary: Option<Json>,
    config_digest: String,
}

impl RunRow {
    pub(super) fn into_record(self) -> Result<RunRecord, StoreError> {
        const T: &str = "runs";
        Ok(RunRecord {
            mode: parse_text(T, "mode", &self.mode)?,
            started_at: read_ts(T, "started_at", self.started_at)?,
            finished_at: read_opt_ts(T, "finished_at", self.finished_at)?,
            status: self
                .status
                .map(|s| parse_text(T, "status", &s))
                .transpose()?,
            summary: self
                .summary
                .map(|s| read_value(T, "summary", s))
                .transpose()?,
            config_digest: self.config_digest,
            id: self.id.into(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SnapshotRow {
    id: i64,
    source: String,
    run: String,
    digest: String,
    persons: i64,
    blocked: i64,
    taken_at: Time,
}

impl SnapshotRow {
    pub(super) fn into_meta(self) -> Result<SnapshotMeta, StoreError> {
        const T: &str = "snapshots";
        Ok(SnapshotMeta {
            id: self.id,
            source: self.source,
            run: self.run.into(),
            digest: self.digest,
            persons: count(T, "persons", self.persons)?,
            blocked: count(T, "blocked", self.blocked)?,
            taken_at: read_ts(T, "taken_at", self.taken_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SnapshotPersonRow {
    external_id: String,
    record_hash: String,
    record: Json,
}

impl SnapshotPersonRow {
    pub(super) fn into_person(self) -> Result<SnapshotPerson, StoreError> {
        Ok(SnapshotPerson {
            record: read_value("snapshot_persons", "record", self.record)?,
            external_id: self.external_id.into(),
            record_hash: self.record_hash,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct LinkRow {
    target: String,
    person: String,
    account: String,
    state: String,
    updated_at: Time,
}

impl LinkRow {
    pub(super) fn into_link(self) -> Result<Link, StoreError> {
        const T: &str = "links";
        Ok(Link {
            state: parse_text(T, "state", &self.state)?,
            updated_at: read_ts(T, "updated_at", self.updated_at)?,
            target: self.target.into(),
            person: self.person.into(),
            account: self.account.into(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct FingerprintRow {
    account: String,
    field: String,
    hmac: String,
}

impl FingerprintRow {
    pub(super) fn into_fingerprint(self) -> Fingerprint {
        Fingerprint {
            account: self.account.into(),
            field: self.field,
            hmac: self.hmac,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct JournalRow {
    run: String,
    target: String,
    action: i64,
    kind: String,
    person: String,
    account: Option<String>,
    state: String,
    detail: Option<String>,
    updated_at: Time,
    permission: Option<String>,
}

impl JournalRow {
    pub(super) fn into_entry(self) -> Result<JournalEntry, StoreError> {
        const T: &str = "journal";
        Ok(JournalEntry {
            action: action_id(T, self.action)?,
            kind: parse_text(T, "kind", &self.kind)?,
            state: parse_text(T, "state", &self.state)?,
            updated_at: read_ts(T, "updated_at", self.updated_at)?,
            run: self.run.into(),
            target: self.target.into(),
            person: self.person.into(),
            account: self.account.map(AccountRef::from),
            permission: self.permission,
            detail: self.detail,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct BlockedRow {
    run: String,
    target: String,
    kind: String,
    count: i64,
    reason: String,
}

impl BlockedRow {
    pub(super) fn into_record(self) -> Result<BlockedRecord, StoreError> {
        const T: &str = "blocked";
        Ok(BlockedRecord {
            kind: parse_text::<ActionKind>(T, "kind", &self.kind)?,
            count: count(T, "count", self.count)?,
            run: self.run.into(),
            target: self.target.into(),
            reason: self.reason,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ApprovalRow {
    id: i64,
    run: String,
    target: String,
    kind: String,
    count: i64,
    approved_by: String,
    approved_at: Time,
    consumed_by: Option<String>,
}

impl ApprovalRow {
    pub(super) fn into_approval(self) -> Result<Approval, StoreError> {
        const T: &str = "approvals";
        Ok(Approval {
            kind: parse_text(T, "kind", &self.kind)?,
            count: count(T, "count", self.count)?,
            approved_at: read_ts(T, "approved_at", self.approved_at)?,
            id: self.id,
            run: self.run.into(),
            target: self.target.into(),
            approved_by: self.approved_by,
            consumed_by: self.consumed_by.map(Into::into),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AuditRow {
    at: Time,
    run: String,
    target: String,
    person: String,
    action: String,
    outcome: String,
    account: Option<String>,
    reason: String,
    detail: Option<String>,
    changes: Json,
    permission: Option<Json>,
}

impl AuditRow {
    pub(super) fn into_event(self) -> Result<AuditEvent, StoreError> {
        const T: &str = "audit";
        Ok(AuditEvent {
            at: read_ts(T, "at", self.at)?,
            action: parse_text(T, "action", &self.action)?,
            outcome: parse_outcome(T, &self.outcome)?,
            changes: read_json::<Vec<FieldChange>>(T, "changes", self.changes)?,
            permission: self
                .permission
                .map(|p| read_json::<PermissionTarget>(T, "permission", p))
                .transpose()?,
            run: self.run.into(),
            target: self.target.into(),
            person: self.person.into(),
            account: self.account.map(AccountRef::from),
            reason: self.reason,
            detail: self.detail,
        })
    }
}
