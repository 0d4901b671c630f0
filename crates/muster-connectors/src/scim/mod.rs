//! The generic SCIM 2.0 connector (`kind = "scim"`), written from `targets/scim.md`.
//!
//! - [`config`]: what the administrator writes, and its pure validation;
//! - [`wire`]: SCIM JSON (list responses, errors, `/ServiceProviderConfig`, PATCH bodies);
//! - [`path`]: attribute paths, flattening a resource and writing a change back into one;
//! - [`filter`]: filter values, escaped and percent-encoded so data cannot change a filter;
//! - `client`: requests under the base URL, and the paging rules;
//! - [`connector`]: [`ScimConnector`], the [`Connector`](muster_core::connector::Connector).
//!
//! Rate limiting, retries and timeouts are the shared [`crate::http`] layer's. Known server
//! quirks are written down in `SERVERS.md` next to this file.

mod client;
pub mod config;
pub mod connector;
pub mod filter;
pub mod path;
pub mod wire;

#[cfg(test)]
mod tests;

pub use client::{Pager, PagingError, MIN_PAGE_SIZE};
pub use config::ScimFeatures;
pub use config::{Backoff, CapabilityOverrides, DeleteMode, RateLimit, ScimAuth, ScimConfig};
pub use connector::ScimConnector;
