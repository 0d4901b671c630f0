//! Gates: how much a run may change. The source gate stops the whole run when the source
//! looks wrong (far fewer persons, many blocked records); the target gate blocks one action
//! type in one target (thresholds), or a whole target (all-or-nothing), until approved.
//!
//! Thresholds trip at `>=` (HelloID semantics); the all-or-nothing mode trips at `>` (Zivver
//! Cloud Sync: "more than 10 %"). Disables count together with deletes.

use crate::plan::{Action, ActionId, ActionKind, TargetPlan};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// An absolute and/or percentage limit; either one trips it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub absolute: Option<usize>,
    pub percent: Option<f64>,
}

impl Threshold {
    pub fn is_tripped(&self, count: usize, population: usize) -> bool {
        if count == 0 {
            return false;
        }
        let absolute = self.absolute.is_some_and(|a| count >= a);
        let percent = self
            .percent
            .is_some_and(|p| population > 0 && (count as f64) * 100.0 >= p * population as f64);
        absolute || percent
    }

    pub fn describe(&self) -> String {
        match (self.absolute, self.percent) {
            (Some(a), Some(p)) => format!("{a} or {p}%"),
            (Some(a), None) => a.to_string(),
            (None, Some(p)) => format!("{p}%"),
            (None, None) => "none".into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Source gate

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceThresholds {
    pub added: Option<Threshold>,
    pub removed: Option<Threshold>,
    pub blocked: Option<Threshold>,
}

/// How the new read compares with the previous stored snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceDelta {
    /// Persons in the previous snapshot; `None` on the first run.
    pub previous: Option<usize>,
    pub valid: usize,
    pub blocked: usize,
    pub added: usize,
    pub removed: usize,
}

/// `Err` lists every tripped threshold: the run must stop before anything is executed.
pub fn source_gate(delta: &SourceDelta, limits: &SourceThresholds) -> Result<(), Vec<String>> {
    let mut trips = Vec::new();
    let total = delta.valid + delta.blocked;
    if let (Some(previous), Some(t)) = (delta.previous, limits.removed) {
        if t.is_tripped(delta.removed, previous) {
            trips.push(format!(
                "{} of {previous} persons are gone from the source (threshold {})",
                delta.removed,
                t.describe()
            ));
        }
    }
    if let (Some(previous), Some(t)) = (delta.previous, limits.added) {
        if t.is_tripped(delta.added, previous.max(1)) {
            trips.push(format!(
                "{} persons are new in the source (threshold {})",
                delta.added,
                t.describe()
            ));
        }
    }
    if let Some(t) = limits.blocked {
        if t.is_tripped(delta.blocked, total) {
            trips.push(format!(
                "{} of {total} source records are blocked (threshold {})",
                delta.blocked,
                t.describe()
            ));
        }
    }
    if trips.is_empty() {
        Ok(())
    } else {
        Err(trips)
    }
}

// ---------------------------------------------------------------------------------------------
// Target gate

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetThresholds {
    /// Per action type; a Disable threshold is the Delete threshold (they count together).
    pub per_kind: BTreeMap<ActionKind, Threshold>,
    /// All-or-nothing: when more than this percentage of accounts would be created, updated,
    /// disabled or deleted, nothing runs unless `allow_large` is set.
    pub all_or_nothing_percent: Option<f64>,
    pub allow_large: bool,
}

impl TargetThresholds {
    pub fn for_kind(&self, kind: ActionKind) -> Option<&Threshold> {
        let group = kind.threshold_group();
        self.per_kind.get(&group).or_else(|| {
            (group == ActionKind::Delete)
                .then(|| self.per_kind.get(&ActionKind::Disable))
                .flatten()
        })
    }
}

/// A plan that went through the gate: only this type reaches the executor.
#[derive(Debug, Clone, PartialEq)]
pub struct GatedPlan {
    pub plan: TargetPlan,
    /// Action groups blocked, with the reason (the key is the threshold group).
    pub blocked_kinds: BTreeMap<ActionKind, String>,
    /// The whole target is blocked (all-or-nothing).
    pub blocked_all: Option<String>,
    /// Ids of blocked actions, including those that depend on a blocked one.
    pub blocked_actions: HashSet<ActionId>,
    /// Threshold groups that would have been blocked but were approved.
    pub approved: Vec<ActionKind>,
}

impl GatedPlan {
    pub fn is_blocked(&self, action: &Action) -> bool {
        self.blocked_actions.contains(&action.id)
    }

    pub fn blocked_reason(&self, action: &Action) -> Option<String> {
        if !self.is_blocked(action) {
            return None;
        }
        if let Some(why) = &self.blocked_all {
            return Some(why.clone());
        }
        Some(
            self.blocked_kinds
                .get(&action.kind.threshold_group())
                .cloned()
                .unwrap_or_else(|| "depends on a blocked action".into()),
        )
    }
}

/// Splits a plan into runnable and blocked actions. `approved` holds, per threshold group,
/// the number of actions an administrator approved; an approval covers up to that many.
pub fn target_gate(
    plan: TargetPlan,
    limits: &TargetThresholds,
    approved: &BTreeMap<ActionKind, usize>,
) -> GatedPlan {
    let population = plan.accounts_observed;
    let mut blocked_kinds = BTreeMap::new();
    let mut approved_kinds = Vec::new();
    for kind in ActionKind::ALL {
        if kind.threshold_group() != kind {
            continue;
        }
        let count = plan.count_group(kind);
        if let Some(t) = limits.for_kind(kind) {
            if t.is_tripped(count, population) {
                if approved.get(&kind).is_some_and(|n| *n >= count) {
                    approved_kinds.push(kind);
                } else {
                    let what = if kind == ActionKind::Delete {
                        "disable/delete".to_owned()
                    } else {
                        kind.to_string()
                    };
                    blocked_kinds.insert(
                        kind,
                        format!(
                            "{count} {what} actions of {population} accounts reach the threshold {}; approve with `muster approve`",
                            t.describe()
                        ),
                    );
                }
            }
        }
    }

    let mut blocked_all = None;
    if let (Some(p), false) = (limits.all_or_nothing_percent, limits.allow_large) {
        let changed: HashSet<_> = plan
            .actions
            .iter()
            .filter(|a| {
                matches!(
                    a.kind,
                    ActionKind::Create
                        | ActionKind::Update
                        | ActionKind::Enable
                        | ActionKind::Disable
                        | ActionKind::Delete
                )
            })
            .map(|a| &a.person)
            .collect();
        if population > 0 && (changed.len() as f64) * 100.0 > p * population as f64 {
            blocked_all = Some(format!(
                "{} of {population} accounts would change, more than {p}%; nothing runs without allow_large",
                changed.len()
            ));
        }
    }

    let mut blocked_actions = HashSet::new();
    for a in &plan.actions {
        let blocked = blocked_all.is_some()
            || blocked_kinds.contains_key(&a.kind.threshold_group())
            || a.depends_on.iter().any(|d| blocked_actions.contains(d));
        if blocked {
            blocked_actions.insert(a.id);
        }
    }
    GatedPlan {
        plan,
        blocked_kinds,
        blocked_all,
        blocked_actions,
        approved: approved_kinds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;

    fn plan_with(counts: &[(ActionKind, usize)], population: usize) -> TargetPlan {
        let mut actions = Vec::new();
        for (kind, n) in counts {
            for _ in 0..*n {
                let id = ActionId(actions.len() as u32);
                actions.push(Action {
                    id,
                    kind: *kind,
                    person: format!("p{}", id.0).into(),
                    account: None,
                    depends_on: vec![],
                    waits_for: vec![],
                    enabled: None,
                    changes: vec![],
                    permission: None,
                    resend: vec![],
                    reason: String::new(),
                });
            }
        }
        TargetPlan {
            target: "t".into(),
            observed_digest: String::new(),
            accounts_observed: population,
            actions,
            disputed: vec![],
            held: vec![],
            warnings: vec![],
        }
    }

    fn pct(kind: ActionKind, p: f64) -> TargetThresholds {
        TargetThresholds {
            per_kind: [(
                kind,
                Threshold {
                    absolute: None,
                    percent: Some(p),
                },
            )]
            .into(),
            ..TargetThresholds::default()
        }
    }

    #[test]
    fn deletes_at_the_limit_are_blocked_but_creates_still_run() {
        let plan = plan_with(&[(ActionKind::Create, 3), (ActionKind::Delete, 40)], 400);
        let out = target_gate(plan, &pct(ActionKind::Delete, 10.0), &BTreeMap::new());
        assert_eq!(out.blocked_actions.len(), 40);
        assert!(out.blocked_kinds.contains_key(&ActionKind::Delete));
        assert!(!out.is_blocked(&out.plan.actions[0]));
    }

    #[test]
    fn just_below_the_limit_passes() {
        let plan = plan_with(&[(ActionKind::Delete, 39)], 400);
        let out = target_gate(plan, &pct(ActionKind::Delete, 10.0), &BTreeMap::new());
        assert!(out.blocked_actions.is_empty());
    }

    #[test]
    fn disables_count_with_deletes() {
        let plan = plan_with(&[(ActionKind::Disable, 5), (ActionKind::Delete, 5)], 100);
        let limits = TargetThresholds {
            per_kind: [(
                ActionKind::Disable,
                Threshold {
                    absolute: Some(10),
                    percent: None,
                },
            )]
            .into(),
            ..TargetThresholds::default()
        };
        let out = target_gate(plan, &limits, &BTreeMap::new());
        assert_eq!(out.blocked_actions.len(), 10);
    }

    #[test]
    fn approval_releases_up_to_the_approved_count() {
        let plan = plan_with(&[(ActionKind::Disable, 20)], 100);
        let approved = [(ActionKind::Delete, 20)].into();
        let out = target_gate(plan.clone(), &pct(ActionKind::Delete, 10.0), &approved);
        assert!(out.blocked_actions.is_empty() && out.approved == vec![ActionKind::Delete]);
        let fewer = [(ActionKind::Delete, 19)].into();
        assert_eq!(
            target_gate(plan, &pct(ActionKind::Delete, 10.0), &fewer)
                .blocked_actions
                .len(),
            20
        );
    }

    #[test]
    fn dependents_of_blocked_actions_are_blocked() {
        let mut plan = plan_with(&[(ActionKind::Create, 1), (ActionKind::Grant, 1)], 10);
        plan.actions[1].depends_on = vec![ActionId(0)];
        let limits = TargetThresholds {
            per_kind: [(
                ActionKind::Create,
                Threshold {
                    absolute: Some(1),
                    percent: None,
                },
            )]
            .into(),
            ..TargetThresholds::default()
        };
        let out = target_gate(plan, &limits, &BTreeMap::new());
        assert_eq!(out.blocked_actions.len(), 2);
    }

    #[test]
    fn all_or_nothing_trips_above_not_at() {
        let limits = TargetThresholds {
            all_or_nothing_percent: Some(10.0),
            ..TargetThresholds::default()
        };
        let at = target_gate(
            plan_with(&[(ActionKind::Update, 10)], 100),
            &limits,
            &BTreeMap::new(),
        );
        assert!(at.blocked_all.is_none());
        let over = target_gate(
            plan_with(&[(ActionKind::Update, 11)], 100),
            &limits,
            &BTreeMap::new(),
        );
        assert_eq!(over.blocked_actions.len(), 11);
        let allowed = TargetThresholds {
            allow_large: true,
            ..limits
        };
        assert!(target_gate(
            plan_with(&[(ActionKind::Update, 11)], 100),
            &allowed,
            &BTreeMap::new()
        )
        .blocked_all
        .is_none());
    }

    #[test]
    fn source_gate_trips_on_shrinking_source() {
        let limits = SourceThresholds {
            removed: Some(Threshold {
                absolute: None,
                percent: Some(20.0),
            }),
            ..SourceThresholds::default()
        };
        let delta = SourceDelta {
            previous: Some(300),
            valid: 180,
            blocked: 0,
            added: 0,
            removed: 120,
        };
        let trips = source_gate(&delta, &limits).unwrap_err();
        assert!(trips[0].contains("120 of 300"));
        let ok = SourceDelta {
            removed: 3,
            valid: 297,
            ..delta
        };
        assert!(source_gate(&ok, &limits).is_ok());
        let first = SourceDelta {
            previous: None,
            ..delta
        };
        assert!(source_gate(&first, &limits).is_ok());
    }
}
