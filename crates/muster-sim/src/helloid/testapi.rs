//! The test API under `/_sim` (no auth, no faults, not counted): state dump (deleted users and
//! passwords included), request counters, approving pending product requests, reset, and
//! reading or replacing the switches, so a test in another process (the CLI, a script) can
//! drive the simulator.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::state::HelloIdState;
use super::HelloIdSwitches;

/// Routes of the test API.
pub fn routes() -> Router<HelloIdState> {
    Router::new()
        .route("/_sim/state", get(dump))
        .route("/_sim/counters", get(counters))
        .route("/_sim/approve", post(approve))
        .route("/_sim/reset", post(reset))
        .route("/_sim/switches", get(get_switches).put(put_switches))
}

fn bad_request(error: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error.to_string() })),
    )
        .into_response()
}

async fn dump(State(state): State<HelloIdState>) -> Response {
    Json(state.dump()).into_response()
}

async fn counters(State(state): State<HelloIdState>) -> Response {
    Json(json!({ "total": state.total_requests(), "requests": state.counters() })).into_response()
}

/// Approves every pending product request, or with `{"requestGuid": "…"}` that one; answers
/// `{"approved": [guids]}`.
async fn approve(State(state): State<HelloIdState>, body: Bytes) -> Response {
    let only = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => match v.get("requestGuid") {
                None | Some(Value::Null) => None,
                Some(Value::String(g)) => Some(g.clone()),
                Some(_) => return bad_request("requestGuid must be a string"),
            },
            Err(e) => return bad_request(e),
        }
    };
    let approved = state.approve(only.as_deref());
    tracing::debug!(
        count = approved.len(),
        "HelloID simulator approved requests."
    );
    Json(json!({ "approved": approved })).into_response()
}

async fn reset(State(state): State<HelloIdState>) -> StatusCode {
    state.reset();
    tracing::debug!("HelloID simulator reset.");
    StatusCode::NO_CONTENT
}

async fn get_switches(State(state): State<HelloIdState>) -> Response {
    Json(state.switches()).into_response()
}

/// Replaces the switches; fields left out take their defaults, unknown fields and values that
/// cannot be served are refused.
async fn put_switches(State(state): State<HelloIdState>, body: Bytes) -> Response {
    let sw = match serde_json::from_slice::<HelloIdSwitches>(&body) {
        Ok(sw) => sw,
        Err(e) => return bad_request(e),
    };
    if let Err(e) = sw.validate() {
        return bad_request(e);
    }
    state.set_switches(sw.clone());
    tracing::debug!(switches = ?sw, "HelloID simulator switches replaced.");
    Json(sw).into_response()
}
