//! The engine-core scenarios against `scim2-server`, a real third-party SCIM server from PyPI
//! (its quirks are in `crates/muster-connectors/src/scim/SERVERS.md`), instead of Muster's own
//! simulator. Every assertion on the outcome reads the server's state back over its HTTP API.
//!
//! The binary is `SCIM2_SERVER_BIN`, or `.venv-scim2/bin/scim2-server` under the workspace root
//! (`scripts/test.sh` installs it). Without it the tests are skipped locally and fail when `CI`
//! is set, so CI cannot pass by not running them.
//!
//! Each test starts its own server on a free loopback port; the process is killed on drop. The
//! server logs one line per request on stderr (Python's `wsgiref`), which the harness keeps in a
//! file to count the writes it received.

use crate::fixture::scim_only;
use crate::fixture::{actions, day, groups, DEMO};
use muster_core::plan::{ActionKind, Plan};
use muster_core::report::{ActionOutcome, RunStatus};
use muster_engine::{Config, Engine, RunReport};
use muster_store::AuditQuery;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "scim2-interop-token";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The demo's HR changes of day 2 (see `examples/demo/generate.py`).
const MOVERS: [(&str, &str, &str); 5] = [
    ("10022", "Support", "Legal"),
    ("10023", "Legal", "Facilities"),
    ("10024", "Facilities", "Finance"),
    ("10025", "Finance", "HR"),
    ("10026", "HR", "ICT"),
];
const LEAVERS: [(&str, &str); 3] = [("10043", "ICT"), ("10044", "Sales"), ("10045", "Marketing")];
const HIRES: [(&str, &str); 2] = [("10901", "ICT"), ("10902", "Sales")];
const RENAMED: &str = "10064";

// ---------------------------------------------------------------------------------------------
// The server process

fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SCIM2_SERVER_BIN") {
        let path = PathBuf::from(path);
        return path.exists().then_some(path);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-scim2/bin/scim2-server");
    path.exists().then_some(path)
}

/// The running `scim2-server`; killed when dropped.
struct Scim2Server {
    child: Child,
    base_url: String,
    /// Its stderr: one `wsgiref` access-log line per request.
    log: PathBuf,
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Scim2Server {
    /// Starts the server, or `None` (test skipped) when it is not installed outside CI.
    async fn start(dir: &Path) -> Option<Self> {
        let Some(bin) = binary() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but scim2-server is not installed: run scripts/test.sh (it installs \
                 scim2-server into .venv-scim2 and exports SCIM2_SERVER_BIN)"
            );
            eprintln!("SKIPPED: scim2-server not installed (run scripts/test.sh)");
            return None;
        };
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("its address").port()
        };
        let log = dir.join("scim2-server.log");
        let stderr = std::fs::File::create(&log).unwrap();
        let child = Command::new(&bin)
            .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
            .args(["--bearer-token", TOKEN])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut server = Self {
            child,
            base_url: format!("http://127.0.0.1:{port}/v2"),
            log,
        };
        let probe = reqwest::Client::new();
        for _ in 0..150 {
            let ready = probe
                .get(format!("{}/ServiceProviderConfig", server.base_url))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Some(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "scim2-server exited with {status}: {}",
                    std::fs::read_to_string(&server.log).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "scim2-server did not answer on {} within 15 s",
            server.base_url
        );
    }

    /// The write requests (POST, PUT, PATCH, DELETE) the server has logged so far. The log line
    /// is written just after the response, so this waits (bounded) until the count is stable.
    async fn writes(&self) -> usize {
        let count = || {
            std::fs::read_to_string(&self.log)
                .unwrap()
                .lines()
                .filter(|l| {
                    ["\"POST ", "\"PUT ", "\"PATCH ", "\"DELETE "]
                        .iter()
                        .any(|m| l.contains(m))
                })
                .count()
        };
        let mut last = count();
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = count();
            if now == last {
                return now;
            }
            last = now;
        }
        panic!("the server's request log does not settle");
    }
}

// ---------------------------------------------------------------------------------------------
// The test bed: the demo config and HR export in a temp folder, pointed at the server

struct Interop {
    // Declared first so the server is stopped before its folder is removed.
    server: Scim2Server,
    dir: tempfile::TempDir,
    config_path: PathBuf,
    http: reqwest::Client,
    /// Group name → id on the server.
    group_ids: BTreeMap<String, String>,
}

impl Interop {
    /// The demo organisation with day 1's HR export, against a fresh scim2-server that holds
    /// the groups the demo's rules grant. `None` when the test is skipped.
    async fn demo() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let server = Scim2Server::start(dir.path()).await?;
        let token = dir.path().join("token");
        std::fs::write(&token, TOKEN).unwrap();
        // The demo config is used as it is: nothing in its mapping is rejected by scim2-server
        // (the enterprise `department` is declared in `schemas` by the connector when written).
        // Only the token is read from a file instead of the environment, and the base URL is
        // overridden through the environment in `engine()`.
        let text =
            scim_only(&std::fs::read_to_string(Path::new(DEMO).join("muster.toml")).unwrap())
                .replace(
                    "{ env = \"SCIM_TOKEN\" }",
                    &format!("{{ file = {:?} }}", token.display().to_string()),
                );
        let config_path = dir.path().join("muster.toml");
        std::fs::write(&config_path, text).unwrap();
        let http = reqwest::Client::builder()
            // The server answers HTTP/1.0 and closes every connection.
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let mut bed = Self {
            server,
            dir,
            config_path,
            http,
            group_ids: BTreeMap::new(),
        };
        for name in groups() {
            let id = bed.create_group(&name).await;
            bed.group_ids.insert(name, id);
        }
        bed.hr_day(1);
        Some(bed)
    }

    /// Groups cannot be created through Muster (no operation does it): raw SCIM JSON.
    async fn create_group(&self, name: &str) -> String {
        let resp = self
            .http
            .post(format!("{}/Groups", self.server.base_url))
            .bearer_auth(TOKEN)
            .header("content-type", "application/scim+json")
            .body(
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": name,
                })
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 201, "creating group {name}: {body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Installs the demo's HR export of day `n`.
    fn hr_day(&self, n: u32) {
        for file in ["persons.csv", "contracts.csv"] {
            std::fs::copy(
                Path::new(DEMO).join(format!("day{n}")).join(file),
                self.dir.path().join(file),
            )
            .unwrap();
        }
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(file)).unwrap()
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join(file), text).unwrap();
    }

    async fn engine(&self) -> Engine {
        let env = [(
            "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL".to_owned(),
            self.server.base_url.clone(),
        )];
        let config = Config::load_with_env(&self.config_path, env.into_iter()).unwrap();
        Engine::open(config).await.unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}/{path}", self.server.base_url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Every resource of a type, paged through (bounded).
    async fn list(&self, resource: &str) -> Vec<Value> {
        let mut all: Vec<Value> = Vec::new();
        for _ in 0..100 {
            let page = self
                .get(&format!(
                    "{resource}?startIndex={}&count=1000",
                    all.len() + 1
                ))
                .await;
            let total = usize::try_from(page["totalResults"].as_u64().unwrap()).unwrap();
            let items = page["Resources"].as_array().cloned().unwrap_or_default();
            let empty = items.is_empty();
            all.extend(items);
            if all.len() >= total || empty {
                return all;
            }
        }
        panic!("{resource}: paging does not end");
    }

    /// The server's users and groups, as it answers them.
    async fn state(&self) -> ServerState {
        ServerState {
            users: self.list("Users").await,
            groups: self.list("Groups").await,
        }
    }
}

/// A read-back of the server.
#[derive(Debug, PartialEq)]
struct ServerState {
    users: Vec<Value>,
    groups: Vec<Value>,
}

impl ServerState {
    fn user(&self, user_name: &str) -> &Value {
        self.users
            .iter()
            .find(|u| u["userName"] == user_name)
            .unwrap_or_else(|| panic!("the server holds no user {user_name}"))
    }

    /// Group name → userNames of its members (a member id that is no user shows as `?id`).
    fn memberships(&self) -> BTreeMap<String, BTreeSet<String>> {
        let names: BTreeMap<&str, &str> = self
            .users
            .iter()
            .map(|u| (u["id"].as_str().unwrap(), u["userName"].as_str().unwrap()))
            .collect();
        self.groups
            .iter()
            .map(|g| {
                let members = g["members"]
                    .as_array()
                    .map(|m| {
                        m.iter()
                            .map(|m| {
                                let id = m["value"].as_str().unwrap();
                                names
                                    .get(id)
                                    .map_or_else(|| format!("?{id}"), |n| (*n).to_owned())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (g["displayName"].as_str().unwrap().to_owned(), members)
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// What the server should hold, from the HR export (independently of Muster's plan)

/// Person → business e-mail (the userName).
fn emails(persons_csv: &str) -> BTreeMap<String, String> {
    persons_csv
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split(';').collect();
            (cols[0].to_owned(), cols[5].to_owned())
        })
        .collect()
}

/// Day 1: nobody has an end date, so everyone is in "All staff" and in the group of every
/// department they have a contract in.
fn day1_memberships(bed: &Interop) -> BTreeMap<String, BTreeSet<String>> {
    let emails = emails(&bed.read("persons.csv"));
    let mut expected: BTreeMap<String, BTreeSet<String>> =
        groups().into_iter().map(|g| (g, BTreeSet::new())).collect();
    for email in emails.values() {
        expected.get_mut("All staff").unwrap().insert(email.clone());
    }
    for l in bed.read("contracts.csv").lines().skip(1) {
        let cols: Vec<&str> = l.split(';').collect();
        assert!(cols[3].is_empty(), "day 1 has no end dates: {l}");
        expected
            .get_mut(&format!("Dept {}", cols[4]))
            .unwrap()
            .insert(emails[cols[0]].clone());
    }
    expected
}

/// Day 2: day 1 with the movers moved, the leavers out of every group and the hires in.
fn day2_memberships(
    day1: &BTreeMap<String, BTreeSet<String>>,
    emails: &BTreeMap<String, String>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut expected = day1.clone();
    for (person, from, to) in MOVERS {
        let email = &emails[person];
        assert!(expected
            .get_mut(&format!("Dept {from}"))
            .unwrap()
            .remove(email));
        assert!(expected
            .get_mut(&format!("Dept {to}"))
            .unwrap()
            .insert(email.clone()));
    }
    for (person, dept) in LEAVERS {
        let email = &emails[person];
        assert!(expected.get_mut("All staff").unwrap().remove(email));
        assert!(expected
            .get_mut(&format!("Dept {dept}"))
            .unwrap()
            .remove(email));
    }
    for (person, dept) in HIRES {
        let email = &emails[person];
        assert!(expected.get_mut("All staff").unwrap().insert(email.clone()));
        assert!(expected
            .get_mut(&format!("Dept {dept}"))
            .unwrap()
            .insert(email.clone()));
    }
    expected
}

/// Fails with every difference, group by group.
fn assert_memberships(
    actual: &BTreeMap<String, BTreeSet<String>>,
    expected: &BTreeMap<String, BTreeSet<String>>,
) {
    let mut diffs = Vec::new();
    for (group, want) in expected {
        let Some(have) = actual.get(group) else {
            diffs.push(format!("{group}: missing on the server"));
            continue;
        };
        let missing: Vec<_> = want.difference(have).collect();
        let extra: Vec<_> = have.difference(want).collect();
        if !missing.is_empty() || !extra.is_empty() {
            diffs.push(format!("{group}: missing {missing:?}, extra {extra:?}"));
        }
    }
    for group in actual.keys().filter(|g| !expected.contains_key(*g)) {
        diffs.push(format!("{group}: unexpected group"));
    }
    assert!(
        diffs.is_empty(),
        "group memberships differ:\n{}",
        diffs.join("\n")
    );
}

/// (kind, group, userName) of every grant and revoke of a plan, sorted.
fn permission_actions(
    plan: &Plan,
    emails: &BTreeMap<String, String>,
) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = plan
        .targets
        .iter()
        .flat_map(|t| &t.actions)
        .filter(|a| matches!(a.kind, ActionKind::Grant | ActionKind::Revoke))
        .map(|a| {
            let p = a
                .permission
                .as_ref()
                .expect("a grant or revoke names its group");
            (
                a.kind.to_string(),
                p.name.clone(),
                emails[a.person.as_str()].clone(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Fails with the audit trail's reasons when an apply did not do everything it planned.
async fn assert_all_done(engine: &Engine, report: &RunReport) {
    let totals = report.summary.targets[0].totals();
    if (totals.done, totals.failed, totals.blocked, totals.skipped)
        == (report.plan.action_count(), 0, 0, 0)
    {
        return;
    }
    let events = engine
        .store
        .audit(&AuditQuery {
            run: Some(report.run.to_string()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let failures: Vec<String> = events
        .iter()
        .filter(|e| e.outcome != ActionOutcome::Done)
        .take(20)
        .map(|e| {
            format!(
                "{} {} {}: {} ({})",
                e.outcome.as_str(),
                e.action,
                e.person,
                e.reason,
                e.detail.as_deref().unwrap_or("")
            )
        })
        .collect();
    panic!(
        "planned {}, got {totals:?}; first failures:\n{}",
        report.plan.action_count(),
        failures.join("\n")
    );
}

fn pairs(list: &[(&str, &[&str])]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .flat_map(|(person, kinds)| {
            kinds
                .iter()
                .map(move |k| (k.to_string(), person.to_string()))
        })
        .collect();
    v.sort();
    v
}

/// Applies day 1 and checks that everything was done (the set-up of tests 2 and 3).
async fn load_day1(bed: &Interop, engine: &Engine) {
    let started = Instant::now();
    let applied = engine.apply(day(1), None).await.unwrap();
    assert_all_done(engine, &applied).await;
    eprintln!(
        "day 1 load ({} actions) against scim2-server: {:?}",
        applied.plan.action_count(),
        started.elapsed()
    );
    assert_eq!(bed.state().await.users.len(), 300);
}

// ---------------------------------------------------------------------------------------------
// The scenarios

#[tokio::test]
async fn interop_initial_load_of_day_1_against_scim2_server() {
    let Some(bed) = Interop::demo().await else {
        return;
    };
    let engine = bed.engine().await;
    let emails = emails(&bed.read("persons.csv"));
    let expected = day1_memberships(&bed);
    let writes_before = bed.server.writes().await;

    // Preview: 300 creates and one grant per membership, every group found on the server.
    let started = Instant::now();
    let preview = engine.preview(day(1)).await.unwrap();
    eprintln!("day 1 preview: {:?}", started.elapsed());
    let t = &preview.plan.targets[0];
    assert_eq!(t.count(ActionKind::Create), 300);
    let memberships: usize = expected.values().map(BTreeSet::len).sum();
    assert_eq!(
        memberships,
        300 + bed.read("contracts.csv").lines().count() - 1
    );
    assert_eq!(t.count(ActionKind::Grant), memberships);
    assert_eq!(
        t.actions.len(),
        300 + memberships,
        "creates and grants only"
    );
    let planned: Vec<_> = permission_actions(&preview.plan, &emails);
    let mut wanted: Vec<_> = expected
        .iter()
        .flat_map(|(g, m)| m.iter().map(|e| ("grant".to_owned(), g.clone(), e.clone())))
        .collect();
    wanted.sort();
    assert_eq!(planned, wanted, "one grant per expected membership");
    for a in t.actions.iter().filter(|a| a.kind == ActionKind::Grant) {
        let p = a.permission.as_ref().unwrap();
        assert_eq!(
            p.group.as_ref().map(|g| g.as_str().to_owned()),
            Some(bed.group_ids[&p.name].clone()),
            "the grant of {} points at the server's group",
            p.name
        );
    }
    assert_eq!(
        bed.server.writes().await,
        writes_before,
        "a preview writes nothing"
    );
    assert!(
        bed.state().await.users.is_empty(),
        "a preview changes nothing"
    );

    // Apply.
    let started = Instant::now();
    let applied = engine.apply(day(1), None).await.unwrap();
    eprintln!(
        "day 1 apply ({} actions): {:?}",
        applied.plan.action_count(),
        started.elapsed()
    );
    assert_eq!(applied.summary.status(), RunStatus::Changes);
    assert_eq!(applied.plan.action_count(), t.actions.len());
    assert_all_done(&engine, &applied).await;

    // The server's own state.
    let state = bed.state().await;
    assert_eq!(state.users.len(), 300);
    let names: BTreeSet<&str> = state
        .users
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    let want: BTreeSet<&str> = emails.values().map(String::as_str).collect();
    assert_eq!(names, want, "one account per person, named by e-mail");
    assert!(
        state.users.iter().all(|u| u["active"] == true),
        "every day-1 employee is active"
    );
    let emma = state.user("e.vandijk@example.org");
    assert_eq!(emma["externalId"], "10001");
    assert_eq!(emma["name"]["givenName"], "Emma");
    assert_eq!(emma["name"]["familyName"], "van Dijk");
    assert_eq!(emma["displayName"], "Emma van Dijk");
    assert_eq!(emma["title"], "Medewerker");
    assert_eq!(emma[ENTERPRISE]["department"], "Finance", "{emma}");
    assert_memberships(&state.memberships(), &expected);
    assert_eq!(
        bed.server.writes().await - writes_before,
        t.actions.len(),
        "one write request per action (no retries, no extra writes)"
    );

    let started = Instant::now();
    let again = engine.preview(day(1)).await.unwrap();
    eprintln!("day 1 preview after apply: {:?}", started.elapsed());
    assert!(
        again.plan.is_empty(),
        "right after apply the plan is empty: {:?}",
        actions(&again.plan)
    );
}

#[tokio::test]
async fn interop_a_day_of_hr_changes_converges_on_scim2_server() {
    let Some(bed) = Interop::demo().await else {
        return;
    };
    let engine = bed.engine().await;
    load_day1(&bed, &engine).await;
    let day1 = day1_memberships(&bed);

    bed.hr_day(2);
    let emails = emails(&bed.read("persons.csv"));
    let started = Instant::now();
    let preview = engine.preview(day(2)).await.unwrap();
    eprintln!("day 2 preview: {:?}", started.elapsed());
    let moves: &[&str] = &["update", "grant", "revoke"];
    let leaver: &[&str] = &["disable", "revoke", "revoke"];
    let hire: &[&str] = &["create", "grant", "grant"];
    let expected = pairs(&[
        ("10022", moves),
        ("10023", moves),
        ("10024", moves),
        ("10025", moves),
        ("10026", moves),
        ("10043", leaver),
        ("10044", leaver),
        ("10045", leaver),
        ("10901", hire),
        ("10902", hire),
        (RENAMED, &["update"]),
    ]);
    assert_eq!(actions(&preview.plan), expected);
    let mut wanted_permissions = Vec::new();
    for (person, from, to) in MOVERS {
        wanted_permissions.push(("grant", format!("Dept {to}"), person));
        wanted_permissions.push(("revoke", format!("Dept {from}"), person));
    }
    for (person, dept) in LEAVERS {
        wanted_permissions.push(("revoke", "All staff".to_owned(), person));
        wanted_permissions.push(("revoke", format!("Dept {dept}"), person));
    }
    for (person, dept) in HIRES {
        wanted_permissions.push(("grant", "All staff".to_owned(), person));
        wanted_permissions.push(("grant", format!("Dept {dept}"), person));
    }
    let mut wanted_permissions: Vec<_> = wanted_permissions
        .into_iter()
        .map(|(k, g, p)| (k.to_owned(), g, emails[p].clone()))
        .collect();
    wanted_permissions.sort();
    assert_eq!(
        permission_actions(&preview.plan, &emails),
        wanted_permissions
    );
    let rename = preview.plan.targets[0]
        .actions
        .iter()
        .find(|a| a.person.as_str() == RENAMED)
        .unwrap();
    assert!(rename
        .changes
        .iter()
        .any(|c| c.field == "name.familyName" && c.after == Some("Van Houten".into())));

    let before = bed.state().await;
    let started = Instant::now();
    let applied = engine.apply(day(2), None).await.unwrap();
    eprintln!(
        "day 2 apply ({} actions): {:?}",
        applied.plan.action_count(),
        started.elapsed()
    );
    assert_eq!(applied.summary.status(), RunStatus::Changes);
    assert_eq!(applied.plan.action_count(), expected.len());
    assert_all_done(&engine, &applied).await;
    let again = engine.preview(day(2)).await.unwrap();
    assert!(
        again.plan.is_empty(),
        "after apply the plan is empty: {:?}",
        actions(&again.plan)
    );

    // The server's own state.
    let state = bed.state().await;
    assert_eq!(
        state.users.len(),
        302,
        "the two hires were added, nobody deleted"
    );
    for (person, _) in LEAVERS {
        assert_eq!(
            state.user(&emails[person])["active"],
            false,
            "leaver {person}"
        );
    }
    for (person, _) in HIRES {
        let hire = state.user(&emails[person]);
        assert_eq!(
            hire["active"], false,
            "future hire {person} is prepared disabled"
        );
        assert_eq!(hire["externalId"], person);
    }
    let disabled: BTreeSet<&str> = state
        .users
        .iter()
        .filter(|u| u["active"] != true)
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    let want: BTreeSet<&str> = LEAVERS
        .iter()
        .map(|(p, _)| p)
        .chain(HIRES.iter().map(|(p, _)| p))
        .map(|p| emails[*p].as_str())
        .collect();
    assert_eq!(
        disabled, want,
        "only the leavers and the prepared hires are inactive"
    );

    let renamed = state.user(&emails[RENAMED]);
    assert_eq!(renamed["name"]["familyName"], "Van Houten");
    assert_eq!(renamed["displayName"], "Emma Van Houten");
    assert_eq!(
        renamed["id"],
        before.user(&emails[RENAMED])["id"],
        "renamed in place"
    );
    for (person, _, to) in MOVERS {
        let mover = state.user(&emails[person]);
        assert_eq!(
            mover[ENTERPRISE]["department"], to,
            "mover {person}: {mover}"
        );
    }
    let memberships = state.memberships();
    for (person, from, to) in MOVERS {
        let email = &emails[person];
        assert!(
            memberships[&format!("Dept {to}")].contains(email),
            "{person} joined {to}"
        );
        assert!(
            !memberships[&format!("Dept {from}")].contains(email),
            "{person} left {from}"
        );
    }
    assert_memberships(&memberships, &day2_memberships(&day1, &emails));
}

#[tokio::test]
async fn interop_a_source_that_shrinks_by_40_percent_sends_no_write_to_scim2_server() {
    let Some(bed) = Interop::demo().await else {
        return;
    };
    let engine = bed.engine().await;
    load_day1(&bed, &engine).await;
    let before = bed.state().await;
    let writes_before = bed.server.writes().await;

    let persons = bed.read("persons.csv");
    let kept: Vec<&str> = persons.lines().take(1 + 180).collect();
    bed.write("persons.csv", &(kept.join("\n") + "\n"));
    let report = engine.apply(day(1), None).await.unwrap();
    assert_eq!(report.summary.status(), RunStatus::Blocked);
    let why = report.summary.blocked.as_deref().unwrap_or_default();
    assert!(why.contains("120 of 300"), "{why:?}");

    assert_eq!(
        bed.server.writes().await,
        writes_before,
        "no write request reached the server"
    );
    let after = bed.state().await;
    assert_eq!(after.users.len(), 300);
    assert!(after.users.iter().all(|u| u["active"] == true));
    // Users and groups read back identically, `meta.version` and `meta.lastModified` included.
    let changed: Vec<&Value> = after
        .users
        .iter()
        .chain(&after.groups)
        .filter(|r| !before.users.contains(r) && !before.groups.contains(r))
        .collect();
    assert!(
        after == before && changed.is_empty(),
        "the server's state changed: {changed:?}"
    );
}
