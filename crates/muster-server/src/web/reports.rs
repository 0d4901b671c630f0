//! `/reports`: what the store keeps of imports and reconciles — the newest source import
//! (persons read, records refused), each target's links (accounts Muster manages, including
//! those adopted by `muster import --link`) and its orphan-account decisions
//! (`muster reconcile`), with the newest run's disputed and held persons, and the newest
//! `muster import` and `muster reconcile` report kept per target. `/plans/{target}`: the
//! newest plan of a target.

use super::error::WebError;
use super::layout::{self, href, short, time};
use super::overview::summary_of;
use super::runs::change_list;
use super::session::WebUser;
use super::WebPath;
use crate::api::admin::latest_plan;
use crate::api::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use maud::{display, html, Markup};
use muster_core::plan::TargetPlan;
use muster_core::report::TargetSummary;
use muster_engine::run::SOURCE_NAME;
use muster_store::{LinkState, OrphanDecision, ReportKind, StoredReport};
use serde_json::Value;

/// One target's part of the report.
struct TargetReport {
    name: String,
    active: usize,
    deleted: usize,
    orphans: Vec<OrphanDecision>,
    newest: Option<(muster_core::run::RunId, TargetSummary)>,
    /// The newest `muster import` and `muster reconcile` reports kept for the target.
    kept: Vec<StoredReport>,
}

/// Items of a list shown under a kept report; the rest are counted.
const REPORT_ITEMS: usize = 20;

pub async fn reports(State(state): State<AppState>, user: WebUser) -> Result<Markup, WebError> {
    let store = &state.store;
    let snapshot = store
        .latest_snapshot(SOURCE_NAME)
        .await
        .map_err(ApiError::store)?;
    let runs = store.runs(50).await.map_err(ApiError::store)?;
    let summaries: Vec<_> = runs
        .iter()
        .filter_map(|r| summary_of(r).map(|s| (r.id.clone(), s)))
        .collect();
    let mut targets = Vec::new();
    for t in &state.runner.engine().config.targets {
        let links = store.links(&t.name).await.map_err(ApiError::store)?;
        let active = links
            .iter()
            .filter(|l| l.state == LinkState::Active)
            .count();
        targets.push(TargetReport {
            name: t.name.to_string(),
            active,
            deleted: links.len() - active,
            orphans: store
                .orphan_decisions(&t.name)
                .await
                .map_err(ApiError::store)?,
            newest: summaries.iter().find_map(|(run, s)| {
                s.targets
                    .iter()
                    .find(|x| x.target == t.name)
                    .map(|x| (run.clone(), x.clone()))
            }),
            kept: kept_reports(&state, &t.name).await?,
        });
    }
    let body = html! {
        h1 { "Import and reconcile report" }
        h2 { "Source" }
        @match &snapshot {
            Some(s) => {
                dl.facts #source {
                    dt { "Read" } dd { (time(s.taken_at)) " by run " a href=(href("/runs/", &s.run)) { code { (short(&s.run)) } } }
                    dt { "Persons" } dd { (s.persons) }
                    dt { "Records refused (invalid)" } dd { @if s.blocked > 0 { span.error { (s.blocked) } } @else { "0" } }
                    dt { "Digest" } dd { code { (s.digest.get(..16).unwrap_or(&s.digest)) } }
                }
            }
            None => { p.muted { "The source has not been read yet." } }
        }
        @for t in &targets {
            h2 { (t.name) }
            dl.facts {
                dt { "Accounts linked to persons" } dd { (t.active) }
                dt { "Links to deleted accounts (kept for re-hire)" } dd { (t.deleted) }
                @if let Some((run, s)) = &t.newest {
                    dt { "Newest run" } dd { a href=(href("/runs/", run)) { code { (short(run)) } } }
                    dt { "Persons with several matching accounts" } dd { (s.disputed) }
                    dt { "Persons held" } dd { (s.held) }
                }
                dt { "Newest plan" } dd { a href=(href("/plans/", &t.name)) { "show" } }
            }
            @for r in &t.kept { (kept_report(r)) }
            h3 { "Orphan accounts: decisions" }
            @if t.orphans.is_empty() { p.muted { "No decision about an orphan account." } }
            @else {
                table.orphans {
                    thead { tr { th { "Account" } th { "Decision" } th { "By" } th { "When" } } }
                    tbody {
                        @for o in &t.orphans {
                            tr { td { code { (display(&o.account)) } } td { (display(o.verdict)) } td { (o.decided_by) } td { (time(o.decided_at)) } }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Reports", &user, body))
}

/// The newest import and reconcile reports the store keeps for `target`.
async fn kept_reports(
    state: &AppState,
    target: &muster_core::TargetName,
) -> Result<Vec<StoredReport>, ApiError> {
    let mut kept = Vec::new();
    for kind in [ReportKind::Import, ReportKind::Reconcile] {
        if let Some(r) = state
            .store
            .latest_report(kind, target)
            .await
            .map_err(ApiError::store)?
        {
            kept.push(r);
        }
    }
    Ok(kept)
}

/// A kept report: each of its parts, a list as its count and its first items.
fn kept_report(r: &StoredReport) -> Markup {
    let parts: Vec<(&String, &Value)> = match &r.report {
        Value::Object(fields) => fields.iter().collect(),
        _ => Vec::new(),
    };
    html! {
        h3 { "Newest " (r.kind.as_str()) " report" }
        p.muted { "Kept " (time(r.saved_at)) "; the whole report: " code { "GET /api/v1/reports/" (r.kind.as_str()) "/" (r.target) } }
        table.report {
            tbody {
                @for (name, value) in &parts {
                    tr {
                        th { (name.replace('_', " ")) }
                        td { (report_part(value)) }
                    }
                }
            }
        }
    }
}

fn report_part(value: &Value) -> Markup {
    match value {
        Value::Array(items) => html! {
            (items.len())
            @if !items.is_empty() {
                ul {
                    @for item in items.iter().take(REPORT_ITEMS) { li { code { (compact(item)) } } }
                    @if items.len() > REPORT_ITEMS { li.muted { "and " (items.len() - REPORT_ITEMS) " more" } }
                }
            }
        },
        other => html! { code { (compact(other)) } },
    }
}

/// A value on one line: text as it is, anything else as JSON.
fn compact(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub async fn plan(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(target): WebPath<String>,
) -> Result<Markup, WebError> {
    let view = latest_plan(&state, &target).await?;
    let parsed = serde_json::from_value::<TargetPlan>(view.plan.clone()).ok();
    let body = html! {
        h1 { "Newest plan of " (view.target) }
        dl.facts {
            dt { "Made by run" } dd { a href=(href("/runs/", &view.run)) { code { (short(&view.run)) } } }
            dt { "Kept" } dd { (time(view.saved_at)) }
        }
        @match &parsed {
            Some(p) => { (plan_body(p)) }
            // A plan kept by another version: shown as it is stored (secrets are already `***`).
            None => { pre { (serde_json::to_string_pretty(&view.plan).unwrap_or_default()) } }
        }
    };
    Ok(layout::page(&format!("Plan {}", view.target), &user, body))
}

fn plan_body(p: &TargetPlan) -> Markup {
    html! {
        p { (p.actions.len()) " action(s); " (p.accounts_observed) " account(s) observed." }
        @if !p.warnings.is_empty() {
            h2 { "Warnings" }
            ul { @for w in &p.warnings { li { (w) } } }
        }
        @if !p.actions.is_empty() {
            table #plan {
                thead { tr { th.num { "#" } th { "Type" } th { "Person" } th { "Account" } th { "Reason" } th { "Before → after" } } }
                tbody {
                    @for a in &p.actions {
                        @let changes: Vec<serde_json::Value> = a.changes.iter().filter_map(|c| serde_json::to_value(c).ok()).collect();
                        tr {
                            td.num { (a.id.0) }
                            td { (a.kind.as_str()) @if let Some(perm) = &a.permission { br; span.muted { (perm.name) } } }
                            td { a href=(href("/people/", &a.person.to_string())) { (display(&a.person)) } }
                            td { @if let Some(acc) = &a.account { code { (display(acc)) } } }
                            td { (a.reason) }
                            td { (change_list(&changes)) }
                        }
                    }
                }
            }
        }
        @if !p.disputed.is_empty() {
            h2 { "Several matching accounts" }
            table {
                thead { tr { th { "Person" } th { "Value" } th { "Accounts" } } }
                tbody { @for d in &p.disputed { tr { td { (display(&d.person)) } td { (d.value) } td { @for acc in &d.accounts { code { (display(acc)) } " " } } } } }
            }
        }
        @if !p.held.is_empty() {
            h2 { "Held" }
            table {
                thead { tr { th { "Person" } th { "Why" } } }
                tbody { @for h in &p.held { tr { td { (display(&h.person)) } td { (h.reason) } } } }
            }
        }
        @if p.actions.is_empty() && p.disputed.is_empty() && p.held.is_empty() { p.muted { "Nothing to do." } }
    }
}
