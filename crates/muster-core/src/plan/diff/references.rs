//! Phase 4: fields whose value is another person's account in this target (HelloID's
//! manager). They are resolved once every person's account is known: an existing account is
//! written with the person's create or update; one created in this run is written by an
//! Update that waits for that create; a person without any account leaves the field as it is,
//! and the plan says so.

use super::Differ;
use crate::connector::ObservedAccount;
use crate::evaluate::Evaluation;
use crate::model::{AccountRef, ExternalId};
use crate::plan::compare::same;
use crate::plan::{Action, ActionId, ActionKind, FieldChange};
use serde_json::Value;
use std::collections::BTreeMap;

/// Where a person's account in this target will be once the plan has run: for resolving
/// other persons' references to it (a manager).
#[derive(Clone)]
pub(super) enum AccountTarget {
    Existing(AccountRef),
    CreatedBy(ActionId),
}

/// A person whose fields refer to another person's account, waiting for every person's
/// account to be known.
pub(super) struct Referrer<'a> {
    person: ExternalId,
    own: AccountTarget,
    observed: Option<&'a ObservedAccount>,
    after: Vec<ActionId>,
    references: &'a BTreeMap<String, ExternalId>,
}

impl<'a> Differ<'a> {
    /// Remembers a person whose fields name other persons' accounts, for
    /// [`resolve_references`](Self::resolve_references).
    pub(super) fn refer(
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

    /// Fills every remembered reference, once every person's account is known.
    pub(super) fn resolve_references(&mut self) {
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
                        self.refer_to_existing(&r, field, &account)
                    }
                    Some(AccountTarget::CreatedBy(create)) => {
                        self.refer_to_created(&r, field, other, create)
                    }
                }
            }
        }
    }

    /// The other person's account exists: the person's create carries it, or their account
    /// is updated where it differs.
    fn refer_to_existing(&mut self, r: &Referrer<'_>, field: &str, account: &AccountRef) {
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
                    self.update_reference(r, own.clone(), change, Vec::new());
                }
            }
            (AccountTarget::Existing(_), None) => {}
        }
    }

    /// The other person's account is created in this run (by `other_create`): the value is
    /// filled in by the executor once that create is done.
    fn refer_to_created(
        &mut self,
        r: &Referrer<'_>,
        field: &str,
        other: &ExternalId,
        other_create: ActionId,
    ) {
        let change = FieldChange {
            account_of: Some(other.clone()),
            ..self.change(field, None, None)
        };
        let before = r.observed.and_then(|o| o.attributes.get(field)).cloned();
        let change = FieldChange { before, ..change };
        match r.own.clone() {
            // Both new: the create waits for the other's create and carries the reference —
            // one request, not a create and an update — unless the other's create (through
            // its own manager chain) waits for this one, which would never start.
            AccountTarget::CreatedBy(own) if !self.waits_on(other, &r.person) => {
                self.create_waits.insert(r.person.clone(), other.clone());
                if let Some(create) = self.plan.actions.get_mut(own.0 as usize) {
                    create.changes.push(change);
                    create.waits_for.push(other_create);
                }
            }
            // The own create first: the executor acts on the account of the first
            // dependency that made one.
            AccountTarget::CreatedBy(own) => {
                self.push(Action {
                    kind: ActionKind::Update,
                    depends_on: vec![own, other_create],
                    changes: vec![change],
                    reason: format!("{field}: the account of {other} is created in this run"),
                    ..self.blank(&r.person)
                });
            }
            AccountTarget::Existing(own) => {
                self.update_reference(r, own, change, vec![other_create]);
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
    ) {
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
            return;
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
    }
}
