//! Evaluate: rules + lifecycle + field mappings → the desired state of one person in one target.
//!
//! [`evaluate`] handles one person; [`evaluate_all`] runs it for a whole population on every
//! core (computed mappings run JavaScript, which is what makes this stage CPU-bound). Unique
//! values (user names) are settled afterwards across the population, in [`crate::unique`].

use crate::mapping::{FieldMapping, ValueSource};
use crate::model::{Contract, ExternalId, Person, PersonPath, TargetName};
use crate::rules::{shift, ContractSelection, Rule};
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

mod fields;
pub use fields::{FieldNames, FieldValues, FieldsOn};

/// Lifecycle by contract dates, per target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lifecycle {
    /// Create the account (disabled) this many days before the first contract starts.
    pub create_days_before_start: u32,
    /// Delete the account this many days after the last contract ended; `None` keeps it
    /// disabled.
    pub delete_days_after_end: Option<u32>,
}

/// How a person is matched to an unlinked account.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    pub person: PersonPath,
    /// The target's attribute path holding the same value.
    pub account_field: String,
    pub case_insensitive: bool,
}

/// Everything Muster needs to know to decide a person's desired state in one target.
#[derive(Debug, Clone)]
pub struct TargetPolicy {
    pub target: TargetName,
    pub rules: Vec<Rule>,
    pub mappings: Vec<FieldMapping>,
    pub lifecycle: Lifecycle,
    pub correlation: Correlation,
}

/// The groups whose memberships this target's rules manage; memberships elsewhere are never
/// revoked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManagedGroups {
    names: HashSet<String>,
    prefixes: Vec<String>,
}

impl ManagedGroups {
    pub fn contains(&self, group_name: &str) -> bool {
        let lower = group_name.trim().to_lowercase();
        self.names.contains(&lower) || self.prefixes.iter().any(|p| lower.starts_with(p))
    }
}

impl TargetPolicy {
    /// Tells every computed mapping that a run begins (see [`ComputedValue::start_run`](crate::mapping::ComputedValue::start_run)).
    pub fn start_run(&self) {
        for m in &self.mappings {
            if let ValueSource::Computed(c) = &m.value {
                c.start_run();
            }
        }
    }

    /// The groups a plan of this target grants or revokes, for [`crate::connector::ReadScope`]:
    /// `None` when a dynamic template has no literal prefix, so any group may be granted.
    pub fn granted_groups(&self) -> Option<ManagedGroups> {
        let unscoped = self
            .rules
            .iter()
            .filter(|r| r.applies_to(&self.target))
            .flat_map(|r| &r.grants.dynamic)
            .any(|d| d.template.literal_prefix().trim().is_empty());
        (!unscoped).then(|| self.managed_groups())
    }

    /// Static permission names of every rule for this target, plus every dynamic template's
    /// literal prefix (when it has one).
    pub fn managed_groups(&self) -> ManagedGroups {
        let mut m = ManagedGroups::default();
        for rule in self.rules.iter().filter(|r| r.applies_to(&self.target)) {
            m.names.extend(
                rule.grants
                    .permissions
                    .iter()
                    .map(|p| p.trim().to_lowercase()),
            );
            for d in &rule.grants.dynamic {
                let prefix = d.template.literal_prefix().to_lowercase();
                if !prefix.trim().is_empty() {
                    m.prefixes.push(prefix);
                }
            }
        }
        m
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    /// No account is wanted; an existing linked account is deleted.
    Absent,
    /// Not yet: no account is created; an existing one is left alone.
    NotYet,
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub person: ExternalId,
    pub state: AccountState,
    /// Why the state is what it is, in an administrator's words (goes into plan reasons).
    pub why: String,
    /// Field values by the actions they are written on.
    pub fields: FieldValues,
    /// Desired permissions by group name.
    pub permissions: BTreeSet<String>,
    pub correlation_value: Option<String>,
    /// Fields whose value is another person's account in this target (created and updated
    /// with the account): field → that person. The plan resolves them; no person → no entry.
    pub references: BTreeMap<String, ExternalId>,
    /// Mappings that could not be computed for this person; the person is held in this target
    /// with these reasons.
    pub errors: Vec<String>,
}

/// Evaluates one person for one target. Pure: `today` is an argument.
///
/// Allocates the field names for this person alone; to evaluate many persons, use
/// [`evaluate_all`] or [`evaluate_with`], which share them.
pub fn evaluate(person: &Person, policy: &TargetPolicy, today: NaiveDate) -> Evaluation {
    evaluate_with(person, policy, &FieldNames::of(&policy.mappings), today)
}

/// [`evaluate`] with the policy's field names made once for the run, so no person allocates
/// a name.
pub fn evaluate_with(
    person: &Person,
    policy: &TargetPolicy,
    names: &FieldNames,
    today: NaiveDate,
) -> Evaluation {
    let rules: Vec<&Rule> = policy
        .rules
        .iter()
        .filter(|r| r.applies_to(&policy.target) && r.when.matches(person, today))
        .collect();
    let account = rules.iter().any(|r| r.grants.account);
    let access = rules.iter().any(|r| r.grants.access);
    let (state, why) = lifecycle_state(person, account, access, policy.lifecycle, today);

    let mut permissions = BTreeSet::new();
    if matches!(state, AccountState::Enabled | AccountState::Disabled) {
        let in_scope: Vec<&Contract> = person
            .contracts
            .iter()
            .filter(|c| in_scope(c, policy.lifecycle, today))
            .collect();
        for rule in &rules {
            permissions.extend(rule.grants.permissions.iter().cloned());
            for dynamic in &rule.grants.dynamic {
                let contracts: Vec<&Contract> = match dynamic.contracts {
                    ContractSelection::InScope => in_scope.clone(),
                    ContractSelection::Primary => person.primary_contract().into_iter().collect(),
                };
                permissions.extend(
                    contracts
                        .into_iter()
                        .filter_map(|c| dynamic.template.render_on(person, Some(c), Some(today))),
                );
            }
        }
    }

    let mut fields = FieldValues::with_capacity(policy.mappings.len());
    let mut errors = Vec::new();
    let mut references = BTreeMap::new();
    for (i, m) in policy.mappings.iter().enumerate() {
        if let ValueSource::AccountOf(path) = &m.value {
            let other = path.get(person, None).filter(|v| !v.trim().is_empty());
            if let Some(other) = other {
                if m.actions.create || m.actions.update {
                    references.insert(m.field.clone(), ExternalId::new(other.trim()));
                }
            }
            continue;
        }
        let value = match m.compute(person, 0) {
            Ok(v) => v.unwrap_or(serde_json::Value::Null),
            Err(e) => {
                errors.push(format!("field {}: {e}", m.field));
                continue;
            }
        };
        fields.set(&names.name(i, m), value, m.actions);
    }

    Evaluation {
        person: person.external_id.clone(),
        state,
        why,
        fields,
        permissions,
        correlation_value: policy
            .correlation
            .person
            .get(person, None)
            .map(|v| v.into_owned()),
        references,
        errors,
    }
}

/// Persons per unit of work handed to a thread; small enough to balance, large enough that
/// handing out work costs nothing next to evaluating it.
const BLOCK: usize = 256;

/// Evaluates every person, in order, on all cores when there is enough work. Each worker
/// thread takes the next block of persons until none are left, so persons whose computed
/// values are cached (cheap) and persons whose scripts run (dear) spread evenly.
///
/// Blocks the calling thread until done; the threads are scoped, so no person is cloned.
pub fn evaluate_all(
    persons: &[Person],
    policy: &TargetPolicy,
    today: NaiveDate,
) -> Vec<Evaluation> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(persons.len().div_ceil(BLOCK));
    let names = FieldNames::of(&policy.mappings);
    let one = |p: &Person| evaluate_with(p, policy, &names, today);
    if threads <= 1 {
        return persons.iter().map(one).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done: Vec<(usize, Vec<Evaluation>)> = Vec::new();
        loop {
            let block = next.fetch_add(1, Ordering::Relaxed);
            let start = block * BLOCK;
            let Some(chunk) = persons.get(start..(start + BLOCK).min(persons.len())) else {
                break;
            };
            if chunk.is_empty() {
                break;
            }
            done.push((block, chunk.iter().map(one).collect()));
        }
        done
    };
    let mut blocks: Vec<(usize, Vec<Evaluation>)> = std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        // The calling thread works too instead of only waiting.
        let mut all = work();
        for h in helpers {
            match h.join() {
                Ok(done) => all.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    blocks.sort_unstable_by_key(|(block, _)| *block);
    let mut out = Vec::with_capacity(persons.len());
    for (_, evaluations) in blocks {
        out.extend(evaluations);
    }
    out
}

fn in_scope(c: &Contract, lifecycle: Lifecycle, today: NaiveDate) -> bool {
    let window_start = shift(today, i64::from(lifecycle.create_days_before_start));
    c.start_date.is_none_or(|s| s <= window_start) && c.end_date.is_none_or(|e| today <= e)
}

fn lifecycle_state(
    person: &Person,
    account: bool,
    access: bool,
    lifecycle: Lifecycle,
    today: NaiveDate,
) -> (AccountState, String) {
    if !account {
        return (
            AccountState::Absent,
            "no business rule grants an account".into(),
        );
    }
    let enabled_or_not = |why: &str| {
        if access {
            (AccountState::Enabled, why.to_owned())
        } else {
            (
                AccountState::Disabled,
                format!("{why}; no rule grants account access"),
            )
        }
    };
    if person.contracts.is_empty() {
        return enabled_or_not("granted without contracts");
    }
    if person.contracts.iter().any(|c| c.is_active_on(today)) {
        return enabled_or_not("contract active");
    }
    let next_start = person
        .contracts
        .iter()
        .filter_map(|c| c.start_date.filter(|s| *s > today))
        .min();
    if let Some(start) = next_start {
        let create_from = shift(start, -i64::from(lifecycle.create_days_before_start));
        return if today >= create_from {
            (
                AccountState::Disabled,
                format!("contract starts {start}; prepared disabled"),
            )
        } else {
            (
                AccountState::NotYet,
                format!("contract starts {start}; account from {create_from}"),
            )
        };
    }
    let last_end = person.contracts.iter().filter_map(|c| c.end_date).max();
    match (last_end, lifecycle.delete_days_after_end) {
        (Some(end), Some(days)) if today > shift(end, i64::from(days)) => (
            AccountState::Absent,
            format!("contract ended {end}, more than {days} days ago"),
        ),
        (Some(end), _) => (AccountState::Disabled, format!("contract ended {end}")),
        (None, _) => (AccountState::Disabled, "no active contract".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{ActionSet, FieldAction, Template, ValueSource};
    use crate::rules::{Condition, DynamicPermission, Grants};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn policy(lifecycle: Lifecycle) -> TargetPolicy {
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
                        template: Template::parse("Dept {Contract.Department}").unwrap(),
                        contracts: ContractSelection::InScope,
                    }],
                },
            }],
            mappings: vec![FieldMapping {
                field: "userName".into(),
                value: ValueSource::Path(PersonPath::parse("Contact.Business.Email").unwrap()),
                actions: ActionSet::ALWAYS,
                secret: false,
            }],
            lifecycle,
            correlation: Correlation {
                person: PersonPath::parse("Contact.Business.Email").unwrap(),
                account_field: "userName".into(),
                case_insensitive: true,
            },
        }
    }

    fn person(start: &str, end: Option<&str>) -> Person {
        let mut p = Person::new("1");
        p.contact.business.email = Some("a@x.example".into());
        p.contracts.push(Contract {
            start_date: Some(d(start)),
            end_date: end.map(d),
            department: Some("Sales".into()),
            ..Contract::default()
        });
        p.primary = Some(0);
        p
    }

    #[test]
    fn active_contract_enables_with_static_and_dynamic_permissions() {
        let e = evaluate(
            &person("2025-01-01", None),
            &policy(Lifecycle::default()),
            d("2026-01-01"),
        );
        assert_eq!(e.state, AccountState::Enabled);
        assert!(e.permissions.contains("All staff") && e.permissions.contains("Dept Sales"));
        assert_eq!(
            e.fields.get(FieldAction::Update, "userName"),
            Some(&serde_json::Value::from("a@x.example"))
        );
        assert_eq!(e.correlation_value.as_deref(), Some("a@x.example"));
    }

    #[test]
    fn future_start_prepares_disabled_inside_the_window_only() {
        let lc = Lifecycle {
            create_days_before_start: 14,
            delete_days_after_end: None,
        };
        let p = person("2026-02-01", None);
        assert_eq!(
            evaluate(&p, &policy(lc), d("2026-01-01")).state,
            AccountState::NotYet
        );
        let e = evaluate(&p, &policy(lc), d("2026-01-20"));
        assert_eq!(e.state, AccountState::Disabled);
        assert!(
            e.permissions.contains("Dept Sales"),
            "in-scope within the window"
        );
    }

    #[test]
    fn ended_contract_disables_then_deletes() {
        let lc = Lifecycle {
            create_days_before_start: 0,
            delete_days_after_end: Some(30),
        };
        let p = person("2020-01-01", Some("2026-01-10"));
        let e = evaluate(&p, &policy(lc), d("2026-01-20"));
        assert_eq!(e.state, AccountState::Disabled);
        assert!(
            !e.permissions.contains("Dept Sales"),
            "ended contract is out of scope"
        );
        assert_eq!(
            evaluate(&p, &policy(lc), d("2026-02-10")).state,
            AccountState::Absent
        );
    }

    #[test]
    fn evaluate_all_keeps_the_order_across_threads() {
        let persons: Vec<Person> = (0..1000)
            .map(|i| {
                let mut p = person("2025-01-01", None);
                p.external_id = format!("{i:04}").into();
                p
            })
            .collect();
        let all = evaluate_all(&persons, &policy(Lifecycle::default()), d("2026-01-01"));
        assert_eq!(all.len(), 1000);
        for (p, e) in persons.iter().zip(&all) {
            assert_eq!(p.external_id, e.person);
        }
        assert!(evaluate_all(&[], &policy(Lifecycle::default()), d("2026-01-01")).is_empty());
    }

    #[test]
    fn managed_groups_cover_static_names_and_dynamic_prefixes() {
        let m = policy(Lifecycle::default()).managed_groups();
        assert!(m.contains("all STAFF") && m.contains("Dept Finance") && !m.contains("Admins"));
    }
}
