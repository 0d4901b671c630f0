//! Muster's sources: reading persons from an HR export into [`SourceRecord`]s.
//!
//! Each kind of source is a [`Source`]: settings that validate themselves and read records.
//! Which `kind = "…"` names which settings is decided in one place, the engine's table of
//! kinds (`muster_engine::kinds`).
//!
//! A read yields every person of the export, each either [`SourceRecord::Valid`] or
//! [`SourceRecord::Blocked`] with where it was found and what is wrong with it, so a bad row is
//! never mistaken for a person who left. Problems with a whole file (cannot be opened, empty,
//! not UTF-8, a configured column missing) are a [`SourceError`]: the run stops instead of
//! seeing "zero persons". An export with a header and no rows is *not* an error here; the
//! engine's source threshold decides what to make of it.
//!
//! - [`config`]: the settings of the `csv` and `json` kinds and their validation.
//! - `csv`: persons and contracts CSV files (`;`, `,` or tab; UTF-8 with or without BOM).
//! - `json`: an array of persons in the nested shape of [`Person`].
//! - `fields`: turning one text value into one person or contract field, shared by both.
//! - `records`, `index`: collecting records, indexing them by id, blocking duplicate ids.
//! - `input`: resolving paths, and the SHA-256 digest of every byte read.
//! - [`error`]: fatal errors.
//!
//! Choosing each person's primary contract is left to the engine; records come out with
//! `primary: None`.

pub mod config;
mod csv;
pub mod error;
mod fields;
mod index;
mod input;
mod json;
mod records;

pub use config::{CsvSourceConfig, Delimiter, JsonSourceConfig};
pub use error::{ConfigProblem, SourceError};
pub use fields::MAX_VALUE_BYTES;

use muster_core::model::{ExternalId, Person, SourceRecord};
use std::fmt::Debug;
use std::path::{Path, PathBuf};

/// One kind of source, configured: what `[source]` says, typed. A read yields records:
/// persons, or other identities (shared mailboxes, functional accounts), each marked with its
/// [`IdentityKind`](muster_core::model::IdentityKind) on the record itself, so the engine
/// needs no switch on the kind of source to tell them apart.
///
/// `read_records` runs on a blocking thread (the engine calls it from `spawn_blocking`).
pub trait Source: Debug + Send + Sync {
    /// Checks the settings without touching any file or service, and reports every problem at
    /// once.
    fn validate(&self) -> Result<(), SourceError>;
    /// Reads every record. Relative paths are read from `base_dir`, normally the folder that
    /// holds the configuration file.
    fn read_records(&self, base_dir: &Path) -> Result<SourceRead, SourceError>;
}

/// The result of reading a source once.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRead {
    /// Every record of the export, in file order: valid persons and blocked records.
    pub records: Vec<SourceRecord>,
    /// SHA-256 (hex) over every file read, so a saved plan can tell the source has changed.
    pub digest: String,
    /// Things the administrator should know that block no one: ignored columns, contracts for
    /// unknown persons, rows with no values.
    pub warnings: Vec<String>,
    /// The files read, as opened.
    pub files: Vec<PathBuf>,
}

/// A blocked record, borrowed from a [`SourceRead`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked<'a> {
    /// The record's `ExternalId`, or `<line N>` when it has none that can be read.
    pub id: &'a ExternalId,
    /// Where the record was found, e.g. `persons.csv:17`.
    pub location: &'a str,
    /// What is wrong, naming the column or field and what was expected.
    pub reason: &'a str,
}

impl SourceRead {
    /// The valid persons, in file order.
    pub fn valid(&self) -> impl Iterator<Item = &Person> + '_ {
        self.records.iter().filter_map(|r| match r {
            SourceRecord::Valid(p) => Some(p),
            SourceRecord::Blocked { .. } => None,
        })
    }

    /// The blocked records, in file order.
    pub fn blocked(&self) -> impl Iterator<Item = Blocked<'_>> + '_ {
        self.records.iter().filter_map(|r| match r {
            SourceRecord::Valid(_) => None,
            SourceRecord::Blocked {
                id,
                location,
                reason,
            } => Some(Blocked {
                id,
                location,
                reason,
            }),
        })
    }

    pub fn valid_count(&self) -> usize {
        self.valid().count()
    }

    pub fn blocked_count(&self) -> usize {
        self.records.len() - self.valid_count()
    }
}

/// Validates `source`, then reads it. Relative paths in it are read from `base_dir`, normally
/// the folder that holds the configuration file.
pub fn read_source(source: &dyn Source, base_dir: &Path) -> Result<SourceRead, SourceError> {
    source.validate()?;
    source.read_records(base_dir)
}
