//! HelloID's `fieldMapping.json`, read as HelloID writes it, into Muster's field mappings.
//!
//! ```json
//! { "Version": "v1",
//!   "MappingFields": [
//!     { "Name": "userName", "Type": "Text",
//!       "MappingActions": [
//!         { "MapForActions": ["Create", "Update"], "MappingMode": "Complex",
//!           "Value": "\"function f() { … }\\r\\nf();\"",
//!           "UsedInNotifications": false, "StoreInAccountData": true } ] } ],
//!   "UniqueFieldNames": ["userName"] }
//! ```
//!
//! - `Value` is itself JSON-encoded: a path for `Field`, a literal for `Fixed`, a script for
//!   `Complex`, ignored for `None` (the field is not written on those actions).
//! - A field may have several `MappingActions` (a fixed `"False"` on Create and Disable,
//!   `"True"` on Enable): each becomes one [`FieldMapping`] on its actions. An action may
//!   appear in only one of them.
//! - `Name` is the target attribute, dotted names included (`name.givenName`): Muster's
//!   connectors read a dotted attribute path as nested objects.
//! - `Field` paths are the person model's (`Person.Name.GivenName` → `Name.GivenName`).
//!   Contracts have HelloID's objects: `Person.PrimaryContract.Department.ExternalId`,
//!   `.Department.DisplayName`, `.Title.Name`, `.Manager.ExternalId`, `.CostCenter.Code`, ….
//! - `Type` (`Text`, `Number`, `Boolean`, `Array`, `Object`) is checked: fixed values are
//!   converted at load, script results at run time.
//! - `UniqueFieldNames` are fields whose values must be unique in the target (see
//!   `muster_core::unique`). `StoreInAccountData` and `UsedInNotifications` are read and kept
//!   for reference; Muster stores every mapped value and sends no notifications.
//!
//! Every problem is reported with the file, the JSON line of the field (or of its `Value`)
//! and the field's name; scripts are compiled here, so a syntax error names its line too.

mod locate;
mod paths;

use crate::error::{MappingError, Problem};
use crate::field_type::{kind, FieldType};
use crate::js::{Limits, Script, ScriptValue};
use locate::{field_regions, key_offsets, line_at, line_of_key};
use muster_core::mapping::{ActionSet, FieldMapping, ValueSource};
pub use paths::helloid_path;
use paths::TypedPath;
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// A `fieldMapping.json` as read.
#[derive(Debug, Clone)]
pub struct HelloIdMapping {
    pub version: String,
    pub fields: Vec<HelloIdField>,
    /// `UniqueFieldNames`: fields whose values must be unique in the target.
    pub unique_fields: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct HelloIdField {
    /// The target attribute.
    pub name: String,
    pub field_type: FieldType,
    /// Line of the field's `Name` in the file.
    pub line: Option<usize>,
    pub actions: Vec<HelloIdAction>,
}

/// One entry of a field's `MappingActions`.
#[derive(Debug, Clone)]
pub struct HelloIdAction {
    pub on: ActionSet,
    pub mode: Mode,
    /// How the value is computed; `None` for `MappingMode: None`.
    pub value: Option<ValueSource>,
    pub store_in_account_data: bool,
    pub used_in_notifications: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    None,
    Field,
    Fixed,
    Complex,
}

impl HelloIdMapping {
    /// One [`FieldMapping`] per field and `MappingActions` entry that writes a value, in file
    /// order.
    pub fn field_mappings(&self) -> Vec<FieldMapping> {
        self.fields
            .iter()
            .flat_map(|f| {
                f.actions.iter().filter_map(|a| {
                    a.value.clone().map(|value| FieldMapping {
                        field: f.name.clone(),
                        value,
                        actions: a.on,
                        secret: false,
                    })
                })
            })
            .collect()
    }
}

/// Reads a `fieldMapping.json` with the default script [`Limits`] and returns its mappings.
pub fn load_helloid_mapping(path: &Path) -> Result<Vec<FieldMapping>, MappingError> {
    Ok(read_helloid_mapping(path, Limits::default())?.field_mappings())
}

/// Reads a `fieldMapping.json`; scripts are compiled with `limits`.
pub fn read_helloid_mapping(path: &Path, limits: Limits) -> Result<HelloIdMapping, MappingError> {
    let text = std::fs::read_to_string(path).map_err(|source| MappingError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_helloid_mapping(path, &text, limits)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawFile {
    #[serde(default)]
    version: Option<String>,
    mapping_fields: Vec<RawField>,
    #[serde(default)]
    unique_field_names: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawField {
    name: String,
    #[serde(rename = "Type", default)]
    field_type: Option<String>,
    #[serde(default)]
    mapping_actions: Vec<RawAction>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawAction {
    map_for_actions: Vec<String>,
    mapping_mode: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    used_in_notifications: bool,
    #[serde(default)]
    store_in_account_data: bool,
}

/// Parses the text of a `fieldMapping.json`; `path` is named in messages.
pub fn parse_helloid_mapping(
    path: &Path,
    text: &str,
    limits: Limits,
) -> Result<HelloIdMapping, MappingError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let raw: RawFile = serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_owned(),
            None => message,
        };
        MappingError::Json {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: format!("not a fieldMapping.json: {message}"),
        }
    })?;
    let mut reader = Reader {
        text,
        problems: Vec::new(),
        limits,
    };
    let version = match raw.version {
        Some(v) if v.eq_ignore_ascii_case("v1") => v,
        Some(v) => {
            reader.problem(
                line_of_key(text, 0, "Version"),
                "Version",
                format!("version `{v}` is not supported: Muster reads `v1`"),
            );
            v
        }
        None => {
            reader.problem(None, "Version", "missing: expected \"Version\": \"v1\"");
            String::new()
        }
    };
    // Objects inside UniqueFieldNames would be a JSON error already, so the objects found in
    // top-level arrays are the fields, in order.
    let regions = field_regions(text);
    let mut fields = Vec::new();
    for (i, f) in raw.mapping_fields.into_iter().enumerate() {
        if let Some(field) = reader.field(i, f, regions.get(i).copied()) {
            fields.push(field);
        }
    }
    for (i, a) in fields.iter().enumerate() {
        if fields[..i].iter().any(|b| b.name == a.name) {
            reader.problem(
                a.line,
                &format!("MappingFields ({})", a.name),
                "the field is listed twice; give it one entry with several MappingActions",
            );
        }
    }
    for name in &raw.unique_field_names {
        if !fields.iter().any(|f| &f.name == name) {
            reader.problem(
                line_of_key(text, 0, "UniqueFieldNames"),
                "UniqueFieldNames",
                format!("`{name}` is not one of the MappingFields"),
            );
        }
    }
    if !reader.problems.is_empty() {
        return Err(MappingError::Invalid {
            path: path.to_owned(),
            problems: reader.problems,
        });
    }
    Ok(HelloIdMapping {
        version,
        fields,
        unique_fields: raw.unique_field_names,
    })
}

struct Reader<'a> {
    text: &'a str,
    problems: Vec<Problem>,
    limits: Limits,
}

impl Reader<'_> {
    fn problem(&mut self, line: Option<usize>, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            line,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    fn field(
        &mut self,
        index: usize,
        raw: RawField,
        region: Option<(usize, usize)>,
    ) -> Option<HelloIdField> {
        let key = format!("MappingFields[{index}] ({})", raw.name);
        // The line of the field's "Name", else of its opening brace.
        let line = region.map(|(start, end)| {
            let at = key_offsets(self.text, start, end, "Name")
                .first()
                .copied()
                .unwrap_or(start);
            line_at(self.text, at)
        });
        if raw.name.trim().is_empty() {
            self.problem(line, &key, "the field has no Name");
            return None;
        }
        let field_type = match raw.field_type.as_deref() {
            None => FieldType::Text,
            Some(t) => match FieldType::parse(t) {
                Some(t) => t,
                None => {
                    let names: Vec<&str> = FieldType::ALL.iter().map(|(n, _)| *n).collect();
                    self.problem(
                        line,
                        &format!("{key}.Type"),
                        format!("unknown Type `{t}`: expected one of {}", names.join(", ")),
                    );
                    return None;
                }
            },
        };
        // The n-th "Value" key of the field is its n-th MappingActions entry's.
        let value_lines: Vec<usize> = region
            .map(|(start, end)| key_offsets(self.text, start, end, "Value"))
            .unwrap_or_default()
            .into_iter()
            .map(|o| line_at(self.text, o))
            .collect();
        let mut actions = Vec::new();
        let mut seen = ActionSet::default();
        let mut ok = true;
        for (j, a) in raw.mapping_actions.into_iter().enumerate() {
            let akey = format!("{key}.MappingActions[{j}]");
            let aline = value_lines.get(j).copied().or(line);
            match self.action(&akey, aline, a, field_type) {
                Some(action) => {
                    if let Some(twice) = overlap(seen, action.on) {
                        self.problem(
                            aline,
                            &format!("{akey}.MapForActions"),
                            format!("{twice} is already mapped by an earlier entry of this field"),
                        );
                        ok = false;
                    }
                    seen = union(seen, action.on);
                    actions.push(action);
                }
                None => ok = false,
            }
        }
        ok.then_some(HelloIdField {
            name: raw.name,
            field_type,
            line,
            actions,
        })
    }

    fn action(
        &mut self,
        key: &str,
        line: Option<usize>,
        raw: RawAction,
        ty: FieldType,
    ) -> Option<HelloIdAction> {
        let mut on = ActionSet::default();
        for name in &raw.map_for_actions {
            let slot = match name.to_ascii_lowercase().as_str() {
                "create" => &mut on.create,
                "update" => &mut on.update,
                "enable" => &mut on.enable,
                "disable" => &mut on.disable,
                "delete" => &mut on.delete,
                _ => {
                    self.problem(
                        line,
                        &format!("{key}.MapForActions"),
                        format!("unknown action `{name}`: expected Create, Update, Enable, Disable or Delete"),
                    );
                    return None;
                }
            };
            *slot = true;
        }
        if raw.map_for_actions.is_empty() {
            self.problem(
                line,
                &format!("{key}.MapForActions"),
                "no actions: list at least one of Create, Update, Enable, Disable, Delete",
            );
            return None;
        }
        let mode = match raw.mapping_mode.to_ascii_lowercase().as_str() {
            "none" => Mode::None,
            "field" => Mode::Field,
            "fixed" => Mode::Fixed,
            "complex" => Mode::Complex,
            other => {
                self.problem(
                    line,
                    &format!("{key}.MappingMode"),
                    format!("unknown mode `{other}`: expected None, Field, Fixed or Complex"),
                );
                return None;
            }
        };
        let vkey = format!("{key}.Value");
        let value = if mode == Mode::None {
            None
        } else {
            // `Value` holds JSON inside the JSON string: "\"Person.ExternalId\"".
            let encoded = raw.value.as_deref().unwrap_or_default();
            let decoded = match serde_json::from_str::<Value>(encoded) {
                Ok(v) => v,
                Err(e) => {
                    self.problem(
                        line,
                        &vkey,
                        format!("Value must hold a JSON-encoded value, as HelloID writes it (\"\\\"...\\\"\"): {e}"),
                    );
                    return None;
                }
            };
            Some(self.value(&vkey, line, mode, decoded, ty)?)
        };
        Some(HelloIdAction {
            on,
            mode,
            value,
            store_in_account_data: raw.store_in_account_data,
            used_in_notifications: raw.used_in_notifications,
        })
    }

    fn value(
        &mut self,
        key: &str,
        line: Option<usize>,
        mode: Mode,
        decoded: Value,
        ty: FieldType,
    ) -> Option<ValueSource> {
        match (mode, decoded) {
            (Mode::Field, Value::String(path)) => match helloid_path(&path) {
                Ok(p) if ty == FieldType::Text => Some(ValueSource::Path(p)),
                Ok(p) if matches!(ty, FieldType::Number | FieldType::Boolean) => {
                    Some(ValueSource::Computed(Arc::new(TypedPath { path: p, ty })))
                }
                Ok(_) => {
                    self.problem(
                        line,
                        key,
                        format!("a Field mapping copies one text value; Type {ty} needs a Complex mapping"),
                    );
                    None
                }
                Err(message) => {
                    self.problem(line, key, message);
                    None
                }
            },
            (Mode::Fixed, Value::String(text)) => match ty.from_text(&text) {
                Ok(v) => Some(ValueSource::Fixed(v)),
                Err(message) => {
                    self.problem(line, key, message);
                    None
                }
            },
            (Mode::Fixed, v) => {
                let fits = matches!(
                    (ty, &v),
                    (FieldType::Number, Value::Number(_))
                        | (FieldType::Boolean, Value::Bool(_))
                        | (FieldType::Array, Value::Array(_))
                        | (FieldType::Object, Value::Object(_))
                        | (_, Value::Null)
                );
                if fits {
                    Some(ValueSource::Fixed(v))
                } else {
                    self.problem(
                        line,
                        key,
                        format!("the fixed value is {} but the Type is {ty}", kind(&v)),
                    );
                    None
                }
            }
            (Mode::Complex, Value::String(source)) => match Script::compile(&source, self.limits) {
                Ok(script) => Some(ValueSource::Computed(Arc::new(ScriptValue::new(
                    script, ty,
                )))),
                Err(e) => {
                    self.problem(line, key, e.message);
                    None
                }
            },
            (_, v) => {
                self.problem(
                    line,
                    key,
                    format!("expected a JSON-encoded string, found {}", kind(&v)),
                );
                None
            }
        }
    }
}

fn overlap(a: ActionSet, b: ActionSet) -> Option<&'static str> {
    [
        (a.create && b.create, "Create"),
        (a.update && b.update, "Update"),
        (a.enable && b.enable, "Enable"),
        (a.disable && b.disable, "Disable"),
        (a.delete && b.delete, "Delete"),
    ]
    .into_iter()
    .find(|(both, _)| *both)
    .map(|(_, name)| name)
}

fn union(a: ActionSet, b: ActionSet) -> ActionSet {
    ActionSet {
        create: a.create || b.create,
        update: a.update || b.update,
        enable: a.enable || b.enable,
        disable: a.disable || b.disable,
        delete: a.delete || b.delete,
    }
}
