//! The fault middleware [`inject`], the per-simulator [`FaultInjector`] it draws from, limits
//! with and logs to, and the helpers that shape an injected answer ([`malformed`], [`dropped`]).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::limiter::Limiter;
use super::log::{FaultEvent, FaultKind, FaultLog};
use super::{Faults, Verdict};

/// Marker put in a response's extensions: [`crate::serve`] closes the connection instead of
/// sending that response. Served by plain `axum::serve`, the marked 500 goes out as is.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// Locks a mutex, taking the data even if a thread panicked while holding it: every critical
/// section here leaves the data consistent, so a poisoned lock carries no broken state.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The mutable parts of fault injection: the seeded random source, the rate limiter and the
/// fault log.
#[derive(Debug)]
pub struct FaultInjector {
    seed: u64,
    rng: Mutex<StdRng>,
    limiter: Mutex<Option<Limiter>>,
    log: Mutex<FaultLog>,
}

impl FaultInjector {
    /// A fresh injector whose draws are reproducible from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            rng: Mutex::new(Self::rng_for(seed)),
            limiter: Mutex::new(None),
            log: Mutex::new(FaultLog::default()),
        }
    }

    // Separate stream from the simulators' id generators, which use the bare seed.
    fn rng_for(seed: u64) -> StdRng {
        StdRng::seed_from_u64(seed ^ 0x6661_756c_7473_2121)
    }

    /// Re-seeds the random source, refills the rate limiter and empties the fault log.
    pub fn reset(&self) {
        *lock(&self.rng) = Self::rng_for(self.seed);
        *lock(&self.limiter) = None;
        *lock(&self.log) = FaultLog::default();
    }

    /// One uniform draw in `0.0..1.0`.
    pub fn draw(&self) -> f64 {
        lock(&self.rng).gen::<f64>()
    }

    /// Takes a rate-limit token, or returns the seconds until the next one.
    pub fn take_token(&self, faults: &Faults) -> Result<(), u64> {
        let (budget, window_s) = (faults.rate_budget, faults.rate_window_s);
        let mut limiter = lock(&self.limiter);
        let limiter = match &mut *limiter {
            Some(l) if l.kind() == faults.rate_refill => l,
            slot => slot.insert(Limiter::new(faults.rate_refill, budget, window_s)),
        };
        limiter.take(budget, window_s)
    }

    /// The injected faults, oldest first (at most [`super::FAULT_LOG_CAP`]).
    pub fn fault_log(&self) -> Vec<FaultEvent> {
        lock(&self.log).events()
    }

    /// Logs a fault injected into the request at `site`.
    pub fn log(&self, site: &Site, fault: FaultKind, status: Option<u16>) {
        tracing::debug!(method = %site.method, path = %site.path, ?fault, ?status, "Simulated fault.");
        lock(&self.log).push(site.method.as_str(), &site.path, fault, status);
    }
}

/// What a simulator provides so [`inject`] can work on it.
pub trait FaultSource: Clone + Send + Sync + 'static {
    /// The path the simulator's API is served under, e.g. `"/api/scim/v2"`; fault scopes and
    /// the fault log see request paths relative to it.
    const API_PATH: &'static str;
    /// The switches in force now; read once per request.
    fn faults(&self) -> Faults;
    /// The simulator's injector.
    fn injector(&self) -> &FaultInjector;
    /// An injected 429 or 5xx in the simulator's own wire format (e.g. a SCIM error, or Zivver's
    /// 429 that echoes `faults`' budget); `Retry-After` is added by [`inject`].
    fn render_error(&self, faults: &Faults, status: StatusCode, detail: &str) -> Response;
}

/// The request a fault is about: its method and its path under the API path.
#[derive(Debug, Clone)]
pub struct Site {
    /// HTTP method.
    pub method: Method,
    /// Path under [`FaultSource::API_PATH`] (as is, when the request is not under it).
    pub path: String,
}

impl Site {
    /// The site of `req` for simulator `S`.
    pub fn of<S: FaultSource>(req: &Request) -> Self {
        let path = req.uri().path();
        Self {
            method: req.method().clone(),
            path: path.strip_prefix(S::API_PATH).unwrap_or(path).to_string(),
        }
    }

    fn in_scope<S: FaultSource>(&self, faults: &Faults) -> bool {
        faults.in_scope(self.method.as_str(), &self.path, S::API_PATH)
    }
}

/// Sleeps `latency_ms` plus a seeded draw from `0..=latency_jitter_ms`, if `site` is in scope.
/// [`inject`] does this first; a simulator whose latency must come earlier (before its auth)
/// calls it from its own middleware and hands [`inject`] faults without latency.
pub async fn delay<S: FaultSource>(source: &S, faults: &Faults, site: &Site) {
    let none = faults.latency_ms == 0 && faults.latency_jitter_ms == 0;
    if none || !site.in_scope::<S>(faults) {
        return;
    }
    let span = faults.latency_jitter_ms;
    let jitter = if span > 0 {
        ((source.injector().draw() * span.saturating_add(1) as f64) as u64).min(span)
    } else {
        0
    };
    let total = faults.latency_ms.saturating_add(jitter);
    tokio::time::sleep(Duration::from_millis(total)).await;
}

/// Middleware applying [`Faults`] around the simulator's handlers, in this order: latency
/// (scoped), the rate limit (every request), then for scoped requests (and with `only_writes`
/// not for GET) slowness, the failure draw (before or after applying) and the hang. Every
/// injected fault is logged.
pub async fn inject<S: FaultSource>(State(source): State<S>, req: Request, next: Next) -> Response {
    let faults = source.faults();
    let site = Site::of::<S>(&req);
    delay(&source, &faults, &site).await;
    if faults.rate_limit {
        if let Err(wait_s) = source.injector().take_token(&faults) {
            source
                .injector()
                .log(&site, FaultKind::RateLimited, Some(429));
            let resp = source.render_error(
                &faults,
                StatusCode::TOO_MANY_REQUESTS,
                "rate limit exceeded",
            );
            return with_retry_after(resp, faults.retry_after.then_some(wait_s));
        }
    }
    let spared = faults.only_writes && site.method == Method::GET;
    if spared || !site.in_scope::<S>(&faults) {
        return next.run(req).await;
    }
    let injector = source.injector();
    if faults.slow_ms > 0 && faults.slow_ratio > 0.0 && injector.draw() < faults.slow_ratio {
        injector.log(&site, FaultKind::Slow, None);
        tokio::time::sleep(Duration::from_millis(faults.slow_ms)).await;
    }
    let verdict = if faults.any_failure() {
        faults.verdict(injector.draw())
    } else {
        Verdict::Pass
    };
    let hang = faults.hang_ms > 0 && faults.hang_ratio > 0.0 && injector.draw() < faults.hang_ratio;
    let resp = answer(&source, &faults, &site, verdict, req, next).await;
    if hang {
        // Applied already: a client that gives up waiting cannot know whether it took effect.
        injector.log(&site, FaultKind::Hang, None);
        tokio::time::sleep(Duration::from_millis(faults.hang_ms)).await;
    }
    resp
}

/// Carries out `verdict` on `req`, logging what it injected.
async fn answer<S: FaultSource>(
    source: &S,
    faults: &Faults,
    site: &Site,
    verdict: Verdict,
    req: Request,
    next: Next,
) -> Response {
    let injector = source.injector();
    match verdict {
        Verdict::Pass => next.run(req).await,
        Verdict::Fail => {
            let status = faults.error_status(injector.draw());
            injector.log(site, FaultKind::Error5xx, Some(status.as_u16()));
            server_error(source, faults, status)
        }
        Verdict::Drop => {
            injector.log(site, FaultKind::Drop, None);
            dropped()
        }
        Verdict::Throttle => {
            injector.log(site, FaultKind::Throttled, Some(429));
            let resp = source.render_error(
                faults,
                StatusCode::TOO_MANY_REQUESTS,
                "simulated throttling",
            );
            with_retry_after(
                resp,
                faults.retry_after.then_some(faults.throttle_retry_after_s),
            )
        }
        Verdict::FailAfterApply => {
            let _applied = next.run(req).await;
            injector.log(site, FaultKind::Error5xxAfterApply, Some(503));
            server_error(source, faults, StatusCode::SERVICE_UNAVAILABLE)
        }
        Verdict::DropAfterApply => {
            let _applied = next.run(req).await;
            injector.log(site, FaultKind::DropAfterApply, None);
            dropped()
        }
        Verdict::MalformedJson => {
            let resp = malformed(next.run(req).await).await;
            let status = resp.status().as_u16();
            injector.log(site, FaultKind::MalformedJson, Some(status));
            resp
        }
    }
}

/// An injected server error, with `Retry-After` on a 503 when the switches ask for it.
fn server_error<S: FaultSource>(source: &S, faults: &Faults, status: StatusCode) -> Response {
    let resp = source.render_error(faults, status, "simulated server error");
    let retry = faults.retry_after
        && faults.unavailable_retry_after_s > 0
        && status == StatusCode::SERVICE_UNAVAILABLE;
    with_retry_after(resp, retry.then_some(faults.unavailable_retry_after_s))
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
    use crate::faults::RateRefill;

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

    #[tokio::test(start_paused = true)]
    async fn the_limiter_follows_the_refill_switch_and_a_reset_refills_it() {
        let inj = FaultInjector::new(1);
        let window = Faults {
            rate_budget: 1,
            rate_refill: RateRefill::Window,
            ..Faults::default()
        };
        assert!(inj.take_token(&window).is_ok());
        assert_eq!(inj.take_token(&window), Err(10));
        // Switching to the bucket starts it full.
        let bucket = Faults {
            rate_refill: RateRefill::Continuous,
            ..window.clone()
        };
        assert!(inj.take_token(&bucket).is_ok());
        assert!(inj.take_token(&bucket).is_err());
        inj.reset();
        assert!(inj.take_token(&bucket).is_ok());
    }

    #[test]
    fn the_log_is_emptied_by_a_reset() {
        let inj = FaultInjector::new(1);
        let site = Site {
            method: Method::POST,
            path: "/Users".into(),
        };
        inj.log(&site, FaultKind::Drop, None);
        let log = inj.fault_log();
        assert_eq!((log.len(), log[0].method.as_str()), (1, "POST"));
        inj.reset();
        assert!(inj.fault_log().is_empty());
    }
}
