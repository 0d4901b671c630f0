//! The engine end to end, against the SCIM simulator and a real third-party SCIM server.

// Test harness code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cloudsync;
mod computed_cache;
mod coord;
mod correlation;
mod faults;
mod fixture;
mod helloid;
mod helloid_person;
mod interop;
mod jit;
mod mapping_file;
mod membership;
mod ordering;
mod pg;
mod pg_restart;
mod postgres;
mod reconcile;
mod scenarios;
mod shutdown;
mod unreachable;
mod zermelo;
mod zivver;
mod zivver_functional;
