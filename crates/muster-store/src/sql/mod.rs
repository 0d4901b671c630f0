//! The queries both backends share: every SQL statement and row conversion of the store is
//! written once, here, and this module is compiled twice, as `crate::sqlite::sql` and as
//! `crate::postgres::sql` (`#[path = "sql/mod.rs"]`). Its modules reach the backend they are
//! compiled into through `super::dialect` (the database types, how timestamps, JSON and dates
//! are stored, and the few SQL fragments and locks that differ) and `super::begin_write` (how
//! that backend begins a write transaction). What truly differs — opening, migrations, pool
//! settings, SQLite's group commit, PostgreSQL's advisory locks and leases — stays in the
//! backend.
//!
//! Placeholders are `$1`, `$2`, ... in every statement: PostgreSQL's own, and SQLite takes
//! `$NNN` as the NNN-th bound value. Statements built with `QueryBuilder` get each
//! backend's own placeholders.
//!
//! Each area has its own module (`runs`, `snapshots`, `links` with fingerprints, `grants`,
//! `orphans` (decisions), `computed` values, `journal`, `approvals`, `audit`, `server`),
//! `rows` turns what the database returns into typed records, `writes` names the executor's
//! per-action writes, whose commit each backend decides, and `impl_store` is the [`Store`]
//! impl: the table of contents.
//!
//! [`Store`]: crate::Store

mod approvals;
mod audit;
mod computed;
mod grants;
mod impl_store;
mod journal;
mod links;
mod orphans;
mod rows;
mod runs;
mod server;
mod snapshots;
mod writes;

use super::{begin_write, dialect};

pub(super) use impl_store::offer_fingerprint_key;
pub(super) use writes::Write;
