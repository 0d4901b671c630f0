//! Business rules: a condition on the person, the primary contract or any contract, and the
//! entitlements it grants (account, account access, static and dynamic permissions).
//!
//! String comparisons ignore case: HR exports are rarely consistent about it, and a rule that
//! silently stops matching because "sales" became "Sales" would revoke access.

use crate::mapping::Template;
use crate::model::{ContractField, Person, PersonPath, TargetName, UnitPart};
use chrono::{Days, NaiveDate};

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Always,
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Test(Test),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    pub subject: Subject,
    pub op: Op,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// A person field, including `PrimaryContract.*`.
    Person(PersonPath),
    /// True when at least one contract satisfies the test (`AnyContract.Department`).
    AnyContract(ContractField),
    /// The same for one part of a contract object (`AnyContract.Department.ExternalId`).
    AnyContractPart(ContractField, UnitPart),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    Contains(String),
    StartsWith(String),
    Exists,
    Missing,
    /// The value is a date before today plus this many days (negative: in the past).
    BeforeDays(i64),
    /// The value is a date after today plus this many days.
    AfterDays(i64),
}

impl Op {
    fn holds(&self, value: Option<&str>, today: NaiveDate) -> bool {
        let eq = |a: &str, b: &str| {
            a.trim().eq_ignore_ascii_case(b.trim())
                || a.trim().to_lowercase() == b.trim().to_lowercase()
        };
        match (self, value) {
            (Op::Exists, v) => v.is_some_and(|v| !v.trim().is_empty()),
            (Op::Missing, v) => v.is_none_or(|v| v.trim().is_empty()),
            (Op::NotEquals(x), None) => !x.is_empty(),
            (_, None) => false,
            (Op::Equals(x), Some(v)) => eq(v, x),
            (Op::NotEquals(x), Some(v)) => !eq(v, x),
            (Op::In(xs), Some(v)) => xs.iter().any(|x| eq(v, x)),
            (Op::Contains(x), Some(v)) => v.to_lowercase().contains(&x.to_lowercase()),
            (Op::StartsWith(x), Some(v)) => v.to_lowercase().starts_with(&x.to_lowercase()),
            (Op::BeforeDays(n), Some(v)) => date(v).is_some_and(|d| d < shift(today, *n)),
            (Op::AfterDays(n), Some(v)) => date(v).is_some_and(|d| d > shift(today, *n)),
        }
    }
}

fn date(v: &str) -> Option<NaiveDate> {
    v.get(..10).and_then(|d| d.parse().ok())
}

pub(crate) fn shift(day: NaiveDate, days: i64) -> NaiveDate {
    let n = Days::new(days.unsigned_abs());
    let shifted = if days >= 0 {
        day.checked_add_days(n)
    } else {
        day.checked_sub_days(n)
    };
    shifted.unwrap_or(day)
}

impl Condition {
    pub fn matches(&self, person: &Person, today: NaiveDate) -> bool {
        match self {
            Condition::Always => true,
            Condition::All(cs) => cs.iter().all(|c| c.matches(person, today)),
            Condition::Any(cs) => cs.iter().any(|c| c.matches(person, today)),
            Condition::Not(c) => !c.matches(person, today),
            Condition::Test(t) => match &t.subject {
                Subject::Person(path) => t.op.holds(path.get(person, None).as_deref(), today),
                Subject::AnyContract(field) => person
                    .contracts
                    .iter()
                    .any(|c| t.op.holds(field.get(c).as_deref(), today)),
                Subject::AnyContractPart(field, part) => person
                    .contracts
                    .iter()
                    .any(|c| t.op.holds(field.get_part(c, *part).as_deref(), today)),
            },
        }
    }
}

/// Which contracts a dynamic permission is computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractSelection {
    /// Every contract that is active today (or starts within the target's pre-start window).
    InScope,
    Primary,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DynamicPermission {
    pub template: Template,
    pub contracts: ContractSelection,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Grants {
    pub account: bool,
    pub access: bool,
    /// Static permissions, by the group's display name.
    pub permissions: Vec<String>,
    pub dynamic: Vec<DynamicPermission>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    /// Targets the rule applies to; `None` means every target.
    pub targets: Option<Vec<TargetName>>,
    pub when: Condition,
    pub grants: Grants,
}

impl Rule {
    pub fn applies_to(&self, target: &TargetName) -> bool {
        self.targets.as_ref().is_none_or(|ts| ts.contains(target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Contract;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn person() -> Person {
        let mut p = Person::new("7");
        p.contracts = vec![
            Contract {
                department: Some("Sales".into()),
                end_date: Some(d("2026-03-01")),
                ..Contract::default()
            },
            Contract {
                department: Some("ICT".into()),
                ..Contract::default()
            },
        ];
        p.primary = Some(1);
        p
    }

    fn test(subject: Subject, op: Op) -> Condition {
        Condition::Test(Test { subject, op })
    }

    #[test]
    fn primary_and_any_contract_tests_differ() {
        let p = person();
        let today = d("2026-01-01");
        let primary = Subject::Person(PersonPath::parse("PrimaryContract.Department").unwrap());
        assert!(!test(primary.clone(), Op::Equals("sales".into())).matches(&p, today));
        assert!(test(primary, Op::Equals("ict".into())).matches(&p, today));
        let any = Subject::AnyContract(ContractField::Department);
        assert!(test(any, Op::Equals("SALES".into())).matches(&p, today));
    }

    #[test]
    fn any_contract_tests_read_a_part_of_a_contract_object() {
        let mut p = person();
        p.contracts[0].department = Some(crate::model::Unit {
            external_id: Some("S-01".into()),
            code: None,
            name: Some("Sales".into()),
        });
        let today = d("2026-01-01");
        let id = Subject::AnyContractPart(ContractField::Department, UnitPart::ExternalId);
        assert!(test(id.clone(), Op::Equals("s-01".into())).matches(&p, today));
        assert!(!test(id, Op::Equals("Sales".into())).matches(&p, today));
        let code = Subject::AnyContractPart(ContractField::Department, UnitPart::Code);
        assert!(test(code, Op::Missing).matches(&p, today));
    }

    #[test]
    fn dates_relative_to_today() {
        let p = person();
        let end = Subject::AnyContract(ContractField::EndDate);
        assert!(test(end.clone(), Op::BeforeDays(90)).matches(&p, d("2026-01-01")));
        assert!(!test(end, Op::BeforeDays(30)).matches(&p, d("2026-01-01")));
    }

    #[test]
    fn boolean_combinators() {
        let p = person();
        let today = d("2026-01-01");
        let dept = || Subject::Person(PersonPath::parse("PrimaryContract.Department").unwrap());
        let yes = test(dept(), Op::In(vec!["HR".into(), "ICT".into()]));
        let no = test(dept(), Op::StartsWith("Fin".into()));
        assert!(Condition::Any(vec![no.clone(), yes.clone()]).matches(&p, today));
        assert!(!Condition::All(vec![no.clone(), yes.clone()]).matches(&p, today));
        assert!(Condition::Not(Box::new(no)).matches(&p, today));
        let title = Subject::Person(PersonPath::parse("PrimaryContract.Title").unwrap());
        assert!(test(title.clone(), Op::Missing).matches(&p, today));
        assert!(!test(title, Op::Exists).matches(&p, today));
    }
}
