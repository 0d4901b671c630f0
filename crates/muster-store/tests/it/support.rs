//! A fresh store per test, and a raw connection to its file for looking underneath.

use chrono::{DateTime, TimeZone, Utc};
use muster_store::{open_sqlite, SqliteStore};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

pub struct TestDb {
    pub store: SqliteStore,
    pub path: PathBuf,
    // Held so the directory lives as long as the test; dropped last, it removes the database.
    _dir: TempDir,
}

impl TestDb {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state").join("muster.db");
        let store = open_sqlite(&path).await.expect("open store");
        Self {
            store,
            path,
            _dir: dir,
        }
    }

    pub async fn reopen(&mut self) {
        self.store.close().await;
        self.store = open_sqlite(&self.path).await.expect("reopen store");
    }

    /// A separate pool on the same file, for SQL the store's API would not run.
    pub async fn raw(&self) -> SqlitePool {
        raw_pool(&self.path).await
    }

    /// Every byte the store left on disk (database, WAL and shared-memory files), after
    /// closing its connections.
    pub async fn bytes_on_disk(&self) -> Vec<u8> {
        self.store.close().await;
        let mut bytes = Vec::new();
        let dir = self.path.parent().expect("db dir");
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            bytes.extend(std::fs::read(&path).expect("read db file"));
        }
        assert!(!bytes.is_empty(), "no database files in {}", dir.display());
        bytes
    }
}

pub async fn raw_pool(path: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(Duration::from_secs(10));
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("raw connection")
}

/// 1 May 2024, `hour`:`minute` UTC.
pub fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, hour, minute, 0)
        .single()
        .expect("valid time")
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
