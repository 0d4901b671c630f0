//! What `muster serve` keeps: API tokens (their hashes) and decisions on blocked actions.

use muster_core::plan::ActionKind;
use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Sqlite};

use super::rows::{parse_text, parse_ts, ts, LinkRow, SnapshotPersonRow};
use super::{begin_write, now, unknown_run_or};
use crate::error::StoreError;
use crate::store::{
    ApiToken, Decision, DecisionKind, Link, ReportKind, SnapshotPerson, StoredPlan, StoredReport,
};
use muster_core::{ExternalId, TargetName};

const TOKEN_COLUMNS: &str = "SELECT id, name, role, hash, created_at, revoked_at FROM api_tokens";
const DECISION_COLUMNS: &str =
    "SELECT run, target, kind, decision, decided_by, reason, decided_at FROM decisions";

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    name: String,
    role: String,
    hash: String,
    created_at: String,
    revoked_at: Option<String>,
}

impl TokenRow {
    fn into_token(self) -> Result<ApiToken, StoreError> {
        const T: &str = "api_tokens";
        Ok(ApiToken {
            role: parse_text(T, "role", &self.role)?,
            created_at: parse_ts(T, "created_at", &self.created_at)?,
            revoked_at: self
                .revoked_at
                .map(|t| parse_ts(T, "revoked_at", &t))
                .transpose()?,
            id: self.id,
            name: self.name,
            hash: self.hash,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DecisionRow {
    run: String,
    target: String,
    kind: String,
    decision: String,
    decided_by: String,
    reason: String,
    decided_at: String,
}

impl DecisionRow {
    fn into_decision(self) -> Result<Decision, StoreError> {
        const T: &str = "decisions";
        Ok(Decision {
            kind: parse_text(T, "kind", &self.kind)?,
            decision: parse_text(T, "decision", &self.decision)?,
            decided_at: parse_ts(T, "decided_at", &self.decided_at)?,
            run: self.run.into(),
            target: self.target.into(),
            decided_by: self.decided_by,
            reason: self.reason,
        })
    }
}

pub(super) async fn create_token(pool: &SqlitePool, token: &ApiToken) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO api_tokens (id, name, role, hash, created_at, revoked_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&token.id)
    .bind(&token.name)
    .bind(token.role.as_str())
    .bind(&token.hash)
    .bind(ts(token.created_at))
    .bind(token.revoked_at.map(ts))
    .execute(pool)
    .await
    .map_err(StoreError::db("create_token", "api_tokens", &token.id))?;
    Ok(())
}

pub(super) async fn token_by_hash(
    pool: &SqlitePool,
    hash: &str,
) -> Result<Option<ApiToken>, StoreError> {
    let row: Option<TokenRow> = sqlx::query_as(&format!("{TOKEN_COLUMNS} WHERE hash = ?"))
        .bind(hash)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::db("token_by_hash", "api_tokens", "by hash"))?;
    row.map(TokenRow::into_token).transpose()
}

pub(super) async fn tokens(pool: &SqlitePool) -> Result<Vec<ApiToken>, StoreError> {
    let rows: Vec<TokenRow> = sqlx::query_as(&format!("{TOKEN_COLUMNS} ORDER BY created_at, id"))
        .fetch_all(pool)
        .await
        .map_err(StoreError::db("tokens", "api_tokens", "all"))?;
    rows.into_iter().map(TokenRow::into_token).collect()
}

pub(super) async fn revoke_token(pool: &SqlitePool, id: &str) -> Result<ApiToken, StoreError> {
    sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(ts(now()))
        .bind(id)
        .execute(pool)
        .await
        .map_err(StoreError::db("revoke_token", "api_tokens", id))?;
    let row: Option<TokenRow> = sqlx::query_as(&format!("{TOKEN_COLUMNS} WHERE id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::db("revoke_token", "api_tokens", id))?;
    row.ok_or_else(|| StoreError::TokenNotFound { id: id.to_owned() })?
        .into_token()
}

/// One blocked record matching a decision, with what was decided about it so far.
#[derive(sqlx::FromRow)]
struct Matching {
    target: String,
    kind: String,
    approved: bool,
    decision: Option<String>,
}

pub(super) async fn decide(
    pool: &SqlitePool,
    run: &str,
    kind: Option<ActionKind>,
    decision: DecisionKind,
    by: &str,
    reason: &str,
) -> Result<Vec<Decision>, StoreError> {
    const OP: &str = "decide";
    let context = format!("run {run}");
    let matching = |q: &mut QueryBuilder<'_, Sqlite>| {
        q.push(" WHERE b.run = ").push_bind(run.to_owned());
        if let Some(kind) = kind {
            q.push(" AND b.kind = ").push_bind(kind.as_str());
        }
    };
    let mut tx = begin_write(pool, OP, "decisions", &context).await?;
    let mut select = QueryBuilder::<Sqlite>::new(
        "SELECT b.target, b.kind, \
         EXISTS (SELECT 1 FROM approvals a WHERE a.blocked_id = b.id) AS approved, \
         (SELECT d.decision FROM decisions d WHERE d.blocked_id = b.id) AS decision \
         FROM blocked b",
    );
    matching(&mut select);
    let found: Vec<Matching> = select
        .build_query_as()
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::db(OP, "blocked", &context))?;
    if found.is_empty() {
        return Err(StoreError::NothingBlocked {
            run: run.to_owned(),
            kind,
        });
    }
    for m in &found {
        let earlier = match (m.decision.as_deref(), m.approved) {
            (Some(d), _) => Some(parse_text::<DecisionKind>("decisions", "decision", d)?),
            (None, true) => Some(DecisionKind::Approved),
            (None, false) => None,
        };
        if let Some(earlier) = earlier.filter(|e| *e != decision) {
            return Err(StoreError::AlreadyDecided {
                run: run.to_owned(),
                target: m.target.clone().into(),
                kind: parse_text("blocked", "kind", &m.kind)?,
                decision: earlier,
            });
        }
    }
    let stamp = ts(now());
    if decision == DecisionKind::Approved {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO approvals (blocked_id, run, target, kind, count, approved_by, approved_at) \
             SELECT b.id, b.run, b.target, b.kind, b.count, ",
        );
        insert
            .push_bind(by.to_owned())
            .push(", ")
            .push_bind(stamp.clone())
            .push(" FROM blocked b");
        matching(&mut insert);
        insert.push(" ORDER BY b.id ON CONFLICT (blocked_id) DO NOTHING");
        insert
            .build()
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(OP, "approvals", &context))?;
    }
    let mut insert = QueryBuilder::<Sqlite>::new(
        "INSERT INTO decisions \
         (blocked_id, run, target, kind, decision, decided_by, reason, decided_at) \
         SELECT b.id, b.run, b.target, b.kind, ",
    );
    insert
        .push_bind(decision.as_str())
        .push(", ")
        .push_bind(by.to_owned())
        .push(", ")
        .push_bind(reason.to_owned())
        .push(", ")
        .push_bind(stamp)
        .push(" FROM blocked b");
    matching(&mut insert);
    insert.push(" ORDER BY b.id ON CONFLICT (blocked_id) DO NOTHING");
    insert
        .build()
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db(OP, "decisions", &context))?;
    let mut select = QueryBuilder::<Sqlite>::new(format!(
        "{DECISION_COLUMNS} WHERE blocked_id IN (SELECT b.id FROM blocked b"
    ));
    matching(&mut select);
    select.push(") ORDER BY target, kind");
    let rows: Vec<DecisionRow> = select
        .build_query_as()
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::db(OP, "decisions", &context))?;
    let decisions = rows
        .into_iter()
        .map(DecisionRow::into_decision)
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit()
        .await
        .map_err(StoreError::db(OP, "decisions", &context))?;
    Ok(decisions)
}

pub(super) async fn decisions(pool: &SqlitePool, run: &str) -> Result<Vec<Decision>, StoreError> {
    let rows: Vec<DecisionRow> = sqlx::query_as(&format!(
        "{DECISION_COLUMNS} WHERE run = ? ORDER BY target, kind"
    ))
    .bind(run)
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("decisions", "decisions", run))?;
    rows.into_iter().map(DecisionRow::into_decision).collect()
}

pub(super) async fn save_plan(
    pool: &SqlitePool,
    run: &str,
    target: &TargetName,
    plan: &serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO plans (target, run, plan, saved_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (target) DO UPDATE SET \
         run = excluded.run, plan = excluded.plan, saved_at = excluded.saved_at",
    )
    .bind(target.as_str())
    .bind(run)
    .bind(plan.to_string())
    .bind(ts(now()))
    .execute(pool)
    .await
    .map_err(unknown_run_or(run, "save_plan", "plans", target.as_str()))?;
    Ok(())
}

pub(super) async fn latest_plan(
    pool: &SqlitePool,
    target: &TargetName,
) -> Result<Option<StoredPlan>, StoreError> {
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT run, plan, saved_at FROM plans WHERE target = ?")
            .bind(target.as_str())
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("latest_plan", "plans", target.as_str()))?;
    let Some((run, plan, saved_at)) = row else {
        return Ok(None);
    };
    Ok(Some(StoredPlan {
        target: target.clone(),
        run: run.into(),
        plan: serde_json::from_str(&plan)
            .map_err(|e| StoreError::corrupt("plans", "plan", e.to_string()))?,
        saved_at: parse_ts("plans", "saved_at", &saved_at)?,
    }))
}

pub(super) async fn save_report(
    pool: &SqlitePool,
    kind: ReportKind,
    target: &TargetName,
    report: &serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO reports (target, kind, report, saved_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (target, kind) DO UPDATE SET \
         report = excluded.report, saved_at = excluded.saved_at",
    )
    .bind(target.as_str())
    .bind(kind.as_str())
    .bind(report.to_string())
    .bind(ts(now()))
    .execute(pool)
    .await
    .map_err(StoreError::db("save_report", "reports", target.as_str()))?;
    Ok(())
}

pub(super) async fn latest_report(
    pool: &SqlitePool,
    kind: ReportKind,
    target: &TargetName,
) -> Result<Option<StoredReport>, StoreError> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT report, saved_at FROM reports WHERE target = ? AND kind = ?")
            .bind(target.as_str())
            .bind(kind.as_str())
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("latest_report", "reports", target.as_str()))?;
    let Some((report, saved_at)) = row else {
        return Ok(None);
    };
    Ok(Some(StoredReport {
        target: target.clone(),
        kind,
        report: serde_json::from_str(&report)
            .map_err(|e| StoreError::corrupt("reports", "report", e.to_string()))?,
        saved_at: parse_ts("reports", "saved_at", &saved_at)?,
    }))
}

pub(super) async fn person_links(
    pool: &SqlitePool,
    person: &ExternalId,
) -> Result<Vec<Link>, StoreError> {
    let rows: Vec<LinkRow> = sqlx::query_as(
        "SELECT target, person, account, state, updated_at FROM links \
         WHERE person = ? ORDER BY target",
    )
    .bind(person.as_str())
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("person_links", "links", person.as_str()))?;
    rows.into_iter().map(LinkRow::into_link).collect()
}

pub(super) async fn snapshot_person(
    pool: &SqlitePool,
    snapshot_id: i64,
    person: &ExternalId,
) -> Result<Option<SnapshotPerson>, StoreError> {
    let row: Option<SnapshotPersonRow> = sqlx::query_as(
        "SELECT external_id, record_hash, record FROM snapshot_persons \
         WHERE snapshot_id = ? AND external_id = ?",
    )
    .bind(snapshot_id)
    .bind(person.as_str())
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db(
        "snapshot_person",
        "snapshot_persons",
        person.as_str(),
    ))?;
    row.map(SnapshotPersonRow::into_person).transpose()
}
