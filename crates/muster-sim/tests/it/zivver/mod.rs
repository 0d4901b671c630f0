//! The Zivver simulator over real HTTP with raw JSON, as a client from outside sees it
//! (zivver.md §6). Errors are plain text, so answers keep their text as well as parsed JSON.
//! Tests that do not test the rate limit turn it off, so the suite never waits on it.

mod faults;
mod functional;
mod groups;
mod scale;
mod testapi;
mod users;

use std::time::Duration;

use muster_sim::{RunningZivverSim, ZivverSim, ZivverSimConfig};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

pub const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const ZIVVER: &str = "urn:ietf:params:scim:schemas:zivver:0.1:User";
pub const ZIVVER_GROUP: &str = "urn:ietf:params:scim:schemas:zivver:0.1:Group";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const TOKEN: &str = "zivver-token";

/// A running simulator and a client that authenticates with its token.
pub struct Z {
    pub sim: RunningZivverSim,
    pub http: reqwest::Client,
}

/// An answer: status, headers, the body's text and, when it is JSON, the body (`Null` else).
#[derive(Debug)]
pub struct R {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl R {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a plain-text error with exactly this status and text.
    #[track_caller]
    pub fn assert_text(&self, status: u16, text: &str) {
        assert_eq!((self.status, self.text.as_str()), (status, text));
        assert!(
            self.header("content-type")
                .is_some_and(|ct| ct.starts_with("text/plain")),
            "{:?}",
            self.headers
        );
    }
}

/// A simulator with divisions `Sales` and `Finance`, domain `example.org`, no rate limit.
pub async fn zsim() -> Z {
    zsim_with(|_| {}).await
}

/// As [`zsim`], after `change` (which may turn the rate limit back on).
pub async fn zsim_with(change: impl FnOnce(&mut ZivverSimConfig)) -> Z {
    let mut cfg = ZivverSimConfig {
        divisions: vec!["Sales".into(), "Finance".into()],
        ..ZivverSimConfig::default()
    };
    cfg.switches.faults.rate_limit = false;
    change(&mut cfg);
    let sim = ZivverSim::start(cfg).await.unwrap();
    Z {
        sim,
        http: client(Duration::from_secs(10)),
    }
}

pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A POST body as the public clients send it: all three schemas and both extension objects.
pub fn user(name: &str) -> Value {
    json!({
        "schemas": [CORE, ENTERPRISE, ZIVVER],
        "userName": name,
        "name": { "formatted": name },
        "active": true,
        ENTERPRISE: { "division": "" },
        ZIVVER: { "aliases": [], "delegates": [], "SsoAccountKey": format!("sso-{name}") },
    })
}

pub async fn read(r: reqwest::Response) -> R {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    R {
        status,
        headers,
        text,
        body,
    }
}

impl Z {
    /// `path` under `/api/scim/v2`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/scim/v2{path}", self.sim.base_url)
    }

    /// `path` from the root, for the test API.
    pub fn root(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url)
    }

    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.api(path)).bearer_auth(TOKEN)
    }

    /// Sends `body` with an explicit content type (`None`: no header).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: String,
    ) -> R {
        // What Zivver's clients accept; a group PATCH needs `application/scim+json` listed.
        let mut rb = self
            .req(method, path)
            .header("accept", "application/scim+json, application/json")
            .body(body);
        if let Some(ct) = content_type {
            rb = rb.header("content-type", ct);
        }
        read(rb.send().await.unwrap()).await
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> R {
        match body {
            Some(b) => {
                self.send_raw(method, path, Some("application/json"), b.to_string())
                    .await
            }
            None => read(self.req(method, path).send().await.unwrap()).await,
        }
    }

    pub async fn get(&self, path: &str) -> R {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> R {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> R {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> R {
        self.send(Method::DELETE, path, None).await
    }

    /// A PatchOp on a group, as `application/scim+json`.
    pub async fn patch(&self, group: &str, ops: Value) -> R {
        let body = json!({ "schemas": [PATCH_OP], "Operations": ops });
        self.send_raw(
            Method::PATCH,
            &format!("/Groups/{group}"),
            Some("application/scim+json"),
            body.to_string(),
        )
        .await
    }

    /// Creates a user over HTTP and returns its id.
    pub async fn create(&self, body: Value) -> String {
        let r = self.post("/Users", body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// Seeds a functional account with these members.
    pub fn group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({ "value": m })).collect();
        self.sim
            .state
            .seed_group(json!({ "displayName": name, "members": members }))
            .unwrap()
    }

    /// Member ids of a group, read over HTTP.
    pub async fn members(&self, group: &str) -> Vec<String> {
        let r = self.get(&format!("/Groups/{group}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        member_ids(&r.body)
    }

    /// `userName`s of a list answer.
    pub async fn list_names(&self, path_and_query: &str) -> Vec<String> {
        let r = self.get(path_and_query).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_string())
            .collect()
    }
}

pub fn member_ids(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_string())
        .collect()
}
