//! The one connector trait, the capabilities a connector declares, and the observed state it
//! returns. The executor adapts to capabilities; it never tests a target's name.
//!
//! Connectors do the I/O (in `muster-connectors`); this module only fixes the contract. See
//! `docs/specs/connector.md` for the rules every connector must meet.

use crate::evaluate::ManagedGroups;
use crate::model::{AccountRef, GroupRef, TargetName};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Account attributes by the target's own attribute path (for SCIM: `userName`,
/// `name.givenName`, `urn:…:enterprise:2.0:User:department`).
pub type Attributes = BTreeMap<String, serde_json::Value>;

/// What a planned Delete does in this target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeleteMeaning {
    /// The account is disabled and stays (reversible); the link is kept, marked deleted.
    Disable,
    /// The account is removed from the target.
    Remove,
}

/// What a plan does for a person whose linked account the target has deleted but still keeps
/// (HelloID's soft delete), when that person needs an account again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rehire {
    /// Create a new account; the reason names the deleted one.
    #[default]
    CreateNew,
    /// Hold the person until an administrator restores the old account in the target (or
    /// switches to `create-new`): some tenants must keep one account per person for life.
    Hold,
}

/// What a connector declares about its target; every field is read by the engine (the plan,
/// the executor or the report), so none promises what the code does not keep. How a connector
/// pages its reads and writes memberships (Zivver's whole-list lanes) is its own business and
/// is not declared here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// What a Delete does; the executor names it in the audit event of every done Delete.
    pub delete: DeleteMeaning,
    /// Fields the target accepts but never returns (Zivver's `SsoAccountKey`); the plan
    /// compares a stored fingerprint instead.
    pub write_only_fields: BTreeSet<String>,
    /// The connector can look accounts up by one attribute without a full read; the executor
    /// uses it to re-correlate a create whose outcome is unknown. Without it such a create
    /// ends failed at once and is never sent again in the run (it could duplicate).
    pub lookup: bool,
    /// The connector can find groups by name without a full read
    /// ([`Connector::lookup_groups`]); a sign-in uses it to grant what a create implies.
    /// Without it a sign-in only creates, and leaves the grants to the scheduled run.
    pub group_lookup: bool,
    /// Requests in flight at once that the target tolerates.
    pub max_concurrency: usize,
    /// The target has an enabled flag. Without one (Zermelo) a disabled state is not planned:
    /// the account simply exists, and Enable only brings back a deleted (archived) account.
    pub can_disable: bool,
    /// Fields compared but never written on update (HelloID's `userName` with renames off):
    /// a difference is reported as a plan warning instead of an Update.
    pub fixed_fields: BTreeSet<String>,
    /// The full read shows group memberships. When it cannot (Zermelo's class placements),
    /// the engine counts the grants Muster itself made, as recorded in the store.
    pub membership_visible: bool,
    /// A Grant to a group that does not exist yet may create it first
    /// ([`Operation::EnsureGroup`]) instead of failing — only for names that start with
    /// `created_group_prefix` (HelloID's `department_`), so a mistyped static group or a
    /// missing product is never created by accident.
    pub creates_groups: bool,
    /// See `creates_groups`; compared ignoring case.
    pub created_group_prefix: String,
    /// A grant the target accepted as a request ([`Outcome::Requested`], HelloID products
    /// awaiting approval) is not requested again for this many days; `None`: never pending.
    pub pending_ttl_days: Option<u32>,
    /// See [`Rehire`].
    pub rehire: Rehire,
    /// Fields the target compares ignoring case (HelloID's `userName`, `contactEmail`), so a
    /// value that differs only in case is not an Update. A mapping's `ignore_case` adds to it.
    pub case_insensitive_fields: BTreeSet<String>,
    /// An account holds one group per period, the period being the last word of a group's
    /// name (Zermelo's classes: `h3a / Lyceum 2024-2025` belongs to `2024-2025`), and what
    /// happens to the previous one when a rule grants another; `None`: no such rule.
    pub one_per_period: Option<PreviousGroup>,
    /// Refusals of one field's value that sending the same value again cannot change
    /// (Zivver's "Alias is a guest"): the executor remembers the refused value, and the plan
    /// does not send it again, with a warning, until the desired value changes.
    pub refusals: Vec<FieldRefusal>,
    /// Fields a disabled account does not show, because disabling empties them (a suspended
    /// Zivver functional account has no members, so its `delegates` read empty). While an
    /// account is disabled, or is to be, they are not compared; the Enable that brings it back
    /// writes their desired values.
    pub hidden_while_disabled: BTreeSet<String>,
}

/// A target's refusal of one field's value that no retry can change (Zivver: "Error creating
/// alias: Alias is a guest: <addr>", the address already received mail as a guest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRefusal {
    /// The field whose value was refused.
    pub field: String,
    /// Text in the target's error (a 4xx) that marks this refusal.
    pub detail_contains: String,
}

/// The prefix of the store's fingerprint field under which a refused value is remembered
/// (`refused:<field>`, keyed by the account, or by `person:<ExternalId>` for a create).
pub const REFUSED_PREFIX: &str = "refused:";

impl FieldRefusal {
    /// The fingerprint field that remembers a refused value of `field`.
    pub fn memory_field(field: &str) -> String {
        format!("{REFUSED_PREFIX}{field}")
    }

    /// The key a refused create is remembered under: the person, as it has no account yet.
    pub fn create_key(person: &crate::model::ExternalId) -> AccountRef {
        AccountRef::new(format!("person:{person}"))
    }
}

/// What a plan does with the group an account held in a period when a rule grants it another
/// group of that period (a class change within a school year). Groups of other periods (last
/// year's class) are never touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviousGroup {
    /// Revoked once the new group is granted (it depends on the Grant), so one remains.
    Revoke,
    /// Kept, because the target cannot end it: every Grant that leaves one behind says so in
    /// its reason, with `because`.
    Keep { because: String },
}

impl Capabilities {
    /// Whether grants can be remembered by Muster's store for this target: it cannot show
    /// memberships, or it takes grants as requests. Other targets never touch that table.
    pub fn remembers_grants(&self) -> bool {
        !self.membership_visible || self.pending_ttl_days.is_some()
    }

    /// Whether a Grant to a missing group of this name may create it first.
    pub fn may_create_group(&self, name: &str) -> bool {
        self.creates_groups
            && name
                .trim()
                .to_lowercase()
                .starts_with(&self.created_group_prefix.to_lowercase())
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            delete: DeleteMeaning::Disable,
            write_only_fields: BTreeSet::new(),
            lookup: true,
            group_lookup: false,
            max_concurrency: 4,
            can_disable: true,
            fixed_fields: BTreeSet::new(),
            membership_visible: true,
            creates_groups: false,
            created_group_prefix: String::new(),
            pending_ttl_days: None,
            rehire: Rehire::CreateNew,
            case_insensitive_fields: BTreeSet::new(),
            one_per_period: None,
            refusals: Vec::new(),
            hidden_while_disabled: BTreeSet::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedAccount {
    pub reference: AccountRef,
    pub enabled: bool,
    pub attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedGroup {
    pub reference: GroupRef,
    pub name: String,
    pub members: BTreeSet<AccountRef>,
    /// Members the target lists more than once, with how many times (at least 2). A SCIM
    /// server that does not ignore an `add` of an existing member (against RFC 7644
    /// §3.5.2.1's SHOULD) ends up so after a membership write is sent twice; the plan reports
    /// each and repairs those the rules grant.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub duplicates: BTreeMap<AccountRef, usize>,
}

impl ObservedGroup {
    /// A group from its member list as the target returned it, keeping count of members
    /// listed more than once in [`duplicates`](Self::duplicates).
    pub fn from_listing(
        reference: GroupRef,
        name: String,
        listed: impl IntoIterator<Item = AccountRef>,
    ) -> Self {
        let mut times: BTreeMap<AccountRef, usize> = BTreeMap::new();
        for m in listed {
            *times.entry(m).or_default() += 1;
        }
        let members = times.keys().cloned().collect();
        times.retain(|_, n| *n > 1);
        Self {
            reference,
            name,
            members,
            duplicates: times,
        }
    }
}

/// The key group names are matched by, in the plan and in group look-ups alike: the name
/// ignoring case and surrounding spaces.
pub fn group_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Of `listed`, the groups whose name matches one of `names` ([`group_key`]), without their
/// members: what [`Connector::lookup_groups`] answers. For connectors that list groups and
/// pick, and for those whose server filter may be looser than the plan's matching.
pub fn groups_named(
    listed: impl IntoIterator<Item = (GroupRef, String)>,
    names: &[String],
) -> Vec<ObservedGroup> {
    let wanted: BTreeSet<String> = names.iter().map(|n| group_key(n)).collect();
    listed
        .into_iter()
        .filter(|(_, name)| wanted.contains(&group_key(name)))
        .map(|(reference, name)| ObservedGroup {
            reference,
            name,
            members: BTreeSet::new(),
            duplicates: BTreeMap::new(),
        })
        .collect()
}

/// What a target holds now, from one full paged read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub accounts: Vec<ObservedAccount>,
    pub groups: Vec<ObservedGroup>,
    /// Accounts the target deleted but still lists (HelloID's soft delete): never correlated,
    /// but named when a linked person returns or a create would collide with one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<ObservedAccount>,
}

impl Observed {
    /// A stable digest of the observed state, so `apply --plan` can refuse a plan whose
    /// target changed since it was made.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut accounts: Vec<&ObservedAccount> = self.accounts.iter().collect();
        accounts.sort_by(|a, b| a.reference.cmp(&b.reference));
        let mut groups: Vec<&ObservedGroup> = self.groups.iter().collect();
        groups.sort_by(|a, b| a.reference.cmp(&b.reference));
        let mut h = Sha256::new();
        for a in accounts {
            h.update(a.reference.as_str());
            h.update([u8::from(a.enabled)]);
            h.update(serde_json::to_vec(&a.attributes).unwrap_or_default());
        }
        for a in &self.deleted {
            h.update(b"deleted:");
            h.update(a.reference.as_str());
        }
        for g in groups {
            h.update(g.reference.as_str());
            h.update(&g.name);
            for m in &g.members {
                h.update(m.as_str());
            }
            for (m, times) in &g.duplicates {
                h.update(b"listed:");
                h.update(m.as_str());
                h.update(times.to_le_bytes());
            }
        }
        hex(&h.finalize())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a plan will look at, so that a connector can read less than everything: member lists
/// only of the groups rules can grant or revoke (HelloID reads one group per request), and
/// single accounts by key where a tenant refuses the full list (Zermelo).
#[derive(Debug, Clone, Default)]
pub struct ReadScope {
    /// The groups whose members matter; `None`: every group (an import, or a dynamic
    /// permission without a literal prefix).
    pub groups: Option<ManagedGroups>,
    /// Account references linked to persons in the store.
    pub linked: Vec<AccountRef>,
    /// The persons' correlation values, for reading candidate accounts one by one.
    pub correlation_values: Vec<String>,
}

impl ReadScope {
    /// Whether the member list of a group of this name is needed.
    pub fn wants_members(&self, group_name: &str) -> bool {
        self.groups.as_ref().is_none_or(|g| g.contains(group_name))
    }
}

/// One change a connector carries out. Secret values are present here (in memory only).
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    Create {
        attributes: Attributes,
        enabled: bool,
    },
    Update {
        account: AccountRef,
        changes: Attributes,
    },
    SetEnabled {
        account: AccountRef,
        enabled: bool,
        changes: Attributes,
    },
    Delete {
        account: AccountRef,
        changes: Attributes,
    },
    Grant {
        account: AccountRef,
        group: GroupRef,
    },
    Revoke {
        account: AccountRef,
        group: GroupRef,
    },
    /// Makes sure a group of this name exists, creating it when it does not; answers
    /// [`Outcome::GroupReady`]. Only sent to connectors that declare `creates_groups`.
    EnsureGroup { name: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The account now exists; its reference becomes the link.
    Created(ObservedAccount),
    Done,
    /// The account (or membership) was already absent: a Delete, Disable or Revoke is done.
    AlreadyAbsent,
    /// A Grant the target took as a request that may still wait for approval (HelloID's
    /// self-service products); the engine remembers it as pending.
    Requested,
    /// The group of an [`Operation::EnsureGroup`], found or newly created.
    GroupReady {
        group: GroupRef,
        created: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("{target}: rate limited (retry after {retry_after:?})")]
    RateLimited {
        target: TargetName,
        retry_after: Option<Duration>,
    },
    /// The target answered and refused; `detail` is the target's own error text.
    #[error("{target}: {method} {path} returned {status}: {detail}")]
    Rejected {
        target: TargetName,
        method: String,
        path: String,
        status: u16,
        detail: String,
    },
    /// A create collided with an existing unique value; the executor re-correlates.
    #[error("{target}: conflict: {detail}")]
    Conflict { target: TargetName, detail: String },
    /// The account the action is about does not exist (any more).
    #[error("{target}: account {account} not found")]
    AccountGone {
        target: TargetName,
        account: AccountRef,
    },
    #[error("{target}: group {group} not found")]
    GroupGone { target: TargetName, group: GroupRef },
    /// Credentials refused: the run against this target stops.
    #[error("{target}: credentials refused ({status}): {detail}")]
    Unauthorized {
        target: TargetName,
        status: u16,
        detail: String,
    },
    /// No answer, or an answer that may or may not have been applied (timeout, reset, 5xx).
    #[error("{target}: {method} {path}: no usable response: {detail}")]
    Uncertain {
        target: TargetName,
        method: String,
        path: String,
        detail: String,
    },
    /// The target answered something that is not what the protocol promises.
    #[error("{target}: unexpected response: {detail}")]
    Protocol { target: TargetName, detail: String },
    /// A full read could not be completed; no plan may be built from it.
    #[error("{target}: incomplete read: {detail}")]
    IncompleteRead { target: TargetName, detail: String },
    #[error("{target}: {detail}")]
    Config { target: TargetName, detail: String },
}

impl ConnectorError {
    /// An operation the connector's capabilities do not offer; the engine never sends one, so
    /// this means a bug or a hand-made plan.
    pub fn unsupported(target: &TargetName, operation: &Operation) -> Self {
        Self::Config {
            target: target.clone(),
            detail: format!("this target does not support {operation:?}"),
        }
    }

    /// Worth another attempt later in this run. A create is re-correlated before any retry,
    /// so "retryable" never means "may duplicate".
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Uncertain { .. })
    }

    /// An [`Uncertain`](Self::Uncertain) error with `more` appended to its detail (after
    /// `"; "`), saying what an attempt to settle the unknown outcome found; any other error
    /// as it is.
    pub fn with_uncertain_detail(self, more: &str) -> Self {
        match self {
            Self::Uncertain {
                target,
                method,
                path,
                detail,
            } => Self::Uncertain {
                target,
                method,
                path,
                detail: format!("{detail}; {more}"),
            },
            other => other,
        }
    }

    /// The whole run against this target should stop (a credential problem, not a person's).
    pub fn stops_target(&self) -> bool {
        matches!(self, Self::Unauthorized { .. })
    }

    /// The target itself misbehaved — no answer, a server error, throttling that outlasted
    /// the retries, an answer that breaks the protocol — as opposed to refusing one person's
    /// change (a 4xx, a missing account or group). Quarantine counts these.
    pub fn is_target_fault(&self) -> bool {
        match self {
            Self::RateLimited { .. }
            | Self::Uncertain { .. }
            | Self::Protocol { .. }
            | Self::IncompleteRead { .. } => true,
            Self::Rejected { status, .. } => *status >= 500,
            Self::Conflict { .. }
            | Self::AccountGone { .. }
            | Self::GroupGone { .. }
            | Self::Unauthorized { .. }
            | Self::Config { .. } => false,
        }
    }
}

/// A connected application. Small on purpose: the executor composes everything else.
#[async_trait]
pub trait Connector: Send + Sync {
    fn target(&self) -> &TargetName;

    fn capabilities(&self) -> &Capabilities;

    /// Every account and group, read page by page; fails rather than return a partial read.
    async fn read_all(&self) -> Result<Observed, ConnectorError>;

    /// The read a plan needs (see [`ReadScope`]): a connector may leave out the members of
    /// groups outside the scope, and read accounts one by one where it cannot list them.
    /// Default: [`read_all`](Self::read_all).
    async fn read_scoped(&self, scope: &ReadScope) -> Result<Observed, ConnectorError> {
        let _ = scope;
        self.read_all().await
    }

    /// Accounts whose `attribute` equals `value` (case-insensitively where the target compares
    /// so), through a filtered query.
    async fn lookup(
        &self,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<ObservedAccount>, ConnectorError>;

    /// The groups named one of `names` (matched by [`group_key`]; every group of such a name,
    /// so that two of one name stay two), **without members**: for the plan of one new
    /// account, which is in no group yet. Only asked of a connector whose capabilities say
    /// `group_lookup`; the default says the target cannot.
    async fn lookup_groups(&self, names: &[String]) -> Result<Vec<ObservedGroup>, ConnectorError> {
        let _ = names;
        Err(ConnectorError::Config {
            target: self.target().clone(),
            detail: "this target cannot look groups up by name".into(),
        })
    }

    /// Carries out one operation. Requests are rate limited and 429s honoured inside; errors
    /// that may have been applied come back as [`ConnectorError::Uncertain`].
    async fn execute(&self, operation: &Operation) -> Result<Outcome, ConnectorError>;

    /// Things the administrator should know about this run against the target (a capability
    /// the server advertised but refused, a demoted write mode), for the report.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_uncertain_detail_appends_to_an_uncertain_error_only() {
        let uncertain = ConnectorError::Uncertain {
            target: "scim".into(),
            method: "POST".into(),
            path: "/Users".into(),
            detail: "timed out".into(),
        };
        match uncertain.with_uncertain_detail("a read found nothing") {
            ConnectorError::Uncertain { detail, .. } => {
                assert_eq!(detail, "timed out; a read found nothing");
            }
            other => panic!("expected Uncertain, got {other:?}"),
        }
        let conflict = ConnectorError::Conflict {
            target: "scim".into(),
            detail: "taken".into(),
        };
        match conflict.with_uncertain_detail("a read found nothing") {
            ConnectorError::Conflict { detail, .. } => assert_eq!(detail, "taken"),
            other => panic!("expected Conflict, got {other:?}"),
        }
    }
}
