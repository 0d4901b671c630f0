//! Links person ↔ account per target, and fingerprints of write-only account fields.

use muster_core::{AccountRef, ExternalId, TargetName};

use sqlx::QueryBuilder;

use super::dialect::{ts, Conn, Db, Pool};
use super::rows::{FingerprintRow, LinkRow, BATCH_ROWS};
use crate::codec::now;
use crate::error::StoreError;
use crate::store::{Fingerprint, Link};

pub(super) async fn links(pool: &Pool, target: &TargetName) -> Result<Vec<Link>, StoreError> {
    let rows: Vec<LinkRow> = sqlx::query_as(
        "SELECT target, person, account, state, updated_at FROM links \
         WHERE target = $1 ORDER BY person",
    )
    .bind(target.as_str())
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("links", "links", target.as_str()))?;
    rows.into_iter().map(LinkRow::into_link).collect()
}

/// The links of `target` to any of `accounts`, active and deleted, ordered by person.
pub(super) async fn account_links(
    pool: &Pool,
    target: &TargetName,
    accounts: &[AccountRef],
) -> Result<Vec<Link>, StoreError> {
    let mut rows: Vec<LinkRow> = Vec::new();
    for chunk in accounts.chunks(BATCH_ROWS) {
        let mut query = QueryBuilder::<Db>::new(
            "SELECT target, person, account, state, updated_at FROM links WHERE target = ",
        );
        query.push_bind(target.as_str()).push(" AND account IN (");
        let mut list = query.separated(", ");
        for account in chunk {
            list.push_bind(account.as_str());
        }
        query.push(")");
        rows.extend(
            query
                .build_query_as::<LinkRow>()
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("account_links", "links", target.as_str()))?,
        );
    }
    let mut links = rows
        .into_iter()
        .map(LinkRow::into_link)
        .collect::<Result<Vec<_>, _>>()?;
    links.sort_by(|a, b| a.person.as_str().cmp(b.person.as_str()));
    Ok(links)
}

/// One of the executor's per-action writes (`writes::Write`), on the connection the
/// backend runs it on.
pub(super) async fn upsert_link(conn: &mut Conn, link: &Link) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO links (target, person, account, state, updated_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (target, person) DO UPDATE SET \
         account = excluded.account, state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(link.target.as_str())
    .bind(link.person.as_str())
    .bind(link.account.as_str())
    .bind(link.state.as_str())
    .bind(ts(link.updated_at))
    .execute(conn)
    .await
    .map_err(|source| match source.as_database_error() {
        Some(e) if e.is_unique_violation() => StoreError::AccountAlreadyLinked {
            target: link.target.clone(),
            account: link.account.clone(),
        },
        _ => StoreError::db(
            "upsert_link",
            "links",
            format!("target {}, person {}", link.target, link.person),
        )(source),
    })?;
    Ok(())
}

/// One of the writes (`writes::Write`) each backend commits its own way.
pub(super) async fn remove_link(
    conn: &mut Conn,
    target: &TargetName,
    person: &ExternalId,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM links WHERE target = $1 AND person = $2")
        .bind(target.as_str())
        .bind(person.as_str())
        .execute(conn)
        .await
        .map_err(StoreError::db(
            "remove_link",
            "links",
            format!("target {target}, person {person}"),
        ))?;
    Ok(())
}

pub(super) async fn fingerprints(
    pool: &Pool,
    target: &TargetName,
) -> Result<Vec<Fingerprint>, StoreError> {
    let rows: Vec<FingerprintRow> = sqlx::query_as(
        "SELECT account, field, hmac FROM fingerprints WHERE target = $1 \
         ORDER BY account, field",
    )
    .bind(target.as_str())
    .fetch_all(pool)
    .await
    .map_err(StoreError::db(
        "fingerprints",
        "fingerprints",
        target.as_str(),
    ))?;
    Ok(rows
        .into_iter()
        .map(FingerprintRow::into_fingerprint)
        .collect())
}

/// One of the executor's per-action writes (`writes::Write`), on the connection the
/// backend runs it on.
pub(super) async fn set_fingerprint(
    conn: &mut Conn,
    target: &TargetName,
    fp: &Fingerprint,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO fingerprints (target, account, field, hmac, updated_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (target, account, field) DO UPDATE SET \
         hmac = excluded.hmac, updated_at = excluded.updated_at",
    )
    .bind(target.as_str())
    .bind(fp.account.as_str())
    .bind(&fp.field)
    .bind(&fp.hmac)
    .bind(ts(now()))
    .execute(conn)
    .await
    .map_err(StoreError::db(
        "set_fingerprint",
        "fingerprints",
        format!(
            "target {target}, account {}, field {}",
            fp.account, fp.field
        ),
    ))?;
    Ok(())
}

/// One of the executor's per-action writes (`writes::Write`), on the connection the
/// backend runs it on.
pub(super) async fn clear_fingerprint(
    conn: &mut Conn,
    target: &TargetName,
    account: &AccountRef,
    field: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM fingerprints WHERE target = $1 AND account = $2 AND field = $3")
        .bind(target.as_str())
        .bind(account.as_str())
        .bind(field)
        .execute(conn)
        .await
        .map_err(StoreError::db(
            "clear_fingerprint",
            "fingerprints",
            format!("target {target}, account {account}, field {field}"),
        ))?;
    Ok(())
}
