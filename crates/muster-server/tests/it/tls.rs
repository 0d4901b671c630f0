//! `[server] tls`: the server speaks HTTPS with a certificate from files (rustls); a client
//! that trusts the certificate's CA reaches `/healthz` and the API, one that does not is
//! refused during the handshake.

use crate::email::private_ca;
use crate::support::TestServer;
use reqwest::StatusCode;

#[tokio::test]
async fn the_server_serves_https_with_the_configured_certificate() {
    let scratch = tempfile::tempdir().unwrap();
    let (ca, cert, key) = private_ca();
    let (cert_file, key_file) = (
        scratch.path().join("cert.pem"),
        scratch.path().join("key.pem"),
    );
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let tls = format!(
        "tls = {{ cert = {:?}, key = {:?} }}\n",
        cert_file.display().to_string(),
        key_file.display().to_string()
    );
    let server = TestServer::start(&tls, |t| t).await;
    let serving = server.serving.as_ref().unwrap();
    assert!(serving.tls);
    let base = format!("https://{}", serving.addr);
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .build()
        .unwrap();
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let runs = client
        .get(format!("{base}/api/v1/runs"))
        .bearer_auth(&server.viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(runs.status(), StatusCode::OK);
    assert_eq!(runs.text().await.unwrap(), "[]");
    // Without the CA the certificate is not trusted; plain HTTP gets no answer either.
    let untrusted = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .send()
        .await;
    assert!(untrusted.is_err(), "{untrusted:?}");
    let plain = reqwest::Client::new()
        .get(format!("http://{}/healthz", serving.addr))
        .send()
        .await;
    assert!(plain.map(|r| r.status() != StatusCode::OK).unwrap_or(true));
    assert!(server.stop().await.0);
}
