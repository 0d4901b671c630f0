//! The store's integration tests: every `Store` method against a real SQLite file in a fresh
//! temporary directory per test, with raw SQL (never the store's own code) to look underneath.

// Test helpers outside `#[test]` functions panic on purpose: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod approvals;
mod audit;
mod computed;
mod journal;
mod links;
mod open;
mod orphans;
mod postgres;
mod runs;
mod server;
mod snapshots;
mod support;
