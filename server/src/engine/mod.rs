//! The partition/sort-key engine on fjall.
//!
//! One fjall database holds everything, split into keyspaces (fjall's column families):
//!
//! | keyspace | row key | value |
//! |---|---|---|
//! | `meta`   | slot ‖ space ‖ key | [`Meta`] (type, expiry, version, len, inline string) |
//! | `sub`    | meta key ‖ version ‖ sort key | member value (hash field value, zset score…) |
//! | `expiry` | expire_at(8) ‖ meta key | empty: the active-expiry index |
//! | `gc`     | meta key ‖ version | dropped versions whose sub-rows await reclaim; value: last sub-row reclaimed |
//! | `system` | name | engine bookkeeping (version ceiling, shard layout) |
//! | `items`  | slot ‖ table id ‖ partition ‖ sort key | a native table's item ([`Family::Items`]) |
//! | `tables` | table name | a table's description ([`Family::Catalog`]) |
//! | `changelog` | stream name ‖ id | a change record ([`Family::ChangeLog`]) |
//!
//! Keeping metadata apart from sub-rows (as Kvrocks does) lets SCAN/KEYS/DBSIZE walk keys
//! without wading through hash fields and zset members.
//!
//! Every write goes through a [`Txn`] (the one write path): it runs under a lock scope
//! ([`Locks`]: take the shards' locks, or use those an enclosing EXEC holds), buffers rows,
//! commits them as one atomic record of the write buffer's journal (the rows then live in
//! the buffer's in-memory layers until they are ingested into fjall, see
//! [`write_buffer`]; `system` alone is written to fjall directly), and does the bookkeeping (durability sequence,
//! caches, key and item counts, per-shard byte accounting, signals, keyspace events). The
//! keyspaces themselves are private to this module; other layers read rows through
//! [`Rows`] and write them through [`Txn`].

pub mod autoscale;
pub mod background;
pub mod budget;
pub mod cache;
mod compaction;
pub mod disk;
pub mod disk_reads;
pub mod durability;
mod hash_cache;
pub mod keys;
pub mod locks;
pub mod meta;
mod prefetch;
mod read_ahead;
mod row_map;
pub mod shards;
pub mod signals;
mod small_map;
mod store;
pub mod stream_id;
mod sub_cache;
pub mod throttle;
pub mod txn;
mod write_buffer;

use std::collections::HashMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, Slice};
use parking_lot::Mutex;

use cache::CachedMeta;
use store::Store;
use write_buffer::{RowOp, WriteBuffer};

pub use budget::MemoryBudget;
pub use durability::AppendFsync;
pub use locks::{LockGuard, LockSet, Locks};
pub use meta::{meta_value, Kind, ListEnds, Meta, MetaValue};
pub use shards::ShardMap;
pub use store::{Row, StoreIter};
pub use stream_id::StreamId;
pub use txn::{Batch, KeyEvent, Txn};

/// Engine failures. Storage errors are reported to the client as `ERR` replies; they never
/// take down the server.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("storage error: {0}")]
    Storage(#[from] fjall::Error),
    #[error("corrupt value: {0}")]
    Corrupt(String),
    /// Writes are refused: the disk is (nearly) full, or the store stopped taking writes
    /// (the text is the whole `MISCONF` reply, see [`disk`]).
    #[error("{0}")]
    WritesRefused(&'static str),
    /// A key with its field or member is longer than a stored row may be.
    #[error(
        "key, field or member too long: redyn stores a key together with one field or member in at most 65535 bytes"
    )]
    RowTooLong,
    /// A command of a pipelined batch failed after it had written (see
    /// [`txn::Batch::let_next_carry`]): nothing of the batch was applied.
    #[error("a command of this pipelined batch failed part-way; nothing of the batch was applied")]
    BatchAborted,
}

pub type Result<T> = std::result::Result<T, EngineError>;

/// Receives keyspace events after commit (see [`Engine::notifier`]).
pub type Notifier = Box<dyn Fn(&KeyEvent) + Send + Sync>;

/// Receives the keys transactions modified, for client-side caching invalidation (installed
/// by the tracking layer; see [`Engine::tracker`]).
pub trait KeyTracker: Send + Sync {
    /// Whether anybody tracks keys (transactions only record modified keys then).
    fn active(&self) -> bool;
    /// Keys (of any db) a committed transaction modified, in the order it modified them.
    fn modified(&self, keys: &[Vec<u8>]);
    /// Every key of a db, or of all of them, was deleted (FLUSHDB/FLUSHALL).
    fn flushed(&self);
}

/// Current wall-clock time in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Number of Redis logical databases (SELECT 0..15).
pub const REDIS_DBS: u32 = 16;

/// Native tables' spaces (table ids) start here, above the Redis db numbers, so the two
/// never share a row-key space or a count.
pub const FIRST_TABLE_SPACE: u32 = 1 << 16;

/// Row families besides Redis keys: what other layers store through the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// Native table items; counted per table (space).
    Items,
    /// Native table descriptions.
    Catalog,
    /// Change-log records.
    ChangeLog,
}

/// Read access to one row family (writes go through [`Txn::row_write`]).
#[derive(Clone)]
pub struct Rows(Store);

impl Rows {
    pub fn get(&self, key: &[u8]) -> Result<Option<fjall::Slice>> {
        Ok(self.0.get(key)?)
    }

    pub fn iter(&self) -> StoreIter {
        self.0.iter()
    }

    pub fn prefix(&self, prefix: &[u8]) -> StoreIter {
        self.0.prefix(prefix)
    }

    /// Rows within `range`, in key order or (`reverse`) against it.
    pub fn range<K: AsRef<[u8]>, R: std::ops::RangeBounds<K>>(
        &self,
        range: R,
        reverse: bool,
    ) -> StoreIter {
        let owned = |b: Bound<&K>| b.map(|k| k.as_ref().to_vec());
        self.0.range(
            keys::storable_bound(owned(range.start_bound()), true),
            keys::storable_bound(owned(range.end_bound()), false),
            reverse,
        )
    }
}

/// How many versions are reserved per persisted ceiling update.
const VERSION_BLOCK: u64 = 1 << 20;
const VERSION_CEILING_KEY: &[u8] = b"version_ceiling";
const SHARD_LAYOUT_KEY: &[u8] = b"shard_layout";

/// fjall storage figures (see [`Engine::storage_stats`]).
#[derive(Debug, Clone, Copy)]
pub struct StorageStats {
    pub journal_bytes: u64,
    pub journal_files: u64,
    pub disk_bytes: u64,
    pub write_buffer_bytes: u64,
    pub outstanding_flushes: u64,
    pub active_compactions: u64,
    pub compactions_completed: u64,
}

/// Engine settings chosen at start-up.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub appendfsync: AppendFsync,
    pub shards: usize,
    /// How much memory caches and write buffers may take (`maxmemory`).
    pub budget: MemoryBudget,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            appendfsync: AppendFsync::EverySec,
            shards: 4,
            budget: MemoryBudget::default(),
        }
    }
}

pub struct Engine {
    db: Database,
    /// Recent writes of every row family below, in front of fjall (see [`write_buffer`]).
    buffer: Arc<WriteBuffer>,
    meta: Store,
    sub: Store,
    expiry: Store,
    gc: Store,
    items: Store,
    catalog: Store,
    changelog: Store,
    /// Engine settings (version ceiling, shard layout), written to fjall directly.
    system: Keyspace,
    pub shards: ShardMap,
    pub durability: durability::Durability,
    next_version: AtomicU64,
    version_ceiling: Mutex<u64>,
    /// Keys (metadata rows, including expired ones not yet reclaimed) per Redis db, and
    /// items per table: one count per space.
    key_counts: DashMap<u32, AtomicI64>,
    /// Counts keys removed by the active expiry cycle and lazily on access (INFO stats).
    pub expired_keys: AtomicU64,
    /// Keys and items changed by transactions since the last save: Redis's dirty counter
    /// (INFO `rdb_changes_since_last_save`).
    pub changes: AtomicU64,
    /// Bumped by FLUSHDB/FLUSHALL so in-memory caches of typed data can tell they are stale.
    pub flush_epoch: AtomicU64,
    /// Receives keyspace events after their transaction commits (installed by the pub/sub
    /// layer); events are only collected while `notify_enabled` is set.
    pub notifier: OnceLock<Notifier>,
    pub notify_enabled: AtomicBool,
    /// Told of every modified key once its transaction commits, and of flushes.
    pub tracker: OnceLock<Box<dyn KeyTracker>>,
    /// Change signals for WATCH and blocking commands.
    pub signals: signals::KeySignals,
    /// Decoded metadata rows of recently used keys.
    meta_cache: cache::MetaCache,
    /// How long point reads of fjall take: whether they go to the disk now.
    read_times: disk_reads::ReadTimes,
    /// Values of recently used sub-rows (hash fields…).
    sub_cache: sub_cache::SubCache,
    /// Stretches of list positions recently read (LRANGE); a quarter of the sub-row cache's
    /// budget (see [`split_sub_cache`]).
    stretch_cache: cache::StretchCache,
    /// Rows list pops read ahead from fjall.
    read_ahead: read_ahead::ReadAhead,
    /// Refuses writes while the disk is (nearly) full.
    pub disk: Arc<disk::DiskGuard>,
    /// Size at which a keyspace's memtable is sealed and flushed (see
    /// [`Engine::tend_write_buffers`]); follows the memory budget at run time.
    memtable_limit: AtomicU64,
    /// Slows commits down while flushes and compactions lag behind.
    pub throttle: throttle::WriteThrottle,
    /// The metadata keyspace as the sub-row compaction filter reads it.
    filter_meta: compaction::MetaSlot,
}

impl Drop for Engine {
    fn drop(&mut self) {
        // The filter's keyspace handle keeps the database alive: without this, it would
        // never close (nor release its directory lock for a reopen).
        if let Ok(mut slot) = self.filter_meta.lock() {
            slot.take();
        }
    }
}

/// The longest metadata row an ingestion puts into the metadata cache in place of the row
/// cached before (see `Engine::refresh_cached_metas`). Longer rows (a string value held in
/// its metadata row) are dropped instead: filling the cache with a bulk load's 1 KB values as
/// they were ingested raised the memory benchmark's RSS peak by 65 MB (397 -> 462 MB), and
/// reading such a row back from fjall costs little next to copying it.
const REFRESHED_META_MAX: usize = 128;

/// The sub-row cache's budget split between single rows (three quarters) and stretches.
fn split_sub_cache(bytes: u64) -> (u64, u64) {
    let stretches = bytes / 4;
    (bytes - stretches, stretches)
}

fn open_keyspace(db: &Database, name: &str) -> Result<Keyspace> {
    // fjall persists a keyspace's memtable size when it creates the keyspace and rotates
    // at that size itself; the budget's (smaller) size is enforced by
    // `Engine::tend_write_buffers`, so it can follow `maxmemory` at run time.
    let options = || KeyspaceCreateOptions::default().max_memtable_size(budget::MAX_MEMTABLE);
    Ok(db.keyspace(name, options)?)
}

/// Most table files fjall keeps open at once (its default is 900). Fixed here so the server
/// can reserve them when it fits `maxclients` to the open-file limit.
pub const MAX_CACHED_FILES: usize = 512;

impl Engine {
    /// Opens (or creates) the database in `dir` and recovers its state.
    pub fn open(dir: &Path, options: EngineOptions) -> Result<Arc<Engine>> {
        // Journal writes stay in fjall's 8 KiB journal buffer instead of costing a write()
        // per batch; the durability thread hands them to the OS every tick and fsyncs per
        // `appendfsync` (see `durability`).
        let filter_meta = compaction::MetaSlot::default();
        let filter: Arc<dyn fjall::compaction::filter::Factory> =
            Arc::new(compaction::SubRowFilterFactory {
                meta: filter_meta.clone(),
            });
        let db = Database::builder(dir)
            .cache_size(options.budget.block_cache)
            .max_cached_files(Some(MAX_CACHED_FILES))
            .manual_journal_persist(true)
            .with_compaction_filter_factories(Arc::new(move |keyspace: &str| {
                (keyspace == compaction::FILTERED_KEYSPACE).then(|| filter.clone())
            }))
            .open()?;
        let system = open_keyspace(&db, "system")?;
        let buffer = Arc::new(WriteBuffer::open(dir).map_err(fjall::Error::from)?);
        let store = |id, name| -> Result<Store> {
            Ok(Store {
                id,
                keyspace: open_keyspace(&db, name)?,
                buffer: buffer.clone(),
            })
        };
        let shards = match Self::load_layout(&system)? {
            Some(layout) => ShardMap::from_ranges(&layout.ranges),
            None => ShardMap::new(options.shards),
        };
        let engine = Engine {
            meta: store(write_buffer::META, "meta")?,
            sub: store(write_buffer::SUB, compaction::FILTERED_KEYSPACE)?,
            expiry: store(write_buffer::EXPIRY, "expiry")?,
            gc: store(write_buffer::GC, "gc")?,
            items: store(write_buffer::ITEMS, "items")?,
            catalog: store(write_buffer::CATALOG, "tables")?,
            changelog: store(write_buffer::CHANGELOG, "changelog")?,
            buffer: buffer.clone(),
            system,
            shards,
            durability: durability::Durability::new(options.appendfsync),
            next_version: AtomicU64::new(0),
            version_ceiling: Mutex::new(0),
            key_counts: DashMap::new(),
            expired_keys: AtomicU64::new(0),
            changes: AtomicU64::new(0),
            flush_epoch: AtomicU64::new(0),
            notifier: OnceLock::new(),
            notify_enabled: AtomicBool::new(false),
            tracker: OnceLock::new(),
            signals: signals::KeySignals::default(),
            meta_cache: cache::MetaCache::new(options.budget.meta_cache),
            read_times: disk_reads::ReadTimes::default(),
            sub_cache: sub_cache::SubCache::new(split_sub_cache(options.budget.sub_cache).0),
            stretch_cache: cache::StretchCache::new(split_sub_cache(options.budget.sub_cache).1),
            read_ahead: read_ahead::ReadAhead::default(),
            disk: Arc::new(disk::DiskGuard::new(dir)),
            memtable_limit: AtomicU64::new(options.budget.memtable),
            throttle: throttle::WriteThrottle::default(),
            filter_meta,
            db,
        };
        if let Ok(mut slot) = engine.filter_meta.lock() {
            *slot = Some(engine.meta.keyspace.clone());
        }
        engine.recover_versions()?;
        engine.reserve_versions()?;
        engine.recount_keys()?;
        disk::DiskGuard::spawn_watcher(&engine.disk);
        Ok(Arc::new(engine))
    }

    /// Versions must never repeat across restarts (an old version's sub-rows may still be
    /// awaiting reclaim), so a ceiling is persisted before versions below it are handed out.
    fn recover_versions(&self) -> Result<()> {
        let ceiling = match self.system.get(VERSION_CEILING_KEY)? {
            Some(raw) if raw.len() == 8 => {
                u64::from_be_bytes(raw[..8].try_into().expect("8 bytes"))
            }
            _ => 1,
        };
        self.next_version.store(ceiling, Ordering::SeqCst);
        *self.version_ceiling.lock() = ceiling;
        // Sub-rows in fjall, or replayed into the buffer from the journal, are of versions
        // handed out before.
        self.buffer.set_sub_versions_stored(ceiling);
        Ok(())
    }

    /// The shard layout persisted by the autoscaler, if any (it wins over `--shards`).
    fn load_layout(system: &Keyspace) -> Result<Option<shards::PersistedLayout>> {
        let Some(raw) = system.get(SHARD_LAYOUT_KEY)? else {
            return Ok(None);
        };
        let layout: shards::PersistedLayout = postcard::from_bytes(&raw)
            .map_err(|e| EngineError::Corrupt(format!("shard layout: {e}")))?;
        Ok(layout.is_valid().then_some(layout))
    }

    /// Persists the shard layout (after a split or merge) durably.
    pub fn persist_layout(&self, layout: &shards::PersistedLayout) -> Result<()> {
        let raw = postcard::to_allocvec(layout).expect("serialising a Vec cannot fail");
        self.system.insert(SHARD_LAYOUT_KEY, raw)?;
        self.db.persist(fjall::PersistMode::SyncData)?;
        Ok(())
    }

    /// Hands out a fresh, never-used sub-row version. The persisted ceiling is normally
    /// raised ahead of need by the background thread ([`Engine::reserve_versions`]), so the
    /// fsync it costs stays off the network threads; only if a burst outruns it does this
    /// call raise the ceiling itself.
    pub fn new_version(&self) -> Result<u64> {
        let v = self.next_version.fetch_add(1, Ordering::SeqCst);
        let mut ceiling = self.version_ceiling.lock();
        if v >= *ceiling {
            self.raise_version_ceiling(&mut ceiling, v + VERSION_BLOCK)?;
        }
        Ok(v)
    }

    /// Raises the persisted version ceiling when less than half a block is left (run by
    /// the background fsync thread).
    pub(crate) fn reserve_versions(&self) -> Result<()> {
        let next = self.next_version.load(Ordering::SeqCst);
        let mut ceiling = self.version_ceiling.lock();
        if ceiling.saturating_sub(next) < VERSION_BLOCK / 2 {
            let new_ceiling = next.max(*ceiling) + VERSION_BLOCK;
            self.raise_version_ceiling(&mut ceiling, new_ceiling)?;
        }
        Ok(())
    }

    fn raise_version_ceiling(&self, ceiling: &mut u64, new_ceiling: u64) -> Result<()> {
        self.system
            .insert(VERSION_CEILING_KEY, new_ceiling.to_be_bytes())?;
        self.db.persist(fjall::PersistMode::SyncData)?;
        *ceiling = new_ceiling;
        Ok(())
    }

    fn recount_keys(&self) -> Result<()> {
        // Counted in a local map and published once: a shared-map update per row made
        // start-up on 10 M keys several times slower.
        let mut counts: HashMap<u32, i64> = HashMap::new();
        for guard in self.meta.iter() {
            let key = guard.key()?;
            if let Some(parts) = keys::decode_meta_key(&key) {
                *counts.entry(parts.space).or_default() += 1;
            }
        }
        for guard in self.items.iter() {
            let key = guard.key()?;
            if let Some(id) = key.get(2..6) {
                let space = u32::from_be_bytes(id.try_into().expect("4 bytes"));
                *counts.entry(space).or_default() += 1;
            }
        }
        self.key_counts.clear();
        for (space, count) in counts {
            self.adjust_key_count(space, count);
        }
        Ok(())
    }

    /// Forgets the count of a space whose rows are all gone (a deleted table).
    pub fn forget_space(&self, space: u32) {
        self.key_counts.remove(&space);
    }

    fn adjust_key_count(&self, space: u32, delta: i64) {
        if delta == 0 {
            return;
        }
        self.key_counts
            .entry(space)
            .or_insert_with(|| AtomicI64::new(0))
            .fetch_add(delta, Ordering::Relaxed);
    }

    /// Number of keys in a space (DBSIZE), including expired keys not yet reclaimed, as Redis;
    /// for a table's space, its items.
    pub fn key_count(&self, space: u32) -> u64 {
        self.key_counts
            .get(&space)
            .map_or(0, |c| c.load(Ordering::Relaxed).max(0) as u64)
    }

    /// Redis dbs that hold keys, with their key counts (INFO keyspace).
    pub fn spaces_with_keys(&self) -> Vec<(u32, u64)> {
        let mut out: Vec<(u32, u64)> = self
            .key_counts
            .iter()
            .map(|e| (*e.key(), e.value().load(Ordering::Relaxed).max(0) as u64))
            .filter(|(space, n)| *n > 0 && *space < REDIS_DBS)
            .collect();
        out.sort();
        out
    }

    /// Starts a transaction over `keys` of `space` under `locks`.
    pub fn txn<'a, K: AsRef<[u8]>>(&'a self, locks: Locks<'a>, space: u32, keys: &[K]) -> Txn<'a> {
        self.txn_with_first_slot(locks, space, keys, None)
    }

    /// [`Engine::txn`], given the first key's slot if the caller knows it already (a
    /// pipelined batch hashed it for its lock scope).
    pub fn txn_with_first_slot<'a, K: AsRef<[u8]>>(
        &'a self,
        locks: Locks<'a>,
        space: u32,
        keys: &[K],
        known_first_slot: Option<u16>,
    ) -> Txn<'a> {
        // The first key's metadata row key starts with its slot: encode it once, for the
        // lock scope and for the transaction's first read.
        let first = keys.first().map(|k| match known_first_slot {
            Some(slot) => keys::meta_key_in_slot(slot, space, k.as_ref()),
            None => keys::meta_key(space, k.as_ref()),
        });
        let first_slot = first.as_deref().map(keys::slot_of_row);
        let other_slots = keys.iter().skip(1).map(|k| keys::key_slot(k.as_ref()));
        let guard = locks.acquire(self, first_slot.into_iter().chain(other_slots));
        Txn::with_first_key(self, space, guard, first)
    }

    /// Starts a transaction over rows in the given slots under `locks`.
    pub fn txn_slots<'a>(
        &'a self,
        locks: Locks<'a>,
        space: u32,
        slots: impl Iterator<Item = u16>,
    ) -> Txn<'a> {
        Txn::new(self, space, locks.acquire(self, slots))
    }

    /// Starts a transaction over every shard (commands over many keys, FLUSHDB).
    pub fn txn_all<'a>(&'a self, locks: Locks<'a>, space: u32) -> Txn<'a> {
        Txn::new(self, space, locks.acquire_all(self))
    }

    /// Starts a transaction over rows that belong to no shard (change-log records, the
    /// table catalog): their writers order them with locks of their own.
    pub fn unsharded_txn(&self) -> Txn<'_> {
        Txn::new(self, 0, LockGuard::Unsharded)
    }

    /// Read access to a row family.
    pub fn rows(&self, family: Family) -> Rows {
        Rows(self.store(family).clone())
    }

    fn store(&self, family: Family) -> &Store {
        match family {
            Family::Items => &self.items,
            Family::Catalog => &self.catalog,
            Family::ChangeLog => &self.changelog,
        }
    }

    /// Removes every Redis key of every db (FLUSHALL). `_all` proves the caller holds every
    /// shard lock.
    pub fn clear_redis_keyspaces(&self, _all: &LockGuard<'_>) -> Result<()> {
        // As in Redis, only watched keys that existed are changed by the flush.
        let mut existed = Vec::new();
        for raw in self.signals.watched() {
            if self.meta.get(&raw)?.is_some() {
                existed.push(raw);
            }
        }
        // The buffered rows go to fjall first, so clearing fjall's keyspaces removes them
        // all (and no later ingestion brings old rows back).
        self.flush_write_buffer()?;
        let stores = [&self.meta, &self.sub, &self.expiry, &self.gc];
        for store in stores {
            store.keyspace.clear()?;
        }
        self.buffer.forget(&stores.map(|s| s.id));
        self.key_counts
            .retain(|space, _| *space >= FIRST_TABLE_SPACE);
        self.meta_cache.clear();
        self.sub_cache.clear();
        self.stretch_cache.clear();
        self.read_ahead.clear();
        for raw in existed {
            self.signals.touch(&raw);
        }
        self.note_flush();
        Ok(())
    }

    /// What every flush of Redis keys must do after deleting them: stale typed-data caches
    /// and client-side caches. (WATCH and blocked clients see the keys that were deleted,
    /// as for any deletion.)
    pub fn note_flush(&self) {
        self.flush_epoch.fetch_add(1, Ordering::SeqCst);
        if let Some(tracker) = self.tracker.get() {
            tracker.flushed();
        }
    }

    /// Whether transactions must report the keys they modify to the tracker.
    pub(crate) fn tracking_active(&self) -> bool {
        self.tracker.get().is_some_and(|t| t.active())
    }

    /// Commits a batch. Every write to the database goes through here ([`Txn::commit`], and
    /// the engine's own background reclaim), so the durability sequence counts them all: the
    /// `everysec` tick and `appendfsync always` waits rely on that.
    fn commit_batch(&self, ops: Vec<RowOp>) -> Result<()> {
        self.disk.admit_writes()?;
        self.throttle.before_commit();
        self.buffer
            .commit(ops)
            .map_err(|e| self.storage_error(e.into()))?;
        self.durability.note_write();
        Ok(())
    }

    /// Starts loading into the CPU's cache the metadata rows of a pipelined batch's keys,
    /// before its commands run: where the write buffer holds them (by their row keys' header,
    /// [`keys::meta_prefix`]) and where the metadata cache would. A pipelined INCR of a
    /// random key spent a fifth of its time waiting for the dependent cache misses of its
    /// row's search in the buffer, and a seventh in the cache's, one command after another.
    pub fn prefetch_metadata(&self, rows: &[(&[u8], &[u8])]) {
        for &(header, key) in rows {
            self.meta_cache.prefetch(header, key);
        }
        self.buffer
            .prefetch(self.meta.id, rows.iter().map(|&(header, _)| header));
    }

    /// Starts loading into the CPU's cache where the sub-row cache would hold sub-row
    /// `sort_key` of `key` (a pipelined batch's hash fields and set members, before its
    /// commands run).
    pub fn prefetch_sub_row(&self, key: &[u8], sort_key: &[u8]) {
        self.sub_cache.prefetch(key, sort_key);
    }

    /// A metadata row, decoded: from the write buffer if it holds the row (a written key's
    /// row is found where the write put it, so commits leave the cache alone), else from the
    /// cache of rows read from fjall, else from fjall (then cached).
    fn read_meta(&self, raw_key: &[u8]) -> Result<CachedMeta> {
        let decode = |raw: Option<Slice>| -> Result<CachedMeta> {
            raw.map(|raw| Meta::decode(&raw).map(Arc::new)).transpose()
        };
        if let Some(buffered) = self.meta.get_buffered(raw_key) {
            return decode(buffered);
        }
        if let Some(cached) = self.meta_cache.get(raw_key) {
            return Ok(cached);
        }
        let stored = if self.read_times.disk_bound() {
            // Reads then time themselves where they are read ahead (`warm_meta_row`): this
            // one most likely follows such a read, and finds its block in memory.
            self.meta.get_stored(raw_key)?
        } else {
            self.timed_stored_meta(raw_key)?
        };
        let stored = decode(stored)?;
        self.meta_cache.put(raw_key, stored.clone());
        Ok(stored)
    }

    /// Whether point reads of fjall go to the disk now (see [`disk_reads`]).
    pub fn reads_hit_disk(&self) -> bool {
        self.read_times.disk_bound()
    }

    /// Sets the average fjall point-read time from which reads count as going to the disk.
    pub fn set_disk_read_threshold(&self, nanos: u64) {
        self.read_times.set_threshold(nanos);
    }

    /// Point reads of fjall: their moving average time (ns) and the rows read ahead of
    /// their commands so far (INFO).
    pub fn stored_reads(&self) -> (u64, u64) {
        (
            self.read_times.average_nanos(),
            self.read_times.read_ahead(),
        )
    }

    /// The row key of `key`'s metadata row in `space` if reading it would read fjall:
    /// neither the write buffer nor the metadata cache holds it.
    pub fn meta_row_only_stored(&self, space: u32, key: &[u8]) -> Option<Vec<u8>> {
        let raw_key = keys::meta_key(space, key);
        let held = self.meta.get_buffered(&raw_key).is_some() || self.meta_cache.holds(&raw_key);
        (!held).then_some(raw_key)
    }

    /// Reads the metadata row `raw_key` (from [`Engine::meta_row_only_stored`]) from fjall
    /// and drops it: a read command's key read ahead off the network thread (see
    /// [`disk_reads`]), so that the command's own read finds the row's table blocks in
    /// fjall's block cache instead of waiting for the disk. Nothing is cached here that a
    /// concurrent write could make stale (this runs without the key's lock): fjall's and the
    /// OS's caches are coherent by themselves. An error is left for the command, which reads
    /// the row again, to meet and answer.
    pub fn warm_meta_row(&self, raw_key: &[u8]) {
        self.read_times.note_read_ahead();
        let _ = self.timed_stored_meta(raw_key);
    }

    /// A point read of the metadata keyspace in fjall, timed (see [`disk_reads`]).
    fn timed_stored_meta(&self, raw_key: &[u8]) -> Result<Option<Slice>> {
        let started = quanta::Instant::now();
        let stored = self.meta.get_stored(raw_key)?;
        self.read_times.note(started.elapsed().as_nanos() as u64);
        Ok(stored)
    }

    /// Ingests one frozen layer of the write buffer into fjall and drops it from the
    /// buffer (the flush thread's work; also FLUSHALL's). Layers go in freezing order.
    pub(crate) fn ingest_frozen(&self, layer: &Arc<write_buffer::Layer>) -> Result<()> {
        let _one_at_a_time = self.buffer.flushing.lock();
        if !self.buffer.is_frozen(layer) {
            return Ok(()); // Someone else ingested it while we waited.
        }
        self.buffer.note_ingesting(layer);
        for store in self.stores() {
            let rows = &layer.maps[store.id];
            if rows.is_empty() {
                continue;
            }
            let mut ingestion = store.keyspace.start_ingestion()?;
            for (key, value) in rows.iter() {
                match value {
                    Some(value) => ingestion.write(key.to_slice(), value.clone())?,
                    None => ingestion.write_tombstone(key.to_slice())?,
                }
            }
            ingestion.finish()?;
        }
        self.refresh_cached_metas(layer);
        self.buffer
            .retire(layer)
            .map_err(|e| self.storage_error(e.into()))
    }

    /// Brings the cached metadata rows of keys a layer about to leave the write buffer holds
    /// up to the layer's rows, now fjall's: the cache held rows as fjall had them before,
    /// and reads find the layer's newer rows in the buffer only until it leaves (see
    /// [`Engine::read_meta`]). Rows not cached stay out, and rows longer than
    /// [`REFRESHED_META_MAX`] are dropped from the cache instead. Dropping every row sent the
    /// next read of each key written in the layer to fjall: bench.sh's pipelined INCR, whose
    /// counters an ingestion had taken, ran at 597 k/s against 749 k/s.
    fn refresh_cached_metas(&self, layer: &write_buffer::Layer) {
        if !self.meta_cache.was_filled() {
            return;
        }
        for (key, value) in layer.maps[self.meta.id].iter() {
            let key = key.to_slice();
            let row = value.as_deref();
            if row.is_some_and(|row| row.len() > REFRESHED_META_MAX) {
                self.meta_cache.remove(&key);
                continue;
            }
            let decode = || Some(row.map(Meta::decode).transpose().ok()?.map(Arc::new));
            self.meta_cache.refresh_with(&key, decode);
        }
    }

    /// For a writer without the background threads (the offline RDB import): moves the
    /// write buffer into fjall whenever it outgrows the memtable size, so memory stays
    /// bounded (the flush thread does this for the server).
    pub fn settle_write_buffer(&self) -> Result<()> {
        if self.buffer.active_bytes() > self.memtable_limit.load(Ordering::Relaxed) {
            self.flush_write_buffer()?;
        }
        Ok(())
    }

    /// Moves everything buffered into fjall now.
    fn flush_write_buffer(&self) -> Result<()> {
        self.buffer.freeze().map_err(fjall::Error::from)?;
        while let Some(layer) = self.buffer.oldest_frozen(std::time::Duration::ZERO) {
            self.ingest_frozen(&layer)?;
        }
        Ok(())
    }

    fn stores(&self) -> [&Store; 7] {
        [
            &self.meta,
            &self.sub,
            &self.expiry,
            &self.gc,
            &self.items,
            &self.catalog,
            &self.changelog,
        ]
    }

    /// An error from fjall; one after which it takes no more writes also makes the disk
    /// guard refuse writes up front, with a reply that says so.
    fn storage_error(&self, error: fjall::Error) -> EngineError {
        if disk::stops_the_store(&error) {
            tracing::error!("storage error: {error}");
            self.disk.note_store_stopped();
            return EngineError::WritesRefused(self.disk.refusal());
        }
        error.into()
    }

    /// Blocks until the write with durability sequence `seq` is on disk (`appendfsync always`).
    pub fn sync_through(&self, seq: u64) -> Result<()> {
        self.durability
            .sync_through(&self.buffer, seq)
            .map_err(|e| self.storage_error(e.into()))
    }

    /// Hands the journal buffer to the OS if the write with durability sequence `seq` has not
    /// reached it yet (before a reply acknowledging it is sent, in every mode).
    pub fn write_through(&self, seq: u64) -> Result<()> {
        self.durability
            .write_through(&self.buffer, seq)
            .map_err(|e| self.storage_error(e.into()))
    }

    /// Flushes the journal to disk (SHUTDOWN, SAVE).
    pub fn persist(&self) -> Result<()> {
        self.durability
            .sync_all(&self.buffer)
            .map_err(fjall::Error::from)?;
        self.db.persist(fjall::PersistMode::SyncAll)?;
        Ok(())
    }

    /// Applies a new memory budget at run time (CONFIG SET maxmemory): the row caches are
    /// resized and the memtable size changes at once; fjall's block cache keeps the size it
    /// was opened with until the next start.
    pub fn set_memory_budget(&self, budget: &MemoryBudget) {
        self.meta_cache.set_capacity(budget.meta_cache);
        let (rows, stretches) = split_sub_cache(budget.sub_cache);
        self.sub_cache.set_capacity(rows);
        self.stretch_cache.set_capacity(stretches);
        self.memtable_limit
            .store(budget.memtable, Ordering::Relaxed);
    }

    /// The sizes in force, as INFO reports them: `(block cache, metadata cache, sub-row
    /// cache, memtable)` capacities in bytes.
    pub fn memory_capacities(&self) -> (u64, u64, u64, u64) {
        (
            self.db.cache_capacity(),
            self.meta_cache.capacity(),
            self.sub_cache.capacity() + self.stretch_cache.capacity(),
            self.memtable_limit.load(Ordering::Relaxed),
        )
    }

    /// Runs every tick of the background fsync thread: seals (and so queues for flushing)
    /// every memtable larger than the budget's memtable size (fjall rotates only at the
    /// size a keyspace was created with, so memtables exceed the budget by at most a tick
    /// of writes), and sets the write throttle from the flush and compaction backlog; also
    /// lets the read-time average of reads no longer made fade ([`disk_reads::ReadTimes::tick`]).
    pub(crate) fn tend_write_buffers(&self) -> Result<()> {
        use fjall::AbstractTree;
        self.read_times.tick(disk_reads::storage_read_bytes());
        let limit = self.memtable_limit.load(Ordering::Relaxed);
        if self.buffer.active_bytes() > limit {
            self.buffer.freeze().map_err(fjall::Error::from)?;
        }
        let (mut l0_runs, mut sealed) = (0, self.buffer.usage().1);
        for ks in self.all_keyspaces() {
            if ks.tree.active_memtable().size() > limit {
                ks.rotate_memtable()?;
            }
            l0_runs = l0_runs.max(ks.tree.l0_run_count());
            sealed = sealed.max(ks.sealed_memtable_count());
        }
        self.throttle
            .set_pause(throttle::pause_for(l0_runs, sealed));
        Ok(())
    }

    fn all_keyspaces(&self) -> impl Iterator<Item = &Keyspace> {
        self.stores()
            .into_iter()
            .map(|s| &s.keyspace)
            .chain([&self.system])
    }

    /// Storage figures for INFO and metrics.
    pub fn storage_stats(&self) -> StorageStats {
        let buffered = self.buffer.usage();
        StorageStats {
            journal_bytes: self.journal_bytes(),
            journal_files: self.db.journal_count() as u64 + self.buffer.journal_size().0,
            disk_bytes: self.db.disk_space().unwrap_or(0),
            write_buffer_bytes: self.db.write_buffer_size() + buffered.0,
            outstanding_flushes: (self.db.outstanding_flushes() + buffered.1) as u64,
            active_compactions: self.db.active_compactions() as u64,
            compactions_completed: self.db.compactions_completed() as u64,
        }
    }

    /// Approximate on-disk size of the database in bytes.
    pub fn disk_space(&self) -> u64 {
        self.db.disk_space().unwrap_or(0)
    }

    /// Size of the write-ahead journal in bytes.
    pub fn journal_bytes(&self) -> u64 {
        self.db.journal_disk_space().unwrap_or(0) + self.buffer.journal_size().1
    }

    /// Visits the keys of `space` in slot order starting at `from_slot` (expired keys
    /// included: callers decide). `visit(slot, key, meta)` returns false to stop.
    pub fn for_each_key(
        &self,
        space: u32,
        from_slot: u16,
        mut visit: impl FnMut(u16, &[u8], &Meta) -> bool,
    ) -> Result<()> {
        let from = Bound::Included(keys::slot_start(from_slot).to_vec());
        for guard in self.meta.range(from, Bound::Unbounded, false) {
            let (raw_key, raw_value) = guard.into_inner()?;
            let Some(parts) = keys::decode_meta_key(&raw_key) else {
                continue;
            };
            if parts.space != space {
                continue;
            }
            let meta = Meta::decode(&raw_value)?;
            if !visit(parts.slot, parts.key, &meta) {
                break;
            }
        }
        Ok(())
    }

    /// Iterates metadata rows with keys in `[from, to)`.
    pub fn meta_range(&self, from: &[u8], to: Option<&[u8]>) -> StoreIter {
        let upper = to.map_or(Bound::Unbounded, |to| Bound::Excluded(to.to_vec()));
        self.meta
            .range(Bound::Included(from.to_vec()), upper, false)
    }
}

#[cfg(test)]
mod tests;
