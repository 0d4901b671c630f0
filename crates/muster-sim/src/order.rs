//! Orders the simulators keep so that no request costs more than O(log n) plus its answer:
//!
//! - [`Sequence`]: values under increasing sequence numbers (creation order), with the value at
//!   a given offset found in O(log n) (a Fenwick tree counts the live numbers below each one),
//!   so a `startIndex`/`skip` page costs its own rows, not the rows before it;
//! - [`OrderedSet`]: distinct keys in the order they were added (a group's members), with
//!   O(log n) add, remove and membership test, so one membership change never copies or scans
//!   the whole list.

use std::collections::{btree_map, BTreeMap, HashMap};

/// Counts of live sequence numbers, 1-based, growing as higher numbers arrive.
#[derive(Debug, Clone, Default)]
struct Fenwick {
    /// `tree[i]` counts the live numbers in `(i - lowbit(i), i]`; `tree[0]` is unused.
    tree: Vec<i64>,
}

fn lowbit(i: usize) -> usize {
    i & i.wrapping_neg()
}

impl Fenwick {
    /// Live numbers in `1..=i`.
    fn prefix(&self, mut i: usize) -> i64 {
        let mut sum = 0;
        while i > 0 {
            sum += self.tree[i];
            i -= lowbit(i);
        }
        sum
    }

    /// Makes room for number `n`: each new node sums what it covers, all of it already there.
    fn grow_to(&mut self, n: usize) {
        if self.tree.is_empty() {
            self.tree.push(0);
        }
        while self.tree.len() <= n {
            let i = self.tree.len();
            let covered = self.prefix(i - 1) - self.prefix(i - lowbit(i));
            self.tree.push(covered);
        }
    }

    fn add(&mut self, n: usize, delta: i64) {
        self.grow_to(n);
        let mut i = n;
        while i < self.tree.len() {
            self.tree[i] += delta;
            i += lowbit(i);
        }
    }

    /// The smallest number with `rank + 1` live numbers up to it (the live one at offset
    /// `rank`), if there are that many.
    fn select(&self, rank: usize) -> Option<usize> {
        let len = self.tree.len();
        if len < 2 {
            return None;
        }
        let mut want = i64::try_from(rank).ok()?.checked_add(1)?;
        let mut pos = 0;
        let mut step = 1usize << (usize::BITS - 1 - (len - 1).leading_zeros());
        while step > 0 {
            let next = pos + step;
            if next < len && self.tree[next] < want {
                pos = next;
                want -= self.tree[next];
            }
            step >>= 1;
        }
        (pos + 1 < len).then_some(pos + 1)
    }
}

/// Values under increasing sequence numbers, served in that order with O(log n) offsets.
#[derive(Debug, Clone)]
pub struct Sequence<V> {
    items: BTreeMap<u64, V>,
    ranks: Fenwick,
}

impl<V> Default for Sequence<V> {
    fn default() -> Self {
        Self {
            items: BTreeMap::new(),
            ranks: Fenwick::default(),
        }
    }
}

/// The Fenwick index of sequence number `seq` (which may be 0); a number beyond memory cannot
/// occur, as the numbers are counted by the callers.
fn slot(seq: u64) -> usize {
    usize::try_from(seq)
        .ok()
        .and_then(|s| s.checked_add(1))
        .unwrap_or(usize::MAX >> 1)
}

impl<V> Sequence<V> {
    /// Stores `value` under `seq`, replacing what was there.
    pub fn insert(&mut self, seq: u64, value: V) -> Option<V> {
        let old = self.items.insert(seq, value);
        if old.is_none() {
            self.ranks.add(slot(seq), 1);
        }
        old
    }

    /// Removes and returns the value under `seq`.
    pub fn remove(&mut self, seq: u64) -> Option<V> {
        let old = self.items.remove(&seq)?;
        self.ranks.add(slot(seq), -1);
        Some(old)
    }

    /// How many values are stored.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Every value, in sequence order.
    pub fn values(&self) -> btree_map::Values<'_, u64, V> {
        self.items.values()
    }

    /// Every sequence number and value, in order.
    pub fn iter(&self) -> btree_map::Iter<'_, u64, V> {
        self.items.iter()
    }

    /// At most `take` entries from offset `skip` on, in order: O(log n + take).
    pub fn page(&self, skip: usize, take: usize) -> impl Iterator<Item = (u64, &V)> {
        // Past the end there is no number to start from, and the page is empty.
        let start = self
            .ranks
            .select(skip)
            .and_then(|n| u64::try_from(n - 1).ok());
        start
            .into_iter()
            .flat_map(move |n| self.items.range(n..))
            .take(take)
            .map(|(k, v)| (*k, v))
    }
}

/// Distinct keys in the order they were first added; a removed key that comes back goes last.
#[derive(Debug, Clone, Default)]
pub struct OrderedSet {
    by_pos: BTreeMap<u64, String>,
    pos: HashMap<String, u64>,
    next: u64,
}

impl OrderedSet {
    /// Appends `key` unless present; says whether it was added.
    pub fn insert(&mut self, key: String) -> bool {
        if self.pos.contains_key(&key) {
            return false;
        }
        self.next += 1;
        self.by_pos.insert(self.next, key.clone());
        self.pos.insert(key, self.next);
        true
    }

    /// Removes `key`; says whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        match self.pos.remove(key) {
            Some(p) => {
                self.by_pos.remove(&p);
                true
            }
            None => false,
        }
    }

    /// Whether `key` is in the set.
    pub fn contains(&self, key: &str) -> bool {
        self.pos.contains_key(key)
    }

    /// The keys in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.by_pos.values().map(String::as_str)
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

impl FromIterator<String> for OrderedSet {
    fn from_iter<I: IntoIterator<Item = String>>(keys: I) -> Self {
        let mut set = Self::default();
        for k in keys {
            set.insert(k);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(s: &Sequence<u64>, skip: usize, take: usize) -> Vec<u64> {
        s.page(skip, take).map(|(_, v)| *v).collect()
    }

    #[test]
    fn pages_follow_the_live_entries_through_gaps_and_removals() {
        let mut s = Sequence::default();
        // Gaps, as when users and groups share one counter, and a first number of 0.
        for seq in (0..=300u64).filter(|n| n % 3 != 1) {
            s.insert(seq, seq);
        }
        for seq in (1..=300u64).filter(|n| n % 7 == 0) {
            s.remove(seq);
        }
        let live: Vec<u64> = s.values().copied().collect();
        assert_eq!(s.len(), live.len());
        for skip in 0..=live.len() + 2 {
            for take in [0, 1, 5, 1000] {
                let want: Vec<u64> = live.iter().skip(skip).take(take).copied().collect();
                assert_eq!(page(&s, skip, take), want, "skip {skip} take {take}");
            }
        }
        // Removing everything leaves nothing to page.
        for seq in live {
            s.remove(seq);
        }
        assert_eq!(s.len(), 0);
        assert!(page(&s, 0, 10).is_empty());
    }

    #[test]
    fn an_empty_sequence_has_no_pages() {
        let s: Sequence<u64> = Sequence::default();
        assert!(page(&s, 0, 10).is_empty());
        assert!(page(&s, 5, 10).is_empty());
    }

    #[test]
    fn ordered_sets_keep_first_addition_order() {
        let mut m: OrderedSet = ["a", "b", "c"].into_iter().map(String::from).collect();
        assert!(!m.insert("a".into()));
        assert!(m.remove("b"));
        assert!(!m.remove("b"));
        assert!(m.insert("b".into()));
        assert_eq!(m.iter().collect::<Vec<_>>(), ["a", "c", "b"]);
        assert!(m.contains("c") && !m.contains("d"));
    }
}
