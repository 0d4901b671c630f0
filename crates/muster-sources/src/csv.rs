//! CSV exports: a persons file (one row per person) and an optional contracts file (one row
//! per contract, joined to its person by id).
//!
//! Rows are streamed as raw bytes and checked field by field, so one row in a wrong encoding or
//! with a stray delimiter blocks only its own person. Problems with the file as a whole
//! (cannot be opened, empty, UTF-16, a configured column missing from the header) are fatal.

use crate::config::{CsvSourceConfig, Delimiter};
use crate::error::SourceError;
use crate::fields::{self, DateFormats, PersonSlot, Required};
use crate::input::{self, HashingReader, SourceDigest, SourceFile};
use crate::records::{list_lines, Collector};
use crate::SourceRead;
use ::csv::{ByteRecord, Reader, ReaderBuilder};
use muster_core::model::{Contract, ContractField, Person, PersonPath};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};
use std::path::Path;

const BUFFER: usize = 64 * 1024;

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
struct Row {
    line: u64,
    next_line: u64,
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

type Source = Chain<Cursor<Vec<u8>>, BufReader<HashingReader<File>>>;

/// One open CSV file with its header.
struct Table<'f> {
    file: &'f SourceFile,
    reader: Reader<Source>,
    header: Vec<String>,
    header_line: u64,
    /// The file's size, and where the rows after the header start.
    len: u64,
    data_start: u64,
}

impl<'f> Table<'f> {
    fn open(file: &'f SourceFile, delimiter: Delimiter) -> Result<Self, SourceError> {
        let opened = file.open()?;
        let len = opened.metadata().map_or(0, |m| m.len());
        let mut buffered = BufReader::with_capacity(BUFFER, HashingReader::new(opened));
        let head = buffered.fill_buf().map_err(|e| file.io(e))?;
        input::refuse_wide_encodings(file, head)?;
        let boms = head.len() - input::strip_boms(head).len();
        buffered.consume(boms);
        // Read up to the header line ourselves, to pick the delimiter from it; the bytes are
        // handed to the CSV reader unchanged, so its line numbers stay right.
        let mut prefix = Vec::new();
        let header_start = loop {
            let start = prefix.len();
            if buffered
                .read_until(b'\n', &mut prefix)
                .map_err(|e| file.io(e))?
                == 0
            {
                return Err(empty(file));
            }
            if !prefix
                .get(start..)
                .unwrap_or_default()
                .trim_ascii()
                .is_empty()
            {
                break start;
            }
        };
        let header_bytes = prefix.get(header_start..).unwrap_or_default();
        if header_bytes.contains(&0) {
            return Err(SourceError::Encoding {
                file: file.shown.clone(),
                line: None,
                detail: "the header line holds NUL bytes: the file looks like UTF-16 without a \
                         byte order mark; save the export as UTF-8"
                    .into(),
            });
        }
        let delimiter = delimiter
            .byte()
            .unwrap_or_else(|| detect_delimiter(header_bytes));
        let mut reader = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(BUFFER)
            .from_reader(Cursor::new(prefix).chain(buffered));

        // Blank lines before the header (whitespace only) are passed over, as above.
        let mut record = ByteRecord::new();
        loop {
            if !reader
                .read_byte_record(&mut record)
                .map_err(|e| csv_error(file, e))?
            {
                return Err(empty(file));
            }
            if !record.iter().all(|f| f.trim_ascii().is_empty()) {
                break;
            }
        }
        let header_line = record.position().map_or(1, |p| p.line());
        let mut header = Vec::with_capacity(record.len());
        for (i, raw) in record.iter().enumerate() {
            let name = std::str::from_utf8(raw).map_err(|e| SourceError::Encoding {
                file: file.shown.clone(),
                line: Some(header_line),
                detail: format!("header column {}: {}", i + 1, fields::utf8_problem(raw, e)),
            })?;
            header.push(fields::trim(name).to_owned());
        }
        Ok(Self {
            file,
            data_start: reader.position().byte(),
            reader,
            header,
            header_line,
            len,
        })
    }

    /// The index of a column, refusing a name that is in the header twice.
    fn find(&self, name: &str) -> Result<Option<usize>, SourceError> {
        let mut found = self.header.iter().enumerate().filter(|(_, h)| *h == name);
        match (found.next(), found.next()) {
            (Some((a, _)), Some((b, _))) => Err(SourceError::Header {
                file: self.file.shown.clone(),
                line: self.header_line,
                detail: format!(
                    "column \"{name}\" appears twice in the header (columns {} and {}); \
                     rename one so it is clear which to read",
                    a + 1,
                    b + 1
                ),
            }),
            (first, _) => Ok(first.map(|(i, _)| i)),
        }
    }

    /// The index of a column that must be there.
    fn require(&self, name: &str, field: &str, why: &'static str) -> Result<usize, SourceError> {
        self.find(name)?.ok_or_else(|| {
            let near = self.header.iter().find(|h| h.eq_ignore_ascii_case(name));
            let mut found = self.header_list();
            if let Some(near) = near {
                found.push_str(&format!(
                    " (did you mean \"{near}\"? names are case-sensitive)"
                ));
            }
            SourceError::MissingColumn {
                file: self.file.shown.clone(),
                line: self.header_line,
                column: name.to_owned(),
                field: field.to_owned(),
                why,
                found,
            }
        })
    }

    fn header_list(&self) -> String {
        let names: Vec<String> = self.header.iter().map(|h| format!("\"{h}\"")).collect();
        names.join(", ")
    }

    fn warn_unused(&self, used: &[bool], what: &str, key: &str, warnings: &mut Vec<String>) {
        let unused: Vec<&str> = self
            .header
            .iter()
            .zip(used)
            .filter(|(_, used)| !**used)
            .map(|(h, _)| h.as_str())
            .collect();
        if !unused.is_empty() {
            warnings.push(format!(
                "{}: columns not read into any {what}, ignored: {} (map them in `{key}` to use them)",
                self.file.shown,
                unused.join(", ")
            ));
        }
    }

    fn next(&mut self, record: &mut ByteRecord) -> Result<Option<Row>, SourceError> {
        if !self
            .reader
            .read_byte_record(record)
            .map_err(|e| csv_error(self.file, e))?
        {
            return Ok(None);
        }
        let line = record.position().map_or(0, |p| p.line());
        Ok(Some(Row {
            line,
            next_line: self.reader.position().line(),
        }))
    }

    /// About how many rows are left, judged by the size of the `rows_read` rows so far.
    fn rows_left(&self, rows_read: u64) -> usize {
        let at = self.reader.position().byte();
        let per_row = at.saturating_sub(self.data_start) / rows_read.max(1);
        let left = self.len.saturating_sub(at) / per_row.max(1);
        usize::try_from(left).unwrap_or(0)
    }

    fn finish(self) -> Result<[u8; 32], SourceError> {
        let (_, buffered) = self.reader.into_inner().into_inner();
        buffered.into_inner().finish().map_err(|e| self.file.io(e))
    }
}

fn empty(file: &SourceFile) -> SourceError {
    SourceError::Empty {
        file: file.shown.clone(),
        expected: "a header line naming the columns",
    }
}

fn csv_error(file: &SourceFile, e: ::csv::Error) -> SourceError {
    match e.into_kind() {
        ::csv::ErrorKind::Io(e) => file.io(e),
        other => file.io(io::Error::other(format!("{other:?}"))),
    }
}

/// Picks `;`, `,` or tab, whichever appears most often outside quotes in the header line.
/// Ties go to `;` (the Excel default where `,` is the decimal separator); none at all to `,`.
fn detect_delimiter(header: &[u8]) -> u8 {
    let (mut semicolons, mut commas, mut tabs) = (0usize, 0usize, 0usize);
    let mut quoted = false;
    for &b in header {
        match b {
            b'"' => quoted = !quoted,
            b';' if !quoted => semicolons += 1,
            b',' if !quoted => commas += 1,
            b'\t' if !quoted => tabs += 1,
            _ => {}
        }
    }
    if tabs > semicolons && tabs > commas {
        b'\t'
    } else if semicolons >= commas && semicolons > 0 {
        b';'
    } else {
        b','
    }
}

/// The field in a record at `index` as text: cleaned (`None` when empty), or why it is not text.
fn text_at(record: &ByteRecord, index: usize) -> Result<Option<&str>, String> {
    let raw = record.get(index).unwrap_or_default();
    match std::str::from_utf8(raw) {
        Ok(s) => match fields::clean(s) {
            Some(v) => fields::check_value(v).map(|()| Some(v)),
            None => Ok(None),
        },
        Err(e) => Err(fields::utf8_problem(raw, e)),
    }
}

/// Rows that hold no record: blank ones (`;;;`) and copies of the header line (left where
/// exports were concatenated). Skipped, and reported as one warning each.
#[derive(Default)]
struct Skipped {
    blank: Vec<u64>,
    headers: Vec<u64>,
}

impl Skipped {
    fn skip(&mut self, record: &ByteRecord, row: Row, header: &[String]) -> bool {
        if record.iter().all(|f| f.trim_ascii().is_empty()) {
            self.blank.push(row.line);
            true
        } else if record.len() == header.len()
            && record
                .iter()
                .zip(header)
                .all(|(f, h)| std::str::from_utf8(f).is_ok_and(|f| fields::trim(f) == h))
        {
            self.headers.push(row.line);
            true
        } else {
            false
        }
    }

    fn warn(&self, file: &SourceFile, warnings: &mut Vec<String>) {
        if !self.blank.is_empty() {
            warnings.push(format!(
                "{}: {} rows with no values at all were skipped (lines {})",
                file.shown,
                self.blank.len(),
                list_lines(&self.blank)
            ));
        }
        if !self.headers.is_empty() {
            warnings.push(format!(
                "{}: {} repeated header lines were skipped (lines {}); were exports concatenated?",
                file.shown,
                self.headers.len(),
                list_lines(&self.headers)
            ));
        }
    }
}

fn count_problem(found: usize, expected: usize, row: Row) -> String {
    format!(
        "the row has {found} fields, the header has {expected}{}; check the delimiter and quotes",
        row.span_hint()
    )
}

/// A column that is read, with the label messages use: `column "Roepnaam" (Name.GivenName)`.
struct Column {
    index: usize,
    name: String,
    label: String,
}

impl Column {
    fn new(index: usize, name: &str, path: &str) -> Self {
        Self {
            index,
            name: name.to_owned(),
            label: format!("column \"{name}\" ({path})"),
        }
    }
}

/// Which persons-file column fills which person field, resolved against the header.
struct PersonLayout {
    id: Column,
    fields: Vec<(Column, PersonSlot)>,
    required: Vec<(PersonPath, String)>,
    width: usize,
    used: Vec<bool>,
}

impl PersonLayout {
    fn new(
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

    fn read(&self, record: &ByteRecord, row: Row, out: &mut Collector<'_>) {
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

/// Which contracts-file column fills which contract field, resolved against the header.
struct ContractLayout {
    person: Column,
    fields: Vec<(Column, ContractField)>,
    required: Vec<(ContractField, String)>,
    width: usize,
    used: Vec<bool>,
}

impl ContractLayout {
    fn new(
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
        let mut fields = Vec::new();
        for field in fields::CONTRACT_FIELDS {
            let path = fields::contract_path(field);
            let configured = cfg
                .contract_columns
                .iter()
                .find(|(k, _)| ContractField::parse(k) == Some(field))
                .map(|(_, column)| column.trim());
            let found = match configured {
                Some(column) => Some((
                    table.require(column, &path, "configured in `contract_columns`")?,
                    column,
                )),
                None => table.find(field.name())?.map(|i| (i, field.name())),
            };
            if let Some((index, name)) = found {
                used[index] = true;
                fields.push((Column::new(index, name, &path), field));
            }
        }
        let mut required_fields = Vec::new();
        for r in required {
            let Required::Contract(field) = r else {
                continue;
            };
            match fields.iter().find(|(_, f)| f == field) {
                Some((column, _)) => required_fields.push((*field, column.name.clone())),
                None => {
                    return Err(SourceError::MissingColumn {
                        file: table.file.shown.clone(),
                        line: table.header_line,
                        column: field.name().to_owned(),
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

    fn read(
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
struct ContractIssues {
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

    fn warn(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_is_the_most_frequent_outside_quotes() {
        assert_eq!(detect_delimiter(b"a;b;c\n"), b';');
        assert_eq!(detect_delimiter(b"a,b,c\r\n"), b',');
        assert_eq!(detect_delimiter(b"a\tb\tc\n"), b'\t');
        assert_eq!(detect_delimiter(b"\"a,b,c\";d;e\n"), b';');
        assert_eq!(detect_delimiter(b"\"x;y;z\",b\n"), b',');
        assert_eq!(detect_delimiter(b"ExternalId\n"), b',');
        assert_eq!(detect_delimiter(b"a;b,c\n"), b';');
    }

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
