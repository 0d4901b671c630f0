//! The HelloID connector against `muster-sim`'s HelloID simulator: the full read (every page,
//! both page shapes, soft-deleted users apart) and look-ups, which never find a soft-deleted
//! user. User writes are in
//! `helloid_users`, memberships and products in `helloid_groups`, faults in `helloid_faults`;
//! the harness here is shared with them.

use super::tamper::{self, Verdict};
use hyper::Method;
use muster_connectors::{HelloIdConfig, HelloIdConnector};
use muster_core::connector::{Connector, ConnectorError, Observed, ObservedAccount, Operation};
use muster_core::TargetName;
use muster_sim::helloid::ListShape;
use muster_sim::{HelloIdSim, HelloIdSimConfig, HelloIdSwitches, RunningHelloIdSim};
use serde_json::{json, Value};
use std::sync::Arc;

pub const KEY: &str = "helloid-key";
pub const SECRET: &str = "helloid-secret";

pub struct Harness {
    pub sim: RunningHelloIdSim,
    pub conn: Arc<HelloIdConnector>,
    /// Holds the key and secret files for as long as the connector may read them.
    pub _dir: tempfile::TempDir,
}

/// A HelloID config for `api_url` with key and secret in files in `dir`, fast backoff, a
/// generous budget and a short timeout. `extra` is more TOML (keys it holds are not defaulted).
pub fn helloid_config(
    api_url: &str,
    secret: &str,
    dir: &std::path::Path,
    extra: &str,
) -> HelloIdConfig {
    let (key_file, secret_file) = (dir.join("key"), dir.join("secret"));
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let mut text = format!(
        "base_url = \"{api_url}\"\napi_key = {{ file = \"{}\" }}\n\
         api_secret = {{ file = \"{}\" }}\n",
        key_file.display(),
        secret_file.display()
    );
    for (key, default) in [
        ("backoff", "backoff = { base_ms = 5, max_ms = 50 }"),
        (
            "rate_limit",
            "rate_limit = { requests = 10000, per_seconds = 1 }",
        ),
        ("timeout_s", "timeout_s = 5"),
        ("concurrency", "concurrency = 8"),
    ] {
        if !extra.contains(key) {
            text.push_str(default);
            text.push('\n');
        }
    }
    text.push_str(extra);
    let cfg: HelloIdConfig = toml::from_str(&text).expect("test config parses");
    assert_eq!(cfg.validate(), Vec::<String>::new());
    cfg
}

/// A simulator with groups `Staff` and `department_ICT` and products `Laptop` and `Phone`,
/// switched by `switches`, and a connector to it configured with `extra`.
pub async fn harness(switches: impl FnOnce(&mut HelloIdSwitches), extra: &str) -> Harness {
    let mut sw = HelloIdSwitches::default();
    switches(&mut sw);
    let sim = HelloIdSim::start(HelloIdSimConfig {
        groups: vec!["Staff".into(), "department_ICT".into()],
        products: vec!["Laptop".into(), "Phone".into()],
        switches: sw,
        ..HelloIdSimConfig::default()
    })
    .await
    .expect("simulator starts");
    let dir = tempfile::tempdir().unwrap();
    let cfg = helloid_config(&sim.api_url(), SECRET, dir.path(), extra);
    let conn =
        Arc::new(HelloIdConnector::connect(TargetName::new("helloid"), &cfg).expect("connects"));
    Harness {
        sim,
        conn,
        _dir: dir,
    }
}

/// A user as a client would POST it.
pub fn user_body(name: &str) -> Value {
    json!({
        "userName": name, "firstName": "Maarten", "lastName": "Visser",
        "contactEmail": name, "isEnabled": true, "source": "Local",
        "userAttributes": { "department": "Burgerzaken", "title": "Medewerker" }
    })
}

impl Harness {
    /// Seeds a user without HTTP; returns its GUID.
    pub fn seed(&self, name: &str) -> String {
        self.sim.state.seed_user(user_body(name)).unwrap()
    }

    pub fn group_guid(&self, name: &str) -> String {
        self.sim
            .state
            .groups()
            .iter()
            .find(|g| g["name"] == json!(name))
            .and_then(|g| g["groupGuid"].as_str())
            .unwrap()
            .to_owned()
    }

    pub fn product_id(&self, name: &str) -> String {
        self.sim
            .state
            .products()
            .iter()
            .find(|p| p["name"] == json!(name))
            .and_then(|p| p["productId"].as_str())
            .unwrap()
            .to_owned()
    }

    pub fn count(&self, method: &str, template: &str) -> u64 {
        self.sim
            .state
            .counters()
            .get(&format!("{method} {template}"))
            .copied()
            .unwrap_or(0)
    }
}

pub fn names(accounts: &[ObservedAccount]) -> Vec<String> {
    let mut v: Vec<String> = accounts
        .iter()
        .map(|a| a.attributes["userName"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

fn sorted(mut o: Observed) -> Observed {
    o.accounts.sort_by(|a, b| a.reference.cmp(&b.reference));
    o.deleted.sort_by(|a, b| a.reference.cmp(&b.reference));
    o
}

#[tokio::test]
async fn read_all_reads_every_page_in_both_shapes_and_keeps_deleted_users_apart() {
    let h = harness(|_| {}, "").await;
    // 2 500 live users (pages of 1 000, 1 000 and 500) and exactly 1 000 deleted ones (a
    // full page, then an empty one).
    let mut guids = Vec::new();
    for i in 0..3500 {
        guids.push(h.seed(&format!("user{i:04}@x")));
    }
    for g in &guids[2500..] {
        h.sim.state.delete_user(g).unwrap();
    }
    let seen = h.conn.read_all().await.unwrap();
    assert_eq!(seen.accounts.len(), 2500);
    assert_eq!(seen.deleted.len(), 1000);
    assert!(seen
        .deleted
        .iter()
        .all(|d| guids[2500..].iter().any(|g| g == d.reference.as_str())));
    assert_eq!(names(&seen.accounts)[0], "user0000@x");
    let a = &seen.accounts[0];
    assert!(a.enabled);
    assert_eq!(
        a.attributes["userAttributes.department"],
        json!("Burgerzaken")
    );
    assert_eq!(a.attributes["mustChangePassword"], json!(false));
    assert!(!a.attributes.contains_key("managedByUserGUID"));
    // Live: skip 0, 1000, 2000; deleted: skip 0 (full) and 1000 (empty).
    assert_eq!(h.count("GET", "/users"), 5);

    h.sim
        .state
        .update_switches(|s| s.list_shape = ListShape::Data);
    let wrapped = h.conn.read_all().await.unwrap();
    assert_eq!(sorted(wrapped), sorted(seen));
}

#[tokio::test]
async fn read_all_shows_groups_with_members_and_products_with_holders() {
    let h = harness(|_| {}, "").await;
    let (a, b) = (h.seed("a@x"), h.seed("b@x"));
    let staff = h.group_guid("Staff");
    h.sim.state.add_member(&a, &staff).unwrap();
    h.sim.state.add_member(&b, &staff).unwrap();
    let laptop = h.product_id("Laptop");
    h.sim.state.seed_assignment(&a, &laptop).unwrap();
    h.sim.state.seed_assignment(&a, &laptop).unwrap();
    let seen = h.conn.read_all().await.unwrap();
    let names: Vec<&str> = seen.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Staff",
            "department_ICT",
            "Product - Laptop",
            "Product - Phone"
        ]
    );
    let g = &seen.groups[0];
    assert_eq!(g.reference.as_str(), staff);
    let members: Vec<&str> = g.members.iter().map(|m| m.as_str()).collect();
    let mut want = vec![a.as_str(), b.as_str()];
    want.sort();
    assert_eq!(members, want);
    assert!(seen.groups[1].members.is_empty());
    let p = &seen.groups[2];
    assert_eq!(p.reference.as_str(), format!("product:{laptop}"));
    assert_eq!(p.members.len(), 1);
    assert!(seen.groups[3].members.is_empty());
    // One detail read per group.
    assert_eq!(h.count("GET", "/groups/{id}"), 2);
}

#[tokio::test]
async fn lookup_by_user_name_is_one_get_and_ignores_case() {
    let h = harness(|_| {}, "").await;
    let guid = h.seed("M.Visser@Gemeente.example");
    h.seed("other@x");
    let found = h
        .conn
        .lookup("userName", "m.visser@gemeente.EXAMPLE")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].reference.as_str(), guid);
    assert_eq!(h.count("GET", "/users/{id}"), 1);
    assert!(h
        .conn
        .lookup("userName", "nobody@x")
        .await
        .unwrap()
        .is_empty());
    // A name with characters that mean something in a URL stays one path segment.
    assert!(h
        .conn
        .lookup("userName", "a/../b?c#d")
        .await
        .unwrap()
        .is_empty());
    // Another attribute: a full read, filtered.
    let by_mail = h.conn.lookup("contactEmail", "OTHER@x").await.unwrap();
    assert_eq!(names(&by_mail), ["other@x"]);
}

/// A connector to `h`'s simulator through a man in the middle that answers the look-up of
/// `name`, which the simulator does not find, with the soft-deleted user of that name, as a
/// HelloID whose `GET /users/{userName}` also finds deleted users would; with `isDeleted: true`
/// when `flagged`.
async fn finding_deleted_users(h: &Harness, name: &str, flagged: bool) -> HelloIdConnector {
    let state = h.sim.state.clone();
    let wanted = format!("/api/v1/users/{name}");
    let hook: tamper::Hook = Arc::new(
        move |method: &Method, path: &str, after: Option<(u16, &str)>| {
            if *method != Method::GET || !path.eq_ignore_ascii_case(&wanted) {
                return Verdict::Pass;
            }
            let Some((404, _)) = after else {
                return Verdict::Pass;
            };
            let deleted = state.deleted_users();
            let Some(user) = deleted.iter().find(|u| {
                u["userName"]
                    .as_str()
                    .is_some_and(|n| wanted.to_lowercase().ends_with(&n.to_lowercase()))
            }) else {
                return Verdict::Pass;
            };
            let mut user = user.clone();
            if flagged {
                user["isDeleted"] = json!(true);
            }
            Verdict::Answer(200, user.to_string())
        },
    );
    let base = tamper::serve(HelloIdSim::app(h.sim.state.clone()), hook).await;
    let cfg = helloid_config(&format!("{base}/api/v1"), SECRET, h._dir.path(), "");
    HelloIdConnector::connect(TargetName::new("helloid"), &cfg).unwrap()
}

#[tokio::test]
async fn a_look_up_by_name_never_finds_a_soft_deleted_user() {
    // Names are kept taken after a delete, so a create with the old name collides.
    let h = harness(|s| s.deleted_name_reserved = true, "").await;
    let old = h.seed("gone.visser");
    h.sim.state.delete_user(&old).unwrap();

    // Known from the last read: the GUID is among the deleted users.
    let conn = finding_deleted_users(&h, "gone.visser", false).await;
    let seen = conn.read_all().await.unwrap();
    assert_eq!(seen.deleted.len(), 1);
    assert!(conn
        .lookup("userName", "Gone.Visser")
        .await
        .unwrap()
        .is_empty());
    // The create that collides with it is a conflict naming the deleted user; the look-up the
    // engine then makes finds nothing to link it to.
    let create = Operation::Create {
        attributes: [("userName".to_owned(), json!("gone.visser"))]
            .into_iter()
            .collect(),
        enabled: true,
    };
    let err = conn.execute(&create).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Conflict { detail, .. } if detail.contains(&old)),
        "{err:?}"
    );
    assert!(conn
        .lookup("userName", "gone.visser")
        .await
        .unwrap()
        .is_empty());

    // Flagged in the answer: not found even before any read.
    let flagged = finding_deleted_users(&h, "gone.visser", true).await;
    assert!(flagged
        .lookup("userName", "gone.visser")
        .await
        .unwrap()
        .is_empty());
    // A live user is still found through the same look-up.
    let live = h.seed("live.visser");
    let found = flagged.lookup("userName", "live.visser").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].reference.as_str(), live);
}

#[tokio::test]
async fn not_found_is_read_from_the_text_whatever_the_status() {
    for (status, field) in [(400, "message"), (500, "resultMsg"), (503, "message")] {
        let h = harness(
            |s| {
                s.not_found_status = status;
                s.error_field = serde_json::from_value(json!(field)).unwrap();
            },
            "",
        )
        .await;
        assert!(h
            .conn
            .lookup("userName", "nobody@x")
            .await
            .unwrap()
            .is_empty());
        // Not retried, even under a 5xx.
        assert_eq!(h.count("GET", "/users/{id}"), 1, "status {status}");
    }
}

#[tokio::test]
async fn refused_credentials_stop_the_target() {
    let sim = HelloIdSim::start(HelloIdSimConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = helloid_config(&sim.api_url(), "wrong-secret-2718", dir.path(), "");
    let conn = HelloIdConnector::connect(TargetName::new("helloid"), &cfg).unwrap();
    let err = conn.read_all().await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    assert!(err.stops_target());
    let shown = format!("{conn:?} {cfg:?} {err}");
    assert!(
        !shown.contains("2718") && !shown.contains(SECRET),
        "{shown}"
    );
}
