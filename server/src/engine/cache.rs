//! Hot caches of decoded rows: metadata rows and stretches of consecutive sub-rows (the list
//! positions an LRANGE read). Single sub-rows have a cache of their own (`sub_cache`).
//!
//! Every command starts by reading its keys' metadata rows, and hash commands read the field
//! rows they touch. A point read in fjall costs a chain of cache misses (and a decode); these
//! caches keep recently used rows in memory, decoded, including "absent" answers.
//!
//! - The metadata cache holds rows as fjall has them, for keys the write buffer does not
//!   hold, in a [`HashCache`] (a pipelined batch announces its keys' rows, see
//!   [`MetaCache::prefetch`]). A read looks in the buffer first (`Engine::read_meta`), so
//!   commits leave the cache alone (a random-key write touched both the cache and the
//!   buffer, a third of a SET's cache misses), and a layer's keys cached are brought up to
//!   its rows before the layer leaves the buffer.
//! - The stretch cache, like the sub-row cache (`sub_cache`), is read first and kept
//!   current by `Txn::commit`, which runs under the shard locks of the keys it touches and
//!   refreshes them right after its batch is committed: a big hash's field found in the
//!   cache costs fewer misses than a search of its partition in the buffer. It is a general
//!   cache (`quick_cache`, [`RowCache`]): a stretch is read once per LRANGE, not once per
//!   command of a pipeline, and is not announced.
//!
//! FLUSHALL clears them together with the keyspaces. (Background reclaim deletes sub-rows only
//! of dropped versions, which no reader asks for again: versions are never reused.)

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use quick_cache::sync::Cache;
use quick_cache::Weighter;

use super::hash_cache::{spilled_bytes, CacheEntry, HashCache};
use super::keys;
use super::meta::Meta;

/// A cached metadata row: `None` caches "no such key".
pub type CachedMeta = Option<Arc<Meta>>;

/// Heap bytes a cached value holds, for the caches' memory bound.
pub trait CachedValue: Clone {
    fn heap_bytes(&self) -> usize;
}

/// A cached metadata row with its row key (the whole key: short ones are held inline).
#[repr(C, align(64))]
#[derive(Default)]
struct MetaEntry {
    hash: u64,
    key: smallvec::SmallVec<[u8; 40]>,
    meta: CachedMeta,
}

impl CacheEntry for MetaEntry {
    fn hash(&self) -> u64 {
        self.hash
    }

    /// The row key if it spilled, and the decoded row (shared with its readers, but held
    /// alive by the cache).
    fn heap_bytes(&self) -> usize {
        let meta = self.meta.as_ref().map_or(0, |m| {
            // The allocation holds the reference counts beside the row.
            size_of::<Meta>() + 2 * size_of::<usize>() + spilled_bytes(&m.value)
        });
        spilled_bytes(&self.key) + meta
    }
}

// An entry fills one cache line.
const _: () = assert!(size_of::<MetaEntry>() == 64);

/// Decoded metadata rows of recently used keys, by row key.
pub struct MetaCache {
    cache: HashCache<MetaEntry>,
}

/// The hash a metadata row is cached by: of its fixed-length header and the key, so that a
/// batch can announce the row (see [`MetaCache::prefetch`]) without assembling its row key.
fn meta_hash(header: &[u8], key: &[u8]) -> u64 {
    const STATE: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x3e7a);
    STATE.hash_one((header, key))
}

fn hash_of_row(row_key: &[u8]) -> u64 {
    let (header, key) = row_key.split_at(keys::META_HEADER.min(row_key.len()));
    meta_hash(header, key)
}

/// Picks the entry of `row_key` among those of its hash.
fn is_row(row_key: &[u8]) -> impl Fn(&MetaEntry) -> bool + '_ {
    move |e| *e.key == *row_key
}

impl MetaCache {
    /// A cache holding up to about `bytes` of rows.
    pub fn new(bytes: u64) -> MetaCache {
        MetaCache {
            cache: HashCache::new(bytes),
        }
    }

    /// Starts loading where the row of `key` (its row key's header, [`keys::meta_prefix`],
    /// and the key) would be cached: a hint, for a lookup to come.
    pub fn prefetch(&self, header: &[u8], key: &[u8]) {
        self.cache.prefetch(meta_hash(header, key));
    }

    /// The cached row (`Some(None)`: cached as "no such key").
    pub fn get(&self, row_key: &[u8]) -> Option<CachedMeta> {
        self.cache
            .read(hash_of_row(row_key), is_row(row_key), |e| e.meta.clone())
    }

    /// Whether the row of `row_key` is cached (as a row or as "no such key").
    pub fn holds(&self, row_key: &[u8]) -> bool {
        self.cache.holds(hash_of_row(row_key), is_row(row_key))
    }

    pub fn put(&self, row_key: &[u8], meta: CachedMeta) {
        self.store(row_key, meta, false);
    }

    /// Updates `row_key` only if it is cached (see [`HashCache::store`]).
    pub fn refresh(&self, row_key: &[u8], meta: CachedMeta) {
        self.store(row_key, meta, true);
    }

    fn store(&self, row_key: &[u8], meta: CachedMeta, only_if_cached: bool) {
        let entry = MetaEntry {
            hash: hash_of_row(row_key),
            key: smallvec::SmallVec::from_slice(row_key),
            meta,
        };
        self.cache.store(entry, is_row(row_key), only_if_cached);
    }

    /// [`MetaCache::refresh`] with the row `decode` gives (`None`: the row would not decode,
    /// and is dropped from the cache), decoded only if `row_key` is cached: most rows of a
    /// layer leaving the write buffer are not, and the flush thread decoded each of them
    /// first (it competes with the network thread for this machine's two cores).
    pub fn refresh_with(&self, row_key: &[u8], decode: impl FnOnce() -> Option<CachedMeta>) {
        if !self.holds(row_key) {
            return;
        }
        match decode() {
            Some(meta) => self.refresh(row_key, meta),
            None => self.remove(row_key),
        }
    }

    pub fn remove(&self, row_key: &[u8]) {
        self.cache.remove(hash_of_row(row_key), is_row(row_key));
    }

    /// Whether anything was put in the cache since it was created or cleared.
    pub fn was_filled(&self) -> bool {
        self.cache.was_filled()
    }

    pub fn clear(&self) {
        self.cache.clear();
    }

    /// Changes how many bytes of rows the cache holds.
    pub fn set_capacity(&self, bytes: u64) {
        self.cache.set_capacity(bytes);
    }

    /// The size the cache was given, in bytes.
    pub fn capacity(&self) -> u64 {
        self.cache.capacity()
    }
}

/// A run of consecutive sub-rows of one key version, as one read returned them: a feed's
/// `LRANGE 0 99` read again costs one lookup instead of one per element.
pub struct Stretch {
    /// The sort key of the first row.
    pub first: Vec<u8>,
    /// The rows' values, in order (shared with the replies that send them).
    pub values: Arc<Vec<Bytes>>,
}

/// The values of a stretch as a read returns them: the first `len` of `all`, which may be
/// shared with the stretch cache.
pub struct StretchValues {
    pub all: Arc<Vec<Bytes>>,
    pub len: usize,
}

impl StretchValues {
    /// The values as a vector of their own (without a copy if they are not shared).
    pub fn into_vec(self) -> Vec<Bytes> {
        match Arc::try_unwrap(self.all) {
            Ok(mut values) => {
                values.truncate(self.len);
                values
            }
            Err(shared) => shared[..self.len.min(shared.len())].to_vec(),
        }
    }
}

/// A cached stretch, keyed by the sub-row prefix (metadata row key and version) of its rows.
pub type CachedStretch = Arc<Stretch>;

impl CachedValue for CachedStretch {
    fn heap_bytes(&self) -> usize {
        // Each value's own header and its shared buffer's.
        let values: usize = self.values.iter().map(|v| v.len() + 64).sum();
        self.first.len() + values
    }
}

/// A cached row's key, inside the cache's entry when it is short (most are): a lookup
/// compares keys without following a pointer to each, and an insert allocates nothing for it.
type CacheKey = smallvec::SmallVec<[u8; 48]>;

#[derive(Clone)]
struct ByteWeight;

impl<V: CachedValue> Weighter<CacheKey, V> for ByteWeight {
    fn weight(&self, key: &CacheKey, value: &V) -> u64 {
        // Key, value and a fixed overhead for the entry and the value's struct.
        (key.len() + value.heap_bytes() + 96) as u64
    }
}

/// A memory-bounded cache from row key to decoded row.
pub struct RowCache<V: CachedValue> {
    cache: Cache<CacheKey, V, ByteWeight>,
    /// The size asked for (the cache's own figure is rounded up to a multiple of its
    /// shard count).
    bytes: AtomicU64,
    /// Set by the first insert (cleared by `clear`): writers skip invalidating rows of a
    /// cache that was never filled.
    filled: AtomicBool,
}

/// The last stretch read of recently read keys (at most one per key version).
pub type StretchCache = RowCache<CachedStretch>;

impl<V: CachedValue> RowCache<V> {
    /// A cache holding up to about `bytes` of rows.
    pub fn new(bytes: u64) -> RowCache<V> {
        let estimated_items = (bytes / 160).max(1024) as usize;
        RowCache {
            cache: Cache::with_weighter(estimated_items, bytes.max(1), ByteWeight),
            bytes: AtomicU64::new(bytes),
            filled: AtomicBool::new(false),
        }
    }

    pub fn get(&self, row_key: &[u8]) -> Option<V> {
        self.cache.get(row_key)
    }

    pub fn put(&self, row_key: &[u8], value: V) {
        if !self.filled.load(Ordering::Relaxed) {
            self.filled.store(true, Ordering::Relaxed);
        }
        self.cache.insert(CacheKey::from_slice(row_key), value);
    }

    /// Whether anything was put in the cache since it was created or cleared.
    pub fn was_filled(&self) -> bool {
        self.filled.load(Ordering::Relaxed)
    }

    /// Updates `row_key` only if it is cached: writers keep cached rows current without
    /// filling the cache with rows nobody reads (a bulk ZADD writes millions of member rows
    /// that are read back only through the sorted set's in-memory index).
    pub fn refresh(&self, row_key: &[u8], value: V) {
        let _ = self
            .cache
            .replace(CacheKey::from_slice(row_key), value, true);
    }

    pub fn remove(&self, row_key: &[u8]) {
        self.cache.remove(row_key);
    }

    pub fn clear(&self) {
        self.filled.store(false, Ordering::Relaxed);
        self.cache.clear();
    }

    /// Changes how many bytes of rows the cache holds (evicting rows if it shrinks).
    pub fn set_capacity(&self, bytes: u64) {
        self.cache.set_capacity(bytes.max(1));
        self.bytes.store(bytes, Ordering::Relaxed);
    }

    /// The size the cache was given, in bytes.
    pub fn capacity(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_key(key: &str) -> Vec<u8> {
        keys::meta_key(0, key.as_bytes())
    }

    fn string(value: &[u8]) -> CachedMeta {
        Some(Arc::new(Meta::string(value.to_vec())))
    }

    fn value_of(cached: Option<CachedMeta>) -> Option<Option<Vec<u8>>> {
        cached.map(|meta| meta.map(|m| m.value.to_vec()))
    }

    #[test]
    fn metadata_rows_are_found_by_row_key() {
        let cache = MetaCache::new(64 << 20);
        let long_key = "k".repeat(100);
        cache.put(&row_key("a"), string(b"1"));
        cache.put(&row_key("gone"), None);
        cache.put(&row_key(&long_key), string(b"long"));
        // Announcing a lookup (cached or not) changes nothing.
        for key in ["a", "gone", "b", &long_key] {
            let row = row_key(key);
            cache.prefetch(&row[..keys::META_HEADER], key.as_bytes());
        }
        assert_eq!(
            value_of(cache.get(&row_key("a"))),
            Some(Some(b"1".to_vec()))
        );
        assert_eq!(value_of(cache.get(&row_key("gone"))), Some(None));
        assert_eq!(
            value_of(cache.get(&row_key(&long_key))),
            Some(Some(b"long".to_vec()))
        );
        assert!(cache.get(&row_key("b")).is_none());
        // A refresh updates a cached row and caches nothing else.
        cache.refresh(&row_key("a"), string(b"2"));
        cache.refresh(&row_key("b"), string(b"new"));
        assert_eq!(
            value_of(cache.get(&row_key("a"))),
            Some(Some(b"2".to_vec()))
        );
        assert!(cache.get(&row_key("b")).is_none());
        cache.remove(&row_key("a"));
        assert!(cache.get(&row_key("a")).is_none());
        cache.clear();
        assert!(cache.get(&row_key("gone")).is_none());
    }

    #[test]
    fn metadata_rows_held_stay_within_the_budget() {
        let budget = 4 << 20;
        let cache = MetaCache::new(budget as u64);
        for i in 0..200_000 {
            cache.put(&row_key(&format!("key:{i}")), string(b"value"));
        }
        let held = cache.cache.held_bytes();
        assert!(held <= budget, "{held} bytes held");
        assert!(cache.get(&row_key("key:199999")).is_some());
        // Many rows fit a bigger budget.
        let cache = MetaCache::new(256 << 20);
        for i in 0..100_000 {
            cache.put(&row_key(&format!("key:{i}")), string(b"value"));
        }
        let found = (0..100_000)
            .filter(|i| cache.get(&row_key(&format!("key:{i}"))).is_some())
            .count();
        assert!(found >= 99_000, "{found} of 100000 rows found");
    }
}
