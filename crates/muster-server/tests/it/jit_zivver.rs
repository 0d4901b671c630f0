//! The sign-in hooks end to end with the engine: a server whose only target is the Zivver
//! simulator with `jit = true`; an Entra call makes the account (before the answer when it is
//! in time), a second sign-in makes none, and the deadline with each fail mode.

use crate::jit::{entra_call, good_claims, keys, JwksServer, AUDIENCE, DOMAIN_KEY, ISSUER, TENANT};
use muster_server::{Service, Serving};
use muster_sim::zivver::{RunningZivverSim, ZivverSim, ZivverSimConfig, ZivverSwitches};
use muster_sim::Faults;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

struct ZivverServer {
    _dir: tempfile::TempDir,
    zivver: RunningZivverSim,
    serving: Option<Serving>,
    base: String,
    client: reqwest::Client,
    _jwks: JwksServer,
}

impl ZivverServer {
    /// `jit` goes into `[server.jit]`; the simulator answers after `latency_ms`; the server
    /// holds `token` for Zivver (the simulator takes only `tok`).
    async fn start(jit: &str, latency_ms: u64, token: &str) -> Self {
        let zivver = ZivverSim::start(ZivverSimConfig {
            tokens: vec!["tok".into()],
            switches: ZivverSwitches {
                faults: Faults {
                    latency_ms,
                    ..ZivverSwitches::default().faults
                },
                ..ZivverSwitches::default()
            },
            ..ZivverSimConfig::default()
        })
        .await
        .unwrap();
        let jwks = JwksServer::start(vec![keys().main.jwk()]).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), token).unwrap();
        std::fs::write(dir.path().join("okta"), crate::jit::OKTA_SECRET).unwrap();
        std::fs::write(
            dir.path().join("persons.csv"),
            "ExternalId;Name.GivenName;Name.FamilyName;Contact.Business.Email\n",
        )
        .unwrap();
        let config = format!(
            r#"
[source]
kind = "csv"
persons = {persons:?}

[targets.zivver]
kind = "zivver"
connection = {{ base_url = "{url}", token = {{ file = {token_file:?} }} }}
correlation = {{ person = "Contact.Business.Email", account = "userName" }}
jit = true

[[targets.zivver.mapping]]
field = "userName"
path = "Contact.Business.Email"

[[targets.zivver.mapping]]
field = "name.formatted"
template = "{{Name.GivenName}} {{Name.FamilyName}}"

[[rules]]
name = "Everyone gets an account"
account = true

[server]
listen = "127.0.0.1:0"
auth_failures_per_minute = 1000

[server.jit]
domains = ["example.org"]
answer_claims = {{ DomainKey = "{DOMAIN_KEY}" }}
{jit}

[server.jit.entra]
tenant_id = "{TENANT}"
jwks_url = "{jwks}"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"

[server.jit.okta]
secret = {{ file = {okta:?} }}
"#,
            okta = dir.path().join("okta").display().to_string(),
            url = zivver.base_url,
            jwks = jwks.url,
            persons = dir.path().join("persons.csv").display().to_string(),
            token_file = dir.path().join("token").display().to_string(),
        );
        let path = dir.path().join("muster.toml");
        std::fs::write(&path, config).unwrap();
        let service = Service::open(&path, std::iter::empty()).await.unwrap();
        let serving = service.start().await.unwrap();
        Self {
            base: format!("http://{}", serving.addr),
            serving: Some(serving),
            _dir: dir,
            zivver,
            client: reqwest::Client::new(),
            _jwks: jwks,
        }
    }

    async fn sign_in(&self, user: Value) -> (StatusCode, Value) {
        self.sign_in_with(&keys().main.sign(&good_claims()), user)
            .await
    }

    async fn sign_in_with(&self, token: &str, user: Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/jit/entra", self.base))
            .bearer_auth(token)
            .json(&entra_call(user))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn accounts(&self, user_name: &str) -> usize {
        self.zivver
            .state
            .users()
            .iter()
            .filter(|u| {
                u["userName"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(user_name))
            })
            .count()
    }

    /// Waits (at most 30 s) until `user_name` has an account.
    async fn wait_for_account(&self, user_name: &str) {
        for _ in 0..300 {
            if self.accounts(user_name) > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no account for {user_name} within 30 s");
    }

    async fn stop(mut self) {
        self.serving.take().unwrap().shutdown().await.unwrap();
        self.zivver.shutdown().await.unwrap();
    }
}

fn user(oid: &str, mail: &str) -> Value {
    json!({"id": oid, "displayName": "Jan de Vries", "givenName": "Jan", "surname": "de Vries", "mail": mail, "userPrincipalName": mail, "userType": "Member"})
}

#[tokio::test]
async fn an_entra_sign_in_creates_the_zivver_account_before_it_answers() {
    let server = ZivverServer::start("fail = \"closed\"\ndeadline_ms = 1900", 0, "tok").await;
    assert_eq!(server.accounts("jan@example.org"), 0);
    let (status, body) = server.sign_in(user("oid-jan", "jan@example.org")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["actions"][0]["claims"]["DomainKey"],
        DOMAIN_KEY
    );
    assert_eq!(
        server.accounts("jan@example.org"),
        1,
        "the account exists when the hook answers"
    );

    // Signing in again makes no second account.
    let (status, body) = server.sign_in(user("oid-jan", "jan@example.org")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(server.accounts("jan@example.org"), 1);
    // A bad call makes none.
    let (status, _) = post_entra_direct(&server, user("oid-eve", "eve@elsewhere.example")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(server.zivver.state.users().len(), 1);
    server.stop().await;
}

async fn post_entra_direct(server: &ZivverServer, user: Value) -> (StatusCode, Value) {
    server.sign_in(user).await
}

#[tokio::test]
async fn a_failing_target_fails_the_sign_in_only_when_failing_closed() {
    // The server's Zivver token is wrong: every create fails.
    let closed = ZivverServer::start("fail = \"closed\"", 0, "wrong-token").await;
    let token = keys().main.sign(&good_claims());
    let (status, body) = closed
        .sign_in_with(&token, user("oid-piet", "piet@example.org"))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    // Entra retries a failed call once: the same token is not refused as a replay.
    let (status, body) = closed
        .sign_in_with(&token, user("oid-piet", "piet@example.org"))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // The Okta hook fails the sign-in with an error object.
    let okta = closed
        .client
        .post(format!("{}/jit/okta", closed.base))
        .header("authorization", crate::jit::OKTA_SECRET)
        .json(&crate::jit::okta_saml("ev-piet", "piet@example.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(okta.status(), StatusCode::OK);
    let body: Value = okta.json().await.unwrap();
    assert!(
        body["error"]["errorSummary"]
            .as_str()
            .unwrap()
            .contains("could not be prepared"),
        "{body}"
    );
    assert!(body.get("commands").is_none(), "{body}");
    closed.stop().await;

    let open = ZivverServer::start("fail = \"open\"", 0, "wrong-token").await;
    let (status, body) = open.sign_in(user("oid-piet", "piet@example.org")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["actions"][0]["claims"]["DomainKey"],
        DOMAIN_KEY
    );
    assert_eq!(open.accounts("piet@example.org"), 0);
    open.stop().await;
}

#[tokio::test]
async fn past_the_deadline_the_hook_answers_by_its_fail_mode_and_the_create_still_finishes() {
    // Every Zivver request takes 1.5 s; the hook waits 200 ms.
    let open = ZivverServer::start("fail = \"open\"\ndeadline_ms = 200", 1500, "tok").await;
    let (status, body) = open.sign_in(user("oid-kim", "kim@example.org")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["actions"][0]["claims"]["DomainKey"],
        DOMAIN_KEY
    );
    assert_eq!(
        open.accounts("kim@example.org"),
        0,
        "answered before the create"
    );
    open.wait_for_account("kim@example.org").await;
    open.stop().await;

    let closed = ZivverServer::start("fail = \"closed\"\ndeadline_ms = 200", 1500, "tok").await;
    let (status, body) = closed.sign_in(user("oid-kim", "kim@example.org")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("deadline"),
        "{body}"
    );
    closed.wait_for_account("kim@example.org").await;
    closed.stop().await;
}
