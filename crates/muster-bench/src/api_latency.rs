//! `muster-bench api-latency`: `muster serve`'s API over a big store (its one target, SCIM, is
//! the simulator, idle: no run is started). A temporary SQLite store
//! is filled through the `Store` trait (a source snapshot of N persons, a link per person,
//! M finished runs with audit events spread over the persons), a server is started on
//! 127.0.0.1, and `--requests` requests of the run list and of the person view (random
//! persons) are timed one after another over loopback: p50, p99 and max.

use anyhow::{Context, Result};
use chrono::{Duration as Days, Utc};
use muster_core::plan::{ActionKind, FieldChange};
use muster_core::report::{ActionOutcome, AuditEvent};
use muster_engine::config::ConfigErrors;
use muster_server::config::ServiceConfig;
use muster_server::{tokens, Service};
use muster_store::{Link, LinkState, RunMode, SnapshotPerson, TokenRole};
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

/// Audit events written per run.
const EVENTS_PER_RUN: usize = 200;
/// Of those, events of the busy person `p000000` (a long history: runs × this).
const BUSY_PER_RUN: usize = 20;

pub async fn run(persons: usize, runs: usize, requests: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config_path = dir.path().join("muster.toml");
    std::fs::write(dir.path().join("persons.csv"), "ExternalId\n")?;
    // The target only has to answer the connector's discovery when the engine opens.
    let sim = muster_sim::scim::ScimSim::start(muster_sim::scim::ScimSimConfig {
        token: "bench".into(),
        ..muster_sim::scim::ScimSimConfig::default()
    })
    .await?;
    std::fs::write(dir.path().join("scim-token"), "bench")?;
    let token_file = dir.path().join("scim-token");
    std::fs::write(
        &config_path,
        format!(
            "[store]\npath = \"muster.db\"\n\n[source]\nkind = \"csv\"\npersons = \"persons.csv\"\n\n\
             [targets.scim]\nkind = \"scim\"\nconnection = {{ base_url = \"{}\", auth = {{ bearer = {{ file = {:?} }} }} }}\n\
             correlation = {{ person = \"ExternalId\", account = \"userName\" }}\n\n\
             [[targets.scim.mapping]]\nfield = \"userName\"\npath = \"ExternalId\"\n\n\
             [server]\nlisten = \"127.0.0.1:0\"\n",
            sim.base_url,
            token_file.display().to_string()
        ),
    )?;
    let config = muster_engine::Config::load(&config_path).map_err(errors)?;
    let text = std::fs::read_to_string(&config_path)?;
    let service: ServiceConfig =
        muster_server::config::parse(&config_path, &text, &config).map_err(errors)?;
    let engine = std::sync::Arc::new(muster_engine::Engine::open(config).await?);
    let store = engine.store.clone();

    let started = Instant::now();
    fill(store.as_ref(), persons, runs).await?;
    println!(
        "filled: {persons} persons (snapshot + links), {runs} runs, {} audit events in {:.1} s",
        runs * EVENTS_PER_RUN,
        started.elapsed().as_secs_f64()
    );

    let token = tokens::create(store.as_ref(), "bench", TokenRole::Viewer)
        .await?
        .token;
    let serving = Service::with_engine(engine, service)?.start().await?;
    let base = format!("http://{}", serving.addr);
    let client = reqwest::Client::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);

    let list = time(requests, || {
        let req = client
            .get(format!("{base}/api/v1/runs"))
            .bearer_auth(&token);
        async move { check(req.send().await?).await }
    })
    .await?;
    // Warm-up requests included.
    let ids: Vec<usize> = (0..requests + 10)
        .map(|_| rng.gen_range(0..persons))
        .collect();
    let mut next = ids.into_iter();
    let person = time(requests, || {
        let id = next.next().unwrap_or(0);
        let req = client
            .get(format!("{base}/api/v1/persons/p{id:06}"))
            .bearer_auth(&token);
        async move { check(req.send().await?).await }
    })
    .await?;
    let busy = time(requests, || {
        let req = client
            .get(format!("{base}/api/v1/persons/p000000"))
            .bearer_auth(&token);
        async move { check(req.send().await?).await }
    })
    .await?;
    // The person view's audit read, in the store: the newest 200 through the index (now)
    // against the whole history read and cut (before).
    let busy_id = muster_core::ExternalId::from("p000000");
    let indexed = time(100, || async {
        Ok(store.person_audit(&busy_id, 200).await?.len())
    })
    .await?;
    let whole = time(100, || async {
        let all = store
            .audit(&muster_store::AuditQuery {
                person: Some(busy_id.clone()),
                ..muster_store::AuditQuery::default()
            })
            .await?;
        Ok(all.len().min(200))
    })
    .await?;
    println!("store: newest 200 events of p000000, indexed      {indexed}");
    println!("store: whole history of p000000, then the last 200 {whole}");
    println!("GET /api/v1/runs (default page)            {list}");
    println!("GET /api/v1/persons/{{id}} (random)         {person}");
    println!(
        "GET /api/v1/persons/p000000 ({} events)  {busy}",
        runs * BUSY_PER_RUN
    );
    serving.shutdown().await?;
    sim.shutdown().await?;
    Ok(())
}

fn errors(e: ConfigErrors) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

async fn check(response: reqwest::Response) -> Result<usize> {
    let status = response.status();
    let body = response.bytes().await?;
    anyhow::ensure!(status.is_success(), "answered {status}");
    Ok(body.len())
}

struct Latency {
    p50: Duration,
    p99: Duration,
    max: Duration,
    bytes: usize,
}

impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} bytes or events per answer)",
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            self.bytes
        )
    }
}

/// Times `n` requests one after another, after 10 not timed (connection, caches).
async fn time<F, Fut>(n: usize, mut request: F) -> Result<Latency>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<usize>>,
{
    for _ in 0..10 {
        request().await?;
    }
    let mut took = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let started = Instant::now();
        bytes = request().await?;
        took.push(started.elapsed());
    }
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    Ok(Latency {
        p50: at(0.50),
        p99: at(0.99),
        max: took[took.len() - 1],
        bytes,
    })
}

async fn fill(store: &dyn muster_store::Store, persons: usize, runs: usize) -> Result<()> {
    let now = Utc::now();
    let mut run_ids = Vec::with_capacity(runs);
    for _ in 0..runs {
        let run = store.start_run(RunMode::Apply, "bench").await?;
        store
            .finish_run(
                &run.id,
                muster_store::RunStatus::Changes,
                &serde_json::json!({"run": run.id, "mode": "apply", "targets": []}),
            )
            .await?;
        run_ids.push(run.id);
    }
    let first = run_ids.first().context("at least one run")?.clone();
    let records: Vec<SnapshotPerson> = (0..persons)
        .map(|i| {
            let id = format!("p{i:06}");
            SnapshotPerson {
                external_id: id.as_str().into(),
                record_hash: format!("{i:064x}"),
                record: serde_json::json!({"ExternalId": id, "DisplayName": format!("Person {i}"), "Contact": {"Business": {"Email": format!("{id}@example.org")}}}),
            }
        })
        .collect();
    store
        .save_snapshot(
            muster_engine::run::SOURCE_NAME,
            &first,
            "bench",
            &records,
            0,
        )
        .await?;
    for i in 0..persons {
        store
            .upsert_link(&Link {
                target: "scim".into(),
                person: format!("p{i:06}").as_str().into(),
                account: format!("acc-{i}").as_str().into(),
                state: LinkState::Active,
                updated_at: now,
            })
            .await?;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    for (r, run) in run_ids.iter().enumerate() {
        let at = now - Days::minutes((runs - r) as i64 * 40);
        let events: Vec<AuditEvent> = (0..EVENTS_PER_RUN)
            .map(|e| {
                // Every run also touches the busy person (p000000) a few times.
                let p = if e < BUSY_PER_RUN {
                    0
                } else {
                    rng.gen_range(0..persons)
                };
                AuditEvent {
                    at,
                    run: run.clone(),
                    target: "scim".into(),
                    person: format!("p{p:06}").as_str().into(),
                    action: ActionKind::Update,
                    outcome: ActionOutcome::Done,
                    account: Some(format!("acc-{p}").as_str().into()),
                    reason: "department changed".to_owned(),
                    detail: None,
                    changes: vec![FieldChange {
                        field: "department".to_owned(),
                        before: Some("Sales".into()),
                        after: Some("Support".into()),
                        secret: false,
                        account_of: None,
                    }],
                    permission: None,
                }
            })
            .collect();
        store.append_audit(&events).await?;
    }
    Ok(())
}
