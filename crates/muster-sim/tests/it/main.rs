//! Integration tests of the simulators, over real HTTP on 127.0.0.1 with raw JSON, as a client
//! from outside would see them. One binary; one module per area.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helloid;
mod scim_auth_discovery;
mod scim_faults;
mod scim_filter_paging;
mod scim_patch;
mod scim_resources;
mod scim_testapi;
mod zermelo;
mod zivver;

use std::time::Duration;

use std::future::Future;

use muster_sim::{Faults, RunningScimSim, ScimSim, ScimSimConfig, ScimSwitches};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A running simulator and a client that authenticates with its token.
pub struct Sim {
    pub sim: RunningScimSim,
    pub http: reqwest::Client,
    pub token: String,
}

/// An answer: status, headers and the body as JSON (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a SCIM error with this status and scimType.
    #[track_caller]
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["schemas"], json!([ERROR]), "body: {}", self.body);
        assert_eq!(
            self.body["status"],
            json!(status.to_string()),
            "status must be a string"
        );
        assert_eq!(
            self.body["scimType"].as_str(),
            scim_type,
            "body: {}",
            self.body
        );
        assert_eq!(self.header("content-type"), Some("application/scim+json"));
    }
}

pub async fn sim() -> Sim {
    sim_with(ScimSimConfig::default()).await
}

pub async fn sim_with_switches(change: impl FnOnce(&mut ScimSwitches)) -> Sim {
    let mut cfg = ScimSimConfig::default();
    change(&mut cfg.switches);
    sim_with(cfg).await
}

pub async fn sim_with(cfg: ScimSimConfig) -> Sim {
    let token = cfg.token.clone();
    let sim = ScimSim::start(cfg).await.unwrap();
    assert!(sim.base_url.starts_with("http://127.0.0.1:") && sim.base_url.ends_with("/scim/v2"));
    Sim {
        sim,
        http: client(Duration::from_secs(10)),
        token,
    }
}

/// The failures of every simulator's seed test: 5xx for 30% of the requests, drops for 20%.
pub fn seed_test_faults(f: &mut Faults) {
    f.error_5xx_ratio = 0.3;
    f.drop_ratio = 0.2;
}

/// The statuses of 40 requests built by `request`, 0 for a transport error (a drop).
pub async fn outcomes_of(request: impl Fn() -> reqwest::RequestBuilder) -> Vec<u16> {
    let mut seen = Vec::new();
    for _ in 0..40 {
        seen.push(match request().send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        });
    }
    seen
}

/// Asserts that fault draws follow the seed: `outcomes(seed)` starts a simulator with that seed
/// and [`seed_test_faults`] and returns its [`outcomes_of`]; the same seed gives the same
/// outcomes, another seed others, and passes, drops and 5xx all occur.
pub async fn assert_draws_follow_the_seed<F, Fut>(outcomes: F)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Vec<u16>>,
{
    let a = outcomes(3).await;
    assert_eq!(a, outcomes(3).await);
    for code in [0, 200] {
        assert!(a.contains(&code), "{code} missing from {a:?}");
    }
    assert!(a.iter().any(|c| *c >= 500), "{a:?}");
    assert_ne!(a, outcomes(4).await);
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

pub fn user(name: &str) -> Value {
    json!({ "schemas": [USER], "userName": name })
}

impl Sim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url)
    }

    pub fn root(&self, path: &str) -> String {
        format!("{}{path}", self.sim.root_url())
    }

    /// A request with the simulator's token; `path` is relative to the SCIM base URL.
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut rb = self.req(method, path);
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        resp(rb.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, ops: Value) -> Resp {
        self.send(
            Method::PATCH,
            path,
            Some(json!({ "schemas": [PATCH_OP], "Operations": ops })),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    /// Creates a user over HTTP and returns its id.
    pub async fn create_user(&self, body: Value) -> String {
        let r = self.post("/Users", body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    pub async fn create_group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({ "value": m })).collect();
        let r = self
            .post(
                "/Groups",
                json!({ "schemas": [GROUP], "displayName": name, "members": members }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// Ids returned by a list request.
    pub async fn list_ids(&self, path_and_query: &str) -> Vec<String> {
        let r = self.get(path_and_query).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect()
    }
}

pub async fn resp(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
    }
}
