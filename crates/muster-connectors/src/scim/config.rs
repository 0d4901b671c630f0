//! `[targets.<name>]` with `kind = "scim"`: what the administrator writes, checked by
//! [`ScimConfig::validate`] without any I/O. [`super::ScimConnector::connect`] then reads the
//! secrets and talks to the server.

use super::wire::ServiceProviderConfig;
pub use crate::http::settings::{Backoff, RateLimit};
use crate::http::settings::{HttpDefaults, HttpSettings};
use crate::secret_ref::SecretRef;
use serde::Deserialize;
use std::path::PathBuf;

/// One generic SCIM 2.0 target.
///
/// ```toml
/// [targets.lms]
/// kind = "scim"
/// base_url = "https://idm.example/scim/v2"
/// auth = { bearer = { env = "LMS_SCIM_TOKEN" } }
/// rate_limit = { requests = 100, per_seconds = 10 }
/// capabilities = { patch = false }
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimConfig {
    /// Base URL of the SCIM API, up to and including the version: resources are read at
    /// `{base_url}/Users` and `{base_url}/Groups`. Required; `https` (plain `http` only to a
    /// loopback address or with `allow_insecure_http`), no credentials in the URL.
    pub base_url: String,
    /// Plain `http://` to a host other than a loopback address (127.0.0.0/8, `::1`,
    /// `localhost`) is refused, since the credential would travel in clear text with every
    /// request; `true` sends it anyway (a test network behind its own encryption). Default:
    /// `false`.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// How Muster authenticates: `{ bearer = { env = "TOKEN" } }` or
    /// `{ basic = { username = "muster", password = { file = "/run/secrets/scim" } } }`.
    /// Required.
    pub auth: ScimAuth,
    /// Accounts (and groups) per page of the full read. Default: `100`. Capped by the server's
    /// `filter.maxResults`.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Overrides for what `/ServiceProviderConfig` announces, for servers that misreport.
    /// Default: trust the server.
    #[serde(default)]
    pub capabilities: CapabilityOverrides,
    /// What a planned delete does: `disable` (`active = false`, reversible) or `delete`
    /// (`DELETE /Users/{id}`). Default: `disable`.
    #[serde(default)]
    pub delete: DeleteMode,
    /// Requests Muster sends at most, on average: `{ requests = 100, per_seconds = 10 }`.
    /// Default: 50 requests per 1 second.
    #[serde(
        default = "ScimHttp::rate_limit",
        deserialize_with = "ScimHttp::rate_limit_from"
    )]
    pub rate_limit: RateLimit,
    /// Requests in flight at once. Default: `4`.
    #[serde(default = "ScimHttp::concurrency")]
    pub concurrency: usize,
    /// Seconds before one request is given up (connect, send and answer). Default: `30`.
    #[serde(default = "ScimHttp::timeout_s")]
    pub timeout_s: u64,
    /// Attempts per request, the first included, for 429/503 and for failures that are safe
    /// to repeat. A create (POST) whose outcome is unknown is never repeated blindly.
    /// Default: `5`.
    #[serde(default = "ScimHttp::max_attempts")]
    pub max_attempts: u32,
    /// A PEM file of extra trusted CA certificates, for a server behind a private CA.
    /// Default: none (the public web roots).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Backoff between retries when the server gives no `Retry-After`. Default:
    /// `{ base_ms = 1000, max_ms = 60000 }`.
    #[serde(default)]
    pub backoff: Backoff,
}

/// Credentials for the SCIM API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ScimAuth {
    /// `Authorization: Bearer <token>`.
    Bearer(SecretRef),
    /// HTTP Basic.
    Basic {
        username: String,
        password: SecretRef,
    },
}

/// Capability overrides: each unset key keeps what the server announces.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityOverrides {
    /// PATCH for user updates and memberships (otherwise GET + PUT). Default: as announced.
    #[serde(default)]
    pub patch: Option<bool>,
    /// Filtered look-ups (`userName eq "…"`). Default: as announced.
    #[serde(default)]
    pub filter: Option<bool>,
    /// `If-Match` on writes based on a read. Default: as announced.
    #[serde(default)]
    pub etag: Option<bool>,
    /// Most resources the server returns per page; caps `page_size`. Default: as announced
    /// (`filter.maxResults`).
    #[serde(default)]
    pub max_results: Option<usize>,
}

/// What a planned delete does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteMode {
    /// `active = false`: reversible, the account stays.
    #[default]
    Disable,
    /// `DELETE /Users/{id}`.
    Delete,
}

/// SCIM's defaults for the shared HTTP keys: 50 requests per second.
pub struct ScimHttp;

impl HttpDefaults for ScimHttp {
    const REQUESTS: u32 = 50;
    const PER_SECONDS: u64 = 1;
}

fn default_page_size() -> usize {
    100
}

impl ScimConfig {
    /// Every problem with this configuration, each naming its key; empty when it is usable.
    /// Pure: reads no secret or file, opens no connection.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        crate::base_url::check(
            &self.base_url,
            "use `auth` with a secret reference",
            self.allow_insecure_http,
            &mut problems,
        );
        if let ScimAuth::Basic { username, .. } = &self.auth {
            if username.is_empty() || username.contains(':') {
                problems
                    .push("auth.basic.username: must be non-empty and contain no `:`".to_owned());
            }
        }
        if self.page_size == 0 {
            problems.push("page_size: must be greater than 0".to_owned());
        }
        if self.capabilities.max_results == Some(0) {
            problems.push("capabilities.max_results: must be greater than 0".to_owned());
        }
        self.http().validate(&mut problems);
        problems
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

/// What the connector uses of the server, after discovery and config overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScimFeatures {
    /// PATCH for user updates and memberships. Can be switched off during a run (a PATCH
    /// answered 501), never on.
    pub patch: bool,
    pub filter: bool,
    pub etag: bool,
    /// The server's cap on resources per page, if it announces one.
    pub max_results: Option<usize>,
}

impl ScimFeatures {
    /// What `targets/scim.md` §1 assumes of a server without `/ServiceProviderConfig`.
    pub const WITHOUT_DISCOVERY: Self = Self {
        patch: false,
        filter: true,
        etag: false,
        max_results: None,
    };

    pub(crate) fn from_spc(spc: &ServiceProviderConfig) -> Self {
        let d = Self::WITHOUT_DISCOVERY;
        Self {
            patch: spc.patch.as_ref().map_or(d.patch, |p| p.supported),
            filter: spc.filter.as_ref().map_or(d.filter, |f| f.supported),
            etag: spc.etag.as_ref().map_or(d.etag, |e| e.supported),
            max_results: spc
                .filter
                .as_ref()
                .and_then(|f| f.max_results)
                .filter(|&m| m > 0)
                .map(|m| usize::try_from(m).unwrap_or(usize::MAX)),
        }
    }

    pub(crate) fn overridden(self, cfg: &ScimConfig) -> Self {
        let o = &cfg.capabilities;
        Self {
            patch: o.patch.unwrap_or(self.patch),
            filter: o.filter.unwrap_or(self.filter),
            etag: o.etag.unwrap_or(self.etag),
            max_results: o.max_results.or(self.max_results),
        }
    }
}
