//! `/people/{id}`: one person across every target with their audit trail; `/audit`: the audit
//! search form and its results.

use super::error::WebError;
use super::layout::{self, href, short, time, value};
use super::runs::change_list;
use super::session::WebUser;
use super::{given, WebPath, WebQuery};
use crate::api::people::{audit_events, person_view};
use crate::api::views::{AuditSearch, AuditView};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use maud::{html, Markup};
use muster_core::plan::ActionKind;
use serde::Deserialize;

pub async fn person(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<String>,
) -> Result<Markup, WebError> {
    let p = person_view(&state, &id).await?;
    let body = html! {
        h1 { "Person " (p.external_id) }
        h2 { "Source record" }
        @match &p.record {
            Some(serde_json::Value::Object(fields)) => {
                table #record {
                    tbody { @for (k, v) in fields { tr { th { (k) } td { (value(Some(v))) } } } }
                }
            }
            Some(other) => { pre { (other.to_string()) } }
            None => { p.muted { "The newest source snapshot does not hold this person." } }
        }
        h2 { "Accounts" }
        @if p.accounts.is_empty() { p.muted { "No account in any target." } }
        @else {
            table #accounts {
                thead { tr { th { "Target" } th { "Account" } th { "State" } th { "Since" } } }
                tbody {
                    @for a in &p.accounts {
                        tr { td { (a.target) } td { code { (a.account) } } td { span class={ "badge " (a.state) } { (a.state) } } td { (time(a.updated_at)) } }
                    }
                }
            }
        }
        h2 { "Audit trail" }
        p { a href=(format!("/audit?person={}", layout::query_value(&p.external_id))) { "Search the audit for this person" } }
        (audit_table(&p.audit))
    };
    Ok(layout::page(
        &format!("Person {}", p.external_id),
        &user,
        body,
    ))
}

pub(super) fn audit_table(events: &[AuditView]) -> Markup {
    html! {
        @if events.is_empty() { p.muted #no-events { "No audit event." } }
        @else {
            table #audit {
                thead { tr { th { "When" } th { "Run" } th { "Target" } th { "Person" } th { "Action" } th { "Outcome" } th { "Account" } th { "Reason" } th { "Before → after" } th { "Detail" } } }
                tbody {
                    @for e in events {
                        tr {
                            td { (time(e.at)) }
                            td { a href=(href("/runs/", &e.run)) { code { (short(&e.run)) } } }
                            td { (e.target) }
                            td { a href=(href("/people/", &e.person)) { (e.person) } }
                            td { (e.action) @if let Some(p) = e.permission.as_ref().and_then(|p| p.get("name")) { br; span.muted { (value(Some(p))) } } }
                            td { span class={ "badge " (e.outcome) } { (e.outcome) } }
                            td { @if let Some(a) = &e.account { code { (a) } } }
                            td { (e.reason) }
                            td { (change_list(&e.changes)) }
                            td { @if let Some(d) = &e.detail { (d) } }
                        }
                    }
                }
            }
        }
    }
}

/// The audit search form: every field optional; empty means "any".
#[derive(Debug, Default, Deserialize)]
pub struct AuditForm {
    person: Option<String>,
    target: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    run: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<String>,
}

const OUTCOMES: [&str; 4] = ["done", "failed", "blocked", "skipped"];

/// An instant from the form: RFC 3339, or a day (its start, UTC).
fn instant(field: &str, v: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    let Some(v) = v else { return Ok(None) };
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| {
            format!(
                "{field}: `{}` is not a time: expected 2026-01-31 or 2026-01-31T08:00:00Z",
                v.chars().take(40).collect::<String>()
            )
        })
}

impl AuditForm {
    fn to_api(&self) -> Result<AuditSearch, String> {
        let limit = match given(&self.limit) {
            Some(l) => Some(
                l.parse::<u32>()
                    .map_err(|_| "limit: expected a number from 1 to 1000".to_owned())?,
            ),
            None => None,
        };
        Ok(AuditSearch {
            person: given(&self.person).map(str::to_owned),
            target: given(&self.target).map(str::to_owned),
            action: given(&self.action).map(str::to_owned),
            outcome: given(&self.outcome).map(str::to_owned),
            run: given(&self.run).map(str::to_owned),
            since: instant("since", given(&self.since))?,
            until: instant("until", given(&self.until))?,
            limit,
        })
    }
}

pub async fn audit(
    State(state): State<AppState>,
    user: WebUser,
    WebQuery(form): WebQuery<AuditForm>,
) -> Response {
    let found = match form.to_api() {
        Ok(q) => audit_events(&state, &q)
            .await
            .map_err(|e| (e.status(), e.to_string())),
        Err(message) => Err((StatusCode::BAD_REQUEST, message)),
    };
    let targets: Vec<String> = state
        .runner
        .engine()
        .config
        .targets
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    let status = found.as_ref().err().map_or(StatusCode::OK, |(s, _)| *s);
    let body = html! {
        h1 { "Audit" }
        (audit_form(&form, &targets))
        @match &found {
            Ok(events) => {
                p.muted { (events.len()) " event(s), oldest first; search on from the last one's time with “since”." }
                (audit_table(events))
            }
            Err((_, message)) => { p.error #search-error { (message) } }
        }
    };
    (status, layout::page("Audit", &user, body)).into_response()
}

fn audit_form(form: &AuditForm, targets: &[String]) -> Markup {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let is = |field: &Option<String>, v: &str| given(field) == Some(v);
    html! {
        form.inline #audit-search method="get" action="/audit" {
            label { "Person" input type="text" name="person" value=(text(&form.person)); }
            label { "Target"
                select name="target" {
                    option value="" { "any" }
                    @for t in targets { option value=(t) selected[is(&form.target, t)] { (t) } }
                }
            }
            label { "Action"
                select name="action" {
                    option value="" { "any" }
                    @for k in ActionKind::ALL { option value=(k.as_str()) selected[is(&form.action, k.as_str())] { (k.as_str()) } }
                }
            }
            label { "Outcome"
                select name="outcome" {
                    option value="" { "any" }
                    @for o in OUTCOMES { option value=(o) selected[is(&form.outcome, o)] { (o) } }
                }
            }
            label { "Run" input type="text" name="run" size="10" value=(text(&form.run)); }
            label { "Since" input type="text" name="since" size="12" placeholder="2026-01-31" value=(text(&form.since)); }
            label { "Until" input type="text" name="until" size="12" value=(text(&form.until)); }
            label { "At most" input type="text" name="limit" size="5" placeholder="100" value=(text(&form.limit)); }
            button.secondary type="submit" { "Search" }
        }
    }
}
