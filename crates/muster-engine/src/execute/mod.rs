//! Execute: runs a gated target plan through its connector. Dependencies are respected
//! (create before grant, revoke before delete, correlate before update) while independent
//! actions run in parallel up to the target's concurrency. Every action is journaled as
//! planned → sent → done | failed | blocked | skipped, written before and after the request,
//! and ends with exactly one audit event.

mod action;

use crate::progress::Progress;
use action::{ActionResult, Shared};
use muster_core::connector::Connector;
use muster_core::evaluate::Correlation;
use muster_core::gate::GatedPlan;
use muster_core::model::{AccountRef, TargetName};
use muster_core::plan::{Action, ActionId};
use muster_core::report::{ActionOutcome, AuditEvent, TargetSummary};
use muster_core::secret::Secret;
use muster_store::{JournalEntry, JournalState, Store, StoreError};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::task::JoinSet;

/// What the executor needs besides the plan.
pub struct ExecContext {
    pub run: String,
    pub target: TargetName,
    pub connector: Arc<dyn Connector>,
    pub store: Arc<dyn Store>,
    pub correlation: Correlation,
    pub fingerprint_key: Secret,
    pub progress: Arc<dyn Progress>,
}

/// Executes one target's gated plan and returns its summary. A store failure stops the
/// target: without the journal, exactly-once cannot be promised.
pub async fn execute(ctx: &ExecContext, gated: &GatedPlan) -> Result<TargetSummary, StoreError> {
    let actions = &gated.plan.actions;
    let mut summary = TargetSummary::new(ctx.target.clone());
    summary.disputed = gated.plan.disputed.len();
    summary.held = gated.plan.held.len();
    summary.warnings = gated.plan.warnings.clone();
    for a in actions {
        summary.by_action.entry(a.kind).or_default().planned += 1;
    }
    let entries: Vec<JournalEntry> = actions
        .iter()
        .map(|a| JournalEntry {
            run: ctx.run.clone(),
            target: ctx.target.clone(),
            action: a.id.0,
            kind: a.kind,
            person: a.person.clone(),
            account: a.account.clone(),
            state: JournalState::Planned,
            detail: None,
            updated_at: chrono::Utc::now(),
        })
        .collect();
    ctx.store.journal_planned(&ctx.run, &entries).await?;

    let index: HashMap<ActionId, usize> =
        actions.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
    let mut waiting_on: Vec<usize> = actions.iter().map(|a| a.depends_on.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); actions.len()];
    for (i, a) in actions.iter().enumerate() {
        for d in &a.depends_on {
            if let Some(&j) = index.get(d) {
                dependents[j].push(i);
            }
        }
    }

    let shared = Arc::new(Shared {
        run: ctx.run.clone(),
        target: ctx.target.clone(),
        connector: ctx.connector.clone(),
        store: ctx.store.clone(),
        correlation: ctx.correlation.clone(),
        key: ctx.fingerprint_key.clone(),
    });
    ctx.progress
        .start(ctx.target.as_str(), actions.len() as u64);

    let mut settled: Vec<Option<ActionOutcome>> = vec![None; actions.len()];
    let mut created: HashMap<ActionId, AccountRef> = HashMap::new();
    let mut ready: VecDeque<usize> = VecDeque::new();
    let mut stopped: Option<String> = None;

    // Blocked actions (and everything depending on them, which the gate already includes)
    // settle at once; the rest start when their dependencies are done.
    for (i, a) in actions.iter().enumerate() {
        if let Some(reason) = gated.blocked_reason(a) {
            let r = ActionResult::settled(ActionOutcome::Blocked, reason);
            finish(ctx, &mut summary, a, None, &r).await?;
            settled[i] = Some(ActionOutcome::Blocked);
        } else if waiting_on[i] == 0 {
            ready.push_back(i);
        }
    }

    let concurrency = ctx.connector.capabilities().max_concurrency.max(1);
    let mut running: JoinSet<(usize, ActionResult)> = JoinSet::new();
    loop {
        while running.len() < concurrency {
            let Some(i) = ready.pop_front() else { break };
            let action = actions[i].clone();
            if let Some(why) = &stopped {
                let r =
                    ActionResult::settled(ActionOutcome::Skipped, format!("target stopped: {why}"));
                finish(ctx, &mut summary, &action, None, &r).await?;
                settled[i] = Some(ActionOutcome::Skipped);
                release(i, &r, actions, &dependents, &mut waiting_on, &mut ready);
                continue;
            }
            let account = action.account.clone().or_else(|| {
                action
                    .depends_on
                    .iter()
                    .find_map(|d| created.get(d).cloned())
            });
            let shared = shared.clone();
            running.spawn(async move {
                let r = action::run(&shared, &action, account).await;
                (i, r)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (i, result) = match joined {
            Ok(x) => x,
            // A panicking action task is a bug; its action stays "sent" in the journal so the
            // next run treats its outcome as unknown.
            Err(e) => {
                tracing::error!(target_name = %ctx.target, error = %e, "Action task failed.");
                continue;
            }
        };
        let action = &actions[i];
        if let Some(account) = &result.account {
            created.insert(action.id, account.clone());
        }
        if result.stop_target && stopped.is_none() {
            stopped = result.detail.clone();
            summary.stopped = result.detail.clone();
        }
        finish(ctx, &mut summary, action, result.account.clone(), &result).await?;
        settled[i] = Some(result.outcome);
        release(
            i,
            &result,
            actions,
            &dependents,
            &mut waiting_on,
            &mut ready,
        );
        // Dependents of an action that did not succeed end as skipped, with the reason.
        let mut cascade: Vec<usize> = if result.outcome == ActionOutcome::Done {
            Vec::new()
        } else {
            dependents[i].clone()
        };
        while let Some(j) = cascade.pop() {
            if settled[j].is_some() {
                continue;
            }
            let r = ActionResult::settled(
                ActionOutcome::Skipped,
                format!(
                    "depends on {} ({} {}), which ended {}",
                    action.id, action.kind, action.person, result.outcome
                ),
            );
            finish(ctx, &mut summary, &actions[j], None, &r).await?;
            settled[j] = Some(ActionOutcome::Skipped);
            cascade.extend(dependents[j].iter().copied());
        }
    }
    ctx.progress.finish();
    summary.warnings.extend(ctx.connector.warnings());
    Ok(summary)
}

/// Counts down the dependents of a done action; those with nothing left to wait for start.
fn release(
    i: usize,
    result: &ActionResult,
    actions: &[Action],
    dependents: &[Vec<usize>],
    waiting_on: &mut [usize],
    ready: &mut VecDeque<usize>,
) {
    if result.outcome != ActionOutcome::Done {
        return;
    }
    for &j in &dependents[i] {
        waiting_on[j] = waiting_on[j].saturating_sub(1);
        if waiting_on[j] == 0 && j < actions.len() {
            ready.push_back(j);
        }
    }
}

/// Journals the outcome, writes the audit event, counts it.
async fn finish(
    ctx: &ExecContext,
    summary: &mut TargetSummary,
    action: &Action,
    account: Option<AccountRef>,
    result: &ActionResult,
) -> Result<(), StoreError> {
    let state = match result.outcome {
        ActionOutcome::Done => JournalState::Done,
        ActionOutcome::Failed => JournalState::Failed,
        ActionOutcome::Blocked => JournalState::Blocked,
        ActionOutcome::Skipped => JournalState::Skipped,
    };
    ctx.store
        .journal_set(
            &ctx.run,
            &ctx.target,
            action.id.0,
            state,
            result.detail.as_deref(),
        )
        .await?;
    let event = AuditEvent {
        at: chrono::Utc::now(),
        run: ctx.run.clone(),
        target: ctx.target.clone(),
        person: action.person.clone(),
        action: action.kind,
        outcome: result.outcome,
        account: account.or_else(|| action.account.clone()),
        reason: action.reason.clone(),
        detail: result.detail.clone(),
        changes: action.changes.clone(),
        permission: action.permission.clone(),
    };
    ctx.store.append_audit(std::slice::from_ref(&event)).await?;
    summary
        .by_action
        .entry(action.kind)
        .or_default()
        .add(result.outcome);
    if result.outcome == ActionOutcome::Failed {
        tracing::debug!(target_name = %ctx.target, action = %action.id, kind = %action.kind, person = %action.person, detail = ?result.detail, "Action failed.");
    }
    ctx.progress.advance(1);
    Ok(())
}
