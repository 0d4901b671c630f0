//! Reads of a well-behaved tenant: pages, records, address and delegation rules, groups,
//! `$batch`, the source filter, changes between runs.

use crate::{blocked, config, person, read, sim, tenant};
use muster_core::model::IdentityKind;
use muster_sim::exchange::TenantSeed;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn every_page_is_read_and_each_mailbox_yields_the_contract_fields() {
    let sim = sim(tenant(), 3).await;
    let read = read(&config(&sim)).await.unwrap();
    // 9 user and shared mailboxes (the room mailbox is filtered out by the API), 3 per page.
    assert_eq!(sim.state.counter().snapshot()["GET /Mailbox"], 3);
    assert_eq!(read.records.len(), 9);
    let info = person(&read, "s-info");
    assert_eq!(info.kind, IdentityKind::SharedMailbox);
    assert_eq!(info.display_name.as_deref(), Some("Info"));
    assert_eq!(
        info.contact.business.email.as_deref(),
        Some("info@contoso.nl")
    );
    assert_eq!(info.custom["primary_address"], json!("info@contoso.nl"));
    assert_eq!(info.custom["account_disabled"], json!(true));
    assert_eq!(info.custom["recipient_type"], json!("SharedMailbox"));
    assert_eq!(info.custom["object_id"], json!("s-info"));
    assert!(!info.custom.contains_key("in_source_filter"));
    let piet = person(&read, "u-piet");
    assert_eq!(piet.kind, IdentityKind::Person);
    assert_eq!(piet.custom["account_disabled"], json!(true));
    assert!(read.files.is_empty() && read.digest.len() == 64);
    let again = crate::read(&config(&sim)).await.unwrap();
    assert_eq!(again.digest, read.digest, "the same tenant reads the same");
}

#[tokio::test(flavor = "multi_thread")]
async fn addresses_keep_smtp_and_bare_entries_lower_cased_and_drop_the_rest() {
    let sim = sim(tenant(), 1000).await;
    let read = read(&config(&sim)).await.unwrap();
    let jan = person(&read, "u-jan");
    assert_eq!(jan.custom["primary_address"], json!("jan@contoso.nl"));
    assert_eq!(
        jan.custom["aliases"],
        json!([
            "j.jansen@contoso.nl",
            "jan@contoso.onmicrosoft.com",
            "jansen@contoso.nl"
        ])
    );
    assert!(
        read.warnings.iter().any(|w| w.contains("`not an address`")),
        "{:?}",
        read.warnings
    );
    assert!(blocked(&read, "u-nosmtp").contains("no SMTP address"));
    assert!(blocked(&read, "u-bad").contains("`bad at contoso` is not an e-mail address"));
}

#[tokio::test(flavor = "multi_thread")]
async fn full_access_makes_delegates_by_the_rules_groups_one_level() {
    let sim = sim(tenant(), 1000).await;
    let read = read(&config(&sim)).await.unwrap();
    // jan directly; Support by name → kees (Inner, a nested group, not followed); Backoffice
    // by GUID → piet. Not: SELF, the admin entries, anna (denied), kees's inherited entry,
    // piet's ReadPermission, the deleted principal, the mailbox itself.
    let info = person(&read, "s-info");
    assert_eq!(
        info.custom["delegates"],
        json!(["jan@contoso.nl", "kees@contoso.nl", "piet@contoso.nl"])
    );
    assert_eq!(
        person(&read, "u-jan").custom["delegates"],
        json!(["anna@contoso.nl"])
    );
    assert_eq!(person(&read, "u-kees").custom["delegates"], json!([]));
    assert!(
        read.warnings
            .iter()
            .any(|w| w.contains("S-1-5-21-1004336348") && w.contains("deleted principal")),
        "{:?}",
        read.warnings
    );
    // `Verkoop` is a group's name and a mailbox's alias: hr's delegates cannot be known.
    let reason = blocked(&read, "s-hr");
    assert!(
        reason.contains("`Verkoop`") && reason.contains("several recipients"),
        "{reason}"
    );
    assert!(sim.state.counter().snapshot()["GET /Recipient"] >= 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn nested_groups_are_followed_when_asked_and_a_cycle_ends() {
    let sim = sim(tenant(), 1000).await;
    let mut c = config(&sim);
    c.nested = true;
    let read = read(&c).await.unwrap();
    assert_eq!(
        person(&read, "s-info").custom["delegates"],
        json!([
            "anna@contoso.nl",
            "jan@contoso.nl",
            "kees@contoso.nl",
            "piet@contoso.nl"
        ])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn batched_and_single_permission_reads_agree() {
    let seed = TenantSeed::example("contoso.nl", 40, 25, 3);
    let sim = sim(seed, 1000).await;
    let batched = read(&config(&sim)).await.unwrap();
    let counts = sim.state.counter().snapshot();
    assert_eq!(
        counts["POST /$batch"], 7,
        "65 mailboxes, 10 per batch: {counts:?}"
    );
    assert!(!counts.contains_key("GET /MailboxPermission"), "{counts:?}");
    sim.state.counter().clear();
    let mut c = config(&sim);
    c.batch = false;
    let single = read(&c).await.unwrap();
    assert_eq!(sim.state.counter().snapshot()["GET /MailboxPermission"], 65);
    assert_eq!(batched.records, single.records);
    assert_eq!(batched.valid_count(), 65);
    let shared = person(&batched, "00000000-0000-4000-9000-000000000000");
    // 3 users, group Team 000 by name (users 0..4), group 1 by GUID (users 5..9).
    assert_eq!(
        shared.custom["delegates"].as_array().unwrap().len(),
        3 + 5 + 5 - 1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_source_filter_marks_members_of_its_groups_through_graph() {
    let sim = sim(tenant(), 1000).await;
    let mut c = config(&sim);
    c.source_filter_groups = vec!["g-support".into()];
    let read = read(&c).await.unwrap();
    assert_eq!(
        person(&read, "u-kees").custom["in_source_filter"],
        json!(true)
    );
    assert_eq!(
        person(&read, "u-anna").custom["in_source_filter"],
        json!(false),
        "Inner is not followed"
    );
    assert_eq!(
        person(&read, "s-info").custom["in_source_filter"],
        json!(false)
    );
    assert_eq!(sim.state.counter().snapshot()["GET /groups/members"], 1);
    c.nested = true;
    let nested = crate::read(&c).await.unwrap();
    assert_eq!(
        person(&nested, "u-anna").custom["in_source_filter"],
        json!(true)
    );
    c.source_filter_groups = vec!["no-such-group".into()];
    let e = crate::read(&c).await.unwrap_err().to_string();
    assert!(
        e.contains("source filter group no-such-group") && e.contains("404"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_primary_address_change_keeps_the_identity_key() {
    let sim = sim(tenant(), 1000).await;
    let c = config(&sim);
    let before = read(&c).await.unwrap();
    assert_eq!(
        person(&before, "u-kees").custom["primary_address"],
        json!("kees@contoso.nl")
    );
    let http = reqwest::Client::new();
    let base = &sim.base_url;
    let ok = |r: reqwest::Response| assert!(r.status().is_success(), "{}", r.status());
    ok(http
        .patch(format!("{base}/_sim/mailboxes/kees"))
        .json(&json!({"PrimarySmtpAddress": "kees.de.vries@contoso.nl", "AccountDisabled": true}))
        .send()
        .await
        .unwrap());
    ok(http
        .post(format!("{base}/_sim/permissions/revoke"))
        .json(&json!({"Mailbox": "jan", "User": "anna@contoso.nl"}))
        .send()
        .await
        .unwrap());
    ok(http
        .put(format!("{base}/_sim/groups/Support/members"))
        .json(&json!(["anna"]))
        .send()
        .await
        .unwrap());
    ok(http
        .delete(format!("{base}/_sim/mailboxes/piet"))
        .send()
        .await
        .unwrap());
    let after = read(&c).await.unwrap();
    let kees = person(&after, "u-kees");
    assert_eq!(
        kees.custom["primary_address"],
        json!("kees.de.vries@contoso.nl")
    );
    assert_eq!(kees.custom["aliases"], json!(["kees@contoso.nl"]));
    assert_eq!(kees.custom["account_disabled"], json!(true));
    assert_eq!(person(&after, "u-jan").custom["delegates"], json!([]));
    assert_eq!(
        person(&after, "s-info").custom["delegates"],
        json!(["anna@contoso.nl", "jan@contoso.nl"]),
        "Support now holds anna; Backoffice's piet is gone"
    );
    assert!(after.valid().all(|p| p.external_id.as_str() != "u-piet"));
}
