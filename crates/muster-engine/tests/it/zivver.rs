//! The demo organisation in Zivver (and the SCIM service beside it), against both simulators:
//! functional accounts, division, aliases and the write-only SSO account key.

use crate::fixture::{day, scim_and_zivver, DEMO};
use muster_core::plan::Plan;
use muster_core::report::RunStatus;
use muster_engine::{Config, Engine};
use muster_sim::scim::{RunningScimSim, ScimSim, ScimSimConfig};
use muster_sim::zivver::{RunningZivverSim, ZivverSim, ZivverSimConfig, ZivverSwitches};
use serde_json::{json, Value};
use std::path::Path;

const ZIVVER_USER: &str = "urn:ietf:params:scim:schemas:zivver:0.1:User";
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

struct Both {
    dir: tempfile::TempDir,
    scim: RunningScimSim,
    zivver: RunningZivverSim,
}

impl Both {
    async fn start() -> Self {
        let scim = ScimSim::start(ScimSimConfig {
            token: "tok".into(),
            ..ScimSimConfig::default()
        })
        .await
        .unwrap();
        for g in crate::fixture::groups() {
            scim.state.seed_group(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": g})).unwrap();
        }
        let zivver = ZivverSim::start(ZivverSimConfig {
            tokens: vec!["tok".into()],
            divisions: DEPARTMENTS.iter().map(|d| (*d).to_owned()).collect(),
            // Zivver's own budget is tested in the connector's tests; here it would only slow
            // the run down.
            switches: ZivverSwitches::without_rate_limit(),
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
        let text =
            scim_and_zivver(&std::fs::read_to_string(Path::new(DEMO).join("muster.toml")).unwrap())
                .replace("{ env = \"SCIM_TOKEN\" }", &token_ref)
                .replace("{ env = \"ZIVVER_TOKEN\" }", &token_ref);
        std::fs::write(dir.path().join("muster.toml"), text).unwrap();
        let both = Self { dir, scim, zivver };
        both.hr_day(1);
        both
    }

    fn hr_day(&self, n: u32) {
        for f in ["persons.csv", "contracts.csv"] {
            std::fs::copy(
                Path::new(DEMO).join(format!("day{n}")).join(f),
                self.dir.path().join(f),
            )
            .unwrap();
        }
    }

    async fn engine(&self) -> Engine {
        let env = [
            (
                "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL".to_owned(),
                self.scim.base_url.clone(),
            ),
            (
                "MUSTER__TARGETS__ZIVVER__CONNECTION__BASE_URL".to_owned(),
                self.zivver.base_url.clone(),
            ),
            (
                "MUSTER__TARGETS__ZIVVER__CONNECTION__RATE_LIMIT__REQUESTS".to_owned(),
                "100000".to_owned(),
            ),
        ];
        let config =
            Config::load_with_env(&self.dir.path().join("muster.toml"), env.into_iter()).unwrap();
        Engine::open(config).await.unwrap()
    }

    fn user(&self, name: &str) -> Value {
        self.zivver
            .state
            .user_by_name(name)
            .unwrap_or_else(|| panic!("no Zivver user {name}"))
    }

    fn sso_key(&self, name: &str) -> Option<String> {
        let id = self.user(name)["id"].as_str().unwrap().to_owned();
        self.zivver.state.sso_key_of(&id)
    }

    fn members(&self, group: &str) -> Vec<String> {
        let g = self
            .zivver
            .state
            .groups()
            .into_iter()
            .find(|g| g["displayName"] == group)
            .unwrap();
        g["members"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn zivver_actions(plan: &Plan) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = plan
        .targets
        .iter()
        .filter(|t| t.target.as_str() == "zivver")
        .flat_map(|t| {
            t.actions
                .iter()
                .map(|a| (a.kind.to_string(), a.person.to_string()))
        })
        .collect();
    v.sort();
    v
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|(k, p)| (k.to_string(), p.to_string()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn the_demo_organisation_converges_in_zivver_and_sso_keys_survive_every_write() {
    let b = Both::start().await;
    let engine = b.engine().await;

    let first = engine.apply(day(1), None).await.unwrap();
    assert_eq!(first.summary.status(), RunStatus::Changes);
    let zivver = first
        .summary
        .targets
        .iter()
        .find(|t| t.target.as_str() == "zivver")
        .unwrap();
    assert_eq!(zivver.totals().failed, 0, "{zivver:?}");
    assert_eq!(b.zivver.state.users().len(), 300);
    assert_eq!(
        b.sso_key("e.vandijk@example.org").as_deref(),
        Some("10001@corp.example.org")
    );
    let finance_people = std::fs::read_to_string(b.dir.path().join("contracts.csv"))
        .unwrap()
        .lines()
        .filter(|l| l.contains(";Finance;"))
        .map(|l| l.split(';').next().unwrap().to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert_eq!(b.members("Administratie").len(), finance_people);
    let plan_json = serde_json::to_string(&first.plan).unwrap();
    assert!(
        !plan_json.contains("@corp.example.org"),
        "SSO keys are secret and never in a plan"
    );
    assert!(engine.preview(day(1)).await.unwrap().plan.is_empty());

    b.hr_day(2);
    let preview = engine.preview(day(2)).await.unwrap();
    assert_eq!(
        zivver_actions(&preview.plan),
        pairs(&[
            ("update", "10022"),
            ("revoke", "10022"),
            ("update", "10023"),
            ("update", "10024"),
            ("grant", "10024"),
            ("update", "10025"),
            ("grant", "10025"),
            ("revoke", "10025"),
            ("update", "10026"),
            ("revoke", "10026"),
            ("disable", "10043"),
            ("disable", "10044"),
            ("disable", "10045"),
            ("update", "10064"),
            ("update", "10085"),
            ("update", "10095"),
            ("update", "10106"),
            ("create", "10901"),
            ("create", "10902"),
        ])
    );
    let sso = preview
        .plan
        .targets
        .iter()
        .flat_map(|t| &t.actions)
        .find(|a| a.person.as_str() == "10085")
        .unwrap();
    assert!(sso.reason.contains("SsoAccountKey"), "{}", sso.reason);

    let second = engine.apply(day(2), None).await.unwrap();
    assert_eq!(
        second.summary.status(),
        RunStatus::Changes,
        "{:?}",
        second.summary
    );
    assert!(engine.preview(day(2)).await.unwrap().plan.is_empty());

    // Disabling is a full PUT; the simulator clears the key on a PUT without it, so a key
    // still set proves it was re-sent.
    let leaver = b.user(&user_name(&b, "10043"));
    assert_eq!(leaver["active"], false);
    assert_eq!(
        b.sso_key(&user_name(&b, "10043")).as_deref(),
        Some("10043@corp.example.org")
    );
    assert_eq!(
        b.sso_key(&user_name(&b, "10064")).as_deref(),
        Some("10064@corp.example.org"),
        "kept through the rename"
    );
    assert_eq!(
        b.sso_key(&user_name(&b, "10085")).as_deref(),
        Some("10085@new.example.org"),
        "the changed key was sent"
    );
    assert_eq!(
        b.user(&user_name(&b, "10095"))[ZIVVER_USER]["aliases"],
        json!(["extra.10095@example.org"])
    );
    assert_eq!(
        b.user(&user_name(&b, "10106"))[ZIVVER_USER]["aliases"],
        json!([])
    );
    let mover = b.user(&user_name(&b, "10024"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(b.members("Administratie").contains(&mover));
    assert_eq!(
        b.user(&user_name(&b, "10024"))
            ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["division"],
        "Finance"
    );
}

fn user_name(b: &Both, person: &str) -> String {
    std::fs::read_to_string(b.dir.path().join("persons.csv"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with(&format!("{person};")))
        .and_then(|l| l.split(';').nth(5))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_sso_key_is_never_cleared_by_a_leaver_or_a_person_whose_key_cannot_be_computed() {
    let b = Both::start().await;
    let engine = b.engine().await;
    engine.apply(day(1), None).await.unwrap();

    // 10002 leaves the export altogether; 10003's sign-in name goes missing while their name
    // changes, so an Update is due but its SSO key cannot be computed.
    let persons = std::fs::read_to_string(b.dir.path().join("persons.csv")).unwrap();
    let edited: Vec<String> = persons
        .lines()
        .filter(|l| !l.starts_with("10002;"))
        .map(|l| {
            if l.starts_with("10003;") {
                let mut cols: Vec<&str> = l.split(';').collect();
                cols[3] = "Renamed";
                cols[6] = "";
                cols.join(";")
            } else {
                l.to_owned()
            }
        })
        .collect();
    std::fs::write(b.dir.path().join("persons.csv"), edited.join("\n") + "\n").unwrap();

    let report = engine.apply(day(1), None).await.unwrap();
    let zivver = report
        .plan
        .targets
        .iter()
        .find(|t| t.target.as_str() == "zivver")
        .unwrap();
    let leaver = zivver
        .actions
        .iter()
        .find(|a| a.person.as_str() == "10002" && a.kind == muster_core::plan::ActionKind::Delete)
        .unwrap();
    assert_eq!(
        leaver.resend.len(),
        1,
        "the leaver's key comes from their last snapshot record"
    );
    let gone = b.user(&user_name_day1("10002"));
    assert_eq!(gone["active"], false, "delete means disable here");
    assert_eq!(
        b.sso_key(&user_name_day1("10002")).as_deref(),
        Some("10002@corp.example.org")
    );

    let events = engine
        .store
        .audit(&muster_store::AuditQuery {
            person: Some("10003".into()),
            run: Some(report.run.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    let refused = events
        .iter()
        .find(|e| e.target.as_str() == "zivver")
        .unwrap();
    assert_eq!(refused.outcome, muster_core::report::ActionOutcome::Failed);
    assert!(
        refused
            .detail
            .as_deref()
            .unwrap()
            .contains("SsoAccountKey unknown"),
        "{refused:?}"
    );
    assert_eq!(
        b.sso_key(&user_name_day1("10003")).as_deref(),
        Some("10003@corp.example.org"),
        "not cleared"
    );
}

fn user_name_day1(person: &str) -> String {
    std::fs::read_to_string(Path::new(DEMO).join("day1/persons.csv"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with(&format!("{person};")))
        .and_then(|l| l.split(';').nth(5))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn import_reads_zivver_users_and_functional_accounts_and_reports_correlation() {
    let b = Both::start().await;
    let existing = b
        .zivver
        .state
        .seed_user(json!({"userName": "E.VANDIJK@example.org", "active": true}))
        .unwrap();
    b.zivver
        .state
        .seed_user(json!({"userName": "shared.mailbox@example.org", "active": true}))
        .unwrap();
    let engine = b.engine().await;
    let report = engine.import("zivver", day(1), true).await.unwrap();
    assert_eq!(report.accounts, 2);
    assert_eq!(report.groups, 4, "the functional accounts");
    assert_eq!(report.correlated_now.len(), 1);
    assert_eq!(report.correlated_now[0].account.as_str(), existing);
    assert_eq!(report.accounts_without_person.len(), 1);
    assert_eq!(report.persons_without_account.len(), 299);
    let plan = engine.preview(day(1)).await.unwrap().plan;
    let zivver = plan
        .targets
        .iter()
        .find(|t| t.target.as_str() == "zivver")
        .unwrap();
    assert_eq!(
        zivver.count(muster_core::plan::ActionKind::Create),
        299,
        "the imported link is used"
    );
}

#[tokio::test]
async fn a_person_outside_the_organisations_domains_is_held_with_the_reason_not_failed() {
    let b = Both::start().await;
    let persons = b.dir.path().join("persons.csv");
    let text = std::fs::read_to_string(&persons).unwrap();
    std::fs::write(
        &persons,
        text.replace("e.vandijk@example.org", "e.vandijk@elsewhere.example"),
    )
    .unwrap();

    // Without a filter, Zivver refuses the address ("Account is outside the organization").
    let report = b.engine().await.apply(day(1), None).await.unwrap();
    assert_eq!(report.summary.status(), RunStatus::Failures);

    let config = b.dir.path().join("muster.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "kind = \"zivver\"\n",
            "kind = \"zivver\"\nincluded_domains = [\"example.org\"]\n",
        ),
    )
    .unwrap();
    let engine = b.engine().await;
    let report = engine.apply(day(1), None).await.unwrap();
    assert_eq!(report.summary.status(), RunStatus::NoChanges);
    let zivver = report
        .plan
        .targets
        .iter()
        .find(|t| t.target.as_str() == "zivver")
        .unwrap();
    assert!(zivver.actions.is_empty(), "{:?}", zivver.actions);
    assert_eq!(zivver.held.len(), 1);
    assert_eq!(zivver.held[0].person.as_str(), "10001");
    assert_eq!(
        zivver.held[0].reason,
        "userName \"e.vandijk@elsewhere.example\" is outside this target's domains (example.org): not created"
    );
    assert!(b
        .zivver
        .state
        .user_by_name("e.vandijk@elsewhere.example")
        .is_none());
    // The SCIM target has no filter: the person has an account there.
    assert!(b
        .scim
        .state
        .users()
        .iter()
        .any(|u| u["userName"] == "e.vandijk@elsewhere.example"));
}
