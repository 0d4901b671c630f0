//! HelloID's faults (helloid.md §7): the shared [`crate::faults::inject`] middleware does the
//! rate limit, the failure draw before or after applying, drops and hangs; this module gives it
//! HelloID's error bodies, and adds the latency earlier, before authentication, so a 401 is
//! delayed too.
//!
//! Errors are rendered here with the default error key; the `finish` middleware of `routes`
//! puts them under the `error_field` in force.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::HelloIdError;
use super::state::HelloIdState;
use super::API_PATH;
use crate::faults::{self, FaultInjector, FaultSource, Faults, Site};

impl FaultSource for HelloIdState {
    const API_PATH: &'static str = API_PATH;

    /// The switches without latency, which [`latency`] has added already.
    fn faults(&self) -> Faults {
        Faults {
            latency_ms: 0,
            latency_jitter_ms: 0,
            ..self.switches().faults
        }
    }

    fn injector(&self) -> &FaultInjector {
        HelloIdState::injector(self)
    }

    /// `{"message": "Too Many Requests"}` for a 429, the status's reason for a 5xx
    /// (simulator texts).
    fn render_error(&self, _faults: &Faults, status: StatusCode, detail: &str) -> Response {
        tracing::debug!(%status, detail, "HelloID simulator injected an error.");
        let text = if status == StatusCode::TOO_MANY_REQUESTS {
            "Too Many Requests"
        } else {
            status.canonical_reason().unwrap_or("Server Error")
        };
        HelloIdError::new(status, text).into_response()
    }
}

/// Delays every (scoped) API request by `latency_ms` plus a seeded draw from
/// `0..=latency_jitter_ms`, before authentication, the rate limit and the other faults.
pub async fn latency(State(state): State<HelloIdState>, req: Request, next: Next) -> Response {
    let site = Site::of::<HelloIdState>(&req);
    let faults = state.switches().faults;
    faults::delay(&state, &faults, &site).await;
    next.run(req).await
}
