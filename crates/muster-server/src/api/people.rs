//! One person across every target, and audit search.

use super::error::{ApiError, ErrorBody};
use super::extract::{external_id, run_id, target_name, Path, Query};
use super::runs::parse_kind;
use super::views::{AccountView, AuditSearch, AuditView, PersonView};
use crate::auth::Caller;
use crate::state::AppState;
use crate::tokens::Need;
use axum::extract::State;
use muster_core::mapping::FieldMapping;
use muster_core::model::Person;
use muster_core::plan::REDACTED;
use muster_core::report::ActionOutcome;
use muster_core::ExternalId;
use muster_engine::config::Config;
use muster_engine::run::SOURCE_NAME;
use muster_store::AuditQuery;
use serde_json::Value;

/// Audit events shown with a person.
const PERSON_AUDIT: usize = 200;

/// One person: their newest source record, their accounts in every target, their audit trail.
#[utoipa::path(get, path = "/api/v1/persons/{external_id}", params(("external_id" = String, Path, description = "the person's ExternalId")), tag = "persons",
    responses((status = 200, body = PersonView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn person(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<PersonView>, ApiError> {
    caller.require(Need::Read)?;
    Ok(axum::Json(person_view(&state, &id).await?))
}

/// One person across every target (the API's and the dashboard's query).
pub(crate) async fn person_view(state: &AppState, id: &str) -> Result<PersonView, ApiError> {
    let person = ExternalId::from(external_id(id)?);
    let store = &state.store;
    let record = match store
        .latest_snapshot(SOURCE_NAME)
        .await
        .map_err(ApiError::store)?
    {
        Some(meta) => store
            .snapshot_person(meta.id, &person)
            .await
            .map_err(ApiError::store)?
            .map(|p| p.record)
            .and_then(|r| shown_record(&state.runner.engine().config, r)),
        None => None,
    };
    let accounts: Vec<AccountView> = store
        .person_links(&person)
        .await
        .map_err(ApiError::store)?
        .into_iter()
        .map(AccountView::from)
        .collect();
    let audit = newest_events(state, &person).await?;
    if record.is_none() && accounts.is_empty() && audit.is_empty() {
        return Err(ApiError::not_found(format!(
            "Muster knows no person `{person}`"
        )));
    }
    Ok(PersonView {
        external_id: person.to_string(),
        record,
        accounts,
        audit,
    })
}

/// The source record as the person view shows it: every text that equals the value a secret
/// mapping (`secret = true`, or a field in the target's `secret_fields`) of any target takes for this person (an initial password, say) is `***`, as in plans
/// and the audit. A record that no longer reads as a person is withheld while any secret mapping
/// is configured, since its secrets could not be told apart.
fn shown_record(config: &Config, mut record: Value) -> Option<Value> {
    let secret: Vec<&FieldMapping> = config
        .targets
        .iter()
        .flat_map(|t| {
            t.policy
                .mappings
                .iter()
                .filter(|m| m.secret || t.secret_fields.contains(&m.field))
        })
        .collect();
    if secret.is_empty() {
        return Some(record);
    }
    let mut person: Person = serde_json::from_value(record.clone()).ok()?;
    // The snapshot keeps no primary contract; choose it as a run does.
    config
        .primary_rule
        .apply(&mut person, chrono::Utc::now().date_naive());
    let values: Vec<String> = secret
        .iter()
        .filter_map(|m| m.compute(&person, 0).ok().flatten())
        .filter_map(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    mask(&mut record, &values);
    Some(record)
}

/// Replaces every string or number in `value` that is one of `secrets` with `***`.
fn mask(value: &mut Value, secrets: &[String]) {
    match value {
        Value::String(s) if secrets.contains(s) => *value = Value::String(REDACTED.to_owned()),
        Value::Number(n) if secrets.contains(&n.to_string()) => {
            *value = Value::String(REDACTED.to_owned())
        }
        Value::Array(items) => items.iter_mut().for_each(|v| mask(v, secrets)),
        Value::Object(fields) => fields.values_mut().for_each(|v| mask(v, secrets)),
        _ => {}
    }
}

/// The person's newest events, oldest first (one indexed store query, bounded).
async fn newest_events(state: &AppState, person: &ExternalId) -> Result<Vec<AuditView>, ApiError> {
    let events = state
        .store
        .person_audit(person, PERSON_AUDIT)
        .await
        .map_err(ApiError::store)?;
    Ok(events.into_iter().map(AuditView::from).collect())
}

/// Audit events matching every filter given, oldest first.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditSearch), tag = "audit",
    responses((status = 200, body = Vec<AuditView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditSearch>,
) -> Result<axum::Json<Vec<AuditView>>, ApiError> {
    caller.require(Need::Read)?;
    Ok(axum::Json(audit_events(&state, &q).await?))
}

/// Audit events matching `q`, oldest first (the API's and the dashboard's query).
pub(crate) async fn audit_events(
    state: &AppState,
    q: &AuditSearch,
) -> Result<Vec<AuditView>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1-1000"));
    }
    let outcome = q
        .outcome
        .as_deref()
        .map(|o| {
            serde_json::from_value::<ActionOutcome>(serde_json::Value::String(o.to_owned()))
                .map_err(|_| {
                    ApiError::bad_request(format!(
                        "`{o}` is not an outcome: expected done, failed, blocked or skipped"
                    ))
                })
        })
        .transpose()?;
    let query = AuditQuery {
        person: q
            .person
            .as_deref()
            .map(external_id)
            .transpose()?
            .map(ExternalId::from),
        target: q
            .target
            .as_deref()
            .map(target_name)
            .transpose()?
            .map(Into::into),
        run: q.run.as_deref().map(run_id).transpose()?.map(str::to_owned),
        action: q.action.as_deref().map(parse_kind).transpose()?,
        outcome,
        since: q.since,
        until: q.until,
        limit: limit as usize,
    };
    let events = state.store.audit(&query).await.map_err(ApiError::store)?;
    Ok(events.into_iter().map(AuditView::from).collect())
}
