//! The test API under `/_sim` (no auth, no faults, not counted): state dump with each user's
//! `SsoAccountKey`, request counters, the fault log, reset, and reading or replacing the
//! switches, so a test in another process (the CLI demo, a script) can drive the simulator.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::state::ZivverState;
use super::ZivverSwitches;

/// Routes of the test API.
pub fn routes() -> Router<ZivverState> {
    Router::new()
        .route("/_sim/state", get(dump))
        .route("/_sim/counters", get(counters))
        .route("/_sim/faults", get(faults))
        .route("/_sim/reset", post(reset))
        .route("/_sim/switches", get(get_switches).put(put_switches))
}

async fn dump(State(state): State<ZivverState>) -> Response {
    Json(state.dump()).into_response()
}

async fn counters(State(state): State<ZivverState>) -> Response {
    Json(json!({ "total": state.total_requests(), "requests": state.counters() })).into_response()
}

async fn faults(State(state): State<ZivverState>) -> Response {
    Json(state.fault_log()).into_response()
}

async fn reset(State(state): State<ZivverState>) -> StatusCode {
    state.reset();
    tracing::debug!("Zivver simulator reset.");
    StatusCode::NO_CONTENT
}

async fn get_switches(State(state): State<ZivverState>) -> Response {
    Json(state.switches()).into_response()
}

/// Replaces the switches; fields left out take their defaults, unknown fields are refused.
async fn put_switches(State(state): State<ZivverState>, body: Bytes) -> Response {
    match serde_json::from_slice::<ZivverSwitches>(&body) {
        Ok(sw) => {
            state.set_switches(sw.clone());
            tracing::debug!(switches = ?sw, "Zivver simulator switches replaced.");
            Json(sw).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}
