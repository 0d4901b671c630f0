//! CSV exports: a persons file (one row per person) and an optional contracts file (one row
//! per contract, joined to its person by id).
//!
//! Rows are streamed as raw bytes and checked field by field, so one row in a wrong encoding or
//! with a stray delimiter blocks only its own person. Problems with the file as a whole
//! (cannot be opened, empty, UTF-16, a configured column missing from the header) are fatal.
//!
//! - `table`: opening a file, the header, the delimiter, rows that hold no record.
//! - `persons`: which column fills which person field, and reading one person row.
//! - `contracts`: the same for contract rows, joined to the persons already read.

mod contracts;
mod persons;
mod table;

use crate::config::CsvSourceConfig;
use crate::error::SourceError;
use crate::fields::{self, DateFormats, Required};
use crate::input::{SourceDigest, SourceFile};
use crate::records::Collector;
use crate::SourceRead;
use ::csv::ByteRecord;
use contracts::{ContractIssues, ContractLayout};
use persons::PersonLayout;
use std::path::Path;
use table::{Skipped, Table};

impl crate::Source for CsvSourceConfig {
    fn validate(&self) -> Result<(), SourceError> {
        CsvSourceConfig::validate(self)
    }

    fn read_records(&self, base_dir: &Path) -> Result<SourceRead, SourceError> {
        read(self, base_dir)
    }
}

/// After this many rows, room is made for the rest of the file, judged by their average size.
const SAMPLE_ROWS: u64 = 1000;

pub(crate) fn read(cfg: &CsvSourceConfig, base_dir: &Path) -> Result<SourceRead, SourceError> {
    let dates = DateFormats::new(&cfg.date_formats, false);
    let required = Required::parse_all(&cfg.required);
    let mut warnings = Vec::new();
    let mut digest = SourceDigest::default();
    let mut files = Vec::new();
    let mut record = ByteRecord::new();

    let persons_file = SourceFile::new(base_dir, &cfg.persons);
    let mut table = Table::open(&persons_file, cfg.delimiter)?;
    let layout = PersonLayout::new(&table, cfg, &required)?;
    table.warn_unused(&layout.used, "person field", "columns", &mut warnings);
    let mut people = Collector::new(&persons_file);
    let mut skipped = Skipped::default();
    let mut rows = 0u64;
    while let Some(row) = table.next(&mut record)? {
        rows += 1;
        if rows == SAMPLE_ROWS {
            people.reserve(table.rows_left(rows));
        }
        if !skipped.skip(&record, row, &table.header) {
            layout.read(&record, row, &mut people);
        }
    }
    digest.add(table.finish()?);
    files.push(persons_file.path.clone());
    skipped.warn(&persons_file, &mut warnings);
    people.block_duplicates();

    if let Some(contracts) = &cfg.contracts {
        let file = SourceFile::new(base_dir, contracts);
        let mut table = Table::open(&file, cfg.delimiter)?;
        let layout = ContractLayout::new(&table, cfg, &required)?;
        table.warn_unused(
            &layout.used,
            "contract field",
            "contract_columns",
            &mut warnings,
        );
        let mut issues = ContractIssues::default();
        let mut skipped = Skipped::default();
        while let Some(row) = table.next(&mut record)? {
            if !skipped.skip(&record, row, &table.header) {
                layout.read(&record, row, &file, &dates, &mut people, &mut issues);
            }
        }
        skipped.warn(&file, &mut warnings);
        digest.add(table.finish()?);
        files.push(file.path.clone());
        issues.warn(&file, &persons_file, &layout, &mut warnings);
    }

    Ok(SourceRead {
        records: people.into_records(),
        digest: digest.hex(),
        warnings,
        files,
    })
}

/// Where a record was found: the physical line it starts on, and the line the next one starts on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    pub(crate) line: u64,
    pub(crate) next_line: u64,
}

impl Row {
    /// A hint for a record that swallowed several lines, the mark of a quote left open.
    fn span_hint(self) -> String {
        if self.next_line > self.line + 1 {
            format!(
                " (the record runs from line {} to line {}: is a quote left open?)",
                self.line,
                self.next_line - 1
            )
        } else {
            String::new()
        }
    }
}

/// The field in a record at `index` as text: cleaned (`None` when empty), or why it is not text.
pub(crate) fn text_at(record: &ByteRecord, index: usize) -> Result<Option<&str>, String> {
    let raw = record.get(index).unwrap_or_default();
    match std::str::from_utf8(raw) {
        Ok(s) => match fields::clean(s) {
            Some(v) => fields::check_value(v).map(|()| Some(v)),
            None => Ok(None),
        },
        Err(e) => Err(fields::utf8_problem(raw, e)),
    }
}

pub(crate) fn count_problem(found: usize, expected: usize, row: Row) -> String {
    format!(
        "the row has {found} fields, the header has {expected}{}; check the delimiter and quotes",
        row.span_hint()
    )
}

/// A column that is read, with the label messages use: `column "Roepnaam" (Name.GivenName)`.
pub(crate) struct Column {
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) label: String,
}

impl Column {
    pub(crate) fn new(index: usize, name: &str, path: &str) -> Self {
        Self {
            index,
            name: name.to_owned(),
            label: format!("column \"{name}\" ({path})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_hint_only_for_records_over_several_lines() {
        assert_eq!(
            Row {
                line: 3,
                next_line: 4
            }
            .span_hint(),
            ""
        );
        assert_eq!(
            Row {
                line: 3,
                next_line: 9
            }
            .span_hint(),
            " (the record runs from line 3 to line 8: is a quote left open?)"
        );
    }

    #[test]
    fn text_at_trims_and_explains_bad_bytes() {
        let record = ByteRecord::from(vec![&b"  Anouk "[..], b"", b"Ren\xE9"]);
        assert_eq!(text_at(&record, 0), Ok(Some("Anouk")));
        assert_eq!(text_at(&record, 1), Ok(None));
        assert!(text_at(&record, 2).unwrap_err().contains("0xE9"));
    }
}
