//! JavaScript mappings (HelloID's `Complex` mode), run by QuickJS embedded in the process.
//!
//! - **Compiled once.** [`Script::compile`] turns the source into bytecode when the
//!   configuration is loaded, so a syntax error is a configuration error with its line. Each
//!   worker thread loads that bytecode into its own runtime once and runs it for every person.
//! - **What a script sees.** `Person` (the person model's shape, see `person.rs`), `Iteration`
//!   (0, then 1, 2, … while a unique value collides) and HelloID's `deleteDiacriticalMarks`.
//!   The script's result is the value of its last expression statement, as in HelloID. The
//!   script runs inside a block, so its `let`/`const` are its own on every run.
//! - **Sandbox.** No `std`/`os` modules, no module loader, no `fetch`, no timers: only the
//!   language's built-ins (String, RegExp, Date, JSON, Math, …). Each run has a time limit (an
//!   endless loop is stopped; the script cannot catch it) and a memory limit on what it adds
//!   to its thread's runtime ([`Limits`]). A runtime that hit a limit is replaced before the
//!   next person.
//! - **Every run starts clean.** Each script has a context of its own in a thread's runtime
//!   (so one script never sees another's globals); its built-ins are frozen (a change to
//!   `Object.prototype` does not take, though objects a script makes can still have their own
//!   `toString`, `name`, …), and after every run its global object is put back: globals the
//!   run added are removed, replaced, redefined or deleted built-in globals restored (compared
//!   in C, `engine::Baseline`), and its own top-level `var`s and functions reset to
//!   `undefined`, as a fresh run declares them (`sandbox.js`); a context that cannot be put
//!   back is replaced. So a result depends only on `Person` and `Iteration`, never on what ran
//!   before. The reset is under a third of what a run costs (docs/BENCHMARKS.md).
//! - **Failures hold one person.** A script that throws, runs too long, needs too much memory
//!   or returns something its field's `Type` does not allow yields a `ComputeError` naming the
//!   script's message and line; `evaluate` holds that person in that target.
//! - **Parallel, cached.** One runtime per thread (`worker.rs`), so `evaluate_all` runs scripts
//!   on every core. [`ScriptValue`] keeps results by a digest of the person (`cache.rs`,
//!   `digest.rs`): persons whose record did not change since the last run do not run the
//!   script again. The engine keeps those results in its store too ([`ResultCache`]), under
//!   the script's [`mapping_digest`](ScriptValue::mapping_digest), so a new process starts
//!   warm and a changed script starts empty.
//!
//! Results are assumed to depend on `Person` and `Iteration` only. A script that reads the
//! clock (`new Date()`) or `Math.random()` gets its value cached like any other: a random
//! password stays the same while the person does not change, across processes too (mark such
//! a field secret: secret fields' results are never stored, only kept in memory).

mod cache;
mod convert;
mod digest;
mod engine;
mod failure;
mod memory;
mod person;
mod worker;

use crate::field_type::FieldType;
pub use cache::{CacheChanges, CachedResult, ResultCache, ResultKey};
use failure::{Failure, WRAPPER_LINES};
use muster_core::mapping::{ComputeError, ComputedValue};
use muster_core::model::Person;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What one script run may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time for one run. Default 1 s (mapping scripts take microseconds).
    pub timeout: Duration,
    /// Memory one run may add to its worker's JavaScript runtime. Default 64 MiB.
    pub memory: usize,
}

impl Limits {
    /// Time limits a configuration may set, in milliseconds: a run of a minute is no mapping.
    pub const TIME_MS: std::ops::RangeInclusive<u64> = 1..=60_000;
    /// Memory limits a configuration may set, in MiB. The runtime, the prelude and a person
    /// take well under 1 MiB (a test runs the golden display-name script in 1 MiB); a mapping
    /// script that needs gigabytes is a runaway one.
    pub const MEMORY_MB: std::ops::RangeInclusive<u64> = 1..=4_096;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(1),
            memory: 64 * 1024 * 1024,
        }
    }
}

/// A script that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ScriptError {
    /// Line in the script (not in the file that holds it), when QuickJS names one.
    pub line: Option<usize>,
    /// `script line 3: SyntaxError: unexpected token in expression: ')'`
    pub message: String,
}

/// A script compiled to bytecode, ready for any worker thread.
#[derive(Debug)]
pub struct Script {
    id: u64,
    bytecode: Vec<u8>,
    limits: Limits,
    source_digest: [u8; 32],
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Script {
    /// Compiles `source`; the script is not run.
    pub fn compile(source: &str, limits: Limits) -> Result<Self, ScriptError> {
        // The block keeps top-level `let`/`const` local to one run (run twice in one runtime,
        // global ones would be "redeclared"); its completion value is the last expression's.
        let wrapped = format!("{{\n{source}\n}}");
        debug_assert_eq!(WRAPPER_LINES, 1);
        let bytecode = worker::compile(&wrapped).map_err(|f| ScriptError {
            line: match &f {
                Failure::Threw { line, .. } => *line,
                _ => None,
            },
            message: f.to_string(),
        })?;
        Ok(Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            bytecode,
            limits,
            source_digest: digest::source_digest(source),
        })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }
}

/// A field computed by a script: the [`ComputedValue`] that `evaluate` calls.
#[derive(Debug)]
pub struct ScriptValue {
    script: Arc<Script>,
    ty: FieldType,
    mapping_digest: String,
    cache: Option<ResultCache>,
    /// Times the script actually ran (not answered from the cache): for logs and tests.
    runs: AtomicU64,
}

impl ScriptValue {
    /// A script whose results are kept between runs (see the module docs).
    pub fn new(script: Script, ty: FieldType) -> Self {
        Self::with_cache(script, ty, Some(ResultCache::default()))
    }

    /// A script that runs on every call (tests, one-off evaluation).
    pub fn uncached(script: Script, ty: FieldType) -> Self {
        Self::with_cache(script, ty, None)
    }

    fn with_cache(script: Script, ty: FieldType, cache: Option<ResultCache>) -> Self {
        Self {
            mapping_digest: digest::mapping_digest(&script.source_digest, ty.name()),
            script: Arc::new(script),
            ty,
            cache,
            runs: AtomicU64::new(0),
        }
    }

    pub fn field_type(&self) -> FieldType {
        self.ty
    }

    /// The limits each run of the script has.
    pub fn limits(&self) -> Limits {
        self.script.limits
    }

    /// Results held for later runs.
    pub fn cached_results(&self) -> usize {
        self.cache.as_ref().map_or(0, ResultCache::len)
    }

    /// The results kept between runs, to save in a store and bring back in a new process;
    /// `None` for an [`uncached`](Self::uncached) script.
    pub fn results(&self) -> Option<&ResultCache> {
        self.cache.as_ref()
    }

    /// Names what decides this script's results besides the person: its source, its field's
    /// `Type` and the engine that runs it. Results stored under another digest are not this
    /// script's.
    pub fn mapping_digest(&self) -> &str {
        &self.mapping_digest
    }

    /// How many times the script ran, as opposed to being answered from the cache.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Runs the script, without the cache.
    fn run(&self, person: &Person, iteration: u32) -> Result<Option<serde_json::Value>, Failure> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        worker::run(&self.script, person, iteration, self.ty)
    }
}

impl ComputedValue for ScriptValue {
    fn compute(
        &self,
        person: &Person,
        iteration: u32,
    ) -> Result<Option<serde_json::Value>, ComputeError> {
        let error = |f: &Failure| ComputeError {
            message: f.to_string(),
        };
        let Some(cache) = &self.cache else {
            return self.run(person, iteration).map_err(|f| error(&f));
        };
        let key = ResultKey::new(person, iteration);
        if let Some(hit) = cache.get(&key) {
            return hit;
        }
        match self.run(person, iteration) {
            Ok(v) => {
                cache.insert(key, Ok(v.clone()));
                Ok(v)
            }
            Err(f) => {
                let e = error(&f);
                if f.is_deterministic() {
                    cache.insert(key, Err(e.clone()));
                }
                Err(e)
            }
        }
    }

    fn start_run(&self) {
        if let Some(cache) = &self.cache {
            cache.rotate();
        }
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
