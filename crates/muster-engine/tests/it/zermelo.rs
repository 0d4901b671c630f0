//! Students and their class placements in Zermelo, end to end against the simulator: accounts
//! with and without a class, placements per school year (made once, remembered because the
//! API cannot list them), a class change within a year, the 1 August rollover under both
//! `school_year_from` settings, an unknown class, archive and return, and a placement at
//! sign-in.

use muster_core::plan::{ActionKind, Plan};
use muster_core::report::{ActionOutcome, RunStatus};
use muster_engine::jit::{JitOutcome, SignIn, SignInVia};
use muster_engine::{Config, Engine};
use muster_sim::zermelo::{RunningZermeloSim, ZermeloSchoolYear, ZermeloSim, ZermeloSimConfig};
use muster_store::AuditQuery;
use serde_json::Value;

const TOKEN: &str = "zermelo-test-token";

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

/// One student: (ExternalId, given, prefix, family, class, school, contract start).
type Student<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
);

struct School {
    dir: tempfile::TempDir,
    sim: RunningZermeloSim,
}

impl School {
    async fn start(school_year_from: &str) -> Self {
        Self::start_with(school_year_from, "").await
    }

    /// `connection` holds more settings of the connection, each preceded by `, `.
    async fn start_with(school_year_from: &str, connection: &str) -> Self {
        let sim = ZermeloSim::start(ZermeloSimConfig {
            tokens: vec![TOKEN.into()],
            departments: vec![
                ZermeloSchoolYear::new("Lyceum", "2024-2025", &["h3a", "h3b"]),
                ZermeloSchoolYear::new("Lyceum", "2025-2026", &["h4a", "h4b"]),
                // Contains "Lyceum": must never be matched for it.
                ZermeloSchoolYear::new("Stedelijk Lyceum", "2024-2025", &["h3a"]),
                ZermeloSchoolYear::new("Lyceum (Noord)+", "2024-2025", &["h3a"]),
            ],
            ..ZermeloSimConfig::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), TOKEN).unwrap();
        let config = format!(
            r#"
[store]
path = "muster.db"

[source]
kind = "csv"
persons = "persons.csv"
contracts = "contracts.csv"

[targets.zermelo]
kind = "zermelo"
connection = {{ base_url = "{base}", token = {{ file = {token:?} }}, school_year_from = "{school_year_from}", participation_weight = 0.5{connection} }}
correlation = {{ person = "ExternalId", account = "code" }}
lifecycle = {{ delete_days_after_end = 0 }}

[[targets.zermelo.mapping]]
field = "code"
path = "ExternalId"
on = "create"

[[targets.zermelo.mapping]]
field = "firstName"
path = "Name.GivenName"

[[targets.zermelo.mapping]]
field = "prefix"
path = "Name.FamilyNamePrefix"

[[targets.zermelo.mapping]]
field = "lastName"
path = "Name.FamilyName"

[[targets.zermelo.mapping]]
field = "isStudent"
value = true

[[rules]]
name = "Every student gets an account"
account = true
access = true
"#,
            base = sim.base_url,
            token = dir.path().join("token").display().to_string()
        );
        std::fs::write(dir.path().join("muster.toml"), config).unwrap();
        Self { dir, sim }
    }

    fn students(&self, students: &[Student<'_>]) {
        let mut persons =
            String::from("ExternalId;Name.GivenName;Name.FamilyNamePrefix;Name.FamilyName\n");
        let mut contracts =
            String::from("PersonId;ExternalId;StartDate;EndDate;Department;Title;Organization\n");
        for (id, given, prefix, family, class, school, start) in students {
            persons.push_str(&format!("{id};{given};{prefix};{family}\n"));
            contracts.push_str(&format!("{id};{id}-1;{start};;{class};Leerling;{school}\n"));
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

    /// The class codes a student is placed in, with their school-year name, in placement order.
    fn placements(&self, code: &str) -> Vec<(String, Value)> {
        let departments = self.sim.state.departments();
        self.sim
            .state
            .placements_of(code)
            .into_iter()
            .map(|p| {
                let d = departments
                    .iter()
                    .find(|d| d["id"] == p["departmentOfBranch"])
                    .unwrap();
                (
                    format!(
                        "{} / {}",
                        d["code"].as_str().unwrap(),
                        d["schoolInSchoolYearName"].as_str().unwrap()
                    ),
                    p["participationWeight"].clone(),
                )
            })
            .collect()
    }
}

fn kinds(plan: &Plan) -> Vec<(ActionKind, String)> {
    plan.targets
        .iter()
        .flat_map(|t| t.actions.iter().map(|a| (a.kind, a.person.to_string())))
        .collect()
}

#[tokio::test]
async fn students_get_accounts_and_one_placement_per_school_year() {
    let school = School::start("contract_start").await;
    school.students(&[
        (
            "118204",
            "Daan",
            "van der",
            "Berg",
            "h3a",
            "Lyceum",
            "2024-09-01",
        ),
        // No class yet: an account, no placement.
        ("118205", "Noor", "", "Jansen", "", "Lyceum", "2024-09-01"),
        (
            "118206",
            "Sem",
            "",
            "Visser",
            "h3a",
            "Lyceum (Noord)+",
            "2024-09-01",
        ),
    ]);
    let engine = school.engine().await;
    let report = engine.apply(day("2024-10-01"), None).await.unwrap();
    let audit = engine.store.audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(report.summary.status(), RunStatus::Changes, "{audit:#?}");

    let daan = school.sim.state.user("118204").unwrap();
    assert_eq!(daan["prefix"], "van der");
    assert!(
        school.sim.state.student("118204").is_some(),
        "the student record exists"
    );
    assert_eq!(
        school.placements("118204"),
        [("h3a / Lyceum 2024-2025".to_owned(), serde_json::json!(0.5))]
    );
    assert!(school.sim.state.user("118205").is_some());
    assert!(school.placements("118205").is_empty());
    // Regex-like characters in the school name are plain text.
    assert_eq!(
        school.placements("118206")[0].0,
        "h3a / Lyceum (Noord)+ 2024-2025"
    );

    // The API cannot list placements; the ones Muster made are remembered, not repeated.
    let again = engine.preview(day("2024-10-02")).await.unwrap();
    assert!(again.plan.is_empty(), "{:?}", kinds(&again.plan));

    // Noor's class arrives: the placement follows. Daan changes class within the year: the
    // new one is placed and the old one kept (`previous_class = "keep"`: no public client
    // removes placements), which his Grant says.
    school.students(&[
        (
            "118204",
            "Daan",
            "van der",
            "Berg",
            "h3b",
            "Lyceum",
            "2024-09-01",
        ),
        (
            "118205",
            "Noor",
            "",
            "Jansen",
            "h3a",
            "Lyceum",
            "2024-09-01",
        ),
        (
            "118206",
            "Sem",
            "",
            "Visser",
            "h3a",
            "Lyceum (Noord)+",
            "2024-09-01",
        ),
    ]);
    let report = engine.apply(day("2024-11-01"), None).await.unwrap();
    assert_eq!(
        kinds(&report.plan),
        [
            (ActionKind::Grant, "118204".to_owned()),
            (ActionKind::Grant, "118205".to_owned())
        ]
    );
    let reason = &report.plan.targets[0].actions[0].reason;
    assert!(
        reason.contains("the previous one stays: `h3a / Lyceum 2024-2025`")
            && reason.contains("previous_class = \"keep\""),
        "{reason}"
    );
    let daan: Vec<String> = school
        .placements("118204")
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(daan, ["h3a / Lyceum 2024-2025", "h3b / Lyceum 2024-2025"]);
    assert_eq!(school.placements("118205")[0].0, "h3a / Lyceum 2024-2025");
    assert!(engine
        .preview(day("2024-11-02"))
        .await
        .unwrap()
        .plan
        .is_empty());

    // A new school year's contract: next year's class, the previous year's stays.
    school.students(&[
        (
            "118204",
            "Daan",
            "van der",
            "Berg",
            "h4a",
            "Lyceum",
            "2025-08-01",
        ),
        (
            "118205",
            "Noor",
            "",
            "Jansen",
            "h3a",
            "Lyceum",
            "2024-09-01",
        ),
        (
            "118206",
            "Sem",
            "",
            "Visser",
            "h3a",
            "Lyceum (Noord)+",
            "2024-09-01",
        ),
    ]);
    engine.apply(day("2025-08-01"), None).await.unwrap();
    let daan: Vec<String> = school
        .placements("118204")
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(
        daan,
        [
            "h3a / Lyceum 2024-2025",
            "h3b / Lyceum 2024-2025",
            "h4a / Lyceum 2025-2026"
        ]
    );
}

#[tokio::test]
async fn an_unknown_class_fails_only_that_placement_and_names_what_was_tried() {
    let school = School::start("contract_start").await;
    school.students(&[
        ("200001", "Eva", "", "Smit", "x9z", "Lyceum", "2024-09-01"),
        ("200002", "Bo", "", "Mulder", "h3a", "Lyceum", "2024-09-01"),
    ]);
    let engine = school.engine().await;
    let report = engine.apply(day("2024-10-01"), None).await.unwrap();
    assert_eq!(report.summary.status(), RunStatus::Failures);
    assert!(
        school.sim.state.user("200001").is_some(),
        "the account is still made"
    );
    assert_eq!(school.placements("200002").len(), 1);
    let failed: Vec<_> = engine
        .store
        .audit(&AuditQuery::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.outcome == ActionOutcome::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].action, ActionKind::Grant);
    let detail = failed[0].detail.clone().unwrap_or_default();
    assert!(detail.contains("x9z / Lyceum 2024-2025"), "{detail}");
}

#[tokio::test]
async fn the_school_year_follows_the_run_date_from_the_first_of_august() {
    let school = School::start("run_date").await;
    // The contract started last year; under `run_date` only the calendar counts.
    school.students(&[("300001", "Fem", "", "Bos", "h4a", "Lyceum", "2024-09-01")]);
    let engine = school.engine().await;
    let before = engine.preview(day("2025-07-31")).await.unwrap();
    let grant = &before.plan.targets[0]
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::Grant)
        .unwrap();
    assert_eq!(
        grant.permission.as_ref().unwrap().name,
        "h4a / Lyceum 2024-2025"
    );
    assert!(
        grant.permission.as_ref().unwrap().group.is_none(),
        "no h4a that year"
    );
    engine.apply(day("2025-08-01"), None).await.unwrap();
    assert_eq!(school.placements("300001")[0].0, "h4a / Lyceum 2025-2026");
}

#[tokio::test]
async fn a_leaver_is_archived_and_comes_back_on_return() {
    let school = School::start("contract_start").await;
    let daan = ("400001", "Daan", "", "Berg", "h3a", "Lyceum", "2024-09-01");
    let noor = (
        "400002",
        "Noor",
        "",
        "Jansen",
        "h3a",
        "Lyceum",
        "2024-09-01",
    );
    school.students(&[daan, noor]);
    let engine = school.engine().await;
    engine.apply(day("2024-10-01"), None).await.unwrap();

    school.students(&[noor]);
    let report = engine.apply(day("2024-10-02"), None).await.unwrap();
    assert_eq!(
        kinds(&report.plan),
        [(ActionKind::Delete, "400001".to_owned())]
    );
    let archived = school.sim.state.user("400001").unwrap();
    assert_eq!(archived["archived"], true, "archived, still readable");
    assert!(engine
        .preview(day("2024-10-03"))
        .await
        .unwrap()
        .plan
        .is_empty());

    school.students(&[daan, noor]);
    let report = engine.apply(day("2024-10-04"), None).await.unwrap();
    assert_eq!(
        kinds(&report.plan),
        [(ActionKind::Enable, "400001".to_owned())]
    );
    assert_eq!(school.sim.state.user("400001").unwrap()["archived"], false);
    // The placement made before the archive is still remembered.
    assert!(engine
        .preview(day("2024-10-05"))
        .await
        .unwrap()
        .plan
        .is_empty());
    assert_eq!(school.placements("400001").len(), 1);
}

#[tokio::test]
async fn an_existing_user_without_a_student_record_is_correlated_and_made_a_student() {
    let school = School::start("contract_start").await;
    school
        .sim
        .state
        .seed_user(serde_json::json!({"code": "500001", "firstName": "Lot", "lastName": "Dekker", "isStudent": false}))
        .unwrap();
    school.students(&[("500001", "Lot", "", "Dekker", "h3a", "Lyceum", "2024-09-01")]);
    let engine = school.engine().await;
    let plan = engine.preview(day("2024-10-01")).await.unwrap().plan;
    assert_eq!(
        kinds(&plan),
        [
            (ActionKind::Correlate, "500001".to_owned()),
            (ActionKind::Update, "500001".to_owned()),
            (ActionKind::Grant, "500001".to_owned())
        ]
    );
    let grant = &plan.targets[0].actions[2];
    assert!(grant.reason.contains("not visible"), "{}", grant.reason);
    engine.apply(day("2024-10-01"), None).await.unwrap();
    assert!(school.sim.state.student("500001").is_some());
    assert_eq!(school.sim.state.user("500001").unwrap()["isStudent"], true);
}

#[tokio::test]
async fn an_existing_student_is_only_correlated_and_a_rename_writes_only_what_changed() {
    let school = School::start("contract_start").await;
    school
        .sim
        .state
        .seed_user(serde_json::json!({"code": "600001", "firstName": "Mila", "lastName": "Hendriks", "isStudent": true, "email": "set.by.school@lyceum.example"}))
        .unwrap();
    school.students(&[(
        "600001",
        "Mila",
        "",
        "Hendriks",
        "h3a",
        "Lyceum",
        "2024-09-01",
    )]);
    let engine = school.engine().await;
    let plan = engine.preview(day("2024-10-01")).await.unwrap().plan;
    assert_eq!(
        kinds(&plan),
        [
            (ActionKind::Correlate, "600001".to_owned()),
            (ActionKind::Grant, "600001".to_owned())
        ]
    );
    engine.apply(day("2024-10-01"), None).await.unwrap();

    // A new family name: one Update with only that field; what Muster does not map stays.
    school.students(&[(
        "600001",
        "Mila",
        "van",
        "Hendriks-Pauw",
        "h3a",
        "Lyceum",
        "2024-09-01",
    )]);
    let report = engine.apply(day("2024-10-02"), None).await.unwrap();
    assert_eq!(
        kinds(&report.plan),
        [(ActionKind::Update, "600001".to_owned())]
    );
    let fields: Vec<&str> = report.plan.targets[0].actions[0]
        .changes
        .iter()
        .map(|c| c.field.as_str())
        .collect();
    assert_eq!(fields, ["lastName", "prefix"]);
    let user = school.sim.state.user("600001").unwrap();
    assert_eq!(user["lastName"], "Hendriks-Pauw");
    assert_eq!(user["prefix"], "van");
    assert_eq!(user["email"], "set.by.school@lyceum.example");
    assert!(engine
        .preview(day("2024-10-03"))
        .await
        .unwrap()
        .plan
        .is_empty());
}

#[tokio::test]
async fn a_tenant_that_refuses_the_user_list_is_read_one_user_at_a_time() {
    let school = School::start("contract_start").await;
    school.sim.state.update_switches(|s| s.list_users = false);
    school.students(&[
        (
            "700001",
            "Ilse",
            "",
            "Kramer",
            "h3a",
            "Lyceum",
            "2024-09-01",
        ),
        ("700002", "Ruben", "", "Vos", "h3b", "Lyceum", "2024-09-01"),
    ]);
    let engine = school.engine().await;
    let report = engine.apply(day("2024-10-01"), None).await.unwrap();
    assert_eq!(report.summary.status(), RunStatus::Changes);
    assert!(
        report.summary.targets[0]
            .warnings
            .iter()
            .any(|w| w.contains("read one by one")),
        "the run report says so: {:?}",
        report.summary.targets[0].warnings
    );
    assert_eq!(school.sim.state.users().len(), 2);
    assert!(engine
        .preview(day("2024-10-02"))
        .await
        .unwrap()
        .plan
        .is_empty());
    let import = engine
        .import("zermelo", day("2024-10-02"), false)
        .await
        .unwrap();
    assert_eq!(import.linked.len(), 2);
    assert_eq!(import.permissions.len(), 2, "the placements Muster made");
}

fn classes_of(school: &School, code: &str) -> Vec<String> {
    school.placements(code).into_iter().map(|p| p.0).collect()
}

#[tokio::test]
async fn a_class_change_with_previous_class_delete_leaves_one_placement_for_the_year() {
    let school = School::start_with("contract_start", r#", previous_class = "delete""#).await;
    school
        .sim
        .state
        .update_switches(|s| s.placement_delete = true);
    let daan = |class: &'static str, start: &'static str| {
        ("800001", "Daan", "", "Berg", class, "Lyceum", start)
    };
    school.students(&[daan("h3a", "2024-09-01")]);
    let engine = school.engine().await;
    engine.apply(day("2024-10-01"), None).await.unwrap();

    school.students(&[daan("h3b", "2024-09-01")]);
    let report = engine.apply(day("2024-11-01"), None).await.unwrap();
    assert_eq!(report.summary.status(), RunStatus::Changes);
    let actions = &report.plan.targets[0].actions;
    assert_eq!(
        kinds(&report.plan),
        [
            (ActionKind::Grant, "800001".to_owned()),
            (ActionKind::Revoke, "800001".to_owned())
        ]
    );
    assert_eq!(
        actions[1].depends_on,
        [actions[0].id],
        "the new class first"
    );
    assert_eq!(classes_of(&school, "800001"), ["h3b / Lyceum 2024-2025"]);
    let again = engine.preview(day("2024-11-02")).await.unwrap();
    assert!(again.plan.is_empty(), "{:?}", kinds(&again.plan));

    // A new school year is not a class change: last year's placement stays.
    school.students(&[daan("h4a", "2025-08-01")]);
    let report = engine.apply(day("2025-08-01"), None).await.unwrap();
    assert_eq!(
        kinds(&report.plan),
        [(ActionKind::Grant, "800001".to_owned())]
    );
    assert_eq!(
        classes_of(&school, "800001"),
        ["h3b / Lyceum 2024-2025", "h4a / Lyceum 2025-2026"]
    );
}

#[tokio::test]
async fn adopting_a_tenant_with_placements_with_a_fresh_store_places_nobody_twice() {
    let school = School::start("contract_start").await;
    let h3a = school
        .sim
        .state
        .department_id("Lyceum", "2024-2025", "h3a")
        .unwrap();
    for (code, first) in [("900001", "Eva"), ("900002", "Bo")] {
        school
            .sim
            .state
            .seed_user(serde_json::json!({"code": code, "firstName": first, "lastName": "Smit", "isStudent": true}))
            .unwrap();
        school
            .sim
            .state
            .seed_placement(code, h3a, Some(1.0))
            .unwrap();
    }
    // Bo is in h3a in Zermelo, but the school has moved him to h3b since.
    school.students(&[
        ("900001", "Eva", "", "Smit", "h3a", "Lyceum", "2024-09-01"),
        ("900002", "Bo", "", "Smit", "h3b", "Lyceum", "2024-09-01"),
    ]);
    let engine = school.engine().await;
    let report = engine.apply(day("2024-10-01"), None).await.unwrap();
    assert_eq!(
        kinds(&report.plan),
        [
            (ActionKind::Correlate, "900001".to_owned()),
            (ActionKind::Correlate, "900002".to_owned()),
            (ActionKind::Grant, "900002".to_owned())
        ]
    );
    let bo = &report.plan.targets[0].actions[2].reason;
    assert!(
        bo.contains("the previous one stays: `h3a / Lyceum 2024-2025`"),
        "{bo}"
    );
    assert_eq!(classes_of(&school, "900001"), ["h3a / Lyceum 2024-2025"]);
    assert_eq!(
        classes_of(&school, "900002"),
        ["h3a / Lyceum 2024-2025", "h3b / Lyceum 2024-2025"]
    );
    let again = engine.preview(day("2024-10-02")).await.unwrap();
    assert!(again.plan.is_empty(), "{:?}", kinds(&again.plan));
}

/// A sign-in of a new student places them in the class the rules give, after the create, and
/// the store remembers the placement (`grants_made`: Zermelo cannot list placements), so the
/// next scheduled plan counts it and places nobody again.
#[tokio::test]
async fn a_sign_in_places_the_new_student_and_the_scheduled_run_remembers_it() {
    let school = School::start("contract_start").await;
    school.students(&[(
        "118204",
        "Daan",
        "van der",
        "Berg",
        "h4a",
        "Lyceum",
        "2025-09-01",
    )]);
    let config = std::fs::read_to_string(school.dir.path().join("muster.toml")).unwrap();
    let lifecycle = "lifecycle = { delete_days_after_end = 0 }";
    let config = config.replace(lifecycle, &format!("{lifecycle}\njit = true"));
    // The HR snapshot of a run that grants no account yet, as sign-ins need one.
    let rule = "name = \"Every student gets an account\"\n";
    let seed = config.replace(
        rule,
        &format!(
            "{rule}when = {{ field = \"PrimaryContract.Department\", equals = \"(none yet)\" }}\n"
        ),
    );
    assert_ne!(seed, config);
    std::fs::write(school.dir.path().join("muster.toml"), &seed).unwrap();
    let today = chrono::Local::now().date_naive();
    school.engine().await.apply(today, None).await.unwrap();
    assert!(school.sim.state.user("118204").is_none());
    std::fs::write(school.dir.path().join("muster.toml"), &config).unwrap();
    let engine = school.engine().await;

    let sign_in = SignIn {
        person: serde_json::from_value(serde_json::json!({"ExternalId": "118204"})).unwrap(),
        via: SignInVia::Oidc,
        subject: "https://idp.example/ 118204".into(),
    };
    let report = engine.sign_in(sign_in).await.unwrap();
    let class = "h4a / Lyceum 2025-2026".to_owned();
    match &report.targets[0].outcome {
        JitOutcome::Created { granted, left, .. } => {
            assert_eq!(granted, std::slice::from_ref(&class));
            assert!(left.is_empty(), "{left:?}");
        }
        other => panic!("created: {other:?}"),
    }
    assert_eq!(
        school.placements("118204"),
        [(class.clone(), serde_json::json!(0.5))]
    );
    let made = engine.store.grants_made(&"zermelo".into()).await.unwrap();
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(
        (made[0].account.as_str(), made[0].group_name.as_str()),
        ("118204", class.as_str())
    );

    let plan = engine.preview(today).await.unwrap().plan;
    assert_eq!(kinds(&plan), [], "{plan:#?}");
}
