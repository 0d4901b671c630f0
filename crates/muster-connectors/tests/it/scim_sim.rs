//! The SCIM connector against `muster-sim`'s SCIM simulator: behaviour per
//! `targets/scim.md` §2–§3, and each fault mode of §4.

use super::scim_config;
use muster_connectors::ScimConnector;
use muster_core::connector::{
    Attributes, Connector, ConnectorError, DeleteMeaning, Operation, Outcome,
};
use muster_core::{AccountRef, GroupRef, TargetName};
use muster_sim::{Faults, RunningScimSim, ScimSim, ScimSimConfig, ScimSwitches, SpcMode};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "sim-token";
const EXT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const DEPT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";
const WORK_EMAIL: &str = r#"emails[type eq "work"].value"#;

struct Harness {
    sim: RunningScimSim,
    conn: Arc<ScimConnector>,
    _dir: tempfile::TempDir,
}

async fn start(switches: ScimSwitches) -> RunningScimSim {
    ScimSim::start(ScimSimConfig {
        switches,
        ..ScimSimConfig::default()
    })
    .await
    .expect("simulator starts")
}

async fn connect_to(sim: &RunningScimSim, dir: &tempfile::TempDir, extra: &str) -> ScimConnector {
    let cfg = scim_config(&sim.base_url, TOKEN, dir.path(), extra);
    ScimConnector::connect(TargetName::new("sim"), &cfg)
        .await
        .expect("connects")
}

async fn harness(switches: ScimSwitches, extra: &str) -> Harness {
    let sim = start(switches).await;
    let dir = tempfile::tempdir().unwrap();
    let conn = Arc::new(connect_to(&sim, &dir, extra).await);
    Harness {
        sim,
        conn,
        _dir: dir,
    }
}

fn no_patch() -> ScimSwitches {
    ScimSwitches {
        patch: false,
        ..ScimSwitches::default()
    }
}

fn attrs(pairs: &[(&str, Value)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn seed_user(h: &Harness, name: &str) -> AccountRef {
    AccountRef::new(
        h.sim
            .state
            .seed_user(json!({ "userName": name, "emails": [{ "type": "work", "value": format!("{name}@corp.example") }] }))
            .expect("seed user"),
    )
}

fn seed_group(h: &Harness, name: &str, members: &[&AccountRef]) -> GroupRef {
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

fn members(h: &Harness, group: &GroupRef) -> Vec<String> {
    let g = h.sim.state.group(group.as_str()).expect("group exists");
    let mut out: Vec<String> = g["members"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn user(h: &Harness, id: &AccountRef) -> Value {
    h.sim.state.user(id.as_str()).expect("user exists")
}

async fn exec(h: &Harness, op: Operation) -> Result<Outcome, ConnectorError> {
    h.conn.execute(&op).await
}

fn created(outcome: Outcome) -> AccountRef {
    match outcome {
        Outcome::Created(account) => account.reference,
        other => panic!("expected Created, got {other:?}"),
    }
}

// ----- reading -----------------------------------------------------------------------------

#[tokio::test]
async fn read_all_pages_through_users_and_groups() {
    let h = harness(ScimSwitches::default(), "page_size = 10").await;
    let ids: Vec<AccountRef> = (0..25)
        .map(|i| seed_user(&h, &format!("user{i:02}")))
        .collect();
    let staff = seed_group(&h, "staff", &[&ids[0], &ids[3], &ids[24]]);
    seed_group(&h, "empty", &[]);

    let observed = h.conn.read_all().await.unwrap();
    assert_eq!(observed.accounts.len(), 25);
    let distinct: std::collections::BTreeSet<_> =
        observed.accounts.iter().map(|a| &a.reference).collect();
    assert_eq!(distinct.len(), 25);
    assert_eq!(
        h.sim.state.request_count("GET", "/Users"),
        3,
        "pages of 10, 10, 5"
    );
    let a = observed
        .accounts
        .iter()
        .find(|a| a.reference == ids[3])
        .unwrap();
    assert!(a.enabled);
    assert_eq!(a.attributes["userName"], json!("user03"));
    assert_eq!(a.attributes[WORK_EMAIL], json!("user03@corp.example"));

    let g = observed
        .groups
        .iter()
        .find(|g| g.reference == staff)
        .unwrap();
    assert_eq!(g.name, "staff");
    let expected: std::collections::BTreeSet<_> =
        [&ids[0], &ids[3], &ids[24]].into_iter().cloned().collect();
    assert_eq!(g.members, expected);
    assert_eq!(observed.groups.len(), 2);
}

#[tokio::test]
async fn a_server_that_ignores_paging_is_read_in_one_page() {
    let switches = ScimSwitches {
        honour_paging: false,
        ..ScimSwitches::default()
    };
    let h = harness(switches, "page_size = 5").await;
    for i in 0..12 {
        seed_user(&h, &format!("u{i}"));
    }
    let observed = h.conn.read_all().await.unwrap();
    assert_eq!(observed.accounts.len(), 12);
    assert_eq!(h.sim.state.request_count("GET", "/Users"), 1);
}

#[tokio::test]
async fn page_size_is_capped_by_max_results() {
    let switches = ScimSwitches {
        max_results: 4,
        ..ScimSwitches::default()
    };
    let h = harness(switches, "page_size = 100").await;
    for i in 0..9 {
        seed_user(&h, &format!("u{i}"));
    }
    assert_eq!(h.conn.read_all().await.unwrap().accounts.len(), 9);
    assert_eq!(h.sim.state.request_count("GET", "/Users"), 3);
}

// ----- users -------------------------------------------------------------------------------

async fn user_lifecycle(h: &Harness) {
    let outcome = exec(
        h,
        Operation::Create {
            attributes: attrs(&[
                ("userName", json!("ann")),
                ("externalId", json!("E1")),
                ("name.givenName", json!("Ann")),
                ("name.familyName", json!("Lee")),
                ("title", json!("Teacher")),
                (WORK_EMAIL, json!("ann@corp.example")),
                (DEPT, json!("Science")),
            ]),
            enabled: false,
        },
    )
    .await
    .unwrap();
    let Outcome::Created(account) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(!account.enabled);
    assert_eq!(account.attributes[DEPT], json!("Science"));
    let id = account.reference;
    let stored = user(h, &id);
    assert_eq!(stored["active"], json!(false));
    assert!(stored["schemas"].as_array().unwrap().contains(&json!(EXT)));

    exec(
        h,
        Operation::Update {
            account: id.clone(),
            changes: attrs(&[
                ("name.familyName", json!("Smith")),
                (WORK_EMAIL, json!("ann.smith@corp.example")),
                (DEPT, json!("Maths")),
                ("title", Value::Null),
            ]),
        },
    )
    .await
    .unwrap();
    let stored = user(h, &id);
    assert_eq!(stored["name"]["familyName"], json!("Smith"));
    assert_eq!(stored["name"]["givenName"], json!("Ann"));
    assert_eq!(
        stored["emails"][0]["value"],
        json!("ann.smith@corp.example")
    );
    assert_eq!(stored[EXT]["department"], json!("Maths"));
    assert_eq!(stored["externalId"], json!("E1"));
    assert!(stored.get("title").is_none(), "{stored}");

    let enable = Operation::SetEnabled {
        account: id.clone(),
        enabled: true,
        changes: attrs(&[("nickName", json!("annie"))]),
    };
    assert_eq!(exec(h, enable).await.unwrap(), Outcome::Done);
    let stored = user(h, &id);
    assert_eq!(stored["active"], json!(true));
    assert_eq!(stored["nickName"], json!("annie"));

    let disable = Operation::SetEnabled {
        account: id.clone(),
        enabled: false,
        changes: Attributes::new(),
    };
    assert_eq!(exec(h, disable).await.unwrap(), Outcome::Done);
    assert_eq!(user(h, &id)["active"], json!(false));

    // Delete in the default mode disables, and keeps the account.
    assert_eq!(h.conn.capabilities().delete, DeleteMeaning::Disable);
    exec(
        h,
        Operation::SetEnabled {
            account: id.clone(),
            enabled: true,
            changes: Attributes::new(),
        },
    )
    .await
    .unwrap();
    let delete = Operation::Delete {
        account: id.clone(),
        changes: Attributes::new(),
    };
    assert_eq!(exec(h, delete).await.unwrap(), Outcome::Done);
    assert_eq!(user(h, &id)["active"], json!(false));

    // The read reflects what was written, in the same paths.
    let observed = h.conn.read_all().await.unwrap();
    let a = &observed.accounts[0];
    assert!(!a.enabled);
    assert_eq!(a.attributes["name.familyName"], json!("Smith"));
    assert_eq!(a.attributes[WORK_EMAIL], json!("ann.smith@corp.example"));
}

#[tokio::test]
async fn user_lifecycle_with_patch_sends_one_patch_per_change_set() {
    let h = harness(ScimSwitches::default(), "").await;
    assert!(h.conn.features().patch);
    user_lifecycle(&h).await;
    assert_eq!(h.sim.state.request_count("PUT", "/Users"), 0);
    assert_eq!(h.sim.state.request_count("PATCH", "/Users"), 5);
    assert_eq!(
        h.sim.state.request_count("GET", "/Users/"),
        0,
        "no reads before PATCH"
    );
}

#[tokio::test]
async fn user_lifecycle_without_patch_reads_then_puts() {
    let h = harness(no_patch(), "").await;
    assert!(!h.conn.features().patch);
    user_lifecycle(&h).await;
    assert_eq!(h.sim.state.request_count("PATCH", "/"), 0);
    assert_eq!(h.sim.state.request_count("PUT", "/Users"), 5);
}

#[tokio::test]
async fn a_work_email_can_be_added_by_path_to_a_user_without_one() {
    // A `replace` on `emails[type eq "work"].value` matches nothing here; RFC 7644 answers
    // 400 noTarget, and the connector writes through GET + PUT instead.
    let h = harness(ScimSwitches::default(), "").await;
    let id = AccountRef::new(h.sim.state.seed_user(json!({ "userName": "bob" })).unwrap());
    exec(
        &h,
        Operation::Update {
            account: id.clone(),
            changes: attrs(&[
                (WORK_EMAIL, json!("bob@corp.example")),
                ("title", json!("Chef")),
            ]),
        },
    )
    .await
    .unwrap();
    let stored = user(&h, &id);
    assert_eq!(
        stored["emails"],
        json!([{ "type": "work", "value": "bob@corp.example" }])
    );
    assert_eq!(stored["title"], json!("Chef"));
}

#[tokio::test]
async fn delete_mode_delete_removes_and_a_second_delete_is_already_absent() {
    let h = harness(ScimSwitches::default(), "delete = \"delete\"").await;
    assert_eq!(h.conn.capabilities().delete, DeleteMeaning::Remove);
    let id = seed_user(&h, "gone");
    let delete = Operation::Delete {
        account: id.clone(),
        changes: Attributes::new(),
    };
    assert_eq!(exec(&h, delete.clone()).await.unwrap(), Outcome::Done);
    assert!(h.sim.state.user(id.as_str()).is_none());
    assert_eq!(exec(&h, delete).await.unwrap(), Outcome::AlreadyAbsent);
}

#[tokio::test]
async fn a_missing_user_is_gone_or_already_absent_by_operation() {
    for switches in [ScimSwitches::default(), no_patch()] {
        let h = harness(switches, "").await;
        let ghost = AccountRef::new("no-such-user");
        let update = Operation::Update {
            account: ghost.clone(),
            changes: attrs(&[("title", json!("x"))]),
        };
        assert!(matches!(
            exec(&h, update).await,
            Err(ConnectorError::AccountGone { account, .. }) if account == ghost
        ));
        let enable = Operation::SetEnabled {
            account: ghost.clone(),
            enabled: true,
            changes: Attributes::new(),
        };
        assert!(matches!(
            exec(&h, enable).await,
            Err(ConnectorError::AccountGone { .. })
        ));
        let disable = Operation::SetEnabled {
            account: ghost.clone(),
            enabled: false,
            changes: Attributes::new(),
        };
        assert_eq!(exec(&h, disable).await.unwrap(), Outcome::AlreadyAbsent);
        let delete = Operation::Delete {
            account: ghost.clone(),
            changes: Attributes::new(),
        };
        assert_eq!(exec(&h, delete).await.unwrap(), Outcome::AlreadyAbsent);
    }
}

#[tokio::test]
async fn a_duplicate_user_name_is_a_conflict_with_the_servers_detail() {
    let h = harness(ScimSwitches::default(), "").await;
    seed_user(&h, "taken");
    let err = exec(
        &h,
        Operation::Create {
            attributes: attrs(&[("userName", json!("TAKEN"))]),
            enabled: true,
        },
    )
    .await
    .unwrap_err();
    match err {
        ConnectorError::Conflict { detail, .. } => {
            assert!(detail.starts_with("uniqueness"), "{detail}")
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(h.sim.state.users().len(), 1);
}

#[tokio::test]
async fn a_rejected_write_carries_the_scim_detail() {
    let h = harness(ScimSwitches::default(), "").await;
    let err = exec(
        &h,
        Operation::Create {
            attributes: attrs(&[("name.givenName", json!("No user name"))]),
            enabled: true,
        },
    )
    .await
    .unwrap_err();
    match err {
        ConnectorError::Rejected {
            status,
            method,
            detail,
            ..
        } => {
            assert_eq!((status, method.as_str()), (400, "POST"));
            assert!(!detail.is_empty());
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

// ----- look-ups ----------------------------------------------------------------------------

#[tokio::test]
async fn lookup_escapes_a_nasty_value() {
    let h = harness(ScimSwitches::default(), "").await;
    let nasty = r#"ann "jr" o+b@corp.example"#;
    let id = seed_user(&h, nasty);
    seed_user(&h, "ann");
    seed_user(&h, r#"ann \"jr\" o b@corp.example"#);

    let found = h.conn.lookup("userName", nasty).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].reference, id);
    assert_eq!(found[0].attributes["userName"], json!(nasty));

    // userName is not case-exact.
    let found = h
        .conn
        .lookup("userName", &nasty.to_uppercase())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);

    let found = h
        .conn
        .lookup(WORK_EMAIL, &format!("{nasty}@corp.example"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert!(h
        .conn
        .lookup("userName", "nobody")
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        h.conn.lookup(r#"userName eq "x" or userName"#, "y").await,
        Err(ConnectorError::Config { .. })
    ));
}

/// A sign-in's groups: one `displayName eq` query per distinct name (escaped, members left
/// out); without filters the connector says it cannot look groups up.
#[tokio::test]
async fn lookup_groups_filters_by_display_name_without_members() {
    let h = harness(ScimSwitches::default(), "").await;
    assert!(h.conn.capabilities().group_lookup);
    let ann = seed_user(&h, "ann");
    let nasty = r#"Sales "EU" \ North"#;
    let sales = seed_group(&h, nasty, &[&ann]);
    seed_group(&h, "Sales", &[&ann]);
    seed_group(&h, r#"Sales \"EU\" \\ North"#, &[]);
    let before = h.sim.state.request_count("GET", "/Groups");

    let asked = [nasty.to_owned(), format!(" {} ", nasty.to_lowercase())];
    let found = h.conn.lookup_groups(&asked).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].reference, sales);
    assert_eq!(found[0].name, nasty);
    assert!(found[0].members.is_empty(), "members are left out");
    assert_eq!(
        h.sim.state.request_count("GET", "/Groups") - before,
        1,
        "one query for one name, however it is spelled"
    );
    assert!(h
        .conn
        .lookup_groups(&["Nobody".to_owned()])
        .await
        .unwrap()
        .is_empty());

    let unfiltered = harness(
        ScimSwitches {
            filter: false,
            ..ScimSwitches::default()
        },
        "",
    )
    .await;
    assert!(!unfiltered.conn.capabilities().group_lookup);
    assert!(matches!(
        unfiltered.conn.lookup_groups(&asked).await,
        Err(ConnectorError::Config { .. })
    ));
}

// ----- groups ------------------------------------------------------------------------------

async fn grant_and_revoke(h: &Harness) {
    let ann = seed_user(h, "ann");
    let bob = seed_user(h, "bob");
    let staff = seed_group(h, "staff", &[&bob]);
    let grant = Operation::Grant {
        account: ann.clone(),
        group: staff.clone(),
    };
    assert_eq!(exec(h, grant.clone()).await.unwrap(), Outcome::Done);
    assert_eq!(members(h, &staff), sorted(&[&ann, &bob]));
    // Granting again changes nothing.
    assert_eq!(exec(h, grant).await.unwrap(), Outcome::Done);
    assert_eq!(members(h, &staff), sorted(&[&ann, &bob]));

    let revoke = Operation::Revoke {
        account: bob.clone(),
        group: staff.clone(),
    };
    assert_eq!(exec(h, revoke.clone()).await.unwrap(), Outcome::Done);
    assert_eq!(members(h, &staff), sorted(&[&ann]));
    assert_eq!(exec(h, revoke).await.unwrap(), Outcome::AlreadyAbsent);
    assert_eq!(members(h, &staff), sorted(&[&ann]));

    let ghost_group = GroupRef::new("no-such-group");
    for op in [
        Operation::Grant {
            account: ann.clone(),
            group: ghost_group.clone(),
        },
        Operation::Revoke {
            account: ann.clone(),
            group: ghost_group.clone(),
        },
    ] {
        assert!(matches!(
            exec(h, op).await,
            Err(ConnectorError::GroupGone { group, .. }) if group == ghost_group
        ));
    }
}

fn sorted(ids: &[&AccountRef]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|i| i.as_str().to_owned()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn grant_and_revoke_with_patch_touch_one_member_each() {
    let h = harness(ScimSwitches::default(), "").await;
    grant_and_revoke(&h).await;
    assert_eq!(h.sim.state.request_count("PUT", "/Groups"), 0);
    assert_eq!(h.sim.state.request_count("GET", "/Groups"), 0);
}

#[tokio::test]
async fn grant_and_revoke_without_patch_rewrite_the_group() {
    let h = harness(no_patch(), "").await;
    grant_and_revoke(&h).await;
    assert_eq!(h.sim.state.request_count("PATCH", "/"), 0);
    // Writes only when something changes: one grant and one revoke.
    assert_eq!(h.sim.state.request_count("PUT", "/Groups"), 2);
}

#[tokio::test]
async fn twenty_concurrent_grants_into_one_group_all_land_without_patch() {
    let h = harness(no_patch(), "concurrency = 8").await;
    let group = seed_group(&h, "everyone", &[]);
    let users: Vec<AccountRef> = (0..20)
        .map(|i| seed_user(&h, &format!("u{i:02}")))
        .collect();
    let tasks: Vec<_> = users
        .iter()
        .map(|u| {
            let conn = h.conn.clone();
            let op = Operation::Grant {
                account: u.clone(),
                group: group.clone(),
            };
            tokio::spawn(async move { conn.execute(&op).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), Outcome::Done);
    }
    let refs: Vec<&AccountRef> = users.iter().collect();
    assert_eq!(members(&h, &group), sorted(&refs));
    assert_eq!(h.sim.state.request_count("PUT", "/Groups"), 20);
}

// ----- discovery ---------------------------------------------------------------------------

#[tokio::test]
async fn a_lying_server_has_patch_demoted_once_with_a_warning() {
    let switches = ScimSwitches {
        spc: SpcMode::Lying,
        ..ScimSwitches::default()
    };
    let h = harness(switches, "").await;
    assert!(h.conn.features().patch, "the server announces PATCH");
    let ann = seed_user(&h, "ann");
    let staff = seed_group(&h, "staff", &[]);

    exec(
        &h,
        Operation::Update {
            account: ann.clone(),
            changes: attrs(&[("title", json!("Nurse"))]),
        },
    )
    .await
    .unwrap();
    assert_eq!(user(&h, &ann)["title"], json!("Nurse"));
    assert!(!h.conn.features().patch);
    let warnings = h.conn.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("501"), "{warnings:?}");

    let grant = Operation::Grant {
        account: ann.clone(),
        group: staff.clone(),
    };
    assert_eq!(exec(&h, grant).await.unwrap(), Outcome::Done);
    assert_eq!(members(&h, &staff), sorted(&[&ann]));
    assert_eq!(
        h.sim.state.request_count("PATCH", "/"),
        1,
        "demoted for the rest of the run"
    );
    assert_eq!(h.conn.warnings().len(), 1);
}

#[tokio::test]
async fn without_service_provider_config_patch_is_not_assumed() {
    let switches = ScimSwitches {
        spc: SpcMode::Absent,
        ..ScimSwitches::default()
    };
    let h = harness(switches, "").await;
    let f = h.conn.features();
    assert!(!f.patch && f.filter && !f.etag, "{f:?}");
    assert!(h.conn.capabilities().lookup);
    let ann = seed_user(&h, "ann");
    exec(
        &h,
        Operation::Update {
            account: ann.clone(),
            changes: attrs(&[("title", json!("x"))]),
        },
    )
    .await
    .unwrap();
    assert_eq!(h.sim.state.request_count("PATCH", "/"), 0);
}

#[tokio::test]
async fn config_overrides_what_the_server_announces() {
    let h = harness(
        ScimSwitches::default(),
        "capabilities = { patch = false, etag = false }",
    )
    .await;
    let f = h.conn.features();
    assert!(!f.patch && !f.etag);
}

// ----- credentials -------------------------------------------------------------------------

#[tokio::test]
async fn a_wrong_token_is_unauthorized_and_stops_the_target() {
    let sim = start(ScimSwitches::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = scim_config(&sim.base_url, "wrong-token", dir.path(), "");
    // The discovery endpoint may be public (RFC 7644 §4); reading users is not.
    let err = match ScimConnector::connect(TargetName::new("sim"), &cfg).await {
        Err(e) => e,
        Ok(conn) => conn.read_all().await.unwrap_err(),
    };
    assert!(
        matches!(err, ConnectorError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    assert!(err.stops_target());
    assert!(!format!("{err:?} {err}").contains("wrong-token"));
}

#[tokio::test]
async fn basic_auth_is_accepted() {
    let sim = ScimSim::start(ScimSimConfig {
        token: String::new(),
        basic: Some(("muster".into(), "s3cret pass".into())),
        ..ScimSimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "s3cret pass\n").unwrap();
    let text = format!(
        "base_url = \"{}\"\nauth = {{ basic = {{ username = \"muster\", password = {{ file = \"{}\" }} }} }}\n",
        sim.base_url,
        pw.display()
    );
    let cfg = toml::from_str(&text).unwrap();
    let conn = ScimConnector::connect(TargetName::new("sim"), &cfg)
        .await
        .unwrap();
    assert!(conn.read_all().await.unwrap().accounts.is_empty());
}

// ----- faults ------------------------------------------------------------------------------

fn rate_limited(retry_after: bool) -> Faults {
    Faults {
        rate_limit: true,
        rate_budget: 10,
        rate_window_s: 1,
        retry_after,
        ..Faults::default()
    }
}

async fn storm(h: &Harness, n: usize) -> Duration {
    let started = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let conn = h.conn.clone();
            tokio::spawn(async move {
                conn.execute(&Operation::Create {
                    attributes: attrs(&[("userName", json!(format!("storm{i}")))]),
                    enabled: true,
                })
                .await
            })
        })
        .collect();
    for t in tasks {
        created(t.await.unwrap().expect("create succeeds after throttling"));
    }
    started.elapsed()
}

#[tokio::test]
async fn a_429_storm_with_retry_after_slows_the_target_but_succeeds() {
    let h = harness(ScimSwitches::default(), "max_attempts = 10").await;
    h.sim
        .state
        .update_switches(|s| s.faults = rate_limited(true));
    let took = storm(&h, 25).await;
    assert_eq!(h.sim.state.users().len(), 25, "each create landed once");
    let counts = h.conn.request_counts();
    assert!(counts.throttled > 0, "{counts:?}");
    // 10 in the first burst, the rest at 10/s as told.
    assert!(took >= Duration::from_millis(900), "{took:?}");
}

#[tokio::test]
async fn a_429_storm_without_retry_after_backs_off_and_succeeds() {
    let h = harness(
        ScimSwitches::default(),
        "max_attempts = 30\nbackoff = { base_ms = 20, max_ms = 200 }",
    )
    .await;
    h.sim
        .state
        .update_switches(|s| s.faults = rate_limited(false));
    storm(&h, 25).await;
    assert_eq!(h.sim.state.users().len(), 25);
    assert!(h.conn.request_counts().throttled > 0);
}

#[tokio::test]
async fn server_errors_on_put_are_retried() {
    let h = harness(no_patch(), "max_attempts = 12").await;
    let ids: Vec<AccountRef> = (0..5).map(|i| seed_user(&h, &format!("u{i}"))).collect();
    h.sim.state.update_switches(|s| {
        s.faults = Faults {
            error_5xx_ratio: 0.4,
            retry_after: false,
            ..Faults::default()
        }
    });
    for id in &ids {
        exec(
            &h,
            Operation::Update {
                account: id.clone(),
                changes: attrs(&[("title", json!("Retried"))]),
            },
        )
        .await
        .unwrap();
    }
    for id in &ids {
        assert_eq!(user(&h, id)["title"], json!("Retried"));
    }
    let counts = h.conn.request_counts();
    assert!(counts.retried > 0, "{counts:?}");
}

#[tokio::test]
async fn an_applied_post_whose_answer_is_lost_is_uncertain_and_not_repeated() {
    let h = harness(ScimSwitches::default(), "max_attempts = 5").await;
    h.sim.state.update_switches(|s| {
        s.faults = Faults {
            drop_after_apply_ratio: 1.0,
            ..Faults::default()
        }
    });
    let err = exec(
        &h,
        Operation::Create {
            attributes: attrs(&[("userName", json!("once"))]),
            enabled: true,
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ConnectorError::Uncertain { ref method, .. } if method == "POST"),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(
        h.sim.state.request_count("POST", "/Users"),
        1,
        "never re-posted"
    );
    assert_eq!(h.sim.state.users().len(), 1);

    // What the engine does next: re-correlate.
    h.sim
        .state
        .update_switches(|s| s.faults = Faults::default());
    let found = h.conn.lookup("userName", "once").await.unwrap();
    assert_eq!(found.len(), 1);
}

/// A server that lists a member as often as it is added (against RFC 7644 §3.5.2.1), behind a
/// connection that drops after every write was applied.
fn duplicating_and_dropping() -> ScimSwitches {
    ScimSwitches {
        duplicate_member_adds: true,
        faults: Faults {
            drop_after_apply_ratio: 1.0,
            only_writes: true,
            ..Faults::default()
        },
        ..ScimSwitches::default()
    }
}

/// Each member `id` of `group`, with how many times it is listed.
fn times_listed(h: &Harness, group: &GroupRef) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for m in members(h, group) {
        match out.last_mut() {
            Some((last, n)) if *last == m => *n += 1,
            _ => out.push((m, 1)),
        }
    }
    out
}

#[tokio::test]
async fn an_add_of_a_member_whose_answer_is_lost_is_read_back_and_never_resent_blindly() {
    let h = harness(duplicating_and_dropping(), "max_attempts = 5").await;
    let ann = seed_user(&h, "ann");
    let bob = seed_user(&h, "bob");
    let staff = seed_group(&h, "staff", &[&bob]);
    let grant = |account: &AccountRef| Operation::Grant {
        account: account.clone(),
        group: staff.clone(),
    };
    // Not yet a member: the add landed, the read says so.
    assert_eq!(exec(&h, grant(&ann)).await.unwrap(), Outcome::Done);
    assert_eq!(
        h.sim.state.request_count("PATCH", "/Groups"),
        1,
        "the add is sent once; the group is read instead of sending it again"
    );
    assert_eq!(times_listed(&h, &staff), {
        let mut v = vec![(ann.as_str().to_owned(), 1), (bob.as_str().to_owned(), 1)];
        v.sort();
        v
    });
    // Already a member: the server listed it twice; the read finds that and lists it once.
    // Every answer is lost, so that repair (safe to repeat) ends uncertain, listed once.
    let again = exec(&h, grant(&bob)).await;
    assert!(
        matches!(
            again,
            Ok(Outcome::Done) | Err(ConnectorError::Uncertain { .. })
        ),
        "{again:?}"
    );
    assert!(
        times_listed(&h, &staff).iter().all(|(_, n)| *n == 1),
        "{:?}",
        times_listed(&h, &staff)
    );
}

#[tokio::test]
async fn a_member_listed_twice_is_read_as_such_and_a_revoke_takes_every_entry() {
    let h = harness(
        ScimSwitches {
            duplicate_member_adds: true,
            ..ScimSwitches::default()
        },
        "",
    )
    .await;
    let ann = seed_user(&h, "ann");
    let bob = seed_user(&h, "bob");
    let staff = seed_group(&h, "staff", &[&ann, &bob, &bob]);
    let read = h.conn.read_all().await.unwrap();
    let group = read.groups.iter().find(|g| g.reference == staff).unwrap();
    assert_eq!(group.members.len(), 2);
    assert_eq!(
        group.duplicates.iter().collect::<Vec<_>>(),
        [(&bob, &2)],
        "bob is listed twice"
    );
    let revoke = Operation::Revoke {
        account: bob.clone(),
        group: staff.clone(),
    };
    assert_eq!(exec(&h, revoke).await.unwrap(), Outcome::Done);
    assert_eq!(members(&h, &staff), sorted(&[&ann]));
    let grant = Operation::Grant {
        account: bob.clone(),
        group: staff.clone(),
    };
    assert_eq!(exec(&h, grant).await.unwrap(), Outcome::Done);
    assert_eq!(members(&h, &staff), sorted(&[&ann, &bob]));
    let read = h.conn.read_all().await.unwrap();
    assert!(read.groups.iter().all(|g| g.duplicates.is_empty()));
}

#[tokio::test]
async fn a_post_answered_503_after_apply_is_uncertain() {
    let h = harness(ScimSwitches::default(), "").await;
    h.sim.state.update_switches(|s| {
        s.faults = Faults {
            error_5xx_after_apply_ratio: 1.0,
            ..Faults::default()
        }
    });
    let err = exec(
        &h,
        Operation::Create {
            attributes: attrs(&[("userName", json!("once"))]),
            enabled: true,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectorError::Uncertain { .. }), "{err:?}");
    assert_eq!(h.sim.state.request_count("POST", "/Users"), 1);
    assert_eq!(h.sim.state.users().len(), 1);
}

#[tokio::test]
async fn a_post_that_outlasts_the_timeout_is_uncertain() {
    let h = harness(ScimSwitches::default(), "timeout_s = 1").await;
    h.sim.state.update_switches(|s| {
        s.faults = Faults {
            hang_ms: 1_500,
            ..Faults::default()
        }
    });
    let err = exec(
        &h,
        Operation::Create {
            attributes: attrs(&[("userName", json!("slow"))]),
            enabled: true,
        },
    )
    .await
    .unwrap_err();
    match &err {
        ConnectorError::Uncertain { detail, .. } => {
            assert!(detail.contains("timed out"), "{detail}")
        }
        other => panic!("expected Uncertain, got {other:?}"),
    }
    assert_eq!(h.sim.state.request_count("POST", "/Users"), 1);
}

#[tokio::test]
async fn dropped_connections_on_reads_are_retried() {
    let h = harness(ScimSwitches::default(), "page_size = 3\nmax_attempts = 10").await;
    for i in 0..10 {
        seed_user(&h, &format!("u{i}"));
    }
    h.sim.state.update_switches(|s| {
        s.faults = Faults {
            drop_ratio: 0.3,
            ..Faults::default()
        }
    });
    assert_eq!(h.conn.read_all().await.unwrap().accounts.len(), 10);
}

#[tokio::test]
async fn requests_are_counted_by_method() {
    let h = harness(ScimSwitches::default(), "").await;
    let before = h.conn.request_counts();
    assert_eq!(before.get, 1, "the discovery read");
    let id = created(
        exec(
            &h,
            Operation::Create {
                attributes: attrs(&[("userName", json!("c"))]),
                enabled: true,
            },
        )
        .await
        .unwrap(),
    );
    exec(
        &h,
        Operation::Update {
            account: id,
            changes: attrs(&[("title", json!("t"))]),
        },
    )
    .await
    .unwrap();
    let after = h.conn.request_counts();
    assert_eq!((after.post, after.patch, after.total()), (1, 1, 3));
    assert_eq!(after.total(), h.sim.state.total_requests());
}

// ----- answers that are not JSON, and the bounds of retrying ---------------------------------

#[tokio::test]
async fn a_create_answered_with_malformed_json_is_uncertain_and_not_repeated() {
    let h = harness(ScimSwitches::default(), "max_attempts = 5").await;
    h.sim.state.update_switches(|s| {
        s.faults = Faults {
            malformed_json_ratio: 1.0,
            ..Faults::default()
        }
    });
    let err = exec(
        &h,
        Operation::Create {
            attributes: attrs(&[("userName", json!("garbled"))]),
            enabled: true,
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ConnectorError::Uncertain { ref detail, .. } if detail.contains("not JSON")),
        "{err:?}"
    );
    assert_eq!(
        h.sim.state.request_count("POST", "/Users"),
        1,
        "never re-posted"
    );
    assert_eq!(h.sim.state.users().len(), 1, "the create took effect");
}

#[tokio::test]
async fn a_read_answered_with_malformed_json_is_sent_again_a_bounded_number_of_times() {
    let h = harness(ScimSwitches::default(), "").await;
    seed_user(&h, "alice");
    h.sim.state.update_switches(|s| {
        s.faults = Faults {
            malformed_json_ratio: 1.0,
            ..Faults::default()
        }
    });
    let err = h.conn.lookup("userName", "alice").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Protocol { .. }), "{err:?}");
    assert_eq!(
        h.sim.state.request_count("GET", "/Users"),
        3,
        "three attempts, then the reason"
    );
    // A fifth of the answers garbled: the reads still succeed.
    h.sim
        .state
        .update_switches(|s| s.faults.malformed_json_ratio = 0.2);
    for _ in 0..5 {
        assert_eq!(h.conn.lookup("userName", "alice").await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_write_that_keeps_failing_is_tried_max_attempts_times_then_reported() {
    let h = harness(ScimSwitches::default(), "max_attempts = 3").await;
    let alice = seed_user(&h, "alice");
    h.sim.state.update_switches(|s| {
        s.faults = Faults {
            error_5xx_ratio: 1.0,
            error_statuses: vec![500, 502],
            ..Faults::default()
        }
    });
    let err = exec(
        &h,
        Operation::Update {
            account: alice,
            changes: attrs(&[("title", json!("Boss"))]),
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectorError::Uncertain { .. }), "{err:?}");
    assert_eq!(h.sim.state.request_count("PATCH", "/Users"), 3);
}

#[tokio::test]
async fn a_retry_after_beyond_the_time_budget_ends_the_request_at_once() {
    // The budget of one request is at least ten minutes; the server asks for an hour. Waiting
    // would hang this test; the request ends at once with the server's wish in the error.
    let h = harness(ScimSwitches::default(), "max_attempts = 5").await;
    h.sim.state.update_switches(|s| {
        s.faults = Faults {
            throttle_ratio: 1.0,
            throttle_retry_after_s: 3_600,
            ..Faults::default()
        }
    });
    let err = h.conn.lookup("userName", "alice").await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(3_600)
        ),
        "{err:?}"
    );
    assert_eq!(h.sim.state.request_count("GET", "/Users"), 1);
}

/// A grant or a revoke in a large group asks for the group without its members in the answer
/// (RFC 7644 §3.5.2 / §3.9), so its cost does not grow with the group: the PATCH carries
/// `excludedAttributes=members` and the simulator's 200 holds no member list.
#[tokio::test]
async fn membership_patches_do_not_bring_the_members_back() {
    use super::tamper::{self, Verdict};
    use hyper::Method;
    use muster_sim::ScimState;
    use std::sync::Mutex;
    /// Each PATCH answered: its path with query, status, body size, and whether it listed members.
    type Patches = Arc<Mutex<Vec<(String, u16, usize, bool)>>>;
    let seen: Patches = Arc::default();
    let log = seen.clone();
    let hook: tamper::Hook = Arc::new(move |method: &Method, path: &str, after| {
        if let (&Method::PATCH, Some((status, body))) = (method, after) {
            let members = serde_json::from_str::<Value>(body)
                .ok()
                .is_some_and(|v| v.get("members").is_some());
            log.lock()
                .unwrap()
                .push((path.to_owned(), status, body.len(), members));
        }
        Verdict::Pass
    });
    let state = ScimState::new(ScimSimConfig {
        token: TOKEN.to_owned(),
        ..ScimSimConfig::default()
    });
    let root = tamper::serve(ScimSim::app(state.clone()), hook).await;
    state.set_base_url(&format!("{root}/scim/v2"));
    let ids: Vec<Value> = (0..500)
        .map(|n| {
            let id = state
                .seed_user(json!({ "userName": format!("member{n}") }))
                .expect("seed user");
            json!({ "value": id })
        })
        .collect();
    let ann = AccountRef::new(
        state
            .seed_user(json!({ "userName": "ann" }))
            .expect("seed user"),
    );
    let group = GroupRef::new(
        state
            .seed_group(json!({ "displayName": "All staff", "members": ids }))
            .expect("seed group"),
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = scim_config(&format!("{root}/scim/v2"), TOKEN, dir.path(), "");
    let conn = ScimConnector::connect(TargetName::new("sim"), &cfg)
        .await
        .expect("connects");
    let grant = Operation::Grant {
        account: ann.clone(),
        group: group.clone(),
    };
    assert_eq!(conn.execute(&grant).await.unwrap(), Outcome::Done);
    let revoke = Operation::Revoke {
        account: ann.clone(),
        group: group.clone(),
    };
    assert_eq!(conn.execute(&revoke).await.unwrap(), Outcome::Done);
    let patches = seen.lock().unwrap().clone();
    assert_eq!(patches.len(), 2, "{patches:?}");
    for (path, status, size, members) in &patches {
        assert!(
            path.ends_with("?excludedAttributes=members"),
            "{path} asks for the whole group"
        );
        assert_eq!(*status, 200, "{path}");
        assert!(
            !members && *size < 2_000,
            "{path}: {size} bytes, members {members}"
        );
    }
    // The group itself is whole: 500 members, Ann granted and revoked.
    let listed = state.group(group.as_str()).expect("the group")["members"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(listed, 500);
}
