//! The persons file: which column fills which person field (configured names first, then
//! columns named like a field), and turning one row into a valid or blocked person.

use super::table::Table;
use super::{count_problem, text_at, Column, Row};
use crate::config::CsvSourceConfig;
use crate::error::SourceError;
use crate::fields::{PersonSlot, Required};
use crate::records::Collector;
use ::csv::ByteRecord;
use muster_core::model::{Person, PersonPath};
use std::collections::BTreeMap;

/// Which persons-file column fills which person field, resolved against the header.
pub(crate) struct PersonLayout {
    id: Column,
    fields: Vec<(Column, PersonSlot)>,
    required: Vec<(PersonPath, String)>,
    width: usize,
    pub(crate) used: Vec<bool>,
}

impl PersonLayout {
    pub(crate) fn new(
        table: &Table<'_>,
        cfg: &CsvSourceConfig,
        required: &[Required],
    ) -> Result<Self, SourceError> {
        let id_name = cfg.person_id_column.trim();
        let id = table.require(id_name, "ExternalId", "the person id, `person_id_column`")?;
        let mut used = vec![false; table.header.len()];
        used[id] = true;
        // Person field (canonical path) → column, configured ones first.
        let mut by_path: BTreeMap<String, (Column, PersonSlot)> = BTreeMap::new();
        for (path, column) in &cfg.columns {
            let Ok(path) = PersonPath::parse(path) else {
                continue;
            };
            let Some(slot) = PersonSlot::for_path(&path) else {
                continue;
            };
            let path = path.to_string();
            let index = table.require(column.trim(), &path, "configured in `columns`")?;
            used[index] = true;
            by_path.insert(
                path.clone(),
                (Column::new(index, column.trim(), &path), slot),
            );
        }
        for (index, name) in table.header.iter().enumerate() {
            let Ok(path) = PersonPath::parse(name) else {
                continue;
            };
            let Some(slot) = PersonSlot::for_path(&path) else {
                continue;
            };
            let path = path.to_string();
            match by_path.get(&path) {
                Some(_) if cfg.columns.keys().any(|k| same_path(k, &path)) => {}
                Some((other, _)) => {
                    return Err(SourceError::Header {
                        file: table.file.shown.clone(),
                        line: table.header_line,
                        detail: format!(
                            "columns \"{}\" and \"{name}\" both fill {path}; map one in `columns`",
                            other.name
                        ),
                    })
                }
                None => {
                    table.find(name)?;
                    used[index] = true;
                    by_path.insert(path.clone(), (Column::new(index, name, &path), slot));
                }
            }
        }
        let mut required_fields = Vec::new();
        for r in required {
            let Required::Person(path) = r else { continue };
            if *path == PersonPath::ExternalId {
                continue;
            }
            let key = path.to_string();
            match by_path.get(&key) {
                Some((column, _)) => required_fields.push((path.clone(), column.name.clone())),
                None => {
                    let column = cfg
                        .columns
                        .iter()
                        .find(|(k, _)| same_path(k, &key))
                        .map_or(key.as_str(), |(_, c)| c.as_str());
                    return Err(SourceError::MissingColumn {
                        file: table.file.shown.clone(),
                        line: table.header_line,
                        column: column.to_owned(),
                        field: key.clone(),
                        why: "listed in `required`",
                        found: table.header_list(),
                    });
                }
            }
        }
        Ok(Self {
            id: Column::new(id, id_name, "ExternalId"),
            fields: by_path.into_values().collect(),
            required: required_fields,
            width: table.header.len(),
            used,
        })
    }

    pub(crate) fn read(&self, record: &ByteRecord, row: Row, out: &mut Collector<'_>) {
        let id = text_at(record, self.id.index);
        if record.len() != self.width {
            // The id is a best guess here, but blocking under it keeps that person from
            // looking absent; a wrong guess only blocks an id that is not in the file.
            let guess = id.ok().flatten();
            out.blocked(
                guess,
                row.line,
                count_problem(record.len(), self.width, row),
            );
            return;
        }
        let id = match id {
            Ok(Some(id)) => id,
            Ok(None) => {
                let reason = format!("{} is empty; every person needs an id", self.id.label);
                return out.blocked(None, row.line, reason);
            }
            Err(problem) => {
                return out.blocked(None, row.line, format!("{}: {problem}", self.id.label));
            }
        };
        let mut person = Person::new(id);
        let mut problems = Vec::new();
        for (column, slot) in &self.fields {
            match text_at(record, column.index) {
                Ok(Some(value)) => slot.set(&mut person, value.to_owned()),
                Ok(None) => {}
                Err(problem) => problems.push(format!("{}: {problem}", column.label)),
            }
        }
        for (path, column) in &self.required {
            if path.get(&person, None).is_none() {
                problems.push(format!(
                    "required field {path} (column \"{column}\") is empty"
                ));
            }
        }
        if problems.is_empty() {
            out.valid(person, row.line);
        } else {
            let reason = problems.join("; ") + &row.span_hint();
            out.blocked(Some(id), row.line, reason);
        }
    }
}

fn same_path(configured: &str, canonical: &str) -> bool {
    PersonPath::parse(configured).is_ok_and(|p| p.to_string() == canonical)
}
