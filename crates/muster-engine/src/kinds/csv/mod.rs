//! `[source] kind = "csv"`: a persons CSV file and, optionally, a contracts CSV file
//! (`muster_sources::CsvSourceConfig`).

use super::{source_of, Source, SourceKind};
use muster_sources::CsvSourceConfig;
use std::sync::Arc;

pub struct Csv;

impl SourceKind for Csv {
    fn name(&self) -> &'static str {
        "csv"
    }

    fn settings(&self, table: toml::Value) -> Result<Arc<dyn Source>, String> {
        source_of::<CsvSourceConfig>(table)
    }
}
