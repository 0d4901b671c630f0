//! Choosing the primary contract: an ordered list of criteria, the first that separates two
//! contracts decides (HelloID's "active first, then latest start, then highest FTE").

use super::{Contract, Person};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrimaryCriterion {
    /// Contracts active today before future ones, future before ended ones.
    ActiveFirst,
    LatestStart,
    EarliestStart,
    HighestFte,
    /// Open-ended or latest end date first.
    LatestEnd,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimaryContractRule(pub Vec<PrimaryCriterion>);

impl Default for PrimaryContractRule {
    fn default() -> Self {
        Self(vec![
            PrimaryCriterion::ActiveFirst,
            PrimaryCriterion::HighestFte,
            PrimaryCriterion::LatestStart,
        ])
    }
}

impl PrimaryContractRule {
    /// Sets `person.primary`; ties keep the contract listed first, so the choice is stable.
    pub fn apply(&self, person: &mut Person, today: NaiveDate) {
        let mut best: Option<usize> = None;
        for (i, c) in person.contracts.iter().enumerate() {
            best = match best {
                Some(b) if self.compare(&person.contracts[b], c, today) != Ordering::Less => {
                    Some(b)
                }
                _ => Some(i),
            };
        }
        person.primary = best;
    }

    /// `Greater` means `a` is the better primary contract.
    fn compare(&self, a: &Contract, b: &Contract, today: NaiveDate) -> Ordering {
        for criterion in &self.0 {
            let ord = match criterion {
                PrimaryCriterion::ActiveFirst => phase(a, today).cmp(&phase(b, today)),
                PrimaryCriterion::LatestStart => a.start_date.cmp(&b.start_date),
                PrimaryCriterion::EarliestStart => b.start_date.cmp(&a.start_date),
                PrimaryCriterion::HighestFte => a
                    .fte
                    .unwrap_or(0.0)
                    .partial_cmp(&b.fte.unwrap_or(0.0))
                    .unwrap_or(Ordering::Equal),
                PrimaryCriterion::LatestEnd => match (a.end_date, b.end_date) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Greater,
                    (Some(_), None) => Ordering::Less,
                    (Some(x), Some(y)) => x.cmp(&y),
                },
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

/// 2 = active, 1 = future, 0 = ended.
fn phase(c: &Contract, today: NaiveDate) -> u8 {
    if c.is_active_on(today) {
        2
    } else if c.start_date.is_some_and(|s| s > today) {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn contract(start: &str, end: Option<&str>, fte: f64) -> Contract {
        Contract {
            start_date: Some(d(start)),
            end_date: end.map(d),
            fte: Some(fte),
            ..Contract::default()
        }
    }

    #[test]
    fn active_contract_beats_a_larger_ended_one() {
        let mut p = Person::new("1");
        p.contracts = vec![
            contract("2020-01-01", Some("2024-12-31"), 1.0),
            contract("2025-01-01", None, 0.4),
        ];
        PrimaryContractRule::default().apply(&mut p, d("2026-01-01"));
        assert_eq!(p.primary, Some(1));
    }

    #[test]
    fn highest_fte_decides_between_active_contracts() {
        let mut p = Person::new("1");
        p.contracts = vec![
            contract("2020-01-01", None, 0.2),
            contract("2021-01-01", None, 0.8),
            contract("2022-01-01", None, 0.5),
        ];
        PrimaryContractRule::default().apply(&mut p, d("2026-01-01"));
        assert_eq!(p.primary, Some(1));
    }

    #[test]
    fn no_contracts_no_primary() {
        let mut p = Person::new("1");
        PrimaryContractRule::default().apply(&mut p, d("2026-01-01"));
        assert_eq!(p.primary, None);
    }
}
