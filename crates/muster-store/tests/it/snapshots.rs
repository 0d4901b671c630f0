//! Snapshots: save, load, and pruning to the newest three per source.

use crate::support::TestDb;
use muster_store::{RunMode, SnapshotPerson, Store, StoreError};
use serde_json::json;

fn person(id: &str, name: &str) -> SnapshotPerson {
    SnapshotPerson {
        external_id: id.into(),
        record_hash: format!("hash-{id}-{name}"),
        record: json!({"ExternalId": id, "Name": {"GivenName": name}, "Contracts": [{"Title": "Teacher"}]}),
    }
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&db.raw().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_snapshot_is_saved_and_read_back_in_external_id_order() {
    let db = TestDb::new().await;
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

#[tokio::test]
async fn a_large_snapshot_spans_several_insert_batches() {
    let db = TestDb::new().await;
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

#[tokio::test]
async fn only_the_newest_three_snapshots_per_source_are_kept() {
    let db = TestDb::new().await;
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

#[tokio::test]
async fn a_failed_save_stores_nothing() {
    let db = TestDb::new().await;
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

#[tokio::test]
async fn a_snapshot_for_an_unknown_run_is_refused() {
    let db = TestDb::new().await;
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

#[tokio::test]
async fn a_damaged_record_is_reported_as_corrupt() {
    let db = TestDb::new().await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap();
    let meta = db
        .store
        .save_snapshot("hr", &run.id, "d", &[person("1", "A")], 0)
        .await
        .unwrap();
    sqlx::query("UPDATE snapshot_persons SET record = '{not json'")
        .execute(&db.raw().await)
        .await
        .unwrap();
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
