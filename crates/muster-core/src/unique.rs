//! Unique values: user names and e-mail addresses that must not collide, settled across the
//! whole population of one run, between `evaluate` and `diff`. Pure.
//!
//! A unique field's mapping is asked for its value with `Iteration` 0, 1, 2, … (HelloID's
//! convention: `j.jansen`, then `ja.jansen`, then `j.jansen2`, as the script decides) until
//! the value is free: held neither by another account in the target nor by another person of
//! this run. Values compare without regard to case.
//!
//! - A person who already has an account keeps the value
//!   the account holds when it is still one of their candidates: a colleague leaving does not
//!   rename `j.jansen2` to `j.jansen`. A field that is only written on create is left alone
//!   for them. Which account is theirs is asked of the plan's
//!   [`CorrelationIndex`](crate::plan::CorrelationIndex), so this stage and the plan agree:
//!   the linked account (in any link state), else the one free account their correlation value
//!   finds; a person whose only candidate is linked to someone else is a newcomer here.
//! - Persons with an account go first, so a newcomer never takes a value someone holds; then
//!   newcomers in `ExternalId` order, so the outcome does not depend on the export's order.
//! - After [`Uniqueness::max_iterations`] tries, or at once when the mapping does not change
//!   with `Iteration`, the person is held in this target with the reason.

use crate::connector::{Capabilities, Observed, ObservedAccount};
use crate::evaluate::{AccountState, Correlation, Evaluation};
use crate::mapping::{FieldAction, FieldMapping};
use crate::model::{AccountRef, ExternalId, Person};
use crate::plan::{CorrelationIndex, Match, StoredLink};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

/// Which fields of a target must hold unique values, and how hard to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uniqueness {
    /// Target attributes (`userName`, `emails[type eq "work"].value`, …).
    pub fields: BTreeSet<String>,
    /// Iterations tried after the first value (`Iteration` 1 ..= this). Default 20.
    pub max_iterations: u32,
}

impl Uniqueness {
    pub const DEFAULT_MAX_ITERATIONS: u32 = 20;
}

impl Default for Uniqueness {
    fn default() -> Self {
        Self {
            fields: BTreeSet::new(),
            max_iterations: Self::DEFAULT_MAX_ITERATIONS,
        }
    }
}

/// What the uniqueness stage needs besides the evaluations.
pub struct UniqueInput<'a> {
    pub mappings: &'a [FieldMapping],
    pub uniqueness: &'a Uniqueness,
    pub observed: &'a Observed,
    pub links: &'a [StoredLink],
    pub correlation: &'a Correlation,
    /// What the target compares ignoring case, as the plan sees it (for correlation).
    pub capabilities: &'a Capabilities,
    /// Persons whose source record is blocked: the diff leaves them alone, so do we.
    pub held: &'a HashSet<ExternalId>,
}

/// Who holds a value already.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holder<'a> {
    Account(&'a AccountRef),
    Person(&'a ExternalId),
}

impl fmt::Display for Holder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Account(a) => write!(f, "account {a}"),
            Holder::Person(p) => write!(f, "person {p}"),
        }
    }
}

/// Makes every unique field's value unique. `persons[i]` is the person of `evaluations[i]`.
/// A person whose value cannot be made unique gets an error in their evaluation, which holds
/// them in this target.
pub fn make_unique(persons: &[Person], evaluations: &mut [Evaluation], input: &UniqueInput<'_>) {
    if input.uniqueness.fields.is_empty() {
        return;
    }
    let index = CorrelationIndex::new(
        input.correlation,
        input.capabilities,
        input.observed,
        input.links,
    );
    let own = own_accounts(persons, evaluations, &index);
    for field in &input.uniqueness.fields {
        let mappings: Vec<&FieldMapping> = input
            .mappings
            .iter()
            .filter(|m| &m.field == field)
            .collect();
        if !mappings.is_empty() {
            Field::new(field, mappings, input, &own).settle(persons, evaluations);
        }
    }
}

/// Each person's own account, as the plan finds it: the linked one, else the one free
/// account their correlation value finds. Everyone else is a newcomer here, also those the
/// plan disputes or holds (several candidates, an account linked to someone else, no value).
fn own_accounts<'a>(
    persons: &'a [Person],
    evaluations: &[Evaluation],
    index: &CorrelationIndex<'a>,
) -> HashMap<&'a ExternalId, &'a ObservedAccount> {
    persons
        .iter()
        .zip(evaluations)
        .filter_map(
            |(p, e)| match index.find(&p.external_id, e.correlation_value.as_deref()) {
                Match::Linked { account, .. } | Match::Correlated(account) => {
                    Some((&p.external_id, account))
                }
                Match::Ambiguous(_)
                | Match::LinkedToSomeoneElse { .. }
                | Match::NoValue
                | Match::None => None,
            },
        )
        .collect()
}

/// One unique field, with the values the target holds for it.
struct Field<'a> {
    name: &'a str,
    /// `name`, allocated once for every value this field rewrites.
    shared: Arc<str>,
    mappings: Vec<&'a FieldMapping>,
    input: &'a UniqueInput<'a>,
    /// Normalised value → holders among the observed accounts.
    taken: HashMap<String, Vec<&'a AccountRef>>,
    /// Values given to persons of this run so far.
    claimed: HashMap<String, &'a ExternalId>,
    /// A person's own account: see [`own_accounts`].
    own: &'a HashMap<&'a ExternalId, &'a ObservedAccount>,
}

impl<'a> Field<'a> {
    fn new(
        name: &'a str,
        mappings: Vec<&'a FieldMapping>,
        input: &'a UniqueInput<'a>,
        own: &'a HashMap<&'a ExternalId, &'a ObservedAccount>,
    ) -> Self {
        let mut taken: HashMap<String, Vec<&AccountRef>> = HashMap::new();
        for a in &input.observed.accounts {
            if let Some(v) = a.attributes.get(name).and_then(normalise) {
                taken.entry(v).or_default().push(&a.reference);
            }
        }
        Self {
            name,
            shared: Arc::from(name),
            mappings,
            input,
            taken,
            claimed: HashMap::new(),
            own,
        }
    }

    fn settle(mut self, persons: &'a [Person], evaluations: &mut [Evaluation]) {
        // Pass 1: persons with an account keep (or fix) their value; pass 2: newcomers.
        let mut newcomers = Vec::new();
        for (i, (person, e)) in persons.iter().zip(evaluations.iter_mut()).enumerate() {
            if self.input.held.contains(&person.external_id)
                || !e.errors.is_empty()
                || !matches!(e.state, AccountState::Enabled | AccountState::Disabled)
            {
                continue;
            }
            if self.own.contains_key(&person.external_id) {
                self.keep(person, e);
            } else {
                newcomers.push(i);
            }
        }
        newcomers.sort_by(|a, b| persons[*a].external_id.cmp(&persons[*b].external_id));
        for i in newcomers {
            self.create(&persons[i], &mut evaluations[i]);
        }
    }

    /// A person with an account: only a field written on update can change, and the value
    /// the account holds wins while it is one of the person's candidates.
    fn keep(&mut self, person: &'a Person, e: &mut Evaluation) {
        let Some(first) = e
            .fields
            .get(FieldAction::Update, self.name)
            .and_then(normalise)
        else {
            return;
        };
        let Some(account) = self.own.get(&person.external_id).copied() else {
            return;
        };
        let held_now = account.attributes.get(self.name).and_then(normalise);
        if held_now.as_deref() == Some(first.as_str()) {
            self.claimed.insert(first, &person.external_id);
            return;
        }
        self.search(
            person,
            e,
            first,
            held_now.as_deref(),
            Some(&account.reference),
        );
    }

    /// A person who will be created: the first free candidate.
    fn create(&mut self, person: &'a Person, e: &mut Evaluation) {
        let Some(first) = e
            .fields
            .get(FieldAction::Create, self.name)
            .and_then(normalise)
        else {
            return;
        };
        self.search(person, e, first, None, None);
    }

    /// Tries `Iteration` 0, 1, … and settles on the person's own value when it comes up,
    /// else on the first free one.
    fn search(
        &mut self,
        person: &'a Person,
        e: &mut Evaluation,
        first: String,
        own_value: Option<&str>,
        own_account: Option<&AccountRef>,
    ) {
        let mut first_free: Option<(u32, String)> = None;
        let mut previous = first.clone();
        let mut last_holder: Option<Holder<'a>> = None;
        let mut candidate = first;
        let mut iteration = 0u32;
        loop {
            if own_value == Some(candidate.as_str()) {
                first_free = Some((iteration, candidate));
                break;
            }
            match self.holder(&candidate, &person.external_id, own_account) {
                None if first_free.is_none() => {
                    first_free = Some((iteration, candidate.clone()));
                    // Without a value of their own to find, the first free one is the answer.
                    if own_value.is_none() {
                        break;
                    }
                }
                None => {}
                Some(h) => last_holder = Some(h),
            }
            if iteration >= self.input.uniqueness.max_iterations {
                break;
            }
            iteration += 1;
            match self.value(person, iteration, own_account.is_some()) {
                Ok(Some(next)) if iteration == 1 && next == previous => {
                    // The mapping does not read `Iteration`: trying again cannot help.
                    if first_free.is_some() {
                        break;
                    }
                    let holder = last_holder.map(|h| h.to_string()).unwrap_or_default();
                    e.errors.push(format!(
                        "field {}: `{previous}` is already used by {holder}, and its mapping does not change with Iteration",
                        self.name
                    ));
                    return;
                }
                Ok(Some(next)) => {
                    previous = next.clone();
                    candidate = next;
                }
                Ok(None) => break,
                Err(message) => {
                    e.errors.push(message);
                    return;
                }
            }
        }
        let Some((iteration, value)) = first_free else {
            let holder = last_holder.map(|h| h.to_string()).unwrap_or_default();
            e.errors.push(format!(
                "field {}: no unique value in {} tries; the last, `{previous}`, is used by {holder}",
                self.name,
                self.input.uniqueness.max_iterations + 1,
            ));
            return;
        };
        self.claimed.insert(value, &person.external_id);
        if iteration > 0 {
            self.write(person, e, iteration);
        }
    }

    /// Who else holds `value`, if anyone.
    fn holder(
        &self,
        value: &str,
        person: &ExternalId,
        own_account: Option<&AccountRef>,
    ) -> Option<Holder<'a>> {
        if let Some(p) = self.claimed.get(value).filter(|p| **p != person) {
            return Some(Holder::Person(p));
        }
        self.taken
            .get(value)?
            .iter()
            .find(|a| Some(**a) != own_account)
            .map(|a| Holder::Account(a))
    }

    /// The candidate value at `iteration`, from the mapping written on update (a person with
    /// an account) or on create (a newcomer).
    fn value(
        &self,
        person: &Person,
        iteration: u32,
        on_update: bool,
    ) -> Result<Option<String>, String> {
        let m = self.mappings.iter().find(|m| {
            if on_update {
                m.actions.update
            } else {
                m.actions.create
            }
        });
        let Some(m) = m else { return Ok(None) };
        m.compute(person, iteration)
            .map(|v| v.as_ref().and_then(normalise))
            .map_err(|e| format!("field {} (Iteration {iteration}): {e}", self.name))
    }

    /// Writes the value of `iteration` on every action its mappings are written on.
    fn write(&self, person: &Person, e: &mut Evaluation, iteration: u32) {
        for m in &self.mappings {
            let value = match m.compute(person, iteration) {
                Ok(v) => v.unwrap_or(Value::Null),
                Err(err) => {
                    e.errors.push(format!(
                        "field {} (Iteration {iteration}): {err}",
                        self.name
                    ));
                    return;
                }
            };
            e.fields.set(&self.shared, value, m.actions);
        }
    }
}

/// A value as compared for uniqueness: text without regard to case; no value is never a
/// collision.
fn normalise(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.to_lowercase()),
        other => Some(other.to_string().to_lowercase()),
    }
}

#[cfg(test)]
mod tests;
