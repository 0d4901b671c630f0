//! Functional accounts (Zivver's groups): the full read, the look-up by name, and membership
//! writes. In `replace` mode each group has a lane (see [`super::lanes`]): a worker task,
//! started by the first caller, takes every queued change, reads `Groups/{id}` fresh, applies
//! them, writes once with PatchOp `replace` (or remove-all), and answers each caller with its
//! own outcome. In `add-remove` mode each change is one PATCH.

use super::client::{Failure, Refusal, Reply};
use super::config::MembershipWrite;
use super::connector::{segment, Inner};
use super::lanes::{apply_batch, Change, Queued, Write};
use super::wire;
use crate::common::TargetErrors as _;
use crate::http::Refused as _;
use crate::http::{self, Method};
use muster_core::connector::{groups_named, ConnectorError, ObservedGroup, Outcome};
use muster_core::{AccountRef, GroupRef};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::oneshot;
use tracing::{debug, instrument};

/// How one lane step ended.
enum StepEnd {
    /// Written (or nothing to write): one outcome per change.
    Settled(Vec<Outcome>),
    /// Every change of the step fails with this.
    Fail(ConnectorError),
    /// Zivver refused the list because this id is no account (any more).
    MemberGone(String, Refusal),
    /// A validation refusal that names no change.
    Refused(Refusal),
    /// The PATCH may or may not have been applied.
    Uncertain(ConnectorError),
}

/// Ends the lane if its worker stops without finishing (a panic, a dropped runtime), so that
/// waiting callers get an error rather than wait forever.
struct LaneGuard<'a> {
    inner: &'a Inner,
    group: &'a GroupRef,
    finished: bool,
}

impl Drop for LaneGuard<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.inner.lanes.abandon(self.group);
        }
    }
}

impl Inner {
    /// Every group with its members. A group listed without `members` is read on its own;
    /// one that is gone by then (400) was deleted meanwhile and is left out.
    pub(super) async fn read_groups(&self) -> Result<Vec<ObservedGroup>, ConnectorError> {
        let listed = self
            .client
            .list("Groups", None, super::connector::PAGE_SIZE)
            .await?;
        let mut groups = Vec::with_capacity(listed.len());
        for g in &listed {
            let (id, name) = self.id_and_name(g)?;
            let members = match wire::member_ids(g) {
                Some(ids) => ids
                    .map_err(|e| self.protocol(format!("group {id}: {e}")))?
                    .into_iter()
                    .map(AccountRef::new)
                    .collect(),
                None => {
                    let url = format!("/Groups/{}", segment(id));
                    match self.client.call(Method::GET, &url, None).await {
                        Ok(Reply {
                            body: Some(one), ..
                        }) => match wire::member_ids(&one) {
                            None => Default::default(),
                            Some(ids) => ids
                                .map_err(|e| self.protocol(format!("group {id}: {e}")))?
                                .into_iter()
                                .map(AccountRef::new)
                                .collect(),
                        },
                        Ok(_) => {
                            return Err(self.protocol(format!("GET {url}: empty answer")));
                        }
                        Err(Failure::Refused(r)) if r.status == 400 => {
                            debug!(group = %id, "Group gone while reading; left out.");
                            continue;
                        }
                        Err(f) => return Err(f.into_error(&self.target)),
                    }
                }
            };
            groups.push(ObservedGroup {
                reference: GroupRef::new(id),
                name: name.to_owned(),
                members,
                duplicates: Default::default(),
            });
        }
        Ok(groups)
    }

    /// The groups named one of `names`, without members (see [`Connector::lookup_groups`]),
    /// from one list of `Groups` matched here: Zivver is known to answer no filter but
    /// `userName eq` (zivver.md §3). With functional accounts as accounts there are none.
    ///
    /// [`Connector::lookup_groups`]: muster_core::connector::Connector::lookup_groups
    pub(super) async fn lookup_groups(
        &self,
        names: &[String],
    ) -> Result<Vec<ObservedGroup>, ConnectorError> {
        if self.accounts_mode() {
            return Ok(Vec::new());
        }
        let listed = self
            .client
            .list("Groups", None, super::connector::PAGE_SIZE)
            .await?;
        let listed = listed
            .iter()
            .map(|g| {
                self.id_and_name(g)
                    .map(|(id, name)| (GroupRef::new(id), name.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(groups_named(listed, names))
    }

    /// A listed group's `id` and `displayName`.
    fn id_and_name<'g>(&self, g: &'g Value) -> Result<(&'g str, &'g str), ConnectorError> {
        let id =
            wire::resource_id(g).ok_or_else(|| self.protocol("a group without `id`".to_owned()))?;
        let name = g
            .get("displayName")
            .and_then(Value::as_str)
            .ok_or_else(|| self.protocol(format!("group {id} has no `displayName`")))?;
        Ok((id, name))
    }

    /// A Grant (`grant`) or Revoke, by the configured membership mode.
    pub(super) async fn change_membership(
        self: &Arc<Self>,
        account: &AccountRef,
        group: &GroupRef,
        grant: bool,
    ) -> Result<Outcome, ConnectorError> {
        match self.membership {
            MembershipWrite::Replace => self.through_lane(account, group, grant).await,
            MembershipWrite::AddRemove => self.patch_one(account, group, grant).await,
        }
    }

    /// Queues the change in the group's lane, starts the lane's worker when it has none, and
    /// waits for this change's outcome.
    async fn through_lane(
        self: &Arc<Self>,
        account: &AccountRef,
        group: &GroupRef,
        grant: bool,
    ) -> Result<Outcome, ConnectorError> {
        let (reply, outcome) = oneshot::channel();
        let change = Change {
            account: account.clone(),
            grant,
        };
        if self.lanes.enqueue(group, Queued { change, reply }) {
            // A task rather than this caller's future, so a caller that is cancelled cannot
            // strand the changes others queued behind it.
            let inner = Arc::clone(self);
            let group = group.clone();
            tokio::spawn(async move { inner.run_lane(&group).await });
        }
        outcome.await.map_err(|_| ConnectorError::Uncertain {
            target: self.target.clone(),
            method: "PATCH".to_owned(),
            path: format!("/Groups/{group}"),
            detail: "the group's membership lane stopped before answering".to_owned(),
        })?
    }

    /// The lane's worker: batches until the queue is empty.
    #[instrument(skip_all, fields(target = %self.target, group = %group))]
    async fn run_lane(&self, group: &GroupRef) {
        let mut guard = LaneGuard {
            inner: self,
            group,
            finished: false,
        };
        loop {
            let batch = self.lanes.take(group);
            if batch.is_empty() {
                guard.finished = true;
                break;
            }
            let changes: Vec<Change> = batch.iter().map(|q| q.change.clone()).collect();
            debug!(changes = changes.len(), "Lane step.");
            let results = self.settle(group, &changes, true).await;
            for (queued, result) in batch.into_iter().zip(results) {
                // A caller that stopped waiting needs no answer.
                let _ = queued.reply.send(result);
            }
        }
    }

    /// Settles a batch: one outcome per change, in order. A grant of an account Zivver no
    /// longer knows fails alone (the rest is written without it); a validation refusal that
    /// names no change is narrowed down by sending each change alone (`may_isolate`); a PATCH
    /// whose outcome is unknown restarts the step once, at its GET.
    async fn settle(
        &self,
        group: &GroupRef,
        changes: &[Change],
        may_isolate: bool,
    ) -> Vec<Result<Outcome, ConnectorError>> {
        let n = changes.len();
        let mut results: Vec<Option<Result<Outcome, ConnectorError>>> =
            (0..n).map(|_| None).collect();
        let mut pending: Vec<usize> = (0..n).collect();
        let mut restarted = false;
        // Each round settles at least one change or uses the one restart.
        for _round in 0..n + 2 {
            if pending.is_empty() {
                break;
            }
            let subset: Vec<Change> = pending.iter().map(|&i| changes[i].clone()).collect();
            match self.lane_step(group, &subset).await {
                StepEnd::Settled(outcomes) => {
                    for (&i, o) in pending.iter().zip(outcomes) {
                        results[i] = Some(Ok(o));
                    }
                    pending.clear();
                }
                StepEnd::Fail(e) => {
                    for &i in &pending {
                        results[i] = Some(Err(clone_error(&e)));
                    }
                    pending.clear();
                }
                StepEnd::MemberGone(id, refusal) => {
                    let (gone, rest): (Vec<usize>, Vec<usize>) = pending.iter().partition(|&&i| {
                        changes[i].grant && changes[i].account.as_str().eq_ignore_ascii_case(&id)
                    });
                    if gone.is_empty() {
                        // A member already on the list that Zivver no longer knows: nothing
                        // Muster can leave out.
                        let e = refusal.rejected(&self.target);
                        for &i in &pending {
                            results[i] = Some(Err(clone_error(&e)));
                        }
                        pending.clear();
                    } else {
                        for &i in &gone {
                            results[i] = Some(Err(self.account_gone(&changes[i].account)));
                        }
                        pending = rest;
                    }
                }
                StepEnd::Refused(refusal) if may_isolate && pending.len() > 1 => {
                    debug!(detail = %refusal.detail, "Batch refused; sending its changes one by one.");
                    for &i in &pending {
                        let one = std::slice::from_ref(&changes[i]);
                        let mut alone = Box::pin(self.settle(group, one, false)).await;
                        results[i] = alone.pop();
                    }
                    pending.clear();
                }
                StepEnd::Refused(refusal) => {
                    let e = refusal.rejected(&self.target);
                    for &i in &pending {
                        results[i] = Some(Err(clone_error(&e)));
                    }
                    pending.clear();
                }
                StepEnd::Uncertain(e) if !restarted => {
                    debug!(error = %e, "PATCH outcome unknown; restarting the step at its GET.");
                    restarted = true;
                }
                StepEnd::Uncertain(e) => {
                    for &i in &pending {
                        results[i] = Some(Err(clone_error(&e)));
                    }
                    pending.clear();
                }
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(self.protocol(format!(
                        "group {group}: no outcome after {} lane steps",
                        n + 2
                    )))
                })
            })
            .collect()
    }

    /// One lane step: fresh `GET Groups/{id}`, the batch applied, at most one PATCH.
    async fn lane_step(&self, group: &GroupRef, changes: &[Change]) -> StepEnd {
        let url = format!("/Groups/{}", segment(group.as_str()));
        let fresh = match self.client.call(Method::GET, &url, None).await {
            Ok(Reply { body: Some(g), .. }) => g,
            Ok(_) => return StepEnd::Fail(self.protocol(format!("GET {url}: empty answer"))),
            // 400, not 404, for an unknown id (zivver.md §4.1): no PATCH is sent.
            Err(Failure::Refused(r)) if r.status == 400 => {
                return StepEnd::Fail(self.group_gone(group))
            }
            Err(f) => return StepEnd::Fail(f.into_error(&self.target)),
        };
        let current = match wire::member_ids(&fresh) {
            None => Vec::new(),
            Some(Ok(ids)) => ids,
            Some(Err(e)) => return StepEnd::Fail(self.protocol(format!("GET {url}: {e}"))),
        };
        let step = match apply_batch(&current, changes) {
            Ok(step) => step,
            Err(e) => return StepEnd::Fail(self.protocol(format!("group {group}: {e}"))),
        };
        let body = match &step.write {
            Write::Nothing => return StepEnd::Settled(step.outcomes),
            Write::Replace(ids) => wire::replace_members(ids.iter().map(String::as_str)),
            Write::RemoveAll => wire::remove_all_members(),
        };
        match self.client.call(Method::PATCH, &url, Some(&body)).await {
            Ok(_) => StepEnd::Settled(step.outcomes),
            Err(Failure::Refused(r)) if r.status == 400 => match wire::unknown_account(&r.detail) {
                Some(id) if id.eq_ignore_ascii_case(group.as_str()) => {
                    StepEnd::Fail(self.group_gone(group))
                }
                Some(id) => StepEnd::MemberGone(id.to_owned(), r),
                None => StepEnd::Refused(r),
            },
            Err(Failure::Refused(r)) => StepEnd::Fail(r.rejected(&self.target)),
            Err(Failure::Error(e @ ConnectorError::Uncertain { .. })) => StepEnd::Uncertain(e),
            Err(Failure::Error(e)) => StepEnd::Fail(e),
        }
    }

    /// `add-remove` mode: one PATCH `add`, or `remove` filtered on the member's id. The add is
    /// never sent twice blindly (see [`Self::patch_add`]); the remove is safe to repeat.
    #[instrument(skip_all, fields(target = %self.target, group = %group, grant))]
    async fn patch_one(
        &self,
        account: &AccountRef,
        group: &GroupRef,
        grant: bool,
    ) -> Result<Outcome, ConnectorError> {
        let url = format!("/Groups/{}", segment(group.as_str()));
        if grant {
            return self.patch_add(account, group, &url).await;
        }
        let body = wire::remove_member(account.as_str());
        let answer = self.client.call(Method::PATCH, &url, Some(&body)).await;
        self.patch_answer(account, group, grant, answer)
    }

    /// PATCH `add` of the member, at most once per send: when its answer is lost (timeout,
    /// dropped connection, 5xx, garbled 2xx), a fresh `GET Groups/{id}` settles it — listed is
    /// done, not listed is sent again, at most [`http::AT_MOST_ONCE_SENDS`] sends — like the
    /// SCIM connector's add, since a service may apply an add twice.
    async fn patch_add(
        &self,
        account: &AccountRef,
        group: &GroupRef,
        url: &str,
    ) -> Result<Outcome, ConnectorError> {
        let body = wire::add_member(account.as_str());
        for attempt in 1..=http::AT_MOST_ONCE_SENDS {
            let answer = self
                .client
                .call_at_most_once(Method::PATCH, url, Some(&body))
                .await;
            let lost = match answer {
                Err(Failure::Error(e @ ConnectorError::Uncertain { .. })) => e,
                other => return self.patch_answer(account, group, true, other),
            };
            match self.is_listed(account, group, url).await {
                Ok(true) => {
                    debug!(
                        attempt,
                        "Add of a member applied although its answer was lost."
                    );
                    return Ok(Outcome::Done);
                }
                Ok(false) if attempt < http::AT_MOST_ONCE_SENDS => {
                    debug!(
                        attempt,
                        "Add of a member not applied after a lost answer; sending again."
                    );
                }
                Ok(false) => return Err(lost),
                Err(read) => return Err(http::still_uncertain(lost, &read)),
            }
        }
        Err(self.protocol(format!(
            "PATCH {url}: no outcome after {} sends",
            http::AT_MOST_ONCE_SENDS
        )))
    }

    /// Whether a fresh read of the group lists the member.
    async fn is_listed(
        &self,
        account: &AccountRef,
        group: &GroupRef,
        url: &str,
    ) -> Result<bool, ConnectorError> {
        let fresh = match self.client.call(Method::GET, url, None).await {
            Ok(Reply { body: Some(g), .. }) => g,
            Ok(_) => return Err(self.protocol(format!("GET {url}: empty answer"))),
            // 400, not 404, for an unknown id (zivver.md §4.1).
            Err(Failure::Refused(r)) if r.status == 400 => return Err(self.group_gone(group)),
            Err(f) => return Err(f.into_error(&self.target)),
        };
        match wire::member_ids(&fresh) {
            None => Ok(false),
            Some(Ok(ids)) => Ok(ids.contains(&account.as_str())),
            Some(Err(e)) => Err(self.protocol(format!("GET {url}: {e}"))),
        }
    }

    /// What a PATCH answer of `add-remove` mode means for the change.
    fn patch_answer(
        &self,
        account: &AccountRef,
        group: &GroupRef,
        grant: bool,
        answer: Result<Reply, Failure>,
    ) -> Result<Outcome, ConnectorError> {
        match answer {
            Ok(_) => Ok(Outcome::Done),
            Err(Failure::Refused(r)) if r.status == 400 => match wire::unknown_account(&r.detail) {
                Some(id) if id.eq_ignore_ascii_case(group.as_str()) => Err(self.group_gone(group)),
                Some(id) if id.eq_ignore_ascii_case(account.as_str()) => {
                    if grant {
                        Err(self.account_gone(account))
                    } else {
                        Ok(Outcome::AlreadyAbsent)
                    }
                }
                _ => Err(r.rejected(&self.target)),
            },
            Err(f) => Err(f.into_error(&self.target)),
        }
    }
}

/// [`ConnectorError`] is not `Clone`; one lane step can end several actions with one error.
fn clone_error(e: &ConnectorError) -> ConnectorError {
    use ConnectorError as E;
    match e {
        E::RateLimited {
            target,
            retry_after,
        } => E::RateLimited {
            target: target.clone(),
            retry_after: *retry_after,
        },
        E::Rejected {
            target,
            method,
            path,
            status,
            detail,
        } => E::Rejected {
            target: target.clone(),
            method: method.clone(),
            path: path.clone(),
            status: *status,
            detail: detail.clone(),
        },
        E::Conflict { target, detail } => E::Conflict {
            target: target.clone(),
            detail: detail.clone(),
        },
        E::AccountGone { target, account } => E::AccountGone {
            target: target.clone(),
            account: account.clone(),
        },
        E::GroupGone { target, group } => E::GroupGone {
            target: target.clone(),
            group: group.clone(),
        },
        E::Unauthorized {
            target,
            status,
            detail,
        } => E::Unauthorized {
            target: target.clone(),
            status: *status,
            detail: detail.clone(),
        },
        E::Uncertain {
            target,
            method,
            path,
            detail,
        } => E::Uncertain {
            target: target.clone(),
            method: method.clone(),
            path: path.clone(),
            detail: detail.clone(),
        },
        E::Protocol { target, detail } => E::Protocol {
            target: target.clone(),
            detail: detail.clone(),
        },
        E::IncompleteRead { target, detail } => E::IncompleteRead {
            target: target.clone(),
            detail: detail.clone(),
        },
        E::Config { target, detail } => E::Config {
            target: target.clone(),
            detail: detail.clone(),
        },
    }
}
