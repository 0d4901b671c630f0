//! `POST /Bulk` (RFC 7644 §3.7): many creates, replaces, patches and deletes in one request,
//! each settled on its own, with `bulkId:` references to resources created earlier in it.
//!
//! Served only when the `bulk` switch is on. Each operation runs through the same resource
//! operations as the single-resource endpoints, so switches and checks are identical.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::discovery::{BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD};
use super::error::{ScimError, ScimType};
use super::filter::get_ci;
use super::routes::{do_create, do_patch, do_replace, parse_body, rendered, scim_response};
use super::schema::Kind;
use super::state::ScimState;
use super::ScimSwitches;

/// Schema URN of a bulk request.
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// Schema URN of a bulk response.
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// Handles `POST /Bulk`.
pub async fn handle(
    State(state): State<ScimState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let sw = state.switches();
    if !sw.bulk {
        return Err(ScimError::not_implemented("bulk is not supported"));
    }
    if body.len() > BULK_MAX_PAYLOAD {
        return Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "payload of {} bytes exceeds maxPayloadSize {BULK_MAX_PAYLOAD}",
                body.len()
            ),
        ));
    }
    let body = parse_body(&headers, &body)?;
    let syntax = |d: &str| ScimError::bad(ScimType::InvalidSyntax, d);
    let obj = body
        .as_object()
        .ok_or_else(|| syntax("the body must be an object"))?;
    let listed = get_ci(obj, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(BULK_REQUEST))
            })
        });
    if !listed {
        return Err(syntax(
            "'schemas' must list urn:ietf:params:scim:api:messages:2.0:BulkRequest",
        ));
    }
    let ops = get_ci(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("'Operations' must be an array"))?;
    if ops.len() > BULK_MAX_OPERATIONS {
        return Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} operations exceed maxOperations {BULK_MAX_OPERATIONS}",
                ops.len()
            ),
        ));
    }
    let fail_on = get_ci(obj, "failOnErrors").and_then(Value::as_u64);
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut results = Vec::with_capacity(ops.len());
    let mut errors = 0u64;
    for op in ops {
        let result = run_one(&state, &sw, op, &mut ids);
        if result.get("response").is_some() {
            errors += 1;
        }
        results.push(result);
        if fail_on.is_some_and(|n| errors >= n) {
            break;
        }
    }
    Ok(scim_response(
        StatusCode::OK,
        &json!({ "schemas": [BULK_RESPONSE], "Operations": results }),
    ))
}

/// Replaces every string `bulkId:X` inside `v` with the id X was created as.
fn resolve(v: &mut Value, ids: &HashMap<String, String>) -> Result<(), ScimError> {
    match v {
        Value::String(s) => {
            if let Some(key) = s.strip_prefix("bulkId:") {
                let id = ids.get(key).ok_or_else(|| {
                    ScimError::new(
                        StatusCode::CONFLICT,
                        format!("bulkId '{key}' does not refer to an earlier operation"),
                    )
                })?;
                *s = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().try_for_each(|i| resolve(i, ids))?,
        Value::Object(m) => m.values_mut().try_for_each(|i| resolve(i, ids))?,
        _ => {}
    }
    Ok(())
}

fn target(path: &str) -> Option<(Kind, Option<&str>)> {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let kind = match parts.next()? {
        "Users" => Kind::User,
        "Groups" => Kind::Group,
        _ => return None,
    };
    Some((kind, parts.next().filter(|id| !id.is_empty())))
}

fn run_one(
    state: &ScimState,
    sw: &ScimSwitches,
    op: &Value,
    ids: &mut HashMap<String, String>,
) -> Value {
    let empty = Map::new();
    let obj = op.as_object().unwrap_or(&empty);
    let method = get_ci(obj, "method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_uppercase();
    let bulk_id = get_ci(obj, "bulkId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut out = Map::new();
    out.insert("method".into(), Value::from(method.clone()));
    if let Some(b) = &bulk_id {
        out.insert("bulkId".into(), Value::from(b.clone()));
    }
    match execute(state, sw, obj, &method, bulk_id.as_deref(), ids) {
        Ok((status, resource)) => {
            if let Some(meta) = resource.as_ref().and_then(|r| r.get("meta")) {
                for (k, v) in [
                    ("location", meta.get("location")),
                    ("version", meta.get("version")),
                ] {
                    if let Some(v) = v {
                        out.insert(k.into(), v.clone());
                    }
                }
            }
            out.insert("status".into(), Value::from(status.as_u16().to_string()));
        }
        Err(e) => {
            out.insert("status".into(), Value::from(e.status.as_u16().to_string()));
            out.insert("response".into(), e.body());
        }
    }
    Value::Object(out)
}

fn execute(
    state: &ScimState,
    sw: &ScimSwitches,
    obj: &Map<String, Value>,
    method: &str,
    bulk_id: Option<&str>,
    ids: &mut HashMap<String, String>,
) -> Result<(StatusCode, Option<Value>), ScimError> {
    let mut path = get_ci(obj, "path").cloned().unwrap_or(Value::Null);
    resolve(&mut path, ids)?;
    let path = path.as_str().unwrap_or_default().to_string();
    let (kind, id) = target(&path).ok_or_else(|| {
        ScimError::bad(ScimType::InvalidPath, format!("unknown bulk path '{path}'"))
    })?;
    let mut data = get_ci(obj, "data").cloned().unwrap_or(Value::Null);
    resolve(&mut data, ids)?;
    let version = get_ci(obj, "version").and_then(Value::as_str);
    let version = if sw.etag { version } else { None };
    let need_id =
        || id.ok_or_else(|| ScimError::bad(ScimType::InvalidPath, format!("'{path}' needs an id")));
    match method {
        "POST" => {
            let bulk_id = bulk_id
                .ok_or_else(|| ScimError::bad(ScimType::InvalidSyntax, "POST needs a bulkId"))?;
            if id.is_some() {
                return Err(ScimError::bad(
                    ScimType::InvalidPath,
                    "POST goes to /Users or /Groups",
                ));
            }
            let new_id = do_create(state, kind, &data)?;
            ids.insert(bulk_id.to_string(), new_id.clone());
            Ok((
                StatusCode::CREATED,
                Some(rendered(state, kind, &new_id, sw)?),
            ))
        }
        "PUT" => {
            let id = need_id()?;
            do_replace(state, kind, id, &data, version)?;
            Ok((StatusCode::OK, Some(rendered(state, kind, id, sw)?)))
        }
        "PATCH" => {
            let id = need_id()?;
            do_patch(state, kind, id, &data, version, sw)?;
            Ok((StatusCode::OK, Some(rendered(state, kind, id, sw)?)))
        }
        "DELETE" => {
            state.store_mut().delete(kind, need_id()?, version)?;
            Ok((StatusCode::NO_CONTENT, None))
        }
        other => Err(ScimError::bad(
            ScimType::InvalidSyntax,
            format!("unknown bulk method '{other}'"),
        )),
    }
}
