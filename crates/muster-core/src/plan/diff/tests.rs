use super::*;
use crate::connector::{ObservedAccount, ObservedGroup};
use crate::evaluate::{evaluate, Lifecycle, TargetPolicy};
use crate::mapping::{ActionSet, FieldMapping, Template, ValueSource};
use crate::model::{Contract, GroupRef, Person, PersonPath};
use crate::plan::compare::same;
use crate::rules::{Condition, ContractSelection, DynamicPermission, Grants, Rule};
use chrono::NaiveDate;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn today() -> NaiveDate {
    "2026-06-01".parse().unwrap()
}

fn policy() -> TargetPolicy {
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
        mappings: vec![
            mapping("userName", "Contact.Business.Email", ActionSet::ALWAYS),
            mapping("name.familyName", "Name.FamilyName", ActionSet::ALWAYS),
            mapping(
                "externalId",
                "ExternalId",
                ActionSet {
                    create: true,
                    ..ActionSet::default()
                },
            ),
        ],
        lifecycle: Lifecycle {
            create_days_before_start: 0,
            delete_days_after_end: Some(30),
        },
        correlation: Correlation {
            person: PersonPath::parse("Contact.Business.Email").unwrap(),
            account_field: "userName".into(),
            case_insensitive: true,
        },
    }
}

fn mapping(field: &str, path: &str, actions: ActionSet) -> FieldMapping {
    FieldMapping {
        field: field.into(),
        value: ValueSource::Path(PersonPath::parse(path).unwrap()),
        actions,
        secret: false,
    }
}

fn person(id: &str, family: &str, dept: &str, end: Option<&str>) -> Person {
    let mut p = Person::new(id);
    p.name.family_name = Some(family.into());
    p.contact.business.email = Some(format!("{id}@corp.example"));
    p.contracts.push(Contract {
        start_date: Some("2020-01-01".parse().unwrap()),
        end_date: end.map(|e| e.parse().unwrap()),
        department: Some(dept.into()),
        ..Contract::default()
    });
    p.primary = Some(0);
    p
}

fn group(id: &str, name: &str, members: &[&str]) -> ObservedGroup {
    ObservedGroup {
        reference: GroupRef::new(id),
        name: name.into(),
        members: members.iter().map(|m| AccountRef::new(*m)).collect(),
        duplicates: Default::default(),
    }
}

fn account(id: &str, user: &str, family: &str, enabled: bool) -> ObservedAccount {
    let mut attributes = BTreeMap::new();
    attributes.insert("userName".to_owned(), Value::from(user));
    attributes.insert("name.familyName".to_owned(), Value::from(family));
    ObservedAccount {
        reference: AccountRef::new(id),
        enabled,
        attributes,
    }
}

struct World {
    persons: Vec<Person>,
    observed: Observed,
    links: Vec<StoredLink>,
    held: HashSet<ExternalId>,
}

impl World {
    fn new(persons: Vec<Person>) -> Self {
        Self {
            persons,
            observed: Observed {
                accounts: vec![],
                groups: vec![
                    group("g-all", "All staff", &[]),
                    group("g-sales", "Dept Sales", &[]),
                    group("g-ict", "Dept ICT", &[]),
                    group("g-hr", "Dept HR", &[]),
                    group("g-other", "Admins", &[]),
                ],
                deleted: Vec::new(),
            },
            links: vec![],
            held: HashSet::new(),
        }
    }

    fn plan(&self) -> TargetPlan {
        let policy = policy();
        let evaluations: Vec<Evaluation> = self
            .persons
            .iter()
            .map(|p| evaluate(p, &policy, today()))
            .collect();
        let fingerprints = HashMap::new();
        let fp = |_: &AccountRef, _: &str, v: &Value| v.to_string();
        diff(&DiffInput {
            target: &policy.target,
            capabilities: &Capabilities::default(),
            evaluations: &evaluations,
            held: &self.held,
            observed: &self.observed,
            links: &self.links,
            fingerprints: &fingerprints,
            fingerprint: &fp,
            correlation: &policy.correlation,
            managed: &policy.managed_groups(),
            secret_fields: &BTreeSet::new(),
            departed: &[],
            pending: &Default::default(),
            domains: None,
            leave_alone: None,
            type_fields: &Default::default(),
        })
    }

    /// A faithful in-memory model of executing the plan, as the executor + a target would.
    fn apply(&mut self, plan: &TargetPlan) {
        let mut created: HashMap<ActionId, AccountRef> = HashMap::new();
        let mut by_person: HashMap<ExternalId, AccountRef> = HashMap::new();
        for a in &plan.actions {
            let account = a
                .account
                .clone()
                .or_else(|| a.depends_on.iter().find_map(|d| created.get(d).cloned()))
                .or_else(|| by_person.get(&a.person).cloned());
            let find = |obs: &mut Observed, r: &AccountRef| {
                obs.accounts.iter().position(|x| &x.reference == r)
            };
            match a.kind {
                ActionKind::Create => {
                    let r = AccountRef::new(format!("acc-{}", self.observed.accounts.len()));
                    let attributes = a
                        .changes
                        .iter()
                        .map(|c| (c.field.clone(), c.after.clone().unwrap_or(Value::Null)))
                        .collect();
                    self.observed.accounts.push(ObservedAccount {
                        reference: r.clone(),
                        enabled: a.enabled.unwrap_or(true),
                        attributes,
                    });
                    self.links.retain(|l| l.person != a.person);
                    self.links.push(StoredLink {
                        person: a.person.clone(),
                        account: r.clone(),
                        state: LinkState::Active,
                    });
                    created.insert(a.id, r.clone());
                    by_person.insert(a.person.clone(), r);
                }
                ActionKind::Correlate => {
                    let r = account.unwrap();
                    self.links.retain(|l| l.person != a.person);
                    self.links.push(StoredLink {
                        person: a.person.clone(),
                        account: r,
                        state: LinkState::Active,
                    });
                }
                ActionKind::Update
                | ActionKind::Enable
                | ActionKind::Disable
                | ActionKind::Delete => {
                    let i = find(&mut self.observed, &account.unwrap()).unwrap();
                    for c in &a.changes {
                        self.observed.accounts[i]
                            .attributes
                            .insert(c.field.clone(), c.after.clone().unwrap_or(Value::Null));
                    }
                    match a.kind {
                        ActionKind::Enable => self.observed.accounts[i].enabled = true,
                        ActionKind::Disable | ActionKind::Delete => {
                            self.observed.accounts[i].enabled = false
                        }
                        _ => {}
                    }
                    if a.kind == ActionKind::Delete {
                        for l in self.links.iter_mut().filter(|l| l.person == a.person) {
                            l.state = LinkState::Deleted;
                        }
                    }
                    if a.kind == ActionKind::Enable {
                        for l in self.links.iter_mut().filter(|l| l.person == a.person) {
                            l.state = LinkState::Active;
                        }
                    }
                }
                ActionKind::Grant | ActionKind::Revoke => {
                    let r = account.unwrap();
                    let g = a.permission.as_ref().unwrap().group.clone().unwrap();
                    let group = self
                        .observed
                        .groups
                        .iter_mut()
                        .find(|x| x.reference == g)
                        .unwrap();
                    if a.kind == ActionKind::Grant {
                        group.members.insert(r);
                    } else {
                        // A remove by value filter takes every entry of the member.
                        group.duplicates.remove(&r);
                        group.members.remove(&r);
                    }
                }
            }
        }
    }
}

fn kinds(plan: &TargetPlan) -> Vec<(ActionKind, String)> {
    plan.actions
        .iter()
        .map(|a| (a.kind, a.person.to_string()))
        .collect()
}

#[test]
fn initial_load_creates_then_grants_and_converges() {
    let mut w = World::new(vec![
        person("p1", "Jansen", "Sales", None),
        person("p2", "Bakker", "ICT", None),
    ]);
    let plan = w.plan();
    assert_eq!(plan.count(ActionKind::Create), 2);
    assert_eq!(plan.count(ActionKind::Grant), 4);
    let grant = plan
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::Grant)
        .unwrap();
    assert_eq!(
        grant.depends_on,
        vec![ActionId(0)],
        "grants wait for their create"
    );
    w.apply(&plan);
    assert!(w.plan().is_empty(), "{:#?}", w.plan().actions);
}

#[test]
fn existing_account_is_correlated_case_insensitively_and_updated() {
    let mut w = World::new(vec![person("p1", "Jansen", "Sales", None)]);
    w.observed
        .accounts
        .push(account("a1", "P1@CORP.EXAMPLE", "Jansen-Old", true));
    let plan = w.plan();
    assert_eq!(
        kinds(&plan)[..2],
        [
            (ActionKind::Correlate, "p1".into()),
            (ActionKind::Update, "p1".into())
        ]
    );
    let update = &plan.actions[1];
    assert_eq!(
        update.changes.len(),
        1,
        "userName differs only in case: {:?}",
        update.changes
    );
    assert_eq!(update.changes[0].before, Some(Value::from("Jansen-Old")));
    assert_eq!(plan.count(ActionKind::Create), 0);
    w.apply(&plan);
    assert!(w.plan().is_empty());
}

#[test]
fn two_matching_accounts_are_disputed_and_nothing_is_created() {
    let mut w = World::new(vec![person("p1", "Jansen", "Sales", None)]);
    w.observed
        .accounts
        .push(account("a1", "p1@corp.example", "Jansen", true));
    w.observed
        .accounts
        .push(account("a2", "P1@corp.example", "Jansen", true));
    let plan = w.plan();
    assert!(plan.actions.is_empty(), "{:?}", kinds(&plan));
    assert_eq!(plan.disputed.len(), 1);
    assert_eq!(plan.disputed[0].accounts.len(), 2);
}

#[test]
fn blocked_person_keeps_their_account() {
    let mut w = World::new(vec![person("p1", "Jansen", "Sales", None)]);
    let first = w.plan();
    w.apply(&first);
    w.persons.clear();
    w.held.insert("p1".into());
    assert!(
        w.plan().is_empty(),
        "a blocked record is never read as a leaver"
    );
    w.held.clear();
    let plan = w.plan();
    assert_eq!(
        plan.count(ActionKind::Delete),
        1,
        "without the block, the person left"
    );
    let delete = plan
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::Delete)
        .unwrap();
    assert_eq!(delete.depends_on.len(), 2, "revokes come before the delete");
}

#[test]
fn department_move_swaps_dynamic_group_and_leaves_unmanaged_groups_alone() {
    let mut w = World::new(vec![person("p1", "Jansen", "Sales", None)]);
    let first = w.plan();
    w.apply(&first);
    let acc = w.links[0].account.clone();
    w.observed
        .groups
        .iter_mut()
        .find(|g| g.name == "Admins")
        .unwrap()
        .members
        .insert(acc);
    w.persons[0].contracts[0].department = Some("ICT".into());
    let plan = w.plan();
    let perms: Vec<(ActionKind, String)> = plan
        .actions
        .iter()
        .map(|a| (a.kind, a.permission.as_ref().unwrap().name.clone()))
        .collect();
    assert_eq!(
        perms,
        vec![
            (ActionKind::Grant, "Dept ICT".into()),
            (ActionKind::Revoke, "Dept Sales".into())
        ]
    );
    w.apply(&plan);
    assert!(w.plan().is_empty());
}

#[test]
fn a_member_listed_more_than_once_is_reported_and_listed_once_again() {
    let mut w = World::new(vec![person("p1", "Jansen", "Sales", None)]);
    let first = w.plan();
    w.apply(&first);
    let acc = w.links[0].account.clone();
    // Listed three times in a group a rule grants, twice in one the rules do not manage.
    for (name, times) in [("Dept Sales", 3), ("Admins", 2)] {
        let g = w
            .observed
            .groups
            .iter_mut()
            .find(|g| g.name == name)
            .unwrap();
        g.members.insert(acc.clone());
        g.duplicates.insert(acc.clone(), times);
    }
    let plan = w.plan();
    for expected in [
        format!("group `Dept Sales` lists account {acc} 3 times"),
        format!("group `Admins` lists account {acc} 2 times"),
    ] {
        assert!(
            plan.warnings.iter().any(|w| w.contains(&expected)),
            "{expected}: {:?}",
            plan.warnings
        );
    }
    let perms: Vec<(ActionKind, String)> = plan
        .actions
        .iter()
        .map(|a| (a.kind, a.permission.as_ref().unwrap().name.clone()))
        .collect();
    assert_eq!(
        perms,
        vec![
            (ActionKind::Revoke, "Dept Sales".into()),
            (ActionKind::Grant, "Dept Sales".into())
        ],
        "the unmanaged group is left alone"
    );
    assert!(plan.actions[0].reason.contains("listed 3 times"));
    assert!(plan.actions[1].depends_on.contains(&plan.actions[0].id));
    w.apply(&plan);
    let sales = w
        .observed
        .groups
        .iter()
        .find(|g| g.name == "Dept Sales")
        .unwrap();
    assert!(sales.members.contains(&acc) && sales.duplicates.is_empty());
    assert!(w.plan().actions.is_empty());
}

#[test]
fn leaver_is_disabled_then_deleted_after_retention() {
    let mut w = World::new(vec![person("p1", "Jansen", "Sales", Some("2026-05-20"))]);
    w.persons[0].contracts[0].end_date = None;
    let first = w.plan();
    w.apply(&first);
    w.persons[0].contracts[0].end_date = Some("2026-05-20".parse().unwrap());
    let plan = w.plan();
    assert_eq!(plan.count(ActionKind::Disable), 1);
    assert_eq!(
        plan.count(ActionKind::Revoke),
        1,
        "the department contract ended"
    );
    w.apply(&plan);
    assert!(w.plan().is_empty());
    w.persons[0].contracts[0].end_date = Some("2026-04-01".parse().unwrap());
    let plan = w.plan();
    assert_eq!(
        kinds(&plan)
            .iter()
            .filter(|(k, _)| *k == ActionKind::Delete)
            .count(),
        1
    );
    w.apply(&plan);
    assert!(w.plan().is_empty(), "a deleted link is not deleted again");
}

#[test]
fn missing_correlation_value_holds_the_person() {
    let mut p = person("p1", "Jansen", "Sales", None);
    p.contact.business.email = None;
    let w = World::new(vec![p]);
    let plan = w.plan();
    assert!(plan.actions.is_empty());
    assert!(plan.held[0].reason.contains("Contact.Business.Email"));
}

#[test]
fn account_linked_to_someone_else_is_not_taken_over() {
    let mut w = World::new(vec![person("p1", "Jansen", "Sales", None)]);
    w.observed
        .accounts
        .push(account("a1", "p1@corp.example", "Jansen", true));
    w.links.push(StoredLink {
        person: "other".into(),
        account: "a1".into(),
        state: LinkState::Active,
    });
    w.held.insert("other".into());
    let plan = w.plan();
    assert!(plan.actions.is_empty(), "{:?}", kinds(&plan));
    assert!(plan.held[0].reason.contains("linked to person other"));
}

#[test]
fn write_only_fields_compare_by_fingerprint() {
    let mut policy = policy();
    policy
        .mappings
        .push(mapping("ssoKey", "ExternalId", ActionSet::ALWAYS));
    let caps = Capabilities {
        write_only_fields: ["ssoKey".to_owned()].into(),
        ..Capabilities::default()
    };
    let p = person("p1", "Jansen", "Sales", None);
    let e = vec![evaluate(&p, &policy, today())];
    let observed = Observed {
        accounts: vec![account("a1", "p1@corp.example", "Jansen", true)],
        groups: vec![],
        deleted: Vec::new(),
    };
    let links = vec![StoredLink {
        person: "p1".into(),
        account: "a1".into(),
        state: LinkState::Active,
    }];
    let fp = |a: &AccountRef, f: &str, v: &Value| format!("{a}/{f}/{v}");
    let run = |fps: &HashMap<(AccountRef, String), String>| {
        diff(&DiffInput {
            target: &policy.target,
            capabilities: &caps,
            evaluations: &e,
            held: &HashSet::new(),
            observed: &observed,
            links: &links,
            fingerprints: fps,
            fingerprint: &fp,
            correlation: &policy.correlation,
            managed: &policy.managed_groups(),
            secret_fields: &BTreeSet::new(),
            departed: &[],
            pending: &Default::default(),
            domains: None,
            leave_alone: None,
            type_fields: &Default::default(),
        })
    };
    let unknown = run(&HashMap::new());
    assert_eq!(unknown.count(ActionKind::Update), 1);
    let mut fps = HashMap::new();
    fps.insert(
        (AccountRef::new("a1"), "ssoKey".to_owned()),
        "a1/ssoKey/\"p1\"".to_owned(),
    );
    assert_eq!(run(&fps).count(ActionKind::Update), 0);
    fps.insert(
        (AccountRef::new("a1"), "ssoKey".to_owned()),
        "old".to_owned(),
    );
    assert_eq!(run(&fps).count(ActionKind::Update), 1);
}

fn arb_person() -> impl Strategy<Value = (u8, u8, u8, Option<u8>)> {
    // (id, family-name variant, department, end-date offset in days before today)
    (0u8..40, 0u8..3, 0u8..3, proptest::option::of(0u8..60))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// After applying a plan, a new plan against the same source is empty, from any start
    /// state (existing accounts, stale memberships, earlier runs).
    #[test]
    fn applying_a_plan_converges(
        first in proptest::collection::vec(arb_person(), 0..25),
        second in proptest::collection::vec(arb_person(), 0..25),
        preexisting in proptest::collection::vec((0u8..40, any::<bool>()), 0..10),
    ) {
        let depts = ["Sales", "ICT", "HR"];
        let build = |spec: &[(u8, u8, u8, Option<u8>)]| {
            let mut seen = HashSet::new();
            spec.iter()
                .filter(|(id, ..)| seen.insert(*id))
                .map(|(id, fam, dept, end)| {
                    let end = end.map(|d| (today() - chrono::Days::new(u64::from(d))).to_string());
                    person(&format!("p{id}"), &format!("F{fam}"), depts[*dept as usize], end.as_deref())
                })
                .collect::<Vec<_>>()
        };
        let mut w = World::new(build(&first));
        let mut seen = HashSet::new();
        for (id, enabled) in preexisting.iter().filter(|(id, _)| seen.insert(*id)) {
            w.observed.accounts.push(account(&format!("x{id}"), &format!("p{id}@corp.example"), "Legacy", *enabled));
        }
        let plan = w.plan();
        w.apply(&plan);
        prop_assert!(w.plan().is_empty(), "first run did not converge: {:?}", kinds(&w.plan()));
        w.persons = build(&second);
        let plan = w.plan();
        w.apply(&plan);
        prop_assert!(w.plan().is_empty(), "second run did not converge: {:?}", kinds(&w.plan()));
    }
}

#[test]
fn write_only_values_are_resent_with_every_write_to_the_account() {
    let mut policy = policy();
    policy
        .mappings
        .push(mapping("ssoKey", "ExternalId", ActionSet::ALWAYS));
    let caps = Capabilities {
        write_only_fields: ["ssoKey".to_owned()].into(),
        ..Capabilities::default()
    };
    let p = person("p1", "Jansen", "Sales", None);
    let e = vec![evaluate(&p, &policy, today())];
    // The account is disabled and its family name differs: an Update and an Enable follow.
    let observed = Observed {
        accounts: vec![account("a1", "p1@corp.example", "Old", false)],
        groups: vec![],
        deleted: Vec::new(),
    };
    let links = vec![StoredLink {
        person: "p1".into(),
        account: "a1".into(),
        state: LinkState::Active,
    }];
    let fp = |a: &AccountRef, f: &str, v: &Value| format!("{a}/{f}/{v}");
    let mut fps = HashMap::new();
    fps.insert(
        (AccountRef::new("a1"), "ssoKey".to_owned()),
        "a1/ssoKey/\"p1\"".to_owned(),
    );
    let plan = diff(&DiffInput {
        target: &policy.target,
        capabilities: &caps,
        evaluations: &e,
        held: &HashSet::new(),
        observed: &observed,
        links: &links,
        fingerprints: &fps,
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
    let writes: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::Update | ActionKind::Enable))
        .collect();
    assert_eq!(writes.len(), 2);
    for w in writes {
        assert!(
            !w.changes.iter().any(|c| c.field == "ssoKey"),
            "unchanged, so not a change"
        );
        assert_eq!(w.resend.len(), 1, "{:?}", w.kind);
        assert_eq!(w.resend[0].after, Some(Value::from("p1")));
    }
    let no_write_only = diff(&DiffInput {
        target: &policy.target,
        capabilities: &Capabilities::default(),
        evaluations: &e,
        held: &HashSet::new(),
        observed: &observed,
        links: &links,
        fingerprints: &fps,
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
    assert!(no_write_only.actions.iter().all(|a| a.resend.is_empty()));
}

#[test]
fn lists_compare_as_sets_and_empty_equals_absent() {
    assert!(same(
        Some(&serde_json::json!(["b", "a"])),
        Some(&serde_json::json!(["a", "b"])),
        false
    ));
    assert!(!same(
        Some(&serde_json::json!(["a"])),
        Some(&serde_json::json!(["a", "b"])),
        false
    ));
    assert!(same(Some(&serde_json::json!([])), None, false));
    assert!(same(Some(&Value::Null), Some(&Value::from("")), false));
    assert!(same(
        Some(&Value::Bool(true)),
        Some(&Value::from("true")),
        false
    ));
}

#[derive(Debug)]
struct Failing;

impl crate::mapping::ComputedValue for Failing {
    fn compute(&self, _: &Person, _: u32) -> Result<Option<Value>, crate::mapping::ComputeError> {
        Err(crate::mapping::ComputeError {
            message: "TypeError: x is undefined (line 3)".into(),
        })
    }
}

#[test]
fn a_mapping_that_cannot_be_computed_holds_only_that_person() {
    let plain = policy();
    let mut policy = policy();
    policy.mappings.push(FieldMapping {
        field: "nickName".into(),
        value: ValueSource::Computed(std::sync::Arc::new(Failing)),
        actions: ActionSet::ALWAYS,
        secret: false,
    });
    let p = person("p1", "Jansen", "Sales", None);
    let e = evaluate(&p, &policy, today());
    assert_eq!(
        e.errors,
        vec!["field nickName: TypeError: x is undefined (line 3)".to_owned()]
    );
    let plan = diff(&DiffInput {
        target: &policy.target,
        capabilities: &Capabilities::default(),
        evaluations: &[
            e,
            evaluate(&person("p2", "Bakker", "ICT", None), &plain, today()),
        ],
        held: &HashSet::new(),
        observed: &Observed::default(),
        links: &[],
        fingerprints: &HashMap::new(),
        fingerprint: &|_: &AccountRef, _: &str, v: &Value| v.to_string(),
        correlation: &policy.correlation,
        managed: &policy.managed_groups(),
        secret_fields: &BTreeSet::new(),
        departed: &[],
        pending: &Default::default(),
        domains: None,
        leave_alone: None,
        type_fields: &Default::default(),
    });
    assert_eq!(plan.held.len(), 1);
    assert!(plan.held[0].reason.contains("nickName") && plan.held[0].reason.contains("line 3"));
    assert!(
        plan.actions.iter().all(|a| a.person.as_str() == "p2"),
        "the others proceed"
    );
    assert_eq!(plan.count(ActionKind::Create), 1);
}
