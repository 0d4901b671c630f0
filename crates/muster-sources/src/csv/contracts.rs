//! The contracts file: which column fills which contract field, and joining each row to the
//! person it names. A bad row blocks that person; a row for an unknown person is a warning.

use super::table::Table;
use super::{count_problem, text_at, Column, Row};
use crate::config::CsvSourceConfig;
use crate::error::SourceError;
use crate::fields::{self, ContractSlot, DateFormats, Required};
use crate::input::SourceFile;
use crate::records::{list_lines, Collector};
use ::csv::ByteRecord;
use muster_core::model::Contract;

/// Which contracts-file column fills which contract field, resolved against the header.
pub(crate) struct ContractLayout {
    person: Column,
    fields: Vec<(Column, ContractSlot)>,
    required: Vec<(ContractSlot, String)>,
    width: usize,
    pub(crate) used: Vec<bool>,
}

impl ContractLayout {
    pub(crate) fn new(
        table: &Table<'_>,
        cfg: &CsvSourceConfig,
        required: &[Required],
    ) -> Result<Self, SourceError> {
        let person_name = cfg.contract_person_column.trim();
        let person = table.require(
            person_name,
            "the contract's person",
            "`contract_person_column`",
        )?;
        let mut used = vec![false; table.header.len()];
        used[person] = true;
        let mut fields: Vec<(Column, ContractSlot)> = Vec::new();
        for slot in ContractSlot::all() {
            let path = fields::contract_path(slot);
            let default_name = slot.name();
            let configured = cfg
                .contract_columns
                .iter()
                .find(|(k, _)| ContractSlot::parse(k) == Some(slot))
                .map(|(_, column)| column.trim());
            let found = match configured {
                Some(column) => Some((
                    table.require(column, &path, "configured in `contract_columns`")?,
                    column,
                )),
                None => table
                    .find(&default_name)?
                    .map(|i| (i, default_name.as_str())),
            };
            if let Some((index, name)) = found {
                if let Some((other, _)) = fields.iter().find(|(_, s)| slot.same_value(*s)) {
                    return Err(SourceError::Header {
                        file: table.file.shown.clone(),
                        line: table.header_line,
                        detail: format!(
                            "columns \"{}\" and \"{name}\" both fill {path}; keep one",
                            other.name
                        ),
                    });
                }
                used[index] = true;
                fields.push((Column::new(index, name, &path), slot));
            }
        }
        let mut required_fields = Vec::new();
        for r in required {
            let Required::Contract(field) = r else {
                continue;
            };
            match fields.iter().find(|(_, f)| f.same_value(*field)) {
                Some((column, _)) => required_fields.push((*field, column.name.clone())),
                None => {
                    return Err(SourceError::MissingColumn {
                        file: table.file.shown.clone(),
                        line: table.header_line,
                        column: field.name(),
                        field: fields::contract_path(*field),
                        why: "listed in `required`",
                        found: table.header_list(),
                    })
                }
            }
        }
        Ok(Self {
            person: Column::new(person, person_name, "the contract's person"),
            fields,
            required: required_fields,
            width: table.header.len(),
            used,
        })
    }

    pub(crate) fn read(
        &self,
        record: &ByteRecord,
        row: Row,
        file: &SourceFile,
        dates: &DateFormats,
        people: &mut Collector<'_>,
        issues: &mut ContractIssues,
    ) {
        let id = match text_at(record, self.person.index) {
            Ok(Some(id)) => id,
            Ok(None) | Err(_) => {
                issues.no_person.push(row.line);
                return;
            }
        };
        let Some(at) = people.lookup(id) else {
            issues.unknown(row.line, id);
            return;
        };
        if record.len() != self.width {
            let reason = count_problem(record.len(), self.width, row);
            return people.block(at, file.at(row.line), reason);
        }
        let mut contract = Contract::default();
        let mut problems = Vec::new();
        for (column, field) in &self.fields {
            let result = text_at(record, column.index).and_then(|value| match value {
                Some(value) => fields::set_contract(&mut contract, *field, value, dates),
                None => Ok(()),
            });
            if let Err(problem) = result {
                problems.push(format!("{}: {problem}", column.label));
            }
        }
        for (field, column) in &self.required {
            if field.get(&contract).is_none() {
                problems.push(format!(
                    "required field {} (column \"{column}\") is empty",
                    fields::contract_path(*field)
                ));
            }
        }
        if problems.is_empty() {
            people.attach(at, contract);
        } else {
            people.block(at, file.at(row.line), problems.join("; "));
        }
    }
}

/// Contract rows that could not be joined to a person; reported as warnings, in bulk.
#[derive(Default)]
pub(crate) struct ContractIssues {
    no_person: Vec<u64>,
    unknown_lines: Vec<u64>,
    unknown_ids: Vec<String>,
}

impl ContractIssues {
    fn unknown(&mut self, line: u64, id: &str) {
        if self.unknown_ids.len() < 10 {
            self.unknown_ids.push(format!("line {line}: \"{id}\""));
        }
        self.unknown_lines.push(line);
    }

    pub(crate) fn warn(
        &self,
        file: &SourceFile,
        persons: &SourceFile,
        layout: &ContractLayout,
        warnings: &mut Vec<String>,
    ) {
        if !self.no_person.is_empty() {
            warnings.push(format!(
                "{}: {} contract rows have no usable {} and were ignored (lines {})",
                file.shown,
                self.no_person.len(),
                layout.person.label,
                list_lines(&self.no_person)
            ));
        }
        if !self.unknown_lines.is_empty() {
            let more = self.unknown_lines.len() - self.unknown_ids.len();
            warnings.push(format!(
                "{}: {} contract rows belong to a person who is not in {} and were ignored ({}{})",
                file.shown,
                self.unknown_lines.len(),
                persons.shown,
                self.unknown_ids.join(", "),
                if more > 0 {
                    format!(", … and {more} more")
                } else {
                    String::new()
                }
            ));
        }
    }
}
