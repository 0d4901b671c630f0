//! A graceful shutdown mid-apply (`Engine::stop_token`): the batch in flight finishes and is
//! journaled, what never started stays pending (not failed), and the next apply settles it and
//! carries it out: every account exactly once.

use crate::fixture::{day, Fixture};
use muster_core::plan::ActionKind;
use muster_core::report::ActionOutcome;
use muster_store::{AuditQuery, JournalState};
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test]
async fn a_stopped_apply_leaves_the_rest_pending_and_the_next_apply_finishes_it_once() {
    // A slow target (20 requests a second), so the stop lands mid-run.
    let f = Fixture::demo(|t| {
        t.replace(
            "rate_limit = { requests = 500, per_seconds = 1 }, concurrency = 8",
            "rate_limit = { requests = 20, per_seconds = 1 }, concurrency = 4",
        )
    })
    .await;
    let engine = f.engine().await;
    let stop = engine.stop_token();
    let apply = tokio::spawn(async move {
        let report = engine.apply(day(1), None).await;
        (engine, report)
    });
    // Stop once a few accounts exist (at most 60 s).
    for _ in 0..6000 {
        if f.sim.state.users().len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.cancel();
    let (engine, report) = tokio::time::timeout(Duration::from_secs(60), apply)
        .await
        .expect("the stopped apply did not end within 60 s")
        .unwrap();
    let first = report.unwrap();
    let t = &first.summary.targets[0];
    let why = t.stopped.as_deref().unwrap_or_default();
    assert!(why.contains("stopped by a shutdown"), "{:?}", t);
    let totals = t.totals();
    assert!(totals.done >= 5, "{totals:?}");
    assert_eq!(
        totals.failed + totals.skipped,
        0,
        "nothing failed or skipped: {totals:?}"
    );
    let journal = engine.store.journal(&first.run).await.unwrap();
    let pending = journal
        .iter()
        .filter(|e| e.state == JournalState::Planned)
        .count();
    assert!(pending > 0, "actions were left pending");
    assert_eq!(
        pending + totals.done + totals.blocked,
        totals.planned,
        "every action is settled or pending"
    );
    assert!(
        !journal.iter().any(|e| e.state == JournalState::Sent),
        "nothing is left in flight"
    );
    let created_first = f.sim.state.users().len();
    assert!(
        created_first < 300,
        "stopped before the end: {created_first}"
    );
    drop(engine);

    // A restart converges.
    let engine = f.engine().await;
    let second = engine.apply(day(1), None).await.unwrap();
    let t = &second.summary.targets[0];
    assert!(t.stopped.is_none(), "{t:?}");
    assert_eq!(t.totals().failed, 0, "{t:?}");
    assert!(
        engine.store.journal_pending().await.unwrap() == 0,
        "nothing pending after the restart"
    );
    // Every person's account was created once, across both runs.
    let creates = engine
        .store
        .audit(&AuditQuery {
            action: Some(ActionKind::Create),
            outcome: Some(ActionOutcome::Done),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let mut per_person: HashMap<String, usize> = HashMap::new();
    for e in &creates {
        *per_person.entry(e.person.to_string()).or_default() += 1;
    }
    assert!(per_person.values().all(|n| *n == 1), "{per_person:?}");
    assert_eq!(creates.len(), f.sim.state.users().len());
    let third = engine.apply(day(1), None).await.unwrap();
    assert_eq!(third.summary.targets[0].totals().planned, 0, "converged");
}
