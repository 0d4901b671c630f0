//! [`ZivverError`]: a refusal as Zivver sends it, a status and a plain-text body.
//!
//! Zivver's error bodies appear to be plain text rather than SCIM error JSON (zivver.md §4.2), so
//! every refusal here, from an unknown id to an invalid division, is one line of `text/plain`.
//! The 429 of the rate limiter is the one JSON error; it lives in `inject`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Media type of every error body.
pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

/// A refusal: the HTTP status and the exact text Zivver (or, where the text is not documented,
/// the simulator) answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ZivverError {
    /// HTTP status of the answer.
    pub status: StatusCode,
    /// The plain-text body.
    pub message: String,
}

impl ZivverError {
    /// A refusal with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// A 400, Zivver's answer to nearly everything it refuses.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// An unknown or deleted id: **400**, not 404 (zivver.md §4.1). Groups are functional
    /// accounts, so they get the same text.
    pub fn unknown_account(id: &str) -> Self {
        Self::bad(format!("Unknown account with uuid: {id}"))
    }

    /// An address in none of the organisation's domains (zivver.md §4.2).
    pub fn outside_organization() -> Self {
        Self::bad("Account is outside the organization")
    }

    /// A division that was never seeded (zivver.md §4.2; the status is the simulator's choice).
    pub fn invalid_division(name: &str) -> Self {
        Self::bad(format!("Invalid division: {name}"))
    }

    /// An alias that another account already uses as its address or alias.
    pub fn alias_taken(alias: &str) -> Self {
        Self::bad(format!(
            "Error creating alias: Alias is already taken for {alias}"
        ))
    }

    /// A functional account's alias in a domain the organisation has not claimed
    /// (exchange-online.md §3).
    pub fn domain_not_owned() -> Self {
        Self::bad("Error creating alias: Domain Not Owned")
    }

    /// An alias that already received mail as a Zivver guest (exchange-online.md §1, §3).
    pub fn alias_is_guest(alias: &str) -> Self {
        Self::bad(format!("Error creating alias: Alias is a guest: {alias}"))
    }

    /// A member id that is no user, on `POST Groups` (exchange-online.md §3).
    pub fn unknown_in_set() -> Self {
        Self::bad("Unknown in set")
    }

    /// A member id that is no user, on `PUT Groups/{id}` (exchange-online.md §3).
    pub fn member_not_found() -> Self {
        Self::bad("Error creating member: Member Not Found")
    }

    /// A PatchOp form Zivver is not known to accept (simulator text, zivver.md §6).
    pub fn unsupported_patch() -> Self {
        Self::bad("Unsupported patch operation")
    }

    /// A value of the wrong type or outside its allowed set.
    pub fn invalid_value(attribute: &str) -> Self {
        Self::bad(format!("Invalid value for {attribute}"))
    }
}

impl IntoResponse for ZivverError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, TEXT_PLAIN)],
            self.message,
        )
            .into_response()
    }
}
