//! `[targets.<name>]` with `kind = "helloid"`: what the administrator writes, checked by
//! [`HelloIdConfig::validate`] without any I/O. [`super::HelloIdConnector::connect`] then reads
//! the key and secret and builds the client.

use crate::http::settings::{HttpDefaults, HttpSettings};
use crate::secret_ref::SecretRef;
use muster_core::connector::Rehire;
use serde::Deserialize;
use std::path::PathBuf;

pub use crate::http::settings::{Backoff, RateLimit};

/// One HelloID tenant, reached through its REST API v1 at `base_url`.
///
/// ```toml
/// [targets.helloid]
/// kind = "helloid"
/// base_url = "https://acme.helloid.com/api/v1"
/// api_key = { env = "HELLOID_KEY" }
/// api_secret = { env = "HELLOID_SECRET" }
/// department_groups = { prefix = "department_", create_missing = false }
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelloIdConfig {
    /// The API URL *with* its version, as HelloID shows it: `https://{tenant}.helloid.com/api/v1`.
    /// Muster appends `/users`, `/groups`, … to it. `https`, or `http` only to a loopback address (a
    /// simulator) or with `allow_insecure_http`; no credentials, query or fragment. Required.
    pub base_url: String,
    /// Plain `http://` to a host other than a loopback address (127.0.0.0/8, `::1`,
    /// `localhost`) is refused, since the credential would travel in clear text with every
    /// request; `true` sends it anyway (a test network behind its own encryption). Default:
    /// `false`.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// The API key (HTTP Basic user name), created in HelloID under *Settings → API*. Never
    /// inline: `{ env = "HELLOID_KEY" }` or `{ file = "/run/secrets/helloid-key" }`. Required.
    pub api_key: SecretRef,
    /// The API secret (HTTP Basic password); a secret reference like `api_key`. Required.
    pub api_secret: SecretRef,
    /// Whether a changed `userName` is written (through `IdentifierObject`, the only way
    /// HelloID renames). Off: the name a user was created with stays, and a difference is a
    /// plan warning. Default: `false`, like the public connector's `updateUserName`.
    #[serde(default)]
    pub rename_user_name: bool,
    /// What a planned delete does: `delete` (`DELETE /users/{guid}`, a soft delete: HelloID
    /// keeps the user in its deleted list) or `disable` (a PUT with `isEnabled = false`).
    /// Default: `delete`.
    #[serde(default)]
    pub delete: DeleteMode,
    /// What a plan does for a person whose account HelloID deleted (softly) when that person
    /// needs an account again: `create-new` (a new account; the plan names the deleted one) or
    /// `hold` (wait until an administrator restores the old account). Default: `create-new`.
    #[serde(default)]
    pub rehire: RehireMode,
    /// Whether `managedByUserGUID` is compared and written, from the HelloID account of the
    /// primary contract's manager. Read by the engine; the connector only carries it.
    /// Default: `true`.
    #[serde(default = "yes")]
    pub set_manager: bool,
    /// The department groups of the dynamic permission: `{ prefix = "department_",
    /// create_missing = false }`. The engine scopes memberships by `prefix`; with
    /// `create_missing` a missing group is created (`POST /groups`) before any grant.
    /// Default: none (no department groups).
    #[serde(default)]
    pub department_groups: Option<DepartmentGroups>,
    /// Self-service products: `{ request_ttl_days = 7, execute_return_actions = true }`.
    /// Default: those values.
    #[serde(default)]
    pub products: Products,
    /// Requests Muster sends at most, on average: `{ requests = 10, per_seconds = 1 }`.
    /// HelloID documents no limit; this keeps Muster polite. Default: 10 per second.
    #[serde(
        default = "HelloIdHttp::rate_limit",
        deserialize_with = "HelloIdHttp::rate_limit_from"
    )]
    pub rate_limit: RateLimit,
    /// Requests in flight at once. Default: `4`.
    #[serde(default = "HelloIdHttp::concurrency")]
    pub concurrency: usize,
    /// Seconds before one request is given up (connect, send and answer). Default: `60`, as
    /// the public connector waits.
    #[serde(default = "HelloIdHttp::timeout_s")]
    pub timeout_s: u64,
    /// Attempts per request, the first included, for 5xx answers, timeouts and dropped
    /// connections on requests that are safe to repeat. A POST whose outcome is unknown is
    /// never repeated blindly: it is checked first. A 429 does not use these up; it is waited
    /// out. Default: `5`.
    #[serde(default = "HelloIdHttp::max_attempts")]
    pub max_attempts: u32,
    /// Backoff between retries without `Retry-After`: `{ base_ms = 1000, max_ms = 60000 }`
    /// (full jitter). Default: those values.
    #[serde(default)]
    pub backoff: Backoff,
    /// A PEM file of extra trusted CA certificates, for a proxy behind a private CA.
    /// Default: none (the public web roots).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// What a planned delete does in HelloID.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeleteMode {
    /// `DELETE /users/{guid}`: HelloID soft-deletes (the user moves to its deleted list).
    #[default]
    Delete,
    /// A full PUT with `isEnabled = false`: reversible.
    Disable,
}

/// [`Rehire`] as the administrator writes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RehireMode {
    #[default]
    CreateNew,
    Hold,
}

impl From<RehireMode> for Rehire {
    fn from(mode: RehireMode) -> Self {
        match mode {
            RehireMode::CreateNew => Rehire::CreateNew,
            RehireMode::Hold => Rehire::Hold,
        }
    }
}

/// The department groups of the dynamic permission.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentGroups {
    /// Groups whose name starts with this are Muster's to manage; memberships of other groups
    /// are never revoked by the permission. Default: `department_`, the public convention.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Create a desired group that does not exist yet (`POST /groups`, enabled) instead of
    /// holding the person's permission. Default: `false`.
    #[serde(default)]
    pub create_missing: bool,
    /// The contract value each group is named after (prefix + the value, sanitised):
    /// `Contract.Department` (the department's name) or, as HelloID's public connector names
    /// them (`department_{ExternalId}`), `Contract.Department.ExternalId`; any `Contract.*`
    /// path. Default: `Contract.Department`.
    #[serde(default = "default_group_field")]
    pub field: String,
}

impl Default for DepartmentGroups {
    fn default() -> Self {
        Self {
            prefix: default_prefix(),
            create_missing: false,
            field: default_group_field(),
        }
    }
}

/// Self-service products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Products {
    /// Days a request that has not yet become an assignment (awaiting approval) is not sent
    /// again. Default: `7`.
    #[serde(default = "default_request_ttl_days")]
    pub request_ttl_days: u32,
    /// `executeActions` of an unassign: whether HelloID runs the product's return actions.
    /// Default: `true`.
    #[serde(default = "yes")]
    pub execute_return_actions: bool,
}

impl Default for Products {
    fn default() -> Self {
        Self {
            request_ttl_days: default_request_ttl_days(),
            execute_return_actions: true,
        }
    }
}

/// HelloID's defaults for the shared HTTP keys: 10 requests per second, and 60 seconds per
/// request, as the public connector waits.
pub struct HelloIdHttp;

impl HttpDefaults for HelloIdHttp {
    const REQUESTS: u32 = 10;
    const PER_SECONDS: u64 = 1;
    const TIMEOUT_S: u64 = 60;
}

fn yes() -> bool {
    true
}
fn default_prefix() -> String {
    "department_".to_owned()
}
fn default_group_field() -> String {
    "Contract.Department".to_owned()
}
fn default_request_ttl_days() -> u32 {
    7
}

impl HelloIdConfig {
    /// A configuration with every default, this API URL and these credentials.
    pub fn new(base_url: impl Into<String>, api_key: SecretRef, api_secret: SecretRef) -> Self {
        Self {
            base_url: base_url.into(),
            allow_insecure_http: false,
            api_key,
            api_secret,
            rename_user_name: false,
            delete: DeleteMode::default(),
            rehire: RehireMode::default(),
            set_manager: true,
            department_groups: None,
            products: Products::default(),
            rate_limit: HelloIdHttp::rate_limit(),
            concurrency: HelloIdHttp::concurrency(),
            timeout_s: HelloIdHttp::timeout_s(),
            max_attempts: HelloIdHttp::max_attempts(),
            backoff: Backoff::default(),
            ca_file: None,
        }
    }

    /// Whether missing department groups may be created.
    pub fn creates_groups(&self) -> bool {
        self.department_groups
            .as_ref()
            .is_some_and(|d| d.create_missing)
    }

    /// Every problem with this configuration, each naming its key; empty when it is usable.
    /// Pure: reads no secret or file, opens no connection.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        check_base_url(&self.base_url, self.allow_insecure_http, &mut problems);
        if let Some(d) = &self.department_groups {
            if d.prefix.trim().is_empty() {
                problems.push(
                    "department_groups.prefix: must not be empty (every group would be in scope)"
                        .to_owned(),
                );
            }
            let per_contract = d.field.split('.').next().map(str::trim) == Some("Contract");
            if !per_contract {
                problems.push(format!(
                    "department_groups.field: `{}` must be a path of each contract, \
                     `Contract.Department` or `Contract.Department.ExternalId`",
                    d.field
                ));
            }
        }
        if self.products.request_ttl_days == 0 {
            problems.push("products.request_ttl_days: must be greater than 0".to_owned());
        }
        self.http().validate(&mut problems);
        problems
    }

    /// `base_url` without a trailing `/`.
    pub fn api_url(&self) -> String {
        self.base_url.trim_end_matches('/').to_owned()
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

/// Checks `base_url`: a URL, https (http only on this machine, for a simulator), without
/// credentials, query or fragment, and with the API version in its path.
fn check_base_url(base_url: &str, allow_insecure_http: bool, problems: &mut Vec<String>) {
    let Some((url, shown)) = crate::base_url::check(
        base_url,
        "use `api_key` and `api_secret`",
        allow_insecure_http,
        problems,
    ) else {
        return;
    };
    if !url.path().trim_end_matches('/').ends_with("/api/v1") {
        problems.push(format!(
            "base_url: `{shown}` must end in the API path, e.g. \
             https://acme.helloid.com/api/v1 (Muster appends /users to it)"
        ));
    }
}
