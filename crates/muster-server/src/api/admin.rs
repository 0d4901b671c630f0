//! Targets' newest plans, the schedules, and API tokens.

use super::error::{ApiError, ErrorBody};
use super::extract::{target_name, Json, Path};
use super::views::{NewTokenView, PlanView, ScheduleView, TokenRequest, TokenView};
use crate::auth::Caller;
use crate::state::AppState;
use crate::tokens::{self, Need};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use muster_store::TokenRole;

/// The newest plan made for a target (by a run of this server).
#[utoipa::path(get, path = "/api/v1/targets/{target}/plan", params(("target" = String, Path, description = "a configured target", pattern = "^[A-Za-z0-9_-]{1,64}$")), tag = "runs",
    responses((status = 200, body = PlanView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn plan(
    State(state): State<AppState>,
    caller: Caller,
    Path(target): Path<String>,
) -> Result<axum::Json<PlanView>, ApiError> {
    caller.require(Need::Read)?;
    Ok(axum::Json(latest_plan(&state, &target).await?))
}

/// The newest plan of a configured target (the API's and the dashboard's query).
pub(crate) async fn latest_plan(state: &AppState, target: &str) -> Result<PlanView, ApiError> {
    let name = target_name(target)?;
    let Some(t) = state.runner.engine().config.target(name) else {
        return Err(ApiError::not_found(format!(
            "no target `{name}` is configured"
        )));
    };
    let plan = state
        .store
        .latest_plan(&t.name)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("no plan was made for `{name}` yet")))?;
    Ok(PlanView {
        target: plan.target.to_string(),
        run: plan.run.to_string(),
        saved_at: plan.saved_at,
        plan: plan.plan,
    })
}

/// The configured schedules and when each fires next.
#[utoipa::path(get, path = "/api/v1/schedules", tag = "runs",
    responses((status = 200, body = Vec<ScheduleView>), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn schedules(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<ScheduleView>>, ApiError> {
    caller.require(Need::Read)?;
    Ok(axum::Json(schedule_views(&state)))
}

/// The configured schedules and their next firing (the API's and the dashboard's).
pub(crate) fn schedule_views(state: &AppState) -> Vec<ScheduleView> {
    let now = Utc::now();
    state
        .schedules
        .iter()
        .map(|s| ScheduleView {
            name: s.name.clone(),
            cron: s.expression.clone(),
            timezone: s.timezone.name().to_owned(),
            mode: match s.mode {
                muster_store::RunMode::Preview => "plan".to_owned(),
                muster_store::RunMode::Apply => "apply".to_owned(),
                muster_store::RunMode::SignIn => "sign-in".to_owned(),
            },
            targets: s.targets.iter().map(|t| t.to_string()).collect(),
            jitter_seconds: s.jitter.as_secs(),
            next: s.next_after(now),
        })
        .collect()
}

/// Every API token (admin); never the tokens themselves.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<TokenView>>, ApiError> {
    caller.require(Need::Admin)?;
    let list = state.store.tokens().await.map_err(ApiError::store)?;
    Ok(axum::Json(list.into_iter().map(TokenView::from).collect()))
}

/// Makes a token (admin); the answer holds the token, shown this once.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = TokenRequest, tag = "tokens",
    responses((status = 201, body = NewTokenView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<TokenRequest>,
) -> Result<(StatusCode, axum::Json<NewTokenView>), ApiError> {
    caller.require(Need::Admin)?;
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "name must be 1-100 characters without control characters",
        ));
    }
    let role = TokenRole::from(request.role);
    let made = tokens::create(state.store.as_ref(), name, role)
        .await
        .map_err(ApiError::store)?;
    tracing::info!(by = %caller.who(), id = %made.record.id, %role, "API token created.");
    Ok((
        StatusCode::CREATED,
        axum::Json(NewTokenView {
            token: made.token,
            record: made.record.into(),
        }),
    ))
}

/// Revokes a token (admin); it is refused from then on.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", params(("id" = String, Path, description = "the token's id", pattern = "^[0-9a-fA-F]{1,64}$")), tag = "tokens",
    responses((status = 200, body = TokenView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<TokenView>, ApiError> {
    caller.require(Need::Admin)?;
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(
            "a token id is 1-64 hexadecimal characters",
        ));
    }
    let revoked = state
        .store
        .revoke_token(&id)
        .await
        .map_err(ApiError::store)?;
    tracing::info!(by = %caller.who(), id = %revoked.id, "API token revoked.");
    Ok(axum::Json(revoked.into()))
}
