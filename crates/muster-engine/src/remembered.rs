//! Grants Muster made that a target's own read does not show, folded into what was read before
//! the plan is made: class placements in a target that cannot list them count as memberships,
//! and product requests still awaiting approval are not requested again until they expire.

use chrono::{DateTime, Utc};
use muster_core::connector::{Capabilities, Observed};
use muster_core::plan::Pending;
use muster_core::{AccountRef, GroupRef};
use muster_store::{GrantMade, GrantState};
use std::collections::HashMap;

/// What the remembered grants mean for one plan.
#[derive(Debug, Default)]
pub struct Remembered {
    /// Requests still waiting and younger than the target's time-to-live, with when they were
    /// made: the plan does not request them again.
    pub pending: HashMap<(AccountRef, GroupRef), Pending>,
    /// Requests the target now shows as memberships: done, to be forgotten.
    pub fulfilled: Vec<GrantMade>,
}

/// Folds `grants` into `observed` and sorts requests into pending and fulfilled. Pure.
pub fn fold(
    observed: &mut Observed,
    grants: Vec<GrantMade>,
    capabilities: &Capabilities,
    now: DateTime<Utc>,
) -> Remembered {
    let mut out = Remembered::default();
    let index: HashMap<GroupRef, usize> = observed
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.reference.clone(), i))
        .collect();
    for grant in grants {
        let group = index.get(&grant.group).map(|&i| &mut observed.groups[i]);
        match grant.state {
            GrantState::Granted if !capabilities.membership_visible => {
                if let Some(group) = group {
                    group.members.insert(grant.account.clone());
                }
            }
            // A target that shows memberships is believed over the record.
            GrantState::Granted => {}
            GrantState::Requested => {
                if group.is_some_and(|g| g.members.contains(&grant.account)) {
                    out.fulfilled.push(grant);
                    continue;
                }
                let ttl = capabilities.pending_ttl_days.map(i64::from).unwrap_or(0);
                let since = grant.made_at;
                let pending = if now.signed_duration_since(grant.made_at).num_days() < ttl {
                    Pending::Waiting { since }
                } else {
                    Pending::Expired { since }
                };
                out.pending
                    .insert((grant.account.clone(), grant.group.clone()), pending);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use muster_core::connector::ObservedGroup;
    use muster_core::{ExternalId, TargetName};
    use std::collections::BTreeSet;

    fn grant(account: &str, group: &str, state: GrantState, days_ago: i64) -> GrantMade {
        GrantMade {
            target: TargetName::new("t"),
            account: AccountRef::new(account),
            group: GroupRef::new(group),
            group_name: group.to_owned(),
            person: ExternalId::new(account),
            state,
            made_at: Utc::now() - chrono::Duration::days(days_ago),
        }
    }

    fn observed(members: &[&str]) -> Observed {
        Observed {
            groups: vec![ObservedGroup {
                reference: GroupRef::new("g1"),
                name: "Class".into(),
                members: members
                    .iter()
                    .map(|m| AccountRef::new(*m))
                    .collect::<BTreeSet<_>>(),
                duplicates: Default::default(),
            }],
            ..Observed::default()
        }
    }

    #[test]
    fn granted_placements_count_only_where_memberships_are_invisible() {
        let invisible = Capabilities {
            membership_visible: false,
            ..Capabilities::default()
        };
        let mut o = observed(&[]);
        fold(
            &mut o,
            vec![grant("a", "g1", GrantState::Granted, 3)],
            &invisible,
            Utc::now(),
        );
        assert!(o.groups[0].members.contains(&AccountRef::new("a")));

        let mut o = observed(&[]);
        let grants = vec![grant("a", "g1", GrantState::Granted, 3)];
        fold(&mut o, grants, &Capabilities::default(), Utc::now());
        assert!(o.groups[0].members.is_empty(), "the target's read wins");
    }

    #[test]
    fn requests_wait_until_their_time_to_live_ends() {
        let caps = Capabilities {
            pending_ttl_days: Some(7),
            ..Capabilities::default()
        };
        let mut o = observed(&["done"]);
        let r = fold(
            &mut o,
            vec![
                grant("young", "g1", GrantState::Requested, 2),
                grant("old", "g1", GrantState::Requested, 8),
                grant("done", "g1", GrantState::Requested, 1),
            ],
            &caps,
            Utc::now(),
        );
        let waiting: Vec<&str> = r
            .pending
            .iter()
            .filter(|(_, p)| matches!(p, Pending::Waiting { .. }))
            .map(|((a, _), _)| a.as_str())
            .collect();
        assert_eq!(waiting, ["young"]);
        let old = &r.pending[&(AccountRef::new("old"), GroupRef::new("g1"))];
        assert!(matches!(old, Pending::Expired { .. }), "{old:?}");
        assert_eq!(r.fulfilled.len(), 1);
        assert_eq!(r.fulfilled[0].account.as_str(), "done");
    }
}
