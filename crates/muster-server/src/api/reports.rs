//! The newest import and reconcile report of each target, as `muster import` and
//! `muster reconcile` kept them in the store.

use super::error::{ApiError, ErrorBody};
use super::extract::{target_name, Path};
use crate::auth::Caller;
use crate::state::AppState;
use crate::tokens::Need;
use axum::extract::State;
use chrono::{DateTime, Utc};
use muster_store::ReportKind;
use serde::Serialize;
use utoipa::ToSchema;

/// The newest report of one kind for one target.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub target: String,
    /// `import` or `reconcile`.
    pub kind: String,
    pub saved_at: DateTime<Utc>,
    /// The report as the command printed it with `--json` (ids, correlation values, counts;
    /// no secrets).
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
}

fn report_kind(kind: &str) -> Result<ReportKind, ApiError> {
    match kind {
        "import" => Ok(ReportKind::Import),
        "reconcile" => Ok(ReportKind::Reconcile),
        _ => Err(ApiError::bad_request(
            "the report kind must be `import` or `reconcile`",
        )),
    }
}

/// A target's newest import or reconcile report.
#[utoipa::path(get, path = "/api/v1/reports/{kind}/{target}",
    params(
        ("kind" = String, Path, description = "`import` or `reconcile`", pattern = "^(import|reconcile)$"),
        ("target" = String, Path, description = "a configured target", pattern = "^[A-Za-z0-9_-]{1,64}$"),
    ),
    tag = "reports",
    responses((status = 200, body = ReportView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, target)): Path<(String, String)>,
) -> Result<axum::Json<ReportView>, ApiError> {
    caller.require(Need::Read)?;
    let kind = report_kind(&kind)?;
    let name = target_name(&target)?;
    let Some(t) = state.runner.engine().config.target(name) else {
        return Err(ApiError::not_found(format!(
            "no target `{name}` is configured"
        )));
    };
    let stored = state
        .store
        .latest_report(kind, &t.name)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no {} report was kept for `{name}` yet (run `muster {} --target {name}`)",
                kind.as_str(),
                kind.as_str()
            ))
        })?;
    Ok(axum::Json(ReportView {
        target: stored.target.to_string(),
        kind: stored.kind.as_str().to_owned(),
        saved_at: stored.saved_at,
        report: stored.report,
    }))
}
