//! The example configurations in `examples/` work as their comments say: an apply against the
//! target's simulator makes changes, and the plan after it is empty.

use muster_sim::helloid::{HelloIdSim, HelloIdSimConfig};
use muster_sim::zermelo::{ZermeloSim, ZermeloSimConfig};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

/// Runs `muster` on an example in place, with its store in `store` (never in the repository).
fn muster(example: &str, store: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_muster"));
    cmd.arg("--config")
        .arg(Path::new(EXAMPLES).join(example).join("muster.toml"))
        .args(args)
        .env("MUSTER__STORE__PATH", store.join("muster.db"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn explain(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_helloid_example_provisions_the_demo_organisation() {
    let sim = HelloIdSim::start(HelloIdSimConfig {
        groups: vec!["Medewerkers".into()],
        products: vec!["Laptop".into()],
        ..HelloIdSimConfig::default()
    })
    .await
    .unwrap();
    let store = tempfile::tempdir().unwrap();
    let api = sim.api_url();
    let env = [
        ("HELLOID_KEY", "helloid-key"),
        ("HELLOID_SECRET", "helloid-secret"),
        (
            "MUSTER__TARGETS__HELLOID__CONNECTION__BASE_URL",
            api.as_str(),
        ),
        // The example is polite to a real tenant (10 requests/s); the simulator needs no such care.
        (
            "MUSTER__TARGETS__HELLOID__CONNECTION__RATE_LIMIT__REQUESTS",
            "2000",
        ),
    ];
    let apply = muster(
        "helloid",
        store.path(),
        &env,
        &["apply", "--yes", "--today", "2026-03-02"],
    );
    assert_eq!(code(&apply), 2, "{}", explain(&apply));
    let users = sim.state.users();
    assert!(users.len() >= 280, "{} users", users.len());
    assert!(
        users.iter().any(|u| !u["managedByUserGUID"].is_null()),
        "managers set"
    );
    assert!(sim.state.groups().iter().any(|g| g["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("department_"))));
    let plan = muster(
        "helloid",
        store.path(),
        &env,
        &["plan", "--today", "2026-03-02"],
    );
    assert_eq!(code(&plan), 0, "{}", explain(&plan));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_zermelo_example_places_every_student_with_a_class() {
    let sim = ZermeloSim::start(ZermeloSimConfig::default())
        .await
        .unwrap();
    let store = tempfile::tempdir().unwrap();
    let env = [
        ("ZERMELO_TOKEN", "zermelo-token"),
        (
            "MUSTER__TARGETS__ZERMELO__CONNECTION__BASE_URL",
            sim.base_url.as_str(),
        ),
        (
            "MUSTER__TARGETS__ZERMELO__CONNECTION__RATE_LIMIT__REQUESTS",
            "2000",
        ),
    ];
    let apply = muster(
        "zermelo",
        store.path(),
        &env,
        &["apply", "--yes", "--today", "2025-09-01"],
    );
    assert_eq!(code(&apply), 2, "{}", explain(&apply));
    assert_eq!(sim.state.users().len(), 10);
    // Every student but the one without a class is placed, once.
    assert_eq!(sim.state.placements().len(), 9);
    let plan = muster(
        "zermelo",
        store.path(),
        &env,
        &["plan", "--today", "2025-09-01"],
    );
    assert_eq!(code(&plan), 0, "{}", explain(&plan));
}
