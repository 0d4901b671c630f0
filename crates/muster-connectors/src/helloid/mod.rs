//! The HelloID connector (`kind = "helloid"`), written from `targets/helloid.md` (§6 is its
//! checklist): HelloID's REST API v1 with HTTP Basic auth, `skip`/`take` paging in two page
//! shapes, full-object PUTs that rename only through `IdentifierObject`, soft deletes, groups
//! with one request per membership, and products requested through self-service.
//!
//! - [`config`]: what the administrator writes, and its pure validation;
//! - [`wire`]: HelloID's JSON: page shapes, error texts, "not found", product references;
//! - [`user`]: users read into attributes, create bodies, and writes laid over a fresh read;
//! - `client`: requests under `base_url`, and the paged reads;
//! - [`connector`]: [`HelloIdConnector`], the [`Connector`](muster_core::connector::Connector);
//!   `users`, `groups` and `products` hold its halves.
//!
//! Rate limiting, retries and timeouts are the shared [`crate::http`] layer's; this module
//! only tells it that a 5xx saying `User not found` is an answer ([`wire::final_hint`]).

mod client;
pub mod config;
pub mod connector;
mod groups;
mod products;
pub mod user;
mod users;
pub mod wire;

#[cfg(test)]
mod tests;

pub use config::{
    Backoff, DeleteMode, DepartmentGroups, HelloIdConfig, Products, RateLimit, RehireMode,
};
pub use connector::HelloIdConnector;
