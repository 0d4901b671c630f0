//! `[targets.<name>]` with `kind = "zermelo"`: what the administrator writes, checked by
//! [`ZermeloConfig::validate`] without any I/O. [`super::ZermeloConnector::connect`] then reads
//! the token and builds the client.
//!
//! `school_year_from`, `class_field` and `school_field` are read by the engine, which builds
//! the class permission from them; the connector only carries them.
//!
//! `school_match` appears in zermelo.md §6's own config block, so it is accepted, but with
//! the one mode implemented, `exact`, also the default; `contains` is refused by
//! [`ZermeloConfig::validate`] with the reason, rather than as an unknown key or silently
//! ignored. `previous_class` offers both of §6's modes, `keep` (the default) and `delete`.

use crate::http::settings::{HttpDefaults, HttpSettings};
use crate::secret_ref::SecretRef;
use serde::Deserialize;
use std::path::PathBuf;

pub use crate::http::settings::{Backoff, RateLimit};

/// One Zermelo portal (one school board), reached at `{base_url}/api/v3/`.
///
/// ```toml
/// [targets.zermelo.connection]
/// base_url = "https://lyceum.zportal.nl"
/// token = { env = "ZERMELO_TOKEN" }
/// school_year_from = "contract_start"
/// school_match = "exact"
/// participation_weight = 1.0
/// previous_class = "keep"
/// read_placements = false
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZermeloConfig {
    /// The portal URL, without the API path: Muster calls `{base_url}/api/v3/…`, e.g.
    /// `https://lyceum.zportal.nl`. `https`; `http` only to a loopback address (a local
    /// simulator) or with `allow_insecure_http`. No credentials, query or fragment. Required.
    pub base_url: String,
    /// Plain `http://` to a host other than a loopback address (127.0.0.0/8, `::1`,
    /// `localhost`) is refused, since the credential would travel in clear text with every
    /// request; `true` sends it anyway (a test network behind its own encryption). Default:
    /// `false`.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// The API token, sent as `Authorization: Bearer <token>`. Never inline:
    /// `{ env = "ZERMELO_TOKEN" }` or `{ file = "/run/secrets/zermelo" }`. Required.
    pub token: SecretRef,
    /// Which date decides the school year of the class a student is placed in (a year runs
    /// from 1 August): `contract_start`, the primary contract's start date (what the public
    /// connector documents), or `run_date`, the run's reference date (what its script does).
    /// Read by the engine. Default: `contract_start`.
    #[serde(default)]
    pub school_year_from: SchoolYearFrom,
    /// The person field that holds the class code (a DepartmentOfBranch `code`, e.g. `h3a`).
    /// Read by the engine. Default: `PrimaryContract.Department`.
    #[serde(default = "default_class_field")]
    pub class_field: String,
    /// The person field that holds the school name, the first part of
    /// `schoolInSchoolYearName` (`Lyceum` in `Lyceum 2024-2025`). Read by the engine.
    /// Default: `PrimaryContract.Organization`.
    #[serde(default = "default_school_field")]
    pub school_field: String,
    /// How `schoolInSchoolYearName` is matched against `"{school} {YYYY-YYYY}"`. Only
    /// `"exact"` (ignoring case, trimmed) is offered: `"contains"` (zermelo.md §6) is not
    /// offered yet, because a substring match picks `Stedelijk Lyceum` for `Lyceum`. Any other
    /// value fails [`Self::validate`]. Default: `"exact"`.
    #[serde(default = "default_school_match")]
    pub school_match: String,
    /// `participationWeight` of every class placement Muster makes: the share of the
    /// student's grade tied to that class. A number ≥ 0, never sent as `null` (the public
    /// connector's mapping sends `null`). Default: `1.0`.
    #[serde(default = "default_participation_weight")]
    pub participation_weight: f64,
    /// What happens to the previous placement when a student changes class (or school)
    /// within a school year: `"keep"`, it stays, and every such Grant says so in the plan
    /// (no public client ends a placement, so whether a tenant allows it is unknown), or
    /// `"delete"`, once the tenant is known to accept `DELETE studentsindepartments/{id}`:
    /// removed after the new placement succeeds. Last year's placement is never touched.
    /// Default: `"keep"`.
    #[serde(default)]
    pub previous_class: PreviousClass,
    /// Read each student's current placements with `GET studentsindepartments?student=…`
    /// (one request per student). Only for a tenant known to answer it: no public client
    /// reads placements. Off: each student record's `studentInDepartments` (of the persons a
    /// plan looks at) is read instead, and the engine adds the placements Muster made, from
    /// its store.
    /// Default: `false`.
    #[serde(default)]
    pub read_placements: bool,
    /// Requests Muster sends at most, on average: `{ requests = 10, per_seconds = 1 }`.
    /// Zermelo documents no limit; this keeps a run polite. Default: 10 per second.
    #[serde(
        default = "ZermeloHttp::rate_limit",
        deserialize_with = "ZermeloHttp::rate_limit_from"
    )]
    pub rate_limit: RateLimit,
    /// Requests in flight at once. Default: `4`.
    #[serde(default = "ZermeloHttp::concurrency")]
    pub concurrency: usize,
    /// Seconds before one request is given up (connect, send and answer). Default: `30`.
    #[serde(default = "ZermeloHttp::timeout_s")]
    pub timeout_s: u64,
    /// Attempts per request, the first included, for 5xx answers, timeouts and dropped
    /// connections on requests that are safe to repeat. A POST whose outcome is unknown is
    /// never repeated blindly. A 429 does not use these up; it is waited out. Default: `5`.
    #[serde(default = "ZermeloHttp::max_attempts")]
    pub max_attempts: u32,
    /// Backoff between retries without a `Retry-After`: `{ base_ms = 1000, max_ms = 60000 }`
    /// (full jitter). Default: those values.
    #[serde(default)]
    pub backoff: Backoff,
    /// A PEM file of extra trusted CA certificates, for a proxy behind a private CA.
    /// Default: none (the public web roots).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// Which date decides the school year (zermelo.md §6, "School year").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchoolYearFrom {
    /// The primary contract's start date; a contract without one blocks the class.
    #[default]
    ContractStart,
    /// The run's reference date.
    RunDate,
}

/// What a class change within a school year does with the previous placement (zermelo.md §6,
/// "Class change").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreviousClass {
    /// It stays; the plan names it on every Grant that leaves it behind.
    #[default]
    Keep,
    /// A Revoke deletes it (`DELETE studentsindepartments/{id}`) once the new one is placed.
    Delete,
}

/// Zermelo's defaults for the shared HTTP keys: 10 requests per second.
pub struct ZermeloHttp;

impl HttpDefaults for ZermeloHttp {
    const REQUESTS: u32 = 10;
    const PER_SECONDS: u64 = 1;
}

/// The API path Muster appends to `base_url`.
pub const API_PATH: &str = "/api/v3";

/// The one `school_match` mode implemented.
pub const SCHOOL_MATCH_EXACT: &str = "exact";

fn default_class_field() -> String {
    "PrimaryContract.Department".to_owned()
}
fn default_school_field() -> String {
    "PrimaryContract.Organization".to_owned()
}
fn default_school_match() -> String {
    SCHOOL_MATCH_EXACT.to_owned()
}
fn default_participation_weight() -> f64 {
    1.0
}

impl ZermeloConfig {
    /// A configuration with every default, this portal and this token.
    pub fn new(base_url: impl Into<String>, token: SecretRef) -> Self {
        Self {
            base_url: base_url.into(),
            allow_insecure_http: false,
            token,
            school_year_from: SchoolYearFrom::default(),
            class_field: default_class_field(),
            school_field: default_school_field(),
            school_match: default_school_match(),
            participation_weight: default_participation_weight(),
            previous_class: PreviousClass::default(),
            read_placements: false,
            rate_limit: ZermeloHttp::rate_limit(),
            concurrency: ZermeloHttp::concurrency(),
            timeout_s: ZermeloHttp::timeout_s(),
            max_attempts: ZermeloHttp::max_attempts(),
            backoff: Backoff::default(),
            ca_file: None,
        }
    }

    /// Every problem with this configuration, each naming its key; empty when it is usable.
    /// Pure: reads no secret or file, opens no connection.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        check_base_url(&self.base_url, self.allow_insecure_http, &mut problems);
        for (key, value) in [
            ("class_field", &self.class_field),
            ("school_field", &self.school_field),
        ] {
            if value.trim().is_empty() {
                problems.push(format!("{key}: must name a person field"));
            }
        }
        check_school_match(&self.school_match, &mut problems);
        let w = self.participation_weight;
        if !w.is_finite() || w < 0.0 {
            problems.push(format!(
                "participation_weight: {w} must be a number of at least 0"
            ));
        }
        self.http().validate(&mut problems);
        problems
    }

    /// `{base_url}/api/v3`, without a trailing `/`.
    pub fn api_url(&self) -> String {
        format!("{}{API_PATH}", self.base_url.trim_end_matches('/'))
    }

    /// The shared HTTP keys.
    pub fn http(&self) -> HttpSettings<'_> {
        HttpSettings {
            rate_limit: self.rate_limit,
            concurrency: self.concurrency,
            timeout_s: self.timeout_s,
            max_attempts: self.max_attempts,
            backoff: self.backoff,
            ca_file: self.ca_file.as_deref(),
        }
    }
}

/// `school_match`: only `exact`. The reason is given with the refusal, so an administrator
/// copying the spec's `"contains"` learns why it is not there yet.
fn check_school_match(value: &str, problems: &mut Vec<String>) {
    const WHY: &str = "exact matching avoids picking `Stedelijk Lyceum` for `Lyceum`";
    match value {
        SCHOOL_MATCH_EXACT => {}
        "contains" => problems.push(format!(
            "school_match: `contains` is not offered yet: {WHY}; use \"{SCHOOL_MATCH_EXACT}\" \
             (the default)"
        )),
        other => problems.push(format!(
            "school_match: `{other}` is not a mode; the only one offered is \
             \"{SCHOOL_MATCH_EXACT}\" (`contains` is not offered yet: {WHY})"
        )),
    }
}

/// The portal URL rules: a URL, `https` (plain `http` only to this machine, where a token
/// cannot be overheard), no credentials, query, fragment or API path.
fn check_base_url(base_url: &str, allow_insecure_http: bool, problems: &mut Vec<String>) {
    let Some((url, shown)) = crate::base_url::check(
        base_url,
        "use `token` with a secret reference",
        allow_insecure_http,
        problems,
    ) else {
        return;
    };
    if url.path().trim_end_matches('/').ends_with(API_PATH) {
        problems.push(format!(
            "base_url: `{shown}` already holds the API path; give the portal URL (Muster \
             appends {API_PATH})"
        ));
    }
}
