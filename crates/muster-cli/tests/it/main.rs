//! The `muster` binary as a script sees it: exit codes, JSON output, files, and what reaches
//! stderr.

// Test harness code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cloudsync_demo;
mod crash;
mod examples;
mod files;
mod logs;
mod mapping;
mod nodes;
mod reconcile;

use muster_sim::scim::{RunningScimSim, ScimSim, ScimSimConfig};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const TOKEN: &str = "cli-t0ken-never-logged";
const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo");

struct Setup {
    dir: tempfile::TempDir,
    sim: RunningScimSim,
}

impl Setup {
    async fn new(edit: impl FnOnce(String) -> String) -> Self {
        let sim = ScimSim::start(ScimSimConfig {
            token: TOKEN.into(),
            ..ScimSimConfig::default()
        })
        .await
        .unwrap();
        for g in [
            "All staff",
            "Dept Finance",
            "Dept HR",
            "Dept ICT",
            "Dept Sales",
            "Dept Marketing",
            "Dept Support",
            "Dept Legal",
            "Dept Facilities",
        ] {
            sim.state.seed_group(serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": g})).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let text =
            scim_only(&std::fs::read_to_string(Path::new(DEMO).join("muster.toml")).unwrap());
        std::fs::write(dir.path().join("muster.toml"), edit(text)).unwrap();
        let s = Self { dir, sim };
        s.day(1);
        s
    }

    fn day(&self, n: u32) {
        for f in ["persons.csv", "contracts.csv"] {
            std::fs::copy(
                Path::new(DEMO).join(format!("day{n}")).join(f),
                self.dir.path().join(f),
            )
            .unwrap();
        }
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    /// Runs `muster` with stdin closed (as cron or CI would).
    fn muster(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_muster"))
            .arg("--config")
            .arg(self.path("muster.toml"))
            .args(args)
            .env("SCIM_TOKEN", TOKEN)
            .env(
                "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL",
                &self.sim.base_url,
            )
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const DAY1: &str = "--today=2026-03-02";
const DAY2: &str = "--today=2026-03-03";

#[tokio::test(flavor = "multi_thread")]
async fn exit_codes_tell_scripts_what_happened() {
    let s = Setup::new(|t| t).await;
    let plan = s.muster(&["plan", DAY1]);
    assert_eq!(code(&plan), 2, "{}", text(&plan));
    assert!(s.sim.state.users().is_empty());

    let refused = s.muster(&["apply", DAY1]);
    assert_eq!(code(&refused), 1, "{}", text(&refused));
    assert!(text(&refused).contains("--yes"));
    assert!(s.sim.state.users().is_empty());

    let apply = s.muster(&["apply", "--yes", DAY1]);
    assert_eq!(code(&apply), 2, "{}", text(&apply));
    assert_eq!(s.sim.state.users().len(), 300);

    let again = s.muster(&["plan", DAY1]);
    assert_eq!(code(&again), 0, "{}", text(&again));
    assert!(text(&again).contains("No changes."));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_applied_or_refused() {
    let s = Setup::new(|t| t).await;
    let out = s.path("plan.json");
    assert_eq!(
        code(&s.muster(&["plan", DAY1, "--out", out.to_str().unwrap()])),
        2
    );
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        plan["targets"][0]["actions"].as_array().unwrap().len(),
        300 + 612
    );

    s.day(2);
    let stale = s.muster(&["apply", DAY1, "--yes", "--plan", out.to_str().unwrap()]);
    assert_eq!(code(&stale), 1);
    assert!(text(&stale).contains("out of date"), "{}", text(&stale));
    assert!(s.sim.state.users().is_empty());

    s.day(1);
    let ok = s.muster(&["apply", DAY1, "--yes", "--plan", out.to_str().unwrap()]);
    assert_eq!(code(&ok), 2, "{}", text(&ok));
}

/// Issue 14: a plan of 912 actions prints its first rows, the summary and how to see all;
/// `--full` prints every row; `--json` is unchanged (every action).
#[tokio::test(flavor = "multi_thread")]
async fn a_large_plan_shows_a_summary_and_full_shows_every_row() {
    let s = Setup::new(|t| t).await;
    let rows = |o: &Output| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.starts_with("scim "))
            .count()
    };
    let plan = s.muster(&["plan", DAY1]);
    assert_eq!(code(&plan), 2, "{}", text(&plan));
    let shown = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert!(
        shown.contains("… and 862 more of 912 actions") && shown.contains("muster plan --full"),
        "{shown}"
    );
    // The first 50 rows, then the summary's rows per target and action.
    let summary = shown
        .lines()
        .filter(|l| l.starts_with("scim ") && l.split_whitespace().count() == 7)
        .count();
    assert!(summary >= 2, "{shown}");
    assert_eq!(rows(&plan) - summary, 50, "{shown}");

    let full = s.muster(&["plan", DAY1, "--full"]);
    assert_eq!(code(&full), 2, "{}", text(&full));
    assert_eq!(rows(&full) - summary, 912);
    assert!(!String::from_utf8_lossy(&full.stdout).contains("more of"));

    let json = s.muster(&["plan", DAY1, "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        report["plan"]["targets"][0]["actions"]
            .as_array()
            .unwrap()
            .len(),
        912
    );
}

fn all_or_nothing(t: String) -> String {
    t.replace(
        "thresholds = { delete = { percent = 10 } }",
        "thresholds = { delete = { percent = 10 } }\nall_or_nothing = { percent = 50 }",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_all_or_nothing_block_says_why_and_an_approval_releases_it() {
    let s = Setup::new(all_or_nothing).await;
    let plan = s.muster(&["plan", DAY1]);
    assert_eq!(code(&plan), 3, "{}", text(&plan));
    assert!(
        text(&plan).contains(
            "scim: BLOCKED by the all-or-nothing (912 action(s)): 300 of 300 accounts would change, more than 50%"
        ) && text(&plan).contains("muster apply --allow-large"),
        "{}",
        text(&plan)
    );
    let blocked = s.muster(&["apply", "--yes", DAY1, "--json"]);
    assert_eq!(code(&blocked), 3, "{}", text(&blocked));
    assert!(s.sim.state.users().is_empty());
    let report: serde_json::Value = serde_json::from_slice(&blocked.stdout).unwrap();
    let block = &report["summary"]["targets"][0]["blocks"][0];
    assert_eq!(block["limit"], "all_or_nothing", "{report}");
    assert_eq!(
        block["reason"],
        "300 of 300 accounts would change, more than 50%"
    );
    let run = report["run"].as_str().unwrap().to_owned();

    let approved = s.muster(&["approve", &run[..8], DAY1]);
    assert_eq!(code(&approved), 2, "{}", text(&approved));
    assert!(
        text(&approved).contains("approved: scim create × 300"),
        "{}",
        text(&approved)
    );
    assert_eq!(s.sim.state.users().len(), 300);
    // Everything was applied: nothing is left to change or to block.
    let again = s.muster(&["plan", DAY1]);
    assert_eq!(code(&again), 0, "{}", text(&again));
}

#[tokio::test(flavor = "multi_thread")]
async fn allow_large_releases_a_first_load_for_one_run_and_the_audit_says_so() {
    let s = Setup::new(all_or_nothing).await;
    let apply = s.muster(&["apply", "--yes", "--allow-large", DAY1, "--json"]);
    assert_eq!(code(&apply), 2, "{}", text(&apply));
    assert_eq!(s.sim.state.users().len(), 300);
    let report: serde_json::Value = serde_json::from_slice(&apply.stdout).unwrap();
    assert_eq!(
        report["summary"]["targets"][0]["blocks"][0]["released"], "allow_large",
        "{report}"
    );
    let run = report["run"].as_str().unwrap();
    let audit = s.muster(&["audit", "--json", "--run", run, "--person", "10001"]);
    let events: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    let create = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "create")
        .expect("the create in the audit");
    assert!(
        create["detail"]
            .as_str()
            .unwrap()
            .contains("all-or-nothing released for this run by `--allow-large`: 300 of 300"),
        "{create}"
    );
    // Only that run: a large change later is blocked again.
    s.sim.state.reset();
    let next = s.muster(&["apply", "--yes", DAY1]);
    assert_eq!(code(&next), 3, "{}", text(&next));
    assert!(s.sim.state.users().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn approving_a_run_that_was_not_blocked_says_so_once() {
    let s = Setup::new(|t| t).await;
    let plan = s.muster(&["plan", DAY1, "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let run = report["run"].as_str().unwrap();
    let approve = s.muster(&["approve", run, "--no-apply"]);
    assert_eq!(code(&approve), 1);
    let err = text(&approve);
    assert_eq!(
        err.matches("no blocked actions to approve").count(),
        1,
        "{err}"
    );
    assert!(
        err.contains("no threshold or all-or-nothing limit blocked it"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn blocked_then_approved_and_failures() {
    let s = Setup::new(|t| {
        t.replace(
            "thresholds = { delete = { percent = 10 } }",
            "thresholds = { delete = { absolute = 3 } }",
        )
    })
    .await;
    assert_eq!(code(&s.muster(&["apply", "--yes", DAY1])), 2);
    s.day(2);
    let blocked = s.muster(&["apply", "--yes", DAY2, "--json"]);
    assert_eq!(code(&blocked), 3, "{}", text(&blocked));
    let report: serde_json::Value = serde_json::from_slice(&blocked.stdout).unwrap();
    assert_eq!(report["status"], "blocked");
    let run = report["run"].as_str().unwrap().to_owned();

    let runs = s.muster(&["runs", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == run.as_str() && r["status"] == "blocked"));

    let approved = s.muster(&["approve", &run[..8], "--action", "disable", DAY2]);
    assert_eq!(code(&approved), 2, "{}", text(&approved));
    assert!(
        text(&approved).contains("approved: scim delete × 3"),
        "{}",
        text(&approved)
    );
    assert_eq!(
        s.sim
            .state
            .users()
            .iter()
            .filter(|u| u["active"] == false)
            .count(),
        5
    );

    // A grant into a group the target does not have fails: exit 4, with the reason.
    s.sim.state.reset();
    let failing = s.muster(&["apply", "--yes", DAY2]);
    assert_eq!(code(&failing), 4, "{}", text(&failing));
    let audit = s.muster(&["audit", "--json", "--person", "10001"]);
    let events: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    let failed = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["outcome"] == "failed")
        .expect("a failed grant in the audit");
    assert!(
        failed["detail"]
            .as_str()
            .unwrap()
            .contains("no group named"),
        "{failed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_configuration_names_file_line_and_key() {
    let s = Setup::new(|t| {
        t.replace(
            "path = \"Name.GivenName\"",
            "path = \"Name.Givenname.Extra\"",
        )
    })
    .await;
    let v = s.muster(&["validate"]);
    assert_eq!(code(&v), 1);
    let msg = text(&v);
    assert!(
        msg.contains("muster.toml:")
            && msg.contains("mapping[2].path")
            && msg.contains("unknown person field"),
        "{msg}"
    );
    assert_eq!(
        s.sim.state.total_requests(),
        0,
        "validate never touches a target"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_never_reach_logs_at_any_level() {
    let s = Setup::new(|t| t).await;
    for level in ["-v", "-vv", "-vvv"] {
        let o = s.muster(&["apply", "--yes", DAY1, level]);
        assert!(matches!(code(&o), 0 | 2), "{}", text(&o));
        assert!(!text(&o).contains(TOKEN), "token in output at {level}");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args([
            "--config",
            s.path("muster.toml").to_str().unwrap(),
            "plan",
            DAY1,
        ])
        .env("SCIM_TOKEN", TOKEN)
        .env(
            "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL",
            &s.sim.base_url,
        )
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(!text(&o).is_empty());
    assert!(!text(&o).contains(TOKEN), "token in RUST_LOG=trace output");
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_never_reach_plan_files_reports_audit_or_the_store() {
    let s = Setup::new(|t| t).await;
    let plan = s.path("plan.json");
    let mut seen = String::new();
    for args in [
        vec!["plan", DAY1, "--json", "--out", plan.to_str().unwrap()],
        vec!["apply", "--yes", DAY1, "--json"],
        vec!["apply", "--yes", DAY1],
        vec!["audit", "--json"],
        vec!["audit", "--person", "10001"],
        vec!["runs", "--json"],
        vec!["import", "--target", "scim", "--json"],
    ] {
        let o = s.muster(&args);
        assert!(matches!(code(&o), 0 | 2), "{args:?}: {}", text(&o));
        seen.push_str(&text(&o));
    }
    seen.push_str(&std::fs::read_to_string(&plan).unwrap());
    assert!(seen.contains("10001"), "the outputs were read");
    assert!(!seen.contains(TOKEN), "the token reached an output");
    // Nor the state store, WAL included.
    for entry in std::fs::read_dir(s.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("muster.db") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                "the token is in {}",
                path.display()
            );
        }
    }
}

/// The demo configuration without its Zivver part (everything from the `# --- zivver` marker
/// on: the Zivver target and the rules that name it), for tests of the SCIM target alone.
fn scim_only(config: &str) -> String {
    match config.find("# --- zivver") {
        Some(at) => config[..at].to_owned(),
        None => config.to_owned(),
    }
}

/// The README's main command, end to end: the three simulators, preview, apply, a day of HR
/// changes, an empty plan after it. The demo itself fails when a step ends otherwise.
#[test]
fn the_demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["demo", "--dir"])
        .arg(dir.path().join("demo"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = text(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("== 4. Plan again: nothing left to do ==\nNo changes."),
        "{out}"
    );
    for line in [
        "scim     create  300      300",
        "zivver   create  300      300",
        "zivver   update   9        9",
        "helloid  create  300      300",
        "HelloID: 292 users with their manager set, 8 department groups created",
    ] {
        assert!(out.contains(line), "missing `{line}` in:\n{out}");
    }
    assert!(
        out.contains("zivver:SsoAccountKey: *** → ***"),
        "the changed SSO key is planned, redacted"
    );
    assert!(
        !out.contains("10085@new.example.org"),
        "secret values never reach the output"
    );
    assert!(dir.path().join("demo/muster.db").exists());
}
