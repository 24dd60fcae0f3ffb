//! Transactions: the only way commands touch stored data.
//!
//! A [`Txn`] locks the shards owning its keys (so a command's read-modify-write is atomic,
//! as it is in single-threaded Redis), reads through an overlay of its own pending writes,
//! and commits everything as one atomic fjall batch. It also does the bookkeeping every
//! write needs, so command code cannot forget it:
//! - the expiry index follows each key's `expire_at`;
//! - when a key with sub-rows is deleted or replaced by a new version, its old version is
//!   queued for background reclaim (DEL of a huge hash is O(1));
//! - per-space key counts (DBSIZE) follow creations and deletions;
//! - keyspace events raised by the command are handed to the notifier after commit.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use parking_lot::{ArcMutexGuard, ArcRwLockReadGuard, RawMutex, RawRwLock};

use super::keys::{self, meta_key, sub_prefix};
use super::meta::Meta;
use super::shards::{Layout, Shard};
use super::{Engine, Result};

/// Shard locks held for a transaction (or for a whole MULTI/EXEC block).
pub struct LockSet {
    // Field order matters: shard guards are released before the layout guard.
    _guards: Vec<ArcMutexGuard<RawMutex, ()>>,
    shards: Vec<std::sync::Arc<Shard>>,
    _layout: ArcRwLockReadGuard<RawRwLock, Layout>,
}

impl LockSet {
    /// Locks the shards owning `slots`, in shard-id order so concurrent transactions over
    /// several shards cannot deadlock.
    pub fn for_slots(engine: &Engine, slots: impl Iterator<Item = u16>) -> LockSet {
        let layout = engine.shards.read();
        let mut shards: Vec<_> = slots
            .map(|slot| layout.shard_for_slot(slot).clone())
            .collect();
        shards.sort_by_key(|s| s.id);
        shards.dedup_by_key(|s| s.id);
        let guards = shards
            .iter()
            .map(|s| {
                s.ops.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                s.lock.lock_arc()
            })
            .collect();
        LockSet {
            _guards: guards,
            shards,
            _layout: layout,
        }
    }

    /// Locks every shard.
    pub fn all(engine: &Engine) -> LockSet {
        let layout = engine.shards.read();
        let guards = layout.shards.iter().map(|s| s.lock.lock_arc()).collect();
        LockSet {
            _guards: guards,
            shards: layout.shards.clone(),
            _layout: layout,
        }
    }

    /// Attributes written bytes to the locked shards (split evenly; usually there is one).
    fn account_bytes(&self, bytes: u64) {
        if self.shards.is_empty() {
            return;
        }
        let each = bytes / self.shards.len() as u64;
        for shard in &self.shards {
            shard
                .bytes
                .fetch_add(each, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// A keyspace event raised by a command (published after commit, if anyone listens).
#[derive(Debug, Clone)]
pub struct KeyEvent {
    pub space: u32,
    /// Redis notification class character: `g` generic, `$` string, `h` hash, `z` zset,
    /// `x` expired, `l` list, `s` set.
    pub class: char,
    pub event: &'static str,
    pub key: Vec<u8>,
}

struct MetaEntry {
    /// The row as stored when the transaction first looked (expired or not).
    physical: Option<Meta>,
    /// The row as the transaction wants it.
    current: Option<Meta>,
    dirty: bool,
}

pub struct Txn<'e> {
    engine: &'e Engine,
    space: u32,
    now: u64,
    locks: Option<LockSet>,
    metas: HashMap<Vec<u8>, MetaEntry>,
    subs: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    events: Vec<KeyEvent>,
    /// Metadata keys written, recorded only while someone WATCHes or blocks on keys.
    touched: Vec<Vec<u8>>,
}

impl<'e> Txn<'e> {
    pub(crate) fn new(engine: &'e Engine, space: u32, slots: impl Iterator<Item = u16>) -> Self {
        Self::with_locks(engine, space, Some(LockSet::for_slots(engine, slots)))
    }

    pub(crate) fn new_all(engine: &'e Engine, space: u32) -> Self {
        Self::with_locks(engine, space, Some(LockSet::all(engine)))
    }

    /// A transaction whose locks the caller already holds (inside MULTI/EXEC).
    pub fn with_locks(engine: &'e Engine, space: u32, locks: Option<LockSet>) -> Self {
        Txn {
            engine,
            space,
            now: super::now_ms(),
            locks,
            metas: HashMap::new(),
            subs: BTreeMap::new(),
            events: Vec::new(),
            touched: Vec::new(),
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
        self.now
    }

    fn entry(&mut self, raw_key: Vec<u8>) -> Result<&mut MetaEntry> {
        use std::collections::hash_map::Entry;
        match self.metas.entry(raw_key) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => {
                let physical = match self.engine.meta_cache.get(e.key()) {
                    Some(cached) => cached.map(|m| Meta::clone(&m)),
                    None => {
                        let stored = match self.engine.meta.get(e.key())? {
                            Some(raw) => Some(Meta::decode(&raw)?),
                            None => None,
                        };
                        self.engine
                            .meta_cache
                            .put(e.key().clone(), stored.clone().map(std::sync::Arc::new));
                        stored
                    }
                };
                Ok(e.insert(MetaEntry {
                    current: physical.clone(),
                    physical,
                    dirty: false,
                }))
            }
        }
    }

    /// The live (not expired) metadata of `key`.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Meta>> {
        let now = self.now;
        let entry = self.entry(meta_key(self.space, key))?;
        Ok(entry.current.clone().filter(|m| !m.is_expired(now)))
    }

    /// The stored metadata of `key` even if it has expired (for the expiry cycle).
    pub fn peek(&mut self, key: &[u8]) -> Result<Option<Meta>> {
        let entry = self.entry(meta_key(self.space, key))?;
        Ok(entry.current.clone())
    }

    /// Whether `key` exists (and is not expired).
    pub fn exists(&mut self, key: &[u8]) -> Result<bool> {
        Ok(self.get(key)?.is_some())
    }

    fn touch(&mut self, key: &[u8]) {
        if self.engine.signals.active() {
            self.touched.push(meta_key(self.space, key));
        }
    }

    /// Stores `meta` as the metadata of `key` (creating or replacing it).
    pub fn put(&mut self, key: &[u8], meta: Meta) -> Result<()> {
        self.touch(key);
        let entry = self.entry(meta_key(self.space, key))?;
        // Rewriting an identical row (HSET of an existing field, ZINCRBY) would only cost a
        // memtable insert and journal bytes.
        if entry.current.as_ref() != Some(&meta) {
            entry.current = Some(meta);
            entry.dirty = true;
        }
        Ok(())
    }

    /// Deletes `key`; returns whether a live key was deleted.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool> {
        let now = self.now;
        let entry = self.entry(meta_key(self.space, key))?;
        let was_live = entry.current.as_ref().is_some_and(|m| !m.is_expired(now));
        let existed = entry.current.is_some();
        if existed {
            entry.current = None;
            entry.dirty = true;
            self.touch(key);
        }
        Ok(was_live)
    }

    fn sub_row(&self, key: &[u8], version: u64, sub_key: &[u8]) -> Vec<u8> {
        let mut row = sub_prefix(&meta_key(self.space, key), version);
        row.extend_from_slice(sub_key);
        row
    }

    /// Reads one sub-row of `key` at `version`.
    pub fn sub_get(&self, key: &[u8], version: u64, sub_key: &[u8]) -> Result<Option<Vec<u8>>> {
        let row = self.sub_row(key, version, sub_key);
        if let Some(pending) = self.subs.get(&row) {
            return Ok(pending.clone());
        }
        if let Some(cached) = self.engine.sub_cache.get(&row) {
            return Ok(cached.map(|v| v.to_vec()));
        }
        let stored = self.engine.sub.get(&row)?.map(|v| v.to_vec());
        self.engine
            .sub_cache
            .put(row, stored.clone().map(bytes::Bytes::from));
        Ok(stored)
    }

    /// Writes one sub-row of `key` at `version`.
    pub fn sub_put(&mut self, key: &[u8], version: u64, sub_key: &[u8], value: Vec<u8>) {
        self.touch(key);
        let row = self.sub_row(key, version, sub_key);
        self.subs.insert(row, Some(value));
    }

    /// Deletes one sub-row of `key` at `version`.
    pub fn sub_delete(&mut self, key: &[u8], version: u64, sub_key: &[u8]) {
        self.touch(key);
        let row = self.sub_row(key, version, sub_key);
        self.subs.insert(row, None);
    }

    /// Iterates stored sub-rows of `key` at `version` whose sort key is within the bounds,
    /// yielding `(sort key, value)`. Pending writes of this transaction are not visible:
    /// commands scan before they write.
    pub fn sub_scan(
        &self,
        key: &[u8],
        version: u64,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
    ) -> SubScan {
        let prefix = sub_prefix(&meta_key(self.space, key), version);
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
        let iter = self.engine.sub.range::<Vec<u8>, _>((lo, hi));
        SubScan {
            inner: if reverse {
                Box::new(iter.rev())
            } else {
                Box::new(iter)
            },
            prefix_len: prefix.len(),
        }
    }

    /// Records a keyspace event to publish once the transaction commits.
    pub fn notify(&mut self, class: char, event: &'static str, key: &[u8]) {
        if self
            .engine
            .notify_enabled
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            self.events.push(KeyEvent {
                space: self.space,
                class,
                event,
                key: key.to_vec(),
            });
        }
    }

    /// Whether the transaction has anything to write.
    pub fn is_dirty(&self) -> bool {
        !self.subs.is_empty() || self.metas.values().any(|e| e.dirty)
    }

    /// Commits all pending writes atomically.
    pub fn commit(mut self) -> Result<()> {
        if !self.is_dirty() {
            self.publish_events();
            return Ok(());
        }
        let engine = self.engine;
        let mut batch = engine.db.batch();
        let mut bytes_written = 0u64;
        let mut count_deltas: Vec<(u32, i64)> = Vec::new();
        for (raw_key, entry) in self.metas.iter().filter(|(_, e)| e.dirty) {
            let space = keys::decode_meta_key(raw_key).map_or(self.space, |p| p.space);
            let old = entry.physical.as_ref();
            let new = entry.current.as_ref();
            match new {
                Some(meta) => {
                    let encoded = meta.encode();
                    bytes_written += (raw_key.len() + encoded.len()) as u64;
                    batch.insert(&engine.meta, raw_key.clone(), encoded)
                }
                None if old.is_some() => batch.remove(&engine.meta, raw_key.clone()),
                None => {}
            }
            let old_expire = old.map_or(0, |m| m.expire_at);
            let new_expire = new.map_or(0, |m| m.expire_at);
            if old_expire != new_expire {
                if old_expire != 0 {
                    batch.remove(&engine.expiry, expiry_row(old_expire, raw_key));
                }
                if new_expire != 0 {
                    batch.insert(&engine.expiry, expiry_row(new_expire, raw_key), []);
                }
            }
            if let Some(old) = old {
                let version_dropped = new.is_none_or(|n| n.version != old.version);
                if old.kind.has_sub_rows() && version_dropped {
                    batch.insert(&engine.gc, sub_prefix(raw_key, old.version), []);
                }
            }
            count_deltas.push((space, i64::from(new.is_some()) - i64::from(old.is_some())));
        }
        for (row, value) in &self.subs {
            bytes_written += (row.len() + value.as_ref().map_or(0, Vec::len)) as u64;
            match value {
                Some(v) => batch.insert(&engine.sub, row.as_slice(), v.as_slice()),
                None => batch.remove(&engine.sub, row.as_slice()),
            }
        }
        engine.commit(batch)?;
        for (row, value) in std::mem::take(&mut self.subs) {
            engine.sub_cache.refresh(row, value.map(bytes::Bytes::from));
        }
        for (raw_key, entry) in self.metas.drain().filter(|(_, e)| e.dirty) {
            engine
                .meta_cache
                .put(raw_key, entry.current.map(std::sync::Arc::new));
        }
        if let Some(locks) = &self.locks {
            locks.account_bytes(bytes_written);
        }
        for (space, delta) in count_deltas {
            engine.adjust_key_count(space, delta);
        }
        for key in self.touched.drain(..) {
            engine.signals.touch(&key);
        }
        self.publish_events();
        Ok(())
    }

    fn publish_events(&mut self) {
        if self.events.is_empty() {
            return;
        }
        if let Some(notifier) = self.engine.notifier.get() {
            for event in self.events.drain(..) {
                notifier(&event);
            }
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
    inner: Box<dyn Iterator<Item = fjall::Guard>>,
    prefix_len: usize,
}

impl Iterator for SubScan {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let guard = self.inner.next()?;
        Some(
            guard
                .into_inner()
                .map(|(k, v)| (k[self.prefix_len..].to_vec(), v.to_vec()))
                .map_err(Into::into),
        )
    }
}
