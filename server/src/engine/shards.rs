//! Shards: contiguous slot ranges that are the unit of write ordering and concurrency.
//!
//! All shards share the one fjall database; a shard is a lock plus bookkeeping over a slot
//! range. A transaction holds the layout's read lock and the locks of the shards its keys
//! live in, so changing the layout (split/merge) only needs the layout's write lock: that is
//! the short fence that waits for in-flight transactions, and no data moves.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::keys::SLOTS;

/// One shard: the slots `[start, end)`.
#[derive(Debug)]
pub struct Shard {
    pub id: u32,
    pub start: u16,
    /// Exclusive end slot (may be 16384).
    pub end: u32,
    pub(crate) lock: Arc<Mutex<()>>,
    /// Commands executed against this shard (for metrics and the autoscaler).
    pub ops: AtomicU64,
}

impl Shard {
    fn new(id: u32, start: u16, end: u32) -> Arc<Shard> {
        Arc::new(Shard {
            id,
            start,
            end,
            lock: Arc::new(Mutex::new(())),
            ops: AtomicU64::new(0),
        })
    }

    pub fn contains(&self, slot: u16) -> bool {
        slot >= self.start && u32::from(slot) < self.end
    }
}

/// The current assignment of slots to shards.
#[derive(Debug)]
pub struct Layout {
    pub shards: Vec<Arc<Shard>>,
    /// `shard_index[slot]` = index into `shards`.
    shard_index: Vec<u16>,
}

impl Layout {
    /// `count` shards splitting the slot space evenly.
    pub fn even(count: usize) -> Layout {
        let count = count.clamp(1, SLOTS as usize);
        let per = SLOTS as usize / count;
        let shards = (0..count)
            .map(|i| {
                let start = (i * per) as u16;
                let end = if i + 1 == count {
                    u32::from(SLOTS)
                } else {
                    ((i + 1) * per) as u32
                };
                Shard::new(i as u32, start, end)
            })
            .collect();
        Layout::from_shards(shards)
    }

    pub fn from_shards(shards: Vec<Arc<Shard>>) -> Layout {
        let mut shard_index = vec![0u16; SLOTS as usize];
        for (i, shard) in shards.iter().enumerate() {
            shard_index[shard.start as usize..shard.end as usize].fill(i as u16);
        }
        Layout {
            shards,
            shard_index,
        }
    }

    pub fn shard_for_slot(&self, slot: u16) -> &Arc<Shard> {
        &self.shards[self.shard_index[slot as usize] as usize]
    }
}

/// The shard layout behind its fence.
pub struct ShardMap {
    layout: Arc<RwLock<Layout>>,
}

impl ShardMap {
    pub fn new(count: usize) -> ShardMap {
        ShardMap {
            layout: Arc::new(RwLock::new(Layout::even(count))),
        }
    }

    /// Read access to the layout; held for the duration of a transaction.
    pub fn read(&self) -> parking_lot::ArcRwLockReadGuard<parking_lot::RawRwLock, Layout> {
        RwLock::read_arc(&self.layout)
    }

    /// Exclusive access to the layout: waits until no transaction is in flight.
    pub fn write(&self) -> parking_lot::RwLockWriteGuard<'_, Layout> {
        self.layout.write()
    }

    pub fn shard_count(&self) -> usize {
        self.layout.read().shards.len()
    }

    /// Snapshot of (id, start, end, ops) per shard for INFO/metrics.
    pub fn describe(&self) -> Vec<(u32, u16, u32, u64)> {
        self.layout
            .read()
            .shards
            .iter()
            .map(|s| (s.id, s.start, s.end, s.ops.load(Ordering::Relaxed)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_layout_covers_every_slot_once() {
        for n in [1, 2, 3, 4, 7, 16] {
            let layout = Layout::even(n);
            assert_eq!(layout.shards.len(), n);
            let mut covered = 0u32;
            for s in &layout.shards {
                covered += s.end - u32::from(s.start);
            }
            assert_eq!(covered, u32::from(SLOTS));
            for slot in [0u16, 1, 8191, 16383] {
                assert!(layout.shard_for_slot(slot).contains(slot));
            }
        }
    }
}
