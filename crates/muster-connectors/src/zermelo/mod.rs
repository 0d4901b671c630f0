//! The Zermelo connector (`kind = "zermelo"`), written from `targets/zermelo.md` (§6 is its
//! checklist): the school portal's REST API v3, where every answer is an envelope with `data`
//! as an array, users are keyed by `code` and written by partial PUT, a delete is an archive,
//! and a class is a placement that only adds up.
//!
//! - [`config`]: what the administrator writes, and its pure validation;
//! - [`envelope`]: the `response` envelope and the error text built from it;
//! - [`wire`]: users, classes and placements as they travel, and values in URLs;
//! - `client`: requests under `{base_url}/api/v3` over the shared [`crate::http`] layer;
//! - [`connector`]: [`ZermeloConnector`], the [`Connector`](muster_core::connector::Connector);
//!   `read.rs` reads, `users.rs` writes users, [`placements`] places students in classes.
//!
//! Which class a person belongs in (school year, class and school fields) is the engine's to
//! decide: it names the class `<code> / <schoolInSchoolYearName>`, as [`wire::group_name`]
//! does, and the connector places the student in the group of that name.

mod client;
pub mod config;
pub mod connector;
pub mod envelope;
pub mod placements;
mod read;
mod users;
pub mod wire;

#[cfg(test)]
mod tests;

pub use config::{Backoff, PreviousClass, RateLimit, SchoolYearFrom, ZermeloConfig};
pub use connector::ZermeloConnector;
