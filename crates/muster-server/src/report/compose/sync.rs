//! The Cloud Sync section of the run report (a configuration with `[run] perform_sync`):
//! per target, accounts created, updated, suspended and resumed, delegations and aliases
//! changed, persons skipped with the reason, what the fail-safe blocked, and whether the run
//! only previewed. Built without I/O from the run's report.

use super::{Entry, Section};
use muster_core::gate::Limit;
use muster_core::plan::{ActionKind, TargetPlan};
use muster_core::report::TargetSummary;
use muster_core::{ExternalId, TargetName};
use muster_engine::RunReport;

/// One target's part of the Cloud Sync section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncTarget {
    pub target: TargetName,
    pub created: usize,
    pub updated: usize,
    pub suspended: usize,
    pub resumed: usize,
    /// Accounts whose delegates (a functional account's members) change.
    pub delegations_changed: usize,
    /// Accounts whose aliases change.
    pub aliases_changed: usize,
    /// Persons skipped (held, disputed), with the reason; at most the list limit.
    pub skipped: Vec<(ExternalId, String)>,
    pub skipped_total: usize,
    /// Why the fail-safe (all-or-nothing) or a threshold held actions.
    pub fail_safe: Vec<String>,
}

/// The whole section: `preview` when the run wrote nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncDigest {
    pub preview: bool,
    pub targets: Vec<SyncTarget>,
}

impl SyncDigest {
    /// From a run's report: an apply counts what was done, a preview what is planned; field
    /// changes (delegations, aliases) are counted on the plan.
    pub fn of(report: &RunReport, preview: bool, limit: usize) -> Self {
        let preview = preview || report.summary.preview_mode;
        let targets = report
            .plan
            .targets
            .iter()
            .map(|plan| {
                let summary = report
                    .summary
                    .targets
                    .iter()
                    .find(|t| t.target == plan.target);
                sync_target(plan, summary, preview, limit)
            })
            .collect();
        Self { preview, targets }
    }

    pub(super) fn section(&self) -> Section {
        let mut s = Section {
            heading: "Cloud Sync".to_owned(),
            ..Section::default()
        };
        if self.preview {
            s.line(
                "Ran in preview mode: nothing was written (perform_sync = false; `muster apply --perform-sync` writes)."
                    .to_owned(),
            );
        }
        let verb = if self.preview { "would be" } else { "were" };
        for t in &self.targets {
            s.line(format!(
                "{}: {} created, {} updated, {} suspended, {} resumed ({verb}); delegations changed on {} account(s), aliases on {}.",
                t.target,
                t.created,
                t.updated,
                t.suspended,
                t.resumed,
                t.delegations_changed,
                t.aliases_changed
            ));
            for why in &t.fail_safe {
                s.item(format!("Blocked by the fail-safe: {why}"));
            }
            if t.skipped_total > 0 {
                s.line(format!("Skipped ({}):", t.skipped_total));
                for (person, why) in &t.skipped {
                    s.item(format!("{person}: {why}"));
                }
                if t.skipped_total > t.skipped.len() {
                    s.item(format!("… and {} more", t.skipped_total - t.skipped.len()));
                }
            }
        }
        if self.targets.is_empty() {
            s.body
                .push(Entry::Line("No target was planned.".to_owned()));
        }
        s
    }
}

fn sync_target(
    plan: &TargetPlan,
    summary: Option<&TargetSummary>,
    preview: bool,
    limit: usize,
) -> SyncTarget {
    let count = |kind: ActionKind| match summary.and_then(|s| s.by_action.get(&kind)) {
        Some(c) if !preview => c.done,
        _ => plan.actions.iter().filter(|a| a.kind == kind).count(),
    };
    let touching = |suffix: &[&str]| {
        let mut accounts: Vec<&ExternalId> = plan
            .actions
            .iter()
            .filter(|a| matches!(a.kind, ActionKind::Update | ActionKind::Create))
            .filter(|a| {
                a.changes
                    .iter()
                    .any(|c| suffix.iter().any(|s| c.field.ends_with(s)))
            })
            .map(|a| &a.person)
            .collect();
        accounts.sort();
        accounts.dedup();
        accounts.len()
    };
    let skipped: Vec<(ExternalId, String)> = plan
        .held
        .iter()
        .map(|h| (h.person.clone(), h.reason.clone()))
        .chain(plan.disputed.iter().map(|d| {
            (
                d.person.clone(),
                format!(
                    "{} accounts carry {:?}: link one by hand",
                    d.accounts.len(),
                    d.value
                ),
            )
        }))
        .collect();
    let fail_safe = summary
        .map(|s| {
            s.blocks
                .iter()
                .map(|b| match (b.limit, b.released) {
                    (Limit::AllOrNothing, None) => b.reason.clone(),
                    (limit, None) => format!("{limit}: {}", b.reason),
                    (limit, Some(how)) => format!("{limit} {how}: {}", b.reason),
                })
                .collect()
        })
        .unwrap_or_default();
    SyncTarget {
        target: plan.target.clone(),
        created: count(ActionKind::Create),
        updated: count(ActionKind::Update),
        suspended: count(ActionKind::Disable),
        resumed: count(ActionKind::Enable),
        delegations_changed: touching(&["delegates", "members"]),
        aliases_changed: touching(&["aliases"]),
        skipped_total: skipped.len(),
        skipped: skipped.into_iter().take(limit).collect(),
        fail_safe,
    }
}
