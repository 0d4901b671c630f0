//! Users (helloid.md §4.1–§4.4, §7): auth, create, lookups, not-found variants, full-object
//! PUTs with renames and attribute merges, soft deletes and name reservation.

use muster_sim::helloid::ErrorField;
use reqwest::Method;
use serde_json::{json, Value};

use super::{hsim, hsim_with, read, user, H, KEY, SECRET};

fn not_found() -> Value {
    json!({ "message": "User not found" })
}

#[tokio::test]
async fn basic_auth_against_every_seeded_pair_and_401_otherwise() {
    let h = hsim_with(|c| c.credentials.push(("second".into(), "pair".into()))).await;
    let url = h.api("/users");
    let r = read(h.http.get(&url).send().await.unwrap()).await;
    r.assert_error(401, json!({ "message": "Unauthorized" }));
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    for (k, s) in [(KEY, "wrong"), ("nobody", SECRET), (SECRET, KEY)] {
        let r = read(
            h.http
                .get(&url)
                .basic_auth(k, Some(s))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 401, "{k}:{s}");
    }
    let r = read(h.http.get(&url).bearer_auth(KEY).send().await.unwrap()).await;
    assert_eq!(r.status, 401);
    let r = read(
        h.http
            .get(&url)
            .basic_auth("second", Some("pair"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.body.clone()), (200, json!([])));
    // A refused write changes nothing, but is counted.
    let r = h.http.post(&url).header("content-type", "application/json");
    let r = read(r.body(user("x@e").to_string()).send().await.unwrap()).await;
    assert_eq!(r.status, 401);
    assert!(h.sim.state.users().is_empty());
    assert_eq!(h.sim.state.request_count("POST", "/users"), 1);
}

#[tokio::test]
async fn create_returns_the_user_with_a_guid_and_never_the_password() {
    let h = hsim().await;
    let mut body = user("m.visser@gemeente.example");
    body["mustChangePassword"] = json!("TRUE");
    body["isEnabled"] = json!("False");
    let r = h.post("/users", body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let guid = r.body["userGUID"].as_str().unwrap().to_string();
    assert_eq!(guid.len(), 36);
    assert_eq!(r.body["mustChangePassword"], json!(true));
    assert_eq!(r.body["isEnabled"], json!(false));
    assert_eq!(r.body["source"], json!("Local"));
    assert_eq!(r.body["userAttributes"]["department"], json!("Burgerzaken"));
    assert!(!r.text.contains("S3cret") && r.body.get("password").is_none());
    assert!(!h
        .get(&format!("/users/{guid}"))
        .await
        .text
        .contains("S3cret"));
    assert_eq!(h.sim.state.password_of(&guid).as_deref(), Some("S3cret!pw"));
    // Duplicates are refused ignoring case; bad input is a 400 naming the field.
    let r = h.post("/users", user("M.Visser@Gemeente.Example")).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("already exists"));
    let r = h
        .post("/users", json!({ "userName": "y", "isEnabled": "yes" }))
        .await;
    r.assert_error(400, json!({ "message": "Invalid value for isEnabled" }));
    let r = h.post("/users", json!({ "firstName": "no name" })).await;
    r.assert_error(400, json!({ "message": "userName is required" }));
    let r = h.send(Method::POST, "/users", None).await;
    assert_eq!(r.status, 415);
    assert_eq!(h.sim.state.users().len(), 1);
}

#[tokio::test]
async fn users_are_found_by_guid_or_by_user_name_ignoring_case() {
    let h = hsim().await;
    let guid = h.create("A.Jansen@Example.org").await;
    for key in [
        guid.clone(),
        guid.to_uppercase(),
        "a.jansen@example.org".into(),
        "A.JANSEN@EXAMPLE.ORG".into(),
    ] {
        let r = h.get(&format!("/users/{key}")).await;
        assert_eq!(r.status, 200, "{key}: {}", r.text);
        assert_eq!(r.body["userGUID"], json!(guid));
        assert_eq!(r.body["userName"], json!("A.Jansen@Example.org"));
    }
    h.get("/users/nobody@example.org")
        .await
        .assert_error(404, not_found());
}

#[tokio::test]
async fn not_found_follows_not_found_status_and_error_field() {
    let h = hsim().await;
    let ghost = "0d94b6e8-27c1-4f3a-8e55-c2a9f7316b04";
    h.get(&format!("/users/{ghost}"))
        .await
        .assert_error(404, not_found());
    h.sim.state.update_switches(|s| {
        s.not_found_status = 400;
        s.error_field = ErrorField::ResultMsg;
    });
    let want = json!({ "resultMsg": "User not found" });
    h.get(&format!("/users/{ghost}"))
        .await
        .assert_error(400, want.clone());
    h.put(&format!("/users/{ghost}"), user("x"))
        .await
        .assert_error(400, want.clone());
    h.delete(&format!("/users/{ghost}"))
        .await
        .assert_error(400, want.clone());
    let r = h.get(&format!("/product-assignment/by-user/{ghost}")).await;
    r.assert_error(400, want);
    // Other errors keep their status but move to resultMsg too.
    let r = h.get("/groups/0d94b6e8-27c1-4f3a-8e55-c2a9f7316b05").await;
    r.assert_error(404, json!({ "resultMsg": "Group not found" }));
}

/// A full-object PUT as the public connector builds it: the GET result with changes.
async fn fetched(h: &H, guid: &str) -> Value {
    let r = h.get(&format!("/users/{guid}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

#[tokio::test]
async fn put_ignores_guid_and_top_level_name_renames_through_identifier_object() {
    let h = hsim().await;
    let guid = h.create("m.visser@gemeente.example").await;
    let other = h.create("taken@gemeente.example").await;
    let mut body = fetched(&h, &guid).await;
    body["userGUID"] = json!(other);
    body["userName"] = json!("ignored@gemeente.example");
    body["firstName"] = json!("Maarten-Jan");
    body["isEnabled"] = json!("false");
    let r = h.put(&format!("/users/{guid}"), body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["userGUID"], json!(guid));
    assert_eq!(r.body["userName"], json!("m.visser@gemeente.example"));
    assert_eq!(r.body["firstName"], json!("Maarten-Jan"));
    assert_eq!(r.body["isEnabled"], json!(false));
    assert_eq!(
        h.sim.state.user(&other).unwrap()["firstName"],
        json!("Maarten")
    );

    // A rename onto a live name, in any case, is a 409 and applies nothing.
    let mut body = fetched(&h, &guid).await;
    body["lastName"] = json!("Changed");
    body["IdentifierObject"] = json!({ "userName": "TAKEN@gemeente.example" });
    let r = h.put(&format!("/users/{guid}"), body).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(
        h.sim.state.user(&guid).unwrap()["lastName"],
        json!("Visser")
    );

    let mut body = fetched(&h, &guid).await;
    body["IdentifierObject"] = json!({ "userName": "maarten.visser@gemeente.example" });
    let r = h.put(&format!("/users/{guid}"), body).await;
    assert_eq!(r.body["userName"], json!("maarten.visser@gemeente.example"));
    assert_eq!(h.get("/users/m.visser@gemeente.example").await.status, 404);
    let r = h.get("/users/MAARTEN.visser@gemeente.example").await;
    assert_eq!(r.body["userGUID"], json!(guid));
    // The old name is free again.
    h.create("m.visser@gemeente.example").await;
}

#[tokio::test]
async fn put_merges_attributes_key_by_key_and_accepts_no_op_puts() {
    let h = hsim().await;
    let guid = h.create("a@example.org").await;
    let before = fetched(&h, &guid).await;
    let body = json!({
        "userAttributes": { "title": "Teamleider", "department": null, "phoneNumber": "+31 20" },
    });
    let r = h.put(&format!("/users/{guid}"), body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["userAttributes"],
        json!({ "title": "Teamleider", "phoneNumber": "+31 20" })
    );
    // Fields left out stay as they were.
    assert_eq!(r.body["firstName"], before["firstName"]);
    // Disabling a disabled user, or re-sending the GET, changes nothing and succeeds.
    let unchanged = fetched(&h, &guid).await;
    for _ in 0..2 {
        let r = h.put(&format!("/users/{guid}"), unchanged.clone()).await;
        assert_eq!((r.status, &r.body), (200, &unchanged));
    }
    let r = h
        .put(&format!("/users/{guid}"), json!({ "isEnabled": 7 }))
        .await;
    r.assert_error(400, json!({ "message": "Invalid value for isEnabled" }));
    // A PUT addressed by name is not a PUT by GUID.
    let r = h.put("/users/a@example.org", unchanged).await;
    r.assert_error(404, not_found());
}

#[tokio::test]
async fn delete_is_soft_and_the_name_is_free_unless_reserved() {
    let h = hsim().await;
    let guid = h.create("gone@example.org").await;
    let keep = h.create("kept@example.org").await;
    let r = h.delete(&format!("/users/{guid}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let live: Vec<Value> = super::items(&h.get("/users").await.body);
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["userGUID"], json!(keep));
    let deleted = super::items(&h.get("/users?isDeleted=true").await.body);
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["userGUID"], json!(guid));
    assert_eq!(deleted[0]["userName"], json!("gone@example.org"));
    h.get(&format!("/users/{guid}"))
        .await
        .assert_error(404, not_found());
    h.get("/users/gone@example.org")
        .await
        .assert_error(404, not_found());
    h.delete(&format!("/users/{guid}"))
        .await
        .assert_error(404, not_found());

    // Default: the name is free again.
    let again = h.create("GONE@example.org").await;
    assert_ne!(again, guid);
    h.delete(&format!("/users/{again}")).await;
    // Reserved: neither a create nor a rename may take it.
    h.sim
        .state
        .update_switches(|s| s.deleted_name_reserved = true);
    assert_eq!(h.post("/users", user("gone@example.org")).await.status, 409);
    let r = h
        .put(
            &format!("/users/{keep}"),
            json!({ "IdentifierObject": { "userName": "Gone@Example.org" } }),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(h.sim.state.deleted_users().len(), 2);
}
