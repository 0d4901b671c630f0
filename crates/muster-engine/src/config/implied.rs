//! Permissions and mappings that a target's own settings imply, so an administrator writes
//! `set_manager = true` or `school_year_from = "run_date"` once, on the target, instead of
//! repeating it as rules: HelloID's manager reference and department groups, Zermelo's class
//! placement per school year. Each becomes an ordinary rule or mapping, planned like any other.

use super::Connection;
use muster_connectors::zermelo::SchoolYearFrom;
use muster_core::mapping::{ActionSet, FieldMapping, Template, TemplateError, ValueSource};
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

pub fn implied(target: &TargetName, connection: &Connection) -> Result<Implied, ImpliedError> {
    let mut out = Implied::default();
    match connection {
        Connection::HelloId(c) => {
            if c.set_manager {
                out.mappings.push(FieldMapping {
                    field: "managedByUserGUID".into(),
                    value: ValueSource::AccountOf(path("PrimaryContract.Manager")?),
                    actions: ActionSet::ALWAYS,
                    secret: false,
                });
            }
            if let Some(groups) = &c.department_groups {
                // HelloID names them `department_<sanitised department id>`; the literal
                // prefix is also what scopes the revokes to these groups only.
                let template = format!(
                    "{}{{{}|sanitize}}",
                    escape(&groups.prefix),
                    groups.field.trim()
                );
                out.rules.push(dynamic_rule(
                    target,
                    "department groups",
                    template_of("connection.department_groups", &template)?,
                    ContractSelection::InScope,
                ));
            }
        }
        Connection::Zermelo(c) => {
            let year = match c.school_year_from {
                SchoolYearFrom::ContractStart => "{PrimaryContract.StartDate|schoolyear}",
                SchoolYearFrom::RunDate => "{Today|schoolyear}",
            };
            // The connector names each department of branch `<code> / <school> <year>`.
            let template = format!(
                "{{{}|trim}} / {{{}|trim}} {year}",
                c.class_field, c.school_field
            );
            out.rules.push(dynamic_rule(
                target,
                "class placement",
                template_of("connection.class_field / school_field", &template)?,
                ContractSelection::Primary,
            ));
        }
        Connection::Scim(_) | Connection::Zivver(_) => {}
    }
    Ok(out)
}

/// The account field that holds a target's address, which `included_domains` checks unless
/// `domain_field` says otherwise.
pub fn domain_field(connection: &Connection) -> &'static str {
    match connection {
        Connection::Scim(_) | Connection::Zivver(_) => "userName",
        Connection::HelloId(_) => "contactEmail",
        Connection::Zermelo(_) => "email",
    }
}

fn dynamic_rule(
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

fn path(p: &str) -> Result<PersonPath, ImpliedError> {
    PersonPath::parse(p).map_err(|e| ("mapping".to_owned(), e.to_string()))
}

fn template_of(key: &str, source: &str) -> Result<Template, ImpliedError> {
    Template::parse(source).map_err(|e: TemplateError| (key.to_owned(), e.to_string()))
}

/// Braces in a literal prefix are literal.
fn escape(literal: &str) -> String {
    literal.replace('{', "{{").replace('}', "}}")
}
