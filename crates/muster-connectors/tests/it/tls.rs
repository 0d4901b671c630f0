//! A custom CA bundle for TLS: the SCIM simulator served over HTTPS on 127.0.0.1 with a
//! certificate signed by a CA generated here. The connector reaches it through `ca_file`, and
//! without it refuses the server before any request is made.

use super::scim_config;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use muster_connectors::ScimConnector;
use muster_core::connector::Connector;
use muster_core::TargetName;
use muster_sim::scim::{ScimSim, ScimSimConfig, ScimState};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// A CA (PEM) and a certificate chain and key for `127.0.0.1` signed by it.
fn private_ca() -> (String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Muster test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca_cert, &ca_key)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    (ca_cert.pem(), vec![leaf.der().clone()], key)
}

/// Serves the simulator's router over TLS until the test ends; returns its base URL.
async fn serve_tls(
    state: ScimState,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let base_url = format!("https://{}/scim/v2", listener.local_addr().unwrap());
    state.set_base_url(&base_url);
    let router = ScimSim::app(state);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to serve.
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = service_fn(move |req: hyper::Request<Incoming>| {
                    let router = router.clone();
                    async move { router.oneshot(req).await }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    base_url
}

#[tokio::test]
async fn a_private_ca_is_trusted_through_ca_file_and_refused_without_it() {
    let (ca_pem, chain, key) = private_ca();
    let state = ScimState::new(ScimSimConfig::default());
    state
        .seed_user(json!({ "userName": "alice@example.org" }))
        .unwrap();
    let base_url = serve_tls(state.clone(), chain, key).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("private-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();

    // Without the CA: the handshake fails, no request reaches the server.
    let plain = scim_config(&base_url, "sim-token", dir.path(), "");
    let refused = match ScimConnector::connect(TargetName::new("tls"), &plain).await {
        Err(e) => e.to_string(),
        Ok(c) => c.read_all().await.unwrap_err().to_string(),
    };
    assert!(
        refused.contains("certificate") || refused.contains("UnknownIssuer"),
        "{refused}"
    );
    assert_eq!(state.total_requests(), 0, "nothing was sent without trust");

    // With it: the connector reads the server.
    let trusting = scim_config(
        &base_url,
        "sim-token",
        dir.path(),
        &format!("ca_file = {:?}", ca_file.display().to_string()),
    );
    let conn = ScimConnector::connect(TargetName::new("tls"), &trusting)
        .await
        .unwrap();
    let observed = conn.read_all().await.unwrap();
    assert_eq!(observed.accounts.len(), 1);
    assert!(state.total_requests() > 0);
}
