//! [`HelloIdState`]: the handle shared by the handlers and by tests. It owns the tenant, the
//! switches, the request counters, the fault injector (seeded draws, rate limiter, fault log)
//! and the credentials, each behind its own lock so a test can seed, flip switches or read
//! counters while requests are in flight.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::http::HeaderMap;
use base64::Engine;
use serde_json::{json, Value};

use super::catalog::Revoked;
use super::error::HelloIdError;
use super::input;
use super::store::Store;
use super::{HelloIdSimConfig, HelloIdSwitches};
use crate::control::RequestCounter;
use crate::faults::FaultInjector;

/// Shared simulator state; cloning is cheap and clones share everything.
#[derive(Clone)]
pub struct HelloIdState {
    inner: Arc<Inner>,
}

struct Inner {
    store: RwLock<Store>,
    switches: RwLock<HelloIdSwitches>,
    /// `"METHOD /template"` under `/api/v1` → requests received, counted before auth and faults.
    counters: RequestCounter,
    injector: FaultInjector,
    /// The configuration, for the credentials and for what a reset restores.
    cfg: HelloIdSimConfig,
}

impl std::fmt::Debug for HelloIdState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let store = self.store();
        f.debug_struct("HelloIdState")
            .field("users", &store.users.len())
            .field("groups", &store.groups.len())
            .field("products", &store.products.len())
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

/// A fresh tenant holding the configured groups and products.
fn initial_store(cfg: &HelloIdSimConfig) -> Store {
    let mut store = Store::new(cfg.seed);
    for name in &cfg.groups {
        store.create_group(name, true);
    }
    for name in &cfg.products {
        store.create_product(name);
    }
    store
}

impl HelloIdState {
    /// Fresh state for `cfg`: its groups and products, no users.
    pub fn new(cfg: HelloIdSimConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                store: RwLock::new(initial_store(&cfg)),
                switches: RwLock::new(cfg.switches.clone()),
                counters: RequestCounter::default(),
                injector: FaultInjector::new(cfg.seed),
                cfg,
            }),
        }
    }

    pub(super) fn store(&self) -> RwLockReadGuard<'_, Store> {
        read(&self.inner.store)
    }

    pub(super) fn store_mut(&self) -> RwLockWriteGuard<'_, Store> {
        write(&self.inner.store)
    }

    pub(super) fn injector(&self) -> &FaultInjector {
        &self.inner.injector
    }

    /// Adds a user without HTTP (nor counters, auth or faults), by the rules of `POST /users`:
    /// `body` is the JSON a client would send. Returns its `userGUID`.
    pub fn seed_user(&self, body: Value) -> Result<String, HelloIdError> {
        let input = input::user(&body)?;
        let reserved = self.switches().deleted_name_reserved;
        self.store_mut().create_user(input, reserved)
    }

    /// Soft-deletes a live user, as `DELETE /users/{guid}` does.
    pub fn delete_user(&self, guid: &str) -> Result<(), HelloIdError> {
        self.store_mut().delete_user(guid)
    }

    /// Adds an enabled group (names need not be unique). Returns its `groupGuid`.
    pub fn seed_group(&self, name: &str) -> String {
        self.store_mut().create_group(name, true)
    }

    /// Makes a live user a member of a group (idempotent).
    pub fn add_member(&self, user_guid: &str, group_guid: &str) -> Result<(), HelloIdError> {
        self.store_mut().add_member(user_guid, group_guid)
    }

    /// Removes a membership; `Ok(false)` when there was none.
    pub fn remove_member(&self, user_guid: &str, group_guid: &str) -> Result<bool, HelloIdError> {
        Ok(self.store_mut().remove_member(user_guid, group_guid)? == Revoked::Removed)
    }

    /// Adds a product. Returns its `productId`.
    pub fn seed_product(&self, name: &str) -> String {
        self.store_mut().create_product(name)
    }

    /// Adds one assignment of a product to a live user, as an approved request does.
    pub fn seed_assignment(&self, user_guid: &str, product_id: &str) -> Result<(), HelloIdError> {
        self.store_mut().assign(user_guid, product_id)
    }

    /// Live users as `GET /users` returns them, in creation order.
    pub fn users(&self) -> Vec<Value> {
        let store = self.store();
        store.users(false).map(|u| store.render_user(u)).collect()
    }

    /// Soft-deleted users as `GET /users?isDeleted=true` returns them.
    pub fn deleted_users(&self) -> Vec<Value> {
        let store = self.store();
        store.users(true).map(|u| store.render_user(u)).collect()
    }

    /// A live user by `userGUID` or `userName` (any case), as `GET /users/{key}` returns it.
    pub fn user(&self, key: &str) -> Option<Value> {
        let store = self.store();
        store.user_by_key(key).map(|u| store.render_user(u))
    }

    /// The stored password of a user, live or deleted: what no API answer shows.
    pub fn password_of(&self, guid: &str) -> Option<String> {
        self.store().user_any(guid).and_then(|u| u.password.clone())
    }

    /// Groups as `GET /groups` lists them (without members).
    pub fn groups(&self) -> Vec<Value> {
        let store = self.store();
        store
            .groups
            .iter()
            .map(|g| store.render_group(g, false))
            .collect()
    }

    /// One group as `GET /groups/{guid}` returns it, with `users`.
    pub fn group(&self, guid: &str) -> Option<Value> {
        let store = self.store();
        store.group(guid).map(|g| store.render_group(g, true))
    }

    /// GUIDs of a group's live members, in the order they were added.
    pub fn members(&self, group_guid: &str) -> Vec<String> {
        self.group(group_guid)
            .and_then(|g| serde_json::from_value(g["users"].clone()).ok())
            .unwrap_or_default()
    }

    /// Products as `GET /products` lists them.
    pub fn products(&self) -> Vec<Value> {
        let store = self.store();
        store
            .products
            .iter()
            .map(|p| store.render_product(p))
            .collect()
    }

    /// Assignments of live users (`Some(guid)`: of that user) as `/product-assignment` lists them.
    pub fn assignments(&self, user_guid: Option<&str>) -> Vec<Value> {
        let store = self.store();
        store
            .assignments(user_guid)
            .map(|a| store.render_assignment(a))
            .collect()
    }

    /// Every self-service request, pending and approved, oldest first.
    pub fn requests(&self) -> Vec<Value> {
        let store = self.store();
        store
            .requests
            .iter()
            .map(|r| store.render_request(r))
            .collect()
    }

    /// Requests still waiting for approval.
    pub fn pending_requests(&self) -> Vec<Value> {
        let store = self.store();
        store
            .requests
            .iter()
            .filter(|r| !r.approved)
            .map(|r| store.render_request(r))
            .collect()
    }

    /// Approves pending requests (`Some(guid)`: that one), making them assignments. Returns
    /// the GUIDs approved.
    pub fn approve(&self, request_guid: Option<&str>) -> Vec<String> {
        self.store_mut().approve(request_guid)
    }

    /// Every `unassign/by-product` call received: `productGUID`, `userGUID`,
    /// `executeActions` and how many assignments it `removed`.
    pub fn unassignments(&self) -> Vec<Value> {
        let store = self.store();
        store
            .unassignments
            .iter()
            .map(|u| store.render_unassignment(u))
            .collect()
    }

    /// The switches in force.
    pub fn switches(&self) -> HelloIdSwitches {
        read(&self.inner.switches).clone()
    }

    /// Replaces the switches; requests already running keep the ones they started with.
    pub fn set_switches(&self, switches: HelloIdSwitches) {
        *write(&self.inner.switches) = switches;
    }

    /// Changes some switches in place, e.g. `state.update_switches(|s| s.faults.drop_ratio = 1.0)`.
    pub fn update_switches(&self, change: impl FnOnce(&mut HelloIdSwitches)) {
        change(&mut write(&self.inner.switches));
    }

    /// Requests whose method is `method` (any case) and whose path template under `/api/v1`
    /// starts with `path_prefix`: `("GET", "/users")` also counts `GET /users/{id}`.
    pub fn request_count(&self, method: &str, path_prefix: &str) -> u64 {
        self.inner.counters.matching(method, path_prefix)
    }

    /// Counts per `"METHOD /template"`, e.g. `"DELETE /users/{id}/groups/{group}"`.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.inner.counters.snapshot()
    }

    /// All requests received under `/api/v1`, refused ones included.
    pub fn total_requests(&self) -> u64 {
        self.inner.counters.total()
    }

    pub(crate) fn counter(&self) -> &RequestCounter {
        &self.inner.counters
    }

    /// Returns to the state right after start: the configured groups and products (with the
    /// same ids), no users, no counters, a full rate bucket, an empty fault log and re-seeded
    /// draws. The switches stay as they are.
    pub fn reset(&self) {
        *self.store_mut() = initial_store(&self.inner.cfg);
        self.inner.counters.clear();
        self.inner.injector.reset();
    }

    /// The test API's view: every user (deleted ones and passwords included), groups with
    /// members, products, assignments, requests and unassignments.
    pub fn dump(&self) -> Value {
        let mut dump = self.store().dump();
        dump["total_requests"] = json!(self.total_requests());
        dump
    }

    /// Whether `headers` carry HTTP Basic credentials matching a configured key and secret.
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
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(cred.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((key, secret)) = text.split_once(':') else {
            return false;
        };
        self.inner
            .cfg
            .credentials
            .iter()
            .any(|(k, s)| k == key && s == secret)
    }
}
