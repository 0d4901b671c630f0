//! Per-group lanes for `membership = "replace"`: Zivver only takes a whole member list
//! (`targets/zivver.md` §4.6), so two writers on one functional account would lose each
//! other's change. Every Grant and Revoke for a group joins that group's queue; one worker per
//! group takes *all* queued changes, reads the list fresh, applies them, writes once, answers
//! every caller, and goes on while more changes are queued. Different groups have different
//! lanes and proceed in parallel.
//!
//! This module holds the queue ([`Lanes`]) and the pure part of a lane step ([`apply_batch`]);
//! the requests are made by [`super::connector`].

use muster_core::connector::{ConnectorError, Outcome};
use muster_core::{AccountRef, GroupRef};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// One queued membership change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub account: AccountRef,
    /// `true` for a Grant, `false` for a Revoke.
    pub grant: bool,
}

/// What one lane step writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// The list already is what the batch asks for.
    Nothing,
    /// PatchOp `replace` on `members` with these ids, in this order.
    Replace(Vec<String>),
    /// PatchOp `remove` on `members` (Zivver's only known way to empty a list).
    RemoveAll,
}

/// The result of applying a batch to a fresh member list.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub write: Write,
    /// One per change, in the batch's order, for when the write succeeds.
    pub outcomes: Vec<Outcome>,
}

/// Applies `changes` in order to the member list `current` (ids, as just read). Members are
/// keyed on their `value` (ids compare ignoring ASCII case, as UUIDs do); existing order is
/// kept, new members are appended, members Muster knows nothing about stay. A Grant of a
/// member is done as it stands; a Revoke of a non-member is [`Outcome::AlreadyAbsent`].
///
/// An empty result is written as remove-all only when every member of `current` was revoked
/// by this batch; anything else that would empty the list is refused.
pub fn apply_batch(current: &[&str], changes: &[Change]) -> Result<Step, String> {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let mut members: Vec<String> = current.iter().map(|m| (*m).to_owned()).collect();
    let mut revoked: HashSet<String> = HashSet::new();
    let mut outcomes = Vec::with_capacity(changes.len());
    for change in changes {
        let id = change.account.as_str();
        let at = members.iter().position(|m| same(m, id));
        outcomes.push(match (change.grant, at) {
            (true, Some(_)) => Outcome::Done,
            (true, None) => {
                members.push(id.to_owned());
                Outcome::Done
            }
            (false, Some(i)) => {
                members.remove(i);
                revoked.insert(id.to_ascii_lowercase());
                Outcome::Done
            }
            (false, None) => Outcome::AlreadyAbsent,
        });
    }
    let unchanged =
        members.len() == current.len() && members.iter().zip(current).all(|(a, b)| a == b);
    let write = if unchanged {
        Write::Nothing
    } else if members.is_empty() {
        let all_revoked = current
            .iter()
            .all(|m| revoked.contains(&m.to_ascii_lowercase()));
        if !all_revoked {
            return Err(
                "the member list would become empty without every member being revoked".to_owned(),
            );
        }
        Write::RemoveAll
    } else {
        Write::Replace(members)
    };
    Ok(Step { write, outcomes })
}

/// A caller's answer channel.
pub type Reply = oneshot::Sender<Result<Outcome, ConnectorError>>;

/// A change waiting in a lane, with where its outcome goes.
#[derive(Debug)]
pub struct Queued {
    pub change: Change,
    pub reply: Reply,
}

/// The queues of every group that has a lane, behind one short-held lock.
#[derive(Debug, Default)]
pub struct Lanes {
    /// A group is here while its lane has a worker; its queue holds what the worker has not
    /// taken yet.
    busy: Mutex<HashMap<GroupRef, Vec<Queued>>>,
}

impl Lanes {
    /// Queues a change. `true` when the lane had no worker: the caller must start one.
    pub fn enqueue(&self, group: &GroupRef, queued: Queued) -> bool {
        let mut busy = self.lock();
        match busy.get_mut(group) {
            Some(queue) => {
                queue.push(queued);
                false
            }
            None => {
                busy.insert(group.clone(), vec![queued]);
                true
            }
        }
    }

    /// Every change queued for `group`, for the worker's next step. Empty means the lane is
    /// done: it has no worker any more, and the next change starts a new one.
    pub fn take(&self, group: &GroupRef) -> Vec<Queued> {
        let mut busy = self.lock();
        match busy.get_mut(group) {
            Some(queue) if !queue.is_empty() => std::mem::take(queue),
            _ => {
                busy.remove(group);
                Vec::new()
            }
        }
    }

    /// Ends a lane whose worker stopped abnormally: queued callers get a closed channel
    /// (reported as an error) instead of waiting forever.
    pub fn abandon(&self, group: &GroupRef) {
        self.lock().remove(group);
    }

    /// Groups that have a worker now.
    pub fn active(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<GroupRef, Vec<Queued>>> {
        // The map is consistent after any panic of a holder: entries are moved whole.
        self.busy.lock().unwrap_or_else(|e| e.into_inner())
    }
}
