//! `muster serve`: Muster as a service over the same store and pipeline as the CLI.
//!
//! - [`config`]: `[server]` (listen address, TLS, limits) and `[[schedules]]` (cron in a time
//!   zone, targets, plan or apply, jitter), checked with file:line:key errors.
//! - [`runner`]: starts runs one at a time for the API and the schedules;
//!   [`schedule`] drives each schedule and skips a firing while a run goes on.
//! - [`api`]: the JSON API under `/api/v1` with its OpenAPI 3.1 document, `/healthz`,
//!   `/readyz` and `/metrics` ([`metrics`]).
//! - [`auth`] and [`tokens`]: bearer tokens (only their SHA-256 is stored) with the roles
//!   viewer, approver and admin; failed attempts are limited per client address.
//! - [`web`]: the server-rendered dashboard under `/` with session cookies
//!   ([`web::session`]) and CSRF checks, and its sign-in with OpenID Connect ([`web::oidc`] is
//!   the reusable relying party, [`web::signin`] the routes and role mapping).
//! - [`jit`]: accounts at first sign-in (`[server.jit]`): the Entra custom authentication
//!   extension, Okta's inline hooks and an OpenID Connect sign-in through Muster, each
//!   answered within the identity provider's budget.
//! - [`report`]: the e-mail report after each run (`[server.email]`): composed without I/O,
//!   sent over SMTP in the background with bounded retries.
//! - [`serve`]: binds (plain HTTP or TLS via rustls) and shuts down gracefully.

pub mod api;
pub mod auth;
pub mod config;
pub mod jit;
pub mod metrics;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod serve;
pub mod state;
pub mod tokens;
pub mod web;

pub use serve::{shutdown_signal, ServeError, Service, Serving};
