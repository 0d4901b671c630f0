//! HTTP for `/api/scim/v2` (zivver.md §3, exchange-online.md §3): the router, the counting and
//! auth middleware, and the handlers for `/Users` and `/Groups`.
//!
//! Handlers only translate between HTTP and the organisation: `input` reads bodies, `store`
//! decides what is allowed, the shared [`crate::faults::inject`] decides when a request
//! misbehaves (and `inject` how its errors look).

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::error::ZivverError;
use super::input;
use super::state::ZivverState;
use super::store::View;
use super::{testapi, ZivverSwitches, API_PATH};
use crate::{control, faults};

/// Schema URN of a list answer.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// Media type of every JSON answer but the 429.
const JSON_UTF8: &str = "application/json; charset=utf-8";

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, JSON_UTF8)],
        body.to_string(),
    )
        .into_response()
}

/// The whole application router for `state`.
pub fn router(state: ZivverState) -> Router {
    let api = Router::new()
        .route("/Users", get(list_users).post(create_user))
        .route(
            "/Users/{id}",
            get(read_user).put(replace_user).delete(delete_user),
        )
        .route("/Groups", get(list_groups).post(create_group))
        .route(
            "/Groups/{id}",
            get(read_group).put(put_group).patch(patch_group),
        )
        .fallback(|| async { ZivverError::new(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async {
            ZivverError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
        // Last added runs first: count every request, then authenticate, then inject faults.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject::<ZivverState>,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            control::count::<ZivverState>,
        ));
    Router::new()
        .nest(API_PATH, api)
        .merge(testapi::routes())
        .with_state(state)
}

async fn auth(State(state): State<ZivverState>, req: Request, next: Next) -> Response {
    if state.authorized(req.headers()) {
        return next.run(req).await;
    }
    let mut resp = ZivverError::new(StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

/// Reads a JSON body sent as `application/json` or `application/scim+json`, optionally with
/// `charset=utf-8` (zivver.md §1); any other type, or none, is answered 415.
fn body_json(headers: &HeaderMap, body: &Bytes) -> Result<Value, ZivverError> {
    let unsupported = |ct: &str| {
        ZivverError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unsupported Media Type: {ct}"),
        )
    };
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unsupported("none"))?;
    let mut parts = ct.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
    if essence != "application/json" && essence != "application/scim+json" {
        return Err(unsupported(ct));
    }
    for param in parts.filter(|p| !p.is_empty()) {
        let (name, value) = param.split_once('=').ok_or_else(|| unsupported(ct))?;
        let value = value.trim().trim_matches('"');
        if !name.trim().eq_ignore_ascii_case("charset") || !value.eq_ignore_ascii_case("utf-8") {
            return Err(unsupported(ct));
        }
    }
    serde_json::from_slice(body).map_err(|_| ZivverError::bad("Invalid JSON"))
}

/// The media type a group PATCH must name as both `Content-Type` and `Accept`
/// (exchange-online.md §3).
const SCIM_JSON: &str = "application/scim+json";

/// 415 unless `Content-Type` is `application/scim+json` (a `charset` allowed) and `Accept`
/// lists it.
fn require_scim_json(headers: &HeaderMap) -> Result<(), ZivverError> {
    let value = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
    };
    let ct = value(header::CONTENT_TYPE);
    let essence = ct.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case(SCIM_JSON) {
        return Err(ZivverError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unsupported Media Type: {ct}"),
        ));
    }
    let accept = value(header::ACCEPT);
    let listed = accept.split(',').any(|range| {
        range
            .split(';')
            .next()
            .is_some_and(|r| r.trim().eq_ignore_ascii_case(SCIM_JSON))
    });
    if !listed {
        return Err(ZivverError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unsupported Media Type: Accept {accept}"),
        ));
    }
    Ok(())
}

/// List parameters, by case-insensitive name.
#[derive(Debug, Default)]
struct ListParams {
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
}

impl ListParams {
    fn from_uri(uri: &Uri) -> Result<Self, ZivverError> {
        // Form decoding: `%20` and `+` are spaces, so a `+` in an address must be sent as %2B.
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map_err(|_| ZivverError::bad("Invalid query string"))?;
        let mut p = Self::default();
        for (k, v) in pairs {
            match k.to_ascii_lowercase().as_str() {
                "filter" => p.filter = Some(v),
                "startindex" => p.start_index = Some(v),
                "count" => p.count = Some(v),
                _ => {}
            }
        }
        Ok(p)
    }

    /// The slice of `total` results to answer, and whether paging is reported: the whole list
    /// unless `honour_paging`, in any case at most `max_page`.
    fn page(&self, total: usize, sw: &ZivverSwitches) -> Result<(usize, usize), ZivverError> {
        let int = |name: &str, raw: &Option<String>| -> Result<Option<i64>, ZivverError> {
            raw.as_deref()
                .map(|r| {
                    r.trim()
                        .parse::<i64>()
                        .map_err(|_| ZivverError::invalid_value(name))
                })
                .transpose()
        };
        let (from, mut size) = if sw.honour_paging {
            let start = int("startIndex", &self.start_index)?.unwrap_or(1).max(1);
            let from = usize::try_from(start - 1).unwrap_or(usize::MAX).min(total);
            let size = int("count", &self.count)?
                .map_or(usize::MAX, |c| usize::try_from(c.max(0)).unwrap_or(0));
            (from, size)
        } else {
            (0, usize::MAX)
        };
        if let Some(cap) = sw.max_page {
            size = size.min(cap);
        }
        Ok((from, from.saturating_add(size).min(total)))
    }
}

/// A list answer: `schemas`, `totalResults`, `Resources`, plus `startIndex` and `itemsPerPage`
/// when paging is honoured.
fn list_body(total: usize, from: usize, resources: Vec<Value>, sw: &ZivverSwitches) -> Value {
    let mut body = json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "Resources": resources,
    });
    if sw.honour_paging {
        body["startIndex"] = json!(from + 1);
        body["itemsPerPage"] = json!(body["Resources"].as_array().map_or(0, Vec::len));
    }
    body
}

async fn list_users(State(state): State<ZivverState>, uri: Uri) -> Result<Response, ZivverError> {
    let sw = state.switches();
    let params = ListParams::from_uri(&uri)?;
    let wanted = params
        .filter
        .as_deref()
        .map(input::user_name_filter)
        .transpose()?;
    let store = state.store();
    // The filter is an index look-up; without one, the page is read off the creation order.
    let by_name: Option<Vec<&str>> = wanted
        .as_deref()
        .map(|name| store.user_id_by_name(name).into_iter().collect());
    let total = by_name
        .as_ref()
        .map_or_else(|| store.user_count(), Vec::len);
    let (from, to) = params.page(total, &sw)?;
    let ids = match by_name {
        Some(ids) => ids[from..to].to_vec(),
        None => store.user_page(from, to - from),
    };
    let resources = ids
        .iter()
        .filter_map(|id| store.render_user(id, View::Served))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &list_body(total, from, resources, &sw),
    ))
}

async fn read_user(
    State(state): State<ZivverState>,
    Path(id): Path<String>,
) -> Result<Response, ZivverError> {
    let user = state
        .user(&id)
        .ok_or_else(|| ZivverError::unknown_account(&id))?;
    Ok(json_response(StatusCode::OK, &user))
}

async fn create_user(
    State(state): State<ZivverState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ZivverError> {
    let sw = state.switches();
    let input = input::user(&body_json(&headers, &body)?)?;
    let id = state
        .store_mut()
        .create_user(input, sw.duplicate_status.status())?;
    tracing::debug!(%id, "Zivver simulator created a user.");
    let user = state
        .user(&id)
        .ok_or_else(|| ZivverError::unknown_account(&id))?;
    Ok(json_response(StatusCode::CREATED, &user))
}

async fn replace_user(
    State(state): State<ZivverState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ZivverError> {
    let sw = state.switches();
    // The unknown id is reported before anything wrong with the body.
    if !state.store().has_user(&id) {
        return Err(ZivverError::unknown_account(&id));
    }
    let input = input::user(&body_json(&headers, &body)?)?;
    state.store_mut().replace_user(
        &id,
        input,
        sw.sso_clear_on_omit,
        sw.duplicate_status.status(),
    )?;
    let user = state
        .user(&id)
        .ok_or_else(|| ZivverError::unknown_account(&id))?;
    Ok(json_response(StatusCode::OK, &user))
}

async fn delete_user(
    State(state): State<ZivverState>,
    Path(id): Path<String>,
) -> Result<Response, ZivverError> {
    state.store_mut().delete_user(&id)?;
    tracing::debug!(%id, "Zivver simulator deleted a user.");
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_groups(State(state): State<ZivverState>, uri: Uri) -> Result<Response, ZivverError> {
    let sw = state.switches();
    let params = ListParams::from_uri(&uri)?;
    if let Some(filter) = &params.filter {
        return Err(ZivverError::bad(format!("Unsupported filter: {filter}")));
    }
    let store = state.store();
    let total = store.group_count();
    let (from, to) = params.page(total, &sw)?;
    let resources = store
        .group_page(from, to - from)
        .into_iter()
        .filter_map(|id| store.render_group(id))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &list_body(total, from, resources, &sw),
    ))
}

async fn read_group(
    State(state): State<ZivverState>,
    Path(id): Path<String>,
) -> Result<Response, ZivverError> {
    let group = state
        .group(&id)
        .ok_or_else(|| ZivverError::unknown_account(&id))?;
    Ok(json_response(StatusCode::OK, &group))
}

async fn create_group(
    State(state): State<ZivverState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ZivverError> {
    let input = input::group(&body_json(&headers, &body)?)?;
    let id = state.store_mut().create_group(input)?;
    tracing::debug!(%id, "Zivver simulator created a functional account.");
    let group = state
        .group(&id)
        .ok_or_else(|| ZivverError::unknown_account(&id))?;
    // Zivver's Cloud Sync client reads only these two (exchange-online.md §3).
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "id": id, "externalId": group["externalId"] }),
    ))
}

async fn put_group(
    State(state): State<ZivverState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ZivverError> {
    // The unknown id is reported before anything wrong with the request; an existence check,
    // not a rendering of the group's members.
    if !state.store().has_group(&id) {
        return Err(ZivverError::unknown_account(&id));
    }
    let input = input::group(&body_json(&headers, &body)?)?;
    state.store_mut().put_group(&id, input)?;
    let group = state
        .group(&id)
        .ok_or_else(|| ZivverError::unknown_account(&id))?;
    Ok(json_response(StatusCode::OK, &group))
}

async fn patch_group(
    State(state): State<ZivverState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ZivverError> {
    let sw = state.switches();
    // The unknown id is reported before anything wrong with the request; an existence check,
    // not a rendering of the group's members.
    if !state.store().has_group(&id) {
        return Err(ZivverError::unknown_account(&id));
    }
    require_scim_json(&headers)?;
    let ops = input::patch(&body_json(&headers, &body)?)?;
    state
        .store_mut()
        .patch_group(&id, ops, sw.membership_add_remove)?;
    let group = state
        .group(&id)
        .ok_or_else(|| ZivverError::unknown_account(&id))?;
    Ok(json_response(StatusCode::OK, &group))
}
