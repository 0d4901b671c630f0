//! Blocked actions and their approval or rejection, with who and why.

use super::error::{ApiError, ErrorBody};
use super::extract::{Json, Path, Query};
use super::runs::{find_run, parse_kind};
use super::views::{BlockedList, BlockedView, DecisionRequest, DecisionView};
use crate::auth::Caller;
use crate::state::AppState;
use crate::tokens::Need;
use axum::extract::State;
use muster_store::DecisionKind;

/// Blocked actions of the newest runs, newest run first; by default only those waiting.
#[utoipa::path(get, path = "/api/v1/blocked", params(BlockedList), tag = "approvals",
    responses((status = 200, body = Vec<BlockedView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<BlockedList>,
) -> Result<axum::Json<Vec<BlockedView>>, ApiError> {
    caller.require(Need::Read)?;
    let runs = q.runs.unwrap_or(20);
    if !(1..=200).contains(&runs) {
        return Err(ApiError::bad_request("runs must be 1-200"));
    }
    Ok(axum::Json(
        blocked_list(&state, runs, q.waiting.unwrap_or(true)).await?,
    ))
}

/// Blocked actions of the newest `runs` runs, newest run first (only those waiting when
/// `waiting_only`).
pub(crate) async fn blocked_list(
    state: &AppState,
    runs: u32,
    waiting_only: bool,
) -> Result<Vec<BlockedView>, ApiError> {
    let mut out = Vec::new();
    for run in state
        .store
        .runs(runs as usize)
        .await
        .map_err(ApiError::store)?
    {
        out.extend(
            blocked_of(state, &run.id)
                .await?
                .into_iter()
                .filter(|b| !waiting_only || b.decision.is_none()),
        );
    }
    Ok(out)
}

/// A run's blocked records with their decisions.
pub(crate) async fn blocked_of(state: &AppState, run: &str) -> Result<Vec<BlockedView>, ApiError> {
    let blocked = state.store.blocked(run).await.map_err(ApiError::store)?;
    if blocked.is_empty() {
        return Ok(Vec::new());
    }
    let decisions = state.store.decisions(run).await.map_err(ApiError::store)?;
    Ok(blocked
        .into_iter()
        .map(|b| {
            let decision = decisions
                .iter()
                .find(|d| d.target == b.target && d.kind == b.kind)
                .cloned()
                .map(DecisionView::from);
            BlockedView::new(b, decision)
        })
        .collect())
}

/// A run's blocked actions, decided or not.
#[utoipa::path(get, path = "/api/v1/runs/{id}/blocked", params(("id" = String, Path, description = "run id or prefix", pattern = "^[0-9a-fA-F-]{6,36}$")), tag = "approvals",
    responses((status = 200, body = Vec<BlockedView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn of_run(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<BlockedView>>, ApiError> {
    caller.require(Need::Read)?;
    let run = find_run(&state, &id).await?;
    Ok(axum::Json(blocked_of(&state, &run.id).await?))
}

/// Approves a run's blocked actions (all, or one kind) for the next apply (approver).
#[utoipa::path(post, path = "/api/v1/runs/{id}/approve", params(("id" = String, Path, description = "run id or prefix", pattern = "^[0-9a-fA-F-]{6,36}$")), request_body = DecisionRequest, tag = "approvals",
    responses((status = 200, body = Vec<DecisionView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn approve(
    state: State<AppState>,
    caller: Caller,
    id: Path<String>,
    body: Json<DecisionRequest>,
) -> Result<axum::Json<Vec<DecisionView>>, ApiError> {
    decide(state, caller, id, body, DecisionKind::Approved).await
}

/// Rejects a run's blocked actions (all, or one kind): they stay blocked and can no longer be
/// approved (approver).
#[utoipa::path(post, path = "/api/v1/runs/{id}/reject", params(("id" = String, Path, description = "run id or prefix", pattern = "^[0-9a-fA-F-]{6,36}$")), request_body = DecisionRequest, tag = "approvals",
    responses((status = 200, body = Vec<DecisionView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn reject(
    state: State<AppState>,
    caller: Caller,
    id: Path<String>,
    body: Json<DecisionRequest>,
) -> Result<axum::Json<Vec<DecisionView>>, ApiError> {
    decide(state, caller, id, body, DecisionKind::Rejected).await
}

async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<DecisionRequest>,
    decision: DecisionKind,
) -> Result<axum::Json<Vec<DecisionView>>, ApiError> {
    caller.require(Need::Approve)?;
    let decided = decide_on(&state, &id, body, decision, &caller.who()).await?;
    Ok(axum::Json(decided))
}

/// Records `who`'s decision on the run's blocked actions (the API's and the dashboard's):
/// checked, stored with who and why, and logged.
pub(crate) async fn decide_on(
    state: &AppState,
    id: &str,
    body: DecisionRequest,
    decision: DecisionKind,
    who: &str,
) -> Result<Vec<DecisionView>, ApiError> {
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(ApiError::bad_request("reason must be 1-1000 characters"));
    }
    // A disable counts with deletes, as the thresholds count them.
    let kind = body
        .kind
        .as_deref()
        .map(parse_kind)
        .transpose()?
        .map(muster_core::plan::ActionKind::threshold_group);
    let run = find_run(state, id).await?;
    let decided = state
        .store
        .decide(&run.id, kind, decision, who, reason)
        .await
        .map_err(ApiError::store)?;
    tracing::info!(run = %run.id, by = %who, %decision, reason, "Blocked actions decided.");
    Ok(decided.into_iter().map(DecisionView::from).collect())
}
