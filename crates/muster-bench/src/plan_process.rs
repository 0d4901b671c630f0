//! `muster-bench plan-process`: `muster plan` as a whole process, as an administrator runs it —
//! configuration load, reading a CSV export of N persons, reading the target, evaluating,
//! planning, writing the plan file and the table — timed from spawn to exit, with the child's
//! peak resident memory. The target is a SCIM simulator in this process, empty, so every
//! person gets a create and two grants (100,000 persons: 300,000 actions).

use anyhow::{bail, Context, Result};
use muster_sim::scim::{ScimSim, ScimSimConfig};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// One SCIM target: four mappings (one a template), a static and a dynamic permission.
fn config() -> String {
    r#"[store]
path = "muster.db"

[source]
kind = "csv"
persons = "persons.csv"
contracts = "contracts.csv"

[[rules]]
name = "employees"
account = true
access = true
permissions = ["All staff"]
dynamic_permissions = [{ template = "Dept {Contract.Department}" }]

[targets.scim]
kind = "scim"
connection = { base_url = "http://127.0.0.1:1/scim/v2", auth = { bearer = { file = "token" } }, rate_limit = { requests = 100000, per_seconds = 1 } }
correlation = { person = "Contact.Business.Email", account = "userName" }

[[targets.scim.mapping]]
field = "userName"
path = "Contact.Business.Email"

[[targets.scim.mapping]]
field = "name.givenName"
path = "Name.GivenName"

[[targets.scim.mapping]]
field = "name.familyName"
path = "Name.FamilyName"

[[targets.scim.mapping]]
field = "displayName"
template = "{Name.GivenName} {Name.FamilyNamePrefix?} {Name.FamilyName}"
"#
    .to_owned()
}

/// The `muster` binary: the one given, or the one built beside this benchmark
/// (`cargo build --release -p muster-bench -p muster-cli`).
pub fn muster_binary(given: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    let me = std::env::current_exe().context("cannot find this benchmark's own binary")?;
    let beside = me
        .parent()
        .map(|dir| dir.join("muster"))
        .context("this benchmark's binary has no directory")?;
    if !beside.is_file() {
        bail!(
            "no `muster` binary beside {}: build it with `cargo build --release -p muster-cli` (same target directory) or pass --muster",
            me.display()
        );
    }
    Ok(beside)
}

/// Prints `muster plan  persons=…  seconds=…  peak_rss_mib=…  rows=…  plan_mib=…`.
pub async fn run(n: usize, muster: &Path, full: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    crate::org::write_export(dir.path(), n, 0)?;
    std::fs::write(dir.path().join("token"), "bench")?;
    std::fs::write(dir.path().join("muster.toml"), config())?;
    let sim = ScimSim::start(ScimSimConfig {
        token: "bench".into(),
        ..ScimSimConfig::default()
    })
    .await?;
    let table = std::fs::File::create(dir.path().join("table.txt"))?;
    let mut args = vec!["plan", "--out", "plan.json"];
    if full {
        args.push("--full");
    }
    let started = Instant::now();
    let status = tokio::process::Command::from({
        let mut c = Command::new(muster);
        c.args(&args)
            .current_dir(dir.path())
            .env("MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL", &sim.base_url)
            .stdout(Stdio::from(table))
            .stderr(Stdio::inherit());
        c
    })
    .status()
    .await
    .with_context(|| format!("cannot run {}", muster.display()))?;
    let took = started.elapsed().as_secs_f64();
    sim.shutdown().await?;
    // 2: the plan has changes, as it must here.
    if status.code() != Some(2) {
        bail!("`muster plan` ended with {status}, expected exit code 2 (changes planned)");
    }
    let rows = std::fs::read_to_string(dir.path().join("table.txt"))?
        .lines()
        .count();
    let plan_mib = std::fs::metadata(dir.path().join("plan.json"))?.len() / (1024 * 1024);
    println!(
        "muster plan  persons={n}  seconds={took:.2}  peak_rss_mib={}  rows={rows}  plan_mib={plan_mib}",
        children_peak_rss_kib().map_or_else(|| "?".into(), |k| (k / 1024).to_string())
    );
    Ok(())
}

/// The largest peak resident set of this process's waited-for children (`getrusage`): here
/// the one `muster` process.
fn children_peak_rss_kib() -> Option<u64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` writes a whole `rusage` into the pointer it is given, which points to
    // one, and reads nothing else.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: `getrusage` returned 0, so it filled the struct.
    let usage = unsafe { usage.assume_init() };
    u64::try_from(usage.ru_maxrss).ok()
}
