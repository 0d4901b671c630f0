//! A field's `Type` in a `fieldMapping.json`, and what a value of that type may be.

use serde_json::Value;
use std::fmt;

/// The `Type` of a mapped field. A script's result is checked against it: a script that
/// returns an object for a `Text` field blocks that person instead of sending `[object Object]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldType {
    /// A string. Numbers and booleans are turned into their text (as JavaScript's `String()`).
    #[default]
    Text,
    Number,
    Boolean,
    /// A list (e-mail aliases, proxy addresses).
    Array,
    /// A nested object, sent as it is.
    Object,
}

impl FieldType {
    pub const ALL: [(&'static str, FieldType); 5] = [
        ("Text", FieldType::Text),
        ("Number", FieldType::Number),
        ("Boolean", FieldType::Boolean),
        ("Array", FieldType::Array),
        ("Object", FieldType::Object),
    ];

    /// Parses a `Type` as HelloID writes it (`Text`), ignoring case.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, t)| *t)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("?", |(n, _)| n)
    }

    /// What a value of this type is, for messages: "a string".
    pub fn expected(self) -> &'static str {
        match self {
            FieldType::Text => "a string",
            FieldType::Number => "a number",
            FieldType::Boolean => "a boolean",
            FieldType::Array => "an array",
            FieldType::Object => "an object",
        }
    }

    /// Converts a text value (a person field, a fixed value) to this type.
    pub fn from_text(self, text: &str) -> Result<Value, String> {
        let fail = || format!("`{text}` is not {} (Type {})", self.expected(), self.name());
        match self {
            FieldType::Text => Ok(Value::String(text.to_owned())),
            FieldType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(fail()),
            },
            FieldType::Number => {
                let t = text.trim();
                if let Ok(i) = t.parse::<i64>() {
                    return Ok(Value::from(i));
                }
                t.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(fail)
            }
            FieldType::Array | FieldType::Object => match serde_json::from_str::<Value>(text) {
                Ok(v @ Value::Array(_)) if self == FieldType::Array => Ok(v),
                Ok(v @ Value::Object(_)) if self == FieldType::Object => Ok(v),
                _ => Err(fail()),
            },
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What kind of value a JSON value is, for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_converts_to_each_type_or_says_why_not() {
        assert_eq!(FieldType::Boolean.from_text("True").unwrap(), true);
        assert_eq!(FieldType::Number.from_text("42").unwrap(), 42);
        assert_eq!(FieldType::Number.from_text("0.5").unwrap(), 0.5);
        assert_eq!(FieldType::Text.from_text("x").unwrap(), "x");
        assert_eq!(
            FieldType::Array.from_text(r#"["a","b"]"#).unwrap(),
            serde_json::json!(["a", "b"])
        );
        let e = FieldType::Boolean.from_text("yes").unwrap_err();
        assert!(e.contains("not a boolean"), "{e}");
        assert!(FieldType::Object.from_text("[]").is_err());
        assert_eq!(FieldType::parse("text"), Some(FieldType::Text));
        assert_eq!(FieldType::parse("Date"), None);
    }
}
