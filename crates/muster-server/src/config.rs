//! `[server]` and `[[schedules]]` of `muster.toml`: read from the same effective text as the
//! rest of the configuration (after `MUSTER__…` overrides, so `MUSTER__SERVER__LISTEN` works),
//! and checked here, where they mean something. Every problem names file, line and key.

use crate::web::oidc::{self, OidcConfig};
use crate::web::signin::{RoleMap, SignInConfig};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use muster_connectors::SecretRef;
use muster_core::TargetName;
use muster_engine::config::{line_of, ConfigError, ConfigErrors};
use muster_engine::Config;
use muster_store::{RunMode, TokenRole};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use toml::Spanned;

mod email;
mod jit;
pub use email::{EmailSettings, OnlyOn, Retry, SmtpLogin, SmtpSecurity};
pub use jit::{
    EntraSettings, FailMode, HookPolicy, JitOidcSettings, JitSettings, OktaSettings,
    ENTRA_EVENTS_APP,
};

/// Where the server listens and how it guards itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// Certificate chain and private key (PEM); `None` serves plain HTTP (behind a proxy).
    pub tls: Option<TlsFiles>,
    /// Whether `/metrics` needs a token (default: yes).
    pub metrics_auth: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long a shutdown waits for a running run to end before the process exits anyway
    /// (the journal keeps what was in flight; the next apply settles it).
    pub shutdown_grace: Duration,
    /// Failed authentications one client address may make per minute before it gets 429.
    pub auth_failures_per_minute: u32,
    /// `[server.oidc]`: dashboard sign-in with OpenID Connect; `None`: no sign-in routes.
    pub oidc: Option<SignInConfig>,
    /// `[server.email]`: the report mailed after each run; `None`: no mail.
    pub email: Option<EmailSettings>,
    /// `[server.jit]`: the sign-in hooks that create accounts just in time; `None`: none.
    pub jit: Option<JitSettings>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8440)),
            tls: None,
            metrics_auth: true,
            max_body_bytes: 64 * 1024,
            shutdown_grace: Duration::from_secs(300),
            auth_failures_per_minute: 10,
            oidc: None,
            email: None,
            jit: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// One `[[schedules]]` entry, checked: its cron expression fires, its targets exist.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub cron: cron::Schedule,
    /// The expression as written, for the API and logs.
    pub expression: String,
    pub timezone: Tz,
    /// Targets the run covers; empty: all of them.
    pub targets: Vec<TargetName>,
    pub mode: RunMode,
    /// Up to this much random delay after each firing, so many installations do not hit a
    /// target at the same second.
    pub jitter: Duration,
}

impl Schedule {
    /// The next firing strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .after(&after.with_timezone(&self.timezone))
            .next()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// Everything `muster serve` adds to the configuration.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub server: ServerSettings,
    pub schedules: Vec<Schedule>,
}

#[derive(Debug, Default, Deserialize)]
struct RawRoot {
    #[serde(default)]
    /// Not `Spanned`: a `[server]` made only implicitly (by `[server.oidc]` or
    /// `[server.email]`) has no span of its own.
    server: Option<RawServer>,
    #[serde(default)]
    schedules: Vec<Spanned<RawSchedule>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    /// `host:port`, default `127.0.0.1:8440`.
    listen: Option<Spanned<String>>,
    tls: Option<RawTls>,
    metrics_auth: Option<bool>,
    max_body_bytes: Option<usize>,
    shutdown_grace_seconds: Option<u64>,
    auth_failures_per_minute: Option<Spanned<u32>>,
    oidc: Option<RawOidc>,
    email: Option<email::RawEmail>,
    jit: Option<jit::RawJit>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    issuer: Spanned<String>,
    client_id: Spanned<String>,
    /// `{ env = "…" }` or `{ file = "…" }`, never inline.
    client_secret: Spanned<SecretRef>,
    redirect_url: Spanned<String>,
    scopes: Option<Vec<String>>,
    /// The ID token claim with group or role values; default `groups`.
    roles_claim: Option<String>,
    #[serde(default)]
    admin: Vec<String>,
    #[serde(default)]
    approver: Vec<String>,
    #[serde(default)]
    viewer: Vec<String>,
    /// Roles by exact subject (`sub`).
    #[serde(default)]
    subjects: BTreeMap<String, Spanned<String>>,
    /// The role of a user nothing else maps; absent: refused.
    default_role: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: PathBuf,
    key: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    name: Spanned<String>,
    /// Five fields (minute hour day month weekday), or six/seven with seconds (and year).
    cron: Spanned<String>,
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    targets: Option<Spanned<Vec<String>>>,
    /// `plan` (preview only) or `apply`.
    mode: Spanned<String>,
    #[serde(default)]
    jitter_seconds: u64,
}

/// Reads `[server]` and `[[schedules]]` from `text` (the effective configuration of `path`)
/// and checks them against `config` (its targets).
pub fn parse(path: &Path, text: &str, config: &Config) -> Result<ServiceConfig, ConfigErrors> {
    let mut errors = Errors {
        path,
        text,
        list: Vec::new(),
    };
    let raw: RawRoot = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        ConfigErrors(vec![errors.error(line, "", e.message().to_owned())])
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    let server = match raw.server {
        Some(s) => server_settings(s, base, &mut errors),
        None => ServerSettings::default(),
    };
    let mut schedules: Vec<Schedule> = Vec::new();
    for (i, s) in raw.schedules.into_iter().enumerate() {
        let at = s.span().start;
        if let Some(s) = schedule(i, s.into_inner(), config, &mut errors) {
            if schedules.iter().any(|o| o.name == s.name) {
                let line = Some(line_of(text, at));
                errors.push(
                    line,
                    &format!("schedules[{i}].name"),
                    format!(
                        "`{}` is used by another schedule; names must be unique",
                        s.name
                    ),
                );
            }
            schedules.push(s);
        }
    }
    if errors.list.is_empty() {
        Ok(ServiceConfig { server, schedules })
    } else {
        Err(ConfigErrors(errors.list))
    }
}

struct Errors<'a> {
    path: &'a Path,
    text: &'a str,
    list: Vec<ConfigError>,
}

impl Errors<'_> {
    fn error(&self, line: Option<usize>, key: &str, message: String) -> ConfigError {
        ConfigError {
            file: self.path.to_owned(),
            line,
            key: key.to_owned(),
            message,
        }
    }

    fn push(&mut self, line: Option<usize>, key: &str, message: String) {
        let e = self.error(line, key, message);
        self.list.push(e);
    }

    fn at<T>(&mut self, value: &Spanned<T>, key: &str, message: String) {
        let line = Some(line_of(self.text, value.span().start));
        self.push(line, key, message);
    }
}

fn server_settings(raw: RawServer, base: &Path, errors: &mut Errors<'_>) -> ServerSettings {
    let mut s = ServerSettings::default();
    if let Some(listen) = raw.listen {
        match SocketAddr::from_str(listen.get_ref()) {
            Ok(addr) => s.listen = addr,
            Err(e) => errors.at(
                &listen,
                "server.listen",
                format!(
                    "`{}` is not an address: {e}; expected host:port such as 127.0.0.1:8440",
                    listen.get_ref()
                ),
            ),
        }
    }
    s.tls = raw.tls.map(|t| TlsFiles {
        cert: base.join(t.cert),
        key: base.join(t.key),
    });
    if let Some(m) = raw.metrics_auth {
        s.metrics_auth = m;
    }
    if let Some(b) = raw.max_body_bytes {
        s.max_body_bytes = b;
    }
    if let Some(g) = raw.shutdown_grace_seconds {
        s.shutdown_grace = Duration::from_secs(g);
    }
    if let Some(n) = raw.auth_failures_per_minute {
        if *n.get_ref() == 0 {
            errors.at(
                &n,
                "server.auth_failures_per_minute",
                "must be at least 1".to_owned(),
            );
        } else {
            s.auth_failures_per_minute = n.into_inner();
        }
    }
    s.oidc = raw.oidc.and_then(|o| oidc_settings(o, base, errors));
    s.email = raw
        .email
        .and_then(|e| email::email_settings(e, base, errors));
    s.jit = raw.jit.and_then(|j| jit::jit_settings(j, base, errors));
    s
}

/// `[server.oidc]`: the relying party's settings and the role map; the client secret is read
/// here, so a missing variable or file is a configuration error.
fn oidc_settings(raw: RawOidc, base: &Path, errors: &mut Errors<'_>) -> Option<SignInConfig> {
    let at = raw.issuer.span().start;
    let before = errors.list.len();
    let issuer = oidc::check_issuer(raw.issuer.get_ref())
        .map_err(|m| errors.at(&raw.issuer, "server.oidc.issuer", m))
        .ok();
    let redirect_url = oidc::check_redirect_url(raw.redirect_url.get_ref())
        .map_err(|m| errors.at(&raw.redirect_url, "server.oidc.redirect_url", m))
        .ok();
    if raw.client_id.get_ref().trim().is_empty() {
        errors.at(
            &raw.client_id,
            "server.oidc.client_id",
            "is empty".to_owned(),
        );
    }
    let secret = beside_config(base, raw.client_secret.get_ref());
    let client_secret = secret
        .resolve()
        .map_err(|e| {
            errors.at(
                &raw.client_secret,
                "server.oidc.client_secret",
                e.to_string(),
            )
        })
        .ok();
    let mut scopes = raw
        .scopes
        .unwrap_or_else(|| vec!["openid".to_owned(), "profile".to_owned()]);
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".to_owned());
    }
    let mut role = |value: &Spanned<String>, key: &str| match TokenRole::from_str(value.get_ref()) {
        Ok(r) => Some(r),
        Err(_) => {
            errors.at(
                value,
                key,
                format!(
                    "`{}` is not a role: expected viewer, approver or admin",
                    value.get_ref()
                ),
            );
            None
        }
    };
    let subjects: BTreeMap<String, TokenRole> = raw
        .subjects
        .iter()
        .filter_map(|(sub, r)| {
            Some((
                sub.clone(),
                role(r, &format!("server.oidc.subjects.{sub}"))?,
            ))
        })
        .collect();
    let default_role = raw
        .default_role
        .as_ref()
        .and_then(|r| role(r, "server.oidc.default_role"));
    let roles = RoleMap {
        claim: raw.roles_claim.unwrap_or_else(|| "groups".to_owned()),
        admin: raw.admin,
        approver: raw.approver,
        viewer: raw.viewer,
        subjects,
        default_role,
    };
    if errors.list.len() == before && !roles.grants_anything() {
        errors.push(
            Some(line_of(errors.text, at)),
            "server.oidc",
            "no one could sign in: list values of the roles claim under admin, approver or viewer, name subjects, or set default_role".to_owned(),
        );
    }
    Some(SignInConfig {
        oidc: OidcConfig {
            issuer: issuer?,
            client_id: raw.client_id.into_inner(),
            client_secret: client_secret?,
            redirect_url: redirect_url?,
            scopes,
        },
        roles,
    })
}

fn schedule(
    i: usize,
    raw: RawSchedule,
    config: &Config,
    errors: &mut Errors<'_>,
) -> Option<Schedule> {
    let key = |k: &str| format!("schedules[{i}].{k}");
    let mode = match raw.mode.get_ref().as_str() {
        "plan" => Some(RunMode::Preview),
        "apply" => Some(RunMode::Apply),
        other => {
            errors.at(
                &raw.mode,
                &key("mode"),
                format!("`{other}` is not a mode: expected `plan` or `apply`"),
            );
            None
        }
    };
    let timezone = match &raw.timezone {
        None => Some(Tz::UTC),
        Some(tz) => {
            match Tz::from_str(tz.get_ref()) {
                Ok(tz) => Some(tz),
                Err(_) => {
                    errors.at(tz, &key("timezone"), format!("`{}` is not a time zone: expected an IANA name such as Europe/Amsterdam", tz.get_ref()));
                    None
                }
            }
        }
    };
    let expression = raw.cron.get_ref().trim().to_owned();
    let cron = parse_cron(&expression)
        .map_err(|m| errors.at(&raw.cron, &key("cron"), m))
        .ok();
    let mut targets = Vec::new();
    if let Some(list) = &raw.targets {
        for t in list.get_ref() {
            match config.target(t) {
                Some(tc) => targets.push(tc.name.clone()),
                None => errors.at(
                    list,
                    &key("targets"),
                    format!("no target `{t}` is configured"),
                ),
            }
        }
        if list.get_ref().is_empty() {
            errors.at(
                list,
                &key("targets"),
                "is empty: leave it out to run every target".to_owned(),
            );
        }
    }
    let (mode, timezone, cron) = (mode?, timezone?, cron?);
    let schedule = Schedule {
        name: raw.name.into_inner(),
        cron,
        expression,
        timezone,
        targets,
        mode,
        jitter: Duration::from_secs(raw.jitter_seconds),
    };
    if schedule.next_after(Utc::now()).is_none() {
        errors.at(
            &raw.cron,
            &key("cron"),
            format!("`{}` never fires again", schedule.expression),
        );
        return None;
    }
    Some(schedule)
}

/// A cron expression: five fields (minute hour day-of-month month day-of-week) as in crontab,
/// or the `cron` crate's six or seven (with seconds first, year last).
fn parse_cron(expression: &str) -> Result<cron::Schedule, String> {
    let fields = expression.split_whitespace().count();
    let full = match fields {
        5 => format!("0 {expression}"),
        6 | 7 => expression.to_owned(),
        n => {
            return Err(format!(
                "`{expression}` has {n} fields: expected 5 (minute hour day month weekday), or 6-7 with seconds first and year last"
            ))
        }
    };
    cron::Schedule::from_str(&full).map_err(|e| {
        format!("`{expression}` is not a cron expression ({e}): expected minute (0-59) hour (0-23) day (1-31) month (1-12) weekday (0-6 or Mon-Sun), e.g. `30 2 * * *`")
    })
}

#[cfg(test)]
mod tests;

/// A secret reference with a relative `{ file = … }` taken from the configuration's folder, as
/// every other path in it is (so a service's working directory does not matter).
pub(crate) fn beside_config(base: &Path, secret: &SecretRef) -> SecretRef {
    match secret {
        SecretRef::File(p) if p.is_relative() => SecretRef::File(base.join(p)),
        other => other.clone(),
    }
}
