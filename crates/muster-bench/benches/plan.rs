//! Plan time of the pure stages: evaluate + correlate/diff for N generated persons × 3
//! targets, with native (TOML-style) mappings and with the example HelloID JavaScript mappings.
//! *daily*: each target already holds yesterday's accounts and memberships, 1 % differ;
//! *initial*: no accounts yet. Run: `cargo bench -p muster-bench --bench plan`.
//! (1,000,000 persons: `muster-bench plan-memory --persons 1000000`, one run of ~a minute.)

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use muster_bench::generate::{observed, persons, policies, policies_js, today};
use muster_core::connector::{Capabilities, Observed};
use muster_core::evaluate::{evaluate, evaluate_with, Evaluation, FieldNames};
use muster_core::model::AccountRef;
use muster_core::plan::{diff, DiffInput, StoredLink};
use std::collections::{BTreeSet, HashMap, HashSet};

fn plan(c: &mut Criterion) {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/mappings");
    let (Ok(native), Ok(js)) = (policies(), policies_js(&examples)) else {
        return;
    };
    for (mappings, policies) in [("native", native), ("javascript", js)] {
        plan_with(c, mappings, &policies);
    }
}

fn plan_with(c: &mut Criterion, mappings: &str, policies: &[muster_core::evaluate::TargetPolicy]) {
    let caps = Capabilities::default();
    let fp = |_: &AccountRef, _: &str, v: &serde_json::Value| v.to_string();
    let fingerprints = HashMap::new();
    let held = HashSet::new();
    let secret = BTreeSet::new();
    let mut group = c.benchmark_group(format!("evaluate+diff, 3 targets, {mappings} mappings"));
    group.sample_size(10);
    for n in [10_000usize, 100_000] {
        let people = persons(n);
        let states: Vec<(Observed, Vec<StoredLink>)> = policies
            .iter()
            .map(|p| {
                let e: Vec<Evaluation> = people.iter().map(|x| evaluate(x, p, today())).collect();
                observed(&e, p)
            })
            .collect();
        let empty: Vec<(Observed, Vec<StoredLink>)> = states
            .iter()
            .map(|(o, _)| {
                (
                    Observed {
                        accounts: vec![],
                        groups: o.groups.clone(),
                        deleted: Vec::new(),
                    },
                    vec![],
                )
            })
            .collect();
        group.throughput(Throughput::Elements(n as u64));
        for (label, states) in [("daily", &states), ("initial", &empty)] {
            group.bench_with_input(BenchmarkId::new(label, n), &n, |b, _| {
                b.iter(|| {
                    let mut actions = 0;
                    for (policy, (observed, links)) in policies.iter().zip(states.iter()) {
                        // A run starts here: JavaScript results of unchanged persons are reused.
                        policy.start_run();
                        // Names are made once per run, as `evaluate_all` does.
                        let names = FieldNames::of(&policy.mappings);
                        let evaluations: Vec<Evaluation> = people
                            .iter()
                            .map(|p| evaluate_with(p, policy, &names, today()))
                            .collect();
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
                        actions += plan.actions.len();
                    }
                    assert!(actions > 0);
                    actions
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, plan);
criterion_main!(benches);
