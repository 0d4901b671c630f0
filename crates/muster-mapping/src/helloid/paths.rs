//! HelloID `Field` paths onto the person model's paths, and the `Field` mappings whose `Type`
//! is not text.

use crate::field_type::FieldType;
use muster_core::mapping::{ComputeError, ComputedValue};
use muster_core::model::{Person, PersonPath};
use serde_json::Value;

/// A HelloID `Field` path → the person model's path. `Person.` is optional; contract objects
/// are the model's own (`Person.PrimaryContract.Department.ExternalId`).
pub fn helloid_path(path: &str) -> Result<PersonPath, String> {
    let trimmed = path.trim();
    let inner = trimmed.strip_prefix("Person.").unwrap_or(trimmed);
    PersonPath::parse(inner).map_err(|e| format!("`{path}`: {e}"))
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
    fn helloid_contract_paths_are_the_models_own() {
        let p = |s: &str| helloid_path(s).map(|p| p.to_string());
        assert_eq!(
            p("Person.PrimaryContract.Department.DisplayName").unwrap(),
            "PrimaryContract.Department.DisplayName"
        );
        assert_eq!(
            p("Person.PrimaryContract.Manager.ExternalId").unwrap(),
            "PrimaryContract.Manager.ExternalId"
        );
        assert_eq!(
            p("Person.PrimaryContract.Department.ExternalId").unwrap(),
            "PrimaryContract.Department.ExternalId"
        );
        assert_eq!(
            p("Person.PrimaryContract.CostCenter.Code").unwrap(),
            "PrimaryContract.CostCenter.Code"
        );
        assert_eq!(p("Person.Name.GivenName").unwrap(), "Name.GivenName");
        assert_eq!(
            p("Person.Accounts.MicrosoftActiveDirectory.mail").unwrap(),
            "Accounts.MicrosoftActiveDirectory.mail"
        );
        let e = p("Person.PrimaryContract.Manager.Code").unwrap_err();
        assert!(e.contains("ExternalId, DisplayName, Email"), "{e}");
        assert!(p("Person.Details.BirthDate").is_err());
    }
}
