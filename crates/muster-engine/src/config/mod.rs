//! `muster.toml`: read, overridden from the environment, validated. Three steps, three types:
//! [`raw`] (the file's shape), [`Config`] (checked meaning, no secrets), and the connectors
//! built from it by `crate::connectors` (secrets resolved, clients open). The settings of each
//! kind of target and source are typed and checked by that kind (`crate::kinds`).

mod compile;
mod error;
pub mod implied;
mod limits;
mod overrides;
mod raw;
pub mod store;

pub use error::{line_of, ConfigError, ConfigErrors};
pub use store::{PostgresConfig, StoreConfig, StoreUrl};

use crate::kinds::{Source, TargetSettings};
use muster_core::evaluate::TargetPolicy;
use muster_core::gate::{SourceThresholds, TargetThresholds};
use muster_core::model::{PrimaryContractRule, TargetName};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A configuration whose meaning has been checked. Holds references to secrets, never their
/// values.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub base_dir: PathBuf,
    /// Digest of the effective configuration text (after overrides).
    pub digest: String,
    /// `[store]`: SQLite (the default) or PostgreSQL.
    pub store: StoreConfig,
    /// The `[source]` settings, typed by its kind.
    pub source: Arc<dyn Source>,
    pub source_thresholds: SourceThresholds,
    pub primary_rule: PrimaryContractRule,
    pub targets: Vec<TargetConfig>,
    /// `[run]`: preview by default, the run time cap, the log level.
    pub run: RunSettings,
}

/// `[run]`: how runs go.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSettings {
    /// `perform_sync`: `Some(false)` makes an apply a preview unless the run says
    /// `--perform-sync` (Zivver Cloud Sync mode). `None`: not set (an apply writes).
    pub perform_sync: Option<bool>,
    /// `max_run_time`: an apply stops cleanly between batches after this long.
    pub max_run_time: Option<std::time::Duration>,
    /// `log_level`: the default log filter of the CLI and the server.
    pub log_level: Option<String>,
}

impl RunSettings {
    /// Whether this configuration asks for Cloud Sync's preview-by-default mode.
    pub fn preview_by_default(&self) -> bool {
        self.perform_sync == Some(false)
    }
}

#[derive(Debug, Clone)]
pub struct TargetConfig {
    pub name: TargetName,
    /// The `connection` settings, typed and checked by its kind.
    pub connection: Arc<dyn TargetSettings>,
    pub policy: TargetPolicy,
    pub thresholds: TargetThresholds,
    pub secret_fields: BTreeSet<String>,
    /// Fields compared ignoring case (`ignore_case = true` on their mapping).
    pub case_insensitive_fields: BTreeSet<String>,
    /// Fields whose values must be unique in the target, settled between evaluate and diff.
    pub unique: muster_core::unique::Uniqueness,
    /// When the target is taken out of a run for its errors.
    pub quarantine: crate::execute::Quarantine,
    /// `included_domains`: persons whose address is elsewhere get no account here.
    pub domains: Option<muster_core::domains::DomainFilter>,
    /// `leave_alone`: accounts never touched and not counted by the fail-safe.
    pub leave_alone: Option<muster_core::leave_alone::LeaveAlone>,
    /// Fields that say what type an account is (`account_type = true` on their mapping).
    pub type_fields: BTreeSet<String>,
    /// What `muster reconcile` proposes for accounts no person owns.
    pub orphans: crate::reconcile::OrphanPolicy,
    /// `jit`: accounts created at sign-in ([`crate::jit`]); `None`: not in this target.
    pub jit: Option<crate::jit::JitPolicy>,
}

impl Config {
    /// Reads `path`, applies `MUSTER__…` environment overrides and validates everything.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        Self::load_with_env(path, std::env::vars())
    }

    pub fn load_with_env(
        path: &Path,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigErrors> {
        let one = |line: Option<usize>, key: &str, message: String| {
            ConfigErrors(vec![ConfigError {
                file: path.to_owned(),
                line,
                key: key.to_owned(),
                message,
            }])
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| one(None, "", format!("cannot read the configuration: {e}")))?;
        Self::parse(path, &text, env)
    }

    /// Parses configuration text as if read from `path` (relative paths resolve against its
    /// folder). Reads no other file, except a target's `mapping_file` (HelloID
    /// `fieldMapping.json`), whose problems are reported with its own path and lines.
    pub fn parse(
        path: &Path,
        text: &str,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigErrors> {
        let one = |line: Option<usize>, key: &str, message: String| {
            ConfigErrors(vec![ConfigError {
                file: path.to_owned(),
                line,
                key: key.to_owned(),
                message,
            }])
        };
        let (effective, used) = effective(path, text, env)?;
        let raw: raw::RawConfig = toml::from_str(&effective).map_err(|e| {
            let line = e.span().map(|s| error::line_of(&effective, s.start));
            let mut message = toml_message(e.message());
            if !used.is_empty() {
                message.push_str(&format!(" (with overrides from {})", used.join(", ")));
            }
            one(line, "", message)
        })?;
        let digest = Sha256::digest(effective.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut compiler = compile::Compiler {
            file: path,
            text: &effective,
            errors: Vec::new(),
        };
        let config = compiler.compile(raw, &base_dir, digest);
        match config {
            Some(c) if compiler.errors.is_empty() => Ok(c),
            _ => Err(ConfigErrors(compiler.errors)),
        }
    }

    /// The text of `path` with the `MUSTER__…` overrides of `env` applied: what [`Config`] is
    /// compiled from, for sections another crate reads itself (`[server]`, `[[schedules]]`),
    /// so that their errors name lines of the same text.
    pub fn effective_text(
        path: &Path,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<String, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: path.to_owned(),
                line: None,
                key: String::new(),
                message: format!("cannot read the configuration: {e}"),
            }])
        })?;
        Ok(effective(path, &text, env)?.0)
    }

    pub fn target(&self, name: &str) -> Option<&TargetConfig> {
        self.targets.iter().find(|t| t.name.as_str() == name)
    }
}

/// The text with the environment overrides applied, and the names of the variables used.
fn effective(
    path: &Path,
    text: &str,
    env: impl Iterator<Item = (String, String)>,
) -> Result<(String, Vec<String>), ConfigErrors> {
    let one = |line: Option<usize>, key: &str, message: String| {
        ConfigErrors(vec![ConfigError {
            file: path.to_owned(),
            line,
            key: key.to_owned(),
            message,
        }])
    };
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let line = e.span().map(|s| error::line_of(text, s.start));
        one(line, "", toml_message(e.message()))
    })?;
    let used = overrides::apply(&mut doc, env).map_err(|m| one(None, "environment", m))?;
    let effective = if used.is_empty() {
        text.to_owned()
    } else {
        doc.to_string()
    };
    Ok((effective, used))
}

/// The TOML parser's message, or a hint where it has none: for some syntax errors (an array
/// or inline table left open at the end of the file) it gives only a position. Found by the
/// configuration fuzz harness (`crates/muster-fuzz`).
fn toml_message(message: &str) -> String {
    if message.trim().is_empty() {
        "invalid TOML from here on: is a bracket, brace or quote left open?".to_owned()
    } else {
        message.to_owned()
    }
}

#[cfg(test)]
mod tests;
