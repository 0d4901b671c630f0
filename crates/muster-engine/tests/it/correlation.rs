//! `muster import` and `muster plan` find the same accounts: both ask one
//! `CorrelationIndex`. A HelloID tenant whose correlation attribute holds a number, a list,
//! a value in another case (a field the configuration compares ignoring case), an account
//! linked to someone else and two accounts with one value.

use muster_core::model::{AccountRef, ExternalId, TargetName};
use muster_core::plan::ActionKind;
use muster_engine::{Config, Engine};
use muster_sim::helloid::{HelloIdSim, HelloIdSimConfig, RunningHelloIdSim};
use muster_store::{Link, LinkState};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn today() -> chrono::NaiveDate {
    "2026-03-02".parse().unwrap()
}

/// A HelloID tenant correlated on `userAttributes.employeeId` by `ExternalId`, exactly
/// (`case_insensitive = false`), but with a mapping that compares the field ignoring case.
async fn tenant(dir: &tempfile::TempDir) -> RunningHelloIdSim {
    let sim = HelloIdSim::start(HelloIdSimConfig {
        credentials: vec![("key-1".into(), "secret-1".into())],
        ..HelloIdSimConfig::default()
    })
    .await
    .unwrap();
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
connection = {{ base_url = "{base}", api_key = {{ file = {key:?} }}, api_secret = {{ file = {secret:?} }} }}
correlation = {{ person = "ExternalId", account = "userAttributes.employeeId", case_insensitive = false }}

[[targets.helloid.mapping]]
field = "userName"
path = "Contact.Business.Email"

[[targets.helloid.mapping]]
field = "userAttributes.employeeId"
path = "ExternalId"
ignore_case = true

[[rules]]
name = "Every employee gets an account"
account = true
access = true
"#,
        base = sim.api_url()
    );
    file("muster.toml", &config);
    let ids = ["1001", "1002", "A1003", "1004", "1005", "1006", "1007"];
    let mut persons =
        String::from("ExternalId;Name.GivenName;Name.FamilyName;Contact.Business.Email\n");
    let mut contracts = String::from(
        "PersonId;ExternalId;StartDate;EndDate;Department;Title;Organization;Manager\n",
    );
    for id in ids {
        persons.push_str(&format!("{id};P;{id};p{id}@gemeente.example\n"));
        contracts.push_str(&format!(
            "{id};{id}-1;2020-01-01;;ICT;Medewerker;Gemeente;\n"
        ));
    }
    file("persons.csv", &persons);
    file("contracts.csv", &contracts);
    sim
}

fn seed(sim: &RunningHelloIdSim, name: &str, employee_id: Value) -> AccountRef {
    let user = json!({
        "userName": format!("{name}@gemeente.example"),
        "isEnabled": true,
        "userAttributes": { "employeeId": employee_id },
    });
    AccountRef::new(sim.state.seed_user(user).unwrap())
}

type Pairs = BTreeSet<(String, String)>;

#[tokio::test]
async fn import_and_plan_agree_on_numbers_lists_case_links_and_disputes() {
    let dir = tempfile::tempdir().unwrap();
    let sim = tenant(&dir).await;
    let number = seed(&sim, "number", json!(1001));
    let list = seed(&sim, "list", json!(["1002"]));
    let case = seed(&sim, "case", json!("a1003"));
    let taken = seed(&sim, "taken", json!("1004"));
    let twins = [
        seed(&sim, "twin-a", json!("1006")),
        seed(&sim, "twin-b", json!("1006")),
    ];
    seed(&sim, "nobody", json!("9999"));
    let config =
        Config::load_with_env(&dir.path().join("muster.toml"), std::iter::empty()).unwrap();
    let engine = Engine::open(config).await.unwrap();
    // Person 1005 owns the account whose value is 1004's.
    engine
        .store
        .upsert_link(&Link {
            target: TargetName::from("helloid"),
            person: ExternalId::new("1005"),
            account: taken.clone(),
            state: LinkState::Active,
            updated_at: chrono::Utc::now(),
        })
        .await
        .unwrap();

    let import = engine.import("helloid", today(), false).await.unwrap();
    let plan = engine.preview(today()).await.unwrap().plan;
    let t = &plan.targets[0];

    let pair = |p: &ExternalId, a: &AccountRef| (p.to_string(), a.to_string());
    let planned: Pairs = t
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Correlate)
        .map(|a| pair(&a.person, a.account.as_ref().unwrap()))
        .collect();
    let imported: Pairs = import
        .correlated_now
        .iter()
        .map(|c| pair(&c.person, &c.account))
        .collect();
    let expected: Pairs = [("1001", &number), ("1002", &list), ("A1003", &case)]
        .into_iter()
        .map(|(p, a)| (p.to_owned(), a.to_string()))
        .collect();
    assert_eq!(
        planned, expected,
        "the plan correlates a number, a list and another case"
    );
    assert_eq!(imported, planned, "import finds what the plan correlates");

    let mut twins: Vec<String> = twins.iter().map(ToString::to_string).collect();
    twins.sort();
    let disputed = |person: &ExternalId, accounts: &[AccountRef]| {
        let mut accounts: Vec<String> = accounts.iter().map(ToString::to_string).collect();
        accounts.sort();
        (person.to_string(), accounts)
    };
    let planned: Vec<_> = t
        .disputed
        .iter()
        .map(|d| disputed(&d.person, &d.accounts))
        .collect();
    let imported: Vec<_> = import
        .disputed
        .iter()
        .map(|d| disputed(&d.person, &d.accounts))
        .collect();
    assert_eq!(planned, vec![("1006".to_owned(), twins)]);
    assert_eq!(imported, planned);

    let held: Vec<(&str, &str)> = t
        .held
        .iter()
        .map(|h| (h.person.as_str(), h.reason.as_str()))
        .collect();
    let reason = format!(
        "account {taken} with userAttributes.employeeId = \"1004\" is linked to person 1005"
    );
    assert_eq!(held, [("1004", reason.as_str())]);
    let elsewhere: Vec<(String, String, String)> = import
        .linked_to_someone_else
        .iter()
        .map(|h| {
            (
                h.person.to_string(),
                h.account.to_string(),
                h.owner.to_string(),
            )
        })
        .collect();
    assert_eq!(
        elsewhere,
        [("1004".to_owned(), taken.to_string(), "1005".to_owned())]
    );
    assert_eq!(import.linked.len(), 1, "1005's own link");
    assert_eq!(t.count(ActionKind::Create), 1, "only 1007 has no account");
    assert_eq!(
        import.persons_without_account,
        [ExternalId::new("1007")],
        "and import says so"
    );
}
