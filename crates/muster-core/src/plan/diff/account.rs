//! Phase 1: find each person's account with the [`CorrelationIndex`](crate::plan::CorrelationIndex)
//! and decide what that means for the plan: a linked account is converged, one correlated
//! account gets a Correlate first, several are disputed, one linked to someone else holds the
//! person, none is a Create.

use super::Differ;
use crate::connector::{ObservedAccount, Rehire};
use crate::domains::DomainVerdict;
use crate::evaluate::{AccountState, Evaluation};
use crate::mapping::FieldAction;
use crate::plan::compare::text;
use crate::plan::correlate::{GoneLink, LinkState, Match, StoredLink};
use crate::plan::diff::references::AccountTarget;
use crate::plan::{Action, ActionKind, Disputed};

impl<'a> Differ<'a> {
    pub(super) fn person(&mut self, e: &'a Evaluation) {
        if !e.errors.is_empty() {
            self.hold(&e.person, e.errors.join("; "));
            return;
        }
        let found = self.index.find(&e.person, e.correlation_value.as_deref());
        // Only a person who is to have an account is correlated or created.
        let wanted = matches!(e.state, AccountState::Enabled | AccountState::Disabled);
        if self.guarded(e, &found, wanted) {
            return;
        }
        match found {
            Match::Linked { link, account } => self.linked(e, link, account),
            _ if !wanted => {}
            found => self.unlinked(e, found),
        }
    }

    /// A person whose link's account is in the target.
    fn linked(&mut self, e: &'a Evaluation, link: &StoredLink, account: &'a ObservedAccount) {
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
                e.fields.on(FieldAction::Delete),
                e.fields.on(FieldAction::Update),
                &e.why,
            ),
            AccountState::Absent | AccountState::NotYet => {}
            AccountState::Enabled | AccountState::Disabled => {
                self.converge(e, account, Vec::new(), link.state == LinkState::Deleted)
            }
        }
    }

    /// A person who is to have an account and has no linked one in the target.
    fn unlinked(&mut self, e: &'a Evaluation, found: Match<'a>) {
        let Some(stale) = self.stale_link(e) else {
            return;
        };
        let input = self.input;
        let field = &input.correlation.account_field;
        match (found, e.correlation_value.as_deref()) {
            (Match::Linked { .. }, _) => {} // `person` converges it
            (Match::NoValue, _) | (_, None) => self.hold(
                &e.person,
                format!(
                    "no value for the correlation field {}",
                    self.input.correlation.person
                ),
            ),
            (Match::LinkedToSomeoneElse { account, owner }, Some(value)) => self.hold(
                &e.person,
                format!(
                    "account {} with {field} = {value:?} is linked to person {owner}",
                    account.reference
                ),
            ),
            (Match::None, Some(value)) => self.no_account(e, value, &stale),
            (Match::Correlated(account), Some(value)) => self.correlated(e, account, value, &stale),
            (Match::Ambiguous(several), Some(value)) => self.plan.disputed.push(Disputed {
                person: e.person.clone(),
                value: value.to_owned(),
                accounts: several.iter().map(|a| a.reference.clone()).collect(),
            }),
        }
    }

    /// What became of the person's linked account, as the start of a reason; `None` when the
    /// person is held because the target deleted it and re-hires must restore it there.
    fn stale_link(&mut self, e: &Evaluation) -> Option<String> {
        match self.index.gone_link(&e.person) {
            None => Some(String::new()),
            Some(GoneLink {
                link,
                deleted: Some(_),
            }) if self.input.capabilities.rehire == Rehire::Hold => {
                self.hold(
                    &e.person,
                    format!(
                        "linked account {} was deleted in the target; restore it there, or set rehire = \"create-new\" to create a new account",
                        link.account
                    ),
                );
                None
            }
            Some(GoneLink {
                link,
                deleted: Some(_),
            }) => Some(format!(
                "linked account {} was deleted in the target; a new account is created; ",
                link.account
            )),
            Some(GoneLink {
                link,
                deleted: None,
            }) => Some(format!(
                "linked account {} no longer exists; ",
                link.account
            )),
        }
    }

    /// No account carries the person's value: a Create, unless the domain filter holds them.
    fn no_account(&mut self, e: &'a Evaluation, value: &str, stale: &str) {
        let clash = self
            .index
            .deleted_with(value)
            .map(|a| {
                format!(
                    "; a deleted account ({}) has the same {}, which the target may still reserve",
                    a.reference,
                    self.index.account_field()
                )
            })
            .unwrap_or_default();
        match self.domain_verdict(e, None) {
            DomainVerdict::Inside => self.create(e, stale, &clash),
            DomainVerdict::Hold(why) | DomainVerdict::Disable(why) => self.hold(&e.person, why),
        }
    }

    /// One free account carries the person's value: a Correlate, then the account converges.
    fn correlated(
        &mut self,
        e: &'a Evaluation,
        account: &'a ObservedAccount,
        value: &str,
        stale: &str,
    ) {
        if matches!(
            self.domain_verdict(e, Some(account)),
            DomainVerdict::Hold(_)
        ) {
            self.outside(e, account, Vec::new());
            return;
        }
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

    fn create(&mut self, e: &'a Evaluation, stale: &str, clash: &str) {
        let changes = e
            .fields
            .on(FieldAction::Create)
            .iter()
            .filter(|(_, v)| text(Some(v)).is_some())
            .map(|(f, v)| self.change(f, None, Some(v.clone())))
            .collect();
        let changes = self.drop_refused(&e.person, None, changes);
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
}
