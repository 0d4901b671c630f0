//! `muster serve` end to end: a real server on 127.0.0.1 with a SQLite store, driving the
//! SCIM simulator, spoken to over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod dashboard;
mod email;
mod input;
mod jit;
mod jit_zivver;
mod metrics;
mod oidc;
mod provider;
mod reports;
mod schedules;
mod schemathesis;
mod support;
mod tls;
mod unreachable;
