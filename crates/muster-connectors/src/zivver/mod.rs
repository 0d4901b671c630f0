//! The Zivver connector (`kind = "zivver"`), written from `targets/zivver.md` (§5 is its
//! checklist): Zivver's SCIM 2.0 dialect, where users are written only by a PUT of the whole
//! object, `SsoAccountKey` is write-only, an unknown id answers 400, and functional accounts
//! (groups) take only a whole member list.
//!
//! - [`config`]: what the administrator writes, and its pure validation;
//! - [`wire`]: Zivver's JSON: schemas, attribute paths, list answers, PatchOp bodies, the 429
//!   body and the plain-text errors;
//! - [`user`]: users read into normalised attributes, and writes laid over a fresh read;
//! - [`functional_wire`]: functional accounts as accounts (`functional_accounts = "accounts"`,
//!   Cloud Sync mode): a group read as an account, and the `POST`/`PUT Groups` bodies, pure;
//!   `functional` holds their requests (create, update, suspend, resume);
//! - [`lanes`]: the per-group queues that serialize and batch whole-list membership writes;
//! - `client`: requests under `{base_url}/api/scim/v2`, and the full reads;
//! - [`connector`]: [`ZivverConnector`], the [`Connector`](muster_core::connector::Connector);
//!   `groups` holds its membership half.
//!
//! Rate limiting, retries and timeouts are the shared [`crate::http`] layer's; this module only
//! tells it how long Zivver's 429 asks to wait ([`wire::throttle_hint`]) and shares one token
//! bucket per API key. Whether a write carries the `SsoAccountKey` is the engine's to decide
//! (see [`connector`]).

mod client;
pub mod config;
pub mod connector;
mod functional;
pub mod functional_wire;
mod groups;
pub mod lanes;
pub mod user;
pub mod wire;

#[cfg(test)]
mod tests;

pub use config::{
    Backoff, DeleteMode, FunctionalAccounts, MembershipWrite, RateLimit, ZivverConfig,
};
pub use connector::ZivverConnector;
