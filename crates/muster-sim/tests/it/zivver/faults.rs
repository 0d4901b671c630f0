//! The rate limit (zivver.md §4.4) and every fault switch of §6, scoping and the seed.

use std::time::{Duration, Instant};

use muster_sim::faults::FaultKind;
use muster_sim::{FaultScope, ZivverSwitches};
use reqwest::Method;
use serde_json::{json, Value};

use super::{client, read, user, zsim, zsim_with, TOKEN, Z};
use crate::{assert_draws_follow_the_seed, outcomes_of, seed_test_faults};

async fn with(change: impl FnOnce(&mut ZivverSwitches)) -> Z {
    let z = zsim().await;
    z.sim.state.update_switches(change);
    z
}

/// POSTs a user with `http` and returns the transport result.
async fn post_user(
    z: &Z,
    http: &reqwest::Client,
    name: &str,
) -> reqwest::Result<reqwest::Response> {
    http.post(z.api("/Users"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(user(name).to_string())
        .send()
        .await
}

fn too_many(budget: u64, window: u64) -> Value {
    json!({
        "code": 429,
        "message": "Too Many Requests",
        "emptiedBucketDetails": { "limiterId": "cab", "budget": budget, "windowSeconds": window },
        "reference": "https://tools.ietf.org/html/draft-polli-ratelimit-headers-02",
    })
}

#[tokio::test]
async fn the_51st_request_in_a_window_gets_the_documented_429() {
    // The defaults: rate limit on, 50 per 10 s, no Retry-After.
    let z = zsim_with(|c| c.switches = ZivverSwitches::default()).await;
    assert!(z.sim.state.switches().faults.rate_limit);
    for i in 0..50 {
        let r = z.get("/Users").await;
        assert_eq!(r.status, 200, "request {}", i + 1);
    }
    let r = z.get("/Users").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body, too_many(50, 10));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("retry-after").is_none());
    // Writes are refused too, and not applied.
    let r = z.post("/Users", user("late@example.org")).await;
    assert_eq!(r.status, 429);
    assert!(z.sim.state.users().is_empty());
    assert_eq!(z.sim.state.request_count("GET", "/Users"), 51);
    let log = z.sim.state.fault_log();
    assert_eq!(log.len(), 2);
    assert!(log
        .iter()
        .all(|e| e.fault == FaultKind::RateLimited && e.status == Some(429)));
}

#[tokio::test]
async fn budget_and_window_are_echoed_and_retry_after_is_optional() {
    let z = with(|s| {
        s.faults.rate_limit = true;
        s.faults.rate_budget = 3;
        s.faults.rate_window_s = 60;
        s.faults.retry_after = true;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(z.get("/Users").await.status, 200);
    }
    let r = z.get("/Users").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body, too_many(3, 60));
    let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "{secs}");

    // The limiter covers every request, whatever the fault scope says.
    z.sim.state.update_switches(|s| {
        s.faults.fault_scope = Some(FaultScope::new("DELETE", "/Users/*"));
    });
    assert_eq!(z.get("/Users").await.status, 429);
    // Unauthenticated requests are refused before they reach the limiter.
    let r = z.http.get(z.api("/Users")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_5xx_before_apply_answers_500_502_or_503_and_changes_nothing() {
    let z = with(|s| s.faults.error_5xx_ratio = 1.0).await;
    let mut seen = Vec::new();
    for i in 0..30 {
        let r = z.post("/Users", user(&format!("f{i}@example.org"))).await;
        assert!([500, 502, 503].contains(&r.status), "{}", r.status);
        assert!(r.header("content-type").unwrap().starts_with("text/plain"));
        if !seen.contains(&r.status) {
            seen.push(r.status);
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, [500, 502, 503]);
    assert!(z.sim.state.users().is_empty());
    let log = z.sim.state.fault_log();
    assert_eq!(log.len(), 30);
    assert_eq!(log[0].fault, FaultKind::Error5xx);
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("POST", "/Users")
    );
}

#[tokio::test]
async fn a_5xx_after_apply_has_applied() {
    let z = with(|s| s.faults.error_5xx_after_apply_ratio = 1.0).await;
    z.post("/Users", user("applied@example.org"))
        .await
        .assert_text(503, "Service Unavailable");
    assert!(z.sim.state.user_by_name("applied@example.org").is_some());
    z.sim
        .state
        .update_switches(|s| s.faults.error_5xx_after_apply_ratio = 0.0);
    // A naive retry collides with the create that did happen.
    assert_eq!(
        z.post("/Users", user("applied@example.org")).await.status,
        409
    );
    assert_eq!(
        z.sim.state.fault_log()[0].fault,
        FaultKind::Error5xxAfterApply
    );
}

#[tokio::test]
async fn a_drop_is_a_transport_error_and_changes_nothing() {
    let z = with(|s| s.faults.drop_ratio = 1.0).await;
    let err = post_user(&z, &z.http, "drop@example.org")
        .await
        .expect_err("a dropped connection has no status");
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
    assert!(z.sim.state.users().is_empty());
    assert_eq!(z.sim.state.request_count("POST", "/Users"), 1);
    assert_eq!(z.sim.state.fault_log()[0].fault, FaultKind::Drop);
}

#[tokio::test]
async fn a_drop_after_apply_creates_the_user_a_retry_then_collides_with() {
    let z = with(|s| s.faults.drop_after_apply_ratio = 1.0).await;
    let err = post_user(&z, &z.http, "ghost@example.org")
        .await
        .expect_err("a dropped connection has no status");
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
    assert!(z.sim.state.user_by_name("ghost@example.org").is_some());

    // What a connector must do: re-correlate before retrying.
    z.sim
        .state
        .update_switches(|s| s.faults.drop_after_apply_ratio = 0.0);
    let r = z
        .get("/Users?filter=userName%20eq%20%22ghost%40example.org%22")
        .await;
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(
        z.post("/Users", user("ghost@example.org")).await.status,
        409
    );
    assert_eq!(z.sim.state.users().len(), 1);
}

#[tokio::test]
async fn a_hang_outlasts_the_client_timeout_after_applying() {
    let z = with(|s| {
        s.faults.hang_ms = 3_000;
        s.faults.hang_ratio = 1.0;
    })
    .await;
    let impatient = client(Duration::from_millis(300));
    let started = Instant::now();
    let err = post_user(&z, &impatient, "slow@example.org")
        .await
        .expect_err("the client gives up first");
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(2_500));
    assert!(z.sim.state.user_by_name("slow@example.org").is_some());
    assert_eq!(z.sim.state.fault_log()[0].fault, FaultKind::Hang);

    // `hang_ratio` defaults to 0: `hang_ms` alone does not hang.
    z.sim.state.update_switches(|s| s.faults.hang_ratio = 0.0);
    assert_eq!(
        post_user(&z, &impatient, "quick@example.org")
            .await
            .unwrap()
            .status(),
        201
    );
}

#[tokio::test]
async fn latency_and_jitter_delay_answers() {
    let z = with(|s| s.faults.latency_ms = 200).await;
    let started = Instant::now();
    assert_eq!(z.get("/Users").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));

    z.sim.state.update_switches(|s| {
        s.faults.latency_ms = 0;
        s.faults.latency_jitter_ms = 300;
    });
    let mut slowest = Duration::ZERO;
    for _ in 0..6 {
        let started = Instant::now();
        assert_eq!(z.get("/Users").await.status, 200);
        slowest = slowest.max(started.elapsed());
    }
    // Six draws from 0..=300 ms: under 30 ms for all is about one chance in 10^6.
    assert!(slowest >= Duration::from_millis(30), "{slowest:?}");
    assert!(slowest < Duration::from_millis(2_000), "{slowest:?}");
}

#[tokio::test]
async fn faults_can_be_scoped_to_a_method_and_path() {
    let z = with(|s| {
        s.faults.error_5xx_ratio = 1.0;
        s.faults.fault_scope = Some(FaultScope::new("PUT", "/Users/*"));
    })
    .await;
    let id = z.create(user("scoped@example.org")).await;
    assert_eq!(z.get(&format!("/Users/{id}")).await.status, 200);
    assert_eq!(z.get("/Users").await.status, 200);
    let r = z
        .put(&format!("/Users/{id}"), json!({ "active": false }))
        .await;
    assert!(r.status >= 500, "{}", r.status);
    assert_eq!(z.get(&format!("/Users/{id}")).await.body["active"], true);
    let log = z.sim.state.fault_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].method, "PUT");
    assert_eq!(log[0].path, format!("/Users/{id}"));

    // Any method on the group paths, set over the test API.
    let g = z.group("G", &[]);
    let r = z
        .http
        .put(z.root("/_sim/switches"))
        .json(&json!({ "faults": { "rate_limit": false, "drop_ratio": 1.0,
                       "fault_scope": { "path": "/api/scim/v2/Groups*" } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(z
        .req(Method::GET, &format!("/Groups/{g}"))
        .send()
        .await
        .is_err());
    assert!(z.req(Method::GET, "/Groups").send().await.is_err());
    assert_eq!(z.get("/Users").await.status, 200);
}

#[tokio::test]
async fn fault_draws_follow_the_seed() {
    assert_draws_follow_the_seed(|seed| async move {
        let z = zsim_with(|c| {
            c.seed = seed;
            seed_test_faults(&mut c.switches.faults);
        })
        .await;
        outcomes_of(|| z.req(Method::GET, "/Users")).await
    })
    .await;
}

#[tokio::test]
async fn faults_spare_the_test_api() {
    let z = with(|s| {
        s.faults.drop_ratio = 1.0;
        s.faults.rate_limit = true;
        s.faults.rate_budget = 0;
    })
    .await;
    assert_eq!(
        z.get("/Users").await.status,
        429,
        "a budget of 0 refuses all"
    );
    let r = read(z.http.get(z.root("/_sim/state")).send().await.unwrap()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["users"], json!([]));
}
