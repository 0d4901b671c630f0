//! Grants Muster made that the target cannot show (see migration 0003).

use muster_core::{AccountRef, ExternalId, GroupRef, TargetName};

use super::dialect::{read_ts, ts, Conn, Pool, Time};
use crate::codec::parse_text;
use crate::error::StoreError;
use crate::store::GrantMade;

type GrantRow = (String, String, String, String, String, Time);

pub(super) async fn grants_made(
    pool: &Pool,
    target: &TargetName,
) -> Result<Vec<GrantMade>, StoreError> {
    let rows: Vec<GrantRow> = sqlx::query_as(
        "SELECT account, group_ref, group_name, person, state, made_at FROM grants_made \
         WHERE target = $1 ORDER BY account, group_ref",
    )
    .bind(target.as_str())
    .fetch_all(pool)
    .await
    .map_err(StoreError::db(
        "grants_made",
        "grants_made",
        target.as_str(),
    ))?;
    rows.into_iter()
        .map(|(account, group, group_name, person, state, made_at)| {
            Ok(GrantMade {
                target: target.clone(),
                account: AccountRef::new(account),
                group: GroupRef::new(group),
                group_name,
                person: ExternalId::new(person),
                state: parse_text("grants_made", "state", &state)?,
                made_at: read_ts("grants_made", "made_at", made_at)?,
            })
        })
        .collect()
}

/// One of the executor's per-action writes (`writes::Write`), on the connection the
/// backend runs it on.
pub(super) async fn record_grant(conn: &mut Conn, grant: &GrantMade) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO grants_made (target, account, group_ref, group_name, person, state, made_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (target, account, group_ref) DO UPDATE SET \
         group_name = excluded.group_name, person = excluded.person, \
         state = excluded.state, made_at = excluded.made_at",
    )
    .bind(grant.target.as_str())
    .bind(grant.account.as_str())
    .bind(grant.group.as_str())
    .bind(&grant.group_name)
    .bind(grant.person.as_str())
    .bind(grant.state.as_str())
    .bind(ts(grant.made_at))
    .execute(conn)
    .await
    .map_err(StoreError::db(
        "record_grant",
        "grants_made",
        format!(
            "target {}, account {}, group {}",
            grant.target, grant.account, grant.group
        ),
    ))?;
    Ok(())
}

/// One of the executor's per-action writes (`writes::Write`), on the connection the
/// backend runs it on.
pub(super) async fn forget_grant(
    conn: &mut Conn,
    target: &TargetName,
    account: &AccountRef,
    group: &GroupRef,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM grants_made WHERE target = $1 AND account = $2 AND group_ref = $3")
        .bind(target.as_str())
        .bind(account.as_str())
        .bind(group.as_str())
        .execute(conn)
        .await
        .map_err(StoreError::db(
            "forget_grant",
            "grants_made",
            format!("target {target}, account {account}, group {group}"),
        ))?;
    Ok(())
}
