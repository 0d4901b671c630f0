//! Bad input answers a clear 4xx with a JSON error and changes nothing; failed
//! authentications are limited per client address.

use crate::support::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn malformed_unknown_wrongly_typed_and_oversized_bodies_are_refused() {
    let server = TestServer::start("max_body_bytes = 1024\n", |t| t).await;
    let raw = |body: &'static str| {
        server
            .client
            .post(format!("{}/api/v1/runs", server.base))
            .bearer_auth(&server.admin)
            .header("content-type", "application/json")
            .body(body)
    };
    let cases = [
        ("{\"mode\": ", StatusCode::BAD_REQUEST),
        (
            "{\"mode\": \"plan\", \"force\": true}",
            StatusCode::BAD_REQUEST,
        ),
        ("{\"mode\": 3}", StatusCode::BAD_REQUEST),
        ("{\"mode\": \"sometimes\"}", StatusCode::BAD_REQUEST),
        (
            "{\"mode\": \"plan\", \"targets\": [\"../etc\"]}",
            StatusCode::BAD_REQUEST,
        ),
        (
            "{\"mode\": \"plan\", \"targets\": [\"zivver\"]}",
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (body, expected) in cases {
        let response = raw(body).send().await.unwrap();
        assert_eq!(response.status(), expected, "{body}");
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!(json["error"], "bad_request", "{body}: {json}");
        assert!(!json["message"].as_str().unwrap().is_empty());
    }
    let big = format!(
        "{{\"mode\": \"plan\", \"targets\": [\"{}\"]}}",
        "a".repeat(4096)
    );
    let response = server
        .client
        .post(format!("{}/api/v1/runs", server.base))
        .bearer_auth(&server.admin)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (status, runs) = server.get("/api/v1/runs", &server.viewer).await;
    assert_eq!(
        (status, runs),
        (StatusCode::OK, json!([])),
        "nothing was started"
    );
    assert!(server.stop().await.0);
}

#[tokio::test]
async fn path_ids_and_query_parameters_are_checked() {
    let server = TestServer::start("", |t| t).await;
    for path in [
        "/api/v1/runs/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/runs/abc",
        "/api/v1/runs/zzzzzzzz/actions",
        "/api/v1/persons/..%2Fsecrets",
        "/api/v1/persons/a%0Ab",
        "/api/v1/targets/..%2Fx/plan",
        "/api/v1/runs?limit=0",
        "/api/v1/runs?limit=many",
        "/api/v1/runs?sort=desc",
        "/api/v1/audit?outcome=maybe",
        "/api/v1/audit?action=explode",
        "/api/v1/audit?since=yesterday",
    ] {
        let (status, body) = server.get(path, &server.viewer).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"], "bad_request", "{path}");
    }
    let (status, body) = server.get("/api/v1/nothing-here", &server.viewer).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _) = server
        .call(Method::PUT, "/api/v1/runs", Some(&server.admin), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(server.stop().await.0);
}

#[tokio::test]
async fn failed_authentications_are_limited_per_address() {
    let server = TestServer::start("auth_failures_per_minute = 3\n", |t| t).await;
    for _ in 0..3 {
        let (status, _) = server.get("/api/v1/runs", "mst_guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Past the limit even the right token waits: guessing does not pay.
    let response = server
        .client
        .get(format!("{}/api/v1/runs", server.base))
        .bearer_auth(&server.viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Health stays open.
    let (status, _) = server.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let text = {
        let (status, body) = server
            .call(Method::GET, "/metrics", Some(&server.viewer), None)
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        body
    };
    drop(text);
    assert!(server.stop().await.0);
}
