//! The file as written: serde structs that only check shape. Every field is documented for
//! the administrator; `deny_unknown_fields` turns a typo into an error instead of a silently
//! ignored setting. Meaning (paths, templates, rules) is checked in `compile`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Where Muster keeps its state.
    #[serde(default)]
    pub store: RawStore,
    /// The source of persons: `kind = "csv"` or `"json"` and its settings.
    pub source: Spanned<toml::Value>,
    /// Limits on how much the source may change between runs; the whole run stops when one
    /// trips.
    #[serde(default)]
    pub source_thresholds: RawSourceThresholds,
    /// How the primary contract is chosen.
    #[serde(default)]
    pub primary_contract: Option<Spanned<RawPrimary>>,
    /// Connected applications by name.
    #[serde(default)]
    pub targets: BTreeMap<String, Spanned<RawTarget>>,
    /// Business rules, evaluated for every person and every target they apply to.
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
    /// How runs go: `perform_sync` (preview by default), `max_run_time`, `log_level`.
    #[serde(default)]
    pub run: Option<Spanned<RawRun>>,
    /// `muster serve`'s own settings (listen address, TLS, metrics): read and checked by
    /// `muster-server`, which reads the same effective text (`Config::effective_text`).
    #[serde(default, rename = "server")]
    pub _server: Option<serde::de::IgnoredAny>,
    /// `muster serve`'s schedules (`[[schedules]]`), read and checked by `muster-server`.
    #[serde(default, rename = "schedules")]
    pub _schedules: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    /// `false`: `muster apply` (and a server's apply) only previews — "ran in preview mode" —
    /// unless that run is given `--perform-sync` (Zivver Cloud Sync's `perform_sync`).
    /// Default: true (an apply writes).
    pub perform_sync: Option<bool>,
    /// The longest an apply may send for, e.g. `"2h"`, `"90m"`, `"45s"`: the run then stops
    /// cleanly between batches, the rest left pending in the journal for the next run.
    /// Unset: no cap.
    pub max_run_time: Option<String>,
    /// Log level when neither `-v`, `--log-level` nor `RUST_LOG` says: `error`, `warn` (the
    /// default), `info`, `debug` or `trace`.
    pub log_level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// `sqlite` (the default) or `postgres` (several nodes sharing one state).
    #[serde(default)]
    pub kind: Option<String>,
    /// SQLite file, relative to this config file's folder. Default: `muster.db`.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// PostgreSQL: `postgres://user@host:port/database`, or `{ env = "…" }` / `{ file = "…" }`
    /// holding the URL when it has a password.
    #[serde(default)]
    pub url: Option<RawStoreUrl>,
    /// PostgreSQL: `disable`, `require` or `verify-full`. Default: `disable` for a server on
    /// this machine, `verify-full` for any other.
    #[serde(default)]
    pub tls: Option<String>,
    /// PostgreSQL: the CA certificate (PEM) that signed the server's, relative to this file.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PostgreSQL: connections in the pool. Default: 8.
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// PostgreSQL: the schema holding Muster's tables, created when missing. Default: the
    /// server's `search_path` (normally `public`).
    #[serde(default)]
    pub schema: Option<String>,
    /// PostgreSQL: how long a node's lease (the apply, the schedules) lasts without renewal,
    /// in seconds: a dead node's work is taken over within this. Default: 10.
    #[serde(default)]
    pub lease_seconds: Option<u64>,
}

/// `url` as written: a plain string (no password) or a secret reference.
#[derive(Debug)]
pub enum RawStoreUrl {
    Plain(String),
    Secret(muster_connectors::SecretRef),
}

impl<'de> Deserialize<'de> for RawStoreUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UrlVisitor;
        impl<'de> serde::de::Visitor<'de> for UrlVisitor {
            type Value = RawStoreUrl;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a URL (postgres://user@host:port/database) or a secret reference \
                     ({ env = \"NAME\" } or { file = \"/path\" })",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawStoreUrl, E> {
                Ok(RawStoreUrl::Plain(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawStoreUrl, A::Error> {
                muster_connectors::SecretRef::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )
                .map(RawStoreUrl::Secret)
            }
        }
        deserializer.deserialize_any(UrlVisitor)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSourceThresholds {
    /// Persons new in the source since the last applied run.
    pub added: Option<RawThreshold>,
    /// Persons gone from the source since the last applied run (a truncated export).
    pub removed: Option<RawThreshold>,
    /// Source records that could not be read.
    pub blocked: Option<RawThreshold>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThreshold {
    /// Trips when the count reaches this number.
    pub absolute: Option<usize>,
    /// Trips when the count reaches this percentage of the population.
    pub percent: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrimary {
    /// Criteria in order: `active-first`, `latest-start`, `earliest-start`, `highest-fte`,
    /// `latest-end`. Default: active-first, highest-fte, latest-start.
    pub order: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    /// The connector: `scim`.
    pub kind: Spanned<String>,
    /// The connector's own settings (URL, credentials, rate limit); see the connector's docs.
    pub connection: Spanned<toml::Value>,
    /// How an unlinked account is found for a person.
    pub correlation: Spanned<RawCorrelation>,
    #[serde(default)]
    pub lifecycle: RawLifecycle,
    /// Per action type (`create`, `update`, `enable`, `disable`, `delete`, `grant`, `revoke`);
    /// disables count together with deletes.
    #[serde(default)]
    pub thresholds: BTreeMap<String, Spanned<RawThreshold>>,
    /// All-or-nothing: nothing runs when more than `percent` of the accounts would change.
    #[serde(default)]
    pub all_or_nothing: Option<RawAllOrNothing>,
    /// Field mappings: how each account field is computed.
    #[serde(default)]
    pub mapping: Vec<Spanned<RawMapping>>,
    /// A HelloID `fieldMapping.json`, relative to this file, whose fields are added to the
    /// `mapping` entries (`Complex` mappings run as JavaScript). A field may be mapped in only
    /// one of the two. The file is read when the configuration is loaded.
    #[serde(default)]
    pub mapping_file: Option<Spanned<PathBuf>>,
    /// What one run of a `mapping_file` script may use: `{ time_ms = 1000, memory_mb = 64 }`
    /// (the defaults). A script past either limit is stopped and holds its person.
    #[serde(default)]
    pub mapping_limits: Option<Spanned<RawMappingLimits>>,
    /// Fields whose values must be unique in the target, e.g. `["userName"]`: a value in use
    /// by another account or person is computed again with `Iteration` 1, 2, … Adds to
    /// `unique = true` on a mapping and to the mapping file's `UniqueFieldNames`.
    #[serde(default)]
    pub unique_fields: Vec<String>,
    /// How many iterations a unique field may try after the first value. Default: 20.
    #[serde(default)]
    pub unique_max_iterations: Option<u32>,
    /// Mapped fields never shown in plans, logs, audit or reports, e.g. a password from the
    /// mapping file. Adds to `secret = true` on a mapping.
    #[serde(default)]
    pub secret_fields: Vec<String>,
    /// Stop sending to this target in a run once this share of the actions sent failed on
    /// the target's side. Default: `{ error_ratio = 0.5, min_actions = 20 }`.
    #[serde(default)]
    pub quarantine: Option<Spanned<RawQuarantine>>,
    /// Only persons whose address is in one of these domains get an account here, e.g.
    /// `["example.org"]` (whole domains, ignoring case; list subdomains too). Outside, nothing
    /// is created and the plan says why. Unset: every address.
    #[serde(default)]
    pub included_domains: Option<Spanned<Vec<String>>>,
    /// The mapped account field whose address `included_domains` checks. Default by kind:
    /// `userName` (scim, zivver), `contactEmail` (helloid), `email` (zermelo).
    #[serde(default)]
    pub domain_field: Option<Spanned<String>>,
    /// An existing account outside `included_domains`: `"leave"` it alone (the default) or
    /// `"disable"` it.
    #[serde(default)]
    pub outside_domains: Option<Spanned<String>>,
    /// Accounts never touched and not counted by the fail-safe (Cloud Sync's target filter):
    /// `{ accounts = ["admin@supplier.example"], domains = ["supplier.example"] }`, matched
    /// ignoring case against the `domain_field` address (`accounts` also against account ids).
    #[serde(default)]
    pub leave_alone: Option<Spanned<RawLeaveAlone>>,
    /// What `muster reconcile` proposes for accounts no person owns:
    /// `{ orphans = "report" }` (the default), `"disable"` or `"delete"`.
    #[serde(default)]
    pub reconcile: Option<Spanned<RawReconcile>>,
    /// Create the account when the person signs in (just-in-time provisioning): `jit = true`,
    /// or `jit = { allowed_domains = ["example.org"], identities = "users" }`. The rules,
    /// mappings and `included_domains` apply as in a scheduled run. Default: off.
    #[serde(default)]
    pub jit: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLeaveAlone {
    /// Addresses (or the target's account ids) never touched.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Whole domains whose accounts are never touched.
    #[serde(default)]
    pub domains: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReconcile {
    /// `report`, `disable` or `delete`.
    pub orphans: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMappingLimits {
    /// Wall-clock milliseconds for one run of a script (1 to 60,000). Default: 1000.
    pub time_ms: Option<u64>,
    /// MiB one run of a script may add to its thread's JavaScript runtime (1 to 4096).
    /// Default: 64.
    pub memory_mb: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQuarantine {
    /// Share of the actions sent (0 < ratio <= 1) that trips quarantine. Default: 0.5.
    pub error_ratio: Option<f64>,
    /// Actions sent before the ratio is judged (at least 1). Default: 20.
    pub min_actions: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCorrelation {
    /// Person field, e.g. `Contact.Business.Email`.
    pub person: String,
    /// Account attribute holding the same value, e.g. `userName`.
    pub account: String,
    /// Compare ignoring case. Default: true.
    #[serde(default = "yes")]
    pub case_insensitive: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLifecycle {
    /// Create the account (disabled) this many days before the contract starts. Default 0.
    #[serde(default)]
    pub create_days_before_start: u32,
    /// Delete the account this many days after the last contract ended; unset = keep it
    /// disabled.
    #[serde(default)]
    pub delete_days_after_end: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllOrNothing {
    pub percent: f64,
    /// Let a large run through (the Cloud Sync `allow_large_sync`). Default false.
    #[serde(default)]
    pub allow_large: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMapping {
    /// The target's attribute, e.g. `name.givenName`.
    pub field: String,
    /// Copy this person field.
    pub path: Option<String>,
    /// Render this template, e.g. `{Name.GivenName}.{Name.FamilyName|ascii|lower}@corp.example`.
    pub template: Option<String>,
    /// A fixed value.
    pub value: Option<toml::Value>,
    /// A multi-valued attribute: one template per value; those that render form the list.
    pub list: Option<Vec<String>>,
    /// The account, in this target, of the person this path names (a manager:
    /// `account_of = "PrimaryContract.Manager"`); created first when both are new.
    pub account_of: Option<String>,
    /// Actions this field is written on: `"always"` (create + update; the default),
    /// `"create"` (only on create), or a list of create, update, enable, disable, delete.
    #[serde(default)]
    pub on: Option<RawOn>,
    /// Never shown in plans, logs, audit or reports.
    #[serde(default)]
    pub secret: bool,
    /// The value must be unique in the target (see `unique_fields`). Default: false.
    #[serde(default)]
    pub unique: bool,
    /// Compare this field ignoring case, so a value that differs only in case is not an
    /// Update (for tenants whose values were written in another case). Default: false.
    #[serde(default)]
    pub ignore_case: bool,
    /// A translation table for the value, e.g. `{ UserMailbox = "user", SharedMailbox =
    /// "functional" }`; a value not in it holds the person with the reason.
    #[serde(default)]
    pub values: Option<BTreeMap<String, toml::Value>>,
    /// Keep only addresses in the target's `included_domains` (a list keeps those items):
    /// Cloud Sync's aliases, where Zivver refuses any other domain.
    #[serde(default)]
    pub in_included_domains: bool,
    /// This field says what type an account is (Zivver's `kind`: user or functional): an
    /// existing account whose value differs is skipped with a warning, never converted.
    #[serde(default)]
    pub account_type: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawOn {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: String,
    /// Targets this rule applies to. Default: all.
    #[serde(default)]
    pub targets: Option<Vec<String>>,
    /// Condition; default: always.
    #[serde(default)]
    pub when: Option<RawCondition>,
    /// Grants an account.
    #[serde(default)]
    pub account: bool,
    /// Grants account access (enabled).
    #[serde(default)]
    pub access: bool,
    /// Static permissions by group name.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Dynamic permissions, one per contract in scope.
    #[serde(default)]
    pub dynamic_permissions: Vec<RawDynamic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDynamic {
    /// Group name template over `Contract.*`, e.g. `Dept {Contract.Department}`.
    pub template: String,
    /// `in-scope` (every active contract; default) or `primary`.
    #[serde(default)]
    pub contracts: Option<String>,
}

/// Exactly one of `all`, `any`, `not`, or `field` with one operator.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCondition {
    pub all: Option<Vec<RawCondition>>,
    pub any: Option<Vec<RawCondition>>,
    pub not: Option<Box<RawCondition>>,
    /// A person field (`PrimaryContract.Department`) or `AnyContract.<field>`.
    pub field: Option<String>,
    pub equals: Option<String>,
    pub not_equals: Option<String>,
    #[serde(rename = "in")]
    pub in_: Option<Vec<String>>,
    pub contains: Option<String>,
    pub starts_with: Option<String>,
    pub exists: Option<bool>,
    /// The field is a date before today plus this many days.
    pub before_days: Option<i64>,
    /// The field is a date after today plus this many days.
    pub after_days: Option<i64>,
}

/// `jit = { … }`: accounts created when a person signs in (see `jit = true`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJit {
    /// Default: true (the table is there to turn it on).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Only addresses in these domains get an account at sign-in, e.g. `["example.org"]`.
    #[serde(default)]
    pub allowed_domains: Option<Vec<String>>,
    /// `"users"` (the default: never a shared mailbox) or `"all"`.
    #[serde(default)]
    pub identities: Option<String>,
    /// Only `true`: a sign-in only creates (with what the create carries); every other change
    /// stays with the scheduled run.
    #[serde(default)]
    pub create_only: Option<bool>,
}
