//! The test API outside `/api` (helloid.md §7): counters per method and path, state dump,
//! reset, switches as JSON; and reproducible ids from the seed.

use muster_sim::helloid::{ErrorField, ListShape};
use muster_sim::HelloIdSwitches;
use serde_json::{json, Value};

use super::{hsim, hsim_with, read, H};

async fn sim_get(h: &H, path: &str) -> Value {
    let r = read(h.http.get(h.root(path)).send().await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

#[tokio::test]
async fn counters_per_method_and_path_template() {
    let h = hsim().await;
    let staff = h.group_guid("Staff");
    let u = h.create("a@example.org").await;
    h.get(&format!("/users/{u}")).await;
    h.get("/users/a@example.org").await;
    h.get("/users?skip=0&take=1000").await;
    h.post(&format!("/users/{u}/groups"), json!({ "groupGuid": staff }))
        .await;
    h.delete(&format!("/users/{u}/groups/{staff}")).await;
    h.get("/nowhere").await;
    // Unauthenticated requests count too.
    h.http.get(h.api("/groups")).send().await.unwrap();
    let body = sim_get(&h, "/_sim/counters").await;
    assert_eq!(
        body,
        json!({
            "total": 8,
            "requests": {
                "POST /users": 1,
                "GET /users/{id}": 2,
                "GET /users": 1,
                "POST /users/{id}/groups": 1,
                "DELETE /users/{id}/groups/{group}": 1,
                "GET /nowhere": 1,
                "GET /groups": 1,
            },
        })
    );
    assert_eq!(h.sim.state.request_count("get", "/users"), 3);
    assert_eq!(h.sim.state.total_requests(), 8);
    // The test API itself is not counted.
    assert_eq!(sim_get(&h, "/_sim/counters").await["total"], json!(8));
}

#[tokio::test]
async fn the_dump_shows_deleted_users_passwords_and_everything_else() {
    let h = hsim().await;
    let a = h.create("a@example.org").await;
    h.create("b@example.org").await;
    h.delete(&format!("/users/{a}")).await;
    let dump = sim_get(&h, "/_sim/state").await;
    let users = dump["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["deleted"], json!(true));
    assert_eq!(users[0]["password"], json!("S3cret!pw"));
    assert_eq!(users[1]["deleted"], json!(false));
    assert_eq!(dump["groups"].as_array().unwrap().len(), 2);
    assert_eq!(dump["products"].as_array().unwrap().len(), 2);
    for key in ["assignments", "requests", "unassignments"] {
        assert_eq!(dump[key], json!([]), "{key}");
    }
}

#[tokio::test]
async fn reset_returns_to_the_configured_start_with_the_same_ids() {
    let h = hsim().await;
    let groups = h.sim.state.groups();
    let products = h.sim.state.products();
    h.create("a@example.org").await;
    h.sim.state.seed_group("Extra");
    h.sim
        .state
        .update_switches(|s| s.list_shape = ListShape::Data);
    let r = h.http.post(h.root("/_sim/reset")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(h.sim.state.users().is_empty());
    assert_eq!(h.sim.state.groups(), groups);
    assert_eq!(h.sim.state.products(), products);
    assert_eq!(h.sim.state.total_requests(), 0);
    // Switches survive a reset.
    assert_eq!(h.sim.state.switches().list_shape, ListShape::Data);
}

#[tokio::test]
async fn switches_are_read_and_replaced_as_json() {
    let h = hsim().await;
    let body = sim_get(&h, "/_sim/switches").await;
    assert_eq!(body["not_found_status"], json!(404));
    assert_eq!(body["error_field"], json!("message"));
    assert_eq!(body["list_shape"], json!("array"));
    assert_eq!(body["revoke_missing"], json!("ok"));
    assert_eq!(body["faults"]["retry_after"], json!(true));
    assert_eq!(body["faults"]["error_statuses"], json!([500, 502, 503]));
    let put = |b: Value| {
        h.http
            .put(h.root("/_sim/switches"))
            .header("content-type", "application/json")
            .body(b.to_string())
            .send()
    };
    let r = read(
        put(json!({ "error_field": "resultMsg", "not_found_status": 410 }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sw = h.sim.state.switches();
    assert_eq!(sw.error_field, ErrorField::ResultMsg);
    assert_eq!(sw.not_found_status, 410);
    assert_eq!(sw.list_shape, ListShape::Array);
    h.get("/users/nobody")
        .await
        .assert_error(410, json!({ "resultMsg": "User not found" }));
    for bad in [
        json!({ "bogus": 1 }),
        json!({ "not_found_status": 200 }),
        json!({ "faults": { "drop_ratio": 2.0 } }),
        json!({ "faults": { "bogus": 1 } }),
    ] {
        let r = read(put(bad.clone()).await.unwrap()).await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.body["error"].is_string());
    }
    assert_eq!(h.sim.state.switches(), sw);
    let r = read(put(json!({})).await.unwrap()).await;
    assert_eq!(r.status, 200);
    assert_eq!(h.sim.state.switches(), HelloIdSwitches::default());
}

#[tokio::test]
async fn ids_follow_from_the_seed() {
    let a = hsim().await;
    let b = hsim().await;
    let c = hsim_with(|cfg| cfg.seed = 7).await;
    assert_eq!(a.sim.state.groups(), b.sim.state.groups());
    assert_eq!(a.seed("x@example.org"), b.seed("x@example.org"));
    assert_ne!(a.sim.state.groups(), c.sim.state.groups());
}
