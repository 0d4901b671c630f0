//! muster-mapping's integration tests: realistic HelloID scripts with known answers (golden),
//! the ways a script fails, the file reader, the sandbox, and evaluation on several threads.

// Test harness code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod errors;
mod file;
mod golden;
mod runs;
mod sandbox;
