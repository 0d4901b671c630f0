//! `muster-bench cloud-sync`: Zivver Cloud Sync at size. An Exchange Online simulator tenant
//! (`TenantSeed::example`: user mailboxes, a fifth of the mailboxes shared, each shared mailbox
//! with Full Access for a number of users and some groups), read by the `exchange-online`
//! source and loaded into the Zivver simulator with `examples/cloudsync/muster.toml` as it is,
//! only its URLs and secrets pointed at the simulators (and `--perform-sync`,
//! `--allow-large-sync` for the first load, as a user would run it).
//!
//! Zivver's budget (50 requests per 10 s) is kept in shape but run `speedup` times faster on
//! both sides: the simulator's window is 10/k s and so is Muster's `rate_limit.per_seconds`.
//!
//! The source reads the whole tenant from the simulator. The simulator's permission answers
//! cost it a scan of the tenant's grants each (about 5 minutes of its CPU at 10,000 mailboxes),
//! so `read_mailboxes` can read a smaller tenant of the same shape instead: the plan and the
//! load then run on that read tiled up to `mailboxes` (copy c's addresses prefixed `c<c>.`, its
//! object ids' first group `c`), fed through a `json` source in the source's own record shape,
//! as the engine's Cloud Sync tests do. Tiled or not, plan and load go through the `json`
//! export, so that the source is read once.

use anyhow::{bail, Context, Result};
use muster_core::plan::ActionKind;
use muster_core::report::RunSummary;
use muster_engine::{Config, Engine};
use muster_sim::exchange::{ExchangeSim, ExchangeSimConfig, TenantSeed};
use muster_sim::zivver::{ZivverSim, ZivverSimConfig, ZivverSwitches};
use muster_sim::Faults;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Instant;

/// The example configuration the bench runs, unchanged but for the replacements below.
const EXAMPLE: &str = include_str!("../../../examples/cloudsync/muster.toml");

/// The example's application id: the simulator is told to accept it.
const CLIENT_ID: &str = "00000000-0000-0000-0000-000000000000";

/// Replaces `from` (which must occur exactly once) by `to`.
fn replace_once(text: &str, from: &str, to: &str) -> Result<String> {
    match text.matches(from).count() {
        1 => Ok(text.replacen(from, to, 1)),
        n => bail!("examples/cloudsync/muster.toml: expected `{from}` once, found it {n} times"),
    }
}

fn rate_limited(zivver: &muster_sim::zivver::RunningZivverSim) -> u64 {
    zivver
        .state
        .fault_log()
        .iter()
        .filter(|e| format!("{:?}", e.fault) == "RateLimited")
        .count() as u64
}

fn done_by_kind(summary: &RunSummary) -> BTreeMap<ActionKind, usize> {
    let mut out = BTreeMap::new();
    for t in &summary.targets {
        for (k, c) in &t.by_action {
            *out.entry(*k).or_default() += c.done;
        }
    }
    out
}

/// Copy `c` of a record read from the source: addresses prefixed `c<c>.`, object ids (and so
/// the ExternalId) with their first group replaced by `c`. Copy 0 is the record itself.
fn tiled(value: &Value, c: usize) -> Value {
    match value {
        Value::String(s) if c > 0 && s.contains('@') => Value::String(format!("c{c}.{s}")),
        Value::String(s) if c > 0 && s.starts_with("00000000-") => {
            Value::String(format!("{c:08}{}", &s[8..]))
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| tiled(v, c)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), tiled(v, c))).collect())
        }
        other => other.clone(),
    }
}

pub async fn run(
    mailboxes: usize,
    delegations: usize,
    speedup: u64,
    read_mailboxes: Option<usize>,
) -> Result<()> {
    if ![1, 2, 5, 10].contains(&speedup) {
        bail!("--speedup must divide Zivver's 10 s window: 1, 2, 5 or 10");
    }
    let window_s = 10 / speedup;
    let copies = mailboxes.div_ceil(read_mailboxes.unwrap_or(mailboxes).max(5));
    let read_mailboxes = mailboxes.div_ceil(copies);
    let per_shared = delegations / (mailboxes / 5).max(1);
    let shared = (read_mailboxes / 5).max(1);
    let users = read_mailboxes - shared;
    let seed = TenantSeed::example("contoso.nl", users, shared, per_shared);
    let granted = seed.permissions.len();
    let exo = ExchangeSim::start(ExchangeSimConfig {
        client_id: CLIENT_ID.into(),
        client_secret: "bench-secret".into(),
        tenant_seed: seed,
        ..ExchangeSimConfig::default()
    })
    .await?;
    let zivver = ZivverSim::start(ZivverSimConfig {
        tokens: vec!["bench".into()],
        domains: vec!["contoso.nl".into()],
        switches: ZivverSwitches {
            faults: Faults {
                rate_limit: true,
                rate_budget: 50,
                rate_window_s: window_s,
                ..ZivverSwitches::default().faults
            },
            ..ZivverSwitches::default()
        },
        ..ZivverSimConfig::default()
    })
    .await?;

    let dir = tempfile::tempdir()?;
    let secret_file = dir.path().join("exo-secret");
    let token_file = dir.path().join("zivver-token");
    std::fs::write(&secret_file, "bench-secret")?;
    std::fs::write(&token_file, "bench")?;
    let mut config = replace_once(
        EXAMPLE,
        "client_secret = { env = \"EXO_CLIENT_SECRET\" }",
        &format!(
            "client_secret = {{ file = {:?} }}\ntoken_url = {:?}\nexchange_url = {:?}\ngraph_url = {:?}",
            secret_file.display().to_string(),
            exo.token_url(),
            exo.exchange_url(),
            exo.graph_url()
        ),
    )?;
    config = replace_once(
        &config,
        "token = { env = \"ZIVVER_TOKEN\" }",
        &format!(
            "token = {{ file = {:?} }}",
            token_file.display().to_string()
        ),
    )?;
    config = replace_once(
        &config,
        "rate_limit = { requests = 50, per_seconds = 10 }",
        &format!("rate_limit = {{ requests = 50, per_seconds = {window_s} }}"),
    )?;
    config = replace_once(
        &config,
        "base_url = \"https://app.zivver.com\"",
        &format!("base_url = {:?}", zivver.base_url),
    )?;
    std::fs::write(dir.path().join("muster.toml"), &config)?;
    let config = Config::load_with_env(&dir.path().join("muster.toml"), std::iter::empty())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // `--perform-sync --allow-large-sync`: the first load creates every account, far past the
    // fail-safe's 10 %.
    let reader = Engine::open(config).await?;
    let today = chrono::Utc::now().date_naive();
    println!(
        "read tenant: {users} user + {shared} shared mailboxes, {granted} Full Access entries ({per_shared} users per shared mailbox, plus groups, a group by GUID and a deleted SID on some); tiled {copies} times; Zivver budget 50 per {window_s} s ({speedup}x Zivver's 50 per 10 s)"
    );

    // 1. The source alone.
    let exo_before = exo.state.counter().total();
    let started = Instant::now();
    let (_, persons, blocked) = reader.read_source(today).await?;
    let read_s = started.elapsed().as_secs_f64();
    let exo_requests = exo.state.counter().total() - exo_before;
    let shared_read = persons
        .iter()
        .filter(|p| {
            p.custom.get("recipient_type").and_then(|v| v.as_str()) == Some("SharedMailbox")
        })
        .count();
    let delegates: usize = persons
        .iter()
        .filter_map(|p| p.custom.get("delegates").and_then(|v| v.as_array()))
        .map(Vec::len)
        .sum();
    println!(
        "source read: {} mailboxes ({shared_read} shared), {delegates} delegations, {} blocked, in {read_s:.2} s, {exo_requests} requests to the Exchange simulator",
        persons.len(),
        blocked.len()
    );
    println!("  by route: {:?}", exo.state.counter().snapshot());
    drop(reader);
    exo.shutdown().await?;

    // The read, tiled, as a `json` source's export.
    let one: Vec<Value> = persons
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    let all: Vec<Value> = (0..copies)
        .flat_map(|c| one.iter().map(move |p| tiled(p, c)))
        .collect();
    std::fs::write(dir.path().join("mailboxes.json"), serde_json::to_vec(&all)?)?;
    let text = std::fs::read_to_string(dir.path().join("muster.toml"))?;
    let (before, rest) = text
        .split_once("[source]\n")
        .context("no [source] in the example")?;
    let (_, after) = rest
        .split_once("[source_thresholds]")
        .context("no [source_thresholds] in the example")?;
    std::fs::write(
        dir.path().join("muster.toml"),
        format!("{before}[source]\nkind = \"json\"\npath = \"mailboxes.json\"\n\n[source_thresholds]{after}"),
    )?;
    let config = Config::load_with_env(&dir.path().join("muster.toml"), std::iter::empty())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // `--perform-sync --allow-large-sync`: the first load creates every account, far past the
    // fail-safe's 10 %.
    let engine = Engine::open(config)
        .await?
        .performing_sync(true)
        .allowing_large(true);
    let started = Instant::now();
    let (_, persons, _) = engine.read_source(today).await?;
    let read_s = started.elapsed().as_secs_f64();
    let delegates: usize = persons
        .iter()
        .filter_map(|p| p.custom.get("delegates").and_then(|v| v.as_array()))
        .map(Vec::len)
        .sum();
    println!(
        "tiled: {} mailboxes, {delegates} delegations, read from the json export in {read_s:.2} s",
        persons.len()
    );

    // 2. The plan: source read again, the (empty) Zivver tenant read, evaluate, diff, gate.
    let zivver_before = zivver.state.total_requests();
    let started = Instant::now();
    let prepared = engine.prepare(today).await?;
    let prepare_s = started.elapsed().as_secs_f64();
    let actions: usize = prepared.gated.iter().map(|g| g.plan().actions.len()).sum();
    let mut kinds: BTreeMap<ActionKind, usize> = BTreeMap::new();
    for g in &prepared.gated {
        for a in &g.plan().actions {
            *kinds.entry(a.kind).or_default() += 1;
        }
    }
    println!(
        "plan: {actions} actions {kinds:?} in {prepare_s:.2} s (source read included; without it ≈ {:.2} s), {} requests to Zivver (its reads)",
        prepare_s - read_s,
        zivver.state.total_requests() - zivver_before
    );
    drop(prepared);

    // 3. The first load: applies until nothing is left to do (at most 4 runs).
    let mut total_s = 0.0;
    let mut total_requests = 0;
    let mut total_429 = 0;
    for n in 1..=4 {
        let (before, before_429) = (zivver.state.total_requests(), rate_limited(&zivver));
        let started = Instant::now();
        let r = engine.apply(today, None).await.context("apply")?;
        let took = started.elapsed().as_secs_f64();
        let requests = zivver.state.total_requests() - before;
        let rejected = rate_limited(&zivver) - before_429;
        let t = r
            .summary
            .targets
            .iter()
            .map(|t| t.totals())
            .fold((0, 0, 0), |acc, c| {
                (acc.0 + c.planned, acc.1 + c.done, acc.2 + c.failed)
            });
        if t.0 == 0 {
            println!("apply {n}: nothing left to do ({took:.1} s, {requests} requests)");
            break;
        }
        total_s += took;
        total_requests += requests;
        total_429 += rejected;
        println!(
            "apply {n}: {} planned, {} done {:?}, {} failed, in {took:.1} s; {requests} requests to Zivver ({rejected} answered 429) = {:.2}/s = {:.1} % of the budget",
            t.0,
            t.1,
            done_by_kind(&r.summary),
            t.2,
            requests as f64 / took,
            100.0 * requests as f64 / took / (50.0 / window_s as f64),
        );
    }
    let accepted = total_requests - total_429;
    let failed = engine
        .store
        .audit(&muster_store::AuditQuery {
            outcome: Some(muster_core::report::ActionOutcome::Failed),
            limit: 5,
            ..muster_store::AuditQuery::default()
        })
        .await?;
    for e in failed {
        println!(
            "  failed: {} {:?}: {}",
            e.person,
            e.action,
            e.detail.unwrap_or_default()
        );
    }
    let functional = zivver.state.groups();
    let members: usize = functional
        .iter()
        .filter_map(|g| g["members"].as_array())
        .map(Vec::len)
        .sum();
    println!(
        "zivver now: {} users, {} functional accounts with {members} delegations in all",
        zivver.state.users().len(),
        functional.len()
    );
    println!(
        "first load: {total_s:.1} s measured at 50 per {window_s} s; × {speedup} = {:.0} s ({:.1} min) at 50 per 10 s; {accepted} requests accepted ({total_429} answered 429) ÷ 5/s = {:.0} s ({:.1} min) physical minimum",
        total_s * speedup as f64,
        total_s * speedup as f64 / 60.0,
        accepted as f64 / 5.0,
        accepted as f64 / 300.0
    );
    drop(engine);
    Ok(())
}
