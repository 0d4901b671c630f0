//! The Zivver connector against `muster-sim`'s Zivver simulator: reading, and every user
//! write of `targets/zivver.md` §5 (whole-object PUTs on a fresh read, `SsoAccountKey`
//! carried, 400 as "gone", Zivver's validation texts). Memberships and rate limits are in
//! `zivver_groups`. The harness here is shared with it.

use muster_connectors::zivver::wire::{ALIASES, DELEGATES, DIVISION, SSO_ACCOUNT_KEY};
use muster_connectors::{ZivverConfig, ZivverConnector};
use muster_core::connector::{
    Attributes, Connector, ConnectorError, DeleteMeaning, Operation, Outcome,
};
use muster_core::{AccountRef, GroupRef, TargetName};
use muster_sim::ZivverSwitches;
use muster_sim::{DuplicateStatus, FaultScope, RunningZivverSim, ZivverSim, ZivverSimConfig};
use serde_json::{json, Value};
use std::sync::Arc;

pub const TOKEN: &str = "zivver-token";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const ZIVVER: &str = "urn:ietf:params:scim:schemas:zivver:0.1:User";

pub struct Harness {
    pub sim: RunningZivverSim,
    pub conn: Arc<ZivverConnector>,
    pub dir: tempfile::TempDir,
}

/// A Zivver config for `base_url` with the token in a file in `dir`, fast backoff and a
/// generous budget (tests that need the rate limit set their own). `extra` is more TOML.
pub fn zivver_config(
    base_url: &str,
    token: &str,
    dir: &std::path::Path,
    extra: &str,
) -> ZivverConfig {
    let token_file = dir.join("zivver-token");
    std::fs::write(&token_file, format!("{token}\n")).expect("write token file");
    let mut text = format!(
        "base_url = \"{base_url}\"\ntoken = {{ file = \"{}\" }}\ntimeout_s = 5\n",
        token_file.display()
    );
    for (key, default) in [
        ("backoff", "backoff = { base_ms = 5, max_ms = 50 }"),
        (
            "rate_limit",
            "rate_limit = { requests = 1000, per_seconds = 1 }",
        ),
        ("concurrency", "concurrency = 8"),
    ] {
        if !extra.contains(key) {
            text.push_str(default);
            text.push('\n');
        }
    }
    text.push_str(extra);
    let cfg: ZivverConfig = toml::from_str(&text).expect("test config parses");
    assert_eq!(cfg.validate(), Vec::<String>::new());
    cfg
}

/// A simulator (rate limit off unless `switches` turns it on, divisions `Sales` and
/// `Finance`) and a connector to it.
pub async fn harness(switches: impl FnOnce(&mut ZivverSwitches), extra: &str) -> Harness {
    let mut sw = ZivverSwitches::without_rate_limit();
    switches(&mut sw);
    let sim = ZivverSim::start(ZivverSimConfig {
        divisions: vec!["Sales".into(), "Finance".into()],
        switches: sw,
        ..ZivverSimConfig::default()
    })
    .await
    .expect("simulator starts");
    let dir = tempfile::tempdir().unwrap();
    let cfg = zivver_config(&sim.base_url, TOKEN, dir.path(), extra);
    let conn =
        Arc::new(ZivverConnector::connect(TargetName::new("zivver"), &cfg).expect("connects"));
    Harness { sim, conn, dir }
}

pub fn attrs(pairs: &[(&str, Value)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

pub fn seed_user(h: &Harness, user_name: &str, extra: Value) -> AccountRef {
    let mut body = json!({ "userName": user_name, "name": { "formatted": user_name } });
    if let (Some(b), Value::Object(more)) = (body.as_object_mut(), extra) {
        b.extend(more);
    }
    AccountRef::new(h.sim.state.seed_user(body).expect("seed user"))
}

pub fn seed_group(h: &Harness, name: &str, members: &[&AccountRef]) -> GroupRef {
    let members: Vec<Value> = members
        .iter()
        .map(|m| json!({ "value": m.as_str() }))
        .collect();
    GroupRef::new(
        h.sim
            .state
            .seed_group(json!({ "displayName": name, "members": members }))
            .expect("seed group"),
    )
}

/// Member ids of a group in the simulator, in its order.
pub fn members(h: &Harness, group: &GroupRef) -> Vec<String> {
    let g = h.sim.state.group(group.as_str()).expect("group exists");
    g["members"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub fn user(h: &Harness, id: &AccountRef) -> Value {
    h.sim.state.user(id.as_str()).expect("user exists")
}

pub async fn exec(h: &Harness, op: Operation) -> Result<Outcome, ConnectorError> {
    h.conn.execute(&op).await
}

pub fn created(outcome: Result<Outcome, ConnectorError>) -> AccountRef {
    match outcome {
        Ok(Outcome::Created(account)) => account.reference,
        other => panic!("expected Created, got {other:?}"),
    }
}

fn update(account: &AccountRef, changes: Attributes) -> Operation {
    Operation::Update {
        account: account.clone(),
        changes,
    }
}

fn rejected_detail(r: Result<Outcome, ConnectorError>) -> (u16, String) {
    match r {
        Err(ConnectorError::Rejected { status, detail, .. }) => (status, detail),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

// ----- reading -----------------------------------------------------------------------------

#[tokio::test]
async fn read_all_normalises_users_and_reads_groups_with_members() {
    let h = harness(|_| {}, "").await;
    let a = seed_user(
        &h,
        "a@example.org",
        json!({ ENTERPRISE: { "division": "Sales" }, ZIVVER: { "aliases": ["a.alias@example.org"] } }),
    );
    let b = seed_user(&h, "b@example.org", json!({ "active": "False" }));
    let g = seed_group(&h, "Administratie", &[&b, &a]);
    seed_group(&h, "Leeg", &[]);

    let observed = h.conn.read_all().await.unwrap();
    assert_eq!(observed.accounts.len(), 2);
    let acc = |id: &AccountRef| {
        observed
            .accounts
            .iter()
            .find(|x| &x.reference == id)
            .unwrap()
    };
    assert!(acc(&a).enabled);
    assert!(!acc(&b).enabled);
    assert_eq!(acc(&a).attributes[DIVISION], json!("Sales"));
    assert_eq!(
        acc(&b).attributes[DIVISION],
        json!(""),
        "\"/\" reads as empty"
    );
    assert_eq!(acc(&a).attributes[ALIASES], json!(["a.alias@example.org"]));
    assert_eq!(acc(&b).attributes[ALIASES], json!([]));
    assert_eq!(acc(&b).attributes[DELEGATES], json!([]));
    assert_eq!(acc(&a).attributes["userName"], json!("a@example.org"));
    assert!(!acc(&a).attributes.contains_key(SSO_ACCOUNT_KEY));

    assert_eq!(observed.groups.len(), 2);
    let admin = observed.groups.iter().find(|x| x.reference == g).unwrap();
    assert_eq!(admin.name, "Administratie");
    assert_eq!(admin.members, [a.clone(), b.clone()].into_iter().collect());
    // One GET per list: Zivver is not known to page, and nothing is read per user.
    assert_eq!(h.sim.state.request_count("GET", "/Users"), 1);
    assert_eq!(h.sim.state.request_count("GET", "/Groups"), 1);
}

#[tokio::test]
async fn paging_is_followed_when_honoured_and_a_truncated_list_fails_the_read() {
    let h = harness(
        |s| {
            s.honour_paging = true;
            s.max_page = Some(2);
        },
        "",
    )
    .await;
    for i in 0..5 {
        seed_user(&h, &format!("u{i}@example.org"), json!({}));
    }
    let observed = h.conn.read_all().await.unwrap();
    assert_eq!(observed.accounts.len(), 5);

    // A server that caps pages but ignores `startIndex`: fewer distinct ids than announced.
    h.sim.state.update_switches(|s| s.honour_paging = false);
    match h.conn.read_all().await {
        Err(ConnectorError::IncompleteRead { detail, .. }) => {
            assert!(detail.contains("/Users"), "{detail}")
        }
        other => panic!("expected IncompleteRead, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_key_is_unauthorized() {
    let h = harness(|_| {}, "").await;
    let cfg = zivver_config(&h.sim.base_url, "not-the-key", h.dir.path(), "");
    let conn = ZivverConnector::connect(TargetName::new("zivver"), &cfg).unwrap();
    let err = conn.read_all().await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    assert!(err.stops_target());
}

#[tokio::test]
async fn capabilities_follow_the_config() {
    let h = harness(|_| {}, "").await;
    let caps = h.conn.capabilities();
    assert_eq!(caps.delete, DeleteMeaning::Disable);
    assert!(caps.write_only_fields.contains(SSO_ACCOUNT_KEY));
    assert!(caps.lookup);
    let cfg = zivver_config(
        &h.sim.base_url,
        TOKEN,
        h.dir.path(),
        "delete = \"hard\"\nmembership = \"add-remove\"\n",
    );
    let conn = ZivverConnector::connect(TargetName::new("z2"), &cfg).unwrap();
    assert_eq!(conn.capabilities().delete, DeleteMeaning::Remove);
}

// ----- the lifecycle, with the SSO key kept ------------------------------------------------

#[tokio::test]
async fn every_lifecycle_write_keeps_the_sso_key_and_the_rest_of_the_user() {
    let h = harness(|_| {}, "delete_rename_suffix = \" (Deleted by Muster)\"\n").await;
    assert!(h.sim.state.switches().sso_clear_on_omit);
    let key = |k: &str| (SSO_ACCOUNT_KEY, json!(k));

    // Create: real booleans, both extensions, the key.
    let id = created(
        exec(
            &h,
            Operation::Create {
                attributes: attrs(&[
                    ("userName", json!("anouk@example.org")),
                    ("name.formatted", json!("Anouk Jansen")),
                    (DIVISION, json!("Sales")),
                    (ALIASES, json!(["a.jansen@example.org"])),
                    key("anouk@upn.example"),
                ]),
                enabled: true,
            },
        )
        .await,
    );
    assert_eq!(
        h.sim.state.sso_key_of(id.as_str()).as_deref(),
        Some("anouk@upn.example")
    );
    let u = user(&h, &id);
    assert_eq!(u["active"], json!(true));
    assert_eq!(u[ENTERPRISE]["division"], json!("Sales"));
    assert_eq!(u[ZIVVER]["aliases"], json!(["a.jansen@example.org"]));

    // Update of one field, with the unchanged key resent (as the engine does).
    let out = exec(
        &h,
        update(
            &id,
            attrs(&[
                ("name.formatted", json!("Anouk de Vries")),
                key("anouk@upn.example"),
            ]),
        ),
    )
    .await;
    assert_eq!(out.unwrap(), Outcome::Done);
    let u = user(&h, &id);
    assert_eq!(u["name"]["formatted"], json!("Anouk de Vries"));
    // Whole-object PUT: what the update did not name is still there.
    assert_eq!(u[ENTERPRISE]["division"], json!("Sales"));
    assert_eq!(u[ZIVVER]["aliases"], json!(["a.jansen@example.org"]));
    assert_eq!(
        h.sim.state.sso_key_of(id.as_str()).as_deref(),
        Some("anouk@upn.example")
    );

    // Disable and enable.
    for enabled in [false, true] {
        let out = exec(
            &h,
            Operation::SetEnabled {
                account: id.clone(),
                enabled,
                changes: attrs(&[key("anouk@upn.example")]),
            },
        )
        .await;
        assert_eq!(out.unwrap(), Outcome::Done);
        assert_eq!(user(&h, &id)["active"], json!(enabled));
        assert_eq!(
            h.sim.state.sso_key_of(id.as_str()).as_deref(),
            Some("anouk@upn.example")
        );
    }

    // A new key replaces the old one.
    let out = exec(&h, update(&id, attrs(&[key("anouk.devries@upn.example")]))).await;
    assert_eq!(out.unwrap(), Outcome::Done);
    assert_eq!(
        h.sim.state.sso_key_of(id.as_str()).as_deref(),
        Some("anouk.devries@upn.example")
    );

    // Delete = disable, renamed once, key kept.
    for _ in 0..2 {
        let out = exec(
            &h,
            Operation::Delete {
                account: id.clone(),
                changes: attrs(&[key("anouk.devries@upn.example")]),
            },
        )
        .await;
        assert_eq!(out.unwrap(), Outcome::Done);
    }
    let u = user(&h, &id);
    assert_eq!(u["active"], json!(false));
    assert_eq!(
        u["name"]["formatted"],
        json!("Anouk de Vries (Deleted by Muster)")
    );
    assert_eq!(u[ENTERPRISE]["division"], json!("Sales"));
    assert_eq!(
        h.sim.state.sso_key_of(id.as_str()).as_deref(),
        Some("anouk.devries@upn.example")
    );

    // Every write was a fresh GET then one PUT; no PATCH or DELETE on users.
    let writes = 1 + 2 + 1 + 2;
    assert_eq!(h.sim.state.request_count("PUT", "/Users"), writes);
    assert_eq!(h.sim.state.request_count("GET", "/Users/"), writes);
    assert_eq!(h.sim.state.request_count("DELETE", "/Users"), 0);
}

#[tokio::test]
async fn the_connector_sends_no_key_it_was_not_given() {
    // Carrying the key is the engine's job (it resends it with every write); a write without
    // it is PUT as it is, and Zivver then clears the key, as zivver.md §4.3 warns.
    let h = harness(|_| {}, "").await;
    let id = seed_user(
        &h,
        "k@example.org",
        json!({ ZIVVER: { "SsoAccountKey": "k@upn.example" } }),
    );
    exec(&h, update(&id, attrs(&[("nickName", json!("K"))])))
        .await
        .unwrap();
    assert_eq!(h.sim.state.sso_key_of(id.as_str()), None);
    assert_eq!(user(&h, &id)["nickName"], json!("K"));
}

#[tokio::test]
async fn an_unchanged_user_is_not_written() {
    let h = harness(|_| {}, "").await;
    let id = seed_user(&h, "same@example.org", json!({ "nickName": "S" }));
    let out = exec(&h, update(&id, attrs(&[("nickName", json!("S"))]))).await;
    assert_eq!(out.unwrap(), Outcome::Done);
    assert_eq!(h.sim.state.request_count("PUT", "/Users"), 0);
}

// ----- gone, refused, duplicate ------------------------------------------------------------

#[tokio::test]
async fn a_deleted_account_reads_400_and_counts_as_gone() {
    let h = harness(|_| {}, "delete = \"hard\"\n").await;
    let id = seed_user(&h, "gone@example.org", json!({}));
    let g = seed_group(&h, "G", &[]);
    assert_eq!(
        exec(
            &h,
            Operation::Delete {
                account: id.clone(),
                changes: Attributes::new()
            }
        )
        .await
        .unwrap(),
        Outcome::Done
    );
    assert!(h.sim.state.user(id.as_str()).is_none());

    let disable = Operation::SetEnabled {
        account: id.clone(),
        enabled: false,
        changes: attrs(&[(SSO_ACCOUNT_KEY, json!("x"))]),
    };
    assert_eq!(exec(&h, disable).await.unwrap(), Outcome::AlreadyAbsent);
    let delete = Operation::Delete {
        account: id.clone(),
        changes: Attributes::new(),
    };
    assert_eq!(exec(&h, delete).await.unwrap(), Outcome::AlreadyAbsent);
    let revoke = Operation::Revoke {
        account: id.clone(),
        group: g.clone(),
    };
    assert_eq!(exec(&h, revoke).await.unwrap(), Outcome::AlreadyAbsent);

    for op in [
        update(&id, attrs(&[("nickName", json!("x"))])),
        Operation::SetEnabled {
            account: id.clone(),
            enabled: true,
            changes: Attributes::new(),
        },
    ] {
        match exec(&h, op).await {
            Err(ConnectorError::AccountGone { account, .. }) => assert_eq!(account, id),
            other => panic!("expected AccountGone, got {other:?}"),
        }
    }
    match exec(
        &h,
        Operation::Grant {
            account: id.clone(),
            group: g.clone(),
        },
    )
    .await
    {
        Err(ConnectorError::AccountGone { account, .. }) => assert_eq!(account, id),
        other => panic!("expected AccountGone, got {other:?}"),
    }
    assert!(members(&h, &g).is_empty());
    // Nothing was written to a user that is not there.
    assert_eq!(h.sim.state.request_count("PUT", "/Users"), 0);
}

#[tokio::test]
async fn disable_mode_delete_of_a_deleted_account_is_already_absent() {
    let h = harness(|_| {}, "").await;
    let id = AccountRef::new("00000000-0000-4000-8000-000000000000");
    let out = exec(
        &h,
        Operation::Delete {
            account: id,
            changes: Attributes::new(),
        },
    )
    .await;
    assert_eq!(out.unwrap(), Outcome::AlreadyAbsent);
    assert_eq!(h.sim.state.request_count("PUT", "/Users"), 0);
}

#[tokio::test]
async fn an_invalid_division_fails_with_zivvers_text_and_is_not_retried() {
    let h = harness(|_| {}, "").await;
    let id = seed_user(&h, "d@example.org", json!({}));
    let (status, detail) =
        rejected_detail(exec(&h, update(&id, attrs(&[(DIVISION, json!("Marketing"))]))).await);
    assert_eq!(
        (status, detail.as_str()),
        (400, "Invalid division: Marketing")
    );
    assert_eq!(h.sim.state.request_count("PUT", "/Users"), 1);
    // A known one lands; clearing it writes Zivver's "/".
    exec(&h, update(&id, attrs(&[(DIVISION, json!("Finance"))])))
        .await
        .unwrap();
    assert_eq!(user(&h, &id)[ENTERPRISE]["division"], json!("Finance"));
    exec(&h, update(&id, attrs(&[(DIVISION, json!(""))])))
        .await
        .unwrap();
    assert_eq!(user(&h, &id)[ENTERPRISE]["division"], json!("/"));

    // On a create, too.
    let (status, detail) = rejected_detail(
        exec(
            &h,
            Operation::Create {
                attributes: attrs(&[
                    ("userName", json!("new@example.org")),
                    (DIVISION, json!("Sales2")),
                ]),
                enabled: true,
            },
        )
        .await,
    );
    assert_eq!((status, detail.as_str()), (400, "Invalid division: Sales2"));
    assert!(h.sim.state.user_by_name("new@example.org").is_none());
}

#[tokio::test]
async fn aliases_are_added_and_removed() {
    let h = harness(|_| {}, "").await;
    let id = seed_user(&h, "al@example.org", json!({}));
    for want in [
        json!(["al.one@example.org"]),
        json!(["al.one@example.org", "al.two@example.org"]),
        json!(["al.two@example.org"]),
        json!([]),
    ] {
        exec(&h, update(&id, attrs(&[(ALIASES, want.clone())])))
            .await
            .unwrap();
        assert_eq!(user(&h, &id)[ZIVVER]["aliases"], want);
        let observed = h.conn.read_all().await.unwrap();
        assert_eq!(observed.accounts[0].attributes[ALIASES], want);
    }
}

#[tokio::test]
async fn a_taken_alias_fails_only_that_operation() {
    let h = harness(|_| {}, "").await;
    let a = seed_user(&h, "owner@example.org", json!({}));
    let b = seed_user(&h, "other@example.org", json!({}));
    let c = seed_user(&h, "third@example.org", json!({}));
    let ops = [
        update(&a, attrs(&[("nickName", json!("Owner"))])),
        update(&b, attrs(&[(ALIASES, json!(["owner@example.org"]))])),
        update(&c, attrs(&[(ALIASES, json!(["third.alias@example.org"]))])),
    ];
    let mut tasks = Vec::new();
    for op in ops {
        let conn = h.conn.clone();
        tasks.push(tokio::spawn(async move { conn.execute(&op).await }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_eq!(results[0].as_ref().unwrap(), &Outcome::Done);
    let (status, detail) = rejected_detail(results.remove(1));
    assert_eq!(status, 400);
    assert_eq!(
        detail,
        "Error creating alias: Alias is already taken for owner@example.org"
    );
    assert_eq!(results[1].as_ref().unwrap(), &Outcome::Done);
    assert_eq!(user(&h, &a)["nickName"], json!("Owner"));
    assert_eq!(user(&h, &b)[ZIVVER]["aliases"], json!([]));
    assert_eq!(
        user(&h, &c)[ZIVVER]["aliases"],
        json!(["third.alias@example.org"])
    );
}

#[tokio::test]
async fn dropped_delegates_are_reported_as_warnings() {
    let h = harness(|_| {}, "").await;
    let id = seed_user(&h, "boss@example.org", json!({}));
    seed_user(&h, "assistant@example.org", json!({}));
    exec(
        &h,
        update(
            &id,
            attrs(&[(
                DELEGATES,
                json!(["assistant@example.org", "nobody@example.org"]),
            )]),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        user(&h, &id)[ZIVVER]["delegates"],
        json!(["assistant@example.org"])
    );
    let warnings = Connector::warnings(h.conn.as_ref());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("nobody@example.org"), "{warnings:?}");
    assert!(warnings[0].contains(id.as_str()), "{warnings:?}");
    assert!(!warnings[0].contains("assistant@"), "{warnings:?}");
}

#[tokio::test]
async fn a_duplicate_user_name_is_a_conflict_with_either_status() {
    for status in [DuplicateStatus::Conflict, DuplicateStatus::BadRequest] {
        let h = harness(|s| s.duplicate_status = status, "").await;
        seed_user(&h, "dup@example.org", json!({}));
        let out = exec(
            &h,
            Operation::Create {
                attributes: attrs(&[("userName", json!("DUP@example.org"))]),
                enabled: true,
            },
        )
        .await;
        match out {
            Err(ConnectorError::Conflict { detail, .. }) => {
                assert!(
                    detail.contains("dup@example.org") || detail.contains("DUP"),
                    "{detail}"
                )
            }
            other => panic!("{status:?}: expected Conflict, got {other:?}"),
        }
        // What the engine does next: one match, to correlate.
        let found = h.conn.lookup("userName", "DUP@example.org").await.unwrap();
        assert_eq!(found.len(), 1);
    }
}

#[tokio::test]
async fn lookup_escapes_the_value_and_ignores_case() {
    let h = harness(|_| {}, "").await;
    let id = seed_user(&h, "o+b@example.org", json!({ "nickName": "Ob" }));
    seed_user(&h, "ob@example.org", json!({}));
    let found = h.conn.lookup("userName", "O+B@EXAMPLE.ORG").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].reference, id);
    assert!(h
        .conn
        .lookup("userName", "x\" or \"1@example.org")
        .await
        .unwrap()
        .is_empty());
    // Other attributes are looked up on a full read.
    let found = h.conn.lookup("nickName", "ob").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].reference, id);
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_uncertain_and_can_be_found() {
    let h = harness(
        |s| {
            s.faults.drop_after_apply_ratio = 1.0;
            s.faults.fault_scope = Some(FaultScope::new("POST", "/Users"));
        },
        "",
    )
    .await;
    let out = exec(
        &h,
        Operation::Create {
            attributes: attrs(&[("userName", json!("lost@example.org"))]),
            enabled: true,
        },
    )
    .await;
    assert!(
        matches!(out, Err(ConnectorError::Uncertain { .. })),
        "{out:?}"
    );
    // Never posted twice.
    assert_eq!(h.sim.state.request_count("POST", "/Users"), 1);
    let found = h.conn.lookup("userName", "lost@example.org").await.unwrap();
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn hard_delete_removes_the_account_once() {
    let h = harness(|_| {}, "delete = \"hard\"\n").await;
    let id = seed_user(&h, "bye@example.org", json!({}));
    let delete = || Operation::Delete {
        account: id.clone(),
        changes: attrs(&[(SSO_ACCOUNT_KEY, json!("bye@upn.example"))]),
    };
    assert_eq!(exec(&h, delete()).await.unwrap(), Outcome::Done);
    assert!(h.sim.state.user(id.as_str()).is_none());
    assert_eq!(exec(&h, delete()).await.unwrap(), Outcome::AlreadyAbsent);
    assert_eq!(h.sim.state.request_count("DELETE", "/Users"), 2);
    assert_eq!(h.sim.state.request_count("PUT", "/Users"), 0);
}

#[tokio::test]
async fn writes_survive_5xx_and_dropped_connections() {
    let h = harness(
        |s| {
            s.faults.error_5xx_ratio = 0.15;
            s.faults.drop_ratio = 0.1;
        },
        "max_attempts = 8\n",
    )
    .await;
    let ids: Vec<AccountRef> = (0..10)
        .map(|i| seed_user(&h, &format!("f{i}@example.org"), json!({})))
        .collect();
    let mut tasks = Vec::new();
    for id in &ids {
        let conn = h.conn.clone();
        let op = update(
            id,
            attrs(&[
                (DIVISION, json!("Sales")),
                (SSO_ACCOUNT_KEY, json!(format!("{id}@upn"))),
            ]),
        );
        tasks.push(tokio::spawn(async move { conn.execute(&op).await }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), Outcome::Done);
    }
    for id in &ids {
        assert_eq!(user(&h, id)[ENTERPRISE]["division"], json!("Sales"));
        assert_eq!(
            h.sim.state.sso_key_of(id.as_str()),
            Some(format!("{id}@upn"))
        );
    }
    assert!(!h.sim.state.fault_log().is_empty());
}
