//! HelloID `Field` paths onto the person model's paths, and the `Field` mappings whose `Type`
//! is not text.

use crate::field_type::FieldType;
use muster_core::mapping::{ComputeError, ComputedValue};
use muster_core::model::{ContractField, Person, PersonPath};
use serde_json::Value;

/// A HelloID `Field` path → the person model's path. `Person.` is optional; contract objects
/// are flat in Muster (see the `helloid` module docs).
pub fn helloid_path(path: &str) -> Result<PersonPath, String> {
    let trimmed = path.trim();
    let inner = trimmed.strip_prefix("Person.").unwrap_or(trimmed);
    let parts: Vec<&str> = inner.split('.').collect();
    let flat = match parts.as_slice() {
        [c, field, sub] if c.eq_ignore_ascii_case("PrimaryContract") => {
            let Some(f) = ContractField::parse(field) else {
                return Err(format!("`{path}`: contracts have no field `{field}`"));
            };
            let allowed: &[&str] = match f {
                ContractField::Department
                | ContractField::Title
                | ContractField::Organization
                | ContractField::Location => &["DisplayName", "Name"],
                ContractField::Manager => &["ExternalId"],
                _ => &[],
            };
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                return Err(format!(
                    "`{path}`: Muster's contracts hold one value per field ({}), so `{field}.{sub}` has no counterpart; use `Person.PrimaryContract.{}`",
                    describe(f),
                    f.name()
                ));
            }
            format!("PrimaryContract.{}", f.name())
        }
        _ => inner.to_owned(),
    };
    PersonPath::parse(&flat).map_err(|e| format!("`{path}`: {e}"))
}

fn describe(f: ContractField) -> &'static str {
    match f {
        ContractField::Manager => "the manager's ExternalId",
        ContractField::Department => "the department's name",
        ContractField::Title => "the title's name",
        ContractField::Organization => "the organization's name",
        ContractField::Location => "the location's name",
        _ => "a plain value",
    }
}

/// A `Field` mapping of Type Number or Boolean: the person's text, converted. A value that
/// does not convert holds the person, like a failing script.
#[derive(Debug)]
pub(super) struct TypedPath {
    pub(super) path: PersonPath,
    pub(super) ty: FieldType,
}

impl ComputedValue for TypedPath {
    fn compute(&self, person: &Person, _iteration: u32) -> Result<Option<Value>, ComputeError> {
        match self.path.get(person, None) {
            None => Ok(None),
            Some(text) => self
                .ty
                .from_text(&text)
                .map(Some)
                .map_err(|m| ComputeError {
                    message: format!("{}: {m}", self.path),
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helloid_contract_paths_map_onto_the_flat_model() {
        let p = |s: &str| helloid_path(s).map(|p| p.to_string());
        assert_eq!(
            p("Person.PrimaryContract.Department.DisplayName").unwrap(),
            "PrimaryContract.Department"
        );
        assert_eq!(
            p("Person.PrimaryContract.Manager.ExternalId").unwrap(),
            "PrimaryContract.Manager"
        );
        assert_eq!(p("Person.Name.GivenName").unwrap(), "Name.GivenName");
        assert_eq!(
            p("Person.Accounts.MicrosoftActiveDirectory.mail").unwrap(),
            "Accounts.MicrosoftActiveDirectory.mail"
        );
        let e = p("Person.PrimaryContract.Department.ExternalId").unwrap_err();
        assert!(
            e.contains("no counterpart") && e.contains("PrimaryContract.Department"),
            "{e}"
        );
        assert!(p("Person.Details.BirthDate").is_err());
    }
}
