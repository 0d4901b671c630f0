use super::*;
use crate::connector::{Attributes, Capabilities};
use crate::evaluate::{evaluate, Lifecycle, TargetPolicy};
use crate::mapping::{ActionSet, ComputeError, ComputedValue, ValueSource};
use crate::model::PersonPath;
use crate::plan::LinkState;
use crate::rules::{Condition, Grants, Rule};
use chrono::NaiveDate;
use std::sync::Arc;

/// `given.family@x.example`, then `g.family@…` at Iteration 1, then `given.family2@…`, …: the
/// shape of HelloID's generateMail scripts.
#[derive(Debug)]
struct Mail;

impl ComputedValue for Mail {
    fn compute(&self, p: &Person, iteration: u32) -> Result<Option<Value>, ComputeError> {
        let given = p.name.given_name.clone().unwrap_or_default().to_lowercase();
        let family = p
            .name
            .family_name
            .clone()
            .unwrap_or_default()
            .to_lowercase();
        let local = match iteration {
            0 => format!("{given}.{family}"),
            1 => format!("{}.{family}", &given[..1]),
            n => format!("{given}.{family}{n}"),
        };
        Ok(Some(Value::String(format!("{local}@x.example"))))
    }
}

fn today() -> NaiveDate {
    "2026-03-01".parse().unwrap()
}

fn policy(value: ValueSource, actions: ActionSet) -> TargetPolicy {
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
        mappings: vec![FieldMapping {
            field: "userName".into(),
            value,
            actions,
            secret: false,
        }],
        lifecycle: Lifecycle::default(),
        correlation: Correlation {
            person: PersonPath::parse("ExternalId").unwrap(),
            account_field: "externalId".into(),
            case_insensitive: true,
        },
    }
}

fn uniqueness() -> Uniqueness {
    Uniqueness {
        fields: ["userName".to_owned()].into(),
        max_iterations: 3,
    }
}

fn mail_policy() -> TargetPolicy {
    policy(ValueSource::Computed(Arc::new(Mail)), ActionSet::ALWAYS)
}

fn person(id: &str, given: &str, family: &str) -> Person {
    let mut p = Person::new(id);
    p.name.given_name = Some(given.into());
    p.name.family_name = Some(family.into());
    p
}

fn account(reference: &str, user_name: &str) -> ObservedAccount {
    let mut attributes = Attributes::new();
    attributes.insert("userName".into(), user_name.into());
    ObservedAccount {
        reference: AccountRef::new(reference),
        enabled: true,
        attributes,
    }
}

fn link(person: &str, account: &str) -> StoredLink {
    StoredLink {
        person: person.into(),
        account: AccountRef::new(account),
        state: LinkState::Active,
    }
}

/// Evaluates and makes unique; returns (create userName, update userName, errors) per person.
fn run(
    persons: &[Person],
    policy: &TargetPolicy,
    accounts: Vec<ObservedAccount>,
    links: &[StoredLink],
) -> Vec<(Option<String>, Option<String>, Vec<String>)> {
    run_in(persons, policy, accounts, links, &Capabilities::default())
}

/// [`run`] against a target with these capabilities.
fn run_in(
    persons: &[Person],
    policy: &TargetPolicy,
    accounts: Vec<ObservedAccount>,
    links: &[StoredLink],
    capabilities: &Capabilities,
) -> Vec<(Option<String>, Option<String>, Vec<String>)> {
    let mut evaluations: Vec<Evaluation> = persons
        .iter()
        .map(|p| evaluate(p, policy, today()))
        .collect();
    let observed = Observed {
        accounts,
        groups: vec![],
        deleted: Vec::new(),
    };
    make_unique(
        persons,
        &mut evaluations,
        &UniqueInput {
            mappings: &policy.mappings,
            uniqueness: &uniqueness(),
            observed: &observed,
            links,
            correlation: &policy.correlation,
            capabilities,
            held: &HashSet::new(),
        },
    );
    let s = |e: &Evaluation, action| {
        e.fields
            .get(action, "userName")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    evaluations
        .iter()
        .map(|e| {
            (
                s(e, FieldAction::Create),
                s(e, FieldAction::Update),
                e.errors.clone(),
            )
        })
        .collect()
}

fn created(r: &(Option<String>, Option<String>, Vec<String>)) -> &str {
    assert!(r.2.is_empty(), "{:?}", r.2);
    r.0.as_deref().unwrap_or("-")
}

#[test]
fn namesakes_in_one_run_get_the_next_iteration_in_external_id_order() {
    // Listed out of order: the lower ExternalId gets the first value whatever the export order.
    let persons = [
        person("3", "Jan", "Jansen"),
        person("1", "Jan", "Jansen"),
        person("2", "Jan", "Jansen"),
    ];
    let out = run(&persons, &mail_policy(), vec![], &[]);
    assert_eq!(created(&out[1]), "jan.jansen@x.example");
    assert_eq!(created(&out[2]), "j.jansen@x.example");
    assert_eq!(created(&out[0]), "jan.jansen2@x.example");
    assert_eq!(
        out[0].1.as_deref(),
        Some("jan.jansen2@x.example"),
        "update set too"
    );
}

#[test]
fn values_held_by_accounts_in_the_target_are_skipped_without_regard_to_case() {
    let persons = [person("1", "Jan", "Jansen")];
    let out = run(
        &persons,
        &mail_policy(),
        vec![account("a1", "Jan.Jansen@X.example")],
        &[],
    );
    assert_eq!(created(&out[0]), "j.jansen@x.example");
}

#[test]
fn a_person_keeps_the_value_their_account_holds_while_it_is_one_of_their_candidates() {
    // Person 2 got jan.jansen2 when 1 and j.jansen were taken; 1 has left since. 2 keeps it.
    let persons = [person("2", "Jan", "Jansen")];
    let out = run(
        &persons,
        &mail_policy(),
        vec![account("a2", "jan.jansen2@x.example")],
        &[link("2", "a2")],
    );
    assert_eq!(out[0].1.as_deref(), Some("jan.jansen2@x.example"));
    assert!(out[0].2.is_empty());
}

#[test]
fn a_renamed_person_with_an_account_gets_the_first_free_value() {
    let persons = [person("2", "Jan", "Smit")];
    let out = run(
        &persons,
        &mail_policy(),
        vec![
            account("a2", "jan.jansen2@x.example"),
            account("a9", "jan.smit@x.example"),
        ],
        &[link("2", "a2")],
    );
    assert_eq!(out[0].1.as_deref(), Some("j.smit@x.example"));
}

#[test]
fn a_persons_own_account_is_no_collision() {
    let persons = [person("1", "Jan", "Jansen")];
    let out = run(
        &persons,
        &mail_policy(),
        vec![account("a1", "jan.jansen@x.example")],
        &[link("1", "a1")],
    );
    assert_eq!(out[0].1.as_deref(), Some("jan.jansen@x.example"));
    assert!(out[0].2.is_empty());
}

#[test]
fn exhausted_iterations_hold_the_person_with_the_reason() {
    let persons = [person("9", "Jan", "Jansen")];
    let accounts = vec![
        account("a0", "jan.jansen@x.example"),
        account("a1", "j.jansen@x.example"),
        account("a2", "jan.jansen2@x.example"),
        account("a3", "jan.jansen3@x.example"),
    ];
    let out = run(&persons, &mail_policy(), accounts, &[]);
    assert_eq!(out[0].2.len(), 1);
    let e = &out[0].2[0];
    assert!(e.contains("userName") && e.contains("4 tries"), "{e}");
    assert!(
        e.contains("jan.jansen3@x.example") && e.contains("account a3"),
        "{e}"
    );
}

#[test]
fn a_mapping_that_ignores_iteration_fails_at_once_with_a_clear_reason() {
    let policy = policy(
        ValueSource::Path(PersonPath::parse("Name.FamilyName").unwrap()),
        ActionSet::ALWAYS,
    );
    let persons = [person("1", "Jan", "Jansen"), person("2", "Piet", "Jansen")];
    let out = run(&persons, &policy, vec![], &[]);
    assert_eq!(created(&out[0]), "Jansen");
    let e = &out[1].2[0];
    assert!(
        e.contains("does not change with Iteration") && e.contains("person 1"),
        "{e}"
    );
}

#[test]
fn a_create_only_field_is_left_alone_for_persons_with_an_account() {
    let policy = policy(
        ValueSource::Computed(Arc::new(Mail)),
        ActionSet {
            create: true,
            ..ActionSet::default()
        },
    );
    // Person 1's account holds another value; another account holds their iteration-0 value.
    let persons = [person("1", "Jan", "Jansen")];
    let out = run(
        &persons,
        &policy,
        vec![
            account("a1", "legacy@x.example"),
            account("a2", "jan.jansen@x.example"),
        ],
        &[link("1", "a1")],
    );
    assert!(out[0].2.is_empty());
    assert_eq!(out[0].1, None);
}

#[test]
fn a_correlated_account_counts_as_the_persons_own() {
    // No link, but correlation (externalId) will pick a1: its user name is theirs.
    let persons = [person("1", "Jan", "Jansen")];
    let mut a1 = account("a1", "jan.jansen@x.example");
    a1.attributes.insert("externalId".into(), "1".into());
    let out = run(&persons, &mail_policy(), vec![a1], &[]);
    assert_eq!(out[0].1.as_deref(), Some("jan.jansen@x.example"));
    assert!(out[0].2.is_empty());
}

fn correlated_by(mut account: ObservedAccount, value: Value) -> ObservedAccount {
    account.attributes.insert("externalId".into(), value);
    account
}

#[test]
fn the_account_the_plan_finds_keeps_its_user_name() {
    // Each person's iteration-0 value is held by the account the plan finds for them: by a
    // number, by a one-item list, by a Deleted link (a re-hire), by a value in another case
    // where the target compares ignoring case. Each keeps that value instead of a new one.
    let mut policy = mail_policy();
    policy.correlation.case_insensitive = false;
    let persons = [
        person("1001", "Jan", "Jansen"),
        person("1002", "Piet", "Smit"),
        person("3", "Kees", "Bos"),
        person("ab7", "Els", "Vos"),
    ];
    let mut rehired = account("a3", "kees.bos@x.example");
    rehired.enabled = false;
    let accounts = vec![
        correlated_by(account("a1", "jan.jansen@x.example"), Value::from(1001)),
        correlated_by(
            account("a2", "piet.smit@x.example"),
            Value::from(vec!["1002"]),
        ),
        rehired,
        correlated_by(account("a4", "els.vos@x.example"), Value::from("AB7")),
    ];
    let links = [StoredLink {
        state: LinkState::Deleted,
        ..link("3", "a3")
    }];
    let capabilities = Capabilities {
        case_insensitive_fields: ["externalId".to_owned()].into(),
        ..Capabilities::default()
    };
    let out = run_in(&persons, &policy, accounts, &links, &capabilities);
    let kept: Vec<_> = out.iter().map(|r| (r.1.as_deref(), r.2.len())).collect();
    assert_eq!(
        kept,
        [
            (Some("jan.jansen@x.example"), 0),
            (Some("piet.smit@x.example"), 0),
            (Some("kees.bos@x.example"), 0),
            (Some("els.vos@x.example"), 0),
        ]
    );
}

#[test]
fn a_candidate_linked_to_someone_else_is_not_the_persons_own() {
    // a1 carries person 1's correlation value but is linked to person 9: the plan holds 1,
    // and here 1 is a newcomer whose first value a1 holds.
    let persons = [person("1", "Jan", "Jansen")];
    let a1 = correlated_by(account("a1", "jan.jansen@x.example"), Value::from("1"));
    let out = run(&persons, &mail_policy(), vec![a1], &[link("9", "a1")]);
    assert_eq!(created(&out[0]), "j.jansen@x.example");
}

#[test]
fn a_rehire_keeps_the_user_name_of_the_account_the_plan_enables_again() {
    // Kees (3) left; his account a3 was disabled as his delete and keeps kees.bos. He is back,
    // and a namesake (1) is new: the plan enables a3 again without renaming it, and the
    // namesake is created with the next free value.
    let policy = mail_policy();
    let persons = [person("3", "Kees", "Bos"), person("1", "Kees", "Bos")];
    let mut a3 = account("a3", "kees.bos@x.example");
    a3.enabled = false;
    let observed = Observed {
        accounts: vec![a3],
        groups: vec![],
        deleted: Vec::new(),
    };
    let links = [StoredLink {
        state: LinkState::Deleted,
        ..link("3", "a3")
    }];
    let capabilities = Capabilities::default();
    let held = HashSet::new();
    let mut evaluations: Vec<Evaluation> = persons
        .iter()
        .map(|p| evaluate(p, &policy, today()))
        .collect();
    make_unique(
        &persons,
        &mut evaluations,
        &UniqueInput {
            mappings: &policy.mappings,
            uniqueness: &uniqueness(),
            observed: &observed,
            links: &links,
            correlation: &policy.correlation,
            capabilities: &capabilities,
            held: &held,
        },
    );
    let fp = |_: &AccountRef, _: &str, v: &Value| v.to_string();
    let plan = crate::plan::diff(&crate::plan::DiffInput {
        target: &policy.target,
        capabilities: &capabilities,
        evaluations: &evaluations,
        held: &held,
        observed: &observed,
        links: &links,
        fingerprints: &HashMap::new(),
        fingerprint: &fp,
        correlation: &policy.correlation,
        managed: &policy.managed_groups(),
        secret_fields: &BTreeSet::new(),
        departed: &[],
        pending: &Default::default(),
        domains: None,
        leave_alone: None,
        type_fields: &Default::default(),
    });
    let user_names: Vec<(&str, Option<&str>, Option<&Value>)> = plan
        .actions
        .iter()
        .flat_map(|a| {
            a.changes
                .iter()
                .filter(|c| c.field == "userName")
                .map(move |c| {
                    (
                        a.person.as_str(),
                        a.account.as_ref().map(|r| r.as_str()),
                        c.after.as_ref(),
                    )
                })
        })
        .collect();
    assert_eq!(
        user_names,
        [("1", None, Some(&Value::from("k.bos@x.example")))],
        "{:#?}",
        plan.actions
    );
    assert!(
        plan.actions
            .iter()
            .any(|a| a.person.as_str() == "3" && a.kind == crate::plan::ActionKind::Enable),
        "{:#?}",
        plan.actions
    );
}
