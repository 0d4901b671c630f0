//! Command-line arguments.

use clap::error::ErrorKind;
use clap::{Arg, ArgAction, ArgMatches, Parser, Subcommand};
use muster_engine::kinds::{self, sim::SimOption, sim::SimValues, sim::Simulator};
use std::path::PathBuf;

/// Muster — identity provisioning: reads persons from HR, plans accounts and permissions per
/// application, applies the plan safely, and audits every change.
#[derive(Debug, Parser)]
#[command(name = "muster", version, about)]
pub struct Args {
    /// Configuration file.
    #[arg(
        long,
        short,
        global = true,
        env = "MUSTER_CONFIG",
        default_value = "muster.toml"
    )]
    pub config: PathBuf,
    /// Machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// More logging on stderr (-v info, -vv debug, -vvv trace). `RUST_LOG` overrides.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log level: error, warn, info, debug or trace (over `-v` and the configuration's
    /// `[run] log_level`; `RUST_LOG` overrides all).
    #[arg(long, global = true, value_parser = ["error", "warn", "info", "debug", "trace"])]
    pub log_level: Option<String>,
    /// Log lines as `text` (for people) or `json` (one object per line, for log collectors).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Append log lines to this file (created readable by its owner only) instead of stderr,
    /// for unattended runs. Never coloured.
    #[arg(long, global = true)]
    pub log_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event; coloured only on a terminal without `NO_COLOR`.
    Text,
    /// One JSON object per line, never coloured.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the configuration and the source without touching any target.
    Validate,
    /// Preview: compute the plan and show it; changes nothing in any target.
    Plan {
        /// Write the plan as JSON to this file (secrets redacted), for `apply --plan`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Show every action; without it a plan of more than 200 actions shows its first 50
        /// and the summary per target and action.
        #[arg(long)]
        full: bool,
        /// Plan as of this date (YYYY-MM-DD) instead of today.
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
        /// Plan as if every target's stored links were forgotten (see `apply`).
        #[arg(long)]
        reset_account_mapping: bool,
    },
    /// Compute the plan and execute it. Under `[run] perform_sync = false` (Zivver Cloud Sync
    /// mode) it only previews unless given `--perform-sync`.
    Apply {
        /// Execute exactly this saved plan; refused when the source or a target changed since.
        #[arg(long)]
        plan: Option<PathBuf>,
        /// Do not ask for confirmation (required when not on a terminal).
        #[arg(long)]
        yes: bool,
        /// Go past every threshold and all-or-nothing limit in this run only (Cloud Sync's
        /// `allow_large_sync`), e.g. for a first load into an empty target. The audit trail
        /// records each action this let through.
        #[arg(long, alias = "allow-large-sync")]
        allow_large: bool,
        /// Write, even though the configuration says `perform_sync = false` (preview by default).
        #[arg(long)]
        perform_sync: bool,
        /// Forget every target's stored links once (e.g. after a tenant-to-tenant migration):
        /// the plan correlates every account again by its correlation field.
        #[arg(long)]
        reset_account_mapping: bool,
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
    },
    /// Read every account and group of a target and report how they correlate with persons.
    Import {
        /// The target to read.
        #[arg(long)]
        target: String,
        /// Store the unambiguous correlations as links.
        #[arg(long)]
        link: bool,
    },
    /// Act on orphan accounts (accounts no person owns): show each with the action proposed
    /// by the target's `reconcile.orphans` policy or a stored decision; record a decision about
    /// one account; with `--apply`, execute the plan (gated, journaled, audited).
    #[command(group(clap::ArgGroup::new("decision").requires("account")))]
    Reconcile {
        /// The target to reconcile.
        #[arg(long)]
        target: String,
        /// The account (the target's id for it) that a decision is about.
        #[arg(long, requires = "decision")]
        account: Option<String>,
        /// Leave the account alone until this day (YYYY-MM-DD); proposed again from then on.
        #[arg(long, group = "decision")]
        exclude_until: Option<chrono::NaiveDate>,
        /// Mark the account resolved: never proposed again.
        #[arg(long, group = "decision")]
        resolve: bool,
        /// Disable the account, whatever the policy says.
        #[arg(long, group = "decision")]
        disable: bool,
        /// Delete the account, whatever the policy says.
        #[arg(long, group = "decision")]
        delete: bool,
        /// Forget the account's decision: the policy applies again.
        #[arg(long, group = "decision")]
        forget: bool,
        /// Execute the plan.
        #[arg(long)]
        apply: bool,
        /// Do not ask for confirmation (required with --apply when not on a terminal).
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
    },
    /// List recent runs.
    Runs {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Show audit events.
    Audit {
        #[arg(long)]
        person: Option<String>,
        #[arg(long)]
        target: Option<String>,
        /// Events at or after this date (YYYY-MM-DD) or time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        run: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Approve the actions a threshold or all-or-nothing limit blocked in a run, then apply.
    Approve {
        /// Run id (or a unique prefix of at least 6 characters).
        run: String,
        /// Approve only this action type (create, update, enable, disable, delete, grant, revoke).
        #[arg(long)]
        action: Option<String>,
        /// Only record the approval; the next `muster apply` uses it.
        #[arg(long)]
        no_apply: bool,
        /// Write, even though the configuration says `perform_sync = false`.
        #[arg(long)]
        perform_sync: bool,
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
    },
    /// Try field mappings on persons without touching any target.
    Mapping {
        #[command(subcommand)]
        command: MappingCommand,
    },
    /// Run a local simulator of a target API on 127.0.0.1.
    Sim {
        #[command(subcommand)]
        kind: SimKind,
    },
    /// The demo: simulators, an example organisation, preview, apply, a day of HR changes.
    /// `muster demo cloud-sync`: Zivver Cloud Sync mode's demo.
    #[command(args_conflicts_with_subcommands = true)]
    Demo {
        /// Folder for the demo's database and files (emptied first).
        #[arg(long, default_value = "demo")]
        dir: PathBuf,
        #[command(subcommand)]
        scenario: Option<DemoScenario>,
    },
    /// Run as a service: the schedules of `[[schedules]]`, the HTTP API (`/api/v1`),
    /// `/metrics` and health checks on `[server] listen`. Stops on SIGTERM or Ctrl-C after
    /// the running run ends (bounded by `server.shutdown_grace_seconds`).
    Serve,
    /// Manage the API tokens of `muster serve`.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The state store itself: migrate it, or copy a SQLite store into PostgreSQL.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum DemoScenario {
    /// Zivver Cloud Sync mode: an example Exchange Online tenant into Zivver (both simulated):
    /// preview, the first load, a day of tenant changes, the fail-safe on a mass change and
    /// its release.
    CloudSync {
        /// Folder for the demo's database and files (emptied first).
        #[arg(long, default_value = "demo-cloud-sync")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Apply the migrations the configured store has not seen yet, and print its schema
    /// version.
    Migrate,
    /// Copy every table of a SQLite store (runs, journal, audit, links, snapshots, approvals,
    /// tokens, reports, …) into a PostgreSQL store, in one transaction: to move from one node
    /// to several without losing history. The target must hold no history unless --force.
    Copy {
        /// The SQLite store: `sqlite:PATH`.
        #[arg(long)]
        from: String,
        /// The PostgreSQL store: `postgres:URL` (`postgres://user@host:port/db`, no password:
        /// leave --to out to copy into the store the configuration names, whose password may
        /// come from `{ env }` or `{ file }`).
        #[arg(long)]
        to: Option<String>,
        /// Replace whatever history the target holds (its copied tables are emptied first,
        /// in the same transaction).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token; it is printed once and only its SHA-256 is stored.
    Create {
        /// Who or what holds it, e.g. `ci` or `anna@example.org`.
        #[arg(long)]
        name: String,
        /// viewer (reads), approver (also approves blocked actions) or admin (also starts
        /// runs and manages tokens).
        #[arg(long)]
        role: String,
    },
    /// Revoke a token by its id (from `muster token list`); it is refused from then on.
    Revoke { id: String },
    /// List tokens (never the tokens themselves).
    List,
}

#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// Every mapped field's value per person for one action, or the error that would hold
    /// that person. Unique fields (`UniqueFieldNames`) are made unique among these persons.
    Eval {
        /// A HelloID fieldMapping.json.
        #[arg(long)]
        mapping: PathBuf,
        /// The persons: a JSON export (an array of persons in Muster's shape) or a persons CSV.
        #[arg(long)]
        persons: PathBuf,
        /// A contracts CSV to join to a persons CSV.
        #[arg(long)]
        contracts: Option<PathBuf>,
        /// The action whose fields are shown: create, update, enable, disable or delete.
        #[arg(long, default_value = "create")]
        action: String,
        /// Choose primary contracts as of this date (YYYY-MM-DD) instead of today.
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
    },
}

/// `muster sim <kind> [--port N] [options]`: one subcommand per simulator in the table of
/// kinds (`muster_engine::kinds::simulators`: every target kind's, and the source kinds' that
/// read a service), each with the options its simulator declares.
pub struct SimKind {
    /// The kind's name.
    pub name: &'static str,
    pub sim: &'static dyn Simulator,
    pub port: u16,
    pub values: SimValues,
}

impl std::fmt::Debug for SimKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Option values may hold a simulator's secret: only the kind and the port are shown.
        f.debug_struct("SimKind")
            .field("kind", &self.name)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl clap::FromArgMatches for SimKind {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let Some((name, matches)) = matches.subcommand() else {
            return Err(clap::Error::new(ErrorKind::MissingSubcommand));
        };
        let (name, sim) =
            kinds::simulator(name).ok_or_else(|| clap::Error::new(ErrorKind::InvalidSubcommand))?;
        let port = matches
            .get_one::<u16>("port")
            .copied()
            .unwrap_or_else(|| sim.default_port());
        let mut values = SimValues::default();
        for option in sim.options() {
            let given = matches
                .get_many::<String>(option.name)
                .map(|v| v.cloned().collect())
                .unwrap_or_default();
            values.set(option.name, given);
        }
        Ok(SimKind {
            name,
            sim,
            port,
            values,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Subcommand for SimKind {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        kinds::simulators()
            .fold(cmd, |cmd, (name, sim)| {
                cmd.subcommand(sim_command(name, sim))
            })
            .subcommand_required(true)
    }

    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        kinds::simulator(name).is_some()
    }
}

/// `muster sim <kind>`'s flags: `--port` and the simulator's own options.
fn sim_command(name: &'static str, sim: &'static dyn Simulator) -> clap::Command {
    let port = Arg::new("port")
        .long("port")
        .value_parser(clap::value_parser!(u16))
        .help(format!(
            "Port on 127.0.0.1 [default: {}]",
            sim.default_port()
        ));
    sim.options().iter().fold(
        clap::Command::new(name).about(sim.about()).arg(port),
        |cmd, option| cmd.arg(sim_arg(option)),
    )
}

fn sim_arg(option: &SimOption) -> Arg {
    let mut arg = Arg::new(option.name).long(option.name).help(option.help);
    if let Some(env) = option.env {
        arg = arg.env(env).hide_env_values(option.secret);
    }
    if let Some(default) = option.default {
        arg = arg.default_value(default);
    }
    if option.list {
        arg = arg.value_delimiter(',').action(ArgAction::Append);
    } else {
        arg = arg.action(ArgAction::Set);
    }
    arg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(args: &[&str]) -> SimKind {
        let args = Args::try_parse_from(["muster", "sim"].iter().chain(args)).unwrap();
        match args.command {
            Command::Sim { kind } => kind,
            other => panic!("not sim: {other:?}"),
        }
    }

    #[test]
    fn every_target_kind_has_a_sim_subcommand() {
        for kind in kinds::TARGETS {
            let s = sim(&[kind.name()]);
            assert_eq!(s.name, kind.name());
            assert_eq!(s.port, kind.simulator().default_port());
        }
        let exo = sim(&["exchange-online", "--users", "5"]);
        assert_eq!(exo.name, "exchange-online");
        assert_eq!(exo.values.one("users"), "5");
        assert_eq!(exo.values.one("client-secret"), "sim-secret");
    }

    #[test]
    fn sim_options_keep_their_spellings_and_defaults() {
        let s = sim(&["scim", "--port", "8090", "--groups", "a,b", "--groups", "c"]);
        assert_eq!(s.port, 8090);
        assert_eq!(s.values.list("groups"), ["a", "b", "c"]);
        assert_eq!(s.values.one("token"), "sim-token");
        let z = sim(&[
            "zivver",
            "--functional-accounts",
            "Administratie",
            "--divisions",
            "F,S",
        ]);
        assert_eq!(z.values.list("functional-accounts"), ["Administratie"]);
        assert_eq!(z.values.list("divisions"), ["F", "S"]);
        assert_eq!(z.values.list("domains"), ["example.org"]);
        let h = sim(&[
            "helloid",
            "--key",
            "k",
            "--secret",
            "hush-42",
            "--products",
            "Laptop",
        ]);
        assert_eq!(
            (h.values.one("key"), h.values.one("secret")),
            ("k", "hush-42")
        );
        assert_eq!(h.values.list("products"), ["Laptop"]);
        assert!(!format!("{h:?}").contains("hush-42"), "{h:?}");
    }

    #[test]
    fn an_unknown_sim_kind_or_option_is_refused() {
        assert!(Args::try_parse_from(["muster", "sim", "ldap"]).is_err());
        assert!(Args::try_parse_from(["muster", "sim", "zermelo", "--groups", "a"]).is_err());
        assert!(Args::try_parse_from(["muster", "sim"]).is_err());
    }
}
