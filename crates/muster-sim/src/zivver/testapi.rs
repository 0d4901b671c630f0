//! The test API under `/_sim` (no auth, no faults, not counted): state dump with each user's
//! `SsoAccountKey`, request counters, the fault log, reset, and reading or replacing the
//! switches, so a test in another process (the CLI demo, a script) can drive the simulator. The
//! handlers but the fault log's are the shared ones of [`crate::control`].

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::state::ZivverState;
use super::{ZivverSwitches, API_PATH};
use crate::control::{self, RequestCounter, Simulated};

/// Routes of the test API: the shared ones and the fault log.
pub fn routes() -> Router<ZivverState> {
    control::routes::<ZivverState>().route("/_sim/faults", get(faults))
}

async fn faults(State(state): State<ZivverState>) -> Response {
    Json(state.fault_log()).into_response()
}

impl Simulated for ZivverState {
    const NAME: &'static str = "Zivver";
    const API_PATH: &'static str = API_PATH;
    type Switches = ZivverSwitches;

    fn counter(&self) -> &RequestCounter {
        ZivverState::counter(self)
    }

    fn current_switches(&self) -> ZivverSwitches {
        self.switches()
    }

    fn replace_switches(&self, switches: ZivverSwitches) -> Result<(), String> {
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
