//! Entitlement import: read every account and group of a target and report how they
//! correlate with the source's persons, before Muster manages anything. With `link`, the
//! unambiguous correlations are stored as links (adoption).

use crate::error::EngineError;
use crate::run::{BlockedRecord, Engine};
use chrono::NaiveDate;
use muster_core::connector::Observed;
use muster_core::model::{AccountRef, ExternalId, GroupRef, Person, TargetName};
use muster_store::{Link, LinkState, ReportKind};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

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
    pub persons_without_account: Vec<ExternalId>,
    pub accounts_without_person: Vec<UnmatchedAccount>,
    pub disputed: Vec<DisputedPerson>,
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

    /// Reads the source and the whole target, and correlates them as an import reports it.
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
        let links = self.store.links(&t.name).await?;
        // Every group's members: an import shows them all.
        let linked = links.iter().map(|l| l.account.clone()).collect();
        let (observed, _) = self
            .read_target(t, connector.as_ref(), &persons, linked, None)
            .await?;
        let corr = &t.policy.correlation;
        let key = |v: &str| {
            if corr.case_insensitive {
                v.to_lowercase()
            } else {
                v.to_owned()
            }
        };

        let mut report = ImportReport {
            target: t.name.clone(),
            accounts: observed.accounts.len(),
            groups: observed.groups.len(),
            memberships: observed.groups.iter().map(|g| g.members.len()).sum(),
            deleted_accounts: observed
                .deleted
                .iter()
                .map(|a| UnmatchedAccount {
                    account: a.reference.clone(),
                    value: a
                        .attributes
                        .get(&corr.account_field)
                        .and_then(|v| v.as_str())
                        .map(str::to_owned),
                })
                .collect(),
            permissions: {
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
            },
            ..ImportReport::default()
        };
        let present: HashSet<&AccountRef> =
            observed.accounts.iter().map(|a| &a.reference).collect();
        let linked_by_person: HashMap<&ExternalId, &AccountRef> = links
            .iter()
            .filter(|l| present.contains(&l.account))
            .map(|l| (&l.person, &l.account))
            .collect();
        let claimed: HashSet<&AccountRef> = linked_by_person.values().copied().collect();
        let mut by_value: HashMap<String, Vec<&AccountRef>> = HashMap::new();
        for a in &observed.accounts {
            if let Some(v) = a
                .attributes
                .get(&corr.account_field)
                .and_then(|v| v.as_str())
            {
                by_value.entry(key(v)).or_default().push(&a.reference);
            }
        }

        let mut matched: HashSet<&AccountRef> = claimed.clone();
        for p in &persons {
            if let Some(account) = linked_by_person.get(&p.external_id) {
                report.linked.push(Pair {
                    person: p.external_id.clone(),
                    account: (*account).clone(),
                });
                continue;
            }
            let Some(value) = corr.person.get(p, None) else {
                report.persons_without_account.push(p.external_id.clone());
                continue;
            };
            let free: Vec<&AccountRef> = by_value
                .get(&key(&value))
                .map(|v| v.iter().copied().filter(|a| !claimed.contains(a)).collect())
                .unwrap_or_default();
            match free.as_slice() {
                [] => report.persons_without_account.push(p.external_id.clone()),
                [account] => {
                    matched.insert(account);
                    report.correlated_now.push(Pair {
                        person: p.external_id.clone(),
                        account: (*account).clone(),
                    });
                }
                several => {
                    matched.extend(several.iter().copied());
                    report.disputed.push(DisputedPerson {
                        person: p.external_id.clone(),
                        value: value.into_owned(),
                        accounts: several.iter().map(|a| (*a).clone()).collect(),
                    });
                }
            }
        }
        for a in &observed.accounts {
            if !matched.contains(&a.reference) {
                report.accounts_without_person.push(UnmatchedAccount {
                    account: a.reference.clone(),
                    value: a
                        .attributes
                        .get(&corr.account_field)
                        .and_then(|v| v.as_str())
                        .map(str::to_owned),
                });
            }
        }
        Ok(Survey {
            report,
            observed,
            persons,
            blocked,
        })
    }
}
