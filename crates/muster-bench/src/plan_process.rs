//! `muster-bench plan-process`: `muster plan` as a whole process, as an administrator runs it —
//! configuration load, reading a CSV export of N persons, reading the target, evaluating,
//! planning, writing the plan file and the table — timed from spawn to exit, with the child's
//! peak resident memory. The target is a SCIM simulator in this process, empty, so every
//! person gets a create and two grants (100,000 persons: 300,000 actions).

use anyhow::{bail, Context, Result};
use muster_sim::scim::{ScimSim, ScimSimConfig};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long `muster plan` may run before it is killed (100,000 persons take seconds).
const LIMIT: Duration = Duration::from_secs(600);

/// One SCIM target: four mappings (one a template), a static and a dynamic permission.
fn config() -> String {
    crate::org::HEADER.to_owned()
        + r#"permissions = ["All staff"]
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
    let child = Command::new(muster)
        .args(&args)
        .current_dir(dir.path())
        .env("MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL", &sim.base_url)
        .stdout(Stdio::from(table))
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot run {}", muster.display()))?;
    let pid = libc::pid_t::try_from(child.id()).context("child pid out of range")?;
    // Waited for off the runtime, which serves the simulator meanwhile; killed if it hangs.
    let mut waiting = tokio::task::spawn_blocking(move || wait_with_peak(pid));
    let (code, peak_kib) = match tokio::time::timeout(LIMIT, &mut waiting).await {
        Ok(waited) => waited??,
        Err(_) => {
            // SAFETY: `kill` only sends a signal to our own child, which no one else reaps.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = waiting.await;
            bail!("`muster plan` ran longer than {LIMIT:?} and was killed");
        }
    };
    drop(child);
    let took = started.elapsed().as_secs_f64();
    sim.shutdown().await?;
    // 2: the plan has changes, as it must here.
    if code != Some(2) {
        bail!("`muster plan` ended with exit code {code:?}, expected 2 (changes planned)");
    }
    let rows = std::fs::read_to_string(dir.path().join("table.txt"))?
        .lines()
        .count();
    let plan_mib = std::fs::metadata(dir.path().join("plan.json"))?.len() / (1024 * 1024);
    println!(
        "muster plan  persons={n}  seconds={took:.2}  peak_rss_mib={}  rows={rows}  plan_mib={plan_mib}",
        peak_kib / 1024
    );
    Ok(())
}

/// Waits for child `pid` and returns its exit code and its own peak resident set (`wait4`: the
/// rusage of that one process, not of everything this process ever waited for).
fn wait_with_peak(pid: libc::pid_t) -> Result<(Option<i32>, u64)> {
    let mut status: libc::c_int = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // Interrupted by a signal: wait again (a bounded number of times).
    for _ in 0..100 {
        // SAFETY: `wait4` writes an int to `status` and a whole `rusage` to `usage`, both valid
        // for writes; the child is ours and reaped nowhere else (its `Child` is only dropped).
        let rc = unsafe { libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()) };
        if rc == pid {
            // SAFETY: `wait4` returned the pid, so it filled the struct.
            let usage = unsafe { usage.assume_init() };
            let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
            return Ok((code, u64::try_from(usage.ru_maxrss).unwrap_or(0)));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            bail!("waiting for muster failed: {error}");
        }
    }
    bail!("waiting for muster was interrupted 100 times")
}
