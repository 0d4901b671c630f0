//! The connector conformance suite: the rules of `docs/specs/connector.md`, each written once
//! and run against every connector and its simulator.
//!
//! A kind is described once, by a [`Kind`]: how to start its simulator, connect to it, seed an
//! account and a group, count a member, describe a new person, and switch its rate limit. The
//! rules below take any `Kind`; the [`suite!`] line at the end makes one `#[tokio::test]` per
//! (kind, rule), named `conformance::<kind>::<rule>`. A new kind is one `impl Kind` and one
//! line in that list.
//!
//! A kind that cannot keep a rule because it lacks the capability (Zermelo has no disabled
//! state and, by default, never revokes a placement) names the rule and the reason in
//! [`Kind::SKIPS`]; its test then passes after printing `SKIPPED <kind> <rule>: <reason>` (shown
//! with `--nocapture`), and each kind's `skips_name_rules` keeps that list honest.
//!
//! Every simulator is served through [`tamper`], so a rule can see each exchange (method, path,
//! status) and lose or replace one chosen answer; 429s come from the simulators' own
//! rate-limit switches.

use super::helloid::{helloid_config, KEY, SECRET};
use super::scim_config;
use super::tamper::{self, Verdict};
use super::zermelo_users::zermelo_config;
use super::zivver_users::zivver_config;
use async_trait::async_trait;
use hyper::Method;
use muster_connectors::{HelloIdConnector, ScimConnector, ZermeloConnector, ZivverConnector};
use muster_core::connector::{Attributes, Connector, ConnectorError, Operation, Outcome};
use muster_core::{AccountRef, GroupRef, TargetName};
use muster_sim::{
    HelloIdSim, HelloIdSimConfig, HelloIdState, ScimSim, ScimSimConfig, ScimState, ScimSwitches,
    ZermeloSim, ZermeloSimConfig, ZermeloState, ZivverSim, ZivverSimConfig, ZivverState,
    ZivverSwitches,
};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One connector kind and its simulator, as the rules need them.
#[async_trait]
pub trait Kind: Sized + Send + Sync + 'static {
    /// The kind's name in test output.
    const NAME: &'static str;
    /// Rules this kind does not keep for want of the capability: `(rule, reason)`.
    const SKIPS: &'static [(&'static str, &'static str)] = &[];
    /// Credentials the connector is given; none may show in a `Debug` or an error.
    const SECRETS: &'static [&'static str];

    /// A well-behaved simulator (no rate limit, no faults) served behind `hook`.
    async fn start(hook: tamper::Hook) -> Self;
    /// A connector to the simulator, its secrets in files in `dir`; with the `Debug` text of
    /// the connector and of its configuration.
    async fn connect(&self, dir: &Path) -> (Arc<dyn Connector>, String);
    /// Seeds account number `n` in the simulator, without HTTP.
    fn seed_account(&self, n: u32) -> AccountRef;
    /// Seeds an empty group (number `n`) in the simulator, without HTTP.
    fn seed_group(&self, n: u32) -> GroupRef {
        self.seed_named_group(&format!("group{n}")).0
    }
    /// Seeds an empty group labelled `label` in the simulator, without HTTP; with the name the
    /// connector gives it (Zermelo: class `label` of a school year).
    fn seed_named_group(&self, label: &str) -> (GroupRef, String);
    /// How often the simulator lists `account` in `group`.
    fn member_count(&self, group: &GroupRef, account: &AccountRef) -> usize;
    /// A reference of the kind's shape that the simulator does not know.
    fn absent_account(&self) -> AccountRef {
        AccountRef::new(ABSENT_UUID)
    }
    /// The attributes of new person number `n`, and the attribute and value that find them.
    fn person(&self, n: u32) -> (Attributes, &'static str, String);
    /// How many accounts the simulator holds whose look-up value is `value`.
    fn accounts_named(&self, value: &str) -> usize;
    /// Turns the simulator's rate limit on (`budget` requests per `window_s` seconds), with or
    /// without `Retry-After` on its 429s.
    fn rate_limit(&self, budget: u32, window_s: u64, retry_after: bool);
}

// ----- the harness --------------------------------------------------------------------------

/// One exchange as the tamper saw it: the status answered, `None` when the answer was lost.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub status: Option<u16>,
}

type Fault = Box<dyn FnMut(&Method, &str, Option<(u16, &str)>) -> Verdict + Send>;

/// What the tamper in front of a simulator does to the exchanges of one test, and its log.
#[derive(Default)]
pub struct Tap {
    log: Mutex<Vec<Seen>>,
    fault: Mutex<Option<Fault>>,
}

impl Tap {
    fn hook(self: &Arc<Self>) -> tamper::Hook {
        let tap = self.clone();
        Arc::new(
            move |method: &Method, path: &str, after: Option<(u16, &str)>| {
                tap.exchange(method, path, after)
            },
        )
    }

    fn exchange(&self, method: &Method, path: &str, after: Option<(u16, &str)>) -> Verdict {
        let verdict = self
            .fault
            .lock()
            .unwrap()
            .as_mut()
            .map_or(Verdict::Pass, |f| f(method, path, after));
        let status = match (&verdict, after) {
            (Verdict::Pass, None) => return verdict,
            (Verdict::Pass, Some((status, _))) => Some(status),
            (Verdict::Answer(status, _), _) => Some(*status),
            (Verdict::Drop, _) => None,
        };
        self.log.lock().unwrap().push(Seen {
            method: method.clone(),
            path: path.to_owned(),
            status,
        });
        verdict
    }

    /// From now on, `fault` decides every exchange (see [`tamper::Hook`]).
    fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = Some(fault);
    }

    /// Forgets what was seen so far.
    fn reset_log(&self) {
        self.log.lock().unwrap().clear();
    }

    fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }
}

/// A kind's simulator behind a tap, and a connector to it.
pub struct Bench<K> {
    kind: K,
    tap: Arc<Tap>,
    conn: Arc<dyn Connector>,
    shown: String,
    _dir: tempfile::TempDir,
}

impl<K: Kind> Bench<K> {
    /// The bench for `rule`, or `None` (after saying why) when the kind skips it.
    async fn start(rule: &str) -> Option<Self> {
        if let Some((_, reason)) = K::SKIPS.iter().find(|(r, _)| *r == rule) {
            println!("SKIPPED {} {rule}: {reason}", K::NAME);
            return None;
        }
        let tap = Arc::new(Tap::default());
        let kind = K::start(tap.hook()).await;
        let dir = tempfile::tempdir().unwrap();
        let (conn, shown) = kind.connect(dir.path()).await;
        tap.reset_log();
        Some(Self {
            kind,
            tap,
            conn,
            shown,
            _dir: dir,
        })
    }

    /// A Grant (`grant`) or Revoke of `account` in `group`, through the connector.
    async fn membership(
        &self,
        grant: bool,
        account: &AccountRef,
        group: &GroupRef,
    ) -> Result<Outcome, ConnectorError> {
        let (account, group) = (account.clone(), group.clone());
        let operation = if grant {
            Operation::Grant { account, group }
        } else {
            Operation::Revoke { account, group }
        };
        self.conn.execute(&operation).await
    }

    fn context(&self) -> String {
        format!("{}: exchanges {:#?}", K::NAME, self.tap.seen())
    }
}

fn is_write(method: &Method) -> bool {
    *method != Method::GET
}

// ----- the rules ----------------------------------------------------------------------------

/// §7: a Delete of an account that is not there is done.
async fn absent_delete_is_done<K: Kind>(b: &Bench<K>) {
    let out = b
        .conn
        .execute(&Operation::Delete {
            account: b.kind.absent_account(),
            changes: Attributes::new(),
        })
        .await;
    assert!(
        matches!(out, Ok(Outcome::AlreadyAbsent)),
        "{out:?}\n{}",
        b.context()
    );
}

/// §7: a Disable of an account that is not there is done.
async fn absent_disable_is_done<K: Kind>(b: &Bench<K>) {
    let out = b
        .conn
        .execute(&Operation::SetEnabled {
            account: b.kind.absent_account(),
            enabled: false,
            changes: Attributes::new(),
        })
        .await;
    assert!(
        matches!(out, Ok(Outcome::AlreadyAbsent)),
        "{out:?}\n{}",
        b.context()
    );
}

/// §7: a Revoke of a membership that is not there is done, and changes nothing.
async fn absent_revoke_is_done<K: Kind>(b: &Bench<K>) {
    let account = b.kind.seed_account(1);
    let group = b.kind.seed_group(1);
    let out = b.membership(false, &account, &group).await;
    assert!(
        matches!(out, Ok(Outcome::AlreadyAbsent | Outcome::Done)),
        "{out:?}\n{}",
        b.context()
    );
    assert_eq!(b.kind.member_count(&group, &account), 0);
}

/// §2: a read whose later request fails (the next page, the next list) fails as a whole; it
/// never comes back as a shorter list.
async fn partial_read_fails<K: Kind>(b: &Bench<K>) {
    for n in 1..=12 {
        b.kind.seed_account(n);
    }
    b.kind.seed_group(1);
    let complete = b.conn.read_all().await.expect("the read without faults");
    assert!(complete.accounts.len() >= 12, "{}", b.context());
    let mut reads = 0;
    b.tap.set(Box::new(move |method, _, after| {
        if *method != Method::GET || after.is_some() {
            return Verdict::Pass;
        }
        reads += 1;
        if reads == 1 {
            Verdict::Pass
        } else {
            Verdict::Answer(500, r#"{"message": "page failed"}"#.to_owned())
        }
    }));
    b.tap.reset_log();
    let out = b.conn.read_all().await;
    assert!(
        out.is_err(),
        "a partial read came back: {out:?}\n{}",
        b.context()
    );
    let seen = b.tap.seen();
    assert!(
        seen.iter().filter(|s| s.method == Method::GET).count() >= 2,
        "the first request alone must not decide: {seen:#?}"
    );
}

/// §5: a create whose answer is lost is `Uncertain` (or settled by the connector's own
/// look-up), is never sent again, and is found by a look-up (once: the simulator holds one
/// such account).
async fn uncertain_create_is_looked_up<K: Kind>(b: &Bench<K>) {
    let (attributes, attribute, value) = b.kind.person(7);
    let mut lost = false;
    b.tap.set(Box::new(move |method, _, after| {
        if *method == Method::POST && after.is_some() && !lost {
            lost = true;
            Verdict::Drop
        } else {
            Verdict::Pass
        }
    }));
    let out = b
        .conn
        .execute(&Operation::Create {
            attributes,
            enabled: true,
        })
        .await;
    // Uncertain for the executor to look up, or settled by the connector's own look-up.
    assert!(
        matches!(
            out,
            Err(ConnectorError::Uncertain { .. }) | Ok(Outcome::Created(_))
        ),
        "{out:?}\n{}",
        b.context()
    );
    let posts = b
        .tap
        .seen()
        .iter()
        .filter(|s| s.method == Method::POST)
        .count();
    assert_eq!(posts, 1, "a POST with a lost answer is not sent again");
    let found = b.conn.lookup(attribute, &value).await.expect("look-up");
    assert_eq!(found.len(), 1, "{found:?}\n{}", b.context());
    assert_eq!(b.kind.accounts_named(&value), 1);
}

/// §4: a 429 within the budget is waited out (as long as `Retry-After` or the answer says),
/// and the read completes.
async fn rate_limit_is_waited_out<K: Kind>(b: &Bench<K>) {
    b.kind.seed_account(1);
    b.kind.rate_limit(1, 1, true);
    let started = Instant::now();
    let out = b.conn.read_all().await;
    assert!(out.is_ok(), "{out:?}\n{}", b.context());
    let seen = b.tap.seen();
    assert!(
        seen.iter().any(|s| s.status == Some(429)),
        "the rate limit was never hit: {seen:#?}"
    );
    assert!(started.elapsed() < Duration::from_secs(60), "{seen:#?}");
}

/// §4–5: a wait beyond the time budget (`Retry-After: 3600`) is not waited; the request
/// ends `RateLimited` at once, saying how long the target asked for.
async fn rate_limit_beyond_the_budget_fails_fast<K: Kind>(b: &Bench<K>) {
    b.kind.rate_limit(1, 3_600, true);
    let started = Instant::now();
    let out = b.conn.read_all().await;
    assert!(
        matches!(
            out,
            Err(ConnectorError::RateLimited { retry_after: Some(wait), .. })
                if wait > Duration::from_secs(600)
        ),
        "{out:?}\n{}",
        b.context()
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "waited {:?}",
        started.elapsed()
    );
}

/// §4–5: 429s without `Retry-After` are retried with backoff, and the request ends within its bounds: done once the limit lifts, or `RateLimited` when its
/// attempts run out first (SCIM counts 429s as attempts; the others wait them out within the
/// throttle budget).
async fn rate_limit_without_retry_after_is_bounded<K: Kind>(b: &Bench<K>) {
    b.kind.seed_account(1);
    b.kind.rate_limit(1, 1, false);
    let started = Instant::now();
    let out = b.conn.read_all().await;
    assert!(
        matches!(out, Ok(_) | Err(ConnectorError::RateLimited { .. })),
        "{out:?}\n{}",
        b.context()
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "waited {:?}",
        started.elapsed()
    );
    let seen = b.tap.seen();
    let throttled = seen.iter().filter(|s| s.status == Some(429)).count();
    assert!(throttled >= 1, "the rate limit was never hit: {seen:#?}");
}

/// §8: no credential shows in the `Debug` of the connector or its configuration, nor in the
/// error of a refused request.
async fn secrets_never_show<K: Kind>(b: &Bench<K>) {
    b.tap.set(Box::new(|_, _, after| match after {
        None => Verdict::Pass,
        Some(_) => Verdict::Answer(401, r#"{"message": "Unauthorized"}"#.to_owned()),
    }));
    let err = b.conn.read_all().await.expect_err("refused");
    let shown = format!("{} {err:?} {err}", b.shown);
    for secret in K::SECRETS {
        assert!(
            !shown.contains(secret),
            "{}: `{secret}` shows in {shown}",
            K::NAME
        );
    }
}

/// §5: a grant whose answer is lost is settled before it is sent again: it ends done, with the
/// member listed once, and a POST or at-most-once write is never repeated without a read
/// between.
async fn lost_grant_answer_is_settled<K: Kind>(b: &Bench<K>) {
    let account = b.kind.seed_account(1);
    let group = b.kind.seed_group(1);
    let mut lost = false;
    b.tap.set(Box::new(move |method, _, after| {
        if is_write(method) && after.is_some() && !lost {
            lost = true;
            Verdict::Drop
        } else {
            Verdict::Pass
        }
    }));
    let out = b.membership(true, &account, &group).await;
    assert!(matches!(out, Ok(Outcome::Done)), "{out:?}\n{}", b.context());
    assert_eq!(b.kind.member_count(&group, &account), 1, "{}", b.context());
    let seen = b.tap.seen();
    let lost_at = seen
        .iter()
        .position(|s| is_write(&s.method) && s.status.is_none())
        .expect("an answer was lost");
    let again = seen[lost_at + 1..]
        .iter()
        .position(|s| s.method == seen[lost_at].method && s.path == seen[lost_at].path);
    if let Some(again) = again {
        let between = &seen[lost_at + 1..lost_at + 1 + again];
        assert!(
            seen[lost_at].method != Method::POST || between.iter().any(|s| s.method == Method::GET),
            "a lost POST was sent again unsettled: {seen:#?}"
        );
    }
}

// ----- the kinds ----------------------------------------------------------------------------

const SCIM_TOKEN: &str = "conformance-scim-token-31415";
const ZIVVER_TOKEN: &str = "conformance-zivver-token-27182";
const ZERMELO_TOKEN: &str = "conformance-zermelo-token-16180";
const ABSENT_UUID: &str = "00000000-0000-4000-8000-00000000dead";

/// §1 (`group_lookup`): the groups a sign-in grants are found by name without a full read,
/// ignoring case and surrounding spaces, every group of a shared name, none of another name,
/// without members; a name with a quote and a backslash is matched as it is (escaped, not
/// breaking the query). Nothing is written.
async fn groups_are_looked_up_by_name<K: Kind>(b: &Bench<K>) {
    assert!(b.conn.capabilities().group_lookup, "{}", K::NAME);
    let account = b.kind.seed_account(1);
    let (sales, sales_name) = b.kind.seed_named_group("Sales");
    let (tricky, tricky_name) = b.kind.seed_named_group(r#"Ops "A" \ B"#);
    let (twice_1, twice_name) = b.kind.seed_named_group("Twice");
    let (twice_2, _) = b.kind.seed_named_group("Twice");
    b.kind.seed_named_group("Other");
    b.kind.seed_named_group(r#"Ops "A" \ B and more"#);
    let granted = b.membership(true, &account, &sales).await;
    assert!(granted.is_ok(), "{granted:?}\n{}", b.context());
    b.tap.reset_log();

    let asked = [
        format!("  {}  ", sales_name.to_uppercase()),
        tricky_name.clone(),
        twice_name,
        "Missing".to_owned(),
    ];
    let found = b.conn.lookup_groups(&asked).await;
    let found = match found {
        Ok(found) => found,
        Err(e) => panic!("{e}\n{}", b.context()),
    };
    let mut refs: Vec<&GroupRef> = found.iter().map(|g| &g.reference).collect();
    refs.sort();
    let mut wanted = vec![&sales, &tricky, &twice_1, &twice_2];
    wanted.sort();
    assert_eq!(refs, wanted, "{found:#?}\n{}", b.context());
    assert!(found.iter().all(|g| g.members.is_empty()), "{found:#?}");
    let tricky_found = found.iter().find(|g| g.reference == tricky);
    assert_eq!(
        tricky_found.map(|g| g.name.as_str()),
        Some(tricky_name.as_str())
    );
    let seen = b.tap.seen();
    assert!(!seen.iter().any(|s| is_write(&s.method)), "{seen:#?}");
}

fn attrs(pairs: &[(&str, Value)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// How many of `records` hold `value` under `key`.
fn named(records: &[Value], key: &str, value: &str) -> usize {
    records.iter().filter(|r| r[key] == json!(value)).count()
}

fn members_of(group: Option<Value>, account: &AccountRef) -> usize {
    group
        .and_then(|g| g["members"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter(|m| m["value"] == json!(account.as_str()))
        .count()
}

/// `Kind::rate_limit` for every simulator: each carries the rate limit in its shared `faults`.
macro_rules! rate_limit_switches {
    () => {
        fn rate_limit(&self, budget: u32, window_s: u64, retry_after: bool) {
            self.state.update_switches(|s| {
                s.faults.rate_limit = true;
                s.faults.rate_budget = budget;
                s.faults.rate_window_s = window_s;
                s.faults.retry_after = retry_after;
            });
        }
    };
}

/// `Kind::seed_named_group` for the SCIM-shaped simulators (SCIM, Zivver): a group is its
/// `displayName`.
macro_rules! display_name_groups {
    () => {
        fn seed_named_group(&self, label: &str) -> (GroupRef, String) {
            let id = self
                .state
                .seed_group(json!({ "displayName": label }))
                .expect("seed group");
            (GroupRef::new(id), label.to_owned())
        }
    };
}

/// Any SCIM 2.0 service, here one that lists a member as often as it is added.
pub struct Scim {
    state: ScimState,
    root: String,
}

#[async_trait]
impl Kind for Scim {
    const NAME: &'static str = "scim";
    const SECRETS: &'static [&'static str] = &[SCIM_TOKEN];

    async fn start(hook: tamper::Hook) -> Self {
        let state = ScimState::new(ScimSimConfig {
            token: SCIM_TOKEN.to_owned(),
            switches: ScimSwitches {
                duplicate_member_adds: true,
                ..ScimSwitches::default()
            },
            ..ScimSimConfig::default()
        });
        let root = tamper::serve(ScimSim::app(state.clone()), hook).await;
        state.set_base_url(&format!("{root}/scim/v2"));
        Self { state, root }
    }

    async fn connect(&self, dir: &Path) -> (Arc<dyn Connector>, String) {
        let cfg = scim_config(
            &format!("{}/scim/v2", self.root),
            SCIM_TOKEN,
            dir,
            "page_size = 10\nmax_attempts = 3\ntimeout_s = 5\n",
        );
        let conn = ScimConnector::connect(TargetName::new("scim"), &cfg)
            .await
            .expect("connects");
        let shown = format!("{conn:?} {cfg:?}");
        (Arc::new(conn), shown)
    }

    fn seed_account(&self, n: u32) -> AccountRef {
        AccountRef::new(
            self.state
                .seed_user(json!({ "userName": format!("user{n}") }))
                .expect("seed user"),
        )
    }

    display_name_groups!();

    fn member_count(&self, group: &GroupRef, account: &AccountRef) -> usize {
        members_of(self.state.group(group.as_str()), account)
    }

    fn person(&self, n: u32) -> (Attributes, &'static str, String) {
        let name = format!("person{n}");
        (
            attrs(&[("userName", json!(name)), ("name.givenName", json!("Ann"))]),
            "userName",
            name,
        )
    }

    fn accounts_named(&self, value: &str) -> usize {
        named(&self.state.users(), "userName", value)
    }

    rate_limit_switches!();
}

/// Zivver's SCIM dialect, memberships as whole lists (`membership = "replace"`).
pub struct Zivver {
    state: ZivverState,
    root: String,
}

#[async_trait]
impl Kind for Zivver {
    const NAME: &'static str = "zivver";
    const SECRETS: &'static [&'static str] = &[ZIVVER_TOKEN];

    async fn start(hook: tamper::Hook) -> Self {
        let state = ZivverState::new(ZivverSimConfig {
            tokens: vec![ZIVVER_TOKEN.to_owned()],
            switches: ZivverSwitches::without_rate_limit(),
            ..ZivverSimConfig::default()
        });
        let root = tamper::serve(ZivverSim::app(state.clone()), hook).await;
        Self { state, root }
    }

    async fn connect(&self, dir: &Path) -> (Arc<dyn Connector>, String) {
        let cfg = zivver_config(&self.root, ZIVVER_TOKEN, dir, "max_attempts = 3\n");
        let conn = ZivverConnector::connect(TargetName::new("zivver"), &cfg).expect("connects");
        let shown = format!("{conn:?} {cfg:?}");
        (Arc::new(conn), shown)
    }

    fn seed_account(&self, n: u32) -> AccountRef {
        AccountRef::new(
            self.state
                .seed_user(json!({
                    "userName": format!("user{n}@example.org"),
                    "name": { "formatted": format!("User {n}") },
                }))
                .expect("seed user"),
        )
    }

    display_name_groups!();

    fn member_count(&self, group: &GroupRef, account: &AccountRef) -> usize {
        members_of(self.state.group(group.as_str()), account)
    }

    fn person(&self, n: u32) -> (Attributes, &'static str, String) {
        let name = format!("person{n}@example.org");
        (
            attrs(&[
                ("userName", json!(name)),
                ("name.formatted", json!(format!("Person {n}"))),
            ]),
            "userName",
            name,
        )
    }

    fn accounts_named(&self, value: &str) -> usize {
        named(&self.state.users(), "userName", value)
    }

    rate_limit_switches!();
}

/// Zivver with `functional_accounts = "accounts"` (Cloud Sync mode): the accounts are
/// functional accounts, created with `POST Groups`, suspended with the remove-all PATCH.
pub struct ZivverFunctional {
    state: ZivverState,
    root: String,
}

#[async_trait]
impl Kind for ZivverFunctional {
    const NAME: &'static str = "zivver_functional";
    const SKIPS: &'static [(&'static str, &'static str)] = &[
        (
            "absent_revoke_is_done",
            "functional accounts are accounts here: their members are `delegates`, not grants",
        ),
        (
            "lost_grant_answer_is_settled",
            "functional accounts are accounts here: their members are `delegates`, not grants",
        ),
        (
            "groups_are_looked_up_by_name",
            "functional accounts are accounts here: there are no groups to grant",
        ),
    ];
    const SECRETS: &'static [&'static str] = &[ZIVVER_TOKEN];

    async fn start(hook: tamper::Hook) -> Self {
        let z = Zivver::start(hook).await;
        Self {
            state: z.state,
            root: z.root,
        }
    }

    async fn connect(&self, dir: &Path) -> (Arc<dyn Connector>, String) {
        let cfg = zivver_config(
            &self.root,
            ZIVVER_TOKEN,
            dir,
            "max_attempts = 3\nfunctional_accounts = \"accounts\"\n",
        );
        let conn = ZivverConnector::connect(TargetName::new("zivver"), &cfg).expect("connects");
        let shown = format!("{conn:?} {cfg:?}");
        (Arc::new(conn), shown)
    }

    fn seed_account(&self, n: u32) -> AccountRef {
        let member = self
            .state
            .seed_user(json!({ "userName": format!("delegate{n}@example.org") }))
            .expect("seed user");
        AccountRef::new(
            self.state
                .seed_group(json!({
                    "externalId": format!("shared{n}@example.org"),
                    "displayName": format!("Shared {n}"),
                    "members": [{ "value": member }],
                }))
                .expect("seed functional account"),
        )
    }

    display_name_groups!();

    fn member_count(&self, group: &GroupRef, account: &AccountRef) -> usize {
        members_of(self.state.group(group.as_str()), account)
    }

    fn person(&self, n: u32) -> (Attributes, &'static str, String) {
        let name = format!("mailbox{n}@example.org");
        (
            attrs(&[
                ("kind", json!("functional")),
                ("userName", json!(name)),
                ("name.formatted", json!(format!("Mailbox {n}"))),
            ]),
            "userName",
            name,
        )
    }

    fn accounts_named(&self, value: &str) -> usize {
        named(&self.state.groups(), "externalId", value)
    }

    rate_limit_switches!();
}

/// HelloID's REST API v1.
pub struct HelloId {
    state: HelloIdState,
    root: String,
}

#[async_trait]
impl Kind for HelloId {
    const NAME: &'static str = "helloid";
    const SECRETS: &'static [&'static str] = &[KEY, SECRET];

    async fn start(hook: tamper::Hook) -> Self {
        let state = HelloIdState::new(HelloIdSimConfig::default());
        let root = tamper::serve(HelloIdSim::app(state.clone()), hook).await;
        Self { state, root }
    }

    async fn connect(&self, dir: &Path) -> (Arc<dyn Connector>, String) {
        let cfg = helloid_config(
            &format!("{}/api/v1", self.root),
            SECRET,
            dir,
            "max_attempts = 3\n",
        );
        let conn = HelloIdConnector::connect(TargetName::new("helloid"), &cfg).expect("connects");
        let shown = format!("{conn:?} {cfg:?}");
        (Arc::new(conn), shown)
    }

    fn seed_account(&self, n: u32) -> AccountRef {
        let name = format!("user{n}@example.org");
        AccountRef::new(
            self.state
                .seed_user(json!({
                    "userName": name, "firstName": "User", "lastName": format!("{n}"),
                    "contactEmail": name, "isEnabled": true, "source": "Local",
                }))
                .expect("seed user"),
        )
    }

    fn seed_named_group(&self, label: &str) -> (GroupRef, String) {
        (
            GroupRef::new(self.state.seed_group(label)),
            label.to_owned(),
        )
    }

    fn member_count(&self, group: &GroupRef, account: &AccountRef) -> usize {
        self.state
            .members(group.as_str())
            .iter()
            .filter(|m| m.as_str() == account.as_str())
            .count()
    }

    fn person(&self, n: u32) -> (Attributes, &'static str, String) {
        let name = format!("person{n}@example.org");
        (
            attrs(&[
                ("userName", json!(name)),
                ("firstName", json!("Person")),
                ("lastName", json!(format!("{n}"))),
                ("contactEmail", json!(name)),
            ]),
            "userName",
            name,
        )
    }

    fn accounts_named(&self, value: &str) -> usize {
        named(&self.state.users(), "userName", value)
    }

    rate_limit_switches!();
}

/// Zermelo's REST API v3: students, and classes as groups.
pub struct Zermelo {
    state: ZermeloState,
    root: String,
}

#[async_trait]
impl Kind for Zermelo {
    const NAME: &'static str = "zermelo";
    const SKIPS: &'static [(&'static str, &'static str)] = &[
        (
            "absent_disable_is_done",
            "Zermelo has no disabled state (can_disable = false): a delete archives",
        ),
        (
            "absent_revoke_is_done",
            "placements only add up: with the default previous_class a Revoke is never planned",
        ),
    ];
    const SECRETS: &'static [&'static str] = &[ZERMELO_TOKEN];

    async fn start(hook: tamper::Hook) -> Self {
        let state = ZermeloState::new(ZermeloSimConfig {
            tokens: vec![ZERMELO_TOKEN.to_owned()],
            ..ZermeloSimConfig::default()
        });
        let root = tamper::serve(ZermeloSim::app(state.clone()), hook).await;
        Self { state, root }
    }

    async fn connect(&self, dir: &Path) -> (Arc<dyn Connector>, String) {
        let cfg = zermelo_config(&self.root, ZERMELO_TOKEN, dir, "");
        let conn = ZermeloConnector::connect(TargetName::new("zermelo"), &cfg).expect("connects");
        let shown = format!("{conn:?} {cfg:?}");
        (Arc::new(conn), shown)
    }

    fn seed_account(&self, n: u32) -> AccountRef {
        let code = format!("{}", 100_000 + n);
        self.state
            .seed_user(json!({
                "code": code, "firstName": "Daan", "lastName": format!("Berg {n}"),
                "email": format!("{code}@leerling.example"), "isStudent": true,
            }))
            .expect("seed user");
        AccountRef::new(code)
    }

    fn seed_named_group(&self, label: &str) -> (GroupRef, String) {
        let id = self.state.seed_department("Lyceum", "2024-2025", label);
        (
            GroupRef::new(id.to_string()),
            format!("{label} / Lyceum 2024-2025"),
        )
    }

    fn member_count(&self, group: &GroupRef, account: &AccountRef) -> usize {
        self.state
            .placements_of(account.as_str())
            .iter()
            .filter(|p| p["departmentOfBranch"].as_u64() == group.as_str().parse().ok())
            .count()
    }

    fn absent_account(&self) -> AccountRef {
        AccountRef::new("999404")
    }

    fn person(&self, n: u32) -> (Attributes, &'static str, String) {
        let code = format!("{}", 200_000 + n);
        (
            attrs(&[
                ("code", json!(code)),
                ("firstName", json!("Daan")),
                ("lastName", json!(format!("Berg {n}"))),
                ("email", json!(format!("{code}@leerling.example"))),
            ]),
            "code",
            code,
        )
    }

    fn accounts_named(&self, value: &str) -> usize {
        named(&self.state.users(), "code", value)
    }

    rate_limit_switches!();
}

// ----- one test per (kind, rule) ------------------------------------------------------------

/// `suite! { kinds: [module = Kind, …], rules: [rule_fn, …] }`: a module per kind with one
/// `#[tokio::test]` per rule, and [`RULES`] naming them all.
macro_rules! suite {
    (kinds: [$($kind:ident = $ty:ident),* $(,)?], rules: $rules:tt) => {
        $( suite!(@kind $kind $ty $rules); )*
        suite!(@names $rules);
    };
    (@kind $kind:ident $ty:ident [$($rule:ident),* $(,)?]) => {
        mod $kind {
            #[test]
            fn skips_name_rules() {
                super::skips_name_rules::<super::$ty>();
            }
            $(
                #[tokio::test]
                async fn $rule() {
                    if let Some(bench) = super::Bench::<super::$ty>::start(stringify!($rule)).await {
                        super::$rule(&bench).await;
                    }
                }
            )*
        }
    };
    (@names [$($rule:ident),* $(,)?]) => {
        /// Every rule of the suite, by name.
        const RULES: &[&str] = &[$(stringify!($rule)),*];
    };
}

suite! {
    kinds: [
        scim = Scim,
        zivver = Zivver,
        zivver_functional = ZivverFunctional,
        helloid = HelloId,
        zermelo = Zermelo,
    ],
    rules: [
        absent_delete_is_done,
        absent_disable_is_done,
        absent_revoke_is_done,
        partial_read_fails,
        uncertain_create_is_looked_up,
        rate_limit_is_waited_out,
        rate_limit_beyond_the_budget_fails_fast,
        rate_limit_without_retry_after_is_bounded,
        secrets_never_show,
        lost_grant_answer_is_settled,
        groups_are_looked_up_by_name,
    ]
}

fn skips_name_rules<K: Kind>() {
    for (rule, reason) in K::SKIPS {
        assert!(
            RULES.contains(rule),
            "{} skips unknown rule `{rule}`",
            K::NAME
        );
        assert!(
            !reason.trim().is_empty(),
            "{} skips `{rule}` without a reason",
            K::NAME
        );
    }
}
