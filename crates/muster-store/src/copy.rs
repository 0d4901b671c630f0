//! `muster store copy`: every row of a SQLite store into a PostgreSQL store, in one
//! transaction on the target, so a single node can become several without losing history.
//!
//! Both stores are opened (and so migrated) first; the copy then goes table by table in the
//! order their foreign keys need, with each table's columns read from both databases: a
//! table or column the target lacks stops the copy with its name, before anything is written.
//! Values keep their meaning across the dialects: SQLite's text timestamps, JSON, dates and
//! integers are cast by PostgreSQL to the target column's type (`timestamptz`, `jsonb`, …),
//! blobs go as `bytea`. Identity columns keep their values and their sequences move past the
//! largest copied one.
//!
//! The target must hold no history (every copied table empty), unless `force`: then its copied
//! tables are emptied first, in the same transaction. The fingerprint key (`meta`) always
//! comes from the source, since the fingerprints were made with it. Coordination rows of the
//! target (leases, schedule firings) are neither copied nor touched.

use futures::TryStreamExt;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{Row, TypeInfo, ValueRef};
use std::collections::BTreeMap;

/// Tables in the order their foreign keys allow inserting them. Every table of the SQLite
/// schema must be listed: a new migration that adds one must add it here (a test checks).
pub const TABLES: &[&str] = &[
    "meta",
    "runs",
    "snapshots",
    "snapshot_persons",
    "links",
    "fingerprints",
    "journal",
    "blocked",
    "approvals",
    "audit",
    "grants_made",
    "computed_scripts",
    "computed_values",
    "orphan_decisions",
    "api_tokens",
    "decisions",
    "plans",
    "reports",
];

/// Rows per INSERT: below PostgreSQL's 65,535 bound parameters for the widest table.
const BATCH_ROWS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the source store has a table `{0}` that `muster store copy` does not know; this version of Muster cannot copy it")]
    UnknownTable(String),
    #[error("the target store has no table `{0}`: migrate it with this version of Muster (`muster store migrate`)")]
    MissingTable(String),
    #[error("table `{table}`: the target lacks column(s) {missing}; migrate it with this version of Muster")]
    MissingColumns { table: String, missing: String },
    #[error("the target store already holds history ({detail}); copy into an empty store, or pass --force to replace it")]
    NotEmpty { detail: String },
    #[error(
        "table `{table}`, column `{column}`: a {found} value cannot go into a `{expected}` column"
    )]
    Value {
        table: String,
        column: String,
        found: String,
        expected: String,
    },
    #[error("table `{table}`: copied {read} row(s) but the target holds {written}")]
    Count {
        table: String,
        read: u64,
        written: u64,
    },
    #[error("{op} (table `{table}`): {source}")]
    Database {
        op: &'static str,
        table: String,
        #[source]
        source: sqlx::Error,
    },
}

fn db(op: &'static str, table: &str) -> impl FnOnce(sqlx::Error) -> CopyError {
    let table = table.to_owned();
    move |source| CopyError::Database { op, table, source }
}

/// What was copied: rows per table, in copy order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(String, u64)>,
    /// Whether the target held history that `force` replaced.
    pub replaced: bool,
}

/// A column of the target and the type its values are cast to.
#[derive(Debug, Clone)]
struct TargetColumn {
    name: String,
    /// PostgreSQL's name of the type (`int8`, `timestamptz`, `jsonb`, `bytea`, …).
    udt: String,
    identity: bool,
}

/// One SQLite value, as read.
#[derive(Debug, Clone)]
enum Value {
    Null,
    Text(String),
    Bytes(Vec<u8>),
}

/// Copies every row of `from` into `to` in one transaction (see the module's documentation).
pub async fn sqlite_to_postgres(
    from: &SqlitePool,
    to: &PgPool,
    force: bool,
) -> Result<CopyReport, CopyError> {
    check_source_tables(from).await?;
    let mut columns = BTreeMap::new();
    for table in TABLES {
        columns.insert(*table, target_columns(to, table).await?);
        check_columns(from, table, &columns[table]).await?;
    }
    let mut tx = to.begin().await.map_err(db("begin", "*"))?;
    let held = history_in(&mut tx).await?;
    let replaced = !held.is_empty();
    if replaced && !force {
        return Err(CopyError::NotEmpty {
            detail: held.join(", "),
        });
    }
    if replaced {
        empty_target(&mut tx).await?;
    }
    let mut report = CopyReport {
        tables: Vec::new(),
        replaced,
    };
    for table in TABLES {
        let n = copy_table(from, &mut tx, table, &columns[table]).await?;
        reset_identities(&mut tx, table, &columns[table]).await?;
        report.tables.push(((*table).to_owned(), n));
    }
    tx.commit().await.map_err(db("commit", "*"))?;
    Ok(report)
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

async fn check_source_tables(from: &SqlitePool) -> Result<(), CopyError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(from)
    .await
    .map_err(db("list tables", "sqlite_master"))?;
    match names.into_iter().find(|n| !TABLES.contains(&n.as_str())) {
        Some(unknown) => Err(CopyError::UnknownTable(unknown)),
        None => Ok(()),
    }
}

async fn target_columns(to: &PgPool, table: &str) -> Result<Vec<TargetColumn>, CopyError> {
    let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT column_name::text, udt_name::text, is_identity::text, column_default::text \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(to)
    .await
    .map_err(db("read columns", table))?;
    if rows.is_empty() {
        return Err(CopyError::MissingTable(table.to_owned()));
    }
    Ok(rows
        .into_iter()
        .map(|(name, udt, identity, default)| TargetColumn {
            name,
            udt,
            identity: identity == "YES" || default.is_some_and(|d| d.starts_with("nextval(")),
        })
        .collect())
}

/// The source's columns of `table`, which the target must all have.
async fn source_columns(from: &SqlitePool, table: &str) -> Result<Vec<String>, CopyError> {
    let rows = sqlx::query(&format!("PRAGMA table_info({})", quote(table)))
        .fetch_all(from)
        .await
        .map_err(db("read columns", table))?;
    rows.iter()
        .map(|r| r.try_get::<String, _>("name"))
        .collect::<Result<_, _>>()
        .map_err(db("read columns", table))
}

async fn check_columns(
    from: &SqlitePool,
    table: &str,
    target: &[TargetColumn],
) -> Result<(), CopyError> {
    let missing: Vec<String> = source_columns(from, table)
        .await?
        .into_iter()
        .filter(|c| !target.iter().any(|t| &t.name == c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(CopyError::MissingColumns {
        table: table.to_owned(),
        missing: missing.join(", "),
    })
}

/// The copied tables that hold rows in the target (`meta` aside: opening a store writes it).
async fn history_in(tx: &mut sqlx::PgConnection) -> Result<Vec<String>, CopyError> {
    let mut held = Vec::new();
    for table in TABLES.iter().filter(|t| **t != "meta") {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", quote(table)))
            .fetch_one(&mut *tx)
            .await
            .map_err(db("count", table))?;
        if n > 0 {
            held.push(format!("{table}: {n} row(s)"));
        }
    }
    Ok(held)
}

async fn empty_target(tx: &mut sqlx::PgConnection) -> Result<(), CopyError> {
    let all: Vec<String> = TABLES
        .iter()
        .filter(|t| **t != "meta")
        .map(|t| quote(t))
        .collect();
    sqlx::query(&format!("TRUNCATE {} RESTART IDENTITY", all.join(", ")))
        .execute(&mut *tx)
        .await
        .map_err(db("empty", "*"))?;
    Ok(())
}

async fn copy_table(
    from: &SqlitePool,
    tx: &mut sqlx::PgConnection,
    table: &str,
    target: &[TargetColumn],
) -> Result<u64, CopyError> {
    let names = source_columns(from, table).await?;
    let columns: Vec<&TargetColumn> = names
        .iter()
        .filter_map(|n| target.iter().find(|t| &t.name == n))
        .collect();
    let list: Vec<String> = names.iter().map(|n| quote(n)).collect();
    let select = format!("SELECT {} FROM {}", list.join(", "), quote(table));
    let mut rows = sqlx::query(&select).fetch(from);
    let mut batch: Vec<Vec<Value>> = Vec::new();
    let mut read = 0u64;
    while let Some(row) = rows.try_next().await.map_err(db("read", table))? {
        batch.push(read_row(&row, table)?);
        read += 1;
        if batch.len() == BATCH_ROWS {
            insert(tx, table, &columns, &batch).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        insert(tx, table, &columns, &batch).await?;
    }
    if table == "meta" {
        return Ok(read);
    }
    let written: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", quote(table)))
        .fetch_one(&mut *tx)
        .await
        .map_err(db("count", table))?;
    if u64::try_from(written).ok() != Some(read) {
        return Err(CopyError::Count {
            table: table.to_owned(),
            read,
            written: u64::try_from(written).unwrap_or(0),
        });
    }
    Ok(read)
}

fn read_row(row: &sqlx::sqlite::SqliteRow, table: &str) -> Result<Vec<Value>, CopyError> {
    (0..row.columns().len())
        .map(|i| {
            let raw = row.try_get_raw(i).map_err(db("read", table))?;
            if raw.is_null() {
                return Ok(Value::Null);
            }
            let kind = raw.type_info().name().to_owned();
            let value = match kind.as_str() {
                "INTEGER" => Value::Text(
                    row.try_get::<i64, _>(i)
                        .map_err(db("read", table))?
                        .to_string(),
                ),
                "REAL" => Value::Text(
                    row.try_get::<f64, _>(i)
                        .map_err(db("read", table))?
                        .to_string(),
                ),
                "BLOB" => Value::Bytes(row.try_get::<Vec<u8>, _>(i).map_err(db("read", table))?),
                _ => Value::Text(row.try_get::<String, _>(i).map_err(db("read", table))?),
            };
            Ok(value)
        })
        .collect()
}

async fn insert(
    tx: &mut sqlx::PgConnection,
    table: &str,
    columns: &[&TargetColumn],
    rows: &[Vec<Value>],
) -> Result<(), CopyError> {
    let list: Vec<String> = columns.iter().map(|c| quote(&c.name)).collect();
    let mut values = Vec::with_capacity(rows.len());
    let mut n = 0usize;
    for _ in rows {
        let row: Vec<String> = columns
            .iter()
            .map(|c| {
                n += 1;
                match c.udt.as_str() {
                    "bytea" => format!("${n}"),
                    udt => format!("${n}::text::{}", quote(udt)),
                }
            })
            .collect();
        values.push(format!("({})", row.join(", ")));
    }
    // `meta` already holds the target's own fingerprint key: the source's replaces it.
    let conflict = match table {
        "meta" => " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        _ => "",
    };
    // Identity columns keep the source's values (their sequences move on afterwards).
    let overriding = match columns.iter().any(|c| c.identity) {
        true => " OVERRIDING SYSTEM VALUE",
        false => "",
    };
    let sql = format!(
        "INSERT INTO {} ({}){overriding} VALUES {}{conflict}",
        quote(table),
        list.join(", "),
        values.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for row in rows {
        for (value, column) in row.iter().zip(columns) {
            query = bind(query, table, column, value)?;
        }
    }
    query.execute(&mut *tx).await.map_err(db("insert", table))?;
    Ok(())
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

fn bind<'q>(
    query: PgQuery<'q>,
    table: &str,
    column: &TargetColumn,
    value: &Value,
) -> Result<PgQuery<'q>, CopyError> {
    let bytes = column.udt == "bytea";
    Ok(match (value, bytes) {
        (Value::Null, true) => query.bind(None::<Vec<u8>>),
        (Value::Null, false) => query.bind(None::<String>),
        (Value::Bytes(b), true) => query.bind(b.clone()),
        (Value::Text(t), true) => query.bind(t.clone().into_bytes()),
        (Value::Text(t), false) => query.bind(t.clone()),
        (Value::Bytes(_), false) => {
            return Err(CopyError::Value {
                table: table.to_owned(),
                column: column.name.clone(),
                found: "binary".to_owned(),
                expected: column.udt.clone(),
            })
        }
    })
}

/// Moves each identity column's sequence past the largest copied value.
async fn reset_identities(
    tx: &mut sqlx::PgConnection,
    table: &str,
    columns: &[TargetColumn],
) -> Result<(), CopyError> {
    for c in columns.iter().filter(|c| c.identity) {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT max({col}) FROM {t}), 0) + 1, false)",
            col = quote(&c.name),
            t = quote(table),
        );
        sqlx::query(&sql)
            .bind(quote(table))
            .bind(&c.name)
            .execute(&mut *tx)
            .await
            .map_err(db("move sequence", table))?;
    }
    Ok(())
}
