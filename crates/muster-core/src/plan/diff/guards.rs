//! Before phase 1 acts: accounts the plan must not touch. An account in the target's
//! `leave_alone` filter (or a person whose address it covers) is never correlated, created,
//! converged or deleted; an existing account of another type than the person's (`account_type`
//! fields: a user mailbox against a functional account, or the reverse) is never converted.
//! Both hold the person with the reason; a type mismatch is also a plan warning.

use super::{DiffInput, Differ};
use crate::connector::{FieldRefusal, ObservedAccount};
use crate::evaluate::Evaluation;
use crate::mapping::FieldAction;
use crate::model::{AccountRef, ExternalId};
use crate::plan::compare::{same, text};
use crate::plan::correlate::Match;
use crate::plan::FieldChange;

impl<'a> Differ<'a> {
    /// Whether the person is held here, before any action is planned for them.
    pub(super) fn guarded(&mut self, e: &Evaluation, found: &Match<'a>, wanted: bool) -> bool {
        let account = match found {
            Match::Linked { account, .. }
            | Match::Correlated(account)
            | Match::LinkedToSomeoneElse { account, .. } => Some(*account),
            _ => None,
        };
        let untouched = match account {
            Some(a) => self.left_alone(a),
            None if wanted => self.address_left_alone(e),
            None => None,
        };
        if let Some(why) = untouched {
            self.hold(&e.person, why);
            return true;
        }
        let mismatch = match (account, found) {
            (Some(a), Match::Linked { .. } | Match::Correlated(_)) if wanted => {
                self.type_mismatch(e, a)
            }
            _ => None,
        };
        if let Some(why) = mismatch {
            self.plan.warnings.push(format!("{}: {why}", e.person));
            self.hold(&e.person, why);
            return true;
        }
        false
    }

    /// Why `account` is never touched, if the target's `leave_alone` covers it.
    pub(super) fn left_alone(&self, account: &ObservedAccount) -> Option<String> {
        self.input.leave_alone?.covers_account(account)
    }

    /// `changes` without the values the target refused before in a way no retry changes
    /// ([`Capabilities::refusals`](crate::connector::Capabilities::refusals), remembered
    /// under `key`): each is left out with a plan warning until the desired value changes.
    pub(super) fn drop_refused(
        &mut self,
        person: &ExternalId,
        account: Option<&AccountRef>,
        changes: Vec<FieldChange>,
    ) -> Vec<FieldChange> {
        // A value refused on the create stays refused on the account it later got.
        let keys: Vec<AccountRef> = account
            .cloned()
            .into_iter()
            .chain(std::iter::once(FieldRefusal::create_key(person)))
            .collect();
        let refusals = &self.input.capabilities.refusals;
        if refusals.is_empty() {
            return changes;
        }
        let (refused, kept): (Vec<FieldChange>, Vec<FieldChange>) =
            changes.into_iter().partition(|c| {
                let Some(value) = &c.after else { return false };
                refusals.iter().any(|r| r.field == c.field)
                    && keys.iter().any(|key| {
                        self.input
                            .fingerprints
                            .get(&(key.clone(), FieldRefusal::memory_field(&c.field)))
                            .is_some_and(|stored| {
                                *stored == (self.input.fingerprint)(key, &c.field, value)
                            })
                    })
            });
        for c in refused {
            self.plan.warnings.push(format!(
                "{person}: {} was refused by the target before with this same value (see the audit): not sent again until it changes",
                c.field
            ));
        }
        kept
    }

    fn address_left_alone(&self, e: &Evaluation) -> Option<String> {
        address_left_alone(self.input, e)
    }

    /// Why the existing account is of another type than the person's: a type field whose
    /// desired value and the account's own both exist and differ.
    fn type_mismatch(&self, e: &Evaluation, account: &ObservedAccount) -> Option<String> {
        self.input.type_fields.iter().find_map(|field| {
            let desired = e
                .fields
                .get(FieldAction::Update, field)
                .or_else(|| e.fields.get(FieldAction::Create, field));
            let found = account.attributes.get(field);
            let differs =
                text(desired).is_some() && text(found).is_some() && !same(desired, found, true);
            differs.then(|| {
                format!(
                    "type mismatch: account {} has {field} {}, the source wants {}: skipped, never converted",
                    account.reference,
                    text(found).unwrap_or_default(),
                    text(desired).unwrap_or_default()
                )
            })
        })
    }
}

/// Why the person's own address (as it would be written) is never touched.
pub(super) fn address_left_alone(input: &DiffInput<'_>, e: &Evaluation) -> Option<String> {
    let filter = input.leave_alone?;
    let field = filter.field();
    let address = text(e.fields.get(FieldAction::Create, field))
        .or_else(|| text(e.fields.get(FieldAction::Update, field)))?;
    filter.covers(&address)
}
