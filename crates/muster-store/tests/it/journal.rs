//! The action journal: planned → sent → done | failed | blocked | skipped, and in-flight
//! entries left by a crash.

use crate::support::{at, conformance, Backend, TestDb};
use muster_core::plan::ActionKind;
use muster_store::{JournalEntry, JournalState, RunMode, Store, StoreError};

fn entry(
    run: &str,
    target: &str,
    action: u32,
    kind: ActionKind,
    state: JournalState,
) -> JournalEntry {
    JournalEntry {
        run: run.into(),
        target: target.into(),
        action,
        kind,
        person: format!("p{action}").into(),
        account: (kind != ActionKind::Create).then(|| format!("acc-{action}").into()),
        permission: matches!(kind, ActionKind::Grant | ActionKind::Revoke)
            .then(|| format!("Dept {action}")),
        state,
        detail: None,
        updated_at: at(12, 0),
    }
}

async fn planned_entries_are_stored_and_read_back_in_order(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    let entries = vec![
        entry(&run, "zivver", 1, ActionKind::Update, JournalState::Planned),
        entry(&run, "zivver", 0, ActionKind::Create, JournalState::Planned),
        entry(
            &run,
            "helloid",
            0,
            ActionKind::Delete,
            JournalState::Blocked,
        ),
    ];
    db.store
        .journal_planned(&run, entries.clone())
        .await
        .unwrap();
    let read = db.store.journal(&run).await.unwrap();
    assert_eq!(
        read,
        vec![entries[2].clone(), entries[1].clone(), entries[0].clone()]
    );
    assert_eq!(read[1].account, None);
}

async fn an_entry_moves_through_sent_to_done_and_keeps_its_detail(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    db.store
        .journal_planned(
            &run,
            vec![entry(
                &run,
                "zivver",
                0,
                ActionKind::Create,
                JournalState::Planned,
            )],
        )
        .await
        .unwrap();
    let zivver = "zivver".into();

    db.store
        .journal_set(&run, &zivver, 0, JournalState::Sent, Some("POST /Users"))
        .await
        .unwrap();
    // A retried request is sent again.
    db.store
        .journal_set(&run, &zivver, 0, JournalState::Sent, None)
        .await
        .unwrap();
    let sent = &db.store.journal(&run).await.unwrap()[0];
    assert_eq!(sent.state, JournalState::Sent);
    assert_eq!(sent.detail.as_deref(), Some("POST /Users"));
    assert!(
        sent.updated_at > at(12, 0),
        "updated_at was not stamped: {}",
        sent.updated_at
    );

    db.store
        .journal_set(&run, &zivver, 0, JournalState::Done, None)
        .await
        .unwrap();
    let done = &db.store.journal(&run).await.unwrap()[0];
    assert_eq!(done.state, JournalState::Done);
    assert_eq!(done.detail.as_deref(), Some("POST /Users"));
}

async fn an_end_state_never_changes(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    let entries = vec![
        entry(&run, "zivver", 0, ActionKind::Create, JournalState::Planned),
        entry(&run, "zivver", 1, ActionKind::Update, JournalState::Planned),
        entry(&run, "zivver", 2, ActionKind::Delete, JournalState::Planned),
    ];
    db.store
        .journal_planned(&run, entries.clone())
        .await
        .unwrap();
    let zivver = "zivver".into();

    db.store
        .journal_set(&run, &zivver, 0, JournalState::Sent, None)
        .await
        .unwrap();
    db.store
        .journal_set(
            &run,
            &zivver,
            0,
            JournalState::Failed,
            Some("409 userName taken"),
        )
        .await
        .unwrap();
    db.store
        .journal_set(
            &run,
            &zivver,
            1,
            JournalState::Skipped,
            Some("depends on #0"),
        )
        .await
        .unwrap();
    db.store
        .journal_set(
            &run,
            &zivver,
            2,
            JournalState::Blocked,
            Some("deletes over 10%"),
        )
        .await
        .unwrap();

    let resend = db
        .store
        .journal_set(&run, &zivver, 0, JournalState::Sent, None)
        .await;
    assert!(
        matches!(
            resend,
            Err(StoreError::JournalTransition {
                from: JournalState::Failed,
                to: JournalState::Sent,
                action: 0,
                ..
            })
        ),
        "{resend:?}"
    );
    let done = db
        .store
        .journal_set(&run, &zivver, 1, JournalState::Done, None)
        .await;
    assert!(
        matches!(
            done,
            Err(StoreError::JournalTransition {
                from: JournalState::Skipped,
                ..
            })
        ),
        "{done:?}"
    );
    let replan = db
        .store
        .journal_set(&run, &zivver, 2, JournalState::Planned, None)
        .await;
    assert!(
        matches!(
            replan,
            Err(StoreError::JournalTransition {
                from: JournalState::Blocked,
                ..
            })
        ),
        "{replan:?}"
    );

    let states: Vec<_> = db
        .store
        .journal(&run)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.state, e.detail))
        .collect();
    assert_eq!(
        states,
        vec![
            (JournalState::Failed, Some("409 userName taken".to_owned())),
            (JournalState::Skipped, Some("depends on #0".to_owned())),
            (JournalState::Blocked, Some("deletes over 10%".to_owned())),
        ]
    );
}

async fn a_sent_entry_cannot_become_blocked_and_unknown_entries_are_reported(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    db.store
        .journal_planned(
            &run,
            vec![entry(
                &run,
                "zivver",
                0,
                ActionKind::Create,
                JournalState::Planned,
            )],
        )
        .await
        .unwrap();
    let zivver = "zivver".into();
    db.store
        .journal_set(&run, &zivver, 0, JournalState::Sent, None)
        .await
        .unwrap();
    let blocked = db
        .store
        .journal_set(&run, &zivver, 0, JournalState::Blocked, None)
        .await;
    assert!(
        matches!(
            blocked,
            Err(StoreError::JournalTransition {
                from: JournalState::Sent,
                ..
            })
        ),
        "{blocked:?}"
    );

    let missing = db
        .store
        .journal_set(&run, &zivver, 7, JournalState::Sent, None)
        .await;
    assert!(
        matches!(
            missing,
            Err(StoreError::JournalEntryNotFound { action: 7, .. })
        ),
        "{missing:?}"
    );
    let other_target = db
        .store
        .journal_set(&run, &"scim".into(), 0, JournalState::Sent, None)
        .await;
    assert!(
        matches!(other_target, Err(StoreError::JournalEntryNotFound { .. })),
        "{other_target:?}"
    );
}

async fn in_flight_entries_are_the_sent_ones_of_a_target_from_any_run(backend: Backend) {
    let db = TestDb::new(backend).await;
    let crashed = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    let later = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    db.store
        .journal_planned(
            &crashed,
            vec![
                entry(
                    &crashed,
                    "zivver",
                    0,
                    ActionKind::Create,
                    JournalState::Planned,
                ),
                entry(
                    &crashed,
                    "zivver",
                    1,
                    ActionKind::Update,
                    JournalState::Planned,
                ),
                entry(
                    &crashed,
                    "scim",
                    0,
                    ActionKind::Create,
                    JournalState::Planned,
                ),
            ],
        )
        .await
        .unwrap();
    db.store
        .journal_planned(
            &later,
            vec![entry(
                &later,
                "zivver",
                0,
                ActionKind::Grant,
                JournalState::Planned,
            )],
        )
        .await
        .unwrap();
    let zivver = "zivver".into();
    for (run, target, action) in [
        (&crashed, "zivver", 0),
        (&crashed, "zivver", 1),
        (&crashed, "scim", 0),
        (&later, "zivver", 0),
    ] {
        db.store
            .journal_set(run, &target.into(), action, JournalState::Sent, None)
            .await
            .unwrap();
    }
    db.store
        .journal_set(&crashed, &zivver, 1, JournalState::Done, None)
        .await
        .unwrap();

    let mut in_flight: Vec<(muster_store::RunId, u32)> = db
        .store
        .journal_in_flight(&zivver)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.run, e.action))
        .collect();
    in_flight.sort();
    let mut expected = vec![(crashed.clone(), 0), (later.clone(), 0)];
    expected.sort();
    assert_eq!(in_flight, expected);
    assert_eq!(
        db.store
            .journal_in_flight(&"scim".into())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(db
        .store
        .journal_in_flight(&"helloid".into())
        .await
        .unwrap()
        .is_empty());
}

async fn a_planned_batch_is_all_or_nothing_and_belongs_to_its_run(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    let other = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;

    let mismatch = db
        .store
        .journal_planned(
            &run,
            vec![entry(
                &other,
                "zivver",
                0,
                ActionKind::Create,
                JournalState::Planned,
            )],
        )
        .await;
    assert!(
        matches!(mismatch, Err(StoreError::JournalRunMismatch { .. })),
        "{mismatch:?}"
    );

    // 600 entries (more than one insert batch) whose last one repeats a key: none is kept.
    let mut entries: Vec<_> = (0..600)
        .map(|i| entry(&run, "zivver", i, ActionKind::Update, JournalState::Planned))
        .collect();
    entries.push(entry(
        &run,
        "zivver",
        3,
        ActionKind::Update,
        JournalState::Planned,
    ));
    let dup = db.store.journal_planned(&run, entries.clone()).await;
    assert!(
        matches!(
            dup,
            Err(StoreError::Database {
                op: "journal_planned",
                table: "journal",
                ..
            })
        ),
        "{dup:?}"
    );
    assert!(db.store.journal(&run).await.unwrap().is_empty());

    entries.pop();
    db.store
        .journal_planned(&run, entries.clone())
        .await
        .unwrap();
    assert_eq!(db.store.journal(&run).await.unwrap().len(), 600);

    let unknown = "00000000-0000-4000-8000-000000000000";
    let err = db
        .store
        .journal_planned(
            unknown,
            vec![entry(
                unknown,
                "zivver",
                0,
                ActionKind::Create,
                JournalState::Planned,
            )],
        )
        .await;
    assert!(
        matches!(err, Err(StoreError::RunNotFound { .. })),
        "{err:?}"
    );
}

async fn an_unknown_state_or_kind_read_back_is_corrupt(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    db.store
        .journal_planned(
            &run,
            vec![entry(
                &run,
                "zivver",
                0,
                ActionKind::Create,
                JournalState::Planned,
            )],
        )
        .await
        .unwrap();
    let raw = db.raw().await;
    raw.exec("UPDATE journal SET state = 'half-sent'")
        .await
        .unwrap();
    let err = db.store.journal(&run).await;
    assert!(
        matches!(
            err,
            Err(StoreError::Corrupt {
                table: "journal",
                column: "state",
                ..
            })
        ),
        "{err:?}"
    );

    raw.exec("UPDATE journal SET state = 'planned', kind = 'archive'")
        .await
        .unwrap();
    let err = db.store.journal(&run).await;
    assert!(
        matches!(
            err,
            Err(StoreError::Corrupt {
                table: "journal",
                column: "kind",
                ..
            })
        ),
        "{err:?}"
    );
}

async fn unsettled_entries_are_the_planned_and_sent_ones_of_other_runs_with_their_permission(
    backend: Backend,
) {
    let db = TestDb::new(backend).await;
    let dead = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    let entries = vec![
        entry(&dead, "scim", 0, ActionKind::Create, JournalState::Planned),
        entry(&dead, "scim", 1, ActionKind::Grant, JournalState::Planned),
        entry(&dead, "scim", 2, ActionKind::Revoke, JournalState::Planned),
        entry(&dead, "scim", 3, ActionKind::Update, JournalState::Planned),
    ];
    db.store
        .journal_planned(&dead, entries.clone())
        .await
        .unwrap();
    let scim = "scim".into();
    db.store
        .journal_set(&dead, &scim, 1, JournalState::Sent, None)
        .await
        .unwrap();
    db.store
        .journal_set(&dead, &scim, 3, JournalState::Skipped, Some("x"))
        .await
        .unwrap();
    let now = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    db.store
        .journal_planned(
            &now,
            vec![entry(
                &now,
                "scim",
                0,
                ActionKind::Grant,
                JournalState::Planned,
            )],
        )
        .await
        .unwrap();

    let open = db.store.journal_unsettled(&now).await.unwrap();
    let seen: Vec<(u32, JournalState, Option<&str>)> = open
        .iter()
        .map(|e| (e.action, e.state, e.permission.as_deref()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (0, JournalState::Planned, None),
            (1, JournalState::Sent, Some("Dept 1")),
            (2, JournalState::Planned, Some("Dept 2")),
        ]
    );
    assert!(open.iter().all(|e| e.run == dead));
    // From the other side, only the new run's entry is open.
    let other = db.store.journal_unsettled(&dead).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].run, now);
}

async fn settling_moves_the_entry_and_appends_its_event_together_or_not_at_all(backend: Backend) {
    use muster_core::report::{ActionOutcome, AuditEvent};
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    db.store
        .journal_planned(
            &run,
            vec![entry(
                &run,
                "scim",
                0,
                ActionKind::Grant,
                JournalState::Planned,
            )],
        )
        .await
        .unwrap();
    let scim = "scim".into();
    let event = AuditEvent {
        at: at(12, 1),
        run: run.clone(),
        target: "scim".into(),
        person: "p0".into(),
        action: ActionKind::Grant,
        outcome: ActionOutcome::Done,
        account: Some("acc-0".into()),
        reason: "rule".into(),
        detail: None,
        changes: Vec::new(),
        permission: None,
    };
    db.store
        .journal_settle(&run, &scim, 0, JournalState::Done, Some("ok"), &event)
        .await
        .unwrap();
    let again = db
        .store
        .journal_settle(&run, &scim, 0, JournalState::Failed, None, &event)
        .await
        .unwrap_err();
    assert!(
        matches!(again, StoreError::JournalTransition { .. }),
        "{again}"
    );
    let unknown = db
        .store
        .journal_settle(&run, &scim, 9, JournalState::Done, None, &event)
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, StoreError::JournalEntryNotFound { .. }),
        "{unknown}"
    );
    let events = db
        .store
        .audit(&muster_store::AuditQuery::default())
        .await
        .unwrap();
    assert_eq!(
        events,
        vec![event],
        "exactly one event, from the move that happened"
    );
    assert_eq!(
        db.store.journal(&run).await.unwrap()[0].state,
        JournalState::Done
    );
}

conformance!(
    planned_entries_are_stored_and_read_back_in_order,
    an_entry_moves_through_sent_to_done_and_keeps_its_detail,
    an_end_state_never_changes,
    a_sent_entry_cannot_become_blocked_and_unknown_entries_are_reported,
    in_flight_entries_are_the_sent_ones_of_a_target_from_any_run,
    a_planned_batch_is_all_or_nothing_and_belongs_to_its_run,
    an_unknown_state_or_kind_read_back_is_corrupt,
    unsettled_entries_are_the_planned_and_sent_ones_of_other_runs_with_their_permission,
    settling_moves_the_entry_and_appends_its_event_together_or_not_at_all,
);
/// Group commit: many actions' moves in flight at once share transactions, and each caller
/// gets its own answer — a refused move in a batch takes nothing from the others — only once
/// its move is committed (a second connection sees it the moment the call returns).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_moves_share_commits_and_each_gets_its_own_answer() {
    use muster_core::report::{ActionOutcome, AuditEvent};
    const N: u32 = 200;
    // SQLite only: PostgreSQL commits each move itself (its WAL groups the flushes).
    let db = TestDb::new(Backend::Sqlite).await;
    let sqlite = db.sqlite().expect("a SQLite store").clone();
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    let entries: Vec<_> = (0..N)
        .map(|a| entry(&run, "scim", a, ActionKind::Create, JournalState::Planned))
        .collect();
    db.store
        .journal_planned(&run, entries.clone())
        .await
        .unwrap();
    let crate::support::Raw::Sqlite(raw) = db.raw().await else {
        panic!("a SQLite store has a SQLite pool");
    };
    let (commits_before, _) = sqlite.group_commits();
    let mut tasks = Vec::new();
    // Every tenth call is for an entry that does not exist.
    for a in 0..N {
        let (store, run, raw) = (sqlite.clone(), run.clone(), raw.clone());
        tasks.push(tokio::spawn(async move {
            let action = if a % 10 == 9 { N + a } else { a };
            let result = store
                .journal_set(&run, &"scim".into(), action, JournalState::Sent, None)
                .await;
            let seen: Option<String> = sqlx::query_scalar(
                "SELECT state FROM journal WHERE run = ? AND target = 'scim' AND action = ?",
            )
            .bind(run.as_str())
            .bind(i64::from(action))
            .fetch_optional(&raw)
            .await
            .unwrap();
            (a, result, seen)
        }));
    }
    for t in tasks {
        let (a, result, seen) = t.await.unwrap();
        if a % 10 == 9 {
            assert!(
                matches!(result, Err(StoreError::JournalEntryNotFound { .. })),
                "{result:?}"
            );
        } else {
            result.unwrap();
            assert_eq!(
                seen.as_deref(),
                Some("sent"),
                "action {a} returned before its commit"
            );
        }
    }
    let (commits, writes) = sqlite.group_commits();
    assert!(
        commits - commits_before < u64::from(N),
        "{N} concurrent moves took {} transactions ({writes} writes in all)",
        commits - commits_before
    );
    // Settling concurrently: every event exactly once, every entry done.
    let mut tasks = Vec::new();
    for a in (0..N).filter(|a| a % 10 != 9) {
        let (store, run) = (sqlite.clone(), run.clone());
        tasks.push(tokio::spawn(async move {
            let event = AuditEvent {
                at: at(12, 1),
                run: run.clone(),
                target: "scim".into(),
                person: format!("p{a}").into(),
                action: ActionKind::Create,
                outcome: ActionOutcome::Done,
                account: Some(format!("acc-{a}").into()),
                reason: "rule".into(),
                detail: None,
                changes: Vec::new(),
                permission: None,
            };
            store
                .journal_settle(&run, &"scim".into(), a, JournalState::Done, None, &event)
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let events = db
        .store
        .audit(&muster_store::AuditQuery::default())
        .await
        .unwrap();
    assert_eq!(events.len(), 180);
    let journal = db.store.journal(&run).await.unwrap();
    let done = journal
        .iter()
        .filter(|e| e.state == JournalState::Done)
        .count();
    assert_eq!(done, 180);
    assert_eq!(journal.len(), N as usize);
}

/// Sign-ins: each is a run of its own (start, planned entry, moves, end, a link removed, an
/// audit line). Many at once: every write of every run lands, each caller sees its own write
/// committed when its call returns, and the runs share transactions instead of each taking
/// SQLite's write lock in turn (which made concurrent sign-ins wait on its busy handler).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_one_action_runs_share_commits_from_start_to_end() {
    use muster_core::report::{ActionOutcome, AuditEvent};
    use muster_store::RunStatus;
    const N: u32 = 60;
    let db = TestDb::new(Backend::Sqlite).await;
    let sqlite = db.sqlite().expect("a SQLite store").clone();
    let (commits_before, writes_before) = sqlite.group_commits();
    let mut tasks = Vec::new();
    for a in 0..N {
        let store = sqlite.clone();
        tasks.push(tokio::spawn(async move {
            let run = store.start_run(RunMode::SignIn, "cfg").await?.id;
            let planned = entry(&run, "zivver", 0, ActionKind::Create, JournalState::Planned);
            store.journal_planned(&run, vec![planned]).await?;
            let target = "zivver".into();
            store
                .journal_set(&run, &target, 0, JournalState::Sent, None)
                .await?;
            let event = AuditEvent {
                at: at(12, 1),
                run: run.clone(),
                target: target.clone(),
                person: format!("p{a}").into(),
                action: ActionKind::Create,
                outcome: ActionOutcome::Done,
                account: Some(format!("acc-{a}").into()),
                reason: "created at sign-in".into(),
                detail: None,
                changes: Vec::new(),
                permission: None,
            };
            store
                .journal_settle(&run, &target, 0, JournalState::Done, None, &event)
                .await?;
            store.remove_link(&target, &format!("p{a}").into()).await?;
            store
                .append_audit(&[AuditEvent {
                    reason: "sign-in accepted".into(),
                    ..event
                }])
                .await?;
            store
                .finish_run(&run, RunStatus::Changes, &serde_json::json!({}))
                .await?;
            Ok::<_, StoreError>(run)
        }));
    }
    let mut runs = Vec::new();
    for t in tasks {
        runs.push(t.await.unwrap().unwrap());
    }
    for run in &runs {
        let record = db.store.run(run).await.unwrap().expect("the run");
        assert_eq!(record.status, Some(RunStatus::Changes), "{run}");
        let journal = db.store.journal(run).await.unwrap();
        assert_eq!(journal.len(), 1);
        assert_eq!(journal[0].state, JournalState::Done);
    }
    let events = db
        .store
        .audit(&muster_store::AuditQuery::default())
        .await
        .unwrap();
    assert_eq!(events.len(), 2 * N as usize);
    let (commits, writes) = sqlite.group_commits();
    let (commits, writes) = (commits - commits_before, writes - writes_before);
    assert_eq!(
        writes,
        7 * u64::from(N),
        "every write went through the group commit"
    );
    assert!(
        commits < writes,
        "{writes} writes of {N} concurrent runs took {commits} transactions"
    );
    // A run's end is written once: a second end is refused, from inside a shared batch too.
    let again = db
        .store
        .finish_run(&runs[0], RunStatus::Error, &serde_json::json!({}))
        .await;
    assert!(
        matches!(again, Err(StoreError::RunFinished { .. })),
        "{again:?}"
    );
}
