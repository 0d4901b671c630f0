//! Results kept between runs, so only persons whose record changed run their scripts again.
//!
//! A result is keyed by a digest of everything the script can see of the person (every field
//! of the person model, including which contract is primary today) and `Iteration`
//! ([`ResultKey`]). Each compiled script has its own cache, so a changed mapping starts empty.
//! The cache lives in memory for as long as the configuration does (a server, the demo, a
//! benchmark); the engine keeps it in its store as well, so that a `muster` command that runs
//! once starts where the last one stopped: [`ResultCache::preload`] before the first run,
//! [`ResultCache::changes`] (or [`ResultCache::snapshot`]) and [`ResultCache::mark_saved`] after
//! each.
//!
//! Each result records the last run that used it; [`ResultCache::rotate`] (once per run, before
//! evaluating) drops what the run before did not use, so results of persons who left or
//! changed do not pile up. Each also records whether the store holds it, so that after a run
//! only what changed has to be written: a 1 % change writes 1 % of the rows.

use super::digest::person_digest;
use muster_core::mapping::ComputeError;
use muster_core::model::Person;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

pub(crate) type Outcome = Result<Option<serde_json::Value>, ComputeError>;

/// Which result: a digest of the person's record as a script sees it, and the iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResultKey {
    digest: u128,
    iteration: u32,
}

impl ResultKey {
    pub fn new(person: &Person, iteration: u32) -> Self {
        Self {
            digest: person_digest(person),
            iteration,
        }
    }

    /// A key as stored: [`person_digest`](Self::person_digest) and the iteration.
    pub fn from_parts(person_digest: [u8; 16], iteration: u32) -> Self {
        Self {
            digest: u128::from_le_bytes(person_digest),
            iteration,
        }
    }

    /// The person's digest (truncated SHA-256), the same in every process.
    pub fn person_digest(&self) -> [u8; 16] {
        self.digest.to_le_bytes()
    }

    pub fn iteration(&self) -> u32 {
        self.iteration
    }
}

/// One result, to keep outside the process or to bring back into it.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedResult {
    pub key: ResultKey,
    /// The value (`None`: the script gave no value), or the script's failure. Only failures
    /// that repeat for the same person (a throw, a wrong type) are cached; running out of time
    /// or memory depends on the machine's load.
    pub outcome: Result<Option<serde_json::Value>, ComputeError>,
}

/// What the store lacks and holds too much of since it last matched the cache.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CacheChanges {
    /// Results the last run used that the store does not hold.
    pub added: Vec<CachedResult>,
    /// Results the store holds that the last run did not use (persons who left or changed).
    pub removed: Vec<ResultKey>,
}

/// A result, the run that last used it, and whether the store holds it.
struct Entry {
    run: u32,
    outcome: Outcome,
    saved: bool,
}

#[derive(Default)]
struct Shard {
    run: u32,
    entries: HashMap<ResultKey, Entry, BuildDigestHasher>,
}

/// The key is a SHA-256 digest already: its bits are as good a hash as any, so hashing it
/// again (SipHash, the default) would only cost time.
#[derive(Default, Clone, Copy)]
struct BuildDigestHasher;

#[derive(Default)]
struct DigestHasher(u64);

impl std::hash::BuildHasher for BuildDigestHasher {
    type Hasher = DigestHasher;
    fn build_hasher(&self) -> DigestHasher {
        DigestHasher(0)
    }
}

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 ^= (v >> 64) as u64 ^ v as u64;
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = self
            .0
            .wrapping_add(u64::from(v).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }
}

/// The results of one script. Sharded so the evaluation threads rarely wait for each other.
pub struct ResultCache {
    shards: Vec<Mutex<Shard>>,
    /// The store holds exactly the entries marked `saved`, so writing [`changes`](Self::changes)
    /// brings it up to date. False until the cache was preloaded or saved, and again when
    /// entries the store holds were dropped without the store being told.
    in_sync: AtomicBool,
}

const SHARDS: usize = 16;

impl Default for ResultCache {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            in_sync: AtomicBool::new(false),
        }
    }
}

impl std::fmt::Debug for ResultCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResultCache({} results)", self.len())
    }
}

impl ResultCache {
    fn shard(&self, key: &ResultKey) -> std::sync::MutexGuard<'_, Shard> {
        // A poisoned shard only means another thread panicked mid-insert; the map is whole.
        self.shards[(key.digest as usize) % SHARDS]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn each_shard(&self) -> impl Iterator<Item = std::sync::MutexGuard<'_, Shard>> {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn get(&self, key: &ResultKey) -> Option<Outcome> {
        let mut shard = self.shard(key);
        let run = shard.run;
        let entry = shard.entries.get_mut(key)?;
        entry.run = run;
        Some(entry.outcome.clone())
    }

    pub(crate) fn insert(&self, key: ResultKey, outcome: Outcome) {
        let mut shard = self.shard(&key);
        let run = shard.run;
        let saved = false;
        shard.entries.insert(
            key,
            Entry {
                run,
                outcome,
                saved,
            },
        );
    }

    /// A new run: results the previous run did not use are dropped.
    pub(crate) fn rotate(&self) {
        let mut forgot_saved = false;
        for mut g in self.each_shard() {
            let last = g.run;
            g.entries.retain(|_, e| {
                let keep = e.run == last;
                forgot_saved |= !keep && e.saved;
                keep
            });
            g.run = last.wrapping_add(1);
        }
        if forgot_saved {
            // The store still holds them, and `changes` can no longer name them.
            self.in_sync.store(false, Ordering::Relaxed);
        }
    }

    /// Results held.
    pub fn len(&self) -> usize {
        self.each_shard().map(|s| s.entries.len()).sum()
    }

    /// Nothing held: a new configuration that has not run yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Brings back results the store held, as if the run that saved them had just ended (call
    /// it before the run's `start_run`): the next run uses them instead of running the script,
    /// and what it does not use is dropped. Afterwards the cache is in sync with the store:
    /// every result it holds that the store lacks is in [`changes`](Self::changes).
    pub fn preload(&self, results: impl IntoIterator<Item = CachedResult>) {
        for r in results {
            let mut shard = self.shard(&r.key);
            let run = shard.run;
            shard
                .entries
                .entry(r.key)
                .and_modify(|e| e.saved = true)
                .or_insert(Entry {
                    run,
                    outcome: r.outcome,
                    saved: true,
                });
        }
        self.in_sync.store(true, Ordering::Relaxed);
    }

    /// Whether [`changes`](Self::changes) is all the store needs (else: a
    /// [`snapshot`](Self::snapshot) replaces what it holds).
    pub fn in_sync(&self) -> bool {
        self.in_sync.load(Ordering::Relaxed)
    }

    /// Every result the current run used.
    pub fn snapshot(&self) -> Vec<CachedResult> {
        let mut out = Vec::new();
        for g in self.each_shard() {
            let run = g.run;
            out.extend(
                g.entries
                    .iter()
                    .filter(|(_, e)| e.run == run)
                    .map(|(k, e)| CachedResult {
                        key: *k,
                        outcome: e.outcome.clone(),
                    }),
            );
        }
        out
    }

    /// What the store lacks (used by the current run, not saved) and holds too much of (saved,
    /// not used by the current run).
    pub fn changes(&self) -> CacheChanges {
        let mut out = CacheChanges::default();
        for g in self.each_shard() {
            let run = g.run;
            for (k, e) in &g.entries {
                match (e.run == run, e.saved) {
                    (true, false) => out.added.push(CachedResult {
                        key: *k,
                        outcome: e.outcome.clone(),
                    }),
                    (false, true) => out.removed.push(*k),
                    _ => {}
                }
            }
        }
        out
    }

    /// The store now holds exactly what the current run used (its [`snapshot`](Self::snapshot),
    /// or the [`changes`](Self::changes) written on top of what it held).
    pub fn mark_saved(&self) {
        for mut g in self.each_shard() {
            let run = g.run;
            for e in g.entries.values_mut() {
                e.saved = e.run == run;
            }
        }
        self.in_sync.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use muster_core::model::Contract;

    fn person() -> Person {
        let mut p = Person::new("1");
        p.name.given_name = Some("Jan".into());
        p.contracts.push(Contract {
            department: Some("Sales".into()),
            ..Contract::default()
        });
        p.contracts.push(Contract::default());
        p.primary = Some(0);
        p
    }

    #[test]
    fn every_visible_change_changes_the_key() {
        let base = ResultKey::new(&person(), 0);
        assert_eq!(base, ResultKey::new(&person(), 0));
        assert_ne!(base, ResultKey::new(&person(), 1));
        let mut p = person();
        p.primary = Some(1);
        assert_ne!(
            base,
            ResultKey::new(&p, 0),
            "the primary contract is visible to scripts"
        );
        let mut p = person();
        p.name.given_name = None;
        p.name.nick_name = Some("Jan".into());
        assert_ne!(
            base,
            ResultKey::new(&p, 0),
            "the same text in another field"
        );
        let mut p = person();
        p.accounts
            .entry("AD".into())
            .or_default()
            .insert("upn".into(), "j@x".into());
        assert_ne!(base, ResultKey::new(&p, 0));
    }

    #[test]
    fn results_unused_for_a_whole_run_are_dropped() {
        let cache = ResultCache::default();
        let a = ResultKey::new(&person(), 0);
        let b = ResultKey::new(&person(), 1);
        cache.insert(a, Ok(Some("a".into())));
        cache.insert(b, Ok(Some("b".into())));
        cache.rotate();
        assert_eq!(cache.get(&a), Some(Ok(Some("a".into()))), "kept one run");
        cache.rotate();
        assert!(cache.get(&a).is_some(), "used in the last run: kept");
        assert_eq!(cache.get(&b), None, "not used for a whole run: gone");
        assert_eq!(cache.len(), 1);
    }

    fn keys(cache: &CacheChanges) -> (Vec<u32>, Vec<u32>) {
        let mut added: Vec<u32> = cache.added.iter().map(|r| r.key.iteration()).collect();
        let mut removed: Vec<u32> = cache.removed.iter().map(|k| k.iteration()).collect();
        added.sort_unstable();
        removed.sort_unstable();
        (added, removed)
    }

    #[test]
    fn changes_name_what_the_store_lacks_and_what_it_holds_too_much_of() {
        let cache = ResultCache::default();
        let [a, b, c] = [0, 1, 2].map(|i| ResultKey::new(&person(), i));
        assert!(!cache.in_sync(), "a new cache knows nothing of the store");
        let stored = |k: ResultKey| CachedResult {
            key: k,
            outcome: Ok(Some(format!("stored {}", k.iteration()).into())),
        };
        cache.preload([stored(a), stored(b)]);
        assert!(cache.in_sync());
        assert_eq!(keys(&cache.changes()), (vec![], vec![]), "nothing ran yet");

        cache.rotate();
        assert_eq!(cache.get(&a), Some(Ok(Some("stored 0".into()))));
        cache.insert(c, Ok(None));
        assert_eq!(keys(&cache.changes()), (vec![2], vec![1]));
        let mut used: Vec<u32> = cache.snapshot().iter().map(|r| r.key.iteration()).collect();
        used.sort_unstable();
        assert_eq!(used, [0, 2]);

        cache.mark_saved();
        assert_eq!(keys(&cache.changes()), (vec![], vec![]));
        cache.rotate();
        assert!(
            cache.in_sync(),
            "only what the store no longer holds was dropped"
        );

        // A run whose results were not saved: the store keeps `c`, which the cache then drops.
        assert!(cache.get(&a).is_some());
        cache.rotate();
        assert!(!cache.in_sync());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn keys_survive_the_store() {
        let k = ResultKey::new(&person(), 3);
        assert_eq!(ResultKey::from_parts(k.person_digest(), k.iteration()), k);
    }
}
