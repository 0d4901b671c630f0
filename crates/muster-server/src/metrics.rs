//! Prometheus metrics of one server: runs by mode and status, actions by target, kind and
//! outcome, run duration, schedule firings, failed authentications, and per target the HTTP
//! requests sent, the 429s received and the rate budget in use (read at scrape time from the
//! connectors' own counters, [`HttpMeters`]), and the actions pending in the journal. Each
//! server has its own registry (no global recorder), so several servers in one test process do
//! not mix.

use muster_core::report::RunSummary;
use muster_core::TargetName;
use muster_engine::connectors::HttpMeters;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::time::Duration;

/// The media type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The media type of [`prometheus_text`]: Prometheus' classic text format, for scrapers and
/// tools (`promtool check metrics`) that do not ask for OpenMetrics.
pub const CLASSIC_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// OpenMetrics text in Prometheus' classic text format (0.0.4): a counter's `HELP` and `TYPE`
/// name its samples' `_total` name, and `# UNIT` and `# EOF` go. Samples stay as they are.
pub fn prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let comment = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| Some((p, line.strip_prefix(p)?)));
        match comment {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                out.push_str(prefix);
                out.push_str(name);
                if counters.contains(name) {
                    out.push_str("_total");
                }
                if !tail.is_empty() {
                    out.push(' ');
                    out.push_str(tail);
                }
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

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

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: String,
}

/// Which number of a target's request counts a metric shows.
type CountOf = fn(&muster_connectors::http::RequestCounts) -> u64;

/// Each target's HTTP traffic, read from the connectors' counters at every scrape.
struct HttpCollector {
    /// The connected targets' meters, asked for at each scrape (a target may connect late).
    meters: Box<dyn Fn() -> BTreeMap<TargetName, HttpMeters> + Send + Sync>,
}

impl std::fmt::Debug for HttpCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpCollector").finish_non_exhaustive()
    }
}

impl Collector for HttpCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counts: Vec<_> = (self.meters)()
            .iter()
            .map(|(t, m)| {
                let labels = TargetLabels {
                    target: t.to_string(),
                };
                (labels, m.counters.snapshot(), m.bucket.used())
            })
            .collect();
        let counters: [(&str, &str, CountOf); 2] = [
            (
                "http_requests",
                "HTTP requests sent to each target, every attempt (retries included)",
                |c| c.total(),
            ),
            (
                "http_throttled",
                "Answers telling Muster to slow down (429, or 503 on a request safe to repeat), by target",
                |c| c.throttled,
            ),
        ];
        for (name, help, value) in counters {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (labels, c, _) in &counts {
                ConstCounter::new(value(c)).encode(family.encode_family(labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "rate_budget_used_ratio",
            "Share of each target's request budget in use now (1 while a 429 pause lasts)",
            None,
            MetricType::Gauge,
        )?;
        for (labels, _, used) in &counts {
            ConstGauge::new(*used).encode(family.encode_family(labels)?)?;
        }
        Ok(())
    }
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
    actions_pending: Gauge,
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
        let actions_pending = Gauge::default();
        registry.register(
            "actions_pending",
            "Actions journaled as planned or sent and not yet settled (the run going on, or one cut off that the next apply settles)",
            actions_pending.clone(),
        );
        Self {
            registry,
            runs,
            actions,
            duration,
            running,
            schedules,
            auth_failures,
            actions_pending,
        }
    }
}

impl Metrics {
    /// Also reports each connected target's HTTP requests, 429s and rate budget in use, as
    /// `meters` gives them at each scrape.
    pub fn with_http(
        mut self,
        meters: impl Fn() -> BTreeMap<TargetName, HttpMeters> + Send + Sync + 'static,
    ) -> Self {
        self.registry.register_collector(Box::new(HttpCollector {
            meters: Box::new(meters),
        }));
        self
    }

    /// Actions pending in the journal (read from the store before each scrape).
    pub fn set_actions_pending(&self, n: u64) {
        self.actions_pending
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_text_names_counters_by_their_samples_and_drops_eof() {
        let open = "# HELP muster_runs Runs ended.\n# TYPE muster_runs counter\nmuster_runs_total{mode=\"apply\"} 1\n\
                    # HELP muster_up Up.\n# TYPE muster_up gauge\n# UNIT muster_up seconds\nmuster_up 1\n# EOF\n";
        assert_eq!(
            prometheus_text(open),
            "# HELP muster_runs_total Runs ended.\n# TYPE muster_runs_total counter\nmuster_runs_total{mode=\"apply\"} 1\n\
             # HELP muster_up Up.\n# TYPE muster_up gauge\nmuster_up 1\n"
        );
    }

    #[test]
    fn the_rendered_metrics_convert_without_loss_of_samples() {
        let m = Metrics::default();
        m.run_ended("apply", "changes", Duration::from_secs(3), None);
        let open = m.render().unwrap();
        let classic = prometheus_text(&open);
        let samples = |t: &str| t.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(samples(&open), samples(&classic));
        assert!(
            classic.contains("# TYPE muster_runs_total counter\n"),
            "{classic}"
        );
        assert!(!classic.contains("# EOF"), "{classic}");
    }
}
