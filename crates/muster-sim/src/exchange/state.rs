//! [`ExchangeState`]: the handle shared by the handlers and by tests. It owns the tenant, the
//! switches, the tokens issued (each for one audience), the request counters and the seeded
//! fault injector, each behind its own lock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::assertion::{self, Refusal, Registered, SeenJtis};
use super::tenant::{Tenant, TenantSeed};
use super::{ExchangeSimConfig, ExchangeSwitches};
use crate::control::RequestCounter;
use crate::faults::FaultInjector;

/// Which API a token was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Exchange,
    Graph,
}

/// Shared simulator state; cloning is cheap and clones share everything.
#[derive(Clone)]
pub struct ExchangeState {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: ExchangeSimConfig,
    tenant: RwLock<Tenant>,
    switches: RwLock<ExchangeSwitches>,
    tokens: RwLock<BTreeMap<String, (Audience, Instant)>>,
    issued: AtomicU64,
    certificates: Vec<Registered>,
    jtis: RwLock<SeenJtis>,
    counters: RequestCounter,
    injector: FaultInjector,
}

impl std::fmt::Debug for ExchangeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeState")
            .field("tenant", &self.inner.cfg.tenant)
            .field("mailboxes", &self.tenant().seed().mailboxes.len())
            .finish_non_exhaustive()
    }
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}
fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

impl ExchangeState {
    pub fn new(cfg: ExchangeSimConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                tenant: RwLock::new(Tenant::new(cfg.tenant_seed.clone())),
                switches: RwLock::new(cfg.switches.clone()),
                tokens: RwLock::new(BTreeMap::new()),
                issued: AtomicU64::new(0),
                certificates: assertion::register(&cfg.certificates),
                jtis: RwLock::new(SeenJtis::default()),
                counters: RequestCounter::default(),
                injector: FaultInjector::new(cfg.seed),
                cfg,
            }),
        }
    }

    pub(super) fn cfg(&self) -> &ExchangeSimConfig {
        &self.inner.cfg
    }

    /// The tenant's initial domain, as the URLs name it.
    pub fn tenant_name(&self) -> &str {
        &self.inner.cfg.tenant
    }

    /// Whether `name` (from a URL) is this tenant: its domain or its id.
    pub(super) fn is_tenant(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(&self.inner.cfg.tenant)
            || name.eq_ignore_ascii_case(&self.inner.cfg.tenant_id)
    }

    pub fn tenant(&self) -> RwLockReadGuard<'_, Tenant> {
        read(&self.inner.tenant)
    }

    pub fn tenant_mut(&self) -> RwLockWriteGuard<'_, Tenant> {
        write(&self.inner.tenant)
    }

    /// Replaces the whole tenant.
    pub fn set_tenant(&self, seed: TenantSeed) {
        *self.tenant_mut() = Tenant::new(seed);
    }

    pub fn switches(&self) -> ExchangeSwitches {
        read(&self.inner.switches).clone()
    }

    pub fn set_switches(&self, switches: ExchangeSwitches) {
        *write(&self.inner.switches) = switches;
    }

    pub fn counter(&self) -> &RequestCounter {
        &self.inner.counters
    }

    pub(super) fn injector(&self) -> &FaultInjector {
        &self.inner.injector
    }

    /// Tokens issued so far (for a test that checks a client reuses its token).
    pub fn tokens_issued(&self) -> u64 {
        self.inner.issued.load(Ordering::Relaxed)
    }

    /// A new token for `audience`, valid for the switches' lifetime.
    pub(super) fn issue(&self, audience: Audience) -> (String, u64) {
        let n = self.inner.issued.fetch_add(1, Ordering::Relaxed) + 1;
        let salt = (self.inner.injector.draw() * 1e15) as u64;
        let token = format!("exo-sim-{n}-{salt:x}");
        let lifetime = self.switches().token_lifetime_s;
        let until = Instant::now() + Duration::from_secs(lifetime);
        write(&self.inner.tokens).insert(token.clone(), (audience, until));
        (token, lifetime)
    }

    /// Whether `token` is a live token for `audience`.
    pub(super) fn token_valid(&self, token: &str, audience: Audience) -> bool {
        read(&self.inner.tokens)
            .get(token)
            .is_some_and(|(a, until)| *a == audience && Instant::now() < *until)
    }

    /// Checks a client assertion for the app (see `assertion`): its certificate, signature,
    /// audience (`audience_ok`), issuer, time and that its `jti` is new.
    pub(super) fn check_assertion(
        &self,
        assertion: &str,
        audience_ok: &dyn Fn(&str) -> bool,
    ) -> Result<(), Refusal> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
            .saturating_add(self.switches().clock_offset_s);
        let want = assertion::Expected {
            client_id: &self.inner.cfg.client_id,
            audience_ok,
            now,
        };
        let (jti, exp) = assertion::verify(&self.inner.certificates, assertion, &want)?;
        write(&self.inner.jtis).record(jti, exp, now)
    }

    /// Forgets the tenant, the tokens and the counters.
    pub fn reset(&self) {
        self.set_tenant(TenantSeed::default());
        write(&self.inner.tokens).clear();
        write(&self.inner.jtis).clear();
        self.inner.counters.clear();
        self.inner.injector.reset();
    }

    /// The test API's view: the tenant as its seed.
    pub fn dump(&self) -> Value {
        json!({ "tenant": self.tenant().seed(), "tokensIssued": self.tokens_issued() })
    }
}
