//! Crash recovery: what a run that died left in the journal is settled by the next apply, right
//! after its fresh read and plan, before anything is sent.
//!
//! A dead run leaves entries without an outcome. Each is matched with the fresh plan of its
//! target by what identifies an action across runs — target, kind, person and permission:
//!
//! - `sent` (the request may or may not have taken effect): when the fresh plan no longer
//!   holds the equivalent action, the target holds its effect, so the entry becomes `done`
//!   ("confirmed after restart"). When it still does, the effect is absent: the entry becomes
//!   `failed` ("interrupted; re-planned in run X") and the new run carries the action out.
//!   A create that did reach the target shows up in the fresh plan as a Correlate (the account
//!   exists, unlinked), never as a second Create, so nothing is duplicated.
//! - `planned` (never sent): `skipped`, re-planned in the new run as needed.
//!
//! Every settled entry gets its audit event, so the audit trail holds each action's effect
//! exactly once as done. Apply runs that never finished are closed with status `interrupted`
//! (a preview takes no lock, so an unfinished one may still be going, in another process or
//! on another node: it is left alone).
//! [`crate::lock::ApplyLock`] guarantees that those runs' processes are gone.

use muster_core::model::{AccountRef, ExternalId, TargetName};
use muster_core::plan::{Action, ActionKind, PermissionTarget, TargetPlan};
use muster_core::report::{ActionOutcome, AuditEvent};
use muster_store::{JournalEntry, JournalState, RunId, RunMode, RunStatus, Store, StoreError};
use std::collections::{HashMap, HashSet};

/// Longer than any sign-in lasts (its create is given up at [`crate::jit::SIGN_IN_LIMIT`],
/// ten minutes): an unfinished sign-in run older than this died with its process.
const SIGN_IN_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// Status of a run whose process died, set by the run that found it.
pub const INTERRUPTED: RunStatus = RunStatus::Interrupted;

/// What recovery settled, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Runs closed as interrupted.
    pub runs: Vec<RunId>,
    /// In-flight actions whose effect the target holds: done.
    pub confirmed: usize,
    /// In-flight actions whose effect is absent: failed, and planned again.
    pub replanned: usize,
    /// Actions that were never sent: skipped.
    pub never_sent: usize,
    /// Entries of targets that this run did not plan, left open for a run that does.
    pub left_open: usize,
}

impl Recovered {
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty() && self.confirmed + self.replanned + self.never_sent == 0
    }

    /// One line for the run's warnings.
    pub fn describe(&self) -> String {
        format!(
            "recovered after an interrupted run ({}): {} action(s) in flight were confirmed done, \
             {} re-planned, {} never sent",
            if self.runs.is_empty() {
                "journal".to_owned()
            } else {
                self.runs
                    .iter()
                    .map(|r| r.chars().take(8).collect::<String>())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            self.confirmed,
            self.replanned,
            self.never_sent
        )
    }
}

/// What identifies an action across runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    kind: ActionKind,
    person: ExternalId,
    /// Lowercased: group names compare ignoring case, as the plan does.
    permission: Option<String>,
}

impl Key {
    fn of_action(a: &Action) -> Self {
        Self {
            kind: a.kind,
            person: a.person.clone(),
            permission: a.permission.as_ref().map(|p| p.name.to_lowercase()),
        }
    }

    fn of_entry(e: &JournalEntry) -> Self {
        Self {
            kind: e.kind,
            person: e.person.clone(),
            permission: e.permission.as_ref().map(|p| p.to_lowercase()),
        }
    }
}

/// Which actions a run plans: the persons' (`plan`/`apply`) or the orphan accounts'
/// (`muster reconcile`). Each settles only entries of its own kind, since the other's fresh
/// plan says nothing about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Persons,
    Orphans,
}

impl Scope {
    fn covers(self, e: &JournalEntry) -> bool {
        crate::reconcile::is_orphan_person(&e.person) == (self == Scope::Orphans)
    }
}

/// Settles what runs other than `run` left open, against `plans` (this run's fresh plans, one
/// per target, of `scope`), and closes runs that never finished. Call it with the apply lock
/// held.
pub async fn recover(
    store: &dyn Store,
    run: &str,
    plans: &[&TargetPlan],
    scope: Scope,
) -> Result<Recovered, StoreError> {
    recover_except(store, run, plans, scope, &HashSet::new()).await
}

/// As [`recover`], leaving alone the runs in `live`: sign-ins of this process that are still
/// in progress ([`crate::jit`]), which are not dead although they are unfinished.
pub async fn recover_except(
    store: &dyn Store,
    run: &str,
    plans: &[&TargetPlan],
    scope: Scope,
    live: &HashSet<RunId>,
) -> Result<Recovered, StoreError> {
    recover_at(store, run, plans, scope, live, chrono::Utc::now()).await
}

/// As [`recover_except`], with the clock that decides which sign-ins are old enough to be
/// dead given (tests).
async fn recover_at(
    store: &dyn Store,
    run: &str,
    plans: &[&TargetPlan],
    scope: Scope,
    live: &HashSet<RunId>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Recovered, StoreError> {
    let mut out = Recovered::default();
    // Applies: the apply lock proves their process gone. A preview may be going on in another
    // process or on another node (it takes no lock), so it is left to finish itself. A
    // sign-in takes no lock either: it counts as dead only once it is older than any sign-in
    // can last, and until then neither it nor its journal entries are touched.
    let unfinished = store.unfinished_runs(run).await?;
    let mut spared = live.clone();
    spared.extend(
        unfinished
            .iter()
            .filter(|r| r.mode == RunMode::SignIn && now - r.started_at < SIGN_IN_LIFETIME)
            .map(|r| r.id.clone()),
    );
    let dead_applies = unfinished
        .into_iter()
        .filter(|r| matches!(r.mode, RunMode::Apply | RunMode::SignIn));
    for dead in dead_applies {
        if spared.contains(&dead.id) {
            continue;
        }
        store
            .finish_run(
                &dead.id,
                INTERRUPTED,
                &serde_json::json!({ "interrupted": true, "recovered_by": run }),
            )
            .await?;
        tracing::warn!(run = %dead.id, recovered_by = %run, "A run did not finish; closed as interrupted.");
        out.runs.push(dead.id);
    }

    let by_target: HashMap<&TargetName, HashMap<Key, &Action>> = plans
        .iter()
        .map(|p| {
            (
                &p.target,
                p.actions.iter().map(|a| (Key::of_action(a), a)).collect(),
            )
        })
        .collect();
    let short = |r: &str| r.chars().take(8).collect::<String>();
    for e in store.journal_unsettled(run).await? {
        if spared.contains(&e.run) {
            continue;
        }
        let Some(plan) = by_target.get(&e.target).filter(|_| scope.covers(&e)) else {
            out.left_open += 1;
            continue;
        };
        let fresh = plan.get(&Key::of_entry(&e));
        let (state, outcome, detail, account) = match (e.state, fresh) {
            (JournalState::Planned, _) => {
                out.never_sent += 1;
                (
                    JournalState::Skipped,
                    ActionOutcome::Skipped,
                    format!(
                        "interrupted before it was sent; re-planned in run {}",
                        short(run)
                    ),
                    e.account.clone(),
                )
            }
            (_, Some(_)) => {
                out.replanned += 1;
                (
                    JournalState::Failed,
                    ActionOutcome::Failed,
                    format!(
                        "interrupted with the request in flight, and the target does not hold \
                         its effect; re-planned in run {}",
                        short(run)
                    ),
                    e.account.clone(),
                )
            }
            (_, None) => {
                out.confirmed += 1;
                (
                    JournalState::Done,
                    ActionOutcome::Done,
                    format!(
                        "confirmed after restart: the target holds its effect (run {} \
                         plans no such action)",
                        short(run)
                    ),
                    e.account
                        .clone()
                        .or_else(|| created_account(plan, &e.person)),
                )
            }
        };
        let event = AuditEvent {
            at: chrono::Utc::now(),
            run: e.run.clone(),
            target: e.target.clone(),
            person: e.person.clone(),
            action: e.kind,
            outcome,
            account,
            reason: format!("planned by run {}, which was interrupted", short(&e.run)),
            detail: Some(detail.clone()),
            changes: Vec::new(),
            permission: e.permission.as_ref().map(|name| PermissionTarget {
                name: name.clone(),
                group: None,
            }),
        };
        store
            .journal_settle(&e.run, &e.target, e.action, state, Some(&detail), &event)
            .await?;
    }
    if !out.is_empty() {
        tracing::warn!(
            run = %run,
            confirmed = out.confirmed,
            replanned = out.replanned,
            never_sent = out.never_sent,
            "Recovered what an interrupted run left in flight."
        );
    }
    Ok(out)
}

/// The account a confirmed create made: the fresh plan correlates it with its person.
fn created_account(plan: &HashMap<Key, &Action>, person: &ExternalId) -> Option<AccountRef> {
    plan.get(&Key {
        kind: ActionKind::Correlate,
        person: person.clone(),
        permission: None,
    })
    .and_then(|a| a.account.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::planned_entry;
    use muster_store::RunMode;

    fn action(id: u32, kind: ActionKind, person: &str, permission: Option<&str>) -> Action {
        Action {
            id: muster_core::plan::ActionId(id),
            kind,
            person: person.into(),
            account: (kind != ActionKind::Create).then(|| format!("acc-{person}").into()),
            depends_on: Vec::new(),
            waits_for: Vec::new(),
            enabled: None,
            changes: Vec::new(),
            permission: permission.map(|p| PermissionTarget {
                name: p.to_owned(),
                group: None,
            }),
            resend: Vec::new(),
            reason: "test".into(),
        }
    }

    fn plan(actions: Vec<Action>) -> TargetPlan {
        TargetPlan {
            target: "scim".into(),
            observed_digest: String::new(),
            accounts_observed: 0,
            actions,
            disputed: Vec::new(),
            held: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_preview_going_on_elsewhere_is_not_closed_by_an_apply() {
        let store = muster_store::open_sqlite_memory().await.unwrap();
        let dead = store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
        let preview = store.start_run(RunMode::Preview, "cfg").await.unwrap().id;
        let now = store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
        let r = recover(&store, &now, &[], Scope::Persons).await.unwrap();
        assert_eq!(r.runs, vec![dead]);
        // The preview (another node's, still running) ends as it would have.
        store
            .finish_run(&preview, RunStatus::NoChanges, &serde_json::json!({}))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn in_flight_entries_are_confirmed_or_replanned_by_the_fresh_plan() {
        let store = muster_store::open_sqlite_memory().await.unwrap();
        let dead = store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
        let old = [
            action(0, ActionKind::Create, "1", None),
            action(1, ActionKind::Grant, "1", Some("All staff")),
            action(2, ActionKind::Create, "2", None),
            action(3, ActionKind::Grant, "3", Some("Dept HR")),
            action(4, ActionKind::Update, "4", None),
        ];
        let entries: Vec<JournalEntry> = old
            .iter()
            .map(|a| planned_entry(&dead, &"scim".into(), a))
            .collect();
        store.journal_planned(&dead, entries.clone()).await.unwrap();
        let scim: TargetName = "scim".into();
        for id in [0, 2, 3] {
            store
                .journal_set(&dead, &scim, id, JournalState::Sent, None)
                .await
                .unwrap();
        }
        store
            .journal_set(&dead, &scim, 4, JournalState::Done, None)
            .await
            .unwrap();

        // Person 1's create took effect (correlated now), person 2's did not; the grant for
        // person 3 took effect; person 1's grant was never sent.
        let now = store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
        let fresh = plan(vec![
            action(0, ActionKind::Correlate, "1", None),
            action(1, ActionKind::Grant, "1", Some("all STAFF")),
            action(2, ActionKind::Create, "2", None),
        ]);
        let r = recover(&store, &now, &[&fresh], Scope::Persons)
            .await
            .unwrap();
        assert_eq!(r.runs, vec![dead.clone()]);
        assert_eq!((r.confirmed, r.replanned, r.never_sent), (2, 1, 1));

        let states: Vec<(u32, JournalState)> = store
            .journal(&dead)
            .await
            .unwrap()
            .iter()
            .map(|e| (e.action, e.state))
            .collect();
        use JournalState::*;
        assert_eq!(
            states,
            vec![(0, Done), (1, Skipped), (2, Failed), (3, Done), (4, Done)]
        );
        let audit = store
            .audit(&muster_store::AuditQuery::default())
            .await
            .unwrap();
        assert_eq!(audit.len(), 4, "one event per settled entry");
        let create = audit
            .iter()
            .find(|e| e.person.as_str() == "1" && e.action == ActionKind::Create)
            .unwrap();
        assert_eq!(create.outcome, ActionOutcome::Done);
        assert_eq!(
            create.account.as_ref().map(AccountRef::as_str),
            Some("acc-1")
        );
        let run = store.run(&dead).await.unwrap().unwrap();
        assert_eq!(run.status, Some(INTERRUPTED));

        // Nothing is left to settle, and a second pass changes nothing.
        assert!(store.journal_unsettled(&now).await.unwrap().is_empty());
        assert!(recover(&store, &now, &[&fresh], Scope::Persons)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn orphan_entries_are_settled_only_by_a_reconcile_and_person_entries_only_by_an_apply() {
        let store = muster_store::open_sqlite_memory().await.unwrap();
        let dead = store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
        let orphan = crate::reconcile::orphan_person(&"acc-9".into());
        let entries: Vec<JournalEntry> = [(0, "5"), (1, orphan.as_str())]
            .into_iter()
            .map(|(id, person)| JournalEntry {
                run: dead.clone(),
                target: "scim".into(),
                action: id,
                kind: ActionKind::Disable,
                person: person.into(),
                account: Some("acc-9".into()),
                permission: None,
                state: JournalState::Sent,
                detail: None,
                updated_at: chrono::Utc::now(),
            })
            .collect();
        store.journal_planned(&dead, entries.clone()).await.unwrap();

        // A nightly apply's plan holds no orphan action: that says nothing about the orphan's
        // disable, which stays open for the next reconcile.
        let now = store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
        let persons = recover(&store, &now, &[&plan(Vec::new())], Scope::Persons)
            .await
            .unwrap();
        assert_eq!((persons.confirmed, persons.left_open), (1, 1));
        let open = store.journal_unsettled(&now).await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].person, orphan);

        let mut still = action(0, ActionKind::Disable, "x", None);
        still.person = orphan;
        let orphans = recover(&store, &now, &[&plan(vec![still])], Scope::Orphans)
            .await
            .unwrap();
        assert_eq!((orphans.replanned, orphans.left_open), (1, 0));
        assert!(store.journal_unsettled(&now).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_sign_in_run_in_progress_is_neither_closed_nor_settled() {
        let store = muster_store::open_sqlite_memory().await.unwrap();
        let sign_in = store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
        let entry = JournalEntry {
            run: sign_in.clone(),
            target: "scim".into(),
            action: 0,
            kind: ActionKind::Create,
            person: "7".into(),
            account: None,
            permission: None,
            state: JournalState::Planned,
            detail: None,
            updated_at: chrono::Utc::now(),
        };
        store.journal_planned(&sign_in, vec![entry]).await.unwrap();
        store
            .journal_set(&sign_in, &"scim".into(), 0, JournalState::Sent, None)
            .await
            .unwrap();
        let now = store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
        let fresh = plan(vec![action(0, ActionKind::Create, "7", None)]);
        let live: HashSet<RunId> = [sign_in.clone()].into();
        let r = recover_except(&store, &now, &[&fresh], Scope::Persons, &live)
            .await
            .unwrap();
        assert!(r.is_empty(), "{r:?}");
        assert_eq!(store.run(&sign_in).await.unwrap().unwrap().status, None);
        assert_eq!(store.journal_unsettled(&now).await.unwrap().len(), 1);
        // Once it is no longer live (its process died), it is recovered as any run.
        let r = recover(&store, &now, &[&fresh], Scope::Persons)
            .await
            .unwrap();
        assert_eq!((r.runs.len(), r.replanned), (1, 1));
    }

    /// A sign-in run of another process that died after its create and while its grant was
    /// out: left alone while a sign-in could still be going on, then closed, its create kept
    /// and its grant settled by the fresh plan like any run's (confirmed when the plan no
    /// longer grants it, re-planned when it still does).
    #[tokio::test]
    async fn a_dead_sign_in_runs_grant_is_settled_once_it_is_older_than_any_sign_in() {
        for granted_already in [true, false] {
            let store = muster_store::open_sqlite_memory().await.unwrap();
            let sign_in = store.start_run(RunMode::SignIn, "cfg").await.unwrap();
            let scim: TargetName = "scim".into();
            let made = [
                action(0, ActionKind::Create, "7", None),
                action(1, ActionKind::Grant, "7", Some("All staff")),
            ];
            let entries: Vec<JournalEntry> = made
                .iter()
                .map(|a| planned_entry(&sign_in.id, &scim, a))
                .collect();
            store
                .journal_planned(&sign_in.id, entries.clone())
                .await
                .unwrap();
            for (id, state) in [
                (0, JournalState::Sent),
                (0, JournalState::Done),
                (1, JournalState::Sent),
            ] {
                store
                    .journal_set(&sign_in.id, &scim, id, state, None)
                    .await
                    .unwrap();
            }
            let now = store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
            // The account exists now (correlated); whether the group lists it decides the grant.
            let mut fresh = vec![action(0, ActionKind::Correlate, "7", None)];
            if !granted_already {
                fresh.push(action(1, ActionKind::Grant, "7", Some("All staff")));
            }
            let fresh = plan(fresh);
            let none = HashSet::new();

            let young = sign_in.started_at + chrono::TimeDelta::minutes(14);
            let r = recover_at(&store, &now, &[&fresh], Scope::Persons, &none, young)
                .await
                .unwrap();
            assert!(
                r.is_empty(),
                "a sign-in 14 minutes old may be going on: {r:?}"
            );
            assert_eq!(store.run(&sign_in.id).await.unwrap().unwrap().status, None);

            let old = sign_in.started_at + chrono::TimeDelta::minutes(16);
            let r = recover_at(&store, &now, &[&fresh], Scope::Persons, &none, old)
                .await
                .unwrap();
            assert_eq!(r.runs, vec![sign_in.id.clone()]);
            let expected = if granted_already { (1, 0) } else { (0, 1) };
            assert_eq!((r.confirmed, r.replanned), expected, "{r:?}");
            let journal = store.journal(&sign_in.id).await.unwrap();
            let states: Vec<JournalState> = journal.iter().map(|e| e.state).collect();
            let grant = if granted_already {
                JournalState::Done
            } else {
                JournalState::Failed
            };
            assert_eq!(states, vec![JournalState::Done, grant]);
            assert_eq!(
                store.run(&sign_in.id).await.unwrap().unwrap().status,
                Some(INTERRUPTED)
            );
        }
    }
}
