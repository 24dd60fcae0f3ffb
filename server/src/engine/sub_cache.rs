//! The sub-row cache: values of recently read sub-rows (hash fields, set members), including
//! "no such row" answers, by key version and sort key, in a [`HashCache`].
//!
//! A pipelined batch announces its commands' sub-rows before they run ([`SubCache::prefetch`],
//! as it announces their metadata rows, see `Engine::prefetch_metadata`). So a row's bucket
//! is found by the user key and the sort key, which a request names, not by the version,
//! which only its metadata row tells; the version is compared with the rest of the key
//! (versions are never reused, not even by another key, so version and sort key name one
//! row).

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use smallvec::SmallVec;

use super::hash_cache::{spilled_bytes, CacheEntry, HashCache};
use super::keys;

/// Bytes of sort key and value an entry holds without an allocation of its own (a
/// redis-benchmark member, `member:000000012345`, or a field and a short value).
const INLINE: usize = 32;

/// One cached row: its version and sort key (the hash's other input, the user key, needs no
/// comparison: the version names one key), and its value unless the row is absent.
#[repr(C, align(64))]
#[derive(Default)]
struct SubEntry {
    /// The row's [`hash_of`], for moving it when its table doubles.
    hash: u64,
    version: u64,
    /// The sort key followed by the value.
    bytes: SmallVec<[u8; INLINE]>,
    sort_key_len: u32,
    absent: bool,
}

impl SubEntry {
    fn new(hash: u64, version: u64, sort_key: &[u8], value: Option<&[u8]>) -> SubEntry {
        let value_bytes = value.unwrap_or_default();
        let mut bytes = SmallVec::with_capacity(sort_key.len() + value_bytes.len());
        bytes.extend_from_slice(sort_key);
        bytes.extend_from_slice(value_bytes);
        SubEntry {
            hash,
            version,
            bytes,
            sort_key_len: sort_key.len() as u32,
            absent: value.is_none(),
        }
    }

    fn is(&self, version: u64, sort_key: &[u8]) -> bool {
        self.version == version && self.bytes[..self.sort_key_len as usize] == *sort_key
    }

    fn value(&self) -> Option<&[u8]> {
        (!self.absent).then(|| &self.bytes[self.sort_key_len as usize..])
    }
}

impl CacheEntry for SubEntry {
    fn hash(&self) -> u64 {
        self.hash
    }

    fn heap_bytes(&self) -> usize {
        spilled_bytes(&self.bytes)
    }
}

/// The sub-row cache (see the module documentation).
pub struct SubCache {
    cache: HashCache<SubEntry>,
    /// A bit per hash of a key version, set once a row of a version with that hash is
    /// cached: a write of a row of any other version refreshes nothing, so its commit skips
    /// the lookup (a pipelined LPUSH spent ~300 instructions and a cache miss per pushed row
    /// finding that a queue's rows were not cached). Cleared with the cache.
    versions: Box<[AtomicU64]>,
}

/// Bits of [`SubCache::versions`].
const VERSION_BITS: usize = 1 << 16;

/// The word and bit of `version` in [`SubCache::versions`].
fn version_bit(version: u64) -> (usize, u64) {
    let bit = (version.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 48) as usize % VERSION_BITS;
    (bit / 64, 1 << (bit % 64))
}

/// The hash a row is found by: of its user key and sort key (see the module documentation).
fn hash_of(key: &[u8], sort_key: &[u8]) -> u64 {
    const STATE: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x5eed);
    STATE.hash_one((key, sort_key))
}

impl SubCache {
    /// A cache holding up to about `bytes` of rows.
    pub fn new(bytes: u64) -> SubCache {
        SubCache {
            cache: HashCache::new(bytes),
            versions: (0..VERSION_BITS / 64).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Starts loading where sort key `sort_key` of user key `key` would be cached (of
    /// whatever version): a hint, for a lookup to come.
    pub fn prefetch(&self, key: &[u8], sort_key: &[u8]) {
        self.cache.prefetch(hash_of(key, sort_key));
    }

    /// The cached value of sub-row `row`: `Some(None)` if it is cached as absent, `None` if
    /// it is not cached.
    pub fn get(&self, row: &[u8]) -> Option<Option<Vec<u8>>> {
        let (key, version, sort_key) = keys::sub_row_parts(row);
        self.cache.read(
            hash_of(key, sort_key),
            |e| e.is(version, sort_key),
            |e| e.value().map(<[u8]>::to_vec),
        )
    }

    /// Caches `value` (`None`: absent) as sub-row `row`'s.
    pub fn put(&self, row: &[u8], value: Option<&[u8]>) {
        self.store(row, value, false);
    }

    /// Updates sub-row `row` only if it is cached: writers keep cached rows current without
    /// filling the cache with rows nobody reads (a bulk ZADD writes millions of member rows
    /// that are read back only through the sorted set's in-memory index).
    pub fn refresh(&self, row: &[u8], value: Option<&[u8]>) {
        self.store(row, value, true);
    }

    fn store(&self, row: &[u8], value: Option<&[u8]>, only_if_cached: bool) {
        let (key, version, sort_key) = keys::sub_row_parts(row);
        let (word, bit) = version_bit(version);
        let marked = self.versions[word].load(Ordering::Relaxed) & bit != 0;
        if only_if_cached && !marked {
            return;
        }
        if !marked {
            // Set before the row is cached: a writer of the version's rows holds the key's
            // shard lock, as the reader caching one does, and sees the bit after it.
            self.versions[word].fetch_or(bit, Ordering::Relaxed);
        }
        let entry = SubEntry::new(hash_of(key, sort_key), version, sort_key, value);
        self.cache
            .store(entry, |e| e.is(version, sort_key), only_if_cached);
    }

    pub fn clear(&self) {
        self.cache.clear();
        for word in self.versions.iter() {
            word.store(0, Ordering::Relaxed);
        }
    }

    /// Changes how many bytes of rows the cache holds: a shard holding more than its new
    /// share starts over empty.
    pub fn set_capacity(&self, bytes: u64) {
        self.cache.set_capacity(bytes);
    }

    /// The size the cache was given, in bytes.
    pub fn capacity(&self) -> u64 {
        self.cache.capacity()
    }
}

// An entry fills one cache line.
const _: () = assert!(size_of::<SubEntry>() == 64);

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, version: u64, sort_key: &str) -> Vec<u8> {
        keys::sub_row(
            &keys::meta_key(0, key.as_bytes()),
            version,
            sort_key.as_bytes(),
        )
    }

    impl SubCache {
        fn held_bytes(&self) -> usize {
            self.cache.held_bytes()
        }
    }

    #[test]
    fn rows_are_found_by_version_and_sort_key() {
        let cache = SubCache::new(64 << 20);
        cache.put(&row("h", 1, "f"), Some(b"v1"));
        cache.put(&row("h", 1, "absent"), None);
        assert_eq!(cache.get(&row("h", 1, "f")), Some(Some(b"v1".to_vec())));
        assert_eq!(cache.get(&row("h", 1, "absent")), Some(None));
        // Another version, another field: not cached.
        assert_eq!(cache.get(&row("h", 2, "f")), None);
        assert_eq!(cache.get(&row("h", 1, "g")), None);
        // A refresh updates a cached row and caches nothing else.
        cache.refresh(&row("h", 1, "f"), Some(b"v2"));
        cache.refresh(&row("h", 1, "g"), Some(b"new"));
        assert_eq!(cache.get(&row("h", 1, "f")), Some(Some(b"v2".to_vec())));
        assert_eq!(cache.get(&row("h", 1, "g")), None);
        cache.refresh(&row("h", 1, "f"), None);
        assert_eq!(cache.get(&row("h", 1, "f")), Some(None));
        cache.clear();
        assert_eq!(cache.get(&row("h", 1, "absent")), None);
    }

    #[test]
    fn long_rows_are_held_outside_the_table() {
        let cache = SubCache::new(64 << 20);
        let (field, value) = ("f".repeat(100), vec![7u8; 5000]);
        cache.put(&row("h", 3, &field), Some(&value));
        assert_eq!(cache.get(&row("h", 3, &field)), Some(Some(value.clone())));
        // Shrinking back to an inline value frees the allocation.
        let before = cache.held_bytes();
        cache.put(&row("h", 3, &field), Some(b"short"));
        assert!(cache.held_bytes() < before);
        assert_eq!(
            cache.get(&row("h", 3, &field)),
            Some(Some(b"short".to_vec()))
        );
        // A row too long for its shard's share is not cached, and replaces no cached value.
        cache.put(&row("h", 3, &field), Some(&vec![0u8; 1 << 20]));
        assert_eq!(cache.get(&row("h", 3, &field)), None);
    }

    #[test]
    fn the_table_grows_to_hold_what_fits_the_budget() {
        let cache = SubCache::new(256 << 20);
        let rows: Vec<Vec<u8>> = (0..100_000)
            .map(|i| row("set", 9, &format!("member:{i}")))
            .collect();
        for row in &rows {
            cache.put(row, Some(b""));
        }
        let found = rows.iter().filter(|r| cache.get(r).is_some()).count();
        assert!(found >= 99_000, "{found} of 100000 rows found");
    }

    #[test]
    fn rows_held_stay_within_the_budget() {
        let budget = 4 << 20;
        let cache = SubCache::new(budget as u64);
        for i in 0..200_000 {
            // A long value every tenth row.
            let value = if i % 10 == 0 {
                vec![1u8; 300]
            } else {
                vec![2u8; 8]
            };
            cache.put(&row("h", 1, &format!("field:{i}")), Some(&value));
        }
        assert!(
            cache.held_bytes() <= budget,
            "{} bytes held",
            cache.held_bytes()
        );
        // The latest rows are cached.
        assert!(cache.get(&row("h", 1, "field:199999")).is_some());
        cache.set_capacity(1 << 20);
        assert!(
            cache.held_bytes() <= 1 << 20,
            "{} bytes held",
            cache.held_bytes()
        );
    }
}
