//! Integration tests for `muster_sources`: real files in temporary folders, read through the
//! public API only. One binary; one module per concern.

// Helpers outside #[test] fns unwrap too: in test code a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod corpus;
mod csv;
mod json;
mod util;
