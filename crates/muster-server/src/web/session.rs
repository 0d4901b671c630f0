//! Dashboard sessions: a random 256-bit id in an `HttpOnly`, `SameSite=Lax` cookie, the signed-in
//! user kept in memory (bounded in count) with an idle and an absolute expiry, and the
//! [`WebUser`] extractor that sends a visitor without a live session to `/login`.
//!
//! Each session carries its own random CSRF token, which every dashboard form sends back
//! (see [`super::csrf`]).

use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use muster_store::TokenRole;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "muster_session";

/// Sessions kept at most; when full, expired ones go first, then the least recently used.
pub const MAX_SESSIONS: usize = 10_000;

/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::from_secs(30 * 60);

/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);

/// Who is signed in to the dashboard. `Debug` leaves out the CSRF token.
#[derive(Clone)]
pub struct WebUser {
    /// The identity provider's subject (stable id).
    pub subject: String,
    /// A name for people: shown on pages and kept with decisions.
    pub name: String,
    pub role: TokenRole,
    /// This session's CSRF token: every form sends it back.
    pub csrf: String,
}

impl WebUser {
    /// A user with a fresh random CSRF token.
    pub fn new(subject: String, name: String, role: TokenRole) -> Self {
        Self {
            subject,
            name,
            role,
            csrf: random_hex(),
        }
    }

    /// How the user is named in decisions and logs.
    pub fn who(&self) -> String {
        format!("user {} ({})", self.name, self.subject)
    }
}

impl std::fmt::Debug for WebUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebUser")
            .field("subject", &self.subject)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("csrf", &"***")
            .finish()
    }
}

struct Entry {
    user: WebUser,
    started: Instant,
    last_seen: Instant,
}

/// The live sessions, by the SHA-256 of their cookie value.
pub struct Sessions {
    idle: Duration,
    absolute: Duration,
    map: Mutex<HashMap<String, Entry>>,
}

impl Sessions {
    pub fn new(idle: Duration, absolute: Duration) -> Self {
        Self {
            idle,
            absolute,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // Plain data: a panic elsewhere while holding the lock leaves nothing half-done.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a session for a signed-in user; returns the Set-Cookie header value
    /// (`muster_session=<random 256-bit>; HttpOnly; SameSite=Lax; Path=/`, `; Secure` when
    /// `secure`).
    pub fn start(&self, user: WebUser, secure: bool) -> String {
        self.start_at(user, secure, Instant::now())
    }

    fn start_at(&self, user: WebUser, secure: bool, now: Instant) -> String {
        let id = random_hex();
        let mut map = self.map();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, e| self.live(e, now));
            if map.len() >= MAX_SESSIONS {
                if let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, e)| e.last_seen)
                    .map(|(k, _)| k.clone())
                {
                    map.remove(&oldest);
                }
            }
        }
        tracing::info!(subject = %user.subject, role = %user.role, "Dashboard session started.");
        map.insert(
            key(&id),
            Entry {
                user,
                started: now,
                last_seen: now,
            },
        );
        let secure = if secure { "; Secure" } else { "" };
        format!("{COOKIE}={id}; HttpOnly; SameSite=Lax; Path=/{secure}")
    }

    /// Ends the session whose cookie value (the id after `muster_session=`) is given.
    pub fn end(&self, cookie_value: &str) {
        self.map().remove(&key(cookie_value));
    }

    /// The user of a live session, which counts as activity; `None` when unknown or expired
    /// (an expired session is forgotten).
    pub fn get(&self, cookie_value: &str) -> Option<WebUser> {
        self.get_at(cookie_value, Instant::now())
    }

    fn get_at(&self, cookie_value: &str, now: Instant) -> Option<WebUser> {
        let key = key(cookie_value);
        let mut map = self.map();
        let entry = map.get_mut(&key)?;
        if !self.live(entry, now) {
            map.remove(&key);
            return None;
        }
        entry.last_seen = now;
        Some(entry.user.clone())
    }

    fn live(&self, e: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(e.last_seen) < self.idle
            && now.saturating_duration_since(e.started) < self.absolute
    }

    /// Sessions held now (expired ones included until they are looked up or pushed out).
    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new(IDLE, ABSOLUTE)
    }
}

/// What the map is keyed by: the SHA-256 of the cookie's value, so a dump of the server's
/// memory holds no usable cookie.
fn key(cookie_value: &str) -> String {
    sha256_hex(cookie_value)
}

/// The SHA-256 of `text` as lowercase hex.
pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 256 random bits as lowercase hex.
pub(crate) fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The session cookie's value among a request's `Cookie` headers.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, COOKIE)
}

/// The value of the cookie `wanted` among a request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, wanted: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.trim())
}

/// No live session: a redirect (303) to `/login?next=<this path and query>`.
#[derive(Debug)]
pub struct SignInFirst {
    next: String,
}

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        Redirect::to(&login_url(&self.next)).into_response()
    }
}

/// `/login?next=…` with `next` percent-encoded.
pub fn login_url(next: &str) -> String {
    format!(
        "/login?next={}",
        utf8_percent_encode(next, NON_ALPHANUMERIC)
    )
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = SignInFirst;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        session_cookie(&parts.headers)
            .and_then(|id| state.sessions.get(id))
            .ok_or_else(|| SignInFirst {
                // A form post goes back to the page, not to the post's address.
                next: if parts.method == axum::http::Method::GET {
                    parts
                        .uri
                        .path_and_query()
                        .map_or("/", |p| p.as_str())
                        .to_owned()
                } else {
                    "/".to_owned()
                },
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn user() -> WebUser {
        WebUser::new("sub-1".into(), "Ada".into(), TokenRole::Approver)
    }

    fn id_of(cookie: &str) -> String {
        cookie
            .strip_prefix("muster_session=")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn the_cookie_is_random_http_only_and_secure_when_asked() {
        let s = Sessions::default();
        let a = s.start(user(), false);
        let b = s.start(user(), true);
        assert!(a.ends_with("; HttpOnly; SameSite=Lax; Path=/"), "{a}");
        assert!(b.ends_with("; Path=/; Secure"), "{b}");
        assert_eq!(id_of(&a).len(), 64);
        assert_ne!(id_of(&a), id_of(&b));
        assert_eq!(s.get(&id_of(&a)).unwrap().name, "Ada");
        s.end(&id_of(&a));
        assert!(s.get(&id_of(&a)).is_none());
        assert!(s.get(&id_of(&b)).is_some());
        assert!(s.get("not-a-session").is_none());
    }

    #[test]
    fn sessions_expire_when_idle_and_absolutely() {
        let s = Sessions::new(Duration::from_secs(10), Duration::from_secs(25));
        let t0 = Instant::now();
        let idle = id_of(&s.start_at(user(), false, t0));
        let busy = id_of(&s.start_at(user(), false, t0));
        for step in 1..=2 {
            assert!(s
                .get_at(&busy, t0 + Duration::from_secs(8 * step))
                .is_some());
        }
        assert!(s.get_at(&idle, t0 + Duration::from_secs(11)).is_none());
        assert!(s.get_at(&busy, t0 + Duration::from_secs(24)).is_some());
        assert!(
            s.get_at(&busy, t0 + Duration::from_secs(25)).is_none(),
            "active, but past the absolute limit"
        );
        assert!(s.is_empty(), "expired sessions are forgotten");
    }

    #[test]
    fn the_count_stays_bounded_and_the_least_recent_gives_way() {
        let s = Sessions::default();
        let t0 = Instant::now();
        let first = id_of(&s.start_at(user(), false, t0));
        for i in 1..MAX_SESSIONS as u64 {
            s.start_at(user(), false, t0 + Duration::from_millis(i));
        }
        let late = t0 + Duration::from_secs(60);
        assert!(
            s.get_at(&first, late).is_some(),
            "used again: now the newest"
        );
        s.start_at(user(), false, late);
        assert_eq!(s.len(), MAX_SESSIONS);
        assert!(s.get_at(&first, late).is_some());
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            "a=1; muster_session=abc ; b=2".parse().unwrap(),
        );
        assert_eq!(session_cookie(&h), Some("abc"));
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "muster_session_x=1".parse().unwrap());
        assert_eq!(session_cookie(&h), None);
    }

    #[test]
    fn the_login_redirect_escapes_next() {
        assert_eq!(
            login_url("/runs/x?kind=a&b=<c>"),
            "/login?next=%2Fruns%2Fx%3Fkind%3Da%26b%3D%3Cc%3E"
        );
    }
}
