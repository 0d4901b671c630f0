//! Plan time of the pure stages: evaluate + correlate/diff for N generated persons against a
//! target that already holds their accounts (the daily case: ~2 % changed), and the initial
//! load (no accounts yet). Run: `cargo bench -p muster-core --bench plan`.

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use muster_core::connector::{Capabilities, Observed, ObservedAccount, ObservedGroup};
use muster_core::evaluate::{evaluate, Correlation, Lifecycle, TargetPolicy};
use muster_core::mapping::{ActionSet, FieldMapping, Template, ValueSource};
use muster_core::model::{AccountRef, Contract, GroupRef, Person, PersonPath};
use muster_core::plan::{diff, DiffInput, LinkState, StoredLink};
use muster_core::rules::{Condition, ContractSelection, DynamicPermission, Grants, Rule};
use std::collections::{BTreeSet, HashMap, HashSet};

const DEPTS: [&str; 8] = [
    "Finance",
    "HR",
    "ICT",
    "Sales",
    "Marketing",
    "Support",
    "Legal",
    "Facilities",
];

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default()
}

fn policy() -> TargetPolicy {
    let path = |p: &str| PersonPath::parse(p).unwrap_or(PersonPath::ExternalId);
    let template = |t: &str| Template::parse(t).unwrap_or_else(|e| panic!("{e}"));
    let m = |field: &str, value: ValueSource| FieldMapping {
        field: field.into(),
        value,
        actions: ActionSet::ALWAYS,
        secret: false,
    };
    TargetPolicy {
        target: "scim".into(),
        rules: vec![Rule {
            name: "staff".into(),
            targets: None,
            when: Condition::Always,
            grants: Grants {
                account: true,
                access: true,
                permissions: vec!["All staff".into()],
                dynamic: vec![DynamicPermission {
                    template: template("Dept {Contract.Department}"),
                    contracts: ContractSelection::InScope,
                }],
            },
        }],
        mappings: vec![
            m(
                "userName",
                ValueSource::Path(path("Contact.Business.Email")),
            ),
            m("name.givenName", ValueSource::Path(path("Name.GivenName"))),
            m(
                "name.familyName",
                ValueSource::Path(path("Name.FamilyName")),
            ),
            m(
                "displayName",
                ValueSource::Template(template(
                    "{Name.GivenName} {Name.FamilyNamePrefix?} {Name.FamilyName}",
                )),
            ),
            m("title", ValueSource::Path(path("PrimaryContract.Title"))),
            m(
                "department",
                ValueSource::Path(path("PrimaryContract.Department")),
            ),
        ],
        lifecycle: Lifecycle {
            create_days_before_start: 14,
            delete_days_after_end: Some(90),
        },
        correlation: Correlation {
            person: path("Contact.Business.Email"),
            account_field: "userName".into(),
            case_insensitive: true,
        },
    }
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
                department: Some(DEPTS[i % DEPTS.len()].into()),
                title: Some("Medewerker".into()),
                ..Contract::default()
            });
            p.primary = Some(0);
            p
        })
        .collect()
}

/// The target after yesterday's apply, with 2 % of persons changed since (department moves).
fn observed_and_links(persons: &[Person], policy: &TargetPolicy) -> (Observed, Vec<StoredLink>) {
    let mut accounts = Vec::with_capacity(persons.len());
    let mut links = Vec::with_capacity(persons.len());
    let mut members: HashMap<String, BTreeSet<AccountRef>> = HashMap::new();
    for (i, p) in persons.iter().enumerate() {
        let e = evaluate(p, policy, today());
        let reference = AccountRef::new(format!("acc-{i}"));
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
                .entry(g.clone())
                .or_default()
                .insert(reference.clone());
        }
        links.push(StoredLink {
            person: p.external_id.clone(),
            account: reference,
            state: LinkState::Active,
        });
    }
    let groups = members
        .into_iter()
        .enumerate()
        .map(|(i, (name, members))| ObservedGroup {
            reference: GroupRef::new(format!("g{i}")),
            name,
            members,
        })
        .collect();
    (Observed { accounts, groups }, links)
}

fn plan(c: &mut Criterion) {
    let policy = policy();
    let caps = Capabilities::default();
    let managed = policy.managed_groups();
    let fp = |_: &AccountRef, _: &str, v: &serde_json::Value| v.to_string();
    let fingerprints = HashMap::new();
    let held = HashSet::new();
    let secret = BTreeSet::new();
    let mut group = c.benchmark_group("evaluate+diff");
    group.sample_size(10);
    for n in [10_000usize, 100_000] {
        let people = persons(n);
        let (observed, links) = observed_and_links(&people, &policy);
        let empty = Observed {
            accounts: vec![],
            groups: observed.groups.clone(),
        };
        group.throughput(Throughput::Elements(n as u64));
        for (label, observed, links) in [
            ("daily", &observed, &links[..]),
            ("initial", &empty, &[][..]),
        ] {
            group.bench_with_input(BenchmarkId::new(label, n), &n, |b, _| {
                b.iter(|| {
                    let evaluations: Vec<_> = people
                        .iter()
                        .map(|p| evaluate(p, &policy, today()))
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
                        managed: &managed,
                        secret_fields: &secret,
                        departed: &[],
                    });
                    assert!(!plan.actions.is_empty());
                    plan
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, plan);
criterion_main!(benches);
