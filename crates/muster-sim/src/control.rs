//! What every simulator offers a test alike: the request counters and the middleware that
//! fills them ([`count`]), and the test API under `/_sim` ([`routes`]: state dump, counters,
//! the fault log, reset, reading and replacing the switches). A simulator plugs in by
//! implementing [`Simulated`] (and the [`FaultSource`] it builds on) for its state; its own
//! extra test routes (HelloID's approvals, Exchange's tenant changes) merge into the same router.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::faults::{lock, FaultSource};

/// Requests received, per `"METHOD /template"` under the simulator's API path, e.g.
/// `"PUT /users/{code}"`; counted before auth and faults, so refused requests count too.
#[derive(Debug, Default)]
pub struct RequestCounter(Mutex<BTreeMap<String, u64>>);

impl RequestCounter {
    /// Counts one request.
    pub fn add(&self, key: String) {
        *lock(&self.0).entry(key).or_insert(0) += 1;
    }

    /// Every count, by key.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        lock(&self.0).clone()
    }

    /// Requests whose method is `method` (any case) and whose path template starts with
    /// `path_prefix`: `("GET", "/users")` counts the list and `/users/{code}`.
    pub fn matching(&self, method: &str, path_prefix: &str) -> u64 {
        lock(&self.0)
            .iter()
            .filter(|(key, _)| {
                key.split_once(' ').is_some_and(|(m, p)| {
                    m.eq_ignore_ascii_case(method) && p.starts_with(path_prefix)
                })
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// All requests counted.
    pub fn total(&self) -> u64 {
        lock(&self.0).values().sum()
    }

    /// Forgets every count.
    pub fn clear(&self) {
        lock(&self.0).clear();
    }
}

/// A simulator's state as the shared middleware and test API see it. Counter keys are relative
/// to its [`FaultSource::API_PATH`].
pub trait Simulated: FaultSource {
    /// The simulator's name in logs, e.g. `"Zermelo"`.
    const NAME: &'static str;
    /// Its behaviour and fault switches, as `/_sim/switches` reads and writes them.
    type Switches: Serialize + DeserializeOwned + Clone + Debug + Send;

    fn counter(&self) -> &RequestCounter;
    /// The switches in force.
    fn current_switches(&self) -> Self::Switches;
    /// Replaces the switches, or says why they cannot be served.
    fn replace_switches(&self, switches: Self::Switches) -> Result<(), String>;
    /// Empties the data and the counters; what stays is the simulator's to say.
    fn reset_all(&self);
    /// The test API's view of the data.
    fn state_dump(&self) -> Value;

    /// `GET /_sim/counters`.
    fn counters_view(&self) -> Value {
        json!({ "total": self.counter().total(), "requests": self.counter().snapshot() })
    }
}

/// Middleware counting every request under `"METHOD /template"`, before auth and faults.
pub async fn count<S: Simulated>(State(state): State<S>, req: Request, next: Next) -> Response {
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let template = template.strip_prefix(S::API_PATH).unwrap_or(&template);
    let key = format!("{} {}", req.method(), template);
    tracing::debug!(request = %key, simulator = S::NAME, "Simulator request.");
    state.counter().add(key);
    next.run(req).await
}

/// The test API every simulator shares (no auth, no faults, not counted).
pub fn routes<S: Simulated>() -> Router<S> {
    Router::new()
        .route("/_sim/state", get(dump::<S>))
        .route("/_sim/counters", get(counters::<S>))
        .route("/_sim/faults", get(faults::<S>))
        .route("/_sim/reset", post(reset::<S>))
        .route(
            "/_sim/switches",
            get(get_switches::<S>).put(put_switches::<S>),
        )
}

/// A 400 with `{"error": "…"}`.
pub fn bad_request(error: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error.to_string() })),
    )
        .into_response()
}

async fn dump<S: Simulated>(State(state): State<S>) -> Response {
    Json(state.state_dump()).into_response()
}

async fn counters<S: Simulated>(State(state): State<S>) -> Response {
    Json(state.counters_view()).into_response()
}

/// `GET /_sim/faults`: the injected faults, oldest first.
async fn faults<S: Simulated>(State(state): State<S>) -> Response {
    Json(state.injector().fault_log()).into_response()
}

async fn reset<S: Simulated>(State(state): State<S>) -> StatusCode {
    state.reset_all();
    tracing::debug!(simulator = S::NAME, "Simulator reset.");
    StatusCode::NO_CONTENT
}

async fn get_switches<S: Simulated>(State(state): State<S>) -> Response {
    Json(state.current_switches()).into_response()
}

/// Replaces the switches; fields left out take their defaults, unknown fields and values that
/// cannot be served are refused.
async fn put_switches<S: Simulated>(State(state): State<S>, body: Bytes) -> Response {
    let switches = match serde_json::from_slice::<S::Switches>(&body) {
        Ok(sw) => sw,
        Err(e) => return bad_request(e),
    };
    if let Err(e) = state.replace_switches(switches.clone()) {
        return bad_request(e);
    }
    tracing::debug!(
        simulator = S::NAME,
        ?switches,
        "Simulator switches replaced."
    );
    Json(switches).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_method_and_template_prefix() {
        let c = RequestCounter::default();
        for key in [
            "GET /users",
            "GET /users/{code}",
            "PUT /users/{code}",
            "get /groups",
        ] {
            c.add(key.to_owned());
        }
        c.add("GET /users".to_owned());
        assert_eq!(c.matching("get", "/users"), 3);
        assert_eq!(c.matching("PUT", "/"), 1);
        assert_eq!(c.total(), 5);
        assert_eq!(c.snapshot()["GET /users"], 2);
        c.clear();
        assert_eq!(c.total(), 0);
    }
}
