//! A temporary folder to write exports into, and short ways to look at what was read.

use muster_sources::{read_source, CsvSourceConfig, JsonSourceConfig, SourceError, SourceRead};
use std::path::Path;
use tempfile::TempDir;

pub struct Dir(TempDir);

impl Dir {
    pub fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> &Self {
        std::fs::write(self.path().join(name), bytes).unwrap();
        self
    }

    pub fn csv(&self, config: CsvSourceConfig) -> Result<SourceRead, SourceError> {
        read_source(&config, self.path())
    }

    pub fn json(&self, config: JsonSourceConfig) -> Result<SourceRead, SourceError> {
        read_source(&config, self.path())
    }
}

/// The ids of the valid persons, in order.
pub fn valid_ids(read: &SourceRead) -> Vec<String> {
    read.valid().map(|p| p.external_id.to_string()).collect()
}

/// `(id, location, reason)` of each blocked record, in order.
pub fn blocked(read: &SourceRead) -> Vec<(String, String, String)> {
    read.blocked()
        .map(|b| (b.id.to_string(), b.location.to_owned(), b.reason.to_owned()))
        .collect()
}
