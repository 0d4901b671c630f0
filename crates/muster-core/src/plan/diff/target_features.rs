//! The plan features some targets need: references to another person's account (HelloID's
//! manager), fields that are not written on update, targets without an enabled flag, soft-deleted
//! accounts, ambiguous and missing groups, and requests awaiting approval.

use super::*;
use crate::connector::{Attributes, Rehire};
use crate::connector::{ObservedAccount, ObservedGroup};
use crate::evaluate::{evaluate, Lifecycle, TargetPolicy};
use crate::mapping::{ActionSet, FieldMapping, ValueSource};
use crate::model::{Contract, Person, PersonPath};
use crate::rules::{Condition, Grants, Rule};
use chrono::NaiveDate;

fn today() -> NaiveDate {
    "2026-06-01".parse().unwrap()
}

fn policy(permissions: &[&str], access: bool, contact: bool) -> TargetPolicy {
    let path = |p: &str| PersonPath::parse(p).unwrap();
    let mut policy = TargetPolicy {
        target: "helloid".into(),
        rules: vec![Rule {
            name: "staff".into(),
            targets: None,
            when: Condition::Always,
            grants: Grants {
                account: true,
                access,
                permissions: permissions.iter().map(|p| p.to_string()).collect(),
                dynamic: vec![],
            },
        }],
        mappings: vec![
            FieldMapping {
                field: "userName".into(),
                value: ValueSource::Path(path("Contact.Business.Email")),
                actions: ActionSet::ALWAYS,
                secret: false,
            },
            FieldMapping {
                field: "managedByUserGUID".into(),
                value: ValueSource::AccountOf(path("PrimaryContract.Manager")),
                actions: ActionSet::ALWAYS,
                secret: false,
            },
        ],
        lifecycle: Lifecycle::default(),
        correlation: Correlation {
            person: path("Contact.Business.Email"),
            account_field: "userName".into(),
            case_insensitive: true,
        },
    };
    if contact {
        policy.mappings.push(FieldMapping {
            field: "contactEmail".into(),
            value: ValueSource::Path(path("Contact.Business.Email")),
            actions: ActionSet::ALWAYS,
            secret: false,
        });
    }
    policy
}

fn person(id: &str, email: &str, manager: Option<&str>) -> Person {
    let mut p = Person::new(id);
    p.contact.business.email = Some(email.into());
    p.contracts.push(Contract {
        start_date: Some("2020-01-01".parse().unwrap()),
        manager: manager.map(Into::into),
        ..Contract::default()
    });
    p.primary = Some(0);
    p
}

fn account(id: &str, user: &str, manager: Option<&str>) -> ObservedAccount {
    let mut attributes = Attributes::new();
    attributes.insert("userName".into(), Value::from(user));
    if let Some(m) = manager {
        attributes.insert("managedByUserGUID".into(), Value::from(m));
    }
    ObservedAccount {
        reference: AccountRef::new(id),
        enabled: true,
        attributes,
    }
}

fn link(person: &str, account: &str) -> StoredLink {
    StoredLink {
        person: ExternalId::new(person),
        account: AccountRef::new(account),
        state: LinkState::Active,
    }
}

struct Case {
    persons: Vec<Person>,
    observed: Observed,
    links: Vec<StoredLink>,
    capabilities: Capabilities,
    permissions: Vec<&'static str>,
    pending: HashMap<(AccountRef, GroupRef), Pending>,
    access: bool,
    /// Map `contactEmail` too.
    contact: bool,
    domains: Option<DomainFilter>,
    leave_alone: Option<crate::leave_alone::LeaveAlone>,
    type_fields: BTreeSet<String>,
    /// Mappings added to the policy's.
    mappings: Vec<FieldMapping>,
    fingerprints: HashMap<(AccountRef, String), String>,
}

impl Case {
    fn new(persons: Vec<Person>) -> Self {
        Self {
            persons,
            observed: Observed::default(),
            links: vec![],
            capabilities: Capabilities::default(),
            permissions: vec![],
            pending: HashMap::new(),
            access: true,
            contact: false,
            domains: None,
            leave_alone: None,
            type_fields: BTreeSet::new(),
            mappings: vec![],
            fingerprints: HashMap::new(),
        }
    }

    fn plan(&self) -> TargetPlan {
        let mut policy = policy(&self.permissions, self.access, self.contact);
        policy.mappings.extend(self.mappings.iter().cloned());
        let evaluations: Vec<Evaluation> = self
            .persons
            .iter()
            .map(|p| evaluate(p, &policy, today()))
            .collect();
        let fp = |_: &AccountRef, _: &str, v: &Value| v.to_string();
        diff(&DiffInput {
            target: &policy.target,
            capabilities: &self.capabilities,
            evaluations: &evaluations,
            held: &HashSet::new(),
            observed: &self.observed,
            links: &self.links,
            fingerprints: &self.fingerprints,
            fingerprint: &fp,
            correlation: &policy.correlation,
            managed: &policy.managed_groups(),
            secret_fields: &BTreeSet::new(),
            departed: &[],
            pending: &self.pending,
            domains: self.domains.as_ref(),
            leave_alone: self.leave_alone.as_ref(),
            type_fields: &self.type_fields,
        })
    }
}

fn kinds(plan: &TargetPlan) -> Vec<(ActionKind, &str)> {
    plan.actions
        .iter()
        .map(|a| (a.kind, a.person.as_str()))
        .collect()
}

#[test]
fn a_manager_created_in_the_same_run_is_created_first_and_named_in_the_create() {
    // 2 reports to 1, 3 reports to 2: a chain created in one run.
    let case = Case::new(vec![
        person("1", "boss@x.nl", None),
        person("2", "mid@x.nl", Some("1")),
        person("3", "new@x.nl", Some("2")),
    ]);
    let plan = case.plan();
    assert_eq!(
        kinds(&plan),
        [
            (ActionKind::Create, "1"),
            (ActionKind::Create, "2"),
            (ActionKind::Create, "3"),
        ],
        "one request per account, no second pass"
    );
    let mid = &plan.actions[1];
    assert_eq!(mid.waits_for, [ActionId(0)]);
    assert!(
        mid.depends_on.is_empty(),
        "a failing manager create must not hold it back"
    );
    let reference = mid
        .changes
        .iter()
        .find(|c| c.field == "managedByUserGUID")
        .unwrap();
    assert_eq!(reference.account_of, Some(ExternalId::new("1")));
    assert_eq!(reference.after, None, "filled in by the executor");
    assert_eq!(plan.actions[2].waits_for, [ActionId(1)]);
    assert!(plan.actions[0]
        .changes
        .iter()
        .all(|c| c.field != "managedByUserGUID"));
}

#[test]
fn managers_of_each_other_created_together_never_wait_in_a_circle() {
    let case = Case::new(vec![
        person("1", "a@x.nl", Some("2")),
        person("2", "b@x.nl", Some("1")),
    ]);
    let plan = case.plan();
    assert_eq!(
        kinds(&plan),
        [
            (ActionKind::Create, "1"),
            (ActionKind::Create, "2"),
            (ActionKind::Update, "2"),
        ]
    );
    assert_eq!(plan.actions[0].waits_for, [ActionId(1)]);
    assert!(plan.actions[1].waits_for.is_empty());
    let second_pass = &plan.actions[2];
    assert_eq!(second_pass.depends_on, [ActionId(1), ActionId(0)]);
}

#[test]
fn an_existing_manager_goes_into_the_create_and_a_wrong_one_is_updated() {
    let mut case = Case::new(vec![
        person("1", "boss@x.nl", None),
        person("2", "new@x.nl", Some("1")),
        person("3", "old@x.nl", Some("1")),
        person("4", "fine@x.nl", Some("1")),
    ]);
    case.observed.accounts = vec![
        account("g-1", "boss@x.nl", None),
        account("g-3", "old@x.nl", Some("g-9")),
        account("g-4", "fine@x.nl", Some("g-1")),
    ];
    case.links = vec![link("1", "g-1"), link("3", "g-3"), link("4", "g-4")];
    let plan = case.plan();
    assert_eq!(
        kinds(&plan),
        [(ActionKind::Create, "2"), (ActionKind::Update, "3")]
    );
    let create = &plan.actions[0];
    let manager = create
        .changes
        .iter()
        .find(|c| c.field == "managedByUserGUID")
        .unwrap();
    assert_eq!(manager.after, Some(Value::from("g-1")));
    assert_eq!(plan.actions[1].changes[0].before, Some(Value::from("g-9")));
    assert_eq!(plan.actions[1].changes[0].after, Some(Value::from("g-1")));
}

#[test]
fn a_manager_without_an_account_leaves_the_field_with_a_warning() {
    let mut case = Case::new(vec![person("2", "sub@x.nl", Some("404"))]);
    case.observed.accounts = vec![account("g-2", "sub@x.nl", Some("g-old"))];
    case.links = vec![link("2", "g-2")];
    let plan = case.plan();
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("managedByUserGUID left as it is") && w.contains("404")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn a_fixed_field_is_reported_not_written() {
    let mut case = Case::new(vec![person("1", "new.name@x.nl", None)]);
    case.observed.accounts = vec![account("g-1", "old.name@x.nl", None)];
    case.links = vec![link("1", "g-1")];
    case.capabilities.fixed_fields = BTreeSet::from(["userName".to_owned()]);
    let plan = case.plan();
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert!(
        plan.warnings[0].contains("userName differs"),
        "{:?}",
        plan.warnings
    );

    case.capabilities.fixed_fields.clear();
    assert_eq!(kinds(&case.plan()), [(ActionKind::Update, "1")]);
}

#[test]
fn without_an_enabled_flag_a_disabled_state_is_not_planned_but_archived_comes_back() {
    let mut case = Case::new(vec![person("1", "a@x.nl", None)]);
    case.observed.accounts = vec![account("g-1", "a@x.nl", None)];
    case.links = vec![link("1", "g-1")];
    case.access = false;
    assert_eq!(kinds(&case.plan()), [(ActionKind::Disable, "1")]);
    case.capabilities.can_disable = false;
    assert!(case.plan().actions.is_empty());
    // Archived (read as not enabled): brought back.
    case.observed.accounts[0].enabled = false;
    assert_eq!(kinds(&case.plan()), [(ActionKind::Enable, "1")]);
}

#[test]
fn a_soft_deleted_linked_account_is_held_or_replaced_as_configured() {
    let mut case = Case::new(vec![person("1", "back@x.nl", None)]);
    case.observed.deleted = vec![account("g-old", "back@x.nl", None)];
    case.links = vec![StoredLink {
        state: LinkState::Deleted,
        ..link("1", "g-old")
    }];
    let plan = case.plan();
    assert_eq!(kinds(&plan), [(ActionKind::Create, "1")]);
    assert!(plan.actions[0].reason.contains("was deleted in the target"));
    assert!(plan.actions[0].reason.contains("a deleted account (g-old)"));

    case.capabilities.rehire = Rehire::Hold;
    let plan = case.plan();
    assert!(plan.actions.is_empty());
    assert!(
        plan.held[0].reason.contains("restore it there"),
        "{:?}",
        plan.held
    );
}

#[test]
fn groups_missing_ambiguous_or_awaiting_approval() {
    let mut case = Case::new(vec![person("1", "a@x.nl", None)]);
    case.permissions = vec!["Twice", "Missing", "Product - Laptop"];
    case.observed.accounts = vec![account("g-1", "a@x.nl", None)];
    case.links = vec![link("1", "g-1")];
    let group = |id: &str, name: &str| ObservedGroup {
        reference: GroupRef::new(id),
        name: name.into(),
        members: BTreeSet::new(),
        duplicates: Default::default(),
    };
    case.observed.groups = vec![
        group("t1", "Twice"),
        group("t2", " twice "),
        group("product:7", "Product - Laptop"),
    ];
    let plan = case.plan();
    let reasons: Vec<(&str, Option<&GroupRef>, &str)> = plan
        .actions
        .iter()
        .map(|a| {
            let p = a.permission.as_ref().unwrap();
            (p.name.as_str(), p.group.as_ref(), a.reason.as_str())
        })
        .collect();
    assert_eq!(reasons.len(), 3);
    assert!(reasons[0].2.contains("no group named `Missing`"));
    assert_eq!(reasons[1].1, Some(&GroupRef::new("product:7")));
    assert!(reasons[2].2.contains("2 groups in the target are named"));
    assert_eq!(reasons[2].1, None);

    case.capabilities.creates_groups = true;
    case.capabilities.created_group_prefix = "department_".into();
    let plan = case.plan();
    assert!(
        plan.actions[0].reason.contains("no group named `Missing`"),
        "only names in the creatable scope are created: {}",
        plan.actions[0].reason
    );
    case.capabilities.created_group_prefix = String::new();
    case.pending.insert(
        (AccountRef::new("g-1"), GroupRef::new("product:7")),
        Pending::Waiting {
            since: "2026-05-30T08:00:00Z".parse().unwrap(),
        },
    );
    let plan = case.plan();
    assert_eq!(plan.actions.len(), 2);
    assert!(plan.actions[0].reason.contains("is created first"));
    assert!(plan
        .warnings
        .iter()
        .any(|w| w.contains("awaiting approval") && w.contains("2026-05-30")));

    case.pending.insert(
        (AccountRef::new("g-1"), GroupRef::new("product:7")),
        Pending::Expired {
            since: "2026-05-01T08:00:00Z".parse().unwrap(),
        },
    );
    let plan = case.plan();
    let again = plan
        .actions
        .iter()
        .find(|a| a.permission.as_ref().unwrap().name == "Product - Laptop")
        .expect("an expired request is requested again");
    assert!(again.reason.contains("requested again"), "{}", again.reason);
}

#[test]
fn a_manager_created_in_this_run_never_holds_back_the_persons_own_changes() {
    let mut case = Case::new(vec![
        person("1", "new.boss@x.nl", None),
        person("2", "moved@x.nl", Some("1")),
    ]);
    // Person 2 exists with another user name (a change of their own) and an old manager.
    case.observed.accounts = vec![account("g-2", "old@x.nl", Some("g-9"))];
    case.links = vec![link("2", "g-2")];
    let plan = case.plan();
    assert_eq!(
        kinds(&plan),
        [
            (ActionKind::Create, "1"),
            (ActionKind::Update, "2"),
            (ActionKind::Update, "2"),
        ]
    );
    let own = &plan.actions[1];
    assert!(own.depends_on.is_empty(), "{:?}", own.depends_on);
    assert_eq!(own.changes[0].field, "userName");
    let reference = &plan.actions[2];
    assert_eq!(reference.depends_on, [ActionId(0)]);
    assert_eq!(reference.changes[0].account_of, Some(ExternalId::new("1")));
}

#[test]
fn fields_the_target_compares_ignoring_case_are_not_updated_for_case_alone() {
    let mut case = Case::new(vec![person("1", "A.Bakker@X.nl", None)]);
    case.contact = true;
    case.observed.accounts = vec![account("g-1", "a.bakker@x.nl", None)];
    case.observed.accounts[0]
        .attributes
        .insert("contactEmail".into(), Value::from("a.bakker@x.nl"));
    case.links = vec![link("1", "g-1")];
    let plan = case.plan();
    assert_eq!(kinds(&plan), [(ActionKind::Update, "1")]);
    let fields: Vec<&str> = plan.actions[0]
        .changes
        .iter()
        .map(|c| c.field.as_str())
        .collect();
    assert_eq!(
        fields,
        ["contactEmail"],
        "userName is the correlation field: already ignoring case"
    );
    case.capabilities.case_insensitive_fields = BTreeSet::from(["contactEmail".to_owned()]);
    assert!(case.plan().actions.is_empty());
}

fn only(domains: &[&str], outside: crate::domains::OutsideDomains) -> Option<DomainFilter> {
    let domains: Vec<String> = domains.iter().map(|d| d.to_string()).collect();
    Some(DomainFilter::new("userName", &domains, outside).unwrap())
}

#[test]
fn a_person_outside_the_domains_is_not_created_and_the_plan_says_why() {
    let mut case = Case::new(vec![
        person("1", "in@x.nl", None),
        person("2", "out@gmail.com", None),
    ]);
    case.permissions = vec!["Staff"];
    case.domains = only(&["X.nl"], crate::domains::OutsideDomains::Leave);
    let plan = case.plan();
    assert_eq!(
        kinds(&plan),
        [(ActionKind::Create, "1"), (ActionKind::Grant, "1")],
        "no create and no grant for the person outside"
    );
    assert_eq!(plan.held.len(), 1);
    assert_eq!(plan.held[0].person.as_str(), "2");
    assert_eq!(
        plan.held[0].reason,
        "userName \"out@gmail.com\" is outside this target's domains (x.nl): not created"
    );
}

#[test]
fn an_existing_account_outside_is_left_alone_or_only_disabled() {
    let mut stale = account("a2", "old@gmail.com", Some("nobody"));
    stale.enabled = true;
    let mut case = Case::new(vec![person("2", "out@gmail.com", None)]);
    case.observed.accounts = vec![stale];
    case.links = vec![link("2", "a2")];
    case.permissions = vec!["Staff"];
    case.domains = only(&["x.nl"], crate::domains::OutsideDomains::Leave);
    let left = case.plan();
    assert!(left.actions.is_empty(), "{:?}", kinds(&left));
    assert!(left.held[0].reason.contains("left alone"));

    case.domains = only(&["x.nl"], crate::domains::OutsideDomains::Disable);
    let disabled = case.plan();
    assert_eq!(kinds(&disabled), [(ActionKind::Disable, "2")]);
    assert!(disabled.actions[0]
        .reason
        .contains("outside_domains = \"disable\""));

    // Unlinked but correlated: linked and disabled, nothing else.
    case.links.clear();
    case.persons = vec![person("2", "old@gmail.com", None)];
    let correlated = case.plan();
    assert_eq!(
        kinds(&correlated),
        [(ActionKind::Correlate, "2"), (ActionKind::Disable, "2")]
    );
    assert_eq!(correlated.actions[1].depends_on, [correlated.actions[0].id]);

    // Without a filter the same person is planned as usual (the test can fail).
    case.domains = None;
    assert!(case
        .plan()
        .actions
        .iter()
        .any(|a| a.kind == ActionKind::Grant));
}

fn leave_alone(accounts: &[&str], domains: &[&str]) -> Option<crate::leave_alone::LeaveAlone> {
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Some(
        crate::leave_alone::LeaveAlone::new("userName", &owned(accounts), &owned(domains)).unwrap(),
    )
}

#[test]
fn accounts_in_the_target_filter_are_never_touched_nor_counted() {
    let mut case = Case::new(vec![
        person("1", "new@x.nl", None),
        person("2", "admin@supplier.example", None),
        person("3", "beheer@supplier.example", None),
        person("4", "boss@x.nl", None),
    ]);
    case.permissions = vec!["Staff"];
    case.observed.accounts = vec![
        account("a2", "admin@supplier.example", None),
        account("a4", "boss@x.nl", None),
        account("a8", "other@supplier.example", None),
        account("a9", "gone@supplier.example", None),
    ];
    // Person 9 left the source; their linked account is in the filtered domain.
    case.links = vec![link("9", "a9"), link("4", "a4")];

    // Without the filter every one of them is planned (the test can fail).
    let unfiltered = case.plan();
    for who in ["1", "2", "3", "9"] {
        assert!(
            unfiltered.actions.iter().any(|a| a.person.as_str() == who),
            "{who} is planned without the filter: {:?}",
            kinds(&unfiltered)
        );
    }
    assert_eq!(unfiltered.accounts_observed, 4);

    case.leave_alone = leave_alone(&["BOSS@x.nl"], &["supplier.example"]);
    let plan = case.plan();
    let planned: BTreeSet<&str> = plan.actions.iter().map(|a| a.person.as_str()).collect();
    assert_eq!(planned, BTreeSet::from(["1"]), "{:?}", kinds(&plan));
    let held: Vec<(&str, &str)> = plan
        .held
        .iter()
        .map(|h| (h.person.as_str(), h.reason.as_str()))
        .collect();
    assert_eq!(held.len(), 3, "{held:?}");
    assert!(held
        .iter()
        .any(|(p, why)| *p == "2" && why.contains("leave_alone domain (supplier.example)")));
    assert!(
        held.iter()
            .any(|(p, why)| *p == "3" && why.contains("never touched")),
        "not created either"
    );
    assert!(held
        .iter()
        .any(|(p, why)| *p == "4" && why.contains("leave_alone accounts")));
    assert_eq!(
        plan.accounts_observed, 1,
        "only the accounts Muster may touch count for a fail-safe"
    );
}

#[test]
fn an_account_of_another_type_is_skipped_with_a_warning_never_converted() {
    let kind = |value: &str| FieldMapping {
        field: "kind".into(),
        value: ValueSource::Fixed(Value::from(value)),
        actions: ActionSet::ALWAYS,
        secret: false,
    };
    let typed = |id: &str, user: &str, kind: &str| {
        let mut a = account(id, user, None);
        a.attributes.insert("kind".into(), Value::from(kind));
        a
    };
    let mut case = Case::new(vec![
        person("1", "info@x.nl", None),
        person("2", "jan@x.nl", None),
        person("3", "balie@x.nl", None),
    ]);
    case.mappings = vec![kind("user")];
    case.observed.accounts = vec![
        typed("a1", "info@x.nl", "functional"),
        typed("a2", "jan@x.nl", "user"),
        typed("a3", "balie@x.nl", "functional"),
    ];
    case.links = vec![link("1", "a1"), link("2", "a2")];

    // Without the type field, the functional accounts would be converted (the test can fail).
    let converting = case.plan();
    assert!(converting
        .actions
        .iter()
        .any(|a| a.kind == ActionKind::Update && a.changes.iter().any(|c| c.field == "kind")));

    case.type_fields = BTreeSet::from(["kind".to_owned()]);
    let plan = case.plan();
    assert!(
        plan.actions.iter().all(|a| a.person.as_str() == "2"),
        "nothing for the mismatched: {:?}",
        kinds(&plan)
    );
    assert!(
        plan.actions.is_empty(),
        "the user account is in step: {:?}",
        kinds(&plan)
    );
    let held: BTreeSet<&str> = plan.held.iter().map(|h| h.person.as_str()).collect();
    assert_eq!(
        held,
        BTreeSet::from(["1", "3"]),
        "linked and correlated alike"
    );
    assert!(plan.held[0]
        .reason
        .starts_with("type mismatch: account a1 has kind functional, the source wants user"));
    assert_eq!(plan.warnings.len(), 2, "{:?}", plan.warnings);
    assert!(plan.warnings[0].starts_with("1: type mismatch"));
}

#[test]
fn a_value_the_target_refused_for_good_is_not_sent_again_until_it_changes() {
    use crate::connector::FieldRefusal;
    let aliases = |list: Value| FieldMapping {
        field: "aliases".into(),
        value: ValueSource::Fixed(list),
        actions: ActionSet::ALWAYS,
        secret: false,
    };
    let mut case = Case::new(vec![
        person("1", "jan@x.nl", None),
        person("2", "piet@x.nl", None),
    ]);
    case.mappings = vec![aliases(serde_json::json!(["guest@x.nl"]))];
    case.observed.accounts = vec![account("a1", "jan@x.nl", None)];
    case.links = vec![link("1", "a1")];
    case.capabilities.refusals = vec![FieldRefusal {
        field: "aliases".into(),
        detail_contains: "Alias is a guest".into(),
    }];
    let before = case.plan();
    assert_eq!(
        kinds(&before),
        [(ActionKind::Update, "1"), (ActionKind::Create, "2")],
        "sent while nothing was refused"
    );

    // The fingerprint function of this test is the value's JSON text.
    let refused = serde_json::json!(["guest@x.nl"]).to_string();
    case.fingerprints.insert(
        (AccountRef::new("a1"), FieldRefusal::memory_field("aliases")),
        refused.clone(),
    );
    case.fingerprints.insert(
        (
            FieldRefusal::create_key(&ExternalId::new("2")),
            FieldRefusal::memory_field("aliases"),
        ),
        refused,
    );
    let plan = case.plan();
    assert_eq!(
        kinds(&plan),
        [(ActionKind::Create, "2")],
        "no Update for aliases alone"
    );
    assert!(
        plan.actions[0].changes.iter().all(|c| c.field != "aliases"),
        "the create goes ahead without the refused aliases"
    );
    assert_eq!(plan.warnings.len(), 2, "{:?}", plan.warnings);
    assert!(plan.warnings[0].starts_with("1: aliases was refused by the target before"));

    // Another desired value is sent again.
    case.mappings = vec![aliases(serde_json::json!(["jan.j@x.nl"]))];
    assert_eq!(
        kinds(&case.plan()),
        [(ActionKind::Update, "1"), (ActionKind::Create, "2")]
    );
}

#[test]
fn fields_hidden_while_disabled_are_not_compared_then_and_come_back_with_the_enable() {
    let mut case = Case::new(vec![person("1", "a@x.nl", None)]);
    case.contact = true;
    // The account shows no `contactEmail`, as a suspended Zivver functional account shows
    // no delegates.
    case.observed.accounts = vec![account("g-1", "a@x.nl", None)];
    case.links = vec![link("1", "g-1")];
    case.capabilities.hidden_while_disabled = ["contactEmail".to_owned()].into();
    // Enabled and staying so: compared as usual.
    assert_eq!(kinds(&case.plan()), [(ActionKind::Update, "1")]);
    // To be disabled: not compared, only the Disable.
    case.access = false;
    assert_eq!(kinds(&case.plan()), [(ActionKind::Disable, "1")]);
    // Disabled and staying so: nothing.
    case.observed.accounts[0].enabled = false;
    assert!(case.plan().actions.is_empty());
    // To be enabled: one Enable, which writes it back.
    case.access = true;
    let plan = case.plan();
    assert_eq!(kinds(&plan), [(ActionKind::Enable, "1")]);
    let change = plan.actions[0]
        .changes
        .iter()
        .find(|c| c.field == "contactEmail")
        .expect("the Enable carries the hidden field");
    assert_eq!(change.after, Some(Value::from("a@x.nl")));
}
