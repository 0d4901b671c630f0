//! Functional accounts written as Zivver's own Cloud Sync client writes them
//! (exchange-online.md §3): `POST Groups`, the partial `PUT Groups/{id}` whose empty member
//! list changes nothing, the remove-all PATCH and its 415s, the plain-text refusals, claimed
//! domains and guest addresses.

use reqwest::Method;
use serde_json::{json, Value};

use super::{member_ids, user, zsim, ENTERPRISE, PATCH_OP, Z, ZIVVER_GROUP};

async fn two_users(z: &Z) -> (String, String) {
    let a = z.create(user("anna@example.org")).await;
    let b = z.create(user("bert@example.org")).await;
    (a, b)
}

fn info(members: &[&str], aliases: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({ "value": m })).collect();
    json!({
        "externalId": "info@example.org",
        "displayName": "Info",
        "members": members,
        ZIVVER_GROUP: { "aliases": aliases },
    })
}

async fn remove_all(z: &Z, id: &str, content_type: &str, accept: Option<&str>) -> super::R {
    let body =
        json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "remove", "path": "members" }] });
    let mut rb = z
        .req(Method::PATCH, &format!("/Groups/{id}"))
        .header("content-type", content_type)
        .body(body.to_string());
    if let Some(a) = accept {
        rb = rb.header("accept", a);
    }
    super::read(rb.send().await.unwrap()).await
}

#[tokio::test]
async fn post_creates_a_functional_account_and_answers_its_id_and_address() {
    let z = zsim().await;
    let (a, b) = two_users(&z).await;
    let r = z
        .post("/Groups", info(&[&a, &b], &["balie@example.org"]))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.body,
        json!({ "id": id, "externalId": "info@example.org" })
    );
    let g = z.get(&format!("/Groups/{id}")).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body["externalId"], "info@example.org");
    assert_eq!(g.body["displayName"], "Info");
    assert_eq!(member_ids(&g.body), [a.clone(), b.clone()]);
    assert_eq!(
        g.body[ZIVVER_GROUP]["aliases"],
        json!(["balie@example.org"])
    );
    assert_eq!(g.body[ENTERPRISE]["division"], "/");
    assert_eq!(z.sim.state.request_count("POST", "/Groups"), 1);
}

#[tokio::test]
async fn creates_are_refused_with_zivvers_texts_and_store_nothing() {
    let z = zsim().await;
    let (a, _) = two_users(&z).await;
    z.sim.state.seed_guest("Gast@example.org");
    let ghost = "55555555-5555-4555-8555-555555555555";
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = info(&[&a], &[]);
        change(&mut body);
        body
    };
    for (body, text) in [
        (
            with(&|b| b["externalId"] = json!("info@elsewhere.net")),
            "Account is outside the organization".to_owned(),
        ),
        (
            // The address of a user is in use.
            with(&|b| b["externalId"] = json!("ANNA@example.org")),
            "Account is outside the organization".to_owned(),
        ),
        (
            with(&|b| b["members"] = json!([{ "value": ghost }])),
            "Unknown in set".to_owned(),
        ),
        (
            with(&|b| b[ZIVVER_GROUP]["aliases"] = json!(["info@contoso.onmicrosoft.com"])),
            "Error creating alias: Domain Not Owned".to_owned(),
        ),
        (
            with(&|b| b[ZIVVER_GROUP]["aliases"] = json!(["gast@example.org"])),
            "Error creating alias: Alias is a guest: gast@example.org".to_owned(),
        ),
        (
            with(&|b| b[ZIVVER_GROUP]["aliases"] = json!(["anna@example.org"])),
            "Error creating alias: Alias is already taken for anna@example.org".to_owned(),
        ),
    ] {
        z.post("/Groups", body.clone())
            .await
            .assert_text(400, &text);
    }
    assert!(z.sim.state.groups().is_empty());
    // The address is taken once created, also by a user.
    assert_eq!(z.post("/Groups", info(&[&a], &[])).await.status, 201);
    z.post("/Groups", info(&[], &[]))
        .await
        .assert_text(400, "Account is outside the organization");
    let r = z.post("/Users", user("info@example.org")).await;
    assert_eq!(r.status, 409, "{}", r.text);
}

#[tokio::test]
async fn put_is_partial_and_an_empty_member_list_changes_nothing() {
    let z = zsim().await;
    let (a, b) = two_users(&z).await;
    let id = z
        .sim
        .state
        .seed_group(info(&[&a], &["balie@example.org"]))
        .unwrap();
    let path = format!("/Groups/{id}");

    let r = z.put(&path, json!({ "displayName": "Informatie" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["displayName"], "Informatie");
    assert_eq!(r.body["externalId"], "info@example.org");
    assert_eq!(member_ids(&r.body), std::slice::from_ref(&a));
    assert_eq!(
        r.body[ZIVVER_GROUP]["aliases"],
        json!(["balie@example.org"])
    );

    let r = z
        .put(
            &path,
            json!({ "members": [{ "value": b }, { "value": a }], ZIVVER_GROUP: { "aliases": [] } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(member_ids(&r.body), [b.clone(), a.clone()]);
    assert_eq!(r.body[ZIVVER_GROUP]["aliases"], json!([]));

    // The quirk Cloud Sync works around: 200, and the members stay.
    let r = z.put(&path, json!({ "members": [] })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(z.members(&id).await, [b.clone(), a.clone()]);

    let ghost = "66666666-6666-4666-8666-666666666666";
    z.put(&path, json!({ "members": [{ "value": ghost }] }))
        .await
        .assert_text(400, "Error creating member: Member Not Found");
    z.put(
        &path,
        json!({ ZIVVER_GROUP: { "aliases": ["x@elsewhere.net"] } }),
    )
    .await
    .assert_text(400, "Error creating alias: Domain Not Owned");
    z.put(&format!("/Groups/{ghost}"), json!({ "displayName": "X" }))
        .await
        .assert_text(400, &format!("Unknown account with uuid: {ghost}"));
    // A new address frees the old one.
    let r = z
        .put(&path, json!({ "externalId": "balie@example.org" }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(z.post("/Groups", info(&[], &[])).await.status, 201);
    assert_eq!(z.members(&id).await, [b, a]);
}

#[tokio::test]
async fn the_remove_all_patch_needs_scim_json_both_ways() {
    let z = zsim().await;
    let (a, b) = two_users(&z).await;
    let id = z.sim.state.seed_group(info(&[&a, &b], &[])).unwrap();
    for (ct, accept) in [
        ("application/json", Some("application/scim+json")),
        ("application/scim+json", None),
        ("application/scim+json", Some("application/json")),
    ] {
        let r = remove_all(&z, &id, ct, accept).await;
        assert_eq!(r.status, 415, "{ct} / {accept:?}: {}", r.text);
    }
    assert_eq!(z.members(&id).await.len(), 2, "a 415 changes nothing");
    let r = remove_all(
        &z,
        &id,
        "application/scim+json",
        Some("application/scim+json"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(z.members(&id).await.is_empty());
    // Members come back with a PUT.
    let r = z
        .put(
            &format!("/Groups/{id}"),
            json!({ "members": [{ "value": a }] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(z.members(&id).await, [a]);
    let counters = z.sim.state.counters();
    assert_eq!(counters.get("PATCH /Groups/{id}"), Some(&4));
    assert_eq!(counters.get("PUT /Groups/{id}"), Some(&1));
}

#[tokio::test]
async fn the_rate_limit_and_fault_switches_apply_to_the_new_routes() {
    let z = zsim().await;
    let (a, _) = two_users(&z).await;
    z.sim.state.update_switches(|s| {
        s.faults.drop_after_apply_ratio = 1.0;
        s.faults.fault_scope = Some(muster_sim::FaultScope::new("POST", "/Groups"));
    });
    let sent = z
        .req(Method::POST, "/Groups")
        .header("content-type", "application/json")
        .body(info(&[&a], &[]).to_string())
        .send()
        .await;
    assert!(sent.is_err(), "the connection is dropped");
    assert_eq!(z.sim.state.groups().len(), 1, "applied before the drop");
    z.sim.state.update_switches(|s| {
        s.faults.drop_after_apply_ratio = 0.0;
        s.faults.fault_scope = None;
        s.faults.rate_limit = true;
        s.faults.rate_budget = 1;
        s.faults.rate_window_s = 60;
    });
    let id = z.sim.state.groups()[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        z.put(&format!("/Groups/{id}"), json!({ "displayName": "X" }))
            .await
            .status,
        200
    );
    let r = z
        .put(&format!("/Groups/{id}"), json!({ "displayName": "Y" }))
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["emptiedBucketDetails"]["budget"], 1);
    assert_eq!(z.sim.state.group(&id).unwrap()["displayName"], "X");
}
