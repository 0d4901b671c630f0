//! Unit tests of the Zermelo connector's pure parts: users and classes read, write bodies,
//! URL escaping, the 404 reading of a placement, and config validation. The envelope's own
//! tests are in `envelope.rs`; behaviour against a server is in `tests/it/zermelo*.rs`.

use super::config::{PreviousClass, SchoolYearFrom, ZermeloConfig};
use super::placements::{missing_from_text, Missing};
use super::wire::{self, USER_FIELDS};
use crate::secret_ref::SecretRef;
use muster_core::connector::Attributes;
use muster_core::GroupRef;
use serde_json::{json, Value};

fn attrs(pairs: &[(&str, Value)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[test]
fn the_spec_user_reads_with_code_as_reference_and_archived_as_disabled() {
    let user = json!({ "code": "118204", "firstName": "Daan", "prefix": "van der",
        "lastName": "Berg", "email": "118204@leerling.example", "isStudent": "true",
        "archived": "false" });
    let a = wire::to_account(&user).unwrap();
    assert_eq!(a.reference.as_str(), "118204");
    assert!(a.enabled);
    assert_eq!(
        a.attributes["isStudent"],
        json!(true),
        "string booleans become real"
    );
    assert_eq!(a.attributes["prefix"], json!("van der"));
    assert!(!a.attributes.contains_key("archived"));
    let archived = wire::to_account(&json!({ "code": "1", "archived": true })).unwrap();
    assert!(!archived.enabled);
    assert!(wire::to_account(&json!({ "firstName": "x" })).is_err());
    assert!(wire::to_account(&json!({ "code": "1", "archived": "maybe" })).is_err());
}

#[test]
fn errors_about_a_malformed_user_name_the_member_not_the_persons_data() {
    let personal = ["Daan", "Berg", "118204@leerling.example", "van der"];
    let base = json!({ "firstName": "Daan", "prefix": "van der", "lastName": "Berg",
        "email": "118204@leerling.example" });
    let with = |key: &str, value: Value| {
        let mut user = base.clone();
        user[key] = value;
        user
    };
    let student_with = |key: &str, value: Value| {
        let mut user = with("code", json!("118204"));
        user[key] = value;
        user
    };
    let cases = [
        (base.clone(), "without a `code`"),
        (with("code", json!("")), "`code` is an empty string"),
        (with("code", json!(["118204"])), "`code` is an array"),
        (
            student_with("archived", json!({ "by": "Daan Berg" })),
            "user 118204: `archived` is an object",
        ),
        (
            student_with("isStudent", json!("Daan")),
            "user 118204: `isStudent` is a string",
        ),
        (json!(["Daan", "Berg"]), "a user that is an array"),
    ];
    for (user, expected) in cases {
        let err = wire::to_account(&user).unwrap_err();
        assert!(err.contains(expected), "{err} lacks {expected}");
        for p in personal {
            assert!(!err.contains(p), "{err} quotes {p}");
        }
    }
    // Values a mapping produced are not quoted either.
    for (key, value) in [
        ("email", json!({ "address": "118204@leerling.example" })),
        ("isStudent", json!("Daan")),
    ] {
        let err = wire::put_body("1", &attrs(&[(key, value)]), None).unwrap_err();
        assert!(err.contains(key), "{err}");
        assert!(!err.contains("Daan") && !err.contains("118204@"), "{err}");
    }
    let err = wire::create_body(&attrs(&[("code", json!({ "name": "Daan" }))])).unwrap_err();
    assert!(err.contains("an object") && !err.contains("Daan"), "{err}");
}

#[test]
fn classes_become_groups_named_code_slash_school_year() {
    let g = wire::to_group(&json!({ "id": 501, "code": " h3a ",
        "schoolInSchoolYearName": "Lyceum (Noord)+ 2024-2025 " }))
    .unwrap();
    assert_eq!(g.reference.as_str(), "501");
    assert_eq!(g.name, "h3a / Lyceum (Noord)+ 2024-2025");
    assert!(g.members.is_empty());
    let string_id = wire::to_group(&json!({ "id": "502", "code": "h3b",
        "schoolInSchoolYearName": "Lyceum 2024-2025" }))
    .unwrap();
    assert_eq!(string_id.reference.as_str(), "502");
    assert!(wire::to_group(&json!({ "id": 1, "code": "h3a" })).is_err());
    assert!(wire::to_group(&json!({ "id": "x", "code": "h3a",
        "schoolInSchoolYearName": "L 2024-2025" }))
    .is_err());
}

#[test]
fn placements_of_other_students_are_dropped() {
    let p = json!({ "id": 40001, "student": "118204", "departmentOfBranch": 501 });
    assert_eq!(wire::placement_class(&p, "118204").as_deref(), Some("501"));
    assert_eq!(wire::placement_class(&p, "999"), None);
    let numeric = json!({ "student": 118204, "departmentOfBranch": "502" });
    assert_eq!(
        wire::placement_class(&numeric, "118204").as_deref(),
        Some("502")
    );
}

#[test]
fn a_student_records_placements_read_as_ids_or_objects() {
    let numbers = json!({ "studentInDepartments": [40001, "40002"] });
    let held = wire::student_placements(&numbers).unwrap();
    assert_eq!(
        held.into_iter().collect::<Vec<_>>(),
        [("40001".to_owned(), None), ("40002".to_owned(), None)]
    );
    let objects = json!({ "studentInDepartments": [
        { "id": 40001, "departmentOfBranch": 501 },
        { "id": "40002", "departmentOfBranch": { "id": "502" } },
        { "id": 40003 },
    ] });
    let held = wire::student_placements(&objects).unwrap();
    assert_eq!(held["40001"].as_deref(), Some("501"));
    assert_eq!(held["40002"].as_deref(), Some("502"));
    assert_eq!(held["40003"], None);
    let none = json!({ "studentInDepartments": null });
    assert!(wire::student_placements(&none).unwrap().is_empty());
    // What cannot be read is not trusted: it could be the placement looked for.
    for bad in [
        json!({ "userCode": "118204" }),
        json!({ "studentInDepartments": "40001" }),
        json!({ "studentInDepartments": [40001, { "departmentOfBranch": 501 }] }),
        json!({ "studentInDepartments": [true] }),
    ] {
        assert!(wire::student_placements(&bad).is_err(), "{bad}");
    }
}

#[test]
fn values_in_urls_are_escaped_and_fields_listed() {
    assert_eq!(wire::escape("118204"), "118204");
    assert_eq!(wire::escape("a/b?c#d e%"), "a%2Fb%3Fc%23d%20e%25");
    assert_eq!(wire::escape("ü.-_~"), "%C3%BC.-_~");
    assert_eq!(
        wire::fields_query(&USER_FIELDS),
        "fields=code,firstName,prefix,lastName,email,isStudent,archived"
    );
}

#[test]
fn a_put_carries_only_the_changes_and_code() {
    let changes = attrs(&[("email", json!("d.vdberg@leerling.example"))]);
    assert_eq!(
        wire::put_body("118204", &changes, None).unwrap(),
        json!({ "email": "d.vdberg@leerling.example", "code": "118204" })
    );
    assert_eq!(
        wire::put_body("118204", &Attributes::new(), Some(true)).unwrap(),
        json!({ "archived": true, "code": "118204" })
    );
    let cleared = attrs(&[("prefix", Value::Null), ("isStudent", json!("TRUE"))]);
    assert_eq!(
        wire::put_body("1", &cleared, Some(false)).unwrap(),
        json!({ "prefix": null, "isStudent": true, "archived": false, "code": "1" })
    );
    // The code is the reference: the same value may travel along, another may not.
    assert!(wire::put_body("1", &attrs(&[("code", json!("1"))]), None).is_ok());
    assert!(wire::put_body("1", &attrs(&[("code", json!("2"))]), None).is_err());
    let err = wire::put_body("1", &attrs(&[("nickName", json!("x"))]), None).unwrap_err();
    assert!(err.contains("nickName"), "{err}");
    assert!(wire::put_body("1", &attrs(&[("email", json!(3))]), None).is_err());
}

#[test]
fn a_create_needs_a_code_and_is_a_student_by_default() {
    let (code, body) = wire::create_body(&attrs(&[
        ("code", json!("118204")),
        ("firstName", json!("Daan")),
        ("prefix", Value::Null),
    ]))
    .unwrap();
    assert_eq!(code, "118204");
    assert_eq!(
        body,
        json!({ "code": "118204", "firstName": "Daan", "isStudent": true })
    );
    let (_, staff) = wire::create_body(&attrs(&[
        ("code", json!("t1")),
        ("isStudent", json!(false)),
    ]))
    .unwrap();
    assert_eq!(staff["isStudent"], json!(false));
    assert!(wire::create_body(&attrs(&[("firstName", json!("x"))])).is_err());
    assert!(wire::create_body(&attrs(&[("code", json!(""))])).is_err());
}

#[test]
fn a_placement_is_one_class_id_and_a_numeric_weight() {
    let body = wire::placement_body(501, "118204", 1.0).unwrap();
    assert_eq!(
        body,
        json!({ "departmentOfBranch": 501, "student": "118204", "participationWeight": 1.0 })
    );
    assert!(body["participationWeight"].is_number());
    assert_eq!(
        wire::placement_body(501, "1", 0.5).unwrap()["participationWeight"],
        json!(0.5)
    );
    assert!(wire::placement_body(501, "1", f64::NAN).is_err());
    assert_eq!(wire::class_id(&GroupRef::new("501")), Some(501));
    assert_eq!(wire::class_id(&GroupRef::new("h3a / Lyceum")), None);
    assert_eq!(wire::class_id(&GroupRef::new("")), None);
}

#[test]
fn a_placement_404_is_read_for_what_it_names() {
    assert_eq!(
        missing_from_text("DepartmentOfBranch 599 not found (eventId 3)"),
        Missing::Class
    );
    assert_eq!(
        missing_from_text("Student 118299 not found"),
        Missing::Student
    );
    assert_eq!(missing_from_text("User 118299 not found"), Missing::Student);
    assert_eq!(missing_from_text("Not Found"), Missing::Unknown);
}

fn config(text: &str) -> ZermeloConfig {
    toml::from_str(text).unwrap()
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = config("base_url = \"https://lyceum.zportal.nl\"\ntoken = { env = \"T\" }\n");
    assert_eq!(c.validate(), Vec::<String>::new());
    assert_eq!(c.api_url(), "https://lyceum.zportal.nl/api/v3");
    assert_eq!(c.school_year_from, SchoolYearFrom::ContractStart);
    assert_eq!(c.class_field, "PrimaryContract.Department");
    assert_eq!(c.school_field, "PrimaryContract.Organization");
    assert!((c.participation_weight - 1.0).abs() < f64::EPSILON);
    assert!(!c.read_placements);
    assert_eq!((c.rate_limit.requests, c.rate_limit.per_seconds), (10, 1));
    assert_eq!(c.concurrency, 4);
    let built = ZermeloConfig::new("https://lyceum.zportal.nl/", SecretRef::Env("T".into()));
    assert_eq!(built.api_url(), c.api_url());
    let run_date = config(
        "base_url = \"https://a.zportal.nl\"\ntoken = { env = \"T\" }\n\
         school_year_from = \"run_date\"\n",
    );
    assert_eq!(run_date.school_year_from, SchoolYearFrom::RunDate);
}

#[test]
fn unknown_keys_and_unknown_school_years_are_refused() {
    let base = "base_url = \"https://a.zportal.nl\"\ntoken = { env = \"T\" }\n";
    for extra in [
        "school_year_from = \"today\"\n",
        "schoolMatch = \"exact\"\n",
    ] {
        assert!(
            toml::from_str::<ZermeloConfig>(&format!("{base}{extra}")).is_err(),
            "{extra}"
        );
    }
}

#[test]
fn the_specs_school_match_and_previous_class_are_accepted() {
    let base = "base_url = \"https://a.zportal.nl\"\ntoken = { env = \"T\" }\n";
    let defaults = config(base);
    assert_eq!(defaults.school_match, "exact");
    assert_eq!(defaults.previous_class, PreviousClass::Keep);
    let built = ZermeloConfig::new("https://a.zportal.nl", SecretRef::Env("T".into()));
    assert_eq!(
        (built.school_match.as_str(), built.previous_class),
        ("exact", PreviousClass::Keep)
    );
    let delete = config(&format!("{base}previous_class = \"delete\"\n"));
    assert_eq!(delete.previous_class, PreviousClass::Delete);
    assert_eq!(delete.validate(), Vec::<String>::new());
    // Another mode is refused when the file is read, naming the ones there are.
    let end = toml::from_str::<ZermeloConfig>(&format!("{base}previous_class = \"end\"\n"))
        .unwrap_err()
        .to_string();
    assert!(end.contains("keep") && end.contains("delete"), "{end}");
    // The block of zermelo.md §6, with the modes Muster implements.
    let spec = config(&format!(
        "{base}school_year_from = \"contract_start\"\nschool_match = \"exact\"\n\
         participation_weight = 1.00\nprevious_class = \"keep\"\nread_placements = false\n"
    ));
    assert_eq!(spec.validate(), Vec::<String>::new());
}

#[test]
fn other_school_match_modes_are_refused_with_the_reason() {
    let base = "base_url = \"https://a.zportal.nl\"\ntoken = { env = \"T\" }\n";
    let problems = |extra: &str| config(&format!("{base}{extra}")).validate().join("\n");
    let contains = problems("school_match = \"contains\"\n");
    assert!(
        contains.contains("school_match")
            && contains.contains("`contains` is not offered yet")
            && contains.contains("Stedelijk Lyceum"),
        "{contains}"
    );
    let fuzzy = problems("school_match = \"fuzzy\"\n");
    assert!(
        fuzzy.contains("`fuzzy`") && fuzzy.contains("\"exact\""),
        "{fuzzy}"
    );
    // Modes are written as documented: no case folding, as for `school_year_from`.
    assert!(!problems("school_match = \"Exact\"\n").is_empty());
}

#[test]
fn validation_names_each_bad_key() {
    let mut c = ZermeloConfig::new("http://lyceum.zportal.nl", SecretRef::Env("T".into()));
    c.participation_weight = -0.5;
    c.concurrency = 0;
    c.class_field = " ".into();
    let problems = c.validate().join("\n");
    for key in [
        "base_url",
        "participation_weight",
        "concurrency",
        "class_field",
    ] {
        assert!(problems.contains(key), "{key} missing in {problems}");
    }
    for ok in [
        "http://127.0.0.1:8080",
        "http://localhost:9000/",
        "https://x.zportal.nl",
    ] {
        let c = ZermeloConfig::new(ok, SecretRef::Env("T".into()));
        assert_eq!(c.validate(), Vec::<String>::new(), "{ok}");
    }
    for bad in [
        "https://x.zportal.nl/api/v3",
        "https://u:p@x.zportal.nl",
        "https://x.zportal.nl?a=b",
        "ftp://x.zportal.nl",
        "not a url",
    ] {
        let c = ZermeloConfig::new(bad, SecretRef::Env("T".into()));
        let problems = c.validate();
        assert!(!problems.is_empty(), "{bad}");
        assert!(!problems.join(" ").contains(":p@"), "{problems:?}");
    }
    let mut nan = ZermeloConfig::new("https://x.zportal.nl", SecretRef::Env("T".into()));
    nan.participation_weight = f64::INFINITY;
    assert!(!nan.validate().is_empty());
}
