//! One task per `[[schedules]]` entry: sleep until the next firing (plus jitter), start the
//! run, or skip it when the previous run is still going. Stops when told to.

use crate::config::Schedule;
use crate::metrics::Metrics;
use crate::runner::{RunRequest, Runner, TriggerError};
use chrono::Utc;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Runs `schedule` until `stop` turns true (or its expression never fires again).
pub async fn drive(
    schedule: Schedule,
    runner: Arc<Runner>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last = Utc::now();
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
        fire(&schedule, &runner, &metrics);
    }
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
