use super::*;
use chrono::TimeZone;

fn account(id: &str, enabled: bool) -> ObservedAccount {
    ObservedAccount {
        reference: id.into(),
        enabled,
        attributes: Default::default(),
    }
}

fn orphan(id: &str) -> UnmatchedAccount {
    UnmatchedAccount {
        account: id.into(),
        value: Some(format!("{id}@example.org")),
    }
}

fn decided(id: &str, verdict: OrphanVerdict) -> OrphanDecision {
    OrphanDecision {
        target: "scim".into(),
        account: id.into(),
        verdict,
        decided_by: "ops".into(),
        decided_at: chrono::Utc
            .with_ymd_and_hms(2026, 1, 10, 9, 0, 0)
            .single()
            .expect("time"),
    }
}

fn day(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

struct Case {
    accounts: Vec<ObservedAccount>,
    orphans: Vec<UnmatchedAccount>,
    decisions: Vec<OrphanDecision>,
    policy: OrphanPolicy,
    capabilities: Capabilities,
    incomplete: Option<&'static str>,
}

impl Case {
    fn new(policy: OrphanPolicy) -> Self {
        Self {
            accounts: vec![account("a", true), account("b", false), account("c", true)],
            orphans: vec![orphan("a"), orphan("b"), orphan("c")],
            decisions: Vec::new(),
            policy,
            capabilities: Capabilities::default(),
            incomplete: None,
        }
    }

    fn plan(&self, today: &str) -> OrphanPlan {
        plan_orphans(&OrphanInput {
            target: &"scim".into(),
            accounts: &self.accounts,
            orphans: &self.orphans,
            decisions: &self.decisions,
            policy: self.policy,
            capabilities: &self.capabilities,
            correlation_field: "userName",
            source_incomplete: self.incomplete,
            today: day(today),
        })
    }
}

fn actions(p: &OrphanPlan) -> Vec<(String, ActionKind)> {
    p.plan
        .actions
        .iter()
        .map(|a| (a.account.clone().expect("account").to_string(), a.kind))
        .collect()
}

#[test]
fn the_policy_decides_for_orphans_without_a_decision() {
    assert!(Case::new(OrphanPolicy::Report)
        .plan("2026-02-01")
        .plan
        .is_empty());
    let p = Case::new(OrphanPolicy::Disable).plan("2026-02-01");
    assert_eq!(
        actions(&p),
        [
            ("a".to_owned(), ActionKind::Disable),
            ("c".to_owned(), ActionKind::Disable)
        ]
    );
    assert!(
        p.rows[1]
            .reason
            .contains("nothing to disable: already disabled"),
        "{}",
        p.rows[1].reason
    );
    let a = &p.plan.actions[0];
    assert_eq!(a.person, orphan_person(&"a".into()));
    assert!(is_orphan_person(&a.person));
    assert!(a
        .reason
        .contains("no person has userName = \"a@example.org\""));
    assert!(a.reason.contains("policy disable"), "{}", a.reason);
    assert_eq!(p.plan.accounts_observed, 3);
}

#[test]
fn decisions_override_the_policy_and_an_exclusion_ends_on_its_day() {
    let mut case = Case::new(OrphanPolicy::Delete);
    case.decisions = vec![
        decided("a", OrphanVerdict::ExcludedUntil(day("2026-03-01"))),
        decided("b", OrphanVerdict::Resolved),
        decided("c", OrphanVerdict::Disable),
    ];
    let p = case.plan("2026-02-28");
    assert_eq!(actions(&p), [("c".to_owned(), ActionKind::Disable)]);
    assert!(p.rows[0]
        .reason
        .contains("excluded until 2026-03-01 (by ops on 2026-01-10)"));
    assert!(p.rows[1].reason.contains("marked resolved"));
    assert!(p.plan.actions[0].reason.contains("decided by ops"));

    let p = case.plan("2026-03-01");
    assert_eq!(
        actions(&p),
        [
            ("a".to_owned(), ActionKind::Delete),
            ("c".to_owned(), ActionKind::Disable)
        ]
    );
    assert!(p.plan.actions[0]
        .reason
        .contains("exclusion ended on 2026-03-01; policy delete"));
}

#[test]
fn nothing_is_disabled_or_deleted_against_an_incomplete_source() {
    let mut case = Case::new(OrphanPolicy::Delete);
    case.decisions = vec![decided("c", OrphanVerdict::Disable)];
    case.incomplete = Some("2 source record(s) are blocked");
    let p = case.plan("2026-02-01");
    assert!(p.plan.is_empty());
    assert_eq!(p.withheld, 3);
    assert!(p.rows.iter().all(|r| r.action.is_none()));
    assert!(p.rows[2]
        .reason
        .contains("disable withheld: 2 source record(s) are blocked"));
}

#[test]
fn what_the_target_cannot_or_need_not_do_is_not_planned() {
    let mut case = Case::new(OrphanPolicy::Disable);
    case.capabilities.can_disable = false;
    let p = case.plan("2026-02-01");
    assert!(p.plan.is_empty());
    assert!(p.rows[0].reason.contains("the target has no enabled flag"));
    assert_eq!(p.withheld, 0);

    // Where delete means disable, a disabled orphan has nothing left to delete.
    let mut case = Case::new(OrphanPolicy::Delete);
    case.capabilities.delete = DeleteMeaning::Disable;
    assert_eq!(actions(&case.plan("2026-02-01")).len(), 2);
    case.capabilities.delete = DeleteMeaning::Remove;
    assert_eq!(actions(&case.plan("2026-02-01")).len(), 3);
}

#[test]
fn the_policy_reads_back_from_its_word_and_nothing_else() {
    for p in [
        OrphanPolicy::Report,
        OrphanPolicy::Disable,
        OrphanPolicy::Delete,
    ] {
        assert_eq!(p.as_str().parse::<OrphanPolicy>(), Ok(p));
    }
    assert_eq!(
        "remove".parse::<OrphanPolicy>().unwrap_err().to_string(),
        "unknown orphan policy `remove`: expected report, disable or delete"
    );
}
