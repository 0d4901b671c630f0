//! The scenarios of the engine-core issue, against the SCIM simulator.

use crate::fixture::{actions, day, Fixture};
use muster_core::plan::ActionKind;
use muster_core::report::{ActionOutcome, RunStatus};
use muster_engine::EngineError;
use muster_store::AuditQuery;

fn pairs(list: &[(&str, &[&str])]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .flat_map(|(person, kinds)| {
            kinds
                .iter()
                .map(move |k| (k.to_string(), person.to_string()))
        })
        .collect();
    v.sort();
    v
}

fn writes(f: &Fixture) -> u64 {
    ["POST", "PUT", "PATCH", "DELETE"]
        .iter()
        .map(|m| f.sim.state.request_count(m, "/"))
        .sum()
}

#[tokio::test]
async fn initial_load_and_a_day_of_hr_changes_converge() {
    let f = Fixture::demo(|t| t).await;
    let engine = f.engine().await;

    let preview = engine.preview(day(1)).await.unwrap();
    let contracts = f.read("contracts.csv").lines().count() - 1;
    let t = &preview.plan.targets[0];
    assert_eq!(t.count(ActionKind::Create), 300);
    assert_eq!(
        t.count(ActionKind::Grant),
        300 + contracts,
        "All staff + one department group per contract"
    );
    assert_eq!(t.actions.len(), 300 + 300 + contracts);
    assert_eq!(f.sim.state.users().len(), 0, "a preview changes nothing");

    let applied = engine.apply(day(1), None).await.unwrap();
    assert_eq!(applied.summary.status(), RunStatus::Changes);
    let totals = applied.summary.targets[0].totals();
    assert_eq!(
        (totals.done, totals.failed, totals.blocked, totals.skipped),
        (t.actions.len(), 0, 0, 0)
    );
    assert_eq!(f.sim.state.users().len(), 300);
    assert_eq!(f.members("All staff").len(), 300);
    assert!(
        engine.preview(day(1)).await.unwrap().plan.is_empty(),
        "right after apply the plan is empty"
    );

    f.hr_day(2);
    let preview = engine.preview(day(2)).await.unwrap();
    let moves: &[&str] = &["update", "grant", "revoke"];
    let leaver: &[&str] = &["disable", "revoke", "revoke"];
    let hire: &[&str] = &["create", "grant", "grant"];
    let expected = pairs(&[
        ("10022", moves),
        ("10023", moves),
        ("10024", moves),
        ("10025", moves),
        ("10026", moves),
        ("10043", leaver),
        ("10044", leaver),
        ("10045", leaver),
        ("10901", hire),
        ("10902", hire),
        ("10064", &["update"]),
    ]);
    assert_eq!(actions(&preview.plan), expected);
    let rename = preview.plan.targets[0]
        .actions
        .iter()
        .find(|a| a.person.as_str() == "10064")
        .unwrap();
    assert!(rename
        .changes
        .iter()
        .any(|c| c.field == "name.familyName" && c.after == Some("Van Houten".into())));

    let applied = engine.apply(day(2), None).await.unwrap();
    assert_eq!(applied.summary.targets[0].totals().done, expected.len());
    assert!(engine.preview(day(2)).await.unwrap().plan.is_empty());

    assert_eq!(
        f.user("m.kramer@example.org")["active"],
        false,
        "a future hire is prepared disabled"
    );
    let leaver = f.user(&user_name_of(&f, "10043"));
    assert_eq!(leaver["active"], false);
    assert!(!f
        .members("All staff")
        .contains(&leaver["id"].as_str().unwrap().to_owned()));
    let renamed = f.user(&user_name_of(&f, "10064"));
    assert_eq!(renamed["name"]["familyName"], "Van Houten");
}

fn user_name_of(f: &Fixture, person: &str) -> String {
    f.read("persons.csv")
        .lines()
        .find(|l| l.starts_with(&format!("{person};")))
        .and_then(|l| l.split(';').nth(5))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_source_that_shrinks_by_40_percent_blocks_the_run() {
    let f = Fixture::demo(|t| t).await;
    let engine = f.engine().await;
    engine.apply(day(1), None).await.unwrap();
    let before = writes(&f);

    let persons = f.read("persons.csv");
    let kept: Vec<&str> = persons.lines().take(1 + 180).collect();
    f.write("persons.csv", &(kept.join("\n") + "\n"));
    let report = engine.apply(day(1), None).await.unwrap();
    assert_eq!(report.summary.status(), RunStatus::Blocked);
    assert!(
        report
            .summary
            .blocked
            .as_deref()
            .unwrap()
            .contains("120 of 300"),
        "{:?}",
        report.summary.blocked
    );
    assert_eq!(writes(&f), before, "nothing changes in the target");
    assert!(f.sim.state.users().iter().all(|u| u["active"] == true));
    let run = engine.store.run(&report.run).await.unwrap().unwrap();
    assert_eq!(run.status, Some(muster_store::RunStatus::Blocked));
}

#[tokio::test]
async fn disables_over_the_threshold_wait_for_approval_while_the_rest_proceeds() {
    let f = Fixture::demo(|t| t).await;
    let engine = f.engine().await;
    engine.apply(day(1), None).await.unwrap();

    // Day 2 plus more leavers: over 30 disables of ~300 accounts reach the 10 % threshold.
    f.hr_day(2);
    let contracts: Vec<String> = f
        .read("contracts.csv")
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if (100..137).contains(&i) {
                l.replacen(";;", ";2026-03-02;", 1)
            } else {
                l.to_owned()
            }
        })
        .collect();
    f.write("contracts.csv", &(contracts.join("\n") + "\n"));

    let report = engine.apply(day(2), None).await.unwrap();
    assert_eq!(report.summary.status(), RunStatus::Blocked);
    let t = &report.summary.targets[0];
    let disable = t.by_action[&ActionKind::Disable];
    assert!(
        disable.planned >= 30 && disable.blocked == disable.planned && disable.done == 0,
        "{disable:?}"
    );
    assert_eq!(
        t.by_action[&ActionKind::Create].done,
        2,
        "other actions proceed"
    );
    assert_eq!(t.by_action[&ActionKind::Update].done, 6);
    assert!(f.sim.state.users().iter().all(|u| u["active"] == true
        || u["userName"].as_str().unwrap().starts_with("m.kramer")
        || u["userName"].as_str().unwrap().starts_with("j.willems")));

    let approvals = engine
        .approve(&report.run[..8], Some(ActionKind::Disable), "tester")
        .await
        .unwrap();
    assert_eq!(approvals.len(), 1);
    let after = engine.apply(day(2), None).await.unwrap();
    assert_eq!(after.summary.status(), RunStatus::Changes);
    assert_eq!(
        after.summary.targets[0].by_action[&ActionKind::Disable].done,
        disable.planned
    );
    let disabled = f
        .sim
        .state
        .users()
        .iter()
        .filter(|u| u["active"] == false)
        .count();
    assert_eq!(
        disabled,
        disable.planned + 2,
        "the leavers plus the two prepared hires"
    );
    assert!(engine.preview(day(2)).await.unwrap().plan.is_empty());
}

#[tokio::test]
async fn two_accounts_matching_one_person_are_disputed_and_nothing_is_created() {
    let f = Fixture::demo(|t| {
        t.replace(
            "correlation = { person = \"Contact.Business.Email\", account = \"userName\" }",
            "correlation = { person = \"ExternalId\", account = \"externalId\" }",
        )
    })
    .await;
    for name in ["emma.old@example.org", "emma.older@example.org"] {
        f.sim.state.seed_user(serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "externalId": "10001", "active": true})).unwrap();
    }
    let engine = f.engine().await;
    let report = engine.apply(day(1), None).await.unwrap();
    let t = &report.plan.targets[0];
    assert_eq!(t.disputed.len(), 1);
    assert_eq!(t.disputed[0].person.as_str(), "10001");
    assert!(!t.actions.iter().any(|a| a.person.as_str() == "10001"));
    assert_eq!(report.summary.targets[0].disputed, 1);
    assert!(
        f.sim.state.user_by_name("e.vandijk@example.org").is_none(),
        "no duplicate was created"
    );
    assert_eq!(f.sim.state.users().len(), 301);
}

#[tokio::test]
async fn a_person_with_a_missing_required_field_is_blocked_and_keeps_their_account() {
    let f = Fixture::demo(|t| {
        t.replace(
            "contracts = \"contracts.csv\"",
            "contracts = \"contracts.csv\"\nrequired = [\"ExternalId\", \"Name.FamilyName\"]",
        )
    })
    .await;
    let engine = f.engine().await;
    engine.apply(day(1), None).await.unwrap();

    f.hr_day(2);
    let persons = f
        .read("persons.csv")
        .replace("10010;Jurriën;;Brouwer;", "10010;Jurriën;;;");
    f.write("persons.csv", &persons);
    let report = engine.apply(day(2), None).await.unwrap();
    let blocked = &report.blocked_records;
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    assert_eq!(blocked[0].person.as_str(), "10010");
    assert!(
        blocked[0].location.contains("persons.csv:11"),
        "{:?}",
        blocked[0]
    );
    assert!(
        blocked[0].reason.contains("Name.FamilyName"),
        "{:?}",
        blocked[0]
    );
    assert!(!report.plan.targets[0]
        .actions
        .iter()
        .any(|a| a.person.as_str() == "10010"));
    assert_eq!(
        report.summary.targets[0].by_action[&ActionKind::Create].done,
        2,
        "the others proceed"
    );
    assert_eq!(
        f.user("j.brouwer@example.org")["active"],
        true,
        "never disabled because of bad input"
    );
}

#[tokio::test]
async fn a_saved_plan_is_applied_exactly_or_refused_when_stale() {
    let f = Fixture::demo(|t| t).await;
    let engine = f.engine().await;
    let plan = engine.preview(day(1)).await.unwrap().plan;
    let json = serde_json::to_string(&plan).unwrap();
    let saved: muster_core::plan::Plan = serde_json::from_str(&json).unwrap();

    f.hr_day(2);
    match engine.apply(day(1), Some(&saved)).await {
        Err(EngineError::StalePlan(why)) => assert!(why.contains("source changed"), "{why}"),
        other => panic!("expected a stale plan, got {:?}", other.map(|r| r.summary)),
    }
    assert!(f.sim.state.users().is_empty());

    f.hr_day(1);
    let report = engine.apply(day(1), Some(&saved)).await.unwrap();
    assert_eq!(
        report.summary.targets[0].totals().done,
        saved.action_count()
    );

    let stale_target = engine.preview(day(1)).await.unwrap().plan;
    f.sim.state.seed_user(serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "intruder@example.org"})).unwrap();
    assert!(matches!(
        engine.apply(day(1), Some(&stale_target)).await,
        Err(EngineError::StalePlan(_))
    ));
}

#[tokio::test]
async fn secret_values_never_reach_plans_audit_or_the_store() {
    let f = Fixture::demo(|t| t + "\n[[targets.scim.mapping]]\nfield = \"password\"\nvalue = \"Sup3r-S3cret-Initial\"\non = \"create\"\nsecret = true\n").await;
    let engine = f.engine().await;
    let report = engine.apply(day(1), None).await.unwrap();
    assert_eq!(report.summary.status(), RunStatus::Changes);
    let plan_json = serde_json::to_string(&report.plan).unwrap();
    assert!(plan_json.contains("\"password\"") && !plan_json.contains("Sup3r-S3cret-Initial"));
    let events = engine
        .store
        .audit(&AuditQuery {
            limit: 10_000,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(events.iter().all(|e| e.outcome == ActionOutcome::Done));
    assert!(!serde_json::to_string(&events)
        .unwrap()
        .contains("Sup3r-S3cret-Initial"));
    drop(engine);
    for entry in std::fs::read_dir(f.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.ends_with("muster.toml") {
            continue; // the administrator's own file, where this test wrote the value
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(20).any(|w| w == b"Sup3r-S3cret-Initial"),
            "{} holds the secret",
            path.display()
        );
    }
}

#[tokio::test]
async fn import_reports_how_accounts_correlate_and_links_on_request() {
    let f = Fixture::demo(|t| t).await;
    let seed = |name: &str| {
        f.sim
            .state
            .seed_user(serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": true}))
            .unwrap()
    };
    let emma = seed("E.VANDIJK@example.org");
    seed("someone.else@example.org");
    let engine = f.engine().await;

    let report = engine.import("scim", day(1), false).await.unwrap();
    assert_eq!(report.accounts, 2);
    assert_eq!(report.correlated_now.len(), 1);
    assert_eq!(report.correlated_now[0].person.as_str(), "10001");
    assert_eq!(report.correlated_now[0].account.as_str(), emma);
    assert_eq!(report.persons_without_account.len(), 299);
    assert_eq!(report.accounts_without_person.len(), 1);
    assert_eq!(
        report.accounts_without_person[0].value.as_deref(),
        Some("someone.else@example.org")
    );
    assert!(report.linked.is_empty() && report.disputed.is_empty());

    let linked = engine.import("scim", day(1), true).await.unwrap();
    assert_eq!(linked.correlated_now.len(), 1);
    let again = engine.import("scim", day(1), false).await.unwrap();
    assert_eq!(again.linked.len(), 1, "--link stored the correlation");
    assert!(again.correlated_now.is_empty());
    let plan = engine.preview(day(1)).await.unwrap().plan;
    assert!(
        !plan.targets[0]
            .actions
            .iter()
            .any(|a| a.kind == ActionKind::Correlate),
        "already linked"
    );
    assert_eq!(plan.targets[0].count(ActionKind::Create), 299);
}

#[tokio::test]
async fn faults_end_every_action_with_a_reason_and_the_next_run_converges_without_duplicates() {
    let f = Fixture::demo(|t| t.replace("concurrency = 8 }", "concurrency = 8, max_attempts = 4, backoff = { base_ms = 5, max_ms = 50 }, timeout_s = 2 }").replace("requests = 500", "requests = 150")).await;
    f.sim.state.update_switches(|s| {
        s.faults.error_5xx_ratio = 0.05;
        s.faults.error_5xx_after_apply_ratio = 0.05;
        s.faults.drop_ratio = 0.03;
        s.faults.drop_after_apply_ratio = 0.05;
        s.faults.rate_limit = true;
        s.faults.rate_budget = 200;
        s.faults.rate_window_s = 1;
        // Without Retry-After the client's own backoff applies (5–50 ms here); with it, every
        // injected 503 would pause all workers a full second, as the server asks.
        s.faults.retry_after = false;
    });
    let engine = f.engine().await;
    let first = engine.apply(day(1), None).await.unwrap();
    let t = first.summary.targets[0].totals();
    assert_eq!(
        t.planned,
        t.done + t.failed + t.skipped + t.blocked,
        "nothing ends silently"
    );
    let events = engine
        .store
        .audit(&AuditQuery {
            run: Some(first.run.to_string()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), t.planned, "one audit event per action");
    assert!(events
        .iter()
        .filter(|e| e.outcome == ActionOutcome::Failed)
        .all(|e| e.detail.as_deref().is_some_and(|d| !d.is_empty())));

    // Let the target calm down; the following runs must converge with no duplicate.
    f.sim
        .state
        .update_switches(|s| s.faults = muster_sim::Faults::default());
    let mut converged = false;
    for _ in 0..3 {
        let r = engine.apply(day(1), None).await.unwrap();
        if r.plan.is_empty() {
            converged = true;
            break;
        }
    }
    assert!(converged, "no convergence within 3 runs");
    let users = f.sim.state.users();
    assert_eq!(users.len(), 300, "no duplicate and no missing account");
    let mut names: Vec<String> = users
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_lowercase())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 300);
    assert_eq!(f.members("All staff").len(), 300);
}
