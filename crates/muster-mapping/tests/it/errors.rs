//! A script that fails holds one person with the script's message and line; it never stops
//! the run or the next person.

use crate::common::*;
use muster_core::evaluate::{evaluate, Correlation, Lifecycle, TargetPolicy};
use muster_core::mapping::FieldAction;
use muster_core::rules::{Condition, Grants, Rule};
use muster_mapping::{Limits, MappingError};
use std::time::{Duration, Instant};

#[test]
fn a_syntax_error_is_a_load_error_with_the_file_line_field_and_script_line() {
    let source = "function f() {\n    return Person.Name.GivenName +;\n}\nf();";
    let text = file(&[
        (
            "displayName",
            "Text",
            &["Create"],
            "Field",
            "Person.DisplayName",
        ),
        ("userName", "Text", &["Create", "Update"], "Complex", source),
    ]);
    let err = parse(&text, Limits::default()).unwrap_err();
    let MappingError::Invalid { problems, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(problems.len(), 1, "{err}");
    let p = &problems[0];
    // The line of the userName field's "Value" in the file.
    let value_line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("\"Value\""))
        .nth(1)
        .map(|(i, _)| i + 1);
    assert_eq!(p.line, value_line);
    assert!(p.key.contains("userName"), "{}", p.key);
    assert!(
        p.message.contains("script line 2") && p.message.contains("SyntaxError"),
        "{}",
        p.message
    );
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "fieldMapping.json:{}: MappingFields[1] (userName)",
            p.line.unwrap()
        )),
        "{shown}"
    );
}

#[test]
fn a_thrown_exception_names_the_message_and_line() {
    let m = complex_source(
        "function f() {\n  if (!Person.Name.NickName) {\n    throw new Error('no nickname for ' + Person.ExternalId);\n  }\n  return Person.Name.NickName;\n}\nf();",
        "Text",
        Limits::default(),
    );
    let e = error(&m, &zoe_without_nickname());
    assert_eq!(e, "script line 3: Error: no nickname for 1002");
    // A TypeError from reading a property of null, in a called function.
    let m = complex_source(
        "function prefix() {\n  return Person.Name.FamilyNamePrefix.toUpperCase();\n}\nprefix();",
        "Text",
        Limits::default(),
    );
    let mut p = janine("B");
    p.name.family_name_prefix = None;
    let e = error(&m, &p);
    assert!(e.starts_with("script line 2: TypeError:"), "{e}");
    // `throw 'text'` has no line.
    let m = complex_source("throw 'not today'", "Text", Limits::default());
    assert_eq!(error(&m, &janine("B")), "script: threw not today");
}

fn zoe_without_nickname() -> muster_core::model::Person {
    let mut p = zoe();
    p.name.nick_name = None;
    p
}

#[test]
fn an_endless_loop_stops_at_the_time_limit_and_the_next_person_proceeds() {
    let limits = Limits {
        timeout: Duration::from_millis(100),
        ..Limits::default()
    };
    let m = complex_source(
        "let i = 0;\nwhile (Person.ExternalId === '1002') { i++; }\nPerson.Name.NickName",
        "Text",
        limits,
    );
    let started = Instant::now();
    let e = error(&m, &zoe());
    assert!(e.contains("did not finish within 100 ms"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // A `try` cannot swallow the limit.
    let m2 = complex_source("try { for (;;) {} } catch (e) { 'caught' }", "Text", limits);
    assert!(error(&m2, &zoe()).contains("did not finish"));
    assert_eq!(value(&m, &janine("B")), "Janine");
}

#[test]
fn a_huge_allocation_stops_at_the_memory_limit_and_the_next_person_proceeds() {
    let limits = Limits {
        memory: 16 * 1024 * 1024,
        ..Limits::default()
    };
    let m = complex_source(
        "const parts = [];\nif (Person.ExternalId === '1002') { parts.push('x'.repeat(64 * 1024 * 1024)); }\nparts.length + ' parts'",
        "Text",
        limits,
    );
    let e = error(&m, &zoe());
    assert!(e.contains("more than 16 MiB"), "{e}");
    assert_eq!(value(&m, &janine("B")), "0 parts");
    // Growing slowly hits it too.
    let m = complex_source(
        "const a = []; for (;;) { a.push({ n: a.length, s: 'abcdefghijklmnop' + a.length }); }",
        "Text",
        limits,
    );
    let e = error(&m, &zoe());
    assert!(
        e.contains("more than 16 MiB") || e.contains("did not finish"),
        "{e}"
    );
}

#[test]
fn an_object_where_a_string_is_expected_is_a_wrong_type() {
    let m = complex_source(
        "({ givenName: Person.Name.GivenName })",
        "Text",
        Limits::default(),
    );
    assert_eq!(
        error(&m, &janine("B")),
        "script returned an object where Type Text (a string) is expected"
    );
    let m = complex_source("[1, 2]", "Boolean", Limits::default());
    assert_eq!(
        error(&m, &janine("B")),
        "script returned an array where Type Boolean (a boolean) is expected"
    );
    let m = complex_source("(function () {})", "Text", Limits::default());
    assert!(error(&m, &janine("B")).contains("returned a function"));
    // Nothing (undefined, null) is no value, not an error.
    let m = complex_source("if (false) { 'x' }", "Text", Limits::default());
    assert_eq!(compute(&m, &janine("B"), 0).unwrap(), None);
}

#[test]
fn evaluate_holds_only_the_person_whose_script_failed_with_the_field_name() {
    let m = complex_source(
        "Person.Name.NickName.toLowerCase()",
        "Text",
        Limits::default(),
    );
    let policy = TargetPolicy {
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
        mappings: vec![muster_core::mapping::FieldMapping {
            field: "nickName".into(),
            ..m
        }],
        lifecycle: Lifecycle::default(),
        correlation: Correlation {
            person: muster_core::model::PersonPath::ExternalId,
            account_field: "externalId".into(),
            case_insensitive: true,
        },
    };
    let today = "2026-01-01".parse().unwrap();
    let bad = evaluate(&zoe_without_nickname(), &policy, today);
    assert_eq!(bad.errors.len(), 1);
    assert!(
        bad.errors[0].starts_with("field nickName: script line 1: TypeError"),
        "{}",
        bad.errors[0]
    );
    let good = evaluate(&janine("B"), &policy, today);
    assert!(good.errors.is_empty());
    assert_eq!(
        good.fields.get(FieldAction::Create, "nickName").unwrap(),
        "janine"
    );
}
