//! The test API under `/_sim` (no auth, no faults, no envelope, not counted): state dump
//! (users, students, placements, classes), request counters (with the last `eventId`), reset,
//! and reading or replacing the switches, so a test in another process (the CLI, a script) can
//! drive the simulator. The handlers are the shared ones of [`crate::control`].

use axum::Router;
use serde_json::{json, Value};

use super::state::ZermeloState;
use super::ZermeloSwitches;
use crate::control::{self, RequestCounter, Simulated};

/// Routes of the test API.
pub fn routes() -> Router<ZermeloState> {
    control::routes::<ZermeloState>()
}

impl Simulated for ZermeloState {
    const NAME: &'static str = "Zermelo";
    type Switches = ZermeloSwitches;

    fn counter(&self) -> &RequestCounter {
        ZermeloState::counter(self)
    }

    fn current_switches(&self) -> ZermeloSwitches {
        self.switches()
    }

    fn replace_switches(&self, switches: ZermeloSwitches) -> Result<(), String> {
        self.set_switches(switches);
        Ok(())
    }

    fn reset_all(&self) {
        self.reset();
    }

    fn state_dump(&self) -> Value {
        self.dump()
    }

    fn counters_view(&self) -> Value {
        json!({
            "total": self.total_requests(),
            "requests": self.counters(),
            "lastEventId": self.last_event_id(),
        })
    }
}
