//! A target whose mappings come partly from a HelloID fieldMapping.json: JavaScript values,
//! unique values settled against the target and the run, a failing script holding one person.

use crate::fixture::*;
use muster_core::plan::ActionKind;
use std::collections::HashSet;

/// `nickName` is unique: `e.vandijk`, then `emma.vandijk`, then `e.vandijk2`, …; the script
/// throws for person 10007.
pub fn mapping_file(fail_for: &str) -> String {
    let script = format!(
        "function nick() {{\r\n    if (Person.ExternalId === '{fail_for}') {{\r\n        throw new Error('no nickname for ' + Person.ExternalId);\r\n    }}\r\n    let first = Iteration === 1 ? Person.Name.GivenName : Person.Name.GivenName.charAt(0);\r\n    let nick = first + '.' + (Person.Name.FamilyNamePrefix || '').replace(/ /g, '') + Person.Name.FamilyName;\r\n    return nick.toLowerCase() + (Iteration < 2 ? '' : Iteration);\r\n}}\r\nnick();"
    );
    serde_json::to_string_pretty(&serde_json::json!({
        "Version": "v1",
        "MappingFields": [
            { "Name": "nickName", "Type": "Text", "MappingActions": [{
                "MapForActions": ["Create", "Update"], "MappingMode": "Complex",
                "Value": serde_json::to_string(&script).unwrap(),
                "UsedInNotifications": false, "StoreInAccountData": true }] },
            { "Name": "preferredLanguage", "Type": "Text", "MappingActions": [{
                "MapForActions": ["Create"], "MappingMode": "Fixed", "Value": "\"nl-NL\"",
                "UsedInNotifications": false, "StoreInAccountData": false }] }
        ],
        "UniqueFieldNames": ["nickName"]
    }))
    .unwrap()
}

pub async fn fixture(fail_for: &str) -> Fixture {
    let f = Fixture::demo(|t| {
        t.replace(
            "thresholds = { delete = { percent = 10 } }",
            "thresholds = { delete = { percent = 10 } }\nmapping_file = \"fieldMapping.json\"",
        )
    })
    .await;
    f.write("fieldMapping.json", &mapping_file(fail_for));
    f
}

#[tokio::test]
async fn script_values_are_unique_applied_and_stable_on_the_next_run() {
    let f = fixture("none").await;
    let engine = f.engine().await;
    let applied = engine.apply(day(1), None).await.unwrap();
    assert!(applied.plan.targets[0].held.is_empty());
    let users = f.sim.state.users();
    assert_eq!(users.len(), 300);
    let nicks: Vec<String> = users
        .iter()
        .map(|u| u["nickName"].as_str().unwrap().to_lowercase())
        .collect();
    let distinct: HashSet<&String> = nicks.iter().collect();
    assert_eq!(distinct.len(), 300, "every nickName is unique");
    assert!(
        nicks
            .iter()
            .any(|n| n.chars().filter(|c| *c == '.').count() == 1
                && n.split('.').next().is_some_and(|first| first.len() > 1)),
        "the demo's namesakes made some iterate: {nicks:?}"
    );
    assert_eq!(
        f.user("e.vandijk@example.org")["preferredLanguage"],
        "nl-NL"
    );
    // Holders keep their iterated values: nothing to do on the next run.
    assert!(engine.preview(day(1)).await.unwrap().plan.is_empty());
}

#[tokio::test]
async fn a_failing_script_holds_only_that_person_with_the_field_and_line() {
    let f = fixture("10007").await;
    let engine = f.engine().await;
    let preview = engine.preview(day(1)).await.unwrap();
    let t = &preview.plan.targets[0];
    assert_eq!(t.held.len(), 1);
    assert_eq!(t.held[0].person.as_str(), "10007");
    let reason = &t.held[0].reason;
    assert!(
        reason.contains("field nickName")
            && reason.contains("script line 3")
            && reason.contains("no nickname for 10007"),
        "{reason}"
    );
    assert_eq!(t.count(ActionKind::Create), 299);
}

#[tokio::test]
async fn a_field_mapped_in_both_places_is_a_config_error_naming_both() {
    let f = fixture("none").await;
    f.write(
        "fieldMapping.json",
        &mapping_file("none").replace("\"nickName\"", "\"title\""),
    );
    let err = muster_engine::Config::load(&f.config_path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`title` is mapped both by targets.scim.mapping[")
            && err.contains("fieldMapping.json:"),
        "{err}"
    );
}
