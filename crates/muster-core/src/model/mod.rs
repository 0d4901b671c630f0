//! The domain model: persons and their contracts as a source delivers them, identifiers, and
//! paths into a person that rules, mappings and correlation refer to.

mod ids;
mod path;
mod person;
mod primary;

pub use ids::{AccountRef, ExternalId, GroupRef, TargetName};
pub use path::{ContractField, ContractScope, PathError, PersonPath, UnitPart};
pub use person::{
    Contact, ContactPoint, Contract, IdentityKind, Manager, Name, Person, SourceRecord, Unit,
};
pub use primary::{PrimaryContractRule, PrimaryCriterion};
