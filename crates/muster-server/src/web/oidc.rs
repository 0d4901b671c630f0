//! Muster as an OpenID Connect relying party: the authorization code flow with PKCE, `state`
//! and `nonce`, and the ID token checked (signature by the keys of the provider's discovered
//! `jwks_uri` with one of the algorithms its discovery document announces, `iss` exactly,
//! `aud`, `exp`, `nonce`) by the `openidconnect` crate over reqwest with rustls.
//!
//! Nothing here knows about the dashboard: [`RelyingParty::begin`] gives the provider's
//! authorization URL for a sign-in that should end at a local path, and
//! [`RelyingParty::finish`] turns the provider's answer into an [`Identity`] (issuer, subject,
//! name, the ID token's claims). The dashboard sign-in (`web::signin`) maps that to a role; the
//! just-in-time sign-in (`crate::jit::login`, a relying party of its own) maps it to a person.
//!
//! Discovery happens on the first sign-in and is kept for an hour, so a provider that is down
//! does not keep the server from starting; a signature that does not verify makes it fetch the
//! provider's keys again once (keys rotate). Pending sign-ins (state → PKCE verifier, nonce,
//! where to go next) are bounded in count, expire after ten minutes and are used at most once.

use super::session::{random_hex, sha256_hex};
use muster_core::secret::Secret;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::url::{Host, Url};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenClaims,
    IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a sign-in may take between the redirect to the provider and the callback.
pub const PENDING_TTL: Duration = Duration::from_secs(600);
/// Sign-ins pending at most; when full, expired ones go first, then the oldest.
const MAX_PENDING: usize = 10_000;
/// How long discovered metadata and keys are used before they are fetched again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// Bound on every request to the provider.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// A relying party's settings (`[server.oidc]` for the dashboard), checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The issuer exactly as the provider names itself (`iss`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Where the provider sends the browser back: this server's `/callback`.
    pub redirect_url: String,
    /// Scopes asked for; always includes `openid`.
    pub scopes: Vec<String>,
}

/// The issuer as a URL: https, or http on a loopback address (a provider on the same host, as
/// in tests). Anything else is refused: the discovery document and keys must not travel in
/// the clear.
pub fn check_issuer(issuer: &str) -> Result<String, String> {
    let url = Url::parse(issuer).map_err(|e| {
        format!("`{issuer}` is not a URL ({e}): expected the provider's issuer, e.g. https://login.example.com/realm")
    })?;
    check_secure(&url, "the issuer")?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("an issuer has no query or fragment".to_owned());
    }
    Ok(issuer.to_owned())
}

/// The redirect URL: absolute, https or loopback http, ending in `/callback` (the route this
/// server answers, perhaps behind a proxy that adds a prefix).
pub fn check_redirect_url(redirect: &str) -> Result<String, String> {
    let url = Url::parse(redirect).map_err(|e| {
        format!("`{redirect}` is not a URL ({e}): expected this server's callback, e.g. https://muster.example.com/callback")
    })?;
    check_secure(&url, "the redirect URL")?;
    if !url.path().ends_with("/callback") || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{redirect}` does not end in `/callback`: the provider must send the browser to this server's /callback"
        ));
    }
    Ok(redirect.to_owned())
}

/// An absolute URL that is https, or http on a loopback address (tests).
pub fn check_secure_url(text: &str, what: &str) -> Result<String, String> {
    let url =
        Url::parse(text).map_err(|e| format!("`{text}` is not a URL ({e}): expected https://…"))?;
    check_secure(&url, what)?;
    Ok(text.to_owned())
}

fn check_secure(url: &Url, what: &str) -> Result<(), String> {
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        other => Err(format!(
            "{what} uses `{other}`: expected https (http only on 127.0.0.1 or localhost)"
        )),
    }
}

/// A path on this server to continue to after signing in: starts with one `/`, no scheme,
/// host, backslash or control character. Anything else becomes `/`, so `next` can never send
/// a signed-in user to another site.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control)
                && p.len() <= 2048 =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Claims of the ID token beyond the standard ones, kept as JSON (e.g. `groups`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraClaims {
    #[serde(flatten)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for ExtraClaims {}

type Claims = IdTokenClaims<ExtraClaims, CoreGenderClaim>;
type TokenFields = IdTokenFields<
    ExtraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<TokenFields, CoreTokenType>;
type RpClient = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Who the provider says signed in.
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    /// `sub`: stable per issuer; key people on issuer + subject, never on the e-mail address.
    pub subject: String,
    /// `name`, else `preferred_username`, else `email`, else the subject.
    pub name: String,
    /// The ID token's claims beyond the standard ones (e.g. `groups`).
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// Every claim of the ID token, standard ones (`email`, `given_name`, …) included, by
    /// their JSON names (a just-in-time sign-in maps them to a person).
    pub all_claims: serde_json::Map<String, serde_json::Value>,
    /// The local path the sign-in was started for.
    pub next: String,
}

/// Why a sign-in did not complete. The messages name no code, token or secret.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the sign-in provider cannot be reached or described itself wrongly: {0}")]
    Discovery(String),
    #[error("the provider refused the sign-in: {0}")]
    Provider(String),
    #[error("the callback has no `state` or `code`")]
    Incomplete,
    #[error("unknown or already used sign-in state (start again)")]
    UnknownState,
    #[error("this sign-in was started in another browser (start again here)")]
    OtherBrowser,
    #[error("too many sign-ins are in progress; try again in a few minutes")]
    Busy,
    #[error("the sign-in took longer than {} minutes (start again)", PENDING_TTL.as_secs() / 60)]
    Expired,
    #[error("the callback names issuer `{0}`, not the configured one")]
    WrongIssuer(String),
    #[error("the code could not be exchanged for tokens: {0}")]
    Exchange(String),
    #[error("the provider sent no ID token")]
    NoIdToken,
    #[error("the ID token was refused: {0}")]
    IdToken(String),
}

impl OidcError {
    /// Whether the provider is at fault (unreachable, misdescribed), rather than the request.
    pub fn is_provider_fault(&self) -> bool {
        matches!(self, Self::Discovery(_) | Self::Busy)
    }
}

/// What the provider sent back to the callback.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// RFC 9207: the issuer of the answer; checked when present (mix-up defence).
    pub iss: Option<String>,
}

struct Pending {
    verifier: PkceCodeVerifier,
    nonce: Nonce,
    next: String,
    created: Instant,
    /// SHA-256 of the browser binding: the value of the cookie `/login` set in the browser
    /// that started this sign-in, so a callback link handed to another browser is refused.
    binding: String,
}

/// The cookie that ties a sign-in to the browser that started it (sent to `/callback` only).
pub const BINDING_COOKIE: &str = "muster_signin";

/// The answer that sends a browser to the provider ([`RelyingParty::begin`]'s URL) with the
/// binding cookie `cookie` for the callback at `callback_path`; shared by the dashboard's
/// sign-in and the JIT login (each with its own cookie).
pub fn to_provider(
    url: &Url,
    cookie: &str,
    binding: &str,
    callback_path: &str,
    secure: bool,
) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let secure = if secure { "; Secure" } else { "" };
    let bind = format!(
        "{cookie}={binding}; HttpOnly; SameSite=Lax; Path={callback_path}; Max-Age=600{secure}"
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, url.to_string()),
            (header::SET_COOKIE, bind),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

impl OidcError {
    /// The status of a sign-in that could not start: busy, or the provider unreachable.
    pub fn start_status(&self) -> axum::http::StatusCode {
        match self {
            OidcError::Busy => axum::http::StatusCode::SERVICE_UNAVAILABLE,
            _ => axum::http::StatusCode::BAD_GATEWAY,
        }
    }
}

struct Discovered {
    client: Arc<RpClient>,
    at: Instant,
}

pub struct RelyingParty {
    config: OidcConfig,
    http: reqwest::Client,
    discovered: tokio::sync::Mutex<Option<Discovered>>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl RelyingParty {
    pub fn new(config: OidcConfig) -> Result<Self, OidcError> {
        // No redirects: openidconnect requires it (a redirect could leak the code or credentials).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|e| OidcError::Discovery(format!("no HTTP client: {e}")))?;
        Ok(Self {
            config,
            http,
            discovered: tokio::sync::Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
        })
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// Starts a sign-in that continues to `next` (a checked local path): the provider's
    /// authorization URL to send the browser to, and the browser binding to set in that
    /// browser ([`BINDING_COOKIE`]); [`finish`](Self::finish) wants it back.
    pub async fn begin(&self, next: String) -> Result<(Url, String), OidcError> {
        let client = self.client(false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let binding = random_hex();
        self.remember(
            state.secret().clone(),
            Pending {
                verifier,
                nonce,
                next,
                created: Instant::now(),
                binding: sha256_hex(&binding),
            },
        )?;
        Ok((url, binding))
    }

    /// Completes a sign-in from the callback's query, in the browser whose binding (the value
    /// [`begin`](Self::begin) returned) is `binding`: the state is used up whatever happens,
    /// unless the binding is wrong (then the browser that started it may still finish).
    pub async fn finish(&self, query: CallbackQuery, binding: &str) -> Result<Identity, OidcError> {
        let state = query.state.as_deref().ok_or(OidcError::Incomplete)?;
        let pending = self.take(state, binding, Instant::now())?;
        if let Some(error) = &query.error {
            let detail = query.error_description.as_deref().unwrap_or("");
            return Err(OidcError::Provider(
                format!("{error} {detail}").trim().to_owned(),
            ));
        }
        if let Some(iss) = &query.iss {
            if *iss != self.config.issuer {
                return Err(OidcError::WrongIssuer(iss.clone()));
            }
        }
        let code = query.code.ok_or(OidcError::Incomplete)?;
        let client = self.client(false).await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::Discovery(e.to_string()))?
            .set_pkce_verifier(pending.verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Exchange(describe(&e)))?;
        let id_token = tokens.id_token().ok_or(OidcError::NoIdToken)?;
        let verifier = client.id_token_verifier();
        let first = id_token.claims(&verifier, &pending.nonce).cloned();
        let claims: Claims = match first {
            Ok(c) => c,
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(first)) => {
                // The provider may have rotated its keys: fetch them once more.
                tracing::info!(error = %first, "ID token signature did not verify; fetching the provider's keys again.");
                let fresh = self.client(true).await?;
                let verifier = fresh.id_token_verifier();
                let again = id_token.claims(&verifier, &pending.nonce).cloned();
                again.map_err(|e| OidcError::IdToken(e.to_string()))?
            }
            Err(e) => return Err(OidcError::IdToken(e.to_string())),
        };
        Ok(identity(&claims, pending.next))
    }

    /// The client over discovered metadata: fetched when missing, older than an hour, or
    /// `refresh` is asked for.
    async fn client(&self, refresh: bool) -> Result<Arc<RpClient>, OidcError> {
        let mut slot = self.discovered.lock().await;
        if let Some(d) = slot.as_ref() {
            if !refresh && d.at.elapsed() < DISCOVERY_TTL {
                return Ok(d.client.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| OidcError::Discovery(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Discovery(describe(&e)))?;
        let redirect = RedirectUrl::new(self.config.redirect_url.clone())
            .map_err(|e| OidcError::Discovery(e.to_string()))?;
        let client = RpClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(
                self.config.client_secret.expose().to_owned(),
            )),
        )
        .set_redirect_uri(redirect);
        let client = Arc::new(client);
        *slot = Some(Discovered {
            client: client.clone(),
            at: Instant::now(),
        });
        tracing::info!(issuer = %self.config.issuer, "Discovered the OpenID Connect provider.");
        Ok(client)
    }

    /// Keeps a pending sign-in. When `MAX_PENDING` live ones are held already, the new one is
    /// refused rather than pushing out someone's sign-in in progress (a flood of `/login`
    /// cannot cancel real sign-ins).
    fn remember(&self, state: String, pending: Pending) -> Result<(), OidcError> {
        let now = pending.created;
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_PENDING {
            map.retain(|_, p| now.duration_since(p.created) < PENDING_TTL);
            if map.len() >= MAX_PENDING {
                return Err(OidcError::Busy);
            }
        }
        map.insert(state, pending);
        Ok(())
    }

    /// The pending sign-in of `state`, removed: each state is good for one callback, and only
    /// in the browser that started it.
    fn take(&self, state: &str, binding: &str, now: Instant) -> Result<Pending, OidcError> {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let same_browser = map
            .get(state)
            .map(|p| super::csrf::tokens_match(&sha256_hex(binding), &p.binding));
        match same_browser {
            None => return Err(OidcError::UnknownState),
            Some(false) => return Err(OidcError::OtherBrowser),
            Some(true) => {}
        }
        let pending = map.remove(state).ok_or(OidcError::UnknownState)?;
        if now.duration_since(pending.created) >= PENDING_TTL {
            return Err(OidcError::Expired);
        }
        Ok(pending)
    }

    #[cfg(test)]
    fn pending_count(&self) -> usize {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// An error with its causes, one after the other.
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn identity(claims: &Claims, next: String) -> Identity {
    let subject = claims.subject().as_str().to_owned();
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_owned())
        .or_else(|| claims.preferred_username().map(|u| u.as_str().to_owned()))
        .or_else(|| claims.email().map(|e| e.as_str().to_owned()))
        .unwrap_or_else(|| subject.clone());
    let all_claims = match serde_json::to_value(claims) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    Identity {
        issuer: claims.issuer().as_str().to_owned(),
        subject,
        name,
        claims: claims.additional_claims().claims.clone(),
        all_claims,
        next,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn next_is_kept_only_as_a_local_path() {
        assert_eq!(local_path(Some("/runs/abc?x=1")), "/runs/abc?x=1");
        for bad in [
            "https://evil.example",
            "//evil.example/x",
            "/\\evil.example",
            "evil",
            "",
            "/a\nb",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn issuer_and_redirect_must_be_https_or_loopback() {
        assert!(check_issuer("https://login.example.com/realm").is_ok());
        assert!(check_issuer("http://127.0.0.1:4000").is_ok());
        assert!(check_issuer("http://localhost:4000").is_ok());
        let e = check_issuer("http://login.example.com").unwrap_err();
        assert!(e.contains("expected https"), "{e}");
        assert!(check_issuer("not a url").is_err());
        assert!(check_redirect_url("https://muster.example.com/callback").is_ok());
        let e = check_redirect_url("https://muster.example.com/cb").unwrap_err();
        assert!(e.contains("/callback"), "{e}");
        assert!(check_redirect_url("http://muster.example.com/callback").is_err());
    }

    fn rp() -> RelyingParty {
        RelyingParty::new(OidcConfig {
            issuer: "http://127.0.0.1:9".into(),
            client_id: "muster".into(),
            client_secret: Secret::new("s"),
            redirect_url: "http://127.0.0.1:8440/callback".into(),
            scopes: vec!["openid".into()],
        })
        .unwrap()
    }

    fn pending(created: Instant) -> Pending {
        Pending {
            verifier: PkceCodeVerifier::new("v".repeat(43)),
            nonce: Nonce::new("n".into()),
            next: "/".into(),
            created,
            binding: sha256_hex("b"),
        }
    }

    #[test]
    fn a_state_is_used_once_and_expires() {
        let rp = rp();
        let t0 = Instant::now();
        rp.remember("s1".into(), pending(t0)).unwrap();
        assert!(rp.take("s1", "b", t0).is_ok());
        assert!(matches!(
            rp.take("s1", "b", t0),
            Err(OidcError::UnknownState)
        ));
        rp.remember("s2".into(), pending(t0)).unwrap();
        assert!(matches!(
            rp.take("s2", "b", t0 + PENDING_TTL),
            Err(OidcError::Expired)
        ));
        assert!(matches!(
            rp.take("s2", "b", t0),
            Err(OidcError::UnknownState)
        ));
    }

    #[test]
    fn a_state_is_taken_only_by_the_browser_that_started_it() {
        let rp = rp();
        let t0 = Instant::now();
        rp.remember("s1".into(), pending(t0)).unwrap();
        for other in ["", "c", "B"] {
            assert!(matches!(
                rp.take("s1", other, t0),
                Err(OidcError::OtherBrowser)
            ));
        }
        // Another browser's attempt does not use the state up.
        assert!(rp.take("s1", "b", t0).is_ok());
    }

    #[test]
    fn pending_sign_ins_stay_bounded_and_are_never_pushed_out() {
        let rp = rp();
        let t0 = Instant::now();
        for i in 0..MAX_PENDING {
            rp.remember(format!("s{i}"), pending(t0)).unwrap();
        }
        // Full of live sign-ins: a new one is refused, the first one still finishes.
        assert!(matches!(
            rp.remember("late".into(), pending(t0)),
            Err(OidcError::Busy)
        ));
        assert_eq!(rp.pending_count(), MAX_PENDING);
        assert!(rp.take("s0", "b", t0).is_ok());
        assert!(rp.remember("s0-again".into(), pending(t0)).is_ok());
        // Once they have expired, there is room again.
        assert!(rp
            .remember("later".into(), pending(t0 + PENDING_TTL))
            .is_ok());
        assert_eq!(rp.pending_count(), 1);
    }

    #[tokio::test]
    async fn an_unreachable_provider_is_a_discovery_error() {
        let e = rp().begin("/".into()).await.unwrap_err();
        assert!(e.is_provider_fault(), "{e}");
    }
}
