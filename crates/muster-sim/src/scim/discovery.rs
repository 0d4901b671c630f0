//! Discovery endpoints (RFC 7644 §4): `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`.
//!
//! `/ServiceProviderConfig` reports the switches in force, unless the `spc` switch makes it lie
//! (PATCH advertised but refused) or vanish (404): clients must survive both.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::error::ScimError;
use super::routes::{scim_response, LIST_SCHEMA};
use super::schema::{self, AttrDef, Kind, Mutability, Returned, SchemaDef, Ty};
use super::state::ScimState;
use super::SpcMode;

/// Advertised bulk limits (RFC 7644 §5), enforced by `bulk`.
pub const BULK_MAX_OPERATIONS: usize = 1000;
/// Bytes.
pub const BULK_MAX_PAYLOAD: usize = 1_048_576;

/// Adds the discovery routes to the SCIM router.
pub fn routes(r: Router<ScimState>) -> Router<ScimState> {
    r.route("/ServiceProviderConfig", get(spc))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema_one))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type_one))
}

async fn spc(State(state): State<ScimState>) -> Result<Response, ScimError> {
    let sw = state.switches();
    if sw.spc == SpcMode::Absent {
        return Err(ScimError::new(StatusCode::NOT_FOUND, "no such endpoint"));
    }
    let base = state.base_url();
    let mut auth = vec![json!({
        "type": "oauthbearertoken",
        "name": "OAuth Bearer Token",
        "description": "Authentication with a bearer token in the Authorization header.",
        "primary": true,
    })];
    if state.basic_enabled() {
        auth.push(json!({
            "type": "httpbasic",
            "name": "HTTP Basic",
            "description": "Authentication with a user name and password.",
        }));
    }
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": { "supported": sw.patch || sw.spc == SpcMode::Lying },
        "bulk": { "supported": sw.bulk, "maxOperations": BULK_MAX_OPERATIONS, "maxPayloadSize": BULK_MAX_PAYLOAD },
        "filter": { "supported": sw.filter, "maxResults": sw.max_results },
        "changePassword": { "supported": true },
        "sort": { "supported": false },
        "etag": { "supported": sw.etag },
        "authenticationSchemes": auth,
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig") },
    });
    Ok(scim_response(StatusCode::OK, &body))
}

fn list(items: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": items.len(),
        "itemsPerPage": items.len(),
        "startIndex": 1,
        "Resources": items,
    })
}

async fn schemas(State(state): State<ScimState>) -> Response {
    let base = state.base_url();
    let items = schema::all_schemas()
        .iter()
        .map(|s| schema_json(s, &base))
        .collect();
    scim_response(StatusCode::OK, &list(items))
}

async fn schema_one(
    State(state): State<ScimState>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let s = schema::all_schemas()
        .into_iter()
        .find(|s| s.id.eq_ignore_ascii_case(&id))
        .ok_or_else(|| ScimError::not_found("Schema", &id))?;
    Ok(scim_response(
        StatusCode::OK,
        &schema_json(s, &state.base_url()),
    ))
}

fn resource_type(kind: Kind, base: &str) -> Value {
    let extensions: Vec<Value> = kind
        .extensions()
        .iter()
        .map(|e| json!({ "schema": e.id, "required": false }))
        .collect();
    let description = if kind == Kind::User {
        "User Account"
    } else {
        "Group"
    };
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": format!("/{}", kind.endpoint()),
        "description": description,
        "schema": kind.core().id,
        "schemaExtensions": extensions,
        "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", kind.name()) },
    })
}

async fn resource_types(State(state): State<ScimState>) -> Response {
    let base = state.base_url();
    scim_response(
        StatusCode::OK,
        &list(vec![
            resource_type(Kind::User, &base),
            resource_type(Kind::Group, &base),
        ]),
    )
}

async fn resource_type_one(
    State(state): State<ScimState>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let kind = [Kind::User, Kind::Group]
        .into_iter()
        .find(|k| k.name().eq_ignore_ascii_case(&id))
        .ok_or_else(|| ScimError::not_found("ResourceType", &id))?;
    Ok(scim_response(
        StatusCode::OK,
        &resource_type(kind, &state.base_url()),
    ))
}

/// `/Schemas` entry for one schema, with its `meta.location` under `base`.
pub fn schema_json(schema: &SchemaDef, base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attrs.iter().map(attr_json).collect::<Vec<_>>(),
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{}", schema.id) },
    })
}

fn attr_json(def: &AttrDef) -> Value {
    let ty = match def.ty {
        Ty::String => "string",
        Ty::Boolean => "boolean",
        Ty::Decimal => "decimal",
        Ty::Integer => "integer",
        Ty::DateTime => "dateTime",
        Ty::Binary => "binary",
        Ty::Reference => "reference",
        Ty::Complex => "complex",
    };
    let mutability = match def.mutability {
        Mutability::ReadOnly => "readOnly",
        Mutability::ReadWrite => "readWrite",
        Mutability::Immutable => "immutable",
        Mutability::WriteOnly => "writeOnly",
    };
    let returned = match def.returned {
        Returned::Always => "always",
        Returned::Never => "never",
        Returned::Default => "default",
    };
    let mut v = json!({
        "name": def.name,
        "type": ty,
        "multiValued": def.multi,
        "description": def.description,
        "required": def.required,
        "caseExact": def.case_exact,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": if def.unique { "server" } else { "none" },
    });
    if let Some(map) = v.as_object_mut() {
        if !def.refs.is_empty() {
            map.insert("referenceTypes".into(), json!(def.refs));
        }
        if !def.sub.is_empty() {
            map.insert(
                "subAttributes".into(),
                def.sub.iter().map(attr_json).collect(),
            );
        }
    }
    v
}
