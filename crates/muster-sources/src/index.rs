//! The index of records by `ExternalId`, built for a million persons: it keys on a 64-bit hash
//! of the id and confirms each hit against the record's own id, so it holds no copy of any id
//! (one allocation less per person). Two different ids with the same hash, which practically
//! never happens, fall back to a second map keyed by the full id.

use muster_core::model::SourceRecord;
use std::collections::hash_map::{Entry, RandomState};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// What [`IdIndex::insert`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// The id is new; the record is now indexed under it.
    First,
    /// The id was seen before, on the record at this index.
    Before(usize),
}

#[derive(Default)]
pub(crate) struct IdIndex {
    state: RandomState,
    by_hash: HashMap<u64, usize, BuildHasherDefault<PassThrough>>,
    collisions: HashMap<String, usize>,
}

impl IdIndex {
    pub(crate) fn try_reserve(
        &mut self,
        additional: usize,
    ) -> Result<(), std::collections::TryReserveError> {
        self.by_hash.try_reserve(additional)
    }

    /// Indexes `records[at]` (which need not be pushed yet) under `id`, unless the id is taken.
    pub(crate) fn insert(&mut self, records: &[SourceRecord], id: &str, at: usize) -> Seen {
        match self.by_hash.entry(self.state.hash_one(id)) {
            Entry::Vacant(slot) => {
                slot.insert(at);
                Seen::First
            }
            Entry::Occupied(slot) if id_of(records, *slot.get()) == Some(id) => {
                Seen::Before(*slot.get())
            }
            Entry::Occupied(_) => match self.collisions.entry(id.to_owned()) {
                Entry::Vacant(slot) => {
                    slot.insert(at);
                    Seen::First
                }
                Entry::Occupied(slot) => Seen::Before(*slot.get()),
            },
        }
    }

    /// The index of the first record with `id`.
    pub(crate) fn get(&self, records: &[SourceRecord], id: &str) -> Option<usize> {
        match self.by_hash.get(&self.state.hash_one(id)) {
            Some(&at) if id_of(records, at) == Some(id) => Some(at),
            Some(_) => self.collisions.get(id).copied(),
            None => None,
        }
    }
}

fn id_of(records: &[SourceRecord], at: usize) -> Option<&str> {
    match records.get(at)? {
        SourceRecord::Valid(p) => Some(p.external_id.as_str()),
        SourceRecord::Blocked { id, .. } => Some(id.as_str()),
    }
}

/// The keys are already hashes; hashing them again would only cost time.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use muster_core::model::Person;

    fn valid(id: &str) -> SourceRecord {
        SourceRecord::Valid(Person::new(id))
    }

    #[test]
    fn finds_first_records_and_reports_repeats() {
        let mut records = Vec::new();
        let mut index = IdIndex::default();
        for (at, id) in ["a", "b", "a"].into_iter().enumerate() {
            let seen = index.insert(&records, id, at);
            assert_eq!(
                seen,
                if at == 2 {
                    Seen::Before(0)
                } else {
                    Seen::First
                }
            );
            records.push(valid(id));
        }
        assert_eq!(index.get(&records, "a"), Some(0));
        assert_eq!(index.get(&records, "b"), Some(1));
        assert_eq!(index.get(&records, "c"), None);
    }

    #[test]
    fn a_hash_collision_between_different_ids_keeps_both() {
        let mut records = vec![valid("a")];
        let mut index = IdIndex::default();
        // Force "b" onto the slot of "a", as a collision would.
        let hash_b = index.state.hash_one("b");
        index.by_hash.insert(hash_b, 0);
        assert_eq!(index.insert(&records, "b", 1), Seen::First);
        records.push(valid("b"));
        assert_eq!(index.get(&records, "b"), Some(1));
        assert_eq!(index.insert(&records, "b", 2), Seen::Before(1));
    }
}
