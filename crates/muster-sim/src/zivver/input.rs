//! Reading requests: a user body into [`UserInput`], the one filter Zivver is known to take, and
//! a PatchOp body into [`MemberOp`]s. Only shapes and types are checked here; whether a division
//! exists or an alias is free is the directory's business (`store`).
//!
//! Written from zivver.md §2 and §4 with raw JSON, never with a connector's wire types.

use serde_json::{Map, Value};

use super::error::ZivverError;

/// Schema URN of the enterprise extension, which holds `division`.
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Schema URN of the Zivver extension, which holds `aliases`, `delegates` and `SsoAccountKey`.
pub const ZIVVER: &str = "urn:ietf:params:scim:schemas:zivver:0.1:User";
/// Schema URN of the Zivver group extension, which holds a functional account's `aliases`.
pub const ZIVVER_GROUP: &str = "urn:ietf:params:scim:schemas:zivver:0.1:Group";
/// Schema URN of the core user.
pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Schema URN a PATCH body must list.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// One attribute of a request body. PUT needs all three states: absent leaves the stored value
/// alone, `null` clears it, a value sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Field<T> {
    /// Not in the body.
    #[default]
    Absent,
    /// Sent as `null` (or, where Zivver means "none" by it, as an empty string).
    Null,
    /// Sent with a value.
    Set(T),
}

/// The attributes of a user body that Zivver stores; everything else is ignored, as are `id`,
/// `meta` and `schemas`.
#[derive(Debug, Clone, Default)]
pub struct UserInput {
    pub user_name: Field<String>,
    pub formatted: Field<String>,
    pub nick_name: Field<String>,
    /// Never `Null`: a `null` `active` is refused while reading.
    pub active: Field<bool>,
    pub phone_numbers: Field<Vec<Value>>,
    /// An empty string reads as `Null`, which stores `"/"`.
    pub division: Field<String>,
    pub aliases: Field<Vec<String>>,
    pub delegates: Field<Vec<String>>,
    /// An empty string reads as `Null`: no key.
    pub sso_account_key: Field<String>,
}

fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Field<&'a Value> {
    match obj.get(key) {
        None => Field::Absent,
        Some(Value::Null) => Field::Null,
        Some(v) => Field::Set(v),
    }
}

fn string(f: Field<&Value>, attribute: &str) -> Result<Field<String>, ZivverError> {
    match f {
        Field::Absent => Ok(Field::Absent),
        Field::Null => Ok(Field::Null),
        Field::Set(Value::String(s)) => Ok(Field::Set(s.clone())),
        Field::Set(_) => Err(ZivverError::invalid_value(attribute)),
    }
}

/// A string where `""` means "none".
fn optional_string(f: Field<&Value>, attribute: &str) -> Result<Field<String>, ZivverError> {
    Ok(match string(f, attribute)? {
        Field::Set(s) if s.is_empty() => Field::Null,
        other => other,
    })
}

fn strings(f: Field<&Value>, attribute: &str) -> Result<Field<Vec<String>>, ZivverError> {
    match f {
        Field::Absent => Ok(Field::Absent),
        Field::Null => Ok(Field::Null),
        Field::Set(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ZivverError::invalid_value(attribute))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Field::Set),
        Field::Set(_) => Err(ZivverError::invalid_value(attribute)),
    }
}

/// `active` as a boolean or as `"true"`/`"false"` in any case (zivver.md §4.5); anything else,
/// `null` included, is refused.
fn active(f: Field<&Value>) -> Result<Field<bool>, ZivverError> {
    match f {
        Field::Absent => Ok(Field::Absent),
        Field::Set(Value::Bool(b)) => Ok(Field::Set(*b)),
        Field::Set(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Field::Set(true)),
        Field::Set(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Field::Set(false)),
        Field::Null | Field::Set(_) => Err(ZivverError::invalid_value("active")),
    }
}

/// An extension or complex attribute: absent, `null`, or an object whose keys are read one by one.
fn object<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
) -> Result<Field<&'a Map<String, Value>>, ZivverError> {
    match field(obj, key) {
        Field::Absent => Ok(Field::Absent),
        Field::Null => Ok(Field::Null),
        Field::Set(Value::Object(o)) => Ok(Field::Set(o)),
        Field::Set(_) => Err(ZivverError::invalid_value(key)),
    }
}

/// Reads the sub-attribute `key` of a complex attribute; a `null` parent nulls it.
fn sub<'a>(parent: Field<&'a Map<String, Value>>, key: &str) -> Field<&'a Value> {
    match parent {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Set(o) => field(o, key),
    }
}

/// Reads a POST or PUT body.
pub fn user(body: &Value) -> Result<UserInput, ZivverError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ZivverError::bad("Invalid request body"))?;
    let name = object(obj, "name")?;
    let enterprise = object(obj, ENTERPRISE)?;
    let zivver = object(obj, ZIVVER)?;
    let phone_numbers = match field(obj, "phoneNumbers") {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Set(Value::Array(items)) => Field::Set(items.clone()),
        Field::Set(_) => return Err(ZivverError::invalid_value("phoneNumbers")),
    };
    Ok(UserInput {
        user_name: string(field(obj, "userName"), "userName")?,
        formatted: string(sub(name, "formatted"), "name.formatted")?,
        nick_name: string(field(obj, "nickName"), "nickName")?,
        active: active(field(obj, "active"))?,
        phone_numbers,
        division: optional_string(sub(enterprise, "division"), "division")?,
        aliases: strings(sub(zivver, "aliases"), "aliases")?,
        delegates: strings(sub(zivver, "delegates"), "delegates")?,
        sso_account_key: optional_string(sub(zivver, "SsoAccountKey"), "SsoAccountKey")?,
    })
}

/// The attributes of a functional-account body (`POST` or `PUT Groups`) that Zivver stores
/// (exchange-online.md §3); everything else is ignored. `members` holds user ids.
#[derive(Debug, Clone, Default)]
pub struct GroupInput {
    pub external_id: Field<String>,
    pub display_name: Field<String>,
    pub members: Field<Vec<String>>,
    pub aliases: Field<Vec<String>>,
}

/// Reads a `POST` or `PUT Groups` body.
pub fn group(body: &Value) -> Result<GroupInput, ZivverError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ZivverError::bad("Invalid request body"))?;
    let zivver = object(obj, ZIVVER_GROUP)?;
    let members = match field(obj, "members") {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Set(v) => Field::Set(member_ids(Some(v))?),
    };
    Ok(GroupInput {
        external_id: string(field(obj, "externalId"), "externalId")?,
        display_name: string(field(obj, "displayName"), "displayName")?,
        members,
        aliases: strings(sub(zivver, "aliases"), "aliases")?,
    })
}

/// Parses `{attribute} eq "{value}"`: attribute and operator in any case, the value in double
/// quotes with `\"` and `\\` escapes, blanks around. Returns the unescaped value.
fn eq_expression(text: &str, attribute: &str) -> Option<String> {
    let text = text.trim();
    let attr_len = text.find(|c: char| c.is_whitespace()).unwrap_or(text.len());
    let (attr, rest) = text.split_at(attr_len);
    if !attr.eq_ignore_ascii_case(attribute) {
        return None;
    }
    let rest = rest.trim_start();
    let op = rest.get(..2)?;
    let rest = rest.get(2..)?;
    if !op.eq_ignore_ascii_case("eq") || !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let mut chars = rest.trim_start().chars();
    if chars.next()? != '"' {
        return None;
    }
    let mut value = String::new();
    loop {
        match chars.next()? {
            '"' => break,
            '\\' => match chars.next()? {
                c @ ('"' | '\\') => value.push(c),
                _ => return None,
            },
            c => value.push(c),
        }
    }
    chars.as_str().trim().is_empty().then_some(value)
}

/// The only filter Zivver is known to take: `userName eq "…"` (zivver.md §3). Anything else is
/// refused with 400 (simulator text).
pub fn user_name_filter(text: &str) -> Result<String, ZivverError> {
    eq_expression(text, "userName")
        .ok_or_else(|| ZivverError::bad(format!("Unsupported filter: {text}")))
}

/// A change to a group's member list, as read from one PatchOp operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberOp {
    /// `replace` on `members`: the whole list becomes these ids.
    Replace(Vec<String>),
    /// `remove` on `members`, no filter, no value: the list is cleared.
    RemoveAll,
    /// `add` on `members`; only with `membership_add_remove`.
    Add(Vec<String>),
    /// `remove` on `members[value eq "…"]`, or on `members` with a value list; only with
    /// `membership_add_remove`.
    Remove(Vec<String>),
}

impl MemberOp {
    /// Whether Zivver is known to accept this form; the others need `membership_add_remove`.
    pub fn is_known_to_work(&self) -> bool {
        matches!(self, Self::Replace(_) | Self::RemoveAll)
    }
}

/// Member ids from a `value` array: objects whose `value` is a string; other keys (`display`)
/// are ignored, as only `value` identifies a member (zivver.md §2).
fn member_ids(value: Option<&Value>) -> Result<Vec<String>, ZivverError> {
    let items = value
        .and_then(Value::as_array)
        .ok_or_else(|| ZivverError::invalid_value("members"))?;
    items
        .iter()
        .map(|item| {
            item.get("value")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| ZivverError::invalid_value("members"))
        })
        .collect()
}

fn member_op(op: &Value) -> Result<MemberOp, ZivverError> {
    let kind = op
        .get("op")
        .and_then(Value::as_str)
        .ok_or_else(|| ZivverError::bad("Invalid patch operation"))?
        .to_ascii_lowercase();
    let path = op.get("path").and_then(Value::as_str).map(str::trim);
    let value = op.get("value").filter(|v| !v.is_null());
    // `members[value eq "…"]`, the filtered form.
    let filtered = path.and_then(|p| {
        p.get(..8).filter(|h| h.eq_ignore_ascii_case("members["))?;
        eq_expression(p.get(8..)?.strip_suffix(']')?, "value")
    });
    let whole = path.is_some_and(|p| p.eq_ignore_ascii_case("members"));
    match (kind.as_str(), whole, filtered) {
        ("replace", true, _) => Ok(MemberOp::Replace(member_ids(value)?)),
        ("add", true, _) => Ok(MemberOp::Add(member_ids(value)?)),
        ("remove", true, _) if value.is_none() => Ok(MemberOp::RemoveAll),
        ("remove", true, _) => Ok(MemberOp::Remove(member_ids(value)?)),
        ("remove", false, Some(id)) if value.is_none() => Ok(MemberOp::Remove(vec![id])),
        _ => Err(ZivverError::unsupported_patch()),
    }
}

/// Reads a PATCH body on a group: the PatchOp schema is required, then every operation must be
/// one on `members`.
pub fn patch(body: &Value) -> Result<Vec<MemberOp>, ZivverError> {
    let has_schema = body
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(PATCH_OP)));
    if !has_schema {
        return Err(ZivverError::bad(format!(
            "Invalid patch request: schemas must contain {PATCH_OP}"
        )));
    }
    let ops = body
        .get("Operations")
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| ZivverError::bad("Invalid patch request: no Operations"))?;
    ops.iter().map(member_op).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_user_name_filter_takes_any_case_and_escapes() {
        assert_eq!(
            user_name_filter(r#"userName eq "a@example.org""#).unwrap(),
            "a@example.org"
        );
        assert_eq!(
            user_name_filter(r#"  USERNAME Eq "say \"hi\" \\ there"  "#).unwrap(),
            r#"say "hi" \ there"#
        );
        for bad in [
            r#"userName co "a""#,
            r#"userName eq "a" and active eq true"#,
            r#"displayName eq "a""#,
            r#"userName eq a"#,
            r#"userName eq "unterminated"#,
            r#"userNameeq "a""#,
            "",
        ] {
            assert!(user_name_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn active_reads_booleans_and_strings_in_any_case() {
        for (v, want) in [
            (json!(true), true),
            (json!("True"), true),
            (json!("FALSE"), false),
            (json!(false), false),
        ] {
            let u = user(&json!({ "userName": "a", "active": v })).unwrap();
            assert_eq!(u.active, Field::Set(want));
        }
        for v in [json!("yes"), json!(1), Value::Null] {
            assert!(user(&json!({ "userName": "a", "active": v })).is_err());
        }
    }

    #[test]
    fn null_and_absent_are_told_apart() {
        let u = user(&json!({
            "name": null,
            ENTERPRISE: { "division": "" },
            ZIVVER: { "aliases": null, "SsoAccountKey": "k" }
        }))
        .unwrap();
        assert_eq!(u.user_name, Field::Absent);
        assert_eq!(u.formatted, Field::Null);
        assert_eq!(u.division, Field::Null);
        assert_eq!(u.aliases, Field::Null);
        assert_eq!(u.delegates, Field::Absent);
        assert_eq!(u.sso_account_key, Field::Set("k".into()));
    }

    #[test]
    fn patch_forms() {
        let body = |ops: Value| json!({ "schemas": [PATCH_OP], "Operations": ops });
        assert_eq!(
            patch(&body(json!([{ "op": "Replace", "path": "members",
                "value": [{ "value": "a", "display": "A" }, { "value": "b" }] }])))
            .unwrap(),
            vec![MemberOp::Replace(vec!["a".into(), "b".into()])]
        );
        assert_eq!(
            patch(&body(json!([{ "op": "remove", "path": "members" }]))).unwrap(),
            vec![MemberOp::RemoveAll]
        );
        assert_eq!(
            patch(&body(
                json!([{ "op": "remove", "path": "members[value eq \"x\"]" }])
            ))
            .unwrap(),
            vec![MemberOp::Remove(vec!["x".into()])]
        );
        assert!(patch(&json!({ "Operations": [{ "op": "remove", "path": "members" }] })).is_err());
        assert!(patch(&body(
            json!([{ "op": "replace", "path": "members", "value": {} }])
        ))
        .is_err());
        assert!(patch(&body(
            json!([{ "op": "replace", "path": "displayName", "value": "x" }])
        ))
        .is_err());
        assert!(patch(&body(json!([]))).is_err());
    }
}
