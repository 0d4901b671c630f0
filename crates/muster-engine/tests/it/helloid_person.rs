//! HelloID's person model end to end: a raw HelloID person export (`examples/helloid/persons.json`)
//! read as it is, mappings that read the contract objects' parts, and department groups named
//! after the department's `ExternalId`, as HelloID's public connector names them.

use muster_core::report::RunStatus;
use muster_engine::{Config, Engine};
use muster_sim::helloid::{HelloIdSim, HelloIdSimConfig};
use serde_json::Value;

#[tokio::test]
async fn a_helloid_person_export_provisions_with_department_groups_by_external_id() {
    let sim = HelloIdSim::start(HelloIdSimConfig {
        credentials: vec![("key-1".into(), "secret-1".into())],
        ..HelloIdSimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let export = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/helloid/persons.json");
    std::fs::copy(&export, dir.path().join("persons.json")).unwrap();
    let (key, secret) = (dir.path().join("key"), dir.path().join("secret"));
    std::fs::write(&key, "key-1").unwrap();
    std::fs::write(&secret, "secret-1").unwrap();
    let config = format!(
        r#"
[store]
path = "muster.db"

[source]
kind = "json"
path = "persons.json"

[targets.helloid]
kind = "helloid"
connection = {{ base_url = "{base}", api_key = {{ file = {key:?} }}, api_secret = {{ file = {secret:?} }}, department_groups = {{ prefix = "department_", create_missing = true, field = "Contract.Department.ExternalId" }} }}
correlation = {{ person = "Contact.Business.Email", account = "userName" }}

[[targets.helloid.mapping]]
field = "userName"
path = "Contact.Business.Email"

[[targets.helloid.mapping]]
field = "userAttributes.department"
path = "PrimaryContract.Department.DisplayName"

[[targets.helloid.mapping]]
field = "userAttributes.departmentCode"
path = "PrimaryContract.Department.ExternalId"

[[targets.helloid.mapping]]
field = "userAttributes.title"
path = "PrimaryContract.Title.Name"

[[targets.helloid.mapping]]
field = "userAttributes.school"
template = "{{PrimaryContract.Organization.Name}} ({{PrimaryContract.Organization.Code}})"

[[rules]]
name = "Everyone of Lyceum Noord"
account = true
access = true
when = {{ field = "PrimaryContract.Organization.Name", equals = "Lyceum Noord" }}
"#,
        base = sim.api_url()
    );
    std::fs::write(dir.path().join("muster.toml"), config).unwrap();
    let config =
        Config::load_with_env(&dir.path().join("muster.toml"), std::iter::empty()).unwrap();
    let engine = Engine::open(config).await.unwrap();
    let today = "2026-03-02".parse().unwrap();
    let report = engine.apply(today, None).await.unwrap();
    assert_eq!(
        report.summary.status(),
        RunStatus::Changes,
        "{:?}",
        report.summary
    );

    let user = |name: &str| {
        sim.state
            .user(name)
            .unwrap_or_else(|| panic!("no user {name}"))
    };
    let anouk = user("a.bakker@lyceum.example");
    assert_eq!(
        anouk["userAttributes"]["department"],
        "Mens - Maatschappij (MM)"
    );
    assert_eq!(anouk["userAttributes"]["departmentCode"], "MM");
    assert_eq!(anouk["userAttributes"]["title"], "Docent LC");
    assert_eq!(anouk["userAttributes"]["school"], "Lyceum Noord (LYC-N)");
    let boss = user("m.visser@lyceum.example");
    assert_eq!(
        anouk["managedByUserGUID"], boss["userGUID"],
        "the flat Manager path is the manager's ExternalId"
    );

    // Groups are named after the department's ExternalId; Anouk's ended contract (ZW) is
    // out of scope.
    let members = |group: &str| -> Vec<String> {
        let groups: Vec<Value> = sim
            .state
            .groups()
            .into_iter()
            .filter(|g| g["name"] == group)
            .collect();
        assert_eq!(groups.len(), 1, "one group {group}: {groups:?}");
        let guid = groups[0]["groupGuid"].as_str().unwrap();
        let mut names: Vec<String> = sim
            .state
            .members(guid)
            .iter()
            .map(|g| user(g)["userName"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(members("department_MM"), ["a.bakker@lyceum.example"]);
    assert_eq!(members("department_DIR"), ["m.visser@lyceum.example"]);
    assert_eq!(
        members("department_H3A"),
        ["200345@leerling.lyceum.example"]
    );
    assert!(
        sim.state
            .groups()
            .iter()
            .all(|g| g["name"] != "department_ZW"),
        "{:?}",
        sim.state.groups()
    );

    let again = engine.preview(today).await.unwrap();
    assert!(again.plan.is_empty(), "{:?}", again.plan);
}

/// `examples/helloid/export.toml` loads as it is: its HelloID paths, the JSON source and the
/// department groups named after the department's `ExternalId`.
#[test]
fn the_helloid_export_example_loads() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/helloid/export.toml");
    let config = Config::load_with_env(&path, std::iter::empty()).unwrap();
    let target = config.target("helloid").unwrap();
    let groups = &target.policy.rules.last().unwrap().grants.dynamic[0];
    assert_eq!(
        groups.template.to_string(),
        "department_{Contract.Department.ExternalId|sanitize}"
    );
}
