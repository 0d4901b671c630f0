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

    // The dashboard's report page shows both, part by part, with the persons without account.
    let viewer = server.session(muster_store::TokenRole::Viewer);
    let page = reqwest::Client::new()
        .get(format!("{}/reports", server.base))
        .header("cookie", viewer)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Newest import report"), "{page}");
    assert!(page.contains("Newest reconcile report"), "{page}");
    assert!(page.contains("persons without account"), "{page}");
    let without = imported.persons_without_account.len();
    assert!(
        without > 0,
        "the simulator starts empty: every person is without account"
    );
    let first = imported.persons_without_account[0].to_string();
    assert!(page.contains(&format!("<code>{first}</code>")), "{page}");

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
