//! Groups and memberships (helloid.md §3, §4.5, §7): detail with `users`, duplicate names,
//! idempotent grants, `revoke_missing`, unknown groups and users.

use muster_sim::helloid::RevokeMissing;
use serde_json::json;

use super::{hsim, items};

#[tokio::test]
async fn groups_list_detail_with_user_guids_and_create_with_duplicate_names() {
    let h = hsim().await;
    let staff = h.group_guid("Staff");
    let r = h.get("/groups").await;
    let listed = items(&r.body);
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1]["name"], json!("department_ICT"));

    let a = h.seed("a@example.org");
    let b = h.seed("b@example.org");
    h.sim.state.add_member(&a, &staff).unwrap();
    h.sim.state.add_member(&b, &staff).unwrap();
    let r = h.get(&format!("/groups/{}", staff.to_uppercase())).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({ "groupGuid": staff, "name": "Staff", "isEnabled": true, "users": [a, b] })
    );

    let body = json!({ "name": "department_Zorg-Welzijn", "isEnabled": true });
    let first = h.post("/groups", body.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let second = h.post("/groups", body).await;
    assert_eq!(second.status, 200);
    assert_ne!(first.body["groupGuid"], second.body["groupGuid"]);
    assert_eq!(first.body["users"], json!([]));
    let r = h
        .post("/groups", json!({ "name": "Off", "isEnabled": "FALSE" }))
        .await;
    assert_eq!(r.body["isEnabled"], json!(false));
    let r = h.post("/groups", json!({ "isEnabled": true })).await;
    r.assert_error(400, json!({ "message": "name is required" }));
    assert_eq!(items(&h.get("/groups").await.body).len(), 5);
    let r = h.get("/groups/0d94b6e8-27c1-4f3a-8e55-c2a9f7316b04").await;
    r.assert_error(404, json!({ "message": "Group not found" }));
}

#[tokio::test]
async fn a_repeated_grant_succeeds_and_leaves_one_membership() {
    let h = hsim().await;
    let ict = h.group_guid("department_ICT");
    let u = h.create("a@example.org").await;
    for _ in 0..3 {
        let r = h
            .post(&format!("/users/{u}/groups"), json!({ "groupGuid": ict }))
            .await;
        assert!((200..300).contains(&r.status), "{} {}", r.status, r.text);
    }
    assert_eq!(h.sim.state.members(&ict), vec![u.clone()]);
    let r = h.get(&format!("/groups/{ict}")).await;
    assert_eq!(r.body["users"], json!([u]));

    let ghost = "0d94b6e8-27c1-4f3a-8e55-c2a9f7316b04";
    let r = h
        .post(&format!("/users/{u}/groups"), json!({ "groupGuid": ghost }))
        .await;
    r.assert_error(404, json!({ "message": "Group not found" }));
    let r = h
        .post(
            &format!("/users/{ghost}/groups"),
            json!({ "groupGuid": ict }),
        )
        .await;
    r.assert_error(404, json!({ "message": "User not found" }));
    let r = h.post(&format!("/users/{u}/groups"), json!({})).await;
    r.assert_error(400, json!({ "message": "groupGuid is required" }));
}

#[tokio::test]
async fn revoke_removes_and_a_missing_membership_follows_revoke_missing() {
    let h = hsim().await;
    let staff = h.group_guid("Staff");
    let u = h.seed("a@example.org");
    h.sim.state.add_member(&u, &staff).unwrap();
    let path = format!("/users/{u}/groups/{staff}");
    let r = h.delete(&path).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(h.sim.state.members(&staff).is_empty());
    // Default `ok`: revoking again succeeds.
    assert_eq!(h.delete(&path).await.status, 204);
    h.sim
        .state
        .update_switches(|s| s.revoke_missing = RevokeMissing::Error);
    h.delete(&path)
        .await
        .assert_error(404, json!({ "message": "Membership not found" }));
    // An existing membership is still removed under `error`.
    h.sim.state.add_member(&u, &staff).unwrap();
    assert_eq!(h.delete(&path).await.status, 204);
    let ghost = "0d94b6e8-27c1-4f3a-8e55-c2a9f7316b04";
    h.delete(&format!("/users/{u}/groups/{ghost}"))
        .await
        .assert_error(404, json!({ "message": "Group not found" }));
    h.sim.state.update_switches(|s| s.not_found_status = 400);
    h.delete(&format!("/users/{ghost}/groups/{staff}"))
        .await
        .assert_error(400, json!({ "message": "User not found" }));
}

#[tokio::test]
async fn a_deleted_member_is_no_longer_listed() {
    let h = hsim().await;
    let staff = h.group_guid("Staff");
    let a = h.seed("a@example.org");
    let b = h.seed("b@example.org");
    h.sim.state.add_member(&a, &staff).unwrap();
    h.sim.state.add_member(&b, &staff).unwrap();
    assert_eq!(h.delete(&format!("/users/{a}")).await.status, 204);
    assert_eq!(
        h.get(&format!("/groups/{staff}")).await.body["users"],
        json!([b])
    );
}
