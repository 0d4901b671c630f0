//! [`SqliteStore`]: the [`Store`] in one SQLite file, Muster's zero set-up default.
//!
//! The file runs in WAL mode, so readers (a dashboard, `muster runs`) never wait for the
//! executor, with `synchronous = FULL`: a journal entry marked `sent` must survive a power cut,
//! or a create could be retried without re-correlation. A small pool (four connections) and a
//! busy timeout let several tasks share the file. Write transactions begin `IMMEDIATE`, so two
//! writers queue on the busy timeout instead of failing when a read lock cannot be upgraded.
//!
//! The schema lives in `migrations/sqlite/`, applied by [`open_sqlite`]. The `Store` impl
//! below is the table of contents: each area (`runs`, `snapshots`, `links` with fingerprints,
//! `grants`, `orphans` (decisions), `computed` values, `journal`, `approvals`, `audit`) has its
//! own private module of queries, and `rows` turns what SQLite returns into typed records,
//! reporting unknown text as [`StoreError::Corrupt`].

mod approvals;
mod audit;
mod computed;
mod grants;
mod group_commit;
mod journal;
mod links;
mod orphans;
mod rows;
mod runs;
mod server;
mod snapshots;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use muster_core::plan::ActionKind;
use muster_core::report::AuditEvent;
use muster_core::secret::Secret;
use muster_core::{AccountRef, ExternalId, GroupRef, TargetName};
use rand::RngCore;
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
use crate::store::{
    ApiToken, Approval, AuditQuery, BlockedRecord, ComputedChanges, ComputedValues, Decision,
    DecisionKind, Fingerprint, GrantMade, JournalEntry, JournalState, Link, OrphanDecision,
    ReportKind, RunMode, RunRecord, RunStatus, SnapshotMeta, SnapshotPerson, Store, StoredPlan,
    StoredReport,
};

/// Where the CLI keeps its state when the configuration names no store.
pub const DEFAULT_SQLITE_PATH: &str = "./muster.db";

/// How many connections share the file. SQLite allows one writer at a time, so more would
/// only queue on the write lock.
const MAX_CONNECTIONS: u32 = 4;

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Rows per multi-row INSERT: few enough to stay far below SQLite's 32,766 bound parameters
/// (and PostgreSQL's 65,535), many enough that a million-person snapshot is 2,000 statements.
const BATCH_ROWS: usize = 500;

const FINGERPRINT_KEY: &str = "fingerprint_key";

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
        // Every open offers a fresh key; only the first one is kept.
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let key: String = key.iter().map(|b| format!("{b:02x}")).collect();
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(FINGERPRINT_KEY)
            .bind(key)
            .execute(&pool)
            .await
            .map_err(StoreError::db("open", "meta", FINGERPRINT_KEY))?;
        debug!(store = %location, "State store opened.");
        Ok(Self {
            pool,
            writes: std::sync::Arc::default(),
        })
    }

    /// One of the executor's per-action writes, through the group commit.
    async fn write(&self, write: group_commit::Write) -> Result<(), StoreError> {
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

/// The current time as the store keeps it (microseconds), so a record read back equals the
/// record returned when it was written.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A foreign key on `run` failed: report the run as unknown rather than as a database error.
fn unknown_run_or(
    run: &str,
    op: &'static str,
    table: &'static str,
    context: &str,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    let run = run.to_owned();
    let context = context.to_owned();
    move |source| match source.as_database_error() {
        Some(e) if e.is_foreign_key_violation() => StoreError::RunNotFound { run },
        _ => StoreError::db(op, table, context)(source),
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

#[async_trait]
impl Store for SqliteStore {
    async fn start_run(&self, mode: RunMode, config_digest: &str) -> Result<RunRecord, StoreError> {
        runs::start_run(&self.pool, mode, config_digest).await
    }

    async fn finish_run(
        &self,
        run: &str,
        status: RunStatus,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        runs::finish_run(&self.pool, run, status, summary).await
    }

    async fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        runs::runs(&self.pool, limit).await
    }

    async fn run(&self, run: &str) -> Result<Option<RunRecord>, StoreError> {
        runs::run(&self.pool, run).await
    }

    async fn unfinished_runs(&self, except_run: &str) -> Result<Vec<RunRecord>, StoreError> {
        runs::unfinished_runs(&self.pool, except_run).await
    }

    async fn latest_snapshot(&self, source: &str) -> Result<Option<SnapshotMeta>, StoreError> {
        snapshots::latest_snapshot(&self.pool, source).await
    }

    async fn snapshot_persons(&self, snapshot_id: i64) -> Result<Vec<SnapshotPerson>, StoreError> {
        snapshots::snapshot_persons(&self.pool, snapshot_id).await
    }

    async fn save_snapshot(
        &self,
        source: &str,
        run: &str,
        digest: &str,
        persons: &[SnapshotPerson],
        blocked: usize,
    ) -> Result<SnapshotMeta, StoreError> {
        snapshots::save_snapshot(&self.pool, source, run, digest, persons, blocked).await
    }

    async fn links(&self, target: &TargetName) -> Result<Vec<Link>, StoreError> {
        links::links(&self.pool, target).await
    }

    async fn upsert_link(&self, link: &Link) -> Result<(), StoreError> {
        self.write(group_commit::Write::UpsertLink(link.clone()))
            .await
    }

    async fn remove_link(
        &self,
        target: &TargetName,
        person: &ExternalId,
    ) -> Result<(), StoreError> {
        links::remove_link(&self.pool, target, person).await
    }

    async fn grants_made(&self, target: &TargetName) -> Result<Vec<GrantMade>, StoreError> {
        grants::grants_made(&self.pool, target).await
    }

    async fn record_grant(&self, grant: &GrantMade) -> Result<(), StoreError> {
        self.write(group_commit::Write::RecordGrant(grant.clone()))
            .await
    }

    async fn forget_grant(
        &self,
        target: &TargetName,
        account: &AccountRef,
        group: &GroupRef,
    ) -> Result<(), StoreError> {
        self.write(group_commit::Write::ForgetGrant {
            target: target.clone(),
            account: account.clone(),
            group: group.clone(),
        })
        .await
    }

    async fn orphan_decisions(
        &self,
        target: &TargetName,
    ) -> Result<Vec<OrphanDecision>, StoreError> {
        orphans::orphan_decisions(&self.pool, target).await
    }

    async fn decide_orphan(&self, decision: &OrphanDecision) -> Result<(), StoreError> {
        orphans::decide_orphan(&self.pool, decision).await
    }

    async fn forget_orphan_decision(
        &self,
        target: &TargetName,
        account: &AccountRef,
    ) -> Result<(), StoreError> {
        orphans::forget_orphan_decision(&self.pool, target, account).await
    }

    async fn computed_values(
        &self,
        target: &TargetName,
    ) -> Result<Vec<ComputedValues>, StoreError> {
        computed::computed_values(&self.pool, target).await
    }

    async fn replace_computed_values(
        &self,
        target: &TargetName,
        scripts: &[ComputedValues],
    ) -> Result<(), StoreError> {
        computed::replace_computed_values(&self.pool, target, scripts).await
    }

    async fn update_computed_values(
        &self,
        target: &TargetName,
        scripts: &[ComputedChanges],
    ) -> Result<(), StoreError> {
        computed::update_computed_values(&self.pool, target, scripts).await
    }

    async fn fingerprints(&self, target: &TargetName) -> Result<Vec<Fingerprint>, StoreError> {
        links::fingerprints(&self.pool, target).await
    }

    async fn set_fingerprint(
        &self,
        target: &TargetName,
        fp: &Fingerprint,
    ) -> Result<(), StoreError> {
        self.write(group_commit::Write::SetFingerprint {
            target: target.clone(),
            fp: fp.clone(),
        })
        .await
    }

    async fn clear_fingerprint(
        &self,
        target: &TargetName,
        account: &AccountRef,
        field: &str,
    ) -> Result<(), StoreError> {
        self.write(group_commit::Write::ClearFingerprint {
            target: target.clone(),
            account: account.clone(),
            field: field.to_owned(),
        })
        .await
    }

    async fn journal_planned(&self, run: &str, entries: &[JournalEntry]) -> Result<(), StoreError> {
        journal::journal_planned(&self.pool, run, entries).await
    }

    async fn journal_set(
        &self,
        run: &str,
        target: &TargetName,
        action: u32,
        state: JournalState,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        self.write(group_commit::Write::JournalSet {
            run: run.to_owned(),
            target: target.clone(),
            action,
            state,
            detail: detail.map(str::to_owned),
        })
        .await
    }

    async fn journal_settle(
        &self,
        run: &str,
        target: &TargetName,
        action: u32,
        state: JournalState,
        detail: Option<&str>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.write(group_commit::Write::JournalSettle {
            run: run.to_owned(),
            target: target.clone(),
            action,
            state,
            detail: detail.map(str::to_owned),
            event: Box::new(event.clone()),
        })
        .await
    }

    async fn journal(&self, run: &str) -> Result<Vec<JournalEntry>, StoreError> {
        journal::journal(&self.pool, run).await
    }

    async fn journal_in_flight(
        &self,
        target: &TargetName,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        journal::journal_in_flight(&self.pool, target).await
    }

    async fn journal_unsettled(&self, except_run: &str) -> Result<Vec<JournalEntry>, StoreError> {
        journal::journal_unsettled(&self.pool, except_run).await
    }

    async fn journal_pending(&self) -> Result<u64, StoreError> {
        journal::journal_pending(&self.pool).await
    }

    async fn record_blocked(
        &self,
        run: &str,
        target: &TargetName,
        kind: ActionKind,
        count: usize,
        reason: &str,
    ) -> Result<(), StoreError> {
        approvals::record_blocked(&self.pool, run, target, kind, count, reason).await
    }

    async fn blocked(&self, run: &str) -> Result<Vec<BlockedRecord>, StoreError> {
        approvals::blocked(&self.pool, run).await
    }

    async fn approve(
        &self,
        run: &str,
        kind: Option<ActionKind>,
        by: &str,
    ) -> Result<Vec<Approval>, StoreError> {
        approvals::approve(&self.pool, run, kind, by).await
    }

    async fn open_approvals(&self, target: &TargetName) -> Result<Vec<Approval>, StoreError> {
        approvals::open_approvals(&self.pool, target).await
    }

    async fn consume_approval(&self, approval_id: i64, by_run: &str) -> Result<(), StoreError> {
        approvals::consume_approval(&self.pool, approval_id, by_run).await
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        audit::append_audit(&self.pool, events).await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        audit::audit(&self.pool, query).await
    }

    async fn person_audit(
        &self,
        person: &ExternalId,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        audit::person_audit(&self.pool, person, limit).await
    }

    async fn decide(
        &self,
        run: &str,
        kind: Option<ActionKind>,
        decision: DecisionKind,
        by: &str,
        reason: &str,
    ) -> Result<Vec<Decision>, StoreError> {
        server::decide(&self.pool, run, kind, decision, by, reason).await
    }

    async fn decisions(&self, run: &str) -> Result<Vec<Decision>, StoreError> {
        server::decisions(&self.pool, run).await
    }

    async fn person_links(&self, person: &ExternalId) -> Result<Vec<Link>, StoreError> {
        server::person_links(&self.pool, person).await
    }

    async fn snapshot_person(
        &self,
        snapshot_id: i64,
        person: &ExternalId,
    ) -> Result<Option<SnapshotPerson>, StoreError> {
        server::snapshot_person(&self.pool, snapshot_id, person).await
    }

    async fn save_plan(
        &self,
        run: &str,
        target: &TargetName,
        plan: &serde_json::Value,
    ) -> Result<(), StoreError> {
        server::save_plan(&self.pool, run, target, plan).await
    }

    async fn latest_plan(&self, target: &TargetName) -> Result<Option<StoredPlan>, StoreError> {
        server::latest_plan(&self.pool, target).await
    }

    async fn save_report(
        &self,
        kind: ReportKind,
        target: &TargetName,
        report: &serde_json::Value,
    ) -> Result<(), StoreError> {
        server::save_report(&self.pool, kind, target, report).await
    }

    async fn latest_report(
        &self,
        kind: ReportKind,
        target: &TargetName,
    ) -> Result<Option<StoredReport>, StoreError> {
        server::latest_report(&self.pool, kind, target).await
    }

    async fn create_token(&self, token: &ApiToken) -> Result<(), StoreError> {
        server::create_token(&self.pool, token).await
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        server::token_by_hash(&self.pool, hash).await
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        server::tokens(&self.pool).await
    }

    async fn revoke_token(&self, id: &str) -> Result<ApiToken, StoreError> {
        server::revoke_token(&self.pool, id).await
    }

    async fn fingerprint_key(&self) -> Result<Secret, StoreError> {
        let key: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(FINGERPRINT_KEY)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::db("fingerprint_key", "meta", FINGERPRINT_KEY))?;
        let key = key.ok_or(StoreError::MissingFingerprintKey)?;
        // The value itself never goes into the error: it is the key.
        if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::corrupt(
                "meta",
                "value",
                "the fingerprint key is not 64 hexadecimal characters",
            ));
        }
        Ok(Secret::new(key))
    }
}
