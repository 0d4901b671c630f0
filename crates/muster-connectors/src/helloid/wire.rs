//! HelloID's JSON as it travels (`targets/helloid.md` §1–§4): field names, the two page shapes,
//! error texts and how "not found" is told, and the product group references Muster makes up.
//! Pure: no I/O, so every rule here has a unit test.
//!
//! Keys are read ignoring case ([`field`]): HelloID spells the same id `userGUID` on a user and
//! `userGuid` on an assignment, and the public connector (PowerShell) never noticed.

use crate::http::Response;
use serde_json::{Map, Value};

/// `Content-Type` of every body Muster sends, and `Accept` of every request.
pub const JSON: &str = "application/json";

/// The text of an unknown user (helloid.md §4.1), the one signal the public connector reads.
pub const USER_NOT_FOUND: &str = "User not found";

/// The comment of a product request Muster sends.
pub const REQUEST_COMMENT: &str = "Requested by Muster";

/// Group references of products are `product:<productId>`, so that one namespace holds
/// groups (their `groupGuid`) and products apart.
pub const PRODUCT_PREFIX: &str = "product:";

/// Display names of products: `Product - <name>`, as the public connector lists them.
pub const PRODUCT_NAME_PREFIX: &str = "Product - ";

/// The id keys of the resources.
pub const USER_GUID: &str = "userGUID";
pub const GROUP_GUID: &str = "groupGuid";
pub const PRODUCT_ID: &str = "productId";

/// How much of an error body is quoted.
const DETAIL_LIMIT: usize = 500;

/// The value of `key` in `obj`, by exact key first and else ignoring case.
pub fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A non-empty string at `key` of `value` (any case), e.g. an id.
pub fn str_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .as_object()
        .and_then(|o| field(o, key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A boolean as HelloID sends it: JSON, or `"true"`/`"false"` in any case (helloid.md §4.2).
pub fn parse_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The items of one page: a bare array, an object with a `data` array, or a single object
/// counting as one item (helloid.md §1). No body, `null` or `"data": null` is an empty page.
pub fn page_items(body: Option<Value>) -> Result<Vec<Value>, String> {
    match body {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items),
        Some(Value::Object(mut obj)) => {
            let data_key = obj.keys().find(|k| k.eq_ignore_ascii_case("data")).cloned();
            match data_key.map(|k| obj.remove(&k)) {
                Some(Some(Value::Array(items))) => Ok(items),
                Some(Some(Value::Null)) => Ok(Vec::new()),
                Some(Some(other)) => Err(format!("`data` is {}, not a list", kind_of(&other))),
                _ => Ok(vec![Value::Object(obj)]),
            }
        }
        Some(other) => Err(format!("a page that is {}", kind_of(&other))),
    }
}

/// HelloID's error text: `resultMsg`, else `message` (the public connector's order), else the
/// trimmed body, shortened.
pub fn error_text(body: &[u8]) -> String {
    if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) {
        for key in ["resultMsg", "message"] {
            if let Some(text) = field(&obj, key).and_then(Value::as_str) {
                if !text.trim().is_empty() {
                    return shorten(text);
                }
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        return "(empty body)".to_owned();
    }
    shorten(&text)
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

/// Whether an error text is HelloID's `User not found` (ignoring case and a trailing dot).
pub fn says_user_not_found(detail: &str) -> bool {
    detail
        .trim()
        .trim_end_matches('.')
        .eq_ignore_ascii_case(USER_NOT_FOUND)
}

/// Whether an answer to a request about one user means "no such user": 404, or the
/// `User not found` text under any status (helloid.md §4.1, §6).
pub fn user_not_found(status: u16, detail: &str) -> bool {
    status == 404 || says_user_not_found(detail)
}

/// The shared HTTP layer's [`crate::http::FinalHint`]: a 5xx that says `User not found` is an
/// answer, not a failure to retry.
pub fn final_hint(resp: &Response) -> bool {
    says_user_not_found(&error_text(&resp.body))
}

/// The product id of a group reference `product:<id>`, or `None` for a group.
pub fn product_id(group: &str) -> Option<&str> {
    let head = group.get(..PRODUCT_PREFIX.len())?;
    head.eq_ignore_ascii_case(PRODUCT_PREFIX)
        .then(|| &group[PRODUCT_PREFIX.len()..])
        .filter(|id| !id.is_empty())
}

/// The group reference of a product.
pub fn product_ref(product_id: &str) -> String {
    format!("{PRODUCT_PREFIX}{product_id}")
}

/// The user GUIDs of a group read by `GET /groups/{guid}`: `users` as strings (or objects
/// with a `userGUID`); a missing or `null` list is an empty group.
pub fn group_members(group: &Value) -> Result<Vec<String>, String> {
    let users = group.as_object().and_then(|o| field(o, "users"));
    match users {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|m| match m {
                Value::String(s) if !s.is_empty() => Ok(s.clone()),
                Value::Object(_) => str_field(m, USER_GUID)
                    .map(str::to_owned)
                    .ok_or_else(|| "a member without `userGUID`".to_owned()),
                other => Err(format!("a member that is {}", kind_of(other))),
            })
            .collect(),
        Some(other) => Err(format!("`users` is {}, not a list", kind_of(other))),
    }
}

/// `(productGuid, userGuid)` of an assignment.
pub fn assignment(value: &Value) -> Option<(&str, &str)> {
    Some((
        str_field(value, "productGuid")?,
        str_field(value, "userGuid")?,
    ))
}

/// What kind of JSON value this is, for messages that must not quote personal data.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
