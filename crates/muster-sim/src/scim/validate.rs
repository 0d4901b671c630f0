//! Checks that turn request JSON into stored attributes, following the schema table: canonical
//! attribute names (they are case-insensitive on the wire), value types, read-only attributes
//! dropped, required ones present, and `schemas` listing what the body uses.
//!
//! Used by POST, PUT, PATCH values and seeding; what the attributes mean is left to `store`.

use serde_json::{Map, Value};

use super::error::{ScimError, ScimType};
use super::schema::{find_attr, AttrDef, Kind, Mutability, SchemaDef, Ty};

/// Turns a POST/PUT body into stored attributes: canonical names, checked types, read-only
/// attributes dropped (RFC 7644 §3.5.1 says to ignore them), required ones present. `id`,
/// `meta` and `schemas` are not part of the result. With `check_schemas`, `schemas` must list
/// the core schema and every extension whose attributes are present.
pub fn normalize(
    kind: Kind,
    input: &Value,
    check_schemas: bool,
) -> Result<Map<String, Value>, ScimError> {
    let Some(obj) = input.as_object() else {
        return Err(ScimError::bad(
            ScimType::InvalidSyntax,
            "the body must be a JSON object",
        ));
    };
    let mut out = Map::new();
    let mut listed: Option<Vec<&str>> = None;
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            listed = Some(schema_list(value)?);
        } else if let Some(ext) = kind.extension(key) {
            if let Some(v) = normalize_extension(ext, value)? {
                out.insert(ext.id.to_string(), v);
            }
        } else if let Some(def) = find_attr(kind, None, key) {
            if def.mutability == Mutability::ReadOnly {
                continue;
            }
            if let Some(v) = normalize_value(def, value)? {
                out.insert(def.name.to_string(), v);
            }
        } else {
            return Err(ScimError::bad(
                ScimType::InvalidSyntax,
                format!("unknown attribute '{key}' for a {}", kind.name()),
            ));
        }
    }
    if check_schemas {
        check_schema_list(kind, listed.as_deref(), &out)?;
    }
    for def in kind.core().attrs.iter().filter(|d| d.required) {
        if !out.contains_key(def.name) {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                format!("'{}' is required", def.name),
            ));
        }
    }
    Ok(out)
}

fn schema_list(value: &Value) -> Result<Vec<&str>, ScimError> {
    let bad = || {
        ScimError::bad(
            ScimType::InvalidSyntax,
            "'schemas' must be an array of URNs",
        )
    };
    value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|v| v.as_str().ok_or_else(bad))
        .collect()
}

fn check_schema_list(
    kind: Kind,
    listed: Option<&[&str]>,
    attrs: &Map<String, Value>,
) -> Result<(), ScimError> {
    let core = kind.core().id;
    let Some(listed) = listed else {
        return Err(ScimError::bad(
            ScimType::InvalidSyntax,
            format!("'schemas' is required and must list {core}"),
        ));
    };
    if !listed.iter().any(|s| s.eq_ignore_ascii_case(core)) {
        return Err(ScimError::bad(
            ScimType::InvalidSyntax,
            format!("'schemas' must list {core}"),
        ));
    }
    if let Some(unknown) = listed
        .iter()
        .find(|s| !s.eq_ignore_ascii_case(core) && kind.extension(s).is_none())
    {
        return Err(ScimError::bad(
            ScimType::InvalidSyntax,
            format!("unknown schema '{unknown}'"),
        ));
    }
    for ext in kind.extensions() {
        if attrs.contains_key(ext.id) && !listed.iter().any(|s| s.eq_ignore_ascii_case(ext.id)) {
            return Err(ScimError::bad(
                ScimType::InvalidSyntax,
                format!(
                    "extension attributes are present but 'schemas' does not list {}",
                    ext.id
                ),
            ));
        }
    }
    Ok(())
}

/// Normalizes an extension object; `None` when it holds nothing.
pub fn normalize_extension(ext: &SchemaDef, value: &Value) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    let Some(obj) = value.as_object() else {
        return Err(ScimError::bad(
            ScimType::InvalidValue,
            format!("'{}' must be an object", ext.id),
        ));
    };
    let mut out = Map::new();
    for (key, v) in obj {
        let Some(def) = ext.attr(key) else {
            return Err(ScimError::bad(
                ScimType::InvalidSyntax,
                format!("unknown attribute '{key}' in {}", ext.id),
            ));
        };
        if def.mutability == Mutability::ReadOnly {
            continue;
        }
        if let Some(v) = normalize_value(def, v)? {
            out.insert(def.name.to_string(), v);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

/// Checks and canonicalizes one attribute's value; `None` for null or empty (unassigned).
pub fn normalize_value(def: &AttrDef, value: &Value) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    if !def.multi {
        return normalize_single(def, value);
    }
    let Some(items) = value.as_array() else {
        return Err(ScimError::bad(
            ScimType::InvalidValue,
            format!("'{}' must be an array", def.name),
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    // Repeated members are the store's to collapse (or keep: `duplicate_member_adds`).
    let keep_repeats = def.name == "members";
    for item in items {
        if let Some(v) = normalize_single(def, item)? {
            if keep_repeats || !out.contains(&v) {
                out.push(v);
            }
        }
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// Checks one (non-array) value of `def`.
pub fn normalize_single(def: &AttrDef, value: &Value) -> Result<Option<Value>, ScimError> {
    let wrong = |what: &str| {
        ScimError::bad(
            ScimType::InvalidValue,
            format!("'{}' must be {what}", def.name),
        )
    };
    match def.ty {
        _ if value.is_null() => Ok(None),
        Ty::Complex => {
            let obj = value.as_object().ok_or_else(|| wrong("an object"))?;
            let mut out = Map::new();
            for (key, v) in obj {
                let Some(sub) = def.sub_attr(key) else {
                    return Err(ScimError::bad(
                        ScimType::InvalidSyntax,
                        format!("unknown sub-attribute '{key}' of '{}'", def.name),
                    ));
                };
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(v) = normalize_value(sub, v)? {
                    out.insert(sub.name.to_string(), v);
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        Ty::Boolean => value
            .as_bool()
            .map(|_| Some(value.clone()))
            .ok_or_else(|| wrong("a boolean")),
        Ty::Integer => value
            .as_i64()
            .map(|_| Some(value.clone()))
            .ok_or_else(|| wrong("an integer")),
        Ty::Decimal => value
            .as_f64()
            .map(|_| Some(value.clone()))
            .ok_or_else(|| wrong("a number")),
        Ty::DateTime => {
            let s = value.as_str().ok_or_else(|| wrong("a dateTime string"))?;
            chrono::DateTime::parse_from_rfc3339(s).map_err(|_| wrong("an RFC 3339 dateTime"))?;
            Ok(Some(value.clone()))
        }
        Ty::String | Ty::Binary | Ty::Reference => value
            .as_str()
            .map(|_| Some(value.clone()))
            .ok_or_else(|| wrong("a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    #[test]
    fn names_are_canonicalized_and_read_only_attributes_dropped() {
        let body = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "USERNAME": "ann", "Name": { "GIVENNAME": "Ann" }, "groups": [{ "value": "g" }],
            "id": "x",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": { "Department": "Sales" },
        });
        let out = normalize(Kind::User, &body, true).unwrap();
        assert_eq!(out["userName"], "ann");
        assert_eq!(out["name"]["givenName"], "Ann");
        assert_eq!(out[ENTERPRISE_SCHEMA]["department"], "Sales");
        assert!(!out.contains_key("groups") && !out.contains_key("id"));
    }

    #[test]
    fn wrong_types_unknown_attributes_and_missing_required_are_refused() {
        let t = |b: Value| normalize(Kind::User, &b, true).unwrap_err().scim_type;
        assert_eq!(
            t(json!({"schemas": [USER_SCHEMA], "userName": "a", "active": "true"})),
            Some(ScimType::InvalidValue)
        );
        assert_eq!(
            t(json!({"schemas": [USER_SCHEMA], "userName": "a", "shoeSize": 4})),
            Some(ScimType::InvalidSyntax)
        );
        assert_eq!(
            t(json!({"schemas": [USER_SCHEMA], "displayName": "A"})),
            Some(ScimType::InvalidValue)
        );
        assert_eq!(t(json!({"userName": "a"})), Some(ScimType::InvalidSyntax));
    }
}
