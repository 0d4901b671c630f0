//! What every request handler shares.

use crate::auth::FailedAuth;
use crate::config::{Schedule, ServerSettings};
use crate::jit::Jit;
use crate::metrics::Metrics;
use crate::runner::Runner;
use crate::web::session::Sessions;
use crate::web::signin::SignIn;
use muster_store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Arc<dyn Store>,
    pub runner: Arc<Runner>,
    pub metrics: Arc<Metrics>,
    pub failures: FailedAuth,
    pub settings: ServerSettings,
    pub schedules: Vec<Schedule>,
    /// Set once every schedule's task is running (`/readyz`).
    pub schedules_loaded: AtomicBool,
    /// Dashboard sessions (signed in with OpenID Connect).
    pub sessions: Sessions,
    /// The dashboard sign-in, when `[server.oidc]` is configured.
    pub signin: Option<SignIn>,
    /// The just-in-time sign-in hooks, when `[server.jit]` is configured.
    pub jit: Option<Jit>,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    pub fn schedules_loaded(&self) -> bool {
        self.0.schedules_loaded.load(Ordering::Acquire)
    }

    pub fn mark_schedules_loaded(&self) {
        self.0.schedules_loaded.store(true, Ordering::Release);
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
