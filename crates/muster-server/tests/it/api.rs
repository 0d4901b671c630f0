//! The API over a real server: tokens and roles, runs, approval of blocked actions and the
//! apply that follows, one person, audit search, plans, metrics and health.

use crate::support::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;

pub const BLOCK_CREATES: fn(String) -> String = |text| {
    text.replacen(
        "thresholds = { delete = { percent = 10 } }",
        "thresholds = { delete = { percent = 10 }, create = { absolute = 5 } }",
        1,
    )
};

#[tokio::test]
async fn health_is_open_and_everything_else_needs_a_token() {
    let server = TestServer::start("", |t| t).await;
    let (status, body) = server.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body) = server.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["store"].as_bool(), body["schedules"].as_bool()),
        (Some(true), Some(true))
    );

    for path in [
        "/api/v1/runs",
        "/api/v1/openapi.json",
        "/metrics",
        "/api/v1/audit",
    ] {
        let (status, body) = server.call(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert_eq!(body["error"], "unauthorized", "{path}");
        let (status, _) = server
            .call(Method::GET, path, Some("mst_not-a-token"), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let response = server
        .client
        .get(format!("{}/api/v1/runs", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");

    let (status, doc) = server.get("/api/v1/openapi.json", &server.viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/api/v1/runs",
        "/api/v1/runs/{id}/approve",
        "/api/v1/persons/{external_id}",
        "/api/v1/audit",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(server.stop().await.0);
}

#[tokio::test]
async fn roles_decide_who_may_trigger_approve_and_manage_tokens() {
    let server = TestServer::start("", |t| t).await;
    for token in [&server.viewer, &server.approver] {
        let (status, body) = server
            .post("/api/v1/runs", token, json!({"mode": "plan"}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, _) = server
            .post(
                "/api/v1/tokens",
                token,
                json!({"name": "x", "role": "admin"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = server
        .post(
            "/api/v1/runs/0f1e2d3c/approve",
            &server.viewer,
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An admin makes a token, which works until it is revoked.
    let (status, made) = server
        .post(
            "/api/v1/tokens",
            &server.admin,
            json!({"name": "dashboard", "role": "viewer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let token = made["token"].as_str().unwrap().to_owned();
    let (status, _) = server.get("/api/v1/runs", &token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, list) = server.get("/api/v1/tokens", &server.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t.get("token").is_none() && t.get("hash").is_none()));
    let id = made["id"].as_str().unwrap();
    let (status, revoked) = server
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&server.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(!revoked["revoked_at"].is_null());
    let (status, body) = server.get("/api/v1/runs", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["message"].as_str().unwrap().contains("revoked"),
        "{body}"
    );
    assert!(server.stop().await.0);
}

#[tokio::test]
async fn a_blocked_apply_is_approved_through_the_api_and_the_next_apply_carries_it_out() {
    let server = TestServer::start("", BLOCK_CREATES).await;
    let (status, started) = server
        .post("/api/v1/runs", &server.admin, json!({"mode": "apply"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    assert_eq!(
        started["started_by"].as_str().unwrap().split(' ').nth(1),
        Some("admin-token")
    );
    let first = server.wait_for_runs(1).await;
    // The run is recorded as ended a moment before the server is done with it (its plan).
    server
        .wait_for_plan("scim", first["id"].as_str().unwrap())
        .await;
    assert_eq!(first["status"], "blocked", "{first}");
    assert!(
        server.sim.state.users().is_empty(),
        "nothing was created while blocked"
    );

    let (status, waiting) = server.get("/api/v1/blocked", &server.viewer).await;
    assert_eq!(status, StatusCode::OK);
    let waiting = waiting.as_array().unwrap().clone();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(
        (waiting[0]["kind"].as_str(), waiting[0]["target"].as_str()),
        (Some("create"), Some("scim"))
    );
    assert!(waiting[0]["decision"].is_null());

    let run = first["id"].as_str().unwrap();
    let (status, body) = server
        .post(
            &format!("/api/v1/runs/{run}/approve"),
            &server.approver,
            json!({"kind": "create", "reason": ""}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a decision needs a reason: {body}"
    );
    let (status, decided) = server
        .post(
            &format!("/api/v1/runs/{run}/approve"),
            &server.approver,
            json!({"kind": "create", "reason": "new school year"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided[0]["decision"], "approved");
    assert_eq!(decided[0]["reason"], "new school year");
    assert!(decided[0]["decided_by"]
        .as_str()
        .unwrap()
        .contains("approver-token"));
    let (_, waiting) = server.get("/api/v1/blocked", &server.viewer).await;
    assert_eq!(waiting, json!([]));
    let (status, body) = server
        .post(
            &format!("/api/v1/runs/{run}/reject"),
            &server.approver,
            json!({"reason": "changed my mind"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an approval is not rejected afterwards: {body}"
    );

    let (status, _) = server
        .post(
            "/api/v1/runs",
            &server.admin,
            json!({"mode": "apply", "targets": ["scim"]}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let second = server.wait_for_runs(2).await;
    assert_ne!(second["id"], first["id"]);
    assert_eq!(second["status"], "changes", "{second}");
    assert!(!server.sim.state.users().is_empty());

    let (status, actions) = server
        .get(
            &format!(
                "/api/v1/runs/{}/actions?kind=create&state=done",
                second["id"].as_str().unwrap()
            ),
            &server.viewer,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let actions = actions.as_array().unwrap().clone();
    assert!(!actions.is_empty());
    assert!(
        actions
            .iter()
            .all(|a| a["kind"] == "create" && a["state"] == "done" && a["reason"].is_string()),
        "{actions:?}"
    );

    // One person across targets, with their audit trail.
    let person = actions[0]["person"].as_str().unwrap();
    let (status, view) = server
        .get(&format!("/api/v1/persons/{person}"), &server.viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["accounts"][0]["target"], "scim");
    assert_eq!(view["record"]["ExternalId"], person);
    assert!(view["audit"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "create" && e["outcome"] == "done"));
    let (status, _) = server
        .get("/api/v1/persons/nobody-at-all", &server.viewer)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Audit search by action and outcome, and the newest plan of the target.
    let (_, creates) = server
        .get(
            &format!("/api/v1/audit?action=create&outcome=done&person={person}"),
            &server.viewer,
        )
        .await;
    assert_eq!(creates.as_array().unwrap().len(), 1, "{creates}");
    let (_, none) = server
        .get("/api/v1/audit?action=create&outcome=failed", &server.viewer)
        .await;
    assert_eq!(none, json!([]));
    let plan = server
        .wait_for_plan("scim", second["id"].as_str().unwrap())
        .await;
    assert!(plan["plan"]["actions"].is_array());
    let (status, _) = server
        .get("/api/v1/targets/nope/plan", &server.viewer)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // What the runs did shows in the metrics.
    let response = server
        .client
        .get(format!("{}/metrics", server.base))
        .bearer_auth(&server.viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("muster_runs_total{mode=\"apply\",status=\"blocked\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("muster_runs_total{mode=\"apply\",status=\"changes\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("muster_actions_total{target=\"scim\",kind=\"create\",outcome=\"done\"}"),
        "{text}"
    );
    assert!(
        text.contains("muster_run_duration_seconds_count{mode=\"apply\"} 2"),
        "{text}"
    );
    assert!(server.stop().await.0);
}

#[tokio::test]
async fn a_rejection_is_recorded_and_cannot_be_approved_afterwards() {
    let server = TestServer::start("", BLOCK_CREATES).await;
    server
        .post("/api/v1/runs", &server.admin, json!({"mode": "plan"}))
        .await;
    let run = server.wait_for_runs(1).await;
    let id = run["id"].as_str().unwrap();
    let (status, rejected) = server
        .post(
            &format!("/api/v1/runs/{id}/reject"),
            &server.approver,
            json!({"reason": "wrong HR file"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    assert_eq!(rejected[0]["decision"], "rejected");
    let (status, _) = server
        .post(
            &format!("/api/v1/runs/{id}/approve"),
            &server.approver,
            json!({"reason": "ok after all"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, all) = server
        .get(&format!("/api/v1/runs/{id}/blocked"), &server.viewer)
        .await;
    assert_eq!(all[0]["decision"]["reason"], "wrong HR file");
    let (_, waiting) = server.get("/api/v1/blocked", &server.viewer).await;
    assert_eq!(waiting, json!([]));
    let (status, _) = server
        .post(
            "/api/v1/runs/ffffff/approve",
            &server.approver,
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(server.stop().await.0);
}

#[tokio::test]
async fn a_second_run_is_refused_while_one_goes_on() {
    let server = TestServer::start("", |t| t).await;
    // Every simulator answer takes a second, so the first run is surely still going.
    server
        .sim
        .state
        .update_switches(|s| s.faults.latency_ms = 1000);
    let (status, _) = server
        .post("/api/v1/runs", &server.admin, json!({"mode": "plan"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, body) = server
        .post("/api/v1/runs", &server.admin, json!({"mode": "apply"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("one run at a time"),
        "{body}"
    );
    server
        .sim
        .state
        .update_switches(|s| s.faults.latency_ms = 0);
    // Shutdown waits for the running run: it ends, recorded.
    let (ended, dir) = server.stop().await;
    assert!(ended, "the run ended within the grace period");
    let store = muster_store::open_sqlite(&dir.path().join("muster.db"))
        .await
        .unwrap();
    let runs = muster_store::Store::runs(&store, 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert!(
        runs[0].finished_at.is_some(),
        "the run was finished before the server stopped"
    );
}
