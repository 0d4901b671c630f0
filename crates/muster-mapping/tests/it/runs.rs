//! Evaluating a population: on several threads, with results reused between runs.

use crate::common::*;
use muster_core::evaluate::{evaluate, evaluate_all, Correlation, Lifecycle, TargetPolicy};
use muster_core::mapping::{ComputedValue, FieldAction, FieldMapping, ValueSource};
use muster_core::model::{Person, PersonPath};
use muster_core::rules::{Condition, Grants, Rule};
use muster_mapping::{FieldType, Limits, Script, ScriptValue};
use std::sync::Arc;

fn persons(n: usize) -> Vec<Person> {
    (0..n)
        .map(|i| {
            let mut p = janine(["B", "BP", "P", "PB"][i % 4]);
            p.external_id = format!("{i:05}").into();
            p.name.nick_name = Some(format!("Nick{}", i % 37));
            p
        })
        .collect()
}

fn policy(mappings: Vec<FieldMapping>) -> TargetPolicy {
    TargetPolicy {
        target: "t".into(),
        rules: vec![Rule {
            name: "all".into(),
            targets: None,
            when: Condition::Always,
            grants: Grants {
                account: true,
                access: true,
                permissions: vec![],
                dynamic: vec![],
            },
        }],
        mappings,
        lifecycle: Lifecycle::default(),
        correlation: Correlation {
            person: PersonPath::ExternalId,
            account_field: "externalId".into(),
            case_insensitive: true,
        },
    }
}

#[test]
fn evaluation_on_all_cores_equals_evaluation_on_one() {
    let mappings = vec![
        FieldMapping {
            field: "displayName".into(),
            ..complex("display_name.js", "Text")
        },
        FieldMapping {
            field: "mail".into(),
            ..complex("mail_iteration.js", "Text")
        },
    ];
    let policy = policy(mappings);
    let people = persons(2000);
    let today = "2026-01-01".parse().unwrap();
    let parallel = evaluate_all(&people, &policy, today);
    let serial: Vec<_> = people.iter().map(|p| evaluate(p, &policy, today)).collect();
    assert_eq!(parallel, serial);
    assert_eq!(
        parallel[5]
            .fields
            .get(FieldAction::Create, "displayName")
            .unwrap(),
        "Nick5 van den Boele - de Vries"
    );
}

#[test]
fn unchanged_persons_reuse_results_and_changed_ones_run_again() {
    let script = Script::compile("Person.Name.NickName + '!'", Limits::default()).unwrap();
    let value = Arc::new(ScriptValue::new(script, FieldType::Text));
    let mut people = persons(1000);
    let policy = policy(vec![FieldMapping {
        field: "x".into(),
        value: ValueSource::Computed(value.clone()),
        actions: muster_core::mapping::ActionSet::ALWAYS,
        secret: false,
    }]);
    let today = "2026-01-01".parse().unwrap();
    policy.start_run();
    let first = evaluate_all(&people, &policy, today);
    assert_eq!(value.cached_results(), 1000);

    // 1 % changes; the primary contract of another moves (a contract ends, say).
    for p in people.iter_mut().step_by(100) {
        p.name.nick_name = Some("Changed".into());
    }
    let copy = people[1].contracts[0].clone();
    people[1].contracts.push(copy);
    people[1].primary = Some(1);
    policy.start_run();
    let second = evaluate_all(&people, &policy, today);
    let x = |e: &muster_core::evaluate::Evaluation| e.fields.get(FieldAction::Create, "x").cloned();
    assert_eq!(x(&second[0]), Some("Changed!".into()));
    assert_eq!(x(&second[2]), x(&first[2]));
    // 1000 reused or re-run, 11 new results; the 11 replaced ones are dropped a run later.
    assert_eq!(value.cached_results(), 1011);
    policy.start_run();
    evaluate_all(&people, &policy, today);
    assert_eq!(value.cached_results(), 1000);
}

#[test]
fn a_cached_failure_is_the_same_failure() {
    let script = Script::compile("Person.Name.Nothing.length", Limits::default()).unwrap();
    let value = ScriptValue::new(script, FieldType::Text);
    let p = janine("B");
    let first = value.compute(&p, 0).unwrap_err();
    let again = value.compute(&p, 0).unwrap_err();
    assert_eq!(first, again);
    assert!(first.message.contains("TypeError"), "{}", first.message);
}
