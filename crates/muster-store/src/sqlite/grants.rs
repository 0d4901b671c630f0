//! Grants Muster made that the target cannot show (see migration 0003).

use muster_core::{AccountRef, ExternalId, GroupRef, TargetName};
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::rows::{parse_text, parse_ts, ts};
use crate::error::StoreError;
use crate::store::GrantMade;

type GrantRow = (String, String, String, String, String, String);

pub(super) async fn grants_made(
    pool: &SqlitePool,
    target: &TargetName,
) -> Result<Vec<GrantMade>, StoreError> {
    let rows: Vec<GrantRow> = sqlx::query_as(
        "SELECT account, group_ref, group_name, person, state, made_at FROM grants_made \
         WHERE target = ? ORDER BY account, group_ref",
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
                made_at: parse_ts("grants_made", "made_at", &made_at)?,
            })
        })
        .collect()
}

/// Runs inside a group-commit batch (`group_commit`).
pub(super) async fn record_grant(
    conn: &mut SqliteConnection,
    grant: &GrantMade,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO grants_made (target, account, group_ref, group_name, person, state, made_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) \
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

/// Runs inside a group-commit batch (`group_commit`).
pub(super) async fn forget_grant(
    conn: &mut SqliteConnection,
    target: &TargetName,
    account: &AccountRef,
    group: &GroupRef,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM grants_made WHERE target = ? AND account = ? AND group_ref = ?")
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
