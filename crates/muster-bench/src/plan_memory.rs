//! Plan time and peak memory of the pure stages for N persons × 3 targets, in a process of
//! its own so the peak (VmHWM) belongs to that size alone.

use chrono::NaiveDate;
use muster_core::connector::{Capabilities, Observed, ObservedAccount, ObservedGroup};
use muster_core::evaluate::{evaluate, Correlation, Evaluation, Lifecycle, TargetPolicy};
use muster_core::mapping::{ActionSet, FieldMapping, Template, ValueSource};
use muster_core::model::{AccountRef, Contract, GroupRef, Person, PersonPath};
use muster_core::plan::{diff, DiffInput, LinkState, StoredLink};
use muster_core::rules::{Condition, ContractSelection, DynamicPermission, Grants, Rule};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Instant;

use crate::org::DEPARTMENTS;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default()
}

fn policy(target: &str, user_field: &str) -> anyhow::Result<TargetPolicy> {
    let path = |p: &str| PersonPath::parse(p);
    let m = |field: &str, value: ValueSource| FieldMapping {
        field: field.into(),
        value,
        actions: ActionSet::ALWAYS,
        secret: false,
    };
    Ok(TargetPolicy {
        target: target.into(),
        rules: vec![Rule {
            name: "staff".into(),
            targets: None,
            when: Condition::Always,
            grants: Grants {
                account: true,
                access: true,
                permissions: vec!["All staff".into()],
                dynamic: vec![DynamicPermission {
                    template: Template::parse("Dept {Contract.Department}")?,
                    contracts: ContractSelection::InScope,
                }],
            },
        }],
        mappings: vec![
            m(
                user_field,
                ValueSource::Path(path("Contact.Business.Email")?),
            ),
            m("givenName", ValueSource::Path(path("Name.GivenName")?)),
            m("familyName", ValueSource::Path(path("Name.FamilyName")?)),
            m(
                "displayName",
                ValueSource::Template(Template::parse(
                    "{Name.GivenName} {Name.FamilyNamePrefix?} {Name.FamilyName}",
                )?),
            ),
            m("title", ValueSource::Path(path("PrimaryContract.Title")?)),
            m(
                "department",
                ValueSource::Path(path("PrimaryContract.Department")?),
            ),
        ],
        lifecycle: Lifecycle {
            create_days_before_start: 14,
            delete_days_after_end: Some(90),
        },
        correlation: Correlation {
            person: path("Contact.Business.Email")?,
            account_field: user_field.into(),
            case_insensitive: true,
        },
    })
}

fn persons(n: usize) -> Vec<Person> {
    (0..n)
        .map(|i| {
            let mut p = Person::new(format!("{}", 100_000 + i));
            p.name.given_name = Some(format!("Given{}", i % 97));
            p.name.family_name = Some(format!("Family{i}"));
            p.contact.business.email = Some(format!("user{i}@example.org"));
            p.contracts.push(Contract {
                start_date: NaiveDate::from_ymd_opt(2020, 1, 1),
                department: Some(DEPARTMENTS[i % DEPARTMENTS.len()].into()),
                title: Some("Medewerker".into()),
                ..Contract::default()
            });
            p.primary = Some(0);
            p
        })
        .collect()
}

/// Yesterday's state of the target, with every 50th account differing (2 % changed).
fn observed(evaluations: &[Evaluation], target: &str) -> (Observed, Vec<StoredLink>) {
    let mut accounts = Vec::with_capacity(evaluations.len());
    let mut links = Vec::with_capacity(evaluations.len());
    let mut members: HashMap<&str, BTreeSet<AccountRef>> = HashMap::new();
    for (i, e) in evaluations.iter().enumerate() {
        let reference = AccountRef::new(format!("{target}-{i}"));
        let mut attributes = e.fields.update.clone();
        if i % 50 == 0 {
            attributes.insert("department".into(), "Moved".into());
        }
        accounts.push(ObservedAccount {
            reference: reference.clone(),
            enabled: true,
            attributes,
        });
        for g in &e.permissions {
            members
                .entry(g.as_str())
                .or_default()
                .insert(reference.clone());
        }
        links.push(StoredLink {
            person: e.person.clone(),
            account: reference,
            state: LinkState::Active,
        });
    }
    let groups = members
        .into_iter()
        .enumerate()
        .map(|(i, (name, members))| ObservedGroup {
            reference: GroupRef::new(format!("g{i}")),
            name: name.to_owned(),
            members,
        })
        .collect();
    (Observed { accounts, groups }, links)
}

/// Prints one line: persons, targets, seconds to plan, actions, peak RSS.
pub fn run(n: usize) -> anyhow::Result<()> {
    let people = persons(n);
    let policies = [
        policy("scim", "userName")?,
        policy("zivver", "userName")?,
        policy("helloid", "userName")?,
    ];
    // Yesterday's target state is built outside the measured section.
    let states: Vec<(Observed, Vec<StoredLink>)> = policies
        .iter()
        .map(|p| {
            let e: Vec<Evaluation> = people.iter().map(|x| evaluate(x, p, today())).collect();
            observed(&e, p.target.as_str())
        })
        .collect();
    let caps = Capabilities::default();
    let fp = |_: &AccountRef, _: &str, v: &serde_json::Value| v.to_string();
    let fingerprints = HashMap::new();
    let held = HashSet::new();
    let secret = BTreeSet::new();
    let started = Instant::now();
    let mut actions = 0;
    for (policy, (observed, links)) in policies.iter().zip(&states) {
        let evaluations: Vec<Evaluation> = people
            .iter()
            .map(|p| evaluate(p, policy, today()))
            .collect();
        let plan = diff(&DiffInput {
            target: &policy.target,
            capabilities: &caps,
            evaluations: &evaluations,
            held: &held,
            observed,
            links,
            fingerprints: &fingerprints,
            fingerprint: &fp,
            correlation: &policy.correlation,
            managed: &policy.managed_groups(),
            secret_fields: &secret,
            departed: &[],
        });
        actions += plan.actions.len();
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "plan  persons={n}  targets=3  seconds={took:.2}  actions={actions}  peak_rss_mib={}",
        peak_rss_kib().map_or_else(|| "?".into(), |k| (k / 1024).to_string())
    );
    Ok(())
}

/// VmHWM from /proc/self/status: the peak resident set of this process.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
