//! Field mappings Muster takes from outside its own `muster.toml`: HelloID `fieldMapping.json`
//! files, whose `Complex` mappings are JavaScript functions over `Person`.
//!
//! - [`helloid`]: the file format → [`FieldMapping`]s (`Field` → person paths, `Fixed` →
//!   values, `Complex` → [`ScriptValue`]s), with precise errors: file, JSON line, field.
//! - [`js`]: the embedded engine (QuickJS): scripts compiled once, one sandboxed runtime per
//!   thread with time and memory limits, results cached by a digest of the person (and kept
//!   by the engine in its store between processes: [`ResultCache`]).
//! - [`preview`]: every field of every person for one action, for `muster mapping eval`.
//!
//! Unique values (user names with `Iteration`) are a pure stage of `muster_core::unique`; the
//! engine calls it between evaluate and diff. Evaluating on all cores is
//! `muster_core::evaluate::evaluate_all`: the engine here only has to be usable from any
//! thread, which the per-thread runtimes make it.

mod error;
mod field_type;
pub mod helloid;
pub mod js;
pub mod preview;

pub use error::{MappingError, Problem};
pub use field_type::FieldType;
pub use helloid::{
    helloid_path, load_helloid_mapping, parse_helloid_mapping, read_helloid_mapping, HelloIdAction,
    HelloIdField, HelloIdMapping, Mode,
};
pub use js::{
    CacheChanges, CachedResult, Limits, ResultCache, ResultKey, Script, ScriptError, ScriptValue,
};

#[doc(no_inline)]
pub use muster_core::mapping::FieldMapping;
