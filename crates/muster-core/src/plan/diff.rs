//! Correlate + diff: observed state (target read + stored links and fingerprints) against
//! desired state (evaluations) gives a target plan. Pure; the store and connectors are read
//! by the engine before, and written by the executor after.
//!
//! Phases, per person in `ExternalId` order so plans are deterministic:
//! 1. find the account ([`account`]): the [`CorrelationIndex`] finds the linked or correlated
//!    one; one match → Correlate, several → disputed, a match linked to someone else → held,
//!    none → Create;
//! 2. account lifecycle and fields ([`converge`]): Enable, Disable, Delete by the evaluated
//!    state; managed fields that differ → one Update (write-only fields by fingerprint);
//! 3. permissions ([`permissions`], [`periods`]): Grant what is missing, Revoke what a rule no
//!    longer grants, but only in groups these rules manage. Grants wait for the Create; a
//!    Delete waits for the Revokes;
//! 4. references ([`references`]): fields naming another person's account (a manager), once
//!    every person's account is known.
//!
//! Linked persons that left the source get Revokes and a Delete; persons whose source record
//! is blocked get nothing at all.

use super::correlate::{CorrelationIndex, LinkState, StoredLink};
use super::fast::{FastMap, FastSet};
use super::{Action, ActionId, ActionKind, FieldChange, TargetPlan};
use crate::connector::group_key;
use crate::connector::{Capabilities, Observed, ObservedGroup};
use crate::domains::DomainFilter;
use crate::evaluate::{
    AccountState, Correlation, Evaluation, FieldValues, FieldsOn, ManagedGroups,
};
use crate::leave_alone::LeaveAlone;
use crate::mapping::FieldAction;
use crate::model::{AccountRef, ExternalId, GroupRef, TargetName};
use references::{AccountTarget, Referrer};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};

/// HMAC of a write-only value for one account, as the store keeps it.
pub type FingerprintFn<'a> = dyn Fn(&AccountRef, &str, &Value) -> String + Sync + 'a;

pub struct DiffInput<'a> {
    pub target: &'a TargetName,
    pub capabilities: &'a Capabilities,
    pub evaluations: &'a [Evaluation],
    /// Persons whose source record is blocked: never treated as gone, never touched.
    pub held: &'a HashSet<ExternalId>,
    pub observed: &'a Observed,
    pub links: &'a [StoredLink],
    /// Stored fingerprints by (account, field).
    pub fingerprints: &'a HashMap<(AccountRef, String), String>,
    pub fingerprint: &'a FingerprintFn<'a>,
    pub correlation: &'a Correlation,
    pub managed: &'a ManagedGroups,
    /// Mapped fields whose values never appear in plans.
    pub secret_fields: &'a BTreeSet<String>,
    /// Linked persons who left the source, evaluated from their last stored record: what a
    /// write to their account must re-send (write-only values) comes from here.
    pub departed: &'a [Evaluation],
    /// Grants the target took as requests that are still waiting (HelloID products awaiting
    /// approval) and not yet expired, with when they were requested: not requested again.
    pub pending: &'a HashMap<(AccountRef, GroupRef), Pending>,
    /// The target's domain filter (`included_domains`): persons outside are not created, their
    /// existing accounts left alone or disabled.
    pub domains: Option<&'a DomainFilter>,
    /// Accounts never touched (`leave_alone`, Cloud Sync's target filter): no action on them,
    /// no person correlated onto or created as them, not counted in `accounts_observed`.
    pub leave_alone: Option<&'a LeaveAlone>,
    /// Fields that say what type an account is (`account_type = true` on a mapping, e.g.
    /// Zivver's `kind`: user or functional): an existing account whose value differs is never
    /// converted; the person is skipped with a warning.
    pub type_fields: &'a BTreeSet<String>,
}

/// A grant the target took as a request that has not shown up as a membership yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// Younger than the target's waiting time: not requested again.
    Waiting {
        since: chrono::DateTime<chrono::Utc>,
    },
    /// Older: requested again, and the reason says so.
    Expired {
        since: chrono::DateTime<chrono::Utc>,
    },
}

pub fn diff(input: &DiffInput<'_>) -> TargetPlan {
    Differ::new(input).run()
}

struct Differ<'a> {
    input: &'a DiffInput<'a>,
    index: CorrelationIndex<'a>,
    groups_by_name: FastMap<String, Vec<&'a ObservedGroup>>,
    memberships: FastMap<&'a AccountRef, Vec<&'a ObservedGroup>>,
    account_of: FastMap<ExternalId, AccountTarget>,
    referrers: Vec<Referrer<'a>>,
    /// Person → the person whose create theirs waits for (a manager), to keep waits acyclic.
    create_waits: FastMap<ExternalId, ExternalId>,
    /// Each person's own Update of their existing account, where a reference change joins it.
    own_updates: FastMap<ExternalId, ActionId>,
    plan: TargetPlan,
}

impl<'a> Differ<'a> {
    fn new(input: &'a DiffInput<'a>) -> Self {
        let groups = permissions::GroupIndex::new(&input.observed.groups, input.managed);
        let present = input
            .evaluations
            .iter()
            .filter(|e| matches!(e.state, AccountState::Enabled | AccountState::Disabled))
            .filter(|e| guards::address_left_alone(input, e).is_none())
            .count();
        Self {
            input,
            index: CorrelationIndex::new(
                input.correlation,
                input.capabilities,
                input.observed,
                input.links,
            ),
            groups_by_name: groups.by_name,
            memberships: groups.memberships,
            account_of: FastMap::default(),
            referrers: Vec::new(),
            create_waits: FastMap::default(),
            own_updates: FastMap::default(),
            plan: TargetPlan {
                target: input.target.clone(),
                observed_digest: input.observed.digest(),
                accounts_observed: managed_accounts(input).max(present),
                actions: Vec::new(),
                disputed: Vec::new(),
                held: Vec::new(),
                warnings: groups.warnings,
            },
        }
    }

    fn run(mut self) -> TargetPlan {
        let mut evaluations: Vec<&Evaluation> = self.input.evaluations.iter().collect();
        evaluations.sort_by(|a, b| a.person.cmp(&b.person));
        let mut seen: FastSet<&ExternalId> = FastSet::default();
        for e in evaluations {
            seen.insert(&e.person);
            if !self.input.held.contains(&e.person) {
                self.person(e);
            }
        }
        self.resolve_references();
        self.leavers(&seen);
        self.plan
    }

    /// Linked persons no longer in the source (and not held): their live accounts are
    /// deleted, re-sending what their last stored record says a write must carry.
    fn leavers(&mut self, seen: &FastSet<&ExternalId>) {
        let mut leavers: Vec<&StoredLink> = self
            .input
            .links
            .iter()
            .filter(|l| !seen.contains(&l.person) && !self.input.held.contains(&l.person))
            .collect();
        leavers.sort_by(|a, b| a.person.cmp(&b.person));
        let departed: HashMap<&ExternalId, &Evaluation> =
            self.input.departed.iter().map(|e| (&e.person, e)).collect();
        let none = FieldValues::default();
        for link in leavers {
            if link.state != LinkState::Active {
                continue;
            }
            if let Some(account) = self.index.account(&link.account) {
                if self.left_alone(account).is_some() {
                    continue;
                }
                let last = departed.get(&link.person);
                self.delete(
                    &link.person,
                    account,
                    last.map_or(&none, |e| &e.fields).on(FieldAction::Delete),
                    last.map_or(&none, |e| &e.fields).on(FieldAction::Update),
                    "person is no longer in the source",
                );
            }
        }
    }

    fn hold(&mut self, person: &ExternalId, reason: String) {
        self.plan.held.push(super::HeldPerson {
            person: person.clone(),
            reason,
        });
    }

    fn blank(&self, person: &ExternalId) -> Action {
        Action {
            id: ActionId(0),
            kind: ActionKind::Update,
            person: person.clone(),
            account: None,
            depends_on: Vec::new(),
            waits_for: Vec::new(),
            enabled: None,
            changes: Vec::new(),
            permission: None,
            resend: Vec::new(),
            reason: String::new(),
        }
    }

    /// Write-only values the target clears when a write omits them: every write to an
    /// existing account carries them, changed or not. A mapped value that cannot be computed
    /// is carried as `after: None`, and the executor refuses the write rather than clear it.
    fn resend_for(&self, action: &Action, desired: FieldsOn<'_>) -> Vec<FieldChange> {
        self.input
            .capabilities
            .write_only_fields
            .iter()
            .filter(|f| !action.changes.iter().any(|c| &c.field == *f))
            .filter_map(|f| {
                desired
                    .get(f)
                    .map(|v| self.change(f, None, (!v.is_null()).then(|| v.clone())))
            })
            .collect()
    }

    fn push_write(&mut self, mut action: Action, desired: FieldsOn<'_>) -> ActionId {
        action.resend = self.resend_for(&action, desired);
        self.push(action)
    }

    fn push(&mut self, mut action: Action) -> ActionId {
        let id = ActionId(u32::try_from(self.plan.actions.len()).unwrap_or(u32::MAX));
        action.id = id;
        self.plan.actions.push(action);
        id
    }
}

/// The accounts a fail-safe compares with: those observed, less those never touched.
fn managed_accounts(input: &DiffInput<'_>) -> usize {
    match input.leave_alone {
        None => input.observed.accounts.len(),
        Some(filter) => input
            .observed
            .accounts
            .iter()
            .filter(|a| filter.covers_account(a).is_none())
            .count(),
    }
}

mod account;
mod converge;
mod guards;
mod periods;
mod permissions;
mod references;
#[cfg(test)]
mod target_features;
#[cfg(test)]
mod tests;
