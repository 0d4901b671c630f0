//! Users: auth, content types, POST, GET and filter, PUT, DELETE (zivver.md §3, §4, §6).

use muster_sim::DuplicateStatus;
use reqwest::Method;
use serde_json::{json, Value};

use super::{enc, read, user, zsim, zsim_with, CORE, ENTERPRISE, LIST, TOKEN, ZIVVER};

#[tokio::test]
async fn the_api_needs_one_of_the_bearer_tokens() {
    let z = zsim_with(|c| c.tokens = vec![TOKEN.into(), "second-key".into()]).await;
    assert!(z.sim.base_url.starts_with("http://127.0.0.1:"));
    assert_eq!(z.sim.base_url, format!("http://{}", z.sim.addr));
    assert_eq!(z.sim.api_url(), format!("{}/api/scim/v2", z.sim.base_url));

    let none = read(z.http.get(z.api("/Users")).send().await.unwrap()).await;
    none.assert_text(401, "Unauthorized");
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    for auth in [
        "Bearer wrong",
        "Basic emFpdnZlci10b2tlbjo=",
        "zivver-token",
        "Bearer ",
    ] {
        let r = z
            .http
            .get(z.api("/Users"))
            .header("authorization", auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{auth}");
    }
    for token in [TOKEN, "second-key"] {
        let r = z
            .http
            .get(z.api("/Users"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Refused before anything is applied.
    let r = z
        .http
        .post(z.api("/Users"))
        .header("content-type", "application/json")
        .body(user("a@example.org").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(z.sim.state.users().is_empty());
}

#[tokio::test]
async fn json_content_types_are_accepted_and_others_refused() {
    let z = zsim().await;
    for (i, ct) in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=\"UTF-8\"",
        "application/scim+json",
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("u{i}@example.org");
        let r = z
            .send_raw(Method::POST, "/Users", Some(ct), user(&name).to_string())
            .await;
        assert_eq!(r.status, 201, "{ct}: {}", r.text);
    }
    for ct in [
        Some("text/plain"),
        Some("application/json; charset=latin1"),
        None,
    ] {
        let r = z
            .send_raw(
                Method::POST,
                "/Users",
                ct,
                user("x@example.org").to_string(),
            )
            .await;
        assert_eq!(r.status, 415, "{ct:?}");
    }
    let r = z
        .send_raw(Method::POST, "/Users", Some("application/json"), "{".into())
        .await;
    r.assert_text(400, "Invalid JSON");
    assert_eq!(z.sim.state.users().len(), 4);
}

#[tokio::test]
async fn post_answers_201_with_both_extensions_and_never_the_sso_key() {
    let z = zsim().await;
    let r = z.post("/Users", user("a.jansen@example.org")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let id = r.body["id"].as_str().unwrap().to_string();
    let want = json!({
        "schemas": [CORE, ENTERPRISE, ZIVVER],
        "id": id,
        "userName": "a.jansen@example.org",
        "name": { "formatted": "a.jansen@example.org" },
        "nickName": "",
        "active": true,
        "phoneNumbers": [],
        "meta": {
            "resourceType": "User",
            "created": r.body["meta"]["created"],
            "location": format!("/scim/v2/Users/{id}"),
        },
        ENTERPRISE: { "division": "/" },
        ZIVVER: { "aliases": [], "delegates": [] },
    });
    assert_eq!(r.body, want);
    assert!(r.body["meta"]["created"].as_str().unwrap().ends_with('Z'));
    assert!(!r.text.contains("SsoAccountKey") && !r.text.contains("sso-a.jansen"));
    assert_eq!(
        z.sim.state.sso_key_of(&id).as_deref(),
        Some("sso-a.jansen@example.org")
    );

    // A minimal body: the extension objects still come back.
    let r = z
        .post("/Users", json!({ "userName": "min@example.org" }))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body[ENTERPRISE], json!({ "division": "/" }));
    assert_eq!(r.body[ZIVVER], json!({ "aliases": [], "delegates": [] }));
    assert_eq!(r.body["active"], true);

    for path in [format!("/Users/{id}"), "/Users".into()] {
        let got = z.get(&path).await;
        assert_eq!(got.status, 200);
        assert!(!got.text.contains("SsoAccountKey") && !got.text.contains("sso-a.jansen"));
    }
    assert_eq!(z.get(&format!("/Users/{id}")).await.body, want);
}

#[tokio::test]
async fn post_needs_a_user_name() {
    let z = zsim().await;
    for body in [
        json!({ "active": true }),
        json!({ "userName": "" }),
        json!({ "userName": null }),
    ] {
        z.post("/Users", body)
            .await
            .assert_text(400, "userName is required");
    }
    z.post("/Users", json!({ "userName": 7 }))
        .await
        .assert_text(400, "Invalid value for userName");
    assert!(z.sim.state.users().is_empty());
}

#[tokio::test]
async fn active_is_a_boolean_or_a_true_false_string_in_any_case() {
    let z = zsim().await;
    for (i, (sent, stored)) in [
        (json!(true), true),
        (json!(false), false),
        (json!("True"), true),
        (json!("FALSE"), false),
        (json!("tRuE"), true),
    ]
    .into_iter()
    .enumerate()
    {
        let r = z
            .post(
                "/Users",
                json!({ "userName": format!("a{i}@example.org"), "active": sent }),
            )
            .await;
        assert_eq!(r.status, 201, "{sent}: {}", r.text);
        assert_eq!(r.body["active"], json!(stored), "{sent}");
    }
    for sent in [
        json!("yes"),
        json!(1),
        json!("1"),
        json!(null),
        json!([true]),
    ] {
        z.post(
            "/Users",
            json!({ "userName": "bad@example.org", "active": sent }),
        )
        .await
        .assert_text(400, "Invalid value for active");
    }
    assert!(z.sim.state.user_by_name("bad@example.org").is_none());
}

#[tokio::test]
async fn a_duplicate_user_name_ignoring_case_gets_the_duplicate_status() {
    let z = zsim().await;
    z.create(user("dup@example.org")).await;
    let r = z.post("/Users", user("DUP@Example.ORG")).await;
    r.assert_text(409, "Account already exists: DUP@Example.ORG");

    z.sim
        .state
        .update_switches(|s| s.duplicate_status = DuplicateStatus::BadRequest);
    z.post("/Users", user("dup@example.org"))
        .await
        .assert_text(400, "Account already exists: dup@example.org");
    assert_eq!(z.sim.state.users().len(), 1);
}

#[tokio::test]
async fn division_is_slash_when_missing_or_empty_and_must_be_seeded() {
    let z = zsim().await;
    let division = |name: &str, d: Option<Value>| {
        let mut b = json!({ "userName": name });
        if let Some(d) = d {
            b[ENTERPRISE] = d;
        }
        b
    };
    for (i, d) in [
        None,
        Some(json!({})),
        Some(json!({ "division": "" })),
        Some(json!({ "division": null })),
        Some(json!({ "division": "/" })),
    ]
    .into_iter()
    .enumerate()
    {
        let r = z
            .post("/Users", division(&format!("d{i}@example.org"), d.clone()))
            .await;
        assert_eq!(r.status, 201, "{d:?}");
        assert_eq!(r.body[ENTERPRISE]["division"], "/", "{d:?}");
    }
    let r = z
        .post(
            "/Users",
            division("s@example.org", Some(json!({ "division": "Sales" }))),
        )
        .await;
    assert_eq!(r.body[ENTERPRISE]["division"], "Sales");

    let marketing = division("m@example.org", Some(json!({ "division": "Marketing" })));
    z.post("/Users", marketing.clone())
        .await
        .assert_text(400, "Invalid division: Marketing");
    // Division names are exact.
    z.post(
        "/Users",
        division("m@example.org", Some(json!({ "division": "sales" }))),
    )
    .await
    .assert_text(400, "Invalid division: sales");
    assert!(z.sim.state.user_by_name("m@example.org").is_none());

    z.sim.state.seed_division("Marketing");
    let r = z.post("/Users", marketing).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body[ENTERPRISE]["division"], "Marketing");
}

#[tokio::test]
async fn an_alias_held_by_another_account_is_refused() {
    let z = zsim().await;
    let mut a = user("a@example.org");
    a[ZIVVER]["aliases"] = json!(["info@example.org"]);
    let a_id = z.create(a.clone()).await;

    for taken in ["info@example.org", "INFO@example.org", "a@example.org"] {
        let mut b = user("b@example.org");
        b[ZIVVER]["aliases"] = json!(["ok@example.org", taken]);
        z.post("/Users", b).await.assert_text(
            400,
            &format!("Error creating alias: Alias is already taken for {taken}"),
        );
    }
    assert!(z.sim.state.user_by_name("b@example.org").is_none());

    // Its own alias is no conflict: the same PUT can be repeated.
    for _ in 0..2 {
        let r = z.put(&format!("/Users/{a_id}"), a.clone()).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body[ZIVVER]["aliases"], json!(["info@example.org"]));
    }
    // Another account's address as an alias of an existing user, on PUT.
    let b_id = z.create(user("b@example.org")).await;
    let mut b = user("b@example.org");
    b[ZIVVER]["aliases"] = json!(["info@example.org"]);
    z.put(&format!("/Users/{b_id}"), b).await.assert_text(
        400,
        "Error creating alias: Alias is already taken for info@example.org",
    );
    assert_eq!(
        z.get(&format!("/Users/{b_id}")).await.body[ZIVVER]["aliases"],
        json!([])
    );
}

#[tokio::test]
async fn unknown_delegates_are_dropped_silently() {
    let z = zsim().await;
    z.create(user("boss@example.org")).await;
    let mut body = user("assistant@example.org");
    body[ZIVVER]["delegates"] = json!([
        "BOSS@example.org",
        "nobody@example.org",
        "someone@elsewhere.net"
    ]);
    let r = z.post("/Users", body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body[ZIVVER]["delegates"], json!(["boss@example.org"]));
}

#[tokio::test]
async fn an_address_outside_the_organisation_is_refused() {
    let z = zsim_with(|c| c.domains = vec!["example.org".into(), "college.example".into()]).await;
    z.create(user("a@College.Example")).await;
    for name in [
        "x@elsewhere.net",
        "x@sub.example.org",
        "no-at-sign",
        "@example.org",
    ] {
        z.post("/Users", user(name))
            .await
            .assert_text(400, "Account is outside the organization");
    }
    let mut body = user("b@example.org");
    body[ZIVVER]["aliases"] = json!(["b@elsewhere.net"]);
    z.post("/Users", body)
        .await
        .assert_text(400, "Account is outside the organization");
    assert_eq!(z.sim.state.users().len(), 1);
}

#[tokio::test]
async fn get_users_returns_everything_in_one_answer() {
    let z = zsim().await;
    for i in 0..5 {
        z.create(user(&format!("u{i}@example.org"))).await;
    }
    let r = z.get("/Users?startIndex=2&count=2").await;
    assert_eq!(r.status, 200);
    let keys: Vec<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["Resources", "schemas", "totalResults"]);
    assert_eq!(r.body["schemas"], json!([LIST]));
    assert_eq!(r.body["totalResults"], 5);
    assert_eq!(r.body["Resources"].as_array().unwrap().len(), 5);
    assert_eq!(r.body["Resources"][0]["userName"], "u0@example.org");
}

#[tokio::test]
async fn the_user_name_filter_matches_ignoring_case_encoded_or_not() {
    let z = zsim().await;
    let quoted = r#"o"brien@example.org"#;
    z.create(user("a.jansen@example.org")).await;
    z.create(user(quoted)).await;
    z.create(user("other@example.org")).await;

    let filter = r#"userName eq "A.Jansen@EXAMPLE.org""#;
    // Fully percent-encoded, and as the public connector sends it (reqwest encodes only what it
    // must: spaces and quotes).
    for path in [
        format!("/Users?filter={}", enc(filter)),
        format!("/Users?filter={filter}"),
        format!(
            "/Users?filter={}",
            enc(r#"username EQ "a.jansen@example.org""#)
        ),
    ] {
        let r = z.get(&path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.body["totalResults"], 1, "{path}");
        assert_eq!(r.body["Resources"][0]["userName"], "a.jansen@example.org");
    }
    let escaped = enc(r#"userName eq "o\"brien@example.org""#);
    assert_eq!(
        z.list_names(&format!("/Users?filter={escaped}")).await,
        [quoted]
    );

    let none = z
        .get(&format!(
            "/Users?filter={}",
            enc(r#"userName eq "ghost@example.org""#)
        ))
        .await;
    assert_eq!(none.status, 200);
    assert_eq!(
        none.body,
        json!({ "schemas": [LIST], "totalResults": 0, "Resources": [] })
    );

    for other in [
        r#"userName co "jansen""#,
        r#"displayName eq "x""#,
        r#"userName eq "a.jansen@example.org" and active eq true"#,
        "userName eq a.jansen@example.org",
        "",
    ] {
        let r = z.get(&format!("/Users?filter={}", enc(other))).await;
        r.assert_text(400, &format!("Unsupported filter: {other}"));
    }
}

#[tokio::test]
async fn an_unknown_id_is_400_on_get_put_and_delete() {
    let z = zsim().await;
    let id = "00000000-0000-4000-8000-000000000000";
    let text = format!("Unknown account with uuid: {id}");
    z.get(&format!("/Users/{id}")).await.assert_text(400, &text);
    z.put(&format!("/Users/{id}"), user("x@example.org"))
        .await
        .assert_text(400, &text);
    z.delete(&format!("/Users/{id}"))
        .await
        .assert_text(400, &text);
    assert!(z.sim.state.users().is_empty());
}

#[tokio::test]
async fn put_applies_what_is_present_and_clears_an_omitted_sso_key() {
    let z = zsim().await;
    let mut full = user("p@example.org");
    full["nickName"] = json!("Pip");
    full["phoneNumbers"] = json!([{ "value": "+31 20 000 0000", "type": "work" }]);
    full[ENTERPRISE]["division"] = json!("Sales");
    full[ZIVVER]["aliases"] = json!(["pip@example.org"]);
    let id = z.create(full).await;
    assert!(z.sim.state.sso_key_of(&id).is_some());

    // The public connector's disable: `schemas` + `active` as a string, and its delete adds
    // an explicit null `name.formatted`. `id`, `meta` and `schemas` are ignored.
    let r = z
        .put(
            &format!("/Users/{id}"),
            json!({
                "schemas": ["urn:bogus"],
                "id": "someone-else",
                "meta": { "resourceType": "Group", "created": "1999-01-01T00:00:00Z" },
                "active": "False",
                "name": { "formatted": null },
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let u = r.body;
    assert_eq!(u["id"], json!(id));
    assert_eq!(u["schemas"], json!([CORE, ENTERPRISE, ZIVVER]));
    assert_eq!(u["meta"]["resourceType"], "User");
    assert_eq!(u["active"], false);
    assert_eq!(u["name"]["formatted"], Value::Null);
    // Absent attributes are left alone.
    assert_eq!(u["userName"], "p@example.org");
    assert_eq!(u["nickName"], "Pip");
    assert_eq!(u["phoneNumbers"][0]["type"], "work");
    assert_eq!(u[ENTERPRISE]["division"], "Sales");
    assert_eq!(u[ZIVVER]["aliases"], json!(["pip@example.org"]));
    // ...except the SSO key: the documented risk of a partial PUT.
    assert_eq!(z.sim.state.sso_key_of(&id), None);
    assert_eq!(z.get(&format!("/Users/{id}")).await.body, u);

    // Explicit nulls clear; a new key and a new name are set.
    let r = z
        .put(
            &format!("/Users/{id}"),
            json!({
                "userName": "P2@example.org",
                "nickName": null,
                ENTERPRISE: { "division": null },
                ZIVVER: { "aliases": null, "SsoAccountKey": "new-key" },
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["userName"], "P2@example.org");
    assert_eq!(r.body["nickName"], Value::Null);
    assert_eq!(r.body[ENTERPRISE]["division"], "/");
    assert_eq!(r.body[ZIVVER]["aliases"], json!([]));
    assert_eq!(z.sim.state.sso_key_of(&id).as_deref(), Some("new-key"));
    assert!(!r.text.contains("new-key"));

    // The same rules as POST.
    for (body, text) in [
        (json!({ "active": "maybe" }), "Invalid value for active"),
        (json!({ "userName": null }), "userName is required"),
        (
            json!({ ENTERPRISE: { "division": "Nowhere" } }),
            "Invalid division: Nowhere",
        ),
        (
            json!({ "userName": "p@elsewhere.net" }),
            "Account is outside the organization",
        ),
    ] {
        z.put(&format!("/Users/{id}"), body)
            .await
            .assert_text(400, text);
    }
    let other = z.create(user("other@example.org")).await;
    z.put(
        &format!("/Users/{other}"),
        json!({ "userName": "p2@EXAMPLE.org" }),
    )
    .await
    .assert_text(409, "Account already exists: p2@EXAMPLE.org");
    // Refused PUTs change nothing, not even the key.
    assert_eq!(z.sim.state.sso_key_of(&id).as_deref(), Some("new-key"));
    assert_eq!(
        z.get(&format!("/Users/{id}")).await.body["userName"],
        "P2@example.org"
    );
}

#[tokio::test]
async fn without_sso_clear_on_omit_an_omitted_key_is_kept_but_null_clears() {
    let z = zsim().await;
    z.sim.state.update_switches(|s| s.sso_clear_on_omit = false);
    let id = z.create(user("k@example.org")).await;
    let r = z
        .put(&format!("/Users/{id}"), json!({ "active": false }))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        z.sim.state.sso_key_of(&id).as_deref(),
        Some("sso-k@example.org")
    );
    let r = z
        .put(
            &format!("/Users/{id}"),
            json!({ ZIVVER: { "SsoAccountKey": null } }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(z.sim.state.sso_key_of(&id), None);
}

#[tokio::test]
async fn the_safe_full_put_repeats_fine_and_keeps_everything() {
    let z = zsim().await;
    let boss = z.create(user("boss@example.org")).await;
    let mut body = user("full@example.org");
    body[ZIVVER]["delegates"] = json!(["boss@example.org"]);
    body[ZIVVER]["aliases"] = json!(["f@example.org"]);
    let id = z.create(body).await;

    // The public update path: GET, change, add the key, PUT it all back.
    let mut got = z.get(&format!("/Users/{id}")).await.body;
    got["name"]["formatted"] = json!("Full Name");
    got[ZIVVER]["SsoAccountKey"] = json!("sso-full");
    let first = z.put(&format!("/Users/{id}"), got.clone()).await;
    let second = z.put(&format!("/Users/{id}"), got).await;
    assert_eq!((first.status, second.status), (200, 200), "{}", second.text);
    assert_eq!(first.body, second.body);
    assert_eq!(second.body["name"]["formatted"], "Full Name");
    assert_eq!(
        second.body[ZIVVER]["delegates"],
        json!(["boss@example.org"])
    );
    assert_eq!(second.body[ZIVVER]["aliases"], json!(["f@example.org"]));
    assert_eq!(z.sim.state.sso_key_of(&id).as_deref(), Some("sso-full"));

    // A delegate that is deleted disappears.
    assert_eq!(z.delete(&format!("/Users/{boss}")).await.status, 204);
    assert_eq!(
        z.get(&format!("/Users/{id}")).await.body[ZIVVER]["delegates"],
        json!([])
    );
}

#[tokio::test]
async fn delete_is_hard_and_then_the_id_reads_400() {
    let z = zsim().await;
    let id = z.create(user("gone@example.org")).await;
    let keep = z.create(user("keep@example.org")).await;
    let g = z.group("Administratie", &[&id, &keep]);

    let r = z.delete(&format!("/Users/{id}")).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    let text = format!("Unknown account with uuid: {id}");
    z.get(&format!("/Users/{id}")).await.assert_text(400, &text);
    z.delete(&format!("/Users/{id}"))
        .await
        .assert_text(400, &text);
    assert_eq!(z.members(&g).await, [keep]);
    assert_eq!(z.list_names("/Users").await, ["keep@example.org"]);
    // Irreversible: the address can be taken again, by a new id.
    let again = z.create(user("gone@example.org")).await;
    assert_ne!(again, id);
}

#[tokio::test]
async fn ids_follow_the_seed() {
    async fn ids(seed: u64) -> Vec<String> {
        let z = zsim_with(|c| c.seed = seed).await;
        let mut out = Vec::new();
        for i in 0..3 {
            out.push(z.create(user(&format!("s{i}@example.org"))).await);
        }
        out.push(z.group("G", &[]));
        out
    }
    let a = ids(7).await;
    assert_eq!(a, ids(7).await);
    assert_ne!(a, ids(8).await);
    assert!(a
        .iter()
        .all(|id| id.len() == 36 && id.as_bytes()[14] == b'4'));
}
