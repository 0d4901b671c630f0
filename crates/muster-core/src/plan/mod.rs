//! The plan: per target, the ordered actions that turn observed into desired state, each with
//! its reason and before/after values. [`diff`] builds it, finding each person's account with
//! the [`CorrelationIndex`] (which `muster import` uses too); `gate` decides what may run.

mod compare;
mod correlate;
mod diff;
mod fast;

pub use correlate::{CorrelationIndex, GoneLink, LinkState, Match, StoredLink};
pub use diff::{diff, DiffInput, Pending};

use crate::model::{AccountRef, ExternalId, GroupRef, TargetName};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Create,
    Correlate,
    Update,
    Enable,
    Disable,
    Delete,
    Grant,
    Revoke,
}

impl ActionKind {
    pub const ALL: [ActionKind; 8] = [
        ActionKind::Create,
        ActionKind::Correlate,
        ActionKind::Update,
        ActionKind::Enable,
        ActionKind::Disable,
        ActionKind::Delete,
        ActionKind::Grant,
        ActionKind::Revoke,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Create => "create",
            ActionKind::Correlate => "correlate",
            ActionKind::Update => "update",
            ActionKind::Enable => "enable",
            ActionKind::Disable => "disable",
            ActionKind::Delete => "delete",
            ActionKind::Grant => "grant",
            ActionKind::Revoke => "revoke",
        }
    }

    /// Disables count together with deletes in thresholds: both take access away.
    pub fn threshold_group(self) -> ActionKind {
        match self {
            ActionKind::Disable => ActionKind::Delete,
            other => other,
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action type `{0}`: expected one of create, correlate, update, enable, disable, delete, grant, revoke")]
pub struct UnknownActionKind(pub String);

impl FromStr for ActionKind {
    type Err = UnknownActionKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActionKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownActionKind(s.to_owned()))
    }
}

/// An action's index within its target plan; dependencies point at earlier ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActionId(pub u32);

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One field's change. A secret value never leaves memory: it serializes as `"***"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    #[serde(default)]
    pub secret: bool,
    /// The value is the account of this person, created earlier in the same run; the
    /// executor fills `after` once that create is done (HelloID's manager reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_of: Option<ExternalId>,
}

pub const REDACTED: &str = "***";

impl Serialize for FieldChange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let redact = |v: &Option<serde_json::Value>| match v {
            Some(_) if self.secret => Some(serde_json::Value::String(REDACTED.into())),
            other => other.clone(),
        };
        let fields = if self.account_of.is_some() { 5 } else { 4 };
        let mut st = s.serialize_struct("FieldChange", fields)?;
        st.serialize_field("field", &self.field)?;
        st.serialize_field("before", &redact(&self.before))?;
        st.serialize_field("after", &redact(&self.after))?;
        st.serialize_field("secret", &self.secret)?;
        if let Some(person) = &self.account_of {
            st.serialize_field("account_of", person)?;
        }
        st.end()
    }
}

/// The group (or functional account, product) a Grant or Revoke is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionTarget {
    pub name: String,
    /// `None` when the target has no group of that name; the action then fails with that reason.
    pub group: Option<GroupRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub id: ActionId,
    pub kind: ActionKind,
    pub person: ExternalId,
    /// The account acted on; `None` for a Create, and for actions on an account that a
    /// Create earlier in this plan will make (see `depends_on`).
    pub account: Option<AccountRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<ActionId>,
    /// Actions this one waits for without depending on their success: a create waits for its
    /// manager's create to fill in the manager, and goes ahead without it if that fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waits_for: Vec<ActionId>,
    /// Initial state of a created account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<PermissionTarget>,
    /// Unchanged values sent again with this write, because the target clears what a write
    /// omits (write-only fields such as Zivver's `SsoAccountKey`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resend: Vec<FieldChange>,
    pub reason: String,
}

/// Several accounts match one person: nothing is done for them until an administrator links one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disputed {
    pub person: ExternalId,
    pub value: String,
    pub accounts: Vec<AccountRef>,
}

/// A person whose actions are withheld in this target, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldPerson {
    pub person: ExternalId,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetPlan {
    pub target: TargetName,
    /// Digest of the observed state the plan was computed from.
    pub observed_digest: String,
    /// Accounts the target holds (the base for percentage thresholds).
    pub accounts_observed: usize,
    pub actions: Vec<Action>,
    #[serde(default)]
    pub disputed: Vec<Disputed>,
    #[serde(default)]
    pub held: Vec<HeldPerson>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl TargetPlan {
    pub fn count(&self, kind: ActionKind) -> usize {
        self.actions.iter().filter(|a| a.kind == kind).count()
    }

    /// Actions whose kind falls in `kind`'s threshold group (Disable counts with Delete).
    pub fn count_group(&self, kind: ActionKind) -> usize {
        self.actions
            .iter()
            .filter(|a| a.kind.threshold_group() == kind.threshold_group())
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// A complete plan over every target, as written by `muster plan --out`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Plan file format version.
    pub version: u32,
    pub today: NaiveDate,
    pub source_digest: String,
    pub targets: Vec<TargetPlan>,
}

impl Plan {
    pub const VERSION: u32 = 1;

    pub fn is_empty(&self) -> bool {
        self.targets.iter().all(TargetPlan::is_empty)
    }

    pub fn action_count(&self) -> usize {
        self.targets.iter().map(|t| t.actions.len()).sum()
    }
}
