//! Coordination of several Muster nodes through their shared PostgreSQL store: leases with a
//! deadline, renewed while held (the rows: `muster_store::lease`).
//!
//! The one rule that makes a lease safe: **a holder stops working before anyone else can take
//! the lease.** The database sets each deadline to `ttl` after it received the renewal, by its
//! own clock; the holder counts `ttl - margin` from the moment it *sent* that renewal, by its
//! monotonic clock. So the holder's own end of the lease ([`LeaseGuard::lost`]) always comes
//! before the database's deadline, by at least the margin, however long a renewal took and
//! whatever the nodes' wall clocks say. A renewal is tried every `ttl / 5`; when renewals fail
//! (the database is unreachable, the connection was cut), the holder keeps trying until its
//! own end, then gives up: the token fires, and whoever works under the lease stops (an apply
//! between batches, the scheduler before its next firing).
//!
//! A node that dies (SIGKILL, power) renews no more: another node takes the lease once the
//! deadline has passed, i.e. within `ttl` of the last renewal. A clean stop releases the
//! lease at once.

use muster_store::lease::{self, Acquired, PgPool};
use muster_store::StoreError;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The default time-to-live of a lease: a dead node's work is taken over within this.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);

/// Names of the leases Muster takes.
pub const APPLY_LEASE: &str = "apply";
pub const SCHEDULER_LEASE: &str = "scheduler";

/// Leases of one node in one store.
#[derive(Debug, Clone)]
pub struct Coordinator {
    pool: PgPool,
    /// Who this node is, in the lease rows (host, process, random).
    node: Arc<str>,
    ttl: Duration,
}

/// A lease another node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    pub holder: String,
    pub deadline: chrono::DateTime<chrono::Utc>,
}

impl Coordinator {
    pub fn new(pool: PgPool, ttl: Duration) -> Self {
        Self {
            pool,
            node: node_name().into(),
            ttl,
        }
    }

    /// This node's name in the lease rows.
    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Takes lease `name`, or says who has it. While held it is renewed in the background.
    pub async fn acquire(&self, name: &str) -> Result<Result<LeaseGuard, Busy>, StoreError> {
        let sent = Instant::now();
        match lease::try_acquire(&self.pool, name, &self.node, self.ttl).await? {
            Acquired::Held { .. } => Ok(Ok(LeaseGuard::start(self.clone(), name, sent))),
            Acquired::Busy { holder, deadline } => Ok(Err(Busy { holder, deadline })),
        }
    }
}

/// A held lease. Renewed in the background until dropped or released; [`LeaseGuard::lost`]
/// fires when this node must stop working under it.
#[derive(Debug)]
pub struct LeaseGuard {
    name: String,
    coord: Coordinator,
    lost: CancellationToken,
    /// Stops the renewer.
    done: CancellationToken,
}

/// Renewal timing for a lease of `ttl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How often the lease is renewed.
    pub renew_every: Duration,
    /// How long before the database's deadline the holder stops (counted from when it sent
    /// its last successful renewal).
    pub margin: Duration,
}

impl Timing {
    pub fn of(ttl: Duration) -> Self {
        Self {
            renew_every: ttl / 5,
            margin: ttl / 4,
        }
    }
}

/// The holder's own end of the lease: `ttl - margin` after the renewal that succeeded was sent.
pub fn held_until(sent: Instant, ttl: Duration) -> Instant {
    sent + ttl.saturating_sub(Timing::of(ttl).margin)
}

impl LeaseGuard {
    fn start(coord: Coordinator, name: &str, sent: Instant) -> Self {
        let guard = Self {
            name: name.to_owned(),
            coord: coord.clone(),
            lost: CancellationToken::new(),
            done: CancellationToken::new(),
        };
        let (lost, done, name) = (guard.lost.clone(), guard.done.clone(), name.to_owned());
        tokio::spawn(async move { renew_until_lost(coord, name, sent, lost, done).await });
        guard
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Cancelled once this node must stop working under the lease.
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }

    /// Gives the lease up now, so another node need not wait for its deadline.
    pub async fn release(self) {
        self.done.cancel();
        self.lost.cancel();
        release_now(&self.coord.pool, &self.name, &self.coord.node).await;
    }
}

/// Gives a lease up, trying a few times: after PostgreSQL restarted, the pool's first
/// connections are dead ones, each dropped by its failure, and a new one gets through. Fails
/// only with a warning: the lease then ends at its deadline.
async fn release_now(pool: &PgPool, name: &str, node: &str) {
    const ATTEMPTS: u32 = 3;
    for attempt in 1..=ATTEMPTS {
        match lease::release(pool, name, node).await {
            Ok(_) => return,
            Err(e) if attempt == ATTEMPTS => {
                tracing::warn!(lease = %name, error = %e, "The lease could not be released; it ends at its deadline.");
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if self.done.is_cancelled() {
            return;
        }
        self.done.cancel();
        self.lost.cancel();
        // Dropped without `release` (an error path): give it up in the background.
        let (pool, name, node) = (
            self.coord.pool.clone(),
            self.name.clone(),
            self.coord.node.clone(),
        );
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { release_now(&pool, &name, &node).await });
        }
    }
}

/// The renewer: every `renew_every`, move the deadline on; give up at the holder's own end of
/// the lease when renewals keep failing, or at once when the lease is no longer ours.
async fn renew_until_lost(
    coord: Coordinator,
    name: String,
    sent: Instant,
    lost: CancellationToken,
    done: CancellationToken,
) {
    let timing = Timing::of(coord.ttl);
    let mut until = held_until(sent, coord.ttl);
    let mut wait = timing.renew_every;
    loop {
        let now = Instant::now();
        if now >= until {
            tracing::error!(lease = %name, node = %coord.node, "No renewal of the lease succeeded in time: this node stops working under it.");
            lost.cancel();
            return;
        }
        tokio::select! {
            _ = done.cancelled() => return,
            _ = tokio::time::sleep_until((now + wait).min(until)) => {}
        }
        if Instant::now() >= until {
            continue;
        }
        let sent = Instant::now();
        let attempt = lease::renew(&coord.pool, &name, &coord.node, coord.ttl);
        let outcome = tokio::select! {
            _ = done.cancelled() => return,
            r = tokio::time::timeout_at(until, attempt) => r,
        };
        match outcome {
            Ok(Ok(true)) => {
                until = held_until(sent, coord.ttl);
                wait = timing.renew_every;
            }
            Ok(Ok(false)) => {
                tracing::error!(lease = %name, node = %coord.node, "The lease is no longer this node's: it stops working under it.");
                lost.cancel();
                return;
            }
            Ok(Err(e)) => {
                tracing::warn!(lease = %name, error = %e, "Renewing the lease failed; trying again until it runs out.");
                wait = timing.renew_every / 4;
            }
            Err(_) => {} // timed out at `until`: the loop gives up
        }
    }
}

/// `host:pid:random`, unique per process.
fn node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_owned());
    let tag: u32 = rand::random();
    format!("{host}:{}:{tag:08x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_stops_a_margin_before_the_database_deadline() {
        let ttl = Duration::from_secs(10);
        let t = Timing::of(ttl);
        assert_eq!(t.renew_every, Duration::from_secs(2));
        assert_eq!(t.margin, Duration::from_millis(2500));
        let sent = Instant::now();
        // The database counts ttl from when it received the renewal, never before it was sent.
        assert_eq!(held_until(sent, ttl) + t.margin, sent + ttl);
        // Several renewals fit before the holder's own end.
        assert!(t.renew_every * 3 < ttl - t.margin);
    }
}
