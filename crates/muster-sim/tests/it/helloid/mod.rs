//! The HelloID simulator over real HTTP with raw JSON, as a client from outside sees it
//! (helloid.md §7): one file per area, every bullet and switch of §7 exercised.

mod faults;
mod groups;
mod paging;
mod products;
mod scale;
mod testapi;
mod users;

use std::time::Duration;

use muster_sim::{HelloIdSim, HelloIdSimConfig, RunningHelloIdSim};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

pub const KEY: &str = "helloid-key";
pub const SECRET: &str = "helloid-secret";

/// A running simulator and a client that authenticates with the default key and secret.
pub struct H {
    pub sim: RunningHelloIdSim,
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

    /// Asserts an error with exactly this status and body.
    #[track_caller]
    pub fn assert_error(&self, status: u16, body: Value) {
        assert_eq!((self.status, &self.body), (status, &body), "{}", self.text);
        assert!(
            self.header("content-type")
                .is_some_and(|ct| ct.starts_with("application/json")),
            "{:?}",
            self.headers
        );
    }
}

/// A simulator with groups `Staff`, `department_ICT`, and products `Laptop`, `Phone`.
pub async fn hsim() -> H {
    hsim_with(|_| {}).await
}

/// As [`hsim`], after `change`.
pub async fn hsim_with(change: impl FnOnce(&mut HelloIdSimConfig)) -> H {
    let mut cfg = HelloIdSimConfig {
        groups: vec!["Staff".into(), "department_ICT".into()],
        products: vec!["Laptop".into(), "Phone".into()],
        ..HelloIdSimConfig::default()
    };
    change(&mut cfg);
    let sim = HelloIdSim::start(cfg).await.unwrap();
    assert!(sim.base_url.starts_with("http://127.0.0.1:"));
    assert_eq!(sim.api_url(), format!("{}/api/v1", sim.base_url));
    H {
        sim,
        http: client(Duration::from_secs(10)),
    }
}

pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

/// A create body as a client sends it.
pub fn user(name: &str) -> Value {
    json!({
        "userName": name,
        "firstName": "Maarten",
        "lastName": "Visser",
        "contactEmail": name,
        "isEnabled": true,
        "mustChangePassword": false,
        "source": "Local",
        "managedByUserGUID": null,
        "userAttributes": { "department": "Burgerzaken", "title": "Medewerker" },
        "password": "S3cret!pw",
    })
}

/// The items of a list answer in either shape.
#[track_caller]
pub fn items(body: &Value) -> Vec<Value> {
    match body {
        Value::Array(items) => items.clone(),
        Value::Object(o) => o["data"].as_array().unwrap().clone(),
        other => panic!("not a list: {other}"),
    }
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

impl H {
    /// `path` under `/api/v1`.
    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.sim.api_url())
    }

    /// `path` from the root, for the test API.
    pub fn root(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url)
    }

    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.api(path))
            .basic_auth(KEY, Some(SECRET))
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> R {
        let mut rb = self.req(method, path);
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json;charset=utf-8")
                .body(b.to_string());
        }
        read(rb.send().await.unwrap()).await
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

    /// Creates a user over HTTP and returns its `userGUID`.
    pub async fn create(&self, name: &str) -> String {
        let r = self.post("/users", user(name)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["userGUID"].as_str().unwrap().to_string()
    }

    /// Seeds a user without HTTP and returns its `userGUID`.
    pub fn seed(&self, name: &str) -> String {
        self.sim.state.seed_user(user(name)).unwrap()
    }

    /// The `groupGuid` of the configured group called `name`.
    pub fn group_guid(&self, name: &str) -> String {
        self.sim
            .state
            .groups()
            .into_iter()
            .find(|g| g["name"] == json!(name))
            .map(|g| g["groupGuid"].as_str().unwrap().to_string())
            .unwrap()
    }

    /// The `productId` of the configured product called `name`.
    pub fn product_id(&self, name: &str) -> String {
        self.sim
            .state
            .products()
            .into_iter()
            .find(|p| p["name"] == json!(name))
            .map(|p| p["productId"].as_str().unwrap().to_string())
            .unwrap()
    }

    /// Every item of a paged list, read as the public connector does: `take` 1000 (or
    /// `take`), adding `take` to `skip` while a page is full. Returns the items and how many
    /// pages were read.
    pub async fn read_all(&self, path: &str, extra: &str, take: usize) -> (Vec<Value>, usize) {
        let mut all = Vec::new();
        let mut pages = 0;
        let mut skip = 0;
        loop {
            let r = self
                .get(&format!("{path}?{extra}skip={skip}&take={take}"))
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            let page = items(&r.body);
            pages += 1;
            let full = page.len() == take;
            all.extend(page);
            if !full {
                return (all, pages);
            }
            skip += take;
        }
    }
}
