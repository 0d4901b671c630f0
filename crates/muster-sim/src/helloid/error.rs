//! [`HelloIdError`]: a refusal as HelloID sends it, a status and a JSON body with the text under
//! `message` or `resultMsg` (helloid.md §2).
//!
//! Two switches shape every error: `error_field` (the key) and `not_found_status` (the status
//! of `User not found`). Handlers and the store do not see switches, so an error first renders
//! with the defaults and rides along in the response's extensions; the `finish` middleware of
//! `routes` then renders it again under the switches in force ([`HelloIdError::render`]).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::switches::{ErrorField, HelloIdSwitches};

/// Text of an unknown user, the one error text clients decide on (helloid.md §4.1).
pub const USER_NOT_FOUND: &str = "User not found";

/// Media type of every JSON answer.
pub const JSON_UTF8: &str = "application/json; charset=utf-8";

/// A refusal: the HTTP status and the text HelloID (or, where none is documented, the
/// simulator) answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct HelloIdError {
    /// HTTP status of the answer, before `not_found_status` applies.
    pub status: StatusCode,
    /// The error text.
    pub message: String,
    user_not_found: bool,
}

impl HelloIdError {
    /// A refusal with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            user_not_found: false,
        }
    }

    /// A 400.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A value of the wrong type or outside its allowed set.
    pub fn invalid_value(field: &str) -> Self {
        Self::bad(format!("Invalid value for {field}"))
    }

    /// A required field that is missing or empty.
    pub fn required(field: &str) -> Self {
        Self::bad(format!("{field} is required"))
    }

    /// An unknown (or deleted) user: `User not found`, with `not_found_status`.
    pub fn user_not_found() -> Self {
        Self {
            user_not_found: true,
            ..Self::new(StatusCode::NOT_FOUND, USER_NOT_FOUND)
        }
    }

    /// An unknown group (simulator text).
    pub fn group_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Group not found")
    }

    /// An unknown product (simulator text).
    pub fn product_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Product not found")
    }

    /// Revoking a membership that does not exist, with `revoke_missing = "error"` (simulator
    /// text).
    pub fn membership_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Membership not found")
    }

    /// A `userName` that a live (or, with `deleted_name_reserved`, a deleted) user holds,
    /// ignoring case (simulator text).
    pub fn name_taken(name: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            format!("A user with userName '{name}' already exists"),
        )
    }

    /// Whether this is the `User not found` error.
    pub fn is_user_not_found(&self) -> bool {
        self.user_not_found
    }

    /// The status under `switches`: `not_found_status` for an unknown user, else its own.
    pub fn status_under(&self, switches: &HelloIdSwitches) -> StatusCode {
        if self.user_not_found {
            StatusCode::from_u16(switches.not_found_status).unwrap_or(StatusCode::NOT_FOUND)
        } else {
            self.status
        }
    }

    /// The answer under `switches`.
    pub fn render(&self, switches: &HelloIdSwitches) -> Response {
        self.render_with(self.status_under(switches), switches.error_field)
    }

    fn render_with(&self, status: StatusCode, field: ErrorField) -> Response {
        let body = json!({ field.key(): self.message });
        let mut resp = (
            status,
            [(header::CONTENT_TYPE, JSON_UTF8)],
            body.to_string(),
        )
            .into_response();
        resp.extensions_mut().insert(self.clone());
        resp
    }
}

/// Renders with the default switches; `routes` re-renders under the ones in force.
impl IntoResponse for HelloIdError {
    fn into_response(self) -> Response {
        self.render_with(self.status, ErrorField::Message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_not_found_follows_the_switches() {
        let e = HelloIdError::user_not_found();
        let sw = HelloIdSwitches {
            not_found_status: 400,
            error_field: ErrorField::ResultMsg,
            ..HelloIdSwitches::default()
        };
        assert_eq!(e.status_under(&sw), StatusCode::BAD_REQUEST);
        assert_eq!(
            HelloIdError::group_not_found().status_under(&sw),
            StatusCode::NOT_FOUND
        );
        let resp = e.render(&sw);
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(resp.extensions().get::<HelloIdError>().is_some());
    }
}
