//! `muster reconcile`: acts on orphan accounts — accounts in a target that no person of the
//! source owns (`muster import` lists them as "accounts without person").
//!
//! What is proposed for each comes from the target's policy (`[targets.x.reconcile] orphans =
//! "report" | "disable" | "delete"`) unless an administrator decided otherwise for that account
//! (stored in the store: excluded until a day, resolved, disable, delete). The proposals are a
//! plan like any other: the target gate (thresholds, approvals, all-or-nothing) decides what
//! may run, and `--apply` executes it through the same executor, so every action is journaled,
//! recovered after a crash and audited with its reason.
//!
//! An orphan is only an orphan against a complete, valid source: when any source record is
//! blocked, the source is empty, or the source gate trips against the last snapshot, nothing
//! is disabled or deleted, and the report says why.
//!
//! An orphan has no person: its actions carry the person `orphan:<account>` ([`orphan_person`]),
//! so the audit can be searched for it, a threshold counts each account once, and the executor
//! never links the account to anyone.

use crate::error::EngineError;
use crate::import::{Survey, UnmatchedAccount};
use crate::recover::{recover_except, Scope};
use crate::run::{Engine, SOURCE_NAME};
use chrono::NaiveDate;
use muster_core::connector::{Capabilities, DeleteMeaning, ObservedAccount};
use muster_core::gate::{source_gate, GatedPlan};
use muster_core::model::{AccountRef, ExternalId, TargetName};
use muster_core::plan::{Action, ActionId, ActionKind, TargetPlan};
use muster_core::report::{RunSummary, TargetSummary};
use muster_store::{OrphanDecision, OrphanVerdict, ReportKind, RunId, RunMode, RunStatus};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use tokio_util::sync::CancellationToken;

/// The person an orphan account's actions are recorded under.
const ORPHAN_PREFIX: &str = "orphan:";

/// The person an orphan account's actions (journal, audit) are recorded under.
pub fn orphan_person(account: &AccountRef) -> ExternalId {
    ExternalId::new(format!("{ORPHAN_PREFIX}{account}"))
}

/// Whether an action's person stands for an orphan account rather than a person.
pub fn is_orphan_person(person: &ExternalId) -> bool {
    person.as_str().starts_with(ORPHAN_PREFIX)
}

/// What reconcile proposes for an orphan no administrator decided about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrphanPolicy {
    /// Show it; do nothing.
    #[default]
    Report,
    Disable,
    Delete,
}

impl OrphanPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            OrphanPolicy::Report => "report",
            OrphanPolicy::Disable => "disable",
            OrphanPolicy::Delete => "delete",
        }
    }

    fn action(self) -> Option<ActionKind> {
        match self {
            OrphanPolicy::Report => None,
            OrphanPolicy::Disable => Some(ActionKind::Disable),
            OrphanPolicy::Delete => Some(ActionKind::Delete),
        }
    }
}

impl fmt::Display for OrphanPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown orphan policy `{0}`: expected report, disable or delete")]
pub struct UnknownOrphanPolicy(pub String);

impl FromStr for OrphanPolicy {
    type Err = UnknownOrphanPolicy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            OrphanPolicy::Report,
            OrphanPolicy::Disable,
            OrphanPolicy::Delete,
        ]
        .into_iter()
        .find(|p| p.as_str() == s.trim())
        .ok_or_else(|| UnknownOrphanPolicy(s.to_owned()))
    }
}

/// One orphan as reconcile shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrphanRow {
    pub account: AccountRef,
    /// The account's correlation attribute.
    pub value: Option<String>,
    pub enabled: bool,
    /// The administrator's decision about it, if any.
    pub decision: Option<OrphanDecision>,
    /// The action planned for it; `None`: nothing is done, `reason` says why.
    pub action: Option<ActionKind>,
    pub reason: String,
}

/// The orphans of one target and the plan that acts on them.
#[derive(Debug, Clone, PartialEq)]
pub struct OrphanPlan {
    pub rows: Vec<OrphanRow>,
    pub plan: TargetPlan,
    /// Orphans whose action was withheld because the source is incomplete.
    pub withheld: usize,
}

/// Everything [`plan_orphans`] decides from.
pub struct OrphanInput<'a> {
    pub target: &'a TargetName,
    pub accounts: &'a [ObservedAccount],
    /// The accounts without a person, as the import finds them.
    pub orphans: &'a [UnmatchedAccount],
    pub decisions: &'a [OrphanDecision],
    pub policy: OrphanPolicy,
    pub capabilities: &'a Capabilities,
    /// The account attribute correlation compares (named in reasons).
    pub correlation_field: &'a str,
    /// Why the source cannot tell an orphan from a person it failed to read, if it cannot.
    pub source_incomplete: Option<&'a str>,
    pub today: NaiveDate,
}

/// Decides, per orphan, what is done and why. Pure: the same input gives the same plan.
pub fn plan_orphans(input: &OrphanInput<'_>) -> OrphanPlan {
    let decisions: HashMap<&AccountRef, &OrphanDecision> =
        input.decisions.iter().map(|d| (&d.account, d)).collect();
    let enabled: HashMap<&AccountRef, bool> = input
        .accounts
        .iter()
        .map(|a| (&a.reference, a.enabled))
        .collect();
    let mut out = OrphanPlan {
        rows: Vec::new(),
        plan: TargetPlan {
            target: input.target.clone(),
            observed_digest: String::new(),
            accounts_observed: input.accounts.len(),
            actions: Vec::new(),
            disputed: Vec::new(),
            held: Vec::new(),
            warnings: Vec::new(),
        },
        withheld: 0,
    };
    for orphan in input.orphans {
        let decision = decisions.get(&orphan.account).copied();
        let enabled = enabled.get(&orphan.account).copied().unwrap_or(true);
        let (row, withheld) = orphan_row(orphan, decision, enabled, input);
        out.withheld += usize::from(withheld);
        if let Some(kind) = row.action {
            out.plan.actions.push(Action {
                id: ActionId(out.plan.actions.len() as u32),
                kind,
                person: orphan_person(&orphan.account),
                account: Some(orphan.account.clone()),
                depends_on: Vec::new(),
                waits_for: Vec::new(),
                enabled: None,
                changes: Vec::new(),
                permission: None,
                resend: Vec::new(),
                reason: row.reason.clone(),
            });
        }
        out.rows.push(row);
    }
    out
}

/// One orphan's row, and whether its action was withheld for an incomplete source.
fn orphan_row(
    orphan: &UnmatchedAccount,
    decision: Option<&OrphanDecision>,
    enabled: bool,
    input: &OrphanInput<'_>,
) -> (OrphanRow, bool) {
    let (wanted, why) = wanted(decision, input.policy, input.today);
    let (action, reason, withheld) = match wanted.map(|kind| (kind, possible(kind, enabled, input)))
    {
        None => (None, why, false),
        Some((kind, Ok(()))) => (Some(kind), why, false),
        Some((_, Err(not))) => (
            None,
            format!("{why}; {not}"),
            input.source_incomplete.is_some(),
        ),
    };
    let row = OrphanRow {
        account: orphan.account.clone(),
        value: orphan.value.clone(),
        enabled,
        decision: decision.cloned(),
        action,
        reason: format!("{}; {reason}", orphan_why(orphan, input.correlation_field)),
    };
    (row, withheld)
}

/// Why the account is an orphan, for every reason line.
fn orphan_why(orphan: &UnmatchedAccount, field: &str) -> String {
    match &orphan.value {
        Some(v) => format!("orphan: linked to no person, and no person has {field} = {v:?}"),
        None => format!("orphan: linked to no person, and no {field} to correlate on"),
    }
}

/// The action the decision (or else the policy) asks for, and why.
fn wanted(
    decision: Option<&OrphanDecision>,
    policy: OrphanPolicy,
    today: NaiveDate,
) -> (Option<ActionKind>, String) {
    let by = |d: &OrphanDecision| format!("by {} on {}", d.decided_by, d.decided_at.date_naive());
    let from_policy = |prefix: String| (policy.action(), format!("{prefix}policy {policy}"));
    match decision {
        None => from_policy(String::new()),
        Some(d) => match d.verdict {
            OrphanVerdict::ExcludedUntil(until) if today < until => {
                (None, format!("excluded until {until} ({})", by(d)))
            }
            OrphanVerdict::ExcludedUntil(until) => {
                from_policy(format!("exclusion ended on {until}; "))
            }
            OrphanVerdict::Resolved => (None, format!("marked resolved ({})", by(d))),
            OrphanVerdict::Disable => (Some(ActionKind::Disable), format!("decided {}", by(d))),
            OrphanVerdict::Delete => (Some(ActionKind::Delete), format!("decided {}", by(d))),
        },
    }
}

/// Whether `kind` may be done to the account now: `Err` says why not — the source is
/// incomplete, or the target cannot or need not (already disabled).
fn possible(kind: ActionKind, enabled: bool, input: &OrphanInput<'_>) -> Result<(), String> {
    if let Some(why) = input.source_incomplete {
        return Err(format!("{kind} withheld: {why}"));
    }
    let caps = input.capabilities;
    if kind == ActionKind::Disable && !caps.can_disable {
        return Err(format!("nothing to {kind}: the target has no enabled flag"));
    }
    let disables = kind == ActionKind::Disable
        || (kind == ActionKind::Delete && caps.delete == DeleteMeaning::Disable);
    if disables && !enabled {
        return Err(format!("nothing to {kind}: already disabled"));
    }
    Ok(())
}

/// A decision given with the command, about one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decide {
    Record(OrphanVerdict),
    /// Forget the account's decision: the policy applies again.
    Forget,
}

/// One `muster reconcile`.
#[derive(Debug, Clone)]
pub struct ReconcileRequest {
    pub target: String,
    pub today: NaiveDate,
    /// A decision to store before planning.
    pub decide: Option<(AccountRef, Decide)>,
    /// Who decides (stored with the decision).
    pub by: String,
    /// Execute the plan; otherwise only show it.
    pub apply: bool,
}

/// What `muster reconcile` shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReconcileReport {
    pub run: RunId,
    pub target: TargetName,
    pub policy: OrphanPolicy,
    /// Why nothing may be disabled or deleted, when the source is incomplete.
    pub source_incomplete: Option<String>,
    pub orphans: Vec<OrphanRow>,
    /// Threshold groups the target gate blocked, with the reason.
    pub blocked: Vec<String>,
    pub applied: bool,
    pub summary: RunSummary,
}

impl Engine {
    /// Stores the request's decision, plans the orphans of one target, gates the plan and, with
    /// `apply`, executes it. Recorded as a run (preview or apply), so a threshold block can be
    /// approved with `muster approve RUN --no-apply` and a crash is recovered.
    pub async fn reconcile(
        &self,
        request: &ReconcileRequest,
    ) -> Result<ReconcileReport, EngineError> {
        let lock = match request.apply {
            true => Some(self.apply_lock().await?),
            false => None,
        };
        let result = self.reconcile_locked(request, lock.as_ref()).await;
        if let Some(lock) = lock {
            lock.release().await;
        }
        result
    }

    async fn reconcile_locked(
        &self,
        request: &ReconcileRequest,
        lock: Option<&crate::lock::ApplyLock>,
    ) -> Result<ReconcileReport, EngineError> {
        // Stops between batches on a shutdown, or when this node lost the apply lease.
        let stop = lock.map(|l| l.run_stop(&self.stop_token()));
        let stop = stop
            .as_ref()
            .map_or_else(|| self.stop_token(), |s| s.token().clone());
        let mode = match request.apply {
            true => RunMode::Apply,
            false => RunMode::Preview,
        };
        let run = self.store.start_run(mode, &self.config.digest).await?;
        let result = self.reconcile_run(&run.id, request, &stop).await;
        let (status, summary) = match &result {
            Ok(r) => (
                r.summary.status(),
                serde_json::to_value(&r.summary).unwrap_or_default(),
            ),
            Err(e) => (
                RunStatus::Error,
                serde_json::json!({ "error": e.to_string() }),
            ),
        };
        self.store.finish_run(&run.id, status, &summary).await?;
        if let Ok(report) = &result {
            self.keep_report(ReportKind::Reconcile, &report.target, report)
                .await;
        }
        result
    }

    async fn reconcile_run(
        &self,
        run: &str,
        request: &ReconcileRequest,
        stop: &CancellationToken,
    ) -> Result<ReconcileReport, EngineError> {
        let survey = self.survey(&request.target, request.today).await?;
        let t = self
            .config
            .target(survey.report.target.as_str())
            .ok_or_else(|| EngineError::UnknownTarget {
                target: survey.report.target.to_string(),
                config: self.config.file.display().to_string(),
            })?;
        let connector = self.connected(t).await?;
        if let Some((account, decide)) = &request.decide {
            self.decide(&survey, account, decide, &request.by).await?;
        }
        let incomplete = self.source_incomplete(&survey).await?;
        let decisions = self.store.orphan_decisions(&t.name).await?;
        let mut planned = plan_orphans(&OrphanInput {
            target: &t.name,
            accounts: &survey.observed.accounts,
            orphans: &survey.report.accounts_without_person,
            decisions: &decisions,
            policy: t.orphans,
            capabilities: connector.capabilities(),
            correlation_field: &t.policy.correlation.account_field,
            source_incomplete: incomplete.as_deref(),
            today: request.today,
        });
        planned.plan.observed_digest = survey.observed.digest();
        let (gated, approvals) = self.gate(t, planned.plan).await?;
        for (kind, count, reason) in gated.approvable() {
            self.store
                .record_blocked(run, &t.name, kind, count, &reason)
                .await?;
        }
        let mut summary = RunSummary {
            run: run.into(),
            mode: if request.apply {
                RunMode::Apply
            } else {
                RunMode::Preview
            },
            blocked: incomplete.clone().filter(|_| planned.withheld > 0),
            blocked_persons: survey.blocked.len(),
            targets: vec![preview_summary(&gated)],
            preview_mode: false,
        };
        let applied = request.apply && incomplete.is_none();
        if applied {
            let target = self.apply_orphans(run, t, &connector, &gated, stop).await?;
            summary.targets = vec![target];
            for a in &approvals {
                self.store.consume_approval(a.id, run).await?;
            }
        }
        Ok(ReconcileReport {
            run: run.into(),
            target: t.name.clone(),
            policy: t.orphans,
            source_incomplete: incomplete,
            orphans: planned.rows,
            blocked: gated
                .blocks()
                .iter()
                .filter(|b| b.is_blocking())
                .map(|b| b.reason.clone())
                .collect(),
            applied,
            summary,
        })
    }

    /// Settles what a dead reconcile left in flight against this plan, then executes it.
    async fn apply_orphans(
        &self,
        run: &str,
        t: &crate::config::TargetConfig,
        connector: &std::sync::Arc<dyn muster_core::connector::Connector>,
        gated: &GatedPlan,
        stop: &CancellationToken,
    ) -> Result<TargetSummary, EngineError> {
        let recovered = {
            let live = self.jit.live.read().await;
            recover_except(
                self.store.as_ref(),
                run,
                &[gated.plan()],
                Scope::Orphans,
                &live,
            )
            .await?
        };
        let key = self.store.fingerprint_key().await?;
        let ctx = self.exec_context(run, t, connector, &key, stop);
        let mut summary = crate::execute::execute(&ctx, gated).await?;
        if !recovered.is_empty() {
            summary.warnings.push(recovered.describe());
        }
        Ok(summary)
    }

    /// Stores (or forgets) a decision; refused for an account that is not an orphan now.
    async fn decide(
        &self,
        survey: &Survey,
        account: &AccountRef,
        decide: &Decide,
        by: &str,
    ) -> Result<(), EngineError> {
        let target = &survey.report.target;
        let verdict = match decide {
            Decide::Forget => {
                return Ok(self.store.forget_orphan_decision(target, account).await?);
            }
            Decide::Record(verdict) => *verdict,
        };
        let orphan = survey
            .report
            .accounts_without_person
            .iter()
            .any(|o| &o.account == account);
        if !orphan {
            let present = survey
                .observed
                .accounts
                .iter()
                .any(|a| &a.reference == account);
            let (target, account) = (target.to_string(), account.to_string());
            return Err(if present {
                EngineError::NotAnOrphan { target, account }
            } else {
                EngineError::NoSuchAccount { target, account }
            });
        }
        self.store
            .decide_orphan(&OrphanDecision {
                target: target.clone(),
                account: account.clone(),
                verdict,
                decided_by: by.to_owned(),
                decided_at: chrono::Utc::now(),
            })
            .await?;
        tracing::info!(target_name = %target, %account, decision = %verdict, by, "Orphan decision recorded.");
        Ok(())
    }

    /// Why the source read cannot tell orphans from persons it failed to read, if it cannot:
    /// blocked records, an empty source, or a source gate that trips against the last snapshot.
    async fn source_incomplete(&self, survey: &Survey) -> Result<Option<String>, EngineError> {
        if !survey.blocked.is_empty() {
            return Ok(Some(format!(
                "{} source record(s) are blocked, so their accounts may look like orphans; fix the source first",
                survey.blocked.len()
            )));
        }
        if survey.persons.is_empty() {
            return Ok(Some("the source holds no persons".into()));
        }
        let previous = match self.store.latest_snapshot(SOURCE_NAME).await? {
            Some(meta) => Some(self.store.snapshot_persons(meta.id).await?),
            None => None,
        };
        let delta = crate::run::source_delta(previous.as_deref(), &survey.persons, &survey.blocked);
        Ok(source_gate(&delta, &self.config.source_thresholds)
            .err()
            .map(|trips| format!("the source gate trips: {}", trips.join("; "))))
    }
}

/// A plan's counts before execution: planned, and blocked by the gate.
fn preview_summary(gated: &GatedPlan) -> TargetSummary {
    let mut t = TargetSummary::new(gated.plan().target.clone());
    for a in &gated.plan().actions {
        let c = t.by_action.entry(a.kind).or_default();
        c.planned += 1;
        if gated.is_blocked(a) {
            c.blocked += 1;
        }
    }
    t
}

#[cfg(test)]
mod tests;
