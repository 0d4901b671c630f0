//! `/`: each target's last and next run, status, counts, warnings and blocked actions waiting;
//! the run going on; recent runs; starting a run (admin).

use super::error::WebError;
use super::layout::{self, csrf_field, href, short, status, time, time_opt};
use super::session::WebUser;
use crate::api::admin::schedule_views;
use crate::api::blocked::blocked_list;
use crate::api::error::ApiError;
use crate::api::views::{BlockedView, ScheduleView};
use crate::state::AppState;
use crate::tokens::{permits, Need};
use axum::extract::State;
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use muster_core::report::{RunSummary, TargetSummary};
use muster_store::RunRecord;

/// Runs read for the overview: the last run of each target is looked for among these.
const RUNS_READ: usize = 50;
/// Runs listed under "Recent runs".
const RUNS_SHOWN: usize = 15;

/// One target's line of the overview.
struct TargetLine<'a> {
    name: &'a str,
    last: Option<(&'a RunRecord, Option<&'a TargetSummary>)>,
    next: Option<(DateTime<Utc>, &'a str)>,
    waiting: usize,
}

/// The run summary stored with a run, if it is one (a failed run stores `{ "error": … }`).
pub(super) fn summary_of(run: &RunRecord) -> Option<RunSummary> {
    run.summary
        .clone()
        .and_then(|v| serde_json::from_value::<RunSummary>(v).ok())
}

/// The newest run that covered `target`, with its summary of that target.
fn last_run<'a>(
    target: &str,
    runs: &'a [(RunRecord, Option<RunSummary>)],
) -> Option<(&'a RunRecord, Option<&'a TargetSummary>)> {
    runs.iter().find_map(|(run, summary)| match summary {
        Some(s) => s
            .targets
            .iter()
            .find(|t| t.target.as_str() == target)
            .map(|t| (run, Some(t))),
        // A run that failed before its summary: it may have covered every target.
        None => run.finished_at.is_some().then_some((run, None)),
    })
}

/// The earliest next firing of a schedule that covers `target`.
fn next_run<'a>(target: &str, schedules: &'a [ScheduleView]) -> Option<(DateTime<Utc>, &'a str)> {
    schedules
        .iter()
        .filter(|s| s.targets.is_empty() || s.targets.iter().any(|t| t == target))
        .filter_map(|s| s.next.map(|n| (n, s.name.as_str())))
        .min_by_key(|(n, _)| *n)
}

pub async fn page(State(state): State<AppState>, user: WebUser) -> Result<Markup, WebError> {
    let runs: Vec<(RunRecord, Option<RunSummary>)> = state
        .store
        .runs(RUNS_READ)
        .await
        .map_err(ApiError::store)?
        .into_iter()
        .map(|r| {
            let s = summary_of(&r);
            (r, s)
        })
        .collect();
    let schedules = schedule_views(&state);
    let waiting = blocked_list(&state, 20, true).await?;
    let engine = state.runner.engine();
    let lines: Vec<TargetLine<'_>> = engine
        .config
        .targets
        .iter()
        .map(|t| TargetLine {
            name: t.name.as_str(),
            last: last_run(t.name.as_str(), &runs),
            next: next_run(t.name.as_str(), &schedules),
            waiting: waiting
                .iter()
                .filter(|b| b.target == t.name.as_str())
                .count(),
        })
        .collect();
    let running = state.runner.running();
    let body = html! {
        h1 { "Overview" }
        @if let Some(r) = &running {
            p.notice { "A " (r.request.mode.as_str()) " run is going on since " (time(r.since)) ", started by " (r.request.origin) "." }
        }
        h2 { "Targets" }
        table #targets {
            thead { tr {
                th { "Target" } th { "Last run" } th { "Status" }
                th.num { "Planned" } th.num { "Done" } th.num { "Failed" } th.num { "Blocked" }
                th { "Warnings" } th { "Next run" } th.num { "Waiting for approval" } th { "Plan" }
            } }
            tbody {
                @for line in &lines { (target_row(line)) }
            }
        }
        h2 { "Blocked actions waiting for a decision" }
        (waiting_table(&waiting))
        @if permits(user.role, Need::Admin) {
            h2 { "Start a run" }
            (trigger_form(&user, &lines))
        }
        h2 { "Recent runs" }
        (runs_table(runs.iter().take(RUNS_SHOWN).map(|(r, _)| r)))
        @if !schedules.is_empty() {
            h2 { "Schedules" }
            table {
                thead { tr { th { "Name" } th { "Cron" } th { "Time zone" } th { "Mode" } th { "Targets" } th { "Next" } } }
                tbody {
                    @for s in &schedules {
                        tr {
                            td { (s.name) } td { code { (s.cron) } } td { (s.timezone) } td { (s.mode) }
                            td { @if s.targets.is_empty() { span.muted { "all" } } @else { (s.targets.join(", ")) } }
                            td { (time_opt(s.next)) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Overview", &user, body))
}

fn target_row(line: &TargetLine<'_>) -> Markup {
    let counts = line.last.and_then(|(_, s)| s).map(TargetSummary::totals);
    let warnings: Vec<&String> = line
        .last
        .and_then(|(_, s)| s)
        .map(|s| s.warnings.iter().chain(s.stopped.iter()).collect())
        .unwrap_or_default();
    html! {
        tr data-target=(line.name) {
            td { strong { (line.name) } }
            td {
                @match line.last {
                    Some((run, _)) => { a href=(href("/runs/", &run.id)) { (short(&run.id)) } " " span.muted { (run.mode.as_str()) } br; (time(run.started_at)) }
                    None => { span.muted { "none yet" } }
                }
            }
            td { @if let Some((run, _)) = line.last { (status(run.status.map(|s| s.as_str()))) } }
            @match counts {
                Some(c) => {
                    td.num { (c.planned) } td.num { (c.done) } td.num { (c.failed) } td.num { (c.blocked) }
                }
                None => { td.num {} td.num {} td.num {} td.num {} }
            }
            td {
                @if warnings.is_empty() { span.muted { "none" } }
                @else { ul.changes { @for w in &warnings { li { (w) } } } }
            }
            td {
                @match line.next {
                    Some((at, name)) => { (time(at)) br; span.muted { (name) } }
                    None => { span.muted { "not scheduled" } }
                }
            }
            td.num { @if line.waiting > 0 { span.badge.waiting { (line.waiting) } } @else { "0" } }
            td { a href=(href("/plans/", line.name)) { "newest plan" } }
        }
    }
}

pub(super) fn waiting_table(waiting: &[BlockedView]) -> Markup {
    html! {
        @if waiting.is_empty() {
            p.muted #no-waiting { "Nothing is waiting." }
        } @else {
            table #waiting {
                thead { tr { th { "Run" } th { "Target" } th { "Action type" } th.num { "Actions" } th { "Why it was blocked" } th {} } }
                tbody {
                    @for b in waiting {
                        tr {
                            td { a href=(href("/runs/", &b.run)) { (short(&b.run)) } }
                            td { (b.target) } td { (b.kind) } td.num { (b.count) } td { (b.reason) }
                            td { a href=(format!("{}#blocked", href("/runs/", &b.run))) { "decide" } }
                        }
                    }
                }
            }
        }
    }
}

fn trigger_form(user: &WebUser, lines: &[TargetLine<'_>]) -> Markup {
    html! {
        form.inline #trigger method="post" action="/runs" {
            (csrf_field(user))
            label { "Mode"
                select name="mode" {
                    option value="plan" { "plan (preview, nothing is sent)" }
                    option value="apply" { "apply" }
                }
            }
            label { "Target"
                select name="target" {
                    option value="" { "every target" }
                    @for l in lines { option value=(l.name) { (l.name) } }
                }
            }
            button type="submit" { "Start" }
        }
    }
}

pub(super) fn runs_table<'a>(runs: impl Iterator<Item = &'a RunRecord>) -> Markup {
    html! {
        table #runs {
            thead { tr { th { "Run" } th { "Mode" } th { "Started" } th { "Finished" } th { "Status" } } }
            tbody {
                @for r in runs {
                    tr {
                        td { a href=(href("/runs/", &r.id)) { code { (short(&r.id)) } } }
                        td { (r.mode.as_str()) } td { (time(r.started_at)) } td { (time_opt(r.finished_at)) }
                        td { (status(r.status.map(|s| s.as_str()))) }
                    }
                }
            }
        }
    }
}
