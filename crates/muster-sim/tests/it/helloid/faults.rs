//! Every fault switch of helloid.md §7: the token bucket with and without `Retry-After`,
//! latency with jitter, 5xx and dropped connections before and after applying, and hangs.

use std::time::{Duration, Instant};

use muster_sim::helloid::ErrorField;
use muster_sim::HelloIdSwitches;
use serde_json::json;

use super::{client, hsim, read, user, H, KEY, SECRET};

async fn with(change: impl FnOnce(&mut HelloIdSwitches)) -> H {
    let h = hsim().await;
    h.sim.state.update_switches(change);
    h
}

/// POSTs a user with `http` and returns the transport result.
async fn post_user(
    h: &H,
    http: &reqwest::Client,
    name: &str,
) -> reqwest::Result<reqwest::Response> {
    http.post(h.api("/users"))
        .basic_auth(KEY, Some(SECRET))
        .header("content-type", "application/json")
        .body(user(name).to_string())
        .send()
        .await
}

#[tokio::test]
async fn the_token_bucket_answers_429_with_or_without_retry_after() {
    let h = with(|s| {
        s.faults.rate_limit = true;
        s.faults.rate_budget = 3;
        s.faults.rate_window_s = 60;
    })
    .await;
    for i in 0..3 {
        assert_eq!(h.get("/users").await.status, 200, "request {}", i + 1);
    }
    let r = h.get("/users").await;
    r.assert_error(429, json!({ "message": "Too Many Requests" }));
    let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    // Refused writes are not applied.
    assert_eq!(h.post("/users", user("late@example.org")).await.status, 429);
    assert!(h.sim.state.users().is_empty());

    h.sim.state.update_switches(|s| {
        s.faults.retry_after = false;
        s.error_field = ErrorField::ResultMsg;
    });
    let r = h.get("/users").await;
    r.assert_error(429, json!({ "resultMsg": "Too Many Requests" }));
    assert!(r.header("retry-after").is_none());
    // Off by default: a fresh simulator never throttles.
    let free = hsim().await;
    for _ in 0..150 {
        assert_eq!(free.get("/products").await.status, 200);
    }
}

#[tokio::test]
async fn a_5xx_before_apply_is_500_502_or_503_and_changes_nothing() {
    let h = with(|s| s.faults.error_5xx_ratio = 1.0).await;
    let mut seen = Vec::new();
    for i in 0..30 {
        let r = h.post("/users", user(&format!("f{i}@example.org"))).await;
        assert!([500, 502, 503].contains(&r.status), "{}", r.status);
        assert!(r.body.get("message").is_some(), "{}", r.text);
        // Retry-After only with a 503.
        assert_eq!(
            r.header("retry-after").is_some(),
            r.status == 503,
            "{}",
            r.status
        );
        if !seen.contains(&r.status) {
            seen.push(r.status);
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, [500, 502, 503]);
    assert!(h.sim.state.users().is_empty());
}

#[tokio::test]
async fn a_5xx_after_apply_has_applied() {
    let h = with(|s| s.faults.error_5xx_after_apply_ratio = 1.0).await;
    let r = h.post("/users", user("applied@example.org")).await;
    r.assert_error(503, json!({ "message": "Service Unavailable" }));
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(h.sim.state.user("applied@example.org").is_some());
    h.sim
        .state
        .update_switches(|s| s.faults.retry_after = false);
    let r = h.post("/users", user("second@example.org")).await;
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").is_none());
}

#[tokio::test]
async fn a_drop_before_apply_changes_nothing_and_after_apply_has_applied() {
    let h = with(|s| s.faults.drop_ratio = 1.0).await;
    let err = post_user(&h, &h.http, "dropped@example.org")
        .await
        .unwrap_err();
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    assert!(h.sim.state.users().is_empty());
    // The test API is outside the faults.
    let r = h.http.get(h.root("/_sim/state")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    h.sim.state.update_switches(|s| {
        s.faults.drop_ratio = 0.0;
        s.faults.drop_after_apply_ratio = 1.0;
    });
    let err = post_user(&h, &h.http, "kept@example.org")
        .await
        .unwrap_err();
    assert!(!err.is_status(), "{err:?}");
    assert!(h.sim.state.user("kept@example.org").is_some());
}

#[tokio::test]
async fn a_hang_outlasts_the_client_timeout_after_applying() {
    let h = with(|s| {
        s.faults.hang_ms = 2_000;
        s.faults.hang_ratio = 1.0;
    })
    .await;
    let impatient = client(Duration::from_millis(300));
    let started = Instant::now();
    let err = post_user(&h, &impatient, "hung@example.org")
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(1_500));
    assert!(h.sim.state.user("hung@example.org").is_some());
    // hang_ms without hang_ratio (default 0.0) does not hang.
    h.sim.state.update_switches(|s| s.faults.hang_ratio = 0.0);
    let r = read(
        post_user(&h, &impatient, "quick@example.org")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn latency_and_jitter_delay_every_answer() {
    let h = with(|s| s.faults.latency_ms = 250).await;
    let started = Instant::now();
    assert_eq!(h.get("/products").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(250));
    // Every response, a refusal too.
    let started = Instant::now();
    let r = h.http.get(h.api("/products")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(started.elapsed() >= Duration::from_millis(250));

    h.sim.state.update_switches(|s| {
        s.faults.latency_ms = 0;
        s.faults.latency_jitter_ms = 200;
    });
    let mut delays = Vec::new();
    for _ in 0..6 {
        let started = Instant::now();
        assert_eq!(h.get("/products").await.status, 200);
        delays.push(started.elapsed());
    }
    let max = delays.iter().max().unwrap();
    let min = delays.iter().min().unwrap();
    assert!(*max >= Duration::from_millis(20), "{delays:?}");
    assert!(*max < Duration::from_millis(1_000), "{delays:?}");
    assert!(
        *max - *min >= Duration::from_millis(10),
        "no spread: {delays:?}"
    );
}
