//! Turning one text value into one person or contract field: which slot a path fills, how
//! dates and FTEs are parsed, and the messages a blocked record gets when a value does not fit.
//! Shared by the CSV and JSON readers, so both say the same thing about the same mistake.

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use muster_core::model::{Contract, ContractField, Person, PersonPath, UnitPart};
use std::fmt::Write as _;

/// The longest value accepted in one field. Longer values are garbage (often a quote left open
/// that swallowed the rest of the file), so the record is blocked rather than imported.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

pub(crate) const CONTRACT_FIELD_NAMES: &str =
    "ExternalId, StartDate, EndDate, Fte, and Department, Title, Organization, Manager, \
     Location, CostCenter, Division, Employer, Team, each alone (the name; the manager's \
     ExternalId) or with a part as HelloID names it (Department.ExternalId, Department.Code, \
     Department.DisplayName, Title.Name, Manager.DisplayName, ...)";

/// A contract value one column (or JSON key) fills: a plain field (`StartDate`), an object
/// field alone (`Department`: its name; `Manager`: its `ExternalId`), or one part of an
/// object field (`Department.ExternalId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContractSlot {
    pub(crate) field: ContractField,
    pub(crate) part: Option<UnitPart>,
}

impl ContractSlot {
    pub(crate) fn flat(field: ContractField) -> Self {
        Self { field, part: None }
    }

    /// `Department` or `Department.ExternalId` (case-insensitive).
    pub(crate) fn parse(path: &str) -> Option<Self> {
        let (head, sub) = match path.split_once('.') {
            Some((head, sub)) => (head, Some(sub)),
            None => (path, None),
        };
        let field = ContractField::parse(head)?;
        match sub {
            None => Some(Self::flat(field)),
            Some(sub) => field.parse_part(sub).map(|part| Self {
                field,
                part: Some(part),
            }),
        }
    }

    /// Every slot: each field alone, then each part of the object fields.
    pub(crate) fn all() -> impl Iterator<Item = Self> {
        ContractField::all().flat_map(|field| {
            std::iter::once(Self::flat(field)).chain(field.parts().iter().map(move |(_, p)| Self {
                field,
                part: Some(*p),
            }))
        })
    }

    /// Whether both fill the same value: `Department` is `Department.DisplayName`.
    pub(crate) fn same_value(self, other: Self) -> bool {
        self.field == other.field
            && self.part.or(self.field.flat_part()) == other.part.or(other.field.flat_part())
    }

    /// The slot's name: `Department`, `Department.DisplayName`.
    pub(crate) fn name(self) -> String {
        match self.part {
            None => self.field.name().to_owned(),
            Some(part) => format!("{}.{}", self.field.name(), self.field.part_name(part)),
        }
    }

    pub(crate) fn get(self, c: &Contract) -> Option<std::borrow::Cow<'_, str>> {
        match self.part {
            None => self.field.get(c),
            Some(part) => self.field.get_part(c, part),
        }
    }

    /// Fills this slot with text; nothing for dates and the FTE, which are parsed.
    pub(crate) fn set_text(self, c: &mut Contract, value: &str) {
        if self.field == ContractField::ExternalId {
            c.external_id = Some(value.to_owned());
        } else if let Some(part) = self.part.or(self.field.flat_part()) {
            self.field.set_part(c, part, value.to_owned());
        }
    }
}

/// Trims surrounding whitespace (and stray byte order marks, left by concatenated exports);
/// an empty value is absent.
pub(crate) fn clean(value: &str) -> Option<&str> {
    let value = trim(value);
    (!value.is_empty()).then_some(value)
}

/// Trims whitespace and byte order marks.
pub(crate) fn trim(value: &str) -> &str {
    value.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// Refuses values longer than [`MAX_VALUE_BYTES`] and values holding control characters
/// (NUL and the like; tabs and line breaks are allowed), which no person field can mean.
pub(crate) fn check_value(value: &str) -> Result<(), String> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(format!(
            "value is {} bytes long; at most {MAX_VALUE_BYTES} are accepted",
            value.len()
        ));
    }
    match value
        .bytes()
        .find(|b| b.is_ascii_control() && !matches!(b, b'\t' | b'\n' | b'\r'))
    {
        Some(b) => Err(format!("value holds the control character U+{b:04X}")),
        None => Ok(()),
    }
}

/// Explains bytes that are not UTF-8, pointing at the first bad byte.
pub(crate) fn utf8_problem(bytes: &[u8], error: std::str::Utf8Error) -> String {
    let at = error.valid_up_to();
    let byte = bytes.get(at).copied().unwrap_or_default();
    format!(
        "not valid UTF-8 (byte 0x{byte:02X} at position {}); save the export as UTF-8",
        at + 1
    )
}

/// A name part of [`muster_core::model::Name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NamePart {
    GivenName,
    NickName,
    FamilyName,
    FamilyNamePrefix,
    FamilyNamePartner,
    FamilyNamePartnerPrefix,
    Convention,
    Initials,
}

impl NamePart {
    pub(crate) const ALL: [(&'static str, NamePart); 8] = [
        ("GivenName", NamePart::GivenName),
        ("NickName", NamePart::NickName),
        ("FamilyName", NamePart::FamilyName),
        ("FamilyNamePrefix", NamePart::FamilyNamePrefix),
        ("FamilyNamePartner", NamePart::FamilyNamePartner),
        ("FamilyNamePartnerPrefix", NamePart::FamilyNamePartnerPrefix),
        ("Convention", NamePart::Convention),
        ("Initials", NamePart::Initials),
    ];

    /// The part for an exact (PascalCase) key.
    pub(crate) fn from_key(key: &str) -> Option<Self> {
        Self::ALL.iter().find(|(k, _)| *k == key).map(|(_, p)| *p)
    }
}

/// A field of a [`muster_core::model::ContactPoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PointPart {
    Email,
    PhoneFixed,
    PhoneMobile,
}

impl PointPart {
    pub(crate) fn from_key(key: &str) -> Option<Self> {
        match key {
            "Email" => Some(Self::Email),
            "PhoneFixed" => Some(Self::PhoneFixed),
            "PhoneMobile" => Some(Self::PhoneMobile),
            _ => None,
        }
    }
}

/// A person field that a source value can fill, resolved once from a [`PersonPath`] so that
/// setting a value per row is a `match` on an enum, not on strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PersonSlot {
    DisplayName,
    Name(NamePart),
    Contact { business: bool, part: PointPart },
    Account { system: String, field: String },
    Custom(String),
}

impl PersonSlot {
    /// The slot for a path; `None` for paths a source cannot fill directly (`ExternalId` has
    /// its own column, contract paths come from contracts).
    pub(crate) fn for_path(path: &PersonPath) -> Option<Self> {
        match path {
            PersonPath::DisplayName => Some(Self::DisplayName),
            PersonPath::Name(part) => NamePart::from_key(part).map(Self::Name),
            PersonPath::Contact { business, field } => {
                PointPart::from_key(field).map(|part| Self::Contact {
                    business: *business,
                    part,
                })
            }
            PersonPath::Account { system, field } => Some(Self::Account {
                system: system.clone(),
                field: field.clone(),
            }),
            PersonPath::Custom(name) => Some(Self::Custom(name.clone())),
            PersonPath::ExternalId | PersonPath::Contract(..) | PersonPath::ContractPart(..) => {
                None
            }
        }
    }

    pub(crate) fn set(&self, person: &mut Person, value: String) {
        match self {
            Self::DisplayName => person.display_name = Some(value),
            Self::Name(part) => *name_slot(person, *part) = Some(value),
            Self::Contact { business, part } => {
                *contact_slot(person, *business, *part) = Some(value)
            }
            Self::Account { system, field } => {
                person
                    .accounts
                    .entry(system.clone())
                    .or_default()
                    .insert(field.clone(), serde_json::Value::String(value));
            }
            Self::Custom(name) => {
                person
                    .custom
                    .insert(name.clone(), serde_json::Value::String(value));
            }
        }
    }
}

pub(crate) fn name_slot(person: &mut Person, part: NamePart) -> &mut Option<String> {
    let n = &mut person.name;
    match part {
        NamePart::GivenName => &mut n.given_name,
        NamePart::NickName => &mut n.nick_name,
        NamePart::FamilyName => &mut n.family_name,
        NamePart::FamilyNamePrefix => &mut n.family_name_prefix,
        NamePart::FamilyNamePartner => &mut n.family_name_partner,
        NamePart::FamilyNamePartnerPrefix => &mut n.family_name_partner_prefix,
        NamePart::Convention => &mut n.convention,
        NamePart::Initials => &mut n.initials,
    }
}

pub(crate) fn contact_slot(
    person: &mut Person,
    business: bool,
    part: PointPart,
) -> &mut Option<String> {
    let point = if business {
        &mut person.contact.business
    } else {
        &mut person.contact.personal
    };
    match part {
        PointPart::Email => &mut point.email,
        PointPart::PhoneFixed => &mut point.phone_fixed,
        PointPart::PhoneMobile => &mut point.phone_mobile,
    }
}

/// Sets one contract field from a cleaned, non-empty text value.
pub(crate) fn set_contract(
    c: &mut Contract,
    slot: ContractSlot,
    value: &str,
    dates: &DateFormats,
) -> Result<(), String> {
    check_value(value)?;
    match slot.field {
        ContractField::StartDate => c.start_date = Some(dates.parse(value)?),
        ContractField::EndDate => c.end_date = Some(dates.parse(value)?),
        ContractField::Fte => c.fte = Some(parse_fte(value)?),
        _ => slot.set_text(c, value),
    }
    Ok(())
}

/// A full-time equivalent: a non-negative number, with `.` or (as Dutch and German exports
/// write it) `,` as the decimal separator.
pub(crate) fn parse_fte(value: &str) -> Result<f64, String> {
    let parsed = if value.contains(',') && !value.contains('.') {
        value.replace(',', ".").parse::<f64>()
    } else {
        value.parse::<f64>()
    };
    match parsed {
        Ok(f) if f.is_finite() && f >= 0.0 => Ok(f),
        _ => Err(format!(
            "\"{value}\" is not a non-negative number (e.g. 0.8 or 0,8)"
        )),
    }
}

/// The configured date formats, parsed once.
pub(crate) struct DateFormats {
    formats: Vec<(String, Vec<Item<'static>>)>,
    /// Also accept an RFC 3339 date-time (JSON exports), taking its date as written.
    rfc3339: bool,
}

impl DateFormats {
    /// Formats are expected to have passed [`DateFormats::check`]; one that fails to parse
    /// never matches.
    pub(crate) fn new(formats: &[String], rfc3339: bool) -> Self {
        let formats = formats
            .iter()
            .map(|f| {
                let items = StrftimeItems::new(f).parse_to_owned().unwrap_or_default();
                (f.clone(), items)
            })
            .collect();
        Self { formats, rfc3339 }
    }

    /// Checks that `format` is a chrono format that fully describes a date.
    pub(crate) fn check(format: &str) -> Result<(), String> {
        let items = StrftimeItems::new(format).parse_to_owned().map_err(|_| {
            format!("\"{format}\" is not a valid chrono format (e.g. \"%d-%m-%Y\")")
        })?;
        let probe = NaiveDate::from_ymd_opt(2025, 8, 21)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|dt| FixedOffset::east_opt(0).map(|o| o.from_utc_datetime(&dt)));
        let mut text = String::new();
        let round_trips = match probe {
            Some(Some(dt)) => {
                write!(text, "{}", dt.format_with_items(items.iter())).is_ok()
                    && Self::parse_with(&items, &text) == Some(dt.date_naive())
            }
            _ => false,
        };
        if round_trips {
            Ok(())
        } else {
            Err(format!(
                "\"{format}\" does not describe a whole date (it needs a year, month and day)"
            ))
        }
    }

    fn parse_with(items: &[Item<'static>], value: &str) -> Option<NaiveDate> {
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, value, items.iter()).ok()?;
        parsed.to_naive_date().ok()
    }

    /// Parses a cleaned date value, trying each format in order.
    pub(crate) fn parse(&self, value: &str) -> Result<NaiveDate, String> {
        for (_, items) in &self.formats {
            if let Some(date) = Self::parse_with(items, value) {
                return Ok(date);
            }
        }
        if self.rfc3339 {
            if let Ok(dt) = DateTime::parse_from_rfc3339(value) {
                return Ok(dt.date_naive());
            }
            if let Ok(dt) = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f") {
                return Ok(dt.date());
            }
        }
        Err(self.problem(value))
    }

    fn problem(&self, value: &str) -> String {
        let names: Vec<&str> = self.formats.iter().map(|(f, _)| f.as_str()).collect();
        let mut message = if names.len() == 1 {
            format!("\"{value}\" is not a date in format {}", names.join(""))
        } else {
            format!(
                "\"{value}\" is not a date in any of the formats {}",
                names.join(", ")
            )
        };
        if self.rfc3339 {
            message.push_str(" or an RFC 3339 date-time");
        }
        message
    }
}

/// An entry of `required`: a person field, or a field every contract must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Required {
    Person(PersonPath),
    Contract(ContractSlot),
}

impl Required {
    pub(crate) fn parse(path: &str) -> Result<Self, String> {
        let contract = path.split_once('.').filter(|(head, _)| {
            head.eq_ignore_ascii_case("Contract") || head.eq_ignore_ascii_case("Contracts")
        });
        if let Some((_, field)) = contract {
            return ContractSlot::parse(field)
                .map(Self::Contract)
                .ok_or_else(|| format!("\"{path}\": contract fields are {CONTRACT_FIELD_NAMES}"));
        }
        match PersonPath::parse(path) {
            Ok(PersonPath::Contract(_, field)) => Err(format!(
                "\"{path}\": the primary contract is chosen later, by the engine; write \
                 \"Contract.{}\" to require it on every contract",
                field.name()
            )),
            Ok(PersonPath::ContractPart(_, field, part)) => Err(format!(
                "\"{path}\": the primary contract is chosen later, by the engine; write \
                 \"Contract.{}.{}\" to require it on every contract",
                field.name(),
                field.part_name(part)
            )),
            Ok(p) => Ok(Self::Person(p)),
            Err(e) => Err(format!("\"{path}\": {}", e.hint)),
        }
    }

    /// Parses a list that has passed validation, skipping anything that does not parse.
    pub(crate) fn parse_all(paths: &[String]) -> Vec<Self> {
        paths.iter().filter_map(|p| Self::parse(p).ok()).collect()
    }
}

/// `Contracts.<Field>`, the name a contract slot has in messages.
pub(crate) fn contract_path(slot: ContractSlot) -> String {
    format!("Contracts.{}", slot.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formats(list: &[&str], rfc3339: bool) -> DateFormats {
        let owned: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        DateFormats::new(&owned, rfc3339)
    }

    #[test]
    fn dates_try_each_format_in_order() {
        let f = formats(&["%d-%m-%Y", "%Y-%m-%d"], false);
        let want = NaiveDate::from_ymd_opt(2025, 8, 1).unwrap();
        assert_eq!(f.parse("01-08-2025").unwrap(), want);
        assert_eq!(f.parse("2025-08-01").unwrap(), want);
        let e = f.parse("31-02-2025").unwrap_err();
        assert_eq!(
            e,
            "\"31-02-2025\" is not a date in any of the formats %d-%m-%Y, %Y-%m-%d"
        );
    }

    #[test]
    fn rfc3339_only_where_asked_and_takes_the_written_date() {
        let want = NaiveDate::from_ymd_opt(2025, 8, 1).unwrap();
        assert!(formats(&["%Y-%m-%d"], false)
            .parse("2025-08-01T00:00:00Z")
            .is_err());
        let json = formats(&["%Y-%m-%d"], true);
        assert_eq!(json.parse("2025-08-01T00:00:00Z").unwrap(), want);
        assert_eq!(json.parse("2025-08-01T23:30:00-05:00").unwrap(), want);
        assert_eq!(json.parse("2025-08-01T08:00:00").unwrap(), want);
        assert!(json
            .parse("tomorrow")
            .unwrap_err()
            .ends_with("or an RFC 3339 date-time"));
    }

    #[test]
    fn format_check_refuses_invalid_and_incomplete_formats() {
        assert!(DateFormats::check("%Y-%m-%d").is_ok());
        assert!(DateFormats::check("%d.%m.%y").is_ok());
        assert!(DateFormats::check("%Y-%m-%dT%H:%M:%S%z").is_ok());
        assert!(DateFormats::check("%Y-%Q")
            .unwrap_err()
            .contains("not a valid"));
        assert!(DateFormats::check("%H:%M")
            .unwrap_err()
            .contains("whole date"));
        assert!(DateFormats::check("%m-%Y")
            .unwrap_err()
            .contains("whole date"));
    }

    #[test]
    fn fte_accepts_a_decimal_comma_and_refuses_nonsense() {
        assert_eq!(parse_fte("0,8").unwrap(), 0.8);
        assert_eq!(parse_fte("1").unwrap(), 1.0);
        assert!(parse_fte("-1").is_err());
        assert!(parse_fte("1,000.5").is_err());
        assert!(parse_fte("NaN").is_err());
        assert!(parse_fte("full").unwrap_err().contains("\"full\""));
    }

    #[test]
    fn required_paths_distinguish_person_and_contract_fields() {
        assert_eq!(
            Required::parse("Contract.StartDate").unwrap(),
            Required::Contract(ContractSlot::flat(ContractField::StartDate))
        );
        assert_eq!(
            Required::parse("Contracts.Fte").unwrap(),
            Required::Contract(ContractSlot::flat(ContractField::Fte))
        );
        assert_eq!(
            Required::parse("Name.FamilyName").unwrap(),
            Required::Person(PersonPath::Name("FamilyName"))
        );
        assert!(Required::parse("PrimaryContract.Title")
            .unwrap_err()
            .contains("Contract.Title"));
        assert!(Required::parse("Contract.Salary").is_err());
    }

    #[test]
    fn slots_fill_the_field_their_path_names() {
        let mut p = Person::new("1");
        for (path, value) in [
            ("Name.GivenName", "Anouk"),
            ("Contact.Personal.PhoneMobile", "06"),
            ("Accounts.AD.sAMAccountName", "anouk"),
            ("DisplayName", "Anouk B"),
        ] {
            let path = PersonPath::parse(path).unwrap();
            PersonSlot::for_path(&path)
                .unwrap()
                .set(&mut p, value.to_owned());
            assert_eq!(path.get(&p, None).as_deref(), Some(value));
        }
        assert!(PersonSlot::for_path(&PersonPath::ExternalId).is_none());
    }

    #[test]
    fn values_with_control_characters_or_too_long_are_refused() {
        assert!(check_value("Anouk\tB").is_ok());
        assert_eq!(
            check_value("An\0ouk").unwrap_err(),
            "value holds the control character U+0000"
        );
        assert!(check_value("\u{7f}").is_err());
        assert!(check_value(&"x".repeat(MAX_VALUE_BYTES + 1))
            .unwrap_err()
            .contains("bytes long"));
        assert!(check_value(&"x".repeat(MAX_VALUE_BYTES)).is_ok());
    }

    #[test]
    fn utf8_problem_points_at_the_bad_byte() {
        let bytes = b"Ren\xE9".to_vec();
        let e = std::str::from_utf8(&bytes).unwrap_err();
        assert_eq!(
            utf8_problem(&bytes, e),
            "not valid UTF-8 (byte 0xE9 at position 4); save the export as UTF-8"
        );
    }
}
