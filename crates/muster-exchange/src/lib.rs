//! The `exchange-online` source: user and shared mailboxes from Exchange Online, with their
//! addresses, `AccountDisabled`, object id and Full Access delegations
//! (`sources/exchange-online.md` §2; what it yields is fixed by CLOUDSYNC-CONTRACT.md).
//!
//! A crate of its own because it needs the network (reqwest, tokio), which `muster-sources`
//! does not. [`ExchangeOnlineConfig`] is the [`Source`]; a read runs on its own thread with a
//! small Tokio runtime, since `read_records` is called from a blocking thread.
//!
//! - [`config`]: the settings and their validation.
//! - `certificate`: the signed client assertion of certificate credentials.
//! - `client`: the one module that knows Microsoft's URLs, headers, tokens, throttling and
//!   retries.
//! - `read`: the calls of one read (mailboxes, permissions, principals, groups, filter).
//! - `wire`: the answers' shapes. `addresses`, `delegation`, `records`: the rules, pure.

mod addresses;
mod certificate;
mod client;
pub mod config;
mod delegation;
mod read;
mod records;
mod wire;

pub use certificate::ClientCertificate;
pub use client::USER_AGENT;
pub use config::ExchangeOnlineConfig;

use client::{Client, Credentials};
use muster_core::model::SourceRecord;
use muster_core::secret::Secret;
use muster_sources::{ConfigProblem, Source, SourceError, SourceRead};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;

/// The most requests one `$batch` holds.
pub const MAX_BATCH: usize = 10;

/// The name errors are reported under.
const SERVICE: &str = "exchange-online";

impl Source for ExchangeOnlineConfig {
    fn validate(&self) -> Result<(), SourceError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SourceError::Config { problems })
        }
    }

    fn read_records(&self, _base_dir: &Path) -> Result<SourceRead, SourceError> {
        let credentials = self.credentials()?;
        let cfg = self.clone();
        // Its own thread and runtime: callers are on a blocking thread of theirs, or on none.
        let reader = std::thread::Builder::new()
            .name("exchange-online".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| service(format!("cannot start the reader: {e}")))?;
                rt.block_on(read_all(cfg, credentials))
            })
            .map_err(|e| service(format!("cannot start the reader: {e}")))?;
        reader
            .join()
            .map_err(|_| service("the reader stopped unexpectedly".into()))?
    }
}

fn service(detail: String) -> SourceError {
    SourceError::Service {
        service: SERVICE.into(),
        detail,
    }
}

impl ExchangeOnlineConfig {
    /// The credentials, secrets resolved; a missing one is a configuration problem naming
    /// where it was looked for, never its value.
    fn credentials(&self) -> Result<Credentials, SourceError> {
        let problem = |key: &str, message: String| SourceError::Config {
            problems: vec![ConfigProblem {
                key: key.into(),
                message,
            }],
        };
        if self.managed_identity {
            let endpoint = std::env::var("IDENTITY_ENDPOINT").map_err(|_| {
                problem("managed_identity", "the environment variable IDENTITY_ENDPOINT is not set (is this an Azure host with a managed identity?)".into())
            })?;
            config::check_url(&endpoint)
                .map_err(|m| problem("managed_identity", format!("IDENTITY_ENDPOINT {m}")))?;
            let header = std::env::var("IDENTITY_HEADER").map_err(|_| {
                problem(
                    "managed_identity",
                    "the environment variable IDENTITY_HEADER is not set".into(),
                )
            })?;
            return Ok(Credentials::ManagedIdentity {
                endpoint,
                header: Secret::new(header),
                client_id: self.client_id.clone().filter(|c| !c.trim().is_empty()),
            });
        }
        if let Some(certificate) = &self.certificate {
            let pem = certificate
                .resolve()
                .map_err(|e| problem("certificate", e.to_string()))?;
            let certificate = certificate::ClientCertificate::from_pem(pem.expose())
                .map_err(|m| problem("certificate", m))?;
            tracing::debug!(x5t = certificate.x5t(), "Client certificate loaded.");
            return Ok(Credentials::Certificate {
                client_id: self.client_id.clone().unwrap_or_default(),
                certificate: Box::new(certificate),
            });
        }
        let secret = self
            .client_secret
            .as_ref()
            .ok_or_else(|| problem("client_secret", "missing".into()))?
            .resolve()
            .map_err(|e| problem("client_secret", e.to_string()))?;
        Ok(Credentials::Secret {
            client_id: self.client_id.clone().unwrap_or_default(),
            secret,
        })
    }
}

async fn read_all(
    cfg: ExchangeOnlineConfig,
    credentials: Credentials,
) -> Result<SourceRead, SourceError> {
    let limit = Duration::from_secs(cfg.read_deadline_s);
    let deadline = tokio::time::Instant::now() + limit;
    let client = Client::new(&cfg, credentials, deadline).map_err(service)?;
    let fetched = match tokio::time::timeout(limit, read::fetch(&client, &cfg)).await {
        Err(_) => {
            return Err(service(format!(
                "the read did not finish within read_deadline_s ({} s); nothing was read",
                cfg.read_deadline_s
            )))
        }
        Ok(Err(e)) => {
            return Err(service(format!(
                "{e}; nothing was read (a partial tenant would look like leavers)"
            )))
        }
        Ok(Ok(f)) => f,
    };
    let built = records::build(&fetched);
    for w in &built.warnings {
        tracing::warn!(warning = %w, "Exchange Online source.");
    }
    Ok(SourceRead {
        digest: digest(&built.records),
        records: built.records,
        warnings: built.warnings,
        files: Vec::new(),
    })
}

/// SHA-256 over the records as read, so a saved plan can tell the tenant has changed.
fn digest(records: &[SourceRecord]) -> String {
    let mut h = Sha256::new();
    for r in records {
        match r {
            SourceRecord::Valid(p) => h.update(serde_json::to_vec(p).unwrap_or_default()),
            SourceRecord::Blocked { id, reason, .. } => {
                h.update(id.as_str().as_bytes());
                h.update(reason.as_bytes());
            }
        }
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
