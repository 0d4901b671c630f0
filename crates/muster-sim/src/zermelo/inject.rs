//! Zermelo's faults (zermelo.md §7): the shared [`crate::faults::inject`] middleware does the
//! latency, the token bucket, the failure draw before or after applying, the dropped connection
//! and the hang; this module plugs the simulator into it ([`FaultSource`]) so its 429 and 5xx
//! come in the envelope, and adds the one thing the shared one lacks, latency jitter.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::envelope::Envelope;
use super::state::ZermeloState;
use crate::faults::{FaultInjector, FaultSource, Faults};

impl FaultSource for ZermeloState {
    fn faults(&self) -> Faults {
        self.switches().faults()
    }

    fn injector(&self) -> &FaultInjector {
        ZermeloState::injector(self)
    }

    /// A 429 or 5xx in the envelope, like every other answer of the portal.
    fn render_error(&self, status: StatusCode, detail: &str) -> Response {
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

/// Middleware adding a delay drawn from `0..=latency_jitter_ms` (seeded) before the shared
/// injector's fixed `latency_ms`.
pub async fn jitter(State(state): State<ZermeloState>, req: Request, next: Next) -> Response {
    let span = state.switches().latency_jitter_ms;
    if span > 0 {
        let extra = (state.injector().draw() * span.saturating_add(1) as f64) as u64;
        tokio::time::sleep(Duration::from_millis(extra.min(span))).await;
    }
    next.run(req).await
}
