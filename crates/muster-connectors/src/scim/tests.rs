//! Unit tests of the SCIM connector's pure parts: attribute paths, flattening and overlay,
//! paging, discovery defaults and config validation. Behaviour against a server is in
//! `tests/it/` (simulator and scim2-server).

use super::client::{Pager, PagingError};
use super::config::ScimConfig;
use super::path::{flatten, AttrPath};
use super::wire::{self, ENTERPRISE_USER_SCHEMA};
use serde_json::{json, Map, Value};

const DEPT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";

// ----- attribute paths ---------------------------------------------------------------------

#[test]
fn paths_parse_into_schema_attribute_filter_and_sub() {
    let p = AttrPath::parse("name.givenName").unwrap();
    assert_eq!(
        (p.schema, p.attr.as_str(), p.filter, p.sub.as_deref()),
        (None, "name", None, Some("givenName"))
    );

    let p = AttrPath::parse(r#"emails[type eq "work"].value"#).unwrap();
    assert_eq!(p.attr, "emails");
    let f = p.filter.clone().unwrap();
    assert_eq!((f.attr.as_str(), f.value), ("type", json!("work")));
    assert_eq!(p.sub.as_deref(), Some("value"));
    assert_eq!(p.to_string(), r#"emails[type eq "work"].value"#);

    let p = AttrPath::parse(DEPT).unwrap();
    assert_eq!(p.schema.as_deref(), Some(ENTERPRISE_USER_SCHEMA));
    assert_eq!(p.attr, "department");
    assert_eq!(p.to_string(), DEPT);

    let p = AttrPath::parse(&format!("{ENTERPRISE_USER_SCHEMA}:manager.value")).unwrap();
    assert_eq!(
        (p.attr.as_str(), p.sub.as_deref()),
        ("manager", Some("value"))
    );

    // A core-schema prefix is the core attribute.
    let p = AttrPath::parse("urn:ietf:params:scim:schemas:core:2.0:User:userName").unwrap();
    assert_eq!((p.to_string(), p.schema), ("userName".to_owned(), None));
}

#[test]
fn filter_values_may_hold_brackets_colons_and_quotes() {
    let p = AttrPath::parse(r#"addresses[type eq "a]:\"b"].locality"#).unwrap();
    assert_eq!(p.filter.unwrap().value, json!("a]:\"b"));
    let p = AttrPath::parse(r#"urn:x:ext:2.0:User:tags[type eq "x:y"].value"#).unwrap();
    assert_eq!(p.schema.as_deref(), Some("urn:x:ext:2.0:User"));
    assert_eq!(p.attr, "tags");
}

#[test]
fn malformed_paths_are_refused() {
    for bad in [
        "",
        "1abc",
        "name.",
        "name..x",
        "emails[type eq \"work\"",
        "emails[type co \"w\"].value",
        "emails[type eq work].value",
        "emails[type eq \"w\"]x",
        "user name",
        "urn:x:ext:",
    ] {
        assert!(AttrPath::parse(bad).is_err(), "{bad:?} parsed");
    }
}

// ----- flattening --------------------------------------------------------------------------

fn sample_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA],
        "id": "u1",
        "externalId": "E1",
        "meta": { "version": "W/\"3\"" },
        "userName": "ann",
        "active": false,
        "title": "Teacher",
        "name": { "givenName": "Ann", "familyName": "Lee", "formatted": null },
        "emails": [
            { "type": "home", "value": "ann@home.example" },
            { "type": "work", "value": "ann@corp.example", "primary": true }
        ],
        "phoneNumbers": [ { "type": "mobile", "value": "+31 6 1234" } ],
        "groups": [ { "value": "g1", "$ref": "https://x/Groups/g1" } ],
        "roles": [ { "value": "teacher" }, { "value": "mentor" } ],
        ENTERPRISE_USER_SCHEMA: {
            "department": "Science",
            "manager": { "value": "u9", "$ref": "https://x/Users/u9", "displayName": "Boss" }
        }
    })
}

#[test]
fn a_user_flattens_into_scim_paths() {
    let attrs = flatten(&sample_user());
    let get = |k: &str| attrs.get(k).cloned();
    assert_eq!(get("userName"), Some(json!("ann")));
    assert_eq!(get("externalId"), Some(json!("E1")));
    assert_eq!(get("title"), Some(json!("Teacher")));
    assert_eq!(get("name.givenName"), Some(json!("Ann")));
    assert_eq!(get("name.familyName"), Some(json!("Lee")));
    assert_eq!(get("name.formatted"), None);
    assert_eq!(
        get(r#"emails[type eq "work"].value"#),
        Some(json!("ann@corp.example"))
    );
    assert_eq!(get(r#"emails[type eq "work"].primary"#), Some(json!(true)));
    assert_eq!(
        get(r#"emails[type eq "home"].value"#),
        Some(json!("ann@home.example"))
    );
    assert_eq!(
        get(r#"phoneNumbers[type eq "mobile"].value"#),
        Some(json!("+31 6 1234"))
    );
    assert_eq!(get(DEPT), Some(json!("Science")));
    assert_eq!(
        get(&format!("{ENTERPRISE_USER_SCHEMA}:manager.value")),
        Some(json!("u9"))
    );
    assert_eq!(
        get("roles"),
        Some(json!([{ "value": "teacher" }, { "value": "mentor" }]))
    );
    for absent in ["id", "schemas", "meta.version", "active", "groups"] {
        assert!(
            !attrs.keys().any(|k| k.starts_with(absent)),
            "{absent} flattened"
        );
    }
    assert!(!attrs.keys().any(|k| k.contains("$ref")));
    // Every flattened key is a path Muster can write back.
    for key in attrs.keys() {
        assert!(AttrPath::parse(key).is_ok(), "{key}");
    }
}

#[test]
fn repeated_types_take_the_primary_element() {
    let user = json!({ "emails": [
        { "type": "work", "value": "a@x" },
        { "type": "work", "value": "b@x", "primary": true }
    ]});
    let attrs = flatten(&user);
    assert_eq!(
        attrs.get(r#"emails[type eq "work"].value"#),
        Some(&json!("b@x"))
    );
}

// ----- writing paths -----------------------------------------------------------------------

fn set(resource: &mut Map<String, Value>, path: &str, value: Value) {
    AttrPath::parse(path).unwrap().set(resource, value);
}

#[test]
fn writes_build_a_resource_and_declare_extensions_only_when_used() {
    let mut r = Map::new();
    r.insert("schemas".into(), json!([wire::CORE_USER_SCHEMA]));
    set(&mut r, "userName", json!("ann"));
    set(&mut r, "name.givenName", json!("Ann"));
    set(&mut r, r#"emails[type eq "work"].value"#, json!("a@x"));
    assert_eq!(r["schemas"], json!([wire::CORE_USER_SCHEMA]));
    set(&mut r, DEPT, json!("Science"));
    set(
        &mut r,
        &format!("{ENTERPRISE_USER_SCHEMA}:manager.value"),
        json!("u9"),
    );
    assert_eq!(
        Value::Object(r),
        json!({
            "schemas": [wire::CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "ann",
            "name": { "givenName": "Ann" },
            "emails": [ { "type": "work", "value": "a@x" } ],
            ENTERPRISE_USER_SCHEMA: { "department": "Science", "manager": { "value": "u9" } }
        })
    );
}

#[test]
fn overlay_changes_only_the_addressed_element() {
    let Value::Object(mut r) = sample_user() else {
        unreachable!()
    };
    set(
        &mut r,
        r#"emails[type eq "WORK"].value"#,
        json!("new@corp.example"),
    );
    set(
        &mut r,
        r#"phoneNumbers[type eq "mobile"].value"#,
        Value::Null,
    );
    set(&mut r, "name.familyName", Value::Null);
    set(&mut r, "title", Value::Null);
    set(&mut r, DEPT, json!("Maths"));
    let attrs = flatten(&Value::Object(r.clone()));
    assert_eq!(
        attrs[r#"emails[type eq "work"].value"#],
        json!("new@corp.example")
    );
    assert_eq!(
        attrs[r#"emails[type eq "home"].value"#],
        json!("ann@home.example")
    );
    assert_eq!(attrs[r#"emails[type eq "work"].primary"#], json!(true));
    assert!(!r.contains_key("phoneNumbers"), "an emptied list goes");
    assert_eq!(r["name"], json!({ "givenName": "Ann", "formatted": null }));
    assert!(!r.contains_key("title"));
    assert_eq!(attrs[DEPT], json!("Maths"));
    assert_eq!(r["id"], json!("u1"), "what no change addresses stays");

    // Clearing what is not there is a no-op, and declares nothing.
    let mut empty = Map::new();
    set(&mut empty, DEPT, Value::Null);
    set(&mut empty, r#"emails[type eq "work"].value"#, Value::Null);
    set(&mut empty, "name.givenName", Value::Null);
    assert!(empty.is_empty());
}

#[test]
fn flatten_then_write_back_reproduces_the_attributes() {
    let attrs = flatten(&sample_user());
    let mut r = Map::new();
    for (k, v) in &attrs {
        set(&mut r, k, v.clone());
    }
    assert_eq!(flatten(&Value::Object(r)), attrs);
}

// ----- paging ------------------------------------------------------------------------------

fn users(ids: &[u32]) -> Vec<Value> {
    ids.iter()
        .map(|i| json!({ "id": format!("u{i}") }))
        .collect()
}

/// What a scripted read ended with, and the `(startIndex, count)` of each request.
type Driven = (Result<Vec<Value>, PagingError>, Vec<(usize, usize)>);

/// Drives a pager over a fake server that answers each request with the next scripted page,
/// and records the requests.
fn drive(page_size: usize, pages: Vec<(Option<usize>, Vec<Value>)>) -> Driven {
    let mut pager = Pager::new(page_size);
    let mut asked = Vec::new();
    for (total, resources) in pages {
        asked.push(pager.next_request());
        match pager.accept(total, resources) {
            Ok(Some(items)) => return (Ok(items), asked),
            Ok(None) => {}
            Err(e) => return (Err(e), asked),
        }
    }
    panic!("the pager wanted more pages than scripted: {asked:?}");
}

#[test]
fn paging_advances_by_items_returned_and_stops_at_total() {
    // The server returns fewer than `count` (a cap it did not announce).
    let (items, asked) = drive(
        10,
        vec![
            (Some(7), users(&[1, 2, 3])),
            (Some(7), users(&[4, 5, 6])),
            (Some(7), users(&[7])),
        ],
    );
    assert_eq!(items.unwrap().len(), 7);
    assert_eq!(asked, vec![(1, 10), (4, 10), (7, 10)]);
}

#[test]
fn paging_ends_at_an_empty_page_without_total() {
    let (items, asked) = drive(
        2,
        vec![(None, users(&[1, 2])), (None, users(&[3])), (None, vec![])],
    );
    assert_eq!(items.unwrap().len(), 3);
    assert_eq!(asked, vec![(1, 2), (3, 2), (4, 2)]);
}

#[test]
fn a_server_ignoring_paging_ends_the_read_at_the_repeated_page() {
    let (items, asked) = drive(
        2,
        vec![(None, users(&[1, 2, 3])), (None, users(&[1, 2, 3]))],
    );
    assert_eq!(items.unwrap().len(), 3);
    assert_eq!(asked.len(), 2);
}

#[test]
fn duplicates_from_shifting_offsets_are_dropped() {
    // A user created before the second page was read shifts u2 onto that page again.
    let (items, _) = drive(
        2,
        vec![
            (Some(4), users(&[1, 2])),
            (Some(5), users(&[2, 3])),
            (Some(5), users(&[4, 5])),
        ],
    );
    let ids: Vec<_> = items.unwrap().iter().map(|u| u["id"].clone()).collect();
    assert_eq!(
        ids,
        vec![
            json!("u1"),
            json!("u2"),
            json!("u3"),
            json!("u4"),
            json!("u5")
        ]
    );
}

#[test]
fn a_shortfall_is_read_again_once_then_fails() {
    // First pass: u2 vanished mid-read (total says 3, the read ends at an empty page with 2).
    // Second pass: complete.
    let (items, asked) = drive(
        2,
        vec![
            (Some(3), users(&[1, 2])),
            (Some(3), vec![]),
            (Some(3), users(&[1, 2])),
            (Some(3), users(&[3])),
        ],
    );
    assert_eq!(items.unwrap().len(), 3);
    assert_eq!(asked, vec![(1, 2), (3, 2), (1, 2), (3, 2)]);

    let (result, _) = drive(
        2,
        vec![
            (Some(3), users(&[1, 2])),
            (Some(3), vec![]),
            (Some(3), users(&[1, 2])),
            (Some(3), vec![]),
        ],
    );
    assert_eq!(
        result.unwrap_err(),
        PagingError::Shortfall { got: 2, total: 3 }
    );
}

#[test]
fn resources_without_id_fail_the_read() {
    let (result, _) = drive(2, vec![(Some(1), vec![json!({ "userName": "x" })])]);
    assert!(matches!(result, Err(PagingError::MissingId { .. })));
}

#[test]
fn too_many_halves_the_page_down_to_a_floor() {
    let mut pager = Pager::new(100);
    let mut sizes = vec![pager.page_size()];
    while pager.too_many() {
        sizes.push(pager.page_size());
    }
    assert_eq!(sizes, vec![100, 50, 25, 12, 10]);
    let mut small = Pager::new(3);
    assert!(!small.too_many());
    assert_eq!(small.next_request(), (1, 3));
}

// ----- wire --------------------------------------------------------------------------------

#[test]
fn error_detail_prefers_scim_detail_then_raw_text() {
    let scim = br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"userName taken"}"#;
    assert_eq!(
        wire::error_detail(scim),
        (Some("uniqueness".to_owned()), "userName taken".to_owned())
    );
    let numeric = br#"{"status":400,"scimType":"tooMany"}"#;
    assert_eq!(
        wire::error_detail(numeric),
        (Some("tooMany".to_owned()), "tooMany".to_owned())
    );
    assert_eq!(
        wire::error_detail(b"<html>Bad gateway</html>"),
        (None, "<html>Bad gateway</html>".to_owned())
    );
    assert_eq!(wire::error_detail(b""), (None, "(empty body)".to_owned()));
    let long = "é".repeat(400);
    let (_, d) = wire::error_detail(long.as_bytes());
    assert!(d.len() <= 504 && d.ends_with('…'));
}

#[test]
fn discovery_defaults_and_overrides() {
    use super::config::ScimFeatures;
    let spc: wire::ServiceProviderConfig = serde_json::from_value(json!({
        "patch": { "supported": true },
        "filter": { "supported": true, "maxResults": 200 },
        "etag": { "supported": false }
    }))
    .unwrap();
    let cfg = config(r#"capabilities = { etag = true, max_results = 50 }"#);
    let f = features(&spc, &cfg);
    assert_eq!(
        f,
        ScimFeatures {
            patch: true,
            filter: true,
            etag: true,
            max_results: Some(50)
        }
    );

    // Members the server leaves out: the no-discovery defaults.
    let bare: wire::ServiceProviderConfig = serde_json::from_value(json!({})).unwrap();
    assert_eq!(
        features(&bare, &config("")),
        ScimFeatures::WITHOUT_DISCOVERY
    );
}

fn features(spc: &wire::ServiceProviderConfig, cfg: &ScimConfig) -> super::config::ScimFeatures {
    super::config::ScimFeatures::from_spc(spc).overridden(cfg)
}

// ----- config ------------------------------------------------------------------------------

fn config(extra: &str) -> ScimConfig {
    let text = format!(
        "base_url = \"https://idm.example/scim/v2\"\nauth = {{ bearer = {{ env = \"T\" }} }}\n{extra}"
    );
    toml::from_str(&text).unwrap()
}

#[test]
fn config_defaults_match_the_docs() {
    let c = config("");
    assert_eq!(c.page_size, 100);
    assert_eq!(c.delete, super::DeleteMode::Disable);
    assert_eq!((c.rate_limit.requests, c.rate_limit.per_seconds), (50, 1));
    assert_eq!((c.concurrency, c.timeout_s, c.max_attempts), (4, 30, 5));
    assert_eq!((c.backoff.base_ms, c.backoff.max_ms), (1000, 60_000));
    assert_eq!(c.capabilities, super::CapabilityOverrides::default());
    assert!(c.validate().is_empty());
}

#[test]
fn config_takes_basic_auth_and_refuses_unknown_keys() {
    let text = r#"
        base_url = "http://localhost:8080/v2"
        auth = { basic = { username = "muster", password = { file = "/run/secrets/p" } } }
        delete = "delete"
        rate_limit = { requests = 100, per_seconds = 10 }
        capabilities = { patch = false }
        backoff = { base_ms = 5, max_ms = 50 }
    "#;
    let c: ScimConfig = toml::from_str(text).unwrap();
    assert!(matches!(c.auth, super::ScimAuth::Basic { .. }));
    assert_eq!(c.capabilities.patch, Some(false));
    assert!(c.validate().is_empty());

    let err = toml::from_str::<ScimConfig>(&format!("{text}\npagesize = 5")).unwrap_err();
    assert!(err.to_string().contains("pagesize"), "{err}");
    let err = toml::from_str::<ScimConfig>("base_url = \"https://x\"\nauth = { bearer = \"tok\" }")
        .unwrap_err();
    assert!(err.to_string().contains("never written inline"), "{err}");
}

#[test]
fn validate_reports_every_problem_by_key() {
    let mut c = config("page_size = 0\nconcurrency = 0\nbackoff = { base_ms = 100, max_ms = 10 }");
    c.base_url = "ftp://files.example".into();
    let problems = c.validate();
    for key in ["base_url", "page_size", "concurrency", "backoff.max_ms"] {
        assert!(
            problems.iter().any(|p| p.starts_with(key)),
            "{key}: {problems:?}"
        );
    }
    c.base_url = "https://admin:hunter2@idm.example/v2".into();
    let problems = c.validate();
    assert!(problems.iter().any(|p| p.contains("credentials")));
    assert!(!problems.iter().any(|p| p.contains("hunter2")));
    c.base_url = "not a url".into();
    assert!(c.validate().iter().any(|p| p.starts_with("base_url")));
}
