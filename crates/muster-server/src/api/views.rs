//! What the API answers and accepts: its own types, so the wire format is decided here and
//! documented in the OpenAPI document, not borrowed from the store's records.

use chrono::{DateTime, Utc};
use muster_core::report::AuditEvent;
use muster_store::{ApiToken, BlockedRecord, Decision, JournalEntry, Link, RunRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One run of the pipeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    pub id: String,
    /// `preview`, `apply` or `sign-in` (an account created when someone signed in).
    pub mode: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `changes`, `blocked`, `failures`, `no-changes`, `error` or `interrupted`; null while
    /// it runs.
    pub status: Option<String>,
    /// Counts per target and action type (the run summary), or `{ "error": … }`.
    #[schema(value_type = Option<Object>)]
    pub summary: Option<serde_json::Value>,
}

impl From<RunRecord> for RunView {
    fn from(r: RunRecord) -> Self {
        Self {
            id: r.id.to_string(),
            mode: r.mode.as_str().to_owned(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            status: r.status.map(|s| s.as_str().to_owned()),
            summary: r.summary,
        }
    }
}

/// One action of an applied run, with its outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionView {
    pub target: String,
    /// The action's number within its target's plan.
    pub action: u32,
    /// `create`, `update`, `grant`, …
    pub kind: String,
    pub person: String,
    pub account: Option<String>,
    /// The permission of a grant or revoke.
    pub permission: Option<String>,
    /// `planned`, `sent`, `done`, `failed`, `blocked` or `skipped`.
    pub state: String,
    /// The target's error text, or why the action was skipped.
    pub detail: Option<String>,
    /// Why the action was planned (from its audit event, once it has one).
    pub reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl ActionView {
    pub fn new(e: JournalEntry, reason: Option<String>) -> Self {
        Self {
            target: e.target.to_string(),
            action: e.action,
            kind: e.kind.as_str().to_owned(),
            person: e.person.to_string(),
            account: e.account.map(|a| a.to_string()),
            permission: e.permission,
            state: e.state.as_str().to_owned(),
            detail: e.detail,
            reason,
            updated_at: e.updated_at,
        }
    }
}

/// Filters on a run's actions.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActionFilter {
    pub target: Option<String>,
    /// An action kind: create, correlate, update, enable, disable, delete, grant, revoke, …
    pub kind: Option<String>,
    /// A journal state: planned, sent, done, failed, blocked, skipped.
    pub state: Option<String>,
}

/// How many runs to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunList {
    /// 1-500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// `plan` (a preview: nothing is sent) or `apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TriggerMode {
    Plan,
    Apply,
}

/// A run to start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerRequest {
    pub mode: TriggerMode,
    /// Targets to cover; leave out for every target.
    #[serde(default)]
    pub targets: Option<Vec<String>>,
}

/// A run that was started; it goes on in the background (see `GET /api/v1/runs`).
#[derive(Debug, Serialize, ToSchema)]
pub struct TriggerAnswer {
    pub mode: TriggerMode,
    /// Empty: every target.
    pub targets: Vec<String>,
    pub started_by: String,
    pub since: DateTime<Utc>,
}

/// An action type a threshold blocked in a run, and what was decided about it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockedView {
    pub run: String,
    pub target: String,
    pub kind: String,
    /// Actions of that type the plan held.
    pub count: usize,
    pub reason: String,
    /// Null while it waits for a decision.
    pub decision: Option<DecisionView>,
}

impl BlockedView {
    pub fn new(b: BlockedRecord, decision: Option<DecisionView>) -> Self {
        Self {
            run: b.run.to_string(),
            target: b.target.to_string(),
            kind: b.kind.as_str().to_owned(),
            count: b.count,
            reason: b.reason,
            decision,
        }
    }
}

/// Who approved or rejected blocked actions, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionView {
    pub run: String,
    pub target: String,
    pub kind: String,
    /// `approved` or `rejected`.
    pub decision: String,
    pub decided_by: String,
    pub reason: String,
    pub decided_at: DateTime<Utc>,
}

impl From<Decision> for DecisionView {
    fn from(d: Decision) -> Self {
        Self {
            run: d.run.to_string(),
            target: d.target.to_string(),
            kind: d.kind.as_str().to_owned(),
            decision: d.decision.as_str().to_owned(),
            decided_by: d.decided_by,
            reason: d.reason,
            decided_at: d.decided_at,
        }
    }
}

/// An approval or rejection of a run's blocked actions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// One action kind; leave out for every blocked kind of the run.
    #[serde(default)]
    pub kind: Option<String>,
    /// Why (1-1000 characters, not only spaces); kept with the decision.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// Which runs' blocked actions to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BlockedList {
    /// Only those still waiting for a decision (default true).
    pub waiting: Option<bool>,
    /// How many of the newest runs to look through: 1-200, default 20.
    #[param(minimum = 1, maximum = 200)]
    pub runs: Option<u32>,
}

/// The newest plan of a target.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub target: String,
    pub run: String,
    pub saved_at: DateTime<Utc>,
    /// The target plan (actions with reasons and before/after; secret values are `***`).
    #[schema(value_type = Object)]
    pub plan: serde_json::Value,
}

/// One person across every target.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    pub external_id: String,
    /// The person as the newest source snapshot holds them; null if it does not.
    #[schema(value_type = Option<Object>)]
    pub record: Option<serde_json::Value>,
    pub accounts: Vec<AccountView>,
    /// The newest audit events of the person (up to 200), oldest first.
    pub audit: Vec<AuditView>,
}

/// A person's account in one target.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub target: String,
    pub account: String,
    /// `active` or `deleted`.
    pub state: String,
    pub updated_at: DateTime<Utc>,
}

impl From<Link> for AccountView {
    fn from(l: Link) -> Self {
        Self {
            target: l.target.to_string(),
            account: l.account.to_string(),
            state: l.state.as_str().to_owned(),
            updated_at: l.updated_at,
        }
    }
}

/// One audit event: an action's outcome, with before/after (secret values are `***`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub at: DateTime<Utc>,
    pub run: String,
    pub target: String,
    pub person: String,
    pub action: String,
    /// `done`, `failed`, `blocked` or `skipped`.
    pub outcome: String,
    pub account: Option<String>,
    pub reason: String,
    pub detail: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub permission: Option<serde_json::Value>,
}

impl From<AuditEvent> for AuditView {
    fn from(e: AuditEvent) -> Self {
        Self {
            at: e.at,
            run: e.run.to_string(),
            target: e.target.to_string(),
            person: e.person.to_string(),
            action: e.action.as_str().to_owned(),
            outcome: e.outcome.as_str().to_owned(),
            account: e.account.map(|a| a.to_string()),
            reason: e.reason,
            detail: e.detail,
            changes: e
                .changes
                .iter()
                .filter_map(|c| serde_json::to_value(c).ok())
                .collect(),
            permission: e.permission.and_then(|p| serde_json::to_value(p).ok()),
        }
    }
}

/// Audit search; every filter given must match.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditSearch {
    pub person: Option<String>,
    pub target: Option<String>,
    /// An action kind (create, update, grant, …).
    pub action: Option<String>,
    /// done, failed, blocked or skipped.
    pub outcome: Option<String>,
    pub run: Option<String>,
    /// Events at or after this instant (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Events before this instant (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// 1-1000, default 100: the oldest that match (page on with `since`).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// A configured schedule and when it fires next.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    pub name: String,
    pub cron: String,
    pub timezone: String,
    /// `plan` or `apply`.
    pub mode: String,
    /// Empty: every target.
    pub targets: Vec<String>,
    pub jitter_seconds: u64,
    pub next: Option<DateTime<Utc>>,
}

/// An API token as listed: never the token itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    /// `viewer`, `approver` or `admin`.
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            role: t.role.as_str().to_owned(),
            created_at: t.created_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A token to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Who or what holds it (1-100 characters, not only spaces).
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub role: RoleName,
}

/// What a token may do: `viewer` reads, `approver` also decides on blocked actions, `admin`
/// also starts runs and manages tokens.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Viewer,
    Approver,
    Admin,
}

impl From<RoleName> for muster_store::TokenRole {
    fn from(r: RoleName) -> Self {
        match r {
            RoleName::Viewer => Self::Viewer,
            RoleName::Approver => Self::Approver,
            RoleName::Admin => Self::Admin,
        }
    }
}

/// A token just made: `token` is shown this once and never again (and never in `Debug`).
#[derive(Serialize, ToSchema)]
pub struct NewTokenView {
    pub token: String,
    #[serde(flatten)]
    pub record: TokenView,
}

impl std::fmt::Debug for NewTokenView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewTokenView")
            .field("token", &"***")
            .field("record", &self.record)
            .finish()
    }
}

/// The health of the server.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Whether the state store answers (only for `/readyz`).
    pub store: Option<bool>,
    /// Whether every schedule is running (only for `/readyz`).
    pub schedules: Option<bool>,
}
