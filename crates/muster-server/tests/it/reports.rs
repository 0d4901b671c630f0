//! `GET /api/v1/reports/{kind}/{target}`: the newest import and reconcile report a command kept
//! in the store, read by the server.

use crate::support::TestServer;
use muster_engine::reconcile::ReconcileRequest;
use muster_engine::{Config, Engine};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn import_and_reconcile_reports_are_served_once_kept() {
    let server = TestServer::start("", |t| t).await;
    let (status, body) = server
        .get("/api/v1/reports/import/scim", &server.viewer)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("muster import"),
        "{body}"
    );

    // `muster import` and `muster reconcile` beside the server, on the same store.
    let env = [(
        "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL".to_owned(),
        server.sim.base_url.clone(),
    )];
    let config =
        Config::load_with_env(&server.dir.path().join("muster.toml"), env.into_iter()).unwrap();
    let engine = Engine::open(config).await.unwrap();
    let today = chrono::Local::now().date_naive();
    let imported = engine.import("scim", today, false).await.unwrap();
    let reconciled = engine
        .reconcile(&ReconcileRequest {
            target: "scim".into(),
            today,
            decide: None,
            by: "test".into(),
            apply: false,
        })
        .await
        .unwrap();

    let (status, body) = server
        .get("/api/v1/reports/import/scim", &server.viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["target"], "scim");
    assert_eq!(body["kind"], "import");
    assert_eq!(body["report"], serde_json::to_value(&imported).unwrap());
    let (status, body) = server
        .get("/api/v1/reports/reconcile/scim", &server.viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["report"]["run"], json!(reconciled.run));

    for (path, expected) in [
        ("/api/v1/reports/orphans/scim", StatusCode::BAD_REQUEST),
        ("/api/v1/reports/import/nope", StatusCode::NOT_FOUND),
        ("/api/v1/reports/import/a.b", StatusCode::BAD_REQUEST),
    ] {
        let (status, body) = server.get(path, &server.viewer).await;
        assert_eq!(status, expected, "{path}: {body}");
    }
    let (status, _) = server
        .call(
            reqwest::Method::GET,
            "/api/v1/reports/import/scim",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(server.stop().await.0);
}
