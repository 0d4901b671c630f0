//! HTTP for `/api/v3` (zermelo.md §4): the router, the counting and auth middleware, and the
//! handlers for `users`, `students`, `departmentsofbranches` and `studentsindepartments`.
//!
//! Handlers only translate between HTTP and the portal: `input` reads bodies and queries,
//! `store` decides what is allowed, `envelope` wraps the answer, `inject` misbehaves. The order
//! of the layers (outermost first): count, envelope, auth, shared fault injection.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::Router;
use serde_json::Value;

use super::envelope::{self, select, Envelope};
use super::error::ZermeloError;
use super::input;
use super::state::ZermeloState;
use super::store::{DEPARTMENT_FIELDS, PLACEMENT_FIELDS, STUDENT_FIELDS, USER_FIELDS};
use super::{testapi, API_PATH};
use crate::{control, faults};

type Reply = Result<Envelope, ZermeloError>;

/// The whole application router for `state`.
pub fn router(state: ZermeloState) -> Router {
    let api = Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{code}", get(read_user).put(update_user))
        .route("/students/{code}", get(read_student))
        .route("/departmentsofbranches", get(list_departments))
        .route(
            "/studentsindepartments",
            get(list_placements).post(create_placement),
        )
        .route("/studentsindepartments/{id}", delete(delete_placement))
        .fallback(|| async { ZermeloError::new(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async {
            ZermeloError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
        // Last added runs first.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject::<ZermeloState>,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            envelope::render,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            control::count::<ZermeloState>,
        ));
    Router::new()
        .nest(API_PATH, api)
        .merge(testapi::routes())
        .with_state(state)
}

async fn auth(State(state): State<ZermeloState>, req: Request, next: Next) -> Response {
    if state.authorized(req.headers()) {
        return next.run(req).await;
    }
    let mut resp = ZermeloError::new(StatusCode::UNAUTHORIZED, "Unauthorized")
        .with_details("send Authorization: Bearer <API token>")
        .into_response();
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

/// Turns a handler's result into an answer; the envelope is rendered further out.
fn reply(r: Reply) -> Response {
    match r {
        Ok(envelope) => envelope.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Reads a JSON body sent as `application/json`, optionally with `charset=utf-8`; any other
/// type, or none, is answered 415.
fn body_json(headers: &HeaderMap, body: &Bytes) -> Result<Value, ZermeloError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    let mut parts = ct.split(';').map(str::trim);
    let essence_ok = parts
        .next()
        .is_some_and(|e| e.eq_ignore_ascii_case("application/json"));
    let params_ok = parts.filter(|p| !p.is_empty()).all(|p| {
        p.split_once('=').is_some_and(|(n, v)| {
            n.trim().eq_ignore_ascii_case("charset")
                && v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        })
    });
    if !essence_ok || !params_ok {
        return Err(ZermeloError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unsupported Media Type: {ct}"),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ZermeloError::bad("Invalid JSON").with_details(e.to_string()))
}

/// The `fields` of a request whose only parameter may be `fields`.
fn fields_only(uri: &Uri, known: &[&str]) -> Result<Option<Vec<String>>, ZermeloError> {
    let q = input::query(uri, &["fields"])?;
    input::fields(q.get("fields"), known)
}

fn one(status: StatusCode, entity: Value, fields: Option<&[String]>) -> Envelope {
    Envelope::ok(status, vec![select(entity, fields)])
}

async fn list_users(State(state): State<ZermeloState>, uri: Uri) -> Response {
    reply((|| {
        if !state.switches().list_users {
            return Err(ZermeloError::forbidden("list users"));
        }
        let fields = fields_only(&uri, &USER_FIELDS)?;
        let data = state
            .users()
            .into_iter()
            .map(|u| select(u, fields.as_deref()))
            .collect();
        Ok(Envelope::ok(StatusCode::OK, data))
    })())
}

async fn read_user(
    State(state): State<ZermeloState>,
    Path(code): Path<String>,
    uri: Uri,
) -> Response {
    reply((|| {
        let fields = fields_only(&uri, &USER_FIELDS)?;
        let user = state
            .user(&code)
            .ok_or_else(|| ZermeloError::not_found("User", &code))?;
        Ok(one(StatusCode::OK, user, fields.as_deref()))
    })())
}

/// `POST users`: answers 201 with the user (Zermelo's status for a create is not documented;
/// a client should take any 2xx).
async fn create_user(
    State(state): State<ZermeloState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    reply((|| {
        let fields = fields_only(&uri, &USER_FIELDS)?;
        let user = state.create_user(input::user(&body_json(&headers, &body)?)?)?;
        tracing::debug!(code = %user["code"], "Zermelo simulator created a user.");
        Ok(one(StatusCode::CREATED, user, fields.as_deref()))
    })())
}

/// `PUT users/{code}`: merges the members sent and answers with no rows (the shape of
/// Zermelo's answer is not documented; a client must not rely on one).
async fn update_user(
    State(state): State<ZermeloState>,
    Path(code): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    reply((|| {
        input::query(&uri, &[])?;
        // The unknown code is reported before anything wrong with the body.
        if state.user(&code).is_none() {
            return Err(ZermeloError::not_found("User", &code));
        }
        let input = input::user(&body_json(&headers, &body)?)?;
        state.store_mut().update_user(&code, input)?;
        tracing::debug!(%code, "Zermelo simulator updated a user.");
        Ok(Envelope::ok(StatusCode::OK, Vec::new()))
    })())
}

async fn read_student(
    State(state): State<ZermeloState>,
    Path(code): Path<String>,
    uri: Uri,
) -> Response {
    reply((|| {
        let fields = fields_only(&uri, &STUDENT_FIELDS)?;
        let student = state
            .student(&code)
            .ok_or_else(|| ZermeloError::not_found("Student", &code))?;
        Ok(one(StatusCode::OK, student, fields.as_deref()))
    })())
}

async fn list_departments(State(state): State<ZermeloState>, uri: Uri) -> Response {
    reply((|| {
        let fields = fields_only(&uri, &DEPARTMENT_FIELDS)?;
        let data = state
            .departments()
            .into_iter()
            .map(|d| select(d, fields.as_deref()))
            .collect();
        Ok(Envelope::ok(StatusCode::OK, data))
    })())
}

/// `GET studentsindepartments[?student={code}]`, only with `placement_read`.
async fn list_placements(State(state): State<ZermeloState>, uri: Uri) -> Response {
    reply((|| {
        if !state.switches().placement_read {
            return Err(ZermeloError::forbidden("read studentsindepartments"));
        }
        let q = input::query(&uri, &["student", "fields"])?;
        let fields = input::fields(q.get("fields"), &PLACEMENT_FIELDS)?;
        let data = match q.get("student") {
            Some(code) => state.placements_of(code),
            None => state.placements(),
        };
        let data = data
            .into_iter()
            .map(|p| select(p, fields.as_deref()))
            .collect();
        Ok(Envelope::ok(StatusCode::OK, data))
    })())
}

/// `POST studentsindepartments`: appends a placement and answers 201 with it and its new `id`.
async fn create_placement(
    State(state): State<ZermeloState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    reply((|| {
        let fields = fields_only(&uri, &PLACEMENT_FIELDS)?;
        let input = input::placement(&body_json(&headers, &body)?)?;
        let mut store = state.store_mut();
        let id = store.add_placement(input)?;
        let placement = store
            .placement(id)
            .ok_or_else(|| ZermeloError::not_found("StudentInDepartment", &id.to_string()))?;
        tracing::debug!(id, "Zermelo simulator placed a student.");
        Ok(one(StatusCode::CREATED, placement, fields.as_deref()))
    })())
}

/// `DELETE studentsindepartments/{id}`, only with `placement_delete`; answers with no rows.
async fn delete_placement(
    State(state): State<ZermeloState>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    reply((|| {
        if !state.switches().placement_delete {
            return Err(ZermeloError::forbidden("delete studentsindepartments"));
        }
        input::query(&uri, &[])?;
        let not_found = || ZermeloError::not_found("StudentInDepartment", &id);
        let numeric: u64 = id.trim().parse().map_err(|_| not_found())?;
        state.store_mut().delete_placement(numeric)?;
        tracing::debug!(id = numeric, "Zermelo simulator deleted a placement.");
        Ok(Envelope::ok(StatusCode::OK, Vec::new()))
    })())
}
