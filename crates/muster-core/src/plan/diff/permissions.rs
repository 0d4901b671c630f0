//! Phase 3: permissions. A Grant for each group a rule grants that the account is not in
//! (any membership satisfies it), a Revoke for each managed group no rule grants any more,
//! a member listed more than once put back once; groups matched by name ignoring case and
//! surrounding spaces. One group per period is [`periods`](super::periods)' part.

use super::super::fast::FastMap;
use super::{group_key, Differ, Pending};
use crate::connector::{ObservedAccount, ObservedGroup};
use crate::evaluate::{Evaluation, ManagedGroups};
use crate::model::{AccountRef, ExternalId, GroupRef};
use crate::plan::{Action, ActionId, ActionKind, PermissionTarget};
use std::collections::HashSet;

/// The target's groups by name and by member, with what the plan must warn about them.
pub(super) struct GroupIndex<'a> {
    pub by_name: FastMap<String, Vec<&'a ObservedGroup>>,
    pub memberships: FastMap<&'a AccountRef, Vec<&'a ObservedGroup>>,
    pub warnings: Vec<String>,
}

impl<'a> GroupIndex<'a> {
    pub(super) fn new(groups: &'a [ObservedGroup], managed: &ManagedGroups) -> Self {
        let mut index = Self {
            by_name: FastMap::default(),
            memberships: FastMap::default(),
            warnings: Vec::new(),
        };
        for g in groups {
            let same_name = index.by_name.entry(group_key(&g.name)).or_default();
            same_name.push(g);
            if same_name.len() == 2 && managed.contains(&g.name) {
                index.warnings.push(format!(
                    "several groups are named `{}`; nobody is granted it until one remains",
                    g.name
                ));
            }
            for m in &g.members {
                index.memberships.entry(m).or_default().push(g);
            }
            for (m, times) in &g.duplicates {
                index.warnings.push(format!(
                    "group `{}` lists account {m} {times} times (a membership write applied more than once)",
                    g.name
                ));
            }
        }
        index
    }
}

impl<'a> Differ<'a> {
    /// Grants and revokes that bring an existing account's memberships to the evaluated
    /// permissions; `after` are the actions they wait for (a Correlate).
    pub(super) fn permissions(
        &mut self,
        e: &Evaluation,
        account: &ObservedAccount,
        after: Vec<ActionId>,
    ) {
        let current = self.current_groups(&account.reference);
        let wanted: HashSet<String> = e.permissions.iter().map(|p| group_key(p)).collect();
        // A correlated account's memberships are unknown where the target cannot show them.
        let unseen = if !after.is_empty() && !self.input.capabilities.membership_visible {
            " (existing memberships not visible in this target)"
        } else {
            ""
        };
        // Any membership satisfies a grant; only managed ones are candidates for revokes.
        let member_of: Vec<&ObservedGroup> = self
            .memberships
            .get(&account.reference)
            .cloned()
            .unwrap_or_default();
        for name in &e.permissions {
            let held: Vec<&ObservedGroup> = member_of
                .iter()
                .copied()
                .filter(|g| group_key(&g.name) == group_key(name))
                .collect();
            let previous = self.previous_in_period(&member_of, name, &wanted);
            let granted = if held.is_empty() {
                let note = format!("{unseen}{}", self.kept_note(&previous));
                let reference = Some(account.reference.clone());
                self.grant(&e.person, reference, name, after.clone(), &note)
            } else {
                None
            };
            for g in held {
                if let Some(&times) = g.duplicates.get(&account.reference) {
                    self.relist_once(&e.person, &account.reference, g, times, after.clone());
                }
            }
            self.revoke_previous(&e.person, &account.reference, &previous, granted, &after);
        }
        for g in current {
            if !wanted.contains(&group_key(&g.name)) {
                self.push(Action {
                    kind: ActionKind::Revoke,
                    account: Some(account.reference.clone()),
                    depends_on: after.clone(),
                    permission: Some(PermissionTarget {
                        name: g.name.clone(),
                        group: Some(g.reference.clone()),
                    }),
                    reason: "no rule grants this permission any more".into(),
                    ..self.blank(&e.person)
                });
            }
        }
    }

    /// A Grant of the group named `name`; `None` when the grant is a request still awaiting
    /// approval (a warning says so).
    pub(super) fn grant(
        &mut self,
        person: &ExternalId,
        account: Option<AccountRef>,
        name: &str,
        after: Vec<ActionId>,
        note: &str,
    ) -> Option<ActionId> {
        let found = self
            .groups_by_name
            .get(&group_key(name))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let group = match found {
            [one] => Some(one.reference.clone()),
            _ => None,
        };
        if let (Some(account), Some(group)) = (&account, &group) {
            match self.input.pending.get(&(account.clone(), group.clone())) {
                Some(Pending::Waiting { since }) => {
                    let since = since.format("%Y-%m-%d");
                    self.plan.warnings.push(format!(
                        "{person}: `{name}` was requested on {since} and is awaiting approval; not requested again yet"
                    ));
                    return None;
                }
                Some(Pending::Expired { since }) => {
                    let since = since.format("%Y-%m-%d");
                    let again = format!(
                        "granted by a business rule; requested on {since} and still not granted after the waiting time, so requested again{note}"
                    );
                    return Some(self.push_grant(
                        person,
                        Some(account.clone()),
                        name,
                        Some(group.clone()),
                        after,
                        again,
                    ));
                }
                None => {}
            }
        }
        let reason = match found.len() {
            1 => format!("granted by a business rule{note}"),
            0 if self.input.capabilities.may_create_group(name) => format!(
                "granted by a business rule; group `{name}` does not exist yet and is created first{note}"
            ),
            0 => format!("granted by a business rule, but the target has no group named `{name}`"),
            n => format!(
                "granted by a business rule, but {n} groups in the target are named `{name}`; nobody is granted it until one remains"
            ),
        };
        Some(self.push_grant(person, account, name, group, after, reason))
    }

    fn push_grant(
        &mut self,
        person: &ExternalId,
        account: Option<AccountRef>,
        name: &str,
        group: Option<GroupRef>,
        after: Vec<ActionId>,
        reason: String,
    ) -> ActionId {
        self.push(Action {
            kind: ActionKind::Grant,
            account,
            depends_on: after,
            permission: Some(PermissionTarget {
                name: name.to_owned(),
                group,
            }),
            reason,
            ..self.blank(person)
        })
    }

    /// A member the group lists `times` times although a rule grants it once: a Revoke takes
    /// every entry away (a remove by value filter matches them all), then a Grant that depends
    /// on it adds the member back once. Should the Revoke fail, the Grant is skipped and the
    /// member keeps access.
    fn relist_once(
        &mut self,
        person: &ExternalId,
        account: &AccountRef,
        g: &ObservedGroup,
        times: usize,
        after: Vec<ActionId>,
    ) {
        let permission = PermissionTarget {
            name: g.name.clone(),
            group: Some(g.reference.clone()),
        };
        let revoke = self.push(Action {
            kind: ActionKind::Revoke,
            account: Some(account.clone()),
            depends_on: after.clone(),
            permission: Some(permission.clone()),
            reason: format!(
                "listed {times} times in `{}`: every entry is removed, then the member is added back once",
                g.name
            ),
            ..self.blank(person)
        });
        let mut depends_on = after;
        depends_on.push(revoke);
        self.push(Action {
            kind: ActionKind::Grant,
            account: Some(account.clone()),
            depends_on,
            permission: Some(permission),
            reason: format!(
                "granted by a business rule; added back once after {times} entries were removed"
            ),
            ..self.blank(person)
        });
    }

    /// Managed groups the account is a member of.
    pub(super) fn current_groups(&self, account: &AccountRef) -> Vec<&'a ObservedGroup> {
        let mut groups: Vec<&ObservedGroup> = self
            .memberships
            .get(account)
            .map(|gs| {
                gs.iter()
                    .copied()
                    .filter(|g| self.input.managed.contains(&g.name))
                    .collect()
            })
            .unwrap_or_default();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        groups
    }
}
