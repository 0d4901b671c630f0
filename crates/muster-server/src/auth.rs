//! Bearer tokens on every endpoint but the health checks, and a limit on failed attempts per
//! client address: past it, that address gets 429 until its minute is over, whatever token it
//! sends, so guessing tokens does not pay.

use crate::api::error::ApiError;
use crate::state::AppState;
use crate::tokens::{self, Need};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use muster_store::TokenRole;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Who is calling: the token that authenticated the request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token_id: String,
    pub name: String,
    pub role: TokenRole,
}

impl Caller {
    /// `Ok` when the caller's role permits `need`, else 403.
    pub fn require(&self, need: Need) -> Result<(), ApiError> {
        if tokens::permits(self.role, need) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "a {} token may not do this; it needs {}",
                self.role,
                match need {
                    Need::Read => "viewer",
                    Need::Approve => "approver",
                    Need::Admin => "admin",
                }
            )))
        }
    }

    /// How the caller is named in decisions and logs: the token's name and id.
    pub fn who(&self) -> String {
        format!("token {} ({})", self.name, self.token_id)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("no token was checked for this request"))
    }
}

/// Failed authentications per client address in fixed one-minute windows.
pub struct FailedAuth {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// Addresses remembered at most; older windows are dropped first when full.
const MAX_ADDRESSES: usize = 10_000;
const WINDOW: Duration = Duration::from_secs(60);

impl FailedAuth {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// How long `ip` must wait, if it used up its failures.
    pub fn blocked_for(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let (start, count) = windows.get(&ip)?;
        let end = *start + WINDOW;
        (now < end && *count >= self.per_minute).then(|| end - now)
    }

    pub fn record_failure(&self, ip: IpAddr, now: Instant) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_ADDRESSES && !windows.contains_key(&ip) {
            windows.retain(|_, (start, _)| now < *start + WINDOW);
            // Still full of current windows: the oldest one gives way, so the map stays bounded.
            if windows.len() >= MAX_ADDRESSES {
                if let Some(oldest) = windows
                    .iter()
                    .min_by_key(|(_, (start, _))| *start)
                    .map(|(k, _)| *k)
                {
                    windows.remove(&oldest);
                }
            }
        }
        let entry = windows.entry(ip).or_insert((now, 0));
        if now >= entry.0 + WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

/// Middleware: checks the bearer token and puts the [`Caller`] into the request.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let now = Instant::now();
    if let Some(wait) = state.failures.blocked_for(ip, now) {
        return Err(ApiError::too_many(wait));
    }
    let header = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .map(|h| h.to_str().map(str::to_owned).unwrap_or_default());
    match check(&state, header).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            Ok(next.run(request).await)
        }
        Err(e) if e.is_unauthorized() => {
            state.failures.record_failure(ip, now);
            state.metrics.auth_failed();
            tracing::info!(client = %ip, reason = %e, "Authentication failed.");
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// The caller a request's `Authorization` header names (`None`: no header).
async fn check(state: &AppState, header: Option<String>) -> Result<Caller, ApiError> {
    let header = header.ok_or_else(|| {
        ApiError::unauthorized("no Authorization header: send `Authorization: Bearer <token>`")
    })?;
    let token = header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header is not `Bearer <token>`")
        })?;
    let found = state
        .store
        .token_by_hash(&tokens::hash(token))
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::unauthorized("unknown token"))?;
    if found.revoked_at.is_some() {
        return Err(ApiError::unauthorized("the token was revoked"));
    }
    Ok(Caller {
        token_id: found.id,
        name: found.name,
        role: found.role,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_held_after_its_failures_until_the_minute_is_over() {
        let limit = FailedAuth::new(3);
        let ip = IpAddr::from([10, 0, 0, 1]);
        let other = IpAddr::from([10, 0, 0, 2]);
        let t0 = Instant::now();
        for _ in 0..2 {
            limit.record_failure(ip, t0);
        }
        assert_eq!(limit.blocked_for(ip, t0), None);
        limit.record_failure(ip, t0);
        assert_eq!(
            limit.blocked_for(ip, t0 + Duration::from_secs(10)),
            Some(Duration::from_secs(50))
        );
        assert_eq!(limit.blocked_for(other, t0), None);
        assert_eq!(limit.blocked_for(ip, t0 + WINDOW), None);
        limit.record_failure(ip, t0 + WINDOW);
        assert_eq!(
            limit.blocked_for(ip, t0 + WINDOW),
            None,
            "a new window starts at zero"
        );
    }

    #[test]
    fn the_addresses_remembered_stay_bounded_under_a_flood_of_current_windows() {
        let limit = FailedAuth::new(3);
        let t0 = Instant::now();
        for i in 0..(MAX_ADDRESSES as u32 + 50) {
            limit.record_failure(IpAddr::from(i.to_be_bytes()), t0);
        }
        let held = limit
            .windows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len();
        assert!(held <= MAX_ADDRESSES, "{held} addresses remembered");
    }
}
