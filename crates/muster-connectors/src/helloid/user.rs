//! HelloID users as Muster sees them, with no I/O: a user read from HelloID becomes an
//! [`ObservedAccount`] ([`to_account`]); a create becomes a POST body ([`create_body`]); an
//! update becomes the *whole* user from a fresh GET with only the changed keys laid over it
//! ([`overlay`]), as HelloID takes it (helloid.md §4.3).
//!
//! Attribute keys are HelloID's own: `userName`, `firstName`, `lastName`, `contactEmail`,
//! `mustChangePassword`, `source`, `managedByUserGUID`, `password` (write-only, create only)
//! and `userAttributes.<key>` per user attribute. `isEnabled` is the account's `enabled`.

use super::wire::{field, kind_of, parse_bool, str_field, USER_GUID};
use muster_core::connector::{Attributes, ObservedAccount};
use muster_core::AccountRef;
use serde_json::{Map, Value};

pub const USER_NAME: &str = "userName";
pub const CONTACT_EMAIL: &str = "contactEmail";
pub const PASSWORD: &str = "password";
pub const IS_ENABLED: &str = "isEnabled";
pub const MUST_CHANGE_PASSWORD: &str = "mustChangePassword";
pub const USER_ATTRIBUTES: &str = "userAttributes";
pub const IDENTIFIER_OBJECT: &str = "IdentifierObject";
/// `userAttributes.<key>`.
pub const ATTRIBUTE_PREFIX: &str = "userAttributes.";

/// Top-level string fields Muster reads and writes as they are.
pub const STRING_FIELDS: [&str; 5] = [
    "firstName",
    "lastName",
    "contactEmail",
    "source",
    "managedByUserGUID",
];

/// A user read from HelloID as an observed account. Absent and `null` values are left out (so
/// they compare equal); booleans sent as strings become booleans.
pub fn to_account(user: &Value) -> Result<ObservedAccount, String> {
    let obj = user
        .as_object()
        .ok_or_else(|| format!("a user that is {}", kind_of(user)))?;
    let guid = str_field(user, USER_GUID).ok_or_else(|| format!("a user without `{USER_GUID}`"))?;
    let enabled = match field(obj, IS_ENABLED) {
        Some(v) => {
            parse_bool(v).ok_or_else(|| format!("user {guid}: `isEnabled` is {}", kind_of(v)))?
        }
        None => return Err(format!("user {guid}: `isEnabled` is missing")),
    };
    let mut attributes = Attributes::new();
    for key in std::iter::once(USER_NAME).chain(STRING_FIELDS) {
        if let Some(v) = field(obj, key).filter(|v| !v.is_null()) {
            attributes.insert(key.to_owned(), v.clone());
        }
    }
    if let Some(v) = field(obj, MUST_CHANGE_PASSWORD).filter(|v| !v.is_null()) {
        let b = parse_bool(v)
            .ok_or_else(|| format!("user {guid}: `mustChangePassword` is {}", kind_of(v)))?;
        attributes.insert(MUST_CHANGE_PASSWORD.to_owned(), Value::Bool(b));
    }
    match field(obj, USER_ATTRIBUTES) {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map.iter().filter(|(_, v)| !v.is_null()) {
                attributes.insert(format!("{ATTRIBUTE_PREFIX}{k}"), v.clone());
            }
        }
        Some(other) => {
            return Err(format!(
                "user {guid}: `userAttributes` is {}",
                kind_of(other)
            ))
        }
    }
    Ok(ObservedAccount {
        reference: AccountRef::new(guid),
        enabled,
        attributes,
    })
}

/// The `userName` of a user as read.
pub fn user_name(user: &Value) -> Option<&str> {
    str_field(user, USER_NAME)
}

/// The flag of a soft-deleted user, as the `?isDeleted=true` query names it.
pub const IS_DELETED: &str = "isDeleted";

/// Whether a user as read says it is soft-deleted: `isDeleted` true (a JSON boolean or the
/// string, any case). Absent, `null` or anything else is a live user, as `GET /users` shows
/// them.
pub fn is_deleted(user: &Value) -> bool {
    user.as_object()
        .and_then(|o| field(o, IS_DELETED))
        .and_then(parse_bool)
        .unwrap_or(false)
}

/// Where one change key lands in a user body.
enum Key<'a> {
    /// A top-level field, by its canonical name.
    Top(&'static str),
    /// `mustChangePassword` (a boolean).
    MustChange,
    UserName,
    Password,
    /// `userAttributes.<key>`.
    Attribute(&'a str),
}

fn classify(name: &str) -> Result<Key<'_>, String> {
    if let Some(key) = name
        .get(..ATTRIBUTE_PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(ATTRIBUTE_PREFIX))
        .map(|_| &name[ATTRIBUTE_PREFIX.len()..])
    {
        if key.is_empty() {
            return Err(format!("`{name}` names no user attribute"));
        }
        return Ok(Key::Attribute(key));
    }
    let is = |k: &str| name.eq_ignore_ascii_case(k);
    if is(USER_NAME) {
        return Ok(Key::UserName);
    }
    if is(PASSWORD) {
        return Ok(Key::Password);
    }
    if is(MUST_CHANGE_PASSWORD) {
        return Ok(Key::MustChange);
    }
    STRING_FIELDS
        .iter()
        .find(|k| is(k))
        .map(|k| Key::Top(k))
        .ok_or_else(|| {
            format!(
                "`{name}` is not a HelloID user attribute (userName, firstName, lastName, \
                 contactEmail, mustChangePassword, source, managedByUserGUID, password, \
                 userAttributes.<key>)"
            )
        })
}

fn boolean(name: &str, value: &Value) -> Result<Value, String> {
    parse_bool(value)
        .map(Value::Bool)
        .ok_or_else(|| format!("{name}: {} is not a boolean", kind_of(value)))
}

/// The body of `POST /users`: real booleans (`isEnabled` from `enabled`), `userAttributes` as
/// one nested object, the password when the operation carries one. `null` values are left
/// out: a new user has nothing to clear.
pub fn create_body(attributes: &Attributes, enabled: bool) -> Result<Map<String, Value>, String> {
    let mut body = Map::new();
    let mut user_attributes = Map::new();
    for (name, value) in attributes.iter().filter(|(_, v)| !v.is_null()) {
        match classify(name)? {
            Key::Top(k) => {
                body.insert(k.to_owned(), value.clone());
            }
            Key::MustChange => {
                body.insert(MUST_CHANGE_PASSWORD.to_owned(), boolean(name, value)?);
            }
            Key::UserName => {
                body.insert(USER_NAME.to_owned(), value.clone());
            }
            Key::Password => {
                let Value::String(_) = value else {
                    return Err(format!("password: {} is not a string", kind_of(value)));
                };
                body.insert(PASSWORD.to_owned(), value.clone());
            }
            Key::Attribute(k) => {
                user_attributes.insert(k.to_owned(), value.clone());
            }
        }
    }
    if !body
        .get(USER_NAME)
        .and_then(Value::as_str)
        .is_some_and(|n| !n.trim().is_empty())
    {
        return Err("a HelloID user needs a `userName`".to_owned());
    }
    body.insert(IS_ENABLED.to_owned(), Value::Bool(enabled));
    if !user_attributes.is_empty() {
        body.insert(USER_ATTRIBUTES.to_owned(), Value::Object(user_attributes));
    }
    Ok(body)
}

/// How [`overlay`] treats a `userName` change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rename {
    /// Through `IdentifierObject.userName` (`rename_user_name` on).
    Allowed,
    /// Refused unless it only repeats the current name (the engine never plans it then).
    Fixed,
}

/// What [`overlay`] left out of the body, for the caller to report.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    /// A password change: HelloID takes a password on create only.
    pub password: bool,
}

/// Lays `changes` (and `enabled`) over `user`, a whole user from a fresh GET, for a full PUT:
/// - top-level fields are set, `null` included (HelloID clears an optional field sent `null`);
/// - `userAttributes.<key>` is set inside the map from the GET, one key at a time, so keys
///   Muster does not map stay; `null` removes the key (and is sent as `null`, which HelloID
///   reads as "remove" whether it merges or replaces the map);
/// - a new `userName` goes into `IdentifierObject.userName` while the top-level `userName`
///   keeps the old one (helloid.md §4.3);
/// - `password` is not written (create only); [`Skipped`] says so.
pub fn overlay(
    user: &mut Map<String, Value>,
    changes: &Attributes,
    enabled: Option<bool>,
    rename: Rename,
) -> Result<Skipped, String> {
    let mut skipped = Skipped::default();
    // A password is never part of what a GET returns, but a PUT must not echo one either.
    user.retain(|k, _| {
        !k.eq_ignore_ascii_case(PASSWORD) && !k.eq_ignore_ascii_case(IDENTIFIER_OBJECT)
    });
    for (name, value) in changes {
        match classify(name)? {
            Key::Top(k) => set(user, k, value.clone()),
            Key::MustChange if value.is_null() => {
                set(user, MUST_CHANGE_PASSWORD, Value::Bool(false))
            }
            Key::MustChange => set(user, MUST_CHANGE_PASSWORD, boolean(name, value)?),
            Key::Password => skipped.password = true,
            // Clearing a key that is not there is no change (and must not cost a PUT).
            Key::Attribute(k) if value.is_null() && !has_attribute(user, k) => {}
            Key::Attribute(k) => {
                if let Some(attrs) = object_at(user, USER_ATTRIBUTES) {
                    attrs.insert(k.to_owned(), value.clone());
                }
            }
            Key::UserName => {
                let Some(new) = value.as_str().filter(|n| !n.trim().is_empty()) else {
                    return Err("userName: a user name cannot be cleared".to_owned());
                };
                let current = user
                    .get(USER_NAME)
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if new == current {
                    continue;
                }
                match rename {
                    Rename::Allowed => {
                        let mut id = Map::new();
                        id.insert(USER_NAME.to_owned(), Value::String(new.to_owned()));
                        user.insert(IDENTIFIER_OBJECT.to_owned(), Value::Object(id));
                    }
                    // A change of case only: HelloID compares names ignoring case, and so
                    // does the engine; nothing to write.
                    Rename::Fixed if new.eq_ignore_ascii_case(current) => {}
                    Rename::Fixed => {
                        return Err(
                            "userName: renames are off (rename_user_name = false)".to_owned()
                        )
                    }
                }
            }
        }
    }
    if let Some(enabled) = enabled {
        set(user, IS_ENABLED, Value::Bool(enabled));
    }
    Ok(skipped)
}

/// Sets `key`, replacing a differently cased spelling of it from the GET. `null` for a key
/// the GET did not have is no change and is left out.
fn set(user: &mut Map<String, Value>, key: &str, value: Value) {
    match user.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned() {
        Some(existing) => {
            user.insert(existing, value);
        }
        None if value.is_null() => {}
        None => {
            user.insert(key.to_owned(), value);
        }
    }
}

/// Whether the user's `userAttributes` hold `key` with a value.
fn has_attribute(user: &Map<String, Value>, key: &str) -> bool {
    field(user, USER_ATTRIBUTES)
        .and_then(Value::as_object)
        .and_then(|attrs| attrs.get(key))
        .is_some_and(|v| !v.is_null())
}

/// The object at `key` (any case), made one if it is missing or not an object. Always
/// `Some`; the `Option` only spares a panic path.
fn object_at<'a>(
    user: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    let existing = user
        .keys()
        .find(|k| k.eq_ignore_ascii_case(key))
        .cloned()
        .unwrap_or_else(|| key.to_owned());
    let slot = user
        .entry(existing)
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}
