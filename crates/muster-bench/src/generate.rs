//! Generated inputs for the pure stages: persons with one contract each, a target policy
//! (6 mapped fields, one template, a static and a dynamic permission), and "yesterday's" state
//! of a target in which every 100th account differs (1 % changed). Shared by the criterion
//! benchmark and `muster-bench plan-memory`.

use chrono::NaiveDate;
use muster_core::connector::{Observed, ObservedAccount, ObservedGroup};
use muster_core::evaluate::{Correlation, Evaluation, Lifecycle, TargetPolicy};
use muster_core::mapping::{ActionSet, FieldAction, FieldMapping, Template, ValueSource};
use muster_core::model::{AccountRef, Contract, GroupRef, Person, PersonPath};
use muster_core::plan::{LinkState, StoredLink};
use muster_core::rules::{Condition, ContractSelection, DynamicPermission, Grants, Rule};
use std::collections::{BTreeSet, HashMap};

pub const DEPARTMENTS: [&str; 8] = [
    "Finance",
    "HR",
    "ICT",
    "Sales",
    "Marketing",
    "Support",
    "Legal",
    "Facilities",
];

/// The same three targets with the example HelloID field-mapping files of `examples/mappings/`
/// instead (JavaScript `Complex` mappings for names, e-mail, SSO key, aliases, dates).
pub fn policies_js(examples: &std::path::Path) -> anyhow::Result<Vec<TargetPolicy>> {
    let mut out = Vec::new();
    for (target, account_field) in [
        ("zivver", "userName"),
        ("helloid", "userName"),
        ("zermelo", "code"),
    ] {
        let mut p = policy(target, account_field)?;
        p.mappings = muster_mapping::load_helloid_mapping(
            &examples.join(format!("{target}.fieldMapping.json")),
        )?;
        if target == "zermelo" {
            p.correlation.person = PersonPath::ExternalId;
        }
        out.push(p);
    }
    Ok(out)
}

/// The three targets every size is planned for.
pub fn policies() -> anyhow::Result<Vec<TargetPolicy>> {
    Ok(vec![
        policy("scim", "userName")?,
        policy("zivver", "userName")?,
        policy("helloid", "userName")?,
    ])
}

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default()
}

pub fn policy(target: &str, user_field: &str) -> anyhow::Result<TargetPolicy> {
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

pub fn persons(n: usize) -> Vec<Person> {
    (0..n)
        .map(|i| {
            let mut p = Person::new(format!("{}", 100_000 + i));
            p.name.given_name = Some(format!("Given{}", i % 97));
            p.name.family_name = Some(format!("Family{i}"));
            p.contact.business.email = Some(format!("user{i}@example.org"));
            p.name.convention = Some("B".into());
            p.accounts.entry("Entra".into()).or_default().insert(
                "UserPrincipalName".into(),
                format!("{}@corp.example.org", 100_000 + i).into(),
            );
            // One contract, held as the sources hold it (`reserve_exact`): a first `push`
            // would make room for four contracts of ~800 bytes each.
            p.contracts = vec![Contract {
                start_date: NaiveDate::from_ymd_opt(2020, 1, 1),
                department: Some(DEPARTMENTS[i % DEPARTMENTS.len()].into()),
                title: Some("Medewerker".into()),
                ..Contract::default()
            }];
            p.primary = Some(0);
            p
        })
        .collect()
}

/// Yesterday's state of the target, with every 50th account differing (2 % changed).
pub fn observed(evaluations: &[Evaluation], policy: &TargetPolicy) -> (Observed, Vec<StoredLink>) {
    let target = policy.target.as_str();
    // The field that differs on changed accounts: the first mapped one that is not the
    // correlation attribute.
    let changed_field = evaluations
        .iter()
        .flat_map(|e| e.fields.on(FieldAction::Update).iter().map(|(k, _)| k))
        .find(|k| *k != policy.correlation.account_field)
        .map(str::to_owned)
        .unwrap_or_else(|| "department".into());
    let mut accounts = Vec::with_capacity(evaluations.len());
    let mut links = Vec::with_capacity(evaluations.len());
    let mut members: HashMap<&str, BTreeSet<AccountRef>> = HashMap::new();
    for (i, e) in evaluations.iter().enumerate() {
        let reference = AccountRef::new(format!("{target}-{i}"));
        let mut attributes = e.fields.on(FieldAction::Update).to_attributes();
        if i % 100 == 0 {
            attributes.insert(changed_field.clone(), "Moved".into());
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
            duplicates: Default::default(),
        })
        .collect();
    (
        Observed {
            accounts,
            groups,
            deleted: Vec::new(),
        },
        links,
    )
}
