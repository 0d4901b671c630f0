//! A running server over the demo organisation (SCIM target only) and a SCIM simulator, with
//! one token of each role.

use muster_server::web::session::WebUser;
use muster_server::{tokens, Service, Serving};
use muster_sim::scim::{RunningScimSim, ScimSim, ScimSimConfig};
use muster_store::TokenRole;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

pub const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo");

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub sim: RunningScimSim,
    pub serving: Option<Serving>,
    pub base: String,
    pub client: reqwest::Client,
    pub admin: String,
    pub approver: String,
    pub viewer: String,
}

/// The demo configuration up to its Zivver part (the SCIM target and its rules).
fn scim_only(config: &str) -> String {
    match config.find("# --- zivver") {
        Some(at) => config[..at].to_owned(),
        None => config.to_owned(),
    }
}

impl TestServer {
    /// Starts a server whose configuration is the demo's plus `extra` (after `edit`).
    pub async fn start(extra: &str, edit: impl FnOnce(String) -> String) -> Self {
        Self::start_targeting(extra, edit, |sim| sim.base_url.clone()).await
    }

    /// As [`TestServer::start`], with the SCIM target's `base_url` given by `base_url` from the
    /// simulator (which is started and seeded all the same).
    pub async fn start_targeting(
        extra: &str,
        edit: impl FnOnce(String) -> String,
        base_url: impl FnOnce(&RunningScimSim) -> String,
    ) -> Self {
        let sim = ScimSim::start(ScimSimConfig {
            token: "t0ken-for-tests".into(),
            ..ScimSimConfig::default()
        })
        .await
        .unwrap();
        for g in [
            "All staff",
            "Dept Finance",
            "Dept HR",
            "Dept ICT",
            "Dept Sales",
            "Dept Marketing",
            "Dept Support",
            "Dept Legal",
            "Dept Facilities",
        ] {
            sim.state
                .seed_group(serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": g, "members": []}))
                .unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "t0ken-for-tests").unwrap();
        let demo = std::fs::read_to_string(Path::new(DEMO).join("muster.toml")).unwrap();
        let text = scim_only(&demo).replace(
            "{ env = \"SCIM_TOKEN\" }",
            &format!("{{ file = {:?} }}", token.display().to_string()),
        );
        let text = edit(format!(
            "{text}\n[server]\nlisten = \"127.0.0.1:0\"\n{extra}"
        ));
        let config = dir.path().join("muster.toml");
        std::fs::write(&config, text).unwrap();
        for file in ["persons.csv", "contracts.csv"] {
            std::fs::copy(
                Path::new(DEMO).join("day1").join(file),
                dir.path().join(file),
            )
            .unwrap();
        }
        let env = [(
            "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL".to_owned(),
            base_url(&sim),
        )];
        let service = Service::open(&config, env.into_iter()).await.unwrap();
        let store = service.store();
        let token = |role| {
            let store = store.clone();
            async move {
                tokens::create(store.as_ref(), &format!("{role}-token"), role)
                    .await
                    .unwrap()
                    .token
            }
        };
        let admin = token(TokenRole::Admin).await;
        let approver = token(TokenRole::Approver).await;
        let viewer = token(TokenRole::Viewer).await;
        let serving = service.start().await.unwrap();
        Self {
            dir,
            sim,
            base: format!("http://{}", serving.addr),
            serving: Some(serving),
            client: reqwest::Client::new(),
            admin,
            approver,
            viewer,
        }
    }

    /// A request with `token` (none for `None`) and an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Waits (at most 60 s, polling every 100 ms) until `runs` runs exist and all have ended;
    /// returns the newest.
    pub async fn wait_for_runs(&self, runs: usize) -> Value {
        for _ in 0..600 {
            let (status, list) = self.get("/api/v1/runs", &self.viewer).await;
            assert_eq!(status, StatusCode::OK, "{list}");
            let list = list.as_array().unwrap();
            if list.len() >= runs && list.iter().all(|r| !r["finished_at"].is_null()) {
                return list[0].clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{runs} run(s) did not end within 60 s");
    }

    /// Waits (at most 30 s) until the newest plan of `target` is the one `run` made: the server
    /// keeps it just after the run is recorded as ended.
    pub async fn wait_for_plan(&self, target: &str, run: &str) -> Value {
        for _ in 0..300 {
            let (status, plan) = self
                .get(&format!("/api/v1/targets/{target}/plan"), &self.viewer)
                .await;
            if status == StatusCode::OK && plan["run"] == run {
                return plan;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the plan of run {run} for {target} was not kept within 30 s");
    }

    /// A dashboard session of `role` started on the server, as a `Cookie` header value.
    pub fn session(&self, role: TokenRole) -> String {
        let user = WebUser::new(format!("sub-{role}"), format!("{role} user"), role);
        let set_cookie = self
            .serving
            .as_ref()
            .unwrap()
            .state()
            .sessions
            .start(user, false);
        set_cookie.split(';').next().unwrap().to_owned()
    }

    /// The CSRF token of the session in `cookie`.
    pub fn csrf(&self, cookie: &str) -> String {
        let id = cookie.strip_prefix("muster_session=").unwrap();
        let state = self.serving.as_ref().unwrap().state();
        state.sessions.get(id).unwrap().csrf
    }

    /// Stops the server and the simulator: whether the running run ended in time, and the
    /// folder (with the store), kept until the caller drops it.
    pub async fn stop(mut self) -> (bool, tempfile::TempDir) {
        let ended = self.serving.take().unwrap().shutdown().await.unwrap();
        self.sim.shutdown().await.unwrap();
        (ended, self.dir)
    }
}
