//! Trying mappings without a target (`muster mapping eval`): every mapped field of every
//! person for one action, or the error that would hold the person, computed by the same
//! stages a run uses (`evaluate_all`, then unique values among the persons given).

use chrono::NaiveDate;
use muster_core::connector::{Capabilities, Observed};
use muster_core::evaluate::{evaluate_all, Correlation, Lifecycle, TargetPolicy};
use muster_core::mapping::{FieldAction, FieldMapping};
use muster_core::model::{ExternalId, Person, PersonPath};
use muster_core::rules::{Condition, Grants, Rule};
use muster_core::unique::{make_unique, UniqueInput, Uniqueness};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// The action whose fields are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MappedAction {
    Create,
    Update,
    Enable,
    Disable,
    Delete,
}

impl MappedAction {
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "create" => Some(Self::Create),
            "update" => Some(Self::Update),
            "enable" => Some(Self::Enable),
            "disable" => Some(Self::Disable),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }

    fn field_action(self) -> FieldAction {
        match self {
            Self::Create => FieldAction::Create,
            Self::Update => FieldAction::Update,
            Self::Enable => FieldAction::Enable,
            Self::Disable => FieldAction::Disable,
            Self::Delete => FieldAction::Delete,
        }
    }
}

/// One field's value for one person, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Value(Value),
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonPreview {
    pub person: ExternalId,
    /// By target attribute, in mapping order.
    pub fields: Vec<(String, Outcome)>,
}

impl PersonPreview {
    pub fn is_blocked(&self) -> bool {
        self.fields
            .iter()
            .any(|(_, o)| matches!(o, Outcome::Error(_)))
    }

    /// The values as one JSON object, dotted attribute names nested (`name.givenName` →
    /// `{"name": {"givenName": …}}`); a `urn:…:` attribute keeps its schema as one key.
    pub fn nested_values(&self) -> Value {
        let mut root = serde_json::Map::new();
        for (field, outcome) in &self.fields {
            if let Outcome::Value(v) = outcome {
                insert_nested(&mut root, &path_of(field), v.clone());
            }
        }
        Value::Object(root)
    }

    /// The errors by field.
    pub fn errors(&self) -> BTreeMap<&str, &str> {
        self.fields
            .iter()
            .filter_map(|(f, o)| match o {
                Outcome::Error(e) => Some((f.as_str(), e.as_str())),
                Outcome::Value(_) => None,
            })
            .collect()
    }
}

/// Evaluates `mappings` for `persons` (their primary contracts already chosen) as a run
/// would on `today`, with `unique` fields made unique among these persons.
pub fn preview(
    mappings: &[FieldMapping],
    unique: &Uniqueness,
    persons: &[Person],
    action: MappedAction,
    today: NaiveDate,
) -> Vec<PersonPreview> {
    let policy = TargetPolicy {
        target: "preview".into(),
        rules: vec![Rule {
            name: "preview".into(),
            targets: None,
            when: Condition::Always,
            grants: Grants {
                account: true,
                access: true,
                permissions: Vec::new(),
                dynamic: Vec::new(),
            },
        }],
        mappings: mappings.to_vec(),
        // Far enough ahead that every person gets an account to show values for.
        lifecycle: Lifecycle {
            create_days_before_start: 36_500,
            delete_days_after_end: None,
        },
        correlation: Correlation {
            person: PersonPath::ExternalId,
            account_field: String::new(),
            case_insensitive: true,
        },
    };
    let mut evaluations = evaluate_all(persons, &policy, today);
    make_unique(
        persons,
        &mut evaluations,
        &UniqueInput {
            mappings: &policy.mappings,
            uniqueness: unique,
            observed: &Observed::default(),
            links: &[],
            correlation: &policy.correlation,
            capabilities: &Capabilities::default(),
            held: &HashSet::new(),
        },
    );
    let mut names: Vec<&str> = Vec::new();
    for m in mappings.iter().filter(|m| on(m, action)) {
        if !names.contains(&m.field.as_str()) {
            names.push(&m.field);
        }
    }
    evaluations
        .into_iter()
        .map(|e| {
            let set = e.fields.on(action.field_action());
            let fields = names
                .iter()
                .map(|name| {
                    let error = e.errors.iter().find(|err| {
                        err.strip_prefix("field ")
                            .and_then(|rest| rest.strip_prefix(*name))
                            .is_some_and(|rest| rest.starts_with(':') || rest.starts_with(" ("))
                    });
                    let outcome = match (error, set.get(name)) {
                        // "field userName: script line 3: …" → "script line 3: …"
                        (Some(err), _) => Outcome::Error(
                            err.strip_prefix(&format!("field {name}"))
                                .map(|rest| rest.trim_start_matches(':').trim_start())
                                .unwrap_or(err)
                                .to_owned(),
                        ),
                        (None, Some(v)) => Outcome::Value(v.clone()),
                        (None, None) => Outcome::Value(Value::Null),
                    };
                    ((*name).to_owned(), outcome)
                })
                .collect();
            PersonPreview {
                person: e.person,
                fields,
            }
        })
        .collect()
}

fn on(m: &FieldMapping, action: MappedAction) -> bool {
    m.actions.contains(action.field_action())
}

/// `name.givenName` → [name, givenName]; `urn:…:User:department` → [urn:…:User, department].
fn path_of(field: &str) -> Vec<String> {
    if field.starts_with("urn:") {
        if let Some((schema, rest)) = field.rsplit_once(':') {
            let mut out = vec![schema.to_owned()];
            out.extend(rest.split('.').map(str::to_owned));
            return out;
        }
    }
    field.split('.').map(str::to_owned).collect()
}

fn insert_nested(map: &mut serde_json::Map<String, Value>, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            map.insert(last.clone(), value);
        }
        [head, rest @ ..] => {
            let entry = map
                .entry(head.clone())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(inner) = entry {
                insert_nested(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_names_nest_and_urn_schemas_stay_whole() {
        let p = PersonPreview {
            person: "1".into(),
            fields: vec![
                ("name.givenName".into(), Outcome::Value("Jan".into())),
                ("name.familyName".into(), Outcome::Value("Smit".into())),
                (
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department".into(),
                    Outcome::Value("ICT".into()),
                ),
                ("title".into(), Outcome::Error("script line 1: boom".into())),
            ],
        };
        assert_eq!(
            p.nested_values(),
            serde_json::json!({
                "name": {"givenName": "Jan", "familyName": "Smit"},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "ICT"}
            })
        );
        assert!(p.is_blocked());
        assert_eq!(p.errors()["title"], "script line 1: boom");
    }
}
