//! Run lifecycle and lookup by id prefix.

use crate::support::{conformance, Backend, TestDb};
use muster_store::{RunMode, RunStatus, StoreError};
use serde_json::json;

async fn a_run_is_started_finished_and_read_back(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg-1").await.unwrap();
    assert_eq!(run.id.len(), 36);
    assert!(uuid::Uuid::parse_str(&run.id).is_ok(), "{}", run.id);
    assert_eq!(run.status, None);

    let stored = db.store.run(&run.id).await.unwrap().expect("run stored");
    assert_eq!(stored, run);

    let summary = json!({"targets": [{"target": "zivver", "created": 3}]});
    db.store
        .finish_run(&run.id, RunStatus::Changes, &summary)
        .await
        .unwrap();
    let finished = db.store.run(&run.id).await.unwrap().expect("run stored");
    assert_eq!(finished.mode, RunMode::Apply);
    assert_eq!(finished.config_digest, "cfg-1");
    assert_eq!(finished.status, Some(RunStatus::Changes));
    assert_eq!(finished.summary, Some(summary));
    let finished_at = finished.finished_at.expect("finished_at set");
    assert!(finished_at >= finished.started_at);
}

async fn a_run_finishes_once_and_unknown_runs_are_reported(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Preview, "cfg").await.unwrap();
    db.store
        .finish_run(&run.id, RunStatus::NoChanges, &json!({}))
        .await
        .unwrap();

    let again = db
        .store
        .finish_run(&run.id, RunStatus::Error, &json!({}))
        .await;
    assert!(
        matches!(again, Err(StoreError::RunFinished { run: ref r }) if *r == run.id),
        "{again:?}"
    );
    let stored = db.store.run(&run.id).await.unwrap().expect("run stored");
    assert_eq!(stored.status, Some(RunStatus::NoChanges));

    let missing = db
        .store
        .finish_run(
            "00000000-0000-4000-8000-000000000000",
            RunStatus::Error,
            &json!({}),
        )
        .await;
    assert!(
        matches!(missing, Err(StoreError::RunNotFound { .. })),
        "{missing:?}"
    );
}

async fn runs_are_listed_newest_first_up_to_the_limit(backend: Backend) {
    let db = TestDb::new(backend).await;
    let raw = db.raw().await;
    let mut ids = Vec::new();
    // Started out of id order; start times fixed a minute apart, so no clock is involved.
    for i in 0..4u32 {
        let id = db
            .store
            .start_run(RunMode::Preview, &format!("cfg-{i}"))
            .await
            .unwrap()
            .id;
        raw.exec(&format!(
            "UPDATE runs SET started_at = '2024-05-01T12:0{i}:00.000000Z' WHERE id = '{id}'"
        ))
        .await
        .unwrap();
        ids.push(id);
    }
    let listed: Vec<muster_store::RunId> = db
        .store
        .runs(3)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, vec![ids[3].clone(), ids[2].clone(), ids[1].clone()]);
    assert_eq!(db.store.runs(10).await.unwrap().len(), 4);
    assert!(db.store.runs(0).await.unwrap().is_empty());
}

async fn a_run_is_found_by_a_unique_prefix_of_six_or_more_characters(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap();

    let by_prefix = db
        .store
        .run(&run.id[..8])
        .await
        .unwrap()
        .expect("found by prefix");
    assert_eq!(by_prefix.id, run.id);
    let upper = db
        .store
        .run(&run.id[..6].to_ascii_uppercase())
        .await
        .unwrap();
    assert_eq!(upper.map(|r| r.id), Some(run.id.clone()));

    let short = db.store.run(&run.id[..5]).await;
    assert!(
        matches!(short, Err(StoreError::RunPrefixTooShort { min: 6, .. })),
        "{short:?}"
    );

    let other = if run.id.starts_with('f') {
        "eeeeee"
    } else {
        "ffffff"
    };
    assert_eq!(db.store.run(other).await.unwrap(), None);
}

async fn a_prefix_shared_by_two_runs_is_ambiguous_but_a_full_id_is_not(backend: Backend) {
    let db = TestDb::new(backend).await;
    let raw = db.raw().await;
    for id in [
        "abcdef12-0000-4000-8000-000000000001",
        "abcdef12-0000-4000-8000-000000000002",
    ] {
        raw.exec(&format!(
            "INSERT INTO runs (id, mode, started_at, config_digest) \
             VALUES ('{id}', 'apply', '2024-05-01T12:00:00.000000Z', 'cfg')"
        ))
        .await
        .unwrap();
    }
    let ambiguous = db.store.run("abcdef12").await;
    assert!(
        matches!(ambiguous, Err(StoreError::AmbiguousRun { matches: 2, .. })),
        "{ambiguous:?}"
    );
    let exact = db
        .store
        .run("abcdef12-0000-4000-8000-000000000002")
        .await
        .unwrap();
    assert_eq!(
        exact.map(|r| r.id).as_deref(),
        Some("abcdef12-0000-4000-8000-000000000002")
    );
    let unique = db.store.run("abcdef12-0000-4000-8000-0000000000").await;
    assert!(
        matches!(unique, Err(StoreError::AmbiguousRun { .. })),
        "{unique:?}"
    );
    let one = db
        .store
        .run("abcdef12-0000-4000-8000-000000000001")
        .await
        .unwrap();
    assert!(one.is_some());
}

async fn unknown_mode_text_is_reported_as_corrupt_not_a_panic(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap();
    db.raw()
        .await
        .exec(&format!(
            "UPDATE runs SET mode = 'dry-run' WHERE id = '{}'",
            run.id
        ))
        .await
        .unwrap();
    let read = db.store.run(&run.id).await;
    assert!(
        matches!(
            read,
            Err(StoreError::Corrupt {
                table: "runs",
                column: "mode",
                ..
            })
        ),
        "{read:?}"
    );
}

async fn unfinished_runs_are_the_ones_never_finished_oldest_first(backend: Backend) {
    let db = TestDb::new(backend).await;
    let a = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    let b = db
        .store
        .start_run(RunMode::Preview, "cfg")
        .await
        .unwrap()
        .id;
    let c = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    db.store
        .finish_run(&b, RunStatus::Changes, &serde_json::json!({}))
        .await
        .unwrap();
    let open: Vec<muster_store::RunId> = db
        .store
        .unfinished_runs(&c)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(open, vec![a.clone()]);
    let all: Vec<muster_store::RunId> = db
        .store
        .unfinished_runs("none")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(all.len(), 2);
    assert!(all.contains(&a) && all.contains(&c));
}

conformance!(
    a_run_is_started_finished_and_read_back,
    a_run_finishes_once_and_unknown_runs_are_reported,
    runs_are_listed_newest_first_up_to_the_limit,
    a_run_is_found_by_a_unique_prefix_of_six_or_more_characters,
    a_prefix_shared_by_two_runs_is_ambiguous_but_a_full_id_is_not,
    unknown_mode_text_is_reported_as_corrupt_not_a_panic,
    unfinished_runs_are_the_ones_never_finished_oldest_first,
);
