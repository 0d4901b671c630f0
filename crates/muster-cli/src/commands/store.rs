//! store migrate, store copy: the state store itself.

use super::{load_config, print_json};
use crate::cli::Args;
use crate::exit;
use crate::output::table;
use anyhow::{bail, Context, Result};
use muster_core::secret::Secret;
use muster_engine::config::StoreConfig;
use muster_store::schema::SchemaVersion;
use muster_store::{PostgresOptions, PostgresStore};
use std::path::Path;

/// Opens the configured store, which applies every migration it has not seen yet, and says
/// which version it is at.
pub async fn migrate(args: &Args) -> Result<u8> {
    let config = load_config(args)?;
    let location = config.store.location();
    let version = match &config.store {
        StoreConfig::Sqlite { path } => {
            let store = muster_store::open_sqlite(path).await?;
            let version = muster_store::schema::sqlite(store.pool()).await?;
            store.close().await;
            version
        }
        StoreConfig::Postgres(pg) => {
            let store = muster_store::open_postgres(&pg.options()?).await?;
            muster_store::schema::postgres(store.pool()).await?
        }
    };
    report_version(args, &location, &version)?;
    Ok(exit::OK)
}

fn report_version(args: &Args, location: &str, v: &SchemaVersion) -> Result<()> {
    if args.json {
        return print_json(&serde_json::json!({
            "store": location, "version": v.version, "description": v.description,
            "migrations": v.applied,
        }));
    }
    println!(
        "State store {location}: schema version {} ({}), {} migration(s) applied; nothing pending.",
        v.version, v.description, v.applied
    );
    Ok(())
}

/// Copies a SQLite store into a PostgreSQL store (`--to`, or the configured one).
pub async fn copy(args: &Args, from: &str, to: Option<&str>, force: bool) -> Result<u8> {
    let Some(path) = from.strip_prefix("sqlite:") else {
        bail!("--from must be `sqlite:PATH` (the SQLite store to copy), not `{from}`");
    };
    let path = Path::new(path);
    if !path.is_file() {
        bail!("--from: there is no SQLite store at {}", path.display());
    }
    let options = target_options(args, to)?;
    let location = options.location()?;
    let source = muster_store::open_sqlite(path)
        .await
        .with_context(|| format!("cannot open the SQLite store {}", path.display()))?;
    let target: PostgresStore = muster_store::open_postgres(&options).await?;
    let copied = muster_store::copy::sqlite_to_postgres(source.pool(), target.pool(), force)
        .await
        .with_context(|| format!("nothing was copied into {location}"));
    source.close().await;
    let report = copied?;
    if args.json {
        print_json(&serde_json::json!({
            "from": path.display().to_string(), "to": location, "replaced": report.replaced,
            "tables": report.tables.iter().map(|(t, n)| serde_json::json!({"table": t, "rows": n})).collect::<Vec<_>>(),
        }))?;
        return Ok(exit::OK);
    }
    let rows: Vec<Vec<String>> = report
        .tables
        .iter()
        .map(|(t, n)| vec![t.clone(), n.to_string()])
        .collect();
    print!("{}", table(&["table", "rows"], &rows));
    println!(
        "Copied {} into {location}{}.",
        path.display(),
        if report.replaced {
            " (its earlier history replaced)"
        } else {
            ""
        }
    );
    Ok(exit::OK)
}

/// `postgres:URL`, or the configured store when `--to` is left out (it must be PostgreSQL).
fn target_options(args: &Args, to: Option<&str>) -> Result<PostgresOptions> {
    match to {
        Some(to) => {
            let Some(url) = to.strip_prefix("postgres:") else {
                bail!("--to must be `postgres:URL` (postgres://user@host:port/database)");
            };
            if muster_store::postgres::url_has_password(url) {
                bail!(
                    "--to: put no password on the command line (other users can read it); \
                     name the store in the configuration with url = {{ env = \"…\" }} and leave --to out"
                );
            }
            Ok(PostgresOptions::new(Secret::new(url.to_owned()))?)
        }
        None => match load_config(args)?.store {
            StoreConfig::Postgres(pg) => Ok(pg.options()?),
            StoreConfig::Sqlite { .. } => {
                bail!("--to left out, but the configured store is SQLite: give --to postgres:URL")
            }
        },
    }
}
