//! Accounts at sign-in (`muster_engine::jit`) against the Zivver simulator with its rate limit
//! on: the one-person pipeline, its policy, the scheduled run adopting what a sign-in made,
//! the grants a create implies (on Zivver, and on the SCIM simulator with a missing group),
//! and a login storm during a scheduled apply.

use crate::fixture::{Fixture, DEMO};
use futures::StreamExt;
use muster_core::model::{IdentityKind, Person};
use muster_core::plan::{Action, ActionKind};
use muster_core::AccountRef;
use muster_engine::jit::{JitOutcome, JitReport, JitTarget, SignIn, SignInVia};
use muster_engine::{Config, Engine};
use muster_sim::faults::FaultKind;
use muster_sim::zivver::{RunningZivverSim, ZivverSim, ZivverSimConfig, ZivverSwitches};
use muster_sim::Faults;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

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

/// A Zivver-only configuration with sign-ins on, over the first `persons` of the demo's HR.
struct Jit {
    dir: tempfile::TempDir,
    zivver: RunningZivverSim,
    /// ExternalId → business e-mail, of the persons in the HR export.
    emails: BTreeMap<String, String>,
}

impl Jit {
    async fn start(persons: usize, jit: &str) -> Self {
        Self::start_with(persons, jit, "").await
    }

    /// [`Jit::start`] with `rules` added to the configuration.
    async fn start_with(persons: usize, jit: &str, rules: &str) -> Self {
        let zivver = ZivverSim::start(ZivverSimConfig {
            tokens: vec!["tok".into()],
            divisions: DEPARTMENTS.iter().map(|d| (*d).to_owned()).collect(),
            // Zivver's budget, in a window of one second instead of ten to keep the test short.
            switches: ZivverSwitches {
                faults: Faults {
                    rate_limit: true,
                    rate_budget: 50,
                    rate_window_s: 1,
                    ..ZivverSwitches::default().faults
                },
                ..ZivverSwitches::default()
            },
            ..ZivverSimConfig::default()
        })
        .await
        .unwrap();
        zivver
            .state
            .seed_group(json!({"displayName": "Administratie", "members": []}))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "tok").unwrap();
        let config = format!(
            r#"
[source]
kind = "csv"
persons = "persons.csv"
contracts = "contracts.csv"

[targets.zivver]
kind = "zivver"
connection = {{ base_url = "{url}", token = {{ file = {token:?} }}, rate_limit = {{ requests = 50, per_seconds = 1 }} }}
correlation = {{ person = "Contact.Business.Email", account = "userName" }}
lifecycle = {{ create_days_before_start = 30 }}
{jit}

[[targets.zivver.mapping]]
field = "userName"
path = "Contact.Business.Email"

[[targets.zivver.mapping]]
field = "name.formatted"
template = "{{Name.GivenName}} {{Name.FamilyNamePrefix?}} {{Name.FamilyName}}"

[[targets.zivver.mapping]]
field = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division"
path = "PrimaryContract.Department"

[[targets.zivver.mapping]]
field = "urn:ietf:params:scim:schemas:zivver:0.1:User:SsoAccountKey"
path = "Accounts.Entra.UserPrincipalName"
secret = true

[[rules]]
name = "Every employee gets an account"
when = {{ field = "PrimaryContract.Department", exists = true }}
account = true
access = true

[[rules]]
name = "Finance staff may act for the Administratie functional account"
when = {{ field = "AnyContract.Department", equals = "Finance" }}
permissions = ["Administratie"]
{rules}
"#,
            url = zivver.base_url,
            token = dir.path().join("token").display().to_string(),
        );
        // Yesterday's run: the same HR export, but no rule granted anyone an account yet.
        let seed = config.replace(
            r#"when = { field = "PrimaryContract.Department", exists = true }"#,
            r#"when = { field = "PrimaryContract.Department", equals = "(none yet)" }"#,
        );
        assert_ne!(seed, config);
        std::fs::write(dir.path().join("seed.toml"), seed).unwrap();
        std::fs::write(dir.path().join("muster.toml"), config).unwrap();
        let emails = hr_subset(dir.path(), persons);
        Self {
            dir,
            zivver,
            emails,
        }
    }

    /// An apply that only stores the HR snapshot (no one gets an account yet), so that
    /// sign-ins know the persons' HR records, as after any scheduled run.
    async fn seed_snapshot(&self) {
        let config =
            Config::load_with_env(&self.dir.path().join("seed.toml"), std::iter::empty()).unwrap();
        let engine = Engine::open(config).await.unwrap();
        engine.apply(day(), None).await.unwrap();
        assert!(self.zivver.state.users().is_empty());
    }

    async fn engine(&self) -> Arc<Engine> {
        let config =
            Config::load_with_env(&self.dir.path().join("muster.toml"), std::iter::empty())
                .unwrap();
        Arc::new(Engine::open(config).await.unwrap())
    }

    /// A sign-in carrying only what an identity provider knows: the key, a name, the address.
    fn sign_in(&self, id: &str) -> SignIn {
        let email = self.emails.get(id).cloned().unwrap_or_default();
        SignIn {
            person: claims(id, &email),
            via: SignInVia::Entra,
            subject: format!("tid-test/oid-{id}"),
        }
    }

    /// Zivver's users by lower-case user name, with how many accounts each has.
    fn accounts(&self) -> BTreeMap<String, usize> {
        let mut by_name = BTreeMap::new();
        for u in self.zivver.state.users() {
            let name = u["userName"].as_str().unwrap().to_lowercase();
            *by_name.entry(name).or_default() += 1;
        }
        by_name
    }

    fn throttled(&self) -> usize {
        self.zivver
            .state
            .fault_log()
            .iter()
            .filter(|f| matches!(f.fault, FaultKind::RateLimited | FaultKind::Throttled))
            .count()
    }
}

fn claims(id: &str, email: &str) -> Person {
    serde_json::from_value(json!({
        "ExternalId": id,
        "Name": {"GivenName": "From the claims"},
        "Contact": {"Business": {"Email": email}},
    }))
    .unwrap()
}

/// The first `n` persons of the demo's day-1 export and their contracts, written to `dir`;
/// returns their e-mail addresses.
fn hr_subset(dir: &Path, n: usize) -> BTreeMap<String, String> {
    let persons = std::fs::read_to_string(Path::new(DEMO).join("day1/persons.csv")).unwrap();
    let contracts = std::fs::read_to_string(Path::new(DEMO).join("day1/contracts.csv")).unwrap();
    let mut lines = persons.lines();
    let header = lines.next().unwrap();
    let kept: Vec<&str> = lines.take(n).collect();
    let emails = hr_emails(&format!("{header}\n{}", kept.join("\n")));
    let mut out = vec![header];
    out.extend(&kept);
    std::fs::write(dir.join("persons.csv"), out.join("\n") + "\n").unwrap();
    let mut clines = contracts.lines();
    let mut cout = vec![clines.next().unwrap()];
    cout.extend(clines.filter(|l| emails.contains_key(l.split(';').next().unwrap())));
    std::fs::write(dir.join("contracts.csv"), cout.join("\n") + "\n").unwrap();
    emails
}

/// ExternalId → business e-mail of every person in an HR persons export.
fn hr_emails(persons: &str) -> BTreeMap<String, String> {
    let mut lines = persons.lines();
    let header = lines.next().unwrap_or_default();
    let email_at = header
        .split(';')
        .position(|c| c == "Contact.Business.Email")
        .unwrap();
    lines
        .map(|l| {
            let cols: Vec<&str> = l.split(';').collect();
            (cols[0].to_owned(), cols[email_at].to_owned())
        })
        .collect()
}

fn day() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

/// Creates in the plan of a preview made now.
async fn creates_planned(engine: &Engine) -> Vec<String> {
    planned(engine)
        .await
        .into_iter()
        .filter(|a| a.kind == ActionKind::Create)
        .map(|a| a.person.to_string())
        .collect()
}

/// The first person a preview made now creates an account for.
async fn first_create(engine: &Engine) -> String {
    let creates = creates_planned(engine).await;
    creates.first().expect("the demo plans creates").clone()
}

/// Every action of a preview made now.
async fn planned(engine: &Engine) -> Vec<Action> {
    let report = engine.preview(day()).await.unwrap();
    report
        .plan
        .targets
        .into_iter()
        .flat_map(|t| t.actions)
        .collect()
}

/// The names of the groups a plan grants `person`, sorted; with `known` only those the target
/// has one group of (the plan holds its reference).
fn grants_of(actions: &[Action], person: &str, known: bool) -> Vec<String> {
    let mut names: Vec<String> = actions
        .iter()
        .filter(|a| a.kind == ActionKind::Grant && a.person.as_str() == person)
        .filter_map(|a| a.permission.as_ref())
        .filter(|p| !known || p.group.is_some())
        .map(|p| p.name.clone())
        .collect();
    names.sort();
    names
}

/// The account the one target created, the groups granted with it (sorted), and those left.
fn created(report: &JitReport) -> (AccountRef, Vec<String>, Vec<String>) {
    match &report.targets[..] {
        [JitTarget {
            outcome:
                JitOutcome::Created {
                    account,
                    granted,
                    left,
                },
            ..
        }] => {
            let mut granted = granted.clone();
            granted.sort();
            (account.clone(), granted, left.clone())
        }
        _ => panic!("created: {report:?}"),
    }
}

/// The member ids of a simulator's group (SCIM or Zivver: `members[].value`).
fn member_ids(group: &serde_json::Value) -> Vec<String> {
    group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_sign_in_creates_the_account_once_and_the_scheduled_run_adopts_it() {
    let jit = Jit::start(20, "jit = true").await;
    jit.seed_snapshot().await;
    let engine = jit.engine().await;
    let before = creates_planned(&engine).await;
    let person = before.first().expect("the demo plans creates").clone();
    let lookups = jit.zivver.state.request_count("GET", "/Users");

    let report = engine.sign_in(jit.sign_in(&person)).await.unwrap();
    let [t] = report.targets.as_slice() else {
        panic!("one target with jit: {report:?}")
    };
    let JitOutcome::Created { account, .. } = &t.outcome else {
        panic!("created: {report:?}")
    };
    assert_eq!(
        jit.zivver.state.request_count("GET", "/Users") - lookups,
        1,
        "one filtered look-up, not a full read"
    );
    let user = jit.zivver.state.user(account.as_str()).unwrap();
    assert_eq!(user["userName"], jit.emails[&person].as_str());
    // HR wins over the claims: the name is the HR record's, not the claims'.
    let formatted = user["name"]["formatted"].as_str().unwrap();
    assert!(
        !formatted.contains("From the claims") && !formatted.trim().is_empty(),
        "{formatted}"
    );

    // Again: the link is found, nothing is sent.
    let total = jit.zivver.state.total_requests();
    let again = engine.sign_in(jit.sign_in(&person)).await.unwrap();
    assert!(matches!(&again.targets[0].outcome, JitOutcome::Exists { account: a } if a == account));
    assert_eq!(jit.zivver.state.total_requests(), total);

    // Journaled and audited like any action, as created at sign-in.
    let audit = engine
        .store
        .person_audit(&person.as_str().into(), 10)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.reason.contains("created at sign-in") && e.reason.contains("Entra ID")),
        "{audit:?}"
    );

    // The scheduled run correlates it: no create for that person any more.
    let after = creates_planned(&engine).await;
    assert!(!after.contains(&person), "{after:?}");
    assert_eq!(after.len(), before.len() - 1);
    let applied = engine.apply(day(), None).await.unwrap();
    assert_eq!(
        applied.summary.status(),
        muster_core::report::RunStatus::Changes
    );
    assert!(
        jit.accounts().values().all(|n| *n == 1),
        "{:?}",
        jit.accounts()
    );
    assert_eq!(jit.throttled(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_sign_ins_of_one_person_at_once_make_one_account() {
    let jit = Jit::start(5, "jit = true").await;
    jit.seed_snapshot().await;
    let engine = jit.engine().await;
    let id = jit.emails.keys().next().unwrap().clone();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (engine, s) = (engine.clone(), jit.sign_in(&id));
            tokio::spawn(async move { engine.sign_in(s).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().unwrap().targets[0].outcome.clone());
    }
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, JitOutcome::Created { .. }))
        .count();
    let exists = outcomes
        .iter()
        .filter(|o| matches!(o, JitOutcome::Exists { .. }))
        .count();
    assert_eq!((created, exists), (1, 19), "{outcomes:?}");
    assert_eq!(jit.zivver.state.users().len(), 1);
    assert_eq!(jit.zivver.state.request_count("POST", "/Users"), 1);
}

#[tokio::test]
async fn the_policy_and_the_rules_decide_and_the_answer_still_comes() {
    let jit = Jit::start(20, r#"jit = { allowed_domains = ["corp.example.org"] }"#).await;
    jit.seed_snapshot().await;
    let engine = jit.engine().await;
    let person = jit.emails.keys().next().unwrap().clone();

    // The address is example.org, not the domain allowed at sign-in.
    let report = engine.sign_in(jit.sign_in(&person)).await.unwrap();
    let JitOutcome::Refused { reason } = &report.targets[0].outcome else {
        panic!("refused: {report:?}")
    };
    assert!(reason.contains("not in a domain allowed"), "{reason}");

    // Someone HR does not know has no contract: no rule grants an account.
    let stranger = SignIn {
        person: claims("99999", "stranger@corp.example.org"),
        via: SignInVia::Oidc,
        subject: "https://idp.example/ 99999".into(),
    };
    let report = engine.sign_in(stranger).await.unwrap();
    assert!(
        matches!(&report.targets[0].outcome, JitOutcome::NotGranted { .. }),
        "{report:?}"
    );

    // A shared mailbox is not a user.
    let jit_all = Jit::start(5, "jit = true").await;
    jit_all.seed_snapshot().await;
    let engine = jit_all.engine().await;
    let id = jit_all.emails.keys().next().unwrap().clone();
    let mut mailbox = jit_all.sign_in(&id);
    mailbox.person.kind = IdentityKind::SharedMailbox;
    let report = engine.sign_in(mailbox).await.unwrap();
    let JitOutcome::Refused { reason } = &report.targets[0].outcome else {
        panic!("refused: {report:?}")
    };
    assert!(reason.contains("users only"), "{reason}");
    assert!(jit.zivver.state.users().is_empty());
    assert!(jit_all.zivver.state.users().is_empty());
}

#[tokio::test]
async fn a_bad_jit_setting_is_an_error_with_its_line() {
    let jit = Jit::start(1, "jit = { create_only = false, identities = \"robots\" }").await;
    let err = Config::load_with_env(&jit.dir.path().join("muster.toml"), std::iter::empty())
        .unwrap_err()
        .to_string();
    assert!(err.contains("targets.zivver.jit.create_only"), "{err}");
    assert!(
        err.contains("only creating is supported at sign-in"),
        "{err}"
    );
    assert!(err.contains("targets.zivver.jit.identities"), "{err}");
    assert!(
        err.contains("muster.toml:12: targets.zivver.jit"),
        "the line of `jit`: {err}"
    );
}

/// 1,000 sign-ins of 200 persons, 50 at a time, while a scheduled apply runs: one account per
/// person, and the simulator never had to say 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_storm_during_a_scheduled_apply_makes_one_account_per_person() {
    let jit = Jit::start(200, "jit = true").await;
    jit.seed_snapshot().await;
    let engine = jit.engine().await;
    let ids: Vec<String> = jit.emails.keys().cloned().collect();
    let apply = {
        let engine = engine.clone();
        tokio::spawn(async move { engine.apply(day(), None).await })
    };
    // The storm starts once the apply has read Zivver and is creating accounts, so both
    // create the same persons' accounts at once.
    for _ in 0..3000 {
        if jit.zivver.state.request_count("POST", "/Users") >= 10 || apply.is_finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        !apply.is_finished(),
        "the apply is still creating when the storm starts"
    );
    let sign_ins: Vec<SignIn> = (0..1000)
        .map(|i| jit.sign_in(&ids[(i * 7) % ids.len()]))
        .collect();
    let reports: Vec<_> = futures::stream::iter(sign_ins)
        .map(|s| {
            let engine = engine.clone();
            async move { tokio::spawn(async move { engine.sign_in(s).await }).await }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    let applied = apply.await.unwrap().unwrap();

    let mut created = 0;
    for r in reports {
        let r = r.unwrap().unwrap();
        match &r.targets[0].outcome {
            JitOutcome::Created { .. } => created += 1,
            JitOutcome::Exists { .. } | JitOutcome::NotGranted { .. } => {}
            other => panic!("{}: {other:?}", r.person),
        }
    }
    let accounts = jit.accounts();
    let apply_creates = applied.summary.targets[0]
        .by_action
        .get(&muster_core::plan::ActionKind::Create)
        .map_or(0, |c| c.done);
    eprintln!(
        "storm: {} accounts; {created} created at sign-in, {apply_creates} creates done by the apply (adopted or sent); {} requests",
        accounts.len(),
        jit.zivver.state.total_requests()
    );
    let duplicated: Vec<_> = accounts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "{duplicated:?}");
    assert!(created > 0, "the sign-ins created accounts");
    assert!(apply_creates > 0, "so did the apply");
    // Every person who gets an account has exactly one, linked: nothing left to create.
    assert_eq!(creates_planned(&engine).await, Vec::<String>::new());
    let links = engine.store.links(&"zivver".into()).await.unwrap();
    assert_eq!(links.len(), accounts.len());
    assert_eq!(jit.throttled(), 0, "the simulator answered 429");
    let meters = engine.http_meters();
    assert_eq!(
        meters[&muster_core::model::TargetName::from("zivver")]
            .counters
            .snapshot()
            .throttled,
        0
    );
    assert!(
        applied.summary.targets[0]
            .by_action
            .values()
            .all(|c| c.failed == 0),
        "{:?}",
        applied.summary
    );
}

const TWO_FUNCTIONAL_ACCOUNTS: &str = r#"
[[rules]]
name = "Every employee may act for Receptie and Secretariaat"
when = { field = "PrimaryContract.Department", exists = true }
permissions = ["Receptie", "Secretariaat"]
"#;

/// Zivver's functional accounts are Muster's groups: a sign-in whose rules grant two gets the
/// account and both memberships, granted after the create and audited as such; the next
/// scheduled plan grants that person nothing more.
#[tokio::test]
async fn a_sign_in_grants_the_functional_accounts_its_create_implies() {
    let jit = Jit::start_with(20, "jit = true", TWO_FUNCTIONAL_ACCOUNTS).await;
    let mut groups = BTreeMap::new();
    for name in ["Receptie", "Secretariaat"] {
        let id = jit
            .zivver
            .state
            .seed_group(json!({"displayName": name, "members": []}))
            .unwrap();
        groups.insert(name, id);
    }
    jit.seed_snapshot().await;
    let engine = jit.engine().await;
    let before = planned(&engine).await;
    let person = first_create(&engine).await;
    let wanted = grants_of(&before, &person, true);
    assert!(wanted.len() >= 2, "{wanted:?}");

    let report = engine.sign_in(jit.sign_in(&person)).await.unwrap();
    let (account, granted, left) = created(&report);
    assert_eq!(granted, wanted, "{report:?}");
    assert!(left.is_empty(), "{left:?}");
    for id in groups.values() {
        let group = jit.zivver.state.group(id).unwrap();
        assert_eq!(member_ids(&group), vec![account.to_string()], "{group}");
    }
    let audit = engine
        .store
        .person_audit(&person.as_str().into(), 10)
        .await
        .unwrap();
    let granted_at_sign_in = audit
        .iter()
        .filter(|e| e.reason.contains("granted at sign-in"))
        .count();
    assert_eq!(granted_at_sign_in, wanted.len(), "{audit:?}");

    // The scheduled run sees the memberships: nothing more to grant that person.
    let after = planned(&engine).await;
    assert_eq!(grants_of(&after, &person, false), Vec::<String>::new());
    assert_eq!(jit.throttled(), 0);
}

/// The SCIM demo with sign-ins on, a rule granting a group the target does not have
/// (`Visitors`), and an HR snapshot stored by an apply that grants no one an account yet.
async fn scim_with_a_missing_group() -> (Fixture, Engine) {
    let f = Fixture::demo(|config| {
        let config = config.replacen(
            "thresholds = { delete = { percent = 10 } }",
            "thresholds = { delete = { percent = 10 } }\njit = true",
            1,
        );
        format!(
            "{config}\n[[rules]]\nname = \"Everyone is a visitor\"\ntargets = [\"scim\"]\npermissions = [\"Visitors\"]\n"
        )
    })
    .await;
    let config = f.read("muster.toml");
    let seed = config.replace(
        "name = \"Every employee gets an account\"\naccount = true",
        "name = \"Every employee gets an account\"\nwhen = { field = \"PrimaryContract.Department\", equals = \"(none yet)\" }\naccount = true",
    );
    assert_ne!(seed, config);
    f.write("seed.toml", &seed);
    f.engine_of(&f.dir.path().join("seed.toml"))
        .await
        .apply(day(), None)
        .await
        .unwrap();
    assert!(f.sim.state.users().is_empty());
    let engine = f.engine().await;
    (f, engine)
}

/// On SCIM: the account and its two groups at sign-in; the grant of a group the target lacks
/// is neither sent nor the group created, and the scheduled run grants it once it exists and
/// plans nothing else for that person.
#[tokio::test]
async fn a_sign_in_grants_existing_groups_and_leaves_a_missing_one_to_the_scheduled_run() {
    let (f, engine) = scim_with_a_missing_group().await;
    let before = planned(&engine).await;
    let person = first_create(&engine).await;
    let wanted = grants_of(&before, &person, true);
    assert!(wanted.len() >= 2, "All staff and a department: {wanted:?}");
    assert!(grants_of(&before, &person, false).contains(&"Visitors".to_owned()));
    let groups_before = f.sim.state.groups().len();
    let email = hr_emails(&f.read("persons.csv"))[&person].clone();

    let sign_in = SignIn {
        person: claims(&person, &email),
        via: SignInVia::Okta,
        subject: format!("okta-{person}"),
    };
    let report = engine.sign_in(sign_in).await.unwrap();
    let (account, granted, left) = created(&report);
    assert_eq!(granted, wanted);
    assert!(
        matches!(left.as_slice(), [one] if one.starts_with("Visitors: ") && one.contains("no group named")),
        "{left:?}"
    );
    for name in &wanted {
        assert_eq!(f.members(name), vec![account.to_string()], "{name}");
    }
    assert_eq!(
        f.sim.state.groups().len(),
        groups_before,
        "no group created"
    );

    // The scheduled run: the person's memberships are seen, only Visitors is left, and once the
    // group exists it is granted.
    let after = planned(&engine).await;
    let mine: Vec<&Action> = after
        .iter()
        .filter(|a| a.person.as_str() == person)
        .filter(|a| {
            matches!(
                a.kind,
                ActionKind::Create | ActionKind::Correlate | ActionKind::Grant
            )
        })
        .collect();
    assert!(
        matches!(mine.as_slice(), [one] if one.kind == ActionKind::Grant
            && one.permission.as_ref().is_some_and(|p| p.name == "Visitors")),
        "{mine:#?}"
    );
    f.sim
        .state
        .seed_group(json!({"displayName": "Visitors", "members": []}))
        .unwrap();
    engine.apply(day(), None).await.unwrap();
    assert!(f.members("Visitors").contains(&account.to_string()));
    let last = planned(&engine).await;
    assert_eq!(grants_of(&last, &person, false), Vec::<String>::new());
}
