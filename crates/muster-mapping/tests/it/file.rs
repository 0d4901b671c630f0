//! Reading fieldMapping.json files: every mode, several MappingActions per field, and the
//! problems an administrator can make, each with its line.

use crate::common::*;
use muster_core::mapping::ValueSource;
use muster_mapping::{read_helloid_mapping, FieldType, Limits, MappingError, Mode};
use serde_json::json;

/// The shape HelloID exports, Values double-encoded, CRLF inside scripts.
const ZIVVER_LIKE: &str = r#"{
  "Version": "v1",
  "MappingFields": [
    {
      "Name": "active",
      "Description": "[mandatory]",
      "Type": "Text",
      "MappingActions": [
        {
          "MapForActions": ["Create", "Disable", "Delete"],
          "MappingMode": "Fixed",
          "Value": "\"False\"",
          "UsedInNotifications": false,
          "StoreInAccountData": false
        },
        {
          "MapForActions": ["Enable"],
          "MappingMode": "Fixed",
          "Value": "\"True\"",
          "UsedInNotifications": false,
          "StoreInAccountData": false
        },
        {
          "MapForActions": ["Update"],
          "MappingMode": "None",
          "Value": "\"\"",
          "UsedInNotifications": false,
          "StoreInAccountData": false
        }
      ]
    },
    {
      "Name": "name.formatted",
      "Description": "",
      "Type": "Text",
      "MappingActions": [
        {
          "MapForActions": ["Create", "Update"],
          "MappingMode": "Complex",
          "Value": "\"function f() {\\r\\n    return Person.Name.NickName + ' ' + Person.Name.FamilyName;\\r\\n}\\r\\nf();\"",
          "UsedInNotifications": false,
          "StoreInAccountData": true
        }
      ]
    },
    {
      "Name": "division",
      "Type": "Text",
      "MappingActions": [
        {
          "MapForActions": ["Create", "Update"],
          "MappingMode": "Field",
          "Value": "\"Person.PrimaryContract.Department.DisplayName\"",
          "UsedInNotifications": true,
          "StoreInAccountData": false
        }
      ]
    },
    {
      "Name": "hours",
      "Type": "Number",
      "MappingActions": [
        {
          "MapForActions": ["Create"],
          "MappingMode": "Field",
          "Value": "\"Person.PrimaryContract.Fte\"",
          "UsedInNotifications": false,
          "StoreInAccountData": false
        }
      ]
    }
  ],
  "UniqueFieldNames": ["name.formatted"]
}"#;

#[test]
fn reads_every_mode_and_several_actions_per_field() {
    let mapping = parse(ZIVVER_LIKE, Limits::default()).unwrap();
    assert_eq!(mapping.version, "v1");
    assert_eq!(mapping.unique_fields, ["name.formatted"]);
    let active = &mapping.fields[0];
    assert_eq!(active.line, Some(5));
    assert_eq!(active.actions.len(), 3);
    assert_eq!(active.actions[2].mode, Mode::None);
    assert!(mapping.fields[1].actions[0].store_in_account_data);
    assert!(mapping.fields[2].actions[0].used_in_notifications);

    let m = mapping.field_mappings();
    // `None` writes nothing: 2 + 1 + 1 + 1.
    assert_eq!(m.len(), 5);
    assert_eq!(m[0].value, ValueSource::Fixed(json!("False")));
    assert!(m[0].actions.create && m[0].actions.disable && m[0].actions.delete);
    assert!(!m[0].actions.enable && !m[0].actions.update);
    assert_eq!(m[1].value, ValueSource::Fixed(json!("True")));
    assert!(m[1].actions.enable);

    let p = janine("B");
    assert_eq!(m[2].field, "name.formatted");
    assert_eq!(m[2].compute(&p, 0).unwrap(), Some(json!("Janine Boele")));
    assert_eq!(m[3].compute(&p, 0).unwrap(), Some(json!("Finance")));
    assert_eq!(
        m[4].compute(&p, 0).unwrap(),
        Some(json!(0.8)),
        "Type Number"
    );
}

#[test]
fn every_problem_is_reported_with_its_line_and_field() {
    let text = ZIVVER_LIKE
        .replace(
            "\"Fixed\",\n          \"Value\": \"\\\"True\\\"\"",
            "\"Fixed\",\n          \"Value\": \"\\\"maybe\\\"\"",
        )
        .replace("\"Type\": \"Number\"", "\"Type\": \"Array\"")
        .replace("Department.DisplayName", "Department.Salary")
        .replace(
            "\"Update\"],\n          \"MappingMode\": \"None\"",
            "\"Enable\"],\n          \"MappingMode\": \"None\"",
        )
        .replace(
            "\"UniqueFieldNames\": [\"name.formatted\"]",
            "\"UniqueFieldNames\": [\"mail\"]",
        );
    let err = parse(&text, Limits::default()).unwrap_err();
    let MappingError::Invalid { problems, .. } = &err else {
        panic!("{err}");
    };
    let shown = err.to_string();
    let find = |needle: &str| {
        problems
            .iter()
            .find(|p| p.key.contains(needle) || p.message.contains(needle))
            .unwrap_or_else(|| panic!("no problem about {needle}:\n{shown}"))
    };
    // "True" became "maybe": still Text, so fine. The Enable now listed twice:
    let twice = find("already mapped");
    assert!(
        twice.key.contains("(active).MappingActions[2]"),
        "{}",
        twice.key
    );
    assert_eq!(twice.line, Some(26));
    let dept = find("Department.Salary");
    assert!(dept.key.contains("(division)"), "{}", dept.key);
    assert!(
        dept.message.contains("ExternalId, Code, DisplayName"),
        "{}",
        dept.message
    );
    let hours = find("(hours)");
    assert!(
        hours.message.contains("needs a Complex mapping"),
        "{}",
        hours.message
    );
    let unique = find("UniqueFieldNames");
    assert!(unique.message.contains("`mail`"));
    assert_eq!(problems.len(), 4, "{shown}");
    for p in problems {
        assert!(p.line.is_some(), "{p:?}");
    }
}

#[test]
fn a_file_that_is_not_a_field_mapping_says_where() {
    let err = parse(
        "{\n  \"Version\": \"v1\",\n  \"MappingFields\": [ { \"Name\": 3 } ]\n}",
        Limits::default(),
    )
    .unwrap_err();
    match &err {
        MappingError::Json { line, message, .. } => {
            assert_eq!(*line, 3);
            assert!(message.contains("not a fieldMapping.json"), "{message}");
        }
        other => panic!("{other}"),
    }
    let err = parse(
        "{ \"Version\": \"v2\", \"MappingFields\": [] }",
        Limits::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("`v2` is not supported"), "{err}");
    let err = read_helloid_mapping(
        std::path::Path::new("/nonexistent/fieldMapping.json"),
        Limits::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/fieldMapping.json: cannot read"),
        "{err}"
    );
}

#[test]
fn fixed_values_follow_the_type() {
    let text = file(&[
        ("enabled", "Boolean", &["Enable"], "Fixed", "True"),
        ("quota", "Number", &["Create"], "Fixed", "250"),
        ("note", "Text", &["Create"], "Fixed", "Created by Muster"),
    ]);
    let m = parse(&text, Limits::default()).unwrap().field_mappings();
    assert_eq!(m[0].value, ValueSource::Fixed(json!(true)));
    assert_eq!(m[1].value, ValueSource::Fixed(json!(250)));
    assert_eq!(m[2].value, ValueSource::Fixed(json!("Created by Muster")));
    assert_eq!(FieldType::parse("boolean"), Some(FieldType::Boolean));
}

#[test]
fn the_example_mapping_files_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/mappings");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let m =
                read_helloid_mapping(&path, Limits::default()).unwrap_or_else(|e| panic!("{e}"));
            assert!(!m.fields.is_empty(), "{}", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 3, "the Zivver, HelloID and Zermelo examples");
}
