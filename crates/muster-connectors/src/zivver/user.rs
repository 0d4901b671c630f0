//! Zivver users as Muster sees them, with no I/O: a user read from Zivver becomes an
//! [`ObservedAccount`] with normalised values ([`to_account`]), and a write becomes the
//! *whole* user built on a fresh read ([`overlay`], [`complete`]), because Zivver takes user
//! updates only as a PUT of the entire object and clears what a PUT leaves out
//! (`targets/zivver.md` §4.3).
//!
//! Attribute paths are SCIM's: `userName`, `name.formatted`, `nickName`, and extension
//! attributes as `urn:…:User:attr` (see [`super::wire`]).

use super::wire::{
    ALIASES, DELEGATES, DIVISION, ENTERPRISE_SCHEMA, ROOT_DIVISION, SSO_ACCOUNT_KEY, USER_SCHEMAS,
    ZIVVER_SCHEMA,
};
use crate::scim::path::{self, get_ci, AttrPath};
use muster_core::connector::{Attributes, ObservedAccount};
use muster_core::AccountRef;
use serde_json::{Map, Value};

/// `active` as Zivver may send it: a boolean, or `"true"`/`"false"` in any case
/// (zivver.md §4.5). Anything else, a missing value included, is refused: guessing "enabled"
/// could hide a disabled account from the plan.
pub fn parse_active(value: Option<&Value>) -> Result<bool, String> {
    match value {
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(format!("`active` is {other}, not a boolean")),
        None => Err("`active` is missing".to_owned()),
    }
}

/// A user's attributes by path, normalised so that equal things compare equal:
/// - `division` `"/"` (Zivver's "none") is `""`;
/// - `aliases` and `delegates` are always JSON arrays (`[]` when Zivver leaves them out);
/// - `SsoAccountKey` never appears (Zivver never returns it; were one returned, it would
///   still not be a value to compare or log).
pub fn flatten(user: &Value) -> Attributes {
    let mut attrs = path::flatten(user);
    attrs.retain(|k, _| !k.eq_ignore_ascii_case(SSO_ACCOUNT_KEY));
    if let Some(v) = attrs.get_mut(DIVISION) {
        if v.as_str().is_some_and(|d| d.trim() == ROOT_DIVISION) {
            *v = Value::String(String::new());
        }
    }
    for list in [ALIASES, DELEGATES] {
        attrs
            .entry(list.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
    }
    attrs
}

/// A user read from Zivver as an observed account.
pub fn to_account(user: &Value) -> Result<ObservedAccount, String> {
    let obj = user
        .as_object()
        .ok_or_else(|| format!("a user that is not an object: {}", kind_of(user)))?;
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| "a user without `id`".to_owned())?;
    let enabled = parse_active(get_ci(obj, "active")).map_err(|e| format!("user {id}: {e}"))?;
    Ok(ObservedAccount {
        reference: AccountRef::new(id),
        enabled,
        attributes: flatten(user),
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Writes `changes` into `user` (a whole user as read). A change that clears a value is sent
/// as an explicit empty value, never by leaving the attribute out, because Zivver leaves an
/// omitted attribute alone (or, for `SsoAccountKey`, clears it):
/// - `division` cleared or `""` → `"/"`; `aliases`, `delegates` cleared → `[]`;
/// - any other attribute cleared → `null` at its path (an element of a multi-valued
///   attribute selected by a filter is removed from the list);
/// - `active` is written as a real boolean;
/// - a `null` `SsoAccountKey` is not written at all: Muster never clears the key, and the
///   engine never plans it.
pub fn overlay(user: &mut Map<String, Value>, changes: &Attributes) -> Result<(), String> {
    for (name, value) in changes {
        let path = AttrPath::parse(name)?;
        let is = |p: &str| name.eq_ignore_ascii_case(p);
        if is(SSO_ACCOUNT_KEY) {
            if !value.is_null() {
                path.set(user, value.clone());
            }
        } else if is("active") {
            let active = parse_active(Some(value)).map_err(|e| format!("{name}: {e}"))?;
            user.insert("active".to_owned(), Value::Bool(active));
        } else if is(DIVISION) {
            let division = match value {
                Value::Null => ROOT_DIVISION.to_owned(),
                Value::String(s) if s.trim().is_empty() => ROOT_DIVISION.to_owned(),
                Value::String(s) => s.clone(),
                other => return Err(format!("{name}: {other} is not a division name")),
            };
            path.set(user, Value::String(division));
        } else if is(ALIASES) || is(DELEGATES) {
            let list = match value {
                Value::Null => Vec::new(),
                Value::Array(items) => {
                    if let Some(bad) = items.iter().find(|i| !i.is_string()) {
                        return Err(format!("{name}: {bad} is not an e-mail address"));
                    }
                    items.clone()
                }
                // One address from a single-valued mapping.
                Value::String(s) if s.trim().is_empty() => Vec::new(),
                Value::String(s) => vec![Value::String(s.clone())],
                other => return Err(format!("{name}: {other} is not a list of addresses")),
            };
            path.set(user, Value::Array(list));
        } else if value.is_null() {
            set_null(user, &path);
        } else {
            path.set(user, value.clone());
        }
    }
    Ok(())
}

/// Writes an explicit `null` at `path` (Zivver clears what is sent as `null`).
fn set_null(user: &mut Map<String, Value>, path: &AttrPath) {
    if path.filter.is_some() {
        // `emails[type eq "work"].value = null` removes that element; the rest of the list
        // is sent as it is.
        path.set(user, Value::Null);
        return;
    }
    let container = match &path.schema {
        Some(urn) => match object_at(user, urn) {
            Some(ext) => ext,
            None => return,
        },
        None => user,
    };
    match &path.sub {
        None => {
            let key = key_ci(container, &path.attr);
            container.insert(key, Value::Null);
        }
        Some(sub) => {
            if let Some(parent) = object_at(container, &path.attr) {
                let key = key_ci(parent, sub);
                parent.insert(key, Value::Null);
            }
        }
    }
}

/// The object at `key` (any case) in `map`, made one if it is missing or not an object.
/// Always `Some`; the `Option` only spares a panic path.
fn object_at<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    let key = key_ci(map, key);
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

fn key_ci(map: &Map<String, Value>, name: &str) -> String {
    if map.contains_key(name) {
        return name.to_owned();
    }
    map.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

/// Makes `user` a complete PUT or POST body: all three schemas, both extension objects (the
/// public connector depends on them being there), `active` a real boolean (and `enabled`
/// when given). `id` and `meta`, when present, are kept as read.
pub fn complete(user: &mut Map<String, Value>, enabled: Option<bool>) -> Result<(), String> {
    for urn in USER_SCHEMAS {
        path::declare_schema(user, urn);
    }
    for urn in [ENTERPRISE_SCHEMA, ZIVVER_SCHEMA] {
        let _ = object_at(user, urn);
    }
    let active = match enabled {
        Some(a) => Some(a),
        None => match get_ci(user, "active") {
            None => None,
            some => Some(parse_active(some)?),
        },
    };
    if let Some(a) = active {
        let key = key_ci(user, "active");
        user.insert(key, Value::Bool(a));
    }
    Ok(())
}

/// Appends `suffix` to `name.formatted` (the delete rename), once: a name that already ends
/// with it is left alone. A user without a display name gets its `userName` with the suffix.
pub fn append_suffix(user: &mut Map<String, Value>, suffix: &str) {
    let current = get_ci(user, "name")
        .and_then(Value::as_object)
        .and_then(|n| get_ci(n, "formatted"))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
        .or_else(|| {
            get_ci(user, "userName")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    if current.ends_with(suffix) {
        return;
    }
    let renamed = format!("{current}{suffix}").trim().to_owned();
    if let Some(name) = object_at(user, "name") {
        let key = key_ci(name, "formatted");
        name.insert(key, Value::String(renamed));
    }
}

/// The addresses in the Zivver extension's `delegates`.
pub fn delegates(user: &Map<String, Value>) -> Vec<String> {
    get_ci(user, ZIVVER_SCHEMA)
        .and_then(Value::as_object)
        .and_then(|z| get_ci(z, "delegates"))
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the body carries an `SsoAccountKey`.
pub fn carries_sso_key(user: &Map<String, Value>) -> bool {
    get_ci(user, ZIVVER_SCHEMA)
        .and_then(Value::as_object)
        .and_then(|z| get_ci(z, "SsoAccountKey"))
        .is_some_and(|k| !k.is_null())
}

/// Delegates that were sent but that Zivver did not store (it drops an address that is not an
/// account, silently). Addresses compare ignoring case.
pub fn dropped_delegates(sent: &[String], stored: &[String]) -> Vec<String> {
    let mut dropped: Vec<String> = sent
        .iter()
        .filter(|s| !stored.iter().any(|t| t.eq_ignore_ascii_case(s)))
        .cloned()
        .collect();
    dropped.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    dropped
}
