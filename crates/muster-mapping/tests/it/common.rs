//! Persons and fieldMapping.json files for the tests, built the way HelloID writes them.

use muster_core::mapping::{ComputeError, FieldMapping, ValueSource};
use muster_core::model::{Contract, Person};
use muster_mapping::{parse_helloid_mapping, HelloIdMapping, Limits, MappingError};
use serde_json::{json, Value};
use std::path::Path;

/// Janine van den Boele, married to a De Vries, with the given naming convention.
pub fn janine(convention: &str) -> Person {
    let mut p = Person::new("1001");
    p.name.given_name = Some("Janine Hendrika".into());
    p.name.nick_name = Some("Janine".into());
    p.name.initials = Some("J.H.".into());
    p.name.family_name_prefix = Some("van den".into());
    p.name.family_name = Some("Boele".into());
    p.name.family_name_partner_prefix = Some("de".into());
    p.name.family_name_partner = Some("Vries".into());
    p.name.convention = Some(convention.into());
    p.contact.business.email = Some("J.vandenBoele@example.org".into());
    p.contracts.push(Contract {
        start_date: "2024-03-01".parse().ok(),
        department: Some("Finance".into()),
        title: Some("Controller".into()),
        fte: Some(0.8),
        ..Contract::default()
    });
    p.primary = Some(0);
    p
}

/// A name full of diacritics and an apostrophe.
pub fn zoe() -> Person {
    let mut p = Person::new("1002");
    p.name.given_name = Some("Zoë".into());
    p.name.nick_name = Some("Zoë".into());
    p.name.initials = Some("Z.".into());
    p.name.family_name_prefix = Some("van 't".into());
    p.name.family_name = Some("Ångström".into());
    p.contact.business.email = Some("z.ångström@example.org".into());
    p
}

/// Field spec for [`file`]: (name, Type, actions, mode, value before encoding).
pub type Spec<'a> = (&'a str, &'a str, &'a [&'a str], &'a str, &'a str);

/// A fieldMapping.json text, pretty-printed like HelloID's, with each `Value` JSON-encoded
/// inside the JSON string.
pub fn file(fields: &[Spec<'_>]) -> String {
    let fields: Vec<Value> = fields
        .iter()
        .map(|(name, ty, actions, mode, value)| {
            json!({
                "Name": name,
                "Description": "",
                "Type": ty,
                "MappingActions": [{
                    "MapForActions": actions,
                    "MappingMode": mode,
                    "Value": serde_json::to_string(value).unwrap(),
                    "UsedInNotifications": false,
                    "StoreInAccountData": false
                }]
            })
        })
        .collect();
    serde_json::to_string_pretty(&json!({
        "Version": "v1",
        "MappingFields": fields,
        "UniqueFieldNames": []
    }))
    .unwrap()
}

pub fn parse(text: &str, limits: Limits) -> Result<HelloIdMapping, MappingError> {
    parse_helloid_mapping(Path::new("fieldMapping.json"), text, limits)
}

pub fn script(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/scripts")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One Complex mapping of `Type` `ty` over the script file `name`.
pub fn complex(name: &str, ty: &str) -> FieldMapping {
    complex_source(&script(name), ty, Limits::default())
}

pub fn complex_source(source: &str, ty: &str, limits: Limits) -> FieldMapping {
    let text = file(&[("field", ty, &["Create", "Update"], "Complex", source)]);
    let mut m = parse(&text, limits)
        .unwrap_or_else(|e| panic!("{e}"))
        .field_mappings();
    assert_eq!(m.len(), 1);
    m.remove(0)
}

pub fn compute(
    m: &FieldMapping,
    p: &Person,
    iteration: u32,
) -> Result<Option<Value>, ComputeError> {
    assert!(matches!(m.value, ValueSource::Computed(_)));
    m.compute(p, iteration)
}

/// The value, which must be there.
pub fn value(m: &FieldMapping, p: &Person) -> Value {
    match compute(m, p, 0) {
        Ok(Some(v)) => v,
        other => panic!("expected a value, got {other:?}"),
    }
}

/// The error message, which must be there.
pub fn error(m: &FieldMapping, p: &Person) -> String {
    match compute(m, p, 0) {
        Err(e) => e.message,
        other => panic!("expected an error, got {other:?}"),
    }
}
