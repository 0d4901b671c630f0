//! `muster-bench store`: the action journal's transitions per second on SQLite and on
//! PostgreSQL, through the `Store` trait exactly as the executor uses it: every action
//! `planned` (one batch), then `sent` (`journal_set`), then `done` with its audit event in one
//! transaction (`journal_settle`). Run with 1 and with 8 actions in flight; each run in a fresh
//! store (a new SQLite file, or a new PostgreSQL schema dropped afterwards).

use anyhow::{Context, Result};
use chrono::Utc;
use muster_core::plan::ActionKind;
use muster_core::report::{ActionOutcome, AuditEvent};
use muster_core::secret::Secret;
use muster_store::{
    open_postgres, open_sqlite, JournalEntry, JournalState, PostgresOptions, PostgresTls, RunMode,
    Store,
};
use sqlx::ConnectOptions;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

/// The store a benchmark runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A fresh schema of the PostgreSQL database at `url`, named for this process; [`Schema::drop`]
/// removes it with everything in it.
pub struct Schema {
    pub name: String,
    pub url: String,
}

impl Schema {
    pub fn new(url: &str) -> Self {
        let nanos = Utc::now().timestamp_subsec_nanos();
        Self {
            name: format!("muster_bench_{}_{nanos}", std::process::id()),
            url: url.to_owned(),
        }
    }

    /// Drops the schema on a connection of its own; waits at most 10 s for locks.
    pub async fn drop(self) -> Result<()> {
        let options =
            sqlx::postgres::PgConnectOptions::from_str(&self.url).context("the PostgreSQL URL")?;
        let mut conn = options
            .connect()
            .await
            .context("connecting to PostgreSQL")?;
        sqlx::query("SET lock_timeout = '10s'")
            .execute(&mut conn)
            .await?;
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
            .execute(&mut conn)
            .await
            .with_context(|| format!("dropping schema {}", self.name))?;
        Ok(())
    }
}

/// Runs `body` with a fresh schema and drops the schema afterwards, whatever the outcome.
pub async fn with_schema<T, F, Fut>(url: &str, body: F) -> Result<T>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let schema = Schema::new(url);
    let result = body(schema.name.clone()).await;
    let dropped = schema.drop().await;
    let value = result?;
    dropped?;
    Ok(value)
}

fn entry(run: &str, action: u32) -> JournalEntry {
    JournalEntry {
        run: run.into(),
        target: "scim".into(),
        action,
        kind: ActionKind::Create,
        person: format!("p{action:07}").into(),
        account: None,
        permission: None,
        state: JournalState::Planned,
        detail: None,
        updated_at: Utc::now(),
    }
}

fn event(run: &str, action: u32) -> AuditEvent {
    AuditEvent {
        at: Utc::now(),
        run: run.into(),
        target: "scim".into(),
        person: format!("p{action:07}").into(),
        action: ActionKind::Create,
        outcome: ActionOutcome::Done,
        account: Some(format!("acc-{action:07}").into()),
        reason: "rule employees".into(),
        detail: None,
        changes: Vec::new(),
        permission: None,
    }
}

/// One measurement: `actions` journal entries through planned → sent → done + audit event,
/// `concurrency` at a time, on `store`.
async fn measure(store: Arc<dyn Store>, actions: u32, concurrency: u32) -> Result<()> {
    let run = store.start_run(RunMode::Apply, "bench").await?.id;
    let entries: Vec<JournalEntry> = (0..actions).map(|a| entry(&run, a)).collect();
    let started = Instant::now();
    store.journal_planned(&run, entries).await?;
    let planned = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in 0..concurrency {
        let (store, run) = (store.clone(), run.clone());
        tasks.push(tokio::spawn(async move {
            let target = "scim".into();
            // Every `concurrency`-th action, so the lanes interleave as the executor's do.
            for a in (lane..actions).step_by(concurrency as usize) {
                store
                    .journal_set(&run, &target, a, JournalState::Sent, Some("POST /Users"))
                    .await?;
                store
                    .journal_settle(&run, &target, a, JournalState::Done, None, &event(&run, a))
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let took = started.elapsed().as_secs_f64();
    let journal = store.journal(&run).await?;
    let done = journal
        .iter()
        .filter(|e| e.state == JournalState::Done)
        .count();
    anyhow::ensure!(
        done == actions as usize,
        "{done} of {actions} entries done: the figures would be meaningless"
    );
    println!(
        "  {concurrency} in flight: {actions} actions planned in {planned:.3} s ({:.0} entries/s); sent + done/audit in {took:.2} s = {:.0} transitions/s = {:.0} actions/s ({:.2} ms per action)",
        f64::from(actions) / planned,
        2.0 * f64::from(actions) / took,
        f64::from(actions) / took,
        1000.0 * took / f64::from(actions),
    );
    Ok(())
}

/// Journal transitions per second on `backend`, with 1 and 8 actions in flight.
pub async fn journal(backend: Backend, actions: u32, postgres_url: &str) -> Result<()> {
    println!(
        "journal on {}: {actions} actions, each planned → sent → done with its audit event",
        backend.name()
    );
    for concurrency in [1, 8] {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let store = open_sqlite(&dir.path().join("muster.db")).await?;
                let result = measure(Arc::new(store.clone()), actions, concurrency).await;
                store.close().await;
                result?;
            }
            Backend::Postgres => {
                with_schema(postgres_url, |schema| async move {
                    let store = open_postgres(&PostgresOptions {
                        url: Secret::new(postgres_url),
                        tls: PostgresTls::Disable,
                        ca_file: None,
                        max_connections: muster_store::DEFAULT_MAX_CONNECTIONS,
                        schema: Some(schema),
                    })
                    .await?;
                    let result = measure(Arc::new(store.clone()), actions, concurrency).await;
                    store.close().await;
                    result
                })
                .await?;
            }
        }
    }
    Ok(())
}
