//! What a target kind's simulator declares for `muster sim <kind>`: its options (which the CLI
//! turns into flags, so no kind names a command-line library), and how it serves on a
//! listener until told to stop.

use async_trait::async_trait;
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// One `--<name> VALUE` option of `muster sim <kind>`.
#[derive(Debug, Clone, Copy)]
pub struct SimOption {
    /// The long flag without its dashes, e.g. `functional-accounts`.
    pub name: &'static str,
    pub help: &'static str,
    /// Read from this environment variable when the flag is not given.
    pub env: Option<&'static str>,
    /// The value when neither the flag nor the variable is given.
    pub default: Option<&'static str>,
    /// Comma-separated values.
    pub list: bool,
    /// Never shown in `--help` (the environment variable's value).
    pub secret: bool,
}

impl SimOption {
    /// A single-valued option.
    pub const fn one(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            env: None,
            default: None,
            list: false,
            secret: false,
        }
    }

    /// A comma-separated list.
    pub const fn list(name: &'static str, help: &'static str) -> Self {
        Self {
            list: true,
            ..Self::one(name, help)
        }
    }

    pub const fn env(self, env: &'static str) -> Self {
        Self {
            env: Some(env),
            ..self
        }
    }

    pub const fn default(self, default: &'static str) -> Self {
        Self {
            default: Some(default),
            ..self
        }
    }

    pub const fn secret(self) -> Self {
        Self {
            secret: true,
            ..self
        }
    }
}

/// The values given for a simulator's options, by option name.
#[derive(Debug, Clone, Default)]
pub struct SimValues(BTreeMap<&'static str, Vec<String>>);

impl SimValues {
    pub fn set(&mut self, name: &'static str, values: Vec<String>) {
        self.0.insert(name, values);
    }

    /// The value of a single-valued option; empty when it has none.
    pub fn one(&self, name: &str) -> &str {
        self.0
            .get(name)
            .and_then(|v| v.first())
            .map_or("", String::as_str)
    }

    /// The values of a list option.
    pub fn list(&self, name: &str) -> &[String] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }
}

/// Why a simulator could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// What it was told to create at start was refused.
    #[error("cannot create {what} in the simulator: {detail}")]
    Seed { what: String, detail: String },
}

/// A target kind's simulator.
#[async_trait]
pub trait Simulator: Sync {
    /// One line for `muster sim --help`.
    fn about(&self) -> &'static str;
    /// The port when `--port` is not given.
    fn default_port(&self) -> u16;
    /// Its options besides `--port`.
    fn options(&self) -> &'static [SimOption];
    /// What to tell the person who started it, listening on `addr`.
    fn banner(&self, addr: SocketAddr) -> String;
    /// Serves on `listener` until `shutdown` completes.
    async fn serve(
        &self,
        values: &SimValues,
        listener: TcpListener,
        shutdown: BoxFuture<'static, ()>,
    ) -> Result<(), SimError>;
}
