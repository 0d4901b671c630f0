//! Rows as PostgreSQL returns them (typed: timestamps, JSONB, BIGINT) and their checked
//! conversion into the store's records. Enum text and counts are checked as in SQLite; an
//! unknown value becomes [`StoreError::Corrupt`] naming the table and column.

use chrono::{DateTime, SubsecRound, Utc};
use muster_core::plan::{ActionKind, FieldChange, PermissionTarget};
use muster_core::report::AuditEvent;
use muster_core::AccountRef;
use serde_json::Value;

use crate::codec::{action_id, count, from_json_value, parse_outcome};
pub(super) use crate::codec::{encode_json, encode_json_value, parse_text};
use crate::error::StoreError;
use crate::store::{
    Approval, BlockedRecord, Fingerprint, JournalEntry, Link, RunRecord, SnapshotMeta,
    SnapshotPerson,
};

/// A timestamp as stored: cut to microseconds as SQLite's text does (PostgreSQL would round
/// instead), so both backends read back the same instant.
pub(super) fn ts(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

#[derive(sqlx::FromRow)]
pub(super) struct RunRow {
    pub(super) id: String,
    mode: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    status: Option<String>,
    summary: Option<Value>,
    config_digest: String,
}

impl RunRow {
    pub(super) fn into_record(self) -> Result<RunRecord, StoreError> {
        const T: &str = "runs";
        Ok(RunRecord {
            mode: parse_text(T, "mode", &self.mode)?,
            started_at: self.started_at,
            finished_at: self.finished_at,
            status: self
                .status
                .map(|s| parse_text(T, "status", &s))
                .transpose()?,
            summary: self.summary,
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
    taken_at: DateTime<Utc>,
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
            taken_at: self.taken_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SnapshotPersonRow {
    external_id: String,
    record_hash: String,
    record: Value,
}

impl SnapshotPersonRow {
    pub(super) fn into_person(self) -> SnapshotPerson {
        SnapshotPerson {
            record: self.record,
            external_id: self.external_id.into(),
            record_hash: self.record_hash,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct LinkRow {
    target: String,
    person: String,
    account: String,
    state: String,
    updated_at: DateTime<Utc>,
}

impl LinkRow {
    pub(super) fn into_link(self) -> Result<Link, StoreError> {
        Ok(Link {
            state: parse_text("links", "state", &self.state)?,
            updated_at: self.updated_at,
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
    updated_at: DateTime<Utc>,
    permission: Option<String>,
}

impl JournalRow {
    pub(super) fn into_entry(self) -> Result<JournalEntry, StoreError> {
        const T: &str = "journal";
        Ok(JournalEntry {
            action: action_id(T, self.action)?,
            kind: parse_text(T, "kind", &self.kind)?,
            state: parse_text(T, "state", &self.state)?,
            updated_at: self.updated_at,
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
    approved_at: DateTime<Utc>,
    consumed_by: Option<String>,
}

impl ApprovalRow {
    pub(super) fn into_approval(self) -> Result<Approval, StoreError> {
        const T: &str = "approvals";
        Ok(Approval {
            kind: parse_text(T, "kind", &self.kind)?,
            count: count(T, "count", self.count)?,
            approved_at: self.approved_at,
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
    at: DateTime<Utc>,
    run: String,
    target: String,
    person: String,
    action: String,
    outcome: String,
    account: Option<String>,
    reason: String,
    detail: Option<String>,
    changes: Value,
    permission: Option<Value>,
}

impl AuditRow {
    pub(super) fn into_event(self) -> Result<AuditEvent, StoreError> {
        const T: &str = "audit";
        Ok(AuditEvent {
            at: self.at,
            action: parse_text(T, "action", &self.action)?,
            outcome: parse_outcome(T, &self.outcome)?,
            changes: from_json_value::<Vec<FieldChange>>(T, "changes", self.changes)?,
            permission: self
                .permission
                .map(|p| from_json_value::<PermissionTarget>(T, "permission", p))
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
