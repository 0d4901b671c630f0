//! Fault injection shared by every simulator: the [`Faults`] switches, a seeded random source, a
//! token-bucket rate limiter and the axum middleware [`inject`] that applies them.
//!
//! This module owns *when* a request misbehaves (delay, throttle, fail, drop, hang) and whether
//! that happens before or after the simulator applies the request. It leaves the shape of error
//! bodies to each simulator ([`FaultSource::render_error`]), and the actual closing of a dropped
//! connection to [`crate::serve`], which turns a response marked [`DropConnection`] into a
//! connection closed without an answer.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// Fault switches of a simulator. All off by default, so a default simulator is well behaved.
///
/// Ratios are probabilities in `0.0..=1.0` per request. The four failure ratios share one draw,
/// so `error_5xx_ratio = 0.5` with `drop_ratio = 0.5` fails every request, half each way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Throttle requests with a token bucket. Default: off.
    pub rate_limit: bool,
    /// Requests allowed per window when `rate_limit` is on. Default: 100.
    pub rate_budget: u32,
    /// Length of the rate window in seconds; the bucket refills evenly over it. Default: 10.
    pub rate_window_s: u64,
    /// Send `Retry-After` (seconds) on a 429 and on an injected 503. Off makes clients fall back
    /// to their own backoff. Default: on.
    pub retry_after: bool,
    /// Delay added before every request is handled, in milliseconds. Default: 0.
    pub latency_ms: u64,
    /// Share of requests answered 503 *without* being applied. Default: 0.0.
    pub error_5xx_ratio: f64,
    /// Share of requests applied, and then answered 503 anyway. Default: 0.0.
    pub error_5xx_after_apply_ratio: f64,
    /// Share of requests whose connection is closed without an answer, *not* applied. Default: 0.0.
    pub drop_ratio: f64,
    /// Share of requests applied, whose connection is then closed without an answer. Default: 0.0.
    pub drop_after_apply_ratio: f64,
    /// Delay, in milliseconds, between applying a request and answering it, meant to outlast the
    /// client's timeout. 0 disables hanging. Default: 0.
    pub hang_ms: u64,
    /// Share of requests that hang when `hang_ms` > 0. Default: 1.0 (every request).
    pub hang_ratio: f64,
    /// Statuses answered by `error_5xx_ratio`, one picked per failure by a seeded draw, e.g.
    /// `[500, 502, 503]`. `Retry-After` goes only with a 503. Default: `[503]`.
    pub error_statuses: Vec<u16>,
    /// Share of requests answered 429 *without* being applied, whatever the rate limit, with
    /// `Retry-After: <throttle_retry_after_s>` when `retry_after` is on. Default: 0.0.
    pub throttle_ratio: f64,
    /// Seconds sent in `Retry-After` with a `throttle_ratio` 429. Default: 1.
    pub throttle_retry_after_s: u64,
    /// Share of requests applied and answered with their status, but with the body cut short
    /// into malformed JSON (an empty body becomes a cut-off `200`). Default: 0.0.
    pub malformed_json_ratio: f64,
    /// Delay, in milliseconds, before a share of the requests is handled: slow answers,
    /// meant to stay within the client's timeout. 0 disables it. Default: 0.
    pub slow_ms: u64,
    /// Share of requests delayed by `slow_ms`. Default: 0.0.
    pub slow_ratio: f64,
    /// Apply the failures, hangs and slowness only to requests that may change something (not
    /// GET), so a client can still read and plan. Latency and the rate limit stay on every
    /// request. Default: off.
    pub only_writes: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rate_limit: false,
            rate_budget: 100,
            rate_window_s: 10,
            retry_after: true,
            latency_ms: 0,
            error_5xx_ratio: 0.0,
            error_5xx_after_apply_ratio: 0.0,
            drop_ratio: 0.0,
            drop_after_apply_ratio: 0.0,
            hang_ms: 0,
            hang_ratio: 1.0,
            error_statuses: vec![503],
            throttle_ratio: 0.0,
            throttle_retry_after_s: 1,
            malformed_json_ratio: 0.0,
            slow_ms: 0,
            slow_ratio: 0.0,
            only_writes: false,
        }
    }
}

/// What the dice decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle the request normally.
    Pass,
    /// Answer 503 without applying.
    Fail,
    /// Close the connection without applying or answering.
    Drop,
    /// Apply, then answer 503.
    FailAfterApply,
    /// Apply, then close the connection without answering.
    DropAfterApply,
    /// Answer 429 without applying.
    Throttle,
    /// Apply, then answer with the body cut into malformed JSON.
    MalformedJson,
}

impl Faults {
    /// Maps one uniform draw in `0.0..1.0` onto the failure ratios, in a fixed order, so the
    /// ratios are exact shares of the requests rather than independent coin flips.
    pub fn verdict(&self, draw: f64) -> Verdict {
        let bands = [
            (self.error_5xx_ratio, Verdict::Fail),
            (self.drop_ratio, Verdict::Drop),
            (self.error_5xx_after_apply_ratio, Verdict::FailAfterApply),
            (self.drop_after_apply_ratio, Verdict::DropAfterApply),
            (self.throttle_ratio, Verdict::Throttle),
            (self.malformed_json_ratio, Verdict::MalformedJson),
        ];
        let mut upper = 0.0;
        for (ratio, verdict) in bands {
            upper += ratio.clamp(0.0, 1.0);
            if draw < upper {
                return verdict;
            }
        }
        Verdict::Pass
    }

    /// Whether any failure ratio is set, i.e. a draw is needed for every request.
    pub fn any_failure(&self) -> bool {
        self.error_5xx_ratio
            + self.drop_ratio
            + self.error_5xx_after_apply_ratio
            + self.drop_after_apply_ratio
            + self.throttle_ratio
            + self.malformed_json_ratio
            > 0.0
    }

    /// The status of one injected server error, picked from `error_statuses` by `draw`.
    pub fn error_status(&self, draw: f64) -> StatusCode {
        let statuses = if self.error_statuses.is_empty() {
            &[503][..]
        } else {
            &self.error_statuses[..]
        };
        let at = ((draw.clamp(0.0, 1.0) * statuses.len() as f64) as usize).min(statuses.len() - 1);
        StatusCode::from_u16(statuses[at])
            .ok()
            .filter(StatusCode::is_server_error)
            .unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
    }
}

/// Marker put in a response's extensions: [`crate::serve`] closes the connection instead of
/// sending that response. Served by plain `axum::serve`, the marked 500 goes out as is.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// A token bucket that refills continuously at `budget / window` tokens per second.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    /// The settings the bucket was filled for; a change refills it, so a test that turns the
    /// limiter on gets a full budget whatever happened before.
    shape: (u32, u64),
}

impl Bucket {
    fn full(budget: u32, window_s: u64) -> Self {
        Self {
            tokens: f64::from(budget),
            last: Instant::now(),
            shape: (budget, window_s),
        }
    }

    /// Takes a token, or says in how many whole seconds (at least 1) the next one arrives.
    fn take(&mut self, budget: u32, window_s: u64) -> Result<(), u64> {
        if self.shape != (budget, window_s) {
            *self = Self::full(budget, window_s);
        }
        let now = Instant::now();
        let rate = f64::from(budget) / (window_s.max(1) as f64);
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(budget));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else if rate <= 0.0 {
            Err(window_s.max(1))
        } else {
            Err(((1.0 - self.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// The mutable parts of fault injection: the seeded random source and the rate bucket.
#[derive(Debug)]
pub struct FaultInjector {
    seed: u64,
    rng: Mutex<StdRng>,
    bucket: Mutex<Option<Bucket>>,
}

/// Locks a mutex, taking the data even if a thread panicked while holding it: every critical
/// section here leaves the data consistent, so a poisoned lock carries no broken state.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FaultInjector {
    /// A fresh injector whose draws are reproducible from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            rng: Mutex::new(Self::rng_for(seed)),
            bucket: Mutex::new(None),
        }
    }

    // Separate stream from the simulators' id generators, which use the bare seed.
    fn rng_for(seed: u64) -> StdRng {
        StdRng::seed_from_u64(seed ^ 0x6661_756c_7473_2121)
    }

    /// Re-seeds the random source and refills the rate bucket.
    pub fn reset(&self) {
        *lock(&self.rng) = Self::rng_for(self.seed);
        *lock(&self.bucket) = None;
    }

    /// One uniform draw in `0.0..1.0`.
    pub fn draw(&self) -> f64 {
        lock(&self.rng).gen::<f64>()
    }

    /// Takes a rate-limit token, or returns the seconds until the next one.
    pub fn take_token(&self, faults: &Faults) -> Result<(), u64> {
        let mut bucket = lock(&self.bucket);
        let bucket =
            bucket.get_or_insert_with(|| Bucket::full(faults.rate_budget, faults.rate_window_s));
        bucket.take(faults.rate_budget, faults.rate_window_s)
    }
}

/// What a simulator provides so [`inject`] can work on it.
pub trait FaultSource: Clone + Send + Sync + 'static {
    /// The switches in force now; read once per request.
    fn faults(&self) -> Faults;
    /// The simulator's injector.
    fn injector(&self) -> &FaultInjector;
    /// An error in the simulator's own wire format (e.g. a SCIM error for 429 and 503).
    fn render_error(&self, status: StatusCode, detail: &str) -> Response;
}

/// Seconds sent in `Retry-After` on an injected 503.
const UNAVAILABLE_RETRY_AFTER_S: u64 = 1;

/// Middleware applying [`Faults`] around the simulator's handlers, in this order: latency, rate
/// limit, the failure draw (before or after applying), then the hang.
pub async fn inject<S: FaultSource>(State(source): State<S>, req: Request, next: Next) -> Response {
    let faults = source.faults();
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if faults.rate_limit {
        if let Err(wait_s) = source.injector().take_token(&faults) {
            tracing::debug!(wait_s, "Simulated rate limit hit.");
            let resp = source.render_error(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded");
            return with_retry_after(resp, faults.retry_after.then_some(wait_s));
        }
    }
    if faults.only_writes && req.method() == axum::http::Method::GET {
        return next.run(req).await;
    }
    if faults.slow_ms > 0 && source.injector().draw() < faults.slow_ratio {
        tokio::time::sleep(Duration::from_millis(faults.slow_ms)).await;
    }
    let verdict = if faults.any_failure() {
        faults.verdict(source.injector().draw())
    } else {
        Verdict::Pass
    };
    let hang = faults.hang_ms > 0 && source.injector().draw() < faults.hang_ratio;
    tracing::debug!(?verdict, hang, "Simulated fault verdict.");
    let server_error = |status: StatusCode| {
        let resp = source.render_error(status, "simulated server error");
        let retry = faults.retry_after && status == StatusCode::SERVICE_UNAVAILABLE;
        with_retry_after(resp, retry.then_some(UNAVAILABLE_RETRY_AFTER_S))
    };
    let resp = match verdict {
        Verdict::Fail => return server_error(faults.error_status(source.injector().draw())),
        Verdict::Drop => return dropped(),
        Verdict::Throttle => {
            let resp = source.render_error(StatusCode::TOO_MANY_REQUESTS, "simulated throttling");
            return with_retry_after(
                resp,
                faults.retry_after.then_some(faults.throttle_retry_after_s),
            );
        }
        Verdict::Pass => next.run(req).await,
        Verdict::FailAfterApply => {
            let _applied = next.run(req).await;
            server_error(StatusCode::SERVICE_UNAVAILABLE)
        }
        Verdict::DropAfterApply => {
            let _applied = next.run(req).await;
            dropped()
        }
        Verdict::MalformedJson => malformed(next.run(req).await).await,
    };
    if hang {
        // Applied already: a client that gives up waiting cannot know whether it took effect.
        tokio::time::sleep(Duration::from_millis(faults.hang_ms)).await;
    }
    resp
}

fn with_retry_after(mut resp: Response, seconds: Option<u64>) -> Response {
    if let Some(s) = seconds {
        if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
    }
    resp
}

/// The same answer with its JSON body cut in half, so it no longer parses; an empty body
/// (a 204) becomes a `200` with a JSON object that stops short.
pub async fn malformed(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let cut: Vec<u8> = if bytes.iter().all(u8::is_ascii_whitespace) {
        parts.status = StatusCode::OK;
        br#"{"schemas": ["urn:ietf:params:scim:api:"#.to_vec()
    } else {
        bytes[..bytes.len() / 2].to_vec()
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.remove(axum::http::header::ETAG);
    Response::from_parts(parts, axum::body::Body::from(cut))
}

/// A response that [`crate::serve`] turns into a closed connection.
pub fn dropped() -> Response {
    let mut resp = (
        StatusCode::INTERNAL_SERVER_ERROR,
        "connection dropped by simulator",
    )
        .into_response();
    resp.extensions_mut().insert(DropConnection);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_bands_follow_the_ratios_in_order() {
        let f = Faults {
            error_5xx_ratio: 0.25,
            drop_after_apply_ratio: 0.25,
            ..Faults::default()
        };
        assert_eq!(f.verdict(0.1), Verdict::Fail);
        assert_eq!(f.verdict(0.3), Verdict::DropAfterApply);
        assert_eq!(f.verdict(0.6), Verdict::Pass);
        assert_eq!(Faults::default().verdict(0.0), Verdict::Pass);
        let g = Faults {
            throttle_ratio: 0.5,
            malformed_json_ratio: 0.5,
            ..Faults::default()
        };
        assert_eq!(g.verdict(0.2), Verdict::Throttle);
        assert_eq!(g.verdict(0.7), Verdict::MalformedJson);
        assert!(g.any_failure() && !Faults::default().any_failure());
    }

    #[test]
    fn injected_errors_spread_over_the_configured_statuses() {
        let f = Faults {
            error_statuses: vec![500, 502, 503],
            ..Faults::default()
        };
        assert_eq!(f.error_status(0.0), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(f.error_status(0.5), StatusCode::BAD_GATEWAY);
        assert_eq!(f.error_status(0.99), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(f.error_status(1.0), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            Faults::default().error_status(0.0),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let odd = Faults {
            error_statuses: vec![404],
            ..Faults::default()
        };
        assert_eq!(odd.error_status(0.0), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn a_malformed_answer_keeps_its_status_and_no_longer_parses() {
        let ok = (StatusCode::CREATED, r#"{"id": "abc", "userName": "x"}"#).into_response();
        let cut = malformed(ok).await;
        assert_eq!(cut.status(), StatusCode::CREATED);
        let body = axum::body::to_bytes(cut.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
        let empty = malformed(StatusCode::NO_CONTENT.into_response()).await;
        assert_eq!(empty.status(), StatusCode::OK);
        let body = axum::body::to_bytes(empty.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(!body.is_empty() && serde_json::from_slice::<serde_json::Value>(&body).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_spends_its_budget_then_refills_over_the_window() {
        let mut b = Bucket::full(2, 10);
        assert!(b.take(2, 10).is_ok());
        assert!(b.take(2, 10).is_ok());
        assert_eq!(b.take(2, 10), Err(5));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(b.take(2, 10).is_ok());
        assert!(b.take(2, 10).is_err());
    }

    #[test]
    fn same_seed_gives_same_draws() {
        let a = FaultInjector::new(7);
        let b = FaultInjector::new(7);
        let xs: Vec<f64> = (0..5).map(|_| a.draw()).collect();
        let ys: Vec<f64> = (0..5).map(|_| b.draw()).collect();
        assert_eq!(xs, ys);
        a.reset();
        assert_eq!(a.draw(), xs[0]);
    }
}
