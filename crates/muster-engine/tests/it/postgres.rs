//! The engine with `[store] kind = "postgres"`: a real plan and apply against the SCIM
//! simulator, the state in a fresh schema of the test database (dropped afterwards), the URL
//! read from a secret file. Skipped without PostgreSQL unless `MUSTER_REQUIRE_POSTGRES=1`.

use crate::fixture::{day, Fixture};
use muster_core::report::{ActionOutcome, RunStatus};
use muster_store::{AuditQuery, JournalState};
use sqlx::ConnectOptions;
use std::str::FromStr;

fn postgres_url() -> String {
    std::env::var("MUSTER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Whether the server answers; a failure instead when `MUSTER_REQUIRE_POSTGRES=1`.
async fn available() -> bool {
    let reached = match sqlx::postgres::PgConnectOptions::from_str(&postgres_url()) {
        Ok(options) => options.connect().await.map(drop).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match reached {
        Ok(()) => true,
        Err(e) if std::env::var("MUSTER_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("PostgreSQL is required (MUSTER_REQUIRE_POSTGRES=1) but unreachable: {e}")
        }
        Err(e) => {
            eprintln!("skipped: no PostgreSQL ({e})");
            false
        }
    }
}

/// A schema of the test database, dropped when the test ends, even by a panic.
struct Schema(String);

impl Schema {
    fn new() -> Self {
        Self(format!("muster_test_{}", uuid::Uuid::new_v4().simple()))
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let schema = self.0.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let options = sqlx::postgres::PgConnectOptions::from_str(&postgres_url())?;
                let mut conn = options.connect().await?;
                sqlx::query("SET lock_timeout = '10s'")
                    .execute(&mut conn)
                    .await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .execute(&mut conn)
                    .await
                    .map(drop)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test schema {}: {dropped:?}", self.0);
        }
    }
}

#[tokio::test]
async fn a_plan_and_apply_keep_their_journal_and_audit_in_postgres() {
    if !available().await {
        return;
    }
    let schema = Schema::new();
    let url_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(url_file.path(), format!("{}\n", postgres_url())).unwrap();
    let store = format!(
        "[store]\nkind = \"postgres\"\nurl = {{ file = {:?} }}\ntls = \"disable\"\n\
         schema = \"{}\"\nmax_connections = 4",
        url_file.path().display().to_string(),
        schema.0
    );
    let f = Fixture::demo(|t| t.replace("[store]\npath = \"muster.db\"", &store)).await;
    assert!(f.read("muster.toml").contains("kind = \"postgres\""));
    let engine = f.engine().await;
    assert!(
        engine.config.store.location().contains(&schema.0),
        "{}",
        engine.config.store.location()
    );

    let preview = engine.preview(day(1)).await.unwrap();
    let planned = preview.plan.targets[0].actions.len();
    assert!(planned > 300, "{planned}");
    let applied = engine.apply(day(1), None).await.unwrap();
    assert_eq!(applied.summary.status(), RunStatus::Changes);
    assert_eq!(f.sim.state.users().len(), 300);

    // Every action of the run ended done in the journal, each with exactly one audit event.
    let journal = engine.store.journal(&applied.run).await.unwrap();
    assert_eq!(journal.len(), planned);
    assert!(journal.iter().all(|e| e.state == JournalState::Done));
    let events = engine
        .store
        .audit(&AuditQuery {
            run: Some(applied.run.to_string()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), planned, "one audit event per action");
    assert!(events.iter().all(|e| e.outcome == ActionOutcome::Done));
    let mut keys: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.person.to_string(),
                e.action,
                format!("{:?}", e.permission),
            )
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), planned, "no action twice in the audit");
    assert_eq!(engine.store.journal_pending().await.unwrap(), 0);
    assert_eq!(engine.store.links(&"scim".into()).await.unwrap().len(), 300);

    // A second process (a new engine on the same database) sees the state: nothing to do.
    drop(engine);
    let engine = f.engine().await;
    assert!(engine.preview(day(1)).await.unwrap().plan.is_empty());
    let runs = engine.store.runs(10).await.unwrap();
    assert_eq!(runs.len(), 3, "two previews and an apply");

    // Day 2's changes apply on top, journalled and audited the same way.
    f.hr_day(2);
    let second = engine.apply(day(2), None).await.unwrap();
    assert_eq!(second.summary.status(), RunStatus::Changes);
    let journal = engine.store.journal(&second.run).await.unwrap();
    let audited = engine
        .store
        .audit(&AuditQuery {
            run: Some(second.run.to_string()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(!journal.is_empty());
    assert_eq!(audited.len(), journal.len());
    assert!(engine.preview(day(2)).await.unwrap().plan.is_empty());
}
