//! The [`Store`] impl of the backend this is compiled into, and the table of contents of the
//! shared queries: each method calls its area's module, but the executor's per-action writes,
//! which go through the backend's own `write` (`writes::Write`): the one place where the two
//! backends commit differently.

use async_trait::async_trait;
use muster_core::plan::ActionKind;
use muster_core::report::AuditEvent;
use muster_core::secret::Secret;
use muster_core::{AccountRef, ExternalId, GroupRef, TargetName};
use rand::RngCore;

use super::dialect::{BackendStore, Pool};
use super::writes::Write;
use super::{approvals, audit, computed, grants, journal, links, orphans, runs, server, snapshots};
use crate::error::StoreError;
use crate::store::{
    ApiToken, Approval, AuditQuery, BlockedRecord, ComputedChanges, ComputedValues, Decision,
    DecisionKind, Fingerprint, GrantMade, JournalEntry, JournalState, Link, OrphanDecision,
    ReportKind, RunMode, RunRecord, RunStatus, SnapshotMeta, SnapshotPerson, Store, StoredPlan,
    StoredReport,
};

const FINGERPRINT_KEY: &str = "fingerprint_key";

/// Offers a fresh fingerprint key at every open; only the first one offered is kept, whichever
/// process (or node) opens the store first.
pub(in super::super) async fn offer_fingerprint_key(pool: &Pool) -> Result<(), StoreError> {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let key: String = key.iter().map(|b| format!("{b:02x}")).collect();
    sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(FINGERPRINT_KEY)
        .bind(key)
        .execute(pool)
        .await
        .map_err(StoreError::db("open", "meta", FINGERPRINT_KEY))?;
    Ok(())
}

#[async_trait]
impl Store for BackendStore {
    async fn start_run(&self, mode: RunMode, config_digest: &str) -> Result<RunRecord, StoreError> {
        let record = runs::new_run(mode, config_digest);
        self.write(Write::StartRun(record.clone())).await?;
        Ok(record)
    }

    async fn finish_run(
        &self,
        run: &str,
        status: RunStatus,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.write(Write::FinishRun {
            run: run.to_owned(),
            status,
            summary: summary.clone(),
        })
        .await
    }

    async fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        runs::runs(&self.pool, limit).await
    }

    async fn run(&self, run: &str) -> Result<Option<RunRecord>, StoreError> {
        runs::run(&self.pool, run).await
    }

    async fn unfinished_runs(&self, except_run: &str) -> Result<Vec<RunRecord>, StoreError> {
        runs::unfinished_runs(&self.pool, except_run).await
    }

    async fn latest_snapshot(&self, source: &str) -> Result<Option<SnapshotMeta>, StoreError> {
        snapshots::latest_snapshot(&self.pool, source).await
    }

    async fn snapshot_persons(&self, snapshot_id: i64) -> Result<Vec<SnapshotPerson>, StoreError> {
        snapshots::snapshot_persons(&self.pool, snapshot_id).await
    }

    async fn save_snapshot(
        &self,
        source: &str,
        run: &str,
        digest: &str,
        persons: &[SnapshotPerson],
        blocked: usize,
    ) -> Result<SnapshotMeta, StoreError> {
        snapshots::save_snapshot(&self.pool, source, run, digest, persons, blocked).await
    }

    async fn links(&self, target: &TargetName) -> Result<Vec<Link>, StoreError> {
        links::links(&self.pool, target).await
    }

    async fn account_links(
        &self,
        target: &TargetName,
        accounts: &[AccountRef],
    ) -> Result<Vec<Link>, StoreError> {
        links::account_links(&self.pool, target, accounts).await
    }

    async fn upsert_link(&self, link: &Link) -> Result<(), StoreError> {
        self.write(Write::UpsertLink(link.clone())).await
    }

    async fn remove_link(
        &self,
        target: &TargetName,
        person: &ExternalId,
    ) -> Result<(), StoreError> {
        self.write(Write::RemoveLink {
            target: target.clone(),
            person: person.clone(),
        })
        .await
    }

    async fn grants_made(&self, target: &TargetName) -> Result<Vec<GrantMade>, StoreError> {
        grants::grants_made(&self.pool, target).await
    }

    async fn record_grant(&self, grant: &GrantMade) -> Result<(), StoreError> {
        self.write(Write::RecordGrant(grant.clone())).await
    }

    async fn forget_grant(
        &self,
        target: &TargetName,
        account: &AccountRef,
        group: &GroupRef,
    ) -> Result<(), StoreError> {
        self.write(Write::ForgetGrant {
            target: target.clone(),
            account: account.clone(),
            group: group.clone(),
        })
        .await
    }

    async fn orphan_decisions(
        &self,
        target: &TargetName,
    ) -> Result<Vec<OrphanDecision>, StoreError> {
        orphans::orphan_decisions(&self.pool, target).await
    }

    async fn decide_orphan(&self, decision: &OrphanDecision) -> Result<(), StoreError> {
        orphans::decide_orphan(&self.pool, decision).await
    }

    async fn forget_orphan_decision(
        &self,
        target: &TargetName,
        account: &AccountRef,
    ) -> Result<(), StoreError> {
        orphans::forget_orphan_decision(&self.pool, target, account).await
    }

    async fn computed_values(
        &self,
        target: &TargetName,
    ) -> Result<Vec<ComputedValues>, StoreError> {
        computed::computed_values(&self.pool, target).await
    }

    async fn replace_computed_values(
        &self,
        target: &TargetName,
        scripts: &[ComputedValues],
    ) -> Result<(), StoreError> {
        computed::replace_computed_values(&self.pool, target, scripts).await
    }

    async fn update_computed_values(
        &self,
        target: &TargetName,
        scripts: &[ComputedChanges],
    ) -> Result<(), StoreError> {
        computed::update_computed_values(&self.pool, target, scripts).await
    }

    async fn fingerprints(&self, target: &TargetName) -> Result<Vec<Fingerprint>, StoreError> {
        links::fingerprints(&self.pool, target).await
    }

    async fn set_fingerprint(
        &self,
        target: &TargetName,
        fp: &Fingerprint,
    ) -> Result<(), StoreError> {
        self.write(Write::SetFingerprint {
            target: target.clone(),
            fp: fp.clone(),
        })
        .await
    }

    async fn clear_fingerprint(
        &self,
        target: &TargetName,
        account: &AccountRef,
        field: &str,
    ) -> Result<(), StoreError> {
        self.write(Write::ClearFingerprint {
            target: target.clone(),
            account: account.clone(),
            field: field.to_owned(),
        })
        .await
    }

    async fn journal_planned(
        &self,
        run: &str,
        entries: Vec<JournalEntry>,
    ) -> Result<(), StoreError> {
        journal::planned_run(run, &entries)?;
        if entries.is_empty() {
            return Ok(());
        }
        // Owned, so that the queued write needs no copy of a large run's journal.
        self.write(Write::JournalPlanned {
            run: run.to_owned(),
            entries,
        })
        .await
    }

    async fn journal_set(
        &self,
        run: &str,
        target: &TargetName,
        action: u32,
        state: JournalState,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        self.write(Write::JournalSet {
            run: run.to_owned(),
            target: target.clone(),
            action,
            state,
            detail: detail.map(str::to_owned),
        })
        .await
    }

    async fn journal_settle(
        &self,
        run: &str,
        target: &TargetName,
        action: u32,
        state: JournalState,
        detail: Option<&str>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.write(Write::JournalSettle {
            run: run.to_owned(),
            target: target.clone(),
            action,
            state,
            detail: detail.map(str::to_owned),
            event: Box::new(event.clone()),
        })
        .await
    }

    async fn journal(&self, run: &str) -> Result<Vec<JournalEntry>, StoreError> {
        journal::journal(&self.pool, run).await
    }

    async fn journal_in_flight(
        &self,
        target: &TargetName,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        journal::journal_in_flight(&self.pool, target).await
    }

    async fn journal_unsettled(&self, except_run: &str) -> Result<Vec<JournalEntry>, StoreError> {
        journal::journal_unsettled(&self.pool, except_run).await
    }

    async fn journal_pending(&self) -> Result<u64, StoreError> {
        journal::journal_pending(&self.pool).await
    }

    async fn record_blocked(
        &self,
        run: &str,
        target: &TargetName,
        kind: ActionKind,
        count: usize,
        reason: &str,
    ) -> Result<(), StoreError> {
        approvals::record_blocked(&self.pool, run, target, kind, count, reason).await
    }

    async fn blocked(&self, run: &str) -> Result<Vec<BlockedRecord>, StoreError> {
        approvals::blocked(&self.pool, run).await
    }

    async fn approve(
        &self,
        run: &str,
        kind: Option<ActionKind>,
        by: &str,
    ) -> Result<Vec<Approval>, StoreError> {
        approvals::approve(&self.pool, run, kind, by).await
    }

    async fn open_approvals(&self, target: &TargetName) -> Result<Vec<Approval>, StoreError> {
        approvals::open_approvals(&self.pool, target).await
    }

    async fn consume_approval(&self, approval_id: i64, by_run: &str) -> Result<(), StoreError> {
        approvals::consume_approval(&self.pool, approval_id, by_run).await
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        self.write(Write::AppendAudit(events.to_vec())).await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        audit::audit(&self.pool, query).await
    }

    async fn person_audit(
        &self,
        person: &ExternalId,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        audit::person_audit(&self.pool, person, limit).await
    }

    async fn decide(
        &self,
        run: &str,
        kind: Option<ActionKind>,
        decision: DecisionKind,
        by: &str,
        reason: &str,
    ) -> Result<Vec<Decision>, StoreError> {
        server::decide(&self.pool, run, kind, decision, by, reason).await
    }

    async fn decisions(&self, run: &str) -> Result<Vec<Decision>, StoreError> {
        server::decisions(&self.pool, run).await
    }

    async fn person_links(&self, person: &ExternalId) -> Result<Vec<Link>, StoreError> {
        server::person_links(&self.pool, person).await
    }

    async fn snapshot_person(
        &self,
        snapshot_id: i64,
        person: &ExternalId,
    ) -> Result<Option<SnapshotPerson>, StoreError> {
        server::snapshot_person(&self.pool, snapshot_id, person).await
    }

    async fn save_plan(
        &self,
        run: &str,
        target: &TargetName,
        plan: &serde_json::Value,
    ) -> Result<(), StoreError> {
        server::save_plan(&self.pool, run, target, plan).await
    }

    async fn latest_plan(&self, target: &TargetName) -> Result<Option<StoredPlan>, StoreError> {
        server::latest_plan(&self.pool, target).await
    }

    async fn save_report(
        &self,
        kind: ReportKind,
        target: &TargetName,
        report: &serde_json::Value,
    ) -> Result<(), StoreError> {
        server::save_report(&self.pool, kind, target, report).await
    }

    async fn latest_report(
        &self,
        kind: ReportKind,
        target: &TargetName,
    ) -> Result<Option<StoredReport>, StoreError> {
        server::latest_report(&self.pool, kind, target).await
    }

    async fn create_token(&self, token: &ApiToken) -> Result<(), StoreError> {
        server::create_token(&self.pool, token).await
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        server::token_by_hash(&self.pool, hash).await
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        server::tokens(&self.pool).await
    }

    async fn revoke_token(&self, id: &str) -> Result<ApiToken, StoreError> {
        server::revoke_token(&self.pool, id).await
    }

    async fn fingerprint_key(&self) -> Result<Secret, StoreError> {
        let key: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(FINGERPRINT_KEY)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::db("fingerprint_key", "meta", FINGERPRINT_KEY))?;
        let key = key.ok_or(StoreError::MissingFingerprintKey)?;
        // The value itself never goes into the error: it is the key.
        if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::corrupt(
                "meta",
                "value",
                "the fingerprint key is not 64 hexadecimal characters",
            ));
        }
        Ok(Secret::new(key))
    }
}
