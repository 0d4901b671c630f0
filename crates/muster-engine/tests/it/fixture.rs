//! A temp folder with a config, an HR export and a running SCIM simulator.

use muster_engine::{Config, Engine};
use muster_sim::scim::{RunningScimSim, ScimSim, ScimSimConfig};
use std::path::{Path, PathBuf};

pub const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo");

pub fn day(n: u32) -> chrono::NaiveDate {
    match n {
        1 => "2026-03-02".parse().unwrap(),
        _ => "2026-03-03".parse().unwrap(),
    }
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub sim: RunningScimSim,
    pub config_path: PathBuf,
}

impl Fixture {
    /// The demo organisation's config, with `edit` applied to its text.
    pub async fn demo(edit: impl FnOnce(String) -> String) -> Self {
        let sim = ScimSim::start(ScimSimConfig {
            token: "t0ken-for-tests".into(),
            ..ScimSimConfig::default()
        })
        .await
        .unwrap();
        for g in groups() {
            sim.state
                .seed_group(serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": g, "members": []}))
                .unwrap();
        }
        Self::with_sim(sim, edit)
    }

    pub fn with_sim(sim: RunningScimSim, edit: impl FnOnce(String) -> String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "t0ken-for-tests").unwrap();
        let text =
            scim_only(&std::fs::read_to_string(Path::new(DEMO).join("muster.toml")).unwrap())
                .replace(
                    "{ env = \"SCIM_TOKEN\" }",
                    &format!("{{ file = {:?} }}", token.display().to_string()),
                );
        let config_path = dir.path().join("muster.toml");
        std::fs::write(&config_path, edit(text)).unwrap();
        let f = Self {
            dir,
            sim,
            config_path,
        };
        f.hr_day(1);
        f
    }

    /// Installs the demo's HR export of day `n`.
    pub fn hr_day(&self, n: u32) {
        for file in ["persons.csv", "contracts.csv"] {
            std::fs::copy(
                Path::new(DEMO).join(format!("day{n}")).join(file),
                self.dir.path().join(file),
            )
            .unwrap();
        }
    }

    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join(file), text).unwrap();
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(file)).unwrap()
    }

    pub async fn engine(&self) -> Engine {
        self.engine_of(&self.config_path).await
    }

    /// An engine on another config file (in the same folder: the same store), pointed at the
    /// simulator.
    pub async fn engine_of(&self, config: &Path) -> Engine {
        let env = [(
            "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL".to_owned(),
            self.sim.base_url.clone(),
        )];
        let config = Config::load_with_env(config, env.into_iter()).unwrap();
        Engine::open(config).await.unwrap()
    }

    pub fn user(&self, user_name: &str) -> serde_json::Value {
        self.sim
            .state
            .user_by_name(user_name)
            .unwrap_or_else(|| panic!("no user {user_name}"))
    }

    pub fn members(&self, group: &str) -> Vec<String> {
        let g = self
            .sim
            .state
            .groups()
            .into_iter()
            .find(|g| g["displayName"] == group)
            .unwrap();
        g["members"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn groups() -> Vec<String> {
    [
        "All staff",
        "Dept Finance",
        "Dept HR",
        "Dept ICT",
        "Dept Sales",
        "Dept Marketing",
        "Dept Support",
        "Dept Legal",
        "Dept Facilities",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

/// (kind, person) of every action, sorted, for exact plan assertions.
pub fn actions(plan: &muster_core::plan::Plan) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = plan
        .targets
        .iter()
        .flat_map(|t| {
            t.actions
                .iter()
                .map(|a| (a.kind.to_string(), a.person.to_string()))
        })
        .collect();
    v.sort();
    v
}

/// The demo configuration without its HelloID part (everything from the `# --- helloid`
/// marker on), for tests of SCIM and Zivver together; HelloID's have their own.
pub fn scim_and_zivver(config: &str) -> String {
    match config.find("# --- helloid") {
        Some(at) => config[..at].to_owned(),
        None => config.to_owned(),
    }
}

/// The demo configuration without its Zivver part (everything from the `# --- zivver` marker
/// on: the Zivver target and the rules that name it), for tests of the SCIM target alone.
pub fn scim_only(config: &str) -> String {
    match config.find("# --- zivver") {
        Some(at) => config[..at].to_owned(),
        None => config.to_owned(),
    }
}
