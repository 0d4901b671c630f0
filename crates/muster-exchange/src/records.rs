//! From what was fetched to source records (CLOUDSYNC-CONTRACT.md "What the `exchange-online`
//! source yields"). Pure: every decision about a mailbox is made here, on data already read.
//!
//! One record per `UserMailbox` (a person) and `SharedMailbox` (a shared mailbox); other
//! types are ignored. A mailbox that cannot be read right is a blocked record with its reason,
//! under its object id when it has one, so the engine leaves its account alone rather than
//! treating it as gone.

use crate::addresses;
use crate::delegation::{self, Entry};
use crate::wire::{Mailbox, PermissionEntry};
use muster_core::model::{ExternalId, IdentityKind, Person, SourceRecord};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// What a Full Access principal came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// These users' primary addresses (one for a user; a group's members).
    Users(Vec<String>),
    /// Left out, with the reason (not found, no address): a warning.
    Skipped(String),
    /// Cannot be decided (a name matching several recipients): the mailbox is blocked.
    Ambiguous(String),
}

/// Everything one read fetched.
#[derive(Debug, Default)]
pub struct Fetched {
    /// The mailboxes of the list, in its order.
    pub mailboxes: Vec<Mailbox>,
    /// Each mailbox's permission entries (by index), or why they could not be read.
    pub permissions: Vec<Result<Vec<PermissionEntry>, String>>,
    /// Each delegation principal (as written in an entry), resolved.
    pub principals: BTreeMap<String, Principal>,
    /// The object ids (lower-cased) in the source filter; `None` when none is configured.
    pub filter: Option<BTreeSet<String>>,
}

/// The records and the warnings.
#[derive(Debug, Default)]
pub struct Built {
    pub records: Vec<SourceRecord>,
    pub warnings: Vec<String>,
}

/// The kind a recipient type is read as; `None` for types that are not read.
pub fn kind_of(recipient_type: &str) -> Option<IdentityKind> {
    match recipient_type {
        "UserMailbox" => Some(IdentityKind::Person),
        "SharedMailbox" => Some(IdentityKind::SharedMailbox),
        _ => None,
    }
}

/// Every delegation principal of every entry list, each once.
pub fn principals_of(permissions: &[Result<Vec<PermissionEntry>, String>]) -> BTreeSet<String> {
    permissions
        .iter()
        .flatten()
        .flatten()
        .filter_map(|e| match delegation::classify(e) {
            Entry::Delegation(p) => Some(p),
            _ => None,
        })
        .collect()
}

pub fn build(f: &Fetched) -> Built {
    let mut out = Built::default();
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for (i, mailbox) in f.mailboxes.iter().enumerate() {
        let Some(kind) = kind_of(&mailbox.recipient_type_details) else {
            continue;
        };
        let location = format!("exchange-online mailbox {}", mailbox.label());
        let permissions = f
            .permissions
            .get(i)
            .cloned()
            .unwrap_or_else(|| Err("its permissions were not read".into()));
        let record = match one(mailbox, kind, &permissions, f, &mut out.warnings) {
            Err(reason) => blocked(mailbox, location, reason),
            Ok(person) => {
                let id = person.external_id.as_str().to_lowercase();
                match ids.get(&id) {
                    Some(other) => blocked(
                        mailbox,
                        location,
                        format!("ExternalDirectoryObjectId {} is also the id of mailbox {other}; the identity key must be unique", person.external_id),
                    ),
                    None => {
                        ids.insert(id, mailbox.label());
                        SourceRecord::Valid(person)
                    }
                }
            }
        };
        out.records.push(record);
    }
    out
}

fn blocked(mailbox: &Mailbox, location: String, reason: String) -> SourceRecord {
    let id = mailbox
        .object_id()
        .map_or_else(|| format!("<mailbox {}>", mailbox.label()), str::to_owned);
    SourceRecord::Blocked {
        id: ExternalId::new(id),
        location,
        reason,
    }
}

/// One mailbox as a person, or the reason it is blocked.
fn one(
    mailbox: &Mailbox,
    kind: IdentityKind,
    permissions: &Result<Vec<PermissionEntry>, String>,
    f: &Fetched,
    warnings: &mut Vec<String>,
) -> Result<Person, String> {
    let label = mailbox.label();
    let object_id = mailbox.object_id().ok_or_else(|| {
        "no ExternalDirectoryObjectId (the mailbox has no Entra object): it cannot be identified across runs".to_owned()
    })?;
    let a = addresses::read(
        &mailbox.email_addresses,
        mailbox.primary_smtp_address.as_deref(),
    );
    if let Some(bad) = &a.malformed_primary {
        return Err(format!(
            "the primary SMTP address `{bad}` is not an e-mail address"
        ));
    }
    let primary = a.primary.clone().ok_or_else(|| {
        "no SMTP address: neither an SMTP: entry in EmailAddresses nor a PrimarySmtpAddress"
            .to_owned()
    })?;
    for bad in &a.malformed {
        warnings.push(format!(
            "mailbox {label}: secondary address `{bad}` is not an e-mail address; left out"
        ));
    }
    let entries = permissions.as_ref().map_err(Clone::clone)?;
    let delegates = delegates(&label, &primary, entries, f, warnings)?;
    let mut person = Person::new(object_id);
    person.kind = kind;
    person.display_name = mailbox
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    person.contact.business.email = Some(primary.clone());
    let mut custom: BTreeMap<String, Value> = BTreeMap::new();
    custom.insert("primary_address".into(), json!(primary));
    custom.insert("aliases".into(), json!(a.aliases));
    custom.insert("delegates".into(), json!(delegates));
    custom.insert("account_disabled".into(), json!(mailbox.account_disabled));
    custom.insert(
        "recipient_type".into(),
        json!(mailbox.recipient_type_details),
    );
    custom.insert("object_id".into(), json!(object_id));
    if let Some(filter) = &f.filter {
        custom.insert(
            "in_source_filter".into(),
            json!(filter.contains(&object_id.to_lowercase())),
        );
    }
    person.custom = custom;
    Ok(person)
}

/// The mailbox's delegates: primary addresses, sorted, each once, itself excluded.
fn delegates(
    label: &str,
    primary: &str,
    entries: &[PermissionEntry],
    f: &Fetched,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, String> {
    let mut out = BTreeSet::new();
    for entry in entries {
        match delegation::classify(entry) {
            Entry::Ignored => {}
            Entry::Skipped(why) => warnings.push(format!("mailbox {label}: {why}")),
            Entry::Delegation(principal) => match f.principals.get(&principal) {
                Some(Principal::Users(users)) => out.extend(users.iter().map(|u| u.to_lowercase())),
                Some(Principal::Skipped(why)) => warnings.push(format!(
                    "mailbox {label}: Full Access for {principal} skipped: {why}"
                )),
                Some(Principal::Ambiguous(why)) => {
                    return Err(format!(
                        "its delegates cannot be determined: Full Access principal `{principal}` {why}"
                    ))
                }
                None => {
                    return Err(format!(
                        "its delegates cannot be determined: Full Access principal `{principal}` was not resolved"
                    ))
                }
            },
        }
    }
    out.remove(primary);
    Ok(out.into_iter().collect())
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;

    fn mailbox(v: Value) -> Mailbox {
        serde_json::from_value(v).unwrap()
    }

    fn full(user: &str) -> PermissionEntry {
        serde_json::from_value(
            json!({"User": user, "PermissionList": [{"AccessRights": ["FullAccess"]}]}),
        )
        .unwrap()
    }

    fn fetched() -> Fetched {
        let mut f = Fetched::default();
        f.mailboxes = vec![
            mailbox(
                json!({"Name": "info", "DisplayName": " Info ", "RecipientTypeDetails": "SharedMailbox",
                "PrimarySmtpAddress": "Info@contoso.nl", "AccountDisabled": true, "ExternalDirectoryObjectId": "5D1C",
                "EmailAddresses": ["SMTP:Info@contoso.nl", "smtp:info@contoso.onmicrosoft.com", "smtp:Balie@contoso.nl", "SIP:info@contoso.nl"]}),
            ),
            mailbox(
                json!({"Name": "room", "RecipientTypeDetails": "RoomMailbox", "PrimarySmtpAddress": "room@contoso.nl", "ExternalDirectoryObjectId": "r"}),
            ),
            mailbox(
                json!({"Name": "jan", "RecipientTypeDetails": "UserMailbox", "PrimarySmtpAddress": "jan@contoso.nl"}),
            ),
        ];
        f.permissions = vec![
            Ok(vec![
                full("NT AUTHORITY\\SELF"),
                full("Sales"),
                full("jan@contoso.nl"),
                full("S-1-5-21-1"),
                full("ghost"),
            ]),
            Ok(vec![]),
            Ok(vec![]),
        ];
        f.principals.insert(
            "Sales".into(),
            Principal::Users(vec![
                "Piet@contoso.nl".into(),
                "info@contoso.nl".into(),
                "jan@contoso.nl".into(),
            ]),
        );
        f.principals.insert(
            "jan@contoso.nl".into(),
            Principal::Users(vec!["jan@contoso.nl".into()]),
        );
        f.principals.insert(
            "ghost".into(),
            Principal::Skipped("no recipient is named so".into()),
        );
        f
    }

    #[test]
    fn a_shared_mailbox_carries_the_contract_fields() {
        let mut f = fetched();
        f.filter = Some(BTreeSet::from(["5d1c".to_owned()]));
        let built = build(&f);
        assert_eq!(built.records.len(), 2, "the room mailbox is ignored");
        let SourceRecord::Valid(p) = &built.records[0] else {
            panic!("{:?}", built.records[0])
        };
        assert_eq!(p.external_id.as_str(), "5D1C");
        assert_eq!(p.kind, IdentityKind::SharedMailbox);
        assert_eq!(p.display_name.as_deref(), Some("Info"));
        assert_eq!(p.contact.business.email.as_deref(), Some("info@contoso.nl"));
        assert_eq!(p.custom["primary_address"], json!("info@contoso.nl"));
        assert_eq!(
            p.custom["aliases"],
            json!(["balie@contoso.nl", "info@contoso.onmicrosoft.com"])
        );
        assert_eq!(
            p.custom["delegates"],
            json!(["jan@contoso.nl", "piet@contoso.nl"]),
            "itself excluded"
        );
        assert_eq!(p.custom["account_disabled"], json!(true));
        assert_eq!(p.custom["recipient_type"], json!("SharedMailbox"));
        assert_eq!(p.custom["object_id"], json!("5D1C"));
        assert_eq!(p.custom["in_source_filter"], json!(true));
        assert!(
            built
                .warnings
                .iter()
                .any(|w| w.contains("S-1-5-21-1") && w.contains("deleted principal")),
            "{:?}",
            built.warnings
        );
        assert!(
            built.warnings.iter().any(|w| w.contains("ghost")),
            "{:?}",
            built.warnings
        );
        let SourceRecord::Blocked { id, reason, .. } = &built.records[1] else {
            panic!()
        };
        assert_eq!(id.as_str(), "<mailbox jan@contoso.nl>");
        assert!(reason.contains("ExternalDirectoryObjectId"), "{reason}");
    }

    #[test]
    fn without_a_filter_there_is_no_filter_field() {
        let built = build(&fetched());
        let SourceRecord::Valid(p) = &built.records[0] else {
            panic!()
        };
        assert!(!p.custom.contains_key("in_source_filter"));
    }

    #[test]
    fn an_ambiguous_principal_or_an_unreadable_list_blocks_under_the_object_id() {
        let mut f = fetched();
        f.principals.insert(
            "Sales".into(),
            Principal::Ambiguous("matches 2 recipients".into()),
        );
        let built = build(&f);
        let SourceRecord::Blocked { id, reason, .. } = &built.records[0] else {
            panic!()
        };
        assert_eq!(id.as_str(), "5D1C");
        assert!(reason.contains("`Sales` matches 2 recipients"), "{reason}");
        f.permissions[0] = Err("the mailbox disappeared during the read".into());
        let built = build(&f);
        assert!(
            matches!(&built.records[0], SourceRecord::Blocked { reason, .. } if reason.contains("disappeared"))
        );
    }

    #[test]
    fn address_problems_block_with_a_reason() {
        let mut f = Fetched::default();
        f.mailboxes = vec![
            mailbox(
                json!({"Name": "a", "RecipientTypeDetails": "UserMailbox", "ExternalDirectoryObjectId": "a", "EmailAddresses": ["SIP:a@x.nl"]}),
            ),
            mailbox(
                json!({"Name": "b", "RecipientTypeDetails": "UserMailbox", "ExternalDirectoryObjectId": "b", "PrimarySmtpAddress": "b at x", "EmailAddresses": ["SMTP:b at x"]}),
            ),
            mailbox(
                json!({"Name": "c", "RecipientTypeDetails": "UserMailbox", "ExternalDirectoryObjectId": "A", "PrimarySmtpAddress": "c@x.nl"}),
            ),
        ];
        f.permissions = vec![Ok(vec![]), Ok(vec![]), Ok(vec![])];
        let built = build(&f);
        let reasons: Vec<&str> = built
            .records
            .iter()
            .map(|r| match r {
                SourceRecord::Blocked { reason, .. } => reason.as_str(),
                SourceRecord::Valid(_) => "valid",
            })
            .collect();
        assert!(reasons[0].contains("no SMTP address"), "{reasons:?}");
        assert!(
            reasons[1].contains("`b at x` is not an e-mail address"),
            "{reasons:?}"
        );
        assert_eq!(reasons[2], "valid", "{reasons:?}");
    }
}
