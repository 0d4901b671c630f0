//! [`ScimState`]: the handle shared by the handlers and by tests. It owns the directory, the
//! switches, the request counters, credentials and the fault injector, each behind its own lock
//! so a test can flip switches or read counters while requests are in flight.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::Value;

use super::error::ScimError;
use super::schema::Kind;
use super::store::{Store, View};
use super::validate;
use super::{ScimSimConfig, ScimSwitches, BASE_PATH};
use crate::control::RequestCounter;
use crate::faults::{FaultInjector, FaultSource, Faults};

/// Shared simulator state; cloning is cheap and clones share everything.
#[derive(Clone)]
pub struct ScimState {
    inner: Arc<Inner>,
}

struct Inner {
    store: RwLock<Store>,
    switches: RwLock<ScimSwitches>,
    /// `"METHOD /Template"` → requests received, counted before auth and faults.
    counters: RequestCounter,
    injector: FaultInjector,
    base_url: RwLock<String>,
    token: String,
    basic: Option<(String, String)>,
    seed: u64,
}

impl std::fmt::Debug for ScimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimState")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

// As with `faults::lock`: writers never leave the data half-changed, so poison carries nothing.
fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}
fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ScimState {
    /// Fresh, empty state for `cfg`.
    pub fn new(cfg: ScimSimConfig) -> Self {
        let mut store = Store::new(cfg.seed);
        store.keep_repeated_members = cfg.switches.duplicate_member_adds;
        Self {
            inner: Arc::new(Inner {
                store: RwLock::new(store),
                switches: RwLock::new(cfg.switches),
                counters: RequestCounter::default(),
                injector: FaultInjector::new(cfg.seed),
                base_url: RwLock::new(format!("http://localhost{BASE_PATH}")),
                token: cfg.token,
                basic: cfg.basic,
                seed: cfg.seed,
            }),
        }
    }

    /// The SCIM base URL used in `meta.location`.
    pub fn base_url(&self) -> String {
        read(&self.inner.base_url).clone()
    }

    /// Sets the base URL; the starters do this once they know the port.
    pub fn set_base_url(&self, url: &str) {
        *write(&self.inner.base_url) = url.trim_end_matches('/').to_string();
    }

    pub(crate) fn store(&self) -> RwLockReadGuard<'_, Store> {
        read(&self.inner.store)
    }

    pub(crate) fn store_mut(&self) -> RwLockWriteGuard<'_, Store> {
        write(&self.inner.store)
    }

    fn all(&self, kind: Kind) -> Vec<Value> {
        let base = self.base_url();
        let store = self.store();
        store
            .ids(kind)
            .iter()
            .filter_map(|id| store.render(kind, id, &base, View::Dump))
            .collect()
    }

    /// Every user as served, plus its stored `password`, in creation order.
    pub fn users(&self) -> Vec<Value> {
        self.all(Kind::User)
    }

    /// Every group as served, in creation order.
    pub fn groups(&self) -> Vec<Value> {
        self.all(Kind::Group)
    }

    /// One user by id, as [`Self::users`] shows it.
    pub fn user(&self, id: &str) -> Option<Value> {
        self.store()
            .render(Kind::User, id, &self.base_url(), View::Dump)
    }

    /// One group by id.
    pub fn group(&self, id: &str) -> Option<Value> {
        self.store()
            .render(Kind::Group, id, &self.base_url(), View::Dump)
    }

    /// The user whose `userName` matches, ignoring case.
    pub fn user_by_name(&self, name: &str) -> Option<Value> {
        let base = self.base_url();
        let store = self.store();
        let id = store.user_id_by_name(name)?;
        store.render(Kind::User, id, &base, View::Dump)
    }

    /// Adds a user without going through HTTP (nor counters or faults). The body is checked as
    /// a POST is, except that `schemas` may be left out.
    pub fn seed_user(&self, user: Value) -> Result<String, ScimError> {
        self.seed(Kind::User, &user)
    }

    /// Adds a group; its members must already exist.
    pub fn seed_group(&self, group: Value) -> Result<String, ScimError> {
        self.seed(Kind::Group, &group)
    }

    fn seed(&self, kind: Kind, body: &Value) -> Result<String, ScimError> {
        let attrs = validate::normalize(kind, body, false)?;
        self.store_mut().create(kind, attrs)
    }

    /// The switches in force.
    pub fn switches(&self) -> ScimSwitches {
        read(&self.inner.switches).clone()
    }

    /// Replaces the switches; requests already running keep the ones they started with.
    pub fn set_switches(&self, switches: ScimSwitches) {
        self.update_switches(|s| *s = switches);
    }

    /// Changes some switches in place, e.g. `state.update_switches(|s| s.patch = false)`.
    pub fn update_switches(&self, change: impl FnOnce(&mut ScimSwitches)) {
        let keep = {
            let mut switches = write(&self.inner.switches);
            change(&mut switches);
            switches.duplicate_member_adds
        };
        self.store_mut().keep_repeated_members = keep;
    }

    /// Requests whose method is `method` (any case) and whose path template starts with
    /// `path_prefix`: `request_count("POST", "/Users")`; `("GET", "/Users")` also counts
    /// `GET /Users/{id}`.
    pub fn request_count(&self, method: &str, path_prefix: &str) -> u64 {
        self.inner.counters.matching(method, path_prefix)
    }

    /// Counts per `"METHOD /Template"`, e.g. `"PATCH /Groups/{id}"`.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.inner.counters.snapshot()
    }

    /// All requests received under the SCIM base path.
    pub fn total_requests(&self) -> u64 {
        self.inner.counters.total()
    }

    pub(crate) fn counter(&self) -> &RequestCounter {
        &self.inner.counters
    }

    /// Empties the directory and the counters, and re-seeds ids and faults. Switches stay.
    pub fn reset(&self) {
        let mut store = Store::new(self.inner.seed);
        store.keep_repeated_members = self.switches().duplicate_member_adds;
        *self.store_mut() = store;
        self.inner.counters.clear();
        self.inner.injector.reset();
    }

    /// Whether `headers` carry accepted credentials (Bearer token or Basic).
    pub(crate) fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, cred)) = value.trim().split_once(' ') else {
            return false;
        };
        let cred = cred.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return !self.inner.token.is_empty() && cred == self.inner.token;
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let Some((user, pass)) = &self.inner.basic else {
                return false;
            };
            let decoded = base64::engine::general_purpose::STANDARD.decode(cred).ok();
            let pair = decoded
                .as_deref()
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|s| s.split_once(':'));
            return pair == Some((user.as_str(), pass.as_str()));
        }
        false
    }

    /// Whether Basic auth is on, for `/ServiceProviderConfig` and `WWW-Authenticate`.
    pub(crate) fn basic_enabled(&self) -> bool {
        self.inner.basic.is_some()
    }
}

impl FaultSource for ScimState {
    const API_PATH: &'static str = BASE_PATH;

    fn faults(&self) -> Faults {
        read(&self.inner.switches).faults.clone()
    }

    fn injector(&self) -> &FaultInjector {
        &self.inner.injector
    }

    fn render_error(&self, _faults: &Faults, status: StatusCode, detail: &str) -> Response {
        ScimError::new(status, detail).into_response()
    }
}
