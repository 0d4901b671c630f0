//! Orphan decisions: what an administrator decided about an account no person owns (see
//! migration 0005).

use chrono::NaiveDate;
use muster_core::{AccountRef, TargetName};

use super::dialect::{day, read_day, read_ts, ts, Day, Pool, Time};
use crate::error::StoreError;
use crate::store::{OrphanDecision, OrphanVerdict};

type DecisionRow = (String, String, Option<Day>, String, Time);

const T: &str = "orphan_decisions";

pub(super) async fn orphan_decisions(
    pool: &Pool,
    target: &TargetName,
) -> Result<Vec<OrphanDecision>, StoreError> {
    let rows: Vec<DecisionRow> = sqlx::query_as(
        "SELECT account, decision, until, decided_by, decided_at FROM orphan_decisions \
         WHERE target = $1 ORDER BY account",
    )
    .bind(target.as_str())
    .fetch_all(pool)
    .await
    .map_err(StoreError::db(
        "orphan_decisions",
        "orphan_decisions",
        target.as_str(),
    ))?;
    rows.into_iter()
        .map(|(account, decision, until, decided_by, decided_at)| {
            Ok(OrphanDecision {
                target: target.clone(),
                account: AccountRef::new(account),
                verdict: verdict(
                    &decision,
                    until.map(|d| read_day(T, "until", d)).transpose()?,
                )?,
                decided_by,
                decided_at: read_ts(T, "decided_at", decided_at)?,
            })
        })
        .collect()
}

/// The stored word and date as a verdict; anything else is corrupt.
fn verdict(decision: &str, until: Option<NaiveDate>) -> Result<OrphanVerdict, StoreError> {
    let corrupt = |column, detail: String| StoreError::corrupt(T, column, detail);
    match (decision, until) {
        ("excluded", Some(day)) => Ok(OrphanVerdict::ExcludedUntil(day)),
        ("excluded", None) => Err(corrupt("until", "an exclusion without an end".into())),
        ("resolved", None) => Ok(OrphanVerdict::Resolved),
        ("disable", None) => Ok(OrphanVerdict::Disable),
        ("delete", None) => Ok(OrphanVerdict::Delete),
        (other, _) => Err(corrupt(
            "decision",
            format!("`{other}` (with until {until:?}): expected excluded with a date, or resolved, disable, delete without one"),
        )),
    }
}

pub(super) async fn decide_orphan(
    pool: &Pool,
    decision: &OrphanDecision,
) -> Result<(), StoreError> {
    let until = match decision.verdict {
        OrphanVerdict::ExcludedUntil(until) => Some(day(until)),
        _ => None,
    };
    sqlx::query(
        "INSERT INTO orphan_decisions (target, account, decision, until, decided_by, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (target, account) DO UPDATE SET decision = excluded.decision, \
         until = excluded.until, decided_by = excluded.decided_by, decided_at = excluded.decided_at",
    )
    .bind(decision.target.as_str())
    .bind(decision.account.as_str())
    .bind(decision.verdict.as_str())
    .bind(until)
    .bind(&decision.decided_by)
    .bind(ts(decision.decided_at))
    .execute(pool)
    .await
    .map_err(StoreError::db(
        "decide_orphan",
        "orphan_decisions",
        format!("target {}, account {}", decision.target, decision.account),
    ))?;
    Ok(())
}

pub(super) async fn forget_orphan_decision(
    pool: &Pool,
    target: &TargetName,
    account: &AccountRef,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM orphan_decisions WHERE target = $1 AND account = $2")
        .bind(target.as_str())
        .bind(account.as_str())
        .execute(pool)
        .await
        .map_err(StoreError::db(
            "forget_orphan_decision",
            "orphan_decisions",
            format!("target {target}, account {account}"),
        ))?;
    Ok(())
}
