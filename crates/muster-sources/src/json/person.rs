//! One JSON element into one person: the nested PascalCase shape of `Person`, read field by
//! field from a `serde_json::Value` so that every message names the field at fault
//! (`Contracts[1].StartDate`), and unknown keys are counted for a warning instead of failing.

use crate::fields::{self, DateFormats, NamePart, PointPart, Required};
use crate::input::SourceFile;
use muster_core::model::{Contract, ContractField, IdentityKind, Person, UnitPart};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Where a value sits in a person, for messages: `Contracts[1].StartDate`.
#[derive(Clone, Copy)]
struct At<'a> {
    parent: &'a str,
    index: Option<usize>,
    key: &'a str,
}

impl<'a> At<'a> {
    fn top(key: &'a str) -> Self {
        Self {
            parent: "",
            index: None,
            key,
        }
    }

    fn under(parent: &'a str, key: &'a str) -> Self {
        Self {
            parent,
            index: None,
            key,
        }
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.parent.is_empty() {
            f.write_str(self.parent)?;
            if let Some(i) = self.index {
                write!(f, "[{i}]")?;
            }
            f.write_str(".")?;
        }
        f.write_str(self.key)
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Keys no person field matches, counted per path, reported as one warning each.
#[derive(Default)]
pub(crate) struct UnknownKeys(BTreeMap<String, (u64, u64)>);

impl UnknownKeys {
    fn note(&mut self, at: At<'_>, line: u64) {
        let key = if at.parent.is_empty() {
            at.key.to_owned()
        } else if at.index.is_some() {
            format!("{}[].{}", at.parent, at.key)
        } else {
            format!("{}.{}", at.parent, at.key)
        };
        self.0.entry(key).or_insert((0, line)).0 += 1;
    }

    pub(crate) fn warnings(self, file: &SourceFile) -> Vec<String> {
        self.0
            .into_iter()
            .map(|(key, (count, first))| {
                format!(
                    "{}: unknown field `{key}` ignored in {count} persons (first on line {first}); \
                     field names are PascalCase, as in `Name.GivenName`",
                    file.shown
                )
            })
            .collect()
    }
}

/// Reads one element into a person, collecting every problem it has.
pub(crate) struct Reader {
    dates: DateFormats,
    required: Vec<Required>,
}

/// Why a person is blocked: their id when it could be read, and every problem found.
type Refusal = (Option<String>, String);

impl Reader {
    pub(crate) fn new(dates: DateFormats, required: Vec<Required>) -> Self {
        Self { dates, required }
    }

    pub(crate) fn person(
        &self,
        value: Value,
        line: u64,
        unknown: &mut UnknownKeys,
    ) -> Result<Person, Refusal> {
        let Value::Object(mut map) = value else {
            return Err((
                None,
                format!("expected an object for a person, found {}", kind(&value)),
            ));
        };
        let id = match map
            .remove("ExternalId")
            .map(|v| id_text(v, At::top("ExternalId")))
        {
            None | Some(Ok(None)) => {
                return Err((
                    None,
                    "ExternalId is missing or empty; every person needs an id".into(),
                ))
            }
            Some(Err(problem)) => return Err((None, problem)),
            Some(Ok(Some(id))) => id,
        };
        let mut person = Person::new(id);
        let mut problems = Vec::new();
        for (key, value) in map {
            let at = At::top(&key);
            match key.as_str() {
                "DisplayName" => person.display_name = text(value, at, &mut problems),
                "Name" => self.name(value, &mut person, line, unknown, &mut problems),
                "Contact" => self.contact(value, &mut person, line, unknown, &mut problems),
                "Contracts" => self.contracts(value, &mut person, line, unknown, &mut problems),
                "Accounts" => accounts(value, &mut person, &mut problems),
                "Custom" => custom(value, &mut person, &mut problems),
                "Kind" => identity_kind(value, &mut person, &mut problems),
                _ => unknown.note(at, line),
            }
        }
        for r in &self.required {
            if let Required::Person(path) = r {
                if path.get(&person, None).is_none() {
                    problems.push(format!("required field {path} is missing or empty"));
                }
            }
        }
        if problems.is_empty() {
            Ok(person)
        } else {
            Err((Some(person.external_id.to_string()), problems.join("; ")))
        }
    }

    fn name(
        &self,
        value: Value,
        person: &mut Person,
        line: u64,
        unknown: &mut UnknownKeys,
        problems: &mut Vec<String>,
    ) {
        let Some(map) = object(value, At::top("Name"), problems) else {
            return;
        };
        for (key, value) in map {
            let at = At::under("Name", &key);
            match NamePart::from_key(&key) {
                Some(part) => *fields::name_slot(person, part) = text(value, at, problems),
                None => unknown.note(at, line),
            }
        }
    }

    fn contact(
        &self,
        value: Value,
        person: &mut Person,
        line: u64,
        unknown: &mut UnknownKeys,
        problems: &mut Vec<String>,
    ) {
        let Some(map) = object(value, At::top("Contact"), problems) else {
            return;
        };
        for (kind, value) in map {
            let (business, parent) = match kind.as_str() {
                "Business" => (true, "Contact.Business"),
                "Personal" => (false, "Contact.Personal"),
                _ => {
                    unknown.note(At::under("Contact", &kind), line);
                    continue;
                }
            };
            let Some(point) = object(value, At::under("Contact", &kind), problems) else {
                continue;
            };
            for (key, value) in point {
                let at = At::under(parent, &key);
                if key == "Phone" {
                    phone(value, person, business, parent, line, unknown, problems);
                    continue;
                }
                match PointPart::from_key(&key) {
                    Some(part) => {
                        *fields::contact_slot(person, business, part) = text(value, at, problems)
                    }
                    None => unknown.note(at, line),
                }
            }
        }
    }

    fn contracts(
        &self,
        value: Value,
        person: &mut Person,
        line: u64,
        unknown: &mut UnknownKeys,
        problems: &mut Vec<String>,
    ) {
        let items = match value {
            Value::Null => return,
            Value::Array(items) => items,
            other => {
                problems.push(format!(
                    "Contracts: expected an array of contracts, found {}",
                    kind(&other)
                ));
                return;
            }
        };
        person.contracts.reserve_exact(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let Value::Object(map) = item else {
                problems.push(format!(
                    "Contracts[{i}]: expected an object, found {}",
                    kind(&item)
                ));
                continue;
            };
            let contract = self.contract(map, i, line, unknown, problems);
            person.contracts.push(contract);
        }
    }

    fn contract(
        &self,
        map: Map<String, Value>,
        i: usize,
        line: u64,
        unknown: &mut UnknownKeys,
        problems: &mut Vec<String>,
    ) -> Contract {
        let mut contract = Contract::default();
        for (key, value) in map {
            let at = At {
                parent: "Contracts",
                index: Some(i),
                key: &key,
            };
            if key == "Details" {
                self.details(value, &mut contract, i, line, unknown, problems);
                continue;
            }
            let Some(field) = ContractField::parse(&key).filter(|f| f.name() == key) else {
                unknown.note(at, line);
                continue;
            };
            match field {
                ContractField::StartDate => contract.start_date = self.date(value, at, problems),
                ContractField::EndDate => contract.end_date = self.date(value, at, problems),
                ContractField::Fte => contract.fte = fte(value, at, problems),
                ContractField::ExternalId => contract.external_id = id(value, at, problems),
                _ => object_field(&mut contract, field, value, at, line, unknown, problems),
            }
        }
        for r in &self.required {
            if let Required::Contract(slot) = r {
                if slot.get(&contract).is_none() {
                    problems.push(format!(
                        "required field Contracts[{i}].{} is missing or empty",
                        slot.name()
                    ));
                }
            }
        }
        contract
    }

    /// HelloID's `Details` of a contract: its `Fte` is read, the rest (hours, sequence) not.
    fn details(
        &self,
        value: Value,
        contract: &mut Contract,
        i: usize,
        line: u64,
        unknown: &mut UnknownKeys,
        problems: &mut Vec<String>,
    ) {
        let parent = format!("Contracts[{i}].Details");
        let Some(map) = object(value, At::top(&parent), problems) else {
            return;
        };
        for (key, value) in map {
            let at = At {
                parent: "Contracts",
                index: Some(i),
                key: &format!("Details.{key}"),
            };
            match key.as_str() {
                "Fte" => contract.fte = fte(value, at, problems),
                _ => unknown.note(at, line),
            }
        }
    }

    fn date(
        &self,
        value: Value,
        at: At<'_>,
        problems: &mut Vec<String>,
    ) -> Option<chrono::NaiveDate> {
        match value {
            Value::Null => None,
            Value::String(s) => {
                let s = fields::clean(&s)?;
                self.dates
                    .parse(s)
                    .map_err(|p| problems.push(format!("{at}: {p}")))
                    .ok()
            }
            other => {
                problems.push(format!(
                    "{at}: expected a date as a string, found {}",
                    kind(&other)
                ));
                None
            }
        }
    }
}

/// HelloID's `Contact.<Business|Personal>.Phone{Fixed, Mobile}`.
fn phone(
    value: Value,
    person: &mut Person,
    business: bool,
    parent: &str,
    line: u64,
    unknown: &mut UnknownKeys,
    problems: &mut Vec<String>,
) {
    let path = format!("{parent}.Phone");
    let Some(map) = object(value, At::top(&path), problems) else {
        return;
    };
    for (key, value) in map {
        let at = At::under(&path, &key);
        let part = match key.as_str() {
            "Fixed" => PointPart::PhoneFixed,
            "Mobile" => PointPart::PhoneMobile,
            _ => {
                unknown.note(at, line);
                continue;
            }
        };
        *fields::contact_slot(person, business, part) = text(value, at, problems);
    }
}

/// An object field of a contract: HelloID's object (`{"ExternalId": .., "DisplayName": ..}`),
/// or, as Muster's flat exports write it, one value (the name; the manager's `ExternalId`).
fn object_field(
    contract: &mut Contract,
    field: ContractField,
    value: Value,
    at: At<'_>,
    line: u64,
    unknown: &mut UnknownKeys,
    problems: &mut Vec<String>,
) {
    let map = match value {
        Value::Object(map) => map,
        Value::Array(_) | Value::Bool(_) => {
            problems.push(format!(
                "{at}: expected an object (or a plain name), found {}",
                kind(&value)
            ));
            return;
        }
        flat => {
            let Some(part) = field.flat_part() else {
                return;
            };
            if let Some(text) = part_text(part, flat, at, problems) {
                field.set_part(contract, part, text);
            }
            return;
        }
    };
    for (key, value) in map {
        let path = format!("{}.{key}", at.key);
        let at = At { key: &path, ..at };
        let part = field
            .parts()
            .iter()
            .find(|(n, p)| *n == key || (*p == UnitPart::Name && key == "Name"))
            .map(|(_, p)| *p);
        let Some(part) = part else {
            unknown.note(at, line);
            continue;
        };
        if let Some(text) = part_text(part, value, at, problems) {
            field.set_part(contract, part, text);
        }
    }
}

/// An id part may be a whole number; the others are text.
fn part_text(
    part: UnitPart,
    value: Value,
    at: At<'_>,
    problems: &mut Vec<String>,
) -> Option<String> {
    if part == UnitPart::ExternalId {
        id(value, at, problems)
    } else {
        text(value, at, problems)
    }
}

fn id(value: Value, at: At<'_>, problems: &mut Vec<String>) -> Option<String> {
    id_text(value, at).unwrap_or_else(|p| {
        problems.push(p);
        None
    })
}

fn object(value: Value, at: At<'_>, problems: &mut Vec<String>) -> Option<Map<String, Value>> {
    match value {
        Value::Null => None,
        Value::Object(map) => Some(map),
        other => {
            problems.push(format!("{at}: expected an object, found {}", kind(&other)));
            None
        }
    }
}

/// A text value, trimmed; empty is absent.
fn text(value: Value, at: At<'_>, problems: &mut Vec<String>) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => owned_clean(s, at)
            .map_err(|p| problems.push(p))
            .ok()
            .flatten(),
        other => {
            problems.push(format!("{at}: expected a string, found {}", kind(&other)));
            None
        }
    }
}

/// An id: a string, or a whole number taken as its digits.
fn id_text(value: Value, at: At<'_>) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => owned_clean(s, at),
        Value::Number(n) if n.is_u64() || n.is_i64() => Ok(Some(n.to_string())),
        other => Err(format!(
            "{at}: expected a string or a whole number, found {}",
            kind(&other)
        )),
    }
}

fn owned_clean(s: String, at: At<'_>) -> Result<Option<String>, String> {
    let Some(trimmed) = fields::clean(&s) else {
        return Ok(None);
    };
    fields::check_value(trimmed).map_err(|p| format!("{at}: {p}"))?;
    Ok(Some(if trimmed.len() == s.len() {
        s
    } else {
        trimmed.to_owned()
    }))
}

fn fte(value: Value, at: At<'_>, problems: &mut Vec<String>) -> Option<f64> {
    let parsed = match &value {
        Value::Null => return None,
        Value::Number(n) => match n.as_f64() {
            Some(f) if f >= 0.0 => Ok(f),
            _ => Err(format!("{n} is not a non-negative number")),
        },
        Value::String(s) => match fields::clean(s) {
            None => return None,
            Some(s) => fields::parse_fte(s),
        },
        other => Err(format!("expected a number, found {}", kind(other))),
    };
    parsed.map_err(|p| problems.push(format!("{at}: {p}"))).ok()
}

fn accounts(value: Value, person: &mut Person, problems: &mut Vec<String>) {
    let Some(systems) = object(value, At::top("Accounts"), problems) else {
        return;
    };
    for (system, fields) in systems {
        match fields {
            Value::Null => {}
            Value::Object(fields) => {
                person.accounts.insert(system, fields.into_iter().collect());
            }
            other => problems.push(format!(
                "Accounts.{system}: expected an object of account fields, found {}",
                kind(&other)
            )),
        }
    }
}

/// `Custom`: an object of values kept as they are (`custom.<name>` in rules and mappings).
fn custom(value: Value, person: &mut Person, problems: &mut Vec<String>) {
    if let Some(fields) = object(value, At::top("Custom"), problems) {
        person.custom = fields.into_iter().collect();
    }
}

/// `Kind`: what the record stands for, `Person` (the default) or `SharedMailbox`.
fn identity_kind(value: Value, person: &mut Person, problems: &mut Vec<String>) {
    match value {
        Value::Null => {}
        Value::String(s) if s == "Person" => person.kind = IdentityKind::Person,
        Value::String(s) if s == "SharedMailbox" => person.kind = IdentityKind::SharedMailbox,
        other => problems.push(format!(
            "Kind: expected \"Person\" or \"SharedMailbox\", found {}",
            match &other {
                Value::String(s) => format!("\"{s}\""),
                v => kind(v).to_owned(),
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_custom_values_and_the_identity_kind() {
        let mut unknown = UnknownKeys::default();
        let p = reader()
            .person(
                json!({"ExternalId": "5d1c", "Kind": "SharedMailbox",
                       "Custom": {"aliases": ["a@x.nl"], "account_disabled": true}}),
                1,
                &mut unknown,
            )
            .unwrap();
        assert_eq!(p.kind, IdentityKind::SharedMailbox);
        assert_eq!(p.custom["aliases"], json!(["a@x.nl"]));
        assert_eq!(p.custom["account_disabled"], json!(true));
        let (_, reason) = reader()
            .person(json!({"ExternalId": "1", "Kind": "Robot"}), 1, &mut unknown)
            .unwrap_err();
        assert!(reason.contains("Kind: expected"), "{reason}");
        let (_, reason) = reader()
            .person(json!({"ExternalId": "1", "Custom": [1]}), 1, &mut unknown)
            .unwrap_err();
        assert!(reason.contains("Custom"), "{reason}");
    }

    fn reader() -> Reader {
        Reader {
            dates: DateFormats::new(&["%Y-%m-%d".to_owned()], true),
            required: vec![Required::parse("ExternalId").unwrap()],
        }
    }

    #[test]
    fn reads_the_nested_shape() {
        let mut unknown = UnknownKeys::default();
        let p = reader()
            .person(
                json!({
                    "ExternalId": 42,
                    "Name": {"GivenName": " Anouk ", "FamilyName": "Bakker"},
                    "Contact": {"Business": {"Email": "a@x.example"}},
                    "Contracts": [{"StartDate": "2025-08-01T00:00:00Z", "Fte": "0,8", "Manager": 7}],
                    "Accounts": {"AD": {"upn": "a@x", "uid": 3}},
                }),
                2,
                &mut unknown,
            )
            .unwrap();
        assert_eq!(p.external_id.as_str(), "42");
        assert_eq!(p.name.given_name.as_deref(), Some("Anouk"));
        assert_eq!(p.contact.business.email.as_deref(), Some("a@x.example"));
        assert_eq!(
            p.contracts[0].start_date,
            chrono::NaiveDate::from_ymd_opt(2025, 8, 1)
        );
        assert_eq!(p.contracts[0].fte, Some(0.8));
        assert_eq!(
            ContractField::Manager.get(&p.contracts[0]).as_deref(),
            Some("7")
        );
        assert_eq!(p.accounts["AD"]["uid"], json!(3));
        assert_eq!(p.primary, None);
        assert!(unknown.0.is_empty());
    }

    #[test]
    fn every_problem_of_a_person_is_named() {
        let mut unknown = UnknownKeys::default();
        let (id, reason) = reader()
            .person(
                json!({
                    "ExternalId": "9",
                    "Name": "Anouk",
                    "Contracts": [{"StartDate": "01-08-2025"}, 3, {"Fte": -1}],
                    "Salary": 1,
                }),
                5,
                &mut unknown,
            )
            .unwrap_err();
        assert_eq!(id.as_deref(), Some("9"));
        assert!(
            reason.contains("Name: expected an object, found a string"),
            "{reason}"
        );
        assert!(
            reason.contains("Contracts[0].StartDate: \"01-08-2025\" is not a date"),
            "{reason}"
        );
        assert!(
            reason.contains("Contracts[1]: expected an object, found a number"),
            "{reason}"
        );
        assert!(reason.contains("Contracts[2].Fte: -1"), "{reason}");
        assert_eq!(unknown.0.get("Salary"), Some(&(1, 5)));
    }

    #[test]
    fn an_id_must_be_text_or_a_whole_number() {
        let mut unknown = UnknownKeys::default();
        for (value, want) in [
            (json!({}), "ExternalId is missing"),
            (
                json!({"ExternalId": "  "}),
                "ExternalId is missing or empty",
            ),
            (
                json!({"ExternalId": 1.5}),
                "ExternalId: expected a string or a whole number",
            ),
            (
                json!([1]),
                "expected an object for a person, found an array",
            ),
        ] {
            let (id, reason) = reader().person(value, 1, &mut unknown).unwrap_err();
            assert_eq!(id, None);
            assert!(reason.contains(want), "{reason}");
        }
    }
}
