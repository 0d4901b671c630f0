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
    /// Index into `contracts` of the primary contract, chosen by the configured
    /// [`PrimaryContractRule`](super::PrimaryContractRule) when the run starts.
    #[serde(skip)]
    pub primary: Option<usize>,
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
            primary: None,
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

/// An employment or enrolment period.
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// The manager's `ExternalId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fte: Option<f64>,
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
