//! Plan time and peak memory of the pure stages for N persons × 3 targets, in a process of
//! its own so the peak (VmHWM) belongs to that size alone. The stages run as the engine runs
//! them (`Engine::prepare`): per target, `evaluate_all` on every core, then the diff, one
//! target's evaluations alive at a time.

use muster_bench::generate::{observed, persons, policies, today};
use muster_core::connector::{Capabilities, Observed};
use muster_core::evaluate::{evaluate, evaluate_all, Evaluation};
use muster_core::model::AccountRef;
use muster_core::plan::{diff, DiffInput, StoredLink};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Instant;

/// Prints one line: persons, targets, seconds to plan, actions, peak RSS.
pub fn run(n: usize) -> anyhow::Result<()> {
    // Resident memory after each stage, on stderr: what the peak is made of.
    let mut stages = vec![("start", rss_kib())];
    let people = persons(n);
    stages.push(("persons", rss_kib()));
    let policies = policies()?;
    // Yesterday's target state is built outside the measured section.
    let states: Vec<(Observed, Vec<StoredLink>)> = policies
        .iter()
        .map(|p| {
            let e: Vec<Evaluation> = people.iter().map(|x| evaluate(x, p, today())).collect();
            observed(&e, p)
        })
        .collect();
    stages.push(("observed+links", rss_kib()));
    let caps = Capabilities::default();
    let fp = |_: &AccountRef, _: &str, v: &serde_json::Value| v.to_string();
    let fingerprints = HashMap::new();
    let held = HashSet::new();
    let secret = BTreeSet::new();
    let started = Instant::now();
    let mut actions = 0;
    for (policy, (observed, links)) in policies.iter().zip(&states) {
        let evaluations: Vec<Evaluation> = evaluate_all(&people, policy, today());
        stages.push(("evaluated", rss_kib()));
        let plan = diff(&DiffInput {
            target: &policy.target,
            capabilities: &caps,
            evaluations: &evaluations,
            held: &held,
            observed,
            links,
            fingerprints: &fingerprints,
            fingerprint: &fp,
            correlation: &policy.correlation,
            managed: &policy.managed_groups(),
            secret_fields: &secret,
            departed: &[],
            pending: &Default::default(),
            domains: None,
            leave_alone: None,
            type_fields: &Default::default(),
        });
        stages.push(("diffed", rss_kib()));
        actions += plan.actions.len();
    }
    let took = started.elapsed().as_secs_f64();
    let stages: Vec<String> = stages
        .iter()
        .map(|(stage, kib)| format!("{stage}={}", kib.map_or(0, |k| k / 1024)))
        .collect();
    eprintln!("resident MiB after: {}", stages.join(" "));
    println!(
        "plan  persons={n}  targets=3  seconds={took:.2}  actions={actions}  peak_rss_mib={}",
        peak_rss_kib().map_or_else(|| "?".into(), |k| (k / 1024).to_string())
    );
    Ok(())
}

/// VmHWM from /proc/self/status: the peak resident set of this process.
pub fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

/// VmRSS: the resident set now.
fn rss_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
