//! The `/_sim` test API and the `ZivverState` methods tests use directly.

use serde_json::{json, Value};

use super::{read, user, zsim, ZIVVER};

#[tokio::test]
async fn counters_count_per_method_and_path_template() {
    let z = zsim().await;
    let a = z.create(user("a@example.org")).await;
    z.create(user("b@example.org")).await;
    z.get(&format!("/Users/{a}")).await;
    z.put(&format!("/Users/{a}"), json!({ "active": false }))
        .await;
    z.get("/Users").await;
    let g = z.group("G", &[]);
    z.patch(&g, json!([{ "op": "remove", "path": "members" }]))
        .await;
    z.get("/Nowhere").await;
    let _unauthenticated = z.http.get(z.api("/Users")).send().await.unwrap();

    let st = &z.sim.state;
    let c = st.counters();
    assert_eq!(c.get("POST /Users"), Some(&2));
    assert_eq!(c.get("GET /Users/{id}"), Some(&1));
    assert_eq!(c.get("PUT /Users/{id}"), Some(&1));
    assert_eq!(c.get("GET /Users"), Some(&2));
    assert_eq!(c.get("PATCH /Groups/{id}"), Some(&1));
    assert_eq!(c.get("GET /Nowhere"), Some(&1));
    assert_eq!(st.request_count("GET", "/Users"), 3);
    assert_eq!(st.request_count("patch", "/Groups"), 1);
    assert_eq!(st.total_requests(), 8);

    let r = read(z.http.get(z.root("/_sim/counters")).send().await.unwrap()).await;
    assert_eq!(r.body["total"], 8, "the test API itself is not counted");
    assert_eq!(r.body["requests"]["POST /Users"], 2);
}

#[tokio::test]
async fn the_state_dump_shows_each_sso_key() {
    let z = zsim().await;
    let with_key = z.create(user("k@example.org")).await;
    let without = z.create(json!({ "userName": "n@example.org" })).await;
    z.group("G", &[&with_key]);

    let dump = read(z.http.get(z.root("/_sim/state")).send().await.unwrap()).await;
    assert_eq!(dump.status, 200);
    let users = dump.body["users"].as_array().unwrap();
    let by_id = |id: &str| users.iter().find(|u| u["id"] == id).unwrap().clone();
    assert_eq!(by_id(&with_key)["ssoAccountKeySet"], true);
    assert_eq!(by_id(&with_key)["ssoAccountKey"], "sso-k@example.org");
    assert_eq!(by_id(&without)["ssoAccountKeySet"], false);
    assert_eq!(by_id(&without)["ssoAccountKey"], Value::Null);
    assert_eq!(by_id(&with_key)[ZIVVER]["aliases"], json!([]));
    assert_eq!(
        dump.body["groups"][0]["members"][0]["value"],
        json!(with_key)
    );
    assert_eq!(dump.body["divisions"], json!(["Finance", "Sales"]));
    assert_eq!(dump.body["domains"], json!(["example.org"]));

    // The key disappears from the dump once a partial PUT cleared it.
    z.put(&format!("/Users/{with_key}"), json!({ "active": true }))
        .await;
    let dump = read(z.http.get(z.root("/_sim/state")).send().await.unwrap()).await;
    assert_eq!(dump.body["users"][0]["ssoAccountKeySet"], false);
}

#[tokio::test]
async fn reset_empties_everything_but_the_organisation_setup() {
    let z = zsim().await;
    z.sim.state.seed_division("Marketing");
    let a = z.create(user("a@example.org")).await;
    z.group("G", &[&a]);
    z.sim
        .state
        .update_switches(|s| s.faults.error_5xx_ratio = 1.0);
    assert!(z.get("/Users").await.status >= 500);
    z.sim
        .state
        .update_switches(|s| s.faults.error_5xx_ratio = 0.0);
    assert_eq!(z.sim.state.fault_log().len(), 1);

    let r = z.http.post(z.root("/_sim/reset")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let st = &z.sim.state;
    assert!(st.users().is_empty() && st.groups().is_empty());
    assert_eq!(st.total_requests(), 0);
    assert!(st.fault_log().is_empty());
    // Ids start over; divisions seeded before the reset stay.
    let mut again = user("z@example.org");
    again["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["division"] =
        json!("Marketing");
    assert_eq!(z.create(again).await, a);
}

#[tokio::test]
async fn the_fault_log_is_served() {
    let z = zsim().await;
    z.sim.state.update_switches(|s| {
        s.faults.error_5xx_after_apply_ratio = 1.0;
    });
    z.post("/Users", user("x@example.org")).await;
    let r = read(z.http.get(z.root("/_sim/faults")).send().await.unwrap()).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!([{ "seq": 1, "method": "POST", "path": "/Users",
                 "fault": "error_5xx_after_apply", "status": 503 }])
    );
}

#[tokio::test]
async fn switches_can_be_read_and_replaced_over_http() {
    let z = zsim().await;
    let r = read(z.http.get(z.root("/_sim/switches")).send().await.unwrap()).await;
    assert_eq!(r.status, 200);
    let faults = &r.body["faults"];
    assert_eq!(faults["rate_limit"], false, "the test helper turned it off");
    assert_eq!(faults["rate_budget"], 50);
    assert_eq!(faults["rate_window_s"], 10);
    assert_eq!(faults["rate_refill"], "window");
    assert_eq!(faults["retry_after"], false);
    assert_eq!(r.body["sso_clear_on_omit"], true);
    assert_eq!(r.body["duplicate_status"], 409);
    assert_eq!(r.body["max_page"], Value::Null);

    let r = read(
        z.http
            .put(z.root("/_sim/switches"))
            .json(&json!({ "duplicate_status": 400, "max_page": 1,
                           "faults": { "rate_limit": false,
                                       "fault_scope": { "method": "POST" } } }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sw = z.sim.state.switches();
    assert_eq!(sw.duplicate_status.status().as_u16(), 400);
    assert_eq!(sw.max_page, Some(1));
    assert!(sw.sso_clear_on_omit, "left out: the default");
    assert_eq!(
        (sw.faults.rate_budget, sw.faults.retry_after),
        (50, false),
        "left out of faults: Zivver's defaults"
    );
    z.create(user("a@example.org")).await;
    assert_eq!(z.post("/Users", user("a@example.org")).await.status, 400);

    for bad in [
        json!({ "no_such_switch": true }),
        json!({ "duplicate_status": 418 }),
        json!({ "faults": { "fault_scope": { "verb": "GET" } } }),
        json!({ "rate_limit": false }),
    ] {
        let r = z
            .http
            .put(z.root("/_sim/switches"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    assert_eq!(
        z.sim.state.switches(),
        sw,
        "refused switches change nothing"
    );
}

#[tokio::test]
async fn seeding_follows_the_rules_of_the_api() {
    let z = zsim().await;
    let st = &z.sim.state;
    let id = st
        .seed_user(json!({ "userName": "seeded@example.org",
                           ZIVVER: { "SsoAccountKey": "s" } }))
        .unwrap();
    assert_eq!(st.sso_key_of(&id).as_deref(), Some("s"));
    assert_eq!(
        st.user_by_name("SEEDED@example.org").unwrap()["id"],
        json!(id)
    );
    assert_eq!(z.get(&format!("/Users/{id}")).await.status, 200);
    assert_eq!(
        st.seed_user(json!({ "userName": "x@elsewhere.net" }))
            .unwrap_err()
            .message,
        "Account is outside the organization"
    );
    assert_eq!(
        st.seed_user(json!({ "userName": "seeded@example.org" }))
            .unwrap_err()
            .status,
        409
    );
    let ghost = "44444444-4444-4444-8444-444444444444";
    assert_eq!(
        st.seed_group(json!({ "displayName": "G", "members": [{ "value": ghost }] }))
            .unwrap_err()
            .message,
        format!("Unknown account with uuid: {ghost}")
    );
    assert!(st.seed_group(json!({ "members": [] })).is_err());
    let g = st
        .seed_group(json!({ "displayName": "G", "members": [{ "value": id }] }))
        .unwrap();
    assert_eq!(
        st.group(&g).unwrap()["members"][0]["display"],
        "seeded@example.org"
    );
    assert_eq!(st.total_requests(), 1, "seeding is not a request");
}
