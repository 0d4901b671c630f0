//! [`PostgresStore`]: the [`Store`] in a PostgreSQL database, for several Muster nodes
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
//! The layout mirrors [`crate::sqlite`]: one private module per area, `rows` for the checked
//! conversion of typed rows. Timestamps are `TIMESTAMPTZ`, JSON is `JSONB`.
//!
//! The URL may hold a password, so it is a [`Secret`]: errors and logs name the store as
//! `postgres://user@host:port/database`, never with the password.

mod approvals;
mod audit;
mod computed;
mod grants;
mod journal;
mod links;
mod orphans;
mod rows;
mod runs;
mod server;
mod snapshots;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use muster_core::plan::ActionKind;
use muster_core::report::AuditEvent;
use muster_core::secret::Secret;
use muster_core::{AccountRef, ExternalId, GroupRef, TargetName};
use rand::RngCore;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::{Connection, Postgres};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;
use tracing::debug;

use crate::error::StoreError;
use crate::store::{
    ApiToken, Approval, AuditQuery, BlockedRecord, ComputedChanges, ComputedValues, Decision,
    DecisionKind, Fingerprint, GrantMade, JournalEntry, JournalState, Link, OrphanDecision,
    ReportKind, RunMode, RunRecord, RunStatus, SnapshotMeta, SnapshotPerson, Store, StoredPlan,
    StoredReport,
};

/// Connections in the pool when the configuration names no number.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// How long opening waits for the server, and a statement for a free connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Rows per multi-row INSERT, as in SQLite: far below PostgreSQL's 65,535 bound parameters.
const BATCH_ROWS: usize = 500;

const FINGERPRINT_KEY: &str = "fingerprint_key";

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
        // Every open offers a fresh key; only the first one is kept, whichever node opens
        // the database first.
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let key: String = key.iter().map(|b| format!("{b:02x}")).collect();
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(FINGERPRINT_KEY)
            .bind(key)
            .execute(&pool)
            .await
            .map_err(StoreError::db("open", "meta", FINGERPRINT_KEY))?;
        debug!(store = %location, "State store opened.");
        Ok(Self { pool })
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

/// The current time as the store keeps it (microseconds).
fn now() -> DateTime<Utc> {
    rows::ts(Utc::now())
}

use crate::codec::to_i64;

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

#[async_trait]
impl Store for PostgresStore {
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
        links::upsert_link(&self.pool, link).await
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
        grants::record_grant(&self.pool, grant).await
    }

    async fn forget_grant(
        &self,
        target: &TargetName,
        account: &AccountRef,
        group: &GroupRef,
    ) -> Result<(), StoreError> {
        grants::forget_grant(&self.pool, target, account, group).await
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
        links::set_fingerprint(&self.pool, target, fp).await
    }

    async fn clear_fingerprint(
        &self,
        target: &TargetName,
        account: &AccountRef,
        field: &str,
    ) -> Result<(), StoreError> {
        links::clear_fingerprint(&self.pool, target, account, field).await
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
        journal::journal_set(&self.pool, run, target, action, state, detail).await
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
        journal::journal_settle(&self.pool, run, target, action, state, detail, event).await
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
        let key: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
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
