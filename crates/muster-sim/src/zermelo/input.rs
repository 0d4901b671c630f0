//! Reading requests: a user body into [`UserInput`], a class placement into [`PlacementInput`],
//! and the query string (`fields`, and `student` where it is allowed). Only shapes and types are
//! checked here; whether a code is free or a class exists is the store's business.
//!
//! Written from zermelo.md §3–§5 with raw JSON. Unknown members and query parameters are refused
//! with a 400 (the simulator's choice): Muster is meant to send only what the page describes, and
//! a stray member or filter should fail loudly here rather than be ignored.

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::Uri;
use serde_json::{Map, Value};

use super::error::ZermeloError;

/// Members of a user a client may write; `id` is the server's.
const USER_WRITABLE: [&str; 8] = [
    "code",
    "firstName",
    "prefix",
    "lastName",
    "email",
    "isStudent",
    "isEmployee",
    "archived",
];

/// Members of a placement body.
const PLACEMENT_WRITABLE: [&str; 3] = ["student", "departmentOfBranch", "participationWeight"];

/// One text member of a body: absent leaves the stored value alone, `null` empties it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Text {
    /// Not in the body.
    #[default]
    Absent,
    /// Sent, `null` read as the empty string.
    Set(String),
}

/// The members of a user body (POST or PUT).
#[derive(Debug, Clone, Default)]
pub struct UserInput {
    /// `None` when not sent.
    pub code: Option<String>,
    pub first_name: Text,
    pub prefix: Text,
    pub last_name: Text,
    pub email: Text,
    pub is_student: Option<bool>,
    pub is_employee: Option<bool>,
    pub archived: Option<bool>,
}

/// A `POST studentsindepartments` body.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacementInput {
    /// The student's user code.
    pub student: String,
    /// The id of the DepartmentOfBranch.
    pub department: u64,
    /// `None` when sent as `null`; 1.00 when left out (zermelo.md §5).
    pub weight: Option<f64>,
}

fn object<'a>(body: &'a Value, allowed: &[&str]) -> Result<&'a Map<String, Value>, ZermeloError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ZermeloError::bad("The body must be a JSON object"))?;
    if let Some(unknown) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ZermeloError::bad(format!("Unknown field: {unknown}"))
            .with_details(format!("writable fields: {}", allowed.join(", "))));
    }
    Ok(obj)
}

fn text(obj: &Map<String, Value>, member: &str) -> Result<Text, ZermeloError> {
    match obj.get(member) {
        None => Ok(Text::Absent),
        Some(Value::Null) => Ok(Text::Set(String::new())),
        Some(Value::String(s)) => Ok(Text::Set(s.clone())),
        Some(_) => Err(ZermeloError::invalid_value(member, "a string")),
    }
}

/// A boolean sent as JSON or as a string in any case: the public connector sends `"true"`
/// (zermelo.md §5).
pub fn boolean(value: &Value, member: &str) -> Result<bool, ZermeloError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ZermeloError::invalid_value(
            member,
            "true or false (JSON or string)",
        )),
    }
}

fn flag(obj: &Map<String, Value>, member: &str) -> Result<Option<bool>, ZermeloError> {
    obj.get(member).map(|v| boolean(v, member)).transpose()
}

/// Reads a user body.
pub fn user(body: &Value) -> Result<UserInput, ZermeloError> {
    let obj = object(body, &USER_WRITABLE)?;
    let code = match obj.get("code") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ZermeloError::invalid_value("code", "a string")),
    };
    Ok(UserInput {
        code,
        first_name: text(obj, "firstName")?,
        prefix: text(obj, "prefix")?,
        last_name: text(obj, "lastName")?,
        email: text(obj, "email")?,
        is_student: flag(obj, "isStudent")?,
        is_employee: flag(obj, "isEmployee")?,
        archived: flag(obj, "archived")?,
    })
}

/// An id sent as a JSON integer or as a string of digits.
fn id(value: &Value, member: &str) -> Result<u64, ZermeloError> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| ZermeloError::invalid_value(member, "one id"))
}

/// Reads a placement body. An array `departmentOfBranch`, which the public script sends when
/// several classes match (zermelo.md §5), is a 400.
pub fn placement(body: &Value) -> Result<PlacementInput, ZermeloError> {
    let obj = object(body, &PLACEMENT_WRITABLE)?;
    let student = match obj.get("student") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        None | Some(Value::Null) => return Err(ZermeloError::bad("student is required")),
        Some(_) => return Err(ZermeloError::invalid_value("student", "a user code")),
    };
    let department = match obj.get("departmentOfBranch") {
        None | Some(Value::Null) => {
            return Err(ZermeloError::bad("departmentOfBranch is required"))
        }
        Some(Value::Array(_)) => {
            return Err(ZermeloError::invalid_value("departmentOfBranch", "one id")
                .with_details("departmentOfBranch must be one id, not an array"))
        }
        Some(v) => id(v, "departmentOfBranch")?,
    };
    let weight = match obj.get("participationWeight") {
        None => Some(1.0),
        Some(Value::Null) => None,
        Some(v) => Some(decimal(v)?),
    };
    Ok(PlacementInput {
        student,
        department,
        weight,
    })
}

/// A participation weight: a JSON number or a decimal string, finite and not negative.
fn decimal(value: &Value) -> Result<f64, ZermeloError> {
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|w| w.is_finite() && *w >= 0.0)
        .ok_or_else(|| ZermeloError::invalid_value("participationWeight", "a decimal >= 0"))
}

/// The query string by name, refusing parameters other than `allowed`.
pub fn query(uri: &Uri, allowed: &[&str]) -> Result<HashMap<String, String>, ZermeloError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| ZermeloError::bad("Invalid query string").with_details(e.to_string()))?;
    let mut out = HashMap::new();
    for (k, v) in pairs {
        if !allowed.contains(&k.as_str()) {
            return Err(ZermeloError::bad(format!("Unknown query parameter: {k}")));
        }
        out.insert(k, v);
    }
    Ok(out)
}

/// The `fields` parameter as a list, checked against the entity's `known` members; `None`
/// (all members) when absent or empty.
pub fn fields(raw: Option<&String>, known: &[&str]) -> Result<Option<Vec<String>>, ZermeloError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let list: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(unknown) = list.iter().find(|f| !known.contains(&f.as_str())) {
        return Err(ZermeloError::bad(format!("Unknown field: {unknown}"))
            .with_details(format!("known fields: {}", known.join(", "))));
    }
    Ok((!list.is_empty()).then_some(list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_are_json_or_strings_in_any_case() {
        for (v, want) in [
            (json!(true), true),
            (json!("TRUE"), true),
            (json!("false"), false),
            (json!("False"), false),
        ] {
            assert_eq!(boolean(&v, "x").ok(), Some(want), "{v}");
        }
        for v in [json!(1), json!("yes"), json!(null)] {
            assert!(boolean(&v, "x").is_err(), "{v}");
        }
    }

    #[test]
    fn placements_take_one_id_and_a_weight() {
        let p = placement(&json!({ "student": "1", "departmentOfBranch": "7" })).ok();
        assert_eq!(p.map(|p| (p.department, p.weight)), Some((7, Some(1.0))));
        let p = placement(&json!({ "student": 1, "departmentOfBranch": 7,
                                   "participationWeight": null }))
        .ok();
        assert_eq!(p.map(|p| p.weight), Some(None));
        let arr = placement(&json!({ "student": "1", "departmentOfBranch": [7, 8] }));
        assert_eq!(arr.map_err(|e| e.status.as_u16()).err(), Some(400));
    }

    #[test]
    fn fields_must_be_known() {
        let known = ["a", "b"];
        assert_eq!(fields(None, &known).ok(), Some(None));
        assert_eq!(fields(Some(&" ,".into()), &known).ok(), Some(None));
        assert_eq!(
            fields(Some(&"b, a".into()), &known).ok(),
            Some(Some(vec!["b".to_string(), "a".to_string()]))
        );
        assert!(fields(Some(&"a,c".into()), &known).is_err());
    }
}
