//! [`ZivverState`]: the handle shared by the handlers and by tests. It owns the organisation,
//! the switches, the request counters and the fault injector (seeded draws, rate limiter, fault
//! log), each behind its own lock so a test can flip switches or read counters while requests
//! are in flight.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::http::HeaderMap;
use serde_json::{json, Value};

use super::error::ZivverError;
use super::input;
use super::store::{Store, View};
use super::{ZivverSimConfig, ZivverSwitches};
use crate::control::RequestCounter;
use crate::faults::{FaultEvent, FaultInjector};

/// Shared simulator state; cloning is cheap and clones share everything.
#[derive(Clone)]
pub struct ZivverState {
    inner: Arc<Inner>,
}

struct Inner {
    store: RwLock<Store>,
    switches: RwLock<ZivverSwitches>,
    /// `"METHOD /Template"` → requests received, counted before auth and faults.
    counters: RequestCounter,
    injector: FaultInjector,
    tokens: Vec<String>,
}

impl std::fmt::Debug for ZivverState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let store = self.store();
        f.debug_struct("ZivverState")
            .field("users", &store.user_count())
            .field("groups", &store.group_count())
            .finish_non_exhaustive()
    }
}

// As with `faults::lock`: writers never leave the data half-changed, so poison carries nothing.
fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}
fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

impl ZivverState {
    /// Fresh state for `cfg`: its divisions and domains, no users or groups.
    pub fn new(cfg: ZivverSimConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                store: RwLock::new(Store::new(cfg.seed, &cfg.divisions, &cfg.domains)),
                switches: RwLock::new(cfg.switches),
                counters: RequestCounter::default(),
                injector: FaultInjector::new(cfg.seed),
                tokens: cfg.tokens,
            }),
        }
    }

    pub(super) fn store(&self) -> RwLockReadGuard<'_, Store> {
        read(&self.inner.store)
    }

    pub(super) fn store_mut(&self) -> RwLockWriteGuard<'_, Store> {
        write(&self.inner.store)
    }

    /// Every user as a GET returns it (no `SsoAccountKey`), in creation order.
    pub fn users(&self) -> Vec<Value> {
        let store = self.store();
        store
            .user_ids()
            .into_iter()
            .filter_map(|id| store.render_user(id, View::Served))
            .collect()
    }

    /// Every group (functional account) as a GET returns it, in creation order.
    pub fn groups(&self) -> Vec<Value> {
        let store = self.store();
        store
            .group_ids()
            .into_iter()
            .filter_map(|id| store.render_group(id))
            .collect()
    }

    /// One user by id, as a GET returns it.
    pub fn user(&self, id: &str) -> Option<Value> {
        self.store().render_user(id, View::Served)
    }

    /// One group by id, as a GET returns it.
    pub fn group(&self, id: &str) -> Option<Value> {
        self.store().render_group(id)
    }

    /// The user whose `userName` matches, ignoring case.
    pub fn user_by_name(&self, name: &str) -> Option<Value> {
        let store = self.store();
        store
            .user_id_by_name(name)
            .and_then(|id| store.render_user(id, View::Served))
    }

    /// The stored `SsoAccountKey` of user `id`: what no GET ever shows.
    pub fn sso_key_of(&self, id: &str) -> Option<String> {
        self.store().sso_key_of(id)
    }

    /// Adds a user without HTTP (nor counters, auth or faults), by the rules of a POST: the
    /// body is the JSON a client would send; `schemas` may be left out.
    pub fn seed_user(&self, user: Value) -> Result<String, ZivverError> {
        let input = input::user(&user)?;
        let duplicate = self.switches().duplicate_status.status();
        self.store_mut().create_user(input, duplicate)
    }

    /// Adds a functional account: `{"displayName": "…", "members": [{"value": "<user id>"}]}`,
    /// optionally with its address (`externalId`) and the Zivver group extension's `aliases`;
    /// the members must exist. Without an address it is a group as permission.
    pub fn seed_group(&self, group: Value) -> Result<String, ZivverError> {
        let input = input::group(&group)?;
        self.store_mut().seed_group(input)
    }

    /// Records an address that already received mail as a Zivver guest: an alias with it is
    /// refused `Error creating alias: Alias is a guest: <addr>`.
    pub fn seed_guest(&self, address: &str) {
        self.store_mut().add_guest(address);
    }

    /// Adds a division users may be placed in.
    pub fn seed_division(&self, name: &str) {
        self.store_mut().add_division(name);
    }

    /// The switches in force.
    pub fn switches(&self) -> ZivverSwitches {
        read(&self.inner.switches).clone()
    }

    /// Replaces the switches; requests already running keep the ones they started with.
    pub fn set_switches(&self, switches: ZivverSwitches) {
        *write(&self.inner.switches) = switches;
    }

    /// Changes some switches in place, e.g. `state.update_switches(|s| s.faults.rate_limit = false)`.
    pub fn update_switches(&self, change: impl FnOnce(&mut ZivverSwitches)) {
        change(&mut write(&self.inner.switches));
    }

    /// Requests whose method is `method` (any case) and whose path template, under
    /// `/api/scim/v2`, starts with `path_prefix`: `request_count("PUT", "/Users")`;
    /// `("GET", "/Users")` also counts `GET /Users/{id}`.
    pub fn request_count(&self, method: &str, path_prefix: &str) -> u64 {
        self.inner.counters.matching(method, path_prefix)
    }

    /// Counts per `"METHOD /Template"`, e.g. `"PATCH /Groups/{id}"`.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.inner.counters.snapshot()
    }

    /// All requests received under `/api/scim/v2`, refused ones included.
    pub fn total_requests(&self) -> u64 {
        self.inner.counters.total()
    }

    pub(crate) fn counter(&self) -> &RequestCounter {
        &self.inner.counters
    }

    /// The injected faults, oldest first (at most [`crate::faults::FAULT_LOG_CAP`]).
    pub fn fault_log(&self) -> Vec<FaultEvent> {
        self.inner.injector.fault_log()
    }

    pub(super) fn injector(&self) -> &FaultInjector {
        &self.inner.injector
    }

    /// Empties users, groups, counters and the fault log, refills the rate bucket and re-seeds
    /// ids and fault draws. Divisions, domains and switches stay.
    pub fn reset(&self) {
        self.store_mut().clear();
        self.inner.counters.clear();
        self.inner.injector.reset();
    }

    /// The test API's view: every user with whether its `SsoAccountKey` is set and its value,
    /// the groups, divisions and domains.
    pub fn dump(&self) -> Value {
        let store = self.store();
        let users: Vec<Value> = store
            .user_ids()
            .into_iter()
            .filter_map(|id| store.render_user(id, View::Dump))
            .collect();
        let groups: Vec<Value> = store
            .group_ids()
            .into_iter()
            .filter_map(|id| store.render_group(id))
            .collect();
        json!({
            "users": users,
            "groups": groups,
            "divisions": store.divisions(),
            "domains": store.domains(),
        })
    }

    /// Whether `headers` carry `Authorization: Bearer <one of the tokens>`.
    pub(super) fn authorized(&self, headers: &HeaderMap) -> bool {
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
        scheme.eq_ignore_ascii_case("bearer")
            && !cred.is_empty()
            && self.inner.tokens.iter().any(|t| t == cred)
    }
}
