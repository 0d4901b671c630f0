//! Axum's JSON, query and path extractors with this API's error body, and the checks on ids
//! taken from a path.

use super::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts};

/// A JSON body; malformed JSON, unknown fields and wrong types answer 400.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

/// Query parameters; unknown ones and wrong types answer 400.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// A run id as the store hands them out (lowercase UUID), or a prefix of one.
pub fn run_id(id: &str) -> Result<&str, ApiError> {
    let ok = (muster_store::MIN_RUN_PREFIX..=36).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if ok {
        Ok(id)
    } else {
        Err(ApiError::bad_request(format!(
            "`{}` is not a run id: expected {}-36 characters of 0-9, a-f and -",
            printable(id),
            muster_store::MIN_RUN_PREFIX
        )))
    }
}

/// A target name: letters, digits, `-`, `_` (as configured).
pub fn target_name(name: &str) -> Result<&str, ApiError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(name)
    } else {
        Err(ApiError::bad_request(format!(
            "`{}` is not a target name: expected 1-64 letters, digits, - or _",
            printable(name)
        )))
    }
}

/// A person's external id: 1-256 characters, no control characters, no `/` or `\`, not `.`
/// or `..` (an id is never a path).
pub fn external_id(id: &str) -> Result<&str, ApiError> {
    let ok = (1..=256).contains(&id.chars().count())
        && !id.chars().any(|c| c.is_control() || c == '/' || c == '\\')
        && id != "."
        && id != "..";
    if ok {
        Ok(id)
    } else {
        Err(ApiError::bad_request(format!(
            "`{}` is not an external id: expected 1-256 characters without control characters, / or \\",
            printable(id)
        )))
    }
}

/// At most 80 characters of `s`, control characters escaped, for an error message.
fn printable(s: &str) -> String {
    s.chars().take(80).flat_map(char::escape_debug).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_ids_are_checked() {
        assert!(run_id("0f1e2d3c-aaaa-4bbb-8ccc-123456789abc").is_ok());
        assert!(run_id("0f1e2d").is_ok());
        for bad in [
            "0f1e2",
            "../etc",
            "0f1e2d3c-aaaa-4bbb-8ccc-123456789abcd",
            "0f1e2g",
        ] {
            assert!(run_id(bad).is_err(), "{bad}");
        }
        assert!(target_name("zivver_prod-2").is_ok());
        assert!(target_name("../x").is_err() && target_name("").is_err());
        assert!(external_id("E-1001 ü").is_ok());
        for bad in ["..", ".", "a/b", "a\\b", "a\nb", ""] {
            assert!(external_id(bad).is_err(), "{bad:?}");
        }
    }
}
