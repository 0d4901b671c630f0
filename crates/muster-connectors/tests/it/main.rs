//! The one integration binary of `muster-connectors`: connectors against real HTTP servers.
//!
//! - `scim_sim`: the SCIM connector against `muster-sim`'s simulator, fault modes included;
//! - `scim2_server`: a round trip against the third-party `scim2-server` (PyPI), run when its
//!   binary is installed, and required when `CI` is set;
//! - `zivver_users`, `zivver_groups`: the Zivver connector against `muster-sim`'s Zivver
//!   simulator: user writes, memberships through per-group lanes, and the rate limit;
//! - `zermelo_users`, `zermelo_archive`, `zermelo_classes`, `zermelo_faults`: the Zermelo
//!   connector against `muster-sim`'s Zermelo simulator: user writes, archiving, classes and
//!   placements, errors and faults;
//! - `helloid`, `helloid_users`, `helloid_groups`, `helloid_faults`: the HelloID connector
//!   against `muster-sim`'s HelloID simulator: paged reads in both shapes, user writes,
//!   memberships, department groups, products, and the fault switches;
//! - `conformance`: the rules of `docs/specs/connector.md`, each written once and run against
//!   every connector and its simulator (one test per kind and rule);
//! - `tamper`: a man in the middle for a simulator's router, to lose or change the answer of
//!   one chosen request;
//! - `tls`: the SCIM connector over HTTPS to a server whose certificate a private CA (made in
//!   the test) signed: trusted through `ca_file`, refused without it.

// A failed expectation in a test helper should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod conformance;
mod helloid;
mod helloid_faults;
mod helloid_groups;
mod helloid_users;
mod scim2_server;
mod scim_sim;
mod tamper;
mod tls;
mod zermelo_archive;
mod zermelo_classes;
mod zermelo_faults;
mod zermelo_users;
mod zivver_functional;
mod zivver_groups;
mod zivver_users;

use muster_connectors::ScimConfig;
use std::path::Path;

/// A SCIM config for `base_url`, with the token read from a file in `dir` and backoff in
/// milliseconds so fault tests run quickly. `extra` is more TOML (later keys may not repeat
/// earlier ones, so tests pass only what they change).
pub fn scim_config(base_url: &str, token: &str, dir: &Path, extra: &str) -> ScimConfig {
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{token}\n")).expect("write token file");
    let mut text = format!(
        "base_url = \"{base_url}\"\nauth = {{ bearer = {{ file = \"{}\" }} }}\n",
        token_file.display()
    );
    if !extra.contains("backoff") {
        text.push_str("backoff = { base_ms = 5, max_ms = 100 }\n");
    }
    if !extra.contains("rate_limit") {
        text.push_str("rate_limit = { requests = 1000, per_seconds = 1 }\n");
    }
    text.push_str(extra);
    let cfg: ScimConfig = toml::from_str(&text).expect("test config parses");
    assert_eq!(cfg.validate(), Vec::<String>::new());
    cfg
}
