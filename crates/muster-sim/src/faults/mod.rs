//! Fault injection shared by every simulator: the [`Faults`] switches, which requests they apply
//! to ([`FaultScope`]), the seeded random source, the rate limiter and fault log
//! ([`FaultInjector`]), and the axum middleware [`inject`] that applies them.
//!
//! This module owns *when* a request misbehaves (delay, throttle, fail, drop, hang), whether that
//! happens before or after the simulator applies the request, and the log of what was injected
//! (`GET /_sim/faults`). It leaves the shape of error bodies to each simulator
//! ([`FaultSource::render_error`]), each simulator's defaults to its own switches
//! ([`FaultDefaults`]), and the actual closing of a dropped connection to [`crate::serve`], which
//! turns a response marked [`DropConnection`] into a connection closed without an answer.
//!
//! - `inject`: the middleware, the injector and the helpers that shape an injected answer.
//! - `limiter`: the token bucket and the fixed window a rate limit runs on.
//! - `log`: the fault log.

mod inject;
mod limiter;
mod log;

use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

pub(crate) use inject::lock;
pub use inject::{
    delay, dropped, inject, malformed, DropConnection, FaultInjector, FaultSource, Site,
};
pub use log::{FaultEvent, FaultKind, FAULT_LOG_CAP};

/// How a rate limit gives its budget back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateRefill {
    /// A token bucket that refills evenly over the window.
    #[default]
    Continuous,
    /// A window opens with its first request and the whole budget comes back when it closes,
    /// so the request after the budget within one window is refused, whatever the pace.
    Window,
}

/// Fault switches of a simulator. The defaults here leave a simulator well behaved; a simulator
/// may start from other defaults ([`FaultDefaults`]), e.g. Zivver's rate limit is on.
///
/// Ratios are probabilities in `0.0..=1.0` per request. The six failure ratios share one draw,
/// so `error_5xx_ratio = 0.5` with `drop_ratio = 0.5` fails every request, half each way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Throttle requests (every request, whatever `fault_scope` says). Default: off.
    pub rate_limit: bool,
    /// Requests allowed per window when `rate_limit` is on. Default: 100.
    pub rate_budget: u32,
    /// Length of the rate window in seconds. Default: 10.
    pub rate_window_s: u64,
    /// How the budget comes back: `continuous` (a token bucket) or `window`. Default: continuous.
    pub rate_refill: RateRefill,
    /// Send `Retry-After` (seconds) on a 429, and on an injected 503 when
    /// `unavailable_retry_after_s` > 0. Off makes clients fall back to their own backoff.
    /// Default: on.
    pub retry_after: bool,
    /// Delay added before every (scoped) request is handled, in milliseconds. Default: 0.
    pub latency_ms: u64,
    /// Extra delay drawn uniformly from `0..=latency_jitter_ms` per (scoped) request.
    /// Default: 0.
    pub latency_jitter_ms: u64,
    /// Share of requests answered 5xx (see `error_statuses`) *without* being applied.
    /// Default: 0.0.
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
    /// Seconds sent in `Retry-After` with an injected 503 when `retry_after` is on; 0 sends
    /// none. Default: 1.
    pub unavailable_retry_after_s: u64,
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
    /// Limit latency, failures, hangs and slowness to the requests it matches; the rate limit
    /// stays on every request. Default: all requests.
    pub fault_scope: Option<FaultScope>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rate_limit: false,
            rate_budget: 100,
            rate_window_s: 10,
            rate_refill: RateRefill::Continuous,
            retry_after: true,
            latency_ms: 0,
            latency_jitter_ms: 0,
            error_5xx_ratio: 0.0,
            error_5xx_after_apply_ratio: 0.0,
            drop_ratio: 0.0,
            drop_after_apply_ratio: 0.0,
            hang_ms: 0,
            hang_ratio: 1.0,
            error_statuses: vec![503],
            unavailable_retry_after_s: 1,
            throttle_ratio: 0.0,
            throttle_retry_after_s: 1,
            malformed_json_ratio: 0.0,
            slow_ms: 0,
            slow_ratio: 0.0,
            only_writes: false,
            fault_scope: None,
        }
    }
}

/// What the dice decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle the request normally.
    Pass,
    /// Answer 5xx without applying.
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
    /// The defaults of the simulators written from a target page (HelloID, Zermelo, Zivver):
    /// [`Faults::default`], but 500, 502 or 503 for `error_5xx_ratio`, and `hang_ratio` 0.0, so
    /// `hang_ms` alone hangs nothing.
    pub fn target_defaults() -> Self {
        Self {
            hang_ratio: 0.0,
            error_statuses: vec![500, 502, 503],
            ..Self::default()
        }
    }

    /// The failure ratios in the order [`Faults::verdict`] lays them out, by switch name.
    fn failure_bands(&self) -> [(&'static str, f64, Verdict); 6] {
        [
            ("error_5xx_ratio", self.error_5xx_ratio, Verdict::Fail),
            ("drop_ratio", self.drop_ratio, Verdict::Drop),
            (
                "error_5xx_after_apply_ratio",
                self.error_5xx_after_apply_ratio,
                Verdict::FailAfterApply,
            ),
            (
                "drop_after_apply_ratio",
                self.drop_after_apply_ratio,
                Verdict::DropAfterApply,
            ),
            ("throttle_ratio", self.throttle_ratio, Verdict::Throttle),
            (
                "malformed_json_ratio",
                self.malformed_json_ratio,
                Verdict::MalformedJson,
            ),
        ]
    }

    /// Maps one uniform draw in `0.0..1.0` onto the failure ratios, in a fixed order, so the
    /// ratios are exact shares of the requests rather than independent coin flips.
    pub fn verdict(&self, draw: f64) -> Verdict {
        let mut upper = 0.0;
        for (_, ratio, verdict) in self.failure_bands() {
            upper += ratio.clamp(0.0, 1.0);
            if draw < upper {
                return verdict;
            }
        }
        Verdict::Pass
    }

    /// Whether any failure ratio is set, i.e. a draw is needed for every request.
    pub fn any_failure(&self) -> bool {
        self.failure_bands().iter().map(|(_, r, _)| r).sum::<f64>() > 0.0
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

    /// Whether latency and failures apply to a request with this method and path (under
    /// `api_path`): always, unless `fault_scope` says otherwise.
    pub fn in_scope(&self, method: &str, path: &str, api_path: &str) -> bool {
        self.fault_scope
            .as_ref()
            .map_or(true, |s| s.matches(method, path, api_path))
    }

    /// Refuses ratios outside `0.0..=1.0`, so a bad `PUT /_sim/switches` fails loudly instead
    /// of misbehaving later.
    pub fn validate(&self) -> Result<(), String> {
        let others = [
            ("hang_ratio", self.hang_ratio),
            ("slow_ratio", self.slow_ratio),
        ];
        let bands = self.failure_bands().map(|(name, ratio, _)| (name, ratio));
        for (name, ratio) in bands.into_iter().chain(others) {
            if !(0.0..=1.0).contains(&ratio) {
                return Err(format!("{name} must be within 0.0..=1.0, not {ratio}"));
            }
        }
        Ok(())
    }
}

/// Which requests the fault switches (latency, failures, hangs, slowness) apply to; the rate
/// limit applies to every request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultScope {
    /// HTTP method, any case; `None` or `"*"` for all.
    pub method: Option<String>,
    /// Path under the simulator's API path (the prefix may be included, e.g. Zivver's
    /// `/api/scim/v2`), where `*` stands for any run of characters: `/Users`, `/Users/*`,
    /// `/Groups/*`. `None` for all.
    pub path: Option<String>,
}

impl FaultScope {
    /// Faults only for `method` on paths matching `path`, e.g. `FaultScope::new("POST", "/Users")`.
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: Some(method.to_string()),
            path: Some(path.to_string()),
        }
    }

    /// Whether a request with this method and path (under `api_path`) is in scope.
    pub fn matches(&self, method: &str, path: &str, api_path: &str) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .map_or(true, |m| m == "*" || m.eq_ignore_ascii_case(method));
        let path_ok = self.path.as_deref().map_or(true, |p| {
            let p = p.strip_prefix(api_path).unwrap_or(p);
            glob(p, path)
        });
        method_ok && path_ok
    }
}

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

/// The fault switches a simulator starts from, where they differ from [`Faults::default`]: its
/// switches' `faults` field reads JSON over them ([`over_defaults`]), so a field left out of
/// `PUT /_sim/switches` keeps the simulator's default.
pub trait FaultDefaults {
    /// The simulator's default faults.
    fn default_faults() -> Faults;
}

/// Reads a `faults` object over `T`'s defaults; unknown fields are refused. For
/// `#[serde(deserialize_with = "crate::faults::over_defaults::<MySwitches, _>")]`.
pub fn over_defaults<'de, T: FaultDefaults, D: Deserializer<'de>>(
    d: D,
) -> Result<Faults, D::Error> {
    use serde::de::Error;
    let given = Map::<String, Value>::deserialize(d)?;
    let mut merged = match serde_json::to_value(T::default_faults()) {
        Ok(Value::Object(defaults)) => defaults,
        Ok(_) => Map::new(),
        Err(e) => return Err(D::Error::custom(e)),
    };
    merged.extend(given);
    Faults::deserialize(Value::Object(merged)).map_err(D::Error::custom)
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

    #[test]
    fn validation_refuses_ratios_out_of_range() {
        assert!(Faults::default().validate().is_ok());
        for bad in [
            Faults {
                drop_ratio: 1.5,
                ..Faults::default()
            },
            Faults {
                slow_ratio: -0.1,
                ..Faults::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
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
        let api = "/api/scim/v2";
        let s = FaultScope::new("post", "/Users");
        assert!(s.matches("POST", "/Users", api));
        assert!(!s.matches("GET", "/Users", api));
        assert!(!s.matches("POST", "/Users/1", api));
        let s = FaultScope {
            method: None,
            path: Some("/api/scim/v2/Groups/*".into()),
        };
        assert!(s.matches("PATCH", "/Groups/x", api) && s.matches("GET", "/Groups/y", api));
        assert!(!s.matches("GET", "/Groups", api));
        let all = Faults::default();
        assert!(all.in_scope("DELETE", "/anything", api));
    }

    struct Strict;
    impl FaultDefaults for Strict {
        fn default_faults() -> Faults {
            Faults {
                rate_limit: true,
                rate_budget: 50,
                ..Faults::default()
            }
        }
    }

    #[derive(Debug, Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "over_defaults::<Strict, _>")]
        faults: Faults,
    }

    #[test]
    fn a_faults_object_is_read_over_the_simulators_defaults() {
        let h: Holder = serde_json::from_str(r#"{"faults": {"latency_ms": 5}}"#).unwrap();
        assert_eq!(
            h.faults,
            Faults {
                latency_ms: 5,
                ..Strict::default_faults()
            }
        );
        let h: Holder = serde_json::from_str(r#"{"faults": {"rate_limit": false}}"#).unwrap();
        assert!(!h.faults.rate_limit && h.faults.rate_budget == 50);
        assert!(serde_json::from_str::<Holder>(r#"{"faults": {"nope": 1}}"#).is_err());
        assert!(serde_json::from_str::<Holder>(r#"{"faults": {"drop_ratio": "x"}}"#).is_err());
    }
}
