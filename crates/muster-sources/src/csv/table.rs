//! One open CSV file: byte order marks and wide encodings refused or stripped, the delimiter
//! picked from the header line, the header itself, and rows that hold no record.

use super::Row;
use crate::config::Delimiter;
use crate::error::SourceError;
use crate::fields;
use crate::input::{self, HashingReader, SourceFile};
use crate::records::list_lines;
use ::csv::{ByteRecord, Reader, ReaderBuilder};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};

const BUFFER: usize = 64 * 1024;

type Source = Chain<Cursor<Vec<u8>>, BufReader<HashingReader<File>>>;

/// One open CSV file with its header.
pub(crate) struct Table<'f> {
    pub(crate) file: &'f SourceFile,
    reader: Reader<Source>,
    pub(crate) header: Vec<String>,
    pub(crate) header_line: u64,
    /// The file's size, and where the rows after the header start.
    len: u64,
    data_start: u64,
}

impl<'f> Table<'f> {
    pub(crate) fn open(file: &'f SourceFile, delimiter: Delimiter) -> Result<Self, SourceError> {
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
    pub(crate) fn find(&self, name: &str) -> Result<Option<usize>, SourceError> {
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
    pub(crate) fn require(
        &self,
        name: &str,
        field: &str,
        why: &'static str,
    ) -> Result<usize, SourceError> {
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

    pub(crate) fn header_list(&self) -> String {
        let names: Vec<String> = self.header.iter().map(|h| format!("\"{h}\"")).collect();
        names.join(", ")
    }

    pub(crate) fn warn_unused(
        &self,
        used: &[bool],
        what: &str,
        key: &str,
        warnings: &mut Vec<String>,
    ) {
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

    pub(crate) fn next(&mut self, record: &mut ByteRecord) -> Result<Option<Row>, SourceError> {
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
    pub(crate) fn rows_left(&self, rows_read: u64) -> usize {
        let at = self.reader.position().byte();
        let per_row = at.saturating_sub(self.data_start) / rows_read.max(1);
        let left = self.len.saturating_sub(at) / per_row.max(1);
        usize::try_from(left).unwrap_or(0)
    }

    pub(crate) fn finish(self) -> Result<[u8; 32], SourceError> {
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

/// Rows that hold no record: blank ones (`;;;`) and copies of the header line (left where
/// exports were concatenated). Skipped, and reported as one warning each.
#[derive(Default)]
pub(crate) struct Skipped {
    blank: Vec<u64>,
    headers: Vec<u64>,
}

impl Skipped {
    pub(crate) fn skip(&mut self, record: &ByteRecord, row: Row, header: &[String]) -> bool {
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

    pub(crate) fn warn(&self, file: &SourceFile, warnings: &mut Vec<String>) {
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
}
