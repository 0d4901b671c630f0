//! Opening: file and directory creation, migrations applied once, the fingerprint key.

use crate::support::{conformance, raw_pool, Backend, TestDb};
use muster_store::{open_sqlite, open_sqlite_memory, RunMode, Store};

/// Each applied migration as `version installed_on success`.
async fn migrations(db: &TestDb) -> Vec<String> {
    db.raw()
        .await
        .texts(
            "SELECT CAST(version AS TEXT) || ' ' || CAST(installed_on AS TEXT) || ' ' || \
             CASE WHEN success THEN 'ok' ELSE 'failed' END \
             FROM _sqlx_migrations ORDER BY version",
        )
        .await
}

#[tokio::test]
async fn opening_creates_the_file_and_missing_directories_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("state.db");
    let store = open_sqlite(&path).await.unwrap();
    assert!(path.is_file());
    store.start_run(RunMode::Preview, "cfg").await.unwrap();

    let raw = raw_pool(&path).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

async fn reopening_keeps_data_and_does_not_rerun_migrations(backend: Backend) {
    let mut db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap();
    let before = migrations(&db).await;
    assert!(!before.is_empty(), "no migration recorded");
    assert!(before.iter().all(|m| m.ends_with(" ok")), "{before:?}");

    db.reopen().await;
    db.reopen().await;
    assert_eq!(migrations(&db).await, before);
    assert_eq!(db.store.run(&run.id).await.unwrap(), Some(run));
}

async fn the_fingerprint_key_is_random_hex_and_stable_across_reopen(backend: Backend) {
    let mut db = TestDb::new(backend).await;
    let key = db.store.fingerprint_key().await.unwrap();
    assert_eq!(key.expose().len(), 64);
    assert!(key.expose().bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!format!("{key:?}").contains(key.expose()));

    db.reopen().await;
    assert_eq!(db.store.fingerprint_key().await.unwrap(), key);

    let other = TestDb::new(backend).await;
    assert_ne!(other.store.fingerprint_key().await.unwrap(), key);
}

#[tokio::test]
async fn the_in_memory_store_works_for_other_crates_tests() {
    let store = open_sqlite_memory().await.unwrap();
    let run = store.start_run(RunMode::Preview, "cfg").await.unwrap();
    assert_eq!(store.runs(5).await.unwrap(), vec![run]);
    assert_eq!(store.fingerprint_key().await.unwrap().expose().len(), 64);
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_store_and_its_wal_and_shm_files_are_for_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("muster.db");
    let store = open_sqlite(&path).await.unwrap();
    store.start_run(RunMode::Apply, "cfg").await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let file = dir.path().join(format!("muster.db{suffix}"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "muster.db{suffix} is {mode:o}");
    }
}

conformance!(
    reopening_keeps_data_and_does_not_rerun_migrations,
    the_fingerprint_key_is_random_hex_and_stable_across_reopen,
);
