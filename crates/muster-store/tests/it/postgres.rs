//! What only the PostgreSQL store has: its URL and settings, a clear error for a server that
//! cannot be reached (never with the password), the schema made on open, migrations applied
//! once by nodes that open together, and commits that are durable before a call returns.

use crate::support::{drop_schema, postgres_available, postgres_options, raw_pg, TestDb};
use crate::support::{Backend, Raw};
use muster_core::plan::ActionKind;
use muster_core::secret::Secret;
use muster_store::{
    open_postgres, JournalEntry, JournalState, PostgresOptions, PostgresTls, RunMode, Store,
    StoreError,
};

fn options(url: &str) -> PostgresOptions {
    PostgresOptions {
        url: Secret::new(url),
        tls: PostgresTls::Disable,
        ca_file: None,
        max_connections: 2,
        schema: None,
    }
}

/// A port on 127.0.0.1 where nothing listens (bound, then let go).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn an_unreachable_server_is_named_without_its_password() {
    let port = closed_port();
    let url = format!("postgres://muster:hunter2@127.0.0.1:{port}/muster");
    let err = open_postgres(&options(&url)).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(
        text.contains(&format!("postgres://muster@127.0.0.1:{port}/muster")),
        "{text}"
    );
    assert!(text.to_lowercase().contains("refused"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
}

#[tokio::test]
async fn a_bad_url_or_setting_is_refused_before_connecting() {
    for url in [
        "mysql://muster:hunter2@127.0.0.1/muster",
        "postgres://muster:hunter2@127.0.0.1:notaport/muster",
    ] {
        let err = open_postgres(&options(url)).await.unwrap_err();
        assert!(
            matches!(err, StoreError::PostgresSettings { .. }),
            "{url}: {err:?}"
        );
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
    let mut bad_schema = options("postgres://muster@127.0.0.1/muster");
    bad_schema.schema = Some("x; DROP TABLE runs".into());
    let err = open_postgres(&bad_schema).await.unwrap_err().to_string();
    assert!(err.contains("not a plain name"), "{err}");
    let mut no_ca = options("postgres://muster@127.0.0.1/muster");
    no_ca.ca_file = Some("/nonexistent/ca.pem".into());
    let err = open_postgres(&no_ca).await.unwrap_err().to_string();
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
}

#[tokio::test]
async fn nodes_opening_a_new_schema_together_create_and_migrate_it_once() {
    if !postgres_available() {
        return;
    }
    let schema = format!("muster_test_{}", uuid::Uuid::new_v4().simple());
    let opens = (0..3).map(|_| {
        let options = postgres_options(&schema);
        async move { open_postgres(&options).await }
    });
    let stores = futures::future::join_all(opens).await;
    let raw = Raw::Postgres(raw_pg(&schema).await);
    let applied = raw
        .count("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .await;
    let keys = raw.count("SELECT count(*) FROM meta").await;
    let mut found = Vec::new();
    for store in &stores {
        match store {
            Ok(store) => found.push(store.fingerprint_key().await.unwrap()),
            Err(e) => found.push(Secret::new(format!("error: {e}"))),
        }
    }
    for store in stores.iter().flatten() {
        store.close().await;
    }
    drop_schema(&schema);
    assert!(
        found.iter().all(|k| !k.expose().starts_with("error")),
        "{:?}",
        found
            .iter()
            .map(|k| k.expose().to_owned())
            .collect::<Vec<_>>()
    );
    assert!(applied >= 1);
    assert_eq!(keys, 1, "one fingerprint key");
    assert!(
        found.windows(2).all(|w| w[0] == w[1]),
        "one key for every node"
    );
}

#[tokio::test]
async fn a_sent_entry_is_committed_before_the_call_returns_and_commits_are_synchronous() {
    if !postgres_available() {
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let Raw::Postgres(raw) = db.raw().await else {
        unreachable!()
    };
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    let entry = JournalEntry {
        run: run.clone(),
        target: "scim".into(),
        action: 0,
        kind: ActionKind::Create,
        person: "p0".into(),
        account: None,
        permission: None,
        state: JournalState::Planned,
        detail: None,
        updated_at: crate::support::at(12, 0),
    };
    db.store.journal_planned(&run, vec![entry]).await.unwrap();
    db.store
        .journal_set(
            &run,
            &"scim".into(),
            0,
            JournalState::Sent,
            Some("POST /Users"),
        )
        .await
        .unwrap();
    // Another session sees it at once: committed, not waiting in an open transaction.
    let state: String =
        sqlx::query_scalar("SELECT state FROM journal WHERE run = $1 AND action = 0")
            .bind(run.as_str())
            .fetch_one(&raw)
            .await
            .unwrap();
    assert_eq!(state, "sent");

    // And the store's sessions commit synchronously, even when the URL (or the server)
    // says otherwise.
    let mut options = postgres_options(&schema_of(&raw).await);
    let url = crate::support::postgres_url();
    let sep = if url.contains('?') { '&' } else { '?' };
    options.url = Secret::new(format!("{url}{sep}options=-c%20synchronous_commit%3Doff"));
    let store = open_postgres(&options).await.unwrap();
    let setting: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(store.pool())
        .await
        .unwrap();
    store.close().await;
    assert_eq!(setting, "on");
}

async fn schema_of(raw: &sqlx::PgPool) -> String {
    sqlx::query_scalar("SELECT current_schema()::TEXT")
        .fetch_one(raw)
        .await
        .unwrap()
}
