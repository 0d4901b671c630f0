//! `/runs/{id}`: one run — its summary per target, its blocked actions with approve/reject,
//! its actions filterable by target, type and outcome (a plain GET form), with reasons and
//! before/after values (secret values as `***`). `POST /runs/{id}/decide` and `POST /runs`
//! take the forms.

use super::csrf::CheckedForm;
use super::error::WebError;
use super::layout::{self, csrf_field, href, short, status, time, time_opt, value};
use super::overview::summary_of;
use super::session::WebUser;
use super::{given, WebPath, WebQuery};
use crate::api::blocked::{blocked_of, decide_on};
use crate::api::runs::{run_actions, start_run};
use crate::api::views::{
    ActionFilter, ActionView, AuditView, BlockedView, DecisionRequest, TriggerMode, TriggerRequest,
};
use crate::state::AppState;
use crate::tokens::{permits, Need};
use axum::extract::State;
use axum::response::Redirect;
use maud::{html, Markup};
use muster_core::plan::{ActionKind, REDACTED};
use muster_core::report::TargetSummary;
use muster_store::{DecisionKind, JournalState};
use serde::Deserialize;
use std::collections::HashMap;

/// The journal states, in the order a filter offers them.
const STATES: [JournalState; 6] = [
    JournalState::Planned,
    JournalState::Sent,
    JournalState::Done,
    JournalState::Failed,
    JournalState::Blocked,
    JournalState::Skipped,
];

/// Actions listed on one page at most (the filter narrows a large run).
const MAX_ROWS: usize = 500;

/// The filter form: empty fields mean "any".
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    target: Option<String>,
    kind: Option<String>,
    state: Option<String>,
}

impl Filter {
    fn to_api(&self) -> ActionFilter {
        ActionFilter {
            target: given(&self.target).map(str::to_owned),
            kind: given(&self.kind).map(str::to_owned),
            state: given(&self.state).map(str::to_owned),
        }
    }
}

/// The audit event of each settled action of a run (its before/after values and the account
/// it made), by target, person and kind.
type Settled = HashMap<(String, String, String), AuditView>;

pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<String>,
    WebQuery(filter): WebQuery<Filter>,
) -> Result<Markup, WebError> {
    let api_filter = filter.to_api();
    let (run, actions, events) = run_actions(&state, &id, &api_filter).await?;
    let blocked = blocked_of(&state, &run.id).await?;
    let settled: Settled = events
        .into_iter()
        .map(AuditView::from)
        .map(|e| ((e.target.clone(), e.person.clone(), e.action.clone()), e))
        .collect();
    let summary = summary_of(&run);
    let targets: Vec<String> = state
        .runner
        .engine()
        .config
        .targets
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    let may_decide = permits(user.role, Need::Approve);
    let body = html! {
        h1 { "Run " code { (short(&run.id)) } " " (status(run.status.map(|s| s.as_str()))) }
        dl.facts {
            dt { "Id" } dd { code { (run.id) } }
            dt { "Mode" } dd { (run.mode.as_str()) }
            dt { "Started" } dd { (time(run.started_at)) }
            dt { "Finished" } dd { (time_opt(run.finished_at)) }
        }
        @if let Some(s) = &summary {
            @if let Some(why) = &s.blocked { p.error { "The whole run was stopped: " (why) } }
            @if s.preview_mode { p #preview-mode { "Ran in preview mode: nothing was written (perform_sync = false)." } }
            h2 { "Per target" }
            (summary_table(&s.targets))
        } @else if let Some(other) = &run.summary {
            p.error { "The run did not finish normally: " (value(other.get("error"))) }
        }
        h2 #blocked { "Blocked actions" }
        (blocked_section(&user, &run.id, &blocked, may_decide))
        h2 { "Actions" }
        (filter_form(&run.id, &filter, &targets))
        @if actions.is_empty() {
            p.muted #no-actions { "No action matches." @if run.mode == muster_store::RunMode::Preview { " A preview sends nothing; its plan is under each target's newest plan." } }
        } @else {
            p.muted #action-count {
                (actions.len()) " action(s)"
                @if actions.len() > MAX_ROWS { "; the first " (MAX_ROWS) " are shown: narrow them with the filter" }
                "."
            }
            (actions_table(&actions[..actions.len().min(MAX_ROWS)], &settled))
        }
    };
    Ok(layout::page(
        &format!("Run {}", short(&run.id)),
        &user,
        body,
    ))
}

fn summary_table(targets: &[TargetSummary]) -> Markup {
    html! {
        table #summary {
            thead { tr { th { "Target" } th { "Action type" } th.num { "Planned" } th.num { "Done" } th.num { "Failed" } th.num { "Blocked" } th.num { "Skipped" } th { "Warnings, limits" } } }
            tbody {
                @for t in targets {
                    @for (i, (kind, c)) in t.by_action.iter().enumerate() {
                        tr {
                            td { @if i == 0 { strong { (t.target.as_str()) } } }
                            td { (kind.as_str()) }
                            td.num { (c.planned) } td.num { (c.done) } td.num { (c.failed) } td.num { (c.blocked) } td.num { (c.skipped) }
                            td { @if i == 0 { (notes(t)) } }
                        }
                    }
                    @if t.by_action.is_empty() {
                        tr { td { strong { (t.target.as_str()) } } td.muted colspan="6" { "nothing to do" } td { (notes(t)) } }
                    }
                }
            }
        }
    }
}

fn notes(t: &TargetSummary) -> Markup {
    html! {
        ul.changes {
            @if let Some(s) = &t.stopped { li.error { "stopped: " (s) } }
            @for b in &t.blocks {
                li { (b.reason) @if b.released.is_some() { " (released)" } }
            }
            @for w in &t.warnings { li { (w) } }
            @if t.disputed > 0 { li { (t.disputed) " person(s) with several matching accounts" } }
            @if t.held > 0 { li { (t.held) " person(s) held" } }
        }
    }
}

fn blocked_section(user: &WebUser, run: &str, blocked: &[BlockedView], may_decide: bool) -> Markup {
    html! {
        @if blocked.is_empty() {
            p.muted { "A threshold blocked nothing in this run." }
        } @else {
            table #blocked-actions {
                thead { tr { th { "Target" } th { "Action type" } th.num { "Actions" } th { "Why" } th { "Decision" } } }
                tbody {
                    @for b in blocked {
                        tr {
                            td { (b.target) } td { (b.kind) } td.num { (b.count) } td { (b.reason) }
                            td {
                                @match &b.decision {
                                    Some(d) => {
                                        span class={ "badge " (d.decision) } { (d.decision) }
                                        " by " (d.decided_by) ", " (time(d.decided_at)) ": " em { (d.reason) }
                                    }
                                    None => { span.badge.waiting { "waiting" } }
                                }
                            }
                        }
                    }
                }
            }
            @for b in blocked.iter().filter(|b| b.decision.is_none()) {
                @if may_decide {
                    form.decide method="post" action=(format!("{}/decide", href("/runs/", run))) data-kind=(b.kind) {
                        (csrf_field(user))
                        input type="hidden" name="kind" value=(b.kind);
                        label { "Why (kept with the decision): " (b.count) " " (b.kind) " action(s) in " (b.target)
                            textarea name="reason" required maxlength="1000" {}
                        }
                        button type="submit" name="decision" value="approve" { "Approve" }
                        " "
                        button.danger type="submit" name="decision" value="reject" { "Reject" }
                        span.muted { " Approved actions are carried out by the next apply." }
                    }
                } @else {
                    p.muted { "An approver or admin can approve or reject these." }
                }
            }
        }
    }
}

fn filter_form(run: &str, filter: &Filter, targets: &[String]) -> Markup {
    let selected = |field: &Option<String>, v: &str| given(field) == Some(v);
    html! {
        form.inline #filter method="get" action=(href("/runs/", run)) {
            label { "Target"
                select name="target" {
                    option value="" { "any" }
                    @for t in targets { option value=(t) selected[selected(&filter.target, t)] { (t) } }
                }
            }
            label { "Action type"
                select name="kind" {
                    option value="" { "any" }
                    @for k in ActionKind::ALL { option value=(k.as_str()) selected[selected(&filter.kind, k.as_str())] { (k.as_str()) } }
                }
            }
            label { "Outcome"
                select name="state" {
                    option value="" { "any" }
                    @for s in STATES { option value=(s.as_str()) selected[selected(&filter.state, s.as_str())] { (s.as_str()) } }
                }
            }
            button.secondary type="submit" { "Filter" }
        }
    }
}

fn actions_table(actions: &[ActionView], settled: &Settled) -> Markup {
    html! {
        table #actions {
            thead { tr { th { "Target" } th.num { "#" } th { "Type" } th { "Person" } th { "Account" } th { "Outcome" } th { "Reason" } th { "Before → after" } th { "Detail" } } }
            tbody {
                @for a in actions {
                    @let event = settled.get(&(a.target.clone(), a.person.clone(), a.kind.clone()));
                    @let account = a.account.as_ref().or(event.and_then(|e| e.account.as_ref()));
                    tr data-kind=(a.kind) data-state=(a.state) {
                        td { (a.target) } td.num { (a.action) } td { (a.kind) @if let Some(p) = &a.permission { br; span.muted { (p) } } }
                        td { a href=(href("/people/", &a.person)) { (a.person) } }
                        td { @if let Some(acc) = account { code { (acc) } } }
                        td { span class={ "badge " (a.state) } { (a.state) } }
                        td { @if let Some(r) = &a.reason { (r) } }
                        td { (change_list(event.map(|e| e.changes.as_slice()).unwrap_or(&[]))) }
                        td { @if let Some(d) = &a.detail { (d) } }
                    }
                }
            }
        }
    }
}

/// Field changes as `field: before → after`; a secret field shows `***` whatever is stored.
pub(super) fn change_list(changes: &[serde_json::Value]) -> Markup {
    html! {
        @if !changes.is_empty() {
            ul.changes {
                @for c in changes {
                    @let secret = c.get("secret").and_then(serde_json::Value::as_bool).unwrap_or(false);
                    li {
                        (c.get("field").and_then(serde_json::Value::as_str).unwrap_or("?")) ": "
                        @if secret {
                            @if c.get("before").is_some_and(|v| !v.is_null()) { (REDACTED) } @else { span.muted { "—" } }
                            " → "
                            @if c.get("after").is_some_and(|v| !v.is_null()) { (REDACTED) } @else { span.muted { "—" } }
                        } @else {
                            (value(c.get("before"))) " → " (value(c.get("after")))
                        }
                    }
                }
            }
        }
    }
}

/// The approve/reject form.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    kind: Option<String>,
    reason: String,
    decision: String,
}

pub async fn decide(
    State(state): State<AppState>,
    WebPath(id): WebPath<String>,
    CheckedForm { user, form }: CheckedForm<DecisionForm>,
) -> Result<Redirect, WebError> {
    if !permits(user.role, Need::Approve) {
        return Err(WebError::forbidden(format!(
            "a {} may not approve or reject; it needs the approver or admin role",
            user.role
        )));
    }
    let decision = match form.decision.as_str() {
        "approve" => DecisionKind::Approved,
        "reject" => DecisionKind::Rejected,
        other => {
            return Err(WebError::bad_request(format!(
                "`{}` is not a decision: expected approve or reject",
                other.chars().take(40).collect::<String>()
            )))
        }
    };
    let request = DecisionRequest {
        kind: given(&form.kind).map(str::to_owned),
        reason: form.reason,
    };
    let decided = decide_on(&state, &id, request, decision, &user.who()).await?;
    let run = decided.first().map_or(id, |d| d.run.clone());
    Ok(Redirect::to(&format!("{}#blocked", href("/runs/", &run))))
}

/// The "start a run" form.
#[derive(Debug, Deserialize)]
pub struct TriggerForm {
    mode: String,
    target: Option<String>,
}

pub async fn trigger(
    State(state): State<AppState>,
    CheckedForm { user, form }: CheckedForm<TriggerForm>,
) -> Result<Redirect, WebError> {
    if !permits(user.role, Need::Admin) {
        return Err(WebError::forbidden(format!(
            "a {} may not start runs; it needs the admin role",
            user.role
        )));
    }
    let mode = match form.mode.as_str() {
        "plan" => TriggerMode::Plan,
        "apply" => TriggerMode::Apply,
        _ => return Err(WebError::bad_request("mode must be plan or apply")),
    };
    let request = TriggerRequest {
        mode,
        targets: given(&form.target).map(|t| vec![t.to_owned()]),
    };
    let started = start_run(&state, request, user.who())?;
    tracing::info!(by = %started.started_by, mode = ?started.mode, "Run started from the dashboard.");
    Ok(Redirect::to("/"))
}
