//! The executor's per-action writes (journal moves, links, grants, fingerprints) as values,
//! so that each backend decides how they reach the disk: SQLite gathers them in shared
//! transactions (`sqlite/group_commit.rs`), PostgreSQL commits each one on its own.

use muster_core::report::AuditEvent;
use muster_core::{AccountRef, GroupRef, TargetName};

use super::dialect::Conn;
use super::{grants, journal, links};
use crate::error::StoreError;
use crate::store::{Fingerprint, GrantMade, JournalState, Link};

/// One write the executor makes around a request.
#[derive(Debug)]
pub(in super::super) enum Write {
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
}

impl Write {
    /// Runs the write on `conn`, inside whatever transaction the backend put it in.
    pub(in super::super) async fn run(&self, conn: &mut Conn) -> Result<(), StoreError> {
        match self {
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
            Write::JournalSet { .. } => "journal_set",
            Write::JournalSettle { .. } => "journal_settle",
            Write::UpsertLink(_) => "upsert_link",
            Write::RecordGrant(_) => "record_grant",
            Write::ForgetGrant { .. } => "forget_grant",
            Write::SetFingerprint { .. } => "set_fingerprint",
            Write::ClearFingerprint { .. } => "clear_fingerprint",
        }
    }
}
