//! The engine end to end, against the SCIM simulator and a real third-party SCIM server.

// Test harness code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod computed_cache;
mod correlation;
mod faults;
mod fixture;
mod helloid;
mod helloid_person;
mod interop;
mod mapping_file;
mod membership;
mod ordering;
mod reconcile;
mod scenarios;
mod shutdown;
mod unreachable;
mod zermelo;
mod zivver;
