//! HelloID memberships, department groups and products against the simulator (helloid.md §6):
//! one POST or DELETE per membership, checked by a re-read on error; `EnsureGroup` creating
//! only what is missing; products requested only when no assignment exists, `Requested` while
//! approval is pending, and withdrawn by product.

use crate::helloid::{harness, Harness};
use muster_core::connector::{Connector, ConnectorError, Operation, Outcome};
use muster_core::{AccountRef, GroupRef};
use muster_sim::helloid::RevokeMissing;
use serde_json::json;

fn grant(account: &str, group: &str) -> Operation {
    Operation::Grant {
        account: AccountRef::new(account),
        group: GroupRef::new(group),
    }
}

fn revoke(account: &str, group: &str) -> Operation {
    Operation::Revoke {
        account: AccountRef::new(account),
        group: GroupRef::new(group),
    }
}

#[tokio::test]
async fn grant_and_revoke_one_membership_each() {
    let h = harness(|_| {}, "").await;
    let (a, staff) = (h.seed("a@x"), h.group_guid("Staff"));
    assert_eq!(
        h.conn.execute(&grant(&a, &staff)).await.unwrap(),
        Outcome::Done
    );
    assert_eq!(h.sim.state.members(&staff), vec![a.clone()]);
    // A repeated grant is fine (the simulator takes it idempotently).
    assert_eq!(
        h.conn.execute(&grant(&a, &staff)).await.unwrap(),
        Outcome::Done
    );
    assert_eq!(h.count("POST", "/users/{id}/groups"), 2);
    assert_eq!(
        h.conn.execute(&revoke(&a, &staff)).await.unwrap(),
        Outcome::Done
    );
    assert!(h.sim.state.members(&staff).is_empty());
    assert_eq!(h.count("DELETE", "/users/{id}/groups/{group}"), 1);
    assert_eq!(
        h.count("GET", "/groups/{id}"),
        0,
        "no re-read without an error"
    );
}

#[tokio::test]
async fn revoking_a_missing_membership_is_already_absent_when_the_server_refuses_it() {
    let h = harness(|s| s.revoke_missing = RevokeMissing::Error, "").await;
    let (a, staff) = (h.seed("a@x"), h.group_guid("Staff"));
    assert_eq!(
        h.conn.execute(&revoke(&a, &staff)).await.unwrap(),
        Outcome::AlreadyAbsent
    );
    assert_eq!(h.count("GET", "/groups/{id}"), 1);
    // A user that is gone has no membership either.
    h.sim.state.delete_user(&a).unwrap();
    assert_eq!(
        h.conn.execute(&revoke(&a, &staff)).await.unwrap(),
        Outcome::AlreadyAbsent
    );
}

#[tokio::test]
async fn a_missing_group_or_user_is_named() {
    let h = harness(|_| {}, "").await;
    let (a, staff) = (h.seed("a@x"), h.group_guid("Staff"));
    let nope = "00000000-0000-4000-8000-000000000000";
    let err = h.conn.execute(&grant(&a, nope)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::GroupGone { .. }), "{err:?}");
    let err = h.conn.execute(&revoke(&a, nope)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::GroupGone { .. }), "{err:?}");
    h.sim.state.delete_user(&a).unwrap();
    let err = h.conn.execute(&grant(&a, &staff)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::AccountGone { .. }), "{err:?}");
}

#[tokio::test]
async fn ensure_group_creates_only_what_is_missing() {
    let h = harness(
        |_| {},
        "department_groups = { prefix = \"department_\", create_missing = true }\n",
    )
    .await;
    assert!(h.conn.capabilities().creates_groups);
    let ict = h.group_guid("department_ICT");
    let ensure = |name: &str| Operation::EnsureGroup { name: name.into() };
    assert_eq!(
        h.conn.execute(&ensure("DEPARTMENT_ict")).await.unwrap(),
        Outcome::GroupReady {
            group: GroupRef::new(&ict),
            created: false
        }
    );
    assert_eq!(h.count("POST", "/groups"), 0);
    let Outcome::GroupReady { group, created } = h
        .conn
        .execute(&ensure("department_Zorg-Welzijn"))
        .await
        .unwrap()
    else {
        panic!("no group");
    };
    assert!(created);
    assert_eq!(h.group_guid("department_Zorg-Welzijn"), group.as_str());
    assert_eq!(
        h.sim.state.group(group.as_str()).unwrap()["isEnabled"],
        json!(true)
    );
    // Now it exists: found, not created again.
    assert_eq!(
        h.conn
            .execute(&ensure("department_Zorg-Welzijn"))
            .await
            .unwrap(),
        Outcome::GroupReady {
            group,
            created: false
        }
    );
    assert_eq!(h.count("POST", "/groups"), 1);
    // Two groups of one name: an error naming both, nothing created.
    let twin = h.sim.state.seed_group("department_ict");
    let err = h.conn.execute(&ensure("department_ICT")).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&ict) && text.contains(&twin), "{text}");
    assert_eq!(h.count("POST", "/groups"), 1);
}

#[tokio::test]
async fn ensure_group_is_refused_without_create_missing() {
    let h = harness(|_| {}, "department_groups = { prefix = \"department_\" }\n").await;
    assert!(!h.conn.capabilities().creates_groups);
    let op = Operation::EnsureGroup {
        name: "department_New".into(),
    };
    let err = h.conn.execute(&op).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Config { .. }), "{err:?}");
    assert_eq!(h.sim.state.total_requests(), 0);
}

fn product(h: &Harness, name: &str) -> String {
    format!("product:{}", h.product_id(name))
}

#[tokio::test]
async fn a_product_is_requested_only_when_the_user_holds_none_of_it() {
    let h = harness(|_| {}, "").await;
    let a = h.seed("a@x");
    let (laptop, phone) = (product(&h, "Laptop"), product(&h, "Phone"));
    // Holding another product does not stop the request.
    h.sim
        .state
        .seed_assignment(&a, &h.product_id("Phone"))
        .unwrap();
    assert_eq!(
        h.conn.execute(&grant(&a, &laptop)).await.unwrap(),
        Outcome::Done
    );
    let requests = h.sim.state.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0]["requestedProductGUID"],
        json!(h.product_id("Laptop"))
    );
    assert_eq!(requests[0]["requestedForUserGUID"], json!(a));
    assert_eq!(requests[0]["requestedByUserGUID"], json!(a));
    assert_eq!(requests[0]["comment"], json!("Requested by Muster"));
    // Already held: nothing requested.
    assert_eq!(
        h.conn.execute(&grant(&a, &phone)).await.unwrap(),
        Outcome::Done
    );
    assert_eq!(
        h.conn.execute(&grant(&a, &laptop)).await.unwrap(),
        Outcome::Done
    );
    assert_eq!(h.count("POST", "/selfservice/products/request"), 1);
    // A missing user or product.
    let nope = "product:00000000-0000-4000-8000-000000000000";
    let err = h.conn.execute(&grant(&a, nope)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::GroupGone { .. }), "{err:?}");
    h.sim.state.delete_user(&a).unwrap();
    let err = h.conn.execute(&grant(&a, &laptop)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::AccountGone { .. }), "{err:?}");
}

#[tokio::test]
async fn a_request_awaiting_approval_is_requested() {
    let h = harness(|s| s.product_approval = true, "").await;
    let a = h.seed("a@x");
    let laptop = product(&h, "Laptop");
    assert_eq!(
        h.conn.execute(&grant(&a, &laptop)).await.unwrap(),
        Outcome::Requested
    );
    assert_eq!(h.sim.state.pending_requests().len(), 1);
    assert_eq!(h.sim.state.approve(None).len(), 1);
    assert_eq!(
        h.conn.execute(&grant(&a, &laptop)).await.unwrap(),
        Outcome::Done
    );
    assert_eq!(h.count("POST", "/selfservice/products/request"), 1);
}

#[tokio::test]
async fn revoking_a_product_withdraws_every_assignment_of_it() {
    for execute in [true, false] {
        let h = harness(
            |_| {},
            &format!("products = {{ execute_return_actions = {execute} }}\n"),
        )
        .await;
        let a = h.seed("a@x");
        let (laptop_id, phone_id) = (h.product_id("Laptop"), h.product_id("Phone"));
        for p in [&laptop_id, &laptop_id, &phone_id] {
            h.sim.state.seed_assignment(&a, p).unwrap();
        }
        let laptop = format!("product:{laptop_id}");
        assert_eq!(
            h.conn.execute(&revoke(&a, &laptop)).await.unwrap(),
            Outcome::Done
        );
        let un = h.sim.state.unassignments();
        assert_eq!(un.len(), 1);
        assert_eq!(un[0]["removed"], json!(2));
        assert_eq!(un[0]["executeActions"], json!(execute));
        assert_eq!(un[0]["userGUID"], json!(a));
        let left = h.sim.state.assignments(Some(&a));
        assert_eq!(left.len(), 1);
        assert_eq!(left[0]["productGuid"], json!(phone_id));
        // Nothing left to withdraw.
        assert_eq!(
            h.conn.execute(&revoke(&a, &laptop)).await.unwrap(),
            Outcome::AlreadyAbsent
        );
        assert_eq!(h.sim.state.unassignments().len(), 1);
    }
}
