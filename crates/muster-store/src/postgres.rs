//! [`PostgresStore`]: the [`Store`](crate::Store) in a PostgreSQL database, for several Muster nodes
//! sharing one state (issue 18).
//!
//! It gives what the SQLite store gives: a connection pool, versioned migrations
//! (`migrations/postgres/`, applied by [`open_postgres`] under sqlx's advisory lock, so nodes
//! that start together migrate once), batch writes in one transaction, and an action's end
//! state committed with its audit event in one transaction. Every connection runs with
//! `synchronous_commit = on`, whatever the server's default: a journal entry marked `sent` is
//! on disk before `journal_set` returns, and so before the request goes out.
//!
//! Writes that SQLite serialises with `BEGIN IMMEDIATE` are made safe here by the statements
//! themselves (a conditional `UPDATE` re-checks its row after waiting for another writer's
//! lock) or by locking the rows a decision is about (`decide`).
//!
//! The queries, the row conversions and the `Store` impl are shared with [`crate::sqlite`]:
//! the files in `src/sql/` are compiled into each backend as its own modules, with `dialect`
//! naming what PostgreSQL stores differently (timestamps are `TIMESTAMPTZ`, JSON is `JSONB`,
//! dates are `DATE`) and the locks it takes. What is PostgreSQL's own stays here: the URL, TLS
//! and schema settings, opening and migrating under an advisory lock, and how the executor's
//! per-action writes are committed (each on its own).
//!
//! The URL may hold a password, so it is a [`Secret`]: errors and logs name the store as
//! `postgres://user@host:port/database`, never with the password.

mod dialect;

// Compiled once per backend on purpose (also in `sqlite.rs`): the shared queries, with this
// backend's `dialect` (see `sql/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

use muster_core::secret::Secret;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::{Connection, Postgres};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;
use tracing::debug;

use crate::error::StoreError;

/// Connections in the pool when the configuration names no number.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// How long opening waits for the server, and a statement for a free connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How the connection to the server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostgresTls {
    /// Plain TCP (a server on this machine, or a private network the administrator trusts).
    Disable,
    /// TLS, without checking the server's certificate.
    Require,
    /// TLS, with the server's certificate checked against the CA (`ca_file`, or the public
    /// roots) and its name against the URL's host.
    VerifyFull,
}

impl PostgresTls {
    pub const ALL: &'static [(&'static str, PostgresTls)] = &[
        ("disable", PostgresTls::Disable),
        ("require", PostgresTls::Require),
        ("verify-full", PostgresTls::VerifyFull),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PostgresTls::Disable => "disable",
            PostgresTls::Require => "require",
            PostgresTls::VerifyFull => "verify-full",
        }
    }

    fn ssl_mode(self) -> PgSslMode {
        match self {
            PostgresTls::Disable => PgSslMode::Disable,
            PostgresTls::Require => PgSslMode::Require,
            PostgresTls::VerifyFull => PgSslMode::VerifyFull,
        }
    }
}

impl FromStr for PostgresTls {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, tls)| *tls)
            .ok_or_else(|| {
                format!("unknown tls mode `{s}`: expected disable, require or verify-full")
            })
    }
}

/// Where and how to reach the PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// `postgres://user[:password]@host[:port]/database`: a secret, since it may hold the
    /// password.
    pub url: Secret,
    pub tls: PostgresTls,
    /// The CA that signed the server's certificate (PEM), for `verify-full`.
    pub ca_file: Option<PathBuf>,
    pub max_connections: u32,
    /// The schema that holds Muster's tables, created when missing; `None`: the server's
    /// `search_path` (normally `public`).
    pub schema: Option<String>,
}

impl PostgresOptions {
    /// Options for `url` with TLS as [`PostgresOptions::default_tls`] chooses, the default
    /// pool size and no schema.
    pub fn new(url: Secret) -> Result<Self, StoreError> {
        let tls = Self::default_tls(&parse_url(&url)?);
        Ok(Self {
            url,
            tls,
            ca_file: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            schema: None,
        })
    }

    /// `disable` for a server on this machine (a loopback address or a Unix socket), whose
    /// traffic never leaves it; `verify-full` for any other.
    pub fn default_tls(url: &PgConnectOptions) -> PostgresTls {
        let host = url.get_host();
        let local = url.get_socket().is_some()
            || host.starts_with('/')
            || host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if local {
            PostgresTls::Disable
        } else {
            PostgresTls::VerifyFull
        }
    }

    /// The store as messages name it: the URL without its password, and the schema.
    pub fn location(&self) -> Result<String, StoreError> {
        Ok(location(&parse_url(&self.url)?, self.schema.as_deref()))
    }
}

/// Reads the URL; the error never quotes it (it may hold the password).
pub fn parse_url(url: &Secret) -> Result<PgConnectOptions, StoreError> {
    let text = url.expose();
    if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
        return Err(StoreError::PostgresSettings {
            detail: "the URL must start with postgres:// or postgresql:// \
                     (postgres://user@host:port/database)"
                .into(),
        });
    }
    PgConnectOptions::from_str(text).map_err(|e| StoreError::PostgresSettings {
        detail: format!("the URL is not valid: {}", without(text, &e.to_string())),
    })
}

/// `message` with every occurrence of `secret_text` (and of its password part) removed.
fn without(secret_text: &str, message: &str) -> String {
    if message.contains(secret_text) {
        return message.replace(secret_text, "<the URL>");
    }
    message.to_owned()
}

/// The store as messages name it: `postgres://user@host:port/database (schema s)`, never
/// with the password.
pub fn location(options: &PgConnectOptions, schema: Option<&str>) -> String {
    let mut text = format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    );
    if let Some(schema) = schema {
        text.push_str(&format!(" (schema {schema})"));
    }
    text
}

/// Whether a URL carries a password (`user:password@` or `?password=`), which belongs in a
/// secret (`{ env }` or `{ file }`), not in a configuration file.
pub fn url_has_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let in_userinfo = authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'));
    let in_query = url.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some("password"))
    });
    in_userinfo || in_query
}

/// A schema name Muster will put in `search_path` and `CREATE SCHEMA`: a plain lowercase
/// identifier, so it needs no quoting anywhere.
pub fn check_schema(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && schema.len() <= 63;
    if plain {
        Ok(())
    } else {
        Err(StoreError::PostgresSettings {
            detail: format!(
                "schema `{schema}` is not a plain name: use lowercase letters, digits and _ \
                 (at most 63, not starting with a digit)"
            ),
        })
    }
}

/// The state store in a PostgreSQL database. Cloning shares the connection pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

/// Connects (checking the server answers within [`CONNECT_TIMEOUT`], so an unreachable server
/// is reported as such), creates the schema when one is named and missing, and applies any
/// migration the database has not seen yet.
pub async fn open_postgres(options: &PostgresOptions) -> Result<PostgresStore, StoreError> {
    let connect = connect_options(options)?;
    let location = location(&connect, options.schema.as_deref());
    probe(&connect, options.schema.as_deref(), &location).await?;
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(connect)
        .await
        .map_err(|source| StoreError::Open {
            location: location.clone(),
            source,
        })?;
    PostgresStore::prepare(pool, location).await
}

fn connect_options(options: &PostgresOptions) -> Result<PgConnectOptions, StoreError> {
    let mut connect = parse_url(&options.url)?
        .ssl_mode(options.tls.ssl_mode())
        .application_name("muster");
    if let Some(ca) = &options.ca_file {
        if !ca.is_file() {
            return Err(StoreError::PostgresSettings {
                detail: format!("the CA file {} does not exist", ca.display()),
            });
        }
        connect = connect.ssl_root_cert(ca);
    }
    let mut settings = vec![("synchronous_commit", "on".to_owned())];
    if let Some(schema) = &options.schema {
        check_schema(schema)?;
        settings.push(("search_path", schema.clone()));
    }
    Ok(connect.options(settings))
}

/// One connection first: its error says why the server cannot be reached (refused, TLS,
/// authentication), where a pool would only time out. On it the named schema is created and
/// the migrations run.
async fn probe(
    connect: &PgConnectOptions,
    schema: Option<&str>,
    location: &str,
) -> Result<(), StoreError> {
    let open = |source| StoreError::Open {
        location: location.to_owned(),
        source,
    };
    let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, sqlx::PgConnection::connect_with(connect))
        .await
        .map_err(|_| StoreError::ConnectTimeout {
            location: location.to_owned(),
            seconds: CONNECT_TIMEOUT.as_secs(),
        })?
        .map_err(open)?;
    // Nodes that start together would race on `CREATE SCHEMA` and on sqlx's migrations
    // table (both `IF NOT EXISTS`, neither safe at once): one at a time, the lock released
    // with the connection.
    sqlx::query("SELECT pg_advisory_lock(hashtextextended($1, 0))")
        .bind(format!("muster.open.{}", schema.unwrap_or("")))
        .execute(&mut conn)
        .await
        .map_err(open)?;
    if let Some(schema) = schema {
        // `schema` passed `check_schema`: a plain identifier, safe without quoting.
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .execute(&mut conn)
            .await
            .map_err(open)?;
    }
    MIGRATOR
        .run(&mut conn)
        .await
        .map_err(|source| StoreError::Migrate {
            location: location.to_owned(),
            source,
        })?;
    conn.close().await.map_err(open)
}

impl PostgresStore {
    /// Completes an open whose connection `probe` already migrated.
    async fn prepare(pool: PgPool, location: String) -> Result<Self, StoreError> {
        sql::offer_fingerprint_key(&pool).await?;
        debug!(store = %location, "State store opened.");
        Ok(Self { pool })
    }

    /// One of the writes of runs and sign-ins, durable when this returns
    /// (`synchronous_commit = on`). A single statement runs on its own; several (a journal
    /// move with its audit event, a run's planned entries, audit events) run in a
    /// transaction, so all are committed or none.
    async fn write(&self, write: sql::Write) -> Result<(), StoreError> {
        let (op, table) = (write.op(), write.table());
        // Several statements (the run's entries; an end and its audit event; audit events):
        // one transaction.
        if let sql::Write::JournalPlanned { .. }
        | sql::Write::JournalSettle { .. }
        | sql::Write::AppendAudit(_) = write
        {
            let mut tx = begin_write(&self.pool, op, table, "one write").await?;
            write.run(&mut tx).await?;
            return tx
                .commit()
                .await
                .map_err(StoreError::db(op, table, "one write"));
        }
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(StoreError::db(op, table, "one write"))?;
        write.run(&mut conn).await
    }

    /// The connection pool, for what several nodes coordinate through the same database
    /// (leadership, the apply lock).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Waits for every connection to finish and closes them. Later calls on this store or
    /// its clones fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Begins a write transaction.
async fn begin_write(
    pool: &PgPool,
    op: &'static str,
    table: &'static str,
    context: &str,
) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
    pool.begin()
        .await
        .map_err(StoreError::db(op, table, context))
}
