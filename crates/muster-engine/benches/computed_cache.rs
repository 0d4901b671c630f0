//! Mapping-script results kept in the store, measured as a one-shot `muster plan` meets them:
//! every step is a new process (a fresh configuration load, so every script cache starts
//! empty) on the same SQLite file. Not a timed test: prints the figures for
//! docs/BENCHMARKS.md.
//!
//! Run: `cargo bench -p muster-engine --bench computed_cache` (add `-- N` for N persons).
//!
//! The target is the one of `muster-mapping`'s `evaluate` bench: 6 mapped fields, 4 of them
//! JavaScript (the golden scripts), in a `fieldMapping.json`; the persons are generated the
//! same way. Steps: *first* (nothing stored: every script runs, 400,000 results are written),
//! *1 % changed* (a family name), *unchanged*, *1 % again* (other persons; unlike the first
//! 1 % step, no large write before it leaves SQLite a checkpoint to do).

// A benchmark harness: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use muster_core::evaluate::evaluate_all;
use muster_core::mapping::ValueSource;
use muster_core::model::{Contract, Person, PrimaryContractRule};
use muster_engine::computed_cache;
use muster_engine::config::{Config, TargetConfig};
use muster_mapping::ScriptValue;
use std::path::Path;
use std::time::{Duration, Instant};

const SCRIPTS: [(&str, &str); 4] = [
    (
        "displayName",
        include_str!("../../muster-mapping/tests/it/scripts/display_name.js"),
    ),
    (
        "userName",
        include_str!("../../muster-mapping/tests/it/scripts/mail_iteration.js"),
    ),
    (
        "userPrincipalName",
        include_str!("../../muster-mapping/tests/it/scripts/upn_from_accounts.js"),
    ),
    (
        "startDate",
        include_str!("../../muster-mapping/tests/it/scripts/contract_start.js"),
    ),
];

const GIVEN: [&str; 12] = [
    "Emma", "Lars", "Sanne", "Milan", "Zoë", "Jesse", "Julia", "Daan", "Anouk", "Sem", "Fenna",
    "Ángel",
];
const FAMILY: [&str; 10] = [
    "Dijk",
    "Bos",
    "Peters",
    "Vries",
    "Ångström",
    "Berg",
    "Jansen",
    "Visser",
    "Smit",
    "Meijer",
];
const PREFIX: [Option<&str>; 4] = [None, Some("van"), Some("de"), Some("van den")];
const CONVENTION: [&str; 4] = ["B", "BP", "P", "PB"];
const DEPARTMENTS: [&str; 6] = ["Finance", "HR", "ICT", "Sales", "Support", "Legal"];

/// The persons of `muster-mapping`'s `evaluate` bench.
fn persons(n: usize, today: NaiveDate) -> Vec<Person> {
    (0..n)
        .map(|i| {
            let mut p = Person::new(format!("{}", 100_000 + i));
            let given = GIVEN[i % GIVEN.len()];
            p.name.given_name = Some(given.into());
            p.name.nick_name = Some(given.into());
            p.name.initials = given.chars().next().map(|c| format!("{c}."));
            p.name.family_name_prefix = PREFIX[i % PREFIX.len()].map(str::to_owned);
            p.name.family_name = Some(format!("{}{}", FAMILY[i % FAMILY.len()], i / 1000));
            p.name.family_name_partner_prefix = Some("de".into());
            p.name.family_name_partner = Some(FAMILY[(i / 7) % FAMILY.len()].into());
            p.name.convention = Some(CONVENTION[(i / 3) % CONVENTION.len()].into());
            p.contact.business.email = Some(format!("user{i}@example.org"));
            if i % 2 == 0 {
                p.accounts
                    .entry("MicrosoftActiveDirectory".into())
                    .or_default()
                    .insert(
                        "userPrincipalName".into(),
                        format!("U{i}@corp.example.org").into(),
                    );
            }
            p.contracts.push(Contract {
                start_date: NaiveDate::from_ymd_opt(2015 + (i % 10) as i32, 1 + (i % 12) as u32, 1),
                department: Some(DEPARTMENTS[i % DEPARTMENTS.len()].into()),
                title: Some("Medewerker".into()),
                fte: Some(0.8),
                ..Contract::default()
            });
            PrimaryContractRule::default().apply(&mut p, today);
            p
        })
        .collect()
}

/// A `fieldMapping.json` with the 4 scripts and 2 person fields.
fn mapping_file() -> String {
    let action = |mode: &str, value: String| {
        serde_json::json!([{ "MapForActions": ["Create", "Update"], "MappingMode": mode,
            "Value": value, "UsedInNotifications": false, "StoreInAccountData": false }])
    };
    let mut fields: Vec<serde_json::Value> = SCRIPTS
        .iter()
        .map(|(name, source)| {
            let value = serde_json::to_string(source).unwrap();
            serde_json::json!({ "Name": name, "Type": "Text", "MappingActions": action("Complex", value) })
        })
        .collect();
    for (name, path) in [
        ("givenName", "Person.Name.GivenName"),
        (
            "department",
            "Person.PrimaryContract.Department.DisplayName",
        ),
    ] {
        let value = serde_json::to_string(path).unwrap();
        fields.push(serde_json::json!({ "Name": name, "Type": "Text", "MappingActions": action("Field", value) }));
    }
    serde_json::json!({ "Version": "v1", "MappingFields": fields, "UniqueFieldNames": [] })
        .to_string()
}

fn load(dir: &Path) -> Config {
    let text = "[store]\npath = \"muster.db\"\n\n[source]\nkind = \"csv\"\npersons = \"persons.csv\"\n\n\
        [targets.bench]\nkind = \"scim\"\n\
        connection = { base_url = \"http://127.0.0.1:9/scim/v2\", auth = { bearer = { env = \"T\" } } }\n\
        correlation = { person = \"Contact.Business.Email\", account = \"userName\" }\n\
        mapping_file = \"fieldMapping.json\"\n";
    Config::parse(&dir.join("muster.toml"), text, std::iter::empty()).unwrap()
}

fn script_runs(t: &TargetConfig) -> u64 {
    t.policy
        .mappings
        .iter()
        .filter_map(|m| match &m.value {
            ValueSource::Computed(c) => c.as_any()?.downcast_ref::<ScriptValue>(),
            _ => None,
        })
        .map(ScriptValue::runs)
        .sum()
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// One `muster plan`'s evaluation of the target, as a new process: load the configuration,
/// open the store, preload, evaluate, save.
async fn process(label: &str, dir: &Path, people: &[Person], today: NaiveDate) {
    let config = load(dir);
    let muster_engine::config::StoreConfig::Sqlite { path } = &config.store else {
        panic!("the bench's configuration names a SQLite store");
    };
    let store = muster_store::open_sqlite(path).await.unwrap();
    let t = &config.targets[0];
    let time = |started: Instant| started.elapsed();
    let started = Instant::now();
    computed_cache::preload(&store, t).await;
    let preload: Duration = time(started);
    let started = Instant::now();
    t.policy.start_run();
    let evaluations = evaluate_all(people, &t.policy, today);
    let evaluate = time(started);
    assert!(evaluations.iter().all(|e| e.errors.is_empty()));
    let started = Instant::now();
    computed_cache::save(&store, t).await;
    let save = time(started);
    store.close().await;
    let total = preload + evaluate + save;
    println!(
        "{label:<14} {:>8} script runs  preload {:>6.3} s  evaluate {:>6.3} s  save {:>6.3} s  total {:>6.3} s  {:>7.0} persons/s  peak {:>4.0} MiB",
        script_runs(t),
        preload.as_secs_f64(),
        evaluate.as_secs_f64(),
        save.as_secs_f64(),
        total.as_secs_f64(),
        people.len() as f64 / total.as_secs_f64(),
        peak_mib(),
    );
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fieldMapping.json"), mapping_file()).unwrap();
    let mut people = persons(n, today);
    println!("computed_cache: {n} persons, 6 fields (4 JavaScript), each step a new process on one SQLite store");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        process("first", dir.path(), &people, today).await;
        for p in people.iter_mut().step_by(100) {
            p.name.family_name = p.name.family_name.as_ref().map(|f| format!("{f}-Nieuw"));
        }
        process("1 % changed", dir.path(), &people, today).await;
        process("unchanged", dir.path(), &people, today).await;
        for p in people.iter_mut().skip(50).step_by(100) {
            p.name.family_name = p.name.family_name.as_ref().map(|f| format!("{f}-Nieuw"));
        }
        process("1 % again", dir.path(), &people, today).await;
    });
}
