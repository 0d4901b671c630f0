//! Entitlement import: read every account and group of a target and report how they
//! correlate with the source's persons, before Muster manages anything. With `link`, the
//! unambiguous correlations are stored as links (adoption). Correlation itself is
//! `muster_core::plan::CorrelationIndex`, the plan's own, so import and plan agree.

use crate::error::EngineError;
use crate::run::{target_capabilities, BlockedRecord, Engine};
use chrono::NaiveDate;
use muster_core::connector::{Observed, ObservedAccount};
use muster_core::evaluate::Correlation;
use muster_core::model::{AccountRef, ExternalId, GroupRef, Person, TargetName};
use muster_core::plan::{CorrelationIndex, Match};
use muster_store::{Link, LinkState, ReportKind};
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Default, Serialize)]
pub struct Pair {
    pub person: ExternalId,
    pub account: AccountRef,
}

#[derive(Debug, Default, Serialize)]
pub struct UnmatchedAccount {
    pub account: AccountRef,
    /// The account's correlation attribute.
    pub value: Option<String>,
}

/// A person whose only match is an account linked to another person: the plan holds them.
#[derive(Debug, Default, Serialize)]
pub struct LinkedElsewhere {
    pub person: ExternalId,
    pub account: AccountRef,
    /// The person the account is linked to.
    pub owner: ExternalId,
}

#[derive(Debug, Default, Serialize)]
pub struct DisputedPerson {
    pub person: ExternalId,
    pub value: String,
    pub accounts: Vec<AccountRef>,
}

/// One permission (group, functional account, product, class) and the accounts that hold it.
#[derive(Debug, Default, Serialize)]
pub struct Holders {
    pub name: String,
    pub group: GroupRef,
    pub accounts: Vec<AccountRef>,
    /// Holders the target lists more than once, with how many times (see
    /// `ObservedGroup::duplicates`); a plan lists a member a rule grants once again.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub listed_more_than_once: std::collections::BTreeMap<AccountRef, usize>,
}

#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    pub target: TargetName,
    pub accounts: usize,
    pub groups: usize,
    pub memberships: usize,
    /// Accounts the target deleted but still lists (HelloID's soft delete), with their
    /// correlation value: never correlated, shown so an administrator sees who was there.
    pub deleted_accounts: Vec<UnmatchedAccount>,
    /// Every permission with at least one holder, by name. Where the target cannot list
    /// memberships (Zermelo), the holders are the grants Muster made.
    pub permissions: Vec<Holders>,
    /// Already linked in the store, account present.
    pub linked: Vec<Pair>,
    /// Exactly one unlinked account matches (stored when importing with `--link`).
    pub correlated_now: Vec<Pair>,
    /// No account matches, or the person has no correlation value.
    pub persons_without_account: Vec<ExternalId>,
    pub accounts_without_person: Vec<UnmatchedAccount>,
    pub disputed: Vec<DisputedPerson>,
    /// The only matching account is linked to another person (the plan holds these persons).
    pub linked_to_someone_else: Vec<LinkedElsewhere>,
    /// Accounts in the target's `leave_alone` filter: never linked, listed or acted on, as in
    /// a plan.
    pub left_alone: usize,
}

/// What an import reads and finds, before anything is stored; `muster reconcile` acts on its
/// accounts without a person.
pub(crate) struct Survey {
    pub report: ImportReport,
    pub observed: Observed,
    pub persons: Vec<Person>,
    pub blocked: Vec<BlockedRecord>,
}

impl Engine {
    pub async fn import(
        &self,
        target: &str,
        today: NaiveDate,
        link: bool,
    ) -> Result<ImportReport, EngineError> {
        let survey = self.survey(target, today).await?;
        if link {
            for pair in &survey.report.correlated_now {
                self.store
                    .upsert_link(&Link {
                        target: survey.report.target.clone(),
                        person: pair.person.clone(),
                        account: pair.account.clone(),
                        state: LinkState::Active,
                        updated_at: chrono::Utc::now(),
                    })
                    .await?;
            }
        }
        self.keep_report(ReportKind::Import, &survey.report.target, &survey.report)
            .await;
        Ok(survey.report)
    }

    /// Keeps `report` as the target's newest of its kind, for the server's API and dashboard.
    /// A report that cannot be kept is logged; the command's own answer still stands.
    pub(crate) async fn keep_report(
        &self,
        kind: ReportKind,
        target: &TargetName,
        report: &impl Serialize,
    ) {
        let kept = match serde_json::to_value(report) {
            Ok(json) => self.store.save_report(kind, target, &json).await,
            Err(e) => {
                tracing::warn!(target_name = %target, kind = kind.as_str(), error = %e, "The report could not be encoded.");
                return;
            }
        };
        if let Err(e) = kept {
            tracing::warn!(target_name = %target, kind = kind.as_str(), error = %e, "The report could not be kept.");
        }
    }

    /// Reads the source and the whole target, and correlates them as an import reports it:
    /// with the same [`CorrelationIndex`] the plan uses, so both find the same accounts.
    pub(crate) async fn survey(
        &self,
        target: &str,
        today: NaiveDate,
    ) -> Result<Survey, EngineError> {
        let t = self
            .config
            .target(target)
            .ok_or_else(|| EngineError::UnknownTarget {
                target: target.to_owned(),
                config: self.config.file.display().to_string(),
            })?;
        let connector = self.connected(t).await?;
        let (_, persons, blocked) = self.read_source(today).await?;
        let links = self.stored_links(&t.name).await?;
        // Every group's members: an import shows them all.
        let linked = links.iter().map(|l| l.account.clone()).collect();
        let (mut observed, _) = self
            .read_target(t, connector.as_ref(), &persons, linked, None)
            .await?;
        let left_alone = leave_alone(t, &mut observed);
        let capabilities = target_capabilities(t, connector.as_ref());
        let corr = &t.policy.correlation;
        let index = CorrelationIndex::new(corr, &capabilities, &observed, &links);
        let mut report = ImportReport {
            target: t.name.clone(),
            accounts: observed.accounts.len(),
            groups: observed.groups.len(),
            memberships: observed.groups.iter().map(|g| g.members.len()).sum(),
            deleted_accounts: observed
                .deleted
                .iter()
                .map(|a| unmatched(&index, a))
                .collect(),
            permissions: holders(&observed),
            left_alone,
            ..ImportReport::default()
        };
        let matched = correlate(&mut report, &persons, corr, &index);
        report.accounts_without_person = observed
            .accounts
            .iter()
            .filter(|a| !matched.contains(&a.reference))
            .map(|a| unmatched(&index, a))
            .collect();
        Ok(Survey {
            report,
            observed,
            persons,
            blocked,
        })
    }
}

/// Drops the accounts the target's `leave_alone` filter covers, the one decision the plan
/// makes too (`LeaveAlone::covers_account`): an import never links them and reconcile never
/// takes them for orphans. Returns how many.
fn leave_alone(t: &crate::config::TargetConfig, observed: &mut Observed) -> usize {
    let Some(filter) = &t.leave_alone else {
        return 0;
    };
    let before = observed.accounts.len();
    observed
        .accounts
        .retain(|a| filter.covers_account(a).is_none());
    observed
        .deleted
        .retain(|a| filter.covers_account(a).is_none());
    before - observed.accounts.len()
}

/// Sorts every person into the report by what the index finds for them; returns the accounts
/// that belong to (or are disputed by) someone.
fn correlate<'a>(
    report: &mut ImportReport,
    persons: &[Person],
    corr: &Correlation,
    index: &CorrelationIndex<'a>,
) -> HashSet<&'a AccountRef> {
    let mut matched = HashSet::new();
    for p in persons {
        let person = p.external_id.clone();
        let value = corr.person.get(p, None);
        match (index.find(&p.external_id, value.as_deref()), value) {
            (Match::Linked { account, .. }, _) => {
                matched.insert(&account.reference);
                report.linked.push(Pair {
                    person,
                    account: account.reference.clone(),
                });
            }
            (Match::Correlated(account), _) => {
                matched.insert(&account.reference);
                report.correlated_now.push(Pair {
                    person,
                    account: account.reference.clone(),
                });
            }
            (Match::Ambiguous(several), Some(value)) => {
                matched.extend(several.iter().map(|a| &a.reference));
                report.disputed.push(DisputedPerson {
                    person,
                    value: value.into_owned(),
                    accounts: several.iter().map(|a| a.reference.clone()).collect(),
                });
            }
            (Match::LinkedToSomeoneElse { account, owner }, _) => {
                matched.insert(&account.reference);
                report.linked_to_someone_else.push(LinkedElsewhere {
                    person,
                    account: account.reference.clone(),
                    owner: owner.clone(),
                });
            }
            // `find` answers `NoValue` to a person without a value, never `Ambiguous`.
            (Match::Ambiguous(_) | Match::NoValue | Match::None, _) => {
                report.persons_without_account.push(person)
            }
        }
    }
    matched
}

fn unmatched(index: &CorrelationIndex<'_>, account: &ObservedAccount) -> UnmatchedAccount {
    UnmatchedAccount {
        account: account.reference.clone(),
        value: index.value_of(account),
    }
}

/// Every permission with at least one holder, by name.
fn holders(observed: &Observed) -> Vec<Holders> {
    let mut held: Vec<Holders> = observed
        .groups
        .iter()
        .filter(|g| !g.members.is_empty())
        .map(|g| Holders {
            name: g.name.clone(),
            group: g.reference.clone(),
            accounts: g.members.iter().cloned().collect(),
            listed_more_than_once: g.duplicates.clone(),
        })
        .collect();
    held.sort_by(|a, b| a.name.cmp(&b.name));
    held
}
