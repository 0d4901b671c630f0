//! [`HelloIdSwitches`]: the behaviour switches of helloid.md §7 and the shared fault switches
//! ([`crate::faults::Faults`]) with HelloID's defaults, readable and writable as JSON through
//! `GET|PUT /_sim/switches`.

use serde::{Deserialize, Serialize};

use crate::faults::{FaultDefaults, Faults};

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
/// defaults (also within `faults`), unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HelloIdSwitches {
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
    /// The shared fault switches; over the rate limit, 429 `{"message": "Too Many Requests"}`
    /// (HelloID documents no limit, so it exists to test a client's budget). Latency comes
    /// before authentication, so a 401 is delayed too. Default: see
    /// [`HelloIdSwitches::default_faults`].
    #[serde(deserialize_with = "crate::faults::over_defaults::<HelloIdSwitches, _>")]
    pub faults: Faults,
}

impl Default for HelloIdSwitches {
    fn default() -> Self {
        Self {
            not_found_status: 404,
            error_field: ErrorField::Message,
            list_shape: ListShape::Array,
            revoke_missing: RevokeMissing::Ok,
            product_approval: false,
            deleted_name_reserved: false,
            faults: Self::default_faults(),
        }
    }
}

impl FaultDefaults for HelloIdSwitches {
    /// [`Faults::target_defaults`]: no rate limit, as none is documented.
    fn default_faults() -> Faults {
        Faults::target_defaults()
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
        self.faults.validate()
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
        assert!(sw.faults.retry_after && !sw.faults.rate_limit);
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
        let mut bad = HelloIdSwitches::default();
        bad.faults.drop_ratio = 1.5;
        assert!(bad.validate().is_err());
    }
}
