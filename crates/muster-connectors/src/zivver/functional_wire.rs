//! Functional accounts as accounts (`functional_accounts = "accounts"`, Cloud Sync mode), with
//! no I/O: a Zivver group read as an [`ObservedAccount`] with `kind = "functional"`, and what
//! an operation asks of one, as the bodies Zivver's own Cloud Sync client sends
//! (`sources/exchange-online.md` §3).
//!
//! A functional account uses the users' field names, so that correlation, `included_domains`
//! and mappings work alike:
//!
//! | field | group |
//! |---|---|
//! | `userName` | `externalId`, its address |
//! | `name.formatted` | `displayName` |
//! | `urn:…:zivver:0.1:User:aliases` | the Zivver group extension's `aliases` |
//! | `urn:…:zivver:0.1:User:delegates` | `members`, shown as the members' `userName` |
//! | `kind` | `"functional"` (users: `"user"`) |
//!
//! It is enabled while it has members: suspending it empties them (a functional account cannot
//! be disabled in Zivver), resuming puts the delegates back.

use super::wire::{
    ALIASES, DELEGATES, DIVISION, ENTERPRISE_SCHEMA, ROOT_DIVISION, SSO_ACCOUNT_KEY, USER_NAME,
};
use crate::scim::path::get_ci;
use muster_core::connector::{Attributes, ObservedAccount};
use muster_core::AccountRef;
use serde_json::{json, Map, Value};

/// Schema URN of the Zivver group extension, which holds a functional account's `aliases`.
pub const ZIVVER_GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:zivver:0.1:Group";
/// The account attribute naming an account's kind.
pub const KIND: &str = "kind";
/// `name.formatted`, a functional account's display name.
pub const DISPLAY_NAME: &str = "name.formatted";

/// What a Zivver account is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// A user (`/Users`).
    User,
    /// A functional account (`/Groups`).
    Functional,
}

impl AccountKind {
    /// The value of the `kind` attribute.
    pub fn word(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Functional => "functional",
        }
    }

    /// The kind `attributes` ask for: `kind = "functional"`, else a user (absent, `null` or
    /// `"user"`); any other value is refused.
    pub fn asked(attributes: &Attributes) -> Result<Self, String> {
        match attributes.get(KIND) {
            None | Some(Value::Null) => Ok(Self::User),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("user") => Ok(Self::User),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("functional") => {
                Ok(Self::Functional)
            }
            Some(other) => Err(format!(
                "{KIND}: {other} is neither \"user\" nor \"functional\""
            )),
        }
    }
}

/// A functional account as read: its address, display name, aliases and member ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Current {
    pub address: Option<String>,
    pub display_name: String,
    pub aliases: Vec<String>,
    /// User ids, as listed.
    pub members: Vec<String>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Reads a group as Zivver answers it.
pub fn current(group: &Value) -> Result<Current, String> {
    let obj = group
        .as_object()
        .ok_or_else(|| "a group that is not an object".to_owned())?;
    let members = match super::wire::member_ids(group) {
        None => Vec::new(),
        Some(ids) => ids?.into_iter().map(str::to_owned).collect(),
    };
    Ok(Current {
        address: get_ci(obj, "externalId")
            .and_then(Value::as_str)
            .filter(|a| !a.trim().is_empty())
            .map(str::to_owned),
        display_name: get_ci(obj, "displayName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        aliases: strings(
            get_ci(obj, ZIVVER_GROUP_SCHEMA)
                .and_then(Value::as_object)
                .and_then(|z| get_ci(z, "aliases")),
        ),
        members,
    })
}

/// A group read from Zivver as an account with `kind = "functional"`; `address_of` turns a
/// member's user id into its `userName` (members that are no known user are left out of
/// `delegates`, and still count for `enabled`).
pub fn to_account(
    group: &Value,
    address_of: impl Fn(&str) -> Option<String>,
) -> Result<ObservedAccount, String> {
    let id = group
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| "a group without `id`".to_owned())?;
    let c = current(group).map_err(|e| format!("group {id}: {e}"))?;
    let mut delegates: Vec<String> = c
        .members
        .iter()
        .filter_map(|m| address_of(m.as_str()))
        .collect();
    delegates.sort_by_key(|a| a.to_lowercase());
    delegates.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let division = group
        .get(ENTERPRISE_SCHEMA)
        .and_then(|e| e.get("division"))
        .and_then(Value::as_str)
        .filter(|d| d.trim() != ROOT_DIVISION)
        .unwrap_or_default();
    let mut attributes = Attributes::new();
    if let Some(address) = &c.address {
        attributes.insert(USER_NAME.to_owned(), json!(address));
    }
    attributes.insert(DISPLAY_NAME.to_owned(), json!(c.display_name));
    attributes.insert(ALIASES.to_owned(), json!(c.aliases));
    attributes.insert(DELEGATES.to_owned(), json!(delegates));
    attributes.insert(DIVISION.to_owned(), json!(division));
    attributes.insert(KIND.to_owned(), json!(AccountKind::Functional.word()));
    Ok(ObservedAccount {
        reference: AccountRef::new(id),
        enabled: !c.members.is_empty(),
        attributes,
    })
}

/// What an operation asks of a functional account; `None` leaves that part as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    pub address: Option<String>,
    pub display_name: Option<String>,
    pub aliases: Option<Vec<String>>,
    /// E-mail addresses of the users who may act for it.
    pub delegates: Option<Vec<String>>,
}

/// A list of addresses from a mapped value: a list, one address, or nothing (`[]`).
fn addresses(name: &str, value: &Value) -> Result<Vec<String>, String> {
    let list = match value {
        Value::Null => Vec::new(),
        Value::String(s) if s.trim().is_empty() => Vec::new(),
        Value::String(s) => vec![s.trim().to_owned()],
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(|s| s.trim().to_owned())
                    .ok_or_else(|| format!("{name}: {i} is not an e-mail address"))
            })
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect(),
        other => return Err(format!("{name}: {other} is not a list of addresses")),
    };
    let mut seen = std::collections::HashSet::new();
    Ok(list
        .into_iter()
        .filter(|a| seen.insert(a.to_lowercase()))
        .collect())
}

fn text(name: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("{name}: {other} is not text")),
    }
}

/// Reads an operation's attributes for a functional account. `kind` and `active` are the
/// connector's to route by; `SsoAccountKey` belongs to users and is not sent; a division
/// other than none cannot be written (Zivver's group API takes none); anything else is
/// refused, naming the fields a functional account has.
pub fn desired(changes: &Attributes) -> Result<Desired, String> {
    let mut d = Desired::default();
    for (name, value) in changes {
        let is = |p: &str| name.eq_ignore_ascii_case(p);
        if is(KIND) || is("active") || is(SSO_ACCOUNT_KEY) {
            continue;
        } else if is(USER_NAME) {
            let address = text(name, value)?;
            if address.trim().is_empty() {
                return Err(format!("{name}: a functional account needs an address"));
            }
            d.address = Some(address.trim().to_owned());
        } else if is(DISPLAY_NAME) {
            d.display_name = Some(text(name, value)?);
        } else if is(ALIASES) {
            d.aliases = Some(addresses(name, value)?);
        } else if is(DELEGATES) {
            d.delegates = Some(addresses(name, value)?);
        } else if is(DIVISION) {
            let division = text(name, value)?;
            if !division.trim().is_empty() && division.trim() != ROOT_DIVISION {
                return Err(format!(
                    "{name}: Zivver's API does not set a functional account's division"
                ));
            }
        } else {
            return Err(format!(
                "{name}: not a field of a functional account (userName, name.formatted, \
                 {ALIASES}, {DELEGATES}, {KIND})"
            ));
        }
    }
    Ok(d)
}

/// Whether two address lists hold the same addresses, ignoring case and order.
pub fn same_addresses(a: &[String], b: &[String]) -> bool {
    let norm = |l: &[String]| {
        let mut v: Vec<String> = l.iter().map(|s| s.trim().to_lowercase()).collect();
        v.sort();
        v.dedup();
        v
    };
    norm(a) == norm(b)
}

/// Whether two member lists hold the same ids, in any order.
pub fn same_members(a: &[String], b: &[String]) -> bool {
    same_addresses(a, b)
}

fn members_value(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({ "value": id })).collect())
}

/// `POST Groups`: address, display name, members (user ids) and aliases.
pub fn create_body(
    address: &str,
    display_name: &str,
    members: &[String],
    aliases: &[String],
) -> Value {
    json!({
        "externalId": address,
        "displayName": display_name,
        "members": members_value(members),
        ZIVVER_GROUP_SCHEMA: { "aliases": aliases },
    })
}

/// The partial `PUT Groups/{id}` that brings `current` to `desired` (`members`: the user ids
/// to set, when they are to change and not to become empty — an empty list changes nothing in
/// Zivver, the remove-all PATCH empties a group); `None` when nothing differs.
pub fn put_body(current: &Current, desired: &Desired, members: Option<&[String]>) -> Option<Value> {
    let mut body = Map::new();
    if let Some(address) = &desired.address {
        let same = current
            .address
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case(address));
        if !same {
            body.insert("externalId".to_owned(), json!(address));
        }
    }
    if let Some(name) = &desired.display_name {
        if *name != current.display_name {
            body.insert("displayName".to_owned(), json!(name));
        }
    }
    if let Some(aliases) = &desired.aliases {
        if !same_addresses(aliases, &current.aliases) {
            body.insert(
                ZIVVER_GROUP_SCHEMA.to_owned(),
                json!({ "aliases": aliases }),
            );
        }
    }
    if let Some(ids) = members {
        if !ids.is_empty() && !same_members(ids, &current.members) {
            body.insert("members".to_owned(), members_value(ids));
        }
    }
    (!body.is_empty()).then_some(Value::Object(body))
}

/// The address an "Error creating alias: Alias is a guest: <addr>" refusal names: the alias
/// already received mail as a Zivver guest (exchange-online.md §1). Reported, never retried
/// by the connector.
pub fn guest_alias(text: &str) -> Option<&str> {
    const MARK: &str = "alias is a guest:";
    let at = text.to_lowercase().find(MARK)?;
    text.get(at + MARK.len()..).map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, Value)]) -> Attributes {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn a_group_reads_as_a_functional_account_with_member_addresses() {
        let group = json!({
            "id": "g1", "externalId": "info@example.org", "displayName": "Info",
            "members": [{ "value": "u2" }, { "value": "u1" }, { "value": "ghost" }],
            ENTERPRISE_SCHEMA: { "division": "/" },
            ZIVVER_GROUP_SCHEMA: { "aliases": ["balie@example.org"] },
        });
        let names = |id: &str| match id {
            "u1" => Some("Anna@example.org".to_owned()),
            "u2" => Some("bert@example.org".to_owned()),
            _ => None,
        };
        let a = to_account(&group, names).unwrap();
        assert_eq!(a.reference.as_str(), "g1");
        assert!(a.enabled);
        assert_eq!(a.attributes[USER_NAME], json!("info@example.org"));
        assert_eq!(a.attributes[DISPLAY_NAME], json!("Info"));
        assert_eq!(a.attributes[ALIASES], json!(["balie@example.org"]));
        assert_eq!(
            a.attributes[DELEGATES],
            json!(["Anna@example.org", "bert@example.org"])
        );
        assert_eq!(a.attributes[DIVISION], json!(""));
        assert_eq!(a.attributes[KIND], json!("functional"));
        let empty = json!({ "id": "g2", "displayName": "X", "members": [] });
        let b = to_account(&empty, names).unwrap();
        assert!(!b.enabled, "no members is suspended");
        assert!(!b.attributes.contains_key(USER_NAME));
        assert!(to_account(&json!({ "displayName": "X" }), names).is_err());
    }

    #[test]
    fn desired_reads_the_fields_of_a_functional_account_and_refuses_others() {
        let d = desired(&attrs(&[
            (KIND, json!("functional")),
            (USER_NAME, json!(" info@example.org ")),
            (DISPLAY_NAME, json!("Info")),
            (ALIASES, json!(["a@example.org", "A@example.org", ""])),
            (DELEGATES, json!("jan@example.org")),
            (DIVISION, json!("")),
        ]))
        .unwrap();
        assert_eq!(d.address.as_deref(), Some("info@example.org"));
        assert_eq!(d.aliases, Some(vec!["a@example.org".to_owned()]));
        assert_eq!(d.delegates, Some(vec!["jan@example.org".to_owned()]));
        assert!(desired(&attrs(&[("nickName", json!("x"))])).is_err());
        assert!(desired(&attrs(&[(DIVISION, json!("Sales"))])).is_err());
        assert!(desired(&attrs(&[(DELEGATES, json!([1]))])).is_err());
        assert!(desired(&attrs(&[(USER_NAME, json!(""))])).is_err());
        assert_eq!(
            AccountKind::asked(&attrs(&[(KIND, json!("Functional"))])),
            Ok(AccountKind::Functional)
        );
        assert_eq!(
            AccountKind::asked(&Attributes::new()),
            Ok(AccountKind::User)
        );
        assert!(AccountKind::asked(&attrs(&[(KIND, json!("room"))])).is_err());
    }

    #[test]
    fn the_put_holds_only_what_differs_and_never_an_empty_member_list() {
        let current = Current {
            address: Some("info@example.org".into()),
            display_name: "Info".into(),
            aliases: vec!["a@example.org".into()],
            members: vec!["u1".into(), "u2".into()],
        };
        let same = Desired {
            address: Some("INFO@example.org".into()),
            display_name: Some("Info".into()),
            aliases: Some(vec!["A@example.org".into()]),
            delegates: None,
        };
        let ids = ["u2".to_owned(), "u1".to_owned()];
        assert_eq!(put_body(&current, &same, Some(&ids[..])), None);
        assert_eq!(put_body(&current, &same, Some(&[][..])), None);
        let renamed = Desired {
            display_name: Some("Informatie".into()),
            aliases: Some(vec![]),
            ..same
        };
        assert_eq!(
            put_body(&current, &renamed, Some(&["u3".to_owned()][..])),
            Some(json!({
                "displayName": "Informatie",
                ZIVVER_GROUP_SCHEMA: { "aliases": [] },
                "members": [{ "value": "u3" }],
            }))
        );
    }

    #[test]
    fn guest_refusals_name_the_address() {
        assert_eq!(
            guest_alias("Error creating alias: Alias is a guest: balie@example.org"),
            Some("balie@example.org")
        );
        assert_eq!(guest_alias("Error creating alias: Domain Not Owned"), None);
    }
}
