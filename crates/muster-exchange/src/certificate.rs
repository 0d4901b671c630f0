//! Client credentials with a certificate (Microsoft identity platform, "certificate
//! credentials"): the token request carries a `client_assertion`, a JWT signed RS256 with the
//! certificate's private key, whose header names the certificate by its thumbprints (`x5t` =
//! base64url SHA-1 of the DER, `x5t#S256` = base64url SHA-256) and whose claims are
//! aud = the token endpoint, iss = sub = the client id, a fresh `jti`, `nbf`/`iat` now and
//! `exp` five minutes later.
//!
//! The setting holds one PEM text: the certificate (the first `CERTIFICATE` block) and its
//! private key (`PRIVATE KEY`, PKCS#8; `RSA PRIVATE KEY`, PKCS#1, is accepted too), as
//! `openssl req -x509 -newkey rsa:2048 -nodes` writes them or Key Vault exports them. Signing
//! is done with `ring` directly: `jsonwebtoken` without its `use_pem` feature takes PKCS#1
//! keys only. No message here ever quotes the PEM text or any key material.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// How long an assertion is valid, in seconds.
pub const ASSERTION_LIFETIME_S: u64 = 300;

/// The `client_assertion_type` of a JWT client assertion.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A certificate and its private key, checked to belong together. `Debug` shows the
/// thumbprint only.
pub struct ClientCertificate {
    key: RsaKeyPair,
    x5t: String,
    x5t_s256: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t", &self.x5t)
            .field("key", &"***")
            .finish()
    }
}

impl ClientCertificate {
    /// Parses the PEM text; the error says what is wrong without quoting it.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let bytes = pem.as_bytes();
        let cert = match CertificateDer::pem_slice_iter(bytes).next() {
            Some(Ok(c)) => c,
            Some(Err(_)) => {
                return Err("the PEM text is damaged (a CERTIFICATE block cannot be read)".into())
            }
            None => {
                return Err(
                    "holds no certificate: expected a PEM `-----BEGIN CERTIFICATE-----` block followed by its private key"
                        .into(),
                )
            }
        };
        let key = match PrivateKeyDer::from_pem_slice(bytes) {
            Ok(PrivateKeyDer::Pkcs8(k)) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            Ok(PrivateKeyDer::Pkcs1(k)) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            Ok(_) => {
                return Err(
                    "the private key is no RSA key: Microsoft Entra signs client assertions with RSA (RS256)"
                        .into(),
                )
            }
            Err(rustls_pki_types::pem::Error::NoItemsFound) => {
                return Err(
                    "holds no private key: expected a `-----BEGIN PRIVATE KEY-----` block (PKCS#8, unencrypted) after the certificate"
                        .into(),
                )
            }
            Err(_) => {
                return Err("the PEM text is damaged (the private key block cannot be read)".into())
            }
        }
        .map_err(|_| {
            "the private key is not a usable RSA key (2048 to 4096 bits, unencrypted)".to_owned()
        })?;
        let end_entity = webpki::EndEntityCert::try_from(&cert)
            .map_err(|_| "the certificate is not a valid X.509 certificate".to_owned())?;
        // The key must be the certificate's: sign a probe and verify it with the certificate.
        let rng = SystemRandom::new();
        let probe = b"muster: does this key belong to this certificate?";
        let mut sig = vec![0u8; key.public().modulus_len()];
        key.sign(&RSA_PKCS1_SHA256, &rng, probe, &mut sig)
            .map_err(|_| "the private key cannot sign".to_owned())?;
        end_entity
            .verify_signature(webpki::ring::RSA_PKCS1_2048_8192_SHA256, probe, &sig)
            .map_err(|_| "the private key does not belong to the certificate".to_owned())?;
        Ok(Self {
            key,
            x5t: URL_SAFE_NO_PAD.encode(Sha1::digest(cert.as_ref())),
            x5t_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(cert.as_ref())),
            rng,
        })
    }

    /// The certificate's SHA-1 thumbprint, base64url (the header's `x5t`).
    pub fn x5t(&self) -> &str {
        &self.x5t
    }

    /// A fresh client assertion for `client_id` at `token_url`, issued at `now` (Unix seconds).
    pub fn assertion(&self, client_id: &str, token_url: &str, now: u64) -> Result<String, String> {
        let mut id = [0u8; 16];
        self.rng
            .fill(&mut id)
            .map_err(|_| "no random numbers for the assertion's jti".to_owned())?;
        let jti: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let header = json!({
            "alg": "RS256", "typ": "JWT", "x5t": self.x5t, "x5t#S256": self.x5t_s256,
        });
        let claims = json!({
            "aud": token_url, "iss": client_id, "sub": client_id, "jti": jti,
            "nbf": now, "iat": now, "exp": now + ASSERTION_LIFETIME_S,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| "signing the client assertion failed".to_owned())?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = include_str!("../tests/it/fixtures/app.pem");
    const OTHER: &str = include_str!("../tests/it/fixtures/other.pem");

    #[test]
    fn an_assertion_has_microsofts_header_and_claims() {
        let c = ClientCertificate::from_pem(APP).unwrap();
        let jwt = c
            .assertion("app-id", "https://login/t/token", 1000)
            .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let part = |i: usize| -> serde_json::Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[i]).unwrap()).unwrap()
        };
        let (h, p) = (part(0), part(1));
        assert_eq!(h["alg"], "RS256");
        assert_eq!(h["x5t"], c.x5t());
        assert_eq!(URL_SAFE_NO_PAD.decode(c.x5t()).unwrap().len(), 20);
        assert_eq!(p["aud"], "https://login/t/token");
        assert_eq!(
            (p["iss"].clone(), p["sub"].clone()),
            (json!("app-id"), json!("app-id"))
        );
        assert_eq!(
            (p["nbf"].clone(), p["exp"].clone()),
            (json!(1000), json!(1300))
        );
        let again = c
            .assertion("app-id", "https://login/t/token", 1000)
            .unwrap();
        assert_ne!(jwt, again, "every assertion has its own jti");
        assert!(!format!("{c:?}").contains("PRIVATE"));
    }

    #[test]
    fn bad_pem_texts_are_refused_without_quoting_them() {
        let key_only = &APP[APP.find("-----BEGIN PRIVATE KEY").unwrap()..];
        let cert_only = &APP[..APP.find("-----BEGIN PRIVATE KEY").unwrap()];
        let other_key = &OTHER[OTHER.find("-----BEGIN PRIVATE KEY").unwrap()..];
        let mismatched = format!("{cert_only}{other_key}");
        let damaged = APP.replace("MII", "M!I");
        for (text, expect) in [
            ("not a pem", "holds no certificate"),
            (key_only, "holds no certificate"),
            (cert_only, "holds no private key"),
            (mismatched.as_str(), "does not belong"),
            (damaged.as_str(), "damaged"),
        ] {
            let e = ClientCertificate::from_pem(text).unwrap_err();
            assert!(e.contains(expect), "{e}");
            assert!(!e.contains("MII"), "{e}");
        }
    }
}
