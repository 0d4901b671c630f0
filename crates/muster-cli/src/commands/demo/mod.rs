//! `muster demo`: the simulators, and a guided run of the example organisation through
//! preview, apply and a day of HR changes. `muster demo cloud-sync` ([`cloudsync`]): an
//! example Exchange Online tenant into Zivver. The helpers both use live here.

mod cloudsync;

use crate::exit;
use crate::output;
use anyhow::{bail, Context, Result};
use muster_core::model::ExternalId;
use muster_core::report::RunStatus;
use muster_engine::progress::Progress;
use muster_engine::{Config, Engine};
use muster_sim::helloid::{HelloIdSim, HelloIdSimConfig};
use muster_sim::scim::{ScimSim, ScimSimConfig};
use muster_sim::zivver::{ZivverSim, ZivverSimConfig, ZivverSwitches};
use muster_sim::Faults;
use muster_store::AuditQuery;
use std::path::Path;
use std::sync::Arc;

const CONFIG: &str = include_str!("../../../../../examples/demo/muster.toml");
const DAY1_PERSONS: &str = include_str!("../../../../../examples/demo/day1/persons.csv");
const DAY1_CONTRACTS: &str = include_str!("../../../../../examples/demo/day1/contracts.csv");
const DAY2_PERSONS: &str = include_str!("../../../../../examples/demo/day2/persons.csv");
const DAY2_CONTRACTS: &str = include_str!("../../../../../examples/demo/day2/contracts.csv");
const DEPARTMENTS: [&str; 8] = [
    "Finance",
    "HR",
    "ICT",
    "Sales",
    "Marketing",
    "Support",
    "Legal",
    "Facilities",
];
/// The person whose sign-in name (Zivver's SSO account key) changes on day 2; the demo shows
/// their audit trail.
const SSO_CHANGED: &str = "10085";
/// Zivver functional accounts the example rules grant.
const FUNCTIONAL_ACCOUNTS: [&str; 4] = [
    "Administratie",
    "Servicedesk",
    "Personeelszaken",
    "Leidinggevenden",
];
/// Zivver allows 50 requests per 10 s; the demos run simulator and client this many times
/// faster, and say so.
const ZIVVER_SPEEDUP: u32 = 5;
/// Zivver's request budget per 10 s, sped up ([`ZIVVER_SPEEDUP`]).
const ZIVVER_BUDGET: u32 = 50 * ZIVVER_SPEEDUP;
/// The demo's HelloID API key (not a secret: the simulator lives as long as the demo); the
/// API secret is the demo's per-run token.
const HELLOID_KEY: &str = "demo-helloid";

/// Groups the example rules grant: `All staff` and one per department.
pub fn demo_groups() -> Vec<String> {
    std::iter::once("All staff".to_owned())
        .chain(DEPARTMENTS.iter().map(|d| format!("Dept {d}")))
        .collect()
}

/// The demo's simulators, started for one run and stopped at its end.
struct Sims {
    scim: muster_sim::RunningScimSim,
    zivver: muster_sim::RunningZivverSim,
    helloid: muster_sim::RunningHelloIdSim,
}

pub use cloudsync::run as cloud_sync;

pub async fn run(dir: &Path) -> Result<u8> {
    let day1: chrono::NaiveDate = "2026-03-02".parse()?;
    let day2: chrono::NaiveDate = "2026-03-03".parse()?;
    let dir = empty_folder(dir)?;
    let token = format!("demo-{}", std::process::id());
    let sims = start_sims(&token).await?;
    let config_path = write_config(&dir, &token)?;
    write_day(&dir, DAY1_PERSONS, DAY1_CONTRACTS)?;
    print_intro(&dir, &sims, day1, day2);
    let engine = open_engine(&config_path, &sims).await?;

    initial_load(&engine, &sims, day1).await?;
    hr_day(&engine, &dir, day2).await?;
    plan_again(&engine, day2).await?;
    audit_trail(&engine).await?;

    println!(
        "HTTP requests answered: SCIM {}, Zivver {}, HelloID {}",
        sims.scim.state.total_requests(),
        sims.zivver.state.total_requests(),
        sims.helloid.state.total_requests()
    );
    println!(
        "Try: muster --config {} runs | audit --person {SSO_CHANGED}",
        config_path.display()
    );
    println!(
        "(the simulators stop with the demo; `muster sim scim --groups ...` runs one on its own)"
    );
    sims.scim.shutdown().await?;
    sims.zivver.shutdown().await?;
    sims.helloid.shutdown().await?;
    Ok(exit::OK)
}

/// The demo's folder, emptied (it only ever holds what an earlier demo wrote), as an
/// absolute path.
fn empty_folder(dir: &Path) -> Result<std::path::PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir.canonicalize()?)
}

/// The SCIM, Zivver and HelloID simulators, seeded with what the example rules grant.
async fn start_sims(token: &str) -> Result<Sims> {
    let scim = ScimSim::start(ScimSimConfig {
        token: token.to_owned(),
        ..ScimSimConfig::default()
    })
    .await?;
    muster_engine::kinds::scim::seed_groups(&scim.state, &demo_groups())?;
    let zivver = ZivverSim::start(ZivverSimConfig {
        tokens: vec![token.to_owned()],
        divisions: DEPARTMENTS.iter().map(|d| (*d).to_owned()).collect(),
        switches: zivver_switches(),
        ..ZivverSimConfig::default()
    })
    .await?;
    for name in FUNCTIONAL_ACCOUNTS {
        zivver
            .state
            .seed_group(serde_json::json!({ "displayName": name, "members": [] }))
            .map_err(|e| {
                anyhow::anyhow!("cannot create functional account {name} in the simulator: {e:?}")
            })?;
    }
    let helloid = HelloIdSim::start(HelloIdSimConfig {
        credentials: vec![(HELLOID_KEY.to_owned(), token.to_owned())],
        products: vec!["Laptop".to_owned()],
        ..HelloIdSimConfig::default()
    })
    .await?;
    Ok(Sims {
        scim,
        zivver,
        helloid,
    })
}

/// The example configuration with its secrets read from files in `dir` (the token and the
/// HelloID key), written as `dir/muster.toml`.
fn write_config(dir: &Path, token: &str) -> Result<std::path::PathBuf> {
    let token_ref = secret_file(dir, "api-token", token)?;
    let key_ref = secret_file(dir, "helloid-key", HELLOID_KEY)?;
    let config_text = CONFIG
        .replace("{ env = \"SCIM_TOKEN\" }", &token_ref)
        .replace("{ env = \"ZIVVER_TOKEN\" }", &token_ref)
        .replace("{ env = \"HELLOID_KEY\" }", &key_ref)
        .replace("{ env = \"HELLOID_SECRET\" }", &token_ref);
    let config_path = dir.join("muster.toml");
    std::fs::write(&config_path, config_text)?;
    Ok(config_path)
}

fn print_intro(dir: &Path, sims: &Sims, day1: chrono::NaiveDate, day2: chrono::NaiveDate) {
    println!("Muster demo");
    println!(
        "  folder:    {} (SQLite store, config, HR export)",
        dir.display()
    );
    println!("  targets:   SCIM 2.0 simulator at {}", sims.scim.base_url);
    println!("             Zivver simulator at {}", sims.zivver.base_url);
    println!(
        "             HelloID simulator at {}",
        sims.helloid.base_url
    );
    println!("  dates:     pinned to {day1} and {day2}, the days of the example HR exports");
    println!("{}", speedup_note());
    println!();
}

/// The intro's line on Zivver's budget, sped up.
fn speedup_note() -> String {
    format!("  note:      Zivver allows 50 requests per 10 s; to finish in about a minute the demo runs the\n             Zivver simulator and Muster's Zivver budget at {ZIVVER_BUDGET} per 10 s ({ZIVVER_SPEEDUP}x). Muster still\n             stays inside the budget it is given.")
}

/// The Zivver simulator's switches for a demo: its rate limit at [`ZIVVER_BUDGET`] per 10 s.
fn zivver_switches() -> ZivverSwitches {
    ZivverSwitches {
        faults: Faults {
            rate_budget: ZIVVER_BUDGET,
            rate_window_s: 10,
            ..ZivverSwitches::default().faults
        },
        ..ZivverSwitches::default()
    }
}

/// Writes `value` to `dir/name` and returns the configuration's reference to it
/// (`{ file = "…" }`), so the demo's secrets are never in its configuration.
fn secret_file(dir: &Path, name: &str, value: &str) -> Result<String> {
    let file = dir.join(name);
    std::fs::write(&file, value).with_context(|| format!("cannot write {}", file.display()))?;
    Ok(format!("{{ file = {:?} }}", file.display().to_string()))
}

/// The engine over the demo's configuration, pointed at the simulators.
async fn open_engine(config_path: &Path, sims: &Sims) -> Result<Engine> {
    let mut overrides = zivver_overrides(&sims.zivver);
    overrides.extend([
        (
            "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL".to_owned(),
            sims.scim.base_url.clone(),
        ),
        (
            "MUSTER__TARGETS__HELLOID__CONNECTION__BASE_URL".to_owned(),
            sims.helloid.api_url(),
        ),
        // HelloID documents no limit; the example's polite 10 per second would only make the
        // demo wait.
        (
            "MUSTER__TARGETS__HELLOID__CONNECTION__RATE_LIMIT__REQUESTS".to_owned(),
            "200".to_owned(),
        ),
    ]);
    load_engine(config_path, &overrides).await
}

/// The settings that point a demo's target `zivver` at its simulator, at [`ZIVVER_BUDGET`].
fn zivver_overrides(zivver: &muster_sim::RunningZivverSim) -> Vec<(String, String)> {
    vec![
        (
            "MUSTER__TARGETS__ZIVVER__CONNECTION__BASE_URL".to_owned(),
            zivver.base_url.clone(),
        ),
        (
            "MUSTER__TARGETS__ZIVVER__CONNECTION__RATE_LIMIT__REQUESTS".to_owned(),
            ZIVVER_BUDGET.to_string(),
        ),
    ]
}

/// The engine over a demo's configuration with `overrides` (`MUSTER__…` settings pointing it
/// at the simulators), with a progress bar on a terminal.
async fn load_engine(config_path: &Path, overrides: &[(String, String)]) -> Result<Engine> {
    let config = Config::load_with_env(
        config_path,
        std::env::vars().chain(overrides.iter().cloned()),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let engine = Engine::open(config).await?;
    Ok(match output::Bar::new() {
        Some(bar) => engine.with_progress(Arc::new(bar) as Arc<dyn Progress>),
        None => engine,
    })
}

/// Steps 1 and 2: preview and apply the first day.
async fn initial_load(engine: &Engine, sims: &Sims, day1: chrono::NaiveDate) -> Result<()> {
    println!("== 1. Preview of the initial load ({day1}) ==");
    let preview = engine.preview(day1).await?;
    print!("{}", output::summary(&preview.summary));
    println!();

    println!("== 2. Apply ==");
    let started = std::time::Instant::now();
    let applied = engine.apply(day1, None).await?;
    print!("{}", output::summary(&applied.summary));
    println!(
        "applied in {:.1} s; the simulators now hold {} SCIM, {} Zivver and {} HelloID users",
        started.elapsed().as_secs_f64(),
        sims.scim.state.users().len(),
        sims.zivver.state.users().len(),
        sims.helloid.state.users().len()
    );
    let helloid = &sims.helloid.state;
    let with_manager = helloid
        .users()
        .iter()
        .filter(|u| !u["managedByUserGUID"].is_null())
        .count();
    let department_groups = helloid
        .groups()
        .iter()
        .filter(|g| {
            g["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("department_"))
        })
        .count();
    println!("HelloID: {with_manager} users with their manager set, {department_groups} department groups created before they were granted");
    check(
        applied.summary.status(),
        RunStatus::Changes,
        "initial apply",
    )?;
    println!();
    Ok(())
}

/// Step 3: the second day's export, its plan and its apply.
async fn hr_day(engine: &Engine, dir: &Path, day2: chrono::NaiveDate) -> Result<()> {
    println!("== 3. A day of HR changes ({day2}) ==");
    println!("5 department moves, 3 leavers, 2 hires starting 2026-03-16, 1 rename, 1 new sign-in name (Zivver SSO key), 1 alias added, 1 removed");
    write_day(dir, DAY2_PERSONS, DAY2_CONTRACTS)?;
    let preview = engine.preview(day2).await?;
    println!("{}", output::plan_lines(&preview.plan, false));
    println!();
    let applied = engine.apply(day2, None).await?;
    print!("{}", output::summary(&applied.summary));
    check(
        applied.summary.status(),
        RunStatus::Changes,
        "incremental apply",
    )?;
    println!();
    Ok(())
}

/// Step 4: a new plan finds nothing left to do.
async fn plan_again(engine: &Engine, day2: chrono::NaiveDate) -> Result<()> {
    println!("== 4. Plan again: nothing left to do ==");
    let again = engine.preview(day2).await?;
    print!("{}", output::summary(&again.summary));
    check(
        again.summary.status(),
        RunStatus::NoChanges,
        "plan after apply",
    )?;
    println!();
    Ok(())
}

/// Step 5: the audit trail of the person whose sign-in name changed.
async fn audit_trail(engine: &Engine) -> Result<()> {
    println!("== 5. Audit trail of person {SSO_CHANGED} (secret values show as ***) ==");
    let events = engine
        .store
        .audit(&AuditQuery {
            person: Some(ExternalId::new(SSO_CHANGED)),
            limit: 50,
            ..AuditQuery::default()
        })
        .await?;
    let rows: Vec<Vec<String>> = events.iter().map(audit_row).collect();
    println!(
        "{}",
        output::table(&["target", "action", "outcome", "what", "why"], &rows)
    );
    println!();
    Ok(())
}

/// One audit event as a row: target, action, outcome, what (the group, or the changes), why.
fn audit_row(e: &muster_core::report::AuditEvent) -> Vec<String> {
    let what = e
        .permission
        .as_ref()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| {
            e.changes
                .iter()
                .map(|c| {
                    format!(
                        "{}={}",
                        output::short_field(&c.field),
                        c.after.as_ref().map(|v| v.to_string()).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        });
    vec![
        e.target.to_string(),
        e.action.to_string(),
        e.outcome.to_string(),
        what,
        e.reason.clone(),
    ]
}

fn write_day(dir: &Path, persons: &str, contracts: &str) -> Result<()> {
    std::fs::write(dir.join("persons.csv"), persons)?;
    std::fs::write(dir.join("contracts.csv"), contracts)?;
    Ok(())
}

fn check(got: RunStatus, want: RunStatus, step: &str) -> Result<()> {
    if got != want {
        bail!(
            "demo step `{step}` ended {}, expected {}",
            got.as_str(),
            want.as_str()
        );
    }
    Ok(())
}
