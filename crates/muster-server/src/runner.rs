//! Starts runs for the API and the schedules, one at a time: a run asked for while another is
//! going is refused (the API answers 409, a schedule skips that firing). An apply also holds
//! the engine's store lock, so a CLI `muster apply` and the server never apply together.

use crate::metrics::Metrics;
use crate::report::Reporter;
use chrono::{DateTime, Utc};
use muster_core::TargetName;
use muster_engine::{Engine, EngineError, RunReport};
use muster_store::{RunMode, RunStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    pub mode: RunMode,
    /// Empty: every target.
    pub targets: Vec<TargetName>,
    /// Who asked: `schedule nightly`, `token ci (3fa2…)`.
    pub origin: String,
}

/// The run going on now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub request: RunRequest,
    pub since: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("a {} run is going on since {} (started by {}); one run at a time", .0.request.mode, .0.since.to_rfc3339(), .0.request.origin)]
    Busy(Box<Running>),
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Engine(#[from] EngineError),
}

pub struct Runner {
    engine: Arc<Engine>,
    metrics: Arc<Metrics>,
    current: Mutex<Slot>,
    /// `true` while a run goes on; shutdown waits for `false`.
    busy: watch::Sender<bool>,
    /// Mails a report after each run (`[server.email]`).
    reporter: Option<Arc<Reporter>>,
}

#[derive(Default)]
struct Slot {
    running: Option<Running>,
    closed: bool,
}

impl Runner {
    pub fn new(engine: Arc<Engine>, metrics: Arc<Metrics>) -> Self {
        Self {
            engine,
            metrics,
            current: Mutex::new(Slot::default()),
            busy: watch::Sender::new(false),
            reporter: None,
        }
    }

    /// Mails a report after each run.
    pub fn with_reporter(mut self, reporter: Arc<Reporter>) -> Self {
        self.reporter = Some(reporter);
        self
    }

    pub fn reporter(&self) -> Option<&Arc<Reporter>> {
        self.reporter.as_ref()
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The run going on now, if any.
    pub fn running(&self) -> Option<Running> {
        self.slot().running.clone()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        // A panic while holding this lock leaves only plain data behind; go on with it.
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts `request` in the background, or says why not.
    pub fn trigger(self: &Arc<Self>, request: RunRequest) -> Result<Running, TriggerError> {
        let engine = if request.targets.is_empty() {
            self.engine.clone()
        } else {
            Arc::new(self.engine.only_targets(&request.targets)?)
        };
        let running = {
            let mut slot = self.slot();
            if slot.closed {
                return Err(TriggerError::ShuttingDown);
            }
            if let Some(r) = &slot.running {
                return Err(TriggerError::Busy(Box::new(r.clone())));
            }
            let running = Running {
                request,
                since: Utc::now(),
            };
            slot.running = Some(running.clone());
            // Set while the slot is held, so a `close` can never see a starting run as none.
            self.busy.send_replace(true);
            running
        };
        let this = self.clone();
        let mode = running.request.mode;
        let origin = running.request.origin.clone();
        tokio::spawn(async move {
            this.metrics.run_started();
            let started = Instant::now();
            tracing::info!(%mode, %origin, "Run started.");
            // Its own task, so a panic in the pipeline ends as a failed run and frees the slot.
            let result = match tokio::spawn(async move { run(&engine, mode).await }).await {
                Ok(result) => result,
                Err(e) => Err(EngineError::Stopped {
                    stage: "run",
                    detail: e.to_string(),
                }),
            };
            this.finished(mode, &origin, started.elapsed(), result)
                .await;
            this.slot().running = None;
            this.busy.send_replace(false);
        });
        Ok(running)
    }

    async fn finished(
        &self,
        mode: RunMode,
        origin: &str,
        took: Duration,
        result: Result<RunReport, EngineError>,
    ) {
        match result {
            Ok(report) => {
                let status = report.summary.status().as_str();
                tracing::info!(run = %report.run, %mode, %origin, status, "Run ended.");
                self.metrics
                    .run_ended(mode.as_str(), status, took, Some(&report.summary));
                self.save_plans(&report).await;
                if let Some(r) = &self.reporter {
                    r.run_ended(mode, origin, took, Ok(&report));
                }
            }
            Err(e) => {
                tracing::error!(%mode, %origin, error = %e, "Run failed.");
                self.metrics
                    .run_ended(mode.as_str(), RunStatus::Error.as_str(), took, None);
                if let Some(r) = &self.reporter {
                    r.run_ended(mode, origin, took, Err(e.to_string()));
                }
            }
        }
    }

    /// Keeps each target's plan as its newest, for `GET /api/v1/targets/{target}/plan`.
    async fn save_plans(&self, report: &RunReport) {
        for plan in &report.plan.targets {
            let saved = match serde_json::to_value(plan) {
                Ok(json) => {
                    self.engine
                        .store
                        .save_plan(&report.run, &plan.target, &json)
                        .await
                }
                Err(e) => {
                    tracing::warn!(target_name = %plan.target, error = %e, "Plan could not be encoded.");
                    continue;
                }
            };
            if let Err(e) = saved {
                tracing::warn!(target_name = %plan.target, error = %e, "Plan could not be kept.");
            }
        }
    }

    /// Refuses new runs from now on, stops the running apply between batches (the rest stays
    /// pending in the journal for the next apply), and waits up to `grace` for it to end.
    /// Returns whether it ended (or none was going).
    pub async fn close(&self, grace: Duration) -> bool {
        self.slot().closed = true;
        // A running apply finishes the batch in flight and leaves the rest pending.
        self.engine.stop_token().cancel();
        let mut busy = self.busy.subscribe();
        let ended = tokio::time::timeout(grace, busy.wait_for(|b| !*b)).await;
        matches!(ended, Ok(Ok(_)))
    }
}

async fn run(engine: &Engine, mode: RunMode) -> Result<RunReport, EngineError> {
    let today = chrono::Local::now().date_naive();
    match mode {
        RunMode::Preview => engine.preview(today).await,
        // Schedules and the API parse only `plan` and `apply`; a sign-in is never queued here.
        RunMode::Apply | RunMode::SignIn => engine.apply(today, None).await,
    }
}
