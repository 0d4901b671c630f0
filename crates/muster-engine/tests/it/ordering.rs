//! Ordering and concurrency in the executor, observed at the connector: the real SCIM
//! connector wrapped in a recorder that notes when each operation starts and ends. Creates end
//! before the grants on their account start, revokes end before their account's delete starts,
//! and independent actions overlap up to the target's concurrency. Without PATCH, membership
//! is read-modify-write per group, serialized per group: not one member is lost.

use crate::fixture::{day, Fixture};
use async_trait::async_trait;
use muster_core::connector::{
    Capabilities, Connector, ConnectorError, ObservedAccount, Operation, Outcome,
};
use muster_core::model::{AccountRef, TargetName};
use muster_engine::execute::{execute, ExecContext, Quarantine};
use muster_engine::progress::Silent;
use muster_store::RunMode;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
struct Call {
    op: Operation,
    /// The account created, for a create.
    created: Option<AccountRef>,
    start: usize,
    end: usize,
}

/// Delegates to the real connector and records every operation's start and end on one clock.
struct Recorder {
    inner: Arc<dyn Connector>,
    clock: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    calls: Mutex<Vec<Call>>,
}

#[async_trait]
impl Connector for Recorder {
    fn target(&self) -> &TargetName {
        self.inner.target()
    }
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }
    async fn read_all(&self) -> Result<muster_core::connector::Observed, ConnectorError> {
        self.inner.read_all().await
    }
    async fn lookup(
        &self,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<ObservedAccount>, ConnectorError> {
        self.inner.lookup(attribute, value).await
    }
    async fn execute(&self, op: &Operation) -> Result<Outcome, ConnectorError> {
        let start = self.clock.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let result = self.inner.execute(op).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let end = self.clock.fetch_add(1, Ordering::SeqCst);
        let created = match &result {
            Ok(Outcome::Created(a)) => Some(a.reference.clone()),
            _ => None,
        };
        self.calls.lock().unwrap().push(Call {
            op: op.clone(),
            created,
            start,
            end,
        });
        result
    }
}

/// Plans `today` with the engine, executes it through a recorder, returns the calls.
async fn record(f: &Fixture, today: chrono::NaiveDate) -> (Vec<Call>, usize, usize) {
    let engine = f.engine().await;
    let prepared = engine.prepare(today).await.unwrap();
    let gated = &prepared.gated[0];
    let name = gated.plan().target.clone();
    let inner = engine.connector(&name).unwrap().clone();
    let concurrency = inner.capabilities().max_concurrency;
    let recorder = Arc::new(Recorder {
        inner,
        clock: AtomicUsize::new(0),
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
        calls: Mutex::new(Vec::new()),
    });
    let run = engine
        .store
        .start_run(RunMode::Apply, "ordering")
        .await
        .unwrap();
    let ctx = ExecContext {
        run: run.id,
        target: name.clone(),
        connector: recorder.clone(),
        store: engine.store.clone(),
        correlation: engine
            .config
            .target(name.as_str())
            .unwrap()
            .policy
            .correlation
            .clone(),
        fingerprint_key: engine.store.fingerprint_key().await.unwrap(),
        progress: Arc::new(Silent),
        quarantine: Quarantine::default(),
        stop: Default::default(),
        person_locks: None,
    };
    let summary = execute(&ctx, gated).await.unwrap();
    let t = summary.totals();
    assert_eq!((t.done, t.planned), (t.planned, gated.plan().actions.len()));
    let max = recorder.max_in_flight.load(Ordering::SeqCst);
    let calls = recorder.calls.lock().unwrap().clone();
    (calls, max, concurrency)
}

fn account_of(op: &Operation) -> Option<&AccountRef> {
    match op {
        Operation::Create { .. } | Operation::EnsureGroup { .. } => None,
        Operation::Update { account, .. }
        | Operation::SetEnabled { account, .. }
        | Operation::Delete { account, .. }
        | Operation::Grant { account, .. }
        | Operation::Revoke { account, .. } => Some(account),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dependencies_are_kept_while_independent_actions_run_in_parallel() {
    // Leavers' accounts are deleted at once, so day 2 has deletes that wait for revokes.
    let f = Fixture::demo(|t| {
        t.replace("delete_days_after_end = 90", "delete_days_after_end = 0")
            .replace("thresholds = { delete = { percent = 10 } }", "")
    })
    .await;
    let (calls, max, concurrency) = record(&f, day(1)).await;
    assert!(
        max > 1 && max <= concurrency,
        "{max} operations at once with a concurrency of {concurrency}"
    );
    // Create before grant: every grant on a new account starts after its create ended.
    let created: HashMap<&AccountRef, usize> = calls
        .iter()
        .filter_map(|c| c.created.as_ref().map(|a| (a, c.end)))
        .collect();
    assert_eq!(created.len(), 300);
    let mut grants = 0;
    for c in &calls {
        if let Operation::Grant { account, .. } = &c.op {
            assert!(
                c.start > created[account],
                "a grant started before its create ended"
            );
            grants += 1;
        }
    }
    assert_eq!(grants, 612);

    // Revoke before delete.
    f.hr_day(2);
    let (calls, _, _) = record(&f, day(2)).await;
    let deletes: Vec<&Call> = calls
        .iter()
        .filter(|c| matches!(c.op, Operation::Delete { .. }))
        .collect();
    assert!(!deletes.is_empty(), "day 2 deletes the leavers");
    for d in deletes {
        let account = account_of(&d.op).unwrap();
        let revokes: Vec<&Call> = calls
            .iter()
            .filter(|c| {
                matches!(c.op, Operation::Revoke { .. }) && account_of(&c.op) == Some(account)
            })
            .collect();
        assert!(!revokes.is_empty(), "a leaver's groups are revoked first");
        for r in revokes {
            assert!(r.end < d.start, "the delete started before a revoke ended");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_patch_membership_writes_to_one_group_are_serialized_and_none_is_lost() {
    let f = Fixture::demo(|t| {
        t.replace(
            "concurrency = 8 }",
            "concurrency = 8, capabilities = { patch = false } }",
        )
    })
    .await;
    f.sim.state.update_switches(|s| s.patch = false);
    let engine = f.engine().await;
    let report = engine.apply(day(1), None).await.unwrap();
    let t = report.summary.targets[0].totals();
    assert_eq!((t.done, t.failed), (t.planned, 0));
    // 612 grants into 9 groups, each a GET and a PUT of the whole member list: a lost
    // update would drop a member.
    assert_eq!(f.members("All staff").len(), 300);
    let total: usize = crate::fixture::groups()
        .iter()
        .map(|g| f.members(g).len())
        .sum();
    assert_eq!(total, 612);
    assert_eq!(f.sim.state.request_count("PATCH", "/Groups"), 0);
    assert!(f.sim.state.request_count("PUT", "/Groups") >= 612);
}
