//! Runs: list, one, its actions; start one.

use super::error::{ApiError, ErrorBody};
use super::extract::{run_id, Json, Path, Query};
use super::views::{
    ActionFilter, ActionView, RunList, RunView, TriggerAnswer, TriggerMode, TriggerRequest,
};
use crate::auth::Caller;
use crate::runner::{RunRequest, TriggerError};
use crate::state::AppState;
use crate::tokens::Need;
use axum::extract::State;
use axum::http::StatusCode;
use muster_core::report::AuditEvent;
use muster_core::TargetName;
use muster_store::{AuditQuery, JournalState, RunMode, RunRecord};
use std::collections::HashMap;

/// The newest runs, newest first.
#[utoipa::path(get, path = "/api/v1/runs", params(RunList), tag = "runs",
    responses((status = 200, body = Vec<RunView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<RunList>,
) -> Result<axum::Json<Vec<RunView>>, ApiError> {
    caller.require(Need::Read)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1-500"));
    }
    let runs = state
        .store
        .runs(limit as usize)
        .await
        .map_err(ApiError::store)?;
    Ok(axum::Json(runs.into_iter().map(RunView::from).collect()))
}

pub(crate) async fn find_run(state: &AppState, id: &str) -> Result<RunRecord, ApiError> {
    state
        .store
        .run(run_id(id)?)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("no run `{id}`")))
}

/// One run, by id or a unique prefix of at least 6 characters.
#[utoipa::path(get, path = "/api/v1/runs/{id}", params(("id" = String, Path, description = "run id or prefix", pattern = "^[0-9a-fA-F-]{6,36}$")), tag = "runs",
    responses((status = 200, body = RunView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<RunView>, ApiError> {
    caller.require(Need::Read)?;
    Ok(axum::Json(find_run(&state, &id).await?.into()))
}

/// A run's actions (applied runs), with outcome, detail and reason.
#[utoipa::path(get, path = "/api/v1/runs/{id}/actions", params(("id" = String, Path, description = "run id or prefix", pattern = "^[0-9a-fA-F-]{6,36}$"), ActionFilter), tag = "runs",
    responses((status = 200, body = Vec<ActionView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn actions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(filter): Query<ActionFilter>,
) -> Result<axum::Json<Vec<ActionView>>, ApiError> {
    caller.require(Need::Read)?;
    Ok(axum::Json(run_actions(&state, &id, &filter).await?.1))
}

/// A run, its actions matching `filter` and every audit event of the run (the API's and the
/// dashboard's query).
pub(crate) async fn run_actions(
    state: &AppState,
    id: &str,
    filter: &ActionFilter,
) -> Result<(RunRecord, Vec<ActionView>, Vec<AuditEvent>), ApiError> {
    let kind = filter.kind.as_deref().map(parse_kind).transpose()?;
    let journal_state = filter
        .state
        .as_deref()
        .map(|s| {
            s.parse::<JournalState>()
                .map_err(|e| ApiError::bad_request(e.to_string()))
        })
        .transpose()?;
    let run = find_run(state, id).await?;
    let journal = state
        .store
        .journal(&run.id)
        .await
        .map_err(ApiError::store)?;
    let events = state
        .store
        .audit(&AuditQuery {
            run: Some(run.id.to_string()),
            ..AuditQuery::default()
        })
        .await
        .map_err(ApiError::store)?;
    // The reason of each settled action, by target, person and kind.
    let reasons: HashMap<(String, String, String), String> = events
        .iter()
        .map(|e| {
            (
                (
                    e.target.to_string(),
                    e.person.to_string(),
                    e.action.as_str().to_owned(),
                ),
                e.reason.clone(),
            )
        })
        .collect();
    let actions = journal
        .into_iter()
        .filter(|e| {
            filter
                .target
                .as_deref()
                .map_or(true, |t| e.target.as_str() == t)
        })
        .filter(|e| kind.map_or(true, |k| e.kind == k))
        .filter(|e| journal_state.map_or(true, |s| e.state == s))
        .map(|e| {
            let key = (
                e.target.to_string(),
                e.person.to_string(),
                e.kind.as_str().to_owned(),
            );
            let reason = reasons.get(&key).cloned();
            ActionView::new(e, reason)
        })
        .collect();
    Ok((run, actions, events))
}

pub(crate) fn parse_kind(kind: &str) -> Result<muster_core::plan::ActionKind, ApiError> {
    kind.parse().map_err(
        |e: <muster_core::plan::ActionKind as std::str::FromStr>::Err| {
            ApiError::bad_request(e.to_string())
        },
    )
}

/// Starts a preview (`plan`) or an apply in the background (admin). 409 while another run
/// goes on.
#[utoipa::path(post, path = "/api/v1/runs", request_body = TriggerRequest, tag = "runs",
    responses((status = 202, body = TriggerAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn trigger(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<TriggerRequest>,
) -> Result<(StatusCode, axum::Json<TriggerAnswer>), ApiError> {
    caller.require(Need::Admin)?;
    let answer = start_run(&state, request, caller.who())?;
    tracing::info!(by = %answer.started_by, mode = ?answer.mode, "Run triggered through the API.");
    Ok((StatusCode::ACCEPTED, axum::Json(answer)))
}

/// Starts the run `request` asks for on behalf of `who` (the API's and the dashboard's).
pub(crate) fn start_run(
    state: &AppState,
    request: TriggerRequest,
    who: String,
) -> Result<TriggerAnswer, ApiError> {
    let mut targets = Vec::new();
    for t in request.targets.iter().flatten() {
        let name = super::extract::target_name(t)?;
        if !state
            .runner
            .engine()
            .config
            .targets
            .iter()
            .any(|c| c.name.as_str() == name)
        {
            return Err(ApiError::bad_request(format!(
                "no target `{name}` is configured"
            )));
        }
        targets.push(TargetName::from(name));
    }
    if request.targets.as_ref().is_some_and(Vec::is_empty) {
        return Err(ApiError::bad_request(
            "targets is empty: leave it out to run every target",
        ));
    }
    let mode = match request.mode {
        TriggerMode::Plan => RunMode::Preview,
        TriggerMode::Apply => RunMode::Apply,
    };
    let started = state
        .runner
        .trigger(RunRequest {
            mode,
            targets,
            origin: who,
        })
        .map_err(|e| match e {
            TriggerError::Busy(_) => ApiError::conflict(e.to_string()),
            TriggerError::ShuttingDown => ApiError::unavailable(e.to_string()),
            TriggerError::Engine(e) => ApiError::bad_request(e.to_string()),
        })?;
    Ok(TriggerAnswer {
        mode: request.mode,
        targets: started
            .request
            .targets
            .iter()
            .map(|t| t.to_string())
            .collect(),
        started_by: started.request.origin,
        since: started.since,
    })
}
