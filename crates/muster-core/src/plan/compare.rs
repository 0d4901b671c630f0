//! How the plan compares values: as text, where null, absent, `""` and `[]` are all "no
//! value", numbers and booleans compare by their JSON text, and a list compares as the set of
//! its items (targets do not promise to keep the order of aliases). Correlation and the
//! diff's field changes both compare this way.

use serde_json::Value;

/// A value as comparable text; `None` for no value. A list's items are sorted, deduplicated
/// and joined by U+001F (the unit separator).
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) => {
            let mut texts: Vec<String> = items.iter().filter_map(|i| text(Some(i))).collect();
            texts.sort();
            texts.dedup();
            Some(texts.join("\u{1f}"))
        }
        other => Some(other.to_string()),
    }
}

/// Whether two values are the same as [`text`] compares them.
pub(crate) fn same(a: Option<&Value>, b: Option<&Value>, case_insensitive: bool) -> bool {
    match (text(a), text(b)) {
        (None, None) => true,
        (Some(x), Some(y)) if case_insensitive => x.to_lowercase() == y.to_lowercase(),
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}
