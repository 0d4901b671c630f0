//! When to try a request again, and how long to wait first. Pure functions: the loop that
//! uses them lives in [`super::HttpClient::send`].
//!
//! The one rule that matters most: a request that may have been applied is retried only when
//! repeating it cannot duplicate anything. GET, PUT, PATCH and DELETE are retried; a POST whose
//! outcome is unknown is handed back as uncertain, so the engine can re-correlate first.

use rand::Rng;
use reqwest::{Method, StatusCode};
use std::time::{Duration, SystemTime};

/// Bounds for every retry loop of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first one included (at least 1).
    pub max_attempts: u32,
    /// First backoff step; step `n` waits a random time in `0..=min(cap, base * 2^n)`.
    pub base: Duration,
    /// Longest backoff step.
    pub cap: Duration,
    /// Total time one request may spend waiting and retrying; a wait that would pass it ends
    /// the loop instead.
    pub max_elapsed: Duration,
}

impl RetryPolicy {
    /// The bounds a target's settings ask for: `max_attempts` (at least 1), backoff steps from
    /// `base_ms` to `max_ms`, and room for every attempt to time out and wait the longest step
    /// — at least 10 minutes, so a run of 429s is waited out rather than failed, and a request
    /// never waits unboundedly.
    pub fn from_settings(timeout_s: u64, max_attempts: u32, base_ms: u64, max_ms: u64) -> Self {
        let timeout = Duration::from_secs(timeout_s);
        let cap = Duration::from_millis(max_ms);
        Self {
            max_attempts: max_attempts.max(1),
            base: Duration::from_millis(base_ms),
            cap,
            max_elapsed: (timeout + cap)
                .saturating_mul(max_attempts.max(1))
                .max(Duration::from_secs(600)),
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// The upper bound of backoff step `attempt` (0-based): `min(cap, base * 2^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Exponential backoff with full jitter: a uniformly random wait in `0..=ceiling(attempt)`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        jittered(self.ceiling(attempt), rand::thread_rng().gen::<f64>())
    }
}

/// `ceiling * fraction`, with `fraction` clamped to `0.0..=1.0`. Split out so the bounds can
/// be tested without randomness.
pub fn jittered(ceiling: Duration, fraction: f64) -> Duration {
    ceiling.mul_f64(fraction.clamp(0.0, 1.0))
}

/// Reads a `Retry-After` value: delta-seconds (`120`) or an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`). A date in the past means "now". `now` is an argument so
/// tests need no clock.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    // IMF-fixdate is RFC 2822 with `GMT`; chrono also takes the obsolete RFC 850 zone names.
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::from(at.with_timezone(&chrono::Utc));
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Methods whose repetition cannot create a second object.
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::PATCH | Method::OPTIONS
    )
}

/// What to do with one answer (or the lack of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Hand the response to the caller.
    Done,
    /// The target asks everybody to slow down (429, 503): pause the whole target, then retry.
    /// Nothing was applied, so this is safe for every method.
    Throttled,
    /// A failure that may or may not have been applied, on a method that is safe to repeat.
    Retry,
    /// A failure that may have been applied, on a method that must not be repeated blindly.
    Uncertain,
}

/// Classifies a status code for a request that is (`repeatable`) or is not safe to send again
/// (a POST, or a write marked at most once: see `Request::repeatable`).
pub fn classify_status(repeatable: bool, status: StatusCode) -> Verdict {
    match status {
        StatusCode::TOO_MANY_REQUESTS => Verdict::Throttled,
        // A 503 is usually a proxy or an overloaded server refusing before it starts, but for
        // a POST "usually" is not enough: Muster re-correlates instead of re-posting.
        StatusCode::SERVICE_UNAVAILABLE if repeatable => Verdict::Throttled,
        StatusCode::NOT_IMPLEMENTED => Verdict::Done,
        s if s.is_server_error() && repeatable => Verdict::Retry,
        s if s.is_server_error() => Verdict::Uncertain,
        _ => Verdict::Done,
    }
}

/// Classifies a transport failure. A connection that was never established carried no
/// request, so any request may try again; anything later (timeout, reset, a body cut short)
/// may have reached the target, and only a `repeatable` request is sent again.
pub fn classify_transport(repeatable: bool, never_sent: bool) -> Verdict {
    if never_sent || repeatable {
        Verdict::Retry
    } else {
        Verdict::Uncertain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(200),
            max_elapsed: Duration::from_secs(5),
        }
    }

    #[test]
    fn backoff_ceiling_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.ceiling(0), Duration::from_secs(1));
        assert_eq!(p.ceiling(1), Duration::from_secs(2));
        assert_eq!(p.ceiling(5), Duration::from_secs(32));
        assert_eq!(p.ceiling(6), Duration::from_secs(60));
        assert_eq!(p.ceiling(40), Duration::from_secs(60));
        assert_eq!(p.ceiling(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn full_jitter_stays_within_zero_and_the_ceiling() {
        let p = fast();
        assert_eq!(jittered(p.ceiling(3), 0.0), Duration::ZERO);
        assert_eq!(jittered(p.ceiling(3), 1.0), Duration::from_millis(80));
        assert_eq!(jittered(p.ceiling(3), 7.0), Duration::from_millis(80));
        for attempt in 0..20 {
            for _ in 0..50 {
                let d = p.backoff(attempt);
                assert!(d <= p.ceiling(attempt) && d <= p.cap, "{d:?} at {attempt}");
            }
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_400); // 07:26:40Z
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(80))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }

    #[test]
    fn posts_are_never_retried_after_an_uncertain_outcome() {
        use Verdict::*;
        let s = |c: u16| StatusCode::from_u16(c).unwrap();
        let r = |m: Method| is_idempotent(&m);
        assert_eq!(classify_status(r(Method::POST), s(500)), Uncertain);
        assert_eq!(classify_status(r(Method::POST), s(502)), Uncertain);
        assert_eq!(classify_status(r(Method::POST), s(503)), Uncertain);
        assert_eq!(classify_status(r(Method::POST), s(429)), Throttled);
        assert_eq!(classify_status(r(Method::PUT), s(500)), Retry);
        assert_eq!(classify_status(r(Method::PATCH), s(503)), Throttled);
        assert_eq!(classify_status(r(Method::GET), s(504)), Retry);
        assert_eq!(classify_status(r(Method::PATCH), s(501)), Done);
        assert_eq!(classify_status(r(Method::POST), s(409)), Done);
        assert_eq!(classify_transport(r(Method::POST), false), Uncertain);
        assert_eq!(classify_transport(r(Method::POST), true), Retry);
        assert_eq!(classify_transport(r(Method::DELETE), false), Retry);
        // A write marked at most once (a PATCH `add`) is treated as a POST.
        assert_eq!(classify_status(false, s(500)), Uncertain);
        assert_eq!(classify_status(false, s(503)), Uncertain);
        assert_eq!(classify_status(false, s(429)), Throttled);
        assert_eq!(classify_transport(false, false), Uncertain);
        assert_eq!(classify_transport(false, true), Retry);
    }
}
