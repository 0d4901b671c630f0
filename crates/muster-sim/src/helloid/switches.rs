//! [`HelloIdSwitches`]: the behaviour and fault switches of helloid.md §7, readable and writable
//! as JSON through `GET|PUT /_sim/switches`, and their translation into the shared
//! [`crate::faults::Faults`] that the fault middleware runs on.

use serde::{Deserialize, Serialize};

use crate::faults::Faults;

/// Statuses answered by `error_5xx_ratio`, one picked per failure by a seeded draw.
const STATUSES_5XX: [u16; 3] = [500, 502, 503];

/// Whether a list answer is a bare JSON array or an object with a `data` array; helloid.md §1
/// does not know which endpoints wrap, so clients must read both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListShape {
    /// `[ … ]`.
    #[default]
    Array,
    /// `{"data": [ … ]}`.
    Data,
}

/// The key an error's text is sent under: HelloID uses both, and the public connector reads
/// `resultMsg` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ErrorField {
    /// `{"message": "…"}`.
    #[default]
    #[serde(rename = "message")]
    Message,
    /// `{"resultMsg": "…"}`.
    #[serde(rename = "resultMsg")]
    ResultMsg,
}

impl ErrorField {
    /// The JSON key.
    pub fn key(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::ResultMsg => "resultMsg",
        }
    }
}

/// What `DELETE /users/{guid}/groups/{groupGuid}` answers for a membership that does not exist,
/// which helloid.md §4.5 leaves open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevokeMissing {
    /// Success, as if it had been removed.
    #[default]
    Ok,
    /// 404 `{"message": "Membership not found"}` (simulator text).
    Error,
}

/// Behaviour and fault switches (helloid.md §7); fields left out of a JSON body take their
/// defaults, unknown fields are refused.
///
/// Failure ratios are probabilities in `0.0..=1.0` per request and share one seeded draw, so
/// `error_5xx_ratio = 0.5` with `drop_ratio = 0.5` fails every request, half each way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HelloIdSwitches {
    /// Throttle with a token bucket; over budget, 429 `{"message": "Too Many Requests"}`.
    /// HelloID documents no limit, so this exists to test a client's budget. Default: off.
    pub rate_limit: bool,
    /// Requests per window when `rate_limit` is on. Default: 100.
    pub rate_budget: u32,
    /// Window in seconds; the bucket refills evenly over it. Default: 10.
    pub rate_window_s: u64,
    /// Send `Retry-After` (seconds) on a 429 and on an injected 503. Default: on.
    pub retry_after: bool,
    /// Delay before every API response, in milliseconds. Default: 0.
    pub latency_ms: u64,
    /// Extra delay drawn uniformly from `0..=latency_jitter_ms` per request. Default: 0.
    pub latency_jitter_ms: u64,
    /// Share of requests answered 500, 502 or 503 *without* being applied. Default: 0.0.
    pub error_5xx_ratio: f64,
    /// Share of requests applied, and then answered 503 anyway. Default: 0.0.
    pub error_5xx_after_apply_ratio: f64,
    /// Share of requests whose connection is closed unanswered, *not* applied. Default: 0.0.
    pub drop_ratio: f64,
    /// Share of requests applied, whose connection is then closed unanswered. Default: 0.0.
    pub drop_after_apply_ratio: f64,
    /// Delay, in milliseconds, between applying a request and answering it, meant to outlast
    /// the client's timeout (the public connector waits 60 s). Default: 0.
    pub hang_ms: u64,
    /// Share of requests that hang when `hang_ms` > 0. Default: 0.0.
    pub hang_ratio: f64,
    /// Status of `User not found` (helloid.md §4.1 only knows the text). Default: 404.
    pub not_found_status: u16,
    /// Key of every error's text. Default: `message`.
    pub error_field: ErrorField,
    /// Shape of every list answer. Default: `array`.
    pub list_shape: ListShape,
    /// Answer to revoking a membership that does not exist. Default: `ok`.
    pub revoke_missing: RevokeMissing,
    /// Product requests wait for approval through the test API instead of becoming
    /// assignments at once. Default: off.
    pub product_approval: bool,
    /// A soft-deleted user's `userName` stays taken for new users and renames. Default: off.
    pub deleted_name_reserved: bool,
}

impl Default for HelloIdSwitches {
    fn default() -> Self {
        Self {
            rate_limit: false,
            rate_budget: 100,
            rate_window_s: 10,
            retry_after: true,
            latency_ms: 0,
            latency_jitter_ms: 0,
            error_5xx_ratio: 0.0,
            error_5xx_after_apply_ratio: 0.0,
            drop_ratio: 0.0,
            drop_after_apply_ratio: 0.0,
            hang_ms: 0,
            hang_ratio: 0.0,
            not_found_status: 404,
            error_field: ErrorField::Message,
            list_shape: ListShape::Array,
            revoke_missing: RevokeMissing::Ok,
            product_approval: false,
            deleted_name_reserved: false,
        }
    }
}

impl HelloIdSwitches {
    /// Refuses settings that cannot be served, so a bad `PUT /_sim/switches` fails loudly
    /// instead of misbehaving later.
    pub fn validate(&self) -> Result<(), String> {
        if !(400..=599).contains(&self.not_found_status) {
            return Err(format!(
                "not_found_status must be a 4xx or 5xx status, not {}",
                self.not_found_status
            ));
        }
        let ratios = [
            ("error_5xx_ratio", self.error_5xx_ratio),
            (
                "error_5xx_after_apply_ratio",
                self.error_5xx_after_apply_ratio,
            ),
            ("drop_ratio", self.drop_ratio),
            ("drop_after_apply_ratio", self.drop_after_apply_ratio),
            ("hang_ratio", self.hang_ratio),
        ];
        for (name, ratio) in ratios {
            if !(0.0..=1.0).contains(&ratio) {
                return Err(format!("{name} must be within 0.0..=1.0, not {ratio}"));
            }
        }
        Ok(())
    }

    /// The shared fault switches these stand for. Latency is left at 0: the HelloID middleware
    /// adds it, with jitter, before the shared one runs.
    pub fn faults(&self) -> Faults {
        Faults {
            rate_limit: self.rate_limit,
            rate_budget: self.rate_budget,
            rate_window_s: self.rate_window_s,
            retry_after: self.retry_after,
            latency_ms: 0,
            error_5xx_ratio: self.error_5xx_ratio,
            error_5xx_after_apply_ratio: self.error_5xx_after_apply_ratio,
            drop_ratio: self.drop_ratio,
            drop_after_apply_ratio: self.drop_after_apply_ratio,
            hang_ms: self.hang_ms,
            hang_ratio: self.hang_ratio,
            error_statuses: STATUSES_5XX.to_vec(),
            ..Faults::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_read_as_json_with_the_spec_spellings() {
        let sw: HelloIdSwitches = serde_json::from_str(
            r#"{"error_field": "resultMsg", "list_shape": "data", "revoke_missing": "error"}"#,
        )
        .unwrap();
        assert_eq!(sw.error_field, ErrorField::ResultMsg);
        assert_eq!(sw.list_shape, ListShape::Data);
        assert_eq!(sw.revoke_missing, RevokeMissing::Error);
        assert!(sw.retry_after && !sw.rate_limit);
        assert!(serde_json::from_str::<HelloIdSwitches>(r#"{"nope": 1}"#).is_err());
    }

    #[test]
    fn validation_refuses_odd_statuses_and_ratios() {
        assert!(HelloIdSwitches::default().validate().is_ok());
        let bad = HelloIdSwitches {
            not_found_status: 200,
            ..HelloIdSwitches::default()
        };
        assert!(bad.validate().is_err());
        let bad = HelloIdSwitches {
            drop_ratio: 1.5,
            ..HelloIdSwitches::default()
        };
        assert!(bad.validate().is_err());
    }
}
