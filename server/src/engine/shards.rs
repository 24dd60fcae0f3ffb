//! Shards: contiguous slot ranges that are the unit of write ordering and concurrency.
//!
//! All shards share the one fjall database; a shard is a lock plus bookkeeping over a slot
//! range. A transaction holds the layout's read lock and the locks of the shards its keys
//! live in, so changing the layout (split/merge) only needs the layout's write lock: that is
//! the short fence that waits for in-flight transactions, and no data moves.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

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
    /// Bytes written to this shard (keys + values of committed rows).
    pub bytes: AtomicU64,
    /// Smoothed ops/s and bytes/s (f64 bits), maintained by the autoscaler's monitor.
    pub ops_rate: AtomicU64,
    pub bytes_rate: AtomicU64,
}

impl Shard {
    fn new(id: u32, start: u16, end: u32) -> Arc<Shard> {
        Arc::new(Shard {
            id,
            start,
            end,
            lock: Arc::new(Mutex::new(())),
            ops: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            ops_rate: AtomicU64::new(0),
            bytes_rate: AtomicU64::new(0),
        })
    }

    pub fn ops_per_sec(&self) -> f64 {
        f64::from_bits(self.ops_rate.load(Ordering::Relaxed))
    }

    pub fn bytes_per_sec(&self) -> f64 {
        f64::from_bits(self.bytes_rate.load(Ordering::Relaxed))
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

    /// The slot ranges `[start, end)` of the shards, in slot order (what is persisted).
    pub fn ranges(&self) -> Vec<(u16, u32)> {
        self.shards.iter().map(|s| (s.start, s.end)).collect()
    }

    pub fn shard_for_slot(&self, slot: u16) -> &Arc<Shard> {
        &self.shards[self.shard_index[slot as usize] as usize]
    }
}

/// The persisted form of a layout: slot ranges in slot order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistedLayout {
    pub ranges: Vec<(u16, u32)>,
}

impl PersistedLayout {
    /// Whether the ranges cover every slot exactly once, in order.
    pub fn is_valid(&self) -> bool {
        let mut next = 0u32;
        for &(start, end) in &self.ranges {
            if u32::from(start) != next || end <= u32::from(start) {
                return false;
            }
            next = end;
        }
        next == u32::from(SLOTS)
    }
}

/// The shard layout behind its fence.
pub struct ShardMap {
    layout: Arc<RwLock<Layout>>,
    next_id: AtomicU32,
    pub splits: AtomicU64,
    pub merges: AtomicU64,
}

impl ShardMap {
    pub fn new(count: usize) -> ShardMap {
        let layout = Layout::even(count);
        ShardMap {
            next_id: AtomicU32::new(layout.shards.len() as u32),
            layout: Arc::new(RwLock::new(layout)),
            splits: AtomicU64::new(0),
            merges: AtomicU64::new(0),
        }
    }

    /// A shard map with the given (valid) slot ranges.
    pub fn from_ranges(ranges: &[(u16, u32)]) -> ShardMap {
        let shards: Vec<_> = ranges
            .iter()
            .enumerate()
            .map(|(i, &(start, end))| Shard::new(i as u32, start, end))
            .collect();
        ShardMap {
            next_id: AtomicU32::new(shards.len() as u32),
            layout: Arc::new(RwLock::new(Layout::from_shards(shards))),
            splits: AtomicU64::new(0),
            merges: AtomicU64::new(0),
        }
    }

    pub fn persisted(&self) -> PersistedLayout {
        PersistedLayout {
            ranges: self.layout.read().ranges(),
        }
    }

    fn new_shard(&self, start: u16, end: u32) -> Arc<Shard> {
        Shard::new(self.next_id.fetch_add(1, Ordering::Relaxed), start, end)
    }

    /// Splits shard `id` at the middle of its slot range. Taking the layout's write lock is
    /// the fence: it waits for every in-flight transaction (they hold the read lock), so no
    /// command runs under the old and the new layout at once. No data moves: all shards
    /// share the one fjall database. Returns the new layout's ranges.
    pub fn split(&self, id: u32) -> Option<PersistedLayout> {
        let mut layout = self.layout.write();
        let index = layout.shards.iter().position(|s| s.id == id)?;
        let old = layout.shards[index].clone();
        if old.end - u32::from(old.start) < 2 {
            return None;
        }
        let mid = u32::from(old.start) + (old.end - u32::from(old.start)) / 2;
        let mut shards = layout.shards.clone();
        shards.splice(
            index..=index,
            [
                self.new_shard(old.start, mid),
                self.new_shard(mid as u16, old.end),
            ],
        );
        *layout = Layout::from_shards(shards);
        self.splits.fetch_add(1, Ordering::Relaxed);
        Some(PersistedLayout {
            ranges: layout.ranges(),
        })
    }

    /// Merges shard `id` with its right-hand neighbour (same fence as [`ShardMap::split`]).
    pub fn merge_with_next(&self, id: u32) -> Option<PersistedLayout> {
        let mut layout = self.layout.write();
        let index = layout.shards.iter().position(|s| s.id == id)?;
        if index + 1 >= layout.shards.len() {
            return None;
        }
        let (left, right) = (&layout.shards[index], &layout.shards[index + 1]);
        let merged = self.new_shard(left.start, right.end);
        let mut shards = layout.shards.clone();
        shards.splice(index..=index + 1, [merged]);
        *layout = Layout::from_shards(shards);
        self.merges.fetch_add(1, Ordering::Relaxed);
        Some(PersistedLayout {
            ranges: layout.ranges(),
        })
    }

    /// Read access to the layout; held for the duration of a transaction.
    pub fn read(&self) -> parking_lot::ArcRwLockReadGuard<parking_lot::RawRwLock, Layout> {
        RwLock::read_arc(&self.layout)
    }

    /// Read access that does not queue behind a waiting split or merge (for a thread that
    /// may already hold the layout, e.g. committing a change-log append inside a command).
    pub fn read_recursive(&self) -> parking_lot::RwLockReadGuard<'_, Layout> {
        self.layout.read_recursive()
    }

    /// Exclusive access to the layout: waits until no transaction is in flight.
    pub fn write(&self) -> parking_lot::RwLockWriteGuard<'_, Layout> {
        self.layout.write()
    }

    pub fn shard_count(&self) -> usize {
        self.layout.read().shards.len()
    }

    /// The current shards, in slot order.
    pub fn shards(&self) -> Vec<Arc<Shard>> {
        self.layout.read().shards.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_merge_keep_full_coverage() {
        let map = ShardMap::new(1);
        let id = map.shards()[0].id;
        let after_split = map.split(id).unwrap();
        assert!(after_split.is_valid());
        assert_eq!(after_split.ranges, vec![(0, 8192), (8192, 16384)]);
        let left = map.shards()[0].id;
        let after_merge = map.merge_with_next(left).unwrap();
        assert_eq!(after_merge.ranges, vec![(0, 16384)]);
        assert_eq!(map.splits.load(Ordering::Relaxed), 1);
        assert_eq!(map.merges.load(Ordering::Relaxed), 1);
        let restored = ShardMap::from_ranges(&after_split.ranges);
        assert_eq!(restored.persisted(), after_split);
        assert!(!PersistedLayout {
            ranges: vec![(0, 100)]
        }
        .is_valid());
    }

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
