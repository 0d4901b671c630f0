//! Zivver's faults: its rate limiter with the exact 429 body of zivver.md §4.4, and the fault
//! switches of §6 (latency with jitter, 5xx, drops and hangs, before or after applying), each
//! limited to the requests a [`FaultScope`] matches, and each logged as a [`FaultEvent`].
//!
//! The seeded draws, the verdict bands and the dropped-connection marker come from the shared
//! [`crate::faults`]; the shared `inject` middleware itself is not used because Zivver needs
//! what it does not offer: scoping, jitter, a 500/502/503 mix, a fault log and its own 429 body.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use tokio::time::Instant;

use super::error::TEXT_PLAIN;
use super::state::ZivverState;
use super::{FaultScope, ZivverSwitches};
use crate::faults::{dropped, malformed, Faults, Verdict};

/// What was injected into one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answered 429: the bucket was empty.
    RateLimited,
    /// Answered 500, 502 or 503 without applying.
    #[serde(rename = "error_5xx")]
    Error5xx,
    /// Applied, then answered 503.
    #[serde(rename = "error_5xx_after_apply")]
    Error5xxAfterApply,
    /// Connection closed unanswered, nothing applied.
    Drop,
    /// Applied, then the connection closed unanswered.
    DropAfterApply,
    /// Applied, then answered only after `hang_ms`.
    Hang,
    /// Answered 429 by `throttle_ratio`, not applied.
    Throttled,
    /// Applied, answered with a body cut into malformed JSON.
    MalformedJson,
    /// Delayed by `slow_ms` before being handled.
    Slow,
}

/// One entry of the fault log (`GET /_sim/faults`, [`ZivverState::fault_log`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultEvent {
    /// Position in the log, from 1; keeps counting when old entries are evicted.
    pub seq: u64,
    /// HTTP method of the request.
    pub method: String,
    /// Path under `/api/scim/v2`, e.g. `/Users/6c0e…`.
    pub path: String,
    /// What was injected.
    pub fault: FaultKind,
    /// The status answered, if one was.
    pub status: Option<u16>,
}

/// Zivver's limiter: `budget` requests per window of `window_s` seconds. A window opens with the
/// first request after the previous one closed, and the whole budget comes back when it closes,
/// so the request after the budget within one window is refused, whatever the pace.
#[derive(Debug, Default)]
pub struct Limiter {
    opened: Option<Instant>,
    used: u32,
    /// The settings the window was opened with; a change starts afresh.
    shape: (u32, u64),
}

impl Limiter {
    /// Takes one request from the budget, or says how many whole seconds (at least 1) remain
    /// until the window closes and the budget is back.
    pub fn take(&mut self, budget: u32, window_s: u64, now: Instant) -> Result<(), u64> {
        let window = Duration::from_secs(window_s.max(1));
        if self.shape != (budget, window_s) {
            *self = Self {
                shape: (budget, window_s),
                ..Self::default()
            };
        }
        let opened = match self.opened {
            Some(at) if now.duration_since(at) < window => at,
            _ => {
                self.opened = Some(now);
                self.used = 0;
                now
            }
        };
        if self.used < budget {
            self.used += 1;
            return Ok(());
        }
        let left = window.saturating_sub(now.duration_since(opened));
        Err(left.as_millis().div_ceil(1000).max(1) as u64)
    }
}

/// The 429 of zivver.md §4.4, to the byte, with the bucket's settings echoed.
fn too_many_requests(sw: &ZivverSwitches, wait_s: u64) -> Response {
    let body = json!({
        "code": 429,
        "message": "Too Many Requests",
        "emptiedBucketDetails": {
            "limiterId": "cab",
            "budget": sw.rate_budget,
            "windowSeconds": sw.rate_window_s,
        },
        "reference": "https://tools.ietf.org/html/draft-polli-ratelimit-headers-02",
    });
    let mut resp = (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if sw.retry_after {
        if let Ok(v) = HeaderValue::from_str(&wait_s.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    resp
}

fn server_error(status: StatusCode) -> Response {
    let text = status.canonical_reason().unwrap_or("Server Error");
    (status, [(header::CONTENT_TYPE, TEXT_PLAIN)], text).into_response()
}

/// Statuses of `error_5xx_ratio`, one picked per failure by a seeded draw.
const STATUSES_5XX: [StatusCode; 3] = [
    StatusCode::INTERNAL_SERVER_ERROR,
    StatusCode::BAD_GATEWAY,
    StatusCode::SERVICE_UNAVAILABLE,
];

/// Whether `text` matches the glob `pattern`, where `*` stands for any run of characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut tail) = text.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = rest.split('*').collect();
    let last = parts.pop().unwrap_or_default();
    for part in parts {
        match tail.find(part) {
            Some(at) => tail = &tail[at + part.len()..],
            None => return false,
        }
    }
    tail.len() >= last.len() && tail.ends_with(last)
}

impl FaultScope {
    /// Whether a request with this method and path (under `/api/scim/v2`) is in scope.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .map_or(true, |m| m == "*" || m.eq_ignore_ascii_case(method));
        let path_ok = self.path.as_deref().map_or(true, |p| {
            let p = p.strip_prefix(super::API_PATH).unwrap_or(p);
            glob(p, path)
        });
        method_ok && path_ok
    }
}

/// Middleware applying the switches around the handlers, in this order: latency (scoped), the
/// rate limit (every request), the failure draw before or after applying (scoped), the hang
/// (scoped).
pub async fn inject(State(state): State<ZivverState>, req: Request, next: Next) -> Response {
    let sw = state.switches();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let scoped = sw
        .fault_scope
        .as_ref()
        .map_or(true, |s| s.matches(&method, &path));
    if scoped && (sw.latency_ms > 0 || sw.latency_jitter_ms > 0) {
        let jitter = if sw.latency_jitter_ms > 0 {
            let span = sw.latency_jitter_ms.saturating_add(1) as f64;
            (state.draw() * span) as u64
        } else {
            0
        };
        tokio::time::sleep(Duration::from_millis(sw.latency_ms.saturating_add(jitter))).await;
    }
    if sw.rate_limit {
        if let Err(wait_s) = state.take_token(&sw) {
            tracing::debug!(wait_s, "Zivver simulator rate limit hit.");
            state.log_fault(&method, &path, FaultKind::RateLimited, Some(429));
            return too_many_requests(&sw, wait_s);
        }
    }
    if !scoped {
        return next.run(req).await;
    }
    if sw.slow_ms > 0 && sw.slow_ratio > 0.0 && state.draw() < sw.slow_ratio {
        state.log_fault(&method, &path, FaultKind::Slow, None);
        tokio::time::sleep(Duration::from_millis(sw.slow_ms)).await;
    }
    let faults = Faults {
        error_5xx_ratio: sw.error_5xx_ratio,
        drop_ratio: sw.drop_ratio,
        error_5xx_after_apply_ratio: sw.error_5xx_after_apply_ratio,
        drop_after_apply_ratio: sw.drop_after_apply_ratio,
        throttle_ratio: sw.throttle_ratio,
        malformed_json_ratio: sw.malformed_json_ratio,
        ..Faults::default()
    };
    let verdict = if faults.any_failure() {
        faults.verdict(state.draw())
    } else {
        Verdict::Pass
    };
    let hang = sw.hang_ms > 0 && sw.hang_ratio > 0.0 && state.draw() < sw.hang_ratio;
    let resp = match verdict {
        Verdict::Pass => next.run(req).await,
        Verdict::Fail => {
            let pick = (state.draw() * STATUSES_5XX.len() as f64) as usize;
            let status = STATUSES_5XX[pick.min(STATUSES_5XX.len() - 1)];
            state.log_fault(&method, &path, FaultKind::Error5xx, Some(status.as_u16()));
            return server_error(status);
        }
        Verdict::Drop => {
            state.log_fault(&method, &path, FaultKind::Drop, None);
            return dropped();
        }
        Verdict::FailAfterApply => {
            let _applied = next.run(req).await;
            state.log_fault(&method, &path, FaultKind::Error5xxAfterApply, Some(503));
            server_error(StatusCode::SERVICE_UNAVAILABLE)
        }
        Verdict::DropAfterApply => {
            let _applied = next.run(req).await;
            state.log_fault(&method, &path, FaultKind::DropAfterApply, None);
            dropped()
        }
        Verdict::Throttle => {
            state.log_fault(&method, &path, FaultKind::Throttled, Some(429));
            return too_many_requests(&sw, 1);
        }
        Verdict::MalformedJson => {
            let resp = malformed(next.run(req).await).await;
            state.log_fault(
                &method,
                &path,
                FaultKind::MalformedJson,
                Some(resp.status().as_u16()),
            );
            resp
        }
    };
    if hang {
        // Applied already: a client that gives up cannot know whether it took effect.
        state.log_fault(&method, &path, FaultKind::Hang, None);
        tokio::time::sleep(Duration::from_millis(sw.hang_ms)).await;
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_budget_comes_back_when_the_window_closes() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        for _ in 0..50 {
            assert!(l.take(50, 10, t0).is_ok());
        }
        assert_eq!(l.take(50, 10, t0), Err(10));
        tokio::time::advance(Duration::from_millis(9_500)).await;
        assert_eq!(l.take(50, 10, Instant::now()), Err(1));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(l.take(50, 10, Instant::now()).is_ok());
        // A new shape starts a new window.
        assert!(l.take(1, 10, Instant::now()).is_ok());
        assert_eq!(l.take(1, 10, Instant::now()), Err(10));
    }

    #[test]
    fn globs() {
        assert!(glob("/Users", "/Users"));
        assert!(!glob("/Users", "/Users/1"));
        assert!(glob("/Users*", "/Users/1"));
        assert!(glob("/Users/*", "/Users/1"));
        assert!(!glob("/Users/*", "/Groups/1"));
        assert!(glob("*/1", "/Groups/1"));
        assert!(glob("/*s/*", "/Groups/1"));
        assert!(!glob("/a*a", "/a"));
    }

    #[test]
    fn scopes_match_method_and_path() {
        let s = FaultScope::new("post", "/Users");
        assert!(s.matches("POST", "/Users"));
        assert!(!s.matches("GET", "/Users"));
        assert!(!s.matches("POST", "/Users/1"));
        let s = FaultScope {
            method: None,
            path: Some("/api/scim/v2/Groups/*".into()),
        };
        assert!(s.matches("PATCH", "/Groups/x") && s.matches("GET", "/Groups/y"));
        assert!(!s.matches("GET", "/Groups"));
    }
}
