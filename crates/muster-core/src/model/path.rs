//! Dotted paths into a person (`Name.GivenName`, `PrimaryContract.Department`,
//! `Accounts.AD.userPrincipalName`), parsed once at configuration time so evaluation never
//! parses strings.

use super::{Contract, Person};
use std::borrow::Cow;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContractField {
    ExternalId,
    StartDate,
    EndDate,
    Department,
    Title,
    Organization,
    Manager,
    Location,
    Fte,
}

impl ContractField {
    const ALL: [(&'static str, ContractField); 9] = [
        ("ExternalId", ContractField::ExternalId),
        ("StartDate", ContractField::StartDate),
        ("EndDate", ContractField::EndDate),
        ("Department", ContractField::Department),
        ("Title", ContractField::Title),
        ("Organization", ContractField::Organization),
        ("Manager", ContractField::Manager),
        ("Location", ContractField::Location),
        ("Fte", ContractField::Fte),
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, f)| *f)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }

    pub fn get(self, c: &Contract) -> Option<Cow<'_, str>> {
        fn s(v: &Option<String>) -> Option<Cow<'_, str>> {
            v.as_deref().map(Cow::Borrowed)
        }
        match self {
            ContractField::ExternalId => s(&c.external_id),
            ContractField::StartDate => c.start_date.map(|d| Cow::Owned(d.to_string())),
            ContractField::EndDate => c.end_date.map(|d| Cow::Owned(d.to_string())),
            ContractField::Department => s(&c.department),
            ContractField::Title => s(&c.title),
            ContractField::Organization => s(&c.organization),
            ContractField::Manager => s(&c.manager),
            ContractField::Location => s(&c.location),
            ContractField::Fte => c.fte.map(|f| Cow::Owned(f.to_string())),
        }
    }
}

/// Which contract a `Contract.*` path reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContractScope {
    /// `PrimaryContract.*`
    Primary,
    /// `Contract.*`: the contract a dynamic permission is being computed for; the primary
    /// contract everywhere else.
    Current,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PersonPath {
    ExternalId,
    DisplayName,
    Name(&'static str),
    Contact { business: bool, field: &'static str },
    Contract(ContractScope, ContractField),
    Account { system: String, field: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown person field `{path}`: {hint}")]
pub struct PathError {
    pub path: String,
    pub hint: String,
}

const NAME_FIELDS: [&str; 8] = [
    "GivenName",
    "NickName",
    "FamilyName",
    "FamilyNamePrefix",
    "FamilyNamePartner",
    "FamilyNamePartnerPrefix",
    "Convention",
    "Initials",
];
const CONTACT_FIELDS: [&str; 3] = ["Email", "PhoneFixed", "PhoneMobile"];

impl PersonPath {
    pub fn parse(path: &str) -> Result<Self, PathError> {
        let err = |hint: &str| PathError {
            path: path.to_owned(),
            hint: hint.to_owned(),
        };
        let parts: Vec<&str> = path.split('.').collect();
        let find = |list: &[&'static str], name: &str| {
            list.iter().copied().find(|f| f.eq_ignore_ascii_case(name))
        };
        match parts.as_slice() {
            [p] if p.eq_ignore_ascii_case("ExternalId") => Ok(Self::ExternalId),
            [p] if p.eq_ignore_ascii_case("DisplayName") => Ok(Self::DisplayName),
            [n, f] if n.eq_ignore_ascii_case("Name") => find(&NAME_FIELDS, f)
                .map(Self::Name)
                .ok_or_else(|| err(&format!("Name.* is one of {}", NAME_FIELDS.join(", ")))),
            [c, kind, f] if c.eq_ignore_ascii_case("Contact") => {
                let business = if kind.eq_ignore_ascii_case("Business") {
                    true
                } else if kind.eq_ignore_ascii_case("Personal") {
                    false
                } else {
                    return Err(err("expected Contact.Business.* or Contact.Personal.*"));
                };
                find(&CONTACT_FIELDS, f)
                    .map(|field| Self::Contact { business, field })
                    .ok_or_else(|| err("Contact.*.* is Email, PhoneFixed or PhoneMobile"))
            }
            [c, f] if c.eq_ignore_ascii_case("PrimaryContract") || c.eq_ignore_ascii_case("Contract") => {
                let scope = if c.eq_ignore_ascii_case("Contract") {
                    ContractScope::Current
                } else {
                    ContractScope::Primary
                };
                ContractField::parse(f)
                    .map(|field| Self::Contract(scope, field))
                    .ok_or_else(|| err("contract fields are ExternalId, StartDate, EndDate, Department, Title, Organization, Manager, Location, Fte"))
            }
            [a, system, field] if a.eq_ignore_ascii_case("Accounts") => Ok(Self::Account {
                system: (*system).to_owned(),
                field: (*field).to_owned(),
            }),
            _ => Err(err("expected ExternalId, DisplayName, Name.*, Contact.Business|Personal.*, PrimaryContract.*, Contract.* or Accounts.<System>.<field>")),
        }
    }

    /// The value at this path; `current` is the contract a dynamic permission iterates over.
    pub fn get<'a>(
        &self,
        person: &'a Person,
        current: Option<&'a Contract>,
    ) -> Option<Cow<'a, str>> {
        let s = |v: &'a Option<String>| v.as_deref().filter(|v| !v.is_empty()).map(Cow::Borrowed);
        match self {
            Self::ExternalId => Some(Cow::Borrowed(person.external_id.as_str())),
            Self::DisplayName => s(&person.display_name),
            Self::Name(field) => {
                let n = &person.name;
                s(match *field {
                    "GivenName" => &n.given_name,
                    "NickName" => &n.nick_name,
                    "FamilyName" => &n.family_name,
                    "FamilyNamePrefix" => &n.family_name_prefix,
                    "FamilyNamePartner" => &n.family_name_partner,
                    "FamilyNamePartnerPrefix" => &n.family_name_partner_prefix,
                    "Convention" => &n.convention,
                    _ => &n.initials,
                })
            }
            Self::Contact { business, field } => {
                let point = if *business {
                    &person.contact.business
                } else {
                    &person.contact.personal
                };
                s(match *field {
                    "Email" => &point.email,
                    "PhoneFixed" => &point.phone_fixed,
                    _ => &point.phone_mobile,
                })
            }
            Self::Contract(scope, field) => {
                let contract = match scope {
                    ContractScope::Current => current.or_else(|| person.primary_contract()),
                    ContractScope::Primary => person.primary_contract(),
                }?;
                field.get(contract).filter(|v| !v.is_empty())
            }
            Self::Account { system, field } => match person.accounts.get(system)?.get(field)? {
                serde_json::Value::String(v) if !v.is_empty() => Some(Cow::Borrowed(v)),
                serde_json::Value::Null | serde_json::Value::String(_) => None,
                other => Some(Cow::Owned(other.to_string())),
            },
        }
    }
}

impl fmt::Display for PersonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ExternalId => f.write_str("ExternalId"),
            Self::DisplayName => f.write_str("DisplayName"),
            Self::Name(n) => write!(f, "Name.{n}"),
            Self::Contact { business, field } => write!(
                f,
                "Contact.{}.{field}",
                if *business { "Business" } else { "Personal" }
            ),
            Self::Contract(ContractScope::Primary, c) => write!(f, "PrimaryContract.{}", c.name()),
            Self::Contract(ContractScope::Current, c) => write!(f, "Contract.{}", c.name()),
            Self::Account { system, field } => write!(f, "Accounts.{system}.{field}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reads_nested_paths() {
        let mut p = Person::new("42");
        p.name.given_name = Some("Anouk".into());
        p.contact.business.email = Some("a@x.example".into());
        p.contracts.push(Contract {
            department: Some("Sales".into()),
            ..Contract::default()
        });
        p.primary = Some(0);
        let get = |s: &str| {
            PersonPath::parse(s)
                .unwrap()
                .get(&p, None)
                .map(|v| v.into_owned())
        };
        assert_eq!(get("name.givenname").as_deref(), Some("Anouk"));
        assert_eq!(
            get("Contact.Business.Email").as_deref(),
            Some("a@x.example")
        );
        assert_eq!(get("PrimaryContract.Department").as_deref(), Some("Sales"));
        assert_eq!(get("ExternalId").as_deref(), Some("42"));
        assert_eq!(get("Name.FamilyName"), None);
    }

    #[test]
    fn unknown_paths_explain_what_is_expected() {
        let e = PersonPath::parse("Name.Middle").unwrap_err();
        assert!(e.hint.contains("GivenName"), "{e}");
        assert!(PersonPath::parse("Foo").is_err());
        assert!(PersonPath::parse("PrimaryContract.Salary").is_err());
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "Name.GivenName",
            "Contact.Personal.PhoneMobile",
            "PrimaryContract.Fte",
            "Contract.Title",
            "Accounts.AD.upn",
        ] {
            assert_eq!(PersonPath::parse(s).unwrap().to_string(), s);
        }
    }
}
