//! `[store]`: where Muster keeps its state. `kind = "sqlite"` (the default: one file, `path`)
//! or `kind = "postgres"` (a database several nodes share: `url`, `tls`, `ca_file`,
//! `max_connections`, `schema`). Checked here without I/O; the URL's secret is read only when
//! the store is opened ([`PostgresConfig::options`]).

use super::raw::{RawStore, RawStoreUrl};
use muster_connectors::SecretRef;
use muster_core::secret::Secret;
use muster_store::postgres::{check_schema, location, parse_url, url_has_password};
use muster_store::{PostgresOptions, PostgresTls, DEFAULT_MAX_CONNECTIONS};
use std::path::{Path, PathBuf};

/// The SQLite file when the configuration names none, relative to the configuration's folder.
pub const DEFAULT_SQLITE_FILE: &str = "muster.db";

/// The configured store.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreConfig {
    /// One SQLite file (absolute: resolved against the configuration's folder).
    Sqlite {
        path: PathBuf,
    },
    Postgres(PostgresConfig),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PostgresConfig {
    pub url: StoreUrl,
    /// `None`: chosen from the URL's host ([`PostgresOptions::default_tls`]).
    pub tls: Option<PostgresTls>,
    /// Absolute: resolved against the configuration's folder.
    pub ca_file: Option<PathBuf>,
    pub max_connections: u32,
    pub schema: Option<String>,
    /// How long a node's lease lasts without renewal (`lease_seconds`, [`crate::coord`]).
    pub lease: std::time::Duration,
}

/// The PostgreSQL URL: written out when it holds no password, else a secret reference.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreUrl {
    Plain(String),
    Secret(SecretRef),
}

/// A `[store]` setting that is wrong: the key (`store.url`) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettingError {
    pub key: &'static str,
    pub message: String,
}

impl StoreConfig {
    /// The store as messages name it: the file, or the URL without a password.
    pub fn location(&self) -> String {
        match self {
            StoreConfig::Sqlite { path } => path.display().to_string(),
            StoreConfig::Postgres(pg) => match &pg.url {
                StoreUrl::Plain(url) => parse_url(&Secret::new(url.clone()))
                    .map(|o| location(&o, pg.schema.as_deref()))
                    .unwrap_or_else(|_| "the PostgreSQL store".to_owned()),
                StoreUrl::Secret(secret) => {
                    let schema = pg
                        .schema
                        .as_ref()
                        .map(|s| format!(" (schema {s})"))
                        .unwrap_or_default();
                    format!(
                        "the PostgreSQL store whose URL is in {}{schema}",
                        secret.origin()
                    )
                }
            },
        }
    }
}

impl PostgresConfig {
    /// What `muster_store::open_postgres` takes, with the URL's secret read now.
    pub fn options(&self) -> Result<PostgresOptions, crate::EngineError> {
        let url = match &self.url {
            StoreUrl::Plain(url) => Secret::new(url.clone()),
            StoreUrl::Secret(secret) => secret.resolve().map_err(crate::EngineError::StoreUrl)?,
        };
        let mut options = PostgresOptions::new(url)?;
        if let Some(tls) = self.tls {
            options.tls = tls;
        }
        options.ca_file.clone_from(&self.ca_file);
        options.max_connections = self.max_connections;
        options.schema.clone_from(&self.schema);
        Ok(options)
    }
}

/// `[store]` as written → its meaning, or every problem with its key.
pub fn compile(raw: RawStore, base_dir: &Path) -> Result<StoreConfig, Vec<StoreSettingError>> {
    let mut errors = Vec::new();
    let mut err = |key: &'static str, message: String| {
        errors.push(StoreSettingError { key, message });
    };
    let store = match raw.kind.as_deref().unwrap_or("sqlite") {
        "sqlite" => {
            for (key, given) in [
                ("store.url", raw.url.is_some()),
                ("store.tls", raw.tls.is_some()),
                ("store.ca_file", raw.ca_file.is_some()),
                ("store.max_connections", raw.max_connections.is_some()),
                ("store.schema", raw.schema.is_some()),
                ("store.lease_seconds", raw.lease_seconds.is_some()),
            ] {
                if given {
                    err(
                        key,
                        "only a PostgreSQL store (kind = \"postgres\") takes this setting".into(),
                    );
                }
            }
            let path = raw
                .path
                .unwrap_or_else(|| PathBuf::from(DEFAULT_SQLITE_FILE));
            Some(StoreConfig::Sqlite {
                path: base_dir.join(path),
            })
        }
        "postgres" => postgres(raw, base_dir, &mut err).map(StoreConfig::Postgres),
        other => {
            err(
                "store.kind",
                format!("unknown store `{other}`: expected `sqlite` or `postgres`"),
            );
            None
        }
    };
    match store {
        Some(store) if errors.is_empty() => Ok(store),
        _ => Err(errors),
    }
}

fn postgres(
    raw: RawStore,
    base_dir: &Path,
    err: &mut impl FnMut(&'static str, String),
) -> Option<PostgresConfig> {
    if raw.path.is_some() {
        err(
            "store.path",
            "a PostgreSQL store has no file: give `url` (postgres://user@host:port/database)"
                .into(),
        );
    }
    let url = match raw.url {
        None => {
            err(
                "store.url",
                "missing: postgres://user@host:port/database, or { env = \"NAME\" } / \
                 { file = \"/path\" } when the URL holds a password"
                    .into(),
            );
            None
        }
        Some(RawStoreUrl::Secret(secret)) => Some(StoreUrl::Secret(secret)),
        Some(RawStoreUrl::Plain(url)) => plain_url(url, err),
    };
    let tls = raw.tls.and_then(|t| {
        t.parse::<PostgresTls>()
            .map_err(|message| err("store.tls", message))
            .ok()
    });
    if let Some(schema) = &raw.schema {
        if let Err(e) = check_schema(schema) {
            err("store.schema", e.to_string());
        }
    }
    let max_connections = raw.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    if max_connections == 0 {
        err("store.max_connections", "must be at least 1".into());
    }
    let lease = raw.lease_seconds.map_or(
        crate::coord::DEFAULT_LEASE_TTL,
        std::time::Duration::from_secs,
    );
    if !(1..=3600).contains(&lease.as_secs()) {
        err(
            "store.lease_seconds",
            "must be between 1 and 3600 (seconds a dead node's lease lasts)".into(),
        );
    }
    Some(PostgresConfig {
        url: url?,
        tls,
        ca_file: raw.ca_file.map(|f| base_dir.join(f)),
        max_connections,
        schema: raw.schema,
        lease,
    })
}

/// A URL written out in the file: valid, and without a password (whose text is never echoed).
fn plain_url(url: String, err: &mut impl FnMut(&'static str, String)) -> Option<StoreUrl> {
    if url_has_password(&url) {
        err(
            "store.url",
            "the URL holds a password: put the whole URL in a secret, \
             url = { env = \"NAME\" } or url = { file = \"/path\" }"
                .into(),
        );
        return None;
    }
    match parse_url(&Secret::new(url.clone())) {
        Ok(_) => Some(StoreUrl::Plain(url)),
        Err(e) => {
            err("store.url", e.to_string());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_text(text: &str) -> Result<StoreConfig, Vec<StoreSettingError>> {
        let raw: RawStore = toml::from_str(text).expect("shape");
        compile(raw, Path::new("/etc/muster"))
    }

    fn errors(text: &str) -> Vec<(&'static str, String)> {
        compile_text(text)
            .expect_err("refused")
            .into_iter()
            .map(|e| (e.key, e.message))
            .collect()
    }

    #[test]
    fn sqlite_is_the_default_and_its_path_is_relative_to_the_configuration() {
        assert_eq!(
            compile_text("").unwrap(),
            StoreConfig::Sqlite {
                path: "/etc/muster/muster.db".into()
            }
        );
        assert_eq!(
            compile_text("kind = \"sqlite\"\npath = \"state/m.db\"").unwrap(),
            StoreConfig::Sqlite {
                path: "/etc/muster/state/m.db".into()
            }
        );
    }

    #[test]
    fn a_postgres_store_takes_a_url_tls_ca_pool_size_and_schema() {
        let store = compile_text(
            "kind = \"postgres\"\nurl = \"postgres://muster@db.example.org:5433/muster\"\n\
             tls = \"verify-full\"\nca_file = \"ca.pem\"\nmax_connections = 4\nschema = \"muster\"\n\
             lease_seconds = 30",
        )
        .unwrap();
        assert_eq!(
            store,
            StoreConfig::Postgres(PostgresConfig {
                url: StoreUrl::Plain("postgres://muster@db.example.org:5433/muster".into()),
                tls: Some(PostgresTls::VerifyFull),
                ca_file: Some("/etc/muster/ca.pem".into()),
                max_connections: 4,
                schema: Some("muster".into()),
                lease: std::time::Duration::from_secs(30),
            })
        );
        assert_eq!(
            store.location(),
            "postgres://muster@db.example.org:5433/muster (schema muster)"
        );
        let StoreConfig::Postgres(pg) = store else {
            unreachable!()
        };
        let options = pg.options().unwrap();
        assert_eq!(options.tls, PostgresTls::VerifyFull);
        assert_eq!(options.max_connections, 4);
    }

    #[test]
    fn tls_defaults_to_off_on_this_machine_and_to_verify_full_elsewhere() {
        for (url, tls) in [
            ("postgres://m@127.0.0.1/db", PostgresTls::Disable),
            ("postgres://m@localhost/db", PostgresTls::Disable),
            ("postgres://m@[::1]:5432/db", PostgresTls::Disable),
            ("postgres://m@db.example.org/db", PostgresTls::VerifyFull),
            ("postgres://m@10.0.0.5/db", PostgresTls::VerifyFull),
        ] {
            let text = format!("kind = \"postgres\"\nurl = \"{url}\"");
            let StoreConfig::Postgres(pg) = compile_text(&text).unwrap() else {
                panic!("postgres")
            };
            assert_eq!(pg.options().unwrap().tls, tls, "{url}");
        }
    }

    #[test]
    fn a_url_with_a_password_must_be_a_secret_and_is_never_echoed() {
        for url in [
            "postgres://muster:hunter2@db/muster",
            "postgres://muster@db/muster?password=hunter2",
        ] {
            let found = errors(&format!("kind = \"postgres\"\nurl = \"{url}\""));
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].0, "store.url");
            assert!(found[0].1.contains("{ env"), "{}", found[0].1);
            assert!(!found[0].1.contains("hunter2"), "{}", found[0].1);
        }
        let StoreConfig::Postgres(pg) =
            compile_text("kind = \"postgres\"\nurl = { env = \"MUSTER_TEST_PG_URL_UNSET\" }")
                .unwrap()
        else {
            panic!("postgres")
        };
        assert_eq!(
            pg.url,
            StoreUrl::Secret(SecretRef::Env("MUSTER_TEST_PG_URL_UNSET".into()))
        );
        let unset = pg.options().unwrap_err().to_string();
        assert!(unset.contains("MUSTER_TEST_PG_URL_UNSET"), "{unset}");
    }

    #[test]
    fn wrong_settings_are_named_by_key() {
        let keys = |text: &str| errors(text).into_iter().map(|e| e.0).collect::<Vec<_>>();
        assert_eq!(keys("kind = \"mysql\""), ["store.kind"]);
        assert_eq!(keys("url = \"postgres://m@h/d\""), ["store.url"]);
        assert_eq!(keys("kind = \"postgres\""), ["store.url"]);
        assert_eq!(
            keys("kind = \"postgres\"\npath = \"m.db\"\nurl = \"postgres://m@h/d\""),
            ["store.path"]
        );
        assert_eq!(
            keys("kind = \"postgres\"\nurl = \"mysql://m@h/d\""),
            ["store.url"]
        );
        assert_eq!(
            keys("kind = \"postgres\"\nurl = \"postgres://m@h/d\"\ntls = \"prefer\""),
            ["store.tls"]
        );
        assert_eq!(
            keys("kind = \"postgres\"\nurl = \"postgres://m@h/d\"\nschema = \"Muster; DROP\""),
            ["store.schema"]
        );
        assert_eq!(
            keys("kind = \"postgres\"\nurl = \"postgres://m@h/d\"\nmax_connections = 0"),
            ["store.max_connections"]
        );
        let tls = errors("kind = \"postgres\"\nurl = \"postgres://m@h/d\"\ntls = \"prefer\"");
        assert!(
            tls[0].1.contains("disable, require or verify-full"),
            "{tls:?}"
        );
    }
}
