//! Transactions: the one write path. Redis types, native tables, TTL deletions and change
//! logs all write through a [`Txn`].
//!
//! A [`Txn`] runs under a lock scope (its own shard locks, those of an enclosing EXEC, or
//! none for rows no shard owns; see [`super::locks`]), so a command's read-modify-write is
//! atomic as in single-threaded Redis. It reads through an overlay of its own pending
//! writes and commits everything as one atomic journal record of the write buffer. It also does the bookkeeping
//! every write needs, so no caller can forget it:
//! - the durability sequence counts the batch (`appendfsync always` waits for it);
//! - the expiry index follows each key's `expire_at`;
//! - when a key with sub-rows is deleted or replaced by a new version, its old version is
//!   queued for background reclaim (DEL of a huge hash is O(1));
//! - key counts per db (DBSIZE) and item counts per table follow creations and deletions;
//! - the bytes written are credited to the shards owning them (per-shard write rates);
//! - the row caches are refreshed, WATCH and blocked clients are signalled;
//! - keyspace events raised by the command are handed to the notifier after commit.

use std::cell::{Cell, RefCell};
use std::collections::{btree_map, BTreeMap, VecDeque};
use std::mem::ManuallyDrop;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use foldhash::HashMap;
use parking_lot::Mutex;

use super::cache::{Stretch, StretchValues};
use super::keys::{self, meta_key, sub_prefix};
use super::locks::LockGuard;
use super::meta::Meta;
use super::small_map::SmallMap;
use super::store::{MergedRow, Overlaid, Row, StoreIter};
use super::write_buffer::{RowOp, StoreId};
use super::{Engine, EngineError, Family, Result};
use fjall::Slice;
use smallvec::SmallVec;

/// A keyspace event raised by a command (published after commit, if anyone listens).
#[derive(Debug, Clone)]
pub struct KeyEvent {
    pub space: u32,
    /// Redis notification class character: `g` generic, `$` string, `h` hash, `z` zset,
    /// `x` expired, `l` list, `s` set, `n` new key.
    pub class: char,
    pub event: &'static str,
    pub key: Vec<u8>,
}

#[derive(Clone)]
struct MetaEntry {
    /// The row as stored when the transaction first looked (expired or not). Shared with
    /// the metadata cache: a read copies nothing but what it returns.
    physical: Option<Arc<Meta>>,
    /// The row as the transaction wants it.
    current: Option<Arc<Meta>>,
    dirty: bool,
    /// A version whose every sub-row this transaction deleted itself (see
    /// [`Txn::delete_emptied`]): dropping it needs no background reclaim.
    emptied_version: Option<u64>,
}

impl MetaEntry {
    /// The version of the pending metadata if this transaction created it (no stored row
    /// names it) and it is about to be replaced by `new_version` (`None`: a deletion): its
    /// sub-rows are then reachable from nowhere, and the commit must queue their reclaim.
    fn pending_version_replaced(&self, new_version: Option<u64>) -> Option<u64> {
        let stored = self.physical.as_ref().map(|m| m.version);
        self.current
            .as_deref()
            .filter(|m| m.has_sub_rows())
            .map(|m| m.version)
            .filter(|&v| Some(v) != stored && Some(v) != new_version)
    }
}

/// A pending write of a row in one of the engine's row families (table items, the table
/// catalog, change logs).
struct RowWrite {
    /// Slot the row's bytes are accounted to (the shard that owns the work).
    slot: u16,
    /// Space (table id) whose item count the row belongs to.
    space: u32,
    value: Option<Vec<u8>>,
}

/// What a transaction will write, and what its commit must announce. A pipelined batch
/// keeps one for several commands (see [`Batch`]).
#[derive(Default)]
struct Pending {
    metas: SmallMap<MetaEntry>,
    /// Dropped only if not empty (see `Drop`).
    subs: ManuallyDrop<BTreeMap<Vec<u8>, SubWrite>>,
    /// What few commands have, boxed: a transaction moves with its `Pending` (returned,
    /// committed, joined to a batch), and these fields made it 376 bytes (216 without them)
    /// where most commands use the first two.
    rare: Option<Box<RarePending>>,
}

#[derive(Default)]
struct RarePending {
    rows: BTreeMap<(Family, Vec<u8>), RowWrite>,
    /// Whether rows of `rows` existed before this transaction (for item counts).
    rows_existed: HashMap<(Family, Vec<u8>), bool>,
    events: Vec<KeyEvent>,
    /// Metadata keys written, recorded only while someone WATCHes or blocks on keys.
    touched: Vec<Vec<u8>>,
    /// Keys modified, recorded only while clients track keys (client-side caching).
    modified: Vec<Vec<u8>>,
    /// Set by FLUSHDB, which invalidates client caches as a whole instead of key by key.
    untracked: bool,
    /// Sub-row prefixes of versions created and dropped within this transaction (MSET of
    /// one long string twice): no stored row names them, so the commit queues their reclaim.
    dropped_versions: Vec<Vec<u8>>,
}

/// How many rows a pop reading from fjall reads ahead, and how many bytes of them at most
/// it keeps (see [`Txn::read_ahead`]). 256 rather than 64: a backlog's pops took 4 % less
/// CPU (`bench/backlog_pop.sh`), the scan's set-up over fjall's levels paid 4× less often.
pub const READ_AHEAD_ROWS: usize = 256;
const READ_AHEAD_BYTES: usize = 256 * 1024;

/// The longest stretch [`Txn::sub_values_cached`] keeps in the stretch cache.
const CACHED_STRETCH_MAX: usize = 1024;

/// A pending sub-row write.
struct SubWrite {
    /// `None` deletes the row.
    value: Option<Vec<u8>>,
    /// The row did not exist before the first write of it that this pending set holds (see
    /// [`Txn::sub_insert`]).
    fresh: bool,
}

impl SubWrite {
    const DELETE: SubWrite = SubWrite {
        value: None,
        fresh: false,
    };
}

impl Drop for Pending {
    /// Most transactions write no sub-row, and dropping even an empty `BTreeMap` walks an
    /// iterator (~60 instructions per pipelined GET). An empty one holds no allocation:
    /// left undropped, nothing leaks.
    fn drop(&mut self) {
        if !self.subs.is_empty() {
            drop(std::mem::take(&mut *self.subs));
        }
    }
}

impl Pending {
    /// Takes over a later command's writes (a command of a [`Batch`] committing): its rows
    /// replace ours, its metadata entries keep our stored ("physical") rows, which it read
    /// through us, and its events follow ours.
    /// `later` is drained in place: moving it out of the command's transaction and into this
    /// call copied it twice per pipelined command.
    fn absorb(&mut self, later: &mut Pending) {
        for (raw_key, entry) in later.metas.drain() {
            match self.metas.position(&raw_key) {
                Some(at) => {
                    let ours = self.metas.at_mut(at);
                    ours.current = entry.current;
                    ours.dirty |= entry.dirty;
                    ours.emptied_version = entry.emptied_version;
                }
                None => {
                    self.metas.push(raw_key, entry);
                }
            }
        }
        // Inserted one by one: `BTreeMap::append` rebuilds the whole tree, once per command.
        for (row, write) in std::mem::take(&mut *later.subs) {
            self.pend_sub(row, write);
        }
        let Some(later) = later.rare.as_deref_mut() else {
            return;
        };
        let ours = self.rare_mut();
        ours.rows.extend(std::mem::take(&mut later.rows));
        for (row, existed) in later.rows_existed.drain() {
            ours.rows_existed.entry(row).or_insert(existed);
        }
        ours.events.append(&mut later.events);
        ours.touched.append(&mut later.touched);
        ours.modified.append(&mut later.modified);
        ours.dropped_versions.append(&mut later.dropped_versions);
        ours.untracked |= later.untracked;
    }

    fn rare_mut(&mut self) -> &mut RarePending {
        self.rare.get_or_insert_with(Box::default)
    }

    fn rare(&self) -> Option<&RarePending> {
        self.rare.as_deref()
    }

    /// Pending row writes of the other families (empty for most commands).
    fn rows(&self) -> Option<&BTreeMap<(Family, Vec<u8>), RowWrite>> {
        self.rare().map(|rare| &rare.rows)
    }

    /// Records a sub-row write over whatever this pending set holds for the row. Whether
    /// the row is fresh is decided by the first write: a row inserted fresh and deleted again
    /// before the commit was never there, so nothing is written at all.
    fn pend_sub(&mut self, row: Vec<u8>, write: SubWrite) {
        match self.subs.entry(row) {
            btree_map::Entry::Occupied(mut earlier) => {
                if write.value.is_none() && earlier.get().fresh {
                    earlier.remove();
                } else {
                    earlier.get_mut().value = write.value;
                }
            }
            btree_map::Entry::Vacant(entry) => {
                entry.insert(write);
            }
        }
    }
}

/// The writes of consecutive commands of one pipelined request batch, committed together:
/// one journal record and one metadata row per key however many commands
/// wrote it (16 pipelined LPUSHes to one list write its metadata row once, not 16 times).
///
/// The batch's lock scope covers every command's keys for the whole batch, so no other
/// client sees its writes before they are committed. Each command still runs in a
/// transaction of its own that reads through the batch's pending writes (see
/// [`Txn::in_batch`]) and joins them only when it commits: a command that fails leaves
/// nothing behind, as on its own. A writing command may carry them instead (see
/// [`Batch::let_next_carry`]).
pub struct Batch {
    space: u32,
    /// The time its commands judge expiries by (see [`Txn::now`]).
    now: u64,
    pending: Mutex<BatchPending>,
    /// Whether the command running now should leave what it read for the next one (its
    /// key is the next one's too, see [`Batch::keep_reads_for_next`]).
    keep_reads: AtomicBool,
    /// The key the command running now names first, and its slot (see
    /// [`Batch::announce_key`]).
    announced: AnnouncedKey,
    /// Whether the command about to run may carry the batch's pending writes (see
    /// [`Batch::let_next_carry`]).
    carry: AtomicBool,
    /// A command that carried the batch's writes failed after writing: its writes and the
    /// earlier commands' are mixed, so the batch as a whole is refused.
    aborted: AtomicBool,
}

/// A key by the address and length of the request argument that holds it, with its slot.
/// The argument stays alive and unchanged while its command runs, so an equal address and
/// length is that same key.
#[derive(Default)]
struct AnnouncedKey {
    address: AtomicUsize,
    len: AtomicUsize,
    slot: AtomicU32,
}

/// What a batch's commands have left it: their writes, and what the last one read.
#[derive(Default)]
struct BatchPending {
    writes: Pending,
    /// The metadata row the batch's last read-only command of one key read, as it read it
    /// (see `Txn`'s `Drop`): a pipeline of reads of one key (HGETs of one hash, SISMEMBERs
    /// of one set) finds and decodes the row once, not once per command. It stays right for
    /// the batch's life: the batch holds its keys' locks, and its own writes, which are
    /// looked up first, are the only others.
    last_read: Option<(Vec<u8>, MetaEntry)>,
}

impl Batch {
    pub fn new(space: u32) -> Batch {
        Batch {
            space,
            now: super::now_ms(),
            pending: Mutex::new(BatchPending::default()),
            keep_reads: AtomicBool::new(false),
            announced: AnnouncedKey::default(),
            carry: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
        }
    }

    /// Says whether the command about to run may carry the batch's pending writes: its
    /// transaction then takes them over whole, writes into them, and hands them back when it
    /// commits, rather than reading through them and merging its own in at commit (a
    /// transaction's set-up, its copy of each metadata entry it reads, and the merge cost
    /// ~1,000 instructions of a pipelined RPOP's ~7,600). Only for commands whose rows are
    /// all short (no row-length check can refuse them part-way) and that may write; one that
    /// fails after writing refuses the whole batch (see `aborted`), which only a storage
    /// error does among the batched commands.
    pub fn let_next_carry(&self, carry: bool) {
        self.carry.store(carry, Ordering::Relaxed);
    }

    /// Announces the first key of the command about to run, whose slot the batch hashed
    /// for its lock scope: the command's transaction takes the slot from here rather than
    /// hashing the key again (a CRC16 over the key, per pipelined command).
    pub fn announce_key(&self, key: &[u8], slot: u16) {
        let announced = &self.announced;
        announced
            .address
            .store(key.as_ptr() as usize, Ordering::Relaxed);
        announced.len.store(key.len(), Ordering::Relaxed);
        announced.slot.store(slot.into(), Ordering::Relaxed);
    }

    /// The slot of `key` if it is the announced key (the very argument, not an equal copy).
    pub fn announced_slot(&self, key: &[u8]) -> Option<u16> {
        let announced = &self.announced;
        let same = announced.address.load(Ordering::Relaxed) == key.as_ptr() as usize
            && announced.len.load(Ordering::Relaxed) == key.len();
        same.then(|| announced.slot.load(Ordering::Relaxed) as u16)
    }

    /// Says whether the next command of the batch reads the key the one about to run reads:
    /// only then does that one leave its metadata row behind (see `last_read`), so batches
    /// of reads of distinct keys (GETs of random keys) do not pay for keeping it.
    pub fn keep_reads_for_next(&self, keep: bool) {
        self.keep_reads.store(keep, Ordering::Relaxed);
    }

    /// Commits everything the batch's commands committed, under `locks` (the batch's lock
    /// scope), with the bookkeeping of [`Txn::commit`].
    pub fn commit<'e>(self, engine: &'e Engine, locks: LockGuard<'e>) -> Result<()> {
        if self.aborted.load(Ordering::Relaxed) {
            return Err(EngineError::BatchAborted);
        }
        let mut txn = Txn::new(engine, self.space, locks);
        txn.pending = self.pending.into_inner().writes;
        txn.commit()
    }
}

pub struct Txn<'e> {
    engine: &'e Engine,
    space: u32,
    /// Unix milliseconds expiries are judged against; 0 until first needed (then read from
    /// the clock), or the batch's (one clock reading serves a pipelined batch, as one time
    /// snapshot serves a Redis EXEC).
    now: Cell<u64>,
    locks: LockGuard<'e>,
    pending: Pending,
    /// The pipelined batch this transaction belongs to: reads see its pending writes, and
    /// committing hands the writes to it.
    batch: Option<&'e Batch>,
    /// The last key's metadata row key: a command reads and writes one key's rows many
    /// times (metadata, each sub-row), and encoding it hashes the key for its slot. The
    /// encoded row holds the space and the key, so it is its own memo key.
    last_meta_key: RefCell<Option<Vec<u8>>>,
    /// `pending` holds its batch's writes, taken over (see [`Batch::let_next_carry`]): the
    /// batch's own are empty meanwhile, and reads of "the batch's pending writes" read ours.
    carried: bool,
    /// Whether this transaction wrote anything (a carried one that fails after writing
    /// cannot hand back the batch's writes without its own).
    wrote: bool,
}

impl Drop for Txn<'_> {
    /// A command of a batch that read one key and wrote nothing (a committed one has handed
    /// its entries to the batch already) leaves what it read for the batch's next command
    /// (see [`Batch`]'s `last_read`).
    fn drop(&mut self) {
        if self.carried {
            self.hand_back_carried(false);
            return;
        }
        let Some(batch) = self.batch.filter(|b| b.keep_reads.load(Ordering::Relaxed)) else {
            return;
        };
        if let Some((raw_key, entry)) = self.pending.metas.take_only() {
            if !entry.dirty {
                batch.pending.lock().last_read = Some((raw_key, entry));
            }
        }
    }
}

impl<'e> Txn<'e> {
    /// A transaction under `locks` (see [`Engine::txn`] and friends).
    pub(crate) fn new(engine: &'e Engine, space: u32, locks: LockGuard<'e>) -> Self {
        Self::with_first_key(engine, space, locks, None)
    }

    /// A transaction whose first key's metadata row key is already encoded (the lock
    /// scope needed its slot), so the key is not hashed again.
    pub(crate) fn with_first_key(
        engine: &'e Engine,
        space: u32,
        locks: LockGuard<'e>,
        first_meta_key: Option<Vec<u8>>,
    ) -> Self {
        Txn {
            engine,
            space,
            now: Cell::new(0),
            locks,
            pending: Pending::default(),
            batch: None,
            last_meta_key: RefCell::new(first_meta_key),
            carried: false,
            wrote: false,
        }
    }

    /// Makes this transaction one command of `batch` (see [`Batch`]): it reads through the
    /// batch's pending writes and its commit hands its writes to the batch.
    #[inline]
    pub fn in_batch(mut self, batch: Option<&'e Batch>) -> Self {
        if let Some(batch) = batch {
            self.now.set(batch.now);
            // Taken once: a second transaction of the same command reads through them.
            // Not while writes are refused: this command's commit would fail part-way.
            if batch.carry.swap(false, Ordering::Relaxed) && !self.engine.disk.refuses_writes() {
                self.pending = std::mem::take(&mut batch.pending.lock().writes);
                self.carried = true;
            }
        }
        self.batch = batch;
        self
    }

    /// Returns the batch's writes this transaction carried, with its own (`committed`, or
    /// none written); or, if it wrote and did not commit, refuses the batch (see `aborted`).
    fn hand_back_carried(&mut self, committed: bool) {
        self.carried = false;
        let Some(batch) = self.batch else {
            return;
        };
        if self.wrote && !committed {
            batch.aborted.store(true, Ordering::Relaxed);
        } else {
            batch.pending.lock().writes = std::mem::take(&mut self.pending);
        }
    }

    /// Notes that the transaction wrote (see `wrote`).
    fn writing(&mut self) {
        self.wrote = true;
    }

    /// The metadata row key of `key` in the current space (remembered for the last key).
    fn meta_key(&self, key: &[u8]) -> Vec<u8> {
        self.with_meta_key(key, <[u8]>::to_vec)
    }

    /// Runs `f` on the metadata row key of `key` without copying it: the memo's, or the
    /// newest pending entry's (where [`Txn::entry`] moved the memo), or encoded afresh (and
    /// then remembered).
    fn with_meta_key<R>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
        let is_ours = |raw: &&Vec<u8>| self.is_meta_key_of(raw, key);
        if let Some(raw) = self.last_meta_key.borrow().as_ref().filter(is_ours) {
            return f(raw);
        }
        if let Some(raw) = self.newest_meta_key_of(key) {
            return f(raw);
        }
        let raw = meta_key(self.space, key);
        let result = f(&raw);
        *self.last_meta_key.borrow_mut() = Some(raw);
        result
    }

    /// Whether `raw` is the metadata row key of `key` in the current space.
    fn is_meta_key_of(&self, raw: &[u8], key: &[u8]) -> bool {
        keys::is_meta_key_of(raw, self.space, key)
    }

    /// The newest pending entry's row key, if it is `key`'s.
    fn newest_meta_key_of(&self, key: &[u8]) -> Option<&Vec<u8>> {
        self.pending
            .metas
            .last_key()
            .filter(|raw| self.is_meta_key_of(raw, key))
    }

    /// The metadata row key of `key`, taken from the memo when it is the last key's.
    fn take_meta_key(&self, key: &[u8]) -> Vec<u8> {
        match self.last_meta_key.borrow_mut().take() {
            Some(raw) if self.is_meta_key_of(&raw, key) => raw,
            _ => meta_key(self.space, key),
        }
    }

    pub fn engine(&self) -> &'e Engine {
        self.engine
    }

    pub fn space(&self) -> u32 {
        self.space
    }

    /// Switches the space (db) later key operations refer to (COPY … DB, MOVE). The locks
    /// still cover the keys: shards own slots, and a key's slot does not depend on its db.
    pub fn set_space(&mut self, space: u32) {
        self.space = space;
    }

    /// The time this transaction treats as "now" (one clock reading per command, as Redis).
    pub fn now(&self) -> u64 {
        match self.now.get() {
            0 => {
                let now = super::now_ms();
                self.now.set(now);
                now
            }
            now => now,
        }
    }

    /// The transaction's entry for `key`'s metadata row, read on first use (from the
    /// batch's pending writes, the write buffer, the cache or fjall: see
    /// [`Engine::read_meta`]).
    fn entry(&mut self, key: &[u8]) -> Result<&mut MetaEntry> {
        // Most often the newest entry is this key's (a command reads its key, then writes it).
        if self.newest_meta_key_of(key).is_some() {
            let newest = self.pending.metas.len() - 1;
            return Ok(self.pending.metas.at_mut(newest));
        }
        let raw = self.take_meta_key(key);
        let at = match self.pending.metas.position(&raw) {
            Some(at) => {
                *self.last_meta_key.borrow_mut() = Some(raw);
                at
            }
            // The row key moves into the new entry (no copy); `with_meta_key` finds it there.
            None => {
                let entry = self.load_entry(&raw)?;
                self.pending.metas.push(raw, entry)
            }
        };
        Ok(self.pending.metas.at_mut(at))
    }

    fn load_entry(&self, raw_key: &[u8]) -> Result<MetaEntry> {
        if let Some(batch) = self.batch {
            let pending = batch.pending.lock();
            if let Some(at) = pending.writes.metas.position(raw_key) {
                // As the batch left it; the stored row stays the batch's "physical" one.
                let ours = pending.writes.metas.at(at);
                return Ok(MetaEntry {
                    physical: ours.physical.clone(),
                    current: ours.current.clone(),
                    dirty: false,
                    emptied_version: ours.emptied_version,
                });
            }
            if let Some((read_key, read)) = &pending.last_read {
                if read_key.as_slice() == raw_key {
                    return Ok(read.clone());
                }
            }
        }
        let physical = self.engine.read_meta(raw_key)?;
        Ok(MetaEntry {
            current: physical.clone(),
            physical,
            dirty: false,
            emptied_version: None,
        })
    }

    /// The live (not expired) metadata of `key`.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Meta>> {
        Ok(self.get_shared(key)?.map(|m| Meta::clone(&m)))
    }

    /// The live metadata of `key`, shared rather than copied (a string's value is only
    /// cloned if the caller needs it).
    pub fn get_shared(&mut self, key: &[u8]) -> Result<Option<Arc<Meta>>> {
        let now = self.now();
        let entry = self.entry(key)?;
        Ok(entry.current.clone().filter(|m| !m.is_expired(now)))
    }

    /// The stored metadata of `key` even if it has expired (for the expiry cycle).
    pub fn peek(&mut self, key: &[u8]) -> Result<Option<Meta>> {
        let entry = self.entry(key)?;
        Ok(entry.current.as_deref().cloned())
    }

    /// Whether `key` exists (and is not expired).
    pub fn exists(&mut self, key: &[u8]) -> Result<bool> {
        Ok(self.get_shared(key)?.is_some())
    }

    /// Records a write of `key` that left its rows as they were (HSET of a field's own
    /// value): WATCH and client-side caching still see a modification, as in Redis.
    pub fn touch_unchanged(&mut self, key: &[u8]) {
        self.touch(key);
    }

    fn touch(&mut self, key: &[u8]) {
        self.writing();
        if self.engine.signals.active() {
            let meta_key = self.meta_key(key);
            self.pending.rare_mut().touched.push(meta_key);
        }
        if self.engine.tracking_active() {
            let rare = self.pending.rare_mut();
            if !rare.untracked && rare.modified.last().is_none_or(|last| last != key) {
                rare.modified.push(key.to_vec());
            }
        }
    }

    /// Modified keys are not reported to client-side caching (FLUSHDB reports the flush).
    pub fn untracked(&mut self) {
        self.writing();
        self.pending.rare_mut().untracked = true;
    }

    /// Stores `meta` as the metadata of `key` (creating or replacing it).
    pub fn put(&mut self, key: &[u8], meta: Meta) -> Result<()> {
        self.touch(key);
        let now = self.now();
        let entry = self.entry(key)?;
        let dropped = entry.pending_version_replaced(Some(meta.version));
        if entry.emptied_version == Some(meta.version) {
            // The version lives on (rows may be written again): reclaim it if dropped later.
            entry.emptied_version = None;
        }
        let created = entry.current.as_ref().is_none_or(|m| m.is_expired(now));
        // Rewriting an identical row (HSET of an existing field, ZINCRBY) would only cost a
        // memtable insert and journal bytes.
        if entry.current.as_deref() != Some(&meta) {
            entry.current = Some(Arc::new(meta));
            entry.dirty = true;
        }
        self.reclaim_dropped_version(key, dropped);
        if created {
            // Redis raises `new` (class `n`) where it adds a key to the keyspace, before the
            // command's own event.
            self.notify('n', "new", key);
        }
        Ok(())
    }

    /// Deletes `key`; returns whether a live key was deleted.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool> {
        self.writing();
        let now = self.now();
        let entry = self.entry(key)?;
        let was_live = entry.current.as_ref().is_some_and(|m| !m.is_expired(now));
        if entry.current.is_some() {
            let dropped = entry.pending_version_replaced(None);
            entry.current = None;
            entry.dirty = true;
            self.reclaim_dropped_version(key, dropped);
            self.touch(key);
        }
        Ok(was_live)
    }

    /// Queues for reclaim the sub-rows of `key`'s version `dropped` (see
    /// [`MetaEntry::pending_version_replaced`]).
    fn reclaim_dropped_version(&mut self, key: &[u8], dropped: Option<u64>) {
        if let Some(version) = dropped {
            let prefix = self.with_meta_key(key, |raw| sub_prefix(raw, version));
            self.pending.rare_mut().dropped_versions.push(prefix);
        }
    }

    /// Deletes `key`, whose live sub-rows at `version` this transaction has all deleted
    /// already (a pop or removal that left a list or set empty): no version is queued for
    /// reclaim, so the reclaim thread does not walk the tombstones those deletions left
    /// (a job queue empties its list many times a second). Returns whether a live key was
    /// deleted.
    pub fn delete_emptied(&mut self, key: &[u8], version: u64) -> Result<bool> {
        let was_live = self.delete(key)?;
        self.entry(key)?.emptied_version = Some(version);
        Ok(was_live)
    }

    fn sub_row(&self, key: &[u8], version: u64, sub_key: &[u8]) -> Vec<u8> {
        self.with_meta_key(key, |raw| keys::sub_row(raw, version, sub_key))
    }

    /// A sub-row as this transaction or its batch is about to write it (`Some(None)`: about
    /// to be deleted), if either is.
    fn pending_sub(&self, row: &[u8]) -> Option<Option<Vec<u8>>> {
        if let Some(pending) = self.pending.subs.get(row) {
            return Some(pending.value.clone());
        }
        if self.carried {
            return None; // Ours are the batch's.
        }
        self.with_batch_writes(|writes| writes.subs.get(row).map(|write| write.value.clone()))?
    }

    /// `read` of the pending writes of this transaction's batch (ours, if we carry them).
    fn with_batch_writes<R>(&self, read: impl FnOnce(&Pending) -> R) -> Option<R> {
        if self.carried {
            return Some(read(&self.pending));
        }
        Some(read(&self.batch?.pending.lock().writes))
    }

    /// Whether every sub-row of key version `version` is in memory (the write buffer, or
    /// this transaction's or batch's pending writes): fjall holds none of them yet.
    pub fn sub_rows_in_memory(&self, version: u64) -> bool {
        !self.engine.buffer.fjall_may_hold(version)
    }

    /// Reads one sub-row of `key` at `version`.
    pub fn sub_get(&self, key: &[u8], version: u64, sub_key: &[u8]) -> Result<Option<Vec<u8>>> {
        let row = self.sub_row(key, version, sub_key);
        if let Some(pending) = self.pending_sub(&row) {
            return Ok(pending);
        }
        if let Some(cached) = self.engine.sub_cache.get(&row) {
            return Ok(cached);
        }
        let sub = &self.engine.sub;
        let stored = match sub.get_buffered(&row) {
            Some(buffered) => buffered,
            // Every row of the version is in the buffer, which has none here. Such absences
            // are not cached: inserting one evicted another row, and the SADD that asked
            // then refreshed it (a set growing from empty: 24.7 -> 13.7 simulated L2 misses
            // per SADD). The row is cached when it is first read, as any written row is.
            None if self.sub_rows_in_memory(version) => return Ok(None),
            None => sub.get_stored(&row)?,
        }
        .map(|v| v.to_vec());
        self.engine.sub_cache.put(&row, stored.as_deref());
        Ok(stored)
    }

    /// Whether this transaction or its batch holds sub-row writes not yet committed.
    fn has_pending_subs(&self) -> bool {
        !self.pending.subs.is_empty()
            || self
                .with_batch_writes(|writes| !writes.subs.is_empty())
                .unwrap_or(false)
    }

    /// Values of the `count` sub-rows of `key` at `version` named by `sort_keys`, ascending,
    /// every one of which exists: a stretch of a list's positions, so the first sort key and
    /// the count name it. It is one scan, whose values are then kept as one entry of the
    /// stretch cache (if there are few and all were committed), so reading the same stretch
    /// again (a feed's newest items, LRANGE 0 99) costs one lookup. Any sub-row write of the
    /// key's version drops the entry ([`Txn::commit`]); writers do not fill it (a queue's
    /// pushes are popped, not read).
    pub fn sub_values_cached<K: AsRef<[u8]>>(
        &self,
        key: &[u8],
        version: u64,
        sort_keys: impl IntoIterator<Item = K>,
        count: usize,
    ) -> Result<StretchValues> {
        let mut sort_keys = sort_keys.into_iter();
        let Some(first) = sort_keys.next() else {
            return Ok(StretchValues {
                all: Arc::default(),
                len: 0,
            });
        };
        let prefix = self.with_meta_key(key, |raw| sub_prefix(raw, version));
        // A long stretch (LRANGE 0 -1 of a big list) would evict everything else.
        let cacheable = count <= CACHED_STRETCH_MAX && !self.has_pending_subs();
        if cacheable {
            if let Some(stretch) = self.engine.stretch_cache.get(&prefix) {
                if stretch.first == first.as_ref() && stretch.values.len() >= count {
                    return Ok(StretchValues {
                        all: stretch.values.clone(),
                        len: count,
                    });
                }
            }
        }
        let last = sort_keys.last();
        let bounds = (
            Bound::Included(first.as_ref()),
            Bound::Included(last.as_ref().map_or(first.as_ref(), AsRef::as_ref)),
        );
        let scan = self.sub_scan_expecting(key, version, bounds, false, count);
        let values = Arc::new(
            scan.values()
                .map(|value| value.map(bytes::Bytes::from))
                .collect::<Result<Vec<_>>>()?,
        );
        // Nothing pending (`cacheable`): every row read is committed.
        if cacheable {
            let stretch = Stretch {
                first: first.as_ref().to_vec(),
                values: values.clone(),
            };
            self.engine.stretch_cache.put(&prefix, Arc::new(stretch));
        }
        Ok(StretchValues {
            len: values.len(),
            all: values,
        })
    }

    /// Takes one element row of the list `key` at `version` (a pop): returns its value, and
    /// deletes the row if it is pending or in the write buffer. A row taken from fjall is
    /// left there: the caller moves the list's ends past it, which is what makes it gone,
    /// and the sub-row compaction filter removes it (see [`super::compaction`]). On a queue
    /// whose backlog was ingested, a deletion per pop cost a fifth of a pop's CPU.
    ///
    /// Unlike [`Txn::sub_get`] it does not fill the sub-row cache with the row: popped rows
    /// are mostly ones nobody read before (a queue's jobs). `ahead` is the sort key of the
    /// farthest row the next pops will take, in the direction `reverse` (toward lower keys)
    /// goes: a row found only in fjall is read by one scan through `ahead` that keeps the
    /// rows after it for the next pops (see [`Txn::read_ahead`]).
    pub fn sub_take(
        &mut self,
        key: &[u8],
        version: u64,
        sub_key: &[u8],
        ahead: Option<(&[u8], bool)>,
    ) -> Result<Option<Vec<u8>>> {
        self.touch(key);
        let row = self.sub_row(key, version, sub_key);
        let value = match self.pending_sub(&row) {
            Some(pending) => pending,
            None => {
                // Rows read ahead are committed ones, and a commit that wrote one forgot
                // it: what is held is what the buffer or fjall would answer, found without
                // the buffer's search (in a queue whose backlog fjall holds, the search
                // meets the deletions of earlier pops at the partition's end). A row taken
                // from there is left where it is, as one taken from fjall (see above).
                if let Some(value) = self.engine.read_ahead.take(&row) {
                    return Ok(Some(value.to_vec()));
                }
                match self.buffered_popped(&row, ahead) {
                    Some(buffered) => buffered.map(|v| v.to_vec()),
                    None => return self.stored_popped(&row, key, version, sub_key, ahead),
                }
            }
        };
        self.pending.pend_sub(row, SubWrite::DELETE);
        Ok(value)
    }

    /// A row a pop takes, if the write buffer holds it (`Some(None)`: a deletion).
    fn buffered_popped(
        &self,
        row: &[u8],
        ahead: Option<(&[u8], bool)>,
    ) -> Option<Option<fjall::Slice>> {
        // A pop from a list's tail takes the last row (or one of the last few, the ones
        // after it deleted by pending pops of the same batch).
        let from_tail = ahead.is_some_and(|(_, reverse)| reverse);
        if from_tail {
            self.engine.sub.get_buffered_near_last(row)
        } else {
            self.engine.sub.get_buffered(row)
        }
    }

    /// A committed row a pop takes that neither the rows read ahead nor the write buffer
    /// hold: from fjall.
    fn stored_popped(
        &self,
        row: &[u8],
        key: &[u8],
        version: u64,
        sub_key: &[u8],
        ahead: Option<(&[u8], bool)>,
    ) -> Result<Option<Vec<u8>>> {
        match ahead {
            // Rows read ahead must be committed ones (`ReadAhead` holds nothing else).
            Some((through, reverse)) if !self.has_pending_subs() => {
                self.read_ahead(key, version, sub_key, through, reverse)
            }
            _ => Ok(self
                .engine
                .sub
                .get_stored_of_version(row, version)?
                .map(|v| v.to_vec())),
        }
    }

    /// Reads sub-row `sub_key` and the rows after it through `through` (`reverse`: toward
    /// lower keys) with one scan, and keeps those after it for the next pops. A queue whose
    /// backlog was ingested into fjall popped each job with a point read through fjall's
    /// filters, index and data blocks; a scan pays that once for [`READ_AHEAD_ROWS`] jobs.
    fn read_ahead(
        &self,
        key: &[u8],
        version: u64,
        sub_key: &[u8],
        through: &[u8],
        reverse: bool,
    ) -> Result<Option<Vec<u8>>> {
        let bounds = if reverse {
            (Bound::Included(through), Bound::Included(sub_key))
        } else {
            (Bound::Included(sub_key), Bound::Included(through))
        };
        // The bounded range is read forward even for pops toward lower keys, and turned
        // around here: fjall's reverse iteration (a block decoded from its restart points
        // onto a stack, merged from the back) cost ~1,900 instructions per pipelined RPOP
        // from a list fjall held, a fifth of it.
        let scan = self.sub_scan_expecting(key, version, bounds, false, READ_AHEAD_ROWS);
        let prefix_len = scan.prefix_len;
        // Collected at their final size, in the container the read-ahead keeps (growing a
        // vector from empty, then copying it, cost a pop a cache miss on average).
        let mut rows = VecDeque::with_capacity(READ_AHEAD_ROWS);
        for row in scan.whole_rows() {
            rows.push_back(row?);
        }
        if reverse {
            rows.make_contiguous().reverse();
        }
        // In the pops' order, the range starts at `sub_key`.
        let taken = match rows.front() {
            Some((row, _)) if row[prefix_len..] == *sub_key => rows.pop_front(),
            _ => None,
        };
        let mut bytes_kept = 0;
        let kept = (rows.iter())
            .take_while(|(_, value)| {
                let room = bytes_kept <= READ_AHEAD_BYTES;
                bytes_kept += value.len();
                room
            })
            .count();
        rows.truncate(kept);
        if let Some((row, _)) = rows.front() {
            let prefix = row[..prefix_len].to_vec();
            self.engine.read_ahead.put(prefix, rows, reverse);
        }
        Ok(taken.map(|(_, value)| value.to_vec()))
    }

    /// Writes one sub-row of `key` at `version`.
    pub fn sub_put(&mut self, key: &[u8], version: u64, sub_key: &[u8], value: Vec<u8>) {
        self.write_sub(key, version, sub_key, Some(value), false);
    }

    /// Writes one sub-row of `key` at `version` that the caller knows does not exist (a
    /// list push's new position, a member just found absent). Should it be deleted while
    /// the write is still in the write buffer's active layer, nothing is left behind; see
    /// [`super::write_buffer::RowOp`].
    pub fn sub_insert(&mut self, key: &[u8], version: u64, sub_key: &[u8], value: Vec<u8>) {
        self.write_sub(key, version, sub_key, Some(value), true);
    }

    /// Deletes one sub-row of `key` at `version`.
    pub fn sub_delete(&mut self, key: &[u8], version: u64, sub_key: &[u8]) {
        self.write_sub(key, version, sub_key, None, false);
    }

    fn write_sub(
        &mut self,
        key: &[u8],
        version: u64,
        sub_key: &[u8],
        value: Option<Vec<u8>>,
        fresh: bool,
    ) {
        self.touch(key);
        let row = self.sub_row(key, version, sub_key);
        self.pending.pend_sub(row, SubWrite { value, fresh });
    }

    /// Iterates stored sub-rows of `key` at `version` whose sort key is within the bounds,
    /// yielding `(sort key, value)`. Pending writes of this transaction are not visible
    /// (commands scan before they write); those of earlier commands of its batch are (and so
    /// are its own if it carries the batch's, see [`Batch::let_next_carry`]).
    pub fn sub_scan(
        &self,
        key: &[u8],
        version: u64,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
    ) -> SubScan {
        self.sub_scan_expecting(key, version, (lower, upper), reverse, 0)
    }

    /// [`Txn::sub_scan`] for a caller that will read about `rows` rows (LRANGE knows how
    /// many it wants): the scan takes that many buffered rows at once.
    pub fn sub_scan_expecting(
        &self,
        key: &[u8],
        version: u64,
        (lower, upper): (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        rows: usize,
    ) -> SubScan {
        let prefix = self.with_meta_key(key, |raw| sub_prefix(raw, version));
        let with_prefix = |b: &[u8]| {
            let mut v = prefix.clone();
            v.extend_from_slice(b);
            v
        };
        let lo = match lower {
            Bound::Included(b) => Bound::Included(with_prefix(b)),
            Bound::Excluded(b) => Bound::Excluded(with_prefix(b)),
            Bound::Unbounded => Bound::Included(prefix.clone()),
        };
        let hi = match upper {
            Bound::Included(b) => Bound::Included(with_prefix(b)),
            Bound::Excluded(b) => Bound::Excluded(with_prefix(b)),
            Bound::Unbounded => match keys::prefix_successor(&prefix) {
                Some(succ) => Bound::Excluded(succ),
                None => Bound::Unbounded,
            },
        };
        let (lo, hi) = (
            keys::storable_bound(lo, true),
            keys::storable_bound(hi, false),
        );
        let batch_rows: Vec<(Vec<u8>, Option<Vec<u8>>)> = self
            .with_batch_writes(|writes| {
                (writes.subs.range::<Vec<u8>, _>((lo.clone(), hi.clone())))
                    .map(|(row, write)| (row.clone(), write.value.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let stored = self
            .engine
            .sub
            .range(lo, hi, reverse)
            .expecting(rows)
            .of_version(version);
        let inner = if batch_rows.is_empty() {
            ScanRows::Stored(stored)
        } else {
            ScanRows::Merged(merged_rows(stored, batch_rows, reverse))
        };
        SubScan {
            inner,
            prefix_len: prefix.len(),
        }
    }

    /// Reads a row of a row family (table items, catalog, change logs), through this
    /// transaction's pending writes.
    pub fn row_get(&mut self, family: Family, row: &[u8]) -> Result<Option<Vec<u8>>> {
        let entry = (family, row.to_vec());
        if let Some(pending) = self.pending.rows().and_then(|rows| rows.get(&entry)) {
            return Ok(pending.value.clone());
        }
        if let Some(batch) = self.batch {
            let batch_pending = batch.pending.lock();
            if let Some(pending) = batch_pending
                .writes
                .rows()
                .and_then(|rows| rows.get(&entry))
            {
                return Ok(pending.value.clone());
            }
        }
        let stored = self.engine.store(family).get(row)?.map(|v| v.to_vec());
        self.pending
            .rare_mut()
            .rows_existed
            .entry(entry)
            .or_insert(stored.is_some());
        Ok(stored)
    }

    /// Writes (`Some`) or deletes (`None`) a row of a row family. `slot` is the slot of the
    /// key the row belongs to (its shard is credited with the bytes); `space` is the table
    /// whose item count follows the row (items only).
    pub fn row_write(
        &mut self,
        family: Family,
        space: u32,
        slot: u16,
        row: Vec<u8>,
        value: Option<Vec<u8>>,
    ) -> Result<()> {
        self.writing();
        debug_assert!(
            family != Family::Items || self.locks.covers(slot),
            "item written without its shard lock"
        );
        let entry = (family, row);
        let rare = self.pending.rare_mut();
        if family == Family::Items
            && !rare.rows.contains_key(&entry)
            && !rare.rows_existed.contains_key(&entry)
        {
            let existed = self.engine.store(family).get(&entry.1)?.is_some();
            rare.rows_existed.insert(entry.clone(), existed);
        }
        rare.rows.insert(entry, RowWrite { slot, space, value });
        Ok(())
    }

    /// Records a keyspace event to publish once the transaction commits.
    pub fn notify(&mut self, class: char, event: &'static str, key: &[u8]) {
        self.writing();
        if self.engine.notify_enabled.load(Ordering::Relaxed) {
            let space = self.space;
            self.pending.rare_mut().events.push(KeyEvent {
                space,
                class,
                event,
                key: key.to_vec(),
            });
        }
    }

    /// How many row writes of the other families are pending.
    fn rows_pending(&self) -> usize {
        self.pending.rows().map_or(0, BTreeMap::len)
    }

    /// Whether the transaction has anything to write.
    pub fn is_dirty(&self) -> bool {
        !self.pending.subs.is_empty()
            || self
                .pending
                .rare()
                .is_some_and(|rare| !rare.rows.is_empty() || !rare.dropped_versions.is_empty())
            || self.pending.metas.values().any(|e| e.dirty)
    }

    /// Commits all pending writes atomically, then does the bookkeeping every write needs:
    /// caches, key and item counts, shard accounting, WATCH/blocking signals, keyspace events.
    ///
    /// Inlined into its callers, so the transaction (a few hundred bytes) is not copied into
    /// the call: the work is done by reference, and the transaction dropped at the end.
    #[inline]
    pub fn commit(mut self) -> Result<()> {
        self.commit_in_place()
    }

    fn commit_in_place(&mut self) -> Result<()> {
        if let Some(batch) = self.batch {
            return self.join(batch);
        }
        if !self.is_dirty() {
            // A write that left the rows as they were (SET of the same value) still
            // invalidates and disturbs WATCH, as in Redis.
            self.signal_touched();
            self.report_modified();
            self.publish_events();
            return Ok(());
        }
        self.check_row_sizes()?;
        let mut staged = Staged {
            // A row per pending row, and room for an expiry or reclaim row or two.
            ops: Vec::with_capacity(
                self.pending.metas.len() + self.pending.subs.len() + self.rows_pending() + 2,
            ),
            written: SlotBytes::default(),
            count_deltas: SmallVec::new(),
        };
        self.stage_metas(&mut staged);
        self.stage_subs(&mut staged);
        self.stage_rows(&mut staged);
        self.engine.commit_batch(staged.ops)?;
        let changed = self.pending.metas.values().filter(|e| e.dirty).count() + self.rows_pending();
        self.engine
            .changes
            .fetch_add(changed.max(1) as u64, Ordering::Relaxed);
        self.after_commit(&staged.written, &staged.count_deltas);
        Ok(())
    }

    /// A command of a batch committing: its writes join the batch's (see [`Batch`]). What
    /// would refuse it on its own (a full disk, a row key too long) refuses it here, so each
    /// command still gets its own error.
    fn join(&mut self, batch: &Batch) -> Result<()> {
        if self.carried {
            // Its rows are short (see `Batch::let_next_carry`): only a refusal that came
            // since it took the writes over can refuse it.
            if self.wrote {
                self.engine.disk.admit_writes()?;
            }
            self.hand_back_carried(true);
            return Ok(());
        }
        if self.is_dirty() {
            self.engine.disk.admit_writes()?;
            self.check_row_sizes()?;
        }
        batch.pending.lock().writes.absorb(&mut self.pending);
        Ok(())
    }

    /// Refuses the whole transaction if a row key would exceed what fjall stores (it would
    /// panic). The expiry and reclaim rows derived from a metadata key are 8 bytes longer.
    fn check_row_sizes(&self) -> Result<()> {
        let derived_overhead = 8;
        let too_long = self
            .pending
            .metas
            .keys()
            .any(|k| k.len() + derived_overhead > keys::MAX_ROW_KEY)
            || self
                .pending
                .subs
                .keys()
                .any(|k| k.len() > keys::MAX_ROW_KEY)
            || self
                .pending
                .rows()
                .is_some_and(|rows| rows.keys().any(|(_, k)| k.len() > keys::MAX_ROW_KEY));
        if too_long {
            return Err(EngineError::RowTooLong);
        }
        Ok(())
    }

    /// Metadata rows, with the expiry index, reclaim queue and key counts they imply.
    fn stage_metas(&self, staged: &mut Staged) {
        let engine = self.engine;
        for (raw_key, entry) in self.pending.metas.iter().filter(|(_, e)| e.dirty) {
            let space = keys::decode_meta_key(raw_key).map_or(self.space, |p| p.space);
            let (old, new) = (entry.physical.as_deref(), entry.current.as_deref());
            match new {
                Some(meta) => {
                    let encoded = meta.encode_row();
                    let slot = keys::slot_of_row(raw_key);
                    staged.written.add(slot, raw_key.len() + encoded.len());
                    staged.put(engine.meta.id, raw_key, Some(encoded))
                }
                None if old.is_some() => staged.put(engine.meta.id, raw_key, None),
                None => {}
            }
            let old_expire = old.map_or(0, |m| m.expire_at);
            let new_expire = new.map_or(0, |m| m.expire_at);
            if old_expire != new_expire {
                if old_expire != 0 {
                    let row = expiry_row(old_expire, raw_key);
                    staged.put(engine.expiry.id, &row, None);
                }
                if new_expire != 0 {
                    let row = expiry_row(new_expire, raw_key);
                    staged.put(engine.expiry.id, &row, Some(Slice::empty()));
                }
            }
            if let Some(old) = old {
                let version_dropped = new.is_none_or(|n| n.version != old.version);
                let rows_left = entry.emptied_version != Some(old.version);
                if old.has_sub_rows() && version_dropped && rows_left {
                    let prefix = sub_prefix(raw_key, old.version);
                    staged.put(engine.gc.id, &prefix, Some(Slice::empty()));
                }
            }
            staged.count(space, new.is_some(), old.is_some());
        }
        let dropped = self.pending.rare().map(|rare| &rare.dropped_versions);
        for prefix in dropped.into_iter().flatten() {
            staged.put(engine.gc.id, prefix, Some(Slice::empty()));
        }
    }

    /// Sub-rows are staged (and so applied to the write buffer) in descending key order: a
    /// batch of RPOPs deletes a list's last rows, each then the last of its partition,
    /// which the buffer finds without a search (see `row_map::is_last`), and a batch of
    /// LPUSHes inserts each new row before all the others (one comparison per level).
    fn stage_subs(&self, staged: &mut Staged) {
        for (row, write) in self.pending.subs.iter().rev() {
            let (slot, value) = (keys::slot_of_row(row), write.value.as_deref());
            staged.write(self.engine.sub.id, slot, row, value, write.fresh);
        }
    }

    /// Rows of the other families (items, catalog, change logs), with item counts.
    fn stage_rows(&self, staged: &mut Staged) {
        let Some(rare) = self.pending.rare() else {
            return;
        };
        for (entry, write) in &rare.rows {
            let (family, row) = entry;
            let store = self.engine.store(*family).id;
            staged.write(store, write.slot, row, write.value.as_deref(), false);
            if *family == Family::Items {
                let existed = rare.rows_existed.get(entry).copied().unwrap_or(false);
                staged.count(write.space, write.value.is_some(), existed);
            }
        }
    }

    /// Bookkeeping once the batch is durable in the journal: caches, accounting, counts,
    /// signals, events.
    fn after_commit(&mut self, written: &SlotBytes, count_deltas: &[(u32, i64)]) {
        let engine = self.engine;
        let stretches = engine.stretch_cache.was_filled();
        let mut stretch_dropped: Option<Vec<u8>> = None;
        for (row, write) in std::mem::take(&mut *self.pending.subs) {
            engine.read_ahead.forget(&row);
            // Rows are in key order: a key version's rows are adjacent.
            let prefix = &row[..keys::sub_prefix_len(&row)];
            if stretches && stretch_dropped.as_deref() != Some(prefix) {
                engine.stretch_cache.remove(prefix);
                stretch_dropped = Some(prefix.to_vec());
            }
            engine.sub_cache.refresh(&row, write.value.as_deref());
        }
        self.locks.account_bytes(engine, &written.0);
        for &(space, delta) in count_deltas {
            engine.adjust_key_count(space, delta);
        }
        self.signal_touched();
        self.report_modified();
        self.publish_events();
    }

    fn signal_touched(&mut self) {
        let Some(rare) = self.pending.rare.as_deref_mut() else {
            return;
        };
        for key in rare.touched.drain(..) {
            self.engine.signals.touch(&key);
        }
    }

    fn report_modified(&mut self) {
        let Some(rare) = self.pending.rare.as_deref_mut() else {
            return;
        };
        if rare.modified.is_empty() {
            return;
        }
        if let Some(tracker) = self.engine.tracker.get() {
            tracker.modified(&rare.modified);
        }
        rare.modified.clear();
    }

    fn publish_events(&mut self) {
        let Some(rare) = self.pending.rare.as_deref_mut() else {
            return;
        };
        if rare.events.is_empty() {
            return;
        }
        if let Some(notifier) = self.engine.notifier.get() {
            for event in rare.events.drain(..) {
                notifier(&event);
            }
        }
    }
}

/// A batch being assembled, with what its commit must account for.
struct Staged {
    ops: Vec<RowOp>,
    written: SlotBytes,
    count_deltas: SmallVec<[(u32, i64); 2]>,
}

impl Staged {
    /// A row write, credited to `slot`'s shard; `fresh`: see [`RowOp::fresh`].
    fn write(&mut self, store: StoreId, slot: u16, row: &[u8], value: Option<&[u8]>, fresh: bool) {
        self.written
            .add(slot, row.len() + value.map_or(0, <[u8]>::len));
        let op = RowOp::new(store, Slice::from(row), value.map(Slice::from));
        self.ops.push(RowOp { fresh, ..op });
    }

    /// A row write credited to no shard (metadata rows are credited by the caller).
    fn put(&mut self, store: StoreId, row: &[u8], value: Option<Slice>) {
        self.ops.push(RowOp::new(store, Slice::from(row), value));
    }

    fn count(&mut self, space: u32, exists_now: bool, existed: bool) {
        let delta = i64::from(exists_now) - i64::from(existed);
        if delta != 0 {
            self.count_deltas.push((space, delta));
        }
    }
}

/// Bytes written per slot, runs of the same slot merged (a command's rows share a slot).
#[derive(Default)]
struct SlotBytes(SmallVec<[(u16, u64); 2]>);

impl SlotBytes {
    fn add(&mut self, slot: u16, bytes: usize) {
        match self.0.last_mut() {
            Some((last, total)) if *last == slot => *total += bytes as u64,
            _ => self.0.push((slot, bytes as u64)),
        }
    }
}

/// Row key of an expiry index entry.
pub(crate) fn expiry_row(expire_at: u64, meta_key: &[u8]) -> Vec<u8> {
    let mut row = Vec::with_capacity(8 + meta_key.len());
    row.extend_from_slice(&expire_at.to_be_bytes());
    row.extend_from_slice(meta_key);
    row
}

/// Iterator over `(sort key, value)` sub-rows of one key version.
pub struct SubScan {
    inner: ScanRows,
    prefix_len: usize,
}

/// Where a scan's rows come from: the store alone, or the store overlaid with the pending
/// writes of earlier commands of the scanning transaction's batch.
enum ScanRows {
    Stored(StoreIter),
    Merged(MergedRows),
}

impl ScanRows {
    /// The next row as `(row key, value)`.
    fn next_row(&mut self) -> Option<Result<(RowBytes, RowBytes)>> {
        match self {
            ScanRows::Stored(rows) => {
                let guard = rows.next()?;
                Some(
                    guard
                        .into_inner()
                        .map(|(k, v)| (RowBytes::Stored(k), RowBytes::Stored(v)))
                        .map_err(Into::into),
                )
            }
            ScanRows::Merged(rows) => {
                Some(rows.next_row()?.map_err(Into::into).map(|row| match row {
                    MergedRow::Stored(k, v) => (RowBytes::Stored(k), RowBytes::Stored(v)),
                    MergedRow::Newer(k, v) => (RowBytes::Pending(k), RowBytes::Pending(v)),
                }))
            }
        }
    }
}

/// A row key or value, from the store or from pending writes.
enum RowBytes {
    Stored(fjall::Slice),
    Pending(Vec<u8>),
}

impl std::ops::Deref for RowBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            RowBytes::Stored(slice) => slice,
            RowBytes::Pending(bytes) => bytes,
        }
    }
}

impl RowBytes {
    fn into_vec(self) -> Vec<u8> {
        match self {
            RowBytes::Stored(slice) => slice.to_vec(),
            RowBytes::Pending(bytes) => bytes,
        }
    }

    fn into_slice(self) -> Slice {
        match self {
            RowBytes::Stored(slice) => slice,
            RowBytes::Pending(bytes) => Slice::from(bytes),
        }
    }
}

/// The store's rows of a scan, as [`Overlaid`] reads them.
type StoredRows = std::iter::Map<StoreIter, fn(Row) -> fjall::Result<(Slice, Slice)>>;

/// Stored rows merged with the pending writes of earlier commands of the batch.
type MergedRows = Overlaid<StoredRows, Vec<u8>>;

/// Merges `pending` (in key order) over `stored` (in the scan's direction).
fn merged_rows(
    stored: StoreIter,
    mut pending: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    reverse: bool,
) -> MergedRows {
    if reverse {
        pending.reverse();
    }
    let stored: StoredRows = stored.map(Row::into_inner);
    Overlaid::new(stored, pending.into(), reverse)
}

impl Iterator for SubScan {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = self.inner.next_row()?;
        Some(row.map(|(k, v)| (k[self.prefix_len..].to_vec(), v.into_vec())))
    }
}

impl SubScan {
    /// The rows as `(whole row key, value)`, copying neither (a pop's read ahead keeps them).
    fn whole_rows(self) -> impl Iterator<Item = Result<(Slice, Slice)>> {
        let mut rows = self.inner;
        std::iter::from_fn(move || {
            let row = rows.next_row()?;
            Some(row.map(|(k, v)| (k.into_slice(), v.into_slice())))
        })
    }

    /// The values alone, without copying each row's sort key (LRANGE wants only elements).
    pub fn values(self) -> SubValues {
        SubValues(self.inner)
    }
}

/// Iterator over the values of [`SubScan`]'s rows.
pub struct SubValues(ScanRows);

impl Iterator for SubValues {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            ScanRows::Stored(rows) => {
                let row: Row = rows.next()?;
                Some(row.value().map(|v| v.to_vec()).map_err(Into::into))
            }
            merged => {
                let row = merged.next_row()?;
                Some(row.map(|(_, v)| v.into_vec()))
            }
        }
    }
}
