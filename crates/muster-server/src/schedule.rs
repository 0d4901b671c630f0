//! One task per `[[schedules]]` entry: sleep until the next firing (plus jitter), start the
//! run, or skip it when the previous run is still going. Stops when told to.
//!
//! With a store shared by several nodes (PostgreSQL), only the node that holds the lease
//! `scheduler` drives the schedules ([`lead`]); the others wait to take the lease over. The
//! leader also claims each firing in the store before it starts it
//! (`muster_store::lease::claim_firing`), so a firing runs once even if two nodes ever both
//! believed they led; a new leader starts with the newest firing the store holds, and runs a
//! firing its predecessor missed (at most one, and only a recent one) at once.

use crate::config::Schedule;
use crate::metrics::Metrics;
use crate::runner::{RunRequest, Runner, TriggerError};
use chrono::{DateTime, Utc};
use muster_engine::coord::{Coordinator, SCHEDULER_LEASE};
use muster_store::lease;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Leads the schedules while this node holds the lease `scheduler`: takes it when it is free,
/// drives every schedule while it holds it, stops them when it loses it, and tries again.
/// Returns when `stop` turns true.
pub async fn lead(
    schedules: Vec<Schedule>,
    runner: Arc<Runner>,
    metrics: Arc<Metrics>,
    coord: Coordinator,
    mut stop: watch::Receiver<bool>,
) {
    let retry = Timing::retry(&coord);
    loop {
        match coord.acquire(SCHEDULER_LEASE).await {
            Ok(Ok(guard)) => {
                tracing::info!(node = %coord.node(), "This node leads the schedules.");
                let (lead_stop, _) = watch::channel(false);
                let tasks: Vec<_> = schedules
                    .iter()
                    .map(|s| {
                        tokio::spawn(drive(
                            s.clone(),
                            runner.clone(),
                            metrics.clone(),
                            lead_stop.subscribe(),
                            Some(coord.clone()),
                        ))
                    })
                    .collect();
                let lost = guard.lost();
                tokio::select! {
                    _ = lost.cancelled() => {
                        tracing::warn!(node = %coord.node(), "This node no longer leads the schedules.");
                    }
                    _ = stop.wait_for(|s| *s) => {}
                }
                lead_stop.send_replace(true);
                for t in tasks {
                    let _ = t.await;
                }
                guard.release().await;
            }
            Ok(Err(busy)) => {
                tracing::debug!(leader = %busy.holder, until = %busy.deadline, "Another node leads the schedules.");
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot tell who leads the schedules; trying again.");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(retry) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

struct Timing;

impl Timing {
    /// How often a node that does not lead asks for the lease: a fifth of its time-to-live,
    /// so a dead leader's schedules are taken over within `ttl + ttl / 5`.
    fn retry(coord: &Coordinator) -> Duration {
        coord.ttl() / 5
    }

    /// How far back a new leader looks for a firing its predecessor missed.
    fn catch_up(coord: &Coordinator) -> Duration {
        coord.ttl() * 3
    }
}

/// Runs `schedule` until `stop` turns true (or its expression never fires again). With
/// `coord`, each firing is claimed in the store first and runs only on the node that claims it.
pub async fn drive(
    schedule: Schedule,
    runner: Arc<Runner>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
    coord: Option<Coordinator>,
) {
    let mut last = Utc::now();
    if let Some(coord) = &coord {
        if let Some(missed) = missed_firing(&schedule, coord, last).await {
            tracing::info!(schedule = %schedule.name, at = %missed.to_rfc3339(), "Running a firing the previous leader missed.");
            claim_and_fire(&schedule, &runner, &metrics, Some(coord), missed).await;
        }
    }
    loop {
        let Some(next) = schedule.next_after(last.max(Utc::now())) else {
            tracing::warn!(schedule = %schedule.name, "Schedule never fires again; it stops.");
            return;
        };
        last = next;
        let wait = (next - Utc::now()).to_std().unwrap_or_default() + jitter(schedule.jitter);
        tracing::debug!(schedule = %schedule.name, next = %next.to_rfc3339(), "Schedule waits.");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        claim_and_fire(&schedule, &runner, &metrics, coord.as_ref(), next).await;
    }
}

/// The newest firing of `schedule` before `now` that no node claimed, when the store holds an
/// earlier claimed one and the missed firing is recent ([`Timing::catch_up`]).
async fn missed_firing(
    schedule: &Schedule,
    coord: &Coordinator,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let last = match lease::last_firing(coord.pool(), &schedule.name).await {
        Ok(last) => last?,
        Err(e) => {
            tracing::warn!(schedule = %schedule.name, error = %e, "Cannot read the schedule's last firing.");
            return None;
        }
    };
    let window = chrono::Duration::from_std(Timing::catch_up(coord)).ok()?;
    let missed = schedule.next_after(last.max(now - window))?;
    (missed <= now).then_some(missed)
}

/// Starts the firing at `at`, after claiming it in the store when several nodes share it.
async fn claim_and_fire(
    schedule: &Schedule,
    runner: &Arc<Runner>,
    metrics: &Metrics,
    coord: Option<&Coordinator>,
    at: DateTime<Utc>,
) {
    if let Some(coord) = coord {
        match lease::claim_firing(coord.pool(), &schedule.name, at, coord.node()).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(schedule = %schedule.name, at = %at.to_rfc3339(), "Skipped: another node started this firing.");
                metrics.schedule_fired(&schedule.name, "elsewhere");
                return;
            }
            Err(e) => {
                tracing::error!(schedule = %schedule.name, error = %e, "Cannot claim the firing; it is not started here.");
                metrics.schedule_fired(&schedule.name, "failed");
                return;
            }
        }
    }
    fire(schedule, runner, metrics);
}

fn fire(schedule: &Schedule, runner: &Arc<Runner>, metrics: &Metrics) {
    let request = RunRequest {
        mode: schedule.mode,
        targets: schedule.targets.clone(),
        origin: format!("schedule {}", schedule.name),
    };
    match runner.trigger(request) {
        Ok(_) => metrics.schedule_fired(&schedule.name, "started"),
        Err(TriggerError::Busy(running)) => {
            tracing::info!(schedule = %schedule.name, running = %running.request.origin, "Skipped: the previous run is still going.");
            metrics.schedule_fired(&schedule.name, "skipped");
        }
        Err(e) => {
            tracing::error!(schedule = %schedule.name, error = %e, "Schedule could not start its run.");
            metrics.schedule_fired(&schedule.name, "failed");
        }
    }
}

fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    Duration::from_millis(
        rand::thread_rng().gen_range(0..=max.as_millis().min(u64::MAX as u128) as u64),
    )
}
