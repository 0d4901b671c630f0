//! Dotted paths into a person (`Name.GivenName`, `PrimaryContract.Department`,
//! `Accounts.AD.userPrincipalName`), parsed once at configuration time so evaluation never
//! parses strings.

use super::{Contract, ExternalId, Manager, Person, Unit};
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
    CostCenter,
    Division,
    Employer,
    Team,
    Fte,
}

/// A part of what a contract refers to, as HelloID names it: `Department.ExternalId`,
/// `Department.Code`, `Department.DisplayName`, `Title.Name`, `Manager.Email`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitPart {
    ExternalId,
    Code,
    /// `DisplayName` for the department and the manager, `Name` for the others.
    Name,
    /// The manager's only.
    Email,
}

const UNIT_PARTS: [(&str, UnitPart); 3] = [
    ("ExternalId", UnitPart::ExternalId),
    ("Code", UnitPart::Code),
    ("Name", UnitPart::Name),
];
const DEPARTMENT_PARTS: [(&str, UnitPart); 3] = [
    ("ExternalId", UnitPart::ExternalId),
    ("Code", UnitPart::Code),
    ("DisplayName", UnitPart::Name),
];
const MANAGER_PARTS: [(&str, UnitPart); 3] = [
    ("ExternalId", UnitPart::ExternalId),
    ("DisplayName", UnitPart::Name),
    ("Email", UnitPart::Email),
];

impl ContractField {
    const ALL: [(&'static str, ContractField); 13] = [
        ("ExternalId", ContractField::ExternalId),
        ("StartDate", ContractField::StartDate),
        ("EndDate", ContractField::EndDate),
        ("Department", ContractField::Department),
        ("Title", ContractField::Title),
        ("Organization", ContractField::Organization),
        ("Manager", ContractField::Manager),
        ("Location", ContractField::Location),
        ("CostCenter", ContractField::CostCenter),
        ("Division", ContractField::Division),
        ("Employer", ContractField::Employer),
        ("Team", ContractField::Team),
        ("Fte", ContractField::Fte),
    ];

    /// Every contract field, in the order of the model.
    pub fn all() -> impl Iterator<Item = ContractField> {
        Self::ALL.iter().map(|(_, f)| *f)
    }

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

    /// The parts of an object field with HelloID's names; empty for plain values.
    pub fn parts(self) -> &'static [(&'static str, UnitPart)] {
        match self {
            ContractField::Department => &DEPARTMENT_PARTS,
            ContractField::Manager => &MANAGER_PARTS,
            ContractField::ExternalId
            | ContractField::StartDate
            | ContractField::EndDate
            | ContractField::Fte => &[],
            _ => &UNIT_PARTS,
        }
    }

    /// The part `sub` names (case-insensitive); `Name` and `DisplayName` both name the name.
    pub fn parse_part(self, sub: &str) -> Option<UnitPart> {
        let is = |n: &str| n.eq_ignore_ascii_case(sub);
        self.parts()
            .iter()
            .find(|(n, p)| is(n) || (*p == UnitPart::Name && (is("Name") || is("DisplayName"))))
            .map(|(_, p)| *p)
    }

    /// HelloID's name of a part of this field (`DisplayName` for a department's name).
    pub fn part_name(self, part: UnitPart) -> &'static str {
        self.parts()
            .iter()
            .find(|(_, p)| *p == part)
            .map_or("?", |(n, _)| n)
    }

    /// The part a flat path (`Contract.Department`) reads: the name, and for the manager the
    /// `ExternalId` (what a flat `Manager` column has always held). `None` for plain values.
    pub fn flat_part(self) -> Option<UnitPart> {
        match self {
            ContractField::Manager => Some(UnitPart::ExternalId),
            f if f.parts().is_empty() => None,
            _ => Some(UnitPart::Name),
        }
    }

    /// The value of the flat path `Contract.<field>`.
    pub fn get(self, c: &Contract) -> Option<Cow<'_, str>> {
        fn s(v: &Option<String>) -> Option<Cow<'_, str>> {
            v.as_deref().map(Cow::Borrowed)
        }
        match self {
            ContractField::ExternalId => s(&c.external_id),
            ContractField::StartDate => c.start_date.map(|d| Cow::Owned(d.to_string())),
            ContractField::EndDate => c.end_date.map(|d| Cow::Owned(d.to_string())),
            ContractField::Fte => c.fte.map(|f| Cow::Owned(f.to_string())),
            _ => self.flat_part().and_then(|part| self.get_part(c, part)),
        }
    }

    /// One part of an object field: `Department` + `ExternalId`.
    pub fn get_part(self, c: &Contract, part: UnitPart) -> Option<Cow<'_, str>> {
        let text = match (self, &c.manager) {
            (ContractField::Manager, Some(m)) => match part {
                UnitPart::ExternalId => {
                    return m.external_id.as_ref().map(|id| Cow::Borrowed(id.as_str()))
                }
                UnitPart::Name => &m.display_name,
                UnitPart::Email => &m.email,
                UnitPart::Code => return None,
            },
            (ContractField::Manager, None) => return None,
            _ => {
                let unit = self.unit(c)?;
                match part {
                    UnitPart::ExternalId => &unit.external_id,
                    UnitPart::Code => &unit.code,
                    UnitPart::Name => &unit.name,
                    UnitPart::Email => return None,
                }
            }
        };
        text.as_deref().map(Cow::Borrowed)
    }

    fn unit(self, c: &Contract) -> Option<&Unit> {
        match self {
            ContractField::Department => c.department.as_ref(),
            ContractField::Title => c.title.as_ref(),
            ContractField::Organization => c.organization.as_ref(),
            ContractField::Location => c.location.as_ref(),
            ContractField::CostCenter => c.cost_center.as_ref(),
            ContractField::Division => c.division.as_ref(),
            ContractField::Employer => c.employer.as_ref(),
            ContractField::Team => c.team.as_ref(),
            _ => None,
        }
    }

    /// Sets one part of an object field, creating the object if needed (the manager's
    /// `ExternalId` as a person's id); nothing for a part this field does not have, and for
    /// plain values.
    pub fn set_part(self, c: &mut Contract, part: UnitPart, value: String) {
        if !self.parts().iter().any(|(_, p)| *p == part) {
            return;
        }
        if self == ContractField::Manager {
            let m = c.manager.get_or_insert_with(Manager::default);
            match part {
                UnitPart::ExternalId => m.external_id = Some(ExternalId::new(value)),
                UnitPart::Name => m.display_name = Some(value),
                UnitPart::Email => m.email = Some(value),
                UnitPart::Code => {}
            }
        } else if let Some(slot) = self.unit_slot(c, part) {
            *slot = Some(value);
        }
    }

    /// Where one part of a unit field (not the manager) is kept, creating the unit.
    fn unit_slot(self, c: &mut Contract, part: UnitPart) -> Option<&mut Option<String>> {
        let unit = match self {
            ContractField::Department => &mut c.department,
            ContractField::Title => &mut c.title,
            ContractField::Organization => &mut c.organization,
            ContractField::Location => &mut c.location,
            ContractField::CostCenter => &mut c.cost_center,
            ContractField::Division => &mut c.division,
            ContractField::Employer => &mut c.employer,
            ContractField::Team => &mut c.team,
            _ => return None,
        }
        .get_or_insert_with(Unit::default);
        match part {
            UnitPart::ExternalId => Some(&mut unit.external_id),
            UnitPart::Code => Some(&mut unit.code),
            UnitPart::Name => Some(&mut unit.name),
            UnitPart::Email => None,
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

impl ContractScope {
    fn contract<'a>(
        self,
        person: &'a Person,
        current: Option<&'a Contract>,
    ) -> Option<&'a Contract> {
        match self {
            ContractScope::Current => current.or_else(|| person.primary_contract()),
            ContractScope::Primary => person.primary_contract(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PersonPath {
    ExternalId,
    DisplayName,
    Name(&'static str),
    Contact {
        business: bool,
        field: &'static str,
    },
    /// A flat contract path: `PrimaryContract.Department` (the department's name).
    Contract(ContractScope, ContractField),
    /// One part of what a contract refers to: `PrimaryContract.Department.ExternalId`.
    ContractPart(ContractScope, ContractField, UnitPart),
    Account {
        system: String,
        field: String,
    },
    /// `custom.<name>`: one of the person's [`custom`](Person::custom) values.
    Custom(String),
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

const CONTRACT_FIELD_LIST: &str = "ExternalId, StartDate, EndDate, Fte, and the objects Department, Title, Organization, Manager, Location, CostCenter, Division, Employer, Team (e.g. `Department` for its name, `Department.ExternalId`)";

fn contract_scope(head: &str) -> Option<ContractScope> {
    if head.eq_ignore_ascii_case("PrimaryContract") {
        Some(ContractScope::Primary)
    } else if head.eq_ignore_ascii_case("Contract") {
        Some(ContractScope::Current)
    } else {
        None
    }
}

/// The part `sub` of `field`, or what the field has instead.
fn contract_part(field: ContractField, sub: &str) -> Result<UnitPart, String> {
    if field.parts().is_empty() {
        return Err(format!(
            "`{}` is a plain value and has no parts",
            field.name()
        ));
    }
    field.parse_part(sub).ok_or_else(|| {
        let names: Vec<&str> = field.parts().iter().map(|(n, _)| *n).collect();
        format!("`{}` has the parts {}", field.name(), names.join(", "))
    })
}

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
            [c, f] if contract_scope(c).is_some() => {
                let scope = contract_scope(c).unwrap_or(ContractScope::Primary);
                ContractField::parse(f)
                    .map(|field| Self::Contract(scope, field))
                    .ok_or_else(|| err(&format!("contract fields are {CONTRACT_FIELD_LIST}")))
            }
            [c, f, sub] if contract_scope(c).is_some() => {
                let scope = contract_scope(c).unwrap_or(ContractScope::Primary);
                let field = ContractField::parse(f)
                    .ok_or_else(|| err(&format!("contract fields are {CONTRACT_FIELD_LIST}")))?;
                contract_part(field, sub).map(|part| Self::ContractPart(scope, field, part)).map_err(|hint| err(&hint))
            }
            [a, system, field] if a.eq_ignore_ascii_case("Accounts") => Ok(Self::Account {
                system: (*system).to_owned(),
                field: (*field).to_owned(),
            }),
            [c, name] if c.eq_ignore_ascii_case("Custom") && !name.is_empty() => {
                Ok(Self::Custom((*name).to_owned()))
            }
            _ => Err(err("expected ExternalId, DisplayName, Name.*, Contact.Business|Personal.*, PrimaryContract.*, Contract.*, Accounts.<System>.<field> or custom.<name>")),
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
            Self::Contract(scope, field) => field
                .get(scope.contract(person, current)?)
                .filter(|v| !v.is_empty()),
            Self::ContractPart(scope, field, part) => field
                .get_part(scope.contract(person, current)?, *part)
                .filter(|v| !v.is_empty()),
            Self::Account { system, field } => json_text(person.accounts.get(system)?.get(field)?),
            Self::Custom(name) => json_text(person.custom.get(name)?),
        }
    }

    /// The value at this path as JSON, for a mapping: a `custom.<name>` list or bool keeps
    /// its type (a mailbox's aliases map onto a list attribute; an empty list is a value,
    /// "no aliases"), every other path is its text from [`get`](Self::get).
    pub fn value(&self, person: &Person) -> Option<serde_json::Value> {
        match self {
            Self::Custom(name) => match person.custom.get(name)? {
                serde_json::Value::Null => None,
                serde_json::Value::String(v) if v.is_empty() => None,
                other => Some(other.clone()),
            },
            _ => self
                .get(person, None)
                .map(|v| serde_json::Value::String(v.into_owned())),
        }
    }
}

/// A JSON value as the text rules compare: a string as itself (none when empty), `null` as
/// none, anything else (a number, a bool, a list) as its JSON text.
fn json_text(value: &serde_json::Value) -> Option<Cow<'_, str>> {
    match value {
        serde_json::Value::String(v) if !v.is_empty() => Some(Cow::Borrowed(v)),
        serde_json::Value::Null | serde_json::Value::String(_) => None,
        other => Some(Cow::Owned(other.to_string())),
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
            Self::ContractPart(scope, c, part) => write!(
                f,
                "{}.{}.{}",
                match scope {
                    ContractScope::Primary => "PrimaryContract",
                    ContractScope::Current => "Contract",
                },
                c.name(),
                c.part_name(*part)
            ),
            Self::Account { system, field } => write!(f, "Accounts.{system}.{field}"),
            Self::Custom(name) => write!(f, "custom.{name}"),
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

    fn helloid_person() -> Person {
        let mut p = Person::new("1001");
        p.contracts.push(Contract {
            department: Some(Unit {
                external_id: Some("D-ICT".into()),
                code: Some("ICT".into()),
                name: Some("Informatie & Techniek".into()),
            }),
            title: Some(Unit {
                external_id: Some("T-12".into()),
                code: Some("DOC".into()),
                name: Some("Docent".into()),
            }),
            organization: Some("Lyceum Noord".into()),
            manager: Some(Manager {
                external_id: Some("1000".into()),
                display_name: Some("Maarten Visser".into()),
                email: None,
            }),
            team: Some("Bovenbouw".into()),
            ..Contract::default()
        });
        p.primary = Some(0);
        p
    }

    #[test]
    fn helloid_contract_paths_read_the_parts_of_each_object() {
        let p = helloid_person();
        let get = |s: &str| {
            PersonPath::parse(s)
                .unwrap()
                .get(&p, None)
                .map(|v| v.into_owned())
        };
        assert_eq!(
            get("PrimaryContract.Department.ExternalId").as_deref(),
            Some("D-ICT")
        );
        assert_eq!(
            get("PrimaryContract.Department.Code").as_deref(),
            Some("ICT")
        );
        assert_eq!(
            get("PrimaryContract.Department.DisplayName").as_deref(),
            Some("Informatie & Techniek")
        );
        assert_eq!(get("PrimaryContract.Title.Name").as_deref(), Some("Docent"));
        assert_eq!(get("PrimaryContract.Title.Code").as_deref(), Some("DOC"));
        assert_eq!(
            get("PrimaryContract.Organization.Name").as_deref(),
            Some("Lyceum Noord")
        );
        assert_eq!(
            get("PrimaryContract.Manager.ExternalId").as_deref(),
            Some("1000")
        );
        assert_eq!(
            get("Contract.Manager.DisplayName").as_deref(),
            Some("Maarten Visser")
        );
        assert_eq!(
            get("PrimaryContract.Team.Name").as_deref(),
            Some("Bovenbouw")
        );
        assert_eq!(get("PrimaryContract.Organization.ExternalId"), None);
        assert_eq!(get("PrimaryContract.CostCenter.Code"), None);
    }

    #[test]
    fn flat_contract_paths_are_aliases_of_the_names_and_the_manager_id() {
        let p = helloid_person();
        let get = |s: &str| {
            PersonPath::parse(s)
                .unwrap()
                .get(&p, None)
                .map(|v| v.into_owned())
        };
        assert_eq!(
            get("PrimaryContract.Department").as_deref(),
            Some("Informatie & Techniek")
        );
        assert_eq!(get("Contract.Title").as_deref(), Some("Docent"));
        assert_eq!(
            get("PrimaryContract.Organization").as_deref(),
            Some("Lyceum Noord")
        );
        assert_eq!(get("PrimaryContract.Manager").as_deref(), Some("1000"));
        assert_eq!(get("PrimaryContract.Team").as_deref(), Some("Bovenbouw"));
    }

    #[test]
    fn contract_parts_that_do_not_exist_are_refused_with_the_ones_that_do() {
        let e = PersonPath::parse("PrimaryContract.Manager.Code").unwrap_err();
        assert!(e.hint.contains("ExternalId, DisplayName, Email"), "{e}");
        let e = PersonPath::parse("PrimaryContract.Title.Salary").unwrap_err();
        assert!(e.hint.contains("ExternalId, Code, Name"), "{e}");
        let e = PersonPath::parse("PrimaryContract.StartDate.Name").unwrap_err();
        assert!(e.hint.contains("plain value"), "{e}");
        assert!(PersonPath::parse("PrimaryContract.Department.Name").is_ok());
        assert!(PersonPath::parse("PrimaryContract.Title.DisplayName").is_ok());
    }

    #[test]
    fn a_source_sets_parts_and_the_managers_id_is_a_persons_id() {
        let mut c = Contract::default();
        ContractField::Manager.set_part(&mut c, UnitPart::ExternalId, "1000".into());
        ContractField::Manager.set_part(&mut c, UnitPart::Name, "Maarten Visser".into());
        ContractField::Department.set_part(&mut c, UnitPart::Code, "ICT".into());
        // Parts a field does not have change nothing.
        ContractField::Manager.set_part(&mut c, UnitPart::Code, "X".into());
        ContractField::Fte.set_part(&mut c, UnitPart::Name, "X".into());
        let m = c.manager.as_ref().unwrap();
        assert_eq!(m.external_id, Some(ExternalId::new("1000")));
        assert_eq!(m.display_name.as_deref(), Some("Maarten Visser"));
        assert_eq!(
            c.department.as_ref().and_then(|d| d.code.as_deref()),
            Some("ICT")
        );
        assert_eq!(c.fte, None);
        assert_eq!(
            ContractField::Manager
                .get_part(&c, UnitPart::ExternalId)
                .as_deref(),
            Some("1000")
        );
    }

    #[test]
    fn old_snapshots_with_plain_strings_still_read() {
        let c: Contract = serde_json::from_value(serde_json::json!({
            "Department": "Sales", "Manager": "7", "Title": {"Name": "Docent", "Code": "DOC"},
            "Organization": {"DisplayName": "Lyceum"}
        }))
        .unwrap();
        assert_eq!(c.department, Some(Unit::from("Sales")));
        assert_eq!(c.manager, Some(Manager::from("7")));
        assert_eq!(
            c.title.as_ref().and_then(|t| t.code.as_deref()),
            Some("DOC")
        );
        assert_eq!(c.organization, Some(Unit::from("Lyceum")));
        let back: Contract = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn unknown_paths_explain_what_is_expected() {
        let e = PersonPath::parse("Name.Middle").unwrap_err();
        assert!(e.hint.contains("GivenName"), "{e}");
        assert!(PersonPath::parse("Foo").is_err());
        assert!(PersonPath::parse("PrimaryContract.Salary").is_err());
    }

    #[test]
    fn custom_paths_read_text_for_rules_and_json_for_mappings() {
        let mut p = Person::new("5d1c");
        p.custom
            .insert("primary_address".into(), serde_json::json!("info@x.nl"));
        p.custom
            .insert("aliases".into(), serde_json::json!(["a@x.nl", "b@x.nl"]));
        p.custom.insert("delegates".into(), serde_json::json!([]));
        p.custom
            .insert("account_disabled".into(), serde_json::json!(true));
        p.custom.insert("empty".into(), serde_json::json!(""));
        let path = |s: &str| PersonPath::parse(s).unwrap();
        assert_eq!(
            path("Custom.primary_address"),
            PersonPath::Custom("primary_address".into())
        );
        let text = |s: &str| path(s).get(&p, None).map(|v| v.into_owned());
        assert_eq!(text("custom.primary_address").as_deref(), Some("info@x.nl"));
        assert_eq!(text("custom.account_disabled").as_deref(), Some("true"));
        assert_eq!(text("custom.empty"), None);
        assert_eq!(text("custom.missing"), None);
        assert_eq!(
            path("custom.aliases").value(&p),
            Some(serde_json::json!(["a@x.nl", "b@x.nl"]))
        );
        assert_eq!(
            path("custom.delegates").value(&p),
            Some(serde_json::json!([]))
        );
        assert_eq!(
            path("custom.account_disabled").value(&p),
            Some(serde_json::json!(true))
        );
        assert_eq!(path("custom.empty").value(&p), None);
        assert_eq!(
            path("DisplayName").value(&p),
            None,
            "other paths are their text"
        );
        assert!(PersonPath::parse("custom.").is_err());
        assert!(PersonPath::parse("custom.a.b").is_err());
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "Name.GivenName",
            "Contact.Personal.PhoneMobile",
            "PrimaryContract.Fte",
            "Contract.Title",
            "PrimaryContract.Department.DisplayName",
            "Contract.Title.Code",
            "PrimaryContract.Manager.ExternalId",
            "Accounts.AD.upn",
            "custom.aliases",
        ] {
            assert_eq!(PersonPath::parse(s).unwrap().to_string(), s);
        }
    }
}
