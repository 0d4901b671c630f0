//! Leases in PostgreSQL: how several Muster nodes sharing one database agree on who does a
//! piece of work (the apply of a store, the scheduled jobs). A lease is one row
//! `(name, holder, deadline)`; every statement here is a single atomic statement, and every
//! deadline is computed by the database's clock (`now()`), so the nodes' clocks never have to
//! agree.
//!
//! - [`try_acquire`] takes the row when it is free, expired, or already ours.
//! - [`renew`] moves the deadline on only while the lease is still ours *and unexpired*: a
//!   holder that missed its deadline has lost the lease even when nobody took it yet, so it
//!   can never believe it held the lease at a moment another node could have.
//! - [`release`] gives it up at once (a clean stop), so the next node need not wait out the
//!   deadline.
//! - [`claim_firing`] records that a schedule's firing at one instant was started, once: the
//!   second node to claim the same firing is told no.
//!
//! The policy (how often to renew, when a holder must give up) lives with the caller
//! (`muster-engine`'s `coord`); this module only keeps the rows. The tables are made by the
//! PostgreSQL migrations (`migrations/postgres/`).

use chrono::{DateTime, Utc};
pub use sqlx::PgPool;
use std::time::Duration;

use crate::error::StoreError;

/// What [`try_acquire`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// The lease is ours until the database's `deadline`.
    Held { deadline: DateTime<Utc> },
    /// Another holder has it, until `deadline` unless it renews.
    Busy {
        holder: String,
        deadline: DateTime<Utc>,
    },
}

fn seconds(ttl: Duration) -> f64 {
    ttl.as_secs_f64()
}

/// Takes the lease `name` for `holder` for `ttl`, when nobody holds it, its holder let its
/// deadline pass, or `holder` has it already (then the deadline moves on).
pub async fn try_acquire(
    pool: &PgPool,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> Result<Acquired, StoreError> {
    // A lease released between the two statements is free: try again, a bounded number of times.
    for _ in 0..3 {
        if let Some(deadline) = take(pool, name, holder, ttl).await? {
            return Ok(Acquired::Held { deadline });
        }
        if let Some((holder, deadline)) = self::holder(pool, name).await? {
            return Ok(Acquired::Busy { holder, deadline });
        }
    }
    Err(StoreError::LeaseContended {
        name: name.to_owned(),
    })
}

/// The one statement that takes a lease: `Some(deadline)` when it is ours now.
async fn take(
    pool: &PgPool,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO leases (name, holder, deadline, acquired_at) \
         VALUES ($1, $2, now() + make_interval(secs => $3), now()) \
         ON CONFLICT (name) DO UPDATE \
           SET holder = EXCLUDED.holder, deadline = EXCLUDED.deadline, \
               acquired_at = CASE WHEN leases.holder = EXCLUDED.holder \
                                  THEN leases.acquired_at ELSE EXCLUDED.acquired_at END \
           WHERE leases.deadline < now() OR leases.holder = EXCLUDED.holder \
         RETURNING deadline",
    )
    .bind(name)
    .bind(holder)
    .bind(seconds(ttl))
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("acquire lease", "leases", name))
}

/// Moves the deadline of `holder`'s lease `name` to `ttl` from now. `Ok(false)`: the lease is
/// no longer ours (expired, released or taken) and must not be worked on any more.
pub async fn renew(
    pool: &PgPool,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE leases SET deadline = now() + make_interval(secs => $3) \
         WHERE name = $1 AND holder = $2 AND deadline >= now()",
    )
    .bind(name)
    .bind(holder)
    .bind(seconds(ttl))
    .execute(pool)
    .await
    .map_err(StoreError::db("renew lease", "leases", name))?;
    Ok(done.rows_affected() == 1)
}

/// Gives `holder`'s lease `name` up; a lease that is not (or no longer) ours is left alone.
pub async fn release(pool: &PgPool, name: &str, holder: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(pool)
        .await
        .map_err(StoreError::db("release lease", "leases", name))?;
    Ok(())
}

/// The holder of lease `name` and its deadline, if anyone holds or held it.
pub async fn holder(
    pool: &PgPool,
    name: &str,
) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
    sqlx::query_as("SELECT holder, deadline FROM leases WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::db("read lease", "leases", name))
}

/// How many firings of each schedule are kept (older ones are pruned as new ones come).
const FIRINGS_KEPT: i64 = 100;

/// Claims the firing of `schedule` at `at` for `node`: `true` for the first claim of that
/// firing, `false` when another node (or this one) claimed it already.
pub async fn claim_firing(
    pool: &PgPool,
    schedule: &str,
    at: DateTime<Utc>,
    node: &str,
) -> Result<bool, StoreError> {
    let mut tx =
        pool.begin()
            .await
            .map_err(StoreError::db("claim firing", "schedule_firings", schedule))?;
    let done = sqlx::query(
        "INSERT INTO schedule_firings (schedule, fire_at, node, claimed_at) \
         VALUES ($1, $2, $3, now()) ON CONFLICT (schedule, fire_at) DO NOTHING",
    )
    .bind(schedule)
    .bind(at)
    .bind(node)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::db("claim firing", "schedule_firings", schedule))?;
    sqlx::query(
        "DELETE FROM schedule_firings WHERE schedule = $1 AND fire_at < \
         (SELECT fire_at FROM schedule_firings WHERE schedule = $1 \
          ORDER BY fire_at DESC OFFSET $2 LIMIT 1)",
    )
    .bind(schedule)
    .bind(FIRINGS_KEPT)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::db(
        "prune firings",
        "schedule_firings",
        schedule,
    ))?;
    tx.commit()
        .await
        .map_err(StoreError::db("claim firing", "schedule_firings", schedule))?;
    Ok(done.rows_affected() == 1)
}

/// The newest claimed firing of `schedule`, if any.
pub async fn last_firing(
    pool: &PgPool,
    schedule: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    sqlx::query_scalar("SELECT max(fire_at) FROM schedule_firings WHERE schedule = $1")
        .bind(schedule)
        .fetch_one(pool)
        .await
        .map_err(StoreError::db("last firing", "schedule_firings", schedule))
}

/// Every claimed firing of `schedule`, oldest first, with the node that claimed it.
pub async fn firings(
    pool: &PgPool,
    schedule: &str,
) -> Result<Vec<(DateTime<Utc>, String)>, StoreError> {
    sqlx::query_as(
        "SELECT fire_at, node FROM schedule_firings WHERE schedule = $1 ORDER BY fire_at",
    )
    .bind(schedule)
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("list firings", "schedule_firings", schedule))
}
