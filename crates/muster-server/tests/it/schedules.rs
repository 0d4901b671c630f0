//! Schedules fire on their cron expression, run the pipeline, and show in the API and metrics.

use crate::support::TestServer;
use reqwest::StatusCode;

#[tokio::test]
async fn a_schedule_runs_a_preview_on_its_expression() {
    // Six fields: every second.
    let extra = "\n[[schedules]]\nname = \"often\"\ncron = \"* * * * * *\"\ntimezone = \"Europe/Amsterdam\"\nmode = \"plan\"\n";
    let server = TestServer::start(extra, |t| t).await;
    let (status, list) = server.get("/api/v1/schedules", &server.viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[0]["name"], "often");
    assert_eq!(list[0]["timezone"], "Europe/Amsterdam");
    assert!(list[0]["next"].is_string());
    let run = server.wait_for_runs(1).await;
    assert_eq!(run["mode"], "preview", "{run}");
    let plan = server
        .wait_for_plan("scim", run["id"].as_str().unwrap())
        .await;
    assert!(!plan["plan"]["actions"].as_array().unwrap().is_empty());
    let (_, metrics) = server.get("/metrics", &server.viewer).await;
    let text = metrics.as_str().unwrap();
    assert!(
        text.contains("muster_schedule_firings_total{schedule=\"often\",result=\"started\"}"),
        "{text}"
    );
    assert!(server.stop().await.0, "shutdown waits for a scheduled run");
}
