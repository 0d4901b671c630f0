//! Zivver's JSON as it travels (`targets/zivver.md` §2–§4): schema URNs and attribute paths,
//! list answers, PatchOp bodies for member lists, the 429 body, and how Zivver's plain-text
//! error bodies are told apart. Users themselves stay `serde_json::Value` (see
//! [`super::user`]), so that attributes Muster does not manage travel back unchanged.

use crate::http::{Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

pub const CORE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const ZIVVER_SCHEMA: &str = "urn:ietf:params:scim:schemas:zivver:0.1:User";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The three schemas of every user Muster sends.
pub const USER_SCHEMAS: [&str; 3] = [CORE_USER_SCHEMA, ENTERPRISE_SCHEMA, ZIVVER_SCHEMA];

/// Attribute paths, as mappings write them and as [`super::user::to_account`] reports them.
pub const USER_NAME: &str = "userName";
pub const DIVISION: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division";
pub const ALIASES: &str = "urn:ietf:params:scim:schemas:zivver:0.1:User:aliases";
pub const DELEGATES: &str = "urn:ietf:params:scim:schemas:zivver:0.1:User:delegates";
/// Write-only: accepted on POST and PUT, never returned.
pub const SSO_ACCOUNT_KEY: &str = "urn:ietf:params:scim:schemas:zivver:0.1:User:SsoAccountKey";

/// The division Zivver returns for "no division".
pub const ROOT_DIVISION: &str = "/";

/// `Content-Type` of user bodies (POST, PUT), as the public clients send them.
pub const CONTENT_TYPE_JSON: &str = "application/json";
/// `Content-Type` of PatchOp bodies on groups.
pub const CONTENT_TYPE_PATCH: &str = "application/scim+json";
/// `Accept` of every request.
pub const ACCEPT: &str = "application/json, application/scim+json";

/// Wait after a 429 that names no window (zivver.md §4.4).
pub const DEFAULT_THROTTLE_WAIT: Duration = Duration::from_secs(10);

/// A list answer. Clients read only `Resources` (capital R); an answer without it is not a
/// list unless it says it holds nothing.
#[derive(Debug, Deserialize)]
pub struct ListResponse {
    #[serde(default, rename = "totalResults")]
    pub total_results: Option<u64>,
    #[serde(default, rename = "Resources")]
    pub resources: Option<Vec<Value>>,
}

/// The body of Zivver's 429 (zivver.md §4.4); only what decides the wait.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TooManyRequests {
    emptied_bucket_details: Option<BucketDetails>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BucketDetails {
    window_seconds: Option<f64>,
}

/// The wait a 429 body asks for: `emptiedBucketDetails.windowSeconds`, else 10 s. `None` for
/// any other status (a 503 keeps the shared layer's backoff). A `Retry-After` header, when
/// present, is read before this by the shared layer.
pub fn throttle_wait(status: StatusCode, body: &[u8]) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let window = serde_json::from_slice::<TooManyRequests>(body)
        .ok()
        .and_then(|b| b.emptied_bucket_details)
        .and_then(|d| d.window_seconds)
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
        .map(Duration::from_secs_f64);
    Some(window.unwrap_or(DEFAULT_THROTTLE_WAIT))
}

/// [`throttle_wait`] as the shared HTTP layer's hook.
pub fn throttle_hint(resp: &Response) -> Option<Duration> {
    throttle_wait(resp.status, &resp.body)
}

/// How much of an error body is quoted.
const DETAIL_LIMIT: usize = 500;

/// Zivver's error text: the plain-text body, trimmed and shortened; a JSON body's `detail` or
/// `message` when it sends one.
pub fn error_text(body: &[u8]) -> String {
    if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) {
        for key in ["detail", "message", "error"] {
            if let Some(text) = obj.get(key).and_then(Value::as_str) {
                return shorten(text);
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    shorten(text)
}

fn shorten(text: &str) -> String {
    let text = text.trim();
    let mut end = text.len().min(DETAIL_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let ellipsis = if end < text.len() { "…" } else { "" };
    format!("{}{ellipsis}", &text[..end])
}

/// The id an `Unknown account with uuid: {id}` text names (zivver.md §4.2), if it is one.
pub fn unknown_account(text: &str) -> Option<&str> {
    const PREFIX: &str = "unknown account with uuid:";
    let head = text.get(..PREFIX.len())?;
    head.eq_ignore_ascii_case(PREFIX)
        .then(|| text[PREFIX.len()..].trim())
}

/// Whether a refused create says the `userName` exists. Zivver's status and text for it are
/// not documented; alias refusals ("Alias is already taken") are not duplicates of the user.
pub fn is_duplicate_user(status: u16, text: &str) -> bool {
    if status == 409 {
        return true;
    }
    let lower = text.to_lowercase();
    status == 400
        && !lower.contains("alias")
        && (lower.contains("already exists")
            || lower.contains("duplicate")
            || lower.contains("already in use"))
}

/// A PatchOp body.
pub fn patch_body(operations: Vec<Value>) -> Value {
    json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": operations })
}

/// `replace` of the whole member list; `value` is always an array of `{"value": id}`.
pub fn replace_members<'a>(ids: impl IntoIterator<Item = &'a str>) -> Value {
    let members: Vec<Value> = ids.into_iter().map(|id| json!({ "value": id })).collect();
    patch_body(vec![
        json!({ "op": "replace", "path": "members", "value": members }),
    ])
}

/// `remove` on `members` without a filter: clears the list.
pub fn remove_all_members() -> Value {
    patch_body(vec![json!({ "op": "remove", "path": "members" })])
}

/// `add` of one member (add-remove mode only).
pub fn add_member(id: &str) -> Value {
    patch_body(vec![
        json!({ "op": "add", "path": "members", "value": [{ "value": id }] }),
    ])
}

/// Filtered `remove` of one member (add-remove mode only); the id is SCIM-quoted.
pub fn remove_member(id: &str) -> Value {
    let path = format!("members[value eq {}]", crate::scim::filter::quote(id));
    patch_body(vec![json!({ "op": "remove", "path": path })])
}

/// `id` of a resource.
pub fn resource_id(resource: &Value) -> Option<&str> {
    resource.get("id").and_then(Value::as_str)
}

/// The member ids of a group, in order; `None` when the group has no `members` list (the
/// list then has to be read from `Groups/{id}`).
pub fn member_ids(group: &Value) -> Option<Result<Vec<&str>, String>> {
    let members = group.get("members").filter(|m| !m.is_null())?;
    let Value::Array(items) = members else {
        return Some(Err(format!("`members` is {members}, not a list")));
    };
    Some(
        items
            .iter()
            .map(|m| {
                m.get("value")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("a member without a string `value`: {m}"))
            })
            .collect(),
    )
}
