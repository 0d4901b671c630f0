//! The test API under `/_sim` (no auth, no faults, not counted): state dump (deleted users and
//! passwords included), request counters, approving pending product requests, reset, and
//! reading or replacing the switches, so a test in another process (the CLI, a script) can
//! drive the simulator. The handlers but approvals are the shared ones of [`crate::control`].

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::state::HelloIdState;
use super::HelloIdSwitches;
use crate::control::{self, bad_request, RequestCounter, Simulated};

/// Routes of the test API: the shared ones and approvals.
pub fn routes() -> Router<HelloIdState> {
    control::routes::<HelloIdState>().route("/_sim/approve", post(approve))
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

impl Simulated for HelloIdState {
    const NAME: &'static str = "HelloID";
    type Switches = HelloIdSwitches;

    fn counter(&self) -> &RequestCounter {
        HelloIdState::counter(self)
    }

    fn current_switches(&self) -> HelloIdSwitches {
        self.switches()
    }

    /// Refuses values that cannot be served (see [`HelloIdSwitches::validate`]).
    fn replace_switches(&self, switches: HelloIdSwitches) -> Result<(), String> {
        switches.validate()?;
        self.set_switches(switches);
        Ok(())
    }

    fn reset_all(&self) {
        self.reset();
    }

    fn state_dump(&self) -> Value {
        self.dump()
    }
}
