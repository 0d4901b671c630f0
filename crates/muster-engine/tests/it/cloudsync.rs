//! Zivver Cloud Sync mode against the Zivver simulator, with a JSON export of mailboxes in the
//! shape of the contract (`tasks/CLOUDSYNC-CONTRACT.md`): preview by default, the fail-safe
//! and its release, the target filter, aliases in the included domains only, suspension of a
//! disabled user mailbox, a run time cap that leaves the rest to the next run, and
//! `reset_account_mapping`.

use crate::fixture::day;
use muster_core::plan::{ActionKind, Plan};
use muster_engine::{Config, Engine};
use muster_sim::zivver::{RunningZivverSim, ZivverSim, ZivverSimConfig, ZivverSwitches};
use muster_sim::Faults;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const ZIVVER_USER: &str = "urn:ietf:params:scim:schemas:zivver:0.1:User";

/// The configuration of `examples/cloudsync/` with a JSON export of mailboxes in the shape the
/// `exchange-online` source yields (`custom.*`), for user accounts (functional accounts come
/// with the Zivver connector's `functional_accounts = "accounts"`).
const CONFIG: &str = r#"
[store]
path = "muster.db"

[source]
kind = "json"
path = "mailboxes.json"

[run]
perform_sync = false

[targets.zivver]
kind = "zivver"
connection = { base_url = "http://127.0.0.1:1", token = { file = "token" }, rate_limit = { requests = 100000, per_seconds = 1 } }
correlation = { person = "custom.primary_address", account = "userName" }
all_or_nothing = { percent = 10 }
included_domains = ["example.org"]
outside_domains = "disable"
leave_alone = { accounts = ["beheer@example.org"], domains = ["supplier.example"] }

[[targets.zivver.mapping]]
field = "userName"
path = "custom.primary_address"

[[targets.zivver.mapping]]
field = "name.formatted"
path = "DisplayName"

[[targets.zivver.mapping]]
field = "urn:ietf:params:scim:schemas:zivver:0.1:User:aliases"
path = "custom.aliases"
in_included_domains = true

[[rules]]
name = "Every mailbox has an account"
account = true

[[rules]]
name = "Suspended while its user mailbox is disabled (never a shared one)"
access = true
when = { any = [
  { field = "custom.account_disabled", not_equals = "true" },
  { field = "custom.recipient_type", equals = "SharedMailbox" },
] }
"#;

struct Tenant {
    dir: tempfile::TempDir,
    zivver: RunningZivverSim,
}

/// One user mailbox as the `exchange-online` source yields it (the contract's shape).
fn mailbox(i: usize, address: &str) -> Value {
    let id = format!("0000{i:04}-0000-4000-8000-{i:012}");
    json!({
        "ExternalId": id,
        "DisplayName": format!("Mailbox {i}"),
        "Contact": { "Business": { "Email": address } },
        "Custom": {
            "primary_address": address,
            "aliases": [],
            "delegates": [],
            "account_disabled": false,
            "recipient_type": "UserMailbox",
            "object_id": id,
        },
    })
}

fn users(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| mailbox(i, &format!("user{i:03}@example.org")))
        .collect()
}

impl Tenant {
    async fn start(config: &str, rate_limit: bool) -> Self {
        let zivver = ZivverSim::start(ZivverSimConfig {
            tokens: vec!["tok".into()],
            domains: vec!["example.org".into(), "supplier.example".into()],
            switches: ZivverSwitches {
                faults: Faults {
                    rate_limit,
                    ..ZivverSwitches::default().faults
                },
                ..ZivverSwitches::default()
            },
            ..ZivverSimConfig::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "tok").unwrap();
        let config = config.replace(
            "token = { file = \"token\" }",
            &format!("token = {{ file = {:?} }}", token.display().to_string()),
        );
        std::fs::write(dir.path().join("muster.toml"), config).unwrap();
        Self { dir, zivver }
    }

    fn mailboxes(&self, mailboxes: &[Value]) {
        std::fs::write(
            self.dir.path().join("mailboxes.json"),
            serde_json::to_string_pretty(mailboxes).unwrap(),
        )
        .unwrap();
    }

    async fn engine_with(&self, extra: &[(&str, &str)]) -> Engine {
        let mut env = vec![(
            "MUSTER__TARGETS__ZIVVER__CONNECTION__BASE_URL".to_owned(),
            self.zivver.base_url.clone(),
        )];
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let config =
            Config::load_with_env(&self.dir.path().join("muster.toml"), env.into_iter()).unwrap();
        Engine::open(config).await.unwrap()
    }

    async fn engine(&self) -> Engine {
        self.engine_with(&[]).await
    }

    fn user(&self, name: &str) -> Value {
        self.zivver
            .state
            .user_by_name(name)
            .unwrap_or_else(|| panic!("no Zivver user {name}"))
    }

    fn names(&self) -> BTreeSet<String> {
        self.zivver
            .state
            .users()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn kinds(plan: &Plan) -> Vec<(ActionKind, String)> {
    plan.targets
        .iter()
        .flat_map(|t| t.actions.iter().map(|a| (a.kind, a.person.to_string())))
        .collect()
}

#[tokio::test]
async fn cloud_sync_previews_by_default_and_writes_only_with_perform_sync() {
    let t = Tenant::start(CONFIG, false).await;
    let mut tenant = users(30);
    tenant[1]["Custom"]["aliases"] =
        json!(["balie@example.org", "user001@contoso.onmicrosoft.com"]);
    tenant[5]["Custom"]["account_disabled"] = json!(true);
    let mut shared = mailbox(40, "info@example.org");
    shared["Kind"] = json!("SharedMailbox");
    shared["Custom"]["recipient_type"] = json!("SharedMailbox");
    shared["Custom"]["account_disabled"] = json!(true);
    tenant.push(shared);
    tenant.push(mailbox(41, "someone@elsewhere.example"));
    tenant.push(mailbox(42, "beheer@example.org"));
    tenant.push(mailbox(43, "admin@supplier.example"));
    t.mailboxes(&tenant);
    // Accounts of the target filter that exist already: never touched, not counted.
    for name in [
        "beheer@example.org",
        "admin@supplier.example",
        "ops@supplier.example",
    ] {
        t.zivver
            .state
            .seed_user(json!({"userName": name, "name": {"formatted": "Supplier"}, "active": true}))
            .unwrap();
    }

    // perform_sync = false: an apply is a preview that says so, and writes nothing.
    let engine = t.engine().await;
    let preview = engine.apply(day(1), None).await.unwrap();
    assert!(preview.summary.preview_mode, "ran in preview mode");
    assert_eq!(t.names().len(), 3, "nothing written in preview mode");
    let plan = &preview.plan.targets[0];
    assert_eq!(
        plan.accounts_observed, 32,
        "the filtered accounts and mailboxes are not counted (34 mailboxes, 2 filtered)"
    );
    let held: Vec<(String, String)> = plan
        .held
        .iter()
        .map(|h| (h.person.to_string(), h.reason.clone()))
        .collect();
    assert!(
        held.iter()
            .any(|(_, why)| why.contains("\"someone@elsewhere.example\" is outside")),
        "{held:?}"
    );
    assert!(
        held.iter()
            .any(|(_, why)| why.contains("beheer@example.org") && why.contains("never touched")),
        "{held:?}"
    );
    assert!(
        held.iter()
            .any(|(_, why)| why.contains("leave_alone domain (supplier.example)")),
        "{held:?}"
    );
    // The first load is more than 10 % of the accounts: the fail-safe holds it, even in
    // preview, and says why.
    let blocks = &preview.summary.targets[0].blocks;
    assert!(
        blocks.iter().any(|b| b.reason.contains("more than 10%")),
        "{blocks:?}"
    );
    drop(engine);

    // --perform-sync with --allow-large-sync: the first load is written.
    let engine = t.engine().await.performing_sync(true).allowing_large(true);
    let first = engine.apply(day(1), None).await.unwrap();
    assert!(!first.summary.preview_mode);
    assert_eq!(
        first.summary.targets[0].totals().failed,
        0,
        "{:?}",
        first.summary
    );
    let names = t.names();
    assert_eq!(names.len(), 3 + 31, "{names:?}");
    assert!(!names.contains("someone@elsewhere.example"));
    assert_eq!(
        t.user("user005@example.org")["active"],
        json!(false),
        "a disabled user mailbox is suspended"
    );
    assert_eq!(
        t.user("info@example.org")["active"],
        json!(true),
        "a shared mailbox is never suspended for being disabled"
    );
    assert_eq!(
        t.user("user001@example.org")[ZIVVER_USER]["aliases"],
        json!(["balie@example.org"]),
        "only aliases in the included domains"
    );
    assert_eq!(
        t.user("beheer@example.org")["name"]["formatted"],
        json!("Supplier"),
        "untouched"
    );
    // An import agrees with the plan: the filtered accounts are neither linked nor orphans.
    let import = engine.import("zivver", day(1), false).await.unwrap();
    assert_eq!(import.left_alone, 3, "{import:?}");
    let orphans: Vec<String> = import
        .accounts_without_person
        .iter()
        .filter_map(|a| a.value.clone())
        .collect();
    assert!(
        !orphans
            .iter()
            .any(|o| o.contains("supplier.example") || o == "beheer@example.org"),
        "{orphans:?}"
    );
    assert!(
        !import
            .correlated_now
            .iter()
            .chain(&import.linked)
            .any(|p| p.person.as_str() == tenant[32]["ExternalId"].as_str().unwrap()),
        "beheer@example.org's mailbox is never linked to the filtered account"
    );
    drop(engine);

    // A day in the tenant: one user disabled, one alias removed: the plan is that small.
    tenant[7]["Custom"]["account_disabled"] = json!(true);
    tenant[1]["Custom"]["aliases"] = json!(["user001@contoso.onmicrosoft.com"]);
    t.mailboxes(&tenant);
    let engine = t.engine().await.performing_sync(true);
    let second = engine.apply(day(2), None).await.unwrap();
    let mut planned = kinds(&second.plan);
    planned.sort();
    assert_eq!(
        planned,
        [
            (
                ActionKind::Update,
                tenant[1]["ExternalId"].as_str().unwrap().to_owned()
            ),
            (
                ActionKind::Disable,
                tenant[7]["ExternalId"].as_str().unwrap().to_owned()
            ),
        ],
        "only what changed"
    );
    assert_eq!(t.user("user007@example.org")["active"], json!(false));
    let aliases = &t.user("user001@example.org")[ZIVVER_USER]["aliases"];
    assert!(aliases.is_null() || *aliases == json!([]), "{aliases}");
    let third = engine.apply(day(2), None).await.unwrap();
    assert!(third.plan.is_empty(), "converged: {:?}", kinds(&third.plan));
}

#[tokio::test]
async fn the_fail_safe_refuses_a_mass_suspension_until_the_run_is_approved() {
    let t = Tenant::start(CONFIG, false).await;
    let mut tenant = users(40);
    t.mailboxes(&tenant);
    let engine = t.engine().await.performing_sync(true).allowing_large(true);
    engine.apply(day(1), None).await.unwrap();
    drop(engine);

    // Five of forty disabled: more than 10 %.
    for m in tenant.iter_mut().take(5) {
        m["Custom"]["account_disabled"] = json!(true);
    }
    t.mailboxes(&tenant);
    let engine = t.engine().await.performing_sync(true);
    let blocked = engine.apply(day(2), None).await.unwrap();
    let target = &blocked.summary.targets[0];
    assert_eq!(target.totals().blocked, 5, "{target:?}");
    assert_eq!(target.totals().done, 0);
    let reason = &target.blocks[0].reason;
    assert_eq!(reason, "5 of 40 accounts would change, more than 10%");
    assert!(
        t.zivver
            .state
            .users()
            .iter()
            .all(|u| u["active"] == json!(true)),
        "nothing suspended"
    );

    // Released for one run by an approval of that run.
    engine
        .approve(blocked.run.as_str(), None, "admin")
        .await
        .unwrap();
    let released = engine.apply(day(2), None).await.unwrap();
    assert_eq!(released.summary.targets[0].totals().done, 5);
    let suspended = t
        .zivver
        .state
        .users()
        .iter()
        .filter(|u| u["active"] == json!(false))
        .count();
    assert_eq!(suspended, 5);
}

#[tokio::test]
async fn a_run_time_cap_ends_the_run_cleanly_and_the_next_runs_finish_it_once() {
    let config = CONFIG
        .replace(
            "rate_limit = { requests = 100000, per_seconds = 1 }",
            "rate_limit = { requests = 40, per_seconds = 1 }",
        )
        .replace(
            "perform_sync = false",
            "perform_sync = true\nmax_run_time = \"1s\"",
        );
    let t = Tenant::start(&config, false).await;
    t.mailboxes(&users(150));
    let mut runs = Vec::new();
    // Each run stops after a second; at most 30 runs to create 150 accounts.
    for _ in 0..30 {
        let engine = t.engine().await.allowing_large(true);
        let report = engine.apply(day(1), None).await.unwrap();
        let summary = report.summary.targets[0].clone();
        runs.push(summary.clone());
        if summary.left_pending == 0 && summary.totals().planned == 0 {
            break;
        }
    }
    let first = &runs[0];
    assert!(
        first
            .stopped
            .as_deref()
            .is_some_and(|why| why.contains("run time cap (max_run_time = 1 s)")),
        "{first:?}"
    );
    assert!(first.left_pending > 0, "{first:?}");
    assert_eq!(
        first.totals().failed + first.totals().skipped,
        0,
        "{first:?}"
    );
    assert!(runs.len() > 1 && runs.len() < 30, "{} runs", runs.len());
    assert_eq!(t.zivver.state.users().len(), 150, "every account once");
    let last = runs.last().unwrap();
    assert!(last.stopped.is_none(), "{last:?}");
}

#[tokio::test]
async fn reset_account_mapping_forgets_the_links_once_and_correlates_again() {
    let config = CONFIG.replace("perform_sync = false", "perform_sync = true");
    let t = Tenant::start(&config, false).await;
    let tenant = users(20);
    t.mailboxes(&tenant);
    t.engine()
        .await
        .allowing_large(true)
        .apply(day(1), None)
        .await
        .unwrap();

    // A tenant-to-tenant migration: every mailbox has a new object id.
    let migrated: Vec<Value> = tenant
        .iter()
        .map(|m| {
            let mut m = m.clone();
            let id = m["ExternalId"]
                .as_str()
                .unwrap()
                .replace("0000-4000", "1111-4000");
            m["ExternalId"] = json!(id);
            m
        })
        .collect();
    t.mailboxes(&migrated);
    let engine = t.engine().await;
    let stale = engine.preview(day(2)).await.unwrap();
    let plan = &stale.plan.targets[0];
    assert_eq!(plan.held.len(), 20, "each account is linked to an old id");
    assert!(
        plan.held[0].reason.contains("is linked to person"),
        "{:?}",
        plan.held[0]
    );
    drop(engine);

    let engine = t
        .engine()
        .await
        .resetting_account_mapping(true)
        .allowing_large(true);
    let reset = engine.apply(day(2), None).await.unwrap();
    let planned = kinds(&reset.plan);
    assert_eq!(planned.len(), 20, "{planned:?}");
    assert!(
        planned.iter().all(|(k, _)| *k == ActionKind::Correlate),
        "{planned:?}"
    );
    assert_eq!(t.zivver.state.users().len(), 20);
    drop(engine);

    // Once: the next run keeps the new links.
    let after = t.engine().await.apply(day(3), None).await.unwrap();
    assert!(after.plan.is_empty(), "{:?}", kinds(&after.plan));
}

/// `examples/cloudsync/` for user and functional accounts: shared mailboxes become functional
/// accounts with their Full Access users as delegates.
fn functional_config() -> String {
    CONFIG
        .replace(
            "rate_limit = { requests = 100000, per_seconds = 1 } }",
            "rate_limit = { requests = 100000, per_seconds = 1 }, functional_accounts = \"accounts\" }",
        )
        .replace("perform_sync = false", "perform_sync = true")
        .replacen(
            "[[rules]]",
            r#"[[targets.zivver.mapping]]
field = "kind"
path = "custom.recipient_type"
values = { UserMailbox = "user", SharedMailbox = "functional" }
account_type = true

[[targets.zivver.mapping]]
field = "urn:ietf:params:scim:schemas:zivver:0.1:User:delegates"
path = "custom.delegates"

[[rules]]"#,
            1,
        )
}

fn shared_mailbox(i: usize, address: &str, delegates: &[&str]) -> Value {
    let mut m = mailbox(i, address);
    m["Kind"] = json!("SharedMailbox");
    m["Custom"]["recipient_type"] = json!("SharedMailbox");
    m["Custom"]["account_disabled"] = json!(true);
    m["Custom"]["delegates"] = json!(delegates);
    m
}

#[tokio::test]
async fn shared_mailboxes_become_functional_accounts_types_are_never_converted_and_guest_aliases_are_not_retried(
) {
    let t = Tenant::start(&functional_config(), false).await;
    let mut tenant = users(6);
    // A shared mailbox whose alias already received mail as a Zivver guest.
    t.zivver.state.seed_guest("oud@example.org");
    let mut info = shared_mailbox(
        10,
        "info@example.org",
        &["user001@example.org", "user002@example.org"],
    );
    info["Custom"]["aliases"] = json!(["oud@example.org"]);
    tenant.push(info);
    // Type mismatches: a shared mailbox whose address is a Zivver user, a user mailbox whose
    // address is a functional account.
    tenant.push(shared_mailbox(11, "post@example.org", &[]));
    tenant.push(mailbox(12, "team@example.org"));
    t.mailboxes(&tenant);
    t.zivver
        .state
        .seed_user(
            json!({"userName": "post@example.org", "name": {"formatted": "Post"}, "active": true}),
        )
        .unwrap();
    t.zivver
        .state
        .seed_group(json!({ "externalId": "team@example.org", "displayName": "Team" }))
        .unwrap();

    let engine = t.engine().await.allowing_large(true);
    let first = engine.apply(day(1), None).await.unwrap();
    let plan = &first.plan.targets[0];
    let mismatched: Vec<&str> = plan
        .held
        .iter()
        .filter(|h| h.reason.starts_with("type mismatch"))
        .map(|h| h.person.as_str())
        .collect();
    assert_eq!(mismatched.len(), 2, "{:?}", plan.held);
    assert!(
        plan.warnings
            .iter()
            .filter(|w| w.contains("type mismatch"))
            .count()
            == 2,
        "{:?}",
        plan.warnings
    );
    assert_eq!(
        t.user("post@example.org")["name"]["formatted"],
        json!("Post"),
        "not converted"
    );
    // The guest alias: the functional account's create is refused with Zivver's words, and
    // remembered.
    let target = &first.summary.targets[0];
    assert_eq!(target.totals().failed, 1, "{target:?}");
    drop(engine);

    // The next run creates the account without the refused alias, and says why.
    let engine = t.engine().await.allowing_large(true);
    let second = engine.apply(day(1), None).await.unwrap();
    assert_eq!(
        second.summary.targets[0].totals().failed,
        0,
        "{:?}",
        second.summary
    );
    assert!(
        second.plan.targets[0]
            .warnings
            .iter()
            .any(|w| w.contains("refused by the target before")),
        "{:?}",
        second.plan.targets[0].warnings
    );
    // Delegates created in the same run as the functional account are added by the next.
    let info =
        functional(&t, "info@example.org").expect("the shared mailbox is a functional account");
    let members: BTreeSet<String> = info["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let user = t.zivver.state.user(m["value"].as_str().unwrap()).unwrap();
            user["userName"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        members,
        BTreeSet::from([
            "user001@example.org".to_owned(),
            "user002@example.org".to_owned()
        ]),
        "Full Access users are its delegates"
    );
    assert!(functional(&t, "info@example.org").is_some());
    let third = engine.apply(day(1), None).await.unwrap();
    assert_eq!(
        third.summary.targets[0].totals().planned,
        0,
        "nothing is sent again: {:?}",
        kinds(&third.plan)
    );

    // A new alias for that mailbox is sent again.
    let last = tenant.len() - 3;
    tenant[last]["Custom"]["aliases"] = json!(["nieuw@example.org"]);
    t.mailboxes(&tenant);
    let fourth = engine.apply(day(2), None).await.unwrap();
    assert_eq!(
        fourth.summary.targets[0].totals().done,
        1,
        "{:?}",
        fourth.summary
    );
    assert_eq!(
        functional(&t, "info@example.org").unwrap()
            ["urn:ietf:params:scim:schemas:zivver:0.1:Group"]["aliases"],
        json!(["nieuw@example.org"])
    );
}

fn functional(t: &Tenant, address: &str) -> Option<Value> {
    t.zivver
        .state
        .groups()
        .into_iter()
        .find(|g| g["externalId"] == json!(address))
}
