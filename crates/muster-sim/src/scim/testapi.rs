//! The test API under `/_sim` (no auth, no faults, not counted): state dump, request counters,
//! reset, and reading or replacing the switches, so tests in other processes (the CLI demo, a
//! shell script) can drive the simulator over HTTP. The handlers are the shared ones of
//! [`crate::control`].

use axum::Router;
use serde_json::{json, Value};

use super::state::ScimState;
use super::ScimSwitches;
use crate::control::{self, RequestCounter, Simulated};

/// Routes of the test API.
pub fn routes() -> Router<ScimState> {
    control::routes::<ScimState>()
}

impl Simulated for ScimState {
    const NAME: &'static str = "SCIM";
    type Switches = ScimSwitches;

    fn counter(&self) -> &RequestCounter {
        ScimState::counter(self)
    }

    fn current_switches(&self) -> ScimSwitches {
        self.switches()
    }

    fn replace_switches(&self, switches: ScimSwitches) -> Result<(), String> {
        self.set_switches(switches);
        Ok(())
    }

    fn reset_all(&self) {
        self.reset();
    }

    fn state_dump(&self) -> Value {
        json!({ "users": self.users(), "groups": self.groups() })
    }
}
