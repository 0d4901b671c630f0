//! Group commit: the writes of runs and sign-ins (`writes::Write`: a run's start, planned
//! journal and end, journal moves, links, grants, fingerprints, audit events) of every action
//! and sign-in in flight share one transaction, so one fsync makes many of them durable, and
//! writers in this process queue here in order instead of polling SQLite's write lock (its
//! busy handler sleeps up to 100 ms a time, which was the tail of concurrent sign-ins).
//!
//! A writer puts its write in the queue and waits for the leader lock. Whoever holds the lock
//! takes every queued write, runs them in one `BEGIN IMMEDIATE` transaction (each in a savepoint
//! of its own, so one refused write leaves the others in), commits, and answers each writer.
//! While that commit waits on the disk, new writes queue up and become the next batch. A writer
//! that gets the lock and finds its write already answered returns at once. The caller resumes
//! only when the transaction holding its write is committed (`synchronous = FULL`: durable), so
//! "a request is sent only after its `sent` marker is durable" holds as before. The batch runs
//! in a task of its own: a writer that stops waiting (its future dropped) cancels no one else's
//! write.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::Connection;
use tokio::sync::oneshot;

use super::begin_write;
use super::sql::Write;
use crate::error::StoreError;

/// Writes per transaction at most; more wait for the next one.
const MAX_BATCH: usize = 1024;

struct Pending {
    write: Write,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// The queue and the leader lock shared by every clone of one store.
#[derive(Default)]
pub(super) struct GroupCommit {
    queue: Mutex<Vec<Pending>>,
    leader: Arc<tokio::sync::Mutex<()>>,
    stats: Arc<Stats>,
}

/// Committed transactions and the writes they held, since the store was opened.
#[derive(Default)]
struct Stats {
    commits: AtomicU64,
    writes: AtomicU64,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

/// The error of a write whose batch ended without an answer for it (the task running the
/// batch was stopped, e.g. because the runtime shut down). Whether it was committed is unknown.
fn lost(op: &'static str, table: &'static str) -> StoreError {
    StoreError::Database {
        op,
        table,
        context: "group commit".to_owned(),
        source: sqlx::Error::Protocol(
            "the batch holding this write ended without an answer".into(),
        ),
    }
}

impl GroupCommit {
    /// `(transactions, writes)` committed so far.
    pub(super) fn committed(&self) -> (u64, u64) {
        (
            self.stats.commits.load(Ordering::Relaxed),
            self.stats.writes.load(Ordering::Relaxed),
        )
    }

    /// Queues `write` and returns once the transaction holding it is committed, with the
    /// write's own result.
    pub(super) async fn submit(&self, pool: &SqlitePool, write: Write) -> Result<(), StoreError> {
        let (op, table) = (write.op(), write.table());
        let (reply, mut answer) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Pending { write, reply });
        let leader = Arc::clone(&self.leader).lock_owned().await;
        match answer.try_recv() {
            Ok(result) => return result,
            Err(oneshot::error::TryRecvError::Closed) => return Err(lost(op, table)),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let batch = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            // Oldest first; what is over the bound stays for the next leader.
            let take = queue.len().min(MAX_BATCH);
            let rest = queue.split_off(take);
            std::mem::replace(&mut *queue, rest)
        };
        let pool = pool.clone();
        let stats = Arc::clone(&self.stats);
        tokio::spawn(async move {
            commit_batch(&pool, batch, &stats).await;
            drop(leader);
        });
        answer.await.unwrap_or_else(|_| Err(lost(op, table)))
    }
}

/// Runs `batch` in one transaction and answers every writer: its own result when the commit
/// succeeded, the commit's failure otherwise.
async fn commit_batch(pool: &SqlitePool, batch: Vec<Pending>, stats: &Stats) {
    let context = format!("{} writes", batch.len());
    let mut tx = match begin_write(pool, "group_commit", "several tables", &context).await {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch, &e),
    };
    let mut results = Vec::with_capacity(batch.len());
    for p in &batch {
        match in_savepoint(&mut tx, &p.write).await {
            Ok(result) => results.push(result),
            // A savepoint that could not be released or rolled back may have left part of a
            // write in the transaction: the whole batch is rolled back (dropping `tx`).
            Err(e) => return fail_all(batch, &e),
        }
    }
    if let Err(e) =
        tx.commit()
            .await
            .map_err(StoreError::db("group_commit", "several tables", &context))
    {
        return fail_all(batch, &e);
    }
    stats.commits.fetch_add(1, Ordering::Relaxed);
    stats
        .writes
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    for (p, result) in batch.into_iter().zip(results) {
        // A writer that stopped waiting has nobody to tell.
        let _ = p.reply.send(result);
    }
}

/// One write in a savepoint: refused or failed, it leaves nothing behind and the rest of the
/// batch goes on (the inner result). The outer error: the savepoint itself failed, so what the
/// transaction holds is not known and the batch must not commit.
async fn in_savepoint(
    conn: &mut SqliteConnection,
    write: &Write,
) -> Result<Result<(), StoreError>, StoreError> {
    let (op, table) = (write.op(), write.table());
    let mut sp = conn
        .begin()
        .await
        .map_err(StoreError::db(op, table, "savepoint"))?;
    match write.run(&mut sp).await {
        Ok(()) => sp
            .commit()
            .await
            .map(Ok)
            .map_err(StoreError::db(op, table, "savepoint")),
        Err(e) => {
            sp.rollback()
                .await
                .map_err(StoreError::db(op, table, "savepoint"))?;
            Ok(Err(e))
        }
    }
}

fn fail_all(batch: Vec<Pending>, error: &StoreError) {
    for p in batch {
        let _ = p.reply.send(Err(StoreError::Database {
            op: p.write.op(),
            table: p.write.table(),
            context: "group commit".to_owned(),
            source: sqlx::Error::Protocol(error.to_string()),
        }));
    }
}
