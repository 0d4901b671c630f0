//! The Zermelo simulator over real HTTP with raw JSON, as a client from outside sees it
//! (zermelo.md §7). Every answer under `/api/v3` is an envelope, so answers are checked through
//! [`R::assert_envelope`].

mod faults;
mod placements;
mod scale;
mod testapi;
mod users;

use std::time::Duration;

use muster_sim::{RunningZermeloSim, ZermeloSim, ZermeloSimConfig};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

pub const TOKEN: &str = "zermelo-token";

/// A running simulator and a client that authenticates with its token.
pub struct Zm {
    pub sim: RunningZermeloSim,
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

    /// `response` of the envelope.
    pub fn resp(&self) -> &Value {
        &self.body["response"]
    }

    /// `response.data`.
    pub fn data(&self) -> &Vec<Value> {
        self.resp()["data"]
            .as_array()
            .unwrap_or_else(|| panic!("data is not an array: {}", self.text))
    }

    /// Asserts the envelope of zermelo.md §2 with this status, and returns its `eventId`.
    #[track_caller]
    pub fn assert_envelope(&self, status: u16) -> u64 {
        assert_eq!(self.status, status, "{}", self.text);
        let obj = self.body.as_object().expect("a JSON object");
        assert_eq!(
            obj.keys().collect::<Vec<_>>(),
            ["response"],
            "{}",
            self.text
        );
        let r = self.resp();
        assert_eq!(r["status"], json!(status), "{}", self.text);
        assert!(
            r["message"].is_string() && r["details"].is_string(),
            "{}",
            self.text
        );
        assert_eq!(r["startRow"], 0);
        let rows = self.data().len();
        assert_eq!(r["endRow"], json!(rows), "{}", self.text);
        assert_eq!(r["totalRows"], json!(rows), "{}", self.text);
        assert!(
            self.header("content-type")
                .is_some_and(|ct| ct.starts_with("application/json")),
            "{:?}",
            self.headers
        );
        r["eventId"].as_u64().expect("eventId is a number")
    }

    /// Asserts an error envelope: this status and message, no rows.
    #[track_caller]
    pub fn assert_error(&self, status: u16, message: &str) {
        self.assert_envelope(status);
        assert_eq!(self.resp()["message"], message, "{}", self.text);
        assert!(self.data().is_empty());
    }

    /// The single row of a one-entity answer.
    #[track_caller]
    pub fn one(&self) -> &Value {
        assert_eq!(self.data().len(), 1, "{}", self.text);
        &self.data()[0]
    }
}

/// A simulator with the default configuration and switches.
pub async fn zsim() -> Zm {
    zsim_with(|_| {}).await
}

/// As [`zsim`], after `change`.
pub async fn zsim_with(change: impl FnOnce(&mut ZermeloSimConfig)) -> Zm {
    let mut cfg = ZermeloSimConfig::default();
    change(&mut cfg);
    let sim = ZermeloSim::start(cfg).await.unwrap();
    assert!(sim.base_url.starts_with("http://127.0.0.1:"));
    assert_eq!(sim.api_url(), format!("{}/api/v3", sim.base_url));
    Zm {
        sim,
        http: client(Duration::from_secs(10)),
    }
}

pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
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

/// A student body as Muster sends it (real booleans).
pub fn student(code: &str) -> Value {
    json!({
        "code": code,
        "firstName": "Daan",
        "prefix": "van der",
        "lastName": "Berg",
        "email": format!("{code}@leerling.example"),
        "isStudent": true,
    })
}

impl Zm {
    /// `path` under `/api/v3`, e.g. `users/1`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/{path}", self.sim.api_url())
    }

    /// `path` from the root, for the test API.
    pub fn root(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url)
    }

    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.api(path)).bearer_auth(TOKEN)
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> R {
        let mut rb = self.req(method, path);
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
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

    /// Creates a user over HTTP and returns it.
    pub async fn create(&self, body: Value) -> Value {
        let r = self.post("users", body).await;
        r.assert_envelope(201);
        r.one().clone()
    }

    /// Test API: GET as JSON.
    pub async fn sim_get(&self, path: &str) -> R {
        read(self.http.get(self.root(path)).send().await.unwrap()).await
    }

    /// The id of class `code` of `school` in `year`, from the simulator's state.
    pub fn class(&self, school: &str, year: &str, code: &str) -> u64 {
        self.sim.state.department_id(school, year, code).unwrap()
    }
}
