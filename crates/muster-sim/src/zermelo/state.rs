//! [`ZermeloState`]: the handle shared by the handlers and by tests. It owns the portal's data,
//! the switches, the request counters, the `eventId` sequence and the seeded fault injector,
//! each behind its own lock so a test can flip switches or read counters while requests run.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::http::HeaderMap;
use serde_json::{json, Value};

use super::error::ZermeloError;
use super::input::{self, PlacementInput, UserInput};
use super::store::Store;
use super::{ZermeloSimConfig, ZermeloSwitches};
use crate::control::RequestCounter;
use crate::faults::FaultInjector;

/// Shared simulator state; cloning is cheap and clones share everything.
#[derive(Clone)]
pub struct ZermeloState {
    inner: Arc<Inner>,
}

struct Inner {
    store: RwLock<Store>,
    switches: RwLock<ZermeloSwitches>,
    /// `"METHOD /template"` → requests received, counted before auth and faults.
    counters: RequestCounter,
    /// The last `eventId` handed out.
    event_id: AtomicU64,
    injector: FaultInjector,
    tokens: Vec<String>,
}

impl std::fmt::Debug for ZermeloState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let store = self.store();
        f.debug_struct("ZermeloState")
            .field("users", &store.user_count())
            .field("departments", &store.department_count())
            .field("placements", &store.placement_count())
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

impl ZermeloState {
    /// Fresh state for `cfg`: its classes, no users, students or placements.
    pub fn new(cfg: ZermeloSimConfig) -> Self {
        let mut store = Store::default();
        for sy in &cfg.departments {
            for class in &sy.classes {
                store.add_department(&sy.school, &sy.year, class);
            }
        }
        Self {
            inner: Arc::new(Inner {
                store: RwLock::new(store),
                switches: RwLock::new(cfg.switches),
                counters: RequestCounter::default(),
                event_id: AtomicU64::new(0),
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

    pub(super) fn injector(&self) -> &FaultInjector {
        &self.inner.injector
    }

    /// Every user with all members, in creation order.
    pub fn users(&self) -> Vec<Value> {
        self.store().users()
    }

    /// User `code` with all members, as `GET users/{code}` returns it.
    pub fn user(&self, code: &str) -> Option<Value> {
        self.store().render_user(code)
    }

    /// Every student record, in creation order.
    pub fn students(&self) -> Vec<Value> {
        self.store().students()
    }

    /// The student record at `students/{code}`.
    pub fn student(&self, code: &str) -> Option<Value> {
        self.store().render_student(code)
    }

    /// Every class (DepartmentOfBranch) of every school and year.
    pub fn departments(&self) -> Vec<Value> {
        self.store().departments()
    }

    /// The id of class `code` of `school` in `year` (`"2024-2025"`), compared ignoring case.
    pub fn department_id(&self, school: &str, year: &str, code: &str) -> Option<u64> {
        self.store().department_id(school, year, code)
    }

    /// Every placement, oldest first.
    pub fn placements(&self) -> Vec<Value> {
        self.store().placements(None)
    }

    /// The placements of the student with user code `student`, oldest first.
    pub fn placements_of(&self, student: &str) -> Vec<Value> {
        self.store().placements(Some(student))
    }

    /// Adds a user without HTTP (nor counters, auth or faults), by the rules of `POST users`:
    /// the body a client would send, e.g. `{"code": "118204", "isStudent": true}`. Returns the
    /// user as served.
    pub fn seed_user(&self, user: Value) -> Result<Value, ZermeloError> {
        self.create_user(input::user(&user)?)
    }

    /// Creates a user from a body already read; returns it as served.
    pub(super) fn create_user(&self, input: UserInput) -> Result<Value, ZermeloError> {
        let mut store = self.store_mut();
        let code = store.create_user(input)?;
        store
            .render_user(&code)
            .ok_or_else(|| ZermeloError::not_found("User", &code))
    }

    /// Adds a student record found at `students/{code}` whose `userCode` is `user_code`, with
    /// no user needed: `user_code` other than `code` makes the mismatch of zermelo.md §5.
    /// Returns its id; an existing record at `code` is kept and its id returned.
    pub fn seed_student(&self, code: &str, user_code: &str) -> u64 {
        self.store_mut().ensure_student(code, user_code)
    }

    /// Adds class `code` of `school` in `year` and returns its id.
    pub fn seed_department(&self, school: &str, year: &str, code: &str) -> u64 {
        self.store_mut().add_department(school, year, code)
    }

    /// Adds a placement by the rules of `POST studentsindepartments` (the student and class
    /// must exist); returns its id.
    pub fn seed_placement(
        &self,
        student: &str,
        department: u64,
        weight: Option<f64>,
    ) -> Result<u64, ZermeloError> {
        self.store_mut().add_placement(PlacementInput {
            student: student.to_string(),
            department,
            weight,
        })
    }

    /// The switches in force.
    pub fn switches(&self) -> ZermeloSwitches {
        read(&self.inner.switches).clone()
    }

    /// Replaces the switches; requests already running keep the ones they started with.
    pub fn set_switches(&self, switches: ZermeloSwitches) {
        *write(&self.inner.switches) = switches;
    }

    /// Changes some switches in place, e.g. `state.update_switches(|s| s.list_users = false)`.
    pub fn update_switches(&self, change: impl FnOnce(&mut ZermeloSwitches)) {
        change(&mut write(&self.inner.switches));
    }

    /// Counts per `"METHOD /template"` under `/api/v3`, e.g. `"PUT /users/{code}"`.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.inner.counters.snapshot()
    }

    /// Requests whose method is `method` (any case) and whose path template under `/api/v3`
    /// starts with `path_prefix`: `("GET", "/users")` counts the list and `users/{code}`.
    pub fn request_count(&self, method: &str, path_prefix: &str) -> u64 {
        self.inner.counters.matching(method, path_prefix)
    }

    /// All requests received under `/api/v3`, refused ones included.
    pub fn total_requests(&self) -> u64 {
        self.inner.counters.total()
    }

    pub(crate) fn counter(&self) -> &RequestCounter {
        &self.inner.counters
    }

    /// The next `eventId`: every envelope gets a higher one than the one before.
    pub(super) fn next_event_id(&self) -> u64 {
        self.inner.event_id.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The `eventId` of the last envelope answered (0 before the first).
    pub fn last_event_id(&self) -> u64 {
        self.inner.event_id.load(Ordering::SeqCst)
    }

    /// Empties users, students, placements, counters and the fault log, restarts ids and
    /// `eventId`, refills the rate bucket and re-seeds fault draws. Classes and switches stay.
    pub fn reset(&self) {
        self.store_mut().clear();
        self.inner.counters.clear();
        self.inner.event_id.store(0, Ordering::SeqCst);
        self.inner.injector.reset();
    }

    /// The test API's view: users, students, placements and classes.
    pub fn dump(&self) -> Value {
        let store = self.store();
        json!({
            "users": store.users(),
            "students": store.students(),
            "placements": store.placements(None),
            "departments": store.departments(),
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
