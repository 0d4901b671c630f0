//! The web dashboard: server-rendered pages (maud; no JavaScript) under `/`, on the same
//! process and the same queries as the API (`crate::api`), for people signed in with a
//! session cookie ([`session`]). Every form is a POST checked for CSRF ([`csrf`]); every value
//! is HTML-escaped by maud.
//!
//! - `/`: each target's last and next run, status, counts, warnings; blocked actions waiting;
//!   recent runs; starting a run (admin).
//! - `/runs/{id}`: a run's summary, its blocked actions with approve/reject (approver), its
//!   actions filterable by target, type and outcome, with reasons and before/after values.
//! - `/people/{id}`: one person across every target with their audit trail; `/audit`: search.
//! - `/reports`: what the store keeps of imports and reconciles; `/plans/{target}`: the
//!   target's newest plan.
//! - `/login`, `/callback`, `/logout`: sign-in with OpenID Connect ([`signin`]; [`oidc`] is the
//!   reusable relying party, also meant for `/jit/login`).

pub mod csrf;
pub mod error;
mod layout;
pub mod oidc;
mod overview;
mod people;
mod reports;
mod runs;
pub mod session;
pub mod signin;

use crate::state::AppState;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use error::WebError;

/// The dashboard's routes (merged into the server's router).
pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(overview::page))
        .route("/runs", post(runs::trigger))
        .route("/runs/{id}", get(runs::page))
        .route("/runs/{id}/decide", post(runs::decide))
        .route("/people/{id}", get(people::person))
        .route("/audit", get(people::audit))
        .route("/reports", get(reports::reports))
        .route("/plans/{target}", get(reports::plan))
        .layer(axum::middleware::map_response(page_headers));
    pages.route(layout::CSS_PATH, get(css))
}

/// Pages are not cached, not framed, and run no script from anywhere.
async fn page_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// The stylesheet (no data in it, so no sign-in needed).
async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("muster.css"),
    )
        .into_response()
}

/// A query string read into `T`; a malformed one is a 400 page.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(WebError))]
pub struct WebQuery<T>(pub T);

impl From<axum::extract::rejection::QueryRejection> for WebError {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        WebError::bad_request(r.body_text())
    }
}

#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(WebError))]
pub struct WebPath<T>(pub T);

impl From<axum::extract::rejection::PathRejection> for WebError {
    fn from(r: axum::extract::rejection::PathRejection) -> Self {
        WebError::bad_request(r.body_text())
    }
}

/// A form field: empty means "not given" (a GET form sends every field).
pub fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}
