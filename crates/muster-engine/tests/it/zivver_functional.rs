//! Zivver functional accounts as accounts (`functional_accounts = "accounts"`, the Cloud Sync
//! mode of issue 16) end to end, against the Zivver simulator: shared-mailbox records from a
//! JSON source become functional accounts with their delegates and aliases; a rename, an alias
//! and a delegate removed make one small Update; a suspended mailbox empties the members with
//! the remove-all PATCH; a resumed one gets them back; each time the next plan is empty.

use muster_core::plan::{Action, ActionKind, Plan};
use muster_core::report::RunStatus;
use muster_engine::{Config, Engine};
use muster_sim::zivver::{RunningZivverSim, ZivverSim, ZivverSimConfig, ZivverSwitches};
use serde_json::{json, Map, Value};

const ALIASES: &str = "urn:ietf:params:scim:schemas:zivver:0.1:User:aliases";
const DELEGATES: &str = "urn:ietf:params:scim:schemas:zivver:0.1:User:delegates";
const GROUP_EXT: &str = "urn:ietf:params:scim:schemas:zivver:0.1:Group";

struct Mailbox {
    id: &'static str,
    address: &'static str,
    name: &'static str,
    aliases: Vec<&'static str>,
    delegates: Vec<&'static str>,
    suspended: bool,
}

impl Mailbox {
    /// A shared mailbox as a source record: no contracts, its Exchange facts under
    /// `Accounts.Exchange` (until `Person.custom` carries them).
    fn record(&self) -> Value {
        let mut exchange = Map::new();
        for (i, a) in self.aliases.iter().enumerate() {
            exchange.insert(format!("Alias{}", i + 1), json!(a));
        }
        for (i, d) in self.delegates.iter().enumerate() {
            exchange.insert(format!("Delegate{}", i + 1), json!(d));
        }
        if self.suspended {
            exchange.insert("Suspended".into(), json!("yes"));
        }
        json!({
            "ExternalId": self.id,
            "DisplayName": self.name,
            "Contact": { "Business": { "Email": self.address } },
            "Accounts": { "Exchange": exchange },
        })
    }
}

struct Fx {
    dir: tempfile::TempDir,
    zivver: RunningZivverSim,
}

impl Fx {
    async fn start() -> Self {
        let zivver = ZivverSim::start(ZivverSimConfig {
            tokens: vec!["tok".into()],
            switches: ZivverSwitches::without_rate_limit(),
            ..ZivverSimConfig::default()
        })
        .await
        .unwrap();
        // The persons with Full Access have Zivver user accounts already.
        for u in ["anna", "bert", "carla"] {
            zivver
                .state
                .seed_user(json!({ "userName": format!("{u}@example.org") }))
                .unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "tok").unwrap();
        let delegates: Vec<String> = (1..=3)
            .map(|i| format!("\"{{Accounts.Exchange.Delegate{i}}}\""))
            .collect();
        let config = format!(
            r#"
[store]
path = "muster.db"

[source]
kind = "json"
path = "mailboxes.json"

[targets.zivver]
kind = "zivver"
connection = {{ base_url = "{base}", token = {{ file = {token:?} }}, functional_accounts = "accounts", rate_limit = {{ requests = 100000, per_seconds = 1 }} }}
correlation = {{ person = "Contact.Business.Email", account = "userName" }}

[[targets.zivver.mapping]]
field = "kind"
value = "functional"

[[targets.zivver.mapping]]
field = "userName"
path = "Contact.Business.Email"

[[targets.zivver.mapping]]
field = "name.formatted"
path = "DisplayName"

[[targets.zivver.mapping]]
field = "{ALIASES}"
list = ["{{Accounts.Exchange.Alias1}}", "{{Accounts.Exchange.Alias2}}"]

[[targets.zivver.mapping]]
field = "{DELEGATES}"
list = [{delegates}]

[[rules]]
name = "Every shared mailbox has a functional account"
account = true

[[rules]]
name = "A shared mailbox is active unless suspended"
access = true
when = {{ field = "Accounts.Exchange.Suspended", exists = false }}
"#,
            base = zivver.base_url,
            token = token.display().to_string(),
            delegates = delegates.join(", "),
        );
        std::fs::write(dir.path().join("muster.toml"), config).unwrap();
        Self { dir, zivver }
    }

    fn source(&self, mailboxes: &[Mailbox]) {
        let records: Vec<Value> = mailboxes.iter().map(Mailbox::record).collect();
        std::fs::write(
            self.dir.path().join("mailboxes.json"),
            serde_json::to_string_pretty(&records).unwrap(),
        )
        .unwrap();
    }

    async fn engine(&self) -> Engine {
        let config =
            Config::load_with_env(&self.dir.path().join("muster.toml"), std::iter::empty())
                .unwrap();
        Engine::open(config).await.unwrap()
    }

    fn group(&self, address: &str) -> Value {
        self.zivver
            .state
            .groups()
            .into_iter()
            .find(|g| g["externalId"] == address)
            .unwrap_or_else(|| panic!("no functional account {address}"))
    }

    /// The members of a functional account, by address.
    fn delegates(&self, address: &str) -> Vec<String> {
        let mut names: Vec<String> = self.group(address)["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let user = self
                    .zivver
                    .state
                    .user(m["value"].as_str().unwrap())
                    .unwrap();
                user["userName"].as_str().unwrap().to_owned()
            })
            .collect();
        names.sort();
        names
    }

    fn count(&self, method: &str) -> u64 {
        self.zivver.state.request_count(method, "/Groups")
    }
}

fn actions(plan: &Plan) -> Vec<&Action> {
    plan.targets.iter().flat_map(|t| &t.actions).collect()
}

fn kinds(plan: &Plan) -> Vec<(ActionKind, String)> {
    let mut v: Vec<(ActionKind, String)> = actions(plan)
        .iter()
        .map(|a| (a.kind, a.person.to_string()))
        .collect();
    v.sort_by_key(|(k, p)| (k.to_string(), p.clone()));
    v
}

fn fields(action: &Action) -> Vec<&str> {
    let mut f: Vec<&str> = action.changes.iter().map(|c| c.field.as_str()).collect();
    f.sort();
    f
}

fn day1() -> Vec<Mailbox> {
    vec![
        Mailbox {
            id: "mbx-info",
            address: "info@example.org",
            name: "Info",
            aliases: vec!["balie@example.org", "receptie@example.org"],
            delegates: vec!["anna@example.org", "bert@example.org"],
            suspended: false,
        },
        Mailbox {
            id: "mbx-support",
            address: "support@example.org",
            name: "Support",
            aliases: vec![],
            delegates: vec!["carla@example.org"],
            suspended: false,
        },
    ]
}

#[tokio::test]
async fn shared_mailboxes_become_functional_accounts_that_are_renamed_suspended_and_resumed() {
    let fx = Fx::start().await;
    fx.source(&day1());
    let engine = fx.engine().await;
    let today = "2026-03-02".parse().unwrap();

    // Day 1: two functional accounts with their delegates and aliases.
    let preview = engine.preview(today).await.unwrap();
    assert_eq!(
        kinds(&preview.plan),
        [
            (ActionKind::Create, "mbx-info".to_owned()),
            (ActionKind::Create, "mbx-support".to_owned()),
        ]
    );
    let first = engine.apply(today, None).await.unwrap();
    assert_eq!(
        first.summary.status(),
        RunStatus::Changes,
        "{:?}",
        first.summary
    );
    let info = fx.group("info@example.org");
    assert_eq!(info["displayName"], "Info");
    assert_eq!(
        info[GROUP_EXT]["aliases"],
        json!(["balie@example.org", "receptie@example.org"])
    );
    assert_eq!(
        fx.delegates("info@example.org"),
        ["anna@example.org", "bert@example.org"]
    );
    assert_eq!(fx.delegates("support@example.org"), ["carla@example.org"]);
    assert_eq!(fx.count("POST"), 2);
    assert_eq!(fx.zivver.state.users().len(), 3, "no user account was made");
    let again = engine.preview(today).await.unwrap();
    assert!(again.plan.is_empty(), "{:?}", kinds(&again.plan));

    // Day 2: renamed, an alias removed, a delegate removed: one Update.
    let mut day2 = day1();
    day2[0].name = "Informatie";
    day2[0].aliases = vec!["balie@example.org"];
    day2[0].delegates = vec!["anna@example.org"];
    fx.source(&day2);
    let preview = engine.preview(today).await.unwrap();
    assert_eq!(
        kinds(&preview.plan),
        [(ActionKind::Update, "mbx-info".to_owned())]
    );
    assert_eq!(
        fields(actions(&preview.plan)[0]),
        ["name.formatted", ALIASES, DELEGATES]
    );
    let puts = fx.count("PUT");
    engine.apply(today, None).await.unwrap();
    let info = fx.group("info@example.org");
    assert_eq!(info["displayName"], "Informatie");
    assert_eq!(info[GROUP_EXT]["aliases"], json!(["balie@example.org"]));
    assert_eq!(fx.delegates("info@example.org"), ["anna@example.org"]);
    assert_eq!(fx.count("PUT"), puts + 1);
    let again = engine.preview(today).await.unwrap();
    assert!(again.plan.is_empty(), "{:?}", kinds(&again.plan));

    // Day 3: support suspended: a Disable, which empties the members with the PATCH.
    let mut day3 = day2;
    day3[1].suspended = true;
    fx.source(&day3);
    let preview = engine.preview(today).await.unwrap();
    assert_eq!(
        kinds(&preview.plan),
        [(ActionKind::Disable, "mbx-support".to_owned())]
    );
    let patches = fx.count("PATCH");
    engine.apply(today, None).await.unwrap();
    assert!(fx.delegates("support@example.org").is_empty());
    assert_eq!(fx.count("PATCH"), patches + 1);
    let again = engine.preview(today).await.unwrap();
    assert!(
        again.plan.is_empty(),
        "a suspended account's delegates are not compared: {:?}",
        kinds(&again.plan)
    );

    // Day 4: resumed: an Enable that puts the delegates back with a PUT.
    let mut day4 = day3;
    day4[1].suspended = false;
    fx.source(&day4);
    let preview = engine.preview(today).await.unwrap();
    assert_eq!(
        kinds(&preview.plan),
        [(ActionKind::Enable, "mbx-support".to_owned())]
    );
    assert_eq!(fields(actions(&preview.plan)[0]), [DELEGATES]);
    let puts = fx.count("PUT");
    engine.apply(today, None).await.unwrap();
    assert_eq!(fx.delegates("support@example.org"), ["carla@example.org"]);
    assert_eq!(fx.count("PUT"), puts + 1);
    let again = engine.preview(today).await.unwrap();
    assert!(again.plan.is_empty(), "{:?}", kinds(&again.plan));
}
