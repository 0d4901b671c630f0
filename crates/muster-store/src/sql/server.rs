//! What `muster serve` keeps: API tokens (their hashes) and decisions on blocked actions.

use muster_core::plan::ActionKind;
use muster_core::{ExternalId, TargetName};
use sqlx::QueryBuilder;

use super::begin_write;
use super::dialect::{json, read_ts, read_value, ts, Db, Json, Pool, Time, LOCK_FOR_DECISION};
use super::rows::{read_opt_ts, LinkRow, SnapshotPersonRow};
use crate::codec::{now, parse_text};
use crate::error::StoreError;
use crate::store::{
    ApiToken, Decision, DecisionKind, Link, ReportKind, SnapshotPerson, StoredPlan, StoredReport,
};

const TOKEN_COLUMNS: &str = "SELECT id, name, role, hash, created_at, revoked_at FROM api_tokens";
const DECISION_COLUMNS: &str =
    "SELECT run, target, kind, decision, decided_by, reason, decided_at FROM decisions";

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    name: String,
    role: String,
    hash: String,
    created_at: Time,
    revoked_at: Option<Time>,
}

impl TokenRow {
    fn into_token(self) -> Result<ApiToken, StoreError> {
        const T: &str = "api_tokens";
        Ok(ApiToken {
            role: parse_text(T, "role", &self.role)?,
            created_at: read_ts(T, "created_at", self.created_at)?,
            revoked_at: read_opt_ts(T, "revoked_at", self.revoked_at)?,
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
    decided_at: Time,
}

impl DecisionRow {
    fn into_decision(self) -> Result<Decision, StoreError> {
        const T: &str = "decisions";
        Ok(Decision {
            kind: parse_text(T, "kind", &self.kind)?,
            decision: parse_text(T, "decision", &self.decision)?,
            decided_at: read_ts(T, "decided_at", self.decided_at)?,
            run: self.run.into(),
            target: self.target.into(),
            decided_by: self.decided_by,
            reason: self.reason,
        })
    }
}

pub(super) async fn create_token(pool: &Pool, token: &ApiToken) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO api_tokens (id, name, role, hash, created_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
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

pub(super) async fn token_by_hash(pool: &Pool, hash: &str) -> Result<Option<ApiToken>, StoreError> {
    let row: Option<TokenRow> = sqlx::query_as(&format!("{TOKEN_COLUMNS} WHERE hash = $1"))
        .bind(hash)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::db("token_by_hash", "api_tokens", "by hash"))?;
    row.map(TokenRow::into_token).transpose()
}

pub(super) async fn tokens(pool: &Pool) -> Result<Vec<ApiToken>, StoreError> {
    let rows: Vec<TokenRow> = sqlx::query_as(&format!("{TOKEN_COLUMNS} ORDER BY created_at, id"))
        .fetch_all(pool)
        .await
        .map_err(StoreError::db("tokens", "api_tokens", "all"))?;
    rows.into_iter().map(TokenRow::into_token).collect()
}

pub(super) async fn revoke_token(pool: &Pool, id: &str) -> Result<ApiToken, StoreError> {
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(ts(now()))
        .bind(id)
        .execute(pool)
        .await
        .map_err(StoreError::db("revoke_token", "api_tokens", id))?;
    let row: Option<TokenRow> = sqlx::query_as(&format!("{TOKEN_COLUMNS} WHERE id = $1"))
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
    pool: &Pool,
    run: &str,
    kind: Option<ActionKind>,
    decision: DecisionKind,
    by: &str,
    reason: &str,
) -> Result<Vec<Decision>, StoreError> {
    const OP: &str = "decide";
    let context = format!("run {run}");
    let matching = |q: &mut QueryBuilder<'_, Db>| {
        q.push(" WHERE b.run = ").push_bind(run.to_owned());
        if let Some(kind) = kind {
            q.push(" AND b.kind = ").push_bind(kind.as_str());
        }
    };
    let mut tx = begin_write(pool, OP, "decisions", &context).await?;
    // The matching blocked records are locked first where the backend needs it, so two
    // decisions on one record queue and the second sees the first.
    if let Some(lock_clause) = LOCK_FOR_DECISION {
        let mut lock = QueryBuilder::<Db>::new("SELECT b.id FROM blocked b");
        matching(&mut lock);
        lock.push(lock_clause);
        lock.build()
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(OP, "blocked", &context))?;
    }
    let mut select = QueryBuilder::<Db>::new(
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
    let decided_at = now();
    if decision == DecisionKind::Approved {
        let mut insert = QueryBuilder::<Db>::new(
            "INSERT INTO approvals (blocked_id, run, target, kind, count, approved_by, approved_at) \
             SELECT b.id, b.run, b.target, b.kind, b.count, ",
        );
        insert
            .push_bind(by.to_owned())
            .push(", ")
            .push_bind(ts(decided_at))
            .push(" FROM blocked b");
        matching(&mut insert);
        insert.push(" ORDER BY b.id ON CONFLICT (blocked_id) DO NOTHING");
        insert
            .build()
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db(OP, "approvals", &context))?;
    }
    let mut insert = QueryBuilder::<Db>::new(
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
        .push_bind(ts(decided_at))
        .push(" FROM blocked b");
    matching(&mut insert);
    insert.push(" ORDER BY b.id ON CONFLICT (blocked_id) DO NOTHING");
    insert
        .build()
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db(OP, "decisions", &context))?;
    let mut select = QueryBuilder::<Db>::new(format!(
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

pub(super) async fn decisions(pool: &Pool, run: &str) -> Result<Vec<Decision>, StoreError> {
    let rows: Vec<DecisionRow> = sqlx::query_as(&format!(
        "{DECISION_COLUMNS} WHERE run = $1 ORDER BY target, kind"
    ))
    .bind(run)
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("decisions", "decisions", run))?;
    rows.into_iter().map(DecisionRow::into_decision).collect()
}

pub(super) async fn save_plan(
    pool: &Pool,
    run: &str,
    target: &TargetName,
    plan: &serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO plans (target, run, plan, saved_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (target) DO UPDATE SET \
         run = excluded.run, plan = excluded.plan, saved_at = excluded.saved_at",
    )
    .bind(target.as_str())
    .bind(run)
    .bind(json("save_plan", "plans", "plan", plan)?)
    .bind(ts(now()))
    .execute(pool)
    .await
    .map_err(StoreError::unknown_run_or(
        run,
        "save_plan",
        "plans",
        target.as_str(),
    ))?;
    Ok(())
}

pub(super) async fn latest_plan(
    pool: &Pool,
    target: &TargetName,
) -> Result<Option<StoredPlan>, StoreError> {
    let row: Option<(String, Json, Time)> =
        sqlx::query_as("SELECT run, plan, saved_at FROM plans WHERE target = $1")
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
        plan: read_value("plans", "plan", plan)?,
        saved_at: read_ts("plans", "saved_at", saved_at)?,
    }))
}

pub(super) async fn save_report(
    pool: &Pool,
    kind: ReportKind,
    target: &TargetName,
    report: &serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO reports (target, kind, report, saved_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (target, kind) DO UPDATE SET \
         report = excluded.report, saved_at = excluded.saved_at",
    )
    .bind(target.as_str())
    .bind(kind.as_str())
    .bind(json("save_report", "reports", "report", report)?)
    .bind(ts(now()))
    .execute(pool)
    .await
    .map_err(StoreError::db("save_report", "reports", target.as_str()))?;
    Ok(())
}

pub(super) async fn latest_report(
    pool: &Pool,
    kind: ReportKind,
    target: &TargetName,
) -> Result<Option<StoredReport>, StoreError> {
    let row: Option<(Json, Time)> =
        sqlx::query_as("SELECT report, saved_at FROM reports WHERE target = $1 AND kind = $2")
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
        report: read_value("reports", "report", report)?,
        saved_at: read_ts("reports", "saved_at", saved_at)?,
    }))
}

pub(super) async fn person_links(
    pool: &Pool,
    person: &ExternalId,
) -> Result<Vec<Link>, StoreError> {
    let rows: Vec<LinkRow> = sqlx::query_as(
        "SELECT target, person, account, state, updated_at FROM links \
         WHERE person = $1 ORDER BY target",
    )
    .bind(person.as_str())
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("person_links", "links", person.as_str()))?;
    rows.into_iter().map(LinkRow::into_link).collect()
}

pub(super) async fn snapshot_person(
    pool: &Pool,
    snapshot_id: i64,
    person: &ExternalId,
) -> Result<Option<SnapshotPerson>, StoreError> {
    let row: Option<SnapshotPersonRow> = sqlx::query_as(
        "SELECT external_id, record_hash, record FROM snapshot_persons \
         WHERE snapshot_id = $1 AND external_id = $2",
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
