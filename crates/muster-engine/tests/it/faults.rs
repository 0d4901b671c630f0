//! Faults, one at a time, against both simulators at once (SCIM and Zivver, 40 persons): under
//! each, every planned action ends done or failed with the reason, retries stay bounded, and
//! once the target calms down the next runs converge with no duplicate. Then quarantine: a
//! target that keeps failing is taken out of the run while the other target goes on.

use crate::fixture::{day, groups, scim_and_zivver, DEMO};
use muster_core::report::{ActionOutcome, TargetSummary};
use muster_engine::{Config, Engine};
use muster_sim::scim::{RunningScimSim, ScimSim, ScimSimConfig};
use muster_sim::zivver::{RunningZivverSim, ZivverSim, ZivverSimConfig, ZivverSwitches};
use muster_sim::Faults;
use muster_store::AuditQuery;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;

/// Persons of the demo export used here: enough for every kind of request, few enough to run
/// a dozen faults in seconds.
const PERSONS: usize = 40;
/// `max_attempts` of both connectors in these tests.
const ATTEMPTS: u64 = 4;

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

/// One fault, as set on both simulators.
#[derive(Debug, Clone, Copy)]
enum Fault {
    ThrottledWithRetryAfter,
    ThrottledWithoutRetryAfter,
    ServerErrors,
    ServerErrorsAfterApplying,
    Timeouts,
    Resets,
    DropsAfterApplying,
    Slow,
    MalformedJson,
}

const ALL: [Fault; 9] = [
    Fault::ThrottledWithRetryAfter,
    Fault::ThrottledWithoutRetryAfter,
    Fault::ServerErrors,
    Fault::ServerErrorsAfterApplying,
    Fault::Timeouts,
    Fault::Resets,
    Fault::DropsAfterApplying,
    Fault::Slow,
    Fault::MalformedJson,
];

impl Fault {
    fn scim(self) -> Faults {
        let mut f = Faults {
            retry_after: false,
            ..Faults::default()
        };
        match self {
            // Each 429 with `Retry-After: 1` pauses the whole target a second, as it asks.
            Fault::ThrottledWithRetryAfter => {
                f.throttle_ratio = 0.02;
                f.retry_after = true;
            }
            Fault::ThrottledWithoutRetryAfter => f.throttle_ratio = 0.25,
            Fault::ServerErrors => {
                f.error_5xx_ratio = 0.2;
                f.error_statuses = vec![500, 502, 503];
            }
            Fault::ServerErrorsAfterApplying => f.error_5xx_after_apply_ratio = 0.2,
            // Applied, then no answer within the client's one-second timeout.
            Fault::Timeouts => {
                f.hang_ms = 1_500;
                f.hang_ratio = 0.05;
            }
            Fault::Resets => f.drop_ratio = 0.2,
            Fault::DropsAfterApplying => f.drop_after_apply_ratio = 0.2,
            // Slow, but within the timeout.
            Fault::Slow => {
                f.slow_ms = 300;
                f.slow_ratio = 0.2;
            }
            Fault::MalformedJson => f.malformed_json_ratio = 0.2,
        }
        f
    }

    /// The same faults on Zivver, whose rate limit stays off.
    fn zivver(self, sw: &mut ZivverSwitches) {
        sw.faults = Faults {
            rate_limit: false,
            // Zivver names its window in the 429 body; the connector waits that long.
            rate_window_s: 1,
            ..self.scim()
        };
    }
}

struct Both {
    dir: tempfile::TempDir,
    scim: RunningScimSim,
    zivver: RunningZivverSim,
}

impl Both {
    async fn start(seed: u64) -> Self {
        let scim = ScimSim::start(ScimSimConfig {
            token: "tok".into(),
            seed,
            ..ScimSimConfig::default()
        })
        .await
        .unwrap();
        for g in groups() {
            scim.state.seed_group(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": g})).unwrap();
        }
        let zivver = ZivverSim::start(ZivverSimConfig {
            tokens: vec!["tok".into()],
            divisions: DEPARTMENTS.iter().map(|d| (*d).to_owned()).collect(),
            switches: ZivverSwitches::without_rate_limit(),
            seed,
            ..ZivverSimConfig::default()
        })
        .await
        .unwrap();
        for name in [
            "Administratie",
            "Servicedesk",
            "Personeelszaken",
            "Leidinggevenden",
        ] {
            zivver
                .state
                .seed_group(json!({"displayName": name, "members": []}))
                .unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "tok").unwrap();
        let token_ref = format!("{{ file = {:?} }}", token.display().to_string());
        let retries = format!(
            "max_attempts = {ATTEMPTS}, backoff = {{ base_ms = 5, max_ms = 50 }}, timeout_s = 1"
        );
        let text =
            scim_and_zivver(&std::fs::read_to_string(Path::new(DEMO).join("muster.toml")).unwrap())
                .replace("{ env = \"SCIM_TOKEN\" }", &token_ref)
                .replace("{ env = \"ZIVVER_TOKEN\" }", &token_ref)
                .replace(
                    "concurrency = 8 }",
                    &format!("concurrency = 8, {retries} }}"),
                )
                .replace(
                    "rate_limit = { requests = 50, per_seconds = 10 } }",
                    &format!("rate_limit = {{ requests = 100000, per_seconds = 1 }}, {retries} }}"),
                );
        std::fs::write(dir.path().join("muster.toml"), text).unwrap();
        // The first PERSONS persons of day 1 and their contracts.
        let persons = std::fs::read_to_string(Path::new(DEMO).join("day1/persons.csv")).unwrap();
        let kept: Vec<&str> = persons.lines().take(PERSONS + 1).collect();
        let ids: HashSet<&str> = kept
            .iter()
            .skip(1)
            .map(|l| l.split(';').next().unwrap())
            .collect();
        let contracts =
            std::fs::read_to_string(Path::new(DEMO).join("day1/contracts.csv")).unwrap();
        let contracts: Vec<&str> = contracts
            .lines()
            .enumerate()
            .filter(|(n, l)| *n == 0 || ids.contains(l.split(';').next().unwrap()))
            .map(|(_, l)| l)
            .collect();
        std::fs::write(dir.path().join("persons.csv"), kept.join("\n") + "\n").unwrap();
        std::fs::write(
            dir.path().join("contracts.csv"),
            contracts.join("\n") + "\n",
        )
        .unwrap();
        Self { dir, scim, zivver }
    }

    async fn engine(&self, extra: &[(&str, &str)]) -> Engine {
        let mut env = vec![
            (
                "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL".to_owned(),
                self.scim.base_url.clone(),
            ),
            (
                "MUSTER__TARGETS__ZIVVER__CONNECTION__BASE_URL".to_owned(),
                self.zivver.base_url.clone(),
            ),
        ];
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let config =
            Config::load_with_env(&self.dir.path().join("muster.toml"), env.into_iter()).unwrap();
        Engine::open(config).await.unwrap()
    }

    fn set(&self, fault: Option<Fault>) {
        self.scim
            .state
            .update_switches(|s| s.faults = fault.map_or_else(Faults::default, Fault::scim));
        self.zivver.state.update_switches(|s| {
            *s = ZivverSwitches::without_rate_limit();
            if let Some(f) = fault {
                f.zivver(s);
            }
        });
    }

    fn writes(&self) -> u64 {
        let count = |c: std::collections::BTreeMap<String, u64>| -> u64 {
            c.iter()
                .filter(|(k, _)| !k.starts_with("GET "))
                .map(|(_, n)| n)
                .sum()
        };
        count(self.scim.state.counters()) + count(self.zivver.state.counters())
    }
}

/// Every planned action ended with an outcome; failed and skipped ones say why.
fn nothing_silent(t: &TargetSummary, fault: Fault) {
    let c = t.totals();
    assert_eq!(
        c.planned,
        c.done + c.failed + c.skipped + c.blocked,
        "{fault:?}, {}: an action ended silently",
        t.target
    );
    assert_eq!(c.blocked, 0, "{fault:?}, {}", t.target);
}

fn unique_user_names(users: &[Value]) -> usize {
    users
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_lowercase())
        .collect::<BTreeSet<_>>()
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn under_every_fault_each_action_ends_with_a_reason_and_the_next_runs_converge() {
    for (i, fault) in ALL.into_iter().enumerate() {
        let both = Both::start(42 + i as u64).await;
        let engine = both.engine(&[]).await;
        both.set(Some(fault));
        let first = engine.apply(day(1), None).await.unwrap();
        let planned: usize = first
            .summary
            .targets
            .iter()
            .map(|t| t.totals().planned)
            .sum();
        assert!(
            planned > 2 * PERSONS,
            "{fault:?}: {planned} actions planned"
        );
        for t in &first.summary.targets {
            nothing_silent(t, fault);
            assert!(
                t.stopped.is_none(),
                "{fault:?}: {} stopped: {:?}",
                t.target,
                t.stopped
            );
        }
        let events = engine
            .store
            .audit(&AuditQuery {
                run: Some(first.run.to_string()),
                ..AuditQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(
            events.len(),
            planned,
            "{fault:?}: one audit event per action"
        );
        for e in &events {
            if e.outcome != ActionOutcome::Done {
                assert!(
                    e.detail.as_deref().is_some_and(|d| !d.is_empty()),
                    "{fault:?}: {} {} ended {} without a reason",
                    e.action,
                    e.person,
                    e.outcome
                );
            }
        }
        // Bounded retries: at most `ATTEMPTS` sends per request, and a create is tried at most
        // three times, each after a look-up; a read-modify-write is a read and a write.
        let bound = planned as u64 * ATTEMPTS * 3 * 2;
        assert!(
            both.writes() <= bound,
            "{fault:?}: {} writes for {planned} actions",
            both.writes()
        );

        // Once the target calms down, the next runs finish the job without duplicates.
        both.set(None);
        let mut converged = false;
        for _ in 0..3 {
            if engine.apply(day(1), None).await.unwrap().plan.is_empty() {
                converged = true;
                break;
            }
        }
        assert!(converged, "{fault:?}: no convergence within 3 runs");
        let scim = both.scim.state.users();
        let zivver = both.zivver.state.users();
        assert_eq!(
            (scim.len(), unique_user_names(&scim)),
            (PERSONS, PERSONS),
            "{fault:?}: SCIM accounts"
        );
        assert_eq!(
            (zivver.len(), unique_user_names(&zivver)),
            (PERSONS, PERSONS),
            "{fault:?}: Zivver accounts"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_target_is_quarantined_with_the_reason_and_the_other_goes_on() {
    let both = Both::start(7).await;
    let engine = both
        .engine(&[
            ("MUSTER__TARGETS__SCIM__QUARANTINE__ERROR_RATIO", "0.5"),
            ("MUSTER__TARGETS__SCIM__QUARANTINE__MIN_ACTIONS", "10"),
        ])
        .await;
    // The SCIM service reads fine but fails every write; Zivver is healthy.
    both.scim.state.update_switches(|s| {
        s.faults.error_5xx_ratio = 1.0;
        s.faults.only_writes = true;
        s.faults.retry_after = false;
    });
    let report = engine.apply(day(1), None).await.unwrap();
    let target = |name: &str| {
        report
            .summary
            .targets
            .iter()
            .find(|t| t.target.as_str() == name)
            .unwrap()
    };
    let (scim, zivver) = (target("scim"), target("zivver"));
    let why = scim.stopped.as_deref().expect("SCIM is quarantined");
    assert!(
        why.starts_with("quarantined:") && why.contains("503"),
        "the reason and the last error: {why}"
    );
    let c = scim.totals();
    assert_eq!(c.planned, c.failed + c.skipped + c.done, "{c:?}");
    assert!(c.failed >= 10, "{c:?}");

    // Creates never sent end skipped with the quarantine as their reason; far fewer creates
    // were attempted than planned.
    let events = engine
        .store
        .audit(&AuditQuery {
            run: Some(report.run.to_string()),
            target: Some("scim".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let quarantined = events
        .iter()
        .filter(|e| {
            e.outcome == ActionOutcome::Skipped
                && e.detail
                    .as_deref()
                    .is_some_and(|d| d.starts_with("target stopped: quarantined"))
        })
        .count();
    assert!(quarantined > 0, "no action was skipped for the quarantine");
    // Each failed create was tried three times (a look-up before each retry); the creates
    // skipped for the quarantine were never sent.
    let posts = both.scim.state.request_count("POST", "/Users");
    assert!(
        (c.failed as u64) < PERSONS as u64 && posts <= c.failed as u64 * 3,
        "{posts} POSTs for {} failed creates: sending went on after the quarantine",
        c.failed
    );

    // The other target is untouched by it.
    let zc = zivver.totals();
    assert!(zivver.stopped.is_none());
    assert_eq!((zc.done, zc.failed), (zc.planned, 0), "{zc:?}");
    assert_eq!(both.zivver.state.users().len(), PERSONS);
}

#[test]
fn quarantine_settings_are_checked_with_their_keys() {
    let text = std::fs::read_to_string(Path::new(DEMO).join("muster.toml")).unwrap();
    let with = |q: &str| {
        text.replacen(
            "thresholds = { delete = { percent = 10 } }",
            &format!("thresholds = {{ delete = {{ percent = 10 }} }}\nquarantine = {q}"),
            1,
        )
    };
    let path = Path::new("/etc/muster/muster.toml");
    let ok = Config::parse(
        path,
        &with("{ error_ratio = 0.25, min_actions = 5 }"),
        std::iter::empty(),
    )
    .unwrap();
    let q = ok.target("scim").unwrap().quarantine;
    assert_eq!((q.error_ratio, q.min_actions), (0.25, 5));
    assert_eq!(
        ok.target("zivver").unwrap().quarantine,
        muster_engine::execute::Quarantine::default()
    );
    let errors = Config::parse(
        path,
        &with("{ error_ratio = 1.5, min_actions = 0 }"),
        std::iter::empty(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        errors.contains("targets.scim.quarantine.error_ratio")
            && errors.contains("targets.scim.quarantine.min_actions")
            && errors.contains("muster.toml:"),
        "{errors}"
    );
}
