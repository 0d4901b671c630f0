//! `muster serve`: load the configuration, open the engine, bind, start the schedules, and on
//! a shutdown signal stop taking work, let the running run end (bounded by
//! `server.shutdown_grace_seconds`) and exit. A run cut off at the bound leaves its journal;
//! the next apply settles it (see docs/RELIABILITY.md).

use crate::api;
use crate::auth::FailedAuth;
use crate::config::{self, ServiceConfig};
use crate::jit::{Jit, JitSetupError};
use crate::metrics::Metrics;
use crate::report::{MailerError, Reporter};
use crate::runner::Runner;
use crate::schedule;
use crate::state::{AppState, Shared};
use crate::web::oidc::OidcError;
use crate::web::session::{self, Sessions};
use crate::web::signin::SignIn;
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;
use muster_engine::config::ConfigErrors;
use muster_engine::{Config, Engine, EngineError};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long open HTTP connections get to finish after a shutdown signal.
const HTTP_DRAIN: Duration = Duration::from_secs(10);
/// How long reports being sent get to finish after a shutdown signal.
const MAIL_DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the TLS certificate {cert} or key {key}: {source}")]
    Tls {
        cert: String,
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the dashboard sign-in cannot be set up: {0}")]
    SignIn(#[from] OidcError),
    #[error("{0}")]
    Jit(#[from] JitSetupError),
    #[error("the HTTP server stopped: {0}")]
    Http(#[source] std::io::Error),
    #[error("{0}")]
    Mailer(#[from] MailerError),
}

/// A configured server, not yet listening.
pub struct Service {
    state: AppState,
    service: ServiceConfig,
}

impl Service {
    /// Reads `path` with the `MUSTER__…` overrides of `env`, opens the store and the targets'
    /// connectors. A target that cannot be reached does not stop this: each run connects it
    /// again, and while that fails the run reports the target stopped with the reason.
    pub async fn open(
        path: &Path,
        env: impl Iterator<Item = (String, String)> + Clone,
    ) -> Result<Self, ServeError> {
        let config = Config::load_with_env(path, env.clone())?;
        let text = Config::effective_text(path, env)?;
        let service = config::parse(path, &text, &config)?;
        let engine = Arc::new(Engine::open_tolerant(config).await?);
        Self::with_engine(engine, service)
    }

    /// A server over an open engine. Fails only when the sign-in, the JIT hooks or the e-mail
    /// report cannot be set up (a secret or CA file).
    pub fn with_engine(engine: Arc<Engine>, service: ServiceConfig) -> Result<Self, ServeError> {
        let signin = service
            .server
            .oidc
            .clone()
            .map(|c| SignIn::new(c, service.server.tls.is_some()))
            .transpose()?;
        let jit = service
            .server
            .jit
            .clone()
            .map(|j| Jit::new(j, engine.clone(), service.server.tls.is_some()))
            .transpose()?;
        let meters = engine.clone();
        let metrics = Arc::new(Metrics::default().with_http(move || meters.http_meters()));
        let mut runner = Runner::new(engine.clone(), metrics.clone());
        if let Some(email) = &service.server.email {
            let reporter = Reporter::new(email.clone(), engine.store.clone())?
                .with_cloud_sync(engine.config.run.perform_sync.is_some());
            runner = runner.with_reporter(Arc::new(reporter));
        }
        let state = AppState::new(Shared {
            store: engine.store.clone(),
            runner: Arc::new(runner),
            metrics,
            failures: FailedAuth::new(service.server.auth_failures_per_minute),
            settings: service.server.clone(),
            schedules: service.schedules.clone(),
            schedules_loaded: AtomicBool::new(false),
            sessions: Sessions::new(session::IDLE, session::ABSOLUTE),
            signin,
            jit,
        });
        Ok(Self { state, service })
    }

    /// The state store the server works on.
    pub fn store(&self) -> Arc<dyn muster_store::Store> {
        self.state.store.clone()
    }

    /// Binds the listen address (TLS when configured) and starts serving and scheduling.
    pub async fn start(self) -> Result<Serving, ServeError> {
        let addr = self.service.server.listen;
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|source| ServeError::Bind { addr, source })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| ServeError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { addr, source })?;
        let handle = Handle::new();
        let app =
            api::router(self.state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let server = match &self.service.server.tls {
            Some(tls) => {
                // One process-wide provider; installing it again is harmless.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let rustls = RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                    .await
                    .map_err(|source| ServeError::Tls {
                        cert: tls.cert.display().to_string(),
                        key: tls.key.display().to_string(),
                        source,
                    })?;
                let server = axum_server::from_tcp_rustls(listener, rustls).handle(handle.clone());
                tokio::spawn(async move { server.serve(app).await })
            }
            None => {
                let server = axum_server::from_tcp(listener).handle(handle.clone());
                tokio::spawn(async move { server.serve(app).await })
            }
        };
        let (stop, _) = watch::channel(false);
        let schedules = self.start_schedules(&stop);
        self.state.mark_schedules_loaded();
        tracing::info!(addr = %local, tls = self.service.server.tls.is_some(), schedules = self.service.schedules.len(), "Muster serves.");
        if plain_http_exposed(self.service.server.tls.is_some(), local) {
            tracing::warn!(addr = %local, "Serving plain HTTP on an address other machines can reach: tokens and sign-ins cross the network unencrypted unless a TLS proxy sits in front. Set [server] tls = {{ cert = …, key = … }} or listen on 127.0.0.1 behind the proxy.");
        }
        Ok(Serving {
            addr: local,
            tls: self.service.server.tls.is_some(),
            handle,
            server,
            stop,
            schedules,
            state: self.state,
        })
    }
}

impl Service {
    /// One task per schedule; with a store shared by several nodes, one task that drives them
    /// while this node leads ([`schedule::lead`]).
    fn start_schedules(&self, stop: &watch::Sender<bool>) -> Vec<JoinHandle<()>> {
        let runner = &self.state.runner;
        let metrics = &self.state.metrics;
        let schedules = &self.service.schedules;
        match runner.engine().coordinator() {
            Some(coord) if !schedules.is_empty() => vec![tokio::spawn(schedule::lead(
                schedules.clone(),
                runner.clone(),
                metrics.clone(),
                coord.clone(),
                stop.subscribe(),
            ))],
            _ => schedules
                .iter()
                .map(|s| {
                    tokio::spawn(schedule::drive(
                        s.clone(),
                        runner.clone(),
                        metrics.clone(),
                        stop.subscribe(),
                        None,
                    ))
                })
                .collect(),
        }
    }
}

/// A server that listens.
pub struct Serving {
    pub addr: SocketAddr,
    pub tls: bool,
    handle: Handle,
    server: JoinHandle<std::io::Result<()>>,
    stop: watch::Sender<bool>,
    schedules: Vec<JoinHandle<()>>,
    state: AppState,
}

impl Serving {
    /// What the handlers share (the store, the runner, the dashboard's sessions).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops the schedules and new runs, waits for the running run (bounded by the grace
    /// period), then stops the HTTP server. Returns whether the running run ended in time.
    pub async fn shutdown(self) -> Result<bool, ServeError> {
        tracing::info!("Shutting down: no new runs; waiting for the running one.");
        self.stop.send_replace(true);
        for s in self.schedules {
            let _ = s.await;
        }
        let ended = self
            .state
            .runner
            .close(self.state.settings.shutdown_grace)
            .await;
        if !ended {
            tracing::warn!(grace = ?self.state.settings.shutdown_grace, "The running run did not end in time; its journal lets the next apply settle it.");
        }
        if let Some(reporter) = self.state.runner.reporter() {
            if !reporter.drain(MAIL_DRAIN).await {
                tracing::warn!("A run report was still being sent at shutdown; it is dropped.");
            }
        }
        self.handle.graceful_shutdown(Some(HTTP_DRAIN));
        match self.server.await {
            Ok(Ok(())) => Ok(ended),
            Ok(Err(e)) => Err(ServeError::Http(e)),
            Err(e) => Err(ServeError::Http(std::io::Error::other(e))),
        }
    }
}

/// Whether plain HTTP is served where other machines can reach it (a warning: the server is
/// meant to sit behind a TLS proxy then, or to have its own certificate).
fn plain_http_exposed(tls: bool, addr: SocketAddr) -> bool {
    !tls && !addr.ip().is_loopback()
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "Cannot listen for Ctrl-C.");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot listen for SIGTERM.");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::plain_http_exposed;

    #[test]
    fn plain_http_is_exposed_only_off_loopback() {
        let addr = |a: &str| a.parse().unwrap_or_else(|e| panic!("{a}: {e}"));
        assert!(!plain_http_exposed(false, addr("127.0.0.1:8440")));
        assert!(!plain_http_exposed(false, addr("[::1]:8440")));
        assert!(plain_http_exposed(false, addr("0.0.0.0:8440")));
        assert!(plain_http_exposed(false, addr("192.0.2.7:8440")));
        assert!(!plain_http_exposed(true, addr("0.0.0.0:8440")));
    }
}
