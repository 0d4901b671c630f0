//! Command-line arguments.

use clap::{Parser, Subcommand};
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
    },
    /// Compute the plan and execute it.
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
        #[arg(long)]
        allow_large: bool,
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
    Demo {
        /// Folder for the demo's database and files (emptied first).
        #[arg(long, default_value = "demo")]
        dir: PathBuf,
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

#[derive(Debug, Subcommand)]
pub enum SimKind {
    /// A SCIM 2.0 service.
    Scim {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Bearer token the simulator accepts.
        #[arg(long, env = "SCIM_TOKEN", default_value = "sim-token")]
        token: String,
        /// Groups to create at start, comma separated.
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
    },
    /// Zivver's SCIM API (50 requests per 10 s, write-only SSO key, whole-list functional accounts).
    Zivver {
        #[arg(long, default_value_t = 8081)]
        port: u16,
        /// API key the simulator accepts.
        #[arg(long, env = "ZIVVER_TOKEN", default_value = "zivver-token")]
        token: String,
        /// Functional accounts to create at start, comma separated.
        #[arg(long, value_delimiter = ',')]
        functional_accounts: Vec<String>,
        /// Divisions that exist, comma separated.
        #[arg(long, value_delimiter = ',')]
        divisions: Vec<String>,
        /// Organisation domains (addresses outside them are refused), comma separated.
        #[arg(long, value_delimiter = ',', default_value = "example.org")]
        domains: Vec<String>,
    },
    /// HelloID's REST API v1 (Basic auth, skip/take paging, soft deletes, self-service products).
    #[command(name = "helloid")]
    HelloId {
        #[arg(long, default_value_t = 8082)]
        port: u16,
        /// API key the simulator accepts (HTTP Basic user name).
        #[arg(long, env = "HELLOID_KEY", default_value = "helloid-key")]
        key: String,
        /// API secret the simulator accepts (HTTP Basic password).
        #[arg(
            long,
            env = "HELLOID_SECRET",
            default_value = "helloid-secret",
            hide_env_values = true
        )]
        secret: String,
        /// Groups to create at start, comma separated.
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
        /// Products to create at start, comma separated.
        #[arg(long, value_delimiter = ',')]
        products: Vec<String>,
    },
    /// Zermelo's REST API v3 (envelope answers, partial PUT, classes of two school years).
    Zermelo {
        #[arg(long, default_value_t = 8083)]
        port: u16,
        /// API token the simulator accepts.
        #[arg(long, env = "ZERMELO_TOKEN", default_value = "zermelo-token")]
        token: String,
    },
}
