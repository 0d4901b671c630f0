//! The bearer token of an Entra custom authentication extension call, verified with the
//! `jsonwebtoken` crate: RS256 only (a header naming `none` or any other algorithm is refused
//! before a key is looked at), the signature by a key of the configured JWKS (cached; fetched
//! again for an unknown `kid`, at most once per `jwks_refetch`, and every hour), `iss`
//! exactly, `aud` one of the configured, `exp` and `nbf` with a minute of skew, and `azp`
//! (v2) or `appid` (v1) the authentication events service. The token itself is never logged.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 60;
/// How long fetched keys are used before they are fetched again.
const KEYS_TTL: Duration = Duration::from_secs(3600);
/// Bound on one fetch of the keys: well inside a hook's budget.
const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest JWKS document read.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Why a token is refused. Messages name no part of the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is not a signed JWT: {0}")]
    Malformed(String),
    #[error("the token is signed with {0}, not RS256")]
    Algorithm(String),
    #[error("the token's key `{0}` is not among the identity provider's keys")]
    UnknownKey(String),
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token is for another audience")]
    Audience,
    #[error("the token is from another issuer")]
    Issuer,
    #[error("the token was not issued to the authentication events service (azp/appid `{0}`)")]
    AuthorizedParty(String),
    #[error("the token lacks the claim `{0}`")]
    MissingClaim(String),
    #[error("the identity provider's keys cannot be fetched: {0}")]
    Keys(String),
}

impl TokenError {
    /// Whether Muster, not the caller, is at fault (the keys cannot be had): 503, not 401.
    pub fn is_ours(&self) -> bool {
        matches!(self, Self::Keys(_))
    }
}

/// What a verified token tells.
#[derive(Debug, Clone)]
pub struct Verified {
    /// `jti`, else `uti` (Microsoft's), else a digest of the token: for replay detection.
    pub token_id: String,
    /// `exp` as seconds since the epoch.
    pub expires: u64,
    /// `tid`, when the token has one.
    pub tenant: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    exp: u64,
    azp: Option<String>,
    appid: Option<String>,
    tid: Option<String>,
    jti: Option<String>,
    uti: Option<String>,
}

/// The checks of one hook's tokens.
pub struct Verifier {
    jwks: Jwks,
    issuer: String,
    audience: Vec<String>,
    authorized_party: String,
}

impl Verifier {
    pub fn new(
        jwks: Jwks,
        issuer: String,
        audience: Vec<String>,
        authorized_party: String,
    ) -> Self {
        Self {
            jwks,
            issuer,
            audience,
            authorized_party,
        }
    }

    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    /// Verifies `token` (the bearer value).
    pub async fn verify(&self, token: &str) -> Result<Verified, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(describe(&e)))?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header
            .kid
            .ok_or_else(|| TokenError::Malformed("the header names no key (`kid`)".to_owned()))?;
        let key = self.jwks.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audience);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(refusal)?;
        let claims = data.claims;
        let party = claims.azp.or(claims.appid).unwrap_or_default();
        if party != self.authorized_party {
            return Err(TokenError::AuthorizedParty(party));
        }
        let token_id = claims
            .jti
            .or(claims.uti)
            .unwrap_or_else(|| crate::web::session::sha256_hex(token));
        Ok(Verified {
            token_id,
            expires: claims.exp,
            tenant: claims.tid,
        })
    }
}

fn refusal(e: jsonwebtoken::errors::Error) -> TokenError {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::InvalidSignature => TokenError::Signature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidAudience => TokenError::Audience,
        ErrorKind::InvalidIssuer => TokenError::Issuer,
        ErrorKind::MissingRequiredClaim(c) => TokenError::MissingClaim(c.clone()),
        ErrorKind::InvalidAlgorithm => TokenError::Algorithm("another algorithm".to_owned()),
        _ => TokenError::Malformed(describe(&e)),
    }
}

fn describe(e: &dyn std::error::Error) -> String {
    e.to_string()
}

/// A JWKS document: only RSA signing keys with a `kid` are kept.
#[derive(Debug, Deserialize)]
struct KeySet {
    keys: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct RsaJwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// The RSA signing keys of a JWKS document by `kid`.
pub fn parse_keys(body: &[u8]) -> Result<HashMap<String, Arc<DecodingKey>>, String> {
    let set: KeySet =
        serde_json::from_slice(body).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut keys = HashMap::new();
    for value in set.keys {
        let Ok(jwk) = serde_json::from_value::<RsaJwk>(value) else {
            continue;
        };
        let signing = jwk.usage.as_deref().map_or(true, |u| u == "sig");
        let rs256 = jwk.alg.as_deref().map_or(true, |a| a == "RS256");
        let (Some(kid), Some(n), Some(e)) = (jwk.kid, jwk.n, jwk.e) else {
            continue;
        };
        if jwk.kty != "RSA" || !signing || !rs256 {
            continue;
        }
        if let Ok(key) = DecodingKey::from_rsa_components(&n, &e) {
            keys.insert(kid, Arc::new(key));
        }
    }
    Ok(keys)
}

struct KeyState {
    keys: HashMap<String, Arc<DecodingKey>>,
    /// When the keys were last fetched successfully.
    fetched: Option<Instant>,
    /// When a fetch was last tried (the refetch limit counts from here).
    tried: Option<Instant>,
}

/// The identity provider's keys, fetched from its JWKS URL and cached.
pub struct Jwks {
    url: String,
    http: reqwest::Client,
    refetch: Duration,
    state: tokio::sync::Mutex<KeyState>,
    fetches: std::sync::atomic::AtomicU64,
}

impl Jwks {
    pub fn new(url: String, refetch: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| format!("no HTTP client: {e}"))?;
        Ok(Self {
            url,
            http,
            refetch,
            state: tokio::sync::Mutex::new(KeyState {
                keys: HashMap::new(),
                fetched: None,
                tried: None,
            }),
            fetches: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// How many times the keys were fetched (tried), for tests and metrics.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The key `kid`: from the cache while it is fresh; otherwise, or when `kid` is unknown
    /// and the last fetch is at least `refetch` ago, after fetching the keys again.
    async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, TokenError> {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let fresh = state
            .fetched
            .is_some_and(|t| now.duration_since(t) < KEYS_TTL);
        if fresh {
            if let Some(k) = state.keys.get(kid) {
                return Ok(k.clone());
            }
        }
        let may_fetch = !fresh
            || state
                .tried
                .map_or(true, |t| now.duration_since(t) >= self.refetch);
        if may_fetch {
            state.tried = Some(now);
            self.fetches
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match self.fetch().await {
                Ok(keys) => {
                    state.keys = keys;
                    state.fetched = Some(now);
                }
                Err(e) => {
                    tracing::warn!(url = %self.url, error = %e, "The identity provider's keys cannot be fetched.");
                    // Keys still within their hour keep working; otherwise nothing verifies.
                    if !fresh || !state.keys.contains_key(kid) {
                        return Err(TokenError::Keys(e));
                    }
                }
            }
        }
        state
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| TokenError::UnknownKey(kid.chars().take(64).collect()))
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<DecodingKey>>, String> {
        let response = self
            .http
            .get(&self.url)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("the JWKS URL answered {}", response.status()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err("the JWKS document is too large".to_owned());
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if body.len() > MAX_JWKS_BYTES {
            return Err("the JWKS document is too large".to_owned());
        }
        let keys = parse_keys(&body)?;
        if keys.is_empty() {
            return Err("the JWKS document has no RSA signing key".to_owned());
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_rsa_signing_keys_with_a_kid_are_kept() {
        let doc = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "a", "use": "sig", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "kid": "b", "use": "enc", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "use": "sig", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "kid": "c", "alg": "RS512", "n": "sXch", "e": "AQAB"},
            {"kty": "EC", "kid": "d", "crv": "P-256", "x": "AA", "y": "AA"},
            "junk"
        ]});
        let keys = parse_keys(doc.to_string().as_bytes()).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["a"]);
        assert!(parse_keys(b"{}").is_err());
    }

    #[tokio::test]
    async fn an_unreachable_jwks_is_our_fault() {
        let jwks = Jwks::new("http://127.0.0.1:9/keys".into(), Duration::ZERO).unwrap();
        let Err(e) = jwks.key("a").await else {
            panic!("a key from nowhere");
        };
        assert!(e.is_ours(), "{e}");
        assert_eq!(jwks.fetches(), 1);
    }
}
