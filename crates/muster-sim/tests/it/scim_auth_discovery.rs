//! Authentication and the discovery endpoints.

use muster_sim::{ScimSimConfig, SpcMode};
use reqwest::Method;
use serde_json::json;

use crate::{resp, sim, sim_with, sim_with_switches, user, ENTERPRISE, GROUP, USER};

#[tokio::test]
async fn requests_without_valid_credentials_get_a_scim_401() {
    let s = sim().await;
    let none = resp(s.http.get(s.url("/Users")).send().await.unwrap()).await;
    none.assert_error(401, None);
    assert!(none
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer"));
    let wrong = resp(
        s.http
            .get(s.url("/Users"))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap(),
    )
    .await;
    wrong.assert_error(401, None);
    // Basic is off unless configured.
    let basic = resp(
        s.http
            .get(s.url("/Users"))
            .basic_auth("u", Some("p"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    basic.assert_error(401, None);
    assert_eq!(s.get("/Users").await.status, 200);
    assert!(
        s.sim.state.users().is_empty(),
        "a refused request changed nothing"
    );
}

#[tokio::test]
async fn basic_auth_works_when_configured() {
    let s = sim_with(ScimSimConfig {
        basic: Some(("admin".into(), "s3cret".into())),
        ..ScimSimConfig::default()
    })
    .await;
    let ok = s
        .http
        .post(s.url("/Users"))
        .basic_auth("admin", Some("s3cret"))
        .header("content-type", "application/json")
        .body(user("basic@x").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    let bad = resp(
        s.http
            .get(s.url("/Users"))
            .basic_auth("admin", Some("wrong"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    bad.assert_error(401, None);
    let spc = s.get("/ServiceProviderConfig").await;
    let types: Vec<&str> = spc.body["authenticationSchemes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["oauthbearertoken", "httpbasic"]);
}

#[tokio::test]
async fn service_provider_config_reports_the_switches() {
    let s = sim().await;
    let r = s.get("/ServiceProviderConfig").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    assert_eq!(r.body["patch"]["supported"], true);
    assert_eq!(r.body["bulk"]["supported"], false);
    assert_eq!(r.body["etag"]["supported"], true);
    assert_eq!(
        r.body["filter"],
        json!({ "supported": true, "maxResults": 200 })
    );

    s.sim.state.update_switches(|sw| {
        sw.patch = false;
        sw.etag = false;
        sw.bulk = true;
        sw.max_results = 50;
    });
    let r = s.get("/ServiceProviderConfig").await;
    assert_eq!(r.body["patch"]["supported"], false);
    assert_eq!(r.body["etag"]["supported"], false);
    assert_eq!(r.body["bulk"]["supported"], true);
    assert_eq!(r.body["filter"]["maxResults"], 50);
}

#[tokio::test]
async fn patch_switched_off_answers_501() {
    let s = sim_with_switches(|sw| sw.patch = false).await;
    let id = s.create_user(user("p@x")).await;
    let r = s
        .patch(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "path": "active", "value": false }]),
        )
        .await;
    r.assert_error(501, None);
}

#[tokio::test]
async fn a_lying_server_advertises_patch_and_refuses_it() {
    let s = sim_with_switches(|sw| sw.spc = SpcMode::Lying).await;
    let spc = s.get("/ServiceProviderConfig").await;
    assert_eq!(spc.body["patch"]["supported"], true);
    let id = s.create_user(user("liar@x")).await;
    let r = s
        .patch(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "path": "active", "value": false }]),
        )
        .await;
    r.assert_error(501, None);
    assert!(s.sim.state.user(&id).unwrap().get("active").is_none());
}

#[tokio::test]
async fn an_absent_service_provider_config_is_404() {
    let s = sim_with_switches(|sw| sw.spc = SpcMode::Absent).await;
    s.get("/ServiceProviderConfig")
        .await
        .assert_error(404, None);
    // Everything else still works.
    assert_eq!(s.get("/Users").await.status, 200);
}

#[tokio::test]
async fn schemas_and_resource_types_describe_user_enterprise_and_group() {
    let s = sim().await;
    let r = s.get("/Schemas").await;
    assert_eq!(r.status, 200);
    let ids: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [USER, ENTERPRISE, GROUP]);
    let ent = s.get(&format!("/Schemas/{ENTERPRISE}")).await;
    let attrs: Vec<&str> = ent.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(attrs.contains(&"department") && attrs.contains(&"manager"));
    let core = s.get(&format!("/Schemas/{USER}")).await;
    let user_name = core.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .unwrap();
    assert_eq!(user_name["caseExact"], false);
    assert_eq!(user_name["uniqueness"], "server");

    let rts = s.get("/ResourceTypes").await;
    assert_eq!(rts.body["totalResults"], 2);
    let u = s.get("/ResourceTypes/User").await;
    assert_eq!(u.body["endpoint"], "/Users");
    assert_eq!(
        u.body["schemaExtensions"],
        json!([{ "schema": ENTERPRISE, "required": false }])
    );
    s.get("/ResourceTypes/Device").await.assert_error(404, None);
}

#[tokio::test]
async fn unknown_endpoints_and_methods_get_scim_errors() {
    let s = sim().await;
    s.get("/Devices").await.assert_error(404, None);
    s.send(Method::DELETE, "/Users", None)
        .await
        .assert_error(405, None);
}
