//! `muster mapping eval` on the example mapping files and the demo's HR export.

use std::path::Path;
use std::process::Command;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn eval(mapping: &Path, persons: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["mapping", "eval", "--mapping"])
        .arg(mapping)
        .arg("--persons")
        .arg(persons)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_example_mappings_give_every_demo_person_every_value() {
    let root = Path::new(ROOT);
    let day1 = root.join("examples/demo/day1");
    let contracts = day1.join("contracts.csv");
    let (code, out, err) = eval(
        &root.join("examples/mappings/helloid.fieldMapping.json"),
        &day1.join("persons.csv"),
        &[
            "--contracts",
            contracts.to_str().unwrap(),
            "--today",
            "2026-03-02",
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let persons = v["persons"].as_array().unwrap();
    assert_eq!(persons.len(), 300);
    let first = &persons[0]["values"];
    assert_eq!(first["userName"], "e.vandijk@example.org");
    assert_eq!(first["isEnabled"], false, "Type Boolean");
    assert_eq!(
        first["userAttributes"]["startDate"], "01-11-2018",
        "dotted names nest"
    );
    let names: std::collections::HashSet<&str> = persons
        .iter()
        .map(|p| p["values"]["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 300, "UniqueFieldNames: namesakes iterate");
}

#[test]
fn a_failing_script_is_shown_per_person_and_sets_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let script =
        "if (Person.ExternalId === '2') {\n  throw new Error('no');\n}\nPerson.Name.GivenName";
    let mapping = serde_json::json!({
        "Version": "v1",
        "MappingFields": [{ "Name": "givenName", "Type": "Text", "MappingActions": [{
            "MapForActions": ["Create"], "MappingMode": "Complex",
            "Value": serde_json::to_string(script).unwrap(),
            "UsedInNotifications": false, "StoreInAccountData": false }] }]
    });
    let mapping_path = dir.path().join("fieldMapping.json");
    std::fs::write(&mapping_path, mapping.to_string()).unwrap();
    let persons_path = dir.path().join("persons.json");
    std::fs::write(
        &persons_path,
        r#"[{"ExternalId": "1", "Name": {"GivenName": "Anna"}}, {"ExternalId": "2", "Name": {"GivenName": "Bo"}}]"#,
    )
    .unwrap();
    let (code, out, err) = eval(&mapping_path, &persons_path, &[]);
    assert_eq!(code, Some(4), "{out}{err}");
    assert!(out.contains("givenName  \"Anna\""), "{out}");
    assert!(
        out.contains("2  (held)") && out.contains("ERROR script line 2: Error: no"),
        "{out}"
    );
    // A broken mapping file is exit 1 with its line.
    std::fs::write(
        &mapping_path,
        "{ \"Version\": \"v1\", \"MappingFields\": [ }",
    )
    .unwrap();
    let (code, _, err) = eval(&mapping_path, &persons_path, &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("fieldMapping.json:1:"), "{err}");
}
