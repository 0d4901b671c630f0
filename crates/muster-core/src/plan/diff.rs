//! Correlate + diff: observed state (target read + stored links and fingerprints) against
//! desired state (evaluations) gives a target plan. Pure; the store and connectors are read
//! by the engine before, and written by the executor after.
//!
//! Phases, per person in `ExternalId` order so plans are deterministic:
//! 1. find the account: the stored link, else correlation on the configured field
//!    (one match → Correlate, several → disputed, a match linked to someone else → held);
//! 2. account lifecycle: Create, Enable, Disable, Delete by the evaluated state;
//! 3. managed fields that differ → one Update (write-only fields by fingerprint);
//! 4. permissions: Grant what is missing, Revoke what a rule no longer grants, but only in
//!    groups these rules manage. Grants wait for the Create; a Delete waits for the Revokes.
//!
//! Linked persons that left the source get Revokes and a Delete; persons whose source record
//! is blocked get nothing at all.

use super::{
    Action, ActionId, ActionKind, Disputed, FieldChange, HeldPerson, PermissionTarget, TargetPlan,
};
use crate::connector::{
    Attributes, Capabilities, Observed, ObservedAccount, ObservedGroup, Rehire,
};
use crate::domains::{DomainFilter, DomainVerdict, Existing};
use crate::evaluate::{AccountState, Correlation, Evaluation, ManagedGroups};
use crate::model::{AccountRef, ExternalId, GroupRef, TargetName};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Active,
    /// Muster deleted the account (or disabled it as its delete); the link is kept so a
    /// re-hire finds the same account.
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLink {
    pub person: ExternalId,
    pub account: AccountRef,
    pub state: LinkState,
}

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

/// Where a person's account in this target will be once the plan has run: for resolving
/// other persons' references to it (a manager).
#[derive(Clone)]
enum AccountTarget {
    Existing(AccountRef),
    CreatedBy(ActionId),
}

/// A person whose fields refer to another person's account, waiting for every person's
/// account to be known.
struct Referrer<'a> {
    person: ExternalId,
    own: AccountTarget,
    observed: Option<&'a ObservedAccount>,
    after: Vec<ActionId>,
    references: &'a BTreeMap<String, ExternalId>,
}

pub fn diff(input: &DiffInput<'_>) -> TargetPlan {
    Differ::new(input).run()
}

struct Differ<'a> {
    input: &'a DiffInput<'a>,
    accounts: HashMap<&'a AccountRef, &'a ObservedAccount>,
    by_correlation: HashMap<String, Vec<&'a ObservedAccount>>,
    groups_by_name: HashMap<String, Vec<&'a ObservedGroup>>,
    deleted: HashMap<&'a AccountRef, &'a ObservedAccount>,
    deleted_by_correlation: HashMap<String, &'a ObservedAccount>,
    account_of: HashMap<ExternalId, AccountTarget>,
    referrers: Vec<Referrer<'a>>,
    /// Person → the person whose create theirs waits for (a manager), to keep waits acyclic.
    create_waits: HashMap<ExternalId, ExternalId>,
    /// Each person's own Update of their existing account, where a reference change joins it.
    own_updates: HashMap<ExternalId, ActionId>,
    memberships: HashMap<&'a AccountRef, Vec<&'a ObservedGroup>>,
    links: HashMap<&'a ExternalId, &'a StoredLink>,
    /// Accounts linked to a person, with that person.
    claimed: HashMap<&'a AccountRef, &'a ExternalId>,
    plan: TargetPlan,
}

impl<'a> Differ<'a> {
    fn new(input: &'a DiffInput<'a>) -> Self {
        let accounts: HashMap<_, _> = input
            .observed
            .accounts
            .iter()
            .map(|a| (&a.reference, a))
            .collect();
        let mut by_correlation: HashMap<String, Vec<&ObservedAccount>> = HashMap::new();
        for a in &input.observed.accounts {
            if let Some(v) = text(a.attributes.get(&input.correlation.account_field)) {
                by_correlation
                    .entry(key(&v, input.correlation))
                    .or_default()
                    .push(a);
            }
        }
        let mut warnings = Vec::new();
        let mut groups_by_name: HashMap<String, Vec<&ObservedGroup>> = HashMap::new();
        let mut memberships: HashMap<&AccountRef, Vec<&ObservedGroup>> = HashMap::new();
        for g in &input.observed.groups {
            let same_name = groups_by_name.entry(group_key(&g.name)).or_default();
            same_name.push(g);
            if same_name.len() == 2 && input.managed.contains(&g.name) {
                warnings.push(format!(
                    "several groups are named `{}`; nobody is granted it until one remains",
                    g.name
                ));
            }
            for m in &g.members {
                memberships.entry(m).or_default().push(g);
            }
            for (m, times) in &g.duplicates {
                warnings.push(format!(
                    "group `{}` lists account {m} {times} times (a membership write applied more than once)",
                    g.name
                ));
            }
        }
        let deleted = input
            .observed
            .deleted
            .iter()
            .map(|a| (&a.reference, a))
            .collect();
        let deleted_by_correlation = input
            .observed
            .deleted
            .iter()
            .filter_map(|a| {
                text(a.attributes.get(&input.correlation.account_field))
                    .map(|v| (key(&v, input.correlation), a))
            })
            .collect();
        let links: HashMap<_, _> = input.links.iter().map(|l| (&l.person, l)).collect();
        let claimed = input
            .links
            .iter()
            .filter(|l| accounts.contains_key(&l.account))
            .map(|l| (&l.account, &l.person))
            .collect();
        let present = input
            .evaluations
            .iter()
            .filter(|e| matches!(e.state, AccountState::Enabled | AccountState::Disabled))
            .count();
        Self {
            input,
            accounts,
            by_correlation,
            groups_by_name,
            deleted,
            deleted_by_correlation,
            account_of: HashMap::new(),
            referrers: Vec::new(),
            create_waits: HashMap::new(),
            own_updates: HashMap::new(),
            memberships,
            links,
            claimed,
            plan: TargetPlan {
                target: input.target.clone(),
                observed_digest: input.observed.digest(),
                accounts_observed: input.observed.accounts.len().max(present),
                actions: Vec::new(),
                disputed: Vec::new(),
                held: Vec::new(),
                warnings,
            },
        }
    }

    fn run(mut self) -> TargetPlan {
        let mut evaluations: Vec<&Evaluation> = self.input.evaluations.iter().collect();
        evaluations.sort_by(|a, b| a.person.cmp(&b.person));
        let mut seen: HashSet<&ExternalId> = HashSet::new();
        for e in evaluations {
            seen.insert(&e.person);
            if !self.input.held.contains(&e.person) {
                self.person(e);
            }
        }
        self.resolve_references();
        let mut leavers: Vec<&StoredLink> = self
            .input
            .links
            .iter()
            .filter(|l| !seen.contains(&l.person) && !self.input.held.contains(&l.person))
            .collect();
        leavers.sort_by(|a, b| a.person.cmp(&b.person));
        let departed: HashMap<&ExternalId, &Evaluation> =
            self.input.departed.iter().map(|e| (&e.person, e)).collect();
        let none = Attributes::new();
        for link in leavers {
            if link.state == LinkState::Active {
                if let Some(account) = self.accounts.get(&link.account).copied() {
                    let last = departed.get(&link.person);
                    self.delete(
                        &link.person,
                        account,
                        last.map_or(&none, |e| &e.fields.delete),
                        last.map_or(&none, |e| &e.fields.update),
                        "person is no longer in the source",
                    );
                }
            }
        }
        self.plan
    }

    fn person(&mut self, e: &'a Evaluation) {
        if !e.errors.is_empty() {
            self.hold(&e.person, e.errors.join("; "));
            return;
        }
        let link = self.links.get(&e.person).copied();
        let linked = link.and_then(|l| self.accounts.get(&l.account).copied().map(|a| (l, a)));
        if let Some((link, account)) = linked {
            let planned = match e.state {
                AccountState::Enabled | AccountState::Disabled => true,
                AccountState::Absent => link.state == LinkState::Active,
                AccountState::NotYet => false,
            };
            if planned && self.outside(e, account, Vec::new()) {
                return;
            }
            if e.state != AccountState::Absent {
                self.account_of.insert(
                    e.person.clone(),
                    AccountTarget::Existing(account.reference.clone()),
                );
            }
            match e.state {
                AccountState::Absent if link.state == LinkState::Active => self.delete(
                    &e.person,
                    account,
                    &e.fields.delete,
                    &e.fields.update,
                    &e.why,
                ),
                AccountState::Absent | AccountState::NotYet => {}
                AccountState::Enabled | AccountState::Disabled => {
                    self.converge(e, account, Vec::new(), link.state == LinkState::Deleted)
                }
            }
            return;
        }
        if !matches!(e.state, AccountState::Enabled | AccountState::Disabled) {
            return;
        }
        let gone = link.map(|l| (l, self.deleted.get(&l.account).copied()));
        let stale = match gone {
            Some((l, Some(_))) if self.input.capabilities.rehire == Rehire::Hold => {
                self.hold(
                    &e.person,
                    format!(
                        "linked account {} was deleted in the target; restore it there, or set rehire = \"create-new\" to create a new account",
                        l.account
                    ),
                );
                return;
            }
            Some((l, Some(_))) => format!(
                "linked account {} was deleted in the target; a new account is created; ",
                l.account
            ),
            Some((l, None)) => format!("linked account {} no longer exists; ", l.account),
            None => String::new(),
        };
        let Some(value) = e.correlation_value.as_deref() else {
            self.hold(
                &e.person,
                format!(
                    "no value for the correlation field {}",
                    self.input.correlation.person
                ),
            );
            return;
        };
        let candidates = self
            .by_correlation
            .get(&key(value, self.input.correlation))
            .cloned()
            .unwrap_or_default();
        let (free, taken): (Vec<_>, Vec<_>) = candidates.into_iter().partition(|a| {
            self.claimed
                .get(&a.reference)
                .is_none_or(|p| *p == &e.person)
        });
        match free.as_slice() {
            [] if !taken.is_empty() => {
                let owner = self
                    .claimed
                    .get(&taken[0].reference)
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                self.hold(
                    &e.person,
                    format!(
                        "account {} with {} = {value:?} is linked to person {owner}",
                        taken[0].reference, self.input.correlation.account_field
                    ),
                );
            }
            [] => {
                let clash = self
                    .deleted_by_correlation
                    .get(&key(value, self.input.correlation))
                    .map(|a| {
                        format!(
                            "; a deleted account ({}) has the same {}, which the target may still reserve",
                            a.reference, self.input.correlation.account_field
                        )
                    })
                    .unwrap_or_default();
                match self.domain_verdict(e, None) {
                    DomainVerdict::Inside => self.create(e, &stale, &clash),
                    DomainVerdict::Hold(why) | DomainVerdict::Disable(why) => {
                        self.hold(&e.person, why)
                    }
                }
            }
            [account]
                if matches!(
                    self.domain_verdict(e, Some(account)),
                    DomainVerdict::Hold(_)
                ) =>
            {
                self.outside(e, account, Vec::new());
            }
            [account] => {
                let id = self.push(Action {
                    kind: ActionKind::Correlate,
                    account: Some(account.reference.clone()),
                    reason: format!(
                        "{stale}{} matches {} = {value:?}",
                        self.input.correlation.person, self.input.correlation.account_field
                    ),
                    ..self.blank(&e.person)
                });
                if !self.outside(e, account, vec![id]) {
                    self.converge(e, account, vec![id], false);
                }
            }
            several => self.plan.disputed.push(Disputed {
                person: e.person.clone(),
                value: value.to_owned(),
                accounts: several.iter().map(|a| a.reference.clone()).collect(),
            }),
        }
    }

    fn create(&mut self, e: &'a Evaluation, stale: &str, clash: &str) {
        let changes = e
            .fields
            .create
            .iter()
            .filter(|(_, v)| text(Some(v)).is_some())
            .map(|(f, v)| self.change(f, None, Some(v.clone())))
            .collect();
        let enabled = e.state == AccountState::Enabled;
        let create = self.push(Action {
            kind: ActionKind::Create,
            enabled: Some(enabled),
            changes,
            reason: format!("{stale}{}{clash}", e.why),
            ..self.blank(&e.person)
        });
        self.account_of
            .insert(e.person.clone(), AccountTarget::CreatedBy(create));
        self.refer(e, AccountTarget::CreatedBy(create), None, vec![create]);
        for name in &e.permissions {
            self.grant(&e.person, None, name, vec![create], "");
        }
    }

    /// Remembers a person whose fields name other persons' accounts, for
    /// [`resolve_references`](Self::resolve_references).
    fn refer(
        &mut self,
        e: &'a Evaluation,
        own: AccountTarget,
        observed: Option<&'a ObservedAccount>,
        after: Vec<ActionId>,
    ) {
        if !e.references.is_empty() {
            self.referrers.push(Referrer {
                person: e.person.clone(),
                own,
                observed,
                after,
                references: &e.references,
            });
        }
    }

    /// Fills fields that hold another person's account (a manager), once every person's
    /// account is known: an existing account is written with the person's create or update;
    /// one created in this run is written by an Update that waits for that create; a person
    /// without any account leaves the field as it is, and the plan says so.
    fn resolve_references(&mut self) {
        for r in std::mem::take(&mut self.referrers) {
            for (field, other) in r.references {
                if *other == r.person {
                    continue;
                }
                match self.account_of.get(other).cloned() {
                    None => self.plan.warnings.push(format!(
                        "{}: {field} left as it is: {other} has no account in this target and none is planned",
                        r.person
                    )),
                    Some(AccountTarget::Existing(account)) => {
                        let want = Value::String(account.to_string());
                        match (&r.own, r.observed) {
                            (AccountTarget::CreatedBy(create), _) => {
                                let change = self.change(field, None, Some(want));
                                if let Some(a) = self.plan.actions.get_mut(create.0 as usize) {
                                    a.changes.push(change);
                                }
                            }
                            (AccountTarget::Existing(own), Some(observed)) => {
                                let have = observed.attributes.get(field);
                                if !same(have, Some(&want), false) {
                                    let change = self.change(field, have.cloned(), Some(want));
                                    self.update_reference(&r, own.clone(), change, Vec::new());
                                }
                            }
                            (AccountTarget::Existing(_), None) => {}
                        }
                    }
                    Some(AccountTarget::CreatedBy(other_create)) => {
                        let change = FieldChange {
                            account_of: Some(other.clone()),
                            ..self.change(field, None, None)
                        };
                        let before = r.observed.and_then(|o| o.attributes.get(field)).cloned();
                        let change = FieldChange { before, ..change };
                        match r.own.clone() {
                            // Both new: the create waits for the other's create and carries
                            // the reference — one request, not a create and an update — unless
                            // the other's create (through its own manager chain) waits for this
                            // one, which would never start.
                            AccountTarget::CreatedBy(own) if !self.waits_on(other, &r.person) => {
                                self.create_waits.insert(r.person.clone(), other.clone());
                                if let Some(create) = self.plan.actions.get_mut(own.0 as usize) {
                                    create.changes.push(change);
                                    create.waits_for.push(other_create);
                                }
                                own
                            }
                            // The own create first: the executor acts on the account of the
                            // first dependency that made one.
                            AccountTarget::CreatedBy(own) => self.push(Action {
                                kind: ActionKind::Update,
                                depends_on: vec![own, other_create],
                                changes: vec![change],
                                reason: format!("{field}: the account of {other} is created in this run"),
                                ..self.blank(&r.person)
                            }),
                            AccountTarget::Existing(own) => {
                                self.update_reference(&r, own, change, vec![other_create])
                            }
                        };
                    }
                }
            }
        }
    }

    /// Whether `person`'s create already waits, through a chain of managers' creates, for
    /// `target`'s. Bounded: each person waits for at most one other.
    fn waits_on(&self, person: &ExternalId, target: &ExternalId) -> bool {
        let mut at = person;
        for _ in 0..=self.create_waits.len() {
            if at == target {
                return true;
            }
            match self.create_waits.get(at) {
                Some(next) => at = next,
                None => return false,
            }
        }
        true
    }

    /// Adds a reference change to the person's Update in this plan, or plans one.
    fn update_reference(
        &mut self,
        r: &Referrer<'_>,
        account: AccountRef,
        change: FieldChange,
        extra_after: Vec<ActionId>,
    ) -> ActionId {
        // A reference that waits for another person's create gets an Update of its own, so a
        // failing create holds back only that field, never the person's other changes.
        let own = if extra_after.is_empty() {
            self.own_updates.get(&r.person).copied()
        } else {
            None
        };
        if let Some(update) = own.and_then(|id| self.plan.actions.get_mut(id.0 as usize)) {
            update.reason = format!("{}, {}", update.reason, change.field);
            update.changes.push(change);
            return update.id;
        }
        let reason = format!("{} changed", change.field);
        let mut after = r.after.clone();
        let own_update = extra_after.is_empty();
        after.extend(extra_after);
        let id = self.push(Action {
            kind: ActionKind::Update,
            account: Some(account),
            depends_on: after,
            changes: vec![change],
            reason,
            ..self.blank(&r.person)
        });
        if own_update {
            self.own_updates.insert(r.person.clone(), id);
        }
        id
    }

    /// Brings an existing account to the evaluated state.
    fn converge(
        &mut self,
        e: &'a Evaluation,
        account: &'a ObservedAccount,
        after: Vec<ActionId>,
        relinking: bool,
    ) {
        let reference = Some(account.reference.clone());
        self.account_of.insert(
            e.person.clone(),
            AccountTarget::Existing(account.reference.clone()),
        );
        self.refer(
            e,
            AccountTarget::Existing(account.reference.clone()),
            Some(account),
            after.clone(),
        );
        let (fixed, changes): (Vec<FieldChange>, Vec<FieldChange>) = self
            .all_changes(account, &e.fields.update)
            .into_iter()
            .partition(|c| self.input.capabilities.fixed_fields.contains(&c.field));
        for c in fixed {
            self.plan.warnings.push(format!(
                "{}: {} differs ({} → {}) but this target does not write it on update",
                e.person,
                c.field,
                shown(&c, &c.before),
                shown(&c, &c.after)
            ));
        }
        if !changes.is_empty() {
            let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
            let reason = format!("{} changed", fields.join(", "));
            let id = self.push_write(
                Action {
                    kind: ActionKind::Update,
                    account: reference.clone(),
                    depends_on: after.clone(),
                    changes,
                    reason,
                    ..self.blank(&e.person)
                },
                &e.fields.update,
            );
            self.own_updates.insert(e.person.clone(), id);
        }
        // Without an enabled flag the account simply exists: Enable only brings back one
        // that was deleted (archived).
        let want = e.state == AccountState::Enabled || !self.input.capabilities.can_disable;
        if want != account.enabled || (relinking && want) {
            let (kind, set) = if want {
                (ActionKind::Enable, &e.fields.enable)
            } else {
                (ActionKind::Disable, &e.fields.disable)
            };
            let changes = self.changes(account, set);
            self.push_write(
                Action {
                    kind,
                    account: reference.clone(),
                    depends_on: after.clone(),
                    changes,
                    reason: e.why.clone(),
                    ..self.blank(&e.person)
                },
                &e.fields.update,
            );
        }
        let current = self.current_groups(&account.reference);
        let wanted: HashSet<String> = e.permissions.iter().map(|p| group_key(p)).collect();
        // A correlated account's memberships are unknown where the target cannot show them.
        let unseen = if !after.is_empty() && !self.input.capabilities.membership_visible {
            " (existing memberships not visible in this target)"
        } else {
            ""
        };
        // Any membership satisfies a grant; only managed ones are candidates for revokes.
        let member_of: Vec<&ObservedGroup> = self
            .memberships
            .get(&account.reference)
            .cloned()
            .unwrap_or_default();
        for name in &e.permissions {
            let held: Vec<&ObservedGroup> = member_of
                .iter()
                .copied()
                .filter(|g| group_key(&g.name) == group_key(name))
                .collect();
            let previous = self.previous_in_period(&member_of, name, &wanted);
            let granted = if held.is_empty() {
                let note = format!("{unseen}{}", self.kept_note(&previous));
                self.grant(&e.person, reference.clone(), name, after.clone(), &note)
            } else {
                None
            };
            for g in held {
                if let Some(&times) = g.duplicates.get(&account.reference) {
                    self.relist_once(&e.person, &account.reference, g, times, after.clone());
                }
            }
            self.revoke_previous(&e.person, &account.reference, &previous, granted, &after);
        }
        for g in current {
            if !wanted.contains(&group_key(&g.name)) {
                self.push(Action {
                    kind: ActionKind::Revoke,
                    account: reference.clone(),
                    depends_on: after.clone(),
                    permission: Some(PermissionTarget {
                        name: g.name.clone(),
                        group: Some(g.reference.clone()),
                    }),
                    reason: "no rule grants this permission any more".into(),
                    ..self.blank(&e.person)
                });
            }
        }
    }

    fn delete(
        &mut self,
        person: &ExternalId,
        account: &'a ObservedAccount,
        fields: &Attributes,
        resend: &Attributes,
        why: &str,
    ) {
        let mut revokes = Vec::new();
        for g in self.current_groups(&account.reference) {
            revokes.push(self.push(Action {
                kind: ActionKind::Revoke,
                account: Some(account.reference.clone()),
                permission: Some(PermissionTarget {
                    name: g.name.clone(),
                    group: Some(g.reference.clone()),
                }),
                reason: format!("account is deleted: {why}"),
                ..self.blank(person)
            }));
        }
        let changes = self.changes(account, fields);
        self.push_write(
            Action {
                kind: ActionKind::Delete,
                account: Some(account.reference.clone()),
                depends_on: revokes,
                changes,
                reason: why.to_owned(),
                ..self.blank(person)
            },
            resend,
        );
    }

    fn grant(
        &mut self,
        person: &ExternalId,
        account: Option<AccountRef>,
        name: &str,
        after: Vec<ActionId>,
        note: &str,
    ) -> Option<ActionId> {
        let found = self
            .groups_by_name
            .get(&group_key(name))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let group = match found {
            [one] => Some(one.reference.clone()),
            _ => None,
        };
        if let (Some(account), Some(group)) = (&account, &group) {
            match self.input.pending.get(&(account.clone(), group.clone())) {
                Some(Pending::Waiting { since }) => {
                    let since = since.format("%Y-%m-%d");
                    self.plan.warnings.push(format!(
                        "{person}: `{name}` was requested on {since} and is awaiting approval; not requested again yet"
                    ));
                    return None;
                }
                Some(Pending::Expired { since }) => {
                    let since = since.format("%Y-%m-%d");
                    let again = format!(
                        "granted by a business rule; requested on {since} and still not granted after the waiting time, so requested again{note}"
                    );
                    return Some(self.push_grant(
                        person,
                        Some(account.clone()),
                        name,
                        Some(group.clone()),
                        after,
                        again,
                    ));
                }
                None => {}
            }
        }
        let reason = match found.len() {
            1 => format!("granted by a business rule{note}"),
            0 if self.input.capabilities.may_create_group(name) => format!(
                "granted by a business rule; group `{name}` does not exist yet and is created first{note}"
            ),
            0 => format!("granted by a business rule, but the target has no group named `{name}`"),
            n => format!(
                "granted by a business rule, but {n} groups in the target are named `{name}`; nobody is granted it until one remains"
            ),
        };
        Some(self.push_grant(person, account, name, group, after, reason))
    }

    fn push_grant(
        &mut self,
        person: &ExternalId,
        account: Option<AccountRef>,
        name: &str,
        group: Option<GroupRef>,
        after: Vec<ActionId>,
        reason: String,
    ) -> ActionId {
        self.push(Action {
            kind: ActionKind::Grant,
            account,
            depends_on: after,
            permission: Some(PermissionTarget {
                name: name.to_owned(),
                group,
            }),
            reason,
            ..self.blank(person)
        })
    }

    /// A member the group lists `times` times although a rule grants it once: a Revoke takes
    /// every entry away (a remove by value filter matches them all), then a Grant that depends
    /// on it adds the member back once. Should the Revoke fail, the Grant is skipped and the
    /// member keeps access.
    fn relist_once(
        &mut self,
        person: &ExternalId,
        account: &AccountRef,
        g: &ObservedGroup,
        times: usize,
        after: Vec<ActionId>,
    ) {
        let permission = PermissionTarget {
            name: g.name.clone(),
            group: Some(g.reference.clone()),
        };
        let revoke = self.push(Action {
            kind: ActionKind::Revoke,
            account: Some(account.clone()),
            depends_on: after.clone(),
            permission: Some(permission.clone()),
            reason: format!(
                "listed {times} times in `{}`: every entry is removed, then the member is added back once",
                g.name
            ),
            ..self.blank(person)
        });
        let mut depends_on = after;
        depends_on.push(revoke);
        self.push(Action {
            kind: ActionKind::Grant,
            account: Some(account.clone()),
            depends_on,
            permission: Some(permission),
            reason: format!(
                "granted by a business rule; added back once after {times} entries were removed"
            ),
            ..self.blank(person)
        });
    }

    /// Managed groups the account is a member of.
    fn current_groups(&self, account: &AccountRef) -> Vec<&'a ObservedGroup> {
        let mut groups: Vec<&ObservedGroup> = self
            .memberships
            .get(account)
            .map(|gs| {
                gs.iter()
                    .copied()
                    .filter(|g| self.input.managed.contains(&g.name))
                    .collect()
            })
            .unwrap_or_default();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        groups
    }

    /// Fields of `desired` that differ from the account; write-only fields by fingerprint.
    /// Fields of `desired` that differ from the account and may be written; fixed fields
    /// (never written after create) are left out here and reported by `converge`.
    fn changes(&self, account: &ObservedAccount, desired: &Attributes) -> Vec<FieldChange> {
        self.all_changes(account, desired)
            .into_iter()
            .filter(|c| !self.input.capabilities.fixed_fields.contains(&c.field))
            .collect()
    }

    fn all_changes(&self, account: &ObservedAccount, desired: &Attributes) -> Vec<FieldChange> {
        let mut out = Vec::new();
        for (field, want) in desired {
            if self.input.capabilities.write_only_fields.contains(field) {
                if want.is_null() {
                    continue;
                }
                let fp = (self.input.fingerprint)(&account.reference, field, want);
                let stored = self
                    .input
                    .fingerprints
                    .get(&(account.reference.clone(), field.clone()));
                if stored != Some(&fp) {
                    out.push(self.change(field, None, Some(want.clone())));
                }
                continue;
            }
            let have = account.attributes.get(field);
            let ci = (self.input.correlation.case_insensitive
                && *field == self.input.correlation.account_field)
                || self
                    .input
                    .capabilities
                    .case_insensitive_fields
                    .contains(field);
            if !same(have, Some(want), ci) {
                out.push(self.change(field, have.cloned(), Some(want.clone())));
            }
        }
        out
    }

    fn change(&self, field: &str, before: Option<Value>, after: Option<Value>) -> FieldChange {
        FieldChange {
            field: field.to_owned(),
            before,
            after,
            secret: self.input.secret_fields.contains(field),
            account_of: None,
        }
    }

    /// The domain filter's verdict on this person's address in this target: the mapped value
    /// (as it would be written), else the account's own.
    fn domain_verdict(&self, e: &Evaluation, account: Option<&ObservedAccount>) -> DomainVerdict {
        let Some(filter) = self.input.domains else {
            return DomainVerdict::Inside;
        };
        let field = filter.field();
        let (first, second) = match account {
            Some(_) => (&e.fields.update, &e.fields.create),
            None => (&e.fields.create, &e.fields.update),
        };
        let address = text(first.get(field))
            .or_else(|| text(second.get(field)))
            .or_else(|| account.and_then(|a| text(a.attributes.get(field))));
        let existing = match account {
            None => Existing::None,
            Some(_) if !self.input.capabilities.can_disable => Existing::NoFlag,
            Some(a) if a.enabled => Existing::Enabled,
            Some(_) => Existing::Disabled,
        };
        filter.decide(address.as_deref(), existing)
    }

    /// Plans an existing account whose address is outside the domains (held, or only
    /// disabled); `false` when it is inside and must be planned as usual.
    fn outside(&mut self, e: &Evaluation, account: &ObservedAccount, after: Vec<ActionId>) -> bool {
        match self.domain_verdict(e, Some(account)) {
            DomainVerdict::Inside => false,
            DomainVerdict::Hold(why) => {
                self.hold(&e.person, why);
                true
            }
            DomainVerdict::Disable(why) => {
                let changes = self.changes(account, &e.fields.disable);
                self.push_write(
                    Action {
                        kind: ActionKind::Disable,
                        account: Some(account.reference.clone()),
                        depends_on: after,
                        changes,
                        reason: why,
                        ..self.blank(&e.person)
                    },
                    &e.fields.update,
                );
                true
            }
        }
    }

    fn hold(&mut self, person: &ExternalId, reason: String) {
        self.plan.held.push(HeldPerson {
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
    fn resend_for(&self, action: &Action, desired: &Attributes) -> Vec<FieldChange> {
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

    fn push_write(&mut self, mut action: Action, desired: &Attributes) -> ActionId {
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

/// Group names match ignoring case and surrounding spaces.
fn group_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A value for a plan warning; secrets stay `***`.
fn shown(change: &FieldChange, value: &Option<Value>) -> String {
    match value {
        _ if change.secret => super::REDACTED.to_owned(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
        None => "none".to_owned(),
    }
}

fn key(value: &str, correlation: &Correlation) -> String {
    if correlation.case_insensitive {
        value.to_lowercase()
    } else {
        value.to_owned()
    }
}

/// A value as comparable text: null, absent, `""` and `[]` are all "no value"; a list
/// compares as a set (targets do not promise to keep the order of aliases).
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) => {
            let mut texts: Vec<String> = items.iter().filter_map(|i| text(Some(i))).collect();
            texts.sort();
            texts.dedup();
            Some(texts.join("\u{1f}"))
        }
        other => Some(other.to_string()),
    }
}

fn same(a: Option<&Value>, b: Option<&Value>, case_insensitive: bool) -> bool {
    match (text(a), text(b)) {
        (None, None) => true,
        (Some(x), Some(y)) if case_insensitive => x.to_lowercase() == y.to_lowercase(),
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

mod periods;
#[cfg(test)]
mod target_features;
#[cfg(test)]
mod tests;
