#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::config::{OnlyOn, Retry, SmtpSecurity};
use muster_core::gate::{Block, Limit};
use muster_core::plan::FieldChange;
use muster_core::report::{AuditEvent, Counts};
use std::str::FromStr;

fn settings() -> EmailSettings {
    EmailSettings {
        host: "127.0.0.1".into(),
        port: 25,
        security: SmtpSecurity::NoneLoopbackOnly,
        login: None,
        ca_file: None,
        from: lettre::message::Mailbox::from_str("Muster <muster@example.org>").unwrap(),
        to: vec![lettre::message::Mailbox::from_str("ops@example.org").unwrap()],
        only_on: OnlyOn::Always,
        dashboard_url: Some(url::Url::parse("https://m.example.org/ui").unwrap()),
        list_limit: 2,
        retry: Retry::default(),
    }
}

fn line(
    person: &str,
    kind: ActionKind,
    outcome: ActionOutcome,
    detail: Option<&str>,
) -> ActionLine {
    ActionLine {
        target: "scim".into(),
        person: person.into(),
        kind,
        outcome: Some(outcome),
        detail: detail.map(str::to_owned),
        fields: vec!["mail".into()],
    }
}

/// An apply on `scim`: 3 creates done, 1 failed, 2 deletes blocked by a threshold.
fn digest() -> RunDigest {
    let mut summary = RunSummary {
        run: "0123456789abcdef".into(),
        mode: muster_store::RunMode::Apply,
        ..RunSummary::default()
    };
    let t = summary.target_mut(&"scim".into());
    t.by_action.insert(
        ActionKind::Create,
        Counts {
            planned: 4,
            done: 3,
            failed: 1,
            ..Counts::default()
        },
    );
    t.by_action.insert(
        ActionKind::Delete,
        Counts {
            planned: 2,
            blocked: 2,
            ..Counts::default()
        },
    );
    t.blocks.push(Block {
        limit: Limit::Threshold(ActionKind::Delete),
        actions: 2,
        reason: "2 of 10 accounts would go, more than 10%".into(),
        released: None,
    });
    RunDigest {
        run: Some("0123456789abcdef".into()),
        mode: RunMode::Apply,
        origin: "schedule nightly".into(),
        took: Duration::from_secs(3),
        result: Ok(summary),
        lines: vec![
            line(
                "<b>eve</b>",
                ActionKind::Create,
                ActionOutcome::Failed,
                Some("409: userName \"eve\" & co taken"),
            ),
            line("ann", ActionKind::Create, ActionOutcome::Done, None),
            line("bob", ActionKind::Create, ActionOutcome::Done, None),
        ],
        sync: None,
    }
}

fn parts(message: &Message) -> String {
    String::from_utf8(message.formatted()).unwrap()
}

#[test]
fn the_report_names_changes_failures_blocks_and_the_way_to_approve() {
    let d = digest();
    let text = text(
        &subject(&d),
        &sections(
            &d,
            Some("https://m.example.org/ui/runs/0123456789abcdef"),
            2,
        ),
    );
    assert!(
        text.starts_with("Muster apply 01234567: failures (scim: 1 failed, 2 blocked)\n"),
        "{text}"
    );
    assert!(text.contains("Started by schedule nightly"), "{text}");
    assert!(
        text.contains("Actions: create 3 done, 1 failed of 4; delete 0 done, 2 blocked of 2."),
        "{text}"
    );
    assert!(
        text.contains("  - create <b>eve</b>: 409: userName \"eve\" & co taken\n"),
        "{text}"
    );
    assert!(
        text.contains("  - 2 action(s) held: 2 of 10 accounts would go, more than 10%\n"),
        "{text}"
    );
    assert!(text.contains("`muster approve 0123456789abcdef`, or on the dashboard: https://m.example.org/ui/runs/0123456789abcdef"), "{text}");
    assert!(
        text.contains(
            "Changed (3):\n  - create ann (mail)\n  - create bob (mail)\n  - … and 1 more\n"
        ),
        "{text}"
    );
}

#[test]
fn the_html_part_escapes_every_value() {
    let d = digest();
    let html = html(
        &subject(&d),
        &sections(&d, Some("https://m.example.org/ui/runs/x\"y"), 2),
        Some("https://m.example.org/ui/runs/x\"y"),
    );
    assert!(!html.contains("<b>eve</b>"), "{html}");
    assert!(html.contains("&lt;b&gt;eve&lt;/b&gt;"), "{html}");
    assert!(html.contains("&quot;eve&quot; &amp; co"), "{html}");
    assert!(
        html.contains("<a href=\"https://m.example.org/ui/runs/x&quot;y\">"),
        "{html}"
    );
}

#[test]
fn the_message_is_multipart_alternative_to_every_recipient() {
    let mut s = settings();
    s.to.push(lettre::message::Mailbox::from_str("Help <help@example.org>").unwrap());
    let message = compose(&digest(), &s).unwrap();
    let envelope = message.envelope();
    assert_eq!(envelope.to().len(), 2);
    let raw = parts(&message);
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(raw.contains("text/plain"), "{raw}");
    assert!(raw.contains("text/html"), "{raw}");
}

#[test]
fn the_link_to_the_run_escapes_the_id_and_keeps_the_base_path() {
    let base = url::Url::parse("https://m.example.org/ui/").unwrap();
    assert_eq!(
        run_link(Some(&base), Some("ab/../c d")).as_deref(),
        Some("https://m.example.org/ui/runs/ab%2F..%2Fc%20d")
    );
    let root = url::Url::parse("http://127.0.0.1:8440").unwrap();
    assert_eq!(
        run_link(Some(&root), Some("abc")).as_deref(),
        Some("http://127.0.0.1:8440/runs/abc")
    );
    assert_eq!(run_link(None, Some("abc")), None);
}

#[test]
fn only_on_problems_skips_runs_without_failures_or_blocks() {
    let mut d = digest();
    assert!(d.wanted(OnlyOn::Problems));
    d.result = Ok(RunSummary::default());
    assert_eq!(d.status(), "no-changes");
    assert!(!d.wanted(OnlyOn::Problems));
    assert!(d.wanted(OnlyOn::Always));
    d.result = Err("the source could not be read".into());
    assert!(d.wanted(OnlyOn::Problems));
    let text = text(&subject(&d), &sections(&d, None, 2));
    assert!(
        text.contains("== The run failed ==\nthe source could not be read\n"),
        "{text}"
    );
}

#[test]
fn a_secret_change_reaches_the_report_as_its_field_name_only() {
    let event = AuditEvent {
        at: chrono::Utc::now(),
        run: "r".into(),
        target: "scim".into(),
        person: "ann".into(),
        action: ActionKind::Update,
        outcome: ActionOutcome::Done,
        account: None,
        reason: "changed".into(),
        detail: None,
        changes: vec![FieldChange {
            field: "password".into(),
            before: None,
            after: Some("hunter2".into()),
            secret: true,
            account_of: None,
        }],
        permission: None,
    };
    let mut d = digest();
    d.lines = vec![crate::report::line_of_event(event)];
    let message = compose(&d, &settings()).unwrap();
    let raw = parts(&message);
    assert!(!raw.contains("hunter2"), "{raw}");
    assert_eq!(d.lines[0].fields, vec!["password".to_owned()]);
}

/// A Cloud Sync preview on `zivver`: 2 creates, an update of delegates and aliases, a
/// suspension, a person skipped, everything held by the fail-safe.
fn sync_report() -> muster_engine::RunReport {
    use muster_core::plan::{Action, ActionId, HeldPerson, Plan, TargetPlan};
    let action = |id: u32, kind: ActionKind, person: &str, fields: &[&str]| Action {
        id: ActionId(id),
        kind,
        person: person.into(),
        account: None,
        depends_on: vec![],
        waits_for: vec![],
        enabled: None,
        changes: fields
            .iter()
            .map(|f| FieldChange {
                field: (*f).to_owned(),
                before: None,
                after: Some(serde_json::json!("x")),
                secret: false,
                account_of: None,
            })
            .collect(),
        permission: None,
        resend: vec![],
        reason: String::new(),
    };
    let mut summary = RunSummary {
        run: "fedcba9876543210".into(),
        mode: RunMode::Preview,
        preview_mode: true,
        ..RunSummary::default()
    };
    let t = summary.target_mut(&"zivver".into());
    t.blocks.push(Block {
        limit: Limit::AllOrNothing,
        actions: 4,
        reason: "4 of 20 accounts would change, more than 10%".into(),
        released: None,
    });
    muster_engine::RunReport {
        run: "fedcba9876543210".into(),
        summary,
        plan: Plan {
            version: Plan::VERSION,
            today: "2026-03-02".parse().unwrap(),
            source_digest: String::new(),
            targets: vec![TargetPlan {
                target: "zivver".into(),
                observed_digest: String::new(),
                accounts_observed: 20,
                actions: vec![
                    action(0, ActionKind::Create, "a", &["userName", "aliases"]),
                    action(1, ActionKind::Create, "b", &["userName"]),
                    action(2, ActionKind::Update, "c", &["delegates", "aliases"]),
                    action(3, ActionKind::Disable, "d", &["active"]),
                ],
                disputed: vec![],
                held: vec![HeldPerson {
                    person: "e".into(),
                    reason: "type mismatch: account 7 has kind functional, the source wants user: skipped, never converted".into(),
                }],
                warnings: vec![],
            }],
        },
        blocked_records: vec![],
        warnings: vec![],
    }
}

#[test]
fn the_cloud_sync_section_counts_accounts_and_says_preview_and_fail_safe() {
    let report = sync_report();
    let mut d = digest();
    d.mode = RunMode::Preview;
    d.result = Ok(report.summary.clone());
    d.lines = vec![];
    d.sync = Some(SyncDigest::of(&report, false, 2));
    let text = text(&subject(&d), &sections(&d, None, 2));
    assert!(
        text.contains("This run ran in preview mode: nothing was written."),
        "{text}"
    );
    assert!(text.contains("== Cloud Sync =="), "{text}");
    assert!(text.contains("Ran in preview mode"), "{text}");
    assert!(
        text.contains("zivver: 2 created, 1 updated, 1 suspended, 0 resumed (would be); delegations changed on 1 account(s), aliases on 2."),
        "{text}"
    );
    assert!(
        text.contains(
            "  - Blocked by the fail-safe: 4 of 20 accounts would change, more than 10%\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("Skipped (1):\n  - e: type mismatch: account 7 has kind functional"),
        "{text}"
    );
    // Without the section (no `[run] perform_sync`), none of it.
    d.sync = None;
    let plain = super::text(&subject(&d), &sections(&d, None, 2));
    assert!(!plain.contains("Cloud Sync"), "{plain}");
}
