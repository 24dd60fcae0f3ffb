//! The sub-row cache: values of recently read sub-rows (hash fields, set members), including
//! "no such row" answers, by key version and sort key.
//!
//! A hash table of its own rather than a general cache crate, for two reasons, both measured
//! on a pipelined SADD of existing members (`perf`, 50 clients, pipeline 16), where the cache
//! it replaces (`quick_cache`) took a fifth of the server's CPU:
//! - A lookup costs one cache miss, not three: a bucket's eight tags share one cache line and
//!   an entry's key and short value sit inline in one line of their own. The general cache
//!   chained its hash table's control bytes, its slot index and its entry.
//! - A lookup can be announced: a pipelined batch knows its commands' keys and fields before
//!   they run, and [`SubCache::prefetch`] loads their buckets' tag lines meanwhile (as the
//!   write buffer's metadata rows are loaded, see `Engine::prefetch_metadata`). So a bucket
//!   is found by the user key and the sort key, which a request names, not by the version,
//!   which only its metadata row tells; the version is compared with the rest of the key
//!   (versions are never reused, not even by another key, so version and sort key name one
//!   row).
//!
//! Eviction: each shard's table doubles while it fits its share of the budget; once it can
//! no more, an insert into a full bucket replaces one of its entries not read since the
//! bucket last evicted (a per-bucket CLOCK). Values too long to be held inline are counted
//! against the budget too, and a sweep over the table evicts such entries when they would
//! pass it.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;
use smallvec::SmallVec;

use super::keys;
use super::prefetch::prefetch;

/// Shards, each with its own lock and table: picked by the hash's top bits.
const SHARD_BITS: u32 = 6;
const SHARDS: usize = 1 << SHARD_BITS;
/// Entries per bucket: one tag each in the bucket's cache line.
const WAYS: usize = 8;
/// Buckets a shard's table starts with (and returns to when cleared).
const FIRST_BUCKETS: usize = 8;
/// Bytes of sort key and value an entry holds without an allocation of its own (a
/// redis-benchmark member, `member:000000012345`, or a field and a short value).
const INLINE: usize = 32;

/// One cached row: its version and sort key (the hash's other input, the user key, needs no
/// comparison: the version names one key), and its value unless the row is absent.
#[repr(C, align(64))]
#[derive(Default)]
struct Entry {
    /// The row's [`hash_of`], for moving it when its table doubles.
    hash: u64,
    version: u64,
    /// The sort key followed by the value.
    bytes: SmallVec<[u8; INLINE]>,
    sort_key_len: u32,
    absent: bool,
}

impl Entry {
    fn new(hash: u64, version: u64, sort_key: &[u8], value: Option<&[u8]>) -> Entry {
        let value_bytes = value.unwrap_or_default();
        let mut bytes = SmallVec::with_capacity(sort_key.len() + value_bytes.len());
        bytes.extend_from_slice(sort_key);
        bytes.extend_from_slice(value_bytes);
        Entry {
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

    /// Bytes the entry holds outside its table.
    fn heap_bytes(&self) -> usize {
        if self.bytes.spilled() {
            self.bytes.capacity()
        } else {
            0
        }
    }
}

/// A bucket's tags (0: the way is empty) and which of its entries were read since it last
/// evicted one.
#[repr(C, align(64))]
#[derive(Default, Clone, Copy)]
struct Bucket {
    tags: [u32; WAYS],
    read: u8,
}

/// A key's tag: 32 bits of its hash other than those that pick the shard and the bucket,
/// never 0.
fn tag_of(hash: u64) -> u32 {
    ((hash >> 24) as u32) | 1
}

/// The way a key's entry takes if it is free: a prefetch loads that entry with the bucket, so
/// a lookup usually waits for neither.
fn home_way(hash: u64) -> usize {
    (hash >> 16) as usize % WAYS
}

/// A bucket's ways, from `hash`'s home way on.
fn ways_from_home(hash: u64) -> impl Iterator<Item = usize> {
    let home = home_way(hash);
    (0..WAYS).map(move |i| (home + i) % WAYS)
}

struct Table {
    buckets: Box<[Bucket]>,
    /// `WAYS` entries per bucket.
    entries: Box<[Entry]>,
    /// Bytes held by entries outside the table.
    heap: usize,
    /// Where the sweep for long entries goes on (an entry index).
    hand: usize,
}

impl Table {
    fn new(buckets: usize) -> Table {
        Table {
            buckets: vec![Bucket::default(); buckets].into_boxed_slice(),
            entries: (0..buckets * WAYS).map(|_| Entry::default()).collect(),
            heap: 0,
            hand: 0,
        }
    }

    fn table_bytes(&self) -> usize {
        self.buckets.len() * (size_of::<Bucket>() + WAYS * size_of::<Entry>())
    }

    fn bucket_of(&self, hash: u64) -> usize {
        hash as usize & (self.buckets.len() - 1)
    }

    /// The entry index of a cached row.
    fn find(&self, hash: u64, version: u64, sort_key: &[u8]) -> Option<usize> {
        let (bucket, tag) = (self.bucket_of(hash), tag_of(hash));
        let tags = &self.buckets[bucket].tags;
        ways_from_home(hash)
            .filter(|&way| tags[way] == tag)
            .map(|way| bucket * WAYS + way)
            .find(|&index| self.entries[index].is(version, sort_key))
    }

    fn mark_read(&mut self, index: usize) {
        let (bucket, bit) = (&mut self.buckets[index / WAYS], 1u8 << (index % WAYS));
        if bucket.read & bit == 0 {
            bucket.read |= bit;
        }
    }

    /// A way of `hash`'s bucket with no entry.
    fn free_way(&self, hash: u64) -> Option<usize> {
        let bucket = self.bucket_of(hash);
        let tags = &self.buckets[bucket].tags;
        ways_from_home(hash)
            .find(|&way| tags[way] == 0)
            .map(|way| bucket * WAYS + way)
    }

    /// The way of `hash`'s (full) bucket to evict: one not read since the bucket last
    /// evicted, else any (and every way starts over as unread).
    fn victim(&mut self, hash: u64) -> usize {
        let bucket_index = self.bucket_of(hash);
        let bucket = &mut self.buckets[bucket_index];
        let unread = ways_from_home(hash).find(|&way| bucket.read & (1 << way) == 0);
        let way = unread.unwrap_or_else(|| {
            bucket.read = 0;
            home_way(hash)
        });
        bucket.read &= !(1 << way);
        bucket_index * WAYS + way
    }

    /// Puts `entry` at `index` (an entry of its hash's bucket), replacing what was there.
    fn place(&mut self, index: usize, entry: Entry) {
        self.heap = self.heap - self.entries[index].heap_bytes() + entry.heap_bytes();
        self.buckets[index / WAYS].tags[index % WAYS] = tag_of(entry.hash);
        self.entries[index] = entry;
    }

    fn evict(&mut self, index: usize) {
        self.heap -= self.entries[index].heap_bytes();
        self.buckets[index / WAYS].tags[index % WAYS] = 0;
        self.entries[index] = Entry::default();
    }

    /// Evicts long entries (from where the last sweep stopped) until `needed` more heap
    /// bytes fit `budget`, or every entry was looked at once. Whether they fit.
    fn sweep_heap(&mut self, needed: usize, budget: usize) -> bool {
        let fits = |table: &Table| table.table_bytes() + table.heap + needed <= budget;
        for _ in 0..self.entries.len() {
            if fits(self) {
                return true;
            }
            let index = self.hand;
            self.hand = (self.hand + 1) % self.entries.len();
            if self.entries[index].heap_bytes() > 0 {
                self.evict(index);
            }
        }
        fits(self)
    }

    /// The table doubled, its entries moved over (an entry whose new bucket is full is
    /// dropped, which is rare: each old bucket splits in two).
    fn doubled(&mut self) -> Table {
        let mut bigger = Table::new(self.buckets.len() * 2);
        for index in 0..self.entries.len() {
            if self.buckets[index / WAYS].tags[index % WAYS] == 0 {
                continue;
            }
            let entry = std::mem::take(&mut self.entries[index]);
            if let Some(free) = bigger.free_way(entry.hash) {
                bigger.place(free, entry);
            }
        }
        bigger
    }
}

/// One shard: its table, and where the table is for [`SubCache::prefetch`], which reads it
/// without the lock (a prefetch of a stale address is harmless: it reads nothing).
#[repr(align(64))]
struct Shard {
    table: Mutex<Table>,
    buckets: AtomicPtr<Bucket>,
    entries: AtomicPtr<Entry>,
    mask: AtomicUsize,
}

impl Shard {
    fn new() -> Shard {
        let shard = Shard {
            table: Mutex::new(Table::new(FIRST_BUCKETS)),
            buckets: AtomicPtr::default(),
            entries: AtomicPtr::default(),
            mask: AtomicUsize::new(0),
        };
        shard.publish(&mut shard.table.lock());
        shard
    }

    /// Replaces the shard's `table` (held locked) with an empty one of the first size.
    fn empty(&self, table: &mut Table) {
        *table = Table::new(FIRST_BUCKETS);
        self.publish(table);
    }

    /// Makes `table` the one [`SubCache::prefetch`] looks in.
    fn publish(&self, table: &mut Table) {
        self.buckets
            .store(table.buckets.as_mut_ptr(), Ordering::Relaxed);
        self.entries
            .store(table.entries.as_mut_ptr(), Ordering::Relaxed);
        self.mask.store(table.buckets.len() - 1, Ordering::Relaxed);
    }

    /// Where a new entry of `hash` goes: a free way of its bucket, after doubling the table
    /// if its bucket is full and a doubled table fits the budget, else an evicted way.
    fn way_for(&self, table: &mut Table, hash: u64, budget: usize) -> usize {
        if let Some(free) = table.free_way(hash) {
            return free;
        }
        if table.table_bytes() * 2 + table.heap <= budget {
            *table = table.doubled();
            self.publish(table);
            if let Some(free) = table.free_way(hash) {
                return free;
            }
        }
        table.victim(hash)
    }
}

/// The sub-row cache (see the module documentation).
pub struct SubCache {
    shards: Box<[Shard]>,
    /// The size asked for, in bytes.
    bytes: AtomicU64,
    /// Set by the first insert (cleared by `clear`): writers skip refreshing rows of a cache
    /// that was never filled.
    filled: AtomicBool,
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
            shards: (0..SHARDS).map(|_| Shard::new()).collect(),
            bytes: AtomicU64::new(bytes),
            filled: AtomicBool::new(false),
        }
    }

    fn shard(&self, hash: u64) -> &Shard {
        &self.shards[(hash >> (64 - SHARD_BITS)) as usize]
    }

    fn shard_budget(&self) -> usize {
        (self.bytes.load(Ordering::Relaxed) / SHARDS as u64) as usize
    }

    /// Starts loading the bucket where sort key `sort_key` of user key `key` would be cached
    /// (of whatever version), and its home way's entry: a hint, for a lookup to come.
    pub fn prefetch(&self, key: &[u8], sort_key: &[u8]) {
        let hash = hash_of(key, sort_key);
        let shard = self.shard(hash);
        let bucket = hash as usize & shard.mask.load(Ordering::Relaxed);
        prefetch(shard.buckets.load(Ordering::Relaxed).wrapping_add(bucket));
        let entry = bucket * WAYS + home_way(hash);
        prefetch(shard.entries.load(Ordering::Relaxed).wrapping_add(entry));
    }

    /// The cached value of sub-row `row`: `Some(None)` if it is cached as absent, `None` if
    /// it is not cached.
    pub fn get(&self, row: &[u8]) -> Option<Option<Vec<u8>>> {
        let (key, version, sort_key) = keys::sub_row_parts(row);
        let hash = hash_of(key, sort_key);
        let mut table = self.shard(hash).table.lock();
        let index = table.find(hash, version, sort_key)?;
        table.mark_read(index);
        Some(table.entries[index].value().map(<[u8]>::to_vec))
    }

    /// Caches `value` (`None`: absent) as sub-row `row`'s.
    pub fn put(&self, row: &[u8], value: Option<&[u8]>) {
        if !self.filled.load(Ordering::Relaxed) {
            self.filled.store(true, Ordering::Relaxed);
        }
        self.store(row, value, false);
    }

    /// Updates sub-row `row` only if it is cached: writers keep cached rows current without
    /// filling the cache with rows nobody reads (a bulk ZADD writes millions of member rows
    /// that are read back only through the sorted set's in-memory index).
    pub fn refresh(&self, row: &[u8], value: Option<&[u8]>) {
        if self.filled.load(Ordering::Relaxed) {
            self.store(row, value, true);
        }
    }

    fn store(&self, row: &[u8], value: Option<&[u8]>, only_if_cached: bool) {
        let (key, version, sort_key) = keys::sub_row_parts(row);
        let hash = hash_of(key, sort_key);
        let budget = self.shard_budget();
        let shard = self.shard(hash);
        let mut table = shard.table.lock();
        if only_if_cached && table.find(hash, version, sort_key).is_none() {
            return;
        }
        let entry = Entry::new(hash, version, sort_key, value);
        let long = entry.heap_bytes();
        // A row longer than an eighth of the shard's budget is not cached (nor left stale):
        // it would evict many others, and copying it costs more than finding it.
        if long > 0 && (long > budget / 8 || !table.sweep_heap(long, budget)) {
            if let Some(index) = table.find(hash, version, sort_key) {
                table.evict(index);
            }
            return;
        }
        // Looked up again: the sweep may have evicted the cached row.
        let index = match table.find(hash, version, sort_key) {
            Some(index) => index,
            None => shard.way_for(&mut table, hash, budget),
        };
        table.place(index, entry);
    }

    pub fn clear(&self) {
        self.filled.store(false, Ordering::Relaxed);
        for shard in self.shards.iter() {
            shard.empty(&mut shard.table.lock());
        }
    }

    /// Changes how many bytes of rows the cache holds: a shard holding more than its new
    /// share starts over empty.
    pub fn set_capacity(&self, bytes: u64) {
        self.bytes.store(bytes, Ordering::Relaxed);
        let budget = self.shard_budget();
        for shard in self.shards.iter() {
            let mut table = shard.table.lock();
            if table.table_bytes() + table.heap > budget {
                shard.empty(&mut table);
            }
        }
    }

    /// The size the cache was given, in bytes.
    pub fn capacity(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

// An entry fills one cache line, a bucket's tags another.
const _: () = assert!(size_of::<Entry>() == 64 && size_of::<Bucket>() == 64);

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
        /// Bytes the shards hold: their tables and their entries' allocations.
        fn held_bytes(&self) -> usize {
            let held = |shard: &Shard| {
                let table = shard.table.lock();
                table.table_bytes() + table.heap
            };
            self.shards.iter().map(held).sum()
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
