//! Dashboard sessions: in memory (a restart signs everyone out), bounded in count, ended after
//! an idle time and after an absolute time whatever the activity. The cookie carries 256
//! random bits; the map keeps only their SHA-256, so a memory dump does not hand out sessions.

use muster_store::TokenRole;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "muster_session";

/// Sessions held at most; when full, expired ones go first, then the least recently used.
const MAX_SESSIONS: usize = 10_000;

/// Who is signed in to the dashboard.
#[derive(Debug, Clone)]
pub struct WebUser {
    /// The provider's stable subject (`sub`), never the mutable e-mail address.
    pub subject: String,
    /// How the user is shown and named in decisions.
    pub name: String,
    pub role: TokenRole,
    /// The value every dashboard form must send back (CSRF), random per session.
    pub csrf: String,
}

impl WebUser {
    pub fn new(subject: String, name: String, role: TokenRole) -> Self {
        Self {
            subject,
            name,
            role,
            csrf: random_hex(),
        }
    }
}

struct Entry {
    user: WebUser,
    started: Instant,
    last_seen: Instant,
}

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

    /// Starts a session for `user`; returns the `Set-Cookie` value.
    pub fn start(&self, user: WebUser, secure: bool) -> String {
        let token = random_hex();
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, e| !self.expired(e, now));
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
        map.insert(
            key(&token),
            Entry {
                user,
                started: now,
                last_seen: now,
            },
        );
        let secure = if secure { "; Secure" } else { "" };
        format!("{COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/{secure}")
    }

    /// Ends the session the cookie value names (nothing when there is none).
    pub fn end(&self, cookie_value: &str) {
        self.lock().remove(&key(cookie_value));
    }

    /// The user of a live session; using it counts as activity for the idle time.
    pub fn get(&self, cookie_value: &str) -> Option<WebUser> {
        let now = Instant::now();
        let mut map = self.lock();
        let k = key(cookie_value);
        let entry = map.get_mut(&k)?;
        if self.expired(entry, now) {
            map.remove(&k);
            return None;
        }
        entry.last_seen = now;
        Some(entry.user.clone())
    }

    fn expired(&self, e: &Entry, now: Instant) -> bool {
        now.duration_since(e.last_seen) >= self.idle
            || now.duration_since(e.started) >= self.absolute
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn key(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn token_of(set_cookie: &str) -> String {
        let rest = set_cookie.strip_prefix("muster_session=").unwrap();
        rest.split(';').next().unwrap().to_owned()
    }

    fn alice() -> WebUser {
        WebUser::new("alice".into(), "Alice".into(), TokenRole::Admin)
    }

    #[test]
    fn a_session_is_found_by_its_cookie_until_it_ends() {
        let s = Sessions::new(Duration::from_secs(60), Duration::from_secs(3600));
        let cookie = s.start(alice(), true);
        assert!(
            cookie.ends_with("; HttpOnly; SameSite=Lax; Path=/; Secure"),
            "{cookie}"
        );
        let token = token_of(&cookie);
        assert_eq!(token.len(), 64);
        let user = s.get(&token).unwrap();
        assert_eq!(
            (user.subject.as_str(), user.role),
            ("alice", TokenRole::Admin)
        );
        assert_eq!(user.csrf.len(), 64);
        assert!(s.get("not-a-session").is_none());
        s.end(&token);
        assert!(s.get(&token).is_none());
        assert!(!s.start(alice(), false).contains("Secure"));
    }

    #[test]
    fn idle_and_absolute_expiry_end_a_session() {
        let idle = Sessions::new(Duration::ZERO, Duration::from_secs(3600));
        let token = token_of(&idle.start(alice(), false));
        assert!(idle.get(&token).is_none(), "idle time over");
        let absolute = Sessions::new(Duration::from_secs(3600), Duration::ZERO);
        let token = token_of(&absolute.start(alice(), false));
        assert!(absolute.get(&token).is_none(), "absolute time over");
    }

    #[test]
    fn the_count_stays_bounded() {
        let s = Sessions::new(Duration::from_secs(60), Duration::from_secs(3600));
        for _ in 0..(MAX_SESSIONS + 10) {
            s.start(alice(), false);
        }
        assert!(s.lock().len() <= MAX_SESSIONS);
    }
}
