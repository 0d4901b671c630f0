//! Unit tests of the Zivver connector's pure parts: normalising what Zivver returns, laying a
//! write over a fresh read, the lane batch, the 429 body and error texts, and config
//! validation. Behaviour against a server is in `tests/it/zivver*.rs`.

use super::config::{DeleteMode, MembershipWrite, ZivverConfig};
use super::lanes::{apply_batch, Change, Lanes, Queued, Write};
use super::user::{
    append_suffix, complete, delegates, dropped_delegates, flatten, overlay, parse_active,
    to_account,
};
use super::wire::{
    self, ALIASES, DELEGATES, DIVISION, ENTERPRISE_SCHEMA, SSO_ACCOUNT_KEY, ZIVVER_SCHEMA,
};
use crate::http::StatusCode;
use muster_core::connector::{Attributes, Outcome};
use muster_core::{AccountRef, GroupRef};
use serde_json::{json, Map, Value};
use std::time::Duration;

fn zivver_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_SCHEMA, ZIVVER_SCHEMA],
        "id": "6c0e4d2a-51b7-4a8e-b3f9-2e7d90c1a845",
        "userName": "a.jansen@college.example",
        "name": { "formatted": "Anouk Jansen" },
        "nickName": "",
        "active": true,
        "phoneNumbers": [],
        "meta": { "resourceType": "User", "created": "2025-03-03T07:30:00Z",
                  "location": "/scim/v2/Users/6c0e4d2a-51b7-4a8e-b3f9-2e7d90c1a845" },
        ENTERPRISE_SCHEMA: { "division": "/" },
        ZIVVER_SCHEMA: { "aliases": [], "delegates": [] }
    })
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn attrs(pairs: &[(&str, Value)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

// ----- reading -------------------------------------------------------------------------------

#[test]
fn the_spec_user_reads_into_normalised_attributes() {
    let account = to_account(&zivver_user()).unwrap();
    assert_eq!(
        account.reference.as_str(),
        "6c0e4d2a-51b7-4a8e-b3f9-2e7d90c1a845"
    );
    assert!(account.enabled);
    let a = &account.attributes;
    assert_eq!(a["userName"], json!("a.jansen@college.example"));
    assert_eq!(a["name.formatted"], json!("Anouk Jansen"));
    // "/" is Zivver's "no division".
    assert_eq!(a[DIVISION], json!(""));
    assert_eq!(a[ALIASES], json!([]));
    assert_eq!(a[DELEGATES], json!([]));
    for hidden in ["id", "meta.created", "active", "schemas"] {
        assert!(!a.contains_key(hidden), "{hidden} in {a:?}");
    }
}

#[test]
fn active_is_read_from_booleans_and_strings_and_nothing_else() {
    for (v, want) in [
        (json!(true), true),
        (json!(false), false),
        (json!("True"), true),
        (json!("FALSE"), false),
        (json!(" false "), false),
    ] {
        assert_eq!(parse_active(Some(&v)), Ok(want), "{v}");
    }
    for v in [json!("yes"), json!(1), Value::Null] {
        assert!(parse_active(Some(&v)).is_err(), "{v}");
    }
    assert!(parse_active(None).is_err());
    let mut u = zivver_user();
    u["active"] = json!("False");
    assert!(!to_account(&u).unwrap().enabled);
    u.as_object_mut().unwrap().remove("active");
    assert!(to_account(&u).unwrap_err().contains("active"));
}

#[test]
fn lists_are_always_arrays_and_a_returned_key_is_never_an_attribute() {
    let mut u = zivver_user();
    u[ZIVVER_SCHEMA] = json!({ "SsoAccountKey": "leaked", "aliases": ["b@college.example"] });
    u[ENTERPRISE_SCHEMA] = json!({ "division": "Sales" });
    let a = flatten(&u);
    assert_eq!(a[ALIASES], json!(["b@college.example"]));
    assert_eq!(a[DELEGATES], json!([]));
    assert_eq!(a[DIVISION], json!("Sales"));
    assert!(!a.contains_key(SSO_ACCOUNT_KEY));
}

// ----- writing -------------------------------------------------------------------------------

#[test]
fn overlay_changes_only_what_is_asked_and_keeps_the_rest_of_the_read() {
    let read = obj(zivver_user());
    let mut body = read.clone();
    overlay(
        &mut body,
        &attrs(&[
            ("name.formatted", json!("Anouk de Vries")),
            (DIVISION, json!("Sales")),
            (ALIASES, json!(["anouk@college.example"])),
            (SSO_ACCOUNT_KEY, json!("a.jansen@upn.example")),
        ]),
    )
    .unwrap();
    complete(&mut body, None).unwrap();
    assert_eq!(body["name"], json!({ "formatted": "Anouk de Vries" }));
    assert_eq!(body[ENTERPRISE_SCHEMA], json!({ "division": "Sales" }));
    assert_eq!(
        body[ZIVVER_SCHEMA],
        json!({ "aliases": ["anouk@college.example"], "delegates": [],
                "SsoAccountKey": "a.jansen@upn.example" })
    );
    // Carried over from the read: id, meta, schemas, the rest.
    for key in [
        "id",
        "meta",
        "schemas",
        "userName",
        "nickName",
        "phoneNumbers",
    ] {
        assert_eq!(body[key], read[key], "{key}");
    }
    assert_eq!(body["active"], json!(true));
}

#[test]
fn clearing_sends_explicit_empty_values_never_an_omission() {
    let mut body = obj(zivver_user());
    body[ENTERPRISE_SCHEMA] = json!({ "division": "Sales" });
    body[ZIVVER_SCHEMA] =
        json!({ "aliases": ["x@college.example"], "delegates": ["y@college.example"] });
    overlay(
        &mut body,
        &attrs(&[
            (DIVISION, Value::Null),
            (ALIASES, Value::Null),
            (DELEGATES, json!([])),
            ("name.formatted", Value::Null),
            ("nickName", Value::Null),
            // Never cleared by Muster.
            (SSO_ACCOUNT_KEY, Value::Null),
        ]),
    )
    .unwrap();
    assert_eq!(body[ENTERPRISE_SCHEMA], json!({ "division": "/" }));
    assert_eq!(
        body[ZIVVER_SCHEMA],
        json!({ "aliases": [], "delegates": [] })
    );
    assert_eq!(body["name"], json!({ "formatted": null }));
    assert_eq!(body["nickName"], Value::Null);

    // An empty division is Zivver's "/".
    overlay(&mut body, &attrs(&[(DIVISION, json!(""))])).unwrap();
    assert_eq!(body[ENTERPRISE_SCHEMA]["division"], json!("/"));
}

#[test]
fn complete_adds_schemas_extension_objects_and_real_booleans() {
    let mut body = obj(json!({ "userName": "n@college.example", "active": "True" }));
    complete(&mut body, None).unwrap();
    assert_eq!(body["active"], json!(true));
    assert_eq!(
        body["schemas"],
        json!([
            "urn:ietf:params:scim:schemas:core:2.0:User",
            ENTERPRISE_SCHEMA,
            ZIVVER_SCHEMA
        ])
    );
    assert_eq!(body[ENTERPRISE_SCHEMA], json!({}));
    assert_eq!(body[ZIVVER_SCHEMA], json!({}));
    complete(&mut body, Some(false)).unwrap();
    assert_eq!(body["active"], json!(false));
    // An `active` change in the attributes is a boolean too.
    overlay(&mut body, &attrs(&[("active", json!("true"))])).unwrap();
    assert_eq!(body["active"], json!(true));
    assert!(overlay(&mut body, &attrs(&[("active", json!("maybe"))])).is_err());
}

#[test]
fn bad_values_for_zivver_attributes_are_refused() {
    let mut body = obj(zivver_user());
    assert!(overlay(&mut body, &attrs(&[(ALIASES, json!([1, 2]))])).is_err());
    assert!(overlay(&mut body, &attrs(&[(DIVISION, json!(7))])).is_err());
    assert!(overlay(&mut body, &attrs(&[("not a path!", json!("x"))])).is_err());
    // One address from a single-valued mapping becomes a list of one.
    overlay(&mut body, &attrs(&[(ALIASES, json!("z@college.example"))])).unwrap();
    assert_eq!(body[ZIVVER_SCHEMA]["aliases"], json!(["z@college.example"]));
}

#[test]
fn the_delete_suffix_is_appended_once() {
    let mut body = obj(zivver_user());
    append_suffix(&mut body, " (Deleted by Muster)");
    append_suffix(&mut body, " (Deleted by Muster)");
    assert_eq!(
        body["name"]["formatted"],
        json!("Anouk Jansen (Deleted by Muster)")
    );
    let mut nameless = obj(json!({ "userName": "x@college.example" }));
    append_suffix(&mut nameless, " (gone)");
    assert_eq!(
        nameless["name"]["formatted"],
        json!("x@college.example (gone)")
    );
}

#[test]
fn dropped_delegates_are_those_sent_and_not_stored_ignoring_case() {
    let mut body = obj(zivver_user());
    body[ZIVVER_SCHEMA]["delegates"] = json!(["B@college.example", "c@college.example"]);
    let sent = delegates(&body);
    let stored = vec!["b@college.example".to_owned()];
    assert_eq!(
        dropped_delegates(&sent, &stored),
        vec!["c@college.example".to_owned()]
    );
    assert!(dropped_delegates(&stored, &sent).is_empty());
}

// ----- lanes -----------------------------------------------------------------------------

fn grant(id: &str) -> Change {
    Change {
        account: AccountRef::new(id),
        grant: true,
    }
}

fn revoke(id: &str) -> Change {
    Change {
        account: AccountRef::new(id),
        grant: false,
    }
}

#[test]
fn a_batch_keeps_order_appends_new_members_and_keeps_unknown_ones() {
    let step = apply_batch(
        &["x", "a", "unknown-to-muster"],
        &[grant("b"), revoke("a"), grant("x"), grant("c")],
    )
    .unwrap();
    assert_eq!(
        step.write,
        Write::Replace(vec![
            "x".into(),
            "unknown-to-muster".into(),
            "b".into(),
            "c".into()
        ])
    );
    assert_eq!(step.outcomes, vec![Outcome::Done; 4]);
}

#[test]
fn an_unchanged_list_is_not_written() {
    let step = apply_batch(&["a"], &[grant("a"), revoke("z")]).unwrap();
    assert_eq!(step.write, Write::Nothing);
    assert_eq!(step.outcomes, vec![Outcome::Done, Outcome::AlreadyAbsent]);
    // Changes apply in order: a grant and a revoke of one account cancel out.
    let step = apply_batch(&["a"], &[grant("b"), revoke("b")]).unwrap();
    assert_eq!(step.write, Write::Nothing);
    assert_eq!(step.outcomes, vec![Outcome::Done, Outcome::Done]);
}

#[test]
fn ids_compare_ignoring_case() {
    let step = apply_batch(&["ABC-1"], &[grant("abc-1"), revoke("Abc-1")]).unwrap();
    assert_eq!(step.write, Write::RemoveAll);
}

#[test]
fn an_empty_list_is_a_remove_all_only_when_every_member_was_revoked() {
    let step = apply_batch(&["a", "b"], &[revoke("a"), revoke("b")]).unwrap();
    assert_eq!(step.write, Write::RemoveAll);
    // Already empty: nothing to write.
    let step = apply_batch(&[], &[revoke("a")]).unwrap();
    assert_eq!(step.write, Write::Nothing);
    assert_eq!(step.outcomes, vec![Outcome::AlreadyAbsent]);
}

#[tokio::test]
async fn a_lane_has_one_worker_until_its_queue_is_taken_empty() {
    let lanes = Lanes::default();
    let g = GroupRef::new("g");
    let queued = |c: Change| {
        let (reply, _rx) = tokio::sync::oneshot::channel();
        Queued { change: c, reply }
    };
    assert!(lanes.enqueue(&g, queued(grant("a"))));
    assert!(!lanes.enqueue(&g, queued(grant("b"))));
    assert!(lanes.enqueue(&GroupRef::new("other"), queued(grant("a"))));
    let batch = lanes.take(&g);
    assert_eq!(batch.len(), 2);
    // Still the worker's: a change now joins the next batch.
    assert!(!lanes.enqueue(&g, queued(revoke("a"))));
    assert_eq!(lanes.take(&g).len(), 1);
    assert!(lanes.take(&g).is_empty());
    // The lane ended: the next change starts a worker again.
    assert!(lanes.enqueue(&g, queued(grant("c"))));
    lanes.abandon(&g);
    assert_eq!(lanes.active(), 1);
}

// ----- wire ----------------------------------------------------------------------------------

#[test]
fn a_429_waits_for_the_window_it_names_or_ten_seconds() {
    let body = br#"{ "code": 429, "message": "Too Many Requests",
        "emptiedBucketDetails": { "limiterId": "cab", "budget": 50, "windowSeconds": 3 },
        "reference": "https://tools.ietf.org/html/draft-polli-ratelimit-headers-02" }"#;
    let too_many = StatusCode::TOO_MANY_REQUESTS;
    assert_eq!(
        wire::throttle_wait(too_many, body),
        Some(Duration::from_secs(3))
    );
    assert_eq!(
        wire::throttle_wait(too_many, b"slow down"),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        wire::throttle_wait(
            too_many,
            br#"{"emptiedBucketDetails":{"windowSeconds":-1}}"#
        ),
        Some(Duration::from_secs(10))
    );
    // A 503 keeps the shared layer's backoff.
    assert_eq!(
        wire::throttle_wait(StatusCode::SERVICE_UNAVAILABLE, body),
        None
    );
}

#[test]
fn error_texts_are_zivvers_own_words() {
    assert_eq!(
        wire::error_text(b"Invalid division: Sales\n"),
        "Invalid division: Sales"
    );
    assert_eq!(wire::error_text(b""), "(empty body)");
    assert_eq!(
        wire::error_text(br#"{"message":"Too Many Requests"}"#),
        "Too Many Requests"
    );
    assert_eq!(
        wire::unknown_account("Unknown account with uuid: 6c0e-1"),
        Some("6c0e-1")
    );
    assert_eq!(wire::unknown_account("Invalid division: x"), None);
    assert!(wire::is_duplicate_user(409, "whatever"));
    assert!(wire::is_duplicate_user(
        400,
        "Account already exists: a@college.example"
    ));
    assert!(!wire::is_duplicate_user(
        400,
        "Error creating alias: Alias is already taken for a@college.example"
    ));
    assert!(!wire::is_duplicate_user(400, "Invalid division: Sales"));
}

#[test]
fn patch_bodies_are_the_two_known_forms_and_the_opt_in_ones() {
    let op = wire::PATCH_OP_SCHEMA;
    assert_eq!(
        wire::replace_members(["a", "b"]),
        json!({ "schemas": [op], "Operations": [
            { "op": "replace", "path": "members", "value": [{ "value": "a" }, { "value": "b" }] }
        ] })
    );
    assert_eq!(
        wire::remove_all_members(),
        json!({ "schemas": [op], "Operations": [{ "op": "remove", "path": "members" }] })
    );
    assert_eq!(
        wire::remove_member("a\"b")["Operations"][0]["path"],
        json!(r#"members[value eq "a\"b"]"#)
    );
    assert_eq!(
        wire::add_member("a")["Operations"][0],
        json!({ "op": "add", "path": "members", "value": [{ "value": "a" }] })
    );
}

#[test]
fn member_lists_are_read_or_reported_missing() {
    let g = json!({ "id": "g", "members": [{ "value": "a", "display": "A" }] });
    assert_eq!(wire::member_ids(&g), Some(Ok(vec!["a"])));
    assert_eq!(wire::member_ids(&json!({ "id": "g" })), None);
    assert_eq!(
        wire::member_ids(&json!({ "id": "g", "members": null })),
        None
    );
    assert!(matches!(
        wire::member_ids(&json!({ "members": [{ "display": "A" }] })),
        Some(Err(_))
    ));
}

// ----- config --------------------------------------------------------------------------------

fn parse(text: &str) -> Result<ZivverConfig, String> {
    toml::from_str::<ZivverConfig>(text).map_err(|e| e.to_string())
}

#[test]
fn defaults_are_zivvers_own() {
    let cfg = parse(r#"token = { env = "ZIVVER_TOKEN" }"#).unwrap();
    assert_eq!(cfg.base_url, "https://app.zivver.com");
    assert_eq!(cfg.api_url(), "https://app.zivver.com/api/scim/v2");
    assert_eq!(cfg.delete, DeleteMode::Disable);
    assert_eq!(cfg.membership, MembershipWrite::Replace);
    assert_eq!(
        (cfg.rate_limit.requests, cfg.rate_limit.per_seconds),
        (50, 10)
    );
    assert_eq!(cfg.delete_rename_suffix, None);
    assert!(cfg.validate().is_empty());
}

#[test]
fn every_key_parses_and_unknown_keys_are_refused() {
    let cfg = parse(
        r#"
        base_url = "https://tenant.zivver.example/"
        token = { file = "/run/secrets/zivver" }
        delete = "hard"
        membership = "add-remove"
        rate_limit = { requests = 10, per_seconds = 1 }
        concurrency = 2
        timeout_s = 5
        max_attempts = 3
        backoff = { base_ms = 10, max_ms = 100 }
        ca_file = "/etc/ca.pem"
        "#,
    )
    .unwrap();
    assert_eq!(cfg.delete, DeleteMode::Hard);
    assert_eq!(cfg.membership, MembershipWrite::AddRemove);
    assert_eq!(cfg.api_url(), "https://tenant.zivver.example/api/scim/v2");
    assert!(cfg.validate().is_empty(), "{:?}", cfg.validate());
    assert!(parse("token = { env = \"T\" }\nsso = true").is_err());
    assert!(parse("token = { env = \"T\" }\ndelete = \"purge\"").is_err());
    assert!(parse("token = \"inline\"").is_err());
}

#[test]
fn validation_reports_every_problem_by_key() {
    let mut cfg = parse(r#"token = { env = "T" }"#).unwrap();
    cfg.base_url = "ftp://user:pw@host/api/scim/v2".into();
    cfg.delete = DeleteMode::Hard;
    cfg.delete_rename_suffix = Some(" (gone)".into());
    cfg.concurrency = 0;
    cfg.rate_limit.per_seconds = 0;
    cfg.backoff.max_ms = 1;
    let problems = cfg.validate().join("\n");
    for key in [
        "must start with https://",
        "must not carry credentials",
        "already holds the API path",
        "delete_rename_suffix",
        "concurrency",
        "rate_limit.per_seconds",
        "backoff.max_ms",
    ] {
        assert!(problems.contains(key), "{key} missing in:\n{problems}");
    }
    assert!(!problems.contains("pw"), "{problems}");
}

#[tokio::test]
async fn clients_on_one_api_key_share_one_rate_budget() {
    use super::connector::ZivverConnector;
    use crate::secret_ref::SecretRef;
    use muster_core::TargetName;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let key = |name: &str, value: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, value).unwrap();
        SecretRef::File(path)
    };
    let mut cfg = ZivverConfig::new(key("a", "key-one"));
    cfg.base_url = "https://shared-budget.zivver.example".into();
    let connect = |cfg: &ZivverConfig| ZivverConnector::connect(TargetName::new("t"), cfg).unwrap();
    let bucket = |c: &ZivverConnector| c.inner.client.http().bucket();

    let first = connect(&cfg);
    assert!(
        !format!("{first:?}").contains("key-one"),
        "Debug shows the key"
    );
    let same_key_in_another_file = {
        let mut c = cfg.clone();
        c.token = key("b", "key-one\n");
        connect(&c)
    };
    assert!(Arc::ptr_eq(
        &bucket(&first),
        &bucket(&same_key_in_another_file)
    ));

    let other_key = {
        let mut c = cfg.clone();
        c.token = key("c", "key-two");
        connect(&c)
    };
    assert!(!Arc::ptr_eq(&bucket(&first), &bucket(&other_key)));
    let other_tenant = {
        let mut c = cfg.clone();
        c.base_url = "https://other.zivver.example".into();
        connect(&c)
    };
    assert!(!Arc::ptr_eq(&bucket(&first), &bucket(&other_tenant)));
}

#[test]
fn connect_refuses_an_invalid_config_naming_every_key() {
    use super::connector::ZivverConnector;
    use crate::secret_ref::SecretRef;
    use muster_core::connector::ConnectorError;
    use muster_core::TargetName;

    let mut cfg = ZivverConfig::new(SecretRef::Env("MUSTER_TEST_SURELY_UNSET_ZIVVER".into()));
    cfg.concurrency = 0;
    match ZivverConnector::connect(TargetName::new("t"), &cfg) {
        Err(ConnectorError::Config { detail, .. }) => assert!(detail.contains("concurrency")),
        other => panic!("expected Config, got {other:?}"),
    }
    cfg.concurrency = 1;
    match ZivverConnector::connect(TargetName::new("t"), &cfg) {
        Err(ConnectorError::Config { detail, .. }) => {
            assert!(
                detail.contains("MUSTER_TEST_SURELY_UNSET_ZIVVER"),
                "{detail}"
            )
        }
        other => panic!("expected Config, got {other:?}"),
    }
}
