//! `[server.jit]`: the sign-in hooks that create accounts just in time (`crate::jit`). Each
//! hook has its own table (`[server.jit.entra]`, `[server.jit.okta]`, `[server.jit.oidc]`),
//! may be switched off with `enabled = false`, and takes `deadline_ms`, `fail` and `claims`
//! from `[server.jit]` unless it sets its own. Secrets (the Okta header secret, the OIDC
//! client secret, a secret answer claim) are `{ env = … }` or `{ file = … }` and are read
//! here, so a missing one is a configuration error.

use super::{beside_config, Errors};
use crate::jit::claims::ClaimMap;
use crate::web::oidc::{self, OidcConfig};
use muster_connectors::SecretRef;
use muster_core::secret::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// The authentication events service of Microsoft Entra: the `azp`/`appid` of every token
/// Entra sends to a custom authentication extension.
pub const ENTRA_EVENTS_APP: &str = "99045fe1-7639-4a75-9d4a-577b6ca3810f";
/// Entra waits at most this long for an extension; Okta three seconds.
const ENTRA_MAX_MS: u64 = 2_000;
const OKTA_MAX_MS: u64 = 3_000;
/// Entra's limit on the claims an extension adds, in bytes.
const ENTRA_CLAIMS_BYTES: usize = 3 * 1024;

/// What a hook answers when provisioning did not finish well in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// Answer anyway; the create goes on in the background.
    Open,
    /// Answer with a failure, so the identity provider fails the sign-in.
    Closed,
}

/// A hook's time budget and failure mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookPolicy {
    pub deadline: Duration,
    pub fail: FailMode,
}

/// `[server.jit]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitSettings {
    /// Claims added to the identity provider's token or assertion (e.g. Zivver's DomainKey).
    pub answer_claims: Vec<(String, Secret)>,
    /// E-mail domains a sign-in's addresses may be in (lower case); empty: any.
    pub domains: Vec<String>,
    /// Largest hook request body accepted, in bytes.
    pub max_body_bytes: usize,
    pub entra: Option<EntraSettings>,
    pub okta: Option<OktaSettings>,
    pub oidc: Option<JitOidcSettings>,
}

/// `[server.jit.entra]`: the `OnTokenIssuanceStart` custom authentication extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraSettings {
    pub policy: HookPolicy,
    pub claims: ClaimMap,
    pub tenant_id: String,
    /// Default `https://login.microsoftonline.com/{tenant_id}/discovery/v2.0/keys`.
    pub jwks_url: String,
    /// Default `https://login.microsoftonline.com/{tenant_id}/v2.0`.
    pub issuer: String,
    /// Muster's application id or identifier URI (`aud`); any one of these.
    pub audience: Vec<String>,
    /// `azp` (v2 tokens) or `appid` (v1); default the authentication events service.
    pub authorized_party: String,
    /// The applications (`clientServicePrincipal.appId`) sign-ins to which provision; empty:
    /// any application the event listener covers.
    pub apps: Vec<String>,
    /// The least time between two fetches of the keys for an unknown `kid`.
    pub jwks_refetch: Duration,
}

/// `[server.jit.okta]`: the SAML and token inline hooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OktaSettings {
    pub policy: HookPolicy,
    pub claims: ClaimMap,
    /// The header Okta sends the secret in (default `Authorization`).
    pub header: String,
    pub secret: Secret,
}

/// `[server.jit.oidc]`: Muster as relying party (`/jit/login` → provider → `/jit/callback`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitOidcSettings {
    pub policy: HookPolicy,
    pub claims: ClaimMap,
    pub oidc: OidcConfig,
    /// Where the browser goes after the sign-in (the application).
    pub application_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJit {
    deadline_ms: Option<Spanned<u64>>,
    fail: Option<Spanned<String>>,
    #[serde(default)]
    domains: Vec<String>,
    max_body_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    answer_claims: BTreeMap<String, Spanned<RawClaimValue>>,
    entra: Option<RawEntra>,
    okta: Option<RawOkta>,
    oidc: Option<RawJitOidc>,
}

/// An answer claim's value: inline text, or a secret reference.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawClaimValue {
    Text(String),
    Secret(SecretRef),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntra {
    enabled: Option<bool>,
    deadline_ms: Option<Spanned<u64>>,
    fail: Option<Spanned<String>>,
    claims: Option<BTreeMap<String, String>>,
    tenant_id: Spanned<String>,
    jwks_url: Option<Spanned<String>>,
    issuer: Option<Spanned<String>>,
    audience: Spanned<OneOrMany>,
    authorized_party: Option<String>,
    #[serde(default)]
    apps: Vec<String>,
    jwks_refetch_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOkta {
    enabled: Option<bool>,
    deadline_ms: Option<Spanned<u64>>,
    fail: Option<Spanned<String>>,
    claims: Option<BTreeMap<String, String>>,
    header: Option<Spanned<String>>,
    secret: Spanned<SecretRef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJitOidc {
    enabled: Option<bool>,
    deadline_ms: Option<Spanned<u64>>,
    fail: Option<Spanned<String>>,
    claims: Option<BTreeMap<String, String>>,
    issuer: Spanned<String>,
    client_id: Spanned<String>,
    client_secret: Spanned<SecretRef>,
    redirect_url: Spanned<String>,
    scopes: Option<Vec<String>>,
    application_url: Spanned<String>,
}

/// The claim maps used when a hook sets none.
const ENTRA_CLAIMS: &[(&str, &str)] = &[
    ("displayName", "DisplayName"),
    ("givenName", "Name.GivenName"),
    ("surname", "Name.FamilyName"),
    ("mail", "Contact.Business.Email"),
];
const OKTA_CLAIMS: &[(&str, &str)] = &[
    ("firstName", "Name.GivenName"),
    ("lastName", "Name.FamilyName"),
    ("email", "Contact.Business.Email"),
];
const OIDC_CLAIMS: &[(&str, &str)] = &[
    ("name", "DisplayName"),
    ("given_name", "Name.GivenName"),
    ("family_name", "Name.FamilyName"),
    ("email", "Contact.Business.Email"),
];

/// The defaults every hook inherits.
struct Shared {
    policy: HookPolicy,
}

pub(super) fn jit_settings(
    raw: RawJit,
    base: &Path,
    errors: &mut Errors<'_>,
) -> Option<JitSettings> {
    let before = errors.list.len();
    let default = HookPolicy {
        deadline: Duration::from_millis(1_500),
        fail: FailMode::Open,
    };
    let shared = Shared {
        policy: policy(
            default,
            raw.deadline_ms.as_ref(),
            raw.fail.as_ref(),
            u64::MAX,
            "server.jit",
            errors,
        ),
    };
    let answer_claims = answer_claims(&raw.answer_claims, base, errors);
    let mut domains = Vec::new();
    for d in &raw.domains {
        let d = d.trim().to_ascii_lowercase();
        if d.is_empty() || d.contains('@') || d.contains(char::is_whitespace) {
            errors.push(
                None,
                "server.jit.domains",
                format!("`{d}` is not a domain: expected e.g. `contoso.nl`"),
            );
        }
        domains.push(d);
    }
    let max_body_bytes = match &raw.max_body_bytes {
        Some(n) if !(1024..=1024 * 1024).contains(n.get_ref()) => {
            errors.at(
                n,
                "server.jit.max_body_bytes",
                "must be 1024-1048576".to_owned(),
            );
            0
        }
        Some(n) => *n.get_ref(),
        None => 32 * 1024,
    };
    let entra = raw
        .entra
        .filter(|e| e.enabled != Some(false))
        .and_then(|e| entra(e, &shared, &answer_claims, errors));
    let okta = raw
        .okta
        .filter(|o| o.enabled != Some(false))
        .and_then(|o| okta(o, &shared, base, errors));
    let oidc = raw
        .oidc
        .filter(|o| o.enabled != Some(false))
        .and_then(|o| jit_oidc(o, &shared, base, errors));
    if errors.list.len() > before {
        return None;
    }
    Some(JitSettings {
        answer_claims,
        domains,
        max_body_bytes,
        entra,
        okta,
        oidc,
    })
}

fn policy(
    inherited: HookPolicy,
    deadline_ms: Option<&Spanned<u64>>,
    fail: Option<&Spanned<String>>,
    max_ms: u64,
    key: &str,
    errors: &mut Errors<'_>,
) -> HookPolicy {
    let mut p = inherited;
    if let Some(ms) = deadline_ms {
        let ms_value = *ms.get_ref();
        if ms_value == 0 || ms_value >= max_ms.min(60_000) {
            let limit = if max_ms == u64::MAX {
                "less than 60000".to_owned()
            } else {
                format!("less than {max_ms}: the identity provider waits at most {max_ms} ms")
            };
            errors.at(
                ms,
                &format!("{key}.deadline_ms"),
                format!("is {ms_value}: expected at least 1 and {limit}"),
            );
        } else {
            p.deadline = Duration::from_millis(ms_value);
        }
    } else if p.deadline.as_millis() >= u128::from(max_ms) {
        errors.push(
            None,
            &format!("{key}.deadline_ms"),
            format!(
                "the inherited deadline of {} ms is not less than {max_ms} ms, which is all the identity provider waits: set a smaller one here",
                p.deadline.as_millis()
            ),
        );
    }
    if let Some(f) = fail {
        match f.get_ref().as_str() {
            "open" => p.fail = FailMode::Open,
            "closed" => p.fail = FailMode::Closed,
            other => errors.at(
                f,
                &format!("{key}.fail"),
                format!("`{other}` is not a fail mode: expected `open` (answer anyway, the create goes on) or `closed` (fail the sign-in)"),
            ),
        }
    }
    p
}

fn claim_map(
    raw: Option<BTreeMap<String, String>>,
    defaults: &[(&str, &str)],
    key: &str,
    errors: &mut Errors<'_>,
) -> ClaimMap {
    match raw {
        None => ClaimMap::defaults(defaults),
        Some(map) => ClaimMap::new(map).unwrap_or_else(|m| {
            errors.push(None, &format!("{key}.claims"), m);
            ClaimMap::defaults(&[])
        }),
    }
}

fn answer_claims(
    raw: &BTreeMap<String, Spanned<RawClaimValue>>,
    base: &Path,
    errors: &mut Errors<'_>,
) -> Vec<(String, Secret)> {
    let mut out = Vec::new();
    for (name, value) in raw {
        let key = format!("server.jit.answer_claims.{name}");
        if name.is_empty() || name.chars().any(|c| c.is_control() || c == '/') {
            errors.at(
                value,
                &key,
                "is not a claim name: expected letters, digits, `_` or `-`".to_owned(),
            );
            continue;
        }
        let secret = match value.get_ref() {
            RawClaimValue::Text(t) if t.is_empty() => {
                errors.at(value, &key, "is empty".to_owned());
                continue;
            }
            RawClaimValue::Text(t) => Secret::new(t.clone()),
            RawClaimValue::Secret(r) => match beside_config(base, r).resolve() {
                Ok(s) => s,
                Err(e) => {
                    errors.at(value, &key, e.to_string());
                    continue;
                }
            },
        };
        out.push((name.clone(), secret));
    }
    out
}

fn entra(
    raw: RawEntra,
    shared: &Shared,
    answer: &[(String, Secret)],
    errors: &mut Errors<'_>,
) -> Option<EntraSettings> {
    let key = "server.jit.entra";
    let before = errors.list.len();
    let policy = policy(
        shared.policy,
        raw.deadline_ms.as_ref(),
        raw.fail.as_ref(),
        ENTRA_MAX_MS,
        key,
        errors,
    );
    let claims = claim_map(raw.claims, ENTRA_CLAIMS, key, errors);
    let tenant = raw.tenant_id.get_ref().trim().to_owned();
    if tenant.is_empty()
        || !tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        errors.at(
            &raw.tenant_id,
            &format!("{key}.tenant_id"),
            "is not a tenant id: expected the directory (tenant) id, a GUID".to_owned(),
        );
    }
    let jwks_url = match &raw.jwks_url {
        Some(u) => oidc::check_secure_url(u.get_ref(), "the JWKS URL")
            .map_err(|m| errors.at(u, &format!("{key}.jwks_url"), m))
            .ok()?,
        None => format!("https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys"),
    };
    let issuer = match &raw.issuer {
        Some(i) if i.get_ref().trim().is_empty() => {
            errors.at(i, &format!("{key}.issuer"), "is empty".to_owned());
            String::new()
        }
        Some(i) => i.get_ref().clone(),
        None => format!("https://login.microsoftonline.com/{tenant}/v2.0"),
    };
    let audience = match raw.audience.get_ref() {
        OneOrMany::One(a) => vec![a.clone()],
        OneOrMany::Many(list) => list.clone(),
    };
    if audience.is_empty() || audience.iter().any(|a| a.trim().is_empty()) {
        errors.at(
            &raw.audience,
            &format!("{key}.audience"),
            "is empty: expected Muster's application id or identifier URI (the token's `aud`)"
                .to_owned(),
        );
    }
    let size: usize = answer
        .iter()
        .map(|(n, v)| n.len() + v.expose().len() + 6)
        .sum();
    if size > ENTRA_CLAIMS_BYTES {
        errors.push(
            None,
            "server.jit.answer_claims",
            format!("take {size} bytes: Entra accepts at most {ENTRA_CLAIMS_BYTES} bytes of claims from an extension"),
        );
    }
    if errors.list.len() > before {
        return None;
    }
    Some(EntraSettings {
        policy,
        claims,
        tenant_id: tenant,
        jwks_url,
        issuer,
        audience,
        authorized_party: raw
            .authorized_party
            .unwrap_or_else(|| ENTRA_EVENTS_APP.to_owned()),
        apps: raw.apps,
        jwks_refetch: Duration::from_secs(raw.jwks_refetch_seconds.unwrap_or(10)),
    })
}

fn okta(
    raw: RawOkta,
    shared: &Shared,
    base: &Path,
    errors: &mut Errors<'_>,
) -> Option<OktaSettings> {
    let key = "server.jit.okta";
    let before = errors.list.len();
    let policy = policy(
        shared.policy,
        raw.deadline_ms.as_ref(),
        raw.fail.as_ref(),
        OKTA_MAX_MS,
        key,
        errors,
    );
    let claims = claim_map(raw.claims, OKTA_CLAIMS, key, errors);
    let header = match &raw.header {
        Some(h) => match axum::http::HeaderName::from_bytes(h.get_ref().as_bytes()) {
            Ok(name) => name.as_str().to_owned(),
            Err(_) => {
                errors.at(
                    h,
                    &format!("{key}.header"),
                    format!("`{}` is not a header name", h.get_ref()),
                );
                String::new()
            }
        },
        None => "authorization".to_owned(),
    };
    let secret = beside_config(base, raw.secret.get_ref())
        .resolve()
        .map_err(|e| errors.at(&raw.secret, &format!("{key}.secret"), e.to_string()))
        .ok();
    if let Some(s) = &secret {
        if s.expose().len() < 16 {
            errors.at(
                &raw.secret,
                &format!("{key}.secret"),
                "is shorter than 16 characters: use a long random value".to_owned(),
            );
        }
    }
    if errors.list.len() > before {
        return None;
    }
    Some(OktaSettings {
        policy,
        claims,
        header,
        secret: secret?,
    })
}

fn jit_oidc(
    raw: RawJitOidc,
    shared: &Shared,
    base: &Path,
    errors: &mut Errors<'_>,
) -> Option<JitOidcSettings> {
    let key = "server.jit.oidc";
    let before = errors.list.len();
    let policy = policy(
        shared.policy,
        raw.deadline_ms.as_ref(),
        raw.fail.as_ref(),
        u64::MAX,
        key,
        errors,
    );
    let claims = claim_map(raw.claims, OIDC_CLAIMS, key, errors);
    let issuer = oidc::check_issuer(raw.issuer.get_ref())
        .map_err(|m| errors.at(&raw.issuer, &format!("{key}.issuer"), m))
        .ok();
    let redirect_url = oidc::check_redirect_url(raw.redirect_url.get_ref())
        .map_err(|m| errors.at(&raw.redirect_url, &format!("{key}.redirect_url"), m))
        .ok();
    if let Some(r) = &redirect_url {
        if !r.ends_with("/jit/callback") {
            errors.at(
                &raw.redirect_url,
                &format!("{key}.redirect_url"),
                format!("`{r}` does not end in `/jit/callback`: the provider must send the browser to this server's /jit/callback"),
            );
        }
    }
    let application_url =
        oidc::check_secure_url(raw.application_url.get_ref(), "the application URL")
            .map_err(|m| errors.at(&raw.application_url, &format!("{key}.application_url"), m))
            .ok();
    if raw.client_id.get_ref().trim().is_empty() {
        errors.at(
            &raw.client_id,
            &format!("{key}.client_id"),
            "is empty".to_owned(),
        );
    }
    let client_secret = beside_config(base, raw.client_secret.get_ref())
        .resolve()
        .map_err(|e| {
            errors.at(
                &raw.client_secret,
                &format!("{key}.client_secret"),
                e.to_string(),
            )
        })
        .ok();
    let mut scopes = raw
        .scopes
        .unwrap_or_else(|| ["openid", "profile", "email"].map(str::to_owned).to_vec());
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".to_owned());
    }
    if errors.list.len() > before {
        return None;
    }
    Some(JitOidcSettings {
        policy,
        claims,
        oidc: OidcConfig {
            issuer: issuer?,
            client_id: raw.client_id.into_inner(),
            client_secret: client_secret?,
            redirect_url: redirect_url?,
            scopes,
        },
        application_url: application_url?,
    })
}
