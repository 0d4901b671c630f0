//! `/metrics` after an apply: the names and labels an operator alerts on, and the whole text
//! (the classic format a client gets without asking for OpenMetrics) accepted by
//! `promtool check metrics` (Debian's `prometheus` package; `scripts/test.sh`
//! installs it; `PROMTOOL_BIN` names another; with `MUSTER_REQUIRE_PROMTOOL=1` a missing
//! promtool fails the test instead of skipping that check).

use crate::support::TestServer;
use reqwest::StatusCode;
use serde_json::json;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// The value of the sample `line_start` (name and labels exactly), if present.
fn sample(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.strip_prefix(' '))
        .and_then(|v| v.split(' ').next()?.parse().ok())
}

async fn promtool(text: &str) -> Option<(bool, String)> {
    let bin = std::env::var("PROMTOOL_BIN").unwrap_or_else(|_| "promtool".to_owned());
    let spawned = tokio::process::Command::new(&bin)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var("MUSTER_REQUIRE_PROMTOOL").as_deref() != Ok("1"),
                "MUSTER_REQUIRE_PROMTOOL=1 but `{bin}` cannot run: {e}"
            );
            eprintln!("\n\n!!!!! SKIPPED promtool: `{bin}` cannot run ({e}). Install Debian's `prometheus` package or run ./scripts/test.sh. !!!!!\n");
            return None;
        }
    };
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("promtool did not finish within 60 s")
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), said))
}

#[tokio::test]
async fn metrics_after_an_apply_name_runs_actions_requests_and_pass_promtool() {
    let server = TestServer::start("", |t| t).await;
    let (status, body) = server
        .post("/api/v1/runs", &server.admin, json!({"mode": "apply"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let run = server.wait_for_runs(1).await;
    assert_eq!(run["status"], "changes", "{run}");
    // The run is recorded a moment before the server counts it.
    let mut text = String::new();
    for _ in 0..100 {
        let (status, body) = server.get("/metrics", &server.viewer).await;
        assert_eq!(status, StatusCode::OK);
        text = body.as_str().unwrap().to_owned();
        if text.contains("muster_runs_total{mode=\"apply\",status=\"changes\"} 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        sample(
            &text,
            "muster_runs_total{mode=\"apply\",status=\"changes\"}"
        ),
        Some(1.0),
        "{text}"
    );
    let created = sample(
        &text,
        "muster_actions_total{target=\"scim\",kind=\"create\",outcome=\"done\"}",
    )
    .unwrap_or_else(|| panic!("no create count: {text}"));
    assert_eq!(created as usize, server.sim.state.users().len(), "{text}");
    let requests = sample(&text, "muster_http_requests_total{target=\"scim\"}")
        .unwrap_or_else(|| panic!("no request count: {text}"));
    assert!(requests >= created, "every create is a request: {text}");
    assert_eq!(
        sample(&text, "muster_http_throttled_total{target=\"scim\"}"),
        Some(0.0),
        "{text}"
    );
    let used = sample(&text, "muster_rate_budget_used_ratio{target=\"scim\"}")
        .unwrap_or_else(|| panic!("no rate budget: {text}"));
    assert!((0.0..=1.0).contains(&used), "{text}");
    assert_eq!(sample(&text, "muster_actions_pending"), Some(0.0), "{text}");
    assert_eq!(
        sample(&text, "muster_runs_in_progress"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "muster_run_duration_seconds_count{mode=\"apply\"}"),
        Some(1.0),
        "{text}"
    );
    // Prometheus asks for OpenMetrics, and gets it.
    let open = server
        .client
        .get(format!("{}/metrics", server.base))
        .bearer_auth(&server.viewer)
        .header(
            "accept",
            "application/openmetrics-text; version=1.0.0,text/plain;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert!(open.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let open = open.text().await.unwrap();
    assert!(open.ends_with("# EOF\n"), "{open}");
    assert!(open.contains("# TYPE muster_runs counter\n"), "{open}");
    assert!(!text.contains("# EOF"), "{text}");
    if let Some((ok, said)) = promtool(&text).await {
        assert!(ok, "promtool check metrics failed:\n{said}\n{text}");
    }
    assert!(server.stop().await.0);
}
