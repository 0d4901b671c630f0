//! Zivver's fault answers: the simulator plugs into the shared [`crate::faults::inject`]
//! middleware ([`FaultSource`]), which owns the rate limiter, the fault switches of zivver.md §6,
//! their scope and the fault log; here a 429 gets the exact body of §4.4 with the limiter's
//! settings echoed, and a 5xx Zivver's plain text.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::TEXT_PLAIN;
use super::state::ZivverState;
use super::API_PATH;
use crate::faults::{FaultInjector, FaultSource, Faults};

impl FaultSource for ZivverState {
    const API_PATH: &'static str = API_PATH;

    fn faults(&self) -> Faults {
        self.switches().faults
    }

    fn injector(&self) -> &FaultInjector {
        ZivverState::injector(self)
    }

    fn render_error(&self, faults: &Faults, status: StatusCode, _detail: &str) -> Response {
        if status == StatusCode::TOO_MANY_REQUESTS {
            return too_many_requests(faults);
        }
        let text = status.canonical_reason().unwrap_or("Server Error");
        (status, [(header::CONTENT_TYPE, TEXT_PLAIN)], text).into_response()
    }
}

/// The 429 of zivver.md §4.4, to the byte, with the limiter's settings echoed.
fn too_many_requests(faults: &Faults) -> Response {
    let body = json!({
        "code": 429,
        "message": "Too Many Requests",
        "emptiedBucketDetails": {
            "limiterId": "cab",
            "budget": faults.rate_budget,
            "windowSeconds": faults.rate_window_s,
        },
        "reference": "https://tools.ietf.org/html/draft-polli-ratelimit-headers-02",
    });
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
