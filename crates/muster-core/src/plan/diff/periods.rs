//! One group per period ([`Capabilities::one_per_period`](crate::connector::Capabilities)):
//! when a rule grants an account a group, the other groups it holds in that group's period
//! (the last word of the name: Zermelo's school year) are its previous ones. They are revoked
//! after the new Grant, or kept with the reason on that Grant where the target cannot end them.
//! Groups of other periods are never touched.

use super::{group_key, Differ};
use crate::connector::{ObservedGroup, PreviousGroup};
use crate::model::{AccountRef, ExternalId};
use crate::plan::{Action, ActionId, ActionKind, PermissionTarget};
use std::collections::HashSet;

/// The period of a group: the last word of its name, ignoring case (`2024-2025`).
pub(super) fn period(name: &str) -> Option<String> {
    name.split_whitespace().last().map(str::to_lowercase)
}

impl<'a> Differ<'a> {
    /// The groups `member_of` holds in the period of `name`, other than the wanted ones;
    /// empty unless the target has one group per period.
    pub(super) fn previous_in_period(
        &self,
        member_of: &[&'a ObservedGroup],
        name: &str,
        wanted: &HashSet<String>,
    ) -> Vec<&'a ObservedGroup> {
        if self.input.capabilities.one_per_period.is_none() {
            return Vec::new();
        }
        let Some(p) = period(name) else {
            return Vec::new();
        };
        let mut previous: Vec<&ObservedGroup> = member_of
            .iter()
            .copied()
            .filter(|g| !wanted.contains(&group_key(&g.name)))
            .filter(|g| period(&g.name).as_deref() == Some(p.as_str()))
            .collect();
        previous.sort_by(|a, b| a.name.cmp(&b.name));
        previous.dedup_by(|a, b| a.reference == b.reference);
        previous
    }

    /// What a Grant's reason says about `previous` groups the target keeps; empty otherwise.
    pub(super) fn kept_note(&self, previous: &[&ObservedGroup]) -> String {
        let Some(PreviousGroup::Keep { because }) = &self.input.capabilities.one_per_period else {
            return String::new();
        };
        if previous.is_empty() {
            return String::new();
        }
        let names: Vec<String> = previous.iter().map(|g| format!("`{}`", g.name)).collect();
        format!("; the previous one stays: {} ({because})", names.join(", "))
    }

    /// Revokes `previous` where the target ends them: after `granted` when a Grant was
    /// planned (the new group first, so the account is never left without one), otherwise
    /// after `after` (the account's correlate, if any).
    pub(super) fn revoke_previous(
        &mut self,
        person: &ExternalId,
        account: &AccountRef,
        previous: &[&ObservedGroup],
        granted: Option<ActionId>,
        after: &[ActionId],
    ) {
        if self.input.capabilities.one_per_period != Some(PreviousGroup::Revoke) {
            return;
        }
        let depends_on = granted.map_or_else(|| after.to_vec(), |g| vec![g]);
        for g in previous {
            // Managed groups are revoked by `converge` itself; another wanted group of the
            // same period may have revoked this one already (the person's actions are last).
            let already = self
                .plan
                .actions
                .iter()
                .rev()
                .take_while(|a| a.person == *person)
                .any(|a| {
                    a.kind == ActionKind::Revoke
                        && a.permission.as_ref().and_then(|p| p.group.as_ref())
                            == Some(&g.reference)
                });
            if already || self.input.managed.contains(&g.name) {
                continue;
            }
            self.push(Action {
                kind: ActionKind::Revoke,
                account: Some(account.clone()),
                depends_on: depends_on.clone(),
                permission: Some(PermissionTarget {
                    name: g.name.clone(),
                    group: Some(g.reference.clone()),
                }),
                reason: format!(
                    "replaced: one per {} and a business rule grants another",
                    period(&g.name).unwrap_or_default()
                ),
                ..self.blank(person)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::connector::{Capabilities, ObservedAccount, PreviousGroup};
    use crate::evaluate::{evaluate, Lifecycle, TargetPolicy};
    use crate::mapping::Template;
    use crate::model::{Contract, GroupRef, Person, PersonPath};
    use crate::rules::{Condition, ContractSelection, DynamicPermission, Grants, Rule};

    fn policy() -> TargetPolicy {
        TargetPolicy {
            target: "zermelo".into(),
            rules: vec![Rule {
                name: "class".into(),
                targets: None,
                when: Condition::Always,
                grants: Grants {
                    account: true,
                    access: true,
                    permissions: vec![],
                    dynamic: vec![DynamicPermission {
                        template: Template::parse(
                            "{PrimaryContract.Department} / Lyceum 2024-2025",
                        )
                        .unwrap(),
                        contracts: ContractSelection::Primary,
                    }],
                },
            }],
            mappings: vec![],
            lifecycle: Lifecycle {
                create_days_before_start: 0,
                delete_days_after_end: Some(0),
            },
            correlation: Correlation {
                person: PersonPath::parse("ExternalId").unwrap(),
                account_field: "code".into(),
                case_insensitive: false,
            },
        }
    }

    fn group(id: &str, name: &str, members: &[&str]) -> ObservedGroup {
        ObservedGroup {
            reference: GroupRef::new(id),
            name: name.into(),
            members: members.iter().map(|m| AccountRef::new(*m)).collect(),
            duplicates: Default::default(),
        }
    }

    /// Student s1 (account a1) should be in `class`; a1 is in last year's h2a and in the
    /// classes `held` of this year.
    fn plan(class: &str, held: &[&str], previous: Option<PreviousGroup>) -> TargetPlan {
        let policy = policy();
        let mut p = Person::new("s1");
        p.contracts.push(Contract {
            start_date: Some("2024-09-01".parse().unwrap()),
            department: Some(class.into()),
            ..Contract::default()
        });
        p.primary = Some(0);
        let today = "2024-10-01".parse().unwrap();
        let e = vec![evaluate(&p, &policy, today)];
        let this_year = |code: &str, id: &str| {
            let members: &[&str] = if held.contains(&code) { &["a1"] } else { &[] };
            group(id, &format!("{code} / Lyceum 2024-2025"), members)
        };
        let observed = Observed {
            accounts: vec![ObservedAccount {
                reference: AccountRef::new("a1"),
                enabled: true,
                attributes: [("code".to_owned(), Value::from("s1"))].into(),
            }],
            groups: vec![
                group("500", "h2a / Lyceum 2023-2024", &["a1"]),
                this_year("h3a", "501"),
                this_year("h3b", "502"),
            ],
            deleted: Vec::new(),
        };
        let links = vec![StoredLink {
            person: "s1".into(),
            account: "a1".into(),
            state: LinkState::Active,
        }];
        let caps = Capabilities {
            one_per_period: previous,
            ..Capabilities::default()
        };
        let fp = |a: &AccountRef, f: &str, v: &Value| format!("{a}/{f}/{v}");
        diff(&DiffInput {
            target: &policy.target,
            capabilities: &caps,
            evaluations: &e,
            held: &HashSet::new(),
            observed: &observed,
            links: &links,
            fingerprints: &HashMap::new(),
            fingerprint: &fp,
            correlation: &policy.correlation,
            managed: &policy.managed_groups(),
            secret_fields: &BTreeSet::new(),
            departed: &[],
            pending: &Default::default(),
            domains: None,
            leave_alone: None,
            type_fields: &Default::default(),
        })
    }

    fn of(plan: &TargetPlan, kind: ActionKind) -> Vec<&Action> {
        plan.actions.iter().filter(|a| a.kind == kind).collect()
    }

    fn group_of(a: &Action) -> &str {
        a.permission
            .as_ref()
            .unwrap()
            .group
            .as_ref()
            .unwrap()
            .as_str()
    }

    #[test]
    fn a_class_change_revokes_the_previous_class_of_that_year_after_the_new_grant() {
        let plan = plan("h3b", &["h3a"], Some(PreviousGroup::Revoke));
        let grants = of(&plan, ActionKind::Grant);
        let revokes = of(&plan, ActionKind::Revoke);
        assert_eq!(grants.len(), 1);
        assert_eq!(group_of(grants[0]), "502");
        assert_eq!(revokes.len(), 1, "last year's class stays: {revokes:?}");
        assert_eq!(group_of(revokes[0]), "501");
        assert_eq!(revokes[0].depends_on, [grants[0].id]);
    }

    #[test]
    fn two_classes_in_one_year_are_brought_back_to_the_wanted_one() {
        let plan = plan("h3b", &["h3a", "h3b"], Some(PreviousGroup::Revoke));
        assert!(of(&plan, ActionKind::Grant).is_empty());
        let revokes = of(&plan, ActionKind::Revoke);
        assert_eq!(revokes.len(), 1);
        assert_eq!(group_of(revokes[0]), "501");
        assert!(revokes[0].depends_on.is_empty());
    }

    #[test]
    fn a_kept_previous_class_is_named_with_the_reason_on_the_grant() {
        let because = "the API cannot end a placement".to_owned();
        let changed = plan("h3b", &["h3a"], Some(PreviousGroup::Keep { because }));
        assert!(of(&changed, ActionKind::Revoke).is_empty());
        let grants = of(&changed, ActionKind::Grant);
        assert_eq!(grants.len(), 1);
        let reason = &grants[0].reason;
        assert!(
            reason.contains("`h3a / Lyceum 2024-2025`")
                && reason.contains("the API cannot end a placement")
                && !reason.contains("h2a"),
            "{reason}"
        );
        // Nothing to say when nothing is granted.
        let unchanged = plan(
            "h3a",
            &["h3a"],
            Some(PreviousGroup::Keep {
                because: "x".into(),
            }),
        );
        assert!(unchanged.actions.is_empty(), "{:?}", unchanged.actions);
    }

    #[test]
    fn without_the_capability_other_groups_are_neither_revoked_nor_named() {
        let plan = plan("h3b", &["h3a"], None);
        assert!(of(&plan, ActionKind::Revoke).is_empty());
        assert!(!of(&plan, ActionKind::Grant)[0].reason.contains("h3a"));
    }
}
