//! The memory budget: Redis's `maxmemory`, which in redyn bounds its caches and write
//! buffers, never the data. redyn keeps every key on disk and evicts nothing, so a budget
//! smaller than the data set only means more reads go to disk (and the OS page cache); a
//! write is never refused for memory.
//!
//! The budget is split between:
//! - fjall's **block cache** (decoded table blocks): 40 %;
//! - the **metadata-row cache** (every command reads its keys' metadata): 20 %;
//! - the **sub-row cache** (hash fields, zset members): 10 %;
//! - **write buffers**: 30 %. The write buffer's active layer (see `write_buffer`) is frozen
//!   and ingested into fjall once it reaches a third of that ("memtable" below), so the layer
//!   being filled and two being ingested fit in it (fjall's own memtables only hold the
//!   `system` keyspace's few rows).
//!
//! The rest of the process (connections, the sorted-set indexes, Lua, allocator slack) is
//! outside the budget: RSS is the budget plus that.

/// The budget with `maxmemory 0` (Redis's "no limit"): 512 MB, what a small machine can
/// spare for a database that keeps its data on disk.
pub const DEFAULT_BUDGET: u64 = 512 << 20;
/// Smaller budgets are raised to this: below it the caches are too small to be useful.
pub const MIN_BUDGET: u64 = 32 << 20;
/// Memtables are not made smaller than this (fjall's flushes would turn into many tiny
/// tables), nor larger than [`MAX_MEMTABLE`] (a flush of a huge memtable takes long while
/// writes wait for it, and fjall's journal, 512 MiB at most, must hold several).
pub const MIN_MEMTABLE: u64 = 4 << 20;
pub const MAX_MEMTABLE: u64 = 128 << 20;

/// How a budget is split (see the module documentation); all sizes in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    /// The budget the parts add up to (`maxmemory`, or its default or minimum).
    pub total: u64,
    pub block_cache: u64,
    pub meta_cache: u64,
    pub sub_cache: u64,
    /// All memtables together.
    pub write_buffers: u64,
    /// Size at which a keyspace's memtable is sealed and flushed.
    pub memtable: u64,
}

impl MemoryBudget {
    /// The split of `maxmemory` (0 = the default budget).
    pub fn split(maxmemory: u64) -> MemoryBudget {
        let total = match maxmemory {
            0 => DEFAULT_BUDGET,
            n => n.max(MIN_BUDGET),
        };
        let percent = |p: u64| total / 100 * p;
        let write_buffers = percent(30);
        MemoryBudget {
            total,
            block_cache: percent(40),
            meta_cache: percent(20),
            sub_cache: percent(10),
            write_buffers,
            memtable: (write_buffers / 3).clamp(MIN_MEMTABLE, MAX_MEMTABLE),
        }
    }
}

impl Default for MemoryBudget {
    fn default() -> Self {
        MemoryBudget::split(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1 << 20;

    #[test]
    fn parts_add_up_to_the_budget() {
        for maxmemory in [64 * MB, 256 * MB, 1 << 30, 10 << 30] {
            let b = MemoryBudget::split(maxmemory);
            assert_eq!(b.total, maxmemory);
            let parts = b.block_cache + b.meta_cache + b.sub_cache + b.write_buffers;
            assert!(parts <= maxmemory && parts > maxmemory / 100 * 99, "{b:?}");
        }
    }

    #[test]
    fn split_of_256mb() {
        let b = MemoryBudget::split(256 * MB);
        assert_eq!(b.block_cache, 256 * MB / 100 * 40);
        assert_eq!(b.meta_cache, 256 * MB / 100 * 20);
        assert_eq!(b.sub_cache, 256 * MB / 100 * 10);
        assert_eq!(b.write_buffers, 256 * MB / 100 * 30);
        assert_eq!(b.memtable, b.write_buffers / 3);
    }

    #[test]
    fn zero_means_the_default_and_tiny_budgets_are_raised() {
        assert_eq!(MemoryBudget::split(0).total, DEFAULT_BUDGET);
        assert_eq!(MemoryBudget::default(), MemoryBudget::split(DEFAULT_BUDGET));
        assert_eq!(MemoryBudget::split(1).total, MIN_BUDGET);
        assert_eq!(MemoryBudget::split(MIN_BUDGET).memtable, MIN_MEMTABLE);
    }

    #[test]
    fn memtables_stay_within_bounds() {
        assert_eq!(MemoryBudget::split(100 << 30).memtable, MAX_MEMTABLE);
        assert_eq!(MemoryBudget::split(MIN_BUDGET).memtable, MIN_MEMTABLE);
        assert_eq!(
            MemoryBudget::split(DEFAULT_BUDGET).memtable,
            DEFAULT_BUDGET / 100 * 30 / 3
        );
    }
}
