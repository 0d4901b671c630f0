//! The Zermelo connector against the simulator's errors and faults: error texts built from
//! the envelope (`message`, `details`, `eventId`), a refused token, 429 waited out with and
//! without `Retry-After`, 5xx retried on reads and PUTs but never on a POST, and dropped
//! connections.

use super::zermelo_users::{
    attrs, count, exec, harness, seed_student, student, zermelo_config, Harness,
};
use muster_connectors::ZermeloConnector;
use muster_core::connector::{Connector, ConnectorError, Operation, Outcome};
use muster_core::{AccountRef, TargetName};
use serde_json::json;
use std::time::{Duration, Instant};

fn create(code: &str) -> Operation {
    Operation::Create {
        attributes: student(code),
        enabled: true,
    }
}

#[tokio::test]
async fn error_texts_carry_message_details_and_event_id() {
    let h = harness(|_| {}, "").await;
    seed_student(&h, "118204");
    let err = exec(&h, create("118204")).await.unwrap_err();
    let ConnectorError::Conflict { detail, .. } = &err else {
        panic!("{err:?}")
    };
    let event = h.sim.state.last_event_id();
    assert!(event > 0);
    assert_eq!(
        detail,
        &format!("User 118204 already exists: code must be unique (eventId {event})")
    );

    // A 403 on the list: the same text inside the read's error.
    h.sim.state.update_switches(|s| s.list_users = false);
    let err = h.conn.read_all().await.unwrap_err().to_string();
    let event = h.sim.state.last_event_id();
    assert!(
        err.contains(&format!(
            "Forbidden: this token is not authorised to list users (eventId {event})"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn a_refused_token_stops_the_target_with_zermelos_text() {
    let h = harness(|_| {}, "").await;
    let cfg = zermelo_config(&h.sim.base_url, "wrong-token", h.dir.path(), "");
    let conn = ZermeloConnector::connect(TargetName::new("zermelo"), &cfg).unwrap();
    let err = conn.read_all().await.unwrap_err();
    assert!(err.stops_target(), "{err:?}");
    let ConnectorError::Unauthorized { status, detail, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 401);
    assert!(
        detail.starts_with("Unauthorized: send Authorization"),
        "{detail}"
    );
    assert!(detail.contains("(eventId "), "{detail}");
    assert!(!format!("{err} {err:?}").contains("wrong-token"));
}

async fn lookups(h: &Harness, n: usize) {
    for i in 0..n {
        let found = h.conn.lookup("code", "118204").await.unwrap();
        assert_eq!(found.len(), 1, "look-up {i}");
    }
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let h = harness(
        |s| {
            s.faults.rate_limit = true;
            s.faults.rate_budget = 3;
            s.faults.rate_window_s = 1;
        },
        "",
    )
    .await;
    seed_student(&h, "118204");
    let started = Instant::now();
    lookups(&h, 6).await;
    let counts = h.conn.request_counts();
    assert!(counts.throttled > 0, "{counts:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "Retry-After was honoured: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_and_succeeds() {
    let h = harness(
        |s| {
            s.faults.rate_limit = true;
            s.faults.rate_budget = 3;
            s.faults.rate_window_s = 1;
            s.faults.retry_after = false;
        },
        "backoff = { base_ms = 100, max_ms = 1000 }\nmax_attempts = 10",
    )
    .await;
    seed_student(&h, "118204");
    lookups(&h, 6).await;
    assert!(h.conn.request_counts().throttled > 0);
}

#[tokio::test]
async fn a_5xx_on_a_read_is_retried_a_bounded_number_of_times() {
    let h = harness(
        |s| {
            s.faults.error_5xx_ratio = 1.0;
            s.faults.retry_after = false;
        },
        "max_attempts = 3",
    )
    .await;
    seed_student(&h, "118204");
    let err = h.conn.lookup("code", "118204").await.unwrap_err();
    assert!(err.is_retryable() && err.is_target_fault(), "{err:?}");
    assert_eq!(count(&h, "GET /users/{code}"), 3);
}

#[tokio::test]
async fn a_5xx_after_a_put_is_applied_and_the_retry_succeeds() {
    let h = harness(|s| s.faults.retry_after = false, "max_attempts = 5").await;
    let account = seed_student(&h, "118204");
    h.sim
        .state
        .update_switches(|s| s.faults.error_5xx_after_apply_ratio = 0.5);
    let out = exec(
        &h,
        Operation::Update {
            account,
            changes: attrs(&[("email", json!("d.vdberg@leerling.example"))]),
        },
    )
    .await;
    // Answered 503 after applying, then sent again: harmless, the PUT is partial and the
    // same each time.
    assert_eq!(out.unwrap(), Outcome::Done);
    assert!(h.conn.request_counts().put >= 1);
    assert_eq!(
        h.sim.state.user("118204").unwrap()["email"],
        json!("d.vdberg@leerling.example")
    );
}

#[tokio::test]
async fn a_create_is_never_posted_twice_and_lookup_finds_what_landed() {
    let h = harness(|s| s.faults.error_5xx_after_apply_ratio = 1.0, "").await;
    let err = exec(&h, create("118204")).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Uncertain { .. }), "{err:?}");
    assert_eq!(
        count(&h, "POST /users"),
        1,
        "a POST is not repeated blindly"
    );
    // The engine re-correlates by code.
    h.sim
        .state
        .update_switches(|s| s.faults.error_5xx_after_apply_ratio = 0.0);
    let found = h.conn.lookup("code", "118204").await.unwrap();
    assert_eq!(found.len(), 1);

    // Dropped before it was applied: uncertain as well, and nothing landed.
    h.sim.state.update_switches(|s| s.faults.drop_ratio = 1.0);
    let err = exec(&h, create("118205")).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Uncertain { .. }), "{err:?}");
    assert_eq!(count(&h, "POST /users"), 2);
    h.sim.state.update_switches(|s| s.faults.drop_ratio = 0.0);
    assert!(h.conn.lookup("code", "118205").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_dropped_archive_is_retried_to_completion() {
    let h = harness(|_| {}, "max_attempts = 5").await;
    let account = seed_student(&h, "118204");
    h.sim
        .state
        .update_switches(|s| s.faults.drop_after_apply_ratio = 0.5);
    let out = exec(
        &h,
        Operation::Delete {
            account: AccountRef::new(account.as_str()),
            changes: Default::default(),
        },
    )
    .await;
    h.sim
        .state
        .update_switches(|s| s.faults.drop_after_apply_ratio = 0.0);
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(h.sim.state.user("118204").unwrap()["archived"], json!(true));
}
