//! The real OpenID Connect provider the sign-in tests use (oidc.rs, and the browser test in
//! dashboard.rs): npm `oidc-provider`, pinned in tests/oidc/package.json and started by
//! tests/oidc/provider.mjs on 127.0.0.1. Its accounts: `alice` (groups `staff`,
//! `muster-admins`), `victor` (`muster-viewers`) and `mallory` (no Muster group).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The client secret the provider and the server share in tests.
pub const SECRET: &str = "a-client-secret-for-tests-only-0123456789";

pub fn provider_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/oidc"))
}

/// Whether the provider's packages are installed (`npm ci` in tests/oidc).
pub fn installed() -> bool {
    provider_dir().join("node_modules/oidc-provider").exists()
}

/// The provider's process; killed when dropped, whatever the test did.
pub struct Provider {
    child: Child,
    pub issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Starts the provider with one client whose redirect URI is `redirect`, signing ID tokens
/// with `alg`; `None` (the test skips) when its packages are not installed and
/// MUSTER_REQUIRE_OIDC is not set.
pub async fn start_provider(redirect: &str, alg: &str) -> Option<Provider> {
    let dir = provider_dir();
    if !installed() {
        assert!(
            std::env::var_os("MUSTER_REQUIRE_OIDC").is_none(),
            "MUSTER_REQUIRE_OIDC is set but {} has no node_modules: run `npm ci` there",
            dir.display()
        );
        eprintln!("\n\n!!!!! SKIPPED: oidc-provider is not installed. Run ./scripts/test.sh (it runs `npm ci` in tests/oidc). !!!!!\n");
        return None;
    }
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .current_dir(&dir)
        .env("REDIRECT_URI", redirect)
        .env("CLIENT_SECRET", SECRET)
        .env("PORT", "0")
        .env("ID_TOKEN_ALG", alg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(port) = line.strip_prefix("listening ") {
                return port.trim().parse::<u16>().unwrap();
            }
        }
        panic!("the provider exited before it listened");
    })
    .await
    .expect("the provider did not listen within 30 s");
    // Keep reading what it prints: with the pipe closed, its next notice would kill it (EPIPE).
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Some(Provider {
        child,
        issuer: format!("http://127.0.0.1:{port}"),
    })
}

/// A port that was free a moment ago, for the server whose redirect URL the provider must know
/// before the server starts.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The `[server.oidc]` section for a server signing in at `provider`, coming back to
/// `callback`: the client secret from a file in the returned folder (keep it while the server
/// runs); group `muster-admins` is admin (alice), `muster-viewers` viewer (victor).
pub fn oidc_section(provider: &Provider, callback: &str) -> (String, tempfile::TempDir) {
    let secrets = tempfile::tempdir().unwrap();
    let secret_file = secrets.path().join("oidc-client-secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let section = format!(
        "[server.oidc]\nissuer = \"{}\"\nclient_id = \"muster\"\nclient_secret = {{ file = {:?} }}\nredirect_url = \"{callback}\"\nscopes = [\"openid\", \"profile\", \"groups\"]\nroles_claim = \"groups\"\nadmin = [\"muster-admins\"]\nviewer = [\"muster-viewers\"]\n",
        provider.issuer,
        secret_file.display().to_string()
    );
    (section, secrets)
}

/// Makes the server of `TestServer::start` listen on `port` (for a redirect URL known in advance).
pub fn listen_on(port: u16) -> impl Fn(String) -> String {
    move |t| {
        t.replace(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"127.0.0.1:{port}\""),
        )
    }
}
