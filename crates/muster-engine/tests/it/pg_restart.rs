//! PostgreSQL restarting during an apply (issue 18's fault): every connection of the store is
//! closed and refused for a while, through a TCP proxy between the engine and the server (the
//! shared server itself is never restarted). The run fails cleanly or goes on once it can
//! reconnect; either way the next apply settles what the first left in the journal, and the
//! end state equals an uninterrupted run: every account once, no action done twice.

use super::pg::{url_of, Proxy, TempDb};
use crate::fixture::{day, Fixture};
use muster_core::report::ActionOutcome;
use muster_store::AuditQuery;
use std::collections::HashSet;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarting_during_an_apply_loses_nothing_and_does_nothing_twice() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    super::pg::migrate(&db.url()).await;
    let proxy = Proxy::start().await;
    let url = url_of(&db.name, Some(proxy.addr));
    let store = format!(
        "[store]\nkind = \"postgres\"\nurl = {url:?}\ntls = \"disable\"\nmax_connections = 4"
    );
    let f = Fixture::demo(|t| t.replace("[store]\npath = \"muster.db\"", &store)).await;
    // A slower target, so that the restart lands in the middle of the run.
    f.sim.state.update_switches(|s| s.faults.latency_ms = 10);
    let engine = f.engine().await;
    let running = tokio::spawn(async move {
        let result = engine.apply(day(1), None).await;
        (engine, result)
    });
    let waited = Instant::now();
    while f.sim.state.users().len() < 60 && waited.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        f.sim.state.users().len() >= 60 && !running.is_finished(),
        "the restart must come while the apply runs ({} accounts)",
        f.sim.state.users().len()
    );
    proxy.restart(Duration::from_millis(1500)).await;
    let (engine, first) = tokio::time::timeout(Duration::from_secs(300), running)
        .await
        .expect("the interrupted apply ends within its bounds")
        .unwrap();
    match &first {
        Ok(report) => eprintln!("went on after reconnecting: {:?}", report.summary.status()),
        Err(e) => eprintln!("failed cleanly: {e}"),
    }
    drop(engine);

    // The next apply (a new process, as after a restart of Muster too) finishes the work. A
    // run that failed with its connections gone could not release the lease `apply`: it is
    // free once its deadline (lease_seconds, 10 s) has passed.
    let engine = f.engine().await;
    let waited = Instant::now();
    loop {
        match engine.apply(day(1), None).await {
            Err(muster_engine::EngineError::LeaseHeld { .. })
                if waited.elapsed() < Duration::from_secs(30) =>
            {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => {
                other.unwrap();
                break;
            }
        }
    }
    let after = engine.preview(day(1)).await.unwrap();
    assert!(after.plan.is_empty(), "converged: {:?}", after.plan);
    let users = f.sim.state.users();
    let names: HashSet<String> = users
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(users.len(), 300, "every account once");
    assert_eq!(names.len(), 300);
    assert_eq!(engine.store.journal_pending().await.unwrap(), 0);

    // No action was done twice: each (person, action, permission) at most once as done.
    let events = engine.store.audit(&AuditQuery::default()).await.unwrap();
    let done: Vec<(String, String, String)> = events
        .iter()
        .filter(|e| e.outcome == ActionOutcome::Done)
        .map(|e| {
            (
                e.person.to_string(),
                e.action.to_string(),
                format!("{:?}", e.permission),
            )
        })
        .collect();
    let unique: HashSet<_> = done.iter().collect();
    assert_eq!(unique.len(), done.len(), "an action was done twice");
    let created = done.iter().filter(|(_, a, _)| a == "create").count();
    assert_eq!(created, 300, "one create per account in the audit");
    drop(engine);
    db.drop_now().await;
}
