//! The test API under `/_sim` (no auth, no faults, no envelope, not counted): state dump
//! (users, students, placements, classes), request counters, reset, and reading or replacing
//! the switches, so a test in another process (the CLI, a script) can drive the simulator.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::state::ZermeloState;
use super::ZermeloSwitches;

/// Routes of the test API.
pub fn routes() -> Router<ZermeloState> {
    Router::new()
        .route("/_sim/state", get(dump))
        .route("/_sim/counters", get(counters))
        .route("/_sim/reset", post(reset))
        .route("/_sim/switches", get(get_switches).put(put_switches))
}

async fn dump(State(state): State<ZermeloState>) -> Response {
    Json(state.dump()).into_response()
}

async fn counters(State(state): State<ZermeloState>) -> Response {
    Json(json!({
        "total": state.total_requests(),
        "requests": state.counters(),
        "lastEventId": state.last_event_id(),
    }))
    .into_response()
}

async fn reset(State(state): State<ZermeloState>) -> StatusCode {
    state.reset();
    tracing::debug!("Zermelo simulator reset.");
    StatusCode::NO_CONTENT
}

async fn get_switches(State(state): State<ZermeloState>) -> Response {
    Json(state.switches()).into_response()
}

/// Replaces the switches; fields left out take their defaults, unknown fields are refused.
async fn put_switches(State(state): State<ZermeloState>, body: Bytes) -> Response {
    match serde_json::from_slice::<ZermeloSwitches>(&body) {
        Ok(sw) => {
            state.set_switches(sw.clone());
            tracing::debug!(switches = ?sw, "Zermelo simulator switches replaced.");
            Json(sw).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}
