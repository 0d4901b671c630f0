//! The test API under `/_sim` (no auth, no faults, not counted): state dump, request counters,
//! reset, and reading or replacing the switches, so tests in other processes (the CLI demo, a
//! shell script) can drive the simulator over HTTP.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::state::ScimState;
use super::ScimSwitches;

/// Routes of the test API.
pub fn routes() -> Router<ScimState> {
    Router::new()
        .route("/_sim/state", get(dump))
        .route("/_sim/counters", get(counters))
        .route("/_sim/reset", post(reset))
        .route("/_sim/switches", get(get_switches).put(put_switches))
}

async fn dump(State(state): State<ScimState>) -> Response {
    Json(json!({ "users": state.users(), "groups": state.groups() })).into_response()
}

async fn counters(State(state): State<ScimState>) -> Response {
    Json(json!({ "total": state.total_requests(), "requests": state.counters() })).into_response()
}

async fn reset(State(state): State<ScimState>) -> StatusCode {
    state.reset();
    tracing::debug!("SCIM simulator reset.");
    StatusCode::NO_CONTENT
}

async fn get_switches(State(state): State<ScimState>) -> Response {
    Json(state.switches()).into_response()
}

/// Replaces the switches; fields left out take their defaults, unknown fields are refused.
async fn put_switches(State(state): State<ScimState>, body: Bytes) -> Response {
    match serde_json::from_slice::<ScimSwitches>(&body) {
        Ok(sw) => {
            state.set_switches(sw.clone());
            tracing::debug!(switches = ?sw, "SCIM simulator switches replaced.");
            Json(sw).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}
