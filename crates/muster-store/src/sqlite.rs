//! [`SqliteStore`]: the [`Store`](crate::Store) in one SQLite file, Muster's zero set-up default.
//!
//! The file runs in WAL mode, so readers (a dashboard, `muster runs`) never wait for the
//! executor, with `synchronous = FULL`: a journal entry marked `sent` must survive a power cut,
//! or a create could be retried without re-correlation. A small pool (four connections) and a
//! busy timeout let several tasks share the file. Write transactions begin `IMMEDIATE`, so two
//! writers queue on the busy timeout instead of failing when a read lock cannot be upgraded.
//!
//! The schema lives in `migrations/sqlite/`, applied by [`open_sqlite`]. The queries, the
//! row conversions and the `Store` impl are shared with [`crate::postgres`]: the files in
//! `src/sql/` are compiled into each backend as its own modules, with `dialect` naming what
//! SQLite stores differently (timestamps, JSON and dates as TEXT). What is SQLite's own stays
//! here: opening the file, `BEGIN IMMEDIATE` write transactions, and the group commit of the
//! executor's per-action writes (`group_commit`).

mod dialect;
mod group_commit;

// Compiled once per backend on purpose (also in `postgres.rs`): the shared queries, with this
// backend's `dialect` (see `sql/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Sqlite;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use tracing::{debug, warn};

use crate::error::StoreError;
use crate::private_file;

/// Where the CLI keeps its state when the configuration names no store.
pub const DEFAULT_SQLITE_PATH: &str = "./muster.db";

/// How many connections share the file. SQLite allows one writer at a time, so more would
/// only queue on the write lock.
const MAX_CONNECTIONS: u32 = 4;

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The state store in one SQLite file. Cloning shares the connection pool and the group
/// commit's queue.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The executor's per-action writes, committed in shared transactions (`group_commit`).
    writes: std::sync::Arc<group_commit::GroupCommit>,
}

/// Opens the store at `path`, creating the file and its parent directory if missing, and
/// applies any migration the file has not seen yet (and no other).
pub async fn open_sqlite(path: &Path) -> Result<SqliteStore, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let location = path.display().to_string();
    private_file::create_store_file(path).map_err(|source| StoreError::CreateFile {
        location: location.clone(),
        source,
    })?;
    warn_if_readable_by_others(path);
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Open {
            location: location.clone(),
            source,
        })?;
    SqliteStore::prepare(pool, location).await
}

/// Warns when the store's file lets other local users read it (names, addresses, the audit
/// trail and the fingerprint key are in it).
fn warn_if_readable_by_others(path: &Path) {
    match private_file::readable_by_others(path) {
        Ok(Some(mode)) => warn!(
            store = %path.display(),
            mode = %format!("{mode:o}"),
            "the state store {} is readable by other local users (mode {mode:o}); \
             `chmod 600` it and its -wal and -shm files",
            path.display()
        ),
        Ok(None) => {}
        Err(e) => warn!(store = %path.display(), "cannot read the state store's mode: {e}"),
    }
}

/// Opens a private in-memory store, gone when the last clone is dropped: for other crates'
/// tests. It uses a single connection, since each SQLite connection to `:memory:` would see a
/// database of its own.
pub async fn open_sqlite_memory() -> Result<SqliteStore, StoreError> {
    let location = "sqlite::memory:".to_owned();
    let options = SqliteConnectOptions::from_str(&location)
        .map_err(|source| StoreError::Open {
            location: location.clone(),
            source,
        })?
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Open {
            location: location.clone(),
            source,
        })?;
    SqliteStore::prepare(pool, location).await
}

impl SqliteStore {
    async fn prepare(pool: SqlitePool, location: String) -> Result<Self, StoreError> {
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                location: location.clone(),
                source,
            })?;
        sql::offer_fingerprint_key(&pool).await?;
        debug!(store = %location, "State store opened.");
        Ok(Self {
            pool,
            writes: std::sync::Arc::default(),
        })
    }

    /// One of the executor's per-action writes, through the group commit.
    async fn write(&self, write: sql::Write) -> Result<(), StoreError> {
        self.writes.submit(&self.pool, write).await
    }

    /// `(transactions, writes)` the group commit has committed since this store was opened:
    /// the executor's per-action writes and how many fsyncs they shared (for tests and
    /// benchmarks).
    pub fn group_commits(&self) -> (u64, u64) {
        self.writes.committed()
    }

    /// The connection pool, for what works on every table at once (`muster store copy`,
    /// the schema version).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Waits for every connection to finish and closes them; the file is complete afterwards
    /// (the WAL is checkpointed). Later calls on this store or its clones fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Begins a write transaction that takes the write lock at once, so it queues on the busy
/// timeout instead of failing later when a read lock cannot be upgraded.
async fn begin_write(
    pool: &SqlitePool,
    op: &'static str,
    table: &'static str,
    context: &str,
) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
    pool.begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(StoreError::db(op, table, context))
}
