//! Dashboard sign-in with OpenID Connect (`[server.oidc]`): `GET /login?next=/path` sends the
//! browser to the provider, `GET /callback` completes the sign-in ([`super::oidc`]), maps the
//! user to a role and starts a session ([`super::session`]); `POST /logout` (with the session's
//! CSRF value) ends it; `GET /session` tells the browser who is signed in.
//!
//! Roles: a user's `subjects` entry decides; else the highest role one of whose listed values
//! the `roles_claim` claim (a string or a list of strings) holds; else `default_role`. Without
//! `default_role` a user with no mapped role is refused with a page that says so: signing in at
//! the provider alone never grants reading the dashboard.
//!
//! Failed callbacks (unknown, replayed or expired `state`, a refused code or ID token) count
//! towards the per-address limit of failed authentications shared with the API tokens.

use super::csrf::tokens_match;
use super::oidc::{
    local_path, to_provider, CallbackQuery, OidcConfig, OidcError, RelyingParty, BINDING_COOKIE,
};
use super::session::{cookie, session_cookie, WebUser, COOKIE};
use crate::state::AppState;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use muster_store::TokenRole;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// Who gets which role (`[server.oidc]` role settings), checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMap {
    /// The ID token claim holding group or role values, e.g. `groups` or `roles`.
    pub claim: String,
    pub admin: Vec<String>,
    pub approver: Vec<String>,
    pub viewer: Vec<String>,
    /// Roles by exact subject (`sub`), before any claim.
    pub subjects: BTreeMap<String, TokenRole>,
    /// The role of a user nothing else maps; `None`: such a user is refused.
    pub default_role: Option<TokenRole>,
}

impl RoleMap {
    /// Whether anyone at all can get a role.
    pub fn grants_anything(&self) -> bool {
        !(self.admin.is_empty()
            && self.approver.is_empty()
            && self.viewer.is_empty()
            && self.subjects.is_empty()
            && self.default_role.is_none())
    }

    /// The role of a signed-in user, or `None`: refused.
    pub fn role_for(
        &self,
        subject: &str,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<TokenRole> {
        if let Some(role) = self.subjects.get(subject) {
            return Some(*role);
        }
        let values = claim_values(claims.get(&self.claim));
        let holds = |listed: &[String]| listed.iter().any(|l| values.contains(&l.as_str()));
        if holds(&self.admin) {
            Some(TokenRole::Admin)
        } else if holds(&self.approver) {
            Some(TokenRole::Approver)
        } else if holds(&self.viewer) {
            Some(TokenRole::Viewer)
        } else {
            self.default_role
        }
    }
}

/// A claim's values: a string is one value, a list its string members; anything else none.
fn claim_values(value: Option<&serde_json::Value>) -> Vec<&str> {
    match value {
        Some(serde_json::Value::String(s)) => vec![s.as_str()],
        Some(serde_json::Value::Array(list)) => list.iter().filter_map(|v| v.as_str()).collect(),
        _ => Vec::new(),
    }
}

/// `[server.oidc]`, checked: the relying party and the role map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInConfig {
    pub oidc: OidcConfig,
    pub roles: RoleMap,
}

/// The dashboard sign-in at run time.
pub struct SignIn {
    rp: RelyingParty,
    roles: RoleMap,
    /// Whether session cookies get `Secure` (served over TLS, or behind an https proxy).
    secure: bool,
}

impl SignIn {
    pub fn new(config: SignInConfig, tls: bool) -> Result<Self, OidcError> {
        let secure = tls || config.oidc.redirect_url.starts_with("https://");
        Ok(Self {
            rp: RelyingParty::new(config.oidc)?,
            roles: config.roles,
            secure,
        })
    }
}

/// The sign-in routes; mounted when `[server.oidc]` is configured.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/logout", post(logout))
        .route("/session", get(session))
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    let Some(signin) = state.signin.as_ref() else {
        return page(
            StatusCode::NOT_FOUND,
            "Sign-in",
            "Sign-in is not configured: set <code>[server.oidc]</code> in the configuration (README, “Run it as a service”).",
        );
    };
    match signin.rp.begin(local_path(q.next.as_deref())).await {
        Ok((url, binding)) => {
            to_provider(&url, BINDING_COOKIE, &binding, "/callback", signin.secure)
        }
        Err(e) => {
            tracing::warn!(error = %e, "Sign-in could not start.");
            page(
                e.start_status(),
                "Sign-in unavailable",
                &format!("Sign-in cannot start now: {}.", escape(&e.to_string())),
            )
        }
    }
}

async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let Some(signin) = state.signin.as_ref() else {
        return page(
            StatusCode::NOT_FOUND,
            "Sign-in",
            "Sign-in is not configured: set <code>[server.oidc]</code> in the configuration (README, “Run it as a service”).",
        );
    };
    let ip: IpAddr = peer.ip();
    let now = Instant::now();
    if let Some(wait) = state.failures.blocked_for(ip, now) {
        let mut response = page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-ins",
            "Too many failed sign-ins from this address; try again in a minute.",
        );
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    let binding = cookie(&headers, BINDING_COOKIE).unwrap_or_default();
    let identity = match signin.rp.finish(q, binding).await {
        Ok(identity) => identity,
        Err(e) => {
            if !e.is_provider_fault() {
                state.failures.record_failure(ip, now);
                state.metrics.auth_failed();
            }
            // Debug, not Display: the provider's error text comes from the query string and
            // could hold line breaks that forge log lines.
            tracing::info!(client = %ip, reason = ?e.to_string(), "Sign-in failed.");
            let status = if e.is_provider_fault() {
                StatusCode::BAD_GATEWAY
            } else {
                StatusCode::BAD_REQUEST
            };
            return page(
                status,
                "Sign-in failed",
                &format!(
                    "Sign-in failed: {}. <a href=\"/login\">Sign in again</a>.",
                    escape(&e.to_string())
                ),
            );
        }
    };
    let Some(role) = signin.roles.role_for(&identity.subject, &identity.claims) else {
        tracing::warn!(client = %ip, issuer = %identity.issuer, subject = %identity.subject, name = %identity.name, claim = %signin.roles.claim, "Sign-in refused: no role is mapped for this user.");
        return page(
            StatusCode::FORBIDDEN,
            "No access",
            &format!(
                "You signed in as {} ({}), but no Muster role is mapped for you. Ask an administrator to add you to a group listed in [server.oidc].",
                escape(&identity.name),
                escape(&identity.subject)
            ),
        );
    };
    tracing::info!(client = %ip, issuer = %identity.issuer, subject = %identity.subject, name = %identity.name, role = %role, "Signed in to the dashboard.");
    let cookie = state.sessions.start(
        WebUser::new(identity.subject, identity.name, role),
        signin.secure,
    );
    let mut response = (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, identity.next),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response();
    let used = format!("{BINDING_COOKIE}=; HttpOnly; SameSite=Lax; Path=/callback; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&used) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[derive(Debug, Deserialize)]
struct LogoutForm {
    csrf: Option<String>,
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let clear = format!("{COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    let signed_out = || {
        let mut response = page(
            StatusCode::OK,
            "Signed out",
            "You are signed out. <a href=\"/login\">Sign in again</a>.",
        );
        if let Ok(v) = HeaderValue::from_str(&clear) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
        response
    };
    let Some(token) = session_cookie(&headers) else {
        return signed_out();
    };
    let Some(user) = state.sessions.get(token) else {
        return signed_out();
    };
    let sent = form.csrf.unwrap_or_default();
    if !tokens_match(&sent, &user.csrf) {
        tracing::warn!(subject = %user.subject, "Sign-out refused: the form's CSRF value does not match the session.");
        return page(
            StatusCode::FORBIDDEN,
            "Not signed out",
            "This form is stale or did not come from this site; nothing changed.",
        );
    }
    state.sessions.end(token);
    tracing::info!(subject = %user.subject, name = %user.name, "Signed out of the dashboard.");
    signed_out()
}

#[derive(Debug, serde::Serialize)]
struct SessionBody {
    subject: String,
    name: String,
    role: String,
    /// The value dashboard forms must send back.
    csrf: String,
}

async fn session(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let user = session_cookie(&headers).and_then(|t| state.sessions.get(t));
    match user {
        Some(u) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(SessionBody {
                subject: u.subject,
                name: u.name,
                role: u.role.to_string(),
                csrf: u.csrf,
            }),
        )
            .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": "unauthorized", "message": "not signed in: open /login"})),
        )
            .into_response(),
    }
}

/// The session cookie's value in the request's `Cookie` headers.
/// A small HTML page; `message` is trusted markup, values in it must be escaped by the caller.
fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} · Muster</title></head><body><h1>{t}</h1><p>{message}</p></body></html>",
        t = escape(title)
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

/// Text for HTML content and double-quoted attribute values (maud's escaping, as every page).
fn escape(text: &str) -> String {
    maud::html! { (text) }.into_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn map() -> RoleMap {
        RoleMap {
            claim: "groups".into(),
            admin: vec!["muster-admins".into()],
            approver: vec!["muster-approvers".into()],
            viewer: vec!["staff".into()],
            subjects: BTreeMap::from([("boss".to_owned(), TokenRole::Admin)]),
            default_role: None,
        }
    }

    fn claims(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_highest_mapped_role_wins_and_an_unmapped_user_gets_none() {
        let m = map();
        let c = claims(json!({"groups": ["staff", "muster-approvers"]}));
        assert_eq!(m.role_for("x", &c), Some(TokenRole::Approver));
        let c = claims(json!({"groups": "muster-admins"}));
        assert_eq!(m.role_for("x", &c), Some(TokenRole::Admin));
        let c = claims(json!({"groups": ["others"], "roles": ["muster-admins"]}));
        assert_eq!(m.role_for("x", &c), None, "another claim does not count");
        assert_eq!(m.role_for("x", &claims(json!({"groups": 7}))), None);
        assert_eq!(
            m.role_for("boss", &claims(json!({}))),
            Some(TokenRole::Admin)
        );
        let m = RoleMap {
            default_role: Some(TokenRole::Viewer),
            ..map()
        };
        assert_eq!(m.role_for("x", &claims(json!({}))), Some(TokenRole::Viewer));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; muster_session=abc; b=2"),
        );
        assert_eq!(session_cookie(&h), Some("abc"));
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("muster_sessionx=1"),
        );
        assert_eq!(session_cookie(&h), None);
    }

    #[test]
    fn values_are_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&"),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
    }
}
