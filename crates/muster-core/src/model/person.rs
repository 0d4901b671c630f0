//! A person as the source describes them, in the vocabulary's nested shape
//! (`ExternalId`, `Name.*`, `Contact.*`, `Contracts[]`, `Accounts.<System>.*`).

use super::ExternalId;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One human (or shared mailbox) from the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Person {
    pub external_id: ExternalId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub name: Name,
    #[serde(default)]
    pub contact: Contact,
    #[serde(default)]
    pub contracts: Vec<Contract>,
    /// `Accounts.<System>.<field>`: account data other systems already hold for this person.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub accounts: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// `Custom.<name>` (HelloID's person model has custom fields too): facts a source knows
    /// that the model has no field for, kept as JSON values (a mailbox's aliases are a list,
    /// `account_disabled` a bool). Read in rules and mappings as `custom.<name>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, serde_json::Value>,
    /// Index into `contracts` of the primary contract, chosen by the configured
    /// [`PrimaryContractRule`](super::PrimaryContractRule) when the run starts.
    #[serde(skip)]
    pub primary: Option<usize>,
    /// What the record stands for: a person (the default), or an identity that is no one's,
    /// such as a shared mailbox. Set by the source that read it.
    #[serde(default, skip_serializing_if = "IdentityKind::is_person")]
    pub kind: IdentityKind,
}

/// What a source record stands for. Sources yield persons and, where the source knows them,
/// identities that belong to no one person; each is an ordinary record, told apart by this
/// mark rather than by which kind of source read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdentityKind {
    /// A human, with contracts.
    #[default]
    Person,
    /// A mailbox several persons use (a functional account), e.g. `servicedesk@…`.
    SharedMailbox,
}

impl IdentityKind {
    pub fn is_person(&self) -> bool {
        *self == IdentityKind::Person
    }
}

impl Person {
    pub fn new(external_id: impl Into<ExternalId>) -> Self {
        Self {
            external_id: external_id.into(),
            display_name: None,
            name: Name::default(),
            contact: Contact::default(),
            contracts: Vec::new(),
            accounts: BTreeMap::new(),
            custom: BTreeMap::new(),
            primary: None,
            kind: IdentityKind::Person,
        }
    }

    pub fn primary_contract(&self) -> Option<&Contract> {
        self.primary.and_then(|i| self.contracts.get(i))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Name {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name_partner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name_partner_prefix: Option<String>,
    /// Display-name convention: `B` (birth name), `BP`, `P` (partner name), `PB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convention: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initials: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Contact {
    #[serde(default)]
    pub business: ContactPoint,
    #[serde(default)]
    pub personal: ContactPoint,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContactPoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_mobile: Option<String>,
}

/// An employment or enrolment period, in HelloID's contract model: what it refers to
/// (department, title, organization, ...) are objects with their own id, code and name, so a
/// department's code and its name are two values (HelloID's department groups use the id).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Contract {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    /// Last day of the contract (inclusive); none means open-ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
    /// HelloID calls the department's name `DisplayName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Unit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Unit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Unit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Manager>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Unit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<Unit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<Unit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<Unit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Unit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fte: Option<f64>,
}

/// Something a contract refers to (HelloID's `Department`, `Title`, `Organization`,
/// `Location`, `CostCenter`, `Division`, `Employer`, `Team`): its id, code and name. Built from
/// a bare name with `"Sales".into()`; read from a stored snapshot written before contracts held
/// objects, a plain string is that name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Unit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `Name`, or `DisplayName` for a department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl From<&str> for Unit {
    fn from(name: &str) -> Self {
        Self {
            name: Some(name.to_owned()),
            ..Self::default()
        }
    }
}

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Object {
            #[serde(default)]
            external_id: Option<String>,
            #[serde(default)]
            code: Option<String>,
            #[serde(default, alias = "DisplayName")]
            name: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Name(String),
            Object(Object),
        }
        Ok(match Form::deserialize(d)? {
            Form::Name(name) => Unit::from(name.as_str()),
            Form::Object(o) => Unit {
                external_id: o.external_id,
                code: o.code,
                name: o.name,
            },
        })
    }
}

/// A contract's manager (HelloID's `Manager`): their `ExternalId` (the person whose account a
/// `managedByUserGUID` refers to), name and e-mail. Built from a bare id with `"1000".into()`;
/// read from a stored snapshot, a plain string is that id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Manager {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<ExternalId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl From<&str> for Manager {
    fn from(external_id: &str) -> Self {
        Self {
            external_id: Some(ExternalId::new(external_id)),
            ..Self::default()
        }
    }
}

impl<'de> Deserialize<'de> for Manager {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Object {
            #[serde(default)]
            external_id: Option<ExternalId>,
            #[serde(default)]
            display_name: Option<String>,
            #[serde(default)]
            email: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Id(String),
            Object(Object),
        }
        Ok(match Form::deserialize(d)? {
            Form::Id(id) => Manager::from(id.as_str()),
            Form::Object(o) => Manager {
                external_id: o.external_id,
                display_name: o.display_name,
                email: o.email,
            },
        })
    }
}

impl Contract {
    /// Active on `day`: started (or no start) and not yet ended.
    pub fn is_active_on(&self, day: NaiveDate) -> bool {
        self.start_date.is_none_or(|s| s <= day) && self.end_date.is_none_or(|e| day <= e)
    }
}

/// One record as a source delivers it: a valid person, or a record that could not be read.
// Nearly every record is valid, so boxing `Person` would cost an allocation per person to
// save space only on the rare blocked one.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum SourceRecord {
    Valid(Person),
    /// Stays in the run with its reason; never read as "this person left".
    Blocked {
        id: ExternalId,
        /// Where the record was found, e.g. `persons.csv:17`.
        location: String,
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A person's serialised form (snapshots, digests) is what it was before identities had
    /// kinds; a shared mailbox says what it is and reads back as one.
    #[test]
    fn only_a_non_person_identity_carries_its_kind() {
        let person = serde_json::to_value(Person::new("1")).unwrap();
        assert_eq!(person.get("Kind"), None, "{person}");
        let mut mailbox = Person::new("servicedesk");
        mailbox.kind = IdentityKind::SharedMailbox;
        let text = serde_json::to_value(&mailbox).unwrap();
        assert_eq!(text["Kind"], "SharedMailbox");
        let back: Person = serde_json::from_value(text).unwrap();
        assert_eq!(back.kind, IdentityKind::SharedMailbox);
        let old: Person = serde_json::from_value(person).unwrap();
        assert!(old.kind.is_person());
    }
}
