//! Certificate credentials: a signed client assertion instead of a secret, checked by the
//! simulator as Entra checks it (registered thumbprint, signature, audience, issuer, time,
//! single use). The fixtures are throw-away self-signed RSA certificates made for these tests
//! (`openssl req -x509 -newkey rsa:2048 -nodes`), each PEM holding the certificate and its key.

use crate::{config, read, tenant};
use muster_connectors::SecretRef;
use muster_exchange::{ClientCertificate, ExchangeOnlineConfig};
use muster_sim::exchange::{ExchangeSim, ExchangeSimConfig, ExchangeSwitches, RunningExchangeSim};
use muster_sources::SourceError;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

const APP_PEM: &str = include_str!("fixtures/app.pem");
const OTHER_PEM: &str = include_str!("fixtures/other.pem");
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/it/fixtures/{name}"))
}

/// A simulator that has `app.pem`'s certificate registered for the app (and a secret that
/// the configs below never send).
async fn sim_with_certificate(clock_offset_s: i64) -> RunningExchangeSim {
    ExchangeSim::start(ExchangeSimConfig {
        tenant_seed: tenant(),
        certificates: vec![APP_PEM.to_owned()],
        switches: ExchangeSwitches {
            clock_offset_s,
            ..ExchangeSwitches::default()
        },
        ..ExchangeSimConfig::default()
    })
    .await
    .unwrap()
}

/// `config(sim)` authenticating with the certificate in `pem` instead of the secret.
fn with_certificate(sim: &RunningExchangeSim, pem: SecretRef) -> ExchangeOnlineConfig {
    let mut c = config(sim);
    c.client_secret = None;
    c.certificate = Some(pem);
    c
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_with_a_registered_certificate_succeeds() {
    let sim = sim_with_certificate(0).await;
    let mut c = with_certificate(&sim, SecretRef::File(fixture("app.pem")));
    c.source_filter_groups = vec!["g-support".into()];
    let read = read(&c).await.unwrap();
    assert_eq!(read.valid_count(), 6);
    let counts = sim.state.counter().snapshot();
    assert_eq!(
        counts["POST /token"], 2,
        "one assertion for Exchange, one for Graph: {counts:?}"
    );
    assert!(!format!("{c:?}").contains("PRIVATE KEY"));
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unregistered_certificate_fails_the_read_clearly() {
    let sim = sim_with_certificate(0).await;
    let c = with_certificate(&sim, SecretRef::File(fixture("other.pem")));
    let e = read(&c).await.unwrap_err().to_string();
    assert!(
        e.contains("token endpoint (client credentials, certificate)")
            && e.contains("401")
            && e.contains("AADSTS700027")
            && e.contains("not registered"),
        "{e}"
    );
    assert!(e.contains("nothing was read"), "{e}");
    assert!(!e.contains("PRIVATE"), "{e}");
    let counts = sim.state.counter().snapshot();
    assert_eq!(counts["POST /token"], 1, "a 401 is not retried: {counts:?}");
    assert!(!counts.contains_key("GET /Mailbox"), "{counts:?}");
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_assertion_past_its_expiry_fails_the_read() {
    // The token endpoint's clock is an hour ahead: the client's five-minute assertion is stale.
    let sim = sim_with_certificate(3600).await;
    let c = with_certificate(&sim, SecretRef::File(fixture("app.pem")));
    let e = read(&c).await.unwrap_err().to_string();
    assert!(
        e.contains("401") && e.contains("AADSTS700024") && e.contains("valid time range"),
        "{e}"
    );
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_endpoint_checks_every_claim_and_refuses_a_replayed_jti() {
    let sim = sim_with_certificate(0).await;
    let url = sim.token_url();
    let app = ClientCertificate::from_pem(APP_PEM).unwrap();
    let http = reqwest::Client::new();
    let post = |assertion: String| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let r = http
                .post(&url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", "muster-app"),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", assertion.as_str()),
                    ("scope", "https://outlook.office365.com/.default"),
                ])
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap();
            (status, body)
        }
    };
    let good = app.assertion("muster-app", &url, now()).unwrap();
    let (status, body) = post(good.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string(), "{body}");
    let (status, body) = post(good).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("jti was already used"),
        "{body}"
    );
    // The tenant by its id is the same endpoint; a different URL is not.
    let by_id = url.replace(
        sim.state.tenant_name(),
        "0d2b7c1e-52f3-4a8e-9a51-6c1b2f0e4d77",
    );
    let refused = [
        (
            app.assertion("muster-app", &url, now() - 3600).unwrap(),
            "AADSTS700024",
        ),
        (
            app.assertion("muster-app", &url, now() + 3600).unwrap(),
            "AADSTS700024",
        ),
        (
            app.assertion(
                "muster-app",
                "https://login.microsoftonline.com/x/oauth2/v2.0/token",
                now(),
            )
            .unwrap(),
            "AADSTS700023",
        ),
        (
            app.assertion("other-app", &url, now()).unwrap(),
            "AADSTS700021",
        ),
        (
            ClientCertificate::from_pem(OTHER_PEM)
                .unwrap()
                .assertion("muster-app", &url, now())
                .unwrap(),
            "AADSTS700027",
        ),
    ];
    for (assertion, code) in refused {
        let (status, body) = post(assertion).await;
        assert_eq!(status, 401, "{body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with(code),
            "{code}: {body}"
        );
    }
    // A tampered payload keeps the header (so the certificate) but breaks the signature.
    let good = app.assertion("muster-app", &by_id, now()).unwrap();
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = app
        .assertion("muster-app", &url, now())
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    let (status, body) = post(parts.join(".")).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("failed signature validation"),
        "{body}"
    );
    let (status, body) = post(good).await;
    assert_eq!(status, 200, "the tenant id names the same endpoint: {body}");
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_pem_is_a_configuration_problem_that_quotes_nothing() {
    let sim = sim_with_certificate(0).await;
    let key_only = &APP_PEM[APP_PEM.find("-----BEGIN PRIVATE KEY").unwrap()..];
    let cert_only = &APP_PEM[..APP_PEM.find("-----BEGIN PRIVATE KEY").unwrap()];
    for (i, (text, expect)) in [
        (key_only, "holds no certificate"),
        (cert_only, "holds no private key"),
        (
            "-----BEGIN CERTIFICATE-----\nnot base64 at all\n",
            "damaged",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let var = format!("MUSTER_EXO_TEST_BAD_PEM_{i}");
        std::env::set_var(&var, text);
        let c = with_certificate(&sim, SecretRef::Env(var));
        let Err(SourceError::Config { problems }) = read(&c).await else {
            panic!("a bad PEM must be a configuration problem");
        };
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, "certificate");
        assert!(problems[0].message.contains(expect), "{problems:?}");
        assert!(!problems[0].message.contains("MII"), "{problems:?}");
    }
    let c = with_certificate(&sim, SecretRef::File(fixture("missing.pem")));
    let Err(SourceError::Config { problems }) = read(&c).await else {
        panic!("a missing file must be a configuration problem");
    };
    assert_eq!(problems[0].key, "certificate");
    assert!(!sim.state.counter().snapshot().contains_key("POST /token"));
    sim.shutdown().await.unwrap();
}
