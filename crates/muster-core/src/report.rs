//! How each planned action ended, the audit event that records it, and the end-of-run summary
//! per target × action type.

use crate::gate::Block;
use crate::model::{AccountRef, ExternalId, TargetName};
use crate::plan::{ActionKind, FieldChange, PermissionTarget};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub use crate::run::RunStatus;
use crate::run::{RunId, RunMode};

/// Every planned action ends in exactly one of these: nothing ends silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionOutcome {
    Done,
    Failed,
    Blocked,
    Skipped,
}

impl ActionOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionOutcome::Done => "done",
            ActionOutcome::Failed => "failed",
            ActionOutcome::Blocked => "blocked",
            ActionOutcome::Skipped => "skipped",
        }
    }
}

impl fmt::Display for ActionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One record per action outcome: who, what, when, why, before/after (secrets redacted by
/// [`FieldChange`]'s serialization).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub run: RunId,
    pub target: TargetName,
    pub person: ExternalId,
    pub action: ActionKind,
    pub outcome: ActionOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountRef>,
    pub reason: String,
    /// The target's own error text, or why the action was blocked or skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<PermissionTarget>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub planned: usize,
    pub done: usize,
    pub failed: usize,
    pub blocked: usize,
    pub skipped: usize,
}

impl Counts {
    pub fn add(&mut self, outcome: ActionOutcome) {
        match outcome {
            ActionOutcome::Done => self.done += 1,
            ActionOutcome::Failed => self.failed += 1,
            ActionOutcome::Blocked => self.blocked += 1,
            ActionOutcome::Skipped => self.skipped += 1,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetSummary {
    pub target: TargetName,
    pub by_action: BTreeMap<ActionKind, Counts>,
    #[serde(default)]
    pub disputed: usize,
    #[serde(default)]
    pub held: usize,
    /// Every threshold or all-or-nothing limit the plan reached, with its reason and whether it
    /// was released for this run (approval, `--allow-large`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Block>,
    /// Why the target stopped early (quarantine, credentials), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Actions a shutdown left pending in the journal (never started): the next apply carries
    /// them out, so an approval for this target is not used up.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub left_pending: usize,
    #[serde(default)]
    pub warnings: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl TargetSummary {
    pub fn new(target: TargetName) -> Self {
        Self {
            target,
            ..Self::default()
        }
    }

    pub fn totals(&self) -> Counts {
        let mut t = Counts::default();
        for c in self.by_action.values() {
            t.planned += c.planned;
            t.done += c.done;
            t.failed += c.failed;
            t.blocked += c.blocked;
            t.skipped += c.skipped;
        }
        t
    }
}

/// What a run did, for people (a table) and scripts (JSON), and what its exit code is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run: RunId,
    pub mode: RunMode,
    /// Set when the whole run was stopped before execution (source gate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    #[serde(default)]
    pub blocked_persons: usize,
    pub targets: Vec<TargetSummary>,
    /// An apply that only previewed: the configuration says `perform_sync = false` and the
    /// run was not given `--perform-sync` ("ran in preview mode"; nothing was written).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preview_mode: bool,
}

impl RunSummary {
    pub fn status(&self) -> RunStatus {
        let mut status = RunStatus::NoChanges;
        if self.blocked.is_some() {
            status = RunStatus::Blocked;
        }
        for t in &self.targets {
            let c = t.totals();
            let s = if c.failed > 0 || t.stopped.is_some() {
                RunStatus::Failures
            } else if c.blocked > 0 {
                RunStatus::Blocked
            } else if c.planned > 0 {
                RunStatus::Changes
            } else {
                RunStatus::NoChanges
            };
            status = status.max(s);
        }
        status
    }

    pub fn target_mut(&mut self, target: &TargetName) -> &mut TargetSummary {
        if let Some(i) = self.targets.iter().position(|t| &t.target == target) {
            &mut self.targets[i]
        } else {
            self.targets.push(TargetSummary::new(target.clone()));
            let last = self.targets.len() - 1;
            &mut self.targets[last]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_outrank_blocked_outrank_changes() {
        let mut s = RunSummary::default();
        let t = s.target_mut(&"a".into());
        t.by_action.entry(ActionKind::Create).or_default().planned = 1;
        assert_eq!(s.status(), RunStatus::Changes);
        s.target_mut(&"b".into())
            .by_action
            .entry(ActionKind::Delete)
            .or_default()
            .blocked = 1;
        assert_eq!(s.status(), RunStatus::Blocked);
        s.target_mut(&"a".into())
            .by_action
            .entry(ActionKind::Create)
            .or_default()
            .failed = 1;
        assert_eq!(s.status(), RunStatus::Failures);
    }

    #[test]
    fn secret_changes_are_redacted_in_audit_json() {
        let e = AuditEvent {
            at: Utc::now(),
            run: "r".into(),
            target: "t".into(),
            person: "p".into(),
            action: ActionKind::Update,
            outcome: ActionOutcome::Done,
            account: None,
            reason: "x".into(),
            detail: None,
            changes: vec![FieldChange {
                field: "password".into(),
                before: None,
                after: Some("hunter2".into()),
                secret: true,
                account_of: None,
            }],
            permission: None,
        };
        let json = serde_json::to_string(&e).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
    }
}
