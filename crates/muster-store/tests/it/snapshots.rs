//! Snapshots: save, load, and pruning to the newest three per source.

use crate::support::{conformance, Backend, TestDb};
use muster_store::{RunMode, SnapshotPerson, StoreError};
use serde_json::json;

fn person(id: &str, name: &str) -> SnapshotPerson {
    SnapshotPerson {
        external_id: id.into(),
        record_hash: format!("hash-{id}-{name}"),
        record: json!({"ExternalId": id, "Name": {"GivenName": name}, "Contracts": [{"Title": "Teacher"}]}),
    }
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.raw().await.count(sql).await
}

async fn a_snapshot_is_saved_and_read_back_in_external_id_order(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap();
    assert_eq!(db.store.latest_snapshot("hr").await.unwrap(), None);

    let persons = vec![
        person("300", "Cas"),
        person("100", "Ann"),
        person("200", "Bo"),
    ];
    let meta = db
        .store
        .save_snapshot("hr", &run.id, "digest-1", &persons, 2)
        .await
        .unwrap();
    assert_eq!(
        (meta.source.as_str(), meta.run.as_str()),
        ("hr", run.id.as_str())
    );
    assert_eq!((meta.persons, meta.blocked), (3, 2));

    let latest = db
        .store
        .latest_snapshot("hr")
        .await
        .unwrap()
        .expect("snapshot");
    assert_eq!(latest, meta);
    let mut expected = persons.clone();
    expected.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    assert_eq!(db.store.snapshot_persons(meta.id).await.unwrap(), expected);
    assert_eq!(
        db.store.latest_snapshot("other-source").await.unwrap(),
        None
    );
}

async fn a_large_snapshot_spans_several_insert_batches(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap();
    let persons: Vec<SnapshotPerson> = (0..2_345)
        .map(|i| person(&format!("{i:06}"), &format!("n{i}")))
        .collect();
    let meta = db
        .store
        .save_snapshot("hr", &run.id, "d", &persons, 0)
        .await
        .unwrap();
    assert_eq!(meta.persons, 2_345);
    assert_eq!(db.store.snapshot_persons(meta.id).await.unwrap(), persons);
}

async fn only_the_newest_three_snapshots_per_source_are_kept(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap();
    let other = db
        .store
        .save_snapshot("ldap", &run.id, "ldap-1", &[person("9", "Zed")], 0)
        .await
        .unwrap();
    let mut metas = Vec::new();
    for i in 0..5 {
        let persons = vec![
            person(&format!("p{i}"), "A"),
            person("shared", &format!("v{i}")),
        ];
        metas.push(
            db.store
                .save_snapshot("hr", &run.id, &format!("hr-{i}"), &persons, 0)
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        db.store
            .latest_snapshot("hr")
            .await
            .unwrap()
            .map(|m| m.digest)
            .as_deref(),
        Some("hr-4")
    );

    for old in &metas[..2] {
        assert!(
            db.store.snapshot_persons(old.id).await.unwrap().is_empty(),
            "snapshot {} kept",
            old.id
        );
    }
    for kept in &metas[2..] {
        assert_eq!(db.store.snapshot_persons(kept.id).await.unwrap().len(), 2);
    }
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM snapshots WHERE source = 'hr'").await,
        3
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM snapshot_persons").await,
        3 * 2 + 1
    );
    // Another source's snapshot is not pruned by hr's.
    assert_eq!(
        db.store.latest_snapshot("ldap").await.unwrap(),
        Some(other.clone())
    );
    assert_eq!(db.store.snapshot_persons(other.id).await.unwrap().len(), 1);
}

async fn a_failed_save_stores_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap();
    let first = db
        .store
        .save_snapshot("hr", &run.id, "good", &[person("1", "A")], 0)
        .await
        .unwrap();

    // The same external id twice: the whole save is rolled back, the old snapshot stays latest.
    let dup = vec![person("1", "A"), person("2", "B"), person("1", "C")];
    let err = db.store.save_snapshot("hr", &run.id, "bad", &dup, 0).await;
    assert!(
        matches!(
            err,
            Err(StoreError::Database {
                op: "save_snapshot",
                table: "snapshot_persons",
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(db.store.latest_snapshot("hr").await.unwrap(), Some(first));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM snapshots").await, 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM snapshot_persons").await, 1);
}

async fn a_snapshot_for_an_unknown_run_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let err = db
        .store
        .save_snapshot(
            "hr",
            "00000000-0000-4000-8000-000000000000",
            "d",
            &[person("1", "A")],
            0,
        )
        .await;
    assert!(
        matches!(err, Err(StoreError::RunNotFound { .. })),
        "{err:?}"
    );
    assert_eq!(db.store.latest_snapshot("hr").await.unwrap(), None);
}

async fn a_damaged_record_is_reported_as_corrupt(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap();
    let meta = db
        .store
        .save_snapshot("hr", &run.id, "d", &[person("1", "A")], 0)
        .await
        .unwrap();
    let damaged = db
        .raw()
        .await
        .exec("UPDATE snapshot_persons SET record = '{not json'")
        .await;
    if db.backend() == Backend::Postgres {
        // A JSONB column refuses what is not JSON: the damage cannot be stored at all.
        assert!(damaged.is_err(), "{damaged:?}");
        return;
    }
    damaged.unwrap();
    let err = db.store.snapshot_persons(meta.id).await;
    assert!(
        matches!(
            err,
            Err(StoreError::Corrupt {
                table: "snapshot_persons",
                column: "record",
                ..
            })
        ),
        "{err:?}"
    );
}

conformance!(
    a_snapshot_is_saved_and_read_back_in_external_id_order,
    a_large_snapshot_spans_several_insert_batches,
    only_the_newest_three_snapshots_per_source_are_kept,
    a_failed_save_stores_nothing,
    a_snapshot_for_an_unknown_run_is_refused,
    a_damaged_record_is_reported_as_corrupt,
);
