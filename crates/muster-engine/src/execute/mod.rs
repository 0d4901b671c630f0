//! Execute: runs a gated target plan through its connector. Dependencies are respected
//! (create before grant, revoke before delete, correlate before update) while independent
//! actions run in parallel up to the target's concurrency. Every action is journaled as
//! planned → sent → done | failed | blocked | skipped, written before and after the request,
//! and ends with exactly one audit event.
//!
//! Which action may start when is decided by the pure [`schedule::Scheduler`] (tested without
//! I/O); this module is the I/O loop around it: send, journal, audit, quarantine. Each action's
//! task writes its own end, so the ends of the actions in flight share the store's commits,
//! and, when its request succeeded, frees its place in the target's concurrency as soon as the
//! target has answered. A place is taken only after the action's `sent` marker is durable,
//! and as many actions as there are places may be marking meanwhile: a marker's commit
//! overlaps the requests before it instead of leaving its place idle.
//!
//! A target whose error ratio in the run reaches its [`Quarantine`] threshold is stopped: the
//! requests in flight finish, nothing more is sent to it, and every action not yet started
//! ends skipped with the reason. Other targets run in their own `execute` and go on.
//!
//! A shutdown ([`ExecContext::stop`]) stops every target between batches: the requests in
//! flight finish and are journaled, and the actions not yet started stay `planned` in the
//! journal (no outcome, no audit event) for the next apply to settle and carry out.

mod action;
mod schedule;

use crate::jit::locks::PersonLocks;
use crate::progress::Progress;
use action::{ActionResult, Shared};
use muster_core::connector::Connector;
use muster_core::evaluate::Correlation;
use muster_core::gate::GatedPlan;
use muster_core::model::{AccountRef, TargetName};
use muster_core::plan::{Action, ActionId, ActionKind};
use muster_core::report::{ActionOutcome, AuditEvent, TargetSummary};
use muster_core::secret::Secret;
use muster_store::{JournalEntry, JournalState, RunId, Store, StoreError};
use schedule::{Next, Scheduler};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// When a target is taken out of a run: once at least `min_actions` actions were sent to it
/// and at least `error_ratio` of them failed on the target's side (no answer, 5xx, throttled
/// beyond the retries, unreadable answers; not a refusal of one person's change).
///
/// `muster.toml`: `[targets.x] quarantine = { error_ratio = 0.5, min_actions = 20 }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quarantine {
    /// Share of the actions sent, in `0.0..=1.0`, that trips quarantine (at `>=`).
    pub error_ratio: f64,
    /// Actions sent before the ratio is judged, so that one early failure cannot trip it.
    pub min_actions: usize,
}

impl Default for Quarantine {
    /// Half of at least 20 actions.
    fn default() -> Self {
        Self {
            error_ratio: 0.5,
            min_actions: 20,
        }
    }
}

impl Quarantine {
    /// Why the target must stop, if `errors` of `attempted` trips the threshold.
    pub fn trips(&self, attempted: usize, errors: usize) -> Option<String> {
        if attempted == 0 || attempted < self.min_actions {
            return None;
        }
        let ratio = errors as f64 / attempted as f64;
        (ratio >= self.error_ratio).then(|| {
            format!(
                "quarantined: {errors} of {attempted} actions sent failed on the target's side \
                 ({:.0}% reached the limit of {:.0}%); nothing more is sent to it in this run",
                ratio * 100.0,
                self.error_ratio * 100.0
            )
        })
    }
}

/// What the executor needs besides the plan.
pub struct ExecContext {
    pub run: RunId,
    pub target: TargetName,
    pub connector: Arc<dyn Connector>,
    pub store: Arc<dyn Store>,
    pub correlation: Correlation,
    pub fingerprint_key: Secret,
    pub progress: Arc<dyn Progress>,
    pub quarantine: Quarantine,
    /// Cancelled (a shutdown): start nothing more; the actions in flight finish, the rest stay
    /// `planned` in the journal for the next apply.
    pub stop: CancellationToken,
    /// A target where sign-ins create accounts ([`crate::jit`]): each Create holds its
    /// person's lock, and adopts an account a sign-in linked after this run started instead
    /// of creating a second one. `None`: no sign-ins here (or this is a sign-in's own run).
    pub person_locks: Option<Arc<PersonLocks>>,
}

/// Executes one target's gated plan and returns its summary. A store failure stops the
/// target: without the journal, exactly-once cannot be promised.
pub async fn execute(ctx: &ExecContext, gated: &GatedPlan) -> Result<TargetSummary, StoreError> {
    let actions = &gated.plan().actions;
    let mut summary = TargetSummary::new(ctx.target.clone());
    summary.disputed = gated.plan().disputed.len();
    summary.held = gated.plan().held.len();
    summary.warnings = gated.plan().warnings.clone();
    summary.blocks = gated.blocks().to_vec();
    for a in actions {
        summary.by_action.entry(a.kind).or_default().planned += 1;
    }
    let entries: Vec<JournalEntry> = actions
        .iter()
        .map(|a| planned_entry(&ctx.run, &ctx.target, a))
        .collect();
    ctx.store.journal_planned(&ctx.run, entries).await?;

    let index: HashMap<ActionId, usize> =
        actions.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
    let concurrency = ctx.connector.capabilities().max_concurrency.max(1);
    let shared = Arc::new(Shared {
        run: ctx.run.clone(),
        target: ctx.target.clone(),
        connector: ctx.connector.clone(),
        store: ctx.store.clone(),
        correlation: ctx.correlation.clone(),
        key: ctx.fingerprint_key.clone(),
        ensured_groups: Default::default(),
        sign_ins: match &ctx.person_locks {
            Some(locks) => Some(action::SignIns {
                locks: locks.clone(),
                since: ctx
                    .store
                    .run(&ctx.run)
                    .await?
                    .map_or_else(chrono::Utc::now, |r| r.started_at),
            }),
            None => None,
        },
        places: Arc::new(Semaphore::new(concurrency)),
        stopped: std::sync::OnceLock::new(),
    });
    ctx.progress
        .start(ctx.target.as_str(), actions.len() as u64);

    let mut schedule = Scheduler::new(actions, |a| gated.is_blocked(a), concurrency);
    let mut created: HashMap<ActionId, AccountRef> = HashMap::new();
    let mut resolved: HashMap<usize, Action> = HashMap::new();
    let mut stopped: Option<String> = None;
    // Quarantine's count: actions that reached the connector, and those the target failed.
    let (mut attempted, mut target_errors) = (0usize, 0usize);

    // Blocked actions (and everything depending on them, which the gate already includes)
    // end at once; the rest start when their dependencies are done.
    for i in schedule.blocked() {
        if let Some(reason) = gated.blocked_reason(&actions[i]) {
            let r = ActionResult::settled(ActionOutcome::Blocked, reason);
            finish(ctx, &mut summary, &actions[i], None, &r).await?;
        }
    }

    // A place not given up when the target answered comes back with the action's end.
    type Ended = (
        usize,
        ActionResult,
        Result<(), StoreError>,
        Option<OwnedSemaphorePermit>,
    );
    let mut running: JoinSet<Ended> = JoinSet::new();
    // Each task says when the target has answered, so its place goes to the next action while
    // its end is written.
    let (answered_tx, mut answered_rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    // Which action each task runs, so a task that panics still ends its action.
    let mut task_of: HashMap<tokio::task::Id, usize> = HashMap::new();
    loop {
        // A shutdown starts nothing more; what runs finishes and is journaled.
        while !ctx.stop.is_cancelled() {
            let Some(next) = schedule.next() else { break };
            let i = match next {
                Next::Start(i) => i,
                Next::Skip(i) => {
                    let why = stopped.as_deref().unwrap_or_default();
                    let r = ActionResult::settled(
                        ActionOutcome::Skipped,
                        format!("target stopped: {why}"),
                    );
                    finish(ctx, &mut summary, &actions[i], None, &r).await?;
                    continue;
                }
            };
            let action = actions[i].clone();
            let account = action.account.clone().or_else(|| {
                action
                    .depends_on
                    .iter()
                    .find_map(|d| created.get(d).cloned())
            });
            let action = fill_account_references(action, actions, &index, &created);
            if action.changes.iter().any(|c| c.account_of.is_some()) {
                // The audit shows the value that was written, not the placeholder.
                resolved.insert(i, action.clone());
            }
            let shared = shared.clone();
            let answered = Answered {
                tx: answered_tx.clone(),
                action: i,
                place: std::sync::Mutex::new(None),
            };
            // An action a released limit let through says so in its audit event.
            let released = gated.released_reason(&action);
            // A sign-in's action keeps its place ahead of scheduled work in the rate budget.
            let priority = muster_connectors::http::priority::current();
            let task = running.spawn(muster_connectors::http::priority::scoped(
                priority,
                ANSWERED.scope(answered, async move {
                    // A success frees its place once answered (`target_answered`); any other
                    // end keeps it until the loop has seen it, so quarantine judges in time.
                    let r = action::run(&shared, &action, account).await;
                    let r = match released {
                        Some(why) => r.noted(why),
                        None => r,
                    };
                    // Settled in the task, so the end states of the actions in flight share
                    // the store's commits (group commit) instead of waiting in line here.
                    let store = shared.store.as_ref();
                    let (run, target) = (&shared.run, &shared.target);
                    let settled = settle(store, run, target, &action, r.account.clone(), &r).await;
                    (i, r, settled, give_back_place())
                }),
            ));
            task_of.insert(task.id(), i);
        }
        let joined = tokio::select! {
            biased;
            Some(i) = answered_rx.recv() => {
                schedule.answered(i);
                continue;
            }
            joined = running.join_next_with_id() => joined,
        };
        let Some(joined) = joined else {
            break;
        };
        let (i, result, place) = match joined {
            Ok((id, (i, result, settled, place))) => {
                task_of.remove(&id);
                settled?;
                count(ctx, &mut summary, &actions[i], &result);
                (i, result, place)
            }
            // A panicking action task is a bug; its action ends failed, outcome unknown, and
            // the next run's plan shows whether it still has to be done.
            Err(e) => {
                tracing::error!(target_name = %ctx.target, error = %e, "Action task failed.");
                let Some(i) = task_of.remove(&e.id()) else {
                    continue;
                };
                let mut r = ActionResult::settled(
                    ActionOutcome::Failed,
                    format!(
                        "the action stopped unexpectedly ({e}); whether it took effect is unknown"
                    ),
                );
                r.attempted = true;
                let action = resolved.get(&i).unwrap_or(&actions[i]);
                finish(ctx, &mut summary, action, None, &r).await?;
                (i, r, None)
            }
        };
        let action = resolved.get(&i).unwrap_or(&actions[i]);
        if let Some(account) = &result.account {
            created.insert(action.id, account.clone());
        }
        if result.stop_target && stopped.is_none() {
            stopped = result.detail.clone();
            summary.stopped = result.detail.clone();
        }
        if result.attempted {
            attempted += 1;
            target_errors += usize::from(result.target_fault);
        }
        if stopped.is_none() {
            if let Some(why) = ctx.quarantine.trips(attempted, target_errors) {
                let why = match &result.detail {
                    Some(last) if result.target_fault => format!("{why}; last error: {last}"),
                    _ => why,
                };
                tracing::error!(target_name = %ctx.target, attempted, errors = target_errors, "Target quarantined for the rest of the run.");
                stopped = Some(why.clone());
                summary.stopped = Some(why);
            }
        }
        if let Some(why) = &stopped {
            schedule.stop();
            // Actions started and waiting for a place end skipped instead of sending.
            let _ = shared.stopped.set(why.clone());
        }
        // Only now may an action waiting for a place take this one's.
        drop(place);
        // Dependents of an action that did not succeed end as skipped, with the reason.
        for j in schedule.settle(i, result.outcome) {
            let r = ActionResult::settled(
                ActionOutcome::Skipped,
                format!(
                    "depends on {} ({} {}), which ended {}",
                    action.id, action.kind, action.person, result.outcome
                ),
            );
            finish(ctx, &mut summary, &actions[j], None, &r).await?;
        }
    }
    // Stopped by a shutdown: what never started stays `planned` in the journal, neither
    // failed nor skipped; the next apply's recovery settles it and plans it again.
    let pending = schedule.unended().len();
    if ctx.stop.is_cancelled() && pending > 0 && stopped.is_none() {
        let why = format!(
            "stopped by a shutdown: {pending} action(s) not started are left pending in the journal; the next apply carries them out"
        );
        tracing::warn!(target_name = %ctx.target, pending, "Stopped between batches by a shutdown.");
        summary.stopped = Some(why);
        summary.left_pending = pending;
        ctx.progress.finish();
        summary.warnings.extend(ctx.connector.warnings());
        return Ok(summary);
    }
    // Whatever never started — because the target stopped before its turn, or because it
    // waits on an action that did — ends skipped, with the reason: nothing ends silently.
    for i in schedule.unended() {
        let why = match &stopped {
            Some(why) => format!("target stopped: {why}"),
            None => "its dependencies never completed".to_owned(),
        };
        let r = ActionResult::settled(ActionOutcome::Skipped, why);
        finish(ctx, &mut summary, &actions[i], None, &r).await?;
    }
    ctx.progress.finish();
    summary.warnings.extend(ctx.connector.warnings());
    Ok(summary)
}

/// Fills values that are another person's account created earlier in this run (a manager):
/// the account comes from the action that created it. One that did not succeed leaves the
/// value empty: an Update then fails with the reason before anything is sent, a Create goes
/// ahead without it.
fn fill_account_references(
    mut action: Action,
    actions: &[Action],
    index: &HashMap<ActionId, usize>,
    created: &HashMap<ActionId, AccountRef>,
) -> Action {
    let waited: Vec<ActionId> = action
        .depends_on
        .iter()
        .chain(&action.waits_for)
        .copied()
        .collect();
    for change in action.changes.iter_mut() {
        let Some(other) = &change.account_of else {
            continue;
        };
        change.after = waited
            .iter()
            .filter(|d| index.get(d).is_some_and(|&j| actions[j].person == *other))
            .find_map(|d| created.get(d))
            .map(|account| serde_json::Value::String(account.to_string()));
    }
    // A create whose manager's create failed goes ahead without the reference; the next plan
    // fills it in once the manager has an account.
    if action.kind == ActionKind::Create {
        action
            .changes
            .retain(|c| c.account_of.is_none() || c.after.is_some());
    }
    action
}

tokio::task_local! {
    /// The action an executor task runs, where to say that the target has answered it, and
    /// the place its request holds.
    static ANSWERED: Answered;
}

struct Answered {
    tx: tokio::sync::mpsc::UnboundedSender<usize>,
    action: usize,
    /// Held from [`take_place`] until the target answers ([`target_answered`]), or, when it
    /// does not, until the loop has seen the action's end (so quarantine judges in time).
    place: std::sync::Mutex<Option<OwnedSemaphorePermit>>,
}

impl Answered {
    fn set_place(&self, permit: Option<OwnedSemaphorePermit>) -> Option<OwnedSemaphorePermit> {
        match self.place.lock() {
            Ok(mut place) => std::mem::replace(&mut *place, permit),
            // A task that panicked while holding the lock ends anyway; its place goes with it.
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), permit),
        }
    }
}

/// Waits for one of the target's places (its `max_concurrency` of requests in flight). Taken
/// after the action's `sent` marker is durable, so the marker's commit overlaps the requests
/// of the actions before it. Outside an executor task (unit tests of an action) it does
/// nothing.
async fn take_place(places: &Arc<Semaphore>) {
    // The executor never closes its semaphore; a closed one would only mean no limit.
    let permit = places.clone().acquire_owned().await.ok();
    let _ = ANSWERED.try_with(|a| a.set_place(permit));
}

/// The place this task still holds, if any: handed to the loop with the action's end.
fn give_back_place() -> Option<OwnedSemaphorePermit> {
    ANSWERED.try_with(|a| a.set_place(None)).ok().flatten()
}

/// Says that the target has answered this task's action and only store writes follow: its
/// place goes to the next action, and its start too ([`Scheduler::answered`]). Said again,
/// or outside an executor task, it does nothing.
fn target_answered() {
    let _ = ANSWERED.try_with(|a| {
        drop(a.set_place(None));
        // The loop may be gone (a store failure ended it): nothing to tell then.
        let _ = a.tx.send(a.action);
    });
}

/// Journals the outcome, writes the audit event, counts it.
async fn finish(
    ctx: &ExecContext,
    summary: &mut TargetSummary,
    action: &Action,
    account: Option<AccountRef>,
    result: &ActionResult,
) -> Result<(), StoreError> {
    let store = ctx.store.as_ref();
    settle(store, &ctx.run, &ctx.target, action, account, result).await?;
    count(ctx, summary, action, result);
    Ok(())
}

/// The action's end state and its audit event, in one transaction: killed at any point, the
/// action has both or neither (and then recovery settles it on the next apply).
async fn settle(
    store: &dyn Store,
    run: &RunId,
    target: &TargetName,
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
    let event = AuditEvent {
        at: chrono::Utc::now(),
        run: run.clone(),
        target: target.clone(),
        person: action.person.clone(),
        action: action.kind,
        outcome: result.outcome,
        account: account.or_else(|| action.account.clone()),
        reason: action.reason.clone(),
        detail: result.detail.clone(),
        changes: action.changes.clone(),
        permission: action.permission.clone(),
    };
    let detail = result.detail.as_deref();
    store
        .journal_settle(run, target, action.id.0, state, detail, &event)
        .await
}

/// Counts a settled action in the summary and the progress.
fn count(ctx: &ExecContext, summary: &mut TargetSummary, action: &Action, result: &ActionResult) {
    summary
        .by_action
        .entry(action.kind)
        .or_default()
        .add(result.outcome);
    if result.outcome == ActionOutcome::Failed {
        tracing::debug!(target_name = %ctx.target, action = %action.id, kind = %action.kind, person = %action.person, detail = ?result.detail, "Action failed.");
    }
    ctx.progress.advance(1);
}

/// The journal entry of `action` in `run`, planned now.
pub(crate) fn planned_entry(run: &RunId, target: &TargetName, a: &Action) -> JournalEntry {
    JournalEntry {
        run: run.clone(),
        target: target.clone(),
        action: a.id.0,
        kind: a.kind,
        person: a.person.clone(),
        account: a.account.clone(),
        permission: a.permission.as_ref().map(|p| p.name.clone()),
        state: JournalState::Planned,
        detail: None,
        updated_at: chrono::Utc::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::Quarantine;

    #[test]
    fn quarantine_trips_at_the_ratio_once_enough_actions_were_sent() {
        let q = Quarantine {
            error_ratio: 0.5,
            min_actions: 4,
        };
        assert_eq!(q.trips(0, 0), None);
        assert_eq!(q.trips(3, 3), None, "too few actions to judge");
        assert_eq!(q.trips(4, 1), None);
        let why = q.trips(4, 2).expect("2 of 4 is 50%");
        assert!(why.contains("2 of 4") && why.contains("50%"), "{why}");
        assert!(q.trips(10, 4).is_none());
        assert!(Quarantine::default().trips(20, 10).is_some());
        assert!(Quarantine::default().trips(19, 19).is_none());
    }
}
