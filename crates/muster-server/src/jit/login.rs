//! `GET /jit/login` → the provider → `GET /jit/callback`: Muster as OpenID Connect relying
//! party for a sign-in that passes through it (a first-day landing page, or an IdP bookmark
//! that goes through Muster on to the application). The flow is the dashboard's
//! ([`crate::web::oidc::RelyingParty`]: code + PKCE, `state`, `nonce`, the ID token checked,
//! the callback bound to the browser that started it); here the identity becomes a person
//! keyed on issuer + `sub` (Entra: `tid` + `oid`), never the e-mail address, and the browser
//! goes on to the configured application. Failing closed, a sign-in whose account could not
//! be prepared ends on an error page instead.

use super::{refuse, subject_key, too_many, Jit, Refusal};
use crate::state::AppState;
use crate::web::oidc::{to_provider, CallbackQuery};
use crate::web::session::cookie;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use muster_engine::jit::{SignIn, SignInVia};
use std::net::SocketAddr;

/// The cookie that ties a JIT sign-in to the browser that started it.
pub const BINDING_COOKIE: &str = "muster_jit_signin";

pub async fn login(State(state): State<AppState>) -> Response {
    let Some((jit, rp)) = state.jit.as_ref().and_then(|j| Some((j, j.rp.as_ref()?))) else {
        return page(
            StatusCode::NOT_FOUND,
            "Sign-in",
            "This sign-in is not configured ([server.jit.oidc]).",
            false,
        );
    };
    match rp.begin("/".to_owned()).await {
        Ok((url, binding)) => {
            to_provider(&url, BINDING_COOKIE, &binding, "/jit/callback", jit.secure)
        }
        Err(e) => {
            tracing::warn!(error = %e, "JIT sign-in could not start.");
            page(
                e.start_status(),
                "Sign-in unavailable",
                &format!("Sign-in cannot start now: {e}."),
                false,
            )
        }
    }
}

pub async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let ip = peer.ip();
    if let Some(r) = too_many(&state, ip) {
        return r;
    }
    let Some((jit, settings)) = state
        .jit
        .as_ref()
        .and_then(|j| Some((j, j.settings.oidc.as_ref()?)))
    else {
        return page(
            StatusCode::NOT_FOUND,
            "Sign-in",
            "This sign-in is not configured ([server.jit.oidc]).",
            false,
        );
    };
    let binding = cookie(&headers, BINDING_COOKIE).unwrap_or_default();
    let sign_in = match identity(jit, q, binding).await {
        Ok(s) => s,
        Err((refusal, provider_fault)) => {
            let message = refusal.reason.clone();
            let status = refusal.status;
            if provider_fault {
                tracing::warn!(reason = ?message, "JIT sign-in: the provider cannot be used.");
            } else {
                // Audited, counted, answered as JSON by `refuse`; a person gets a page.
                let _ = refuse(&state, "oidc", ip, refusal).await;
            }
            return page(
                status,
                "Sign-in failed",
                &format!("Sign-in failed: {message}."),
                true,
            );
        }
    };
    let subject = sign_in.subject.clone();
    let outcome = jit.provision(sign_in, settings.policy).await;
    tracing::info!(subject = %subject, outcome = %outcome.describe(), "OpenID Connect JIT sign-in answered.");
    if !outcome.answers_ok(settings.policy.fail) {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready yet",
            "Your account could not be prepared just now. Try again in a minute.",
            true,
        );
    }
    let mut response = (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, settings.application_url.clone()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response();
    let used = format!("{BINDING_COOKIE}=; HttpOnly; SameSite=Lax; Path=/jit/callback; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&used) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// The sign-in the callback completes, or why not (and whether the provider is at fault).
async fn identity(jit: &Jit, q: CallbackQuery, binding: &str) -> Result<SignIn, (Refusal, bool)> {
    let (Some(rp), Some(settings)) = (jit.rp.as_ref(), jit.settings.oidc.as_ref()) else {
        return Err((Refusal::new(StatusCode::NOT_FOUND, "not configured"), true));
    };
    let identity = rp.finish(q, binding).await.map_err(|e| {
        let fault = e.is_provider_fault();
        let status = if fault {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::BAD_REQUEST
        };
        (Refusal::new(status, e.to_string()), fault)
    })?;
    let text = |k: &str| identity.all_claims.get(k).and_then(|v| v.as_str());
    let subject = subject_key(
        &identity.issuer,
        &identity.subject,
        text("tid"),
        text("oid"),
    );
    let person = settings
        .claims
        .person(&subject, &identity.all_claims, &jit.settings.domains)
        .map_err(|e| {
            (
                Refusal::bad_request(e.to_string()).by(subject.clone()),
                false,
            )
        })?;
    Ok(SignIn {
        person,
        via: SignInVia::Oidc,
        subject,
    })
}

/// A small HTML page (every value escaped by maud), with a link to start again.
fn page(status: StatusCode, title: &str, message: &str, again: bool) -> Response {
    let body = maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (title) " · Muster" } }
            body {
                h1 { (title) }
                p { (message) }
                @if again { p { a href="/jit/login" { "Sign in again" } } }
            }
        }
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(body.into_string()),
    )
        .into_response()
}
