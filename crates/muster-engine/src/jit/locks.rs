//! One sign-in per person at a time, and a scheduled create of that person waits for it: an
//! async mutex per person key, in a bounded map whose entries are removed once nobody holds or
//! waits for them. Beside it, the accounts sign-ins made for persons the source does not know
//! yet (kept without a link), by correlation value, so a scheduled create adopts them.

use chrono::{DateTime, Utc};
use muster_core::model::{AccountRef, ExternalId, TargetName};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OwnedMutexGuard;

/// Persons with a sign-in (or a scheduled create) in progress or waiting, at most `capacity`.
#[derive(Debug)]
pub struct PersonLocks {
    capacity: usize,
    map: Mutex<HashMap<ExternalId, Arc<tokio::sync::Mutex<()>>>>,
    /// Accounts made at sign-in without a link: (target, lower-cased correlation value) →
    /// the account and when. At most `capacity` entries; the oldest half goes when full.
    made: Mutex<HashMap<MadeKey, (AccountRef, DateTime<Utc>)>>,
}

/// A target and a lower-cased correlation value.
type MadeKey = (TargetName, String);

/// More distinct persons are signing in at once than the map holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0} persons are signing in at once, the most this server serves together; try again shortly"
)]
pub struct Busy(pub usize);

/// Held while one person's account is being looked up and created; released when dropped.
#[derive(Debug)]
pub struct PersonGuard {
    guard: Option<OwnedMutexGuard<()>>,
    locks: Arc<PersonLocks>,
    person: ExternalId,
}

impl PersonLocks {
    /// The default bound: persons signing in at the same moment, far above any login storm.
    pub const DEFAULT_CAPACITY: usize = 10_000;

    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            capacity: capacity.max(1),
            map: Mutex::new(HashMap::new()),
            made: Mutex::new(HashMap::new()),
        })
    }

    /// A sign-in made `account` in `target` for a person the source does not know yet, whose
    /// correlation value is `value`.
    pub fn remember_made(&self, target: &TargetName, value: &str, account: AccountRef) {
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        if made.len() >= self.capacity {
            let mut at: Vec<DateTime<Utc>> = made.values().map(|(_, t)| *t).collect();
            at.sort();
            let cut = at[at.len() / 2];
            made.retain(|_, (_, t)| *t > cut);
        }
        made.insert(
            (target.clone(), value.to_lowercase()),
            (account, Utc::now()),
        );
    }

    /// Takes the account a sign-in made in `target` for correlation value `value` at or after
    /// `since`, if any: a scheduled create adopts it instead of creating another.
    pub fn take_made(
        &self,
        target: &TargetName,
        value: &str,
        since: DateTime<Utc>,
    ) -> Option<AccountRef> {
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        let key = (target.clone(), value.to_lowercase());
        match made.get(&key) {
            Some((_, at)) if *at >= since => made.remove(&key).map(|(account, _)| account),
            _ => None,
        }
    }

    /// Waits until nobody else holds `person`, then holds it. Fails at once when `capacity`
    /// other persons are held or waited for.
    pub async fn lock(self: &Arc<Self>, person: &ExternalId) -> Result<PersonGuard, Busy> {
        let entry = {
            let mut map = self.map();
            match map.get(person) {
                Some(e) => e.clone(),
                None if map.len() >= self.capacity => return Err(Busy(map.len())),
                None => map
                    .entry(person.clone())
                    .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(())))
                    .clone(),
            }
        };
        let guard = entry.lock_owned().await;
        Ok(PersonGuard {
            guard: Some(guard),
            locks: self.clone(),
            person: person.clone(),
        })
    }

    /// Persons held or waited for now.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<ExternalId, Arc<tokio::sync::Mutex<()>>>> {
        // A map of mutexes, whole after any panic of a holder.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for PersonGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self.locks.map();
        // Only the map's own reference left: nobody holds or waits for this person.
        if map
            .get(&self.person)
            .is_some_and(|e| Arc::strong_count(e) == 1)
        {
            map.remove(&self.person);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_holder_per_person_and_idle_entries_are_removed() {
        let locks = PersonLocks::new(2);
        let a: ExternalId = "a".into();
        let first = locks.lock(&a).await.unwrap();
        let waited = tokio::time::timeout(Duration::from_millis(20), locks.lock(&a)).await;
        assert!(
            waited.is_err(),
            "a second holder waits while the first holds"
        );
        assert_eq!(
            locks.len(),
            1,
            "the one who gave up left the entry to the holder"
        );
        let l = locks.clone();
        let a2 = a.clone();
        let second = tokio::spawn(async move { l.lock(&a2).await.map(|_| ()) });
        drop(first);
        second.await.unwrap().unwrap();
        assert!(locks.is_empty(), "removed once idle");
    }

    #[test]
    fn an_account_made_at_sign_in_is_taken_once_and_only_when_made_since() {
        let locks = PersonLocks::new(4);
        let t: TargetName = "zivver".into();
        let before = Utc::now() - chrono::TimeDelta::seconds(5);
        locks.remember_made(&t, "Jan@X.nl", "acc-1".into());
        assert_eq!(locks.take_made(&"other".into(), "jan@x.nl", before), None);
        assert_eq!(
            locks.take_made(&t, "jan@x.nl", Utc::now() + chrono::TimeDelta::seconds(5)),
            None
        );
        assert_eq!(
            locks.take_made(&t, "JAN@x.nl", before),
            Some("acc-1".into())
        );
        assert_eq!(locks.take_made(&t, "jan@x.nl", before), None, "taken once");
        for i in 0..10 {
            locks.remember_made(&t, &format!("p{i}@x.nl"), format!("acc-p{i}").into());
        }
        assert!(locks.made.lock().unwrap().len() <= 4, "bounded");
    }

    #[tokio::test]
    async fn the_map_is_bounded() {
        let locks = PersonLocks::new(2);
        let _a = locks.lock(&"a".into()).await.unwrap();
        let _b = locks.lock(&"b".into()).await.unwrap();
        let busy = locks.lock(&"c".into()).await.unwrap_err();
        assert!(busy.to_string().contains("2 persons"), "{busy}");
        // A person already held may still wait in line.
        let l = locks.clone();
        let waiting = tokio::spawn(async move { l.lock(&"a".into()).await.map(|_| ()) });
        drop(_a);
        waiting.await.unwrap().unwrap();
    }
}
