//! Muster's domain model and the pure stages of the pipeline.
//!
//! ```text
//! source ─▶ snapshot ─▶ source gate ─▶ evaluate ─▶ correlate+diff ─▶ target gate ─▶ execute ─▶ report
//!                          gate::source   evaluate      plan::diff        gate::target    (engine)   report
//! ```
//!
//! Between evaluate and diff, [`unique`] settles values that must be unique in a target (user
//! names with `Iteration`); [`evaluate::evaluate_all`] spreads evaluation over every core.
//!
//! Everything here is a plain function over typed data: no files, no network, no clock
//! ("today" is always an argument). Sources, connectors and the store live in their own crates
//! and meet this crate through [`model`], [`connector`] and [`plan`].

pub mod connector;
pub mod domains;
pub mod evaluate;
pub mod gate;
pub mod leave_alone;
pub mod mapping;
pub mod model;
pub mod plan;
pub mod report;
pub mod rules;
pub mod run;
pub mod secret;
pub mod unique;

pub use model::{AccountRef, ExternalId, GroupRef, Person, TargetName};
