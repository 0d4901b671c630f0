//! Realistic HelloID mapping scripts and the values they must give.

use crate::common::*;
use muster_core::evaluate::{evaluate, Correlation, Lifecycle, TargetPolicy};
use muster_core::mapping::{ActionSet, FieldAction};
use muster_core::model::PersonPath;
use muster_core::rules::{Condition, Grants, Rule};
use muster_core::unique::{make_unique, UniqueInput, Uniqueness};
use serde_json::json;

#[test]
fn display_name_follows_each_naming_convention_with_partner_names_and_prefixes() {
    let m = complex("display_name.js", "Text");
    for (convention, expected) in [
        ("B", "Janine van den Boele"),
        ("BP", "Janine van den Boele - de Vries"),
        ("P", "Janine de Vries"),
        ("PB", "Janine de Vries - van den Boele"),
    ] {
        assert_eq!(value(&m, &janine(convention)), expected, "{convention}");
    }
    // No convention falls back to B; no prefix leaves no double space.
    let mut p = janine("B");
    p.name.convention = None;
    p.name.family_name_prefix = None;
    assert_eq!(value(&m, &p), "Janine Boele");
}

#[test]
fn sort_name_puts_the_conventions_surnames_first() {
    let m = complex("sort_name.js", "Text");
    for (convention, expected) in [
        ("B", "Boele, J.H. van den"),
        ("BP", "Boele - de Vries, J.H. van den"),
        ("P", "Vries, J.H. de"),
        ("PB", "Vries - van den Boele, J.H. de"),
    ] {
        assert_eq!(value(&m, &janine(convention)), expected, "{convention}");
    }
}

#[test]
fn diacritics_are_stripped_with_normalize_and_a_regex() {
    let m = complex("mail_local_part.js", "Text");
    assert_eq!(value(&m, &zoe()), "zoe.vantangstrom");
    assert_eq!(value(&m, &janine("B")), "janine.vandenboele");
    // Top-level `const`/`let` again for the next person: no "redeclared" error.
    assert_eq!(value(&m, &zoe()), "zoe.vantangstrom");
}

#[test]
fn mail_iterations_give_the_next_candidate() {
    let m = complex("mail_iteration.js", "Text");
    let p = janine("B");
    let at = |i| compute(&m, &p, i).unwrap().unwrap();
    assert_eq!(at(0), "janine.vandenboele@example.org");
    assert_eq!(at(1), "j.vandenboele@example.org");
    assert_eq!(at(2), "janine.vandenboele2@example.org");
    assert_eq!(at(3), "janine.vandenboele3@example.org");
    assert_eq!(value(&m, &janine("PB")), "janine.devries@example.org");
    assert_eq!(value(&m, &zoe()), "zoe.vantangstrom@example.org");
}

#[test]
fn initials_user_name_is_cut_to_twenty_characters_with_its_iteration() {
    let m = complex("initials_user_name.js", "Text");
    let p = janine("B");
    assert_eq!(compute(&m, &p, 0).unwrap().unwrap(), "jhvdboele");
    assert_eq!(compute(&m, &p, 1).unwrap().unwrap(), "jhvdboele2");
    let mut long = janine("B");
    long.name.initials = Some("A.M.T.".into());
    long.name.family_name_prefix = Some("van der".into());
    long.name.family_name = Some("Heijden-Wüstenberg".into());
    assert_eq!(
        compute(&m, &long, 0).unwrap().unwrap(),
        "amtvdheijdenwustenbe"
    );
    assert_eq!(
        compute(&m, &long, 1).unwrap().unwrap(),
        "amtvdheijdenwustenb2"
    );
}

#[test]
fn initials_user_names_collide_and_iterate_in_a_run() {
    // Jan Hendrik and Johanna Hermina van den Boele share the initials J.H.: the second gets
    // the next iteration, and an account in the target already holds the third candidate.
    let m = complex("initials_user_name.js", "Text");
    let policy = TargetPolicy {
        target: "ad".into(),
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
            field: "sAMAccountName".into(),
            actions: ActionSet::ALWAYS,
            ..m
        }],
        lifecycle: Lifecycle::default(),
        correlation: Correlation {
            person: PersonPath::ExternalId,
            account_field: "employeeId".into(),
            case_insensitive: true,
        },
    };
    let uniqueness = Uniqueness {
        fields: ["sAMAccountName".to_owned()].into(),
        max_iterations: 5,
    };
    let mut a = janine("B");
    a.external_id = "1".into();
    let mut b = janine("B");
    b.external_id = "2".into();
    let mut c = janine("B");
    c.external_id = "3".into();
    let persons = [c, b, a];
    let today = "2026-01-01".parse().unwrap();
    let mut evaluations: Vec<_> = persons
        .iter()
        .map(|p| evaluate(p, &policy, today))
        .collect();
    let observed = muster_core::connector::Observed {
        accounts: vec![muster_core::connector::ObservedAccount {
            reference: muster_core::model::AccountRef::new("S-1-5-21-1"),
            enabled: true,
            attributes: [("sAMAccountName".to_owned(), json!("JHVDBOELE2"))].into(),
        }],
        groups: vec![],
        deleted: Vec::new(),
    };
    make_unique(
        &persons,
        &mut evaluations,
        &UniqueInput {
            mappings: &policy.mappings,
            uniqueness: &uniqueness,
            observed: &observed,
            links: &[],
            correlation: &policy.correlation,
            capabilities: &Default::default(),
            held: &Default::default(),
        },
    );
    let names: Vec<_> = evaluations
        .iter()
        .map(|e| {
            e.fields
                .get(FieldAction::Create, "sAMAccountName")
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        names,
        [json!("jhvdboele4"), json!("jhvdboele3"), json!("jhvdboele")]
    );
}

#[test]
fn upn_comes_from_the_accounts_of_another_system() {
    let m = complex("upn_from_accounts.js", "Text");
    let mut p = janine("B");
    p.accounts
        .entry("MicrosoftActiveDirectory".into())
        .or_default()
        .insert(
            "userPrincipalName".into(),
            json!("J.vandenBoele@corp.example.org"),
        );
    assert_eq!(value(&m, &p), "j.vandenboele@corp.example.org");
    // Without that account: the business e-mail.
    assert_eq!(value(&m, &janine("B")), "j.vandenboele@example.org");
}

#[test]
fn contract_start_is_formatted_as_day_month_year() {
    let m = complex("contract_start.js", "Text");
    assert_eq!(value(&m, &janine("B")), "01-03-2024");
    // No contract: PrimaryContract is null, the script returns "".
    assert_eq!(value(&m, &zoe()), "");
}

#[test]
fn proxy_addresses_are_an_array() {
    let m = complex("proxy_addresses.js", "Array");
    assert_eq!(
        value(&m, &janine("B")),
        json!([
            "SMTP:janine.vandenboele@example.org",
            "smtp:j.vandenboele@example.org"
        ])
    );
}

#[test]
fn weekly_hours_are_a_number() {
    let m = complex("weekly_hours.js", "Number");
    assert_eq!(value(&m, &janine("B")), json!(28.8));
    let mut full = janine("B");
    full.contracts[0].fte = Some(1.0);
    assert_eq!(
        value(&m, &full),
        json!(36),
        "a whole number stays an integer"
    );
}

#[test]
fn a_text_field_turns_numbers_into_text() {
    let m = complex_source(
        "Person.PrimaryContract.Fte * 40",
        "Text",
        Default::default(),
    );
    assert_eq!(value(&m, &janine("B")), "32");
}
