//! CSRF protection for every dashboard form: the form carries the session's token in a hidden
//! field `csrf`, compared in constant time; a request whose `Origin` or `Sec-Fetch-Site` says
//! it comes from another site is refused before its body is read.

use super::error::WebError;
use super::session::WebUser;
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// A form posted by the signed-in user of this session from a dashboard page: the session was
/// found, the request is same-origin and the form's `csrf` field matches the session's token.
pub struct CheckedForm<T> {
    pub user: WebUser,
    pub form: T,
}

#[derive(Deserialize)]
struct WithCsrf<T> {
    csrf: String,
    #[serde(flatten)]
    form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CheckedForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let user = WebUser::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        same_origin(&parts.headers).map_err(|e| refused(&user, e))?;
        let request = Request::from_parts(parts, body);
        let Form(WithCsrf { csrf, form }) = Form::<WithCsrf<T>>::from_request(request, state)
            .await
            .map_err(|r| {
                WebError::bad_request(format!("the form could not be read: {}", r.body_text()))
                    .into_response()
            })?;
        if !tokens_match(&csrf, &user.csrf) {
            return Err(refused(
                &user,
                WebError::forbidden(
                    "the form's CSRF token does not match this session; reload the page and try again",
                ),
            ));
        }
        Ok(Self { user, form })
    }
}

fn refused(user: &WebUser, e: WebError) -> Response {
    tracing::warn!(subject = %user.subject, reason = %e, "Dashboard form refused (CSRF).");
    e.into_response()
}

/// Constant-time comparison of two tokens (lengths are not secret).
pub fn tokens_match(given: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// Refuses a request that a browser marks as coming from elsewhere: `Sec-Fetch-Site` other
/// than `same-origin`, or an `Origin` whose host and port are not this request's `Host`.
/// Headers that are absent are no evidence either way (the CSRF token still decides).
pub fn same_origin(headers: &HeaderMap) -> Result<(), WebError> {
    if let Some(site) = headers.get("sec-fetch-site") {
        if site.as_bytes() != b"same-origin" {
            return Err(WebError::forbidden(
                "this form was sent from another site (Sec-Fetch-Site); nothing was changed",
            ));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, authority)| authority);
        if host.is_none() || origin_host != host {
            return Err(WebError::forbidden(
                "this form was sent from another origin; nothing was changed",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn origin_and_fetch_site_must_be_this_site_when_present() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8440")])).is_ok());
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8440"),
            ("origin", "http://127.0.0.1:8440"),
            ("sec-fetch-site", "same-origin"),
        ]))
        .is_ok());
        for bad in [
            headers(&[
                ("host", "127.0.0.1:8440"),
                ("origin", "http://evil.example"),
            ]),
            headers(&[("host", "127.0.0.1:8440"), ("origin", "null")]),
            headers(&[
                ("host", "127.0.0.1:8440"),
                ("origin", "http://127.0.0.1:8441"),
            ]),
            headers(&[("host", "127.0.0.1:8440"), ("sec-fetch-site", "cross-site")]),
            headers(&[("host", "127.0.0.1:8440"), ("sec-fetch-site", "same-site")]),
            headers(&[("origin", "http://127.0.0.1:8440")]),
        ] {
            assert!(same_origin(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tokens_match_only_when_equal_and_set() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abd", "abc"));
        assert!(!tokens_match("ab", "abc"));
        assert!(!tokens_match("", ""));
    }
}
