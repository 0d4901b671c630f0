//! Groups of [`super::HelloIdConnector`] (helloid.md §6 "Static groups", "Department
//! groups"): the full read (`/groups`, then `/groups/{guid}` per group for its `users`), the
//! look-up by name (the list alone, with products), one
//! POST or DELETE per membership change, checked by a re-read of the group when it fails, and
//! `EnsureGroup` for department groups that may be created.

use super::client::{Failure, Reply};
use super::connector::{segment, Found, Inner};
use super::products::is_product_name;
use super::wire::{self, GROUP_GUID};
use crate::common::TargetErrors as _;
use crate::http::{Method, Refused as _};
use muster_core::connector::{groups_named, ConnectorError, ObservedGroup, Outcome, ReadScope};
use muster_core::{AccountRef, GroupRef};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::task::JoinSet;
use tracing::{debug, info, instrument};

fn group_key(v: &Value) -> Option<String> {
    wire::str_field(v, GROUP_GUID).map(str::to_ascii_lowercase)
}

/// `groupGuid` and `name` of a listed group.
fn id_and_name(group: &Value) -> Result<(String, String), String> {
    let guid = wire::str_field(group, GROUP_GUID).ok_or("a group without `groupGuid`")?;
    let name = group
        .as_object()
        .and_then(|o| wire::field(o, "name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok((guid.to_owned(), name.to_owned()))
}

impl Inner {
    /// Every group as listed (without members).
    async fn list_groups(&self) -> Result<Vec<(String, String)>, ConnectorError> {
        let take = super::connector::PAGE_SIZE;
        let groups = self.client.list("/groups", group_key, take).await?;
        groups
            .iter()
            .map(|g| id_and_name(g).map_err(|e| self.protocol(format!("GET /groups: {e}"))))
            .collect()
    }

    /// The groups and products named one of `names`, without members (see
    /// [`Connector::lookup_groups`]): `/groups` as listed, with no `/groups/{guid}` per group,
    /// and `/products` only when a name is a product's. HelloID filters neither list.
    ///
    /// [`Connector::lookup_groups`]: muster_core::connector::Connector::lookup_groups
    pub(super) async fn lookup_groups(
        &self,
        names: &[String],
    ) -> Result<Vec<ObservedGroup>, ConnectorError> {
        let products = names.iter().any(|n| is_product_name(n));
        let groups = names.iter().any(|n| !is_product_name(n));
        let mut listed = Vec::new();
        if groups {
            let found = self.list_groups().await?;
            listed.extend(
                found
                    .into_iter()
                    .map(|(guid, name)| (GroupRef::new(guid), name)),
            );
        }
        if products {
            listed.extend(self.list_products().await?);
        }
        Ok(groups_named(listed, names))
    }

    /// Every group, with its members where `scope` wants them (helloid.md §6: `/groups/{guid}`
    /// for each group in Muster's scope; one request per group is what makes this read dear).
    /// The detail reads run side by side; the shared HTTP layer bounds how many are in flight
    /// and how fast they go. A group deleted between the list and its detail is left out.
    pub(super) async fn read_groups(
        self: Arc<Self>,
        scope: &ReadScope,
    ) -> Result<Vec<ObservedGroup>, ConnectorError> {
        let listed = self.list_groups().await?;
        let mut reads = JoinSet::new();
        let mut groups = Vec::with_capacity(listed.len());
        for (index, (guid, name)) in listed.into_iter().enumerate() {
            if !scope.wants_members(&name) {
                groups.push((
                    index,
                    ObservedGroup {
                        reference: GroupRef::new(guid),
                        name,
                        members: BTreeSet::new(),
                        duplicates: Default::default(),
                    },
                ));
                continue;
            }
            let inner = self.clone();
            reads.spawn(async move {
                let found = inner.group_members(&guid).await;
                (index, guid, name, found)
            });
        }
        while let Some(joined) = reads.join_next().await {
            let (index, guid, name, found) =
                joined.map_err(|e| ConnectorError::IncompleteRead {
                    target: self.target.clone(),
                    detail: format!("reading a group's members: {e}"),
                })?;
            match found? {
                Found::Yes(members) => groups.push((
                    index,
                    ObservedGroup {
                        reference: GroupRef::new(guid),
                        name,
                        members,
                        duplicates: Default::default(),
                    },
                )),
                Found::Gone => debug!(group = %guid, "Group deleted during the read; left out."),
            }
        }
        groups.sort_by_key(|(index, _)| *index);
        Ok(groups.into_iter().map(|(_, g)| g).collect())
    }

    /// `GET /groups/{guid}`: the member GUIDs, or gone on a 404.
    async fn group_members(
        &self,
        guid: &str,
    ) -> Result<Found<BTreeSet<AccountRef>>, ConnectorError> {
        let url = format!("/groups/{}", segment(guid));
        match self.client.call(Method::GET, &url, None).await {
            Ok(Reply { body: Some(g), .. }) => {
                let members = wire::group_members(&g)
                    .map_err(|e| self.protocol(format!("GET {url}: {e}")))?;
                Ok(Found::Yes(
                    members.into_iter().map(AccountRef::new).collect(),
                ))
            }
            Ok(_) => Err(self.protocol(format!("GET {url}: empty answer"))),
            Err(Failure::Refused(r)) if r.status == 404 => Ok(Found::Gone),
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    /// Grant (`POST /users/{guid}/groups`) or revoke (`DELETE /users/{guid}/groups/{group}`)
    /// one membership. When that fails, the group is read again: already as desired means
    /// done (a revoke of a membership that is not there: already absent).
    #[instrument(skip_all, fields(target = %self.target, account = %account, group = %group, grant))]
    pub(super) async fn change_membership(
        &self,
        account: &AccountRef,
        group: &GroupRef,
        grant: bool,
    ) -> Result<Outcome, ConnectorError> {
        let user = segment(account.as_str());
        let sent = if grant {
            let body = json!({ "groupGuid": group.as_str() });
            let url = format!("/users/{user}/groups");
            self.client.call(Method::POST, &url, Some(&body)).await
        } else {
            let url = format!("/users/{user}/groups/{}", segment(group.as_str()));
            self.client.call(Method::DELETE, &url, None).await
        };
        let failure = match sent {
            Ok(_) => return Ok(Outcome::Done),
            // Nothing to check: the credentials were refused, or the request was throttled
            // (and so not applied).
            Err(Failure::Error(e))
                if e.stops_target() || matches!(e, ConnectorError::RateLimited { .. }) =>
            {
                return Err(e)
            }
            Err(f) => f,
        };
        debug!("Membership change failed; reading the group to see where it stands.");
        let members = match self.group_members(group.as_str()).await {
            Ok(Found::Yes(members)) => members,
            Ok(Found::Gone) => return Err(self.group_gone(group)),
            // The check failed too: the first answer is the one to report.
            Err(e) => {
                debug!(error = %e, "Re-reading the group failed.");
                return Err(self.membership_error(failure, account, grant));
            }
        };
        let member = members
            .iter()
            .any(|m| m.as_str().eq_ignore_ascii_case(account.as_str()));
        match (grant, member) {
            (true, true) => Ok(Outcome::Done),
            (false, false) => Ok(Outcome::AlreadyAbsent),
            _ => Err(self.membership_error(failure, account, grant)),
        }
    }

    /// The error of a membership change the re-read did not settle: a missing user is gone
    /// for a grant and already absent for a revoke (which the re-read has settled already).
    fn membership_error(
        &self,
        failure: Failure,
        account: &AccountRef,
        grant: bool,
    ) -> ConnectorError {
        match failure {
            Failure::Refused(r) if grant && r.says_user_not_found() => self.account_gone(account),
            f => f.into_error(&self.target),
        }
    }

    /// The group named `name` (ignoring case), created enabled when there is none. Two or more
    /// groups of that name are an error naming them: a grant to either could be the wrong
    /// one. A create whose outcome is unknown is checked by reading the groups again.
    #[instrument(skip_all, fields(target = %self.target))]
    pub(super) async fn ensure_group(&self, name: &str) -> Result<Outcome, ConnectorError> {
        let _one_at_a_time = self.ensure_lock.lock().await;
        match self.groups_named(name).await?.as_slice() {
            [one] => {
                return Ok(Outcome::GroupReady {
                    group: GroupRef::new(one.clone()),
                    created: false,
                })
            }
            [] => {}
            several => return Err(self.ambiguous(name, several)),
        }
        let body = json!({ "name": name, "isEnabled": true });
        let created = match self.client.call(Method::POST, "/groups", Some(&body)).await {
            Ok(Reply { body: Some(g), .. }) => wire::str_field(&g, GROUP_GUID).map(str::to_owned),
            Ok(_) => None,
            Err(Failure::Error(e))
                if e.is_retryable() || matches!(e, ConnectorError::Protocol { .. }) =>
            {
                debug!(error = %e, "Group create uncertain; reading the groups again.");
                None
            }
            Err(Failure::Refused(r)) => return Err(r.rejected(&self.target)),
            Err(Failure::Error(e)) => return Err(e),
        };
        let guid = match created {
            Some(guid) => guid,
            // No id in the answer, or no answer: the list tells whether the group exists now.
            None => match self.groups_named(name).await?.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(ConnectorError::Uncertain {
                        target: self.target.clone(),
                        method: "POST".to_owned(),
                        path: "/groups".to_owned(),
                        detail: format!(
                            "creating group `{name}`: no usable answer, and it is not listed"
                        ),
                    })
                }
                several => return Err(self.ambiguous(name, several)),
            },
        };
        info!(group = %guid, "Created a HelloID group.");
        Ok(Outcome::GroupReady {
            group: GroupRef::new(guid),
            created: true,
        })
    }

    /// GUIDs of the groups whose name equals `name`, ignoring case.
    async fn groups_named(&self, name: &str) -> Result<Vec<String>, ConnectorError> {
        let wanted = name.to_lowercase();
        Ok(self
            .list_groups()
            .await?
            .into_iter()
            .filter(|(_, n)| n.to_lowercase() == wanted)
            .map(|(guid, _)| guid)
            .collect())
    }

    /// Several groups answer to one name: an administrator has to decide which one is meant.
    fn ambiguous(&self, name: &str, guids: &[String]) -> ConnectorError {
        ConnectorError::Config {
            target: self.target.clone(),
            detail: format!(
                "{} groups are named `{name}` (ignoring case): {}; rename or remove all but one",
                guids.len(),
                guids.join(", ")
            ),
        }
    }
}
