//! Fault switches: rate limiting (bucket and window), 5xx and dropped connections before and
//! after applying, latency, hangs, scoping, the fault log, and reproducible random choices.

use std::time::{Duration, Instant};

use muster_sim::faults::RateRefill;
use muster_sim::{FaultScope, Faults, ScimSimConfig};
use reqwest::Method;
use serde_json::json;

use crate::{
    assert_draws_follow_the_seed, client, outcomes_of, resp, seed_test_faults, sim, sim_with, user,
    Sim,
};

async fn with_faults(faults: Faults) -> Sim {
    let s = sim().await;
    s.sim.state.update_switches(|sw| sw.faults = faults);
    s
}

/// POSTs a user with the simulator's client and returns the transport result.
async fn post_user(
    s: &Sim,
    http: &reqwest::Client,
    name: &str,
) -> reqwest::Result<reqwest::Response> {
    http.post(s.url("/Users"))
        .bearer_auth(&s.token)
        .header("content-type", "application/scim+json")
        .body(user(name).to_string())
        .send()
        .await
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let s = with_faults(Faults {
        rate_limit: true,
        rate_budget: 3,
        rate_window_s: 60,
        ..Faults::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(s.get("/Users").await.status, 200);
    }
    let r = s.get("/Users").await;
    r.assert_error(429, None);
    let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (1..=20).contains(&secs),
        "one token takes 20 s to come back, got {secs}"
    );
    assert_eq!(
        s.sim.state.request_count("GET", "/Users"),
        4,
        "throttled requests are counted"
    );
}

#[tokio::test]
async fn the_rate_limit_can_omit_retry_after() {
    let s = with_faults(Faults {
        rate_limit: true,
        rate_budget: 1,
        rate_window_s: 60,
        retry_after: false,
        ..Faults::default()
    })
    .await;
    assert_eq!(s.get("/Users").await.status, 200);
    let r = s.get("/Users").await;
    r.assert_error(429, None);
    assert!(r.header("retry-after").is_none());
}

#[tokio::test]
async fn a_5xx_before_apply_changes_nothing() {
    let s = with_faults(Faults {
        error_5xx_ratio: 1.0,
        ..Faults::default()
    })
    .await;
    let r = s.post("/Users", user("five@x")).await;
    r.assert_error(503, None);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(s.sim.state.users().is_empty());

    s.sim
        .state
        .update_switches(|sw| sw.faults.retry_after = false);
    let r = s.post("/Users", user("five@x")).await;
    r.assert_error(503, None);
    assert!(r.header("retry-after").is_none());
}

#[tokio::test]
async fn a_5xx_after_apply_has_applied() {
    let s = with_faults(Faults {
        error_5xx_after_apply_ratio: 1.0,
        ..Faults::default()
    })
    .await;
    s.post("/Users", user("applied@x"))
        .await
        .assert_error(503, None);
    assert!(s.sim.state.user_by_name("applied@x").is_some());
    // A naive retry now collides with the create that did happen.
    s.sim
        .state
        .update_switches(|sw| sw.faults = Faults::default());
    s.post("/Users", user("applied@x"))
        .await
        .assert_error(409, Some("uniqueness"));
}

#[tokio::test]
async fn a_drop_before_apply_is_a_transport_error_and_changes_nothing() {
    let s = with_faults(Faults {
        drop_ratio: 1.0,
        ..Faults::default()
    })
    .await;
    let err = post_user(&s, &s.http, "drop@x")
        .await
        .expect_err("a dropped connection has no status");
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
    assert!(s.sim.state.users().is_empty());
    assert_eq!(s.sim.state.request_count("POST", "/Users"), 1);
}

#[tokio::test]
async fn a_drop_after_apply_is_a_transport_error_but_has_applied() {
    let s = with_faults(Faults {
        drop_after_apply_ratio: 1.0,
        ..Faults::default()
    })
    .await;
    let err = post_user(&s, &s.http, "ghost@x")
        .await
        .expect_err("a dropped connection has no status");
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
    assert!(s.sim.state.user_by_name("ghost@x").is_some());
}

#[tokio::test]
async fn a_hang_outlasts_the_client_timeout_after_applying() {
    let s = with_faults(Faults {
        hang_ms: 3_000,
        ..Faults::default()
    })
    .await;
    let impatient = client(Duration::from_millis(300));
    let started = Instant::now();
    let err = post_user(&s, &impatient, "slow@x")
        .await
        .expect_err("the client gives up first");
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(2_500));
    assert!(s.sim.state.user_by_name("slow@x").is_some());

    s.sim.state.update_switches(|sw| sw.faults.hang_ratio = 0.0);
    assert_eq!(
        post_user(&s, &impatient, "quick@x").await.unwrap().status(),
        201
    );
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let s = with_faults(Faults {
        latency_ms: 250,
        ..Faults::default()
    })
    .await;
    let started = Instant::now();
    assert_eq!(s.get("/Users").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn fault_draws_follow_the_seed() {
    assert_draws_follow_the_seed(|seed| async move {
        let mut cfg = ScimSimConfig {
            seed,
            ..ScimSimConfig::default()
        };
        seed_test_faults(&mut cfg.switches.faults);
        let s = sim_with(cfg).await;
        outcomes_of(|| s.req(Method::GET, "/Users")).await
    })
    .await;
}

#[tokio::test]
async fn faults_spare_the_test_api() {
    let s = with_faults(Faults {
        drop_ratio: 1.0,
        ..Faults::default()
    })
    .await;
    let r = resp(s.http.get(s.root("/_sim/state")).send().await.unwrap()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({ "users": [], "groups": [] }));
}

#[tokio::test]
async fn a_window_gives_the_whole_budget_back_only_when_it_closes() {
    let s = with_faults(Faults {
        rate_limit: true,
        rate_budget: 2,
        rate_window_s: 60,
        rate_refill: RateRefill::Window,
        ..Faults::default()
    })
    .await;
    assert_eq!(s.get("/Users").await.status, 200);
    assert_eq!(s.get("/Users").await.status, 200);
    let r = s.get("/Users").await;
    r.assert_error(429, None);
    let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (31..=60).contains(&secs),
        "a bucket would give a token back in 30 s; the window closes in 60, got {secs}"
    );
}

#[tokio::test]
async fn scoped_faults_spare_other_requests_and_are_logged() {
    let s = with_faults(Faults {
        error_5xx_ratio: 1.0,
        fault_scope: Some(FaultScope::new("POST", "/Users")),
        ..Faults::default()
    })
    .await;
    assert_eq!(s.get("/Users").await.status, 200, "out of scope");
    let r = s.post("/Users", user("scoped")).await;
    assert_eq!(r.status, 503);
    assert!(s.sim.state.users().is_empty());
    let log = resp(s.http.get(s.root("/_sim/faults")).send().await.unwrap()).await;
    assert_eq!(
        log.body,
        json!([{ "seq": 1, "method": "POST", "path": "/Users",
                 "fault": "error_5xx", "status": 503 }])
    );
    let r = s.http.post(s.root("/_sim/reset")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let log = resp(s.http.get(s.root("/_sim/faults")).send().await.unwrap()).await;
    assert_eq!(log.body, json!([]), "a reset empties the log");
}
