//! Phase 2: an existing account brought to the evaluated state: managed fields that differ
//! become one Update (write-only fields by fingerprint, fixed fields only warned about), the
//! enabled flag an Enable or Disable, a person who is to have no account a Delete; and the
//! domain filter's verdict on an account outside the organisation's domains.

use super::Differ;
use crate::connector::ObservedAccount;
use crate::domains::{DomainVerdict, Existing};
use crate::evaluate::{AccountState, Evaluation, FieldsOn};
use crate::mapping::FieldAction;
use crate::model::ExternalId;
use crate::plan::compare::{same, text};
use crate::plan::diff::references::AccountTarget;
use crate::plan::{Action, ActionId, ActionKind, FieldChange, PermissionTarget, REDACTED};
use serde_json::Value;
use std::collections::BTreeSet;

impl<'a> Differ<'a> {
    /// Brings an existing account to the evaluated state.
    pub(super) fn converge(
        &mut self,
        e: &'a Evaluation,
        account: &'a ObservedAccount,
        after: Vec<ActionId>,
        relinking: bool,
    ) {
        let own = AccountTarget::Existing(account.reference.clone());
        self.account_of.insert(e.person.clone(), own.clone());
        self.refer(e, own, Some(account), after.clone());
        // Without an enabled flag the account simply exists: Enable only brings back one
        // that was deleted (archived).
        let want = e.state == AccountState::Enabled || !self.input.capabilities.can_disable;
        let update = e.fields.on(FieldAction::Update);
        let hidden = self.hidden(want && account.enabled);
        let is_hidden = |field: &str| hidden.is_some_and(|h| h.contains(field));
        let shown = update.iter().filter(|(k, _)| !is_hidden(k));
        self.update_fields(e, account, shown, &after);
        if want != account.enabled || (relinking && want) {
            let (kind, set) = if want {
                (ActionKind::Enable, FieldAction::Enable)
            } else {
                (ActionKind::Disable, FieldAction::Disable)
            };
            let mut changes = self.changes(account, e.fields.on(set).iter());
            if want {
                // What the disabled account did not show is written back with the Enable.
                for c in self.changes(account, update.iter().filter(|(k, _)| is_hidden(k))) {
                    if !changes.iter().any(|have| have.field == c.field) {
                        changes.push(c);
                    }
                }
            }
            self.push_write(
                Action {
                    kind,
                    account: Some(account.reference.clone()),
                    depends_on: after.clone(),
                    changes,
                    reason: e.why.clone(),
                    ..self.blank(&e.person)
                },
                update,
            );
        }
        self.permissions(e, account, after);
    }

    /// The fields the target hides while the account is disabled
    /// (`Capabilities::hidden_while_disabled`), left out of the Update and written back with
    /// the Enable; nothing is hidden from an account that is and stays enabled (`shown`).
    fn hidden(&self, shown: bool) -> Option<&'a BTreeSet<String>> {
        let input = self.input;
        let hidden = &input.capabilities.hidden_while_disabled;
        (!shown && !hidden.is_empty()).then_some(hidden)
    }

    /// One Update for the managed fields of `desired` that differ; fixed fields (never
    /// written after create) that differ are warned about instead.
    fn update_fields<'d>(
        &mut self,
        e: &Evaluation,
        account: &ObservedAccount,
        desired: impl IntoIterator<Item = (&'d str, &'d Value)>,
        after: &[ActionId],
    ) {
        let all = self.all_changes(account, desired);
        let (fixed, changes): (Vec<FieldChange>, Vec<FieldChange>) = self
            .drop_refused(&e.person, Some(&account.reference), all)
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
        if changes.is_empty() {
            return;
        }
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        let reason = format!("{} changed", fields.join(", "));
        let id = self.push_write(
            Action {
                kind: ActionKind::Update,
                account: Some(account.reference.clone()),
                depends_on: after.to_vec(),
                changes,
                reason,
                ..self.blank(&e.person)
            },
            e.fields.on(FieldAction::Update),
        );
        self.own_updates.insert(e.person.clone(), id);
    }

    /// Revokes every managed membership, then deletes the account.
    pub(super) fn delete(
        &mut self,
        person: &ExternalId,
        account: &'a ObservedAccount,
        fields: FieldsOn<'_>,
        resend: FieldsOn<'_>,
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
        let changes = self.changes(account, fields.iter());
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

    /// Fields of `desired` that differ from the account and may be written; fixed fields
    /// (never written after create) are left out here and reported by `converge`.
    pub(super) fn changes<'d>(
        &self,
        account: &ObservedAccount,
        desired: impl IntoIterator<Item = (&'d str, &'d Value)>,
    ) -> Vec<FieldChange> {
        self.all_changes(account, desired)
            .into_iter()
            .filter(|c| !self.input.capabilities.fixed_fields.contains(&c.field))
            .collect()
    }

    /// Fields of `desired` that differ from the account; write-only fields by fingerprint.
    fn all_changes<'d>(
        &self,
        account: &ObservedAccount,
        desired: impl IntoIterator<Item = (&'d str, &'d Value)>,
    ) -> Vec<FieldChange> {
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
                    .get(&(account.reference.clone(), field.to_owned()));
                if stored != Some(&fp) {
                    out.push(self.change(field, None, Some(want.clone())));
                }
                continue;
            }
            let have = account.attributes.get(field);
            let ci = (self.input.correlation.case_insensitive
                && field == self.input.correlation.account_field)
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

    pub(super) fn change(
        &self,
        field: &str,
        before: Option<Value>,
        after: Option<Value>,
    ) -> FieldChange {
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
    pub(super) fn domain_verdict(
        &self,
        e: &Evaluation,
        account: Option<&ObservedAccount>,
    ) -> DomainVerdict {
        let Some(filter) = self.input.domains else {
            return DomainVerdict::Inside;
        };
        let field = filter.field();
        let (first, second) = match account {
            Some(_) => (FieldAction::Update, FieldAction::Create),
            None => (FieldAction::Create, FieldAction::Update),
        };
        let address = text(e.fields.get(first, field))
            .or_else(|| text(e.fields.get(second, field)))
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
    pub(super) fn outside(
        &mut self,
        e: &Evaluation,
        account: &ObservedAccount,
        after: Vec<ActionId>,
    ) -> bool {
        match self.domain_verdict(e, Some(account)) {
            DomainVerdict::Inside => false,
            DomainVerdict::Hold(why) => {
                self.hold(&e.person, why);
                true
            }
            DomainVerdict::Disable(why) => {
                let changes = self.changes(account, e.fields.on(FieldAction::Disable).iter());
                self.push_write(
                    Action {
                        kind: ActionKind::Disable,
                        account: Some(account.reference.clone()),
                        depends_on: after,
                        changes,
                        reason: why,
                        ..self.blank(&e.person)
                    },
                    e.fields.on(FieldAction::Update),
                );
                true
            }
        }
    }
}

/// A value for a plan warning; secrets stay `***`.
fn shown(change: &FieldChange, value: &Option<Value>) -> String {
    match value {
        _ if change.secret => REDACTED.to_owned(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
        None => "none".to_owned(),
    }
}
