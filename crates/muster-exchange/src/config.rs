//! `[source] kind = "exchange-online"`: the settings and their validation (every problem at
//! once, each naming its key). Secrets are references (`{ env }` / `{ file }`), resolved only
//! when the source is read.

use muster_connectors::SecretRef;
use muster_sources::ConfigProblem;
use reqwest::Url;
use serde::Deserialize;
use std::net::IpAddr;

/// The recipient types read; fixed (exchange-online.md §1: other types are ignored).
pub const RECIPIENT_TYPES: [&str; 2] = ["UserMailbox", "SharedMailbox"];

/// The settings of an `exchange-online` source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeOnlineConfig {
    /// The tenant: its id (GUID) or initial domain (`contoso.onmicrosoft.com`).
    pub tenant: String,
    /// The application (client) id; with `managed_identity`, a user-assigned identity's id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The client secret (`{ env = "…" }` or `{ file = "…" }`).
    #[serde(default)]
    pub client_secret: Option<SecretRef>,
    /// Or the app's certificate: one PEM text holding the certificate and its private key
    /// (PKCS#8, unencrypted), `{ file = "app.pem" }` or `{ env = "…" }`; the token request
    /// then carries a client assertion signed with the key.
    #[serde(default)]
    pub certificate: Option<SecretRef>,
    /// Use the Azure managed identity (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`) instead.
    #[serde(default)]
    pub managed_identity: bool,
    /// Default: `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`.
    #[serde(default)]
    pub token_url: Option<String>,
    /// Default: `https://outlook.office365.com` (the API lives under `/adminapi/beta/{tenant}`).
    #[serde(default = "default_exchange_url")]
    pub exchange_url: String,
    /// Default: `https://graph.microsoft.com` (under `/v1.0`); only for `source_filter_groups`.
    #[serde(default = "default_graph_url")]
    pub graph_url: String,
    /// Fixed to `["UserMailbox", "SharedMailbox"]`; may be written out, not changed.
    #[serde(default = "default_types")]
    pub included_recipient_types: Vec<String>,
    /// Expand groups with Full Access beyond their direct members (Cloud Sync does not).
    #[serde(default)]
    pub nested: bool,
    /// Entra group object ids: only their members are `in_source_filter` (via Graph).
    #[serde(default)]
    pub source_filter_groups: Vec<String>,
    /// Mailboxes per page (`Prefer: odata.maxpagesize`), 1 to 1000. Default: 1000.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Permission reads in flight at once, 1 to 32. Default: 4.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Read permissions ten at a time through `$batch`. Default: on.
    #[serde(default = "yes")]
    pub batch: bool,
    /// Timeout of one request, in seconds. Default: 60.
    #[serde(default = "default_timeout")]
    pub timeout_s: u64,
    /// Attempts per request (429s and 5xx retried), at least 1. Default: 6.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// The longest `Retry-After` waited out, in seconds. Default: 120.
    #[serde(default = "default_max_retry_after")]
    pub max_retry_after_s: u64,
    /// The whole read's deadline, in seconds: past it the read fails. Default: 3600.
    #[serde(default = "default_deadline")]
    pub read_deadline_s: u64,
}

fn default_exchange_url() -> String {
    "https://outlook.office365.com".into()
}
fn default_graph_url() -> String {
    "https://graph.microsoft.com".into()
}
fn default_types() -> Vec<String> {
    RECIPIENT_TYPES.iter().map(|t| (*t).to_owned()).collect()
}
fn default_page_size() -> u32 {
    1000
}
fn default_concurrency() -> usize {
    4
}
fn yes() -> bool {
    true
}
fn default_timeout() -> u64 {
    60
}
fn default_attempts() -> u32 {
    6
}
fn default_max_retry_after() -> u64 {
    120
}
fn default_deadline() -> u64 {
    3600
}

impl ExchangeOnlineConfig {
    /// A config for `tenant` with a client secret, everything else default.
    pub fn new(tenant: &str, client_id: &str, client_secret: SecretRef) -> Self {
        Self {
            tenant: tenant.into(),
            client_id: Some(client_id.into()),
            client_secret: Some(client_secret),
            certificate: None,
            managed_identity: false,
            token_url: None,
            exchange_url: default_exchange_url(),
            graph_url: default_graph_url(),
            included_recipient_types: default_types(),
            nested: false,
            source_filter_groups: Vec::new(),
            page_size: default_page_size(),
            concurrency: default_concurrency(),
            batch: true,
            timeout_s: default_timeout(),
            max_attempts: default_attempts(),
            max_retry_after_s: default_max_retry_after(),
            read_deadline_s: default_deadline(),
        }
    }

    /// The token endpoint for client credentials.
    pub fn token_url(&self) -> String {
        self.token_url.clone().unwrap_or_else(|| {
            format!(
                "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
                self.tenant.trim()
            )
        })
    }

    /// Every problem, each naming its key.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        let mut p = |key: &str, message: String| {
            out.push(ConfigProblem {
                key: key.to_owned(),
                message,
            })
        };
        let tenant = self.tenant.trim();
        if tenant.is_empty()
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            p(
                "tenant",
                "expected the tenant id (a GUID) or its initial domain (contoso.onmicrosoft.com)"
                    .into(),
            );
        }
        let ways = [
            self.client_secret.is_some(),
            self.certificate.is_some(),
            self.managed_identity,
        ];
        match ways.iter().filter(|w| **w).count() {
            0 => p(
                "client_secret",
                "missing: set `client_secret = { env = \"…\" }` (or `{ file = \"…\" }`), `certificate = { file = \"app.pem\" }`, or `managed_identity = true`".into(),
            ),
            1 => {}
            _ => p(
                if self.certificate.is_some() {
                    "certificate"
                } else {
                    "client_secret"
                },
                "set exactly one of `client_secret`, `certificate` and `managed_identity = true`"
                    .into(),
            ),
        }
        if !self.managed_identity
            && self
                .client_id
                .as_deref()
                .map_or(true, |c| c.trim().is_empty())
        {
            p(
                "client_id",
                "missing: the application (client) id is needed with a client secret or certificate".into(),
            );
        }
        let mut types: Vec<&str> = self
            .included_recipient_types
            .iter()
            .map(String::as_str)
            .collect();
        types.sort_unstable();
        if types != ["SharedMailbox", "UserMailbox"] {
            p(
                "included_recipient_types",
                "is fixed to [\"UserMailbox\", \"SharedMailbox\"]: other recipient types are not read".into(),
            );
        }
        for (key, url) in [
            ("token_url", self.token_url()),
            ("exchange_url", self.exchange_url.clone()),
            ("graph_url", self.graph_url.clone()),
        ] {
            if let Err(m) = check_url(&url) {
                p(key, m);
            }
        }
        for (i, g) in self.source_filter_groups.iter().enumerate() {
            if g.trim().is_empty() || g.contains('/') || g.contains('?') {
                p(
                    &format!("source_filter_groups[{i}]"),
                    format!("`{g}` is no Entra group object id"),
                );
            }
        }
        if !(1..=1000).contains(&self.page_size) {
            p(
                "page_size",
                format!("{} is outside 1 to 1000", self.page_size),
            );
        }
        if !(1..=32).contains(&self.concurrency) {
            p(
                "concurrency",
                format!("{} is outside 1 to 32", self.concurrency),
            );
        }
        if self.timeout_s == 0 {
            p("timeout_s", "must be at least 1".into());
        }
        if self.max_attempts == 0 {
            p("max_attempts", "must be at least 1".into());
        }
        if self.read_deadline_s == 0 {
            p("read_deadline_s", "must be at least 1".into());
        }
        out
    }
}

/// https, or plain http to a loopback address only (a simulator on this machine); no
/// credentials, query or fragment. The URL is not echoed when it is no URL at all.
pub fn check_url(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("must not have a query or fragment".into());
    }
    let loopback = match parsed.host_str() {
        Some(h) if h.eq_ignore_ascii_case("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        "http" => Err(format!(
            "`{parsed}` must use https://: the token travels with every request; plain http:// is only accepted to a loopback address"
        )),
        _ => Err(format!("`{parsed}` must start with https://")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ExchangeOnlineConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn a_minimal_config_is_valid_and_defaults_to_microsofts_urls() {
        let c = parse(
            r#"tenant = "contoso.onmicrosoft.com"
               client_id = "app"
               client_secret = { env = "EXO_SECRET" }"#,
        );
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert_eq!(
            c.token_url(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(c.page_size, 1000);
        assert!(!c.nested && c.batch);
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let c = parse(
            r#"tenant = "con toso"
               token_url = "http://login.example.com/t"
               exchange_url = "ftp://x"
               included_recipient_types = ["UserMailbox", "RoomMailbox"]
               source_filter_groups = [""]
               page_size = 0
               concurrency = 99"#,
        );
        let keys: Vec<String> = c.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "tenant",
                "client_secret",
                "client_id",
                "included_recipient_types",
                "token_url",
                "exchange_url",
                "source_filter_groups[0]",
                "page_size",
                "concurrency"
            ]
        );
    }

    #[test]
    fn a_managed_identity_needs_no_secret_and_http_is_for_loopback_only() {
        let c = parse(
            r#"tenant = "0d2b7c1e-52f3-4a8e-9a51-6c1b2f0e4d77"
               managed_identity = true
               exchange_url = "http://127.0.0.1:8080"
               graph_url = "http://localhost:9"
               token_url = "http://[::1]:7/t""#,
        );
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert!(check_url("http://10.0.0.1/").is_err());
        assert!(check_url("https://user:pw@x/").is_err());
        let e = check_url("not a url with secret").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn exactly_one_way_to_authenticate() {
        let c = parse(
            r#"tenant = "t.onmicrosoft.com"
               client_id = "app"
               certificate = { file = "app.pem" }"#,
        );
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        let c = parse(
            r#"tenant = "t.onmicrosoft.com"
               client_id = "app"
               client_secret = { env = "S" }
               certificate = { file = "app.pem" }"#,
        );
        let problems = c.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, "certificate");
        assert!(problems[0].message.contains("exactly one"), "{problems:?}");
        let c = parse(
            r#"tenant = "t.onmicrosoft.com"
               managed_identity = true
               certificate = { env = "C" }"#,
        );
        assert_eq!(c.problems()[0].key, "certificate");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = toml::from_str::<ExchangeOnlineConfig>("tenant = \"t\"\nclient_sekret = 1")
            .unwrap_err();
        assert!(e.to_string().contains("client_sekret"), "{e}");
    }
}
