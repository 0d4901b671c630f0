//! `muster reconcile` as a script runs it: orphan accounts listed with their action, a
//! decision stored, `--apply` refused without confirmation off a terminal, executed with
//! `--yes`, audited under `orphan:<account>`, and exit codes as for plan and apply.

use crate::{code, text, Setup, DAY1};

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_lists_orphans_stores_decisions_and_applies_with_confirmation() {
    let s = Setup::new(|t| {
        t.replace(
            "thresholds = { delete = { percent = 10 } }",
            "thresholds = { delete = { absolute = 5 } }\nreconcile = { orphans = \"delete\" }",
        )
    })
    .await;
    let seed = |name: &str| {
        s.sim
            .state
            .seed_user(serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": true}))
            .unwrap()
    };
    let kept = seed("left.long.ago@example.org");
    let gone = seed("nobody@example.org");
    let active = |id: &str| {
        s.sim
            .state
            .users()
            .into_iter()
            .find(|u| u["id"] == id)
            .map(|u| u["active"] == true)
    };

    let preview = s.muster(&["reconcile", "--target", "scim", DAY1]);
    assert_eq!(code(&preview), 2, "{}", text(&preview));
    let out = text(&preview);
    assert!(out.contains("2 orphan account(s), policy delete"), "{out}");
    assert!(
        out.contains(&kept) && out.contains("nobody@example.org"),
        "{out}"
    );

    let refused = s.muster(&["reconcile", "--target", "scim", "--apply", DAY1]);
    assert_eq!(code(&refused), 1, "{}", text(&refused));
    assert!(text(&refused).contains("--yes"));
    assert_eq!(active(&gone), Some(true));

    let resolve = s.muster(&[
        "reconcile",
        "--target",
        "scim",
        "--account",
        &kept,
        "--resolve",
        DAY1,
    ]);
    assert_eq!(code(&resolve), 2, "{}", text(&resolve));
    assert!(
        text(&resolve).contains("marked resolved"),
        "{}",
        text(&resolve)
    );

    let apply = s.muster(&[
        "reconcile",
        "--target",
        "scim",
        "--apply",
        "--yes",
        "--json",
        DAY1,
    ]);
    assert_eq!(code(&apply), 2, "{}", text(&apply));
    let json: serde_json::Value = serde_json::from_slice(&apply.stdout).unwrap();
    assert_eq!(json["status"], "changes");
    assert_eq!(json["report"]["applied"], true);
    assert_eq!(
        active(&gone),
        Some(false),
        "SCIM's delete disables by default"
    );
    assert_eq!(active(&kept), Some(true));

    let audit = s.muster(&["audit", "--person", &format!("orphan:{gone}"), "--json"]);
    assert_eq!(code(&audit), 0, "{}", text(&audit));
    let events: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    assert_eq!(events[0]["action"], "delete");
    assert_eq!(events[0]["outcome"], "done");
    assert!(events[0]["reason"]
        .as_str()
        .unwrap()
        .contains("policy delete"));

    let after = s.muster(&["reconcile", "--target", "scim", DAY1]);
    assert_eq!(code(&after), 0, "{}", text(&after));
    assert!(
        text(&after).contains("already disabled"),
        "{}",
        text(&after)
    );
}
