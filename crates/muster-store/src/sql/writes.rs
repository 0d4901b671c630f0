//! The writes of runs and sign-ins (a run's start and end, its planned journal, the journal's
//! moves, links, grants, fingerprints, audit events) as values, so that each backend decides how they reach the
//! disk: SQLite gathers them in shared transactions (`sqlite/group_commit.rs`), PostgreSQL
//! commits each one on its own. A run of one action (a sign-in) thus shares its commits with
//! the runs beside it instead of queueing for SQLite's one writer.

use muster_core::report::AuditEvent;
use muster_core::{AccountRef, ExternalId, GroupRef, TargetName};

use super::dialect::Conn;
use super::{audit, grants, journal, links, runs};
use crate::error::StoreError;
use crate::store::{
    Fingerprint, GrantMade, JournalEntry, JournalState, Link, RunRecord, RunStatus,
};

/// One write the executor makes around its requests.
#[derive(Debug)]
pub(in super::super) enum Write {
    StartRun(RunRecord),
    /// A run's entries, all or none (several statements).
    JournalPlanned {
        run: String,
        entries: Vec<JournalEntry>,
    },
    JournalSet {
        run: String,
        target: TargetName,
        action: u32,
        state: JournalState,
        detail: Option<String>,
    },
    /// Several statements (the move and its audit event) that must be committed together.
    JournalSettle {
        run: String,
        target: TargetName,
        action: u32,
        state: JournalState,
        detail: Option<String>,
        event: Box<AuditEvent>,
    },
    UpsertLink(Link),
    RemoveLink {
        target: TargetName,
        person: ExternalId,
    },
    /// Events, all or none (several statements when there are many).
    AppendAudit(Vec<AuditEvent>),
    RecordGrant(GrantMade),
    ForgetGrant {
        target: TargetName,
        account: AccountRef,
        group: GroupRef,
    },
    SetFingerprint {
        target: TargetName,
        fp: Fingerprint,
    },
    ClearFingerprint {
        target: TargetName,
        account: AccountRef,
        field: String,
    },
    FinishRun {
        run: String,
        status: RunStatus,
        summary: serde_json::Value,
    },
}

impl Write {
    /// Runs the write on `conn`, inside whatever transaction the backend put it in.
    pub(in super::super) async fn run(&self, conn: &mut Conn) -> Result<(), StoreError> {
        match self {
            Write::StartRun(record) => runs::insert_run(conn, record).await,
            Write::JournalPlanned { run, entries } => {
                journal::journal_planned(conn, run, entries).await
            }
            Write::FinishRun {
                run,
                status,
                summary,
            } => runs::finish_run(conn, run, *status, summary).await,
            Write::JournalSet {
                run,
                target,
                action,
                state,
                detail,
            } => journal::journal_set(conn, run, target, *action, *state, detail.as_deref()).await,
            Write::JournalSettle {
                run,
                target,
                action,
                state,
                detail,
                event,
            } => {
                journal::journal_settle(
                    conn,
                    run,
                    target,
                    *action,
                    *state,
                    detail.as_deref(),
                    event,
                )
                .await
            }
            Write::UpsertLink(link) => links::upsert_link(conn, link).await,
            Write::RemoveLink { target, person } => links::remove_link(conn, target, person).await,
            Write::AppendAudit(events) => {
                let context = format!("{} events", events.len());
                audit::insert_audit(conn, events, "append_audit", &context).await
            }
            Write::RecordGrant(grant) => grants::record_grant(conn, grant).await,
            Write::ForgetGrant {
                target,
                account,
                group,
            } => grants::forget_grant(conn, target, account, group).await,
            Write::SetFingerprint { target, fp } => links::set_fingerprint(conn, target, fp).await,
            Write::ClearFingerprint {
                target,
                account,
                field,
            } => links::clear_fingerprint(conn, target, account, field).await,
        }
    }

    /// The operation's name, for errors about the transaction around the write.
    pub(in super::super) fn op(&self) -> &'static str {
        match self {
            Write::StartRun(_) => "start_run",
            Write::JournalPlanned { .. } => "journal_planned",
            Write::FinishRun { .. } => "finish_run",
            Write::JournalSet { .. } => "journal_set",
            Write::JournalSettle { .. } => "journal_settle",
            Write::UpsertLink(_) => "upsert_link",
            Write::RemoveLink { .. } => "remove_link",
            Write::AppendAudit(_) => "append_audit",
            Write::RecordGrant(_) => "record_grant",
            Write::ForgetGrant { .. } => "forget_grant",
            Write::SetFingerprint { .. } => "set_fingerprint",
            Write::ClearFingerprint { .. } => "clear_fingerprint",
        }
    }

    /// The table the write is about, for errors about the transaction around it.
    pub(in super::super) fn table(&self) -> &'static str {
        match self {
            Write::StartRun(_) | Write::FinishRun { .. } => "runs",
            Write::JournalPlanned { .. }
            | Write::JournalSet { .. }
            | Write::JournalSettle { .. } => "journal",
            Write::UpsertLink(_) | Write::RemoveLink { .. } => "links",
            Write::AppendAudit(_) => "audit",
            Write::RecordGrant(_) | Write::ForgetGrant { .. } => "grants_made",
            Write::SetFingerprint { .. } | Write::ClearFingerprint { .. } => "fingerprints",
        }
    }
}
