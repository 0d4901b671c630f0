//! SCIM 2.0 JSON as it travels (RFC 7643, RFC 7644): schema URNs, list responses, errors,
//! `/ServiceProviderConfig`, and PATCH bodies. Resources themselves stay `serde_json::Value`,
//! because Muster addresses them by attribute path (see [`super::path`]), not by field.

use serde::Deserialize;
use serde_json::{json, Value};

pub const CORE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// `Content-Type` of every body Muster sends.
pub const CONTENT_TYPE: &str = "application/scim+json";
/// `Accept` of every request: SCIM's own type, and plain JSON that many servers answer with.
pub const ACCEPT: &str = "application/scim+json, application/json";

/// A page of a query (RFC 7644 §3.4.2).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse {
    #[serde(default)]
    pub total_results: Option<u64>,
    #[serde(default)]
    pub start_index: Option<u64>,
    #[serde(default)]
    pub items_per_page: Option<u64>,
    /// Absent when the page is empty (RFC 7644 allows leaving it out).
    #[serde(default, rename = "Resources", alias = "resources")]
    pub resources: Vec<Value>,
}

/// A SCIM error body (RFC 7644 §3.12). `status` is a string in the RFC; some servers send a
/// number.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub status: Option<Value>,
    #[serde(default)]
    pub scim_type: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
}

/// How much of a non-SCIM error body is quoted.
const RAW_DETAIL_LIMIT: usize = 500;

/// The `scimType` and the error text of an error answer: `detail` from a SCIM error, or the
/// raw body (shortened) when it is not one.
pub fn error_detail(body: &[u8]) -> (Option<String>, String) {
    if let Ok(err) = serde_json::from_slice::<ErrorBody>(body) {
        if err.detail.is_some() || err.scim_type.is_some() {
            let detail = err
                .detail
                .or_else(|| err.scim_type.clone())
                .unwrap_or_default();
            return (err.scim_type, detail);
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return (None, "(empty body)".to_owned());
    }
    let mut end = text.len().min(RAW_DETAIL_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let ellipsis = if end < text.len() { "…" } else { "" };
    (None, format!("{}{ellipsis}", &text[..end]))
}

/// `/ServiceProviderConfig` (RFC 7643 §5), only the members Muster acts on. Each is optional:
/// a member a server leaves out falls back to the default for a server without the endpoint.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProviderConfig {
    #[serde(default)]
    pub patch: Option<Supported>,
    #[serde(default)]
    pub filter: Option<FilterSupport>,
    #[serde(default)]
    pub etag: Option<Supported>,
    #[serde(default)]
    pub bulk: Option<Supported>,
    #[serde(default)]
    pub change_password: Option<Supported>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Supported {
    #[serde(default)]
    pub supported: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterSupport {
    #[serde(default)]
    pub supported: bool,
    #[serde(default)]
    pub max_results: Option<u64>,
}

/// A PATCH body (RFC 7644 §3.5.2).
pub fn patch_body(operations: Vec<Value>) -> Value {
    json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": operations })
}

pub fn op_replace(path: &str, value: Value) -> Value {
    json!({ "op": "replace", "path": path, "value": value })
}

pub fn op_remove(path: &str) -> Value {
    json!({ "op": "remove", "path": path })
}

pub fn op_add(path: &str, value: Value) -> Value {
    json!({ "op": "add", "path": path, "value": value })
}

/// `id` of a resource.
pub fn resource_id(resource: &Value) -> Option<&str> {
    resource.get("id").and_then(Value::as_str)
}

/// `meta.version` of a resource (its ETag, when the server keeps one).
pub fn resource_version(resource: &Value) -> Option<&str> {
    resource
        .get("meta")
        .and_then(|m| m.get("version"))
        .and_then(Value::as_str)
}
