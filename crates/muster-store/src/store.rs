//! The [`Store`] trait and the records it reads and writes. The trait names no database: the
//! SQLite implementation lives in [`crate::sqlite`], the PostgreSQL one in [`crate::postgres`]
//! (both implement it with the same queries, `src/sql/`), and the engine, CLI and server only
//! ever see `dyn Store`.
//!
//! Time is always an argument or a field (`updated_at`, `at`), except where the store itself
//! stamps a record it creates (`started_at`, `finished_at`, `taken_at`, `approved_at`).
//! Timestamps are kept with microsecond precision, as PostgreSQL keeps them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use muster_core::plan::ActionKind;
use muster_core::report::AuditEvent;
use muster_core::secret::Secret;
use muster_core::{AccountRef, ExternalId, GroupRef, TargetName};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::StoreError;

pub use muster_core::run::{RunId, RunMode, RunStatus, UnknownRunMode, UnknownRunStatus};

/// The fewest characters of a run id that [`Store::run`] accepts as a prefix.
pub const MIN_RUN_PREFIX: usize = 6;

use muster_core::text_enum;

text_enum!(
    /// Whether a stored link is in force.
    LinkState, UnknownLinkState, "link state" {
        /// The person owns the account.
        Active => "active",
        /// The account was deleted (or disabled as a delete); the link is kept so a person
        /// who comes back gets the same account.
        Deleted => "deleted",
    }
);

text_enum!(
    /// Where a planned action is: `planned` → `sent` → `done` | `failed`, or straight from
    /// `planned` to any end state (`blocked` and `skipped` are never sent).
    JournalState, UnknownJournalState, "journal state" {
        Planned => "planned",
        /// The request is about to go, or went, out; the outcome is not known yet. Left
        /// behind by a crash, it means "may have happened".
        Sent => "sent",
        Done => "done",
        Failed => "failed",
        Blocked => "blocked",
        Skipped => "skipped",
    }
);

impl JournalState {
    /// An end state: the action's outcome is known and final.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JournalState::Done
                | JournalState::Failed
                | JournalState::Blocked
                | JournalState::Skipped
        )
    }

    /// States an entry may move to `next` from. `sent` may repeat (a retried request is sent
    /// again); an end state never changes.
    pub fn predecessors(next: JournalState) -> &'static [JournalState] {
        match next {
            JournalState::Planned => &[],
            JournalState::Sent => &[JournalState::Planned, JournalState::Sent],
            JournalState::Done | JournalState::Failed | JournalState::Skipped => {
                &[JournalState::Planned, JournalState::Sent]
            }
            JournalState::Blocked => &[JournalState::Planned],
        }
    }

    pub fn can_become(self, next: JournalState) -> bool {
        JournalState::predecessors(next).contains(&self)
    }
}

text_enum!(
    /// What an API token may do (`muster serve`): each role includes the ones before it.
    TokenRole, UnknownTokenRole, "token role" {
        /// Reads runs, plans, persons, audit and metrics.
        Viewer => "viewer",
        /// Also approves or rejects blocked actions.
        Approver => "approver",
        /// Also triggers runs and manages tokens.
        Admin => "admin",
    }
);

text_enum!(
    /// What an administrator decided about a run's blocked actions.
    DecisionKind, UnknownDecisionKind, "decision" {
        /// Released: the next apply may carry the actions out.
        Approved => "approved",
        /// Refused: the actions stay blocked and can no longer be approved.
        Rejected => "rejected",
    }
);

/// An API token as the store keeps it: the SHA-256 of the token (hex), never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// A short public handle, for listing and revoking.
    pub id: String,
    /// What the token is for (who holds it).
    pub name: String,
    pub role: TokenRole,
    /// SHA-256 of the token's text, lowercase hex.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    /// Set once revoked; a revoked token is refused.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who approved or rejected one blocked record of a run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub run: RunId,
    pub target: TargetName,
    pub kind: ActionKind,
    pub decision: DecisionKind,
    pub decided_by: String,
    pub reason: String,
    pub decided_at: DateTime<Utc>,
}

/// The newest plan made for one target, as JSON (secret values already `***`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPlan {
    pub target: TargetName,
    pub run: RunId,
    pub plan: serde_json::Value,
    pub saved_at: DateTime<Utc>,
}

/// Which report [`Store::save_report`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    /// `muster import`: how a target's accounts correlate with the persons.
    Import,
    /// `muster reconcile`: the orphan accounts and what is proposed for each.
    Reconcile,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Import => "import",
            ReportKind::Reconcile => "reconcile",
        }
    }
}

/// The newest report of one kind for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    pub target: TargetName,
    pub kind: ReportKind,
    pub report: serde_json::Value,
    pub saved_at: DateTime<Utc>,
}

/// One run of the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: RunId,
    pub mode: RunMode,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// How the run ended; `None` while it runs, or if it died.
    pub status: Option<RunStatus>,
    pub summary: Option<serde_json::Value>,
    /// Digest of the configuration the run used.
    pub config_digest: String,
}

/// One stored read of a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotMeta {
    pub id: i64,
    pub source: String,
    pub run: RunId,
    /// Digest of the whole read, to tell quickly whether anything changed.
    pub digest: String,
    /// Persons stored in the snapshot.
    pub persons: usize,
    /// Records the source stage blocked (invalid), which are not in `persons`.
    pub blocked: usize,
    pub taken_at: DateTime<Utc>,
}

/// One person as a snapshot holds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPerson {
    pub external_id: ExternalId,
    pub record_hash: String,
    pub record: serde_json::Value,
}

/// What became of a grant Muster made that the target's read may not show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantState {
    /// Done: the membership (a Zermelo class placement) exists.
    Granted,
    /// Accepted as a request that may wait for approval (a HelloID product).
    Requested,
}

impl GrantState {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantState::Granted => "granted",
            GrantState::Requested => "requested",
        }
    }
}

impl FromStr for GrantState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "granted" => Ok(GrantState::Granted),
            "requested" => Ok(GrantState::Requested),
            other => Err(format!(
                "unknown grant state `{other}`: expected granted or requested"
            )),
        }
    }
}

/// A grant Muster made, remembered because the target cannot show it (or not yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantMade {
    pub target: TargetName,
    pub account: AccountRef,
    pub group: GroupRef,
    pub group_name: String,
    pub person: ExternalId,
    pub state: GrantState,
    pub made_at: DateTime<Utc>,
}

/// The pairing person ↔ account in one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub target: TargetName,
    pub person: ExternalId,
    pub account: AccountRef,
    pub state: LinkState,
    pub updated_at: DateTime<Utc>,
}

// The plan's view of a link (`muster_core::plan::StoredLink`) has the same two states; the
// exhaustive matches below stop the build if either side gains one.
impl From<muster_core::plan::LinkState> for LinkState {
    fn from(state: muster_core::plan::LinkState) -> Self {
        match state {
            muster_core::plan::LinkState::Active => LinkState::Active,
            muster_core::plan::LinkState::Deleted => LinkState::Deleted,
        }
    }
}

impl From<LinkState> for muster_core::plan::LinkState {
    fn from(state: LinkState) -> Self {
        match state {
            LinkState::Active => muster_core::plan::LinkState::Active,
            LinkState::Deleted => muster_core::plan::LinkState::Deleted,
        }
    }
}

impl Link {
    /// The link as the diff stage takes it.
    pub fn to_stored(&self) -> muster_core::plan::StoredLink {
        muster_core::plan::StoredLink {
            person: self.person.clone(),
            account: self.account.clone(),
            state: self.state.into(),
        }
    }
}

/// What an administrator decided about an orphan account: an account in a target that no
/// person of the source owns (`muster reconcile`). Kept per target and account (migration
/// 0005); a new decision replaces the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "decision", content = "until")]
pub enum OrphanVerdict {
    /// Left alone until this day, from which it is proposed again.
    ExcludedUntil(chrono::NaiveDate),
    /// Looked at and accepted: never proposed again while the account exists.
    Resolved,
    /// Disable it, whatever the target's orphan policy says.
    Disable,
    /// Delete it, whatever the target's orphan policy says.
    Delete,
}

impl OrphanVerdict {
    /// The word stored in `orphan_decisions.decision`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrphanVerdict::ExcludedUntil(_) => "excluded",
            OrphanVerdict::Resolved => "resolved",
            OrphanVerdict::Disable => "disable",
            OrphanVerdict::Delete => "delete",
        }
    }
}

impl fmt::Display for OrphanVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrphanVerdict::ExcludedUntil(day) => write!(f, "excluded until {day}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// One orphan account's decision, with who made it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrphanDecision {
    pub target: TargetName,
    pub account: AccountRef,
    pub verdict: OrphanVerdict,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

/// The HMAC of a write-only value last written to an account's field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub account: AccountRef,
    pub field: String,
    pub hmac: String,
}

/// One action of a run's plan in the journal; `(run, target, action)` is its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub run: RunId,
    pub target: TargetName,
    /// The action's id within its target plan.
    pub action: u32,
    pub kind: ActionKind,
    pub person: ExternalId,
    pub account: Option<AccountRef>,
    /// The permission (group name) of a Grant or Revoke; with target, kind and person it
    /// identifies the action across runs, so a crashed run's entry can be matched with a
    /// fresh plan.
    #[serde(default)]
    pub permission: Option<String>,
    pub state: JournalState,
    /// The target's error text, why the action was skipped, or what a sent request was.
    pub detail: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// An action type that a target threshold blocked in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedRecord {
    pub run: RunId,
    pub target: TargetName,
    pub kind: ActionKind,
    /// Actions of that type the plan held.
    pub count: usize,
    pub reason: String,
}

/// An administrator's go-ahead for one blocked record; a later run consumes it once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub id: i64,
    /// The run whose blocked actions were approved.
    pub run: RunId,
    pub target: TargetName,
    pub kind: ActionKind,
    pub count: usize,
    pub approved_by: String,
    pub approved_at: DateTime<Utc>,
    /// The run that used the approval, once one has.
    pub consumed_by: Option<RunId>,
}

/// The stored results of one mapping script of a target (migration 0004): what a new process
/// loads so that it runs the script only for persons whose record changed. A cache: losing it
/// costs time, never correctness.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputedValues {
    /// The mapped field the script computes.
    pub field: String,
    /// Digest of the script as it runs (its source, the field's type, the engine): results
    /// under another digest are another script's.
    pub mapping_digest: String,
    pub values: Vec<ComputedEntry>,
}

/// Which result of a script: a digest of the person as the script sees them, and the
/// iteration it ran with (unique values are computed again with 1, 2, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ComputedKey {
    pub person_digest: [u8; 16],
    pub iteration: u32,
}

/// One script result.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputedEntry {
    pub key: ComputedKey,
    /// The value (`None`: the script gave none), or the message of the script's own failure.
    pub outcome: Result<Option<serde_json::Value>, String>,
}

/// What changed in one script's stored results since they were last written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComputedChanges {
    pub field: String,
    pub mapping_digest: String,
    /// Results to drop (persons who left or changed).
    pub removed: Vec<ComputedKey>,
    /// Results to add, or to replace when the key is stored already.
    pub added: Vec<ComputedEntry>,
}

/// Which audit events to read. Every filter that is set must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub person: Option<ExternalId>,
    pub target: Option<TargetName>,
    /// Events at or after this instant.
    pub since: Option<DateTime<Utc>>,
    pub run: Option<String>,
    /// Events of this action kind only.
    pub action: Option<ActionKind>,
    /// Events with this outcome only.
    pub outcome: Option<muster_core::report::ActionOutcome>,
    /// Events before this instant.
    pub until: Option<DateTime<Utc>>,
    /// At most this many events: the oldest that match (page on with `since`).
    pub limit: usize,
}

impl Default for AuditQuery {
    /// Every event, no limit.
    fn default() -> Self {
        Self {
            person: None,
            target: None,
            since: None,
            run: None,
            action: None,
            outcome: None,
            until: None,
            limit: usize::MAX,
        }
    }
}

/// Muster's state: everything a run needs to remember between runs, and what it leaves for
/// people to read (runs, blocked actions, approvals, audit).
///
/// Batch writes (`save_snapshot`, `journal_planned`, `append_audit`) are one transaction each:
/// all rows or none.
#[async_trait]
pub trait Store: Send + Sync {
    // --- Runs ---

    /// Records a new run, started now, with a fresh UUID v4 id.
    async fn start_run(&self, mode: RunMode, config_digest: &str) -> Result<RunRecord, StoreError>;

    /// Marks a running run finished now. Fails if the run is unknown or already finished.
    async fn finish_run(
        &self,
        run: &str,
        status: RunStatus,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError>;

    /// The newest `limit` runs, newest first.
    async fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError>;

    /// Runs that never finished, except `except_run`, oldest first: while no other process
    /// works on the store, these are runs whose process died.
    async fn unfinished_runs(&self, except_run: &str) -> Result<Vec<RunRecord>, StoreError>;

    /// A run by its id, or by a unique prefix of at least [`MIN_RUN_PREFIX`] characters
    /// (case-insensitive). `Ok(None)` when nothing matches; an error when the prefix is too
    /// short or matches several runs.
    async fn run(&self, run: &str) -> Result<Option<RunRecord>, StoreError>;

    // --- Snapshots ---

    /// The newest snapshot of `source`, if any.
    async fn latest_snapshot(&self, source: &str) -> Result<Option<SnapshotMeta>, StoreError>;

    /// The persons of a snapshot, ordered by external id.
    async fn snapshot_persons(&self, snapshot_id: i64) -> Result<Vec<SnapshotPerson>, StoreError>;

    /// Stores a complete read of `source` and prunes that source to its newest three
    /// snapshots, in one transaction. External ids must be unique within `persons`.
    async fn save_snapshot(
        &self,
        source: &str,
        run: &str,
        digest: &str,
        persons: &[SnapshotPerson],
        blocked: usize,
    ) -> Result<SnapshotMeta, StoreError>;

    // --- Links ---

    /// Every link of a target, active and deleted, ordered by person.
    async fn links(&self, target: &TargetName) -> Result<Vec<Link>, StoreError>;

    /// The links of `target` to any of `accounts`, active and deleted, ordered by person: what
    /// one person's plan needs (a sign-in) without reading every link of the target.
    async fn account_links(
        &self,
        target: &TargetName,
        accounts: &[AccountRef],
    ) -> Result<Vec<Link>, StoreError>;

    /// Creates or replaces the link of `link.person` in `link.target`. Fails with
    /// [`StoreError::AccountAlreadyLinked`] if the account is actively linked to someone else.
    async fn upsert_link(&self, link: &Link) -> Result<(), StoreError>;

    /// Forgets a link entirely (a link to a deleted account is kept with
    /// [`LinkState::Deleted`] instead). Removing a link that does not exist is not an error.
    async fn remove_link(&self, target: &TargetName, person: &ExternalId)
        -> Result<(), StoreError>;

    // --- Grants the target cannot show ---

    /// Every remembered grant of a target.
    async fn grants_made(&self, target: &TargetName) -> Result<Vec<GrantMade>, StoreError>;

    /// Remembers (or replaces) one grant.
    async fn record_grant(&self, grant: &GrantMade) -> Result<(), StoreError>;

    /// Forgets one grant; absent is not an error.
    async fn forget_grant(
        &self,
        target: &TargetName,
        account: &AccountRef,
        group: &GroupRef,
    ) -> Result<(), StoreError>;

    // --- Orphan decisions (`muster reconcile`) ---

    /// Every orphan decision of a target, ordered by account.
    async fn orphan_decisions(
        &self,
        target: &TargetName,
    ) -> Result<Vec<OrphanDecision>, StoreError>;

    /// Records (or replaces) the decision about one account.
    async fn decide_orphan(&self, decision: &OrphanDecision) -> Result<(), StoreError>;

    /// Forgets the decision about one account; absent is not an error.
    async fn forget_orphan_decision(
        &self,
        target: &TargetName,
        account: &AccountRef,
    ) -> Result<(), StoreError>;

    // --- Computed values (mapping-script results, a cache) ---

    /// Every stored script result of a target, by script (ordered by field and digest).
    async fn computed_values(&self, target: &TargetName)
        -> Result<Vec<ComputedValues>, StoreError>;

    /// Makes `scripts` the target's stored results, dropping every other one, in one
    /// transaction. `(field, mapping_digest)` must be unique within `scripts`.
    async fn replace_computed_values(
        &self,
        target: &TargetName,
        scripts: &[ComputedValues],
    ) -> Result<(), StoreError>;

    /// Applies each script's changes to what the store holds and drops the results of every
    /// script of the target that `scripts` does not list (a changed or removed mapping), in one
    /// transaction. A script listed without changes keeps its results; one not stored yet is
    /// added.
    async fn update_computed_values(
        &self,
        target: &TargetName,
        scripts: &[ComputedChanges],
    ) -> Result<(), StoreError>;

    // --- Fingerprints ---

    /// Every fingerprint of a target, ordered by account and field.
    async fn fingerprints(&self, target: &TargetName) -> Result<Vec<Fingerprint>, StoreError>;

    /// Creates or replaces the fingerprint of one account field.
    async fn set_fingerprint(
        &self,
        target: &TargetName,
        fp: &Fingerprint,
    ) -> Result<(), StoreError>;

    /// Forgets one account field's fingerprint; absent is not an error.
    async fn clear_fingerprint(
        &self,
        target: &TargetName,
        account: &AccountRef,
        field: &str,
    ) -> Result<(), StoreError>;

    // --- Action journal ---

    /// Records a run's planned actions (normally in state `planned`, or `blocked` for gated
    /// ones), in one transaction. Every entry's `run` must be `run`.
    async fn journal_planned(
        &self,
        run: &str,
        entries: Vec<JournalEntry>,
    ) -> Result<(), StoreError>;

    /// Moves one entry to `state`, stamped now. `detail: None` keeps the entry's detail.
    /// Fails if the entry is unknown or the move is not allowed
    /// ([`JournalState::can_become`]).
    async fn journal_set(
        &self,
        run: &str,
        target: &TargetName,
        action: u32,
        state: JournalState,
        detail: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Moves one entry to an end state and appends its audit event in one transaction, so an
    /// action never ends without its event, even when the process dies in between. Fails as
    /// [`Store::journal_set`] does, and then appends nothing.
    async fn journal_settle(
        &self,
        run: &str,
        target: &TargetName,
        action: u32,
        state: JournalState,
        detail: Option<&str>,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// A run's journal, ordered by target and action.
    async fn journal(&self, run: &str) -> Result<Vec<JournalEntry>, StoreError>;

    /// Entries of a target in state `sent`, from any run: requests whose outcome is unknown
    /// (the process died), to re-correlate before anything is retried. Oldest first.
    async fn journal_in_flight(&self, target: &TargetName)
        -> Result<Vec<JournalEntry>, StoreError>;

    /// Entries of every run but `except_run` that have no outcome yet (`planned` or `sent`):
    /// what a run that died left behind. Ordered by run start, run, target and action.
    async fn journal_unsettled(&self, except_run: &str) -> Result<Vec<JournalEntry>, StoreError>;

    /// How many entries of every run have no outcome yet (`planned` or `sent`): the server's
    /// queue depth.
    async fn journal_pending(&self) -> Result<u64, StoreError>;

    // --- Threshold blocks and approvals ---

    /// Records that a threshold blocked `kind` in `target` for this run; recording the same
    /// run, target and kind again replaces count and reason.
    async fn record_blocked(
        &self,
        run: &str,
        target: &TargetName,
        kind: ActionKind,
        count: usize,
        reason: &str,
    ) -> Result<(), StoreError>;

    /// A run's blocked records, ordered by target and kind.
    async fn blocked(&self, run: &str) -> Result<Vec<BlockedRecord>, StoreError>;

    /// Approves the run's blocked records (all of them, or those of one kind), in one
    /// transaction, and returns the approvals of every matching record, including ones
    /// approved before (so approving twice is harmless). Fails with
    /// [`StoreError::NothingToApprove`] if no blocked record matches.
    async fn approve(
        &self,
        run: &str,
        kind: Option<ActionKind>,
        by: &str,
    ) -> Result<Vec<Approval>, StoreError>;

    /// Approvals for a target that no run has used yet, oldest first.
    async fn open_approvals(&self, target: &TargetName) -> Result<Vec<Approval>, StoreError>;

    /// Marks an approval used by `by_run`. An approval is used once: a second call fails.
    async fn consume_approval(&self, approval_id: i64, by_run: &str) -> Result<(), StoreError>;

    // --- Audit ---

    /// Appends audit events in one transaction. Field changes are stored as their redacted
    /// JSON, so a secret value never reaches the database.
    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError>;

    /// Audit events matching `query`, oldest first.
    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError>;

    /// The newest `limit` audit events of `person`, oldest first (the person view): read
    /// through the person index from the newest end, never the whole history.
    async fn person_audit(
        &self,
        person: &ExternalId,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError>;

    // --- Decisions on blocked actions (`muster serve`) ---

    /// Approves or rejects the run's blocked records (all of them, or those of one kind), with
    /// who and why, in one transaction. Approving also records the approvals a later run
    /// consumes, as [`Store::approve`] does. Deciding the same way again is harmless and
    /// returns the earlier decisions; fails with [`StoreError::NothingBlocked`] if no blocked
    /// record matches and with [`StoreError::AlreadyDecided`] if one was decided the other
    /// way (an approval made with [`Store::approve`] counts as approved).
    async fn decide(
        &self,
        run: &str,
        kind: Option<ActionKind>,
        decision: DecisionKind,
        by: &str,
        reason: &str,
    ) -> Result<Vec<Decision>, StoreError>;

    /// A run's decisions, ordered by target and kind.
    async fn decisions(&self, run: &str) -> Result<Vec<Decision>, StoreError>;

    /// Every link of one person, in every target, ordered by target.
    async fn person_links(&self, person: &ExternalId) -> Result<Vec<Link>, StoreError>;

    /// One person of a snapshot, if the snapshot holds them.
    async fn snapshot_person(
        &self,
        snapshot_id: i64,
        person: &ExternalId,
    ) -> Result<Option<SnapshotPerson>, StoreError>;

    /// Keeps `plan` as the newest plan of `target`, made by `run`, replacing the one before.
    async fn save_plan(
        &self,
        run: &str,
        target: &TargetName,
        plan: &serde_json::Value,
    ) -> Result<(), StoreError>;

    /// The newest plan saved for `target`, if any.
    async fn latest_plan(&self, target: &TargetName) -> Result<Option<StoredPlan>, StoreError>;

    /// Keeps `report` as the newest of its kind for `target` (replacing the one before).
    async fn save_report(
        &self,
        kind: ReportKind,
        target: &TargetName,
        report: &serde_json::Value,
    ) -> Result<(), StoreError>;

    /// The newest report of `kind` for `target`, if one was kept.
    async fn latest_report(
        &self,
        kind: ReportKind,
        target: &TargetName,
    ) -> Result<Option<StoredReport>, StoreError>;

    // --- API tokens (`muster serve`) ---

    /// Stores a new token (its hash). Ids and hashes are unique.
    async fn create_token(&self, token: &ApiToken) -> Result<(), StoreError>;

    /// The token whose hash is `hash`, revoked or not.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError>;

    /// Every token, oldest first.
    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError>;

    /// Revokes a token now. Fails with [`StoreError::TokenNotFound`] for an unknown id;
    /// revoking twice keeps the first time.
    async fn revoke_token(&self, id: &str) -> Result<ApiToken, StoreError>;

    // --- Keys ---

    /// The key for HMAC fingerprints: 32 random bytes in hex, created when the store was
    /// first opened and the same ever after.
    async fn fingerprint_key(&self) -> Result<Secret, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_own_text_and_nothing_else() {
        for mode in RunMode::ALL {
            assert_eq!(mode.as_str().parse::<RunMode>(), Ok(*mode));
        }
        for state in LinkState::ALL {
            assert_eq!(state.as_str().parse::<LinkState>(), Ok(*state));
        }
        for state in JournalState::ALL {
            assert_eq!(state.as_str().parse::<JournalState>(), Ok(*state));
            let json = serde_json::to_string(state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        assert_eq!(
            "Sent".parse::<JournalState>(),
            Err(UnknownJournalState("Sent".into()))
        );
        let err = "gone".parse::<LinkState>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown link state `gone`: expected one of active, deleted"
        );
    }

    #[test]
    fn only_planned_and_sent_entries_move_on() {
        use JournalState::*;
        assert!(Planned.can_become(Sent) && Sent.can_become(Sent) && Sent.can_become(Done));
        assert!(Planned.can_become(Blocked) && Planned.can_become(Skipped));
        assert!(!Sent.can_become(Blocked) && !Sent.can_become(Planned));
        for end in JournalState::ALL.iter().filter(|s| s.is_final()) {
            for next in JournalState::ALL {
                assert!(!end.can_become(*next), "{end} -> {next}");
            }
        }
    }
}
