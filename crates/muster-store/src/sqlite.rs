//! [`SqliteStore`]: the [`Store`] in one SQLite file, Muster's zero set-up default.
//!
//! The file runs in WAL mode, so readers (a dashboard, `muster runs`) never wait for the
//! executor, with `synchronous = FULL`: a journal entry marked `sent` must survive a power cut,
//! or a create could be retried without re-correlation. A small pool (four connections) and a
//! busy timeout let several tasks share the file. Write transactions begin `IMMEDIATE`, so two
//! writers queue on the busy timeout instead of failing when a read lock cannot be upgraded.
//!
//! The schema lives in `migrations/sqlite/`, applied by [`open_sqlite`]; reading rows back into
//! typed records lives in the private `rows` module, which turns unknown text into
//! [`StoreError::Corrupt`].

mod rows;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use futures::TryStreamExt;
use muster_core::plan::ActionKind;
use muster_core::report::AuditEvent;
use muster_core::secret::Secret;
use muster_core::{AccountRef, ExternalId, TargetName};
use rand::RngCore;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use tracing::debug;

use crate::error::StoreError;
use crate::store::{
    Approval, AuditQuery, BlockedRecord, Fingerprint, JournalEntry, JournalState, Link, RunMode,
    RunRecord, SnapshotMeta, SnapshotPerson, Store, MIN_RUN_PREFIX,
};
use rows::{
    encode_json, parse_text, ts, ApprovalRow, AuditRow, BlockedRow, FingerprintRow, JournalRow,
    LinkRow, RunRow, SnapshotPersonRow, SnapshotRow,
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

/// Snapshots kept per source: the newest, and two to compare or roll back to.
const SNAPSHOTS_KEPT: usize = 3;

const FINGERPRINT_KEY: &str = "fingerprint_key";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The state store in one SQLite file. Cloning shares the connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
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
        Ok(Self { pool })
    }

    /// Waits for every connection to finish and closes them; the file is complete afterwards
    /// (the WAL is checkpointed). Later calls on this store or its clones fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin_write(
        &self,
        op: &'static str,
        table: &'static str,
        context: &str,
    ) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::db(op, table, context))
    }

    async fn run_exists(&self, op: &'static str, run: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM runs WHERE id = ?")
            .bind(run)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::db(op, "runs", run))?;
        Ok(found.is_some())
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

const RUN_COLUMNS: &str =
    "SELECT id, mode, started_at, finished_at, status, summary, config_digest FROM runs";
const SNAPSHOT_COLUMNS: &str =
    "SELECT id, source, run, digest, persons, blocked, taken_at FROM snapshots";
const JOURNAL_COLUMNS: &str =
    "SELECT run, target, action, kind, person, account, state, detail, updated_at FROM journal";
const APPROVAL_COLUMNS: &str = "SELECT id, run, target, kind, count, approved_by, approved_at, \
     consumed_by FROM approvals";

#[async_trait]
impl Store for SqliteStore {
    async fn start_run(&self, mode: RunMode, config_digest: &str) -> Result<RunRecord, StoreError> {
        let record = RunRecord {
            id: uuid::Uuid::new_v4().to_string(),
            mode,
            started_at: now(),
            finished_at: None,
            status: None,
            summary: None,
            config_digest: config_digest.to_owned(),
        };
        sqlx::query("INSERT INTO runs (id, mode, started_at, config_digest) VALUES (?, ?, ?, ?)")
            .bind(&record.id)
            .bind(mode.as_str())
            .bind(ts(record.started_at))
            .bind(config_digest)
            .execute(&self.pool)
            .await
            .map_err(StoreError::db("start_run", "runs", &record.id))?;
        Ok(record)
    }

    async fn finish_run(
        &self,
        run: &str,
        status: &str,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let summary = encode_json("finish_run", "runs", "summary", summary)?;
        let done = sqlx::query(
            "UPDATE runs SET finished_at = ?, status = ?, summary = ? \
             WHERE id = ? AND finished_at IS NULL",
        )
        .bind(ts(now()))
        .bind(status)
        .bind(summary)
        .bind(run)
        .execute(&self.pool)
        .await
        .map_err(StoreError::db("finish_run", "runs", run))?;
        if done.rows_affected() == 1 {
            Ok(())
        } else if self.run_exists("finish_run", run).await? {
            Err(StoreError::RunFinished {
                run: run.to_owned(),
            })
        } else {
            Err(StoreError::RunNotFound {
                run: run.to_owned(),
            })
        }
    }

    async fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let rows: Vec<RunRow> = sqlx::query_as(&format!(
            "{RUN_COLUMNS} ORDER BY started_at DESC, id DESC LIMIT ?"
        ))
        .bind(to_i64(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("runs", "runs", format!("newest {limit}")))?;
        rows.into_iter().map(RunRow::into_record).collect()
    }

    async fn run(&self, run: &str) -> Result<Option<RunRecord>, StoreError> {
        let wanted = run.trim().to_ascii_lowercase();
        if wanted.chars().count() < MIN_RUN_PREFIX {
            return Err(StoreError::RunPrefixTooShort {
                prefix: run.to_owned(),
                min: MIN_RUN_PREFIX,
            });
        }
        let mut rows: Vec<RunRow> = sqlx::query_as(&format!(
            "{RUN_COLUMNS} WHERE id = ? OR substr(id, 1, ?) = ? ORDER BY id"
        ))
        .bind(&wanted)
        .bind(to_i64(wanted.chars().count()))
        .bind(&wanted)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("run", "runs", &wanted))?;
        if let Some(i) = rows.iter().position(|r| r.id == wanted) {
            return rows.swap_remove(i).into_record().map(Some);
        }
        match rows.len() {
            0 => Ok(None),
            1 => rows.swap_remove(0).into_record().map(Some),
            matches => Err(StoreError::AmbiguousRun {
                prefix: run.to_owned(),
                matches,
            }),
        }
    }

    async fn latest_snapshot(&self, source: &str) -> Result<Option<SnapshotMeta>, StoreError> {
        let row: Option<SnapshotRow> = sqlx::query_as(&format!(
            "{SNAPSHOT_COLUMNS} WHERE source = ? ORDER BY id DESC LIMIT 1"
        ))
        .bind(source)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::db("latest_snapshot", "snapshots", source))?;
        row.map(SnapshotRow::into_meta).transpose()
    }

    async fn snapshot_persons(&self, snapshot_id: i64) -> Result<Vec<SnapshotPerson>, StoreError> {
        let context = format!("snapshot {snapshot_id}");
        // Streamed, so a million persons are not held twice (rows and records) at once.
        let mut rows = sqlx::query_as::<_, SnapshotPersonRow>(
            "SELECT external_id, record_hash, record FROM snapshot_persons \
             WHERE snapshot_id = ? ORDER BY external_id",
        )
        .bind(snapshot_id)
        .fetch(&self.pool);
        let mut persons = Vec::new();
        while let Some(row) = rows.try_next().await.map_err(StoreError::db(
            "snapshot_persons",
            "snapshot_persons",
            &context,
        ))? {
            persons.push(row.into_person()?);
        }
        Ok(persons)
    }

    async fn save_snapshot(
        &self,
        source: &str,
        run: &str,
        digest: &str,
        persons: &[SnapshotPerson],
        blocked: usize,
    ) -> Result<SnapshotMeta, StoreError> {
        const OP: &str = "save_snapshot";
        let taken_at = now();
        let mut tx = self.begin_write(OP, "snapshots", source).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO snapshots (source, run, digest, persons, blocked, taken_at) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(source)
        .bind(run)
        .bind(digest)
        .bind(to_i64(persons.len()))
        .bind(to_i64(blocked))
        .bind(ts(taken_at))
        .fetch_one(&mut *tx)
        .await
        .map_err(unknown_run_or(run, OP, "snapshots", source))?;

        let context = format!("source {source}, snapshot {id}");
        for chunk in persons.chunks(BATCH_ROWS) {
            let records = chunk
                .iter()
                .map(|p| encode_json(OP, "snapshot_persons", "record", &p.record))
                .collect::<Result<Vec<_>, _>>()?;
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO snapshot_persons (snapshot_id, external_id, record_hash, record) ",
            );
            insert.push_values(chunk.iter().zip(records), |mut row, (person, record)| {
                row.push_bind(id)
                    .push_bind(person.external_id.as_str())
                    .push_bind(person.record_hash.as_str())
                    .push_bind(record);
            });
            insert
                .build()
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db(OP, "snapshot_persons", &context))?;
        }

        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM snapshots WHERE source = ? ORDER BY id DESC")
                .bind(source)
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::db(OP, "snapshots", &context))?;
        let pruned = ids.len().saturating_sub(SNAPSHOTS_KEPT);
        for old in ids.into_iter().skip(SNAPSHOTS_KEPT) {
            let context = format!("source {source}, pruning snapshot {old}");
            sqlx::query("DELETE FROM snapshot_persons WHERE snapshot_id = ?")
                .bind(old)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db(OP, "snapshot_persons", &context))?;
            sqlx::query("DELETE FROM snapshots WHERE id = ?")
                .bind(old)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db(OP, "snapshots", &context))?;
        }
        tx.commit()
            .await
            .map_err(StoreError::db(OP, "snapshots", &context))?;
        debug!(
            source,
            snapshot = id,
            persons = persons.len(),
            pruned,
            "Snapshot saved."
        );
        Ok(SnapshotMeta {
            id,
            source: source.to_owned(),
            run: run.to_owned(),
            digest: digest.to_owned(),
            persons: persons.len(),
            blocked,
            taken_at,
        })
    }

    async fn links(&self, target: &TargetName) -> Result<Vec<Link>, StoreError> {
        let rows: Vec<LinkRow> = sqlx::query_as(
            "SELECT target, person, account, state, updated_at FROM links \
             WHERE target = ? ORDER BY person",
        )
        .bind(target.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("links", "links", target.as_str()))?;
        rows.into_iter().map(LinkRow::into_link).collect()
    }

    async fn upsert_link(&self, link: &Link) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO links (target, person, account, state, updated_at) \
             VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (target, person) DO UPDATE SET \
             account = excluded.account, state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(link.target.as_str())
        .bind(link.person.as_str())
        .bind(link.account.as_str())
        .bind(link.state.as_str())
        .bind(ts(link.updated_at))
        .execute(&self.pool)
        .await
        .map_err(|source| match source.as_database_error() {
            Some(e) if e.is_unique_violation() => StoreError::AccountAlreadyLinked {
                target: link.target.clone(),
                account: link.account.clone(),
            },
            _ => StoreError::db(
                "upsert_link",
                "links",
                format!("target {}, person {}", link.target, link.person),
            )(source),
        })?;
        Ok(())
    }

    async fn remove_link(
        &self,
        target: &TargetName,
        person: &ExternalId,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM links WHERE target = ? AND person = ?")
            .bind(target.as_str())
            .bind(person.as_str())
            .execute(&self.pool)
            .await
            .map_err(StoreError::db(
                "remove_link",
                "links",
                format!("target {target}, person {person}"),
            ))?;
        Ok(())
    }

    async fn fingerprints(&self, target: &TargetName) -> Result<Vec<Fingerprint>, StoreError> {
        let rows: Vec<FingerprintRow> = sqlx::query_as(
            "SELECT account, field, hmac FROM fingerprints WHERE target = ? \
             ORDER BY account, field",
        )
        .bind(target.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db(
            "fingerprints",
            "fingerprints",
            target.as_str(),
        ))?;
        Ok(rows
            .into_iter()
            .map(FingerprintRow::into_fingerprint)
            .collect())
    }

    async fn set_fingerprint(
        &self,
        target: &TargetName,
        fp: &Fingerprint,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO fingerprints (target, account, field, hmac, updated_at) \
             VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (target, account, field) DO UPDATE SET \
             hmac = excluded.hmac, updated_at = excluded.updated_at",
        )
        .bind(target.as_str())
        .bind(fp.account.as_str())
        .bind(&fp.field)
        .bind(&fp.hmac)
        .bind(ts(now()))
        .execute(&self.pool)
        .await
        .map_err(StoreError::db(
            "set_fingerprint",
            "fingerprints",
            format!(
                "target {target}, account {}, field {}",
                fp.account, fp.field
            ),
        ))?;
        Ok(())
    }

    async fn clear_fingerprint(
        &self,
        target: &TargetName,
        account: &AccountRef,
        field: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM fingerprints WHERE target = ? AND account = ? AND field = ?")
            .bind(target.as_str())
            .bind(account.as_str())
            .bind(field)
            .execute(&self.pool)
            .await
            .map_err(StoreError::db(
                "clear_fingerprint",
                "fingerprints",
                format!("target {target}, account {account}, field {field}"),
            ))?;
        Ok(())
    }

    async fn journal_planned(&self, run: &str, entries: &[JournalEntry]) -> Result<(), StoreError> {
        const OP: &str = "journal_planned";
        if let Some(stray) = entries.iter().find(|e| e.run != run) {
            return Err(StoreError::JournalRunMismatch {
                run: run.to_owned(),
                entry_run: stray.run.clone(),
            });
        }
        if entries.is_empty() {
            return Ok(());
        }
        let context = format!("run {run}");
        let mut tx = self.begin_write(OP, "journal", &context).await?;
        for chunk in entries.chunks(BATCH_ROWS) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO journal \
                 (run, target, action, kind, person, account, state, detail, updated_at) ",
            );
            insert.push_values(chunk, |mut row, e| {
                row.push_bind(run)
                    .push_bind(e.target.as_str())
                    .push_bind(i64::from(e.action))
                    .push_bind(e.kind.as_str())
                    .push_bind(e.person.as_str())
                    .push_bind(e.account.as_ref().map(AccountRef::as_str))
                    .push_bind(e.state.as_str())
                    .push_bind(e.detail.as_deref())
                    .push_bind(ts(e.updated_at));
            });
            insert
                .build()
                .execute(&mut *tx)
                .await
                .map_err(unknown_run_or(run, OP, "journal", &context))?;
        }
        tx.commit()
            .await
            .map_err(StoreError::db(OP, "journal", &context))
    }

    async fn journal_set(
        &self,
        run: &str,
        target: &TargetName,
        action: u32,
        state: JournalState,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        const OP: &str = "journal_set";
        let context = format!("run {run}, target {target}, action {action}");
        let from = JournalState::predecessors(state);
        if !from.is_empty() {
            // One conditional UPDATE, so the check and the move cannot be split by another
            // writer.
            let mut update = QueryBuilder::<Sqlite>::new("UPDATE journal SET state = ");
            update
                .push_bind(state.as_str())
                .push(", detail = COALESCE(")
                .push_bind(detail)
                .push(", detail), updated_at = ")
                .push_bind(ts(now()))
                .push(" WHERE run = ")
                .push_bind(run)
                .push(" AND target = ")
                .push_bind(target.as_str())
                .push(" AND action = ")
                .push_bind(i64::from(action))
                .push(" AND state IN (");
            let mut states = update.separated(", ");
            for s in from {
                states.push_bind(s.as_str());
            }
            update.push(")");
            let done = update
                .build()
                .execute(&self.pool)
                .await
                .map_err(StoreError::db(OP, "journal", &context))?;
            if done.rows_affected() == 1 {
                return Ok(());
            }
        }
        let current: Option<String> = sqlx::query_scalar(
            "SELECT state FROM journal WHERE run = ? AND target = ? AND action = ?",
        )
        .bind(run)
        .bind(target.as_str())
        .bind(i64::from(action))
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::db(OP, "journal", &context))?;
        match current {
            None => Err(StoreError::JournalEntryNotFound {
                run: run.to_owned(),
                target: target.clone(),
                action,
            }),
            Some(current) => Err(StoreError::JournalTransition {
                run: run.to_owned(),
                target: target.clone(),
                action,
                from: parse_text("journal", "state", &current)?,
                to: state,
            }),
        }
    }

    async fn journal(&self, run: &str) -> Result<Vec<JournalEntry>, StoreError> {
        let rows: Vec<JournalRow> = sqlx::query_as(&format!(
            "{JOURNAL_COLUMNS} WHERE run = ? ORDER BY target, action"
        ))
        .bind(run)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("journal", "journal", run))?;
        rows.into_iter().map(JournalRow::into_entry).collect()
    }

    async fn journal_in_flight(
        &self,
        target: &TargetName,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        let rows: Vec<JournalRow> = sqlx::query_as(&format!(
            "{JOURNAL_COLUMNS} WHERE state = ? AND target = ? ORDER BY updated_at, run, action"
        ))
        .bind(JournalState::Sent.as_str())
        .bind(target.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db(
            "journal_in_flight",
            "journal",
            target.as_str(),
        ))?;
        rows.into_iter().map(JournalRow::into_entry).collect()
    }

    async fn record_blocked(
        &self,
        run: &str,
        target: &TargetName,
        kind: ActionKind,
        count: usize,
        reason: &str,
    ) -> Result<(), StoreError> {
        let context = format!("run {run}, target {target}, {kind}");
        sqlx::query(
            "INSERT INTO blocked (run, target, kind, count, reason, recorded_at) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (run, target, kind) DO UPDATE SET \
             count = excluded.count, reason = excluded.reason, recorded_at = excluded.recorded_at",
        )
        .bind(run)
        .bind(target.as_str())
        .bind(kind.as_str())
        .bind(to_i64(count))
        .bind(reason)
        .bind(ts(now()))
        .execute(&self.pool)
        .await
        .map_err(unknown_run_or(run, "record_blocked", "blocked", &context))?;
        Ok(())
    }

    async fn blocked(&self, run: &str) -> Result<Vec<BlockedRecord>, StoreError> {
        let rows: Vec<BlockedRow> = sqlx::query_as(
            "SELECT run, target, kind, count, reason FROM blocked \
             WHERE run = ? ORDER BY target, kind",
        )
        .bind(run)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("blocked", "blocked", run))?;
        rows.into_iter().map(BlockedRow::into_record).collect()
    }

    async fn approve(
        &self,
        run: &str,
        kind: Option<ActionKind>,
        by: &str,
    ) -> Result<Vec<Approval>, StoreError> {
        const OP: &str = "approve";
        let context = match kind {
            Some(kind) => format!("run {run}, {kind}"),
            None => format!("run {run}"),
        };
        let matching = |q: &mut QueryBuilder<'_, Sqlite>| {
            q.push(" WHERE run = ").push_bind(run.to_owned());
            if let Some(kind) = kind {
                q.push(" AND kind = ").push_bind(kind.as_str());
            }
        };
        // The write comes first, so the IMMEDIATE transaction is the only lock taken.
        let mut tx = self.begin_write(OP, "approvals", &context).await?;
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO approvals \
             (blocked_id, run, target, kind, count, approved_by, approved_at) \
             SELECT id, run, target, kind, count, ",
        );
        insert
            .push_bind(by)
            .push(", ")
            .push_bind(ts(now()))
            .push(" FROM blocked");
        matching(&mut insert);
        insert.push(" ORDER BY id ON CONFLICT (blocked_id) DO NOTHING");
        insert
            .build()
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(OP, "approvals", &context))?;

        let mut select = QueryBuilder::<Sqlite>::new(format!(
            "{APPROVAL_COLUMNS} WHERE blocked_id IN (SELECT id FROM blocked"
        ));
        matching(&mut select);
        select.push(") ORDER BY id");
        let rows: Vec<ApprovalRow> = select
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::db(OP, "approvals", &context))?;
        if rows.is_empty() {
            return Err(StoreError::NothingToApprove {
                run: run.to_owned(),
                kind,
            });
        }
        let approvals = rows
            .into_iter()
            .map(ApprovalRow::into_approval)
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit()
            .await
            .map_err(StoreError::db(OP, "approvals", &context))?;
        Ok(approvals)
    }

    async fn open_approvals(&self, target: &TargetName) -> Result<Vec<Approval>, StoreError> {
        let rows: Vec<ApprovalRow> = sqlx::query_as(&format!(
            "{APPROVAL_COLUMNS} WHERE target = ? AND consumed_by IS NULL ORDER BY id"
        ))
        .bind(target.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db(
            "open_approvals",
            "approvals",
            target.as_str(),
        ))?;
        rows.into_iter().map(ApprovalRow::into_approval).collect()
    }

    async fn consume_approval(&self, approval_id: i64, by_run: &str) -> Result<(), StoreError> {
        const OP: &str = "consume_approval";
        let context = format!("approval {approval_id}, run {by_run}");
        let done = sqlx::query(
            "UPDATE approvals SET consumed_by = ?, consumed_at = ? \
             WHERE id = ? AND consumed_by IS NULL",
        )
        .bind(by_run)
        .bind(ts(now()))
        .bind(approval_id)
        .execute(&self.pool)
        .await
        .map_err(unknown_run_or(by_run, OP, "approvals", &context))?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let consumed: Option<Option<String>> =
            sqlx::query_scalar("SELECT consumed_by FROM approvals WHERE id = ?")
                .bind(approval_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::db(OP, "approvals", &context))?;
        match consumed {
            None | Some(None) => Err(StoreError::ApprovalNotFound { id: approval_id }),
            Some(Some(by)) => Err(StoreError::ApprovalConsumed {
                id: approval_id,
                by,
            }),
        }
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        const OP: &str = "append_audit";
        if events.is_empty() {
            return Ok(());
        }
        let context = format!("{} events", events.len());
        let mut tx = self.begin_write(OP, "audit", &context).await?;
        for chunk in events.chunks(BATCH_ROWS) {
            let mut encoded = Vec::with_capacity(chunk.len());
            for e in chunk {
                // `FieldChange` serializes secret values as "***": this is where the
                // guarantee that secrets never reach the disk is kept.
                let changes = encode_json(OP, "audit", "changes", &e.changes)?;
                let permission = e
                    .permission
                    .as_ref()
                    .map(|p| encode_json(OP, "audit", "permission", p))
                    .transpose()?;
                encoded.push((e, changes, permission));
            }
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO audit (at, run, target, person, action, outcome, account, reason, \
                 detail, changes, permission) ",
            );
            insert.push_values(encoded, |mut row, (e, changes, permission)| {
                row.push_bind(ts(e.at))
                    .push_bind(e.run.as_str())
                    .push_bind(e.target.as_str())
                    .push_bind(e.person.as_str())
                    .push_bind(e.action.as_str())
                    .push_bind(e.outcome.as_str())
                    .push_bind(e.account.as_ref().map(AccountRef::as_str))
                    .push_bind(e.reason.as_str())
                    .push_bind(e.detail.as_deref())
                    .push_bind(changes)
                    .push_bind(permission);
            });
            insert
                .build()
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db(OP, "audit", &context))?;
        }
        tx.commit()
            .await
            .map_err(StoreError::db(OP, "audit", &context))
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let mut select = QueryBuilder::<Sqlite>::new(
            "SELECT at, run, target, person, action, outcome, account, reason, detail, changes, \
             permission FROM audit WHERE 1 = 1",
        );
        if let Some(person) = &query.person {
            select.push(" AND person = ").push_bind(person.as_str());
        }
        if let Some(target) = &query.target {
            select.push(" AND target = ").push_bind(target.as_str());
        }
        if let Some(since) = query.since {
            select.push(" AND at >= ").push_bind(ts(since));
        }
        if let Some(run) = &query.run {
            select.push(" AND run = ").push_bind(run.as_str());
        }
        select
            .push(" ORDER BY at, id LIMIT ")
            .push_bind(to_i64(query.limit));
        let rows: Vec<AuditRow> = select
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("audit", "audit", format!("{query:?}")))?;
        rows.into_iter().map(AuditRow::into_event).collect()
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
