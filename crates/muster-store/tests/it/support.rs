//! A fresh store per test on either backend, and a raw connection to it for looking
//! underneath: SQLite in a new file in a temporary directory, PostgreSQL in a new schema
//! (`muster_test_<uuid>`) of the database at `MUSTER_TEST_POSTGRES_URL`, dropped afterwards.
//!
//! Without a reachable PostgreSQL the `postgres` cases pass without running (and say so),
//! unless `MUSTER_REQUIRE_POSTGRES=1`, when they fail.

use chrono::{DateTime, TimeZone, Utc};
use muster_core::secret::Secret;
use muster_store::{
    open_postgres, open_sqlite, PostgresOptions, PostgresStore, PostgresTls, SqliteStore, Store,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions, Connection, Row};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;
use tempfile::TempDir;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Runs each named `async fn(Backend)` test twice: `<name>::sqlite` and `<name>::postgres`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name(crate::support::Backend::Sqlite).await
                }
                #[tokio::test]
                async fn postgres() {
                    if crate::support::postgres_available() {
                        super::$name(crate::support::Backend::Postgres).await
                    }
                }
            }
        )*
    };
}
pub(crate) use conformance;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The test database's URL (no password: the test server trusts local connections).
pub fn postgres_url() -> String {
    std::env::var("MUSTER_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// Whether the PostgreSQL cases can run: the server answers a TCP connection. Decided once per
/// test process; fails the test instead when `MUSTER_REQUIRE_POSTGRES=1`.
pub fn postgres_available() -> bool {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    let found = AVAILABLE.get_or_init(|| {
        let options = PgConnectOptions::from_str(&postgres_url()).map_err(|e| e.to_string())?;
        let address = format!("{}:{}", options.get_host(), options.get_port());
        let addrs =
            std::net::ToSocketAddrs::to_socket_addrs(&address).map_err(|e| e.to_string())?;
        for addr in addrs {
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_ok() {
                return Ok(());
            }
        }
        Err(format!("nothing answers at {address}"))
    });
    match found {
        Ok(()) => true,
        Err(why) if std::env::var("MUSTER_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("PostgreSQL is required (MUSTER_REQUIRE_POSTGRES=1) but unreachable: {why}")
        }
        Err(why) => {
            eprintln!("skipped: no PostgreSQL for the store suite ({why})");
            false
        }
    }
}

/// The options the suite opens a PostgreSQL store with, in `schema`.
pub fn postgres_options(schema: &str) -> PostgresOptions {
    PostgresOptions {
        url: Secret::new(postgres_url()),
        tls: PostgresTls::Disable,
        ca_file: None,
        max_connections: 4,
        schema: Some(schema.to_owned()),
    }
}

enum Kind {
    Sqlite {
        store: SqliteStore,
        path: PathBuf,
        // Held so the directory lives as long as the test; dropped last, it removes the
        // database.
        _dir: TempDir,
    },
    Postgres {
        store: PostgresStore,
        schema: String,
    },
}

pub struct TestDb {
    pub store: Box<dyn Store>,
    kind: Kind,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("state").join("muster.db");
                let store = open_sqlite(&path).await.expect("open store");
                Self {
                    store: Box::new(store.clone()),
                    kind: Kind::Sqlite {
                        store,
                        path,
                        _dir: dir,
                    },
                }
            }
            Backend::Postgres => {
                let schema = format!("muster_test_{}", uuid::Uuid::new_v4().simple());
                let store = open_postgres(&postgres_options(&schema))
                    .await
                    .expect("open store");
                Self {
                    store: Box::new(store.clone()),
                    kind: Kind::Postgres { store, schema },
                }
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self.kind {
            Kind::Sqlite { .. } => Backend::Sqlite,
            Kind::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Closes the store and opens the same database again.
    pub async fn reopen(&mut self) {
        match &mut self.kind {
            Kind::Sqlite { store, path, .. } => {
                store.close().await;
                *store = open_sqlite(path).await.expect("reopen store");
                self.store = Box::new(store.clone());
            }
            Kind::Postgres { store, schema } => {
                store.close().await;
                *store = open_postgres(&postgres_options(schema))
                    .await
                    .expect("reopen store");
                self.store = Box::new(store.clone());
            }
        }
    }

    /// The SQLite store itself, for what only that backend has (its group commit's counters).
    pub fn sqlite(&self) -> Option<&SqliteStore> {
        match &self.kind {
            Kind::Sqlite { store, .. } => Some(store),
            Kind::Postgres { .. } => None,
        }
    }

    /// A separate connection to the same database, for SQL the store's API would not run.
    pub async fn raw(&self) -> Raw {
        match &self.kind {
            Kind::Sqlite { path, .. } => Raw::Sqlite(raw_pool(path).await),
            Kind::Postgres { schema, .. } => Raw::Postgres(raw_pg(schema).await),
        }
    }

    /// Everything the store keeps, as bytes: for SQLite every file it left on disk (database,
    /// WAL and shared memory, after closing its connections), for PostgreSQL every row of
    /// every table of its schema as text.
    pub async fn everything_stored(&self) -> Vec<u8> {
        match &self.kind {
            Kind::Sqlite { store, path, .. } => {
                store.close().await;
                let mut bytes = Vec::new();
                let dir = path.parent().expect("db dir");
                for entry in std::fs::read_dir(dir).expect("read dir") {
                    let path = entry.expect("dir entry").path();
                    bytes.extend(std::fs::read(&path).expect("read db file"));
                }
                assert!(!bytes.is_empty(), "no database files in {}", dir.display());
                bytes
            }
            Kind::Postgres { schema, .. } => {
                let raw = raw_pg(schema).await;
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::TEXT FROM information_schema.tables \
                     WHERE table_schema = current_schema() ORDER BY table_name",
                )
                .fetch_all(&raw)
                .await
                .expect("tables");
                assert!(!tables.is_empty(), "no tables in schema {schema}");
                let mut bytes = Vec::new();
                for table in tables {
                    let rows: Vec<String> =
                        sqlx::query_scalar(&format!("SELECT t::TEXT FROM \"{table}\" t"))
                            .fetch_all(&raw)
                            .await
                            .expect("rows");
                    for row in rows {
                        bytes.extend(row.into_bytes());
                    }
                }
                bytes
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Kind::Postgres { schema, .. } = &self.kind {
            drop_schema(schema);
        }
    }
}

/// Drops a test's schema from a thread of its own (a `Drop` cannot wait on the test's
/// runtime), giving up after a lock timeout rather than hanging the suite.
pub fn drop_schema(schema: &str) {
    let schema = schema.to_owned();
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let options = PgConnectOptions::from_str(&postgres_url()).map_err(|e| e.to_string())?;
            let mut conn = options.connect().await.map_err(|e| e.to_string())?;
            sqlx::query("SET lock_timeout = '10s'")
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            conn.close().await.map_err(|e| e.to_string())
        })
    })
    .join();
    match dropped {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("could not drop the test schema: {e}"),
        Err(_) => eprintln!("dropping the test schema panicked"),
    }
}

/// A pool on a test's own database, in its dialect.
pub enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Raw {
    /// Runs one statement without parameters (the test writes its literals).
    pub async fn exec(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match self {
            Raw::Sqlite(pool) => sqlx::query(sql)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
            Raw::Postgres(pool) => sqlx::query(sql)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
        }
    }

    /// The first column of one row, as a number.
    pub async fn count(&self, sql: &str) -> i64 {
        match self {
            Raw::Sqlite(pool) => sqlx::query(sql).fetch_one(pool).await.unwrap().get(0),
            Raw::Postgres(pool) => sqlx::query(sql).fetch_one(pool).await.unwrap().get(0),
        }
    }

    /// The first column of every row, as text (the SQL casts it).
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        match self {
            Raw::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
            Raw::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        }
    }

    /// The columns of `table`.
    pub async fn columns(&self, table: &str) -> Vec<String> {
        match self {
            Raw::Sqlite(_) => {
                self.texts(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .await
            }
            Raw::Postgres(_) => {
                self.texts(&format!(
                    "SELECT column_name::TEXT FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = '{table}'"
                ))
                .await
            }
        }
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

pub async fn raw_pg(schema: &str) -> PgPool {
    let options = PgConnectOptions::from_str(&postgres_url())
        .expect("test URL")
        .options([("search_path", schema)]);
    PgPoolOptions::new()
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
