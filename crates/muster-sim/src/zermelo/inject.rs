//! Zermelo's faults (zermelo.md §7): the shared [`crate::faults::inject`] middleware does the
//! latency and jitter, the token bucket, the failure draw before or after applying, the dropped
//! connection and the hang; this module plugs the simulator into it ([`FaultSource`]) so its
//! 429 and 5xx come in the envelope.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::envelope::Envelope;
use super::state::ZermeloState;
use super::API_PATH;
use crate::faults::{FaultInjector, FaultSource, Faults};

impl FaultSource for ZermeloState {
    const API_PATH: &'static str = API_PATH;

    fn faults(&self) -> Faults {
        self.switches().faults
    }

    fn injector(&self) -> &FaultInjector {
        ZermeloState::injector(self)
    }

    /// A 429 or 5xx in the envelope, like every other answer of the portal.
    fn render_error(&self, _faults: &Faults, status: StatusCode, detail: &str) -> Response {
        tracing::debug!(%status, detail, "Zermelo simulator injected an error.");
        Envelope {
            status,
            message: status.canonical_reason().unwrap_or("Error").to_string(),
            details: detail.to_string(),
            data: Vec::new(),
        }
        .into_response()
    }
}
