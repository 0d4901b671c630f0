//! The test API under `/_sim` (no auth, no faults, not counted): state dump with each user's
//! `SsoAccountKey`, request counters, the fault log, reset, and reading or replacing the
//! switches, so a test in another process (the CLI demo, a script) can drive the simulator. The
//! handlers are the shared ones of [`crate::control`].

use axum::Router;
use serde_json::Value;

use super::state::ZivverState;
use super::ZivverSwitches;
use crate::control::{self, RequestCounter, Simulated};

/// Routes of the test API.
pub fn routes() -> Router<ZivverState> {
    control::routes::<ZivverState>()
}

impl Simulated for ZivverState {
    const NAME: &'static str = "Zivver";
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
