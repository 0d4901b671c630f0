//! The Zermelo connector against `muster-sim`'s Zermelo simulator: the user side of
//! `targets/zermelo.md` §6 (create with the student record confirmed, look-up by code, partial
//! PUTs, codes escaped in URLs). Archiving and capabilities are in `zermelo_archive`, classes
//! and placements in `zermelo_classes`, errors and faults in `zermelo_faults`. The harness here
//! is shared with them.

use muster_connectors::{ZermeloConfig, ZermeloConnector};
use muster_core::connector::{Attributes, Connector, ConnectorError, Operation, Outcome};
use muster_core::{AccountRef, TargetName};
use muster_sim::{RunningZermeloSim, ZermeloSim, ZermeloSimConfig, ZermeloSwitches};
use serde_json::{json, Value};
use std::sync::Arc;

pub const TOKEN: &str = "zermelo-token";

pub struct Harness {
    pub sim: RunningZermeloSim,
    pub conn: Arc<ZermeloConnector>,
    pub dir: tempfile::TempDir,
}

/// A Zermelo config for the portal `base_url` with the token in a file in `dir`, fast backoff
/// and a generous budget (tests that need other values pass them). `extra` is more TOML.
pub fn zermelo_config(
    base_url: &str,
    token: &str,
    dir: &std::path::Path,
    extra: &str,
) -> ZermeloConfig {
    let token_file = dir.join("zermelo-token");
    std::fs::write(&token_file, format!("{token}\n")).expect("write token file");
    let mut text = format!(
        "base_url = \"{base_url}\"\ntoken = {{ file = \"{}\" }}\n",
        token_file.display()
    );
    for (key, default) in [
        ("backoff", "backoff = { base_ms = 5, max_ms = 50 }"),
        (
            "rate_limit",
            "rate_limit = { requests = 1000, per_seconds = 1 }",
        ),
        ("timeout_s", "timeout_s = 5"),
        ("max_attempts", "max_attempts = 3"),
    ] {
        if !extra.contains(key) {
            text.push_str(default);
            text.push('\n');
        }
    }
    text.push_str(extra);
    let cfg: ZermeloConfig = toml::from_str(&text).expect("test config parses");
    assert_eq!(cfg.validate(), Vec::<String>::new());
    cfg
}

/// A simulator with the default classes and `switches` applied, and a connector to it.
pub async fn harness(switches: impl FnOnce(&mut ZermeloSwitches), extra: &str) -> Harness {
    let mut sw = ZermeloSwitches::default();
    switches(&mut sw);
    let sim = ZermeloSim::start(ZermeloSimConfig {
        switches: sw,
        ..ZermeloSimConfig::default()
    })
    .await
    .expect("simulator starts");
    let dir = tempfile::tempdir().unwrap();
    let cfg = zermelo_config(&sim.base_url, TOKEN, dir.path(), extra);
    let conn =
        Arc::new(ZermeloConnector::connect(TargetName::new("zermelo"), &cfg).expect("connects"));
    Harness { sim, conn, dir }
}

pub fn attrs(pairs: &[(&str, Value)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// The attributes of student `code` as a mapping would write them.
pub fn student(code: &str) -> Attributes {
    attrs(&[
        ("code", json!(code)),
        ("firstName", json!("Daan")),
        ("prefix", json!("van der")),
        ("lastName", json!("Berg")),
        ("email", json!(format!("{code}@leerling.example"))),
    ])
}

/// Seeds student `code` in the simulator, without HTTP.
pub fn seed_student(h: &Harness, code: &str) -> AccountRef {
    h.sim
        .state
        .seed_user(
            json!({ "code": code, "firstName": "Daan", "lastName": "Berg",
                           "email": format!("{code}@leerling.example"), "isStudent": true }),
        )
        .expect("seed user");
    AccountRef::new(code)
}

pub async fn exec(h: &Harness, op: Operation) -> Result<Outcome, ConnectorError> {
    h.conn.execute(&op).await
}

/// The user as the simulator holds it.
pub fn user(h: &Harness, code: &str) -> Value {
    h.sim
        .state
        .user(code)
        .expect("user exists in the simulator")
}

/// Requests the simulator received for `"METHOD /template"`, e.g. `"PUT /users/{code}"`.
pub fn count(h: &Harness, key: &str) -> u64 {
    h.sim.state.counters().get(key).copied().unwrap_or(0)
}

/// Writes `body` to `users/{code}` as another client would, behind Muster's back.
pub async fn put_behind_musters_back(h: &Harness, code: &str, body: Value) {
    let resp = reqwest::Client::new()
        .put(format!("{}/users/{code}", h.sim.api_url()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
}

#[tokio::test]
async fn create_posts_a_student_and_confirms_its_record() {
    let h = harness(|_| {}, "").await;
    let out = exec(
        &h,
        Operation::Create {
            attributes: student("118204"),
            enabled: true,
        },
    )
    .await
    .unwrap();
    let Outcome::Created(account) = out else {
        panic!("{out:?}")
    };
    assert_eq!(account.reference.as_str(), "118204");
    assert!(account.enabled);
    assert_eq!(account.attributes["isStudent"], json!(true));
    assert_eq!(account.attributes["prefix"], json!("van der"));
    let u = user(&h, "118204");
    assert_eq!(u["isStudent"], json!(true));
    assert_eq!(u["archived"], json!(false));
    assert_eq!(u["email"], json!("118204@leerling.example"));
    assert_eq!(
        h.sim.state.student("118204").unwrap()["userCode"],
        json!("118204")
    );
    assert_eq!(count(&h, "POST /users"), 1);
    assert_eq!(
        count(&h, "GET /students/{code}"),
        1,
        "the record is confirmed"
    );
}

#[tokio::test]
async fn a_student_record_of_another_user_fails_the_create() {
    let h = harness(|_| {}, "").await;
    // The §5 defect: students/118204 exists but belongs to another user code.
    h.sim.state.seed_student("118204", "999999");
    let err = exec(
        &h,
        Operation::Create {
            attributes: student("118204"),
            enabled: true,
        },
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ConnectorError::Rejected { .. }), "{err:?}");
    assert!(
        text.contains("student record does not match user") && text.contains("999999"),
        "{text}"
    );
}

#[tokio::test]
async fn a_non_student_is_created_without_a_student_check() {
    let h = harness(|_| {}, "").await;
    let mut a = student("t.jansen");
    a.insert("isStudent".into(), json!(false));
    let out = exec(
        &h,
        Operation::Create {
            attributes: a,
            enabled: true,
        },
    )
    .await
    .unwrap();
    assert!(matches!(out, Outcome::Created(_)), "{out:?}");
    assert_eq!(user(&h, "t.jansen")["isStudent"], json!(false));
    assert!(h.sim.state.student("t.jansen").is_none());
    assert_eq!(count(&h, "GET /students/{code}"), 0);
}

#[tokio::test]
async fn an_existing_code_is_a_conflict_that_lookup_correlates() {
    let h = harness(|_| {}, "").await;
    seed_student(&h, "118204");
    let err = exec(
        &h,
        Operation::Create {
            attributes: student("118204"),
            enabled: true,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict { .. }), "{err:?}");

    let found = h.conn.lookup("code", "118204").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].reference.as_str(), "118204");
    assert_eq!(
        found[0].attributes["email"],
        json!("118204@leerling.example")
    );
    assert!(h.conn.lookup("code", "118299").await.unwrap().is_empty());
    assert!(h.conn.lookup("code", "").await.unwrap().is_empty());
    // Another attribute: by the full list, ignoring case.
    let by_mail = h
        .conn
        .lookup("email", "118204@LEERLING.example")
        .await
        .unwrap();
    assert_eq!(by_mail.len(), 1);
}

#[tokio::test]
async fn codes_with_url_characters_are_escaped() {
    let h = harness(|_| {}, "").await;
    for code in ["a/b c", "x?y#z", "50%+1"] {
        let out = exec(
            &h,
            Operation::Create {
                attributes: student(code),
                enabled: true,
            },
        )
        .await
        .unwrap();
        assert!(matches!(out, Outcome::Created(_)), "{code}: {out:?}");
        let found = h.conn.lookup("code", code).await.unwrap();
        assert_eq!(found.len(), 1, "{code}");
        assert_eq!(found[0].reference.as_str(), code);
        exec(
            &h,
            Operation::Update {
                account: AccountRef::new(code),
                changes: attrs(&[("firstName", json!("Anna"))]),
            },
        )
        .await
        .unwrap();
        assert_eq!(user(&h, code)["firstName"], json!("Anna"), "{code}");
    }
}

#[tokio::test]
async fn an_update_sends_only_the_changed_fields() {
    let h = harness(|_| {}, "").await;
    let account = seed_student(&h, "118204");
    // Someone else renames the student; Muster's update of the e-mail must not undo it.
    put_behind_musters_back(
        &h,
        "118204",
        json!({ "lastName": "Bergen", "prefix": "van den", "code": "118204" }),
    )
    .await;
    let out = exec(
        &h,
        Operation::Update {
            account: account.clone(),
            changes: attrs(&[("email", json!("d.vdberg@leerling.example"))]),
        },
    )
    .await
    .unwrap();
    assert_eq!(out, Outcome::Done);
    let u = user(&h, "118204");
    assert_eq!(u["email"], json!("d.vdberg@leerling.example"));
    assert_eq!(
        u["lastName"],
        json!("Bergen"),
        "not sent, so not overwritten"
    );
    assert_eq!(u["prefix"], json!("van den"));
    assert_eq!(u["firstName"], json!("Daan"));
    assert_eq!(u["archived"], json!(false));

    // `null` clears one field and only that one.
    exec(
        &h,
        Operation::Update {
            account,
            changes: attrs(&[("prefix", Value::Null)]),
        },
    )
    .await
    .unwrap();
    let u = user(&h, "118204");
    assert_eq!(u["prefix"], json!(""));
    assert_eq!(u["lastName"], json!("Bergen"));
    assert_eq!(count(&h, "PUT /users/{code}"), 3, "one PUT per update");
    assert_eq!(
        count(&h, "GET /users/{code}"),
        0,
        "no read before a partial PUT"
    );
}

#[tokio::test]
async fn an_update_is_checked_before_it_is_sent() {
    let h = harness(|_| {}, "").await;
    let account = seed_student(&h, "118204");
    for changes in [
        attrs(&[("nickName", json!("D"))]),
        attrs(&[("code", json!("118205"))]),
        attrs(&[("isStudent", json!("maybe"))]),
    ] {
        let err = exec(
            &h,
            Operation::Update {
                account: account.clone(),
                changes,
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ConnectorError::Config { .. }), "{err:?}");
    }
    assert_eq!(count(&h, "PUT /users/{code}"), 0);
}

#[tokio::test]
async fn an_update_of_an_unknown_user_is_account_gone() {
    let h = harness(|_| {}, "").await;
    let err = exec(
        &h,
        Operation::Update {
            account: AccountRef::new("118299"),
            changes: attrs(&[("email", json!("x@example"))]),
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::AccountGone { account, .. } if account.as_str() == "118299"),
        "{err:?}"
    );
}
