//! The `/_sim` test API: counters, state dump, reset and switches.

use serde_json::{json, Value};

use super::{read, student, zsim};

#[tokio::test]
async fn counters_count_per_method_and_path_template() {
    let z = zsim().await;
    z.create(student("1")).await;
    z.create(student("2")).await;
    z.get("users/1?fields=code").await;
    z.get("students/1").await;
    z.put("users/1", json!({ "email": "x" })).await;
    z.get("users").await;
    z.get("departmentsofbranches").await;
    let h3a = z.class("Lyceum", "2024-2025", "h3a");
    z.post(
        "studentsindepartments",
        json!({ "departmentOfBranch": h3a, "student": "1" }),
    )
    .await;
    z.get("nowhere").await;
    let _unauthenticated = z.http.get(z.api("users")).send().await.unwrap();

    let st = &z.sim.state;
    let c = st.counters();
    assert_eq!(c.get("POST /users"), Some(&2));
    assert_eq!(c.get("GET /users/{code}"), Some(&1));
    assert_eq!(c.get("PUT /users/{code}"), Some(&1));
    assert_eq!(c.get("GET /users"), Some(&2));
    assert_eq!(c.get("GET /students/{code}"), Some(&1));
    assert_eq!(c.get("GET /departmentsofbranches"), Some(&1));
    assert_eq!(c.get("POST /studentsindepartments"), Some(&1));
    assert_eq!(c.get("GET /nowhere"), Some(&1));
    assert_eq!(st.request_count("GET", "/users"), 3);
    assert_eq!(st.total_requests(), 10);

    let r = z.sim_get("/_sim/counters").await;
    assert_eq!(r.body["total"], 10, "the test API itself is not counted");
    assert_eq!(r.body["requests"]["POST /users"], 2);
    assert_eq!(r.body["lastEventId"], 10, "one envelope per request");
}

#[tokio::test]
async fn the_state_dump_shows_users_students_and_placements() {
    let z = zsim().await;
    z.create(student("1")).await;
    z.create(json!({ "code": "2" })).await;
    let h3a = z.class("Lyceum", "2024-2025", "h3a");
    let p = z
        .post(
            "studentsindepartments",
            json!({ "departmentOfBranch": h3a, "student": "1", "participationWeight": 0.5 }),
        )
        .await
        .one()
        .clone();

    let dump = z.sim_get("/_sim/state").await;
    assert_eq!(dump.status, 200);
    let codes: Vec<&Value> = dump.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["code"])
        .collect();
    assert_eq!(codes, [&json!("1"), &json!("2")]);
    assert_eq!(dump.body["students"].as_array().unwrap().len(), 1);
    assert_eq!(dump.body["students"][0]["userCode"], "1");
    assert_eq!(dump.body["students"][0]["studentInDepartments"], json!([p]));
    assert_eq!(dump.body["placements"], json!([p]));
    assert_eq!(
        dump.body["departments"].as_array().unwrap().len(),
        z.sim.state.departments().len()
    );
    assert_eq!(dump.body, z.sim.state.dump());
}

#[tokio::test]
async fn reset_empties_the_data_but_keeps_the_classes() {
    let z = zsim().await;
    let first = z.create(student("1")).await;
    let extra = z.sim.state.seed_department("Lyceum", "2026-2027", "h3a");
    z.sim.state.seed_placement("1", extra, None).unwrap();
    let classes = z.sim.state.departments();

    let r = z.http.post(z.root("/_sim/reset")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let st = &z.sim.state;
    assert!(st.users().is_empty() && st.students().is_empty() && st.placements().is_empty());
    assert_eq!(st.total_requests(), 0);
    assert_eq!(st.last_event_id(), 0);
    assert_eq!(st.departments(), classes);
    // Ids and eventIds start over.
    let r = z.post("users", student("9")).await;
    assert_eq!(r.assert_envelope(201), 1);
    assert_eq!(r.one()["id"], first["id"]);
}

#[tokio::test]
async fn switches_can_be_read_and_replaced_over_http() {
    let z = zsim().await;
    let r = z.sim_get("/_sim/switches").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({
            "list_users": true, "placement_read": false, "placement_delete": false,
            "faults": {
                "rate_limit": false, "rate_budget": 100, "rate_window_s": 10,
                "rate_refill": "continuous", "retry_after": true,
                "latency_ms": 0, "latency_jitter_ms": 0,
                "error_5xx_ratio": 0.0, "error_5xx_after_apply_ratio": 0.0,
                "drop_ratio": 0.0, "drop_after_apply_ratio": 0.0,
                "hang_ms": 0, "hang_ratio": 0.0, "error_statuses": [500, 502, 503],
                "unavailable_retry_after_s": 1, "throttle_ratio": 0.0,
                "throttle_retry_after_s": 1, "malformed_json_ratio": 0.0,
                "slow_ms": 0, "slow_ratio": 0.0, "only_writes": false, "fault_scope": null,
            },
        })
    );

    let r = read(
        z.http
            .put(z.root("/_sim/switches"))
            .json(&json!({ "list_users": false, "placement_read": true }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sw = z.sim.state.switches();
    assert!(!sw.list_users && sw.placement_read && !sw.placement_delete);
    assert!(sw.faults.retry_after, "left out: the default");
    z.get("users").await.assert_error(403, "Forbidden");
    z.get("studentsindepartments?student=1")
        .await
        .assert_envelope(200);

    for bad in [
        json!({ "no_such_switch": true }),
        json!({ "list_users": "maybe" }),
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
