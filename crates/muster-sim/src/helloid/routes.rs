//! HTTP plumbing for `/api/v1` (helloid.md §1, §3): the router, the middleware that counts,
//! authenticates and renders errors under the switches, and the helpers every handler shares
//! (JSON bodies, `skip`/`take` paging, the two list shapes).
//!
//! Handlers live in `handlers`; faults in `inject` and the shared [`crate::faults`].

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde_json::{json, Value};

use super::error::{HelloIdError, JSON_UTF8};
use super::handlers as h;
use super::input;
use super::state::HelloIdState;
use super::switches::ListShape;
use super::{inject, testapi, API_PATH};
use crate::{control, faults};

/// The whole application router for `state`.
pub fn router(state: HelloIdState) -> Router {
    let api = Router::new()
        .route("/users", get(h::list_users).post(h::create_user))
        .route(
            "/users/{id}",
            get(h::read_user).put(h::update_user).delete(h::delete_user),
        )
        .route("/users/{id}/groups", post(h::add_membership))
        .route("/users/{id}/groups/{group}", delete(h::remove_membership))
        .route("/groups", get(h::list_groups).post(h::create_group))
        .route("/groups/{id}", get(h::read_group))
        .route("/products", get(h::list_products))
        .route("/product-assignment", get(h::list_assignments))
        .route("/product-assignment/by-user/{id}", get(h::user_assignments))
        .route(
            "/product-assignment/unassign/by-product",
            post(h::unassign_product),
        )
        .route("/selfservice/products/request", post(h::request_product))
        .fallback(|| async { HelloIdError::new(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async {
            HelloIdError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
        // Last added runs first: count every request, render errors under the switches, add
        // latency (401s too), authenticate, then rate limit and inject faults.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject::<HelloIdState>,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            inject::latency,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), finish))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            control::count::<HelloIdState>,
        ));
    Router::new()
        .nest(API_PATH, api)
        .merge(testapi::routes())
        .with_state(state)
}

/// HTTP Basic against the configured key/secret pairs; anything else is a 401.
async fn auth(State(state): State<HelloIdState>, req: Request, next: Next) -> Response {
    if state.authorized(req.headers()) {
        return next.run(req).await;
    }
    let mut resp = HelloIdError::new(StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"HelloID\""),
    );
    resp
}

/// Renders every error again under the switches in force (`error_field`, `not_found_status`),
/// keeping its other headers (`Retry-After`, `WWW-Authenticate`).
async fn finish(State(state): State<HelloIdState>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let Some(err) = resp.extensions().get::<HelloIdError>().cloned() else {
        return resp;
    };
    let sw = state.switches();
    let (mut parts, _) = resp.into_parts();
    let fresh = err.render(&sw);
    parts.status = fresh.status();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, fresh.into_body())
}

/// A JSON answer.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, JSON_UTF8)],
        body.to_string(),
    )
        .into_response()
}

/// An answer without a body.
pub fn no_content() -> Response {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::NO_CONTENT.into_response())
}

/// Reads a JSON body sent as `application/json` (parameters such as `charset=utf-8` allowed);
/// any other type, or none, is a 415.
pub fn body_json(headers: &HeaderMap, body: &Bytes) -> Result<Value, HelloIdError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    let essence = ct.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(HelloIdError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unsupported Media Type: {ct}"),
        ));
    }
    serde_json::from_slice(body).map_err(|_| HelloIdError::bad("Invalid JSON"))
}

/// The query of a list: `skip`, `take` and, for users, `isDeleted`; names in any case.
#[derive(Debug, Default, Clone, Copy)]
pub struct ListQuery {
    pub skip: usize,
    /// `None`: everything from `skip` on.
    pub take: Option<usize>,
    pub is_deleted: bool,
}

impl ListQuery {
    /// Reads the query of `uri`; a value that is not a non-negative number is a 400.
    pub fn from_uri(uri: &Uri) -> Result<Self, HelloIdError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map_err(|_| HelloIdError::bad("Invalid query string"))?;
        let number = |name: &str, raw: &str| {
            raw.trim()
                .parse::<usize>()
                .map_err(|_| HelloIdError::invalid_value(name))
        };
        let mut q = Self::default();
        for (key, value) in pairs {
            match key.to_ascii_lowercase().as_str() {
                "skip" => q.skip = number("skip", &value)?,
                "take" => q.take = Some(number("take", &value)?),
                "isdeleted" => q.is_deleted = input::boolean(&json!(value), "isDeleted")?,
                _ => {}
            }
        }
        Ok(q)
    }

    /// How many items at most: `take`, or all.
    pub fn limit(self) -> usize {
        self.take.unwrap_or(usize::MAX)
    }

    /// One page of `items`, each rendered by `render` (the skipped ones are not), in the list
    /// shape in force.
    pub fn page<T>(
        self,
        items: impl Iterator<Item = T>,
        render: impl FnMut(T) -> Value,
        shape: ListShape,
    ) -> Response {
        let page = items
            .skip(self.skip)
            .take(self.limit())
            .map(render)
            .collect();
        Self::answer(page, shape)
    }

    /// A page already cut, in the list shape in force: a bare array or `{"data": […]}`.
    pub fn answer(page: Vec<Value>, shape: ListShape) -> Response {
        let body = match shape {
            ListShape::Array => Value::Array(page),
            ListShape::Data => json!({ "data": page }),
        };
        json_response(StatusCode::OK, &body)
    }
}
