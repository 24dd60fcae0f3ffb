//! Shard locks, and the lock scope a unit of work runs under.
//!
//! The shard mutexes are not reentrant. A command run on its own takes the locks of the
//! shards its keys live in; a MULTI/EXEC block (and later a Lua script) takes them once for
//! everything it runs, and the commands inside must not take them again. That fact travels
//! as a value, [`Locks`], handed to every path that writes (Redis types, tables, change
//! logs), never as a flag someone may forget to check.

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::{ArcMutexGuard, ArcRwLockReadGuard, RawMutex, RawRwLock};
use smallvec::SmallVec;

use super::shards::{Layout, Shard};
use super::Engine;

/// Shard locks held for a transaction (or for a whole MULTI/EXEC block).
pub struct LockSet {
    // Field order matters: shard guards are released before the layout guard.
    // Inline room for two shards: most commands touch one key, and a lock set is built
    // for every command.
    _guards: SmallVec<[ArcMutexGuard<RawMutex, ()>; 2]>,
    shards: SmallVec<[Arc<Shard>; 2]>,
    /// Operations counted under these locks, per shard of `shards`, added to the shards'
    /// counters once, when the locks are released: a pipelined batch counted each of its
    /// commands with a locked addition to the shard's shared counter (whose cache line
    /// also moves between cores when several I/O threads run batches).
    ops: SmallVec<[Cell<u64>; 2]>,
    layout: ArcRwLockReadGuard<RawRwLock, Layout>,
}

impl Drop for LockSet {
    fn drop(&mut self) {
        for (shard, ops) in self.shards.iter().zip(&self.ops) {
            let ops = ops.get();
            if ops > 0 {
                shard.ops.fetch_add(ops, Ordering::Relaxed);
            }
        }
    }
}

impl LockSet {
    /// Locks the shards owning `slots`, in shard-id order so concurrent transactions over
    /// several shards cannot deadlock.
    pub(crate) fn for_slots(engine: &Engine, slots: impl Iterator<Item = u16>) -> LockSet {
        let layout = engine.shards.read();
        let mut shards: SmallVec<[Arc<Shard>; 2]> = slots
            .map(|slot| layout.shard_for_slot(slot).clone())
            .collect();
        shards.sort_by_key(|s| s.id);
        shards.dedup_by_key(|s| s.id);
        let guards = shards.iter().map(|s| s.lock.lock_arc()).collect();
        // The work these locks are taken for is one operation on each shard.
        let ops = shards.iter().map(|_| Cell::new(1)).collect();
        LockSet {
            _guards: guards,
            shards,
            ops,
            layout,
        }
    }

    /// Locks every shard (MULTI/EXEC, whole-database commands).
    pub fn all(engine: &Engine) -> LockSet {
        let layout = engine.shards.read();
        let guards = layout.shards.iter().map(|s| s.lock.lock_arc()).collect();
        LockSet {
            _guards: guards,
            shards: layout.shards.iter().cloned().collect(),
            ops: layout.shards.iter().map(|_| Cell::new(0)).collect(),
            layout,
        }
    }

    /// The shard owning `slot` under the layout these locks pinned.
    pub(crate) fn shard_for_slot(&self, slot: u16) -> &Arc<Shard> {
        self.layout.shard_for_slot(slot)
    }

    /// Counts one operation on each distinct shard owning one of `slots` (the autoscaler's
    /// and INFO's ops/s).
    ///
    /// Runs once per command of a pipelined batch: shards are told apart by a search of
    /// the few counted so far, not by collecting and sorting them (which cost a batched
    /// command of one key ~150 instructions).
    fn count_ops(&self, slots: impl Iterator<Item = u16>) {
        let mut counted: SmallVec<[u32; 4]> = SmallVec::new();
        for slot in slots {
            let shard = self.shard_for_slot(slot);
            if counted.contains(&shard.id) {
                continue;
            }
            counted.push(shard.id);
            match self.shards.iter().position(|held| held.id == shard.id) {
                Some(at) => self.ops[at].set(self.ops[at].get() + 1),
                None => {
                    shard.ops.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Whether this set holds the lock of the shard owning `slot`.
    pub(crate) fn covers(&self, slot: u16) -> bool {
        let id = self.shard_for_slot(slot).id;
        self.shards.iter().any(|s| s.id == id)
    }
}

/// The lock scope a unit of work runs under.
#[derive(Clone, Copy)]
pub enum Locks<'a> {
    /// Nothing is held yet: take the locks of the shards the work touches.
    Take,
    /// An enclosing block (MULTI/EXEC, a script) holds these: take none.
    Held(&'a LockSet),
}

impl<'a> Locks<'a> {
    /// Whether the work runs inside a block that holds its locks (EXEC, a script): blocking
    /// commands must not block there, as in Redis.
    pub fn is_held(&self) -> bool {
        matches!(self, Locks::Held(_))
    }

    /// The locks for work over `slots`: taken now, or borrowed from the enclosing block.
    pub fn acquire(self, engine: &Engine, slots: impl Iterator<Item = u16>) -> LockGuard<'a> {
        match self {
            Locks::Take => LockGuard::Owned(LockSet::for_slots(engine, slots)),
            Locks::Held(set) => {
                set.count_ops(slots);
                LockGuard::Borrowed(set)
            }
        }
    }

    /// Every shard's lock: taken now, or borrowed from the enclosing block.
    pub fn acquire_all(self, engine: &Engine) -> LockGuard<'a> {
        match self {
            Locks::Take => LockGuard::Owned(LockSet::all(engine)),
            Locks::Held(set) => LockGuard::Borrowed(set),
        }
    }
}

/// Locks a piece of work holds: its own, one borrowed from an enclosing block, or none
/// (rows that belong to no shard, such as change logs, ordered by their own lock).
pub enum LockGuard<'a> {
    Owned(LockSet),
    Borrowed(&'a LockSet),
    Unsharded,
}

impl LockGuard<'_> {
    /// The scope for more work under these same locks (e.g. FLUSHDB's batches).
    pub fn held(&self) -> Locks<'_> {
        match self.set() {
            Some(set) => Locks::Held(set),
            None => Locks::Take,
        }
    }

    /// Whether writes to `slot` are covered (always, for unsharded work).
    pub(crate) fn covers(&self, slot: u16) -> bool {
        self.set().is_none_or(|set| set.covers(slot))
    }

    fn set(&self) -> Option<&LockSet> {
        match self {
            LockGuard::Owned(set) => Some(set),
            LockGuard::Borrowed(set) => Some(set),
            LockGuard::Unsharded => None,
        }
    }

    /// Attributes written bytes to the shards owning their slots.
    pub(crate) fn account_bytes(&self, engine: &Engine, per_slot: &[(u16, u64)]) {
        if per_slot.is_empty() {
            return;
        }
        match self.set() {
            Some(set) => {
                for &(slot, bytes) in per_slot {
                    set.shard_for_slot(slot)
                        .bytes
                        .fetch_add(bytes, Ordering::Relaxed);
                }
            }
            None => {
                // A recursive read: this thread may already hold the layout for a command
                // whose commit triggered this write, and a waiting split must not wedge it.
                let layout = engine.shards.read_recursive();
                for &(slot, bytes) in per_slot {
                    layout
                        .shard_for_slot(slot)
                        .bytes
                        .fetch_add(bytes, Ordering::Relaxed);
                }
            }
        }
    }
}
