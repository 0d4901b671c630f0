//! The Zivver connector with `functional_accounts = "accounts"` (Cloud Sync mode) against the
//! simulator: functional accounts read as accounts with `kind = "functional"`, created with
//! `POST Groups`, renamed, aliases and delegates changed with a partial `PUT`, suspended with
//! the remove-all PATCH and resumed with a PUT; delegates as addresses; the guest-alias
//! refusal; type mismatches refused; an uncertain create looked up, never re-sent; the rate
//! budget kept.

use super::zivver_users::{attrs, exec, harness, seed_user, Harness};
use muster_connectors::zivver::functional_wire::{guest_alias, KIND, ZIVVER_GROUP_SCHEMA};
use muster_connectors::zivver::wire::{ALIASES, DELEGATES};
use muster_core::connector::{Attributes, Connector, ConnectorError, Operation, Outcome};
use muster_core::AccountRef;
use muster_sim::faults::{FaultKind, FaultScope};
use serde_json::{json, Value};

const ACCOUNTS: &str = "functional_accounts = \"accounts\"\n";

fn functional(address: &str, name: &str, aliases: &[&str], delegates: &[&str]) -> Attributes {
    attrs(&[
        (KIND, json!("functional")),
        ("userName", json!(address)),
        ("name.formatted", json!(name)),
        (ALIASES, json!(aliases)),
        (DELEGATES, json!(delegates)),
    ])
}

fn group(h: &Harness, id: &AccountRef) -> Value {
    h.sim
        .state
        .group(id.as_str())
        .expect("functional account exists")
}

fn member_names(h: &Harness, id: &AccountRef) -> Vec<String> {
    let mut names: Vec<String> = group(h, id)["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let uid = m["value"].as_str().unwrap();
            h.sim.state.user(uid).unwrap()["userName"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    names.sort();
    names
}

fn requests(h: &Harness, method: &str) -> u64 {
    h.sim.state.request_count(method, "/Groups")
}

#[tokio::test]
async fn functional_accounts_read_as_accounts_with_their_delegates_as_addresses() {
    let h = harness(|_| {}, ACCOUNTS).await;
    let anna = seed_user(&h, "anna@example.org", json!({}));
    let bert = seed_user(&h, "bert@example.org", json!({ "active": false }));
    let info = h
        .sim
        .state
        .seed_group(json!({
            "externalId": "info@example.org", "displayName": "Info",
            "members": [{ "value": bert.as_str() }, { "value": anna.as_str() }],
            ZIVVER_GROUP_SCHEMA: { "aliases": ["balie@example.org"] },
        }))
        .unwrap();
    let empty = h
        .sim
        .state
        .seed_group(json!({ "externalId": "leeg@example.org", "displayName": "Leeg" }))
        .unwrap();
    let observed = h.conn.read_all().await.unwrap();
    assert!(
        observed.groups.is_empty(),
        "no groups to grant in this mode"
    );
    assert_eq!(observed.accounts.len(), 4);
    let acc = |id: &str| {
        observed
            .accounts
            .iter()
            .find(|a| a.reference.as_str() == id)
            .unwrap()
    };
    assert_eq!(acc(anna.as_str()).attributes[KIND], json!("user"));
    let f = acc(&info);
    assert_eq!(f.attributes[KIND], json!("functional"));
    assert_eq!(f.attributes["userName"], json!("info@example.org"));
    assert_eq!(f.attributes["name.formatted"], json!("Info"));
    assert_eq!(f.attributes[ALIASES], json!(["balie@example.org"]));
    assert_eq!(
        f.attributes[DELEGATES],
        json!(["anna@example.org", "bert@example.org"])
    );
    assert!(f.enabled);
    assert!(!acc(&empty).enabled, "no members: suspended");
    assert_eq!(
        h.sim.state.total_requests(),
        2,
        "one GET Users, one GET Groups"
    );
    let caps = h.conn.capabilities();
    assert!(caps.hidden_while_disabled.contains(DELEGATES));
}

#[tokio::test]
async fn a_functional_account_is_created_renamed_changed_suspended_and_resumed() {
    let h = harness(|_| {}, ACCOUNTS).await;
    for u in ["anna", "bert", "carla"] {
        seed_user(&h, &format!("{u}@example.org"), json!({}));
    }
    h.conn.read_all().await.unwrap();

    // Create: address, display name, aliases, delegates (one of them no Zivver account).
    let out = exec(
        &h,
        Operation::Create {
            attributes: functional(
                "info@example.org",
                "Info",
                &["balie@example.org", "receptie@example.org"],
                &["anna@example.org", "bert@example.org", "extern@example.org"],
            ),
            enabled: true,
        },
    )
    .await;
    let created = match out {
        Ok(Outcome::Created(a)) => a,
        other => panic!("expected Created, got {other:?}"),
    };
    let id = created.reference.clone();
    assert_eq!(created.attributes[KIND], json!("functional"));
    assert_eq!(
        created.attributes[DELEGATES],
        json!(["anna@example.org", "bert@example.org"])
    );
    let g = group(&h, &id);
    assert_eq!(g["externalId"], "info@example.org");
    assert_eq!(g["displayName"], "Info");
    assert_eq!(
        g[ZIVVER_GROUP_SCHEMA]["aliases"],
        json!(["balie@example.org", "receptie@example.org"])
    );
    assert_eq!(
        member_names(&h, &id),
        ["anna@example.org", "bert@example.org"]
    );
    let warnings = h.conn.warnings().join("\n");
    assert!(
        warnings.contains("extern@example.org")
            && warnings.contains("delegate is not a Zivver account"),
        "{warnings}"
    );
    assert_eq!(requests(&h, "POST"), 1);

    // Rename, an alias removed, a delegate removed and one added: one PUT.
    let update = |changes: Attributes| Operation::Update {
        account: id.clone(),
        changes,
    };
    let out = exec(
        &h,
        update(attrs(&[
            ("name.formatted", json!("Informatie")),
            (ALIASES, json!(["balie@example.org"])),
            (DELEGATES, json!(["bert@example.org", "carla@example.org"])),
        ])),
    )
    .await;
    assert_eq!(out.ok(), Some(Outcome::Done));
    let g = group(&h, &id);
    assert_eq!(g["displayName"], "Informatie");
    assert_eq!(
        g[ZIVVER_GROUP_SCHEMA]["aliases"],
        json!(["balie@example.org"])
    );
    assert_eq!(
        member_names(&h, &id),
        ["bert@example.org", "carla@example.org"]
    );
    assert_eq!(requests(&h, "PUT"), 1);

    // The same again writes nothing: the fresh read shows it done.
    let out = exec(
        &h,
        update(attrs(&[
            ("name.formatted", json!("Informatie")),
            (DELEGATES, json!(["CARLA@example.org", "bert@example.org"])),
        ])),
    )
    .await;
    assert_eq!(out.ok(), Some(Outcome::Done));
    assert_eq!(requests(&h, "PUT"), 1);

    // Suspend: the remove-all PATCH.
    let out = exec(
        &h,
        Operation::SetEnabled {
            account: id.clone(),
            enabled: false,
            changes: Attributes::new(),
        },
    )
    .await;
    assert_eq!(out.ok(), Some(Outcome::Done));
    assert!(member_names(&h, &id).is_empty());
    assert_eq!(requests(&h, "PATCH"), 1);
    let observed = h.conn.read_all().await.unwrap();
    let seen = observed
        .accounts
        .iter()
        .find(|a| a.reference == id)
        .unwrap();
    assert!(!seen.enabled);

    // Resume: the delegates back with a PUT.
    let out = exec(
        &h,
        Operation::SetEnabled {
            account: id.clone(),
            enabled: true,
            changes: attrs(&[(DELEGATES, json!(["anna@example.org"]))]),
        },
    )
    .await;
    assert_eq!(out.ok(), Some(Outcome::Done));
    assert_eq!(member_names(&h, &id), ["anna@example.org"]);
    assert_eq!(requests(&h, "PUT"), 2);

    // The last delegate removed: a PUT of no members would change nothing, so the PATCH.
    let out = exec(&h, update(attrs(&[(DELEGATES, json!([]))]))).await;
    assert_eq!(out.ok(), Some(Outcome::Done));
    assert!(member_names(&h, &id).is_empty());
    assert_eq!(requests(&h, "PATCH"), 2);
    assert_eq!(requests(&h, "PUT"), 2);

    // Deleted (delete = "disable"): suspended, and done when already suspended.
    let out = exec(
        &h,
        Operation::Delete {
            account: id.clone(),
            changes: Attributes::new(),
        },
    )
    .await;
    assert_eq!(out.ok(), Some(Outcome::Done));
    assert_eq!(requests(&h, "PATCH"), 2, "nothing left to remove");
}

#[tokio::test]
async fn an_alias_that_was_a_guest_is_refused_with_its_own_reason() {
    let h = harness(|_| {}, ACCOUNTS).await;
    h.sim.state.seed_guest("balie@example.org");
    h.conn.read_all().await.unwrap();
    let out = exec(
        &h,
        Operation::Create {
            attributes: functional("info@example.org", "Info", &["balie@example.org"], &[]),
            enabled: true,
        },
    )
    .await;
    match out {
        Err(ConnectorError::Rejected { status, detail, .. }) => {
            assert_eq!(status, 400);
            assert_eq!(guest_alias(&detail), Some("balie@example.org"), "{detail}");
        }
        other => panic!("expected the guest refusal, got {other:?}"),
    }
    assert!(h.sim.state.groups().is_empty());
    assert_eq!(requests(&h, "POST"), 1, "not retried");
}

#[tokio::test]
async fn a_type_mismatch_is_refused_and_never_converted() {
    let h = harness(|_| {}, ACCOUNTS).await;
    let anna = seed_user(&h, "anna@example.org", json!({}));
    h.conn.read_all().await.unwrap();
    let out = exec(
        &h,
        Operation::Update {
            account: anna.clone(),
            changes: attrs(&[(KIND, json!("functional")), ("name.formatted", json!("X"))]),
        },
    )
    .await;
    match out {
        Err(ConnectorError::Config { detail, .. }) => {
            assert!(detail.contains("type mismatch"), "{detail}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(h.sim.state.request_count("PUT", "/"), 0);
    // A user update naming its own kind is a user update; `kind` is not sent.
    let out = exec(
        &h,
        Operation::Update {
            account: anna.clone(),
            changes: attrs(&[(KIND, json!("user")), ("name.formatted", json!("Anna"))]),
        },
    )
    .await;
    assert_eq!(out.ok(), Some(Outcome::Done));
    let user = h.sim.state.user(anna.as_str()).unwrap();
    assert_eq!(user["name"]["formatted"], "Anna");
    assert!(user.get(KIND).is_none());
}

#[tokio::test]
async fn writes_find_out_what_an_account_is_without_a_read_and_an_address_in_use_conflicts() {
    let h = harness(|_| {}, ACCOUNTS).await;
    let anna = seed_user(&h, "anna@example.org", json!({}));
    let info = AccountRef::new(
        h.sim
            .state
            .seed_group(json!({
                "externalId": "info@example.org", "displayName": "Info",
                "members": [{ "value": anna.as_str() }],
            }))
            .unwrap(),
    );
    // No read_all: the connector asks Zivver what the account is, and the delegate's id.
    let out = exec(
        &h,
        Operation::SetEnabled {
            account: info.clone(),
            enabled: false,
            changes: Attributes::new(),
        },
    )
    .await;
    assert_eq!(out.ok(), Some(Outcome::Done));
    assert!(member_names(&h, &info).is_empty());
    let out = exec(
        &h,
        Operation::SetEnabled {
            account: info.clone(),
            enabled: true,
            changes: attrs(&[(DELEGATES, json!(["Anna@example.org"]))]),
        },
    )
    .await;
    assert_eq!(out.ok(), Some(Outcome::Done));
    assert_eq!(member_names(&h, &info), ["anna@example.org"]);
    // An address in use by a functional account: a conflict the engine correlates.
    let out = exec(
        &h,
        Operation::Create {
            attributes: functional("info@example.org", "Info", &[], &[]),
            enabled: true,
        },
    )
    .await;
    assert!(
        matches!(out, Err(ConnectorError::Conflict { .. })),
        "{out:?}"
    );
    let found = h.conn.lookup("userName", "INFO@example.org").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].reference, info);
    // Gone is gone: a suspend is done, an update fails "account gone".
    let ghost = AccountRef::new("77777777-7777-4777-8777-777777777777");
    let out = exec(
        &h,
        Operation::SetEnabled {
            account: ghost.clone(),
            enabled: false,
            changes: Attributes::new(),
        },
    )
    .await;
    assert_eq!(out.ok(), Some(Outcome::AlreadyAbsent));
}

#[tokio::test]
async fn an_uncertain_create_is_looked_up_and_never_sent_again() {
    let h = harness(
        |s| {
            s.faults.drop_after_apply_ratio = 1.0;
            s.faults.fault_scope = Some(FaultScope::new("POST", "/Groups"));
        },
        ACCOUNTS,
    )
    .await;
    let out = exec(
        &h,
        Operation::Create {
            attributes: functional("info@example.org", "Info", &[], &[]),
            enabled: true,
        },
    )
    .await;
    assert!(
        matches!(out, Err(ConnectorError::Uncertain { .. })),
        "{out:?}"
    );
    assert_eq!(requests(&h, "POST"), 1);
    let found = h.conn.lookup("userName", "info@example.org").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(h.sim.state.groups().len(), 1);
}

#[tokio::test]
async fn functional_writes_keep_within_the_rate_budget() {
    // Zivver allows 5 requests per second here; Muster is told 4.
    let h = harness(
        |s| {
            s.faults.rate_limit = true;
            s.faults.rate_budget = 5;
            s.faults.rate_window_s = 1;
        },
        &format!("{ACCOUNTS}rate_limit = {{ requests = 4, per_seconds = 1 }}\n"),
    )
    .await;
    seed_user(&h, "anna@example.org", json!({}));
    h.conn.read_all().await.unwrap();
    let mut ids = Vec::new();
    for n in 0..4 {
        let out = exec(
            &h,
            Operation::Create {
                attributes: functional(
                    &format!("shared{n}@example.org"),
                    "Shared",
                    &[],
                    &["anna@example.org"],
                ),
                enabled: true,
            },
        )
        .await;
        match out {
            Ok(Outcome::Created(a)) => ids.push(a.reference),
            other => panic!("{other:?}"),
        }
    }
    for id in &ids {
        let out = exec(
            &h,
            Operation::SetEnabled {
                account: id.clone(),
                enabled: false,
                changes: Attributes::new(),
            },
        )
        .await;
        assert_eq!(out.ok(), Some(Outcome::Done));
    }
    let throttled = h
        .sim
        .state
        .fault_log()
        .iter()
        .filter(|f| f.fault == FaultKind::RateLimited)
        .count();
    assert_eq!(throttled, 0, "every request counted against the budget");
    assert_eq!(h.sim.state.total_requests(), 2 + 4 + 4 * 2);
}
