//! Permissions and mappings that a target's own settings imply, so an administrator writes
//! `set_manager = true` or `school_year_from = "run_date"` once, on the target, instead of
//! repeating it as rules: HelloID's manager reference and department groups, Zermelo's class
//! placement per school year. Each becomes an ordinary rule or mapping, planned like any other.
//! What each kind implies is decided in its folder (`crate::kinds`,
//! `TargetSettings::implied`); this module holds what they build it with.

use muster_core::mapping::{FieldMapping, Template, TemplateError};
use muster_core::model::PersonPath;
use muster_core::rules::{Condition, ContractSelection, DynamicPermission, Grants, Rule};
use muster_core::TargetName;

/// What a target's settings add to its rules and mappings.
#[derive(Debug, Default)]
pub struct Implied {
    pub rules: Vec<Rule>,
    pub mappings: Vec<FieldMapping>,
}

/// A setting that does not make a valid template or path: (key under the target, message).
pub type ImpliedError = (String, String);

/// A rule that grants `template`'s permission for `contracts`, on `target` only.
pub fn dynamic_rule(
    target: &TargetName,
    what: &str,
    template: Template,
    contracts: ContractSelection,
) -> Rule {
    Rule {
        name: format!("{what} ({target})"),
        targets: Some(vec![target.clone()]),
        when: Condition::Always,
        grants: Grants {
            dynamic: vec![DynamicPermission {
                template,
                contracts,
            }],
            ..Grants::default()
        },
    }
}

/// A person path written by a kind, as an implied mapping's source.
pub fn path(p: &str) -> Result<PersonPath, ImpliedError> {
    PersonPath::parse(p).map_err(|e| ("mapping".to_owned(), e.to_string()))
}

/// A template built from settings under `key`.
pub fn template_of(key: &str, source: &str) -> Result<Template, ImpliedError> {
    Template::parse(source).map_err(|e: TemplateError| (key.to_owned(), e.to_string()))
}

/// Braces in a literal prefix are literal.
pub fn escape(literal: &str) -> String {
    literal.replace('{', "{{").replace('}', "}}")
}
