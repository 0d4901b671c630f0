//! Issue 13, item 1: membership writes whose answers are lost, against a SCIM server that does
//! not ignore an `add` of a member it already lists (RFC 7644 §3.5.2.1 says it SHOULD), behind a
//! connection that drops after every write was applied.

use crate::fixture::{day, groups, Fixture};
use muster_core::plan::ActionKind;
use muster_core::AccountRef;
use muster_sim::Faults;
use std::collections::BTreeMap;

/// Members of `group` listed more than once, with how many times.
fn listed_twice(f: &Fixture, group: &str) -> BTreeMap<String, usize> {
    let mut times: BTreeMap<String, usize> = BTreeMap::new();
    for m in f.members(group) {
        *times.entry(m).or_default() += 1;
    }
    times.retain(|_, n| *n > 1);
    times
}

/// Adds `member` to `group` once more through the server's own PATCH, as a blind resend did.
async fn add_again(f: &Fixture, group: &str, member: &str) {
    let id = f
        .sim
        .state
        .groups()
        .into_iter()
        .find(|g| g["displayName"] == group)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "add", "path": "members", "value": [{ "value": member }] }]
    });
    let resp = reqwest::Client::new()
        .patch(format!("{}/Groups/{id}", f.sim.base_url))
        .bearer_auth("t0ken-for-tests")
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_answers_to_grants_leave_each_member_listed_once_and_a_duplicate_is_repaired() {
    let f = Fixture::demo(|t| t).await;
    f.sim.state.update_switches(|s| {
        s.duplicate_member_adds = true;
        s.faults = Faults {
            drop_after_apply_ratio: 1.0,
            only_writes: true,
            ..Faults::default()
        };
    });
    let engine = f.engine().await;

    // Every write is applied and its answer lost: creates are looked up, adds read back.
    let applied = engine.apply(day(1), None).await.unwrap();
    let totals = applied.summary.targets[0].totals();
    assert_eq!((totals.failed, totals.skipped), (0, 0), "{totals:?}");
    assert_eq!(f.sim.state.users().len(), 300);
    assert_eq!(f.members("All staff").len(), 300);
    for g in groups() {
        assert_eq!(listed_twice(&f, &g), BTreeMap::new(), "{g}");
    }

    // A member listed twice (a blind resend of an earlier run) is reported and listed once.
    f.sim
        .state
        .update_switches(|s| s.faults = Faults::default());
    let member = f.members("Dept Sales")[0].clone();
    add_again(&f, "Dept Sales", &member).await;
    assert_eq!(listed_twice(&f, "Dept Sales").get(&member), Some(&2));
    let preview = engine.preview(day(1)).await.unwrap();
    let t = &preview.plan.targets[0];
    let reported = format!("group `Dept Sales` lists account {member} 2 times");
    assert!(
        t.warnings.iter().any(|w| w.contains(&reported)),
        "{:?}",
        t.warnings
    );
    let import = engine.import("scim", day(1), false).await.unwrap();
    let sales = import
        .permissions
        .iter()
        .find(|p| p.name == "Dept Sales")
        .unwrap();
    assert_eq!(
        sales
            .listed_more_than_once
            .get(&AccountRef::new(member.as_str())),
        Some(&2)
    );
    let kinds: Vec<ActionKind> = t.actions.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [ActionKind::Revoke, ActionKind::Grant]);
    engine.apply(day(1), None).await.unwrap();
    assert_eq!(listed_twice(&f, "Dept Sales"), BTreeMap::new());
    assert!(f.members("Dept Sales").contains(&member));
    assert!(engine.preview(day(1)).await.unwrap().plan.is_empty());
}
