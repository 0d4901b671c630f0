//! `[targets.<name>]` with `kind = "zivver"`: what the administrator writes, checked by
//! [`ZivverConfig::validate`] without any I/O. [`super::ZivverConnector::connect`] then reads
//! the token and builds the client.

use crate::http::settings::{HttpDefaults, HttpSettings};
use crate::secret_ref::SecretRef;
use serde::Deserialize;
use std::path::PathBuf;

pub use crate::http::settings::{Backoff, RateLimit};

/// One Zivver organisation, reached through its SCIM API at `{base_url}/api/scim/v2/`.
///
/// ```toml
/// [targets.zivver.connection]
/// token = { env = "ZIVVER_TOKEN" }
/// delete = "disable"
/// membership = "replace"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZivverConfig {
    /// The Zivver tenant URL, without the API path: Muster calls `{base_url}/api/scim/v2/…`.
    /// `https` (plain `http` only to a loopback address, a local simulator, or with
    /// `allow_insecure_http`), no credentials, query or fragment.
    /// Default: `https://app.zivver.com`.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Plain `http://` to a host other than a loopback address (127.0.0.0/8, `::1`,
    /// `localhost`) is refused, since the credential would travel in clear text with every
    /// request; `true` sends it anyway (a test network behind its own encryption). Default:
    /// `false`.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// The API key, created in Zivver under *Organization settings → API keys*. Never inline:
    /// `{ env = "ZIVVER_TOKEN" }` or `{ file = "/run/secrets/zivver" }`. Required.
    pub token: SecretRef,
    /// What a planned delete does: `disable` (a full PUT with `active = false`; the account
    /// stays until the tenant's own clean-up removes it) or `hard` (`DELETE Users/{id}`,
    /// irreversible). Default: `disable`.
    #[serde(default)]
    pub delete: DeleteMode,
    /// Text appended to `name.formatted` when a delete disables an account, e.g.
    /// `" (Deleted by Muster)"`; only with `delete = "disable"`. Default: none (no rename).
    #[serde(default)]
    pub delete_rename_suffix: Option<String>,
    /// How memberships of functional accounts are written: `replace` (a fresh read of the
    /// member list, then one PatchOp `replace` per batch of changes, one write at a time per
    /// functional account) or `add-remove` (one PatchOp `add` or filtered `remove` per change;
    /// only for a tenant known to accept them). Default: `replace`.
    #[serde(default)]
    pub membership: MembershipWrite,
    /// What Zivver's functional accounts (its SCIM groups) are to Muster: `groups`
    /// (permissions: rules grant persons membership, written as member lists) or `accounts`
    /// (Cloud Sync mode: each is an account with `kind = "functional"`, its address as
    /// `userName`, its display name as `name.formatted`, its aliases and, as `delegates`, the
    /// e-mail addresses of its members; created with `POST Groups`, changed with a partial
    /// `PUT`, suspended by emptying its members). Default: `groups`.
    #[serde(default)]
    pub functional_accounts: FunctionalAccounts,
    /// Requests Muster sends at most, on average, on this API key:
    /// `{ requests = 50, per_seconds = 10 }`. Every worker of the target shares it, and so do
    /// targets that use the same `base_url` and key. Default: 50 requests per 10 seconds,
    /// Zivver's own limit.
    #[serde(
        default = "ZivverHttp::rate_limit",
        deserialize_with = "ZivverHttp::rate_limit_from"
    )]
    pub rate_limit: RateLimit,
    /// Requests in flight at once. Default: `4`.
    #[serde(default = "ZivverHttp::concurrency")]
    pub concurrency: usize,
    /// Seconds before one request is given up (connect, send and answer). Default: `30`.
    #[serde(default = "ZivverHttp::timeout_s")]
    pub timeout_s: u64,
    /// Attempts per request, the first included, for 5xx answers, timeouts and dropped
    /// connections on requests that are safe to repeat. A create (POST) whose outcome is
    /// unknown is never repeated blindly: it is looked up first. A 429 does not use these
    /// up; it is waited out. Default: `5`.
    #[serde(default = "ZivverHttp::max_attempts")]
    pub max_attempts: u32,
    /// Backoff between retries after a 5xx, a timeout or a dropped connection:
    /// `{ base_ms = 1000, max_ms = 60000 }` (full jitter). Default: those values.
    #[serde(default)]
    pub backoff: Backoff,
    /// A PEM file of extra trusted CA certificates, for a proxy or tenant behind a private CA.
    /// Default: none (the public web roots).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// What a planned delete does in Zivver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeleteMode {
    /// A full PUT with `active = false` (and the rename suffix, when set): reversible.
    #[default]
    Disable,
    /// `DELETE Users/{id}`: irreversible.
    Hard,
}

/// How group (functional account) memberships are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MembershipWrite {
    /// Whole member list per PATCH, serialized and batched per functional account.
    #[default]
    Replace,
    /// One PATCH `add` / filtered `remove` per change.
    AddRemove,
}

/// What Zivver's functional accounts are to Muster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FunctionalAccounts {
    /// Groups as permissions: memberships granted and revoked by rules.
    #[default]
    Groups,
    /// Accounts with `kind = "functional"`, next to the users (`kind = "user"`).
    Accounts,
}

/// Zivver's defaults for the shared HTTP keys: 50 requests per 10 seconds, Zivver's own limit.
pub struct ZivverHttp;

impl HttpDefaults for ZivverHttp {
    const REQUESTS: u32 = 50;
    const PER_SECONDS: u64 = 10;
}

/// Zivver's production tenant.
pub const DEFAULT_BASE_URL: &str = "https://app.zivver.com";

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

impl ZivverConfig {
    /// A configuration with every default and this token.
    pub fn new(token: SecretRef) -> Self {
        Self {
            base_url: default_base_url(),
            allow_insecure_http: false,
            token,
            delete: DeleteMode::default(),
            delete_rename_suffix: None,
            membership: MembershipWrite::default(),
            functional_accounts: FunctionalAccounts::default(),
            rate_limit: ZivverHttp::rate_limit(),
            concurrency: ZivverHttp::concurrency(),
            timeout_s: ZivverHttp::timeout_s(),
            max_attempts: ZivverHttp::max_attempts(),
            backoff: Backoff::default(),
            ca_file: None,
        }
    }

    /// Every problem with this configuration, each naming its key; empty when it is usable.
    /// Pure: reads no secret or file, opens no connection.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some((url, shown)) = crate::base_url::check(
            &self.base_url,
            "use `token` with a secret reference",
            self.allow_insecure_http,
            &mut problems,
        ) {
            if url.path().trim_end_matches('/').ends_with("/api/scim/v2") {
                problems.push(format!(
                    "base_url: `{shown}` already holds the API path; give the tenant URL \
                     (Muster appends /api/scim/v2)"
                ));
            }
        }
        match (&self.delete_rename_suffix, self.delete) {
            (Some(s), _) if s.trim().is_empty() => problems.push(
                "delete_rename_suffix: must not be empty; leave it out for no rename".to_owned(),
            ),
            (Some(_), DeleteMode::Hard) => problems.push(
                "delete_rename_suffix: only used with delete = \"disable\"; a hard delete \
                 removes the account"
                    .to_owned(),
            ),
            _ => {}
        }
        self.http().validate(&mut problems);
        problems
    }

    /// `{base_url}/api/scim/v2`, without a trailing `/`.
    pub fn api_url(&self) -> String {
        format!("{}/api/scim/v2", self.base_url.trim_end_matches('/'))
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
