//! HTTP for the SCIM endpoints: the router, the counting and auth middleware, and the handlers
//! for `/Users` and `/Groups` (list, search, read, create, replace, patch, delete).
//!
//! Handlers only translate between HTTP and the directory: switches decide what is served, the
//! `store` decides what is allowed. The resource operations here are also what `bulk` runs.

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::error::{ScimError, ScimType};
use super::filter::{self, Filter};
use super::project::Projection;
use super::schema::Kind;
use super::state::ScimState;
use super::store::View;
use super::validate;
use super::{bulk, discovery, patch, testapi, ScimSwitches, SpcMode, BASE_PATH};
use crate::{control, faults};

/// Media type of every SCIM answer.
pub const SCIM_JSON: &str = "application/scim+json";
/// Schema URN of a list answer.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A JSON answer with the SCIM media type.
pub fn scim_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, SCIM_JSON)],
        body.to_string(),
    )
        .into_response()
}

/// The whole application router for `state`.
pub fn router(state: ScimState) -> Router {
    macro_rules! kind_routes {
        ($r:expr, $kind:expr, $base:literal) => {
            $r.route(
                $base,
                get(|s: State<ScimState>, u: Uri| list($kind, s, u)).post(
                    |s: State<ScimState>, u: Uri, h: HeaderMap, b: Bytes| create($kind, s, u, h, b),
                ),
            )
            .route(
                concat!($base, "/.search"),
                post(|s: State<ScimState>, h: HeaderMap, b: Bytes| search($kind, s, h, b)),
            )
            .route(
                concat!($base, "/{id}"),
                get(
                    |s: State<ScimState>, p: Path<String>, u: Uri, h: HeaderMap| {
                        read($kind, s, p, u, h)
                    },
                )
                .put(
                    |s: State<ScimState>, p: Path<String>, u: Uri, h: HeaderMap, b: Bytes| {
                        replace($kind, s, p, u, h, b)
                    },
                )
                .patch(
                    |s: State<ScimState>, p: Path<String>, u: Uri, h: HeaderMap, b: Bytes| {
                        patch_resource($kind, s, p, u, h, b)
                    },
                )
                .delete(|s: State<ScimState>, p: Path<String>, h: HeaderMap| {
                    delete($kind, s, p, h)
                }),
            )
        };
    }
    let scim = Router::new();
    let scim = kind_routes!(scim, Kind::User, "/Users");
    let scim = kind_routes!(scim, Kind::Group, "/Groups");
    let scim = discovery::routes(scim)
        .route("/Bulk", post(bulk::handle))
        .fallback(|| async { ScimError::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ScimError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this endpoint",
            )
        })
        // Last added runs first: count every request, then authenticate, then inject faults.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject::<ScimState>,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            control::count::<ScimState>,
        ));
    Router::new()
        .nest(BASE_PATH, scim)
        .merge(testapi::routes())
        .with_state(state)
}

async fn auth(State(state): State<ScimState>, req: Request, next: Next) -> Response {
    if state.authorized(req.headers()) {
        return next.run(req).await;
    }
    let mut resp =
        ScimError::new(StatusCode::UNAUTHORIZED, "missing or invalid credentials").into_response();
    let challenge = if state.basic_enabled() {
        "Bearer realm=\"muster-sim\", Basic realm=\"muster-sim\""
    } else {
        "Bearer realm=\"muster-sim\""
    };
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    resp
}

/// Query parameters of a list or search, by their case-insensitive names (RFC 7644 §3.4.2).
#[derive(Debug, Default)]
struct ListParams {
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<String>,
    excluded: Option<String>,
}

fn int_param(name: &str, raw: &str) -> Result<i64, ScimError> {
    raw.trim().parse().map_err(|_| {
        ScimError::bad(
            ScimType::InvalidValue,
            format!("'{name}' must be an integer, not '{raw}'"),
        )
    })
}

fn query_pairs(uri: &Uri) -> Result<Vec<(String, String)>, ScimError> {
    // Form decoding turns a raw `+` into a space, as most servers do: clients must send %2B.
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|Query(q)| q)
        .map_err(|e| ScimError::bad(ScimType::InvalidSyntax, format!("bad query string: {e}")))
}

impl ListParams {
    fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, ScimError> {
        let mut p = Self::default();
        for (k, v) in pairs {
            match k.to_ascii_lowercase().as_str() {
                "filter" => p.filter = Some(v),
                "startindex" => p.start_index = Some(int_param("startIndex", &v)?),
                "count" => p.count = Some(int_param("count", &v)?),
                "attributes" => p.attributes = Some(v),
                "excludedattributes" => p.excluded = Some(v),
                _ => {}
            }
        }
        Ok(p)
    }

    fn projection(&self, kind: Kind) -> Result<Projection, ScimError> {
        Projection::parse(kind, self.attributes.as_deref(), self.excluded.as_deref())
    }
}

/// Parses a request body, accepting `application/json` and `application/scim+json` (415 else).
pub(super) fn parse_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, ScimError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let essence = ct
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" && essence != SCIM_JSON {
            return Err(ScimError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content type must be {SCIM_JSON} or application/json, not '{essence}'"),
            ));
        }
    }
    serde_json::from_slice(body)
        .map_err(|e| ScimError::bad(ScimType::InvalidSyntax, format!("body is not JSON: {e}")))
}

/// `If-Match`, when ETags are on; otherwise the header is ignored, as such servers do.
pub(super) fn if_match<'a>(headers: &'a HeaderMap, sw: &ScimSwitches) -> Option<&'a str> {
    sw.etag
        .then(|| headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()))
        .flatten()
}

/// A rendered resource, with `meta.version` removed when ETags are off.
pub(super) fn rendered(
    state: &ScimState,
    kind: Kind,
    id: &str,
    sw: &ScimSwitches,
) -> Result<Value, ScimError> {
    let mut v = state
        .store()
        .render(kind, id, &state.base_url(), View::Served)
        .ok_or_else(|| ScimError::not_found(kind.name(), id))?;
    if !sw.etag {
        if let Some(meta) = v.get_mut("meta").and_then(Value::as_object_mut) {
            meta.remove("version");
        }
    }
    Ok(v)
}

/// [`rendered`] for an answer trimmed by `projection`: a group's members are not rendered
/// when the projection drops them.
fn rendered_for(
    state: &ScimState,
    kind: Kind,
    id: &str,
    sw: &ScimSwitches,
    projection: &Projection,
) -> Result<Value, ScimError> {
    let mut v = state
        .store()
        .render_trimmed(
            kind,
            id,
            &state.base_url(),
            View::Served,
            projection.keeps("members"),
        )
        .ok_or_else(|| ScimError::not_found(kind.name(), id))?;
    if !sw.etag {
        if let Some(meta) = v.get_mut("meta").and_then(Value::as_object_mut) {
            meta.remove("version");
        }
    }
    Ok(v)
}

/// A resource answer trimmed by `projection`, with `ETag` (when on) and, for 201, `Location`,
/// both taken from the untrimmed resource.
fn resource_response(
    status: StatusCode,
    resource: Value,
    projection: &Projection,
    sw: &ScimSwitches,
) -> Response {
    let header_of = |pointer: &str| {
        resource
            .pointer(pointer)
            .and_then(Value::as_str)
            .and_then(|v| HeaderValue::from_str(v).ok())
    };
    let etag = header_of("/meta/version").filter(|_| sw.etag);
    let location = header_of("/meta/location").filter(|_| status == StatusCode::CREATED);
    let mut resp = scim_response(status, &projection.apply(resource));
    let headers = resp.headers_mut();
    if let Some(v) = etag {
        headers.insert(header::ETAG, v);
    }
    if let Some(v) = location {
        headers.insert(header::LOCATION, v);
    }
    resp
}

fn parse_filter(text: Option<&str>, sw: &ScimSwitches) -> Result<Option<Filter>, ScimError> {
    let Some(text) = text else { return Ok(None) };
    if !sw.filter {
        return Err(ScimError::not_implemented("filtering is not supported"));
    }
    filter::parse(text)
        .map(Some)
        .map_err(|e| ScimError::bad(ScimType::InvalidFilter, e.to_string()))
}

fn list_response(
    state: &ScimState,
    kind: Kind,
    params: &ListParams,
    sw: &ScimSwitches,
) -> Result<Response, ScimError> {
    let filter = parse_filter(params.filter.as_deref(), sw)?;
    let projection = params.projection(kind)?;
    let base = state.base_url();
    let store = state.store();
    let (start, (total, page)) = if sw.honour_paging {
        let start = usize::try_from(params.start_index.unwrap_or(1).max(1)).unwrap_or(usize::MAX);
        let count = params.count.map_or(sw.max_results, |c| {
            usize::try_from(c.max(0)).unwrap_or(0).min(sw.max_results)
        });
        (start, store.page(kind, filter.as_ref(), start - 1, count))
    } else {
        (1, store.page(kind, filter.as_ref(), 0, usize::MAX))
    };
    let resources: Vec<Value> = page
        .iter()
        .filter_map(|id| {
            store.render_trimmed(kind, id, &base, View::Served, projection.keeps("members"))
        })
        .map(|mut v| {
            if !sw.etag {
                if let Some(meta) = v.get_mut("meta").and_then(Value::as_object_mut) {
                    meta.remove("version");
                }
            }
            projection.apply(v)
        })
        .collect();
    let body = json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": start,
        "Resources": resources,
    });
    Ok(scim_response(StatusCode::OK, &body))
}

async fn list(kind: Kind, State(state): State<ScimState>, uri: Uri) -> Result<Response, ScimError> {
    let params = ListParams::from_pairs(query_pairs(&uri)?)?;
    list_response(&state, kind, &params, &state.switches())
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): the list parameters in a JSON body.
async fn search(
    kind: Kind,
    State(state): State<ScimState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let body = parse_body(&headers, &body)?;
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::bad(ScimType::InvalidSyntax, "the body must be an object"))?;
    let mut pairs = Vec::new();
    for (k, v) in obj {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            _ => continue,
        };
        pairs.push((k.clone(), text));
    }
    list_response(
        &state,
        kind,
        &ListParams::from_pairs(pairs)?,
        &state.switches(),
    )
}

async fn read(
    kind: Kind,
    State(state): State<ScimState>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let sw = state.switches();
    let projection = ListParams::from_pairs(query_pairs(&uri)?)?.projection(kind)?;
    let resource = rendered_for(&state, kind, &id, &sw, &projection)?;
    let version = resource
        .pointer("/meta/version")
        .and_then(Value::as_str)
        .map(str::to_string);
    let none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if let (true, Some(version), Some(none_match)) = (sw.etag, &version, none_match) {
        if none_match
            .split(',')
            .any(|t| t.trim() == version || t.trim() == "*")
        {
            let mut resp = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(v) = HeaderValue::from_str(version) {
                resp.headers_mut().insert(header::ETAG, v);
            }
            return Ok(resp);
        }
    }
    Ok(resource_response(
        StatusCode::OK,
        resource,
        &projection,
        &sw,
    ))
}

/// Creates a resource from a POST body; returns its id.
pub(super) fn do_create(state: &ScimState, kind: Kind, body: &Value) -> Result<String, ScimError> {
    let attrs = validate::normalize(kind, body, true)?;
    let id = state.store_mut().create(kind, attrs)?;
    tracing::debug!(kind = kind.name(), %id, "Simulator created a resource.");
    Ok(id)
}

/// Replaces a resource (PUT). The write-only `password` is kept when the body leaves it out:
/// a client cannot read it back, so it could never send it along.
pub(super) fn do_replace(
    state: &ScimState,
    kind: Kind,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<(), ScimError> {
    let mut new = validate::normalize(kind, body, true)?;
    state.store_mut().update(kind, id, if_match, |attrs| {
        if let (false, Some(pw)) = (new.contains_key("password"), attrs.get("password")) {
            new.insert("password".into(), pw.clone());
        }
        *attrs = new;
        Ok(())
    })
}

/// Applies a PATCH body, honouring the `patch` and `spc` switches.
pub(super) fn do_patch(
    state: &ScimState,
    kind: Kind,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    sw: &ScimSwitches,
) -> Result<(), ScimError> {
    if sw.spc == SpcMode::Lying || !sw.patch {
        return Err(ScimError::not_implemented("PATCH is not supported"));
    }
    if let Some(change) = patch::member_change(kind, body) {
        return state.store_mut().change_members(id, if_match, &change);
    }
    state.store_mut().update(kind, id, if_match, |attrs| {
        let adds = if sw.duplicate_member_adds {
            patch::MemberAdds::Repeat
        } else {
            patch::MemberAdds::Ignore
        };
        patch::apply(kind, attrs, body, adds)
    })
}

async fn create(
    kind: Kind,
    State(state): State<ScimState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let sw = state.switches();
    // Parsed before writing, so a bad parameter refuses the request rather than hiding its result.
    let projection = ListParams::from_pairs(query_pairs(&uri)?)?.projection(kind)?;
    let id = do_create(&state, kind, &parse_body(&headers, &body)?)?;
    let resource = rendered_for(&state, kind, &id, &sw, &projection)?;
    Ok(resource_response(
        StatusCode::CREATED,
        resource,
        &projection,
        &sw,
    ))
}

async fn replace(
    kind: Kind,
    State(state): State<ScimState>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let sw = state.switches();
    // Parsed before writing, so a bad parameter refuses the request rather than hiding its result.
    let projection = ListParams::from_pairs(query_pairs(&uri)?)?.projection(kind)?;
    do_replace(
        &state,
        kind,
        &id,
        &parse_body(&headers, &body)?,
        if_match(&headers, &sw),
    )?;
    let resource = rendered_for(&state, kind, &id, &sw, &projection)?;
    Ok(resource_response(
        StatusCode::OK,
        resource,
        &projection,
        &sw,
    ))
}

async fn patch_resource(
    kind: Kind,
    State(state): State<ScimState>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let sw = state.switches();
    if sw.spc == SpcMode::Lying || !sw.patch {
        return Err(ScimError::not_implemented("PATCH is not supported"));
    }
    // Parsed before writing, so a bad parameter refuses the request rather than hiding its result.
    let projection = ListParams::from_pairs(query_pairs(&uri)?)?.projection(kind)?;
    do_patch(
        &state,
        kind,
        &id,
        &parse_body(&headers, &body)?,
        if_match(&headers, &sw),
        &sw,
    )?;
    let resource = rendered_for(&state, kind, &id, &sw, &projection)?;
    Ok(resource_response(
        StatusCode::OK,
        resource,
        &projection,
        &sw,
    ))
}

async fn delete(
    kind: Kind,
    State(state): State<ScimState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let sw = state.switches();
    state
        .store_mut()
        .delete(kind, &id, if_match(&headers, &sw))?;
    tracing::debug!(kind = kind.name(), %id, "Simulator deleted a resource.");
    Ok(StatusCode::NO_CONTENT.into_response())
}
