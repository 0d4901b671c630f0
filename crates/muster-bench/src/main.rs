//! `muster-bench`: the benchmarks that need whole processes, simulators or a real server.
//! Every subcommand prints figures; `docs/BENCHMARKS.md` records them with the command.
//!
//! ```text
//! muster-bench plan-memory --persons 100000        # plan time + peak RSS, 3 targets
//! muster-bench requests --persons 10000            # HTTP requests per applied change vs naive
//!                                                  # (SCIM, Zivver; HelloID without naive)
//! muster-bench zivver-budget --persons 200         # share of Zivver's 50/10 s budget used, 429s
//! muster-bench creates --persons 2000 [--scim2-server BIN] [--store sqlite|postgres]
//!                                                  # unthrottled creates per second
//! muster-bench store --backend sqlite|postgres     # journal transitions/s, then `creates`
//! muster-bench cloud-sync --mailboxes 10000 --delegations 20000   # Exchange Online → Zivver
//! muster-bench api-latency --persons 100000 --runs 1000       # muster serve: p50/p99 per request
//! muster-bench grants --members 100000 --grants 3000          # grants/s into one large group
//! muster-bench goals [--million] [--scim2-server BIN]          # every figure beside its goal
//! muster-bench sims --users 100000 [--rounds 200]  # each simulator's cost per request at scale
//! ```

mod api_latency;
mod cloud_sync;
mod goals;
mod grants;
mod jit_latency;
mod naive;
mod org;
mod plan_memory;
mod plan_process;
mod sims;
mod store_bench;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use muster_core::plan::ActionKind;
use muster_core::report::RunSummary;
use muster_engine::{Config, Engine};
use muster_sim::scim::{RunningScimSim, ScimSim, ScimSimConfig};
use muster_sim::zivver::{RunningZivverSim, ZivverSim, ZivverSimConfig, ZivverSwitches};
use muster_sim::{Faults, HelloIdSim, HelloIdSimConfig, RunningHelloIdSim};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use store_bench::Backend;

/// The allocator the `muster` binary uses, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The database `--store postgres` and `store --backend postgres` use (trust auth); each run
/// works in a fresh schema and drops it.
const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Plan time and peak memory (RSS) of evaluate + diff for N persons × 3 targets.
    PlanMemory {
        #[arg(long, default_value_t = 100_000)]
        persons: usize,
    },
    /// `muster plan` as a whole process (CSV export of N persons, one empty SCIM target):
    /// wall time from spawn to exit and the child's peak RSS.
    PlanProcess {
        #[arg(long, default_value_t = 100_000)]
        persons: usize,
        /// The `muster` binary; by default the one beside this benchmark.
        #[arg(long)]
        muster: Option<std::path::PathBuf>,
        /// Every row of the table (`muster plan --full`).
        #[arg(long)]
        full: bool,
    },
    /// Every figure of issue 14 and the sign-in hook's, beside its goal and the ratio, each
    /// measured by its own subcommand in a process of its own.
    Goals {
        /// Also plan 1,000,000 persons (minutes, ~12 GiB).
        #[arg(long)]
        million: bool,
        /// Also measure creates against this scim2-server binary.
        #[arg(long)]
        scim2_server: Option<String>,
    },
    /// Grants per second into one group of `members` members on the SCIM simulator.
    Grants {
        #[arg(long, default_value_t = 100_000)]
        members: usize,
        #[arg(long, default_value_t = 3000)]
        grants: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// HTTP requests per applied change (initial load, then a 2 % day) against the SCIM, Zivver
    /// and HelloID simulators, beside a per-person "read, then write" client on the first two.
    Requests {
        #[arg(long, default_value_t = 10_000)]
        persons: usize,
    },
    /// A long apply against Zivver's real budget (50 per 10 s): the share used and the 429s.
    ZivverBudget {
        #[arg(long, default_value_t = 200)]
        persons: usize,
    },
    /// Creates per second against the SCIM simulator, and against scim2-server when given.
    Creates {
        #[arg(long, default_value_t = 2000)]
        persons: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Path of the scim2-server binary (e.g. .venv-scim2/bin/scim2-server).
        #[arg(long)]
        scim2_server: Option<String>,
        /// Muster's store: a SQLite file, or a fresh schema of the PostgreSQL database.
        #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
        store: Backend,
        #[arg(long, default_value = POSTGRES_URL)]
        postgres_url: String,
    },
    /// The store: journal transitions per second (planned → sent → done with its audit event,
    /// 1 and 8 in flight), then `creates` (an apply of N creates against the SCIM simulator)
    /// on the same backend.
    Store {
        #[arg(long, value_enum)]
        backend: Backend,
        /// Journal entries per measurement.
        #[arg(long, default_value_t = 5000)]
        actions: u32,
        /// Persons created by the apply.
        #[arg(long, default_value_t = 2000)]
        persons: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value = POSTGRES_URL)]
        postgres_url: String,
    },
    /// Zivver Cloud Sync: an Exchange Online simulator tenant (user and shared mailboxes, Full
    /// Access delegations) read by the `exchange-online` source, planned and loaded into the
    /// Zivver simulator as `examples/cloudsync/muster.toml` configures it. Reports the source
    /// read, the plan and the first load at Zivver's budget, sped up `--speedup` times on both
    /// sides.
    CloudSync {
        #[arg(long, default_value_t = 10_000)]
        mailboxes: usize,
        /// Full Access grants of users on shared mailboxes (a fifth of the mailboxes are
        /// shared), besides the groups the example tenant grants.
        #[arg(long, default_value_t = 20_000)]
        delegations: usize,
        /// Zivver's window of 10 s shortened this many times (1, 2, 5 or 10) in the simulator
        /// and in Muster's rate_limit alike: 50 requests per 10/k s.
        #[arg(long, default_value_t = 10)]
        speedup: u64,
        /// Mailboxes of the tenant the exchange-online source reads from the simulator, when
        /// fewer than --mailboxes: the read is tiled up to --mailboxes for the plan and the load
        /// (a quicker run; the simulator's permission answers scan the tenant's grants).
        #[arg(long)]
        read_mailboxes: Option<usize>,
    },
    /// `muster serve`'s Entra sign-in hook: answer latency (p50/p99/p99.9) and sign-ins per
    /// second with the account created on the Zivver simulator, failing open and closed.
    JitLatency {
        #[arg(long, default_value_t = 1000)]
        signins: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// What one request costs each simulator (SCIM, Zivver, HelloID, Zermelo) holding `users`
    /// users and a group of them all: a page, a look-up, a create, a membership add and remove,
    /// the mean of `rounds` requests each.
    Sims {
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        #[arg(long, default_value_t = 200)]
        rounds: usize,
    },
    /// `muster serve` API latency (p50/p99) of the run list and the person view over a store
    /// with N persons and M runs.
    ApiLatency {
        #[arg(long, default_value_t = 100_000)]
        persons: usize,
        #[arg(long, default_value_t = 1000)]
        runs: usize,
        #[arg(long, default_value_t = 1000)]
        requests: usize,
    },
}

fn day(n: u32) -> chrono::NaiveDate {
    if n == 1 {
        chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default()
    } else {
        chrono::NaiveDate::from_ymd_opt(2026, 3, 3).unwrap_or_default()
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.command {
        Cmd::PlanMemory { persons } => plan_memory::run(persons),
        Cmd::PlanProcess {
            persons,
            muster,
            full,
        } => {
            let muster = plan_process::muster_binary(muster)?;
            rt.block_on(plan_process::run(persons, &muster, full))
        }
        Cmd::Requests { persons } => rt.block_on(requests(persons)),
        Cmd::Goals {
            million,
            scim2_server,
        } => goals::run(million, scim2_server),
        Cmd::Grants {
            members,
            grants,
            concurrency,
        } => rt.block_on(grants::run(members, grants.max(1), concurrency.max(1))),
        Cmd::ZivverBudget { persons } => rt.block_on(zivver_budget(persons)),
        Cmd::Creates {
            persons,
            concurrency,
            scim2_server,
            store,
            postgres_url,
        } => rt.block_on(creates(
            persons,
            concurrency,
            scim2_server,
            store,
            &postgres_url,
        )),
        Cmd::Store {
            backend,
            actions,
            persons,
            concurrency,
            postgres_url,
        } => rt.block_on(async {
            store_bench::journal(backend, actions.max(1), &postgres_url).await?;
            creates(persons, concurrency, None, backend, &postgres_url).await
        }),
        Cmd::CloudSync {
            mailboxes,
            delegations,
            speedup,
            read_mailboxes,
        } => rt.block_on(cloud_sync::run(
            mailboxes.max(5),
            delegations,
            speedup,
            read_mailboxes,
        )),
        Cmd::JitLatency {
            signins,
            concurrency,
        } => rt.block_on(jit_latency::run(signins.max(1), concurrency.max(1))),
        Cmd::Sims { users, rounds } => rt.block_on(sims::run(users.max(1), rounds.max(1))),
        Cmd::ApiLatency {
            persons,
            runs,
            requests,
        } => rt.block_on(api_latency::run(
            persons.max(1),
            runs.max(1),
            requests.max(1),
        )),
    }
}

struct Sims {
    scim: RunningScimSim,
    zivver: RunningZivverSim,
}

async fn sims(zivver_rate_limit: bool) -> Result<Sims> {
    let scim = ScimSim::start(ScimSimConfig {
        token: "bench".into(),
        ..ScimSimConfig::default()
    })
    .await?;
    for d in org::DEPARTMENTS {
        scim.state
            .seed_group(serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": format!("Dept {d}")}))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    let zivver = ZivverSim::start(ZivverSimConfig {
        tokens: vec!["bench".into()],
        divisions: org::DEPARTMENTS.iter().map(|d| (*d).to_owned()).collect(),
        switches: ZivverSwitches {
            faults: Faults {
                rate_limit: zivver_rate_limit,
                ..ZivverSwitches::default().faults
            },
            ..ZivverSwitches::default()
        },
        ..ZivverSimConfig::default()
    })
    .await?;
    for f in org::FUNCTIONAL_ACCOUNTS {
        zivver
            .state
            .seed_group(serde_json::json!({"displayName": f, "members": []}))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    Ok(Sims { scim, zivver })
}

async fn engine(dir: &Path, config: &str, overrides: Vec<(String, String)>) -> Result<Engine> {
    std::fs::write(dir.join("token"), "bench")?;
    std::fs::write(dir.join("muster.toml"), config)?;
    let config = Config::load_with_env(&dir.join("muster.toml"), overrides.into_iter())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Engine::open(config).await?)
}

/// A HelloID simulator with the bench's credentials, a product, and a group outside Muster's
/// department groups (never read in detail). Department groups are created by Muster.
async fn helloid_sim() -> Result<RunningHelloIdSim> {
    Ok(HelloIdSim::start(HelloIdSimConfig {
        credentials: vec![("bench".into(), "bench".into())],
        groups: vec!["Medewerkers".into()],
        products: vec!["Laptop".into()],
        ..HelloIdSimConfig::default()
    })
    .await?)
}

/// Requests the SCIM or Zivver simulator answered, split into list pages and the rest.
fn split(counters: &BTreeMap<String, u64>) -> (u64, u64) {
    let mut pages = 0;
    let mut other = 0;
    for (key, n) in counters {
        if key == "GET /Users" || key == "GET /Groups" {
            pages += n;
        } else {
            other += n;
        }
    }
    (pages, other)
}

/// HelloID's reads before planning: the user lists (active and deleted), the group, product
/// and assignment lists, 1,000 per page, and a group's details (its members), read only for
/// groups in Muster's scope. A `GET /users/{id}` is not among them: it is the fresh read
/// before a full-object PUT.
const HELLOID_READS: [&str; 5] = [
    "GET /users",
    "GET /groups",
    "GET /groups/{id}",
    "GET /products",
    "GET /product-assignment",
];

/// Requests the HelloID simulator answered, split into the reads before planning ("pages") and
/// the rest. A department group that is missing is looked for once more (`GET /groups`, one
/// page while there are fewer than 1,000 groups) just before its `POST /groups`, once per run;
/// those look-ups are writes' cost, so one `GET /groups` per `POST /groups` counts as "rest".
fn split_helloid(counters: &BTreeMap<String, u64>) -> (u64, u64) {
    let count = |key: &str| counters.get(key).copied().unwrap_or(0);
    let total: u64 = counters.values().sum();
    let checks = count("POST /groups").min(count("GET /groups"));
    let pages = HELLOID_READS.iter().map(|k| count(k)).sum::<u64>() - checks;
    (pages, total - pages)
}

fn delta(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

fn done_by_kind(summary: &RunSummary, target: &str) -> BTreeMap<ActionKind, usize> {
    summary
        .targets
        .iter()
        .filter(|t| t.target.as_str() == target)
        .flat_map(|t| t.by_action.iter().map(|(k, c)| (*k, c.done)))
        .collect()
}

fn report(
    label: &str,
    target: &str,
    summary: &RunSummary,
    requests: &BTreeMap<String, u64>,
    split: fn(&BTreeMap<String, u64>) -> (u64, u64),
) -> Result<()> {
    let done = done_by_kind(summary, target);
    let failed: usize = summary
        .targets
        .iter()
        .filter(|t| t.target.as_str() == target)
        .map(|t| t.totals().failed)
        .sum();
    if failed > 0 {
        bail!("{label} {target}: {failed} actions failed; figures would be meaningless");
    }
    let changes: usize = done
        .iter()
        .filter(|(k, _)| **k != ActionKind::Correlate)
        .map(|(_, n)| n)
        .sum();
    let (pages, other) = split(requests);
    println!(
        "{label:<8} {target:<7} applied={changes:<6} requests={:<6} pages={pages:<4} per_change={:.3}  by_kind={:?}",
        pages + other,
        other as f64 / changes.max(1) as f64,
        done
    );
    println!("         {target:<7} requests by route: {requests:?}");
    Ok(())
}

async fn requests(n: usize) -> Result<()> {
    let s = sims(false).await?;
    let helloid = helloid_sim().await?;
    let dir = tempfile::tempdir()?;
    org::write_export(dir.path(), n, 0)?;
    let overrides = vec![
        (
            "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL".to_owned(),
            s.scim.base_url.clone(),
        ),
        (
            "MUSTER__TARGETS__ZIVVER__CONNECTION__BASE_URL".to_owned(),
            s.zivver.base_url.clone(),
        ),
        (
            "MUSTER__TARGETS__HELLOID__CONNECTION__BASE_URL".to_owned(),
            helloid.api_url(),
        ),
    ];
    let config =
        org::config(dir.path(), true, true, 8, 1_000_000) + &org::helloid_config(dir.path(), 8);
    let engine = engine(dir.path(), &config, overrides).await?;
    for (label, changed_every, today) in [("initial", 0, day(1)), ("day+2%", 50, day(2))] {
        org::write_export(dir.path(), n, changed_every)?;
        let (scim_before, zivver_before) = (s.scim.state.counters(), s.zivver.state.counters());
        let helloid_before = helloid.state.counters();
        let started = Instant::now();
        let r = engine.apply(today, None).await?;
        let took = started.elapsed().as_secs_f64();
        println!("{label}: {n} persons, applied in {took:.1} s");
        report(
            label,
            "scim",
            &r.summary,
            &delta(&s.scim.state.counters(), &scim_before),
            split,
        )?;
        report(
            label,
            "zivver",
            &r.summary,
            &delta(&s.zivver.state.counters(), &zivver_before),
            split,
        )?;
        report(
            label,
            "helloid",
            &r.summary,
            &delta(&helloid.state.counters(), &helloid_before),
            split_helloid,
        )?;
    }
    // The same workload through a per-person "read, then write" client, on fresh simulators.
    let fresh = sims(false).await?;
    naive::run(&fresh.scim, &fresh.zivver, n).await
}

async fn zivver_budget(n: usize) -> Result<()> {
    let s = sims(true).await?;
    let dir = tempfile::tempdir()?;
    org::write_export(dir.path(), n, 0)?;
    let overrides = vec![(
        "MUSTER__TARGETS__ZIVVER__CONNECTION__BASE_URL".to_owned(),
        s.zivver.base_url.clone(),
    )];
    let engine = engine(
        dir.path(),
        &org::config(dir.path(), false, true, 8, 50),
        overrides,
    )
    .await?;
    let started = Instant::now();
    let r = engine.apply(day(1), None).await?;
    let took = started.elapsed().as_secs_f64();
    let rejected = s
        .zivver
        .state
        .fault_log()
        .iter()
        .filter(|e| format!("{:?}", e.fault) == "RateLimited")
        .count() as u64;
    let answered = s.zivver.state.total_requests();
    let accepted = answered.saturating_sub(rejected);
    let t = r.summary.targets[0].totals();
    // Share of the budget rate (50 per 10 s = 5 per s) over the whole apply, reads included.
    let rate = accepted as f64 / took;
    println!(
        "zivver budget: {n} persons, {} actions done, {} failed, {took:.1} s, {accepted} requests accepted = {rate:.2}/s = {:.1} % of the 5/s budget, {rejected} answered 429",
        t.done,
        t.failed,
        100.0 * rate / 5.0
    );
    Ok(())
}

async fn creates(
    n: usize,
    concurrency: usize,
    scim2_server: Option<String>,
    store: Backend,
    postgres_url: &str,
) -> Result<()> {
    let s = sims(false).await?;
    let mut targets = vec![("muster-sim".to_owned(), s.scim.base_url.clone(), None)];
    let mut server = None;
    if let Some(bin) = scim2_server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = std::process::Command::new(&bin)
            .args([
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--bearer-token",
                "bench",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {bin}"))?;
        server = Some(child);
        let url = format!("http://127.0.0.1:{port}/v2");
        let client = reqwest::Client::new();
        let mut ready = false;
        for _ in 0..150 {
            if client
                .get(format!("{url}/ServiceProviderConfig"))
                .send()
                .await
                .is_ok()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        if !ready {
            bail!("scim2-server did not start");
        }
        targets.push(("scim2-server".to_owned(), url, None::<()>));
    }
    for (name, url, _) in targets {
        let dir = tempfile::tempdir()?;
        org::write_export(dir.path(), n, 0)?;
        // Creates only: no group rule.
        let config = org::config(dir.path(), true, false, concurrency, 0).replace(
            "dynamic_permissions = [{ template = \"Dept {Contract.Department}\" }]",
            "",
        );
        let apply = |config: String| {
            let (dir, url, name) = (dir.path(), url.clone(), name.clone());
            async move {
                let engine = engine(
                    dir,
                    &config,
                    vec![(
                        "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL".to_owned(),
                        url,
                    )],
                )
                .await?;
                let started = Instant::now();
                let r = engine.apply(day(1), None).await?;
                let took = started.elapsed().as_secs_f64();
                let t = r.summary.targets[0].totals();
                println!("creates against {name}, {} store: {} done, {} failed in {took:.2} s = {:.0} creates/s (concurrency {concurrency})", store.name(), t.done, t.failed, t.done as f64 / took);
                anyhow::Ok(())
            }
        };
        match store {
            Backend::Sqlite => apply(config).await?,
            Backend::Postgres => {
                anyhow::ensure!(
                    config.starts_with("[store]\npath = \"muster.db\"\n"),
                    "org::config no longer starts with the SQLite store section"
                );
                store_bench::with_schema(postgres_url, |schema| {
                    apply(config.replacen(
                        "[store]\npath = \"muster.db\"\n",
                        &format!(
                            "[store]\nkind = \"postgres\"\nurl = {postgres_url:?}\ntls = \"disable\"\nschema = \"{schema}\"\n"
                        ),
                        1,
                    ))
                })
                .await?
            }
        }
    }
    if let Some(mut child) = server {
        let _ = child.kill();
        let _ = child.wait();
    }
    Ok(())
}
