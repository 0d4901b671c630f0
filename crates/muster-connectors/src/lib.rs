//! Muster's connectors: the I/O side of the pipeline's `execute` stage and of the observed
//! state it starts from. Each target is a folder with the same files (`config.rs`, `wire.rs`,
//! `client.rs`, `connector.rs`, `tests.rs`) and implements
//! [`muster_core::connector::Connector`]; the executor adapts to the capabilities a connector
//! declares and never tests which one it has.
//!
//! - [`http`]: the HTTP layer every connector shares: rustls client, a token bucket per
//!   target, 429/`Retry-After` handling, bounded retries that never repeat a create blindly,
//!   request counters, and the HTTP keys every kind's table shares (`http::settings`);
//! - `common`: what every connector needs alike (`Found`, `TargetErrors`, `Warnings`);
//! - [`secret_ref`]: `{ env = "…" }` / `{ file = "…" }` secret references;
//! - [`scim`]: any SCIM 2.0 service;
//! - [`zivver`]: Zivver's SCIM dialect (whole-object PUTs, write-only `SsoAccountKey`,
//!   whole-list memberships batched per group);
//! - [`helloid`]: HelloID's REST API v1 (Basic auth, `skip`/`take` paging, full-object PUTs
//!   with renames through `IdentifierObject`, soft deletes, groups and self-service products);
//! - [`zermelo`]: Zermelo's REST API v3 (the `response` envelope, partial PUTs, archive as
//!   delete, class placements that only add up).
//!
//! Planning, gating and journaling are not here: they belong to `muster-core` and the engine.

mod base_url;
mod common;
pub mod helloid;
pub mod http;
pub mod scim;
pub mod secret_ref;
pub mod zermelo;
pub mod zivver;

pub use helloid::{HelloIdConfig, HelloIdConnector};
pub use scim::{ScimConfig, ScimConnector};
pub use secret_ref::{SecretError, SecretRef};
pub use zermelo::{ZermeloConfig, ZermeloConnector};
pub use zivver::{ZivverConfig, ZivverConnector};
