//! Groups (functional accounts): list, read, PatchOp on `members`, paging switches, and the lost
//! updates of concurrent whole-list `replace` writes (zivver.md §4.6).

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::Barrier;

use super::{member_ids, user, zsim, ENTERPRISE, LIST, PATCH_OP, Z, ZIVVER_GROUP};

async fn users(z: &Z, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut body = user(&format!("m{i}@example.org"));
        body["name"]["formatted"] = json!(format!("Member {i}"));
        ids.push(z.create(body).await);
    }
    ids
}

fn replace(ids: &[String]) -> Value {
    let value: Vec<Value> = ids.iter().map(|id| json!({ "value": id })).collect();
    json!([{ "op": "replace", "path": "members", "value": value }])
}

#[tokio::test]
async fn groups_list_and_read_with_members_as_value_and_display() {
    let z = zsim().await;
    let u = users(&z, 2).await;
    let bare = z
        .create(json!({ "userName": "bare@example.org", "name": { "formatted": "" } }))
        .await;
    let g = z.group("Administratie", &[&u[0], &u[1], &bare]);
    let empty = z.group("Leeg", &[]);

    let want = json!({
        "id": g,
        "displayName": "Administratie",
        "members": [
            { "value": u[0], "display": "Member 0" },
            { "value": u[1], "display": "Member 1" },
            { "value": bare, "display": "bare@example.org" },
        ],
        ENTERPRISE: { "division": "/" },
        ZIVVER_GROUP: { "aliases": [] },
    });
    let r = z.get(&format!("/Groups/{g}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, want);

    let r = z.get("/Groups").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({
            "schemas": [LIST],
            "totalResults": 2,
            "Resources": [want, {
                "id": empty, "displayName": "Leeg", "members": [],
                ENTERPRISE: { "division": "/" }, ZIVVER_GROUP: { "aliases": [] },
            }],
        })
    );
    z.get("/Groups?filter=displayName%20eq%20%22Leeg%22")
        .await
        .assert_text(400, r#"Unsupported filter: displayName eq "Leeg""#);

    let unknown = "11111111-1111-4111-8111-111111111111";
    let text = format!("Unknown account with uuid: {unknown}");
    z.get(&format!("/Groups/{unknown}"))
        .await
        .assert_text(400, &text);
    z.patch(unknown, json!([{ "op": "remove", "path": "members" }]))
        .await
        .assert_text(400, &text);
    // A functional account is created with its address (exchange-online.md §3).
    z.post("/Groups", json!({ "displayName": "New" }))
        .await
        .assert_text(400, "externalId is required");
    assert_eq!(z.sim.state.groups().len(), 2);
}

#[tokio::test]
async fn patch_needs_the_patch_op_schema() {
    let z = zsim().await;
    let u = users(&z, 1).await;
    let g = z.group("G", &[&u[0]]);
    for body in [
        json!({ "Operations": [{ "op": "remove", "path": "members" }] }),
        json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "Operations": [{ "op": "remove", "path": "members" }] }),
    ] {
        let r = z
            .send_raw(
                Method::PATCH,
                &format!("/Groups/{g}"),
                Some("application/scim+json"),
                body.to_string(),
            )
            .await;
        r.assert_text(
            400,
            &format!("Invalid patch request: schemas must contain {PATCH_OP}"),
        );
    }
    assert_eq!(z.members(&g).await, [u[0].clone()]);
    // `application/scim+json` with a charset is fine too.
    let r = z
        .send_raw(
            Method::PATCH,
            &format!("/Groups/{g}"),
            Some("application/scim+json; charset=utf-8"),
            json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "remove", "path": "members" }] })
                .to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(z.members(&g).await.is_empty());
}

#[tokio::test]
async fn replace_sets_the_whole_list_ignoring_extra_keys_and_refuses_unknown_ids() {
    let z = zsim().await;
    let u = users(&z, 3).await;
    let g = z.group("G", &[&u[0]]);

    let r = z
        .patch(
            &g,
            json!([{ "op": "replace", "path": "members", "value": [
                { "value": u[2], "display": "whatever", "$ref": "x" },
                { "value": u[1] },
                { "value": u[2] },
            ] }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(member_ids(&r.body), [u[2].clone(), u[1].clone()]);
    assert_eq!(z.members(&g).await, [u[2].clone(), u[1].clone()]);

    let ghost = "22222222-2222-4222-8222-222222222222";
    z.patch(
        &g,
        json!([{ "op": "replace", "path": "members", "value": [{ "value": u[0] }, { "value": ghost }] }]),
    )
    .await
    .assert_text(400, &format!("Unknown account with uuid: {ghost}"));
    for value in [
        json!({ "value": u[0] }),
        json!(u[0]),
        json!([u[0]]),
        json!(null),
    ] {
        let r = z
            .patch(
                &g,
                json!([{ "op": "replace", "path": "members", "value": value }]),
            )
            .await;
        assert_eq!(r.status, 400, "{value}: {}", r.text);
    }
    // Refused PATCHes change nothing.
    assert_eq!(z.members(&g).await, [u[2].clone(), u[1].clone()]);

    // `replace` with an empty list also empties it.
    assert_eq!(z.patch(&g, replace(&[])).await.status, 200);
    assert!(z.members(&g).await.is_empty());
}

#[tokio::test]
async fn remove_without_a_filter_clears_the_list() {
    let z = zsim().await;
    let u = users(&z, 3).await;
    let g = z.group("G", &[&u[0], &u[1], &u[2]]);
    let r = z
        .patch(&g, json!([{ "op": "Remove", "path": "members" }]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["members"], json!([]));
    assert!(z.members(&g).await.is_empty());
    // The users themselves stay.
    assert_eq!(z.sim.state.users().len(), 3);
}

#[tokio::test]
async fn add_and_filtered_remove_need_membership_add_remove() {
    let z = zsim().await;
    let u = users(&z, 3).await;
    let g = z.group("G", &[&u[0], &u[1]]);
    let add = json!([{ "op": "add", "path": "members", "value": [{ "value": u[2] }] }]);
    let filtered = json!([{ "op": "remove", "path": format!("members[value eq \"{}\"]", u[0]) }]);
    let valued = json!([{ "op": "remove", "path": "members", "value": [{ "value": u[1] }] }]);
    for ops in [&add, &filtered, &valued] {
        z.patch(&g, ops.clone())
            .await
            .assert_text(400, "Unsupported patch operation");
    }
    for ops in [
        json!([{ "op": "replace", "value": { "members": [] } }]),
        json!([{ "op": "replace", "path": "displayName", "value": "X" }]),
        json!([{ "op": "move", "path": "members" }]),
        // One unsupported operation refuses the whole request.
        json!([{ "op": "remove", "path": "members" },
               { "op": "add", "path": "members", "value": [{ "value": u[2] }] }]),
    ] {
        z.patch(&g, ops)
            .await
            .assert_text(400, "Unsupported patch operation");
    }
    assert_eq!(z.members(&g).await, [u[0].clone(), u[1].clone()]);

    z.sim
        .state
        .update_switches(|s| s.membership_add_remove = true);
    assert_eq!(z.patch(&g, add.clone()).await.status, 200);
    assert_eq!(
        z.patch(&g, add).await.status,
        200,
        "adding twice is harmless"
    );
    assert_eq!(
        z.members(&g).await,
        [u[0].clone(), u[1].clone(), u[2].clone()]
    );
    assert_eq!(z.patch(&g, filtered).await.status, 200);
    assert_eq!(z.patch(&g, valued).await.status, 200);
    assert_eq!(z.members(&g).await, [u[2].clone()]);
    let ghost = "33333333-3333-4333-8333-333333333333";
    z.patch(
        &g,
        json!([{ "op": "add", "path": "members", "value": [{ "value": ghost }] }]),
    )
    .await
    .assert_text(400, &format!("Unknown account with uuid: {ghost}"));
}

#[tokio::test]
async fn a_later_replace_wins_over_an_earlier_one_read_at_the_same_time() {
    let z = zsim().await;
    let u = users(&z, 3).await;
    let g = z.group("G", &[&u[0]]);
    // Two writers read the same list...
    let seen_a = z.members(&g).await;
    let seen_b = z.members(&g).await;
    // ...and each appends its own member.
    let a = [seen_a, vec![u[1].clone()]].concat();
    let b = [seen_b, vec![u[2].clone()]].concat();
    assert_eq!(z.patch(&g, replace(&a)).await.status, 200);
    assert_eq!(z.patch(&g, replace(&b)).await.status, 200);
    // The last writer wins; the first writer's grant is lost without any error.
    assert_eq!(z.members(&g).await, b);
    assert!(!z.members(&g).await.contains(&u[1]));
}

#[tokio::test]
async fn concurrent_read_modify_write_replaces_lose_updates() {
    const WRITERS: usize = 20;
    let z = Arc::new(zsim().await);
    let u = users(&z, WRITERS + 1).await;
    let g = z.group("Shared", &[&u[0]]);

    // Every writer reads, waits until all have read, then writes its list back with its own
    // member appended, as a connector without per-group serialization would.
    let barrier = Arc::new(Barrier::new(WRITERS));
    let mut tasks = Vec::new();
    for mine in u[1..].iter().cloned() {
        let (z, g, barrier) = (z.clone(), g.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut list = z.members(&g).await;
            barrier.wait().await;
            list.push(mine);
            let r = z.patch(&g, replace(&list)).await;
            assert_eq!(r.status, 200, "{}", r.text);
            list
        }));
    }
    let mut sent = Vec::new();
    for t in tasks {
        sent.push(t.await.unwrap());
    }
    let after = z.members(&g).await;
    // Each write replaced the whole list: the group holds exactly one writer's list, the
    // original member plus a single newcomer; the other 19 grants were lost, all answered 200.
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(after[0], u[0]);
    assert!(sent.contains(&after), "not last-writer-wins: {after:?}");
    let lost = u[1..].iter().filter(|id| !after.contains(id)).count();
    assert_eq!(lost, WRITERS - 1);

    // Serialized, the same 20 read-modify-write steps keep every grant.
    assert_eq!(z.patch(&g, replace(&u[..1])).await.status, 200);
    for mine in &u[1..] {
        let mut list = z.members(&g).await;
        list.push(mine.clone());
        assert_eq!(z.patch(&g, replace(&list)).await.status, 200);
    }
    assert_eq!(z.members(&g).await, u);
}

#[tokio::test]
async fn paging_is_applied_only_when_honoured_and_max_page_caps_every_page() {
    let z = zsim().await;
    for i in 0..5 {
        z.create(user(&format!("p{i}@example.org"))).await;
    }
    z.group("G1", &[]);
    z.group("G2", &[]);

    z.sim.state.update_switches(|s| s.honour_paging = true);
    let r = z.get("/Users?startIndex=2&count=2").await;
    assert_eq!(r.body["totalResults"], 5);
    assert_eq!(r.body["startIndex"], 2);
    assert_eq!(r.body["itemsPerPage"], 2);
    assert_eq!(
        z.list_names("/Users?startIndex=2&count=2").await,
        ["p1@example.org", "p2@example.org"]
    );
    assert_eq!(
        z.list_names("/Users?startIndex=5").await,
        ["p4@example.org"]
    );
    assert!(z.list_names("/Users?startIndex=9").await.is_empty());
    let r = z.get("/Groups?startIndex=2&count=5").await;
    assert_eq!(r.body["totalResults"], 2);
    assert_eq!(r.body["Resources"][0]["displayName"], "G2");
    z.get("/Users?count=many")
        .await
        .assert_text(400, "Invalid value for count");

    z.sim.state.update_switches(|s| s.max_page = Some(2));
    assert_eq!(
        z.list_names("/Users?startIndex=3&count=10").await,
        ["p2@example.org", "p3@example.org"]
    );
    assert_eq!(z.list_names("/Users").await.len(), 2);

    // Paging ignored but pages capped: every request gets the same first two.
    z.sim.state.update_switches(|s| s.honour_paging = false);
    let r = z.get("/Users?startIndex=3&count=2").await;
    assert_eq!(r.body["totalResults"], 5);
    assert!(r.body.get("startIndex").is_none());
    assert_eq!(
        z.list_names("/Users?startIndex=3&count=2").await,
        ["p0@example.org", "p1@example.org"]
    );
    assert_eq!(z.list_names("/Users?count=many").await.len(), 2);
}
