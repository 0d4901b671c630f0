//! Full and incremental evaluation of 100,000 persons with 6 mapped fields, 4 of them
//! JavaScript (HelloID `Complex`), on every core. Not a timed test: prints persons per second
//! and the process's peak memory for docs/BENCHMARKS.md.
//!
//! Run: `cargo bench -p muster-mapping --bench evaluate` (add `-- 1000000` for another size;
//! `-- 20000 per-run` for the last step alone).
//!
//! - *full*: a cold start (scripts compiled, nothing cached), every person runs all 4 scripts.
//! - *incremental*: the next run after 1 % of the persons changed (a family name): those run
//!   their scripts again, the others reuse their cached results.
//! - *unchanged*: a run in which nothing changed.
//! - *per run*: the four scripts for (at most 10,000 of) the persons on one thread, uncached:
//!   CPU time per script run.

// A benchmark harness: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use muster_core::evaluate::{evaluate_all, Correlation, Evaluation, Lifecycle, TargetPolicy};
use muster_core::mapping::ComputedValue;
use muster_core::mapping::{ActionSet, FieldAction, FieldMapping, ValueSource};
use muster_core::model::{Contract, Person, PersonPath};
use muster_core::rules::{Condition, Grants, Rule};
use muster_mapping::{FieldType, Limits, Script, ScriptValue};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
            muster_core::model::PrimaryContractRule::default().apply(&mut p, today);
            p
        })
        .collect()
}

fn script(file: &str, source: &str, ty: FieldType) -> ValueSource {
    let script =
        Script::compile(source, Limits::default()).unwrap_or_else(|e| panic!("{file}: {e}"));
    ValueSource::Computed(Arc::new(ScriptValue::new(script, ty)))
}

fn policy() -> TargetPolicy {
    let m = |field: &str, value: ValueSource| FieldMapping {
        field: field.into(),
        value,
        actions: ActionSet::ALWAYS,
        secret: false,
    };
    let path = |p: &str| ValueSource::Path(PersonPath::parse(p).unwrap());
    TargetPolicy {
        target: "bench".into(),
        rules: vec![Rule {
            name: "all".into(),
            targets: None,
            when: Condition::Always,
            grants: Grants {
                account: true,
                access: true,
                permissions: vec![],
                dynamic: vec![],
            },
        }],
        mappings: vec![
            m(
                "displayName",
                script(
                    "display_name.js",
                    include_str!("../tests/it/scripts/display_name.js"),
                    FieldType::Text,
                ),
            ),
            m(
                "userName",
                script(
                    "mail_iteration.js",
                    include_str!("../tests/it/scripts/mail_iteration.js"),
                    FieldType::Text,
                ),
            ),
            m(
                "userPrincipalName",
                script(
                    "upn_from_accounts.js",
                    include_str!("../tests/it/scripts/upn_from_accounts.js"),
                    FieldType::Text,
                ),
            ),
            m(
                "startDate",
                script(
                    "contract_start.js",
                    include_str!("../tests/it/scripts/contract_start.js"),
                    FieldType::Text,
                ),
            ),
            m("givenName", path("Name.GivenName")),
            m("department", path("PrimaryContract.Department")),
        ],
        lifecycle: Lifecycle::default(),
        correlation: Correlation {
            person: PersonPath::parse("Contact.Business.Email").unwrap(),
            account_field: "userName".into(),
            case_insensitive: true,
        },
    }
}

/// CPU seconds this process has used so far, all threads (Linux `/proc/self/stat`): unlike
/// wall time, hardly affected by other work on the machine.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which is in parentheses): utime is the 12th.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(f64::NAN)
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

fn run(
    label: &str,
    people: &[Person],
    policy: &TargetPolicy,
    today: NaiveDate,
) -> (Vec<Evaluation>, Duration) {
    policy.start_run();
    let cpu = cpu_seconds();
    let started = Instant::now();
    let evaluations = evaluate_all(people, policy, today);
    let took = started.elapsed();
    let cpu = cpu_seconds() - cpu;
    let failed = evaluations.iter().filter(|e| !e.errors.is_empty()).count();
    assert_eq!(
        failed,
        0,
        "{:?}",
        evaluations.iter().find(|e| !e.errors.is_empty())
    );
    println!(
        "{label:<12} {:>9} persons  {:>7.3} s wall  {:>6.2} s cpu  {:>9.0} persons/s  peak {:>5.0} MiB",
        people.len(),
        took.as_secs_f64(),
        cpu,
        people.len() as f64 / took.as_secs_f64(),
        peak_mib()
    );
    (evaluations, took)
}

/// The four scripts run one after another on this thread, uncached, for `persons`: the cost of
/// one script run (building `Person`, the run, the reset of the global state), without
/// `evaluate`, digests and result caches.
fn per_run(people: &[Person]) {
    let scripts: Vec<ScriptValue> = SCRIPTS
        .iter()
        .map(|(file, source)| {
            let script = Script::compile(source, Limits::default())
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            ScriptValue::uncached(script, FieldType::Text)
        })
        .collect();
    // Contexts are made on first use; not part of the figure.
    for s in &scripts {
        s.compute(&people[0], 0).unwrap();
    }
    let cpu = cpu_seconds();
    let started = Instant::now();
    for p in people {
        for s in &scripts {
            s.compute(p, 0).unwrap();
        }
    }
    let took = started.elapsed();
    let cpu = cpu_seconds() - cpu;
    let runs = (people.len() * scripts.len()) as f64;
    println!(
        "{:<12} {:>9} runs     {:>7.3} s wall  {:>6.2} s cpu  {:>9.1} µs cpu per script run",
        "per run",
        runs,
        took.as_secs_f64(),
        cpu,
        cpu * 1e6 / runs
    );
}

const SCRIPTS: [(&str, &str); 4] = [
    (
        "display_name.js",
        include_str!("../tests/it/scripts/display_name.js"),
    ),
    (
        "mail_iteration.js",
        include_str!("../tests/it/scripts/mail_iteration.js"),
    ),
    (
        "upn_from_accounts.js",
        include_str!("../tests/it/scripts/upn_from_accounts.js"),
    ),
    (
        "contract_start.js",
        include_str!("../tests/it/scripts/contract_start.js"),
    ),
];

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    println!("evaluate: {n} persons, 6 fields (4 JavaScript), {threads} thread(s)");
    let mut people = persons(n, today);
    println!(
        "{:<12} {:>9} persons  {:>8} {:>12}           peak {:>6.0} MiB",
        "generated",
        n,
        "",
        "",
        peak_mib()
    );
    if std::env::args().any(|a| a == "per-run") {
        per_run(&people);
        return;
    }
    let policy = policy();
    let (full, _) = run("full", &people, &policy, today);
    assert_eq!(
        full[1].fields.get(FieldAction::Create, "userName").unwrap(),
        "lars.vanbos0@example.org"
    );

    drop(full);
    // 1 % of the persons change their family name.
    for p in people.iter_mut().step_by(100) {
        p.name.family_name = p.name.family_name.as_ref().map(|f| format!("{f}-Nieuw"));
    }
    let (incremental, _) = run("incremental", &people, &policy, today);
    assert!(incremental[0]
        .fields
        .get(FieldAction::Create, "displayName")
        .unwrap()
        .as_str()
        .is_some_and(|d| d.contains("-Nieuw")));
    drop(incremental);
    let repeat: usize = std::env::var("MUSTER_BENCH_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    for _ in 0..repeat {
        let (_, _) = run("unchanged", &people, &policy, today);
    }
    per_run(&people[..n.min(10_000)]);
}
