//! HelloID end to end against its simulator: a manager chain created in one run, department
//! groups created before they are granted, products requested only when missing and not again
//! while awaiting approval, renames on and off, soft delete and re-hire.

use muster_core::plan::{ActionKind, Plan};
use muster_core::report::RunStatus;
use muster_engine::{Config, Engine};
use muster_sim::helloid::{HelloIdSim, HelloIdSimConfig, HelloIdSwitches, RunningHelloIdSim};
use serde_json::Value;

const PASSWORD: &str = "Welkom-7f3a9c";

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

/// (ExternalId, given, family, e-mail, department, manager).
type Employee<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str);

struct Tenant {
    dir: tempfile::TempDir,
    sim: RunningHelloIdSim,
}

impl Tenant {
    async fn start(connection_extra: &str, switches: HelloIdSwitches) -> Self {
        let sim = HelloIdSim::start(HelloIdSimConfig {
            credentials: vec![("key-1".into(), "secret-1".into())],
            groups: vec!["Medewerkers".into(), "Not managed".into()],
            products: vec!["Laptop".into()],
            switches,
            ..HelloIdSimConfig::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.display().to_string()
        };
        let (key, secret) = (file("key", "key-1"), file("secret", "secret-1"));
        let config = format!(
            r#"
[store]
path = "muster.db"

[source]
kind = "csv"
persons = "persons.csv"
contracts = "contracts.csv"

[targets.helloid]
kind = "helloid"
connection = {{ base_url = "{base}", api_key = {{ file = {key:?} }}, api_secret = {{ file = {secret:?} }}, department_groups = {{ prefix = "department_", create_missing = true }}{connection_extra} }}
correlation = {{ person = "Contact.Business.Email", account = "userName" }}
lifecycle = {{ delete_days_after_end = 0 }}

[[targets.helloid.mapping]]
field = "userName"
path = "Contact.Business.Email"

[[targets.helloid.mapping]]
field = "firstName"
path = "Name.GivenName"

[[targets.helloid.mapping]]
field = "lastName"
path = "Name.FamilyName"

[[targets.helloid.mapping]]
field = "userAttributes.department"
path = "PrimaryContract.Department"

[[targets.helloid.mapping]]
field = "password"
value = "{PASSWORD}"
on = "create"
secret = true

[[rules]]
name = "Every employee gets an account"
account = true
access = true
permissions = ["Medewerkers"]

[[rules]]
name = "ICT staff get a laptop"
when = {{ field = "AnyContract.Department", equals = "ICT" }}
permissions = ["Product - Laptop"]
"#,
            base = sim.api_url()
        );
        std::fs::write(dir.path().join("muster.toml"), config).unwrap();
        Self { dir, sim }
    }

    fn employees(&self, employees: &[Employee<'_>]) {
        let mut persons =
            String::from("ExternalId;Name.GivenName;Name.FamilyName;Contact.Business.Email\n");
        let mut contracts = String::from(
            "PersonId;ExternalId;StartDate;EndDate;Department;Title;Organization;Manager\n",
        );
        for (id, given, family, email, department, manager) in employees {
            persons.push_str(&format!("{id};{given};{family};{email}\n"));
            contracts.push_str(&format!(
                "{id};{id}-1;2020-01-01;;{department};Medewerker;Gemeente;{manager}\n"
            ));
        }
        std::fs::write(self.dir.path().join("persons.csv"), persons).unwrap();
        std::fs::write(self.dir.path().join("contracts.csv"), contracts).unwrap();
    }

    async fn engine(&self) -> Engine {
        let config =
            Config::load_with_env(&self.dir.path().join("muster.toml"), std::iter::empty())
                .unwrap();
        Engine::open(config).await.unwrap()
    }

    fn user(&self, user_name: &str) -> Value {
        self.sim
            .state
            .user(user_name)
            .unwrap_or_else(|| panic!("no HelloID user {user_name}"))
    }

    fn groups_named(&self, name: &str) -> Vec<Value> {
        self.sim
            .state
            .groups()
            .into_iter()
            .filter(|g| g["name"] == name)
            .collect()
    }

    fn member_names(&self, group: &str) -> Vec<String> {
        let [g] = self.groups_named(group).try_into().unwrap();
        let mut names: Vec<String> = self
            .sim
            .state
            .members(g["groupGuid"].as_str().unwrap())
            .iter()
            .map(|guid| self.user(guid)["userName"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }
}

fn kinds(plan: &Plan) -> Vec<(ActionKind, String)> {
    plan.targets
        .iter()
        .flat_map(|t| t.actions.iter().map(|a| (a.kind, a.person.to_string())))
        .collect()
}

const BOSS: Employee = (
    "1001",
    "Inge",
    "Bakker",
    "i.bakker@gemeente.example",
    "Mens - Maatschappij (MM)",
    "",
);
const MIDDLE: Employee = (
    "1002",
    "Jan",
    "Smit",
    "j.smit@gemeente.example",
    "Mens - Maatschappij (MM)",
    "1001",
);
const STAFF: Employee = (
    "1003",
    "Sara",
    "Kok",
    "s.kok@gemeente.example",
    "ICT",
    "1002",
);
const ORPHAN: Employee = (
    "1004",
    "Tim",
    "Mol",
    "t.mol@gemeente.example",
    "Zorg & Welzijn",
    "9999",
);

#[tokio::test]
async fn a_manager_chain_and_department_groups_are_created_in_one_run() {
    let tenant = Tenant::start("", HelloIdSwitches::default()).await;
    tenant.employees(&[STAFF, ORPHAN, MIDDLE, BOSS]);
    let engine = tenant.engine().await;
    let report = engine.apply(day("2026-03-02"), None).await.unwrap();
    assert_eq!(
        report.summary.status(),
        RunStatus::Changes,
        "{:?}",
        report.summary
    );
    let warnings = &report.plan.targets[0].warnings;
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("1004") && w.contains("9999")),
        "{warnings:?}"
    );

    let guid = |u: &Value| u["userGUID"].as_str().unwrap().to_owned();
    let boss = tenant.user(BOSS.3);
    let middle = tenant.user(MIDDLE.3);
    let staff = tenant.user(STAFF.3);
    assert_eq!(
        middle["managedByUserGUID"].as_str(),
        Some(guid(&boss).as_str())
    );
    assert_eq!(
        staff["managedByUserGUID"].as_str(),
        Some(guid(&middle).as_str())
    );
    assert!(tenant.user(ORPHAN.3)["managedByUserGUID"].is_null());
    assert_eq!(staff["userAttributes"]["department"], "ICT");
    assert_eq!(
        tenant.sim.state.password_of(&guid(&staff)).as_deref(),
        Some(PASSWORD)
    );
    let plan_json = serde_json::to_string(&report.plan).unwrap();
    assert!(
        !plan_json.contains(PASSWORD),
        "the password never reaches the plan"
    );

    // Department groups: created once each, with the sanitised names, then granted.
    assert_eq!(
        tenant.member_names("department_Mens-Maatschappij-MM"),
        [BOSS.3, MIDDLE.3]
    );
    assert_eq!(tenant.member_names("department_Zorg-Welzijn"), [ORPHAN.3]);
    assert_eq!(tenant.member_names("department_ICT"), [STAFF.3]);
    assert_eq!(tenant.member_names("Medewerkers").len(), 4);
    let laptops = tenant.sim.state.assignments(Some(&guid(&staff)));
    assert_eq!(laptops.len(), 1, "{laptops:?}");

    let again = engine.preview(day("2026-03-03")).await.unwrap();
    assert!(again.plan.is_empty(), "{:?}", kinds(&again.plan));

    // A move: the new department group is granted, the old one revoked; groups outside the
    // prefix that Muster does not manage are left alone.
    let not_managed = tenant.groups_named("Not managed")[0]["groupGuid"]
        .as_str()
        .unwrap()
        .to_owned();
    tenant
        .sim
        .state
        .add_member(&guid(&middle), &not_managed)
        .unwrap();
    let moved = (
        "1002",
        "Jan",
        "Smit",
        "j.smit@gemeente.example",
        "Zorg & Welzijn",
        "1001",
    );
    tenant.employees(&[STAFF, ORPHAN, moved, BOSS]);
    let report = engine.apply(day("2026-03-04"), None).await.unwrap();
    let mut planned = kinds(&report.plan);
    planned.sort();
    assert_eq!(
        planned,
        [
            (ActionKind::Update, "1002".to_owned()),
            (ActionKind::Grant, "1002".to_owned()),
            (ActionKind::Revoke, "1002".to_owned()),
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
    assert_eq!(
        tenant.member_names("department_Mens-Maatschappij-MM"),
        [BOSS.3]
    );
    assert_eq!(
        tenant.member_names("department_Zorg-Welzijn"),
        [MIDDLE.3, ORPHAN.3]
    );
    assert_eq!(tenant.member_names("Not managed"), [MIDDLE.3]);
}

#[tokio::test]
async fn a_product_is_requested_once_and_not_again_while_awaiting_approval() {
    let tenant = Tenant::start(
        "",
        HelloIdSwitches {
            product_approval: true,
            ..HelloIdSwitches::default()
        },
    )
    .await;
    tenant.employees(&[STAFF]);
    let engine = tenant.engine().await;
    engine.apply(day("2026-03-02"), None).await.unwrap();
    assert_eq!(tenant.sim.state.pending_requests().len(), 1);

    let waiting = engine.apply(day("2026-03-03"), None).await.unwrap();
    assert!(waiting.plan.is_empty(), "{:?}", kinds(&waiting.plan));
    assert!(waiting.plan.targets[0]
        .warnings
        .iter()
        .any(|w| w.contains("awaiting approval")));
    assert_eq!(tenant.sim.state.requests().len(), 1, "requested once");

    tenant.sim.state.approve(None);
    let after = engine.preview(day("2026-03-04")).await.unwrap();
    assert!(after.plan.is_empty());
    assert!(
        !after.plan.targets[0]
            .warnings
            .iter()
            .any(|w| w.contains("awaiting approval")),
        "{:?}",
        after.plan.targets[0].warnings
    );
    // Fulfilled: the remembered request is gone from the store.
    let target = muster_core::TargetName::new("helloid");
    assert!(engine.store.grants_made(&target).await.unwrap().is_empty());
}

#[tokio::test]
async fn user_name_changes_are_reported_unless_renames_are_on() {
    let renamed = (
        "1003",
        "Sara",
        "Kok",
        "sara.kok@gemeente.example",
        "ICT",
        "",
    );
    for (extra, renames) in [("", false), (", rename_user_name = true", true)] {
        let tenant = Tenant::start(extra, HelloIdSwitches::default()).await;
        tenant.employees(&[STAFF]);
        let engine = tenant.engine().await;
        engine.apply(day("2026-03-02"), None).await.unwrap();
        let before = tenant.user(STAFF.3);
        tenant.employees(&[renamed]);
        let report = engine.apply(day("2026-03-03"), None).await.unwrap();
        if renames {
            assert_eq!(
                kinds(&report.plan),
                [(ActionKind::Update, "1003".to_owned())]
            );
            let after = tenant.user(renamed.3);
            assert_eq!(
                after["userGUID"], before["userGUID"],
                "the same account, renamed"
            );
        } else {
            assert!(report.plan.is_empty(), "{:?}", kinds(&report.plan));
            assert!(report.plan.targets[0]
                .warnings
                .iter()
                .any(|w| w.contains("userName differs")));
            assert!(tenant.sim.state.user(renamed.3).is_none());
        }
    }
}

#[tokio::test]
async fn a_rehire_after_a_soft_delete_is_held_or_gets_a_new_account() {
    for (extra, new_account) in [("", true), (", rehire = \"hold\"", false)] {
        let tenant = Tenant::start(extra, HelloIdSwitches::default()).await;
        tenant.employees(&[STAFF, BOSS]);
        let engine = tenant.engine().await;
        engine.apply(day("2026-03-02"), None).await.unwrap();
        let old = tenant.user(STAFF.3)["userGUID"].clone();

        tenant.employees(&[BOSS]);
        let report = engine.apply(day("2026-03-03"), None).await.unwrap();
        assert!(kinds(&report.plan).contains(&(ActionKind::Delete, "1003".to_owned())));
        assert!(
            tenant.sim.state.user(STAFF.3).is_none(),
            "gone from the live list"
        );
        assert_eq!(
            tenant.sim.state.deleted_users().len(),
            1,
            "soft-deleted, still listed"
        );

        tenant.employees(&[STAFF, BOSS]);
        let report = engine.apply(day("2026-03-04"), None).await.unwrap();
        let target = &report.plan.targets[0];
        if new_account {
            let create = target
                .actions
                .iter()
                .find(|a| a.kind == ActionKind::Create)
                .unwrap();
            assert!(
                create.reason.contains("was deleted in the target"),
                "{}",
                create.reason
            );
            assert_ne!(tenant.user(STAFF.3)["userGUID"], old);
        } else {
            assert!(target.actions.is_empty(), "{:?}", kinds(&report.plan));
            assert!(target.held[0].reason.contains("restore it there"));
        }
    }
}

#[tokio::test]
async fn import_reads_every_page_with_soft_deleted_users_memberships_and_products() {
    let tenant = Tenant::start("", HelloIdSwitches::default()).await;
    let group = tenant.groups_named("Medewerkers")[0]["groupGuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let laptop = tenant.sim.state.products()[0]["productId"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..1_250 {
        let guid = tenant
            .sim
            .state
            .seed_user(serde_json::json!({"userName": format!("user{i:04}@gemeente.example"), "firstName": "U", "lastName": format!("{i}"), "isEnabled": true}))
            .unwrap();
        if i % 10 == 0 {
            tenant.sim.state.add_member(&guid, &group).unwrap();
        }
        if i % 100 == 0 {
            tenant.sim.state.seed_assignment(&guid, &laptop).unwrap();
        }
        if i >= 1_200 {
            tenant.sim.state.delete_user(&guid).unwrap();
        }
    }
    // Two persons: one has a live account, the other only a deleted one.
    let live = ("1", "U", "5", "user0005@gemeente.example", "ICT", "");
    let gone = ("2", "U", "1210", "user1210@gemeente.example", "ICT", "");
    tenant.employees(&[live, gone]);
    let engine = tenant.engine().await;
    let report = engine
        .import("helloid", day("2026-03-02"), false)
        .await
        .unwrap();
    assert_eq!(report.accounts, 1_200);
    assert_eq!(report.deleted_accounts.len(), 50);
    assert_eq!(report.correlated_now.len(), 1);
    assert_eq!(
        report.persons_without_account.len(),
        1,
        "a deleted account is never correlated"
    );
    let holders = |name: &str| {
        report
            .permissions
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.accounts.len())
    };
    assert_eq!(
        holders("Medewerkers"),
        Some(120),
        "members of deleted users are not listed"
    );
    assert_eq!(holders("Product - Laptop"), Some(12));
}

#[tokio::test]
async fn a_plan_reads_the_members_only_of_groups_its_rules_can_grant() {
    let tenant = Tenant::start("", HelloIdSwitches::default()).await;
    for i in 0..20 {
        tenant.sim.state.seed_group(&format!("Unrelated team {i}"));
    }
    tenant.employees(&[STAFF]);
    let engine = tenant.engine().await;
    engine.apply(day("2026-03-02"), None).await.unwrap();
    let before = tenant.sim.state.request_count("GET", "/groups/");
    engine.preview(day("2026-03-03")).await.unwrap();
    let details = tenant.sim.state.request_count("GET", "/groups/") - before;
    // Medewerkers and department_ICT; not "Not managed" nor the 20 unrelated teams.
    assert_eq!(details, 2, "{:?}", tenant.sim.state.counters());
    // An import still reads every group's members.
    let before = tenant.sim.state.request_count("GET", "/groups/");
    let report = engine
        .import("helloid", day("2026-03-03"), false)
        .await
        .unwrap();
    assert_eq!(report.groups, 24, "23 groups and the laptop product");
    assert_eq!(
        tenant.sim.state.request_count("GET", "/groups/") - before,
        23
    );
}

#[tokio::test]
async fn a_manager_whose_create_fails_does_not_hold_back_the_reports_accounts() {
    let tenant = Tenant::start(
        "",
        HelloIdSwitches {
            deleted_name_reserved: true,
            ..HelloIdSwitches::default()
        },
    )
    .await;
    // The boss's user name is still held by a soft-deleted user: their create is refused.
    let old = tenant
        .sim
        .state
        .seed_user(serde_json::json!({"userName": BOSS.3, "firstName": "Old", "lastName": "Boss"}))
        .unwrap();
    tenant.sim.state.delete_user(&old).unwrap();
    tenant.employees(&[BOSS, MIDDLE, STAFF]);
    let engine = tenant.engine().await;
    let report = engine.apply(day("2026-03-02"), None).await.unwrap();
    assert_eq!(report.summary.status(), RunStatus::Failures);
    let creates = &report.summary.targets[0].by_action[&ActionKind::Create];
    assert_eq!((creates.done, creates.failed), (2, 1), "{creates:?}");
    let middle = tenant.user(MIDDLE.3);
    assert!(
        middle["managedByUserGUID"].is_null(),
        "created without the manager"
    );
    assert_eq!(
        tenant.user(STAFF.3)["managedByUserGUID"],
        middle["userGUID"],
        "a manager created in the same run is named in the create"
    );
    // One request per account: no Update was needed for the reference.
    assert_eq!(tenant.sim.state.request_count("PUT", "/users"), 0);
}
