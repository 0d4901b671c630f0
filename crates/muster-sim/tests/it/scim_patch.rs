//! PATCH: paths, value filters, extension URNs, members, noTarget and atomicity.

use serde_json::json;

use crate::{sim, user, ENTERPRISE, USER};

#[tokio::test]
async fn patch_replaces_nested_extension_and_pathless_attributes() {
    let s = sim().await;
    let id = s
        .create_user(json!({ "schemas": [USER], "userName": "pat@x", "name": { "givenName": "Pat", "familyName": "Old" },
            "emails": [{ "value": "pat@work", "type": "work" }, { "value": "pat@home", "type": "home" }] }))
        .await;
    let r = s
        .patch(
            &format!("/Users/{id}"),
            json!([
                { "op": "replace", "path": "name.givenName", "value": "Patricia" },
                { "op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Ops" },
                { "op": "replace", "path": "emails[type eq \"work\"].value", "value": "patricia@work" },
                { "op": "Replace", "value": { "active": false, "displayName": "Patricia" } },
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    let b = &r.body;
    assert_eq!(
        b["name"],
        json!({ "givenName": "Patricia", "familyName": "Old" })
    );
    assert_eq!(b[ENTERPRISE]["department"], "Ops");
    assert_eq!(b["schemas"], json!([USER, ENTERPRISE]));
    assert_eq!(
        b["emails"],
        json!([{ "value": "patricia@work", "type": "work" }, { "value": "pat@home", "type": "home" }])
    );
    assert_eq!(
        (b["active"].as_bool(), b["displayName"].as_str()),
        (Some(false), Some("Patricia"))
    );
    assert_eq!(s.get(&format!("/Users/{id}")).await.body, r.body);

    let r = s
        .patch(
            &format!("/Users/{id}"),
            json!([{ "op": "remove", "path": ENTERPRISE }]),
        )
        .await;
    assert!(r.body.get(ENTERPRISE).is_none());
    assert_eq!(r.body["schemas"], json!([USER]));
}

#[tokio::test]
async fn member_add_remove_and_clear() {
    let s = sim().await;
    let a = s.create_user(user("a@x")).await;
    let b = s.create_user(user("b@x")).await;
    let g = s.create_group("G", &[]).await;
    let path = format!("/Groups/{g}");
    let add = |id: &str| json!([{ "op": "add", "path": "members", "value": [{ "value": id }] }]);

    let r = s.patch(&path, add(&a)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["meta"]["version"], "W/\"2\"");
    s.patch(&path, add(&b)).await;
    // Adding an existing member changes nothing, not even the version.
    let r = s.patch(&path, add(&a)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["members"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["meta"]["version"], "W/\"3\"");

    let r = s
        .patch(
            &path,
            json!([{ "op": "remove", "path": format!("members[value eq \"{a}\"]") }]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["members"][0]["value"], json!(b));
    assert_eq!(r.body["members"].as_array().unwrap().len(), 1);

    // The member is already gone: noTarget, which clients read as "done".
    let r = s
        .patch(
            &path,
            json!([{ "op": "remove", "path": format!("members[value eq \"{a}\"]") }]),
        )
        .await;
    r.assert_error(400, Some("noTarget"));

    s.patch(&path, add(&a)).await;
    let r = s
        .patch(&path, json!([{ "op": "remove", "path": "members" }]))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("members").is_none(), "{}", r.body);
    assert!(s.sim.state.group(&g).unwrap().get("members").is_none());
}

/// A membership change alone (one operation: what a grant or a revoke sends, applied in
/// place) and the same change followed by a no-op in one request (applied to a copy of the
/// group) store the same members and versions, in the same order, duplicates and all.
#[tokio::test]
async fn a_membership_change_alone_ends_as_the_same_change_among_other_operations() {
    for repeated in [false, true] {
        let s = crate::sim_with_switches(|sw| sw.duplicate_member_adds = repeated).await;
        let a = s.create_user(user("a@x")).await;
        let b = s.create_user(user("b@x")).await;
        let sub = s.create_group("Sub", &[]).await;
        let alone = s.create_group("G", &[]).await;
        let among = s.create_group("G", &[]).await;
        let add = |ids: &[&str]| {
            let v: Vec<_> = ids.iter().map(|id| json!({ "value": id })).collect();
            json!({ "op": "add", "path": "members", "value": v })
        };
        let remove =
            |id: &str| json!({ "op": "remove", "path": format!("members[value eq \"{id}\"]") });
        let noop = json!({ "op": "replace", "path": "displayName", "value": "G" });
        let steps = [
            add(&[&a, &b]),
            add(&[&sub, &a]),
            remove(&b),
            add(&[&b, &b]),
            remove(&a),
            remove(&a),
            add(&["ghost"]),
        ];
        for op in steps {
            let one = s
                .patch(&format!("/Groups/{alone}"), json!([op.clone()]))
                .await;
            let two = s
                .patch(&format!("/Groups/{among}"), json!([op, noop.clone()]))
                .await;
            assert_eq!(one.status, two.status, "{} / {}", one.body, two.body);
            let (x, y) = (
                s.sim.state.group(&alone).unwrap(),
                s.sim.state.group(&among).unwrap(),
            );
            assert_eq!(
                x.get("members"),
                y.get("members"),
                "repeated adds {repeated}"
            );
            assert_eq!(x["meta"]["version"], y["meta"]["version"]);
        }
        let members = s.sim.state.group(&alone).unwrap()["members"].clone();
        assert_eq!(members[0]["value"], json!(sub));
        assert_eq!(members[0]["type"], "Group");
        // The user shows the group it is in, from the same index the in-place change keeps.
        let groups = s.sim.state.user(&b).unwrap()["groups"].clone();
        assert_eq!(groups.as_array().map(Vec::len), Some(2), "{groups}");
    }
}

/// `excludedAttributes=members` on a PATCH (as Muster sends for a grant) answers the group
/// without its members; the members are stored all the same.
#[tokio::test]
async fn a_patch_answer_leaves_out_members_when_asked() {
    let s = sim().await;
    let a = s.create_user(user("a@x")).await;
    let g = s.create_group("G", &[]).await;
    let r = s
        .patch(
            &format!("/Groups/{g}?excludedAttributes=members"),
            json!([{ "op": "add", "path": "members", "value": [{ "value": a }] }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("members").is_none(), "{}", r.body);
    assert_eq!(r.body["displayName"], "G");
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    let stored = s.sim.state.group(&g).unwrap();
    assert_eq!(stored["members"][0]["value"], json!(a));
}

#[tokio::test]
async fn unknown_member_ids_are_invalid_value() {
    let s = sim().await;
    let g = s.create_group("G", &[]).await;
    let r = s
        .patch(
            &format!("/Groups/{g}"),
            json!([{ "op": "add", "path": "members", "value": [{ "value": "ghost" }] }]),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn patch_is_atomic_per_request() {
    let s = sim().await;
    let a = s.create_user(user("a@x")).await;
    let g = s.create_group("Before", &[]).await;
    let r = s
        .patch(
            &format!("/Groups/{g}"),
            json!([
                { "op": "replace", "path": "displayName", "value": "After" },
                { "op": "add", "path": "members", "value": [{ "value": a }] },
                { "op": "remove", "path": "members[value eq \"not-there\"]" },
            ]),
        )
        .await;
    r.assert_error(400, Some("noTarget"));
    let stored = s.sim.state.group(&g).unwrap();
    assert_eq!(stored["displayName"], "Before");
    assert!(stored.get("members").is_none());
    assert_eq!(stored["meta"]["version"], "W/\"1\"");

    let u = s
        .patch(
            &format!("/Users/{a}"),
            json!([
                { "op": "replace", "path": "title", "value": "T" },
                { "op": "replace", "path": "nickName", "value": 7 },
            ]),
        )
        .await;
    u.assert_error(400, Some("invalidValue"));
    assert!(s.sim.state.user(&a).unwrap().get("title").is_none());
}

#[tokio::test]
async fn patch_errors_carry_the_rfc_scim_types() {
    let s = sim().await;
    let id = s.create_user(user("e@x")).await;
    let taken = s.create_user(user("taken@x")).await;
    let path = format!("/Users/{id}");
    s.patch(
        &path,
        json!([{ "op": "replace", "path": "nosuch", "value": 1 }]),
    )
    .await
    .assert_error(400, Some("invalidPath"));
    s.patch(
        &path,
        json!([{ "op": "replace", "path": "id", "value": "x" }]),
    )
    .await
    .assert_error(400, Some("mutability"));
    s.patch(&path, json!([{ "op": "remove" }]))
        .await
        .assert_error(400, Some("noTarget"));
    s.patch(
        &path,
        json!([{ "op": "replace", "path": "userName", "value": "TAKEN@x" }]),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    let wrong_schema = s.post(&path, json!({})).await;
    wrong_schema.assert_error(405, None);
    let no_schema = s
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({ "Operations": [] })),
        )
        .await;
    no_schema.assert_error(400, Some("invalidSyntax"));
    s.patch(
        "/Users/ghost",
        json!([{ "op": "replace", "path": "title", "value": "x" }]),
    )
    .await
    .assert_error(404, None);
    assert_eq!(s.sim.state.user(&taken).unwrap()["userName"], "taken@x");
}
