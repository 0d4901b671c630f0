//! HelloID user writes against the simulator (helloid.md §6): creates with real booleans and a
//! password, full-object PUTs on a fresh read, renames on and off, enable/disable, both delete
//! modes, and a missing account under every not-found signal.

use crate::helloid::{harness, user_body, Harness};
use muster_core::connector::{Attributes, Connector, ConnectorError, Operation, Outcome};
use muster_core::AccountRef;
use serde_json::{json, Value};

fn attrs(pairs: &[(&str, Value)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn update(account: &str, changes: &[(&str, Value)]) -> Operation {
    Operation::Update {
        account: AccountRef::new(account),
        changes: attrs(changes),
    }
}

impl Harness {
    fn user(&self, guid: &str) -> Value {
        self.sim.state.user(guid).expect("user exists")
    }
}

#[tokio::test]
async fn create_posts_real_booleans_nested_attributes_and_the_password() {
    let h = harness(|_| {}, "").await;
    let op = Operation::Create {
        attributes: attrs(&[
            ("userName", json!("m.visser@x")),
            ("firstName", json!("Maarten")),
            ("lastName", json!("Visser")),
            ("mustChangePassword", json!(true)),
            ("password", json!("Welkom-0123456789")),
            ("userAttributes.department", json!("Burgerzaken")),
            ("managedByUserGUID", Value::Null),
        ]),
        enabled: false,
    };
    let Outcome::Created(account) = h.conn.execute(&op).await.unwrap() else {
        panic!("not created");
    };
    let stored = h.user(account.reference.as_str());
    assert_eq!(stored["isEnabled"], json!(false));
    assert_eq!(stored["mustChangePassword"], json!(true));
    assert_eq!(
        stored["userAttributes"],
        json!({"department": "Burgerzaken"})
    );
    assert!(!account.enabled);
    assert_eq!(account.attributes["userName"], json!("m.visser@x"));
    assert!(!account.attributes.contains_key("password"));
    assert_eq!(
        h.sim
            .state
            .password_of(account.reference.as_str())
            .as_deref(),
        Some("Welkom-0123456789")
    );
    // The same name again: a conflict, for the engine to re-correlate.
    let err = h.conn.execute(&op).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict { .. }), "{err:?}");
}

#[tokio::test]
async fn a_conflict_with_a_deleted_user_names_it() {
    let h = harness(|s| s.deleted_name_reserved = true, "").await;
    let old = h.seed("gone@x");
    h.sim.state.delete_user(&old).unwrap();
    let seen = h.conn.read_all().await.unwrap();
    assert_eq!(seen.deleted.len(), 1);
    let op = Operation::Create {
        attributes: attrs(&[("userName", json!("Gone@X"))]),
        enabled: true,
    };
    let err = h.conn.execute(&op).await.unwrap_err();
    let ConnectorError::Conflict { detail, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(detail.contains(&old), "{detail}");
}

#[tokio::test]
async fn update_lays_only_the_changes_over_a_fresh_read() {
    let h = harness(|_| {}, "").await;
    let guid = h.sim.state.seed_user({
        let mut b = user_body("a@x");
        b["userAttributes"]["phoneNumber"] = json!("+31 20");
        b
    });
    let guid = guid.unwrap();
    let op = update(
        &guid,
        &[
            ("firstName", json!("Marten")),
            ("lastName", Value::Null),
            ("userAttributes.department", json!("Sociaal Domein")),
            ("userAttributes.title", Value::Null),
        ],
    );
    assert_eq!(h.conn.execute(&op).await.unwrap(), Outcome::Done);
    let u = h.user(&guid);
    assert_eq!(u["firstName"], json!("Marten"));
    assert_eq!(u["lastName"], Value::Null);
    assert_eq!(u["contactEmail"], json!("a@x"));
    // Keys Muster did not name stay as they were.
    assert_eq!(
        u["userAttributes"],
        json!({"department": "Sociaal Domein", "phoneNumber": "+31 20"})
    );
    assert_eq!(h.count("PUT", "/users/{id}"), 1);
    // The same again changes nothing: no PUT.
    assert_eq!(h.conn.execute(&op).await.unwrap(), Outcome::Done);
    assert_eq!(h.count("PUT", "/users/{id}"), 1);
    assert_eq!(h.count("GET", "/users/{id}"), 2);
}

#[tokio::test]
async fn renames_go_through_the_identifier_object_when_on() {
    let h = harness(|_| {}, "rename_user_name = true\n").await;
    let guid = h.seed("old@x");
    let op = update(&guid, &[("userName", json!("new@x"))]);
    assert_eq!(h.conn.execute(&op).await.unwrap(), Outcome::Done);
    assert_eq!(h.user(&guid)["userName"], json!("new@x"));
    // Onto a name another user holds: a conflict.
    h.seed("taken@x");
    let err = h
        .conn
        .execute(&update(&guid, &[("userName", json!("taken@x"))]))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict { .. }), "{err:?}");
}

#[tokio::test]
async fn with_renames_off_the_user_name_is_fixed_and_never_sent() {
    let h = harness(|_| {}, "").await;
    assert!(h.conn.capabilities().fixed_fields.contains("userName"));
    let guid = h.seed("old@x");
    let err = h
        .conn
        .execute(&update(&guid, &[("userName", json!("new@x"))]))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Config { .. }), "{err:?}");
    assert_eq!(h.count("PUT", "/users/{id}"), 0);
    assert_eq!(h.user(&guid)["userName"], json!("old@x"));
}

#[tokio::test]
async fn enable_and_disable_put_is_enabled() {
    let h = harness(|_| {}, "").await;
    let guid = h.seed("a@x");
    let set = |enabled| Operation::SetEnabled {
        account: AccountRef::new(&guid),
        enabled,
        changes: attrs(&[("userAttributes.description", json!("Disabled by Muster"))]),
    };
    assert_eq!(h.conn.execute(&set(false)).await.unwrap(), Outcome::Done);
    let u = h.user(&guid);
    assert_eq!(u["isEnabled"], json!(false));
    assert_eq!(
        u["userAttributes"]["description"],
        json!("Disabled by Muster")
    );
    assert_eq!(h.conn.execute(&set(true)).await.unwrap(), Outcome::Done);
    assert_eq!(h.user(&guid)["isEnabled"], json!(true));
    assert_eq!(h.count("PUT", "/users/{id}"), 2);
}

#[tokio::test]
async fn delete_soft_deletes_and_a_second_delete_is_already_absent() {
    let h = harness(|_| {}, "").await;
    let guid = h.seed("a@x");
    let op = Operation::Delete {
        account: AccountRef::new(&guid),
        changes: Attributes::new(),
    };
    assert_eq!(h.conn.execute(&op).await.unwrap(), Outcome::Done);
    let seen = h.conn.read_all().await.unwrap();
    assert!(seen.accounts.is_empty());
    assert_eq!(seen.deleted[0].reference.as_str(), guid);
    assert_eq!(h.conn.execute(&op).await.unwrap(), Outcome::AlreadyAbsent);
    assert_eq!(h.count("DELETE", "/users/{id}"), 2);
}

#[tokio::test]
async fn delete_in_disable_mode_disables() {
    let h = harness(|_| {}, "delete = \"disable\"\n").await;
    let guid = h.seed("a@x");
    let op = Operation::Delete {
        account: AccountRef::new(&guid),
        changes: Attributes::new(),
    };
    assert_eq!(h.conn.execute(&op).await.unwrap(), Outcome::Done);
    assert_eq!(h.user(&guid)["isEnabled"], json!(false));
    assert_eq!(h.count("DELETE", "/users/{id}"), 0);
    h.sim.state.delete_user(&guid).unwrap();
    assert_eq!(h.conn.execute(&op).await.unwrap(), Outcome::AlreadyAbsent);
}

#[tokio::test]
async fn a_missing_account_is_gone_or_already_absent_under_every_signal() {
    for (status, field) in [(404, "message"), (400, "resultMsg"), (500, "message")] {
        for delete in ["delete", "disable"] {
            let h = harness(
                |s| {
                    s.not_found_status = status;
                    s.error_field = serde_json::from_value(json!(field)).unwrap();
                },
                &format!("delete = \"{delete}\"\n"),
            )
            .await;
            let guid = h.seed("a@x");
            h.sim.state.delete_user(&guid).unwrap();
            let account = AccountRef::new(&guid);
            let err = h
                .conn
                .execute(&update(&guid, &[("firstName", json!("X"))]))
                .await
                .unwrap_err();
            assert!(matches!(err, ConnectorError::AccountGone { .. }), "{err:?}");
            let set = |enabled| Operation::SetEnabled {
                account: account.clone(),
                enabled,
                changes: Attributes::new(),
            };
            let err = h.conn.execute(&set(true)).await.unwrap_err();
            assert!(matches!(err, ConnectorError::AccountGone { .. }), "{err:?}");
            assert_eq!(
                h.conn.execute(&set(false)).await.unwrap(),
                Outcome::AlreadyAbsent
            );
            let del = Operation::Delete {
                account: account.clone(),
                changes: Attributes::new(),
            };
            assert_eq!(h.conn.execute(&del).await.unwrap(), Outcome::AlreadyAbsent);
            // One request per operation: nothing retried a "User not found".
            assert_eq!(h.sim.state.total_requests(), 4, "{status} {delete}");
        }
    }
}
