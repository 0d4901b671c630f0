//! The handlers of `/api/v1` (helloid.md §3). They only translate between HTTP and the tenant:
//! `input` reads bodies, the store's rules (`users`, `catalog`) decide what is allowed, and
//! `routes` supplies paging and JSON answers.
//!
//! Path keys are GUIDs except for `GET /users/{key}`, which also takes a `userName`; writes to
//! a user take only its GUID, so a client sending a name where a GUID belongs is caught.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;

use super::catalog::Revoked;
use super::error::HelloIdError;
use super::input;
use super::routes::{body_json, json_response, no_content, ListQuery};
use super::state::HelloIdState;
use super::switches::RevokeMissing;

type Answer = Result<Response, HelloIdError>;

/// `GET /users?skip&take`: live users; with `isDeleted=true`, only the deleted ones.
pub async fn list_users(State(state): State<HelloIdState>, uri: Uri) -> Answer {
    let q = ListQuery::from_uri(&uri)?;
    let shape = state.switches().list_shape;
    let store = state.store();
    let page = store.user_page(q.is_deleted, q.skip, q.limit());
    let users = page.into_iter().map(|u| store.render_user(u)).collect();
    Ok(ListQuery::answer(users, shape))
}

/// `GET /users/{userGUID or userName}`.
pub async fn read_user(State(state): State<HelloIdState>, Path(key): Path<String>) -> Answer {
    let user = state.user(&key).ok_or_else(HelloIdError::user_not_found)?;
    Ok(json_response(StatusCode::OK, &user))
}

/// The live user with this GUID, rendered.
fn user_by_guid(state: &HelloIdState, guid: &str) -> Answer {
    let store = state.store();
    let user = store
        .live_user(guid)
        .ok_or_else(HelloIdError::user_not_found)?;
    Ok(json_response(StatusCode::OK, &store.render_user(user)))
}

/// `POST /users`: answers the new user, with its `userGUID` and without the password.
pub async fn create_user(
    State(state): State<HelloIdState>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let input = input::user(&body_json(&headers, &body)?)?;
    let reserved = state.switches().deleted_name_reserved;
    let guid = state.store_mut().create_user(input, reserved)?;
    user_by_guid(&state, &guid)
}

/// `PUT /users/{userGUID}`: a full object, applied by the rules of `users`.
pub async fn update_user(
    State(state): State<HelloIdState>,
    Path(guid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    // The unknown user is reported before anything wrong with the body.
    if state.store().live_user(&guid).is_none() {
        return Err(HelloIdError::user_not_found());
    }
    let input = input::user(&body_json(&headers, &body)?)?;
    let reserved = state.switches().deleted_name_reserved;
    state.store_mut().update_user(&guid, input, reserved)?;
    user_by_guid(&state, &guid)
}

/// `DELETE /users/{userGUID}`: a soft delete.
pub async fn delete_user(State(state): State<HelloIdState>, Path(guid): Path<String>) -> Answer {
    state.store_mut().delete_user(&guid)?;
    Ok(no_content())
}

/// `POST /users/{userGUID}/groups` with `{"groupGuid": "…"}`; a repeated grant succeeds.
pub async fn add_membership(
    State(state): State<HelloIdState>,
    Path(guid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    if state.store().live_user(&guid).is_none() {
        return Err(HelloIdError::user_not_found());
    }
    let body = body_json(&headers, &body)?;
    let group = input::required(input::object(&body)?, "groupGuid")?;
    state.store_mut().add_member(&guid, &group)?;
    Ok(no_content())
}

/// `DELETE /users/{userGUID}/groups/{groupGuid}`; a missing membership follows
/// `revoke_missing`.
pub async fn remove_membership(
    State(state): State<HelloIdState>,
    Path((guid, group)): Path<(String, String)>,
) -> Answer {
    let revoked = state.store_mut().remove_member(&guid, &group)?;
    if revoked == Revoked::Missing && state.switches().revoke_missing == RevokeMissing::Error {
        return Err(HelloIdError::membership_not_found());
    }
    Ok(no_content())
}

/// `GET /groups?skip&take`, without members.
pub async fn list_groups(State(state): State<HelloIdState>, uri: Uri) -> Answer {
    let q = ListQuery::from_uri(&uri)?;
    let shape = state.switches().list_shape;
    let store = state.store();
    Ok(q.page(store.groups.iter(), |g| store.render_group(g, false), shape))
}

/// `GET /groups/{groupGuid}`, with `users` as `userGUID` strings.
pub async fn read_group(State(state): State<HelloIdState>, Path(guid): Path<String>) -> Answer {
    let group = state
        .group(&guid)
        .ok_or_else(HelloIdError::group_not_found)?;
    Ok(json_response(StatusCode::OK, &group))
}

/// `POST /groups` with `{"name": "…", "isEnabled": true}`; names need not be unique.
pub async fn create_group(
    State(state): State<HelloIdState>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let body = body_json(&headers, &body)?;
    let obj = input::object(&body)?;
    let name = input::required(obj, "name")?;
    let enabled = input::opt_boolean(obj, "isEnabled")?.unwrap_or(true);
    let guid = state.store_mut().create_group(&name, enabled);
    let group = state
        .group(&guid)
        .ok_or_else(HelloIdError::group_not_found)?;
    Ok(json_response(StatusCode::OK, &group))
}

/// `GET /products?skip&take`.
pub async fn list_products(State(state): State<HelloIdState>, uri: Uri) -> Answer {
    let q = ListQuery::from_uri(&uri)?;
    let shape = state.switches().list_shape;
    let store = state.store();
    Ok(q.page(store.products.iter(), |p| store.render_product(p), shape))
}

/// `GET /product-assignment?skip&take`: every assignment of a live user.
pub async fn list_assignments(State(state): State<HelloIdState>, uri: Uri) -> Answer {
    let q = ListQuery::from_uri(&uri)?;
    let shape = state.switches().list_shape;
    let store = state.store();
    let page = store.assignment_page(q.skip, q.limit());
    let items = page
        .into_iter()
        .map(|a| store.render_assignment(a))
        .collect();
    Ok(ListQuery::answer(items, shape))
}

/// `GET /product-assignment/by-user/{userGUID}?skip&take`.
pub async fn user_assignments(
    State(state): State<HelloIdState>,
    Path(guid): Path<String>,
    uri: Uri,
) -> Answer {
    let q = ListQuery::from_uri(&uri)?;
    let shape = state.switches().list_shape;
    let store = state.store();
    if store.live_user(&guid).is_none() {
        return Err(HelloIdError::user_not_found());
    }
    Ok(q.page(
        store.assignments(Some(&guid)),
        |a| store.render_assignment(a),
        shape,
    ))
}

/// `POST /selfservice/products/request`: answers the request, `Approved` (already an
/// assignment) or, with `product_approval`, `Pending`.
pub async fn request_product(
    State(state): State<HelloIdState>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let req = input::product_request(&body_json(&headers, &body)?)?;
    let approval = state.switches().product_approval;
    let guid = state.store_mut().request_product(req, approval)?;
    let store = state.store();
    let request = store
        .request(&guid)
        .map_or(Value::Null, |r| store.render_request(r));
    Ok(json_response(StatusCode::OK, &request))
}

/// `POST /product-assignment/unassign/by-product`: removes every assignment of that product
/// for the user, and records `executeActions`.
pub async fn unassign_product(
    State(state): State<HelloIdState>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let req = input::unassign(&body_json(&headers, &body)?)?;
    state.store_mut().unassign(req)?;
    Ok(no_content())
}
