//! Gates: how much a run may change. The source gate stops the whole run when the source
//! looks wrong (far fewer persons, many blocked records); the target gate blocks one action
//! type in one target (thresholds), or a whole target (all-or-nothing), until approved.
//!
//! Thresholds trip at `>=` (HelloID semantics); the all-or-nothing mode trips at `>` (Zivver
//! Cloud Sync: "more than 10 %"). Disables count together with deletes.

use crate::plan::{Action, ActionId, ActionKind, TargetPlan};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};

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

/// The limit a plan reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "limit", content = "action", rename_all = "snake_case")]
pub enum Limit {
    /// The threshold of one action type (its threshold group: disables count as deletes).
    Threshold(ActionKind),
    /// All-or-nothing: every action of the target.
    AllOrNothing,
}

impl Limit {
    /// Whether this limit holds actions of this kind.
    pub fn covers(self, kind: ActionKind) -> bool {
        match self {
            Limit::Threshold(group) => kind.threshold_group() == group,
            Limit::AllOrNothing => true,
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::Threshold(ActionKind::Delete) => f.write_str("disable/delete threshold"),
            Limit::Threshold(kind) => write!(f, "{kind} threshold"),
            Limit::AllOrNothing => f.write_str("all-or-nothing"),
        }
    }
}

/// What let a block through for one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Release {
    /// An administrator's `muster approve` of a run that was blocked the same way.
    Approval,
    /// `muster apply --allow-large` (Cloud Sync's `allow_large_sync`, for one run).
    AllowLarge,
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Release::Approval => "released by an approval (`muster approve`)",
            Release::AllowLarge => "released for this run by `--allow-large`",
        })
    }
}

/// One limit a target plan reached: what it holds, why, and whether it was released.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    #[serde(flatten)]
    pub limit: Limit,
    /// The actions it holds (or would have held, when released).
    pub actions: usize,
    /// Why, in an administrator's words: "10 of 10 accounts would change, more than 50%".
    pub reason: String,
    /// How it was let through for this run; `None`: it blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<Release>,
}

impl Block {
    pub fn is_blocking(&self) -> bool {
        self.released.is_none()
    }
}

/// What may release blocks in one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Releases {
    /// Per threshold group, how many actions administrators approved (`muster approve`); an
    /// approval covers up to that many.
    pub approved: BTreeMap<ActionKind, usize>,
    /// `muster apply --allow-large`: every threshold and all-or-nothing block is released.
    pub allow_large: bool,
}

impl Releases {
    /// An approval wins over `--allow-large`, so the approval is used up by this run.
    fn release(&self, groups: &[(ActionKind, usize)]) -> Option<Release> {
        let approved = groups
            .iter()
            .all(|(kind, n)| self.approved.get(kind).is_some_and(|a| a >= n));
        if approved {
            Some(Release::Approval)
        } else if self.allow_large {
            Some(Release::AllowLarge)
        } else {
            None
        }
    }
}

/// A plan that went through the gate: only this type reaches the executor, and only
/// [`target_gate`] makes one. Its fields are private, so no code can build a gated plan
/// without the gate or change its actions after it:
///
/// ```compile_fail
/// use muster_core::gate::GatedPlan;
/// use muster_core::plan::TargetPlan;
///
/// fn skip_the_gate(plan: TargetPlan) -> GatedPlan {
///     GatedPlan { plan, blocks: Vec::new(), blocked_actions: Default::default() }
/// }
/// ```
///
/// ```compile_fail
/// use muster_core::gate::GatedPlan;
///
/// fn add_after_the_gate(gated: &mut GatedPlan) {
///     gated.plan.actions.clear();
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GatedPlan {
    plan: TargetPlan,
    /// Every limit the plan reached, blocking or released, with its reason.
    blocks: Vec<Block>,
    /// Ids of blocked actions, including those that depend on a blocked one.
    blocked_actions: HashSet<ActionId>,
}

/// How a blocked action is let through, for the audit trail and the tables.
pub const RELEASE_HINT: &str =
    "`muster approve RUN` releases it for one run, as does `muster apply --allow-large`";

impl GatedPlan {
    /// The plan as the gate let it through (read only).
    pub fn plan(&self) -> &TargetPlan {
        &self.plan
    }

    /// Every limit the plan reached, blocking or released, with its reason.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// How many actions the gate holds, including those that depend on a held one.
    pub fn blocked_count(&self) -> usize {
        self.blocked_actions.len()
    }

    /// The plan, once the gate's verdict is no longer needed (the executor is done with it):
    /// what a report or a saved plan keeps.
    pub fn into_plan(self) -> TargetPlan {
        self.plan
    }

    pub fn is_blocked(&self, action: &Action) -> bool {
        self.blocked_actions.contains(&action.id)
    }

    /// Why `action` is blocked: the reasons of every limit that holds it, or its dependency.
    pub fn blocked_reason(&self, action: &Action) -> Option<String> {
        if !self.is_blocked(action) {
            return None;
        }
        let why = self.reasons(action, Block::is_blocking);
        Some(match why {
            Some(why) => format!("{why}; {RELEASE_HINT}"),
            None => "depends on a blocked action".into(),
        })
    }

    /// For an action a released limit let through: which limit and how, for the audit.
    pub fn released_reason(&self, action: &Action) -> Option<String> {
        if self.is_blocked(action) {
            return None;
        }
        self.reasons(action, |b| !b.is_blocking())
    }

    fn reasons(&self, action: &Action, which: impl Fn(&Block) -> bool) -> Option<String> {
        let why: Vec<String> = self
            .blocks
            .iter()
            .filter(|b| which(b) && b.limit.covers(action.kind))
            .map(|b| match b.released {
                Some(how) => format!("{} {how}: {}", b.limit, b.reason),
                None => format!("{}: {}", b.limit, b.reason),
            })
            .collect();
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// What `muster approve` can release: per threshold group that a blocking limit holds, its
    /// action count and the reasons.
    pub fn approvable(&self) -> Vec<(ActionKind, usize, String)> {
        threshold_groups(&self.plan)
            .filter_map(|(kind, count)| {
                let why: Vec<String> = self
                    .blocks
                    .iter()
                    .filter(|b| b.is_blocking() && b.limit.covers(kind))
                    .map(|b| format!("{}: {}", b.limit, b.reason))
                    .collect();
                (!why.is_empty()).then(|| (kind, count, why.join("; ")))
            })
            .collect()
    }

    /// Threshold groups whose approvals this run uses.
    pub fn approved_groups(&self) -> BTreeSet<ActionKind> {
        threshold_groups(&self.plan)
            .map(|(kind, _)| kind)
            .filter(|kind| {
                self.blocks
                    .iter()
                    .any(|b| b.released == Some(Release::Approval) && b.limit.covers(*kind))
            })
            .collect()
    }
}

/// Every threshold group with actions in the plan, and how many.
fn threshold_groups(plan: &TargetPlan) -> impl Iterator<Item = (ActionKind, usize)> + '_ {
    ActionKind::ALL
        .into_iter()
        .filter(|kind| kind.threshold_group() == *kind)
        .map(|kind| (kind, plan.count_group(kind)))
        .filter(|(_, count)| *count > 0)
}

/// Splits a plan into runnable and blocked actions. Every limit reached is a [`Block`] with its
/// reason; `releases` lets some through for this run.
pub fn target_gate(plan: TargetPlan, limits: &TargetThresholds, releases: &Releases) -> GatedPlan {
    let mut blocks = threshold_blocks(&plan, limits, releases);
    if let Some(reason) = all_or_nothing(&plan, limits) {
        let groups: Vec<_> = threshold_groups(&plan).collect();
        blocks.push(Block {
            limit: Limit::AllOrNothing,
            actions: plan.actions.len(),
            reason,
            released: releases.release(&groups),
        });
    }
    let mut blocked_actions = HashSet::new();
    for a in &plan.actions {
        let blocked = blocks
            .iter()
            .any(|b| b.is_blocking() && b.limit.covers(a.kind))
            || a.depends_on.iter().any(|d| blocked_actions.contains(d));
        if blocked {
            blocked_actions.insert(a.id);
        }
    }
    GatedPlan {
        plan,
        blocks,
        blocked_actions,
    }
}

fn threshold_blocks(
    plan: &TargetPlan,
    limits: &TargetThresholds,
    releases: &Releases,
) -> Vec<Block> {
    let population = plan.accounts_observed;
    let mut blocks = Vec::new();
    for (kind, count) in threshold_groups(plan) {
        let Some(t) = limits.for_kind(kind) else {
            continue;
        };
        if !t.is_tripped(count, population) {
            continue;
        }
        let what = match kind {
            ActionKind::Delete => "disable/delete".to_owned(),
            other => other.to_string(),
        };
        blocks.push(Block {
            limit: Limit::Threshold(kind),
            actions: count,
            reason: format!(
                "{count} {what} actions of {population} accounts reach the threshold {}",
                t.describe()
            ),
            released: releases.release(&[(kind, count)]),
        });
    }
    blocks
}

/// Why the all-or-nothing limit trips, if it does: more than its percentage of the accounts
/// would be created, updated, enabled, disabled or deleted (the configuration's
/// `allow_large = true` turns it off for good).
fn all_or_nothing(plan: &TargetPlan, limits: &TargetThresholds) -> Option<String> {
    let p = limits
        .all_or_nothing_percent
        .filter(|_| !limits.allow_large)?;
    let population = plan.accounts_observed;
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
    (population > 0 && (changed.len() as f64) * 100.0 > p * population as f64).then(|| {
        format!(
            "{} of {population} accounts would change, more than {p}%",
            changed.len()
        )
    })
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

    fn approved(counts: &[(ActionKind, usize)]) -> Releases {
        Releases {
            approved: counts.iter().copied().collect(),
            allow_large: false,
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
        let out = target_gate(plan, &pct(ActionKind::Delete, 10.0), &Releases::default());
        assert_eq!(out.blocked_actions.len(), 40);
        assert_eq!(out.blocks[0].limit, Limit::Threshold(ActionKind::Delete));
        assert!(!out.is_blocked(&out.plan.actions[0]));
    }

    #[test]
    fn just_below_the_limit_passes() {
        let plan = plan_with(&[(ActionKind::Delete, 39)], 400);
        let out = target_gate(plan, &pct(ActionKind::Delete, 10.0), &Releases::default());
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
        let out = target_gate(plan, &limits, &Releases::default());
        assert_eq!(out.blocked_actions.len(), 10);
    }

    #[test]
    fn approval_releases_up_to_the_approved_count() {
        let plan = plan_with(&[(ActionKind::Disable, 20)], 100);
        let approved = approved(&[(ActionKind::Delete, 20)]);
        let out = target_gate(plan.clone(), &pct(ActionKind::Delete, 10.0), &approved);
        assert!(out.blocked_actions.is_empty());
        assert_eq!(out.approved_groups(), [ActionKind::Delete].into());
        let fewer = self::approved(&[(ActionKind::Delete, 19)]);
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
        let out = target_gate(plan, &limits, &Releases::default());
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
            &Releases::default(),
        );
        assert!(at.blocks.is_empty());
        let over = target_gate(
            plan_with(&[(ActionKind::Update, 11)], 100),
            &limits,
            &Releases::default(),
        );
        assert_eq!(over.blocked_actions.len(), 11);
        let allowed = TargetThresholds {
            allow_large: true,
            ..limits
        };
        assert!(target_gate(
            plan_with(&[(ActionKind::Update, 11)], 100),
            &allowed,
            &Releases::default()
        )
        .blocks
        .is_empty());
    }

    fn all_or_nothing(p: f64) -> TargetThresholds {
        TargetThresholds {
            all_or_nothing_percent: Some(p),
            ..TargetThresholds::default()
        }
    }

    #[test]
    fn a_first_load_blocked_by_all_or_nothing_says_why() {
        let mut plan = plan_with(&[(ActionKind::Create, 10), (ActionKind::Grant, 10)], 10);
        for (i, grant) in plan.actions.iter_mut().enumerate().skip(10) {
            grant.depends_on = vec![ActionId(i as u32 - 10)];
        }
        let out = target_gate(plan, &all_or_nothing(50.0), &Releases::default());
        assert_eq!(out.blocked_actions.len(), 20);
        assert_eq!(out.blocks.len(), 1);
        let block = &out.blocks[0];
        assert_eq!(block.limit, Limit::AllOrNothing);
        assert_eq!(block.actions, 20);
        assert_eq!(
            block.reason,
            "10 of 10 accounts would change, more than 50%"
        );
        let why = out.blocked_reason(&out.plan.actions[0]).unwrap();
        assert!(
            why.starts_with("all-or-nothing: 10 of 10 accounts"),
            "{why}"
        );
        assert!(
            why.contains("muster approve") && why.contains("--allow-large"),
            "{why}"
        );
        // Every action type it holds can be approved, each with the reason.
        let approvable = out.approvable();
        assert_eq!(
            approvable
                .iter()
                .map(|(k, n, _)| (*k, *n))
                .collect::<Vec<_>>(),
            vec![(ActionKind::Create, 10), (ActionKind::Grant, 10)]
        );
        assert!(approvable
            .iter()
            .all(|(_, _, why)| why.contains("10 of 10")));
    }

    #[test]
    fn an_approval_of_every_action_type_releases_all_or_nothing() {
        let plan = plan_with(&[(ActionKind::Create, 10), (ActionKind::Grant, 10)], 10);
        let limits = all_or_nothing(50.0);
        let partial = target_gate(
            plan.clone(),
            &limits,
            &approved(&[(ActionKind::Create, 10)]),
        );
        assert_eq!(
            partial.blocked_actions.len(),
            20,
            "all or nothing: a part is not enough"
        );
        assert!(partial.approved_groups().is_empty());
        let all = target_gate(
            plan,
            &limits,
            &approved(&[(ActionKind::Create, 10), (ActionKind::Grant, 10)]),
        );
        assert!(all.blocked_actions.is_empty());
        assert_eq!(all.blocks[0].released, Some(Release::Approval));
        assert_eq!(
            all.approved_groups(),
            [ActionKind::Create, ActionKind::Grant].into()
        );
        let why = all.released_reason(&all.plan.actions[0]).unwrap();
        assert!(
            why.contains("approval") && why.contains("10 of 10"),
            "{why}"
        );
    }

    #[test]
    fn allow_large_releases_thresholds_and_all_or_nothing_for_the_run() {
        let plan = plan_with(&[(ActionKind::Create, 10), (ActionKind::Delete, 5)], 10);
        let limits = TargetThresholds {
            all_or_nothing_percent: Some(10.0),
            ..pct(ActionKind::Delete, 10.0)
        };
        let blocked = target_gate(plan.clone(), &limits, &Releases::default());
        assert_eq!(blocked.blocks.len(), 2);
        assert_eq!(blocked.blocked_actions.len(), 15);
        let large = Releases {
            allow_large: true,
            ..Releases::default()
        };
        let out = target_gate(plan, &limits, &large);
        assert!(out.blocked_actions.is_empty());
        assert!(out
            .blocks
            .iter()
            .all(|b| b.released == Some(Release::AllowLarge)));
        assert!(out.approved_groups().is_empty(), "no approval is used up");
        let why = out.released_reason(&out.plan.actions[12]).unwrap();
        assert!(
            why.contains("disable/delete threshold released for this run by `--allow-large`")
                && why.contains("all-or-nothing"),
            "{why}"
        );
    }

    #[test]
    fn blocks_serialize_with_their_limit_and_reason() {
        let block = Block {
            limit: Limit::Threshold(ActionKind::Create),
            actions: 3,
            reason: "why".into(),
            released: Some(Release::AllowLarge),
        };
        let json = serde_json::to_value(&block).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"limit": "threshold", "action": "create", "actions": 3, "reason": "why", "released": "allow_large"})
        );
        assert_eq!(serde_json::from_value::<Block>(json).unwrap(), block);
        let all = serde_json::to_value(Block {
            limit: Limit::AllOrNothing,
            released: None,
            ..block
        })
        .unwrap();
        assert_eq!(all["limit"], "all_or_nothing");
        assert!(all.get("released").is_none());
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
