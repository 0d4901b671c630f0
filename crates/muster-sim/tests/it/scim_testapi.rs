//! The `/_sim` test API and the `ScimState` methods tests use directly.

use serde_json::json;

use crate::{resp, sim, user};

#[tokio::test]
async fn counters_count_per_method_and_path_template() {
    let s = sim().await;
    let a = s.create_user(user("a@x")).await;
    s.create_user(user("b@x")).await;
    s.get(&format!("/Users/{a}")).await;
    s.get("/Users").await;
    let g = s.create_group("G", &[]).await;
    s.patch(
        &format!("/Groups/{g}"),
        json!([{ "op": "add", "path": "members", "value": [{ "value": a }] }]),
    )
    .await;
    let _unauthenticated = s.http.get(s.url("/Users")).send().await.unwrap();

    let st = &s.sim.state;
    let c = st.counters();
    assert_eq!(c.get("POST /Users"), Some(&2));
    assert_eq!(c.get("GET /Users/{id}"), Some(&1));
    assert_eq!(c.get("GET /Users"), Some(&2));
    assert_eq!(c.get("PATCH /Groups/{id}"), Some(&1));
    assert_eq!(st.request_count("GET", "/Users"), 3);
    assert_eq!(st.request_count("post", "/Groups"), 1);
    assert_eq!(st.total_requests(), 7);

    let r = resp(s.http.get(s.root("/_sim/counters")).send().await.unwrap()).await;
    assert_eq!(r.body["total"], 7, "the test API itself is not counted");
    assert_eq!(r.body["requests"]["POST /Users"], 2);
}

#[tokio::test]
async fn state_dump_and_reset() {
    let s = sim().await;
    let a = s.create_user(user("a@x")).await;
    s.create_group("G", &[&a]).await;
    let dump = resp(s.http.get(s.root("/_sim/state")).send().await.unwrap()).await;
    assert_eq!(dump.status, 200);
    assert_eq!(dump.body["users"][0]["userName"], "a@x");
    assert_eq!(dump.body["groups"][0]["members"][0]["value"], json!(a));

    let r = s.http.post(s.root("/_sim/reset")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(s.sim.state.users().is_empty() && s.sim.state.groups().is_empty());
    assert_eq!(s.sim.state.total_requests(), 0);
    // Ids start over: the same first id as before the reset.
    assert_eq!(s.create_user(user("z@x")).await, a);
}

#[tokio::test]
async fn switches_can_be_read_and_replaced_over_http() {
    let s = sim().await;
    let r = resp(s.http.get(s.root("/_sim/switches")).send().await.unwrap()).await;
    assert_eq!(r.body["patch"], true);
    assert_eq!(r.body["spc"], "accurate");
    assert_eq!(r.body["faults"]["rate_budget"], 100);

    let put = s
        .http
        .put(s.root("/_sim/switches"))
        .json(&json!({ "patch": false, "spc": "lying", "max_results": 5 }));
    let r = resp(put.send().await.unwrap()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["etag"], true, "fields left out take their defaults");
    let sw = s.sim.state.switches();
    assert!(!sw.patch && sw.max_results == 5);
    let spc = s.get("/ServiceProviderConfig").await;
    assert_eq!(spc.body["patch"]["supported"], true);

    let bad = s
        .http
        .put(s.root("/_sim/switches"))
        .json(&json!({ "pach": false }));
    let r = resp(bad.send().await.unwrap()).await;
    assert_eq!(r.status, 400);
    assert!(r.body["error"].as_str().unwrap().contains("pach"));
    assert_eq!(
        s.sim.state.switches().max_results,
        5,
        "a refused update changes nothing"
    );
}

#[tokio::test]
async fn seeding_bypasses_http_but_keeps_the_rules() {
    let s = sim().await;
    let st = &s.sim.state;
    let a = st
        .seed_user(json!({ "userName": "Seed@X", "displayName": "S" }))
        .unwrap();
    assert!(
        st.seed_user(json!({ "userName": "seed@x" })).is_err(),
        "userName stays unique"
    );
    let g = st
        .seed_group(json!({ "displayName": "SG", "members": [{ "value": a }] }))
        .unwrap();
    assert!(st
        .seed_group(json!({ "displayName": "bad", "members": [{ "value": "ghost" }] }))
        .is_err());
    assert_eq!(st.user_by_name("SEED@x").unwrap()["id"], json!(a));
    assert_eq!(st.total_requests(), 0);
    let got = s.get(&format!("/Groups/{g}")).await;
    assert_eq!(got.body["members"][0]["value"], json!(a));
    assert_eq!(st.groups().len(), 1);
    assert!(st.users().iter().all(|u| u["meta"]["location"]
        .as_str()
        .unwrap()
        .starts_with(&s.sim.base_url)));
}

#[tokio::test]
async fn shutdown_releases_the_port() {
    let s = sim().await;
    let url = s.url("/Users");
    let http = s.http.clone();
    let token = s.token.clone();
    assert_eq!(
        http.get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    s.sim.shutdown().await.unwrap();
    let fresh = crate::client(std::time::Duration::from_secs(2));
    let err = fresh
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect_err("nothing listens any more");
    assert!(err.is_connect(), "{err:?}");
}
