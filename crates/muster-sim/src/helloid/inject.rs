//! HelloID's faults (helloid.md §7): the shared [`crate::faults::inject`] middleware does the
//! rate limit, the failure draw before or after applying, drops and hangs; this module adds
//! what it lacks, latency with jitter, and gives it HelloID's error bodies.
//!
//! Errors are rendered here with the default error key; the `finish` middleware of `routes`
//! puts them under the `error_field` in force.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::HelloIdError;
use super::state::HelloIdState;
use crate::faults::{FaultInjector, FaultSource, Faults};

impl FaultSource for HelloIdState {
    fn faults(&self) -> Faults {
        self.switches().faults()
    }

    fn injector(&self) -> &FaultInjector {
        HelloIdState::injector(self)
    }

    /// `{"message": "Too Many Requests"}` for a 429, the status's reason for a 5xx
    /// (simulator texts).
    fn render_error(&self, status: StatusCode, detail: &str) -> Response {
        tracing::debug!(%status, detail, "HelloID simulator injected an error.");
        let text = if status == StatusCode::TOO_MANY_REQUESTS {
            "Too Many Requests"
        } else {
            status.canonical_reason().unwrap_or("Server Error")
        };
        HelloIdError::new(status, text).into_response()
    }
}

/// Delays every API request by `latency_ms` plus a seeded draw from `0..=latency_jitter_ms`,
/// before the rate limit and the other faults run.
pub async fn latency(State(state): State<HelloIdState>, req: Request, next: Next) -> Response {
    let sw = state.switches();
    if sw.latency_ms > 0 || sw.latency_jitter_ms > 0 {
        let jitter = if sw.latency_jitter_ms > 0 {
            let span = sw.latency_jitter_ms.saturating_add(1) as f64;
            ((state.injector().draw() * span) as u64).min(sw.latency_jitter_ms)
        } else {
            0
        };
        tokio::time::sleep(Duration::from_millis(sw.latency_ms.saturating_add(jitter))).await;
    }
    next.run(req).await
}
