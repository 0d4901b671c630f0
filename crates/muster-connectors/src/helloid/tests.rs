//! Unit tests of the pure parts: configuration, page and error parsing, and the user bodies.
//! The connector against a server is tested in `tests/it/helloid*.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::config::{DeleteMode, HelloIdConfig, RehireMode};
use super::user::{self, Rename};
use super::wire;
use super::HelloIdConnector;
use muster_core::connector::{Attributes, Connector, DeleteMeaning, Rehire};
use muster_core::TargetName;
use serde_json::{json, Map, Value};

fn parse(text: &str) -> Result<HelloIdConfig, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

const MINIMAL: &str = r#"
base_url = "https://acme.helloid.com/api/v1"
api_key = { env = "HELLOID_KEY" }
api_secret = { env = "HELLOID_SECRET" }
"#;

#[test]
fn defaults_follow_the_spec() {
    let cfg = parse(MINIMAL).unwrap();
    assert_eq!(cfg.validate(), Vec::<String>::new());
    assert!(!cfg.rename_user_name && cfg.set_manager);
    assert_eq!(cfg.delete, DeleteMode::Delete);
    assert_eq!(cfg.rehire, RehireMode::CreateNew);
    assert_eq!(cfg.department_groups, None);
    assert_eq!(cfg.products.request_ttl_days, 7);
    assert!(cfg.products.execute_return_actions);
    assert_eq!(
        (cfg.rate_limit.requests, cfg.rate_limit.per_seconds),
        (10, 1)
    );
    assert_eq!((cfg.concurrency, cfg.timeout_s), (4, 60));
}

#[test]
fn every_key_parses() {
    let cfg = parse(&format!(
        "{MINIMAL}rename_user_name = true\ndelete = \"disable\"\nrehire = \"hold\"\n\
         set_manager = false\ndepartment_groups = {{ create_missing = true }}\n\
         products = {{ request_ttl_days = 3, execute_return_actions = false }}\n\
         rate_limit = {{ requests = 20 }}\nmax_attempts = 2\nbackoff = {{ base_ms = 5 }}\n"
    ))
    .unwrap();
    assert_eq!(cfg.validate(), Vec::<String>::new());
    assert_eq!(cfg.delete, DeleteMode::Disable);
    assert_eq!(Rehire::from(cfg.rehire), Rehire::Hold);
    let d = cfg.department_groups.as_ref().unwrap();
    assert_eq!((d.prefix.as_str(), d.create_missing), ("department_", true));
    assert_eq!(
        d.field, "Contract.Department",
        "the department's name by default"
    );
    assert!(cfg.creates_groups());
    // A partial rate limit keeps HelloID's window, not Zivver's.
    assert_eq!(
        (cfg.rate_limit.requests, cfg.rate_limit.per_seconds),
        (20, 1)
    );
    assert!(parse(&format!("{MINIMAL}token = {{ env = \"X\" }}\n")).is_err());
    assert!(parse(&format!("{MINIMAL}delete = \"hard\"\n")).is_err());
    assert!(parse(&format!("{MINIMAL}products = {{ ttl = 1 }}\n")).is_err());
}

#[test]
fn department_groups_may_be_named_after_the_department_id() {
    let cfg = parse(&format!(
        "{MINIMAL}department_groups = {{ field = \"Contract.Department.ExternalId\" }}\n"
    ))
    .unwrap();
    assert_eq!(cfg.validate(), Vec::<String>::new());
    let mut cfg = cfg;
    if let Some(d) = cfg.department_groups.as_mut() {
        d.field = "PrimaryContract.Department.ExternalId".into();
    }
    let problems = cfg.validate();
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("department_groups.field:")),
        "{problems:?}"
    );
}

#[test]
fn validation_names_each_problem() {
    let bad = |url: &str| {
        let mut cfg = parse(MINIMAL).unwrap();
        cfg.base_url = url.to_owned();
        cfg.validate()
    };
    assert!(bad("http://acme.helloid.com/api/v1")[0].contains("https"));
    assert!(bad("http://127.0.0.1:8080/api/v1").is_empty());
    assert!(bad("http://localhost/api/v1/").is_empty());
    assert!(bad("https://acme.helloid.com")[0].contains("/api/v1"));
    assert!(bad("https://acme.helloid.com/api/v1?x=1")[0].contains("query"));
    let creds = bad("https://key:s3cr3t@acme.helloid.com/api/v1");
    assert!(creds.iter().any(|p| p.contains("credentials")));
    assert!(!creds.iter().any(|p| p.contains("s3cr3t")), "{creds:?}");
    assert!(bad("not a url")[0].starts_with("base_url"));
    let mut cfg = parse(MINIMAL).unwrap();
    cfg.concurrency = 0;
    cfg.products.request_ttl_days = 0;
    let problems = cfg.validate();
    assert!(problems.iter().any(|p| p.starts_with("concurrency")));
    assert!(problems
        .iter()
        .any(|p| p.starts_with("products.request_ttl_days")));
}

#[test]
fn capabilities_follow_the_config_and_debug_shows_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = (dir.path().join("key"), dir.path().join("secret"));
    std::fs::write(&key, "key-1618033988\n").unwrap();
    std::fs::write(&secret, "secret-1414213562\n").unwrap();
    let text = format!(
        "base_url = \"http://127.0.0.1:9/api/v1\"\napi_key = {{ file = \"{}\" }}\n\
         api_secret = {{ file = \"{}\" }}\ndelete = \"disable\"\nconcurrency = 7\n",
        key.display(),
        secret.display()
    );
    let cfg = parse(&text).unwrap();
    let conn = HelloIdConnector::connect(TargetName::new("h"), &cfg).unwrap();
    let caps = conn.capabilities();
    assert_eq!(caps.delete, DeleteMeaning::Disable);
    assert_eq!(caps.max_concurrency, 7);
    assert!(caps.fixed_fields.contains("userName") && caps.write_only_fields.contains("password"));
    assert!(!caps.creates_groups);
    assert_eq!(caps.pending_ttl_days, Some(7));
    let shown = format!("{conn:?} {cfg:?}");
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode("key-1618033988:secret-1414213562")
    };
    for leak in ["1618033988", "1414213562", &basic[..16]] {
        assert!(!shown.contains(leak), "{leak} in {shown}");
    }

    let mut on = cfg.clone();
    on.rename_user_name = true;
    on.delete = DeleteMode::Delete;
    let conn = HelloIdConnector::connect(TargetName::new("h"), &on).unwrap();
    assert!(conn.capabilities().fixed_fields.is_empty());
    assert_eq!(conn.capabilities().delete, DeleteMeaning::Remove);
}

#[test]
fn pages_come_in_both_shapes() {
    assert_eq!(wire::page_items(Some(json!([1, 2]))).unwrap().len(), 2);
    assert_eq!(
        wire::page_items(Some(json!({"data": [1, 2, 3]})))
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        wire::page_items(Some(json!({"Data": null}))).unwrap().len(),
        0
    );
    assert_eq!(wire::page_items(None).unwrap().len(), 0);
    let single = wire::page_items(Some(json!({"userGUID": "a"}))).unwrap();
    assert_eq!(single, vec![json!({"userGUID": "a"})]);
    assert!(wire::page_items(Some(json!({"data": "x"}))).is_err());
    assert!(wire::page_items(Some(json!(3))).is_err());
}

#[test]
fn error_text_prefers_result_msg_and_not_found_is_status_or_text() {
    assert_eq!(
        wire::error_text(br#"{"message": "m", "resultMsg": "r"}"#),
        "r"
    );
    assert_eq!(
        wire::error_text(br#"{"message": "User not found"}"#),
        "User not found"
    );
    assert_eq!(wire::error_text(b"  plain  "), "plain");
    assert_eq!(wire::error_text(b""), "(empty body)");
    assert!(wire::user_not_found(404, "whatever"));
    assert!(wire::user_not_found(400, "User not found"));
    assert!(wire::user_not_found(500, "user not found."));
    assert!(!wire::user_not_found(400, "Group not found"));
    assert!(!wire::says_user_not_found("Not Found"));
}

#[test]
fn product_references_round_trip() {
    assert_eq!(wire::product_ref("abc"), "product:abc");
    assert_eq!(wire::product_id("product:abc"), Some("abc"));
    assert_eq!(wire::product_id("Product:abc"), Some("abc"));
    assert_eq!(wire::product_id("product:"), None);
    assert_eq!(
        wire::product_id("e2a7c4f1-6b3d-4d8a-9f20-51c7b0e9d3a6"),
        None
    );
    assert_eq!(
        wire::group_members(&json!({"users": ["a", {"userGuid": "b"}]})).unwrap(),
        vec!["a", "b"]
    );
    assert!(wire::group_members(&json!({})).unwrap().is_empty());
    assert!(wire::group_members(&json!({"users": [1]})).is_err());
}

fn sample() -> Value {
    json!({
        "userGUID": "e2a7c4f1", "userName": "m.visser@x", "firstName": "Maarten",
        "lastName": null, "isEnabled": "true", "mustChangePassword": "FALSE",
        "source": "Local", "managedByUserGUID": null,
        "userAttributes": {"department": "Burgerzaken", "title": "Medewerker", "gone": null}
    })
}

#[test]
fn a_user_becomes_an_account_without_nulls() {
    let a = user::to_account(&sample()).unwrap();
    assert_eq!(a.reference.as_str(), "e2a7c4f1");
    assert!(a.enabled);
    let keys: Vec<&str> = a.attributes.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "firstName",
            "mustChangePassword",
            "source",
            "userAttributes.department",
            "userAttributes.title",
            "userName"
        ]
    );
    assert_eq!(a.attributes["mustChangePassword"], json!(false));
    assert!(user::to_account(&json!({"userGUID": "x"})).is_err());
    assert!(user::to_account(&json!({"isEnabled": true})).is_err());
}

#[test]
fn a_user_flagged_is_deleted_counts_as_deleted() {
    for flag in [json!(true), json!("TRUE"), json!("true")] {
        assert!(user::is_deleted(
            &json!({ "userGUID": "g", "isDeleted": flag })
        ));
    }
    assert!(user::is_deleted(
        &json!({ "userGUID": "g", "IsDeleted": true })
    ));
    for live in [
        json!({ "userGUID": "g" }),
        json!({ "userGUID": "g", "isDeleted": false }),
        json!({ "userGUID": "g", "isDeleted": null }),
        json!({ "userGUID": "g", "isDeleted": "maybe" }),
        json!("not a user"),
    ] {
        assert!(!user::is_deleted(&live), "{live}");
    }
}

fn attrs(pairs: &[(&str, Value)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[test]
fn a_create_body_nests_attributes_and_sends_real_booleans() {
    let body = user::create_body(
        &attrs(&[
            ("userName", json!("a@x")),
            ("mustChangePassword", json!("TRUE")),
            ("password", json!("pw")),
            ("userAttributes.department", json!("Sales")),
            ("lastName", Value::Null),
        ]),
        false,
    )
    .unwrap();
    assert_eq!(
        Value::Object(body),
        json!({"userName": "a@x", "mustChangePassword": true, "password": "pw",
               "isEnabled": false, "userAttributes": {"department": "Sales"}})
    );
    assert!(user::create_body(&attrs(&[("firstName", json!("A"))]), true).is_err());
    let err = user::create_body(
        &attrs(&[("userName", json!("a")), ("nickName", json!("b"))]),
        true,
    )
    .unwrap_err();
    assert!(err.contains("nickName"), "{err}");
}

fn base() -> Map<String, Value> {
    sample().as_object().unwrap().clone()
}

#[test]
fn overlay_sets_only_the_changed_keys() {
    let mut body = base();
    let skipped = user::overlay(
        &mut body,
        &attrs(&[
            ("firstName", json!("Marten")),
            ("userAttributes.department", json!("Sociaal Domein")),
            ("userAttributes.title", Value::Null),
            ("userAttributes.phoneNumber", json!("+31")),
            ("managedByUserGUID", json!("0d94b6e8")),
        ]),
        Some(false),
        Rename::Fixed,
    )
    .unwrap();
    assert!(!skipped.password);
    let mut want = base();
    want.insert("firstName".into(), json!("Marten"));
    want.insert("isEnabled".into(), json!(false));
    want.insert("managedByUserGUID".into(), json!("0d94b6e8"));
    want.insert(
        "userAttributes".into(),
        json!({"department": "Sociaal Domein", "title": null, "gone": null, "phoneNumber": "+31"}),
    );
    assert_eq!(body, want);
    // Nothing changed (clearing what is not there included): the body equals the read, so
    // no PUT is sent.
    let mut same = base();
    let unchanged = attrs(&[
        ("source", json!("Local")),
        ("lastName", Value::Null),
        ("contactEmail", Value::Null),
        ("userAttributes.gone", Value::Null),
        ("userAttributes.never", Value::Null),
    ]);
    user::overlay(&mut same, &unchanged, None, Rename::Fixed).unwrap();
    assert_eq!(same, base());
}

#[test]
fn renames_go_through_the_identifier_object_only_when_allowed() {
    let change = attrs(&[("userName", json!("maarten.visser@x"))]);
    let mut body = base();
    user::overlay(&mut body, &change, None, Rename::Allowed).unwrap();
    assert_eq!(body["userName"], json!("m.visser@x"));
    assert_eq!(
        body["IdentifierObject"],
        json!({"userName": "maarten.visser@x"})
    );

    let mut body = base();
    let err = user::overlay(&mut body, &change, None, Rename::Fixed).unwrap_err();
    assert!(err.contains("rename_user_name"), "{err}");
    // The same name (or only its case) is no rename.
    for same in ["m.visser@x", "M.Visser@X"] {
        let mut body = base();
        user::overlay(
            &mut body,
            &attrs(&[("userName", json!(same))]),
            None,
            Rename::Fixed,
        )
        .unwrap();
        assert_eq!(body, base());
    }
    let mut body = base();
    assert!(user::overlay(
        &mut body,
        &attrs(&[("userName", Value::Null)]),
        None,
        Rename::Allowed
    )
    .is_err());
}

#[test]
fn a_password_change_is_not_written_but_reported() {
    let mut body = base();
    let skipped = user::overlay(
        &mut body,
        &attrs(&[("password", json!("new"))]),
        None,
        Rename::Fixed,
    )
    .unwrap();
    assert!(skipped.password);
    assert_eq!(body, base());
}
