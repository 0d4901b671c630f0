//! SCIM errors (RFC 7644 §3.12) as values: what the simulator answers when it refuses a request.
//!
//! Every refusal, from a bad filter to an injected 503, goes out through [`ScimError`], so each
//! carries the `urn:ietf:params:scim:api:messages:2.0:Error` schema with `status` as a string.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::routes::scim_response;

/// Schema URN of a SCIM error body.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` detail codes of RFC 7644 §3.12 that the simulator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    /// The filter syntax was invalid, or it names an attribute that cannot be filtered.
    InvalidFilter,
    /// A unique attribute, e.g. `userName`, is already taken.
    Uniqueness,
    /// An attempt to change a read-only attribute.
    Mutability,
    /// The request body does not parse or does not follow the schema.
    InvalidSyntax,
    /// A PATCH path is malformed or names no attribute.
    InvalidPath,
    /// A PATCH path's value filter matched nothing.
    NoTarget,
    /// A required value is missing or a value has the wrong type or refers to nothing.
    InvalidValue,
    /// The request is too large (bulk).
    TooMany,
}

impl ScimType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
            Self::TooMany => "tooMany",
        }
    }
}

/// A refusal: HTTP status, optional `scimType`, and a `detail` for the client's report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}{}: {detail}", scim_type.map(|t| format!(" {}", t.as_str())).unwrap_or_default())]
pub struct ScimError {
    /// HTTP status of the answer.
    pub status: StatusCode,
    /// `scimType`, for the 400 and 409 cases RFC 7644 names.
    pub scim_type: Option<ScimType>,
    /// Human-readable reason.
    pub detail: String,
}

impl ScimError {
    /// An error with a status and no `scimType`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }

    /// 400 with a `scimType`.
    pub fn bad(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    /// 404 for a resource id.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{kind} {id} not found"))
    }

    /// 409 `uniqueness`.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            scim_type: Some(ScimType::Uniqueness),
            detail: detail.into(),
        }
    }

    /// 501 for a capability switched off.
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, detail)
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let (Some(t), Some(map)) = (self.scim_type, body.as_object_mut()) {
            map.insert("scimType".into(), t.as_str().into());
        }
        body
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        scim_response(self.status, &self.body())
    }
}
