//! `[server.email]`: the report mailed after every run. The SMTP password is a secret
//! reference (`{ env = … }` or `{ file = … }`), never inline; it is read when the server opens.

use super::Errors;
use lettre::message::Mailbox;
use muster_connectors::SecretRef;
use serde::Deserialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use toml::Spanned;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connect, then `STARTTLS` (required, not opportunistic). Default port 587.
    StartTls,
    /// TLS from the first byte (SMTPS). Default port 465.
    Tls,
    /// No TLS at all: only to a server on this machine (a local relay). Default port 25.
    NoneLoopbackOnly,
}

/// When a report is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnlyOn {
    /// After every run.
    Always,
    /// Only after a run that failed, had failures, or was blocked.
    Problems,
}

/// The SMTP login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpLogin {
    pub user: String,
    pub password: SecretRef,
}

/// How a failed send is retried in the background: `attempts` in all, the first retry after
/// `first_delay`, each next one after twice the wait before, at most `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for Retry {
    /// 8 attempts over about four minutes.
    fn default() -> Self {
        Self {
            attempts: 8,
            first_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(120),
        }
    }
}

impl Retry {
    /// The wait before attempt `attempt` (1-based; the first attempt does not wait).
    pub fn delay_before(&self, attempt: u32) -> Duration {
        if attempt <= 1 {
            return Duration::ZERO;
        }
        let factor = 2u32.saturating_pow(attempt.saturating_sub(2).min(20));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// `[server.email]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub login: Option<SmtpLogin>,
    /// A CA certificate (PEM) to trust besides the public roots, for a relay with its own CA.
    pub ca_file: Option<PathBuf>,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub only_on: OnlyOn,
    /// The dashboard's address; the report links to `{dashboard_url}/runs/{id}`.
    pub dashboard_url: Option<url::Url>,
    /// Persons listed per target and outcome; the rest are counted.
    pub list_limit: usize,
    pub retry: Retry,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEmail {
    host: Spanned<String>,
    port: Option<u16>,
    /// `starttls`, `tls` or `none-loopback-only`.
    security: Spanned<String>,
    user: Option<Spanned<String>>,
    password: Option<Spanned<SecretRef>>,
    ca_file: Option<PathBuf>,
    from: Spanned<String>,
    to: Spanned<Vec<String>>,
    only_on: Option<Spanned<String>>,
    dashboard_url: Option<Spanned<String>>,
    list_limit: Option<Spanned<usize>>,
    retry_attempts: Option<Spanned<u32>>,
    retry_first_delay_seconds: Option<u64>,
    retry_max_delay_seconds: Option<u64>,
}

pub(super) fn email_settings(
    raw: RawEmail,
    base: &Path,
    errors: &mut Errors<'_>,
) -> Option<EmailSettings> {
    let before = errors.list.len();
    let host = raw.host.get_ref().trim().to_owned();
    if host.is_empty() {
        errors.at(
            &raw.host,
            "server.email.host",
            "is empty: expected the SMTP server's name or address".to_owned(),
        );
    }
    let security = match raw.security.get_ref().as_str() {
        "starttls" => SmtpSecurity::StartTls,
        "tls" => SmtpSecurity::Tls,
        "none-loopback-only" => {
            if !is_loopback(&host) {
                errors.at(&raw.security, "server.email.security", format!("`none-loopback-only` sends in the clear and is only allowed to a server on this machine, not `{host}`: use `starttls` or `tls`"));
            }
            SmtpSecurity::NoneLoopbackOnly
        }
        other => {
            errors.at(
                &raw.security,
                "server.email.security",
                format!("`{other}` is not a security mode: expected `starttls`, `tls` or `none-loopback-only`"),
            );
            SmtpSecurity::StartTls
        }
    };
    let port = raw.port.unwrap_or(match security {
        SmtpSecurity::StartTls => 587,
        SmtpSecurity::Tls => 465,
        SmtpSecurity::NoneLoopbackOnly => 25,
    });
    let login = match (raw.user, raw.password) {
        (Some(user), Some(password)) => Some(SmtpLogin {
            user: user.into_inner(),
            password: super::beside_config(base, password.get_ref()),
        }),
        (None, None) => None,
        (Some(user), None) => {
            errors.at(
                &user,
                "server.email.password",
                "is missing: a user needs a password ({ env = \"NAME\" } or { file = \"/path\" })"
                    .to_owned(),
            );
            None
        }
        (None, Some(password)) => {
            errors.at(
                &password,
                "server.email.user",
                "is missing: a password needs a user".to_owned(),
            );
            None
        }
    };
    let from = mailbox(&raw.from, raw.from.get_ref(), "server.email.from", errors);
    let mut to = Vec::new();
    for address in raw.to.get_ref() {
        if let Some(m) = mailbox(&raw.to, address, "server.email.to", errors) {
            to.push(m);
        }
    }
    if raw.to.get_ref().is_empty() {
        errors.at(
            &raw.to,
            "server.email.to",
            "is empty: expected at least one address".to_owned(),
        );
    }
    let only_on = match raw.only_on.as_ref().map(|o| (o, o.get_ref().as_str())) {
        None | Some((_, "always")) => OnlyOn::Always,
        Some((_, "problems")) => OnlyOn::Problems,
        Some((o, other)) => {
            errors.at(o, "server.email.only_on", format!("`{other}` is not a choice: expected `always` or `problems` (failures or blocks)"));
            OnlyOn::Always
        }
    };
    let dashboard_url = raw.dashboard_url.as_ref().and_then(|u| {
        match url::Url::parse(u.get_ref().trim_end_matches('/')) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.query().is_none()
                    && url.fragment().is_none() =>
            {
                Some(url)
            }
            _ => {
                errors.at(
                    u,
                    "server.email.dashboard_url",
                    "is not an address: expected http(s)://host[:port][/path] without a query"
                        .to_owned(),
                );
                None
            }
        }
    });
    let list_limit = match raw.list_limit {
        Some(n) if *n.get_ref() == 0 || *n.get_ref() > 10_000 => {
            errors.at(&n, "server.email.list_limit", "must be 1-10000".to_owned());
            0
        }
        Some(n) => n.into_inner(),
        None => 50,
    };
    let mut retry = Retry::default();
    if let Some(a) = raw.retry_attempts {
        if *a.get_ref() == 0 || *a.get_ref() > 100 {
            errors.at(
                &a,
                "server.email.retry_attempts",
                "must be 1-100".to_owned(),
            );
        } else {
            retry.attempts = a.into_inner();
        }
    }
    if let Some(s) = raw.retry_first_delay_seconds {
        retry.first_delay = Duration::from_secs(s.max(1));
    }
    if let Some(s) = raw.retry_max_delay_seconds {
        retry.max_delay = Duration::from_secs(s.max(1));
    }
    if errors.list.len() > before {
        return None;
    }
    Some(EmailSettings {
        host,
        port,
        security,
        login,
        ca_file: raw.ca_file.map(|f| base.join(f)),
        from: from?,
        to,
        only_on,
        dashboard_url,
        list_limit,
        retry,
    })
}

fn mailbox<T>(
    at: &Spanned<T>,
    address: &str,
    key: &str,
    errors: &mut Errors<'_>,
) -> Option<Mailbox> {
    match Mailbox::from_str(address) {
        Ok(m) => Some(m),
        Err(e) => {
            errors.at(at, key, format!("`{address}` is not an e-mail address ({e}): expected `name@example.org` or `Name <name@example.org>`"));
            None
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || IpAddr::from_str(host.trim_start_matches('[').trim_end_matches(']'))
            .is_ok_and(|ip| ip.is_loopback())
}
