//! The e-mail report after every run (`[server.email]`).
//!
//! - [`compose`]: pure; a [`RunDigest`] (summary and some actions) becomes a message.
//! - [`mailer`]: the I/O; sends over SMTP in the background with bounded retries.
//!
//! [`Reporter::run_ended`] gathers the digest (the run's failed and done actions from the audit,
//! or a preview's planned actions, up to the list limit per target) and hands the message to
//! the mailer. Nothing here can fail or hold up a run: problems are logged.

pub mod compose;
pub mod mailer;

use crate::config::EmailSettings;
pub use compose::{compose, ActionLine, RunDigest, SyncDigest};
pub use mailer::{Mailer, MailerError};
use muster_core::report::{ActionOutcome, AuditEvent};
use muster_engine::RunReport;
use muster_store::{AuditQuery, RunMode, Store};
use std::sync::Arc;
use std::time::Duration;

/// Mails a report after each run, as `[server.email]` says.
pub struct Reporter {
    settings: EmailSettings,
    mailer: Arc<Mailer>,
    store: Arc<dyn Store>,
    /// Add the Cloud Sync section (a configuration with `[run] perform_sync`).
    cloud_sync: bool,
}

impl Reporter {
    /// With the Cloud Sync section: created, updated, suspended, delegations and aliases
    /// changed, skipped with reasons, blocked by the fail-safe, "ran in preview mode".
    pub fn with_cloud_sync(mut self, on: bool) -> Self {
        self.cloud_sync = on;
        self
    }

    pub fn new(settings: EmailSettings, store: Arc<dyn Store>) -> Result<Self, MailerError> {
        let mailer = Arc::new(Mailer::new(&settings)?);
        Ok(Self {
            settings,
            mailer,
            store,
            cloud_sync: false,
        })
    }

    /// A run ended (`result`: its report, or why it produced none): compose and send in the
    /// background.
    pub fn run_ended(
        self: &Arc<Self>,
        mode: RunMode,
        origin: &str,
        took: Duration,
        result: Result<&RunReport, String>,
    ) {
        // An apply under `perform_sync = false` only previewed: report it as the preview it was.
        let mode = match &result {
            Ok(report) if report.summary.preview_mode => RunMode::Preview,
            _ => mode,
        };
        let sync = match &result {
            Ok(report) if self.cloud_sync => Some(SyncDigest::of(
                report,
                mode == RunMode::Preview,
                self.settings.list_limit,
            )),
            _ => None,
        };
        let (run, result, preview_lines) = match result {
            Ok(report) => (
                Some(report.run.clone()),
                Ok(report.summary.clone()),
                if mode == RunMode::Preview {
                    planned_lines(report, self.settings.list_limit)
                } else {
                    Vec::new()
                },
            ),
            Err(why) => (None, Err(why), Vec::new()),
        };
        let mut digest = RunDigest {
            run,
            mode,
            origin: origin.to_owned(),
            took,
            result,
            lines: preview_lines,
            sync,
        };
        if !digest.wanted(self.settings.only_on) {
            tracing::debug!(
                status = digest.status(),
                "No report mailed: only_on = problems."
            );
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            if mode == RunMode::Apply {
                digest.lines = this.applied_lines(&digest).await;
            }
            let run = digest
                .run
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_default();
            match compose(&digest, &this.settings) {
                Ok(message) => this.mailer.send_in_background(message, run),
                Err(e) => {
                    tracing::error!(run = %run, error = %e, "The run report could not be composed.")
                }
            }
        });
    }

    /// The failed and done actions of an apply, per target, up to the list limit each.
    async fn applied_lines(&self, digest: &RunDigest) -> Vec<ActionLine> {
        let (Some(run), Ok(summary)) = (&digest.run, &digest.result) else {
            return Vec::new();
        };
        let mut lines = Vec::new();
        for t in &summary.targets {
            for outcome in [ActionOutcome::Failed, ActionOutcome::Done] {
                let query = AuditQuery {
                    run: Some(run.to_string()),
                    target: Some(t.target.clone()),
                    outcome: Some(outcome),
                    limit: self.settings.list_limit,
                    ..AuditQuery::default()
                };
                match self.store.audit(&query).await {
                    Ok(events) => lines.extend(events.into_iter().map(line_of_event)),
                    Err(e) => {
                        tracing::warn!(run = %run, target_name = %t.target, error = %e, "The report lists no actions: the audit could not be read.");
                    }
                }
            }
        }
        lines
    }

    /// Waits up to `grace` for reports being sent.
    pub async fn drain(&self, grace: Duration) -> bool {
        self.mailer.drain(grace).await
    }
}

pub(crate) fn line_of_event(e: AuditEvent) -> ActionLine {
    ActionLine {
        target: e.target,
        person: e.person,
        kind: e.action,
        outcome: Some(e.outcome),
        detail: e.detail,
        fields: e.changes.into_iter().map(|c| c.field).collect(),
    }
}

/// A preview's planned actions, up to `limit` per target.
fn planned_lines(report: &RunReport, limit: usize) -> Vec<ActionLine> {
    report
        .plan
        .targets
        .iter()
        .flat_map(|t| {
            t.actions.iter().take(limit).map(|a| ActionLine {
                target: t.target.clone(),
                person: a.person.clone(),
                kind: a.kind,
                outcome: None,
                detail: None,
                fields: a.changes.iter().map(|c| c.field.clone()).collect(),
            })
        })
        .collect()
}
