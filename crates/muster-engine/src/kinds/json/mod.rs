//! `[source] kind = "json"`: one JSON file holding an array of persons
//! (`muster_sources::JsonSourceConfig`).

use super::{source_of, Source, SourceKind};
use muster_sources::JsonSourceConfig;
use std::sync::Arc;

pub struct Json;

impl SourceKind for Json {
    fn name(&self) -> &'static str {
        "json"
    }

    fn settings(&self, table: toml::Value) -> Result<Arc<dyn Source>, String> {
        source_of::<JsonSourceConfig>(table)
    }
}
