//! Accounts at first sign-in (`[server.jit]`): the Entra custom authentication extension and
//! the Okta inline hooks driven over HTTP against a real server, with RSA keys made here and
//! served as a JWKS on 127.0.0.1; every kind of bad call is refused with a clear status and an
//! audit line, and gets no account.

use crate::support::TestServer;
use axum::extract::State;
use axum::routing::get;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use muster_server::config::ENTRA_EVENTS_APP;
use muster_store::AuditQuery;
use reqwest::StatusCode;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

pub const TENANT: &str = "6f1d3c5e-0000-4000-8000-00000000c0de";
pub const AUDIENCE: &str = "api://muster-jit";
pub const ISSUER: &str =
    "https://login.microsoftonline.com/6f1d3c5e-0000-4000-8000-00000000c0de/v2.0";
pub const DOMAIN_KEY: &str = "dk-0123456789";
pub const OKTA_SECRET: &str = "okta-hook-secret-for-tests-0123";

/// An RSA signing key made for the test, with its `kid`.
pub struct Key {
    pub kid: String,
    der: Vec<u8>,
    n: String,
    e: String,
}

impl Key {
    pub fn new(kid: &str) -> Self {
        let mut rng = rand::thread_rng();
        let key = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
        Self {
            kid: kid.to_owned(),
            der: key.to_pkcs1_der().unwrap().as_bytes().to_vec(),
            n: URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        }
    }

    pub fn jwk(&self) -> Value {
        json!({"kty": "RSA", "use": "sig", "kid": self.kid, "alg": "RS256", "n": self.n, "e": self.e})
    }

    /// `claims` signed RS256 with this key, its `kid` in the header (or `kid`).
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(&self.der)).unwrap()
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }
}

/// The test's keys, made once per test binary (an RSA key takes a while in a debug build).
pub struct Keys {
    /// `k1`, in the JWKS from the start.
    pub main: Key,
    /// Also `k1`, but another key: its signatures do not verify.
    pub impostor: Key,
    /// `k2`: added to the JWKS later (a key rotation).
    pub rotated: Key,
    /// `k3`: never in the JWKS.
    pub stranger: Key,
}

pub fn keys() -> &'static Keys {
    static KEYS: std::sync::OnceLock<Keys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| Keys {
        main: Key::new("k1"),
        impostor: Key::new("k1"),
        rotated: Key::new("k2"),
        stranger: Key::new("k3"),
    })
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The claims of a good token from Entra's authentication events service.
pub fn good_claims() -> Value {
    let t = now();
    json!({"iss": ISSUER, "aud": AUDIENCE, "azp": ENTRA_EVENTS_APP, "tid": TENANT,
           "iat": t, "nbf": t, "exp": t + 300, "uti": format!("uti-{}", rand::random::<u64>())})
}

/// A JWKS on 127.0.0.1 whose keys the test changes; counts its fetches; `down` makes it 500.
pub struct JwksServer {
    pub url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    pub fetches: Arc<AtomicU64>,
    pub down: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct JwksState {
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicU64>,
    down: Arc<AtomicBool>,
}

async fn serve_jwks(State(s): State<JwksState>) -> (axum::http::StatusCode, axum::Json<Value>) {
    s.fetches.fetch_add(1, Ordering::SeqCst);
    if s.down.load(Ordering::SeqCst) {
        return (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({})),
        );
    }
    let keys = s.keys.lock().unwrap().clone();
    (
        axum::http::StatusCode::OK,
        axum::Json(json!({"keys": keys})),
    )
}

impl JwksServer {
    pub async fn start(keys: Vec<Value>) -> Self {
        let state = JwksState {
            keys: Arc::new(Mutex::new(keys)),
            fetches: Arc::new(AtomicU64::new(0)),
            down: Arc::new(AtomicBool::new(false)),
        };
        let app = axum::Router::new()
            .route("/discovery/v2.0/keys", get(serve_jwks))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}/discovery/v2.0/keys"),
            keys: state.keys,
            fetches: state.fetches,
            down: state.down,
            task,
        }
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.keys.lock().unwrap() = keys;
    }

    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// `[server.jit]` with the Entra hook on `jwks` and the Okta hook; `extra` goes into
/// `[server.jit]` itself (e.g. `fail = "closed"`).
pub fn jit_section(jwks: &str, dir: &std::path::Path, extra: &str) -> String {
    let secret = dir.join("okta-secret");
    std::fs::write(&secret, format!("{OKTA_SECRET}\n")).unwrap();
    format!(
        r#"auth_failures_per_minute = 1000

[server.jit]
domains = ["example.com"]
answer_claims = {{ DomainKey = "{DOMAIN_KEY}" }}
{extra}

[server.jit.entra]
tenant_id = "{TENANT}"
jwks_url = "{jwks}"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
jwks_refetch_seconds = 3

[server.jit.okta]
secret = {{ file = {secret:?} }}
"#,
        secret = secret.display().to_string()
    )
}

/// An `OnTokenIssuanceStart` call for `user`.
pub fn entra_call(user: Value) -> Value {
    json!({"type": "microsoft.graph.authenticationEvent.tokenIssuanceStart",
        "source": format!("/tenants/{TENANT}/applications/zivver"),
        "data": {"@odata.type": "microsoft.graph.onTokenIssuanceStartCalloutData", "tenantId": TENANT,
          "authenticationEventListenerId": "l1", "customAuthenticationExtensionId": "x1",
          "authenticationContext": {"correlationId": format!("c-{}", rand::random::<u64>()), "protocol": "SAML",
            "clientServicePrincipal": {"appId": "zivver-app", "displayName": "Zivver"},
            "user": user}}})
}

pub fn jan() -> Value {
    json!({"id": "oid-jan", "displayName": "Jan de Vries", "givenName": "Jan", "surname": "de Vries",
           "mail": "jan.devries@example.com", "userPrincipalName": "jan.devries@example.com", "userType": "Member"})
}

pub async fn post_entra(
    server: &TestServer,
    token: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    post_raw(
        server,
        "/jit/entra",
        token.map(|t| ("authorization", format!("Bearer {t}"))),
        body.to_string(),
    )
    .await
}

pub async fn post_raw(
    server: &TestServer,
    path: &str,
    header: Option<(&str, String)>,
    body: String,
) -> (StatusCode, Value) {
    let mut request = server
        .client
        .post(format!("{}{path}", server.base))
        .header("content-type", "application/json")
        .body(body);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The audit lines of refused calls to `hook`.
pub async fn refusals(server: &TestServer, hook: &str) -> Vec<String> {
    let store = server.serving.as_ref().unwrap().state().store.clone();
    let events = store
        .audit(&AuditQuery {
            target: Some(muster_core::TargetName::new(format!("jit-{hook}"))),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    events
        .into_iter()
        .map(|e| format!("{} {}", e.person, e.detail.unwrap_or_default()))
        .collect()
}

pub async fn start(extra: &str) -> (TestServer, JwksServer, &'static Key) {
    let key = &keys().main;
    let jwks = JwksServer::start(vec![key.jwk()]).await;
    let dir = tempfile::tempdir().unwrap();
    let section = jit_section(&jwks.url, dir.path(), extra);
    let server = TestServer::start(&section, |t| t).await;
    // The secret file was read at start; the folder may go.
    drop(dir);
    (server, jwks, key)
}

#[tokio::test]
async fn entra_answers_with_the_configured_claims_once_per_token() {
    let (server, _jwks, key) = start("").await;
    let token = key.sign(&good_claims());
    let call = entra_call(jan());
    let (status, body) = post_entra(&server, Some(&token), &call).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let action = &body["data"]["actions"][0];
    assert_eq!(
        body["data"]["@odata.type"],
        "microsoft.graph.onTokenIssuanceStartResponseData"
    );
    assert_eq!(
        action["@odata.type"],
        "microsoft.graph.tokenIssuanceStart.provideClaimsForToken"
    );
    assert_eq!(action["claims"]["DomainKey"], DOMAIN_KEY);

    // The same call again (token and authentication event) is a replay.
    let (status, body) = post_entra(&server, Some(&token), &call).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("replay"),
        "{body}"
    );
    let audit = refusals(&server, "entra").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(
        audit[0].starts_with(&format!("entra:{TENANT}:oid-jan 401")),
        "{audit:?}"
    );
    // Entra may reuse its token (still valid) for the next sign-in: a new event is answered.
    let (status, body) = post_entra(&server, Some(&token), &entra_call(jan())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn entra_refuses_every_bad_token_with_401_and_an_audit_line() {
    let (server, _jwks, key) = start("").await;
    let other = &keys().impostor;
    let t = now();
    let with = |k: &str, v: Value| {
        let mut c = good_claims();
        c[k] = v;
        c
    };
    let mut without_azp = good_claims();
    without_azp.as_object_mut().unwrap().remove("azp");
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
    let payload = URL_SAFE_NO_PAD.encode(good_claims().to_string());
    let hs256 = {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("k1".into());
        jsonwebtoken::encode(&h, &good_claims(), &EncodingKey::from_secret(b"guess")).unwrap()
    };
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("no token", None, "no bearer token"),
        ("not a JWT", Some("abc.def".into()), "not a signed JWT"),
        (
            "alg none",
            Some(format!("{none_header}.{payload}.")),
            "not a signed JWT",
        ),
        ("HS256", Some(hs256), "not RS256"),
        (
            "wrongly signed",
            Some(other.sign(&good_claims())),
            "signature",
        ),
        (
            "expired",
            Some(key.sign(&with("exp", json!(t - 600)))),
            "expired",
        ),
        (
            "not yet valid",
            Some(key.sign(&with("nbf", json!(t + 600)))),
            "not valid yet",
        ),
        (
            "wrong audience",
            Some(key.sign(&with("aud", json!("api://other")))),
            "audience",
        ),
        (
            "wrong issuer",
            Some(key.sign(&with(
                "iss",
                json!("https://login.microsoftonline.com/other/v2.0"),
            ))),
            "issuer",
        ),
        (
            "wrong calling app",
            Some(key.sign(&with("azp", json!("00000000-0000-0000-0000-000000000001")))),
            "authentication events service",
        ),
        (
            "no calling app",
            Some(key.sign(&without_azp)),
            "authentication events service",
        ),
        (
            "other tenant",
            Some(key.sign(&with("tid", json!("another-tenant")))),
            "another tenant",
        ),
    ];
    for (what, token, expected) in &cases {
        let (status, body) = post_entra(&server, token.as_deref(), &entra_call(jan())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(expected), "{what}: {message}");
        assert!(
            body.get("data").is_none(),
            "{what}: no claims for a refused call"
        );
    }
    let audit = refusals(&server, "entra").await;
    assert_eq!(audit.len(), cases.len(), "{audit:?}");
    assert!(
        audit.iter().all(|a| a.starts_with("(unknown) 401")),
        "{audit:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn entra_refuses_bad_bodies_and_bad_claims() {
    let (server, _jwks, key) = start("max_body_bytes = 4096").await;
    let mut big = jan();
    big["padding"] = json!("x".repeat(5000));
    let mut control = jan();
    control["givenName"] = json!("Jan\r\nX-Injected: yes");
    let mut foreign = jan();
    foreign["mail"] = json!("jan@elsewhere.example");
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "oversized",
            entra_call(big).to_string(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than 4096",
        ),
        (
            "not JSON",
            "{not json".into(),
            StatusCode::BAD_REQUEST,
            "not an OnTokenIssuanceStart call",
        ),
        (
            "control characters",
            entra_call(control).to_string(),
            StatusCode::BAD_REQUEST,
            "control character",
        ),
        (
            "foreign domain",
            entra_call(foreign).to_string(),
            StatusCode::BAD_REQUEST,
            "elsewhere.example",
        ),
        (
            "no user id",
            entra_call(json!({"mail": "a@example.com"})).to_string(),
            StatusCode::BAD_REQUEST,
            "no id",
        ),
    ];
    for (what, body, expected_status, expected) in &cases {
        let token = key.sign(&good_claims());
        let (status, answer) = post_raw(
            &server,
            "/jit/entra",
            Some(("authorization", format!("Bearer {token}"))),
            body.clone(),
        )
        .await;
        assert_eq!(status, *expected_status, "{what}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(expected),
            "{what}: {answer}"
        );
    }
    let audit = refusals(&server, "entra").await;
    assert_eq!(audit.len(), cases.len(), "{audit:?}");
    assert!(
        audit
            .iter()
            .any(|a| a.starts_with(&format!("entra:{TENANT}:oid-jan 400"))),
        "{audit:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn entra_fetches_the_keys_again_for_an_unknown_kid_but_not_too_often() {
    let (server, jwks, key) = start("").await;
    let (status, _) =
        post_entra(&server, Some(&key.sign(&good_claims())), &entra_call(jan())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jwks.fetches(), 1);
    // A known kid does not fetch again.
    let (status, _) =
        post_entra(&server, Some(&key.sign(&good_claims())), &entra_call(jan())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jwks.fetches(), 1);

    // The keys rotate: the first call with the new kid finds it after one fetch.
    let rotated = &keys().rotated;
    jwks.set_keys(vec![key.jwk(), rotated.jwk()]);
    // (Past the least time between two fetches, 3 s in these tests.)
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let (status, body) = post_entra(
        &server,
        Some(&rotated.sign(&good_claims())),
        &entra_call(jan()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(jwks.fetches(), 2);

    // A flood of unknown kids right after fetches at most once more (only should the five
    // calls take longer than the 3 s between fetches).
    let stranger = &keys().stranger;
    for _ in 0..5 {
        let (status, body) = post_entra(
            &server,
            Some(&stranger.sign(&good_claims())),
            &entra_call(jan()),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("not among"),
            "{body}"
        );
    }
    assert!(jwks.fetches() <= 3, "fetched {} times", jwks.fetches());
    server.stop().await;
}

#[tokio::test]
async fn entra_answers_503_when_the_keys_cannot_be_fetched() {
    let (server, jwks, key) = start("").await;
    jwks.down.store(true, Ordering::SeqCst);
    let (status, body) =
        post_entra(&server, Some(&key.sign(&good_claims())), &entra_call(jan())).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("cannot be fetched"),
        "{body}"
    );
    assert!(body.get("data").is_none());
    assert_eq!(refusals(&server, "entra").await.len(), 1);
    server.stop().await;
}

pub fn okta_saml(event: &str, email: &str) -> Value {
    json!({"eventType": "com.okta.saml.tokens.transform", "eventTypeVersion": "1.0", "cloudEventVersion": "0.1",
        "eventId": event, "eventTime": "2026-12-02T10:00:00.000Z", "contentType": "application/json",
        "source": "https://example.okta.com/app/zivver/sso/saml",
        "data": {"context": {"user": {"id": "00u-piet", "profile": {"login": email, "firstName": "Piet", "lastName": "Jansen", "email": email}}},
          "assertion": {"subject": {"nameId": email, "nameFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"},
            "claims": {}, "lifetime": {"expiration": 300}}}})
}

#[tokio::test]
async fn okta_hooks_need_the_secret_and_patch_the_assertion_or_token() {
    let (server, _jwks, _key) = start("").await;
    let post = |secret: Option<&str>, body: Value| {
        let header = secret.map(|s| ("authorization", s.to_owned()));
        post_raw(&server, "/jit/okta", header, body.to_string())
    };
    let (status, body) = post(None, okta_saml("e0", "piet@example.com")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = post(
        Some("okta-hook-secret-for-tests-012"),
        okta_saml("e0", "piet@example.com"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let (status, body) = post(Some(OKTA_SECRET), okta_saml("e1", "piet@example.com")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let command = &body["commands"][0];
    assert_eq!(command["type"], "com.okta.assertion.patch");
    assert_eq!(command["value"][0]["path"], "/claims/DomainKey");
    assert_eq!(
        command["value"][0]["value"]["attributeValues"][0]["value"],
        DOMAIN_KEY
    );

    // The same event again is a replay.
    let (status, body) = post(Some(OKTA_SECRET), okta_saml("e1", "piet@example.com")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let token = json!({"eventType": "com.okta.oauth2.tokens.transform", "eventId": "e2",
        "data": {"context": {"user": {"id": "00u-piet", "profile": {"firstName": "Piet", "email": "piet@example.com"}}},
                 "identity": {"claims": {"sub": "00u-piet", "email": "piet@example.com"}}, "access": {"claims": {}}}});
    let (status, body) = post(Some(OKTA_SECRET), token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["commands"][0]["type"], "com.okta.identity.patch");
    assert_eq!(body["commands"][0]["value"][0]["value"], DOMAIN_KEY);

    let (status, body) = post(Some(OKTA_SECRET), okta_saml("e3", "piet@elsewhere.example")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("elsewhere.example"),
        "{body}"
    );

    let audit = refusals(&server, "okta").await;
    assert_eq!(audit.len(), 4, "{audit:?}");
    assert!(
        audit.iter().any(|a| a.starts_with("okta:00u-piet 401")),
        "{audit:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn hooks_that_are_not_configured_answer_404() {
    let server = TestServer::start("", |t| t).await;
    let (status, body) = post_raw(&server, "/jit/entra", None, "{}".into()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = post_raw(&server, "/jit/okta", None, "{}".into()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn oidc_sign_in_through_muster_goes_on_to_the_application() {
    use crate::oidc::{location, through_provider};
    use crate::provider::{free_port, listen_on, start_provider, SECRET};
    use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let callback = format!("{base}/jit/callback");
    let Some(provider) = start_provider(&callback, "RS256").await else {
        return;
    };
    let secrets = tempfile::tempdir().unwrap();
    let secret_file = secrets.path().join("client-secret");
    std::fs::write(&secret_file, SECRET).unwrap();
    let section = format!(
        "auth_failures_per_minute = 1000\n\n[server.jit]\n\n[server.jit.oidc]\nissuer = \"{}\"\nclient_id = \"muster\"\nclient_secret = {{ file = {:?} }}\nredirect_url = \"{callback}\"\nscopes = [\"openid\", \"profile\"]\napplication_url = \"https://app.example.com/welcome\"\n",
        provider.issuer,
        secret_file.display().to_string()
    );
    let server = TestServer::start(&section, listen_on(port)).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = |client: reqwest::Client| {
        let base = base.clone();
        async move {
            let start = reqwest::Url::parse(&format!("{base}/jit/login")).unwrap();
            let response = client.get(start.clone()).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            let set = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
            assert!(
                set.contains("; HttpOnly; SameSite=Lax; Path=/jit/callback; Max-Age=600"),
                "{set}"
            );
            let binding = set
                .split(';')
                .next()
                .unwrap()
                .strip_prefix("muster_jit_signin=")
                .unwrap()
                .to_owned();
            (location(&response, &start), binding)
        }
    };
    let (auth, binding) = login(client.clone()).await;
    assert!(
        auth.as_str()
            .starts_with(&format!("{}/auth?", provider.issuer)),
        "{auth}"
    );
    let params: std::collections::BTreeMap<String, String> =
        auth.query_pairs().into_owned().collect();
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["redirect_uri"], callback);
    let back = through_provider(&client, auth, "alice", &callback).await;
    let call_back = |url: reqwest::Url, binding: String| {
        let client = client.clone();
        async move {
            client
                .get(url)
                .header(COOKIE, format!("muster_jit_signin={binding}"))
                .send()
                .await
                .unwrap()
        }
    };
    let response = call_back(back.clone(), binding.clone()).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[LOCATION],
        "https://app.example.com/welcome"
    );

    // The same callback again is refused (the state is used up), with an audit line.
    let response = call_back(back, binding).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(page.contains("already used"), "{page}");

    // A callback in a browser that did not start the sign-in is refused.
    let (auth, _binding) = login(client.clone()).await;
    let back = through_provider(&client, auth, "victor", &callback).await;
    let response = call_back(back, "not-the-binding".into()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let audit = refusals(&server, "oidc").await;
    assert_eq!(audit.len(), 2, "{audit:?}");
    server.stop().await;
}
