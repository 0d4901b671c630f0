//! The HTTP keys every target's table shares (`rate_limit`, `concurrency`, `timeout_s`,
//! `max_attempts`, `backoff`, `ca_file`): their types, their per-kind defaults, their
//! validation, and the client they build.
//!
//! A kind keeps the keys in its own configuration struct (serde cannot flatten them into a
//! struct that refuses unknown keys), with its defaults named by a marker type implementing
//! [`HttpDefaults`]:
//!
//! ```text
//! #[serde(default = "ScimHttp::rate_limit", deserialize_with = "ScimHttp::rate_limit_from")]
//! pub rate_limit: RateLimit,
//! #[serde(default = "ScimHttp::concurrency")]
//! pub concurrency: usize,
//! ```
//!
//! and hands them over as one [`HttpSettings`] for checking and connecting.

use super::retry::RetryPolicy;
use super::{Auth, HttpClient, HttpConfig};
use crate::secret_ref::SecretRef;
use muster_core::connector::ConnectorError;
use muster_core::secret::Secret;
use muster_core::TargetName;
use serde::{Deserialize, Deserializer};
use std::path::Path;
use std::time::Duration;

/// The token bucket's budget: `{ requests = 50, per_seconds = 10 }`. A key left out takes the
/// kind's default (see [`HttpDefaults::rate_limit_from`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per window (also the largest burst).
    pub requests: u32,
    /// Window length in seconds.
    pub per_seconds: u64,
}

/// `rate_limit` as written: either key may be left out.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitKeys {
    requests: Option<u32>,
    per_seconds: Option<u64>,
}

/// Exponential backoff with full jitter: step `n` waits a random time up to
/// `min(max_ms, base_ms * 2^n)`. The same defaults for every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    /// First step, in milliseconds. Default: `1000`.
    #[serde(default = "default_backoff_base_ms")]
    pub base_ms: u64,
    /// Longest step, in milliseconds. Default: `60000`.
    #[serde(default = "default_backoff_max_ms")]
    pub max_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base_ms: default_backoff_base_ms(),
            max_ms: default_backoff_max_ms(),
        }
    }
}

fn default_backoff_base_ms() -> u64 {
    1000
}
fn default_backoff_max_ms() -> u64 {
    60_000
}

/// One kind's defaults for the shared HTTP keys; the functions are what its serde attributes
/// name.
pub trait HttpDefaults {
    /// `rate_limit.requests`.
    const REQUESTS: u32;
    /// `rate_limit.per_seconds`.
    const PER_SECONDS: u64;
    /// `timeout_s`.
    const TIMEOUT_S: u64 = 30;
    /// `concurrency`.
    const CONCURRENCY: usize = 4;
    /// `max_attempts`.
    const MAX_ATTEMPTS: u32 = 5;

    fn rate_limit() -> RateLimit {
        RateLimit {
            requests: Self::REQUESTS,
            per_seconds: Self::PER_SECONDS,
        }
    }

    /// Reads `rate_limit`, a key left out taking this kind's default (`{ requests = 20 }`
    /// keeps the kind's window).
    fn rate_limit_from<'de, D: Deserializer<'de>>(d: D) -> Result<RateLimit, D::Error> {
        let keys = RateLimitKeys::deserialize(d)?;
        Ok(RateLimit {
            requests: keys.requests.unwrap_or(Self::REQUESTS),
            per_seconds: keys.per_seconds.unwrap_or(Self::PER_SECONDS),
        })
    }

    fn timeout_s() -> u64 {
        Self::TIMEOUT_S
    }

    fn concurrency() -> usize {
        Self::CONCURRENCY
    }

    fn max_attempts() -> u32 {
        Self::MAX_ATTEMPTS
    }
}

/// The shared HTTP keys of one target's configuration.
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings<'a> {
    pub rate_limit: RateLimit,
    pub concurrency: usize,
    pub timeout_s: u64,
    pub max_attempts: u32,
    pub backoff: Backoff,
    pub ca_file: Option<&'a Path>,
}

impl HttpSettings<'_> {
    /// Adds every problem with these keys, each naming its key. Pure.
    pub fn validate(&self, problems: &mut Vec<String>) {
        let positive = [
            ("concurrency", self.concurrency as u64),
            ("timeout_s", self.timeout_s),
            ("max_attempts", u64::from(self.max_attempts)),
            ("rate_limit.requests", u64::from(self.rate_limit.requests)),
            ("rate_limit.per_seconds", self.rate_limit.per_seconds),
            ("backoff.base_ms", self.backoff.base_ms),
            ("backoff.max_ms", self.backoff.max_ms),
        ];
        for (key, value) in positive {
            if value == 0 {
                problems.push(format!("{key}: must be greater than 0"));
            }
        }
        if self.backoff.max_ms < self.backoff.base_ms {
            problems.push(format!(
                "backoff.max_ms: {} is below backoff.base_ms ({})",
                self.backoff.max_ms, self.backoff.base_ms
            ));
        }
    }

    /// The retry bounds these keys ask for.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::from_settings(
            self.timeout_s,
            self.max_attempts,
            self.backoff.base_ms,
            self.backoff.max_ms,
        )
    }

    /// The bucket's window.
    pub fn per(&self) -> Duration {
        Duration::from_secs(self.rate_limit.per_seconds)
    }

    /// The client for `target` with these keys and `auth`. Reads `ca_file`; does not contact
    /// the target.
    pub fn client(&self, target: &TargetName, auth: Auth) -> Result<HttpClient, ConnectorError> {
        HttpClient::new(
            target.clone(),
            &HttpConfig {
                timeout: Duration::from_secs(self.timeout_s),
                ca_file: self.ca_file.map(Path::to_path_buf),
                requests: self.rate_limit.requests,
                per: self.per(),
                concurrency: self.concurrency,
                retry: self.retry_policy(),
                auth,
            },
        )
        .map_err(|detail| config_error(target, detail))
    }
}

/// A configuration the target cannot be reached with.
pub fn config_error(target: &TargetName, detail: String) -> ConnectorError {
    ConnectorError::Config {
        target: target.clone(),
        detail,
    }
}

/// Refuses a configuration with problems (from its `validate`), naming them all.
pub fn refuse_problems(target: &TargetName, problems: Vec<String>) -> Result<(), ConnectorError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(config_error(target, problems.join("; ")))
    }
}

/// Reads the secret of key `key`; an error names the key, never the value.
pub fn resolve(
    target: &TargetName,
    key: &str,
    secret: &SecretRef,
) -> Result<Secret, ConnectorError> {
    secret
        .resolve()
        .map_err(|e| config_error(target, format!("{key}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Kind;
    impl HttpDefaults for Kind {
        const REQUESTS: u32 = 50;
        const PER_SECONDS: u64 = 10;
        const TIMEOUT_S: u64 = 60;
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Table {
        #[serde(
            default = "Kind::rate_limit",
            deserialize_with = "Kind::rate_limit_from"
        )]
        rate_limit: RateLimit,
        #[serde(default = "Kind::timeout_s")]
        timeout_s: u64,
    }

    fn table(text: &str) -> Result<Table, serde_json::Error> {
        serde_json::from_str(text)
    }

    #[test]
    fn a_key_left_out_takes_the_kinds_default() {
        let t = table("{}").unwrap();
        assert_eq!(
            (t.rate_limit, t.timeout_s),
            (
                RateLimit {
                    requests: 50,
                    per_seconds: 10
                },
                60
            )
        );
        let t = table(r#"{"rate_limit": {"requests": 20}}"#).unwrap();
        assert_eq!(
            t.rate_limit,
            RateLimit {
                requests: 20,
                per_seconds: 10
            },
            "the window stays the kind's"
        );
        let err = table(r#"{"rate_limit": {"request": 20}}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `request`"), "{err}");
    }

    #[test]
    fn every_problem_names_its_key() {
        let settings = HttpSettings {
            rate_limit: RateLimit {
                requests: 0,
                per_seconds: 1,
            },
            concurrency: 0,
            timeout_s: 30,
            max_attempts: 5,
            backoff: Backoff {
                base_ms: 100,
                max_ms: 10,
            },
            ca_file: None,
        };
        let mut problems = Vec::new();
        settings.validate(&mut problems);
        assert_eq!(
            problems,
            [
                "concurrency: must be greater than 0",
                "rate_limit.requests: must be greater than 0",
                "backoff.max_ms: 10 is below backoff.base_ms (100)",
            ]
        );
    }
}
