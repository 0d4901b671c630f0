//! Zermelo's entities as they travel (zermelo.md §3–§5): user attributes and the bodies that
//! write them, classes (DepartmentOfBranch) as groups, placements, the `fields` query, and
//! values placed in a URL. Pure functions; the requests are made in [`super::client`].

use muster_core::connector::{Attributes, ObservedAccount, ObservedGroup};
use muster_core::{AccountRef, GroupRef};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Number, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The account reference and correlation key: the student number.
pub const CODE: &str = "code";
pub const FIRST_NAME: &str = "firstName";
pub const PREFIX: &str = "prefix";
pub const LAST_NAME: &str = "lastName";
pub const EMAIL: &str = "email";
pub const IS_STUDENT: &str = "isStudent";
/// Not an attribute: it is the account's `enabled` (inverted).
pub const ARCHIVED: &str = "archived";

/// The attributes Muster reads and writes, as mappings name them.
pub const ATTRIBUTES: [&str; 6] = [CODE, FIRST_NAME, PREFIX, LAST_NAME, EMAIL, IS_STUDENT];

/// Text attributes: sent as they are, `null` clears.
const TEXT: [&str; 4] = [FIRST_NAME, PREFIX, LAST_NAME, EMAIL];

/// The members a read of users asks for: the attributes and `archived`. Only these come
/// back, so no attribute Muster does not manage reaches the diff.
pub const USER_FIELDS: [&str; 7] = [
    CODE, FIRST_NAME, PREFIX, LAST_NAME, EMAIL, IS_STUDENT, ARCHIVED,
];

/// The members of a class Muster reads.
pub const DEPARTMENT_FIELDS: [&str; 3] = ["id", "code", "schoolInSchoolYearName"];

/// RFC 3986 unreserved characters stay; everything else is percent-encoded, so a code can
/// hold `/`, `?`, `#`, `%` or spaces without changing the request.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A value as one URL path segment or query value.
pub fn escape(value: &str) -> String {
    utf8_percent_encode(value, STRICT).to_string()
}

/// `fields=a,b,c` for these members (names are plain ASCII; each is escaped regardless).
pub fn fields_query(fields: &[&str]) -> String {
    let list: Vec<String> = fields.iter().map(|f| escape(f)).collect();
    format!("fields={}", list.join(","))
}

/// A boolean as Zermelo may send it: JSON, or the strings `"true"`/`"false"` in any case
/// (the public connector writes strings, zermelo.md §5).
pub fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// An id sent as a number or as a string of digits, as text.
pub fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) if n.is_u64() => Some(n.to_string()),
        Value::String(s)
            if !s.trim().is_empty() && s.trim().bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(s.trim().to_owned())
        }
        _ => None,
    }
}

/// What kind of JSON value this is, for messages that must not quote the value: a user's
/// members are personal data (names, e-mail), and error texts reach logs and the audit.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(s) if s.trim().is_empty() => "an empty string",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A user as Muster sees it: reference `code`, enabled unless `archived`, and the attributes
/// Muster manages (`isStudent` as a real boolean).
///
/// Errors name the member and the kind of value, never the user's JSON: it holds names and
/// e-mail addresses. The `code` (the account reference) is named once it is known.
pub fn to_account(user: &Value) -> Result<ObservedAccount, String> {
    let obj = user
        .as_object()
        .ok_or_else(|| format!("a user that is {}, not an object", kind_of(user)))?;
    let code = match obj.get(CODE) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        None => return Err("a user without a `code`".to_owned()),
        Some(other) => return Err(format!("a user whose `code` is {}", kind_of(other))),
    };
    let archived = match obj.get(ARCHIVED) {
        None | Some(Value::Null) => false,
        Some(v) => boolean(v).ok_or_else(|| {
            format!(
                "user {code}: `archived` is {}, not true or false",
                kind_of(v)
            )
        })?,
    };
    let mut attributes = Attributes::new();
    attributes.insert(CODE.to_owned(), Value::String(code.clone()));
    for key in TEXT {
        if let Some(v) = obj.get(key) {
            attributes.insert(key.to_owned(), v.clone());
        }
    }
    if let Some(v) = obj.get(IS_STUDENT).filter(|v| !v.is_null()) {
        let b = boolean(v).ok_or_else(|| {
            format!(
                "user {code}: `isStudent` is {}, not true or false",
                kind_of(v)
            )
        })?;
        attributes.insert(IS_STUDENT.to_owned(), Value::Bool(b));
    }
    Ok(ObservedAccount {
        reference: AccountRef::new(code),
        enabled: !archived,
        attributes,
    })
}

/// The name of a class as a group, `"<code> / <schoolInSchoolYearName>"`, both parts trimmed
/// (`h3a / Lyceum 2024-2025`): the engine builds the desired names in the same shape, so no
/// pattern matching on school names (zermelo.md §5's regex pitfall) is ever needed.
pub fn group_name(code: &str, school_in_school_year: &str) -> String {
    format!("{} / {}", code.trim(), school_in_school_year.trim())
}

/// A class (DepartmentOfBranch) as a group without members: reference = its `id`.
pub fn to_group(department: &Value) -> Result<ObservedGroup, String> {
    let id = department
        .get("id")
        .and_then(id_text)
        .ok_or_else(|| format!("a class without a numeric `id`: {department}"))?;
    let text = |key: &str| {
        department
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| format!("class {id} has no `{key}`: {department}"))
    };
    let name = group_name(text("code")?, text("schoolInSchoolYearName")?);
    Ok(ObservedGroup {
        reference: GroupRef::new(id),
        name,
        members: BTreeSet::new(),
        duplicates: Default::default(),
    })
}

/// The class id of a placement that belongs to `student`; `None` for a row of another student
/// (a server that ignored the `student` filter) or one without a class.
pub fn placement_class(placement: &Value, student: &str) -> Option<String> {
    let owner = placement.get("student").and_then(|s| match s {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    if owner.is_some_and(|o| o != student) {
        return None;
    }
    placement.get("departmentOfBranch").and_then(id_text)
}

/// The member of a Student that lists its placements (zermelo.md §3).
pub const STUDENT_IN_DEPARTMENTS: &str = "studentInDepartments";

/// The placements a student record lists in `studentInDepartments`: placement id → class id
/// (`departmentOfBranch`) when the entry tells it. Entries are ids (numbers or digit strings)
/// or objects with an `id`, since the shape is not documented. `null` is no placements.
///
/// Anything else is an `Err`: an entry that cannot be read could be the very placement being
/// looked for, so a partial list must not be trusted.
pub fn student_placements(student: &Value) -> Result<BTreeMap<String, Option<String>>, String> {
    let entries = match student.get(STUDENT_IN_DEPARTMENTS) {
        None => {
            return Err(format!(
                "the student record has no `{STUDENT_IN_DEPARTMENTS}`"
            ))
        }
        Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            return Err(format!(
                "`{STUDENT_IN_DEPARTMENTS}` is {}, not an array",
                kind_of(other)
            ))
        }
    };
    let mut held = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        let (id, class) = match entry {
            Value::Object(obj) => {
                let class = obj.get("departmentOfBranch").and_then(|c| match c {
                    Value::Object(o) => o.get("id").and_then(id_text),
                    other => id_text(other),
                });
                (obj.get("id").and_then(id_text), class)
            }
            other => (id_text(other), None),
        };
        let id = id.ok_or_else(|| {
            format!(
                "`{STUDENT_IN_DEPARTMENTS}` entry {index} is {} without a placement id",
                kind_of(entry)
            )
        })?;
        held.insert(id, class);
    }
    Ok(held)
}

/// A class id as the number the API expects; `None` when the reference is no id.
pub fn class_id(group: &GroupRef) -> Option<u64> {
    let s = group.as_str().trim();
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// The `POST studentsindepartments` body: one class id (never an array), the user code, and
/// the weight as a number (never `null`).
pub fn placement_body(class: u64, student: &str, weight: f64) -> Result<Value, String> {
    let weight = Number::from_f64(weight)
        .ok_or_else(|| format!("participation weight {weight} is not a number"))?;
    Ok(json!({
        "departmentOfBranch": class,
        "student": student,
        "participationWeight": weight,
    }))
}

/// The members written for `changes`: only those given, text as sent (`null` clears),
/// `isStudent` as a real boolean. `code` may be present only with the account's own value:
/// it is the reference and cannot be changed.
pub fn user_fields(code: &str, changes: &Attributes) -> Result<Map<String, Value>, String> {
    let mut body = Map::new();
    for (key, value) in changes {
        match key.as_str() {
            CODE => {
                if value.as_str() != Some(code) {
                    return Err(format!(
                        "`code` is the account reference and cannot be changed ({code} → {value})"
                    ));
                }
            }
            IS_STUDENT => {
                let b = boolean(value).ok_or_else(|| {
                    format!("`isStudent` must be true or false, not {}", kind_of(value))
                })?;
                body.insert(IS_STUDENT.to_owned(), Value::Bool(b));
            }
            k if TEXT.contains(&k) => match value {
                Value::Null | Value::String(_) => {
                    body.insert(k.to_owned(), value.clone());
                }
                other => return Err(format!("`{k}` must be text, not {}", kind_of(other))),
            },
            other => {
                return Err(format!(
                    "`{other}` is not a Zermelo user attribute (known: {})",
                    ATTRIBUTES.join(", ")
                ))
            }
        }
    }
    Ok(body)
}

/// The partial `PUT users/{code}` body: the changed members, `archived` when given, and
/// `code`, which every public client sends along.
pub fn put_body(code: &str, changes: &Attributes, archived: Option<bool>) -> Result<Value, String> {
    let mut body = user_fields(code, changes)?;
    if let Some(a) = archived {
        body.insert(ARCHIVED.to_owned(), Value::Bool(a));
    }
    body.insert(CODE.to_owned(), Value::String(code.to_owned()));
    Ok(Value::Object(body))
}

/// The `POST users` body and the new user's code: `code` required, empty values left out (a
/// new user has nothing to clear), `isStudent` true unless the attributes say otherwise, so
/// that Zermelo creates the student record with the user.
pub fn create_body(attributes: &Attributes) -> Result<(String, Value), String> {
    let code = match attributes.get(CODE) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(other) if !other.is_null() => {
            return Err(format!("`code` must be text, not {}", kind_of(other)))
        }
        _ => return Err("`code` is required to create a Zermelo user".to_owned()),
    };
    let set: Attributes = attributes
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut body = user_fields(&code, &set)?;
    body.entry(IS_STUDENT.to_owned())
        .or_insert(Value::Bool(true));
    body.insert(CODE.to_owned(), Value::String(code.clone()));
    Ok((code, Value::Object(body)))
}
