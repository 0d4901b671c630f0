//! [`ZermeloError`]: a refusal as Zermelo reports it, a status with the `message` and `details`
//! of the envelope (zermelo.md §2).
//!
//! The error only carries what went wrong; it becomes an HTTP answer in `envelope`, where the
//! state hands out the next `eventId`, because every answer, refusals included, is an envelope.
//! The texts are the simulator's: Zermelo's own wording is not documented.

use axum::http::StatusCode;

/// A refusal: the HTTP status (repeated as `response.status`), `message` for the user and
/// `details` for the developer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ZermeloError {
    /// HTTP status of the answer.
    pub status: StatusCode,
    /// `response.message`.
    pub message: String,
    /// `response.details`; empty when there is nothing to add.
    pub details: String,
}

impl ZermeloError {
    /// A refusal with any status and no details.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            details: String::new(),
        }
    }

    /// The same refusal with `details` filled.
    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = details.into();
        self
    }

    /// A 400: a body or query the simulator cannot accept.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A 404 for an entity that does not exist, e.g. `User 118299 not found`.
    pub fn not_found(entity: &str, key: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{entity} {key} not found"))
    }

    /// A 403: the token may not do this (a switch is off).
    pub fn forbidden(what: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden")
            .with_details(format!("this token is not authorised to {what}"))
    }

    /// A value of the wrong JSON type.
    pub fn invalid_value(member: &str, expected: &str) -> Self {
        Self::bad(format!("Invalid value for {member}"))
            .with_details(format!("expected {expected}"))
    }
}
