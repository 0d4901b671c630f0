//! The hash maps of the plan's own indexes (accounts by reference and by correlation value,
//! groups by name and by member, who has which account). At 100,000 persons × 3 targets
//! the plan hashes millions of short keys, and std's SipHash was a tenth of its time;
//! foldhash (already in the build through hashbrown) is several times faster on short keys and
//! seeded at random per process, so keys from the source cannot be chosen to collide on every
//! run. The inputs the engine passes in (`DiffInput`) keep std's maps.

pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub(crate) type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
