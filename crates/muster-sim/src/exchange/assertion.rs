//! Certificate credentials at the token endpoint: a `client_assertion` checked as Microsoft
//! Entra checks it. The header's `x5t` (base64url SHA-1 of the certificate's DER) or
//! `x5t#S256` must name a certificate registered for the app, the RS256 signature must verify
//! with its public key, `aud` must be this token endpoint (the tenant by domain or id),
//! `iss` = `sub` = the client id, the time now (plus the switches' `clock_offset_s`) within
//! `nbf`..`exp` give or take five minutes of skew, and the `jti` unused. Refusals carry
//! Entra's AADSTS codes; Entra documents no code of its own for a replayed `jti`, so that
//! refusal has none.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The `client_assertion_type` Entra accepts.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The clock skew tolerated on `nbf` and `exp`, in seconds.
pub const SKEW_S: i64 = 300;

/// A certificate registered for the app, by its thumbprints.
#[derive(Debug, Clone)]
pub struct Registered {
    x5t: String,
    x5t_s256: String,
    der: CertificateDer<'static>,
}

/// Parses the certificates of `pems` (each PEM text may hold several); a text without one is
/// skipped with a warning, so its thumbprint is simply unknown.
pub fn register(pems: &[String]) -> Vec<Registered> {
    let mut out = Vec::new();
    for (i, pem) in pems.iter().enumerate() {
        let before = out.len();
        for der in CertificateDer::pem_slice_iter(pem.as_bytes()).flatten() {
            out.push(Registered {
                x5t: URL_SAFE_NO_PAD.encode(Sha1::digest(der.as_ref())),
                x5t_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(der.as_ref())),
                der,
            });
        }
        if out.len() == before {
            tracing::warn!(
                index = i,
                "No certificate in a registered PEM text; ignored."
            );
        }
    }
    out
}

/// Why an assertion was refused: the OAuth `error` and Entra's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error: &'static str,
    pub description: String,
}

fn refuse(error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal {
        error,
        description: description.into(),
    }
}

fn malformed(why: &str) -> Refusal {
    refuse(
        "invalid_request",
        format!("AADSTS50027: JWT token is invalid or malformed ({why})."),
    )
}

/// What an assertion is checked against.
pub struct Expected<'a> {
    pub client_id: &'a str,
    /// Whether an `aud` names this token endpoint.
    pub audience_ok: &'a dyn Fn(&str) -> bool,
    /// Now, in Unix seconds, on the endpoint's clock.
    pub now: i64,
}

/// Checks `assertion`; on success returns its `jti` and `exp` for the replay check.
pub fn verify(
    registered: &[Registered],
    assertion: &str,
    want: &Expected<'_>,
) -> Result<(String, i64), Refusal> {
    let mut parts = assertion.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not three dot-separated parts"));
    };
    let json = |part: &str| -> Option<Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
    };
    let header = json(h).ok_or_else(|| malformed("the header is not base64url JSON"))?;
    let claims = json(p).ok_or_else(|| malformed("the payload is not base64url JSON"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| malformed("the signature is not base64url"))?;
    if header["alg"] != "RS256" {
        return Err(malformed("alg must be RS256"));
    }
    let x5t = header["x5t"].as_str();
    let x5t_s256 = header["x5t#S256"].as_str();
    if x5t.is_none() && x5t_s256.is_none() {
        return Err(refuse(
            "invalid_client",
            "AADSTS5002723: Invalid JWT token. No certificate thumbprint specified in token header.",
        ));
    }
    let Some(cert) = registered
        .iter()
        .find(|c| Some(c.x5t.as_str()) == x5t || Some(c.x5t_s256.as_str()) == x5t_s256)
    else {
        let thumb = x5t
            .and_then(|t| URL_SAFE_NO_PAD.decode(t).ok())
            .map(|b| b.iter().map(|x| format!("{x:02X}")).collect::<String>())
            .unwrap_or_default();
        return Err(refuse(
            "invalid_client",
            format!("AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumb}']"),
        ));
    };
    let verified = webpki::EndEntityCert::try_from(&cert.der).is_ok_and(|c| {
        c.verify_signature(
            webpki::ring::RSA_PKCS1_2048_8192_SHA256,
            format!("{h}.{p}").as_bytes(),
            &signature,
        )
        .is_ok()
    });
    if !verified {
        return Err(refuse(
            "invalid_client",
            "AADSTS700027: Client assertion failed signature validation.",
        ));
    }
    let aud = claims["aud"].as_str().unwrap_or("");
    if !(want.audience_ok)(aud) {
        return Err(refuse(
            "invalid_client",
            format!("AADSTS700023: Client assertion audience claim does not match Realm issuer. Review the documentation at https://aka.ms/certCredentials . Provided audience: '{aud}'."),
        ));
    }
    if claims["iss"] != want.client_id || claims["sub"] != want.client_id {
        return Err(refuse(
            "invalid_client",
            "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://aka.ms/certCredentials .",
        ));
    }
    let exp = claims["exp"]
        .as_i64()
        .ok_or_else(|| malformed("exp is missing"))?;
    let nbf = claims["nbf"].as_i64().unwrap_or(i64::MIN);
    if want.now > exp.saturating_add(SKEW_S) || want.now < nbf.saturating_sub(SKEW_S) {
        return Err(refuse(
            "invalid_client",
            format!("AADSTS700024: Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://aka.ms/certCredentials .", want.now, nbf, exp),
        ));
    }
    let jti = claims["jti"]
        .as_str()
        .filter(|j| !j.is_empty())
        .ok_or_else(|| malformed("jti is missing"))?;
    Ok((jti.to_owned(), exp))
}

/// The `jti`s seen, each kept until its assertion could no longer be accepted.
#[derive(Debug, Default)]
pub struct SeenJtis(BTreeMap<String, i64>);

impl SeenJtis {
    /// Records `jti`; a refusal when it was seen before. Forgets the expired ones first, so
    /// the set stays as small as the assertions still alive.
    pub fn record(&mut self, jti: String, exp: i64, now: i64) -> Result<(), Refusal> {
        self.0.retain(|_, e| e.saturating_add(SKEW_S) >= now);
        if self.0.contains_key(&jti) {
            return Err(refuse(
                "invalid_client",
                "The client assertion's jti was already used: a client assertion is good for one token request.",
            ));
        }
        self.0.insert(jti, exp);
        Ok(())
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}
