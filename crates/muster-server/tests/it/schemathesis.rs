//! Schemathesis (PyPI) against the served OpenAPI document, with an admin token: generated
//! requests, valid and invalid, must get answers the document describes and never a 5xx.
//! `scripts/test.sh` installs it into `.venv-schemathesis`; `SCHEMATHESIS_BIN` overrides.

use crate::support::TestServer;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

fn binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("SCHEMATHESIS_BIN") {
        return Some(PathBuf::from(bin));
    }
    let venv = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../.venv-schemathesis/bin/schemathesis"
    ));
    venv.exists().then_some(venv)
}

#[tokio::test]
async fn the_served_openapi_document_holds_under_schemathesis() {
    let Some(bin) = binary() else {
        eprintln!("\n\n!!!!! SKIPPED: schemathesis is not installed. Run ./scripts/test.sh (it installs it into .venv-schemathesis) or set SCHEMATHESIS_BIN. !!!!!\n");
        return;
    };
    // Schemathesis also sends requests without a valid token; the per-address limit on failed
    // authentications would soon answer everything with 429 (that limit has its own test).
    let server = TestServer::start("auth_failures_per_minute = 1000000\n", |t| t).await;
    let mut child = tokio::process::Command::new(&bin)
        .arg("run")
        .arg(format!("{}/api/v1/openapi.json", server.base))
        .arg("--url")
        .arg(&server.base)
        .arg("--header")
        .arg(format!("Authorization: Bearer {}", server.admin))
        .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance"])
        .args(["--max-examples", "25", "--seed", "1", "--workers", "1"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let read = |mut r: Box<dyn tokio::io::AsyncRead + Unpin + Send>| async move {
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut r, &mut text)
            .await
            .unwrap();
        text
    };
    // Dropped on timeout, the child is killed (`kill_on_drop`).
    let run = async move {
        let (out, err) = tokio::join!(read(Box::new(stdout)), read(Box::new(stderr)));
        let status = child.wait().await.unwrap();
        (out, err, status)
    };
    let (out, err, status) = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("schemathesis did not finish within 10 minutes");
    eprintln!("{out}");
    assert!(server.stop().await.0);
    assert!(
        status.success(),
        "schemathesis found problems:\n{out}\n{err}"
    );
}
