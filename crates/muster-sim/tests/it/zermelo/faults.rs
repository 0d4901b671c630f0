//! Every fault switch of zermelo.md §7: rate limit with and without `Retry-After`, latency and
//! jitter, 5xx before and after applying, drops before and after applying, hangs; the seed.

use std::time::{Duration, Instant};

use muster_sim::ZermeloSwitches;
use reqwest::Method;
use serde_json::json;

use super::{client, read, student, zsim, Zm, TOKEN};
use crate::{assert_draws_follow_the_seed, outcomes_of, seed_test_faults};

async fn with(change: impl FnOnce(&mut ZermeloSwitches)) -> Zm {
    let z = zsim().await;
    z.sim.state.update_switches(change);
    z
}

/// POSTs a student with `http` and returns the transport result.
async fn post_student(
    z: &Zm,
    http: &reqwest::Client,
    code: &str,
) -> reqwest::Result<reqwest::Response> {
    http.post(z.api("users"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(student(code).to_string())
        .send()
        .await
}

#[tokio::test]
async fn the_rate_limit_answers_429_in_the_envelope_with_retry_after() {
    let defaults = ZermeloSwitches::default().faults;
    assert!(!defaults.rate_limit && defaults.retry_after);
    assert_eq!((defaults.rate_budget, defaults.rate_window_s), (100, 10));
    let z = with(|s| {
        s.faults.rate_limit = true;
        s.faults.rate_budget = 2;
        s.faults.rate_window_s = 60;
    })
    .await;
    z.get("users").await.assert_envelope(200);
    z.get("users").await.assert_envelope(200);
    let r = z.post("users", student("late")).await;
    r.assert_error(429, "Too Many Requests");
    let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    assert!(z.sim.state.users().is_empty(), "a 429 is not applied");
    // Unauthenticated requests are refused before they reach the bucket.
    let r = read(z.http.get(z.api("users")).send().await.unwrap()).await;
    r.assert_error(401, "Unauthorized");

    z.sim
        .state
        .update_switches(|s| s.faults.retry_after = false);
    let r = z.get("users").await;
    r.assert_error(429, "Too Many Requests");
    assert!(r.header("retry-after").is_none());
}

#[tokio::test]
async fn a_5xx_before_apply_is_500_502_or_503_in_the_envelope_and_changes_nothing() {
    let z = with(|s| s.faults.error_5xx_ratio = 1.0).await;
    let mut seen = Vec::new();
    for i in 0..30 {
        let r = z.post("users", student(&i.to_string())).await;
        r.assert_envelope(r.status);
        assert!([500, 502, 503].contains(&r.status), "{}", r.status);
        assert_eq!(
            r.header("retry-after").is_some(),
            r.status == 503,
            "{:?}",
            r.headers
        );
        if !seen.contains(&r.status) {
            seen.push(r.status);
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, [500, 502, 503]);
    assert!(z.sim.state.users().is_empty());
    assert_eq!(z.sim.state.request_count("POST", "/users"), 30);
}

#[tokio::test]
async fn a_5xx_after_apply_has_applied() {
    let z = with(|s| s.faults.error_5xx_after_apply_ratio = 1.0).await;
    let r = z.post("users", student("118204")).await;
    r.assert_error(503, "Service Unavailable");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(z.sim.state.user("118204").is_some());
    z.sim
        .state
        .update_switches(|s| s.faults.error_5xx_after_apply_ratio = 0.0);
    // A naive retry collides with the create that did happen.
    z.post("users", student("118204"))
        .await
        .assert_error(409, "User 118204 already exists");
}

#[tokio::test]
async fn a_drop_is_a_transport_error_and_changes_nothing() {
    let z = with(|s| s.faults.drop_ratio = 1.0).await;
    let err = post_student(&z, &z.http, "drop")
        .await
        .expect_err("a dropped connection has no status");
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
    assert!(z.sim.state.users().is_empty());
    assert_eq!(z.sim.state.request_count("POST", "/users"), 1);
}

#[tokio::test]
async fn a_drop_after_apply_creates_the_user_a_retry_then_collides_with() {
    let z = with(|s| s.faults.drop_after_apply_ratio = 1.0).await;
    let err = post_student(&z, &z.http, "ghost")
        .await
        .expect_err("a dropped connection has no status");
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
    assert!(z.sim.state.user("ghost").is_some());
    assert!(z.sim.state.student("ghost").is_some());
    z.sim
        .state
        .update_switches(|s| s.faults.drop_after_apply_ratio = 0.0);
    // What a connector must do: re-read before retrying.
    z.get("users/ghost").await.assert_envelope(200);
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
    let err = post_student(&z, &impatient, "slow")
        .await
        .expect_err("the client gives up first");
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(2_500));
    assert!(z.sim.state.user("slow").is_some());

    // `hang_ratio` defaults to 0: `hang_ms` alone does not hang.
    z.sim
        .state
        .update_switches(|s| s.faults.hang_ratio = ZermeloSwitches::default().faults.hang_ratio);
    let r = post_student(&z, &impatient, "quick").await.unwrap();
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn latency_and_jitter_delay_answers() {
    let z = with(|s| s.faults.latency_ms = 200).await;
    let started = Instant::now();
    z.get("departmentsofbranches").await.assert_envelope(200);
    assert!(started.elapsed() >= Duration::from_millis(200));

    z.sim.state.update_switches(|s| {
        s.faults.latency_ms = 0;
        s.faults.latency_jitter_ms = 300;
    });
    let mut slowest = Duration::ZERO;
    for _ in 0..6 {
        let started = Instant::now();
        z.get("departmentsofbranches").await.assert_envelope(200);
        slowest = slowest.max(started.elapsed());
    }
    // Six draws from 0..=300 ms: under 30 ms for all is about one chance in 10^6.
    assert!(slowest >= Duration::from_millis(30), "{slowest:?}");
    assert!(slowest < Duration::from_millis(2_000), "{slowest:?}");
}

#[tokio::test]
async fn fault_draws_follow_the_seed() {
    assert_draws_follow_the_seed(|seed| async move {
        let z = super::zsim_with(|c| {
            c.seed = seed;
            seed_test_faults(&mut c.switches.faults);
        })
        .await;
        outcomes_of(|| z.req(Method::GET, "departmentsofbranches")).await
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
    z.get("users").await.assert_error(429, "Too Many Requests");
    let r = z.sim_get("/_sim/state").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["users"], json!([]));
}
