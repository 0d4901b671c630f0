//! `muster reconcile` against the SCIM simulator: orphan accounts (no person owns them) are
//! disabled, deleted, excluded or resolved as the policy and the stored decisions say, each
//! action audited with its reason; the target gate blocks a mass orphan delete until approved;
//! nothing is touched while the source read is incomplete.

use crate::fixture::{Fixture, DEMO};
use chrono::NaiveDate;
use muster_core::plan::ActionKind;
use muster_core::report::{ActionOutcome, RunStatus};
use muster_engine::reconcile::{Decide, ReconcileRequest};
use muster_engine::Engine;
use muster_store::{AuditQuery, OrphanVerdict};
use std::path::Path;

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// The demo config with an orphan policy for the SCIM target and a delete threshold of
/// `percent`.
async fn fixture(policy: &str, percent: u32) -> Fixture {
    Fixture::demo(|t| {
        t.replace(
            "thresholds = { delete = { percent = 10 } }",
            &format!(
                "thresholds = {{ delete = {{ percent = {percent} }} }}\nreconcile = {{ orphans = \"{policy}\" }}"
            ),
        )
    })
    .await
}

/// Seeds accounts for the first `n` persons of the demo's day-1 export (not orphans) and one
/// account per name in `orphans`; returns the orphans' ids.
fn seed(f: &Fixture, n: usize, orphans: &[&str]) -> Vec<String> {
    let persons = std::fs::read_to_string(Path::new(DEMO).join("day1/persons.csv")).unwrap();
    let user = |name: &str| {
        f.sim
            .state
            .seed_user(serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": true}))
            .unwrap()
    };
    for line in persons.lines().skip(1).take(n) {
        user(line.split(';').nth(5).unwrap());
    }
    orphans
        .iter()
        .map(|o| user(&format!("{o}@example.org")))
        .collect()
}

fn request(today: &str, apply: bool) -> ReconcileRequest {
    ReconcileRequest {
        target: "scim".into(),
        today: date(today),
        decide: None,
        by: "ops".into(),
        apply,
    }
}

async fn decide(engine: &Engine, account: &str, verdict: OrphanVerdict) {
    let mut r = request("2026-03-02", false);
    r.decide = Some((account.into(), Decide::Record(verdict)));
    engine.reconcile(&r).await.unwrap();
}

fn active(f: &Fixture, id: &str) -> Option<bool> {
    f.sim
        .state
        .users()
        .into_iter()
        .find(|u| u["id"] == id)
        .map(|u| u["active"].as_bool().unwrap_or(true))
}

fn planned(report: &muster_engine::reconcile::ReconcileReport) -> Vec<(String, ActionKind)> {
    report
        .orphans
        .iter()
        .filter_map(|o| o.action.map(|k| (o.account.to_string(), k)))
        .collect()
}

#[tokio::test]
async fn orphans_are_disabled_deleted_excluded_or_resolved_as_decided_and_audited_with_the_reason()
{
    let f = fixture("disable", 10).await;
    let ids = seed(&f, 20, &["gone1", "gone2", "gone3", "gone4"]);
    let engine = f.engine().await;

    // The policy proposes disabling all four: 4 of 24 accounts reach the 10% threshold.
    let preview = engine
        .reconcile(&request("2026-03-02", false))
        .await
        .unwrap();
    assert_eq!(preview.orphans.len(), 4, "{:?}", preview.orphans);
    assert_eq!(planned(&preview).len(), 4);
    assert!(planned(&preview)
        .iter()
        .all(|(_, k)| *k == ActionKind::Disable));
    assert_eq!(preview.blocked.len(), 1, "{:?}", preview.blocked);
    assert_eq!(preview.summary.status(), RunStatus::Blocked);

    decide(
        &engine,
        &ids[0],
        OrphanVerdict::ExcludedUntil(date("2026-04-01")),
    )
    .await;
    decide(&engine, &ids[1], OrphanVerdict::Resolved).await;
    decide(&engine, &ids[2], OrphanVerdict::Delete).await;
    let report = engine
        .reconcile(&request("2026-03-02", true))
        .await
        .unwrap();
    assert!(
        report.applied && report.blocked.is_empty(),
        "{:?}",
        report.blocked
    );
    assert_eq!(
        planned(&report),
        [
            (ids[2].clone(), ActionKind::Delete),
            (ids[3].clone(), ActionKind::Disable)
        ]
    );
    assert_eq!(report.summary.status(), RunStatus::Changes);
    // SCIM deletes disable by default: the decided delete and the policy's disable both
    // leave the account inactive; the excluded and the resolved ones are untouched.
    assert_eq!(active(&f, &ids[0]), Some(true));
    assert_eq!(active(&f, &ids[1]), Some(true));
    assert_eq!(active(&f, &ids[2]), Some(false));
    assert_eq!(active(&f, &ids[3]), Some(false));

    let events = engine
        .store
        .audit(&AuditQuery {
            run: Some(report.run.to_string()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    for e in &events {
        assert_eq!(e.outcome, ActionOutcome::Done);
        assert_eq!(
            e.person.as_str(),
            format!("orphan:{}", e.account.clone().unwrap())
        );
        assert!(e.reason.contains("no person has userName"), "{}", e.reason);
    }
    let delete = events
        .iter()
        .find(|e| e.action == ActionKind::Delete)
        .unwrap();
    assert!(
        delete.reason.contains("decided by ops"),
        "{}",
        delete.reason
    );
    let disable = events
        .iter()
        .find(|e| e.action == ActionKind::Disable)
        .unwrap();
    assert!(
        disable.reason.contains("policy disable"),
        "{}",
        disable.reason
    );
    // Nobody owns an orphan: no link was made, and the nightly plan leaves them alone.
    assert!(engine.store.links(&"scim".into()).await.unwrap().is_empty());

    // Done is done: nothing is proposed again until the exclusion ends.
    let again = engine
        .reconcile(&request("2026-03-31", false))
        .await
        .unwrap();
    assert!(planned(&again).is_empty(), "{:?}", again.orphans);
    let ended = engine
        .reconcile(&request("2026-04-01", false))
        .await
        .unwrap();
    assert_eq!(planned(&ended), [(ids[0].clone(), ActionKind::Disable)]);
    assert!(ended.orphans[0]
        .reason
        .contains("exclusion ended on 2026-04-01"));
}

#[tokio::test]
async fn a_mass_orphan_delete_is_blocked_by_the_target_gate_until_approved() {
    let f = fixture("delete", 10).await;
    let orphans: Vec<String> = (1..=10).map(|i| format!("old{i}")).collect();
    let names: Vec<&str> = orphans.iter().map(String::as_str).collect();
    let ids = seed(&f, 20, &names);
    let engine = f.engine().await;

    let blocked = engine
        .reconcile(&request("2026-03-02", true))
        .await
        .unwrap();
    assert_eq!(blocked.summary.status(), RunStatus::Blocked);
    assert!(
        blocked.blocked[0].contains("10 disable/delete actions of 30 accounts"),
        "{:?}",
        blocked.blocked
    );
    let counts = &blocked.summary.targets[0].by_action[&ActionKind::Delete];
    assert_eq!((counts.planned, counts.blocked, counts.done), (10, 10, 0));
    assert!(
        ids.iter().all(|id| active(&f, id) == Some(true)),
        "nothing was sent"
    );

    engine.approve(&blocked.run, None, "ops").await.unwrap();
    let done = engine
        .reconcile(&request("2026-03-02", true))
        .await
        .unwrap();
    assert_eq!(done.summary.status(), RunStatus::Changes);
    assert!(ids.iter().all(|id| active(&f, id) == Some(false)));
    assert!(engine
        .store
        .open_approvals(&"scim".into())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn nothing_is_disabled_or_deleted_while_the_source_is_incomplete() {
    let f = Fixture::demo(|t| {
        t.replace(
            "contracts = \"contracts.csv\"",
            "contracts = \"contracts.csv\"\nrequired = [\"ExternalId\", \"Name.FamilyName\"]",
        )
        .replace(
            "thresholds = { delete = { percent = 10 } }",
            "thresholds = { delete = { percent = 50 } }\nreconcile = { orphans = \"delete\" }",
        )
    })
    .await;
    // Person 10002's record is unreadable: their account must not be taken for an orphan.
    let persons = f
        .read("persons.csv")
        .replace("10002;Lars;;Bos;", "10002;Lars;;;");
    f.write("persons.csv", &persons);
    let ids = seed(&f, 3, &["gone"]);
    let engine = f.engine().await;

    let report = engine
        .reconcile(&request("2026-03-02", true))
        .await
        .unwrap();
    assert!(!report.applied);
    assert_eq!(report.orphans.len(), 2, "{:?}", report.orphans);
    assert!(planned(&report).is_empty());
    let why = report.source_incomplete.clone().unwrap();
    assert!(why.contains("1 source record(s) are blocked"), "{why}");
    assert!(report
        .orphans
        .iter()
        .all(|o| o.reason.contains("delete withheld")));
    assert_eq!(report.summary.status(), RunStatus::Blocked);
    assert!(ids.iter().all(|id| active(&f, id) == Some(true)));

    // A decision about an account that is not an orphan is refused.
    let mut r = request("2026-03-02", false);
    let lars = f.user("l.bos@example.org")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    f.write(
        "persons.csv",
        &f.read("persons.csv")
            .replace("10002;Lars;;;", "10002;Lars;;Bos;"),
    );
    r.decide = Some((lars.as_str().into(), Decide::Record(OrphanVerdict::Delete)));
    let err = engine.reconcile(&r).await.err().unwrap().to_string();
    assert!(err.contains("is not an orphan"), "{err}");
}
