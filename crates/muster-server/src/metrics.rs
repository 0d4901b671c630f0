//! Prometheus metrics of one server: runs by mode and status, actions by target, kind and
//! outcome, run duration, schedule firings, failed authentications. Each server has its own
//! registry (no global recorder), so several servers in one test process do not mix.

use muster_core::report::RunSummary;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// The media type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    mode: String,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    target: String,
    kind: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModeLabels {
    mode: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScheduleLabels {
    schedule: String,
    result: String,
}

type DurationFamily = Family<ModeLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    runs: Family<RunLabels, Counter>,
    actions: Family<ActionLabels, Counter>,
    duration: DurationFamily,
    running: Gauge,
    schedules: Family<ScheduleLabels, Counter>,
    auth_failures: Counter,
}

fn duration_histogram() -> Histogram {
    // 0.5 s to about 68 minutes.
    Histogram::new(exponential_buckets(0.5, 2.0, 14))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("muster");
        let runs = Family::<RunLabels, Counter>::default();
        registry.register("runs", "Runs ended, by mode and status", runs.clone());
        let actions = Family::<ActionLabels, Counter>::default();
        registry.register(
            "actions",
            "Planned actions of ended runs, by target, kind and outcome (planned for previews)",
            actions.clone(),
        );
        let duration: DurationFamily = Family::new_with_constructor(duration_histogram);
        registry.register(
            "run_duration_seconds",
            "How long runs took, by mode",
            duration.clone(),
        );
        let running = Gauge::default();
        registry.register(
            "runs_in_progress",
            "Runs going on now (0 or 1)",
            running.clone(),
        );
        let schedules = Family::<ScheduleLabels, Counter>::default();
        registry.register(
            "schedule_firings",
            "Schedule firings, by schedule and result (started, skipped, failed)",
            schedules.clone(),
        );
        let auth_failures = Counter::default();
        registry.register(
            "auth_failures",
            "Requests refused for a missing, unknown or revoked token",
            auth_failures.clone(),
        );
        Self {
            registry,
            runs,
            actions,
            duration,
            running,
            schedules,
            auth_failures,
        }
    }
}

impl Metrics {
    pub fn run_started(&self) {
        self.running.set(1);
    }

    /// A run ended with `status` (`error` when it did not produce a summary).
    pub fn run_ended(
        &self,
        mode: &str,
        status: &str,
        took: Duration,
        summary: Option<&RunSummary>,
    ) {
        self.running.set(0);
        self.runs
            .get_or_create(&RunLabels {
                mode: mode.to_owned(),
                status: status.to_owned(),
            })
            .inc();
        self.duration
            .get_or_create(&ModeLabels {
                mode: mode.to_owned(),
            })
            .observe(took.as_secs_f64());
        for t in summary.map(|s| s.targets.as_slice()).unwrap_or_default() {
            for (kind, counts) in &t.by_action {
                let outcomes = [
                    ("done", counts.done),
                    ("failed", counts.failed),
                    ("blocked", counts.blocked),
                    ("skipped", counts.skipped),
                    (
                        "planned",
                        if mode == "preview" { counts.planned } else { 0 },
                    ),
                ];
                for (outcome, n) in outcomes.into_iter().filter(|(_, n)| *n > 0) {
                    self.actions
                        .get_or_create(&ActionLabels {
                            target: t.target.to_string(),
                            kind: kind.as_str().to_owned(),
                            outcome: outcome.to_owned(),
                        })
                        .inc_by(n as u64);
                }
            }
        }
    }

    pub fn schedule_fired(&self, schedule: &str, result: &str) {
        self.schedules
            .get_or_create(&ScheduleLabels {
                schedule: schedule.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    pub fn auth_failed(&self) {
        self.auth_failures.inc();
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}
