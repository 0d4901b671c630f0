//! Leases between nodes sharing one PostgreSQL store (`muster_engine::coord`): one holder at a
//! time, a dead holder's lease taken once its deadline has passed, and a holder cut off from
//! PostgreSQL stopping before any other node can take its lease — through a TCP proxy the test
//! cuts (connections closed) or freezes (a partition: no answer, no close), never by touching
//! the shared server.

use super::pg::{url_of, Proxy, TempDb};
use muster_engine::coord::{Coordinator, APPLY_LEASE, SCHEDULER_LEASE};
use muster_store::lease::{self, Acquired};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(2);

async fn coordinator(url: &str) -> Coordinator {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(1))
        .connect(url)
        .await
        .unwrap();
    Coordinator::new(pool, TTL)
}

/// A database with the store's schema.
async fn database() -> Option<TempDb> {
    let db = TempDb::create().await?;
    super::pg::migrate(&db.url()).await;
    Some(db)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_node_holds_a_lease_while_it_renews_it_and_the_next_gets_it_when_released() {
    let Some(db) = database().await else { return };
    let (a, b) = (coordinator(&db.url()).await, coordinator(&db.url()).await);
    assert_ne!(a.node(), b.node());
    let held = a.acquire(APPLY_LEASE).await.unwrap().unwrap();
    let busy = b.acquire(APPLY_LEASE).await.unwrap().unwrap_err();
    assert_eq!(busy.holder, a.node());
    // Other leases are independent.
    let other = b.acquire(SCHEDULER_LEASE).await.unwrap().unwrap();
    // Past two time-to-lives the holder has renewed and still holds it.
    tokio::time::sleep(TTL * 2).await;
    assert!(!held.lost().is_cancelled());
    let busy = b.acquire(APPLY_LEASE).await.unwrap().unwrap_err();
    assert_eq!(busy.holder, a.node());
    held.release().await;
    let taken = b.acquire(APPLY_LEASE).await.unwrap().unwrap();
    taken.release().await;
    other.release().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_holders_lease_is_taken_only_after_its_deadline() {
    let Some(db) = database().await else { return };
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    // A node that took the lease and died: no renewer.
    let Acquired::Held { deadline } = lease::try_acquire(&pool, APPLY_LEASE, "dead", TTL)
        .await
        .unwrap()
    else {
        panic!("a free lease is taken");
    };
    let died = std::time::Instant::now();
    let b = coordinator(&db.url()).await;
    let mut refused = 0;
    let guard = loop {
        match b.acquire(APPLY_LEASE).await.unwrap() {
            Ok(guard) => break guard,
            Err(busy) => {
                assert_eq!((busy.holder.as_str(), busy.deadline), ("dead", deadline));
                refused += 1;
                assert!(refused < 200, "the dead node's lease was never taken");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let now: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        now > deadline,
        "taken at {now}, before the deadline {deadline}"
    );
    eprintln!(
        "a dead holder's lease (ttl {TTL:?}) was taken over {:?} after it was last renewed",
        died.elapsed()
    );
    assert!(refused > 0);
    // The dead node, back, cannot renew what it lost.
    assert!(!lease::renew(&pool, APPLY_LEASE, "dead", TTL).await.unwrap());
    guard.release().await;
    pool.close().await;
    db.drop_now().await;
}

/// Node A holds the lease through the proxy; `lose` cuts it off. Node B, connected directly,
/// asks for the lease until it gets it: by then A must have stopped working under it.
async fn cut_off_holder_stops_first(lose: impl FnOnce(&Proxy)) {
    let Some(db) = database().await else { return };
    let proxy = Proxy::start().await;
    let a = coordinator(&url_of(&db.name, Some(proxy.addr))).await;
    let b = coordinator(&db.url()).await;
    let held = a.acquire(APPLY_LEASE).await.unwrap().unwrap();
    let stopped = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (lost, stopped) = (held.lost(), stopped.clone());
        tokio::spawn(async move {
            lost.cancelled().await;
            stopped.store(true, Ordering::SeqCst);
        })
    };
    lose(&proxy);
    let cut = std::time::Instant::now();
    let mut refused = 0;
    let taken = loop {
        match b.acquire(APPLY_LEASE).await.unwrap() {
            Ok(guard) => break guard,
            Err(busy) => {
                assert_eq!(busy.holder, a.node());
                refused += 1;
                assert!(refused < 400, "the lease was never taken over");
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    };
    assert!(
        stopped.load(Ordering::SeqCst),
        "node B took the lease while node A still worked under it"
    );
    assert!(
        refused > 0,
        "the lease was taken at once: it was never held"
    );
    eprintln!(
        "cut off: the holder stopped, and the lease (ttl {TTL:?}) was taken over {:?} after the cut",
        cut.elapsed()
    );
    watcher.await.unwrap();
    taken.release().await;
    drop(held);
    drop(proxy);
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_whose_connection_is_cut_stops_before_another_takes_its_lease() {
    cut_off_holder_stops_first(Proxy::cut).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partitioned_node_stops_before_another_takes_its_lease() {
    cut_off_holder_stops_first(Proxy::freeze).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_firing_is_claimed_once() {
    let Some(db) = database().await else { return };
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    let at = chrono::Utc::now();
    assert!(lease::claim_firing(&pool, "nightly", at, "a")
        .await
        .unwrap());
    assert!(!lease::claim_firing(&pool, "nightly", at, "b")
        .await
        .unwrap());
    assert!(lease::claim_firing(&pool, "hourly", at, "b").await.unwrap());
    let firings = lease::firings(&pool, "nightly").await.unwrap();
    assert_eq!(firings.len(), 1);
    assert_eq!(firings[0].1, "a");
    assert_eq!(
        lease::last_firing(&pool, "nightly")
            .await
            .unwrap()
            .map(|t| t.timestamp_micros()),
        Some(at.timestamp_micros())
    );
    pool.close().await;
    db.drop_now().await;
}
