//! The e-mail report after a run, received by a real SMTP server: aiosmtpd (PyPI) on
//! 127.0.0.1, run by `smtp_sink.py`. `scripts/test.sh` installs it into `.venv-aiosmtpd`;
//! `AIOSMTPD_PYTHON` names another Python that has it. With `MUSTER_REQUIRE_SMTP=1` (as
//! test.sh sets) a missing aiosmtpd fails the tests instead of skipping them.

use crate::api::BLOCK_CREATES;
use crate::support::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

const SINK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/smtp_sink.py");
const SMTP_PASSWORD: &str = "smtp-pa55word-never-in-mail";

fn python() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("AIOSMTPD_PYTHON") {
        return Some(PathBuf::from(bin));
    }
    let venv = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../.venv-aiosmtpd/bin/python"
    ));
    if venv.exists() {
        return Some(venv);
    }
    assert!(
        std::env::var("MUSTER_REQUIRE_SMTP").as_deref() != Ok("1"),
        "MUSTER_REQUIRE_SMTP=1 but aiosmtpd is not installed in .venv-aiosmtpd (run ./scripts/test.sh) and AIOSMTPD_PYTHON is not set"
    );
    eprintln!("\n\n!!!!! SKIPPED: aiosmtpd is not installed. Run ./scripts/test.sh (it installs it into .venv-aiosmtpd) or set AIOSMTPD_PYTHON. !!!!!\n");
    None
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

struct Sink {
    child: Child,
    dir: tempfile::TempDir,
}

#[derive(Default)]
struct SinkOptions<'a> {
    login: Option<(&'a str, &'a str)>,
    tls: Option<(&'a Path, &'a Path)>,
}

impl Sink {
    /// Starts aiosmtpd on `port` and waits (at most 20 s) until it listens.
    async fn start(python: &Path, port: u16, options: SinkOptions<'_>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(python);
        command.arg(SINK).arg(port.to_string()).arg(dir.path());
        if let Some((user, password)) = options.login {
            command.args(["--user", user, "--password", password]);
        }
        if let Some((cert, key)) = options.tls {
            command.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("aiosmtpd did not start within 20 s")
            .unwrap();
        assert_eq!(ready.as_deref(), Some("READY"));
        Self { child, dir }
    }

    /// The first message received (waits at most `wait`): the envelope and decoded parts
    /// (see smtp_sink.py), and the message as it came over the wire.
    async fn first_message(&self, wait: Duration) -> (Value, String) {
        let json = self.dir.path().join("1.json");
        let polls = wait.as_millis() / 100;
        for _ in 0..polls {
            if let Ok(text) = std::fs::read_to_string(&json) {
                let raw = std::fs::read_to_string(self.dir.path().join("1.eml")).unwrap();
                return (serde_json::from_str(&text).unwrap(), raw);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no message arrived within {wait:?}");
    }

    async fn stop(mut self) {
        // Closing its standard input ends it.
        drop(self.child.stdin.take());
        let ended = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        if ended.is_err() {
            self.child.kill().await.unwrap();
        }
    }
}

/// `[server.email]` to the sink on `port`, the password from a file in `dir`.
fn email_config(dir: &Path, port: u16, security: &str, extra: &str) -> String {
    let password = dir.join("smtp-password");
    std::fs::write(&password, format!("{SMTP_PASSWORD}\n")).unwrap();
    format!(
        "[server.email]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"{security}\"\n\
         user = \"muster\"\npassword = {{ file = {:?} }}\n\
         from = \"Muster <muster@example.org>\"\nto = [\"ops@example.org\", \"Helpdesk <helpdesk@example.org>\"]\n\
         dashboard_url = \"https://muster.example.org/ui/\"\n{extra}",
        password.display().to_string()
    )
}

/// The secrets the report must never hold.
fn assert_no_secrets(raw: &str, message: &Value) {
    for secret in ["t0ken-for-tests", SMTP_PASSWORD] {
        assert!(!raw.contains(secret), "{secret} in the message: {raw}");
        assert!(
            !message.to_string().contains(secret),
            "{secret} in {message}"
        );
    }
}

#[tokio::test]
async fn a_blocked_apply_mails_a_report_with_the_way_to_approve_it() {
    let Some(python) = python() else { return };
    let port = free_port();
    let sink = Sink::start(
        &python,
        port,
        SinkOptions {
            login: Some(("muster", SMTP_PASSWORD)),
            ..SinkOptions::default()
        },
    )
    .await;
    let scratch = tempfile::tempdir().unwrap();
    let email = email_config(
        scratch.path(),
        port,
        "none-loopback-only",
        "only_on = \"problems\"\n",
    );
    let server = TestServer::start(&email, BLOCK_CREATES).await;
    let (status, body) = server
        .post("/api/v1/runs", &server.admin, json!({"mode": "apply"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let run = server.wait_for_runs(1).await;
    assert_eq!(run["status"], "blocked", "{run}");
    let id = run["id"].as_str().unwrap();

    let (message, raw) = sink.first_message(Duration::from_secs(30)).await;
    assert_eq!(message["from"], "muster@example.org");
    assert_eq!(
        message["to"],
        json!(["ops@example.org", "helpdesk@example.org"])
    );
    assert_eq!(message["login"], "muster", "AUTH was used");
    let subject = message["subject"].as_str().unwrap();
    assert!(
        subject.starts_with(&format!("Muster apply {}: blocked", &id[..8])),
        "{subject}"
    );
    assert_eq!(message["content_type"], "multipart/alternative");
    let text = message["parts"]["text/plain"].as_str().unwrap();
    let html = message["parts"]["text/html"].as_str().unwrap();
    let link = format!("https://muster.example.org/ui/runs/{id}");
    for part in [text, html] {
        assert!(part.contains("Target scim"), "{part}");
        assert!(part.contains(&format!("muster approve {id}")), "{part}");
        assert!(part.contains(&link), "{part}");
    }
    assert!(html.contains(&format!("<a href=\"{link}\">")), "{html}");
    assert!(text.contains("create 0 done, "), "{text}");
    assert_no_secrets(&raw, &message);
    assert!(server.stop().await.0);
    sink.stop().await;
}

#[tokio::test]
async fn a_report_the_smtp_server_missed_is_retried_until_it_comes_up() {
    let Some(python) = python() else { return };
    let port = free_port();
    let scratch = tempfile::tempdir().unwrap();
    let email = email_config(
        scratch.path(),
        port,
        "none-loopback-only",
        "retry_attempts = 20\nretry_first_delay_seconds = 1\nretry_max_delay_seconds = 1\n",
    );
    let server = TestServer::start(&email, |t| t).await;
    let (status, body) = server
        .post("/api/v1/runs", &server.admin, json!({"mode": "apply"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let run = server.wait_for_runs(1).await;
    // The run did its work although no mail could be sent.
    assert_eq!(run["status"], "changes", "{run}");
    assert!(!server.sim.state.users().is_empty());
    let id = run["id"].as_str().unwrap().to_owned();
    // Let at least one attempt fail, then bring the server up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let sink = Sink::start(
        &python,
        port,
        SinkOptions {
            login: Some(("muster", SMTP_PASSWORD)),
            ..SinkOptions::default()
        },
    )
    .await;
    let (message, raw) = sink.first_message(Duration::from_secs(30)).await;
    let subject = message["subject"].as_str().unwrap();
    assert!(
        subject.starts_with(&format!("Muster apply {}: changes", &id[..8])),
        "{subject}"
    );
    let text = message["parts"]["text/plain"].as_str().unwrap();
    assert!(text.contains("Changed ("), "{text}");
    assert!(text.contains("create "), "{text}");
    assert_no_secrets(&raw, &message);
    assert!(server.stop().await.0);
    sink.stop().await;
}

/// A CA (PEM), and a certificate (PEM) for 127.0.0.1 signed by it with its key (PEM).
pub fn private_ca() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
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
    (ca_cert.pem(), leaf.pem(), leaf_key.serialize_pem())
}

#[tokio::test]
async fn a_report_goes_over_starttls_with_auth() {
    let Some(python) = python() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let (ca, cert, key) = private_ca();
    let (ca_file, cert_file, key_file) = (
        scratch.path().join("ca.pem"),
        scratch.path().join("cert.pem"),
        scratch.path().join("key.pem"),
    );
    std::fs::write(&ca_file, ca).unwrap();
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let port = free_port();
    let sink = Sink::start(
        &python,
        port,
        SinkOptions {
            login: Some(("muster", SMTP_PASSWORD)),
            tls: Some((&cert_file, &key_file)),
        },
    )
    .await;
    let email = email_config(
        scratch.path(),
        port,
        "starttls",
        &format!("ca_file = {:?}\n", ca_file.display().to_string()),
    );
    let server = TestServer::start(&email, |t| t).await;
    let (status, body) = server
        .post("/api/v1/runs", &server.admin, json!({"mode": "plan"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let run = server.wait_for_runs(1).await;
    let (message, raw) = sink.first_message(Duration::from_secs(30)).await;
    assert_eq!(message["tls"], true, "sent after STARTTLS");
    assert_eq!(message["login"], "muster");
    let subject = message["subject"].as_str().unwrap();
    let id = run["id"].as_str().unwrap();
    assert!(
        subject.starts_with(&format!("Muster preview {}: changes", &id[..8])),
        "{subject}"
    );
    let text = message["parts"]["text/plain"].as_str().unwrap();
    assert!(text.contains("Would change ("), "{text}");
    assert_no_secrets(&raw, &message);
    assert!(server.stop().await.0);
    sink.stop().await;
}
