//! The Zermelo connector's capabilities and the writes that stand in for an enabled flag:
//! Delete archives (and an archived or unknown user is already absent), Enable brings an
//! archived user back, Disable archives; Revoke and EnsureGroup are never offered.

use super::zermelo_users::{attrs, count, exec, harness, seed_student, user};
use muster_core::connector::{
    Attributes, Connector, ConnectorError, DeleteMeaning, Operation, Outcome,
};
use muster_core::{AccountRef, GroupRef};
use serde_json::json;

#[tokio::test]
async fn capabilities_are_declared_as_decided() {
    let h = harness(|_| {}, "concurrency = 3").await;
    let c = h.conn.capabilities();
    assert_eq!(c.delete, DeleteMeaning::Disable);
    assert!(c.lookup);
    assert!(!c.can_disable, "Zermelo has no enabled flag");
    assert!(!c.membership_visible, "placements are not read by default");
    assert!(!c.creates_groups);
    assert_eq!(c.max_concurrency, 3);

    let on = harness(|_| {}, "read_placements = true").await;
    assert!(on.conn.capabilities().membership_visible);
}

#[tokio::test]
async fn delete_archives_and_the_user_stays_readable() {
    let h = harness(|_| {}, "").await;
    let account = seed_student(&h, "118204");
    let delete = || Operation::Delete {
        account: account.clone(),
        changes: Attributes::new(),
    };
    assert_eq!(exec(&h, delete()).await.unwrap(), Outcome::Done);
    let u = user(&h, "118204");
    assert_eq!(u["archived"], json!(true));
    assert_eq!(
        u["firstName"],
        json!("Daan"),
        "an archive changes nothing else"
    );
    let seen = h.conn.read_all().await.unwrap();
    let a = seen
        .accounts
        .iter()
        .find(|a| a.reference == account)
        .unwrap();
    assert!(!a.enabled, "archived reads as disabled");

    // Already archived: nothing to write.
    assert_eq!(exec(&h, delete()).await.unwrap(), Outcome::AlreadyAbsent);
    assert_eq!(count(&h, "PUT /users/{code}"), 1);
    // Unknown: already gone.
    let gone = exec(
        &h,
        Operation::Delete {
            account: AccountRef::new("118299"),
            changes: Attributes::new(),
        },
    )
    .await
    .unwrap();
    assert_eq!(gone, Outcome::AlreadyAbsent);
    assert_eq!(count(&h, "PUT /users/{code}"), 1);
    assert_eq!(
        count(&h, "GET /users/{code}"),
        3,
        "each archive reads first"
    );
}

#[tokio::test]
async fn enable_brings_an_archived_user_back_and_disable_archives() {
    let h = harness(|_| {}, "").await;
    h.sim
        .state
        .seed_user(
            json!({ "code": "118204", "isStudent": true, "archived": true,
                           "email": "old@leerling.example" }),
        )
        .unwrap();
    let account = AccountRef::new("118204");
    let out = exec(
        &h,
        Operation::SetEnabled {
            account: account.clone(),
            enabled: true,
            changes: attrs(&[("email", json!("new@leerling.example"))]),
        },
    )
    .await
    .unwrap();
    assert_eq!(out, Outcome::Done);
    let u = user(&h, "118204");
    assert_eq!(u["archived"], json!(false));
    assert_eq!(u["email"], json!("new@leerling.example"));

    let out = exec(
        &h,
        Operation::SetEnabled {
            account: account.clone(),
            enabled: false,
            changes: Attributes::new(),
        },
    )
    .await
    .unwrap();
    assert_eq!(out, Outcome::Done);
    assert_eq!(user(&h, "118204")["archived"], json!(true));

    let err = exec(
        &h,
        Operation::SetEnabled {
            account: AccountRef::new("118299"),
            enabled: true,
            changes: Attributes::new(),
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectorError::AccountGone { .. }), "{err:?}");
}

#[tokio::test]
async fn revoke_and_ensure_group_are_not_offered() {
    let h = harness(|_| {}, "").await;
    let account = seed_student(&h, "118204");
    for op in [
        Operation::Revoke {
            account,
            group: GroupRef::new("501"),
        },
        Operation::EnsureGroup {
            name: "h3a / Lyceum 2024-2025".into(),
        },
    ] {
        let err = exec(&h, op).await.unwrap_err();
        assert!(matches!(err, ConnectorError::Config { .. }), "{err:?}");
    }
    assert_eq!(h.sim.state.total_requests(), 0);
}
