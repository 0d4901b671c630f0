//! Crash safety: `muster apply` killed with SIGKILL at two dozen points of a run, restarted
//! each time, must end where an uninterrupted run ends — the same accounts, attributes and
//! memberships, no duplicate account — with every action's effect in the audit trail exactly
//! once as done.
//!
//! The simulator runs in this process with some latency, so that requests are in flight when
//! the child is killed; the test watches the simulator's request counters and kills the child
//! once it has sent a chosen number of writes. Two phases: the initial load of the demo
//! organisation (creates and grants), then a day of changes made for this test (department
//! moves, leavers and renames, interleaved: updates, grants, revokes and disables).

use super::{code, text, Setup, DAY1, TOKEN};
use muster_core::plan::ActionKind;
use muster_core::report::ActionOutcome;
use muster_sim::scim::RunningScimSim;
use muster_store::{AuditQuery, JournalState, RunStatus, Store};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Writes each run may send before it is killed, initial load (912 writes in all).
const LOAD_KILLS: [u64; 12] = [10, 40, 25, 60, 35, 80, 50, 70, 45, 90, 30, 55];
/// The same for the day of changes (about 215 writes in all).
const CHANGE_KILLS: [u64; 12] = [2, 6, 12, 9, 15, 4, 20, 11, 7, 18, 13, 10];

/// What the journal of a killed run held.
#[derive(Debug)]
struct Kill {
    run: muster_store::RunId,
    /// Kinds of the actions whose request was out when the process died.
    in_flight: BTreeSet<ActionKind>,
}

fn spawn(s: &Setup, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_muster"))
        .arg("--config")
        .arg(s.path("muster.toml"))
        .args(args)
        .env("SCIM_TOKEN", TOKEN)
        .env(
            "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL",
            &s.sim.base_url,
        )
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Requests that may change the target, received so far.
pub(super) fn writes(sim: &RunningScimSim) -> u64 {
    sim.state
        .counters()
        .iter()
        .filter(|(key, _)| !key.starts_with("GET "))
        .map(|(_, n)| n)
        .sum()
}

async fn open_store(s: &Setup) -> muster_store::SqliteStore {
    muster_store::open_sqlite(&s.path("muster.db"))
        .await
        .unwrap()
}

/// Starts `muster apply` once per entry of `budgets` and kills it (SIGKILL) once it has sent
/// that many writes; records what was in flight.
async fn apply_with_kills(s: &Setup, budgets: &[u64], kills: &mut Vec<Kill>) {
    for &budget in budgets {
        let start = writes(&s.sim);
        let mut child = spawn(s, &["apply", "--yes", DAY1]);
        // Bounded: a run that neither ends nor reaches its budget in 60 s fails the test.
        let mut reached = false;
        for _ in 0..60_000 {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if writes(&s.sim) >= start + budget {
                reached = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(
            reached && status.signal() == Some(9),
            "the run was to be killed after {budget} writes, but ended with {status}"
        );
        let store = open_store(s).await;
        let run = store.runs(1).await.unwrap().remove(0);
        assert!(
            run.finished_at.is_none(),
            "the killed run cannot have finished"
        );
        let in_flight = store
            .journal(&run.id)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.state == JournalState::Sent)
            .map(|e| e.kind)
            .collect();
        store.close().await;
        kills.push(Kill {
            run: run.id,
            in_flight,
        });
    }
}

/// Applies until a run has nothing left to do; each must succeed.
pub(super) fn converge(s: &Setup) {
    for _ in 0..3 {
        let o = s.muster(&["apply", "--yes", DAY1]);
        assert!(matches!(code(&o), 0 | 2), "{}", text(&o));
        if code(&o) == 0 {
            break;
        }
    }
    let plan = s.muster(&["plan", DAY1]);
    assert_eq!(
        code(&plan),
        0,
        "nothing may be left to do:\n{}",
        text(&plan)
    );
}

/// The day of changes: among persons with one contract, in turn a department move, a leaver
/// (contract ended three days before `DAY1`) and a rename, 40, 25 and 20 of them.
pub(super) fn write_changes(dir: &Path) {
    let demo = Path::new(super::DEMO).join("day1");
    let persons = std::fs::read_to_string(demo.join("persons.csv")).unwrap();
    let contracts = std::fs::read_to_string(demo.join("contracts.csv")).unwrap();
    let mut per_person: HashMap<&str, usize> = HashMap::new();
    for line in contracts.lines().skip(1) {
        *per_person
            .entry(line.split(';').next().unwrap())
            .or_default() += 1;
    }
    let (mut moves, mut leavers, mut renames) = (0, 0, 0);
    let mut role: HashMap<String, char> = HashMap::new();
    let eligible = persons
        .lines()
        .skip(1)
        .map(|l| l.split(';').next().unwrap())
        .filter(|id| per_person.get(id) == Some(&1));
    for (i, id) in eligible.enumerate() {
        let r = match i % 3 {
            0 if moves < 40 => {
                moves += 1;
                'm'
            }
            1 if leavers < 25 => {
                leavers += 1;
                'l'
            }
            2 if renames < 20 => {
                renames += 1;
                'r'
            }
            _ => continue,
        };
        role.insert(id.to_owned(), r);
    }
    assert_eq!((moves, leavers, renames), (40, 25, 20));
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
    let edit = |text: &str, change: &dyn Fn(char, &mut Vec<String>)| -> String {
        let mut out = String::new();
        for (n, line) in text.lines().enumerate() {
            let mut cols: Vec<String> = line.split(';').map(str::to_owned).collect();
            if n > 0 {
                if let Some(r) = role.get(&cols[0]) {
                    change(*r, &mut cols);
                }
            }
            out.push_str(&cols.join(";"));
            out.push('\n');
        }
        out
    };
    let contracts = edit(&contracts, &|r, cols| match r {
        'm' => {
            let at = DEPARTMENTS.iter().position(|d| *d == cols[4]).unwrap();
            cols[4] = DEPARTMENTS[(at + 1) % DEPARTMENTS.len()].to_owned();
        }
        'l' => cols[3] = "2026-02-27".to_owned(),
        _ => {}
    });
    let persons = edit(&persons, &|r, cols| {
        if r == 'r' {
            cols[3].push_str("-Renamed");
        }
    });
    std::fs::write(dir.join("contracts.csv"), contracts).unwrap();
    std::fs::write(dir.join("persons.csv"), persons).unwrap();
}

/// The target as a person would compare it: accounts by user name with the attributes Muster
/// manages, and each group's members by user name.
pub(super) type Shape = (BTreeMap<String, Value>, BTreeMap<String, BTreeSet<String>>);

pub(super) fn shape(sim: &RunningScimSim) -> Shape {
    let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let users = sim.state.users();
    let mut names: HashMap<String, String> = HashMap::new();
    let mut accounts = BTreeMap::new();
    for u in &users {
        let name = u["userName"].as_str().unwrap().to_lowercase();
        names.insert(u["id"].as_str().unwrap().to_owned(), name.clone());
        let managed = serde_json::json!({
            "active": u["active"],
            "externalId": u["externalId"],
            "displayName": u["displayName"],
            "name": u["name"],
            "title": u["title"],
            "department": u[ext]["department"],
        });
        assert!(
            accounts.insert(name.clone(), managed).is_none(),
            "duplicate account {name}"
        );
    }
    let groups = sim
        .state
        .groups()
        .iter()
        .map(|g| {
            let members = g["members"]
                .as_array()
                .map(|ms| {
                    ms.iter()
                        .map(|m| names[m["value"].as_str().unwrap()].clone())
                        .collect()
                })
                .unwrap_or_default();
            (g["displayName"].as_str().unwrap().to_owned(), members)
        })
        .collect();
    (accounts, groups)
}

/// Done audit events by (kind, person, permission), Correlate left out: a create confirmed
/// after a restart is linked by a Correlate in the next run, which an uninterrupted run never
/// needs.
async fn done_actions(s: &Setup) -> BTreeMap<(ActionKind, String, Option<String>), usize> {
    let store = open_store(s).await;
    let events = store.audit(&AuditQuery::default()).await.unwrap();
    store.close().await;
    done_of(events)
}

/// How often each action is done in `events` (Correlate left out, as in [`done_actions`]).
pub(super) fn done_of(
    events: Vec<muster_core::report::AuditEvent>,
) -> BTreeMap<(ActionKind, String, Option<String>), usize> {
    let mut done = BTreeMap::new();
    for e in events {
        if e.outcome == ActionOutcome::Done && e.action != ActionKind::Correlate {
            let permission = e.permission.map(|p| p.name.to_lowercase());
            *done
                .entry((e.action, e.person.to_string(), permission))
                .or_default() += 1;
        }
    }
    done
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_killed_at_24_points_converges_with_every_action_done_exactly_once() {
    // What an uninterrupted run makes of the same two phases.
    let reference = Setup::new(|t| t).await;
    assert_eq!(code(&reference.muster(&["apply", "--yes", DAY1])), 2);
    write_changes(reference.dir.path());
    assert_eq!(code(&reference.muster(&["apply", "--yes", DAY1])), 2);
    converge(&reference);

    let s = Setup::new(|t| t).await;
    s.sim.state.update_switches(|sw| sw.faults.latency_ms = 10);
    let mut kills = Vec::new();
    apply_with_kills(&s, &LOAD_KILLS, &mut kills).await;
    converge(&s);
    write_changes(s.dir.path());
    apply_with_kills(&s, &CHANGE_KILLS, &mut kills).await;
    converge(&s);

    // Killed at 24 points, with every kind of write in flight at one point or another.
    assert_eq!(kills.len(), 24);
    let seen: BTreeSet<ActionKind> = kills.iter().flat_map(|k| k.in_flight.clone()).collect();
    for kind in [
        ActionKind::Create,
        ActionKind::Update,
        ActionKind::Grant,
        ActionKind::Revoke,
        ActionKind::Disable,
    ] {
        assert!(
            seen.contains(&kind),
            "no kill with a {kind} in flight: {kills:?}"
        );
    }

    // The target ends as the uninterrupted run left its own: same accounts (so none
    // duplicated), attributes and memberships.
    let (accounts, groups) = shape(&s.sim);
    let (want_accounts, want_groups) = shape(&reference.sim);
    assert_eq!(accounts.len(), 300);
    assert_eq!(
        accounts
            .iter()
            .filter(|(_, a)| a["active"] == false)
            .count(),
        25
    );
    assert_eq!(accounts, want_accounts);
    assert_eq!(groups, want_groups);

    // Every action's effect is in the audit trail exactly once as done.
    let done = done_actions(&s).await;
    let want = done_actions(&reference).await;
    assert!(want.values().all(|n| *n == 1));
    let twice: Vec<_> = done.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "done more than once: {twice:?}");
    let missing: Vec<_> = want.keys().filter(|k| !done.contains_key(*k)).collect();
    let extra: Vec<_> = done.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} done action(s) missing from the audit, e.g. {:?}; {} unexpected, e.g. {:?}",
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>(),
        extra.len(),
        extra.iter().take(5).collect::<Vec<_>>()
    );

    // Nothing is left without an outcome, and every killed run is closed as interrupted.
    let store = open_store(&s).await;
    assert!(store.journal_unsettled("").await.unwrap().is_empty());
    for k in &kills {
        let run = store.run(&k.run).await.unwrap().unwrap();
        assert_eq!(run.status, Some(RunStatus::Interrupted), "run {}", k.run);
    }
    store.close().await;
}
