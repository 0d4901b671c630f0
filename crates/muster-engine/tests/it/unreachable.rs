//! A target that cannot be reached: `Engine::open` (the CLI) stops, `Engine::open_tolerant`
//! (the server) records it and connects it again at each run until it answers.

use crate::fixture::{day, Fixture};
use muster_core::report::RunStatus;
use muster_engine::{Config, Engine, EngineError};
use muster_sim::scim::ScimSim;

#[tokio::test]
async fn an_unreachable_target_stops_open_or_is_connected_again_by_the_next_run() {
    let f = Fixture::demo(|t| t).await;
    // A port nothing listens on (yet): reserved, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = f
        .sim
        .base_url
        .replace(&f.sim.addr.to_string(), &format!("127.0.0.1:{port}"));
    let config = || {
        let env = [(
            "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL".to_owned(),
            url.clone(),
        )];
        Config::load_with_env(&f.config_path, env.into_iter()).unwrap()
    };

    match Engine::open(config()).await {
        Err(EngineError::Target { target, .. }) => assert_eq!(target, "scim"),
        Err(e) => panic!("not a target error: {e}"),
        Ok(_) => panic!("an unreachable target opened"),
    }

    let engine = Engine::open_tolerant(config()).await.unwrap();
    let scim = engine.config.targets[0].name.clone();
    assert!(engine.unreachable().contains_key(&scim));
    assert!(engine.connector(&scim).is_none());
    assert!(engine.http_meters().is_empty());
    let report = engine.preview(day(1)).await.unwrap();
    assert_eq!(report.summary.status(), RunStatus::Failures);
    let stopped = report.summary.targets[0]
        .stopped
        .clone()
        .unwrap_or_default();
    assert!(
        stopped.starts_with("cannot be reached: scim:") && stopped.contains("Connection refused"),
        "{stopped}"
    );
    assert!(report.plan.targets.is_empty(), "nothing planned for it");

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let late = ScimSim::start_on(f.sim.state.clone(), listener)
        .await
        .unwrap();
    let report = engine.preview(day(1)).await.unwrap();
    assert_eq!(report.summary.status(), RunStatus::Changes);
    assert_eq!(report.summary.targets[0].stopped, None);
    assert!(engine.unreachable().is_empty());
    assert!(engine.connector(&scim).is_some());
    assert!(engine.http_meters().contains_key(&scim));
    late.shutdown().await.unwrap();
}
