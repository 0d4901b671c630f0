//! Correlation: which account in a target is a person's. One [`CorrelationIndex`] per target
//! and run answers [`find`](CorrelationIndex::find) for the plan's diff, for `muster import` and
//! for the unique-value stage ([`make_unique`](crate::unique::make_unique)) alike, so they
//! never disagree on a match.
//!
//! The stored link wins. Without one (or when its account is gone), the person's correlation
//! value is looked up among the accounts' values of the configured field: values compare as
//! text (numbers by their digits, a list as the set of its items, see
//! [`text`](super::compare::text)), ignoring case when the correlation says so or the target
//! compares that field ignoring case. An account linked to another person is never a match.
//!
//! What happens to a match (a Correlate action, a hold, a dispute, a link stored by `--link`)
//! is for the caller; this module only finds.

use super::compare::text;
use super::fast::FastMap;
use crate::connector::{Capabilities, Observed, ObservedAccount};
use crate::evaluate::Correlation;
use crate::model::{AccountRef, ExternalId};
use serde_json::Value;

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

/// What [`CorrelationIndex::find`] found for one person.
#[derive(Debug, Clone, PartialEq)]
pub enum Match<'a> {
    /// The stored link's account is in the target.
    Linked {
        link: &'a StoredLink,
        account: &'a ObservedAccount,
    },
    /// Exactly one account carries the person's value and nobody else is linked to it.
    Correlated(&'a ObservedAccount),
    /// Several such accounts: nothing is done until an administrator links one.
    Ambiguous(Vec<&'a ObservedAccount>),
    /// Only accounts linked to other persons carry the value: the person is held.
    LinkedToSomeoneElse {
        account: &'a ObservedAccount,
        owner: &'a ExternalId,
    },
    /// The person has no value for the correlation field.
    NoValue,
    /// No account carries the person's value.
    None,
}

/// A person's link whose account the target no longer lists as live.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GoneLink<'a> {
    pub link: &'a StoredLink,
    /// The account as the target still lists it among its deleted ones (HelloID's soft
    /// delete); `None` when it is gone altogether.
    pub deleted: Option<&'a ObservedAccount>,
}

/// The accounts of one target indexed for correlation, with the stored links.
pub struct CorrelationIndex<'a> {
    account_field: &'a str,
    ignore_case: bool,
    accounts: FastMap<&'a AccountRef, &'a ObservedAccount>,
    by_value: FastMap<String, Vec<&'a ObservedAccount>>,
    deleted: FastMap<&'a AccountRef, &'a ObservedAccount>,
    deleted_by_value: FastMap<String, &'a ObservedAccount>,
    links: FastMap<&'a ExternalId, &'a StoredLink>,
    /// Accounts in the target linked to a person, with that person.
    claimed: FastMap<&'a AccountRef, &'a ExternalId>,
}

impl<'a> CorrelationIndex<'a> {
    /// Indexes `observed` by `correlation.account_field`. `capabilities` says which fields
    /// the target compares ignoring case.
    pub fn new(
        correlation: &'a Correlation,
        capabilities: &Capabilities,
        observed: &'a Observed,
        links: &'a [StoredLink],
    ) -> Self {
        let account_field = correlation.account_field.as_str();
        let ignore_case = correlation.case_insensitive
            || capabilities.case_insensitive_fields.contains(account_field);
        let mut index = Self {
            account_field,
            ignore_case,
            accounts: observed
                .accounts
                .iter()
                .map(|a| (&a.reference, a))
                .collect(),
            by_value: FastMap::default(),
            deleted: observed.deleted.iter().map(|a| (&a.reference, a)).collect(),
            deleted_by_value: FastMap::default(),
            links: links.iter().map(|l| (&l.person, l)).collect(),
            claimed: FastMap::default(),
        };
        for a in &observed.accounts {
            if let Some(v) = index.key_of(a) {
                index.by_value.entry(v).or_default().push(a);
            }
        }
        for a in &observed.deleted {
            if let Some(v) = index.key_of(a) {
                index.deleted_by_value.insert(v, a);
            }
        }
        index.claimed = links
            .iter()
            .filter(|l| index.accounts.contains_key(&l.account))
            .map(|l| (&l.account, &l.person))
            .collect();
        index
    }

    /// The account `person` has in this target: the linked one, else the one their
    /// correlation `value` finds.
    pub fn find(&self, person: &ExternalId, value: Option<&str>) -> Match<'a> {
        if let Some(link) = self.links.get(person).copied() {
            if let Some(account) = self.accounts.get(&link.account).copied() {
                return Match::Linked { link, account };
            }
        }
        let Some(value) = value else {
            return Match::NoValue;
        };
        let candidates = self
            .by_value
            .get(&self.key(value))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let free = |a: &&&'a ObservedAccount| {
            self.claimed
                .get(&a.reference)
                .is_none_or(|owner| *owner == person)
        };
        let mut found = candidates.iter().filter(free);
        match (found.next(), found.next()) {
            (Some(&one), None) => Match::Correlated(one),
            (Some(_), Some(_)) => {
                Match::Ambiguous(candidates.iter().filter(free).copied().collect())
            }
            // Every candidate is linked to someone else (or there is none).
            (None, _) => candidates
                .iter()
                .find_map(|&account| {
                    let owner = self.claimed.get(&account.reference).copied()?;
                    Some(Match::LinkedToSomeoneElse { account, owner })
                })
                .unwrap_or(Match::None),
        }
    }

    /// The person's link, when the target no longer lists its account as live.
    pub fn gone_link(&self, person: &ExternalId) -> Option<GoneLink<'a>> {
        let link = self.links.get(person).copied()?;
        if self.accounts.contains_key(&link.account) {
            return None;
        }
        Some(GoneLink {
            link,
            deleted: self.deleted.get(&link.account).copied(),
        })
    }

    /// A deleted account (still listed) with this correlation value: the target may still
    /// reserve the value, so a create may collide with it.
    pub fn deleted_with(&self, value: &str) -> Option<&'a ObservedAccount> {
        self.deleted_by_value.get(&self.key(value)).copied()
    }

    /// A live account by reference.
    pub fn account(&self, reference: &AccountRef) -> Option<&'a ObservedAccount> {
        self.accounts.get(reference).copied()
    }

    /// Whether `account` is linked to a person (and present).
    pub fn is_claimed(&self, account: &AccountRef) -> bool {
        self.claimed.contains_key(account)
    }

    /// The target's attribute holding the correlation value.
    pub fn account_field(&self) -> &'a str {
        self.account_field
    }

    /// The account's correlation value as an administrator reads it (a list's items joined
    /// by ", "), for reports.
    pub fn value_of(&self, account: &ObservedAccount) -> Option<String> {
        shown(account.attributes.get(self.account_field))
    }

    fn key_of(&self, account: &ObservedAccount) -> Option<String> {
        text(account.attributes.get(self.account_field)).map(|v| self.key(&v))
    }

    fn key(&self, value: &str) -> String {
        if self.ignore_case {
            value.to_lowercase()
        } else {
            value.to_owned()
        }
    }
}

/// A value for a report: text as [`text`] compares it, a list's items joined by ", ".
fn shown(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().filter_map(|i| text(Some(i))).collect();
            (!items.is_empty()).then(|| items.join(", "))
        }
        other => text(Some(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PersonPath;
    use serde_json::json;

    fn account(id: &str, value: Value) -> ObservedAccount {
        ObservedAccount {
            reference: AccountRef::new(id),
            enabled: true,
            attributes: [("employeeId".to_owned(), value)].into_iter().collect(),
        }
    }

    fn correlation(case_insensitive: bool) -> Correlation {
        Correlation {
            person: PersonPath::parse("ExternalId").unwrap(),
            account_field: "employeeId".into(),
            case_insensitive,
        }
    }

    fn link(person: &str, account: &str) -> StoredLink {
        StoredLink {
            person: ExternalId::new(person),
            account: AccountRef::new(account),
            state: LinkState::Active,
        }
    }

    fn observed(accounts: Vec<ObservedAccount>) -> Observed {
        Observed {
            accounts,
            ..Observed::default()
        }
    }

    fn found<'a>(m: &Match<'a>) -> Vec<&'a str> {
        match m {
            Match::Linked { account, .. } | Match::Correlated(account) => {
                vec![account.reference.as_str()]
            }
            Match::Ambiguous(all) => all.iter().map(|a| a.reference.as_str()).collect(),
            Match::LinkedToSomeoneElse { account, .. } => vec![account.reference.as_str()],
            Match::NoValue | Match::None => vec![],
        }
    }

    #[test]
    fn numbers_and_lists_match_as_text() {
        let observed = observed(vec![
            account("a", json!(1001)),
            account("b", json!(["1002"])),
            account("c", json!(["x", "1003"])),
        ]);
        let corr = correlation(false);
        let index = CorrelationIndex::new(&corr, &Capabilities::default(), &observed, &[]);
        let find = |p: &str| index.find(&ExternalId::new(p), Some(p));
        assert!(matches!(find("1001"), Match::Correlated(a) if a.reference.as_str() == "a"));
        assert!(matches!(find("1002"), Match::Correlated(a) if a.reference.as_str() == "b"));
        // A list of several values matches nobody's single value.
        assert_eq!(find("1003"), Match::None);
        assert_eq!(
            index.value_of(&observed.accounts[2]).as_deref(),
            Some("x, 1003")
        );
    }

    #[test]
    fn case_is_ignored_when_the_correlation_or_the_target_says_so() {
        let observed = observed(vec![account("a", json!("E.Bakker"))]);
        let exact = correlation(false);
        let index = CorrelationIndex::new(&exact, &Capabilities::default(), &observed, &[]);
        assert_eq!(
            index.find(&ExternalId::new("p"), Some("e.bakker")),
            Match::None
        );
        let target_ignores = Capabilities {
            case_insensitive_fields: ["employeeId".to_owned()].into_iter().collect(),
            ..Capabilities::default()
        };
        let index = CorrelationIndex::new(&exact, &target_ignores, &observed, &[]);
        assert_eq!(
            found(&index.find(&ExternalId::new("p"), Some("e.bakker"))),
            ["a"]
        );
        let ignoring = correlation(true);
        let index = CorrelationIndex::new(&ignoring, &Capabilities::default(), &observed, &[]);
        assert_eq!(
            found(&index.find(&ExternalId::new("p"), Some("E.BAKKER"))),
            ["a"]
        );
    }

    #[test]
    fn links_win_and_an_account_linked_to_someone_else_is_never_a_match() {
        let observed = observed(vec![
            account("a", json!("v")),
            account("b", json!("w")),
            account("c", json!("w")),
            account("d", json!("w")),
        ]);
        let links = [link("owner", "a"), link("other", "d"), link("lost", "zz")];
        let corr = correlation(true);
        let index = CorrelationIndex::new(&corr, &Capabilities::default(), &observed, &links);
        let p = ExternalId::new("p");
        assert!(matches!(
            index.find(&p, Some("v")),
            Match::LinkedToSomeoneElse { owner, .. } if owner.as_str() == "owner"
        ));
        let two = index.find(&p, Some("w"));
        assert!(matches!(two, Match::Ambiguous(_)));
        assert_eq!(found(&two), ["b", "c"], "the linked account is left out");
        assert!(matches!(
            index.find(&ExternalId::new("owner"), Some("other value")),
            Match::Linked { .. }
        ));
        assert_eq!(index.find(&p, None), Match::NoValue);
        let gone = index.gone_link(&ExternalId::new("lost")).unwrap();
        assert_eq!(gone.link.account.as_str(), "zz");
        assert!(gone.deleted.is_none());
        assert!(index.gone_link(&ExternalId::new("owner")).is_none());
    }
}
