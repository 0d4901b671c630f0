//! Several Muster nodes on one PostgreSQL store (issue 18), as real processes: the `muster`
//! binary started twice, each node with its own folder and configuration, both naming one
//! database made for the test (dropped after).
//!
//! - An apply killed (SIGKILL) at a dozen points, each time on the node that took over from
//!   the one killed before: the target ends as an uninterrupted run leaves it, no account is
//!   duplicated, every action is done once in the audit trail. The other node gets the
//!   `apply` lease once the dead node's deadline has passed.
//! - Two `muster serve` nodes with the same schedule: each firing runs once, on the node that
//!   leads; when the leader is killed the other takes over.
//! - `muster store copy` of a SQLite store with history into PostgreSQL: the next plan
//!   against PostgreSQL is empty, and the history reads the same from both.

use super::crash::{done_of, shape, write_changes, writes};
use super::{code, text, Setup, DAY1, TOKEN};
use muster_core::secret::Secret;
use muster_store::{AuditQuery, JournalState, PostgresOptions, RunMode, RunStatus, Store};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The lease time-to-live the nodes run with: a dead node's work is taken over after this.
const LEASE_SECONDS: u64 = 2;

fn admin_url() -> String {
    std::env::var("MUSTER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database made for one test, dropped at its end (or when the test fails, on drop).
struct TempDb {
    name: String,
}

impl TempDb {
    async fn create() -> Option<Self> {
        let admin = match sqlx::PgPool::connect(&admin_url()).await {
            Ok(pool) => pool,
            Err(e) if std::env::var("MUSTER_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
                panic!("PostgreSQL is required (MUSTER_REQUIRE_POSTGRES=1) but unreachable: {e}")
            }
            Err(e) => {
                eprintln!(
                    "skipped: PostgreSQL is not reachable at {}: {e}",
                    admin_url()
                );
                return None;
            }
        };
        let name = format!("muster_t_{:016x}", rand_u64());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        Some(Self { name })
    }

    fn url(&self) -> String {
        let admin = admin_url();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        format!("{base}/{}", self.name)
    }

    async fn store(&self) -> muster_store::PostgresStore {
        let options = PostgresOptions::new(Secret::new(self.url())).unwrap();
        muster_store::open_postgres(&options).await.unwrap()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let admin = sqlx::PgPool::connect(&admin_url()).await.unwrap();
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
            });
        })
        .join();
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

/// The demo configuration with its store in `url`.
fn on_postgres(config: String, url: &str) -> String {
    let sqlite = "[store]\npath = \"muster.db\"\n";
    assert!(config.contains(sqlite), "the demo's [store] changed");
    config.replace(
        sqlite,
        &format!(
            "[store]\nkind = \"postgres\"\nurl = \"{url}\"\nlease_seconds = {LEASE_SECONDS}\n"
        ),
    )
}

/// A second node: a folder of its own with the same configuration and source files.
fn second_node(s: &Setup) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["muster.toml", "persons.csv", "contracts.csv"] {
        std::fs::copy(s.path(f), dir.path().join(f)).unwrap();
    }
    dir
}

fn command(s: &Setup, node: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_muster"));
    c.arg("--config")
        .arg(node.join("muster.toml"))
        .args(args)
        .env("SCIM_TOKEN", TOKEN)
        .env(
            "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL",
            &s.sim.base_url,
        )
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    c
}

fn run(s: &Setup, node: &Path, args: &[&str]) -> Output {
    command(s, node, args).output().unwrap()
}

/// Whether a run was refused because another node holds the apply lease.
fn lease_held(out: &str) -> bool {
    out.contains("holds the lease `apply`")
}

/// Starts `muster apply` on `node`, again and again while another node holds the lease, until
/// one gets it; kills it (SIGKILL) once it has sent `budget` writes. Returns how long after
/// `since` the target saw this node's first write.
async fn apply_and_kill(s: &Setup, node: &Path, budget: u64, since: Instant) -> Duration {
    let start = writes(&s.sim);
    let log = node.join("apply.log");
    for _attempt in 0..200 {
        let mut child: Child = command(s, node, &["apply", "--yes", DAY1])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut first_write = None;
        // Bounded: a run that neither ends nor reaches its budget in 60 s fails the test.
        for _ in 0..60_000 {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            let n = writes(&s.sim);
            if n > start && first_write.is_none() {
                first_write = Some(since.elapsed());
            }
            if n >= start + budget {
                child.kill().unwrap();
                child.wait().unwrap();
                return first_write.unwrap_or_default();
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let status = child.wait().unwrap();
        let out = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            lease_held(&out),
            "node {} ended ({status}) before its budget of {budget} writes:\n{out}",
            node.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("node {} never got the apply lease", node.display());
}

/// Applies on `node` until a run has nothing left to do, waiting out a dead node's lease.
fn converge(s: &Setup, node: &Path) {
    let mut done = false;
    for _ in 0..100 {
        let o = run(s, node, &["apply", "--yes", DAY1]);
        if code(&o) == 1 && lease_held(&text(&o)) {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        assert!(matches!(code(&o), 0 | 2), "{}", text(&o));
        if code(&o) == 0 {
            done = true;
            break;
        }
    }
    assert!(done, "the apply never converged");
    let plan = run(s, node, &["plan", DAY1]);
    assert_eq!(code(&plan), 0, "nothing may be left:\n{}", text(&plan));
}

const LOAD_KILLS: [u64; 6] = [10, 40, 25, 60, 35, 80];
const CHANGE_KILLS: [u64; 6] = [2, 6, 12, 9, 15, 4];

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_killed_on_one_node_is_taken_over_by_the_other_with_every_action_once() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    // What an uninterrupted run makes of the same two phases (one node, SQLite).
    let reference = Setup::new(|t| t).await;
    assert_eq!(code(&reference.muster(&["apply", "--yes", DAY1])), 2);
    write_changes(reference.dir.path());
    assert_eq!(code(&reference.muster(&["apply", "--yes", DAY1])), 2);
    super::crash::converge(&reference);

    let url = db.url();
    let s = Setup::new(|t| on_postgres(t, &url)).await;
    let b = second_node(&s);
    let nodes = [s.dir.path().to_path_buf(), b.path().to_path_buf()];
    s.sim.state.update_switches(|sw| sw.faults.latency_ms = 10);
    let mut takeovers = Vec::new();
    let mut since = Instant::now();
    let mut killed = Vec::new();
    for (i, budget) in LOAD_KILLS.iter().enumerate() {
        takeovers.push(apply_and_kill(&s, &nodes[i % 2], *budget, since).await);
        since = Instant::now();
        killed.push(db.store().await.runs(1).await.unwrap().remove(0).id);
    }
    converge(&s, &nodes[0]);
    for dir in &nodes {
        write_changes(dir);
    }
    since = Instant::now();
    for (i, budget) in CHANGE_KILLS.iter().enumerate() {
        takeovers.push(apply_and_kill(&s, &nodes[(i + 1) % 2], *budget, since).await);
        since = Instant::now();
        killed.push(db.store().await.runs(1).await.unwrap().remove(0).id);
    }
    converge(&s, &nodes[1]);
    eprintln!(
        "takeover (kill → the other node's first write), lease {LEASE_SECONDS} s: {:?}",
        takeovers
    );

    // The target ends as the uninterrupted run left its own: no duplicate account.
    let (accounts, groups) = shape(&s.sim);
    let (want_accounts, want_groups) = shape(&reference.sim);
    assert_eq!(accounts.len(), 300);
    assert_eq!(accounts, want_accounts);
    assert_eq!(groups, want_groups);

    // Every action's effect is in the audit trail exactly once as done.
    let store = db.store().await;
    let done = done_of(store.audit(&AuditQuery::default()).await.unwrap());
    let reference_store = muster_store::open_sqlite(&reference.path("muster.db"))
        .await
        .unwrap();
    let want = done_of(reference_store.audit(&AuditQuery::default()).await.unwrap());
    reference_store.close().await;
    let twice: Vec<_> = done.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "done more than once: {twice:?}");
    assert_eq!(
        done.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );

    // Nothing is left without an outcome; every killed run is closed as interrupted.
    assert!(store.journal_unsettled("").await.unwrap().is_empty());
    for run in &killed {
        let r = store.run(run).await.unwrap().unwrap();
        assert_eq!(r.status, Some(RunStatus::Interrupted), "run {run}");
        let journal = store.journal(run).await.unwrap();
        assert!(journal.iter().all(|e| e.state != JournalState::Sent));
    }
}

/// `kill -TERM pid`: a clean stop.
fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..300 {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A child process killed when the test ends, however it ends.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn firings(pool: &sqlx::PgPool) -> Vec<(chrono::DateTime<chrono::Utc>, String)> {
    muster_store::lease::firings(pool, "often").await.unwrap()
}

/// Waits until at least `n` firings are claimed (bounded: 60 s).
async fn wait_for_firings(
    pool: &sqlx::PgPool,
    n: usize,
) -> Vec<(chrono::DateTime<chrono::Utc>, String)> {
    for _ in 0..600 {
        let f = firings(pool).await;
        if f.len() >= n {
            return f;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} firings in 60 s: {:?}", firings(pool).await);
}

fn pid_of(node: &str) -> u32 {
    node.split(':').nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_with_the_same_schedule_run_each_firing_once_and_the_survivor_takes_over() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let url = db.url();
    let schedule = "\n[server]\nlisten = \"127.0.0.1:0\"\n\n[[schedules]]\nname = \"often\"\ncron = \"*/2 * * * * *\"\ntimezone = \"UTC\"\nmode = \"plan\"\n";
    let s = Setup::new(|t| format!("{}{schedule}", on_postgres(t, &url))).await;
    let b = second_node(&s);
    let serve = |dir: &Path| -> Node {
        Node(
            command(&s, dir, &["serve"])
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
                .spawn()
                .unwrap(),
        )
    };
    let mut nodes = [serve(s.dir.path()), serve(b.path())];
    let store = db.store().await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();

    let first = wait_for_firings(&pool, 3).await;
    let leader = pid_of(&first[0].1);
    assert!(
        first.iter().all(|(_, node)| pid_of(node) == leader),
        "one node leads: {first:?}"
    );
    let (dead, survivor) = match nodes.iter().position(|n| n.0.id() == leader) {
        Some(0) => (0, 1),
        Some(_) => (1, 0),
        None => panic!("the leader {leader} is none of the nodes"),
    };
    nodes[dead].0.kill().unwrap();
    nodes[dead].0.wait().unwrap();
    let before = firings(&pool).await.len();
    let after = wait_for_firings(&pool, before + 3).await;
    let taken: Vec<_> = after[before..].iter().map(|(_, n)| pid_of(n)).collect();
    assert!(
        taken.iter().all(|p| *p == nodes[survivor].0.id()),
        "the survivor leads: {after:?}"
    );
    terminate(&mut nodes[survivor].0);

    // Each firing started at most one run: two nodes never both ran it.
    let all = firings(&pool).await;
    let runs = store.runs(1000).await.unwrap();
    let previews = runs.iter().filter(|r| r.mode == RunMode::Preview).count();
    assert!(previews >= 2, "{previews} runs");
    assert!(
        previews <= all.len(),
        "{previews} runs for {} firings: a firing ran twice",
        all.len()
    );
    let times: std::collections::BTreeSet<_> = all.iter().map(|(t, _)| *t).collect();
    assert_eq!(times.len(), all.len());
    pool.close().await;
    drop(nodes);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sqlite_store_with_history_copied_to_postgres_plans_nothing_new() {
    let Some(db) = TempDb::create().await else {
        return;
    };
    let s = Setup::new(|t| t).await;
    assert_eq!(code(&s.muster(&["apply", "--yes", DAY1])), 2);
    let token = s.muster(&["token", "create", "--name", "ci", "--role", "viewer"]);
    assert_eq!(code(&token), 0, "{}", text(&token));
    let sqlite = s.path("muster.db");
    let from = format!("sqlite:{}", sqlite.display());
    let to = format!("postgres:{}", db.url());

    let copy = s.muster(&["store", "copy", "--from", &from, "--to", &to]);
    assert_eq!(code(&copy), 0, "{}", text(&copy));
    assert!(text(&copy).contains("audit"), "{}", text(&copy));

    // The same history from both stores.
    let old = muster_store::open_sqlite(&sqlite).await.unwrap();
    let new = db.store().await;
    assert_eq!(old.runs(100).await.unwrap(), new.runs(100).await.unwrap());
    let events = old.audit(&AuditQuery::default()).await.unwrap();
    assert!(events.len() > 900);
    assert_eq!(events, new.audit(&AuditQuery::default()).await.unwrap());
    let target = muster_core::TargetName::from("scim");
    assert_eq!(
        old.links(&target).await.unwrap(),
        new.links(&target).await.unwrap()
    );
    assert_eq!(
        old.fingerprint_key().await.unwrap().expose(),
        new.fingerprint_key().await.unwrap().expose()
    );
    assert_eq!(old.tokens().await.unwrap(), new.tokens().await.unwrap());
    let run = old.runs(1).await.unwrap().remove(0).id;
    assert_eq!(
        old.journal(&run).await.unwrap(),
        new.journal(&run).await.unwrap()
    );
    old.close().await;

    // Against PostgreSQL the next plan is as empty as against SQLite.
    let config = on_postgres(
        std::fs::read_to_string(s.path("muster.toml")).unwrap(),
        &db.url(),
    );
    std::fs::write(s.path("muster.toml"), config).unwrap();
    let plan = s.muster(&["plan", DAY1]);
    assert_eq!(code(&plan), 0, "{}", text(&plan));
    let migrate = s.muster(&["store", "migrate"]);
    assert_eq!(code(&migrate), 0, "{}", text(&migrate));
    assert!(
        text(&migrate).contains("schema version"),
        "{}",
        text(&migrate)
    );

    // A second copy would mix two histories: refused, unless --force replaces it.
    let again = s.muster(&["store", "copy", "--from", &from, "--to", &to]);
    assert_eq!(code(&again), 1, "{}", text(&again));
    assert!(
        text(&again).contains("already holds history"),
        "{}",
        text(&again)
    );
    let forced = s.muster(&["store", "copy", "--from", &from, "--to", &to, "--force"]);
    assert_eq!(code(&forced), 0, "{}", text(&forced));
    assert_eq!(events, new.audit(&AuditQuery::default()).await.unwrap());
}
