//! JSON exports: one array of persons in HelloID's nested PascalCase shape (contract objects
//! such as `Department{ExternalId, DisplayName}`, `Details.Fte`, `Contact.*.Phone`), or with
//! Muster's flat contract values (`"Department": "Sales"`).
//!
//! The document is split into its elements first (each kept as raw text), then every element is
//! read on its own, so a person with a wrong type in one field blocks only that person. The
//! document itself must be well-formed UTF-8 JSON and an array; otherwise the read is fatal.
//!
//! - `person`: reading one element into a person, with a message for every field that does
//!   not fit.

mod person;

use crate::config::JsonSourceConfig;
use crate::error::SourceError;
use crate::fields::{self, DateFormats, Required};
use crate::input::{self, SourceDigest, SourceFile};
use crate::records::Collector;
use crate::SourceRead;
use person::{Reader, UnknownKeys};
use serde_json::value::RawValue;
use serde_json::Value;
use std::path::Path;

impl crate::Source for JsonSourceConfig {
    fn validate(&self) -> Result<(), SourceError> {
        JsonSourceConfig::validate(self)
    }

    fn read_records(&self, base_dir: &Path) -> Result<SourceRead, SourceError> {
        read(self, base_dir)
    }
}

pub(crate) fn read(cfg: &JsonSourceConfig, base_dir: &Path) -> Result<SourceRead, SourceError> {
    let file = SourceFile::new(base_dir, &cfg.path);
    let bytes = file.read_all()?;
    let mut digest = SourceDigest::default();
    digest.add(input::sha256(&bytes));
    let text = decode(&file, &bytes)?;
    let elements = split(&file, text)?;

    let reader = Reader::new(
        DateFormats::new(&cfg.date_formats, true),
        Required::parse_all(&cfg.required),
    );
    let mut unknown = UnknownKeys::default();
    let mut lines = LineCounter::new(text);
    let mut people = Collector::new(&file);
    people.reserve(elements.len());
    for raw in elements {
        let offset = (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
        let line = lines.line_at(offset);
        let value = match serde_json::from_str::<Value>(raw.get()) {
            Ok(value) => value,
            Err(e) => {
                people.blocked(None, line, format!("the person cannot be read: {e}"));
                continue;
            }
        };
        match reader.person(value, line, &mut unknown) {
            Ok(person) => people.valid(person, line),
            Err((id, reason)) => people.blocked(id.as_deref(), line, reason),
        }
    }
    people.block_duplicates();
    Ok(SourceRead {
        records: people.into_records(),
        digest: digest.hex(),
        warnings: unknown.warnings(&file),
        files: vec![file.path.clone()],
    })
}

/// The document as text, without a byte order mark.
fn decode<'a>(file: &SourceFile, bytes: &'a [u8]) -> Result<&'a str, SourceError> {
    input::refuse_wide_encodings(file, bytes)?;
    let body = input::strip_boms(bytes);
    let text = std::str::from_utf8(body).map_err(|e| {
        let before = body.get(..e.valid_up_to()).unwrap_or_default();
        SourceError::Encoding {
            file: file.shown.clone(),
            line: Some(count_newlines(before) + 1),
            detail: fields::utf8_problem(body, e),
        }
    })?;
    if text.trim().is_empty() {
        return Err(SourceError::Empty {
            file: file.shown.clone(),
            expected: "a JSON array of persons",
        });
    }
    Ok(text)
}

/// The elements of the top-level array, each as its own raw text.
fn split<'a>(file: &SourceFile, text: &'a str) -> Result<Vec<&'a RawValue>, SourceError> {
    serde_json::from_str::<Vec<&RawValue>>(text).map_err(|e| {
        if e.is_data() {
            SourceError::NotAnArray {
                file: file.shown.clone(),
                line: Some(e.line() as u64),
                found: describe_start(text).to_owned(),
            }
        } else {
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            SourceError::JsonSyntax {
                file: file.shown.clone(),
                line: e.line() as u64,
                // serde_json counts an error at the very start of a line as column 0.
                column: e.column().max(1) as u64,
                message: full.strip_suffix(&suffix).unwrap_or(&full).to_owned(),
            }
        }
    })
}

fn describe_start(text: &str) -> &'static str {
    match text.trim_start().bytes().next() {
        Some(b'{') => "an object",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Line numbers for increasing byte offsets, counting each newline once.
struct LineCounter<'a> {
    text: &'a str,
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            offset: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, offset: usize) -> u64 {
        if offset > self.offset {
            let between = self
                .text
                .as_bytes()
                .get(self.offset..offset)
                .unwrap_or_default();
            self.line += count_newlines(between);
            self.offset = offset;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_counter_counts_each_newline_once() {
        let text = "[\n{},\n\n{}\n]";
        let mut lines = LineCounter::new(text);
        assert_eq!(lines.line_at(2), 2);
        assert_eq!(lines.line_at(7), 4);
        assert_eq!(lines.line_at(7), 4);
    }
}
