//! A memory-bounded hash table of cached rows whose lookups a pipelined batch can announce:
//! what the sub-row cache (`sub_cache`) and the metadata cache (`cache::MetaCache`) are
//! built on.
//!
//! A table of its own rather than a general cache crate, for two reasons, both measured on
//! pipelined commands (`perf`, 50 clients, pipeline 16), where `quick_cache` took a fifth of
//! the server's CPU (SADD of existing members) and a seventh (INCR of counters fjall held):
//! - A lookup costs one cache miss, not three: a bucket's eight tags share one cache line and
//!   an entry's key and short value sit inline in one line of their own. The general cache
//!   chained its hash table's control bytes, its slot index and its entry.
//! - A lookup can be announced: a pipelined batch knows its commands' keys before they run,
//!   and [`HashCache::prefetch`] loads their buckets' tag lines and their home ways' entries
//!   meanwhile.
//!
//! Eviction: each shard's table doubles while it fits its share of the budget; once it can
//! no more, an insert into a full bucket replaces one of its entries not read since the
//! bucket last evicted (a per-bucket CLOCK). Bytes entries hold outside the table are
//! counted against the budget too, and a sweep over the table evicts such entries when they
//! would pass it.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::prefetch::prefetch;

/// Shards, each with its own lock and table: picked by the hash's top bits.
const SHARD_BITS: u32 = 6;
const SHARDS: usize = 1 << SHARD_BITS;
/// Entries per bucket: one tag each in the bucket's cache line.
const WAYS: usize = 8;
/// Buckets a shard's table starts with (and returns to when cleared).
const FIRST_BUCKETS: usize = 8;

/// Bytes a byte vector holds on the heap (none while its bytes are inline): what an entry's
/// [`CacheEntry::heap_bytes`] counts for it.
pub(crate) fn spilled_bytes<A: smallvec::Array<Item = u8>>(bytes: &smallvec::SmallVec<A>) -> usize {
    if bytes.spilled() {
        bytes.capacity()
    } else {
        0
    }
}

/// An entry of a [`HashCache`]: one cached row, with what tells it from the other rows of
/// its hash. `Default` is the empty way.
pub(crate) trait CacheEntry: Default {
    /// The hash the row is cached under (see [`HashCache::store`]).
    fn hash(&self) -> u64;
    /// Bytes the entry holds outside its table.
    fn heap_bytes(&self) -> usize;
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

struct Table<E> {
    buckets: Box<[Bucket]>,
    /// `WAYS` entries per bucket.
    entries: Box<[E]>,
    /// Bytes held by entries outside the table.
    heap: usize,
    /// Where the sweep for long entries goes on (an entry index).
    hand: usize,
}

impl<E: CacheEntry> Table<E> {
    fn new(buckets: usize) -> Table<E> {
        Table {
            buckets: vec![Bucket::default(); buckets].into_boxed_slice(),
            entries: (0..buckets * WAYS).map(|_| E::default()).collect(),
            heap: 0,
            hand: 0,
        }
    }

    fn table_bytes(&self) -> usize {
        self.buckets.len() * (size_of::<Bucket>() + WAYS * size_of::<E>())
    }

    fn bucket_of(&self, hash: u64) -> usize {
        hash as usize & (self.buckets.len() - 1)
    }

    /// The entry index of the cached row of `hash` that `is_it` accepts.
    fn find(&self, hash: u64, is_it: &impl Fn(&E) -> bool) -> Option<usize> {
        let (bucket, tag) = (self.bucket_of(hash), tag_of(hash));
        let tags = &self.buckets[bucket].tags;
        ways_from_home(hash)
            .filter(|&way| tags[way] == tag)
            .map(|way| bucket * WAYS + way)
            .find(|&index| is_it(&self.entries[index]))
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
    fn place(&mut self, index: usize, entry: E) {
        self.heap = self.heap - self.entries[index].heap_bytes() + entry.heap_bytes();
        self.buckets[index / WAYS].tags[index % WAYS] = tag_of(entry.hash());
        self.entries[index] = entry;
    }

    fn evict(&mut self, index: usize) {
        self.heap -= self.entries[index].heap_bytes();
        self.buckets[index / WAYS].tags[index % WAYS] = 0;
        self.entries[index] = E::default();
    }

    /// Evicts long entries (from where the last sweep stopped) until `needed` more heap
    /// bytes fit `budget`, or every entry was looked at once. Whether they fit.
    fn sweep_heap(&mut self, needed: usize, budget: usize) -> bool {
        let fits = |table: &Table<E>| table.table_bytes() + table.heap + needed <= budget;
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
    fn doubled(&mut self) -> Table<E> {
        let mut bigger = Table::new(self.buckets.len() * 2);
        for index in 0..self.entries.len() {
            if self.buckets[index / WAYS].tags[index % WAYS] == 0 {
                continue;
            }
            let entry = std::mem::take(&mut self.entries[index]);
            if let Some(free) = bigger.free_way(entry.hash()) {
                bigger.place(free, entry);
            }
        }
        bigger
    }
}

/// One shard: its table, and where the table is for [`HashCache::prefetch`], which reads it
/// without the lock (a prefetch of a stale address is harmless: it reads nothing).
#[repr(align(64))]
struct Shard<E> {
    table: Mutex<Table<E>>,
    buckets: AtomicPtr<Bucket>,
    entries: AtomicPtr<E>,
    mask: AtomicUsize,
}

impl<E: CacheEntry> Shard<E> {
    fn new() -> Shard<E> {
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
    fn empty(&self, table: &mut Table<E>) {
        *table = Table::new(FIRST_BUCKETS);
        self.publish(table);
    }

    /// Makes `table` the one [`HashCache::prefetch`] looks in.
    fn publish(&self, table: &mut Table<E>) {
        self.buckets
            .store(table.buckets.as_mut_ptr(), Ordering::Relaxed);
        self.entries
            .store(table.entries.as_mut_ptr(), Ordering::Relaxed);
        self.mask.store(table.buckets.len() - 1, Ordering::Relaxed);
    }

    /// Where a new entry of `hash` goes: a free way of its bucket, after doubling the table
    /// if its bucket is full and a doubled table fits the budget, else an evicted way.
    fn way_for(&self, table: &mut Table<E>, hash: u64, budget: usize) -> usize {
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

/// Entries of type `E`, sharded (see the module documentation).
pub(crate) struct HashCache<E> {
    shards: Box<[Shard<E>]>,
    /// The size asked for, in bytes.
    bytes: AtomicU64,
    /// Set by the first insert (cleared by `clear`): writers skip refreshing rows of a cache
    /// that was never filled.
    filled: AtomicBool,
}

impl<E: CacheEntry> HashCache<E> {
    /// A cache holding up to about `bytes` of rows.
    pub(crate) fn new(bytes: u64) -> HashCache<E> {
        HashCache {
            shards: (0..SHARDS).map(|_| Shard::new()).collect(),
            bytes: AtomicU64::new(bytes),
            filled: AtomicBool::new(false),
        }
    }

    fn shard(&self, hash: u64) -> &Shard<E> {
        &self.shards[(hash >> (64 - SHARD_BITS)) as usize]
    }

    fn shard_budget(&self) -> usize {
        (self.bytes.load(Ordering::Relaxed) / SHARDS as u64) as usize
    }

    /// Starts loading the bucket where a row of `hash` would be cached, and its home way's
    /// entry: a hint, for a lookup to come.
    pub(crate) fn prefetch(&self, hash: u64) {
        let shard = self.shard(hash);
        let bucket = hash as usize & shard.mask.load(Ordering::Relaxed);
        prefetch(shard.buckets.load(Ordering::Relaxed).wrapping_add(bucket));
        let entry = bucket * WAYS + home_way(hash);
        prefetch(shard.entries.load(Ordering::Relaxed).wrapping_add(entry));
    }

    /// `read` of the cached entry of `hash` that `is_it` accepts, if there is one.
    pub(crate) fn read<R>(
        &self,
        hash: u64,
        is_it: impl Fn(&E) -> bool,
        read: impl FnOnce(&E) -> R,
    ) -> Option<R> {
        let mut table = self.shard(hash).table.lock();
        let index = table.find(hash, &is_it)?;
        table.mark_read(index);
        Some(read(&table.entries[index]))
    }

    /// Whether an entry `is_it` accepts is cached (not counted as a read).
    pub(crate) fn holds(&self, hash: u64, is_it: impl Fn(&E) -> bool) -> bool {
        self.shard(hash).table.lock().find(hash, &is_it).is_some()
    }

    /// Caches `entry` in place of the entry `is_it` accepts, if any; with `only_if_cached`,
    /// only if there is one (writers keep cached rows current without filling the cache with
    /// rows nobody reads).
    pub(crate) fn store(&self, entry: E, is_it: impl Fn(&E) -> bool, only_if_cached: bool) {
        if !self.was_filled() {
            if only_if_cached {
                return;
            }
            self.filled.store(true, Ordering::Relaxed);
        }
        let hash = entry.hash();
        let budget = self.shard_budget();
        let shard = self.shard(hash);
        let mut table = shard.table.lock();
        if only_if_cached && table.find(hash, &is_it).is_none() {
            return;
        }
        let long = entry.heap_bytes();
        // A row longer than an eighth of the shard's budget is not cached (nor left stale):
        // it would evict many others, and copying it costs more than finding it.
        if long > 0 && (long > budget / 8 || !table.sweep_heap(long, budget)) {
            if let Some(index) = table.find(hash, &is_it) {
                table.evict(index);
            }
            return;
        }
        // Looked up again: the sweep may have evicted the cached row.
        let index = match table.find(hash, &is_it) {
            Some(index) => index,
            None => shard.way_for(&mut table, hash, budget),
        };
        table.place(index, entry);
    }

    /// Drops the cached entry of `hash` that `is_it` accepts.
    pub(crate) fn remove(&self, hash: u64, is_it: impl Fn(&E) -> bool) {
        let mut table = self.shard(hash).table.lock();
        if let Some(index) = table.find(hash, &is_it) {
            table.evict(index);
        }
    }

    /// Whether anything was put in the cache since it was created or cleared.
    pub(crate) fn was_filled(&self) -> bool {
        self.filled.load(Ordering::Relaxed)
    }

    pub(crate) fn clear(&self) {
        self.filled.store(false, Ordering::Relaxed);
        for shard in self.shards.iter() {
            shard.empty(&mut shard.table.lock());
        }
    }

    /// Changes how many bytes of rows the cache holds: a shard holding more than its new
    /// share starts over empty.
    pub(crate) fn set_capacity(&self, bytes: u64) {
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
    pub(crate) fn capacity(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Bytes the shards hold: their tables and their entries' allocations.
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> usize {
        let held = |shard: &Shard<E>| {
            let table = shard.table.lock();
            table.table_bytes() + table.heap
        };
        self.shards.iter().map(held).sum()
    }
}

// A bucket's tags fill one cache line.
const _: () = assert!(size_of::<Bucket>() == 64);
