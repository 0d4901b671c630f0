//! `muster demo cloud-sync`: Zivver Cloud Sync mode end to end. An example Exchange Online
//! tenant (simulated) into Zivver (simulated) through `examples/cloudsync/muster.toml`: the
//! preview, the first load, a day of tenant changes, a mass change the fail-safe refuses, and
//! its release. Each step is what one `muster` command does, and the demo says which.

use super::zivver_switches;
use super::{check, empty_folder, load_engine, secret_file, speedup_note, zivver_overrides};
use crate::exit;
use crate::output;
use anyhow::{bail, Context, Result};
use muster_core::report::RunStatus;
use muster_engine::run::RunReport;
use muster_engine::Engine;
use muster_sim::exchange::tenant::MailboxChange;
use muster_sim::exchange::{
    ExchangeSim, ExchangeSimConfig, RunningExchangeSim, SeedGroup, SeedMailbox, SeedPermission,
    TenantSeed,
};
use muster_sim::zivver::{ZivverSim, ZivverSimConfig};
use muster_sim::RunningZivverSim;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const CONFIG: &str = include_str!("../../../../../examples/cloudsync/muster.toml");
/// The example's application (client) id, which the simulated token endpoint accepts.
const CLIENT_ID: &str = "00000000-0000-0000-0000-000000000000";
/// The domain of the generated mailboxes; `contoso.be` is the example's other claimed domain.
const DOMAIN: &str = "contoso.nl";
const USERS: usize = 240;
const SHARED: usize = 40;
/// Full Access users per shared mailbox (besides the groups the example grants).
const PER_SHARED: usize = 3;
/// The target filter's account, a mailbox too: Muster never touches its Zivver account.
const FILTERED: &str = "beheer@contoso.nl";
/// A Zivver account in the target filter's domain (a supplier's).
const SUPPLIER: &str = "support@leverancier.nl";
/// The Zivver accounts that exist before Muster does, with their display names.
const TARGET_FILTER: [(&str, &str); 2] =
    [(FILTERED, "Beheer (Zivver admin)"), (SUPPLIER, "Supplier")];
/// The user whose primary address changes on the day of changes.
const RENAMED: &str = "user00012@contoso.nl";
const RENAMED_TO: &str = "jan.devries@contoso.nl";
const DISABLED: &str = "user00030@contoso.nl";
/// The user who loses an alias (every 10th user has one in the domain).
const ALIAS_OWNER: &str = "user00040@contoso.nl";
const ALIAS_REMOVED: &str = "u40@contoso.nl";
const NEW_SHARED: &str = "debiteuren@contoso.nl";
/// The shared mailbox a new group is given Full Access on, and the group.
const GRANTED: &str = "shared0001@contoso.nl";
const GROUP: &str = "Team Crediteuren";
const GROUP_MEMBERS: [&str; 3] = [
    "user00101@contoso.nl",
    "user00102@contoso.nl",
    "user00103@contoso.nl",
];
/// The mass change: every third user mailbox disabled.
const MASS_EVERY: usize = 3;

pub async fn run(dir: &Path) -> Result<u8> {
    let today: chrono::NaiveDate = "2026-03-02".parse()?;
    let dir = empty_folder(dir)?;
    let secret = format!("demo-{}", std::process::id());
    let exchange = ExchangeSim::start(ExchangeSimConfig {
        client_id: CLIENT_ID.to_owned(),
        client_secret: secret.clone(),
        tenant_seed: tenant(),
        ..ExchangeSimConfig::default()
    })
    .await?;
    let zivver = start_zivver(&secret).await?;
    let demo = Demo {
        config: write_config(&dir, &secret)?,
        exchange,
        zivver,
        today,
    };
    demo.intro(&dir);

    demo.preview().await?;
    demo.first_load().await?;
    demo.day_of_changes().await?;
    demo.mass_change().await?;
    demo.plan_again().await?;

    println!(
        "HTTP requests answered: Exchange Online {}, Zivver {}",
        demo.exchange.state.counter().total(),
        demo.zivver.state.total_requests()
    );
    println!(
        "Try: muster --config {} runs | audit --target zivver",
        demo.config.display()
    );
    println!("(the simulators stop with the demo; `muster sim exchange-online` and `muster sim zivver` run them on their own)");
    demo.exchange.shutdown().await?;
    demo.zivver.shutdown().await?;
    Ok(exit::OK)
}

struct Demo {
    config: PathBuf,
    exchange: RunningExchangeSim,
    zivver: RunningZivverSim,
    today: chrono::NaiveDate,
}

/// The example tenant: [`TenantSeed::example`] (users, disabled users, shared mailboxes with
/// Full Access through users and groups, a deleted principal, aliases in `contoso.nl` and
/// `onmicrosoft.com`), and a colleague in `contoso.be` with an alias in the unclaimed
/// `contoso.com`, a mailbox outside the claimed domains, and the target filter's mailbox.
fn tenant() -> TenantSeed {
    let mut seed = TenantSeed::example(DOMAIN, USERS, SHARED, PER_SHARED);
    seed.mailboxes.extend([
        mailbox(
            1,
            "UserMailbox",
            "An Peeters",
            "an.peeters@contoso.be",
            &["smtp:an@contoso.be", "smtp:an.peeters@contoso.com"],
        ),
        mailbox(2, "UserMailbox", "Piet Extern", "piet@contoso.com", &[]),
        mailbox(3, "UserMailbox", "Beheer", FILTERED, &[]),
    ]);
    seed
}

/// A mailbox with its primary address first, then `aliases` (`smtp:…`), and an object id.
fn mailbox(n: usize, kind: &str, name: &str, address: &str, aliases: &[&str]) -> SeedMailbox {
    let local = address.split('@').next().unwrap_or(address);
    SeedMailbox {
        name: local.to_owned(),
        alias: None,
        display_name: name.to_owned(),
        recipient_type_details: kind.to_owned(),
        primary_smtp_address: address.to_owned(),
        email_addresses: std::iter::once(format!("SMTP:{address}"))
            .chain(aliases.iter().map(|a| (*a).to_owned()))
            .collect(),
        account_disabled: kind == "SharedMailbox",
        external_directory_object_id: Some(format!("00000000-0000-4000-c000-{n:012}")),
        guid: None,
    }
}

/// Zivver with the claimed domains and the target filter's two accounts, which exist before
/// Muster does.
async fn start_zivver(token: &str) -> Result<RunningZivverSim> {
    let zivver = ZivverSim::start(ZivverSimConfig {
        tokens: vec![token.to_owned()],
        domains: vec![
            "contoso.nl".into(),
            "contoso.be".into(),
            "leverancier.nl".into(),
        ],
        switches: zivver_switches(),
        ..ZivverSimConfig::default()
    })
    .await?;
    for (name, display) in TARGET_FILTER {
        zivver
            .state
            .seed_user(
                json!({ "userName": name, "name": { "formatted": display }, "active": true }),
            )
            .map_err(|e| anyhow::anyhow!("cannot create {name} in the simulator: {e:?}"))?;
    }
    Ok(zivver)
}

/// The example configuration with its secrets read from files in `dir`, as `dir/muster.toml`.
fn write_config(dir: &Path, secret: &str) -> Result<PathBuf> {
    let secret_ref = secret_file(dir, "api-token", secret)?;
    let text = CONFIG
        .replace("{ env = \"EXO_CLIENT_SECRET\" }", &secret_ref)
        .replace("{ env = \"ZIVVER_TOKEN\" }", &secret_ref);
    let path = dir.join("muster.toml");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// What Zivver holds: the simulator's own counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    users: usize,
    suspended: usize,
    functional: usize,
    delegations: usize,
}

impl std::fmt::Display for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Zivver now holds {} user accounts ({} suspended) and {} functional accounts with {} delegations",
            self.users, self.suspended, self.functional, self.delegations
        )
    }
}

impl Demo {
    fn intro(&self, dir: &Path) {
        let tenant = self.exchange.state.tenant();
        let seed = tenant.seed();
        let of = |kind: &str| {
            seed.mailboxes
                .iter()
                .filter(|m| m.recipient_type_details == kind)
                .count()
        };
        let disabled = seed
            .mailboxes
            .iter()
            .filter(|m| m.recipient_type_details == "UserMailbox" && m.account_disabled)
            .count();
        println!("Muster demo: Zivver Cloud Sync mode");
        println!("  folder:    {} (SQLite store, config)", dir.display());
        println!(
            "  config:    examples/cloudsync/muster.toml (claimed domains contoso.nl and contoso.be,\n             target filter {FILTERED} and domain leverancier.nl, fail-safe at 10 %)"
        );
        println!(
            "  source:    Exchange Online simulator at {}, tenant {}:",
            self.exchange.base_url,
            self.exchange.state.tenant_name()
        );
        println!(
            "             {} user mailboxes ({disabled} disabled), {} shared mailboxes, {} mail-enabled groups,\n             {} Full Access entries (to users, to groups, one to a deleted principal)",
            of("UserMailbox"),
            of("SharedMailbox"),
            seed.groups.len(),
            seed.permissions.len()
        );
        println!(
            "  target:    Zivver simulator at {}, holding only {FILTERED} and {SUPPLIER}",
            self.zivver.base_url
        );
        println!("  date:      pinned to {}", self.today);
        println!("{}", speedup_note());
        println!();
    }

    /// The engine as one `muster` command opens it: the configuration pointed at the
    /// simulators.
    async fn engine(&self) -> Result<Engine> {
        let mut overrides = zivver_overrides(&self.zivver);
        overrides.extend([
            (
                "MUSTER__SOURCE__TOKEN_URL".to_owned(),
                self.exchange.token_url(),
            ),
            (
                "MUSTER__SOURCE__EXCHANGE_URL".to_owned(),
                self.exchange.exchange_url(),
            ),
            (
                "MUSTER__SOURCE__GRAPH_URL".to_owned(),
                self.exchange.graph_url(),
            ),
        ]);
        load_engine(&self.config, &overrides).await
    }

    /// The simulator's counts, the two accounts of the target filter left out.
    fn held(&self) -> Held {
        let users: Vec<Value> = self
            .zivver
            .state
            .users()
            .into_iter()
            .filter(|u| u["userName"] != FILTERED && u["userName"] != SUPPLIER)
            .collect();
        let groups = self.zivver.state.groups();
        Held {
            users: users.len(),
            suspended: users.iter().filter(|u| u["active"] == false).count(),
            functional: groups.len(),
            delegations: groups
                .iter()
                .map(|g| g["members"].as_array().map_or(0, Vec::len))
                .sum(),
        }
    }

    /// The target filter's accounts as they were seeded.
    fn untouched(&self) -> Result<()> {
        for (name, display) in TARGET_FILTER {
            let user = self.zivver.state.user_by_name(name);
            if user.as_ref().map(|u| &u["name"]["formatted"]) != Some(&json!(display)) {
                bail!("the target filter's account {name} was changed: {user:?}");
            }
        }
        Ok(())
    }

    /// Step 1: an apply under `perform_sync = false` writes nothing.
    async fn preview(&self) -> Result<()> {
        println!("== 1. Preview: Cloud Sync writes nothing unless told to ==");
        println!("$ muster apply          ([run] perform_sync = false)");
        let report = self.engine().await?.apply(self.today, None).await?;
        print!("{}", output::report_text(&report, false, false));
        let held = self.held();
        println!("{held}: nothing was written");
        if !report.summary.preview_mode || held.users + held.functional != 0 {
            bail!("demo step `preview` wrote to Zivver, or did not say it ran in preview mode");
        }
        println!();
        Ok(())
    }

    /// Step 2: the first load, past the fail-safe for this one run.
    async fn first_load(&self) -> Result<()> {
        println!("== 2. The first load ==");
        println!("Into an empty Zivver every account is new: far more than the fail-safe's 10 %, so it is");
        println!(
            "blocked (above). The administrator has read the preview and releases this one run:"
        );
        println!("$ muster apply --perform-sync --allow-large-sync");
        let started = std::time::Instant::now();
        let engine = self
            .engine()
            .await?
            .performing_sync(true)
            .allowing_large(true);
        let report = engine.apply(self.today, None).await?;
        print!("{}", output::summary(&report.summary));
        println!(
            "applied in {:.1} s; {}",
            started.elapsed().as_secs_f64(),
            self.held()
        );
        finished(&report, "first load")?;
        self.next_run("first load").await?;
        self.untouched()?;
        println!("{FILTERED} and {SUPPLIER} (the target filter) are as they were");
        println!();
        Ok(())
    }

    /// Step 3: a day of tenant changes, its plan and its apply.
    async fn day_of_changes(&self) -> Result<()> {
        println!("== 3. A day in the tenant ==");
        let renamed_id = self
            .zivver
            .state
            .user_by_name(RENAMED)
            .and_then(|u| u["id"].as_str().map(str::to_owned))
            .with_context(|| format!("no Zivver account {RENAMED} after the first load"))?;
        self.change_tenant()?;
        println!("$ muster plan");
        let plan = self.engine().await?.preview(self.today).await?;
        print!("{}", output::report_text(&plan, true, false));
        println!();
        println!("$ muster apply --perform-sync");
        let engine = self.engine().await?.performing_sync(true);
        let report = engine.apply(self.today, None).await?;
        print!("{}", output::summary(&report.summary));
        println!("{}", self.held());
        finished(&report, "a day in the tenant")?;
        self.next_run("a day in the tenant").await?;
        let renamed = self.zivver.state.user(&renamed_id);
        match renamed.as_ref().and_then(|u| u["userName"].as_str()) {
            Some(RENAMED_TO) if self.zivver.state.user_by_name(RENAMED).is_none() => println!(
                "renamed: Zivver account {renamed_id} kept, userName {RENAMED} → {RENAMED_TO} (no new account)"
            ),
            other => bail!("the renamed mailbox's account {renamed_id} is now {other:?}"),
        }
        let functional = self
            .zivver
            .state
            .groups()
            .into_iter()
            .find(|g| g["externalId"] == NEW_SHARED)
            .with_context(|| format!("no functional account {NEW_SHARED}"))?;
        println!(
            "new functional account {NEW_SHARED} with {} delegate(s)",
            functional["members"].as_array().map_or(0, Vec::len)
        );
        println!();
        Ok(())
    }

    /// The next run after an apply: it sets the delegates the apply skipped because their
    /// accounts were created or renamed in the same run (Zivver names delegates by account).
    /// Step 6 shows nothing is left after it.
    async fn next_run(&self, step: &str) -> Result<()> {
        println!("$ muster apply --perform-sync   (the next run: sets the delegates skipped above, whose accounts the run before created or renamed)");
        let engine = self.engine().await?.performing_sync(true);
        let report = engine.apply(self.today, None).await?;
        print!("{}", output::summary(&report.summary));
        if report.summary.status() != RunStatus::NoChanges {
            finished(&report, step)?;
        }
        println!("{}", self.held());
        Ok(())
    }

    /// The day's changes, made in the simulated tenant.
    fn change_tenant(&self) -> Result<()> {
        println!(
            "- new shared mailbox {NEW_SHARED}, Full Access for {}",
            GROUP_MEMBERS[0]
        );
        println!(
            "- Full Access on {GRANTED} granted to the group {GROUP} ({} members)",
            GROUP_MEMBERS.len()
        );
        println!("- {DISABLED} disabled");
        println!(
            "- {RENAMED}'s primary address changed to {RENAMED_TO} (a rename: same object id)"
        );
        println!("- alias {ALIAS_REMOVED} removed from {ALIAS_OWNER}");
        let fail = |e: String| anyhow::anyhow!("cannot change the simulated tenant: {e}");
        let mut tenant = self.exchange.state.tenant_mut();
        tenant
            .add_mailbox(mailbox(4, "SharedMailbox", "Debiteuren", NEW_SHARED, &[]))
            .map_err(fail)?;
        tenant
            .grant(full_access(NEW_SHARED, GROUP_MEMBERS[0]))
            .map_err(fail)?;
        tenant
            .add_group(SeedGroup {
                name: GROUP.to_owned(),
                alias: None,
                display_name: None,
                primary_smtp_address: "crediteuren@contoso.nl".to_owned(),
                recipient_type_details: "MailUniversalSecurityGroup".to_owned(),
                guid: None,
                external_directory_object_id: Some("00000000-0000-4000-d000-000000000001".into()),
                members: GROUP_MEMBERS.iter().map(|m| (*m).to_owned()).collect(),
            })
            .map_err(fail)?;
        tenant.grant(full_access(GRANTED, GROUP)).map_err(fail)?;
        let changes = [
            (
                DISABLED,
                MailboxChange {
                    account_disabled: Some(true),
                    ..MailboxChange::default()
                },
            ),
            (
                RENAMED,
                MailboxChange {
                    primary_smtp_address: Some(RENAMED_TO.to_owned()),
                    display_name: Some("Jan de Vries".to_owned()),
                    ..MailboxChange::default()
                },
            ),
            (
                ALIAS_OWNER,
                MailboxChange {
                    remove_address: Some(ALIAS_REMOVED.to_owned()),
                    ..MailboxChange::default()
                },
            ),
        ];
        for (identity, change) in &changes {
            tenant_change(&mut tenant, identity, change)?;
        }
        println!();
        Ok(())
    }

    /// Steps 4 and 5: a third of the users disabled at once; the fail-safe refuses, the
    /// administrator approves the blocked run.
    async fn mass_change(&self) -> Result<()> {
        println!("== 4. A mass change: the fail-safe ==");
        let mut disabled = 0;
        {
            let mut tenant = self.exchange.state.tenant_mut();
            for i in (0..USERS).step_by(MASS_EVERY) {
                let address = format!("user{i:05}@{DOMAIN}");
                if tenant.mailbox(&address).is_some_and(|m| m.account_disabled) {
                    continue;
                }
                let change = MailboxChange {
                    account_disabled: Some(true),
                    ..MailboxChange::default()
                };
                tenant_change(&mut tenant, &address, &change)?;
                disabled += 1;
            }
        }
        println!(
            "A clean-up script disables {disabled} more user mailboxes at once (every third user)."
        );
        println!("$ muster apply --perform-sync");
        let before = self.held();
        let engine = self.engine().await?.performing_sync(true);
        let blocked = engine.apply(self.today, None).await?;
        print!("{}", output::summary(&blocked.summary));
        check(blocked.summary.status(), RunStatus::Blocked, "mass change")?;
        if self.held() != before {
            bail!("demo step `mass change` wrote although it was blocked");
        }
        println!("Nothing was written: {}", self.held());
        println!();

        println!(
            "== 5. Release: the administrator checks the list and approves the blocked run =="
        );
        println!("(had the change been a mistake, fixing the tenant would have been enough: the next run writes nothing)");
        println!("$ muster approve {} --perform-sync", blocked.run);
        let by = std::env::var("USER").unwrap_or_else(|_| "admin".into());
        for a in engine.approve(blocked.run.as_str(), None, &by).await? {
            println!(
                "approved: {} {} × {} (run {})",
                a.target, a.kind, a.count, a.run
            );
        }
        let released = engine.apply(self.today, None).await?;
        print!("{}", output::summary(&released.summary));
        let after = self.held();
        println!("{after}");
        finished(&released, "approved mass change")?;
        if after.suspended != before.suspended + disabled {
            bail!(
                "the approved run suspended {} accounts, not {disabled}",
                after.suspended.saturating_sub(before.suspended)
            );
        }
        println!();
        Ok(())
    }

    /// Step 6: a new plan finds nothing left to do.
    async fn plan_again(&self) -> Result<()> {
        println!("== 6. Plan again: nothing left to do ==");
        println!("$ muster plan");
        let again = self.engine().await?.preview(self.today).await?;
        print!("{}", output::summary(&again.summary));
        check(
            again.summary.status(),
            RunStatus::NoChanges,
            "plan after apply",
        )?;
        println!();
        Ok(())
    }
}

fn full_access(mailbox: &str, user: &str) -> SeedPermission {
    SeedPermission {
        mailbox: mailbox.to_owned(),
        user: user.to_owned(),
        access_rights: vec!["FullAccess".to_owned()],
        deny: false,
        is_inherited: false,
    }
}

fn tenant_change(
    tenant: &mut muster_sim::exchange::tenant::Tenant,
    identity: &str,
    change: &MailboxChange,
) -> Result<()> {
    tenant
        .change_mailbox(identity, change)
        .map_err(|e| anyhow::anyhow!("cannot change the simulated tenant: {e}"))
}

/// A run that wrote what it planned: changes, nothing failed.
fn finished(report: &RunReport, step: &str) -> Result<()> {
    check(report.summary.status(), RunStatus::Changes, step)?;
    let failed: usize = report
        .summary
        .targets
        .iter()
        .map(|t| t.totals().failed)
        .sum();
    if failed > 0 {
        bail!("demo step `{step}`: {failed} action(s) failed");
    }
    Ok(())
}
