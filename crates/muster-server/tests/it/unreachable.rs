//! A target that cannot be reached does not keep the server from starting: its runs fail
//! with the reason, and once it answers, runs work (issue 15).

use crate::support::TestServer;
use muster_sim::scim::ScimSim;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

/// Starts an apply, waiting (at most 30 s) while the previous run is still being closed.
async fn apply(server: &TestServer) {
    for _ in 0..300 {
        let (status, body) = server
            .post("/api/v1/runs", &server.admin, json!({"mode": "apply"}))
            .await;
        match status {
            StatusCode::ACCEPTED => return,
            StatusCode::CONFLICT => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("apply refused: {other} {body}"),
        }
    }
    panic!("the previous run did not free the server within 30 s");
}

#[tokio::test]
async fn an_unreachable_target_fails_its_runs_with_the_reason_until_it_answers() {
    // A port nothing listens on (yet): reserved, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = TestServer::start_targeting(
        "",
        |t| t,
        |sim| {
            sim.base_url
                .replace(&sim.addr.to_string(), &format!("127.0.0.1:{port}"))
        },
    )
    .await;

    let (status, body) = server.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    apply(&server).await;
    let first = server.wait_for_runs(1).await;
    assert_eq!(first["status"], "failures", "{first}");
    let targets = first["summary"]["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{first}");
    assert_eq!(targets[0]["target"], "scim", "{first}");
    let reason = targets[0]["stopped"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("cannot be reached: scim:") && reason.contains("Connection refused"),
        "the reason names the target and the failed connection: {first}"
    );
    assert!(server.sim.state.users().is_empty());

    // The target comes up on that port, over the seeded simulator's state.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let late = ScimSim::start_on(server.sim.state.clone(), listener)
        .await
        .unwrap();
    apply(&server).await;
    let second = server.wait_for_runs(2).await;
    assert_eq!(second["status"], "changes", "{second}");
    assert!(
        second["summary"]["targets"][0]["stopped"].is_null(),
        "{second}"
    );
    assert!(
        !server.sim.state.users().is_empty(),
        "the run created accounts"
    );

    // The late-connected target's traffic shows in the metrics.
    let (status, metrics) = server.get("/metrics", &server.viewer).await;
    assert_eq!(status, StatusCode::OK);
    let metrics = metrics.as_str().unwrap_or_default();
    assert!(
        metrics.contains("muster_http_requests_total{target=\"scim\"}"),
        "{metrics}"
    );
    server.stop().await;
    late.shutdown().await.unwrap();
}
