//! Results kept between runs, so only persons whose record changed run their scripts again.
//!
//! A result is keyed by a digest of everything the script can see of the person (every field
//! of the person model, including which contract is primary today) and `Iteration`. Each
//! compiled script has its own cache, so a changed mapping starts empty. Lives in memory for
//! as long as the configuration does (a server, the demo, a benchmark); a `muster` command
//! that runs once starts cold.
//!
//! Each result records the last run that used it; [`ResultCache::rotate`] (once per run, before
//! evaluating) drops what the run before did not use, so results of persons who left or
//! changed do not pile up.

use chrono::Datelike;
use muster_core::mapping::ComputeError;
use muster_core::model::{ContactPoint, Contract, Person};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

pub(crate) type Outcome = Result<Option<serde_json::Value>, ComputeError>;

/// Digest of a person's record as a script sees it, and the iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    digest: u128,
    iteration: u32,
}

impl Key {
    pub(crate) fn new(person: &Person, iteration: u32) -> Self {
        Self {
            digest: digest(person),
            iteration,
        }
    }
}

/// A result and the run that last used it.
struct Entry {
    run: u32,
    outcome: Outcome,
}

#[derive(Default)]
struct Shard {
    run: u32,
    entries: HashMap<Key, Entry, BuildDigestHasher>,
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

/// Sharded so the evaluation threads rarely wait for each other.
pub(crate) struct ResultCache {
    shards: Vec<Mutex<Shard>>,
}

const SHARDS: usize = 16;

impl Default for ResultCache {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

impl std::fmt::Debug for ResultCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResultCache({} results)", self.len())
    }
}

impl ResultCache {
    fn shard(&self, key: &Key) -> std::sync::MutexGuard<'_, Shard> {
        // A poisoned shard only means another thread panicked mid-insert; the map is whole.
        self.shards[(key.digest as usize) % SHARDS]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn get(&self, key: &Key) -> Option<Outcome> {
        let mut shard = self.shard(key);
        let run = shard.run;
        let entry = shard.entries.get_mut(key)?;
        entry.run = run;
        Some(entry.outcome.clone())
    }

    pub(crate) fn insert(&self, key: Key, outcome: Outcome) {
        let mut shard = self.shard(&key);
        let run = shard.run;
        shard.entries.insert(key, Entry { run, outcome });
    }

    /// A new run: results the previous run did not use are dropped.
    pub(crate) fn rotate(&self) {
        for shard in &self.shards {
            let mut g = shard.lock().unwrap_or_else(PoisonError::into_inner);
            let last = g.run;
            g.entries.retain(|_, e| e.run == last);
            g.run = last.wrapping_add(1);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entries
                    .len()
            })
            .sum()
    }
}

/// SHA-256 (truncated to 128 bits) over every field a script can read, each written with its
/// length (or as absent), so two different persons never feed the same bytes.
fn digest(p: &Person) -> u128 {
    let mut h = Feed(Sha256::new());
    h.text(Some(p.external_id.as_str()));
    h.text(p.display_name.as_deref());
    let n = &p.name;
    for v in [
        &n.given_name,
        &n.nick_name,
        &n.family_name,
        &n.family_name_prefix,
        &n.family_name_partner,
        &n.family_name_partner_prefix,
        &n.convention,
        &n.initials,
    ] {
        h.text(v.as_deref());
    }
    h.point(&p.contact.business);
    h.point(&p.contact.personal);
    h.count(p.contracts.len());
    for c in &p.contracts {
        h.contract(c);
    }
    h.count(p.primary.map_or(0, |i| i + 1));
    h.count(p.accounts.len());
    for (system, fields) in &p.accounts {
        h.text(Some(system));
        h.count(fields.len());
        for (k, v) in fields {
            h.text(Some(k));
            h.json(v);
        }
    }
    let out = h.0.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&out[..16]);
    u128::from_le_bytes(bytes)
}

struct Feed(Sha256);

impl Feed {
    fn count(&mut self, n: usize) {
        self.0.update((n as u64).to_le_bytes());
    }

    fn text(&mut self, v: Option<&str>) {
        match v {
            None => self.0.update([0u8]),
            Some(s) => {
                self.0.update([1u8]);
                self.count(s.len());
                self.0.update(s.as_bytes());
            }
        }
    }

    fn point(&mut self, p: &ContactPoint) {
        self.text(p.email.as_deref());
        self.text(p.phone_fixed.as_deref());
        self.text(p.phone_mobile.as_deref());
    }

    fn date(&mut self, d: Option<chrono::NaiveDate>) {
        match d {
            None => self.0.update([0u8]),
            Some(d) => {
                self.0.update([1u8]);
                self.0.update(d.num_days_from_ce().to_le_bytes());
            }
        }
    }

    /// A JSON value, written straight into the digest (no string in between).
    fn json(&mut self, v: &serde_json::Value) {
        struct Sink<'a>(&'a mut Sha256);
        impl std::io::Write for Sink<'_> {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.update(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        // Writing to this sink cannot fail; JSON's own syntax delimits the value.
        let _ = serde_json::to_writer(Sink(&mut self.0), v);
        self.0.update([0u8]);
    }

    fn contract(&mut self, c: &Contract) {
        self.text(c.external_id.as_deref());
        self.date(c.start_date);
        self.date(c.end_date);
        self.text(c.department.as_deref());
        self.text(c.title.as_deref());
        self.text(c.organization.as_deref());
        self.text(c.manager.as_deref());
        self.text(c.location.as_deref());
        match c.fte {
            None => self.0.update([0u8]),
            Some(f) => {
                self.0.update([1u8]);
                self.0.update(f.to_bits().to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let base = Key::new(&person(), 0);
        assert_eq!(base, Key::new(&person(), 0));
        assert_ne!(base, Key::new(&person(), 1));
        let mut p = person();
        p.primary = Some(1);
        assert_ne!(
            base,
            Key::new(&p, 0),
            "the primary contract is visible to scripts"
        );
        let mut p = person();
        p.name.given_name = None;
        p.name.nick_name = Some("Jan".into());
        assert_ne!(base, Key::new(&p, 0), "the same text in another field");
        let mut p = person();
        p.accounts
            .entry("AD".into())
            .or_default()
            .insert("upn".into(), "j@x".into());
        assert_ne!(base, Key::new(&p, 0));
    }

    #[test]
    fn results_unused_for_a_whole_run_are_dropped() {
        let cache = ResultCache::default();
        let a = Key::new(&person(), 0);
        let b = Key::new(&person(), 1);
        cache.insert(a, Ok(Some("a".into())));
        cache.insert(b, Ok(Some("b".into())));
        cache.rotate();
        assert_eq!(cache.get(&a), Some(Ok(Some("a".into()))), "kept one run");
        cache.rotate();
        assert!(cache.get(&a).is_some(), "used in the last run: kept");
        assert_eq!(cache.get(&b), None, "not used for a whole run: gone");
        assert_eq!(cache.len(), 1);
    }
}
