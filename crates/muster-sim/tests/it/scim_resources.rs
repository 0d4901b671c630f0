//! Create, read, replace and delete of users and groups; ETags; bulk.

use muster_sim::ScimSimConfig;
use reqwest::Method;
use serde_json::{json, Value};

use crate::{resp, sim, sim_with, sim_with_switches, user, ENTERPRISE, GROUP, USER};

#[tokio::test]
async fn post_creates_with_location_version_and_etag() {
    let s = sim().await;
    let body = json!({
        "schemas": [USER, ENTERPRISE],
        "userName": "ann@corp.example",
        "externalId": "E-1",
        "name": { "givenName": "Ann", "familyName": "Example" },
        "active": true,
        "emails": [{ "value": "ann@corp.example", "type": "work", "primary": true }],
        "password": "hunter2",
        ENTERPRISE: { "department": "Sales", "manager": { "value": "m-1" } },
    });
    let r = s.post("/Users", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(id.len(), 36);
    let location = format!("{}/Users/{id}", s.sim.base_url);
    assert_eq!(r.body["meta"]["location"], json!(location));
    assert_eq!(r.header("location"), Some(location.as_str()));
    assert_eq!(r.body["meta"]["version"], "W/\"1\"");
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert_eq!(r.body["schemas"], json!([USER, ENTERPRISE]));
    assert_eq!(r.body[ENTERPRISE]["department"], "Sales");
    assert!(
        r.body.get("password").is_none(),
        "password is never returned"
    );

    let got = s.get(&format!("/Users/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, r.body);
    assert_eq!(
        s.sim.state.user(id).unwrap()["password"],
        "hunter2",
        "but it was stored"
    );
}

#[tokio::test]
async fn plain_json_is_accepted_and_other_media_types_refused() {
    let s = sim().await;
    let ok = s
        .req(Method::POST, "/Users")
        .header("content-type", "application/json")
        .body(user("a@x").to_string());
    assert_eq!(ok.send().await.unwrap().status(), 201);
    let bad = s
        .req(Method::POST, "/Users")
        .header("content-type", "text/plain")
        .body(user("b@x").to_string());
    resp(bad.send().await.unwrap())
        .await
        .assert_error(415, None);
    let garbage = s
        .req(Method::POST, "/Users")
        .header("content-type", "application/scim+json")
        .body("{nope");
    resp(garbage.send().await.unwrap())
        .await
        .assert_error(400, Some("invalidSyntax"));
}

#[tokio::test]
async fn user_name_is_unique_ignoring_case() {
    let s = sim().await;
    s.create_user(user("Dup@Corp.example")).await;
    s.post("/Users", user("dup@corp.EXAMPLE"))
        .await
        .assert_error(409, Some("uniqueness"));
    assert_eq!(s.sim.state.users().len(), 1);
}

#[tokio::test]
async fn invalid_users_are_refused_with_the_rfc_scim_type() {
    let s = sim().await;
    s.post(
        "/Users",
        json!({ "schemas": [USER], "displayName": "no name" }),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    s.post("/Users", json!({ "userName": "no-schemas" }))
        .await
        .assert_error(400, Some("invalidSyntax"));
    s.post(
        "/Users",
        json!({ "schemas": [USER], "userName": "x", "active": "yes" }),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    s.post(
        "/Users",
        json!({ "schemas": [USER], "userName": "x", "shoeSize": 44 }),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    assert!(s.sim.state.users().is_empty());
}

#[tokio::test]
async fn ids_are_deterministic_under_the_seed() {
    let first = |seed| async move {
        let s = sim_with(ScimSimConfig {
            seed,
            ..ScimSimConfig::default()
        })
        .await;
        s.create_user(user("a@x")).await
    };
    let a = first(7).await;
    assert_eq!(a, first(7).await);
    assert_ne!(a, first(8).await);
}

#[tokio::test]
async fn put_replaces_and_clears_what_it_omits_ignoring_id_and_meta() {
    let s = sim().await;
    let id = s
        .create_user(json!({
            "schemas": [USER, ENTERPRISE], "userName": "put@x", "displayName": "Put Me",
            "name": { "givenName": "P" }, "title": "Boss", ENTERPRISE: { "department": "Ops" },
        }))
        .await;
    let r = s
        .put(
            &format!("/Users/{id}"),
            json!({ "schemas": [USER], "id": "someone-else", "meta": { "version": "W/\"99\"" },
                    "userName": "put@x", "displayName": "Put Again" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], json!(id));
    assert_eq!(r.body["displayName"], "Put Again");
    for gone in ["name", "title", ENTERPRISE] {
        assert!(
            r.body.get(gone).is_none(),
            "{gone} should be cleared: {}",
            r.body
        );
    }
    assert_eq!(r.body["schemas"], json!([USER]));
    assert_eq!(r.body["meta"]["version"], "W/\"2\"");
    assert!(s.get("/Users/someone-else").await.status == 404);

    let other = s.create_user(user("taken@x")).await;
    s.put(&format!("/Users/{other}"), user("PUT@x"))
        .await
        .assert_error(409, Some("uniqueness"));
    s.put("/Users/nope", user("n@x"))
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn delete_answers_204_and_later_reads_404() {
    let s = sim().await;
    let id = s.create_user(user("del@x")).await;
    let r = s.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.body, Value::Null);
    s.get(&format!("/Users/{id}")).await.assert_error(404, None);
    s.delete(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    s.put(&format!("/Users/{id}"), user("del@x"))
        .await
        .assert_error(404, None);
    // The name is free again.
    s.create_user(user("del@x")).await;
}

#[tokio::test]
async fn groups_hold_existing_members_and_lose_deleted_ones() {
    let s = sim().await;
    let a = s.create_user(user("a@x")).await;
    let b = s.create_user(user("b@x")).await;
    let r = s
        .post(
            "/Groups",
            json!({ "schemas": [GROUP], "displayName": "G", "members": [{ "value": "ghost" }] }),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    assert!(s.sim.state.groups().is_empty());

    let g = s.create_group("Staff", &[&a, &b]).await;
    let got = s.get(&format!("/Groups/{g}")).await;
    let members = got.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(
        members[0]["$ref"],
        json!(format!("{}/Users/{a}", s.sim.base_url))
    );
    assert_eq!(members[0]["type"], "User");
    let ua = s.get(&format!("/Users/{a}")).await;
    assert_eq!(ua.body["groups"][0]["value"], json!(g));
    assert_eq!(ua.body["groups"][0]["display"], "Staff");

    assert_eq!(s.delete(&format!("/Users/{a}")).await.status, 204);
    let got = s.get(&format!("/Groups/{g}")).await;
    assert_eq!(
        got.body["members"],
        json!([{ "value": b, "type": "User", "$ref": format!("{}/Users/{b}", s.sim.base_url) }])
    );
    assert_eq!(
        got.body["meta"]["version"], "W/\"2\"",
        "losing a member is a change"
    );
}

#[tokio::test]
async fn a_stale_if_match_is_refused_with_412() {
    let s = sim().await;
    let id = s.create_user(user("etag@x")).await;
    let path = format!("/Users/{id}");
    let put = |tag: &str| {
        s.req(Method::PUT, &path)
            .header("content-type", "application/scim+json")
            .header("if-match", tag)
            .body(json!({ "schemas": [USER], "userName": "etag@x", "title": tag }).to_string())
    };
    assert_eq!(put("W/\"1\"").send().await.unwrap().status(), 200);
    let stale = resp(put("W/\"1\"").send().await.unwrap()).await;
    stale.assert_error(412, None);
    let patch = s
        .req(Method::PATCH, &path)
        .header("content-type", "application/scim+json")
        .header("if-match", "W/\"1\"")
        .body(json!({ "schemas": [crate::PATCH_OP], "Operations": [{ "op": "replace", "path": "title", "value": "x" }] }).to_string());
    resp(patch.send().await.unwrap())
        .await
        .assert_error(412, None);
    let del = s.req(Method::DELETE, &path).header("if-match", "W/\"1\"");
    resp(del.send().await.unwrap())
        .await
        .assert_error(412, None);
    assert_eq!(
        s.sim.state.user(&id).unwrap()["title"],
        "W/\"1\"",
        "only the first PUT applied"
    );

    let cached = s
        .req(Method::GET, &path)
        .header("if-none-match", "W/\"2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    let del = s.req(Method::DELETE, &path).header("if-match", "W/\"2\"");
    assert_eq!(del.send().await.unwrap().status(), 204);
}

#[tokio::test]
async fn with_etags_off_there_is_no_version_and_if_match_is_ignored() {
    let s = sim_with_switches(|sw| sw.etag = false).await;
    let r = s.post("/Users", user("noetag@x")).await;
    assert_eq!(r.status, 201);
    assert!(r.header("etag").is_none());
    assert!(r.body["meta"].get("version").is_none());
    let id = r.body["id"].as_str().unwrap();
    let put = s
        .req(Method::PUT, &format!("/Users/{id}"))
        .header("content-type", "application/scim+json")
        .header("if-match", "W/\"42\"")
        .body(user("noetag@x").to_string());
    assert_eq!(put.send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn bulk_is_501_when_off_and_resolves_bulk_ids_when_on() {
    let s = sim().await;
    let req = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            { "method": "POST", "path": "/Users", "bulkId": "u1", "data": user("bulk@x") },
            { "method": "POST", "path": "/Groups", "bulkId": "g1",
              "data": { "schemas": [GROUP], "displayName": "B", "members": [{ "value": "bulkId:u1" }] } },
            { "method": "POST", "path": "/Users", "bulkId": "u2", "data": user("BULK@x") },
        ],
    });
    s.post("/Bulk", req.clone()).await.assert_error(501, None);
    s.sim.state.update_switches(|sw| sw.bulk = true);
    let r = s.post("/Bulk", req).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ops = r.body["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "201", "409"]);
    assert_eq!(ops[2]["response"]["scimType"], "uniqueness");
    let uid = s.sim.state.user_by_name("bulk@x").unwrap()["id"].clone();
    assert_eq!(s.sim.state.groups()[0]["members"][0]["value"], uid);
}

#[tokio::test]
async fn attributes_parameter_trims_the_answer() {
    let s = sim().await;
    s.create_user(
        json!({ "schemas": [USER], "userName": "trim@x", "title": "T", "displayName": "D" }),
    )
    .await;
    let r = s.get("/Users?attributes=userName,title").await;
    let u = &r.body["Resources"][0];
    let mut keys: Vec<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["id", "schemas", "title", "userName"]);
    let id = u["id"].as_str().unwrap();
    let one = s.get(&format!("/Users/{id}?attributes=userName")).await;
    assert!(one.body.get("meta").is_none() && one.body.get("title").is_none());
    assert_eq!(
        one.header("etag"),
        Some("W/\"1\""),
        "the ETag survives trimming"
    );
    let r = s.get("/Users?excludedAttributes=title").await;
    assert!(r.body["Resources"][0].get("title").is_none());
    assert_eq!(r.body["Resources"][0]["displayName"], "D");
}
