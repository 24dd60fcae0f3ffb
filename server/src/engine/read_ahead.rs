//! Rows list pops read ahead (see `Txn::read_ahead`), until a pop takes them.
//!
//! Kept apart from the sub-row cache: a queue's backlog read ahead 256 rows at a time through
//! the full sub-row cache spent a fifth of each pop in its inserts and evictions, for rows
//! that are each read once. Coherent because it holds only committed rows and every committed
//! sub-row write forgets its row (`Txn::commit`).
//!
//! The rows of one list (key version) are one run, in the order its pops take them, found by
//! the version's sub-row prefix: a pop hashes that prefix and compares the run's first row.
//! Rows were kept in a hash map by row key before, which cost every row read ahead a copy of
//! its key, an insert and a removal (each hashing the ~35-byte key), and a copy of its value
//! on each side.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use fjall::Slice;

use super::keys;

/// Rows read ahead for the pops to come, a run per list.
#[derive(Default)]
pub struct ReadAhead {
    runs: parking_lot::Mutex<Runs>,
    /// Rows held, readable without the lock (writers skip the lookup while it is 0).
    held: AtomicUsize,
}

#[derive(Default)]
struct Runs {
    /// By sub-row prefix (metadata key ‖ version, see [`keys::sub_prefix_len`]).
    by_prefix: foldhash::HashMap<Vec<u8>, Run>,
    /// Rows held by all runs.
    rows: usize,
}

/// One list's rows read ahead: `(row key, value)` in the order pops take them, which is
/// descending key order for pops from the tail.
struct Run {
    rows: VecDeque<(Slice, Slice)>,
    descending: bool,
}

impl Run {
    /// Where `row_key` is: the first row, nearly always (the next pop's).
    fn position(&self, row_key: &[u8]) -> Option<usize> {
        let (first, _) = self.rows.front()?;
        if **first == *row_key {
            return Some(0);
        }
        self.rows
            .binary_search_by(|(held, _)| {
                let order = (**held).cmp(row_key);
                if self.descending {
                    order.reverse()
                } else {
                    order
                }
            })
            .ok()
    }
}

impl ReadAhead {
    /// Rows held at most. Past it everything held is dropped: rows of lists deleted before
    /// their pops took them would otherwise fill it for good (a DEL bumps the version and
    /// writes no sub-row, so nothing forgets them).
    pub const MAX_ROWS: usize = 16 * 1024;

    pub fn is_empty(&self) -> bool {
        self.held.load(AtomicOrdering::Relaxed) == 0
    }

    /// Removes and returns the value of the row read ahead as `row_key`, if any.
    pub fn take(&self, row_key: &[u8]) -> Option<Slice> {
        if self.is_empty() {
            return None;
        }
        let prefix = &row_key[..keys::sub_prefix_len(row_key)];
        let mut runs = self.runs.lock();
        let run = runs.by_prefix.get_mut(prefix)?;
        let at = run.position(row_key)?;
        let (_, value) = run.rows.remove(at)?;
        if run.rows.is_empty() {
            runs.by_prefix.remove(prefix);
        }
        runs.rows -= 1;
        self.held.store(runs.rows, AtomicOrdering::Relaxed);
        Some(value)
    }

    /// Keeps `rows` (whole row key, committed value) of the list version whose sub-rows
    /// start with `prefix`, in the order its pops will take them (`descending`: from the
    /// tail). They replace any rows of that version held before.
    pub fn put(&self, prefix: Vec<u8>, rows: VecDeque<(Slice, Slice)>, descending: bool) {
        if rows.is_empty() {
            return;
        }
        let mut runs = self.runs.lock();
        if runs.rows + rows.len() > Self::MAX_ROWS {
            runs.by_prefix.clear();
            runs.rows = 0;
        }
        runs.rows += rows.len();
        if let Some(old) = runs.by_prefix.insert(prefix, Run { rows, descending }) {
            runs.rows -= old.rows.len();
        }
        self.held.store(runs.rows, AtomicOrdering::Relaxed);
    }

    /// Drops what is held for `row_key` (it was written).
    pub fn forget(&self, row_key: &[u8]) {
        self.take(row_key);
    }

    pub fn clear(&self) {
        let mut runs = self.runs.lock();
        runs.by_prefix.clear();
        runs.rows = 0;
        self.held.store(0, AtomicOrdering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(list: &str, version: u64, position: u64) -> Slice {
        let mut row = keys::sub_prefix(&keys::meta_key(0, list.as_bytes()), version);
        row.extend_from_slice(&position.to_be_bytes());
        Slice::from(row)
    }

    fn run_of(list: &str, positions: &[u64], descending: bool) -> VecDeque<(Slice, Slice)> {
        let mut rows: Vec<_> = positions
            .iter()
            .map(|&p| (row(list, 1, p), Slice::from(format!("v{p}").into_bytes())))
            .collect();
        rows.sort_by(|(a, _), (b, _)| a.cmp(b));
        if descending {
            rows.reverse();
        }
        rows.into()
    }

    fn prefix_of(list: &str) -> Vec<u8> {
        keys::sub_prefix(&keys::meta_key(0, list.as_bytes()), 1)
    }

    fn taken(ahead: &ReadAhead, list: &str, position: u64) -> Option<Vec<u8>> {
        ahead.take(&row(list, 1, position)).map(|v| v.to_vec())
    }

    #[test]
    fn pops_take_rows_from_either_end_and_from_within() {
        let ahead = ReadAhead::default();
        ahead.put(prefix_of("q"), run_of("q", &[5, 6, 7, 8], true), true);
        ahead.put(prefix_of("p"), run_of("p", &[1, 2, 3], false), false);
        assert_eq!(taken(&ahead, "q", 8), Some(b"v8".to_vec()));
        // Not the next row: found by a search in the run's order.
        assert_eq!(taken(&ahead, "q", 6), Some(b"v6".to_vec()));
        assert_eq!(taken(&ahead, "q", 6), None);
        assert_eq!(taken(&ahead, "p", 2), Some(b"v2".to_vec()));
        assert_eq!(taken(&ahead, "p", 9), None);
        // Another version of the same list holds nothing.
        assert!(ahead.take(&row("q", 2, 7)).is_none());
        assert_eq!(taken(&ahead, "q", 7), Some(b"v7".to_vec()));
        assert_eq!(taken(&ahead, "q", 5), Some(b"v5".to_vec()));
        assert_eq!(taken(&ahead, "p", 1), Some(b"v1".to_vec()));
        assert_eq!(taken(&ahead, "p", 3), Some(b"v3".to_vec()));
        assert!(ahead.is_empty());
    }

    #[test]
    fn a_written_row_is_forgotten_and_a_new_run_replaces_the_old() {
        let ahead = ReadAhead::default();
        ahead.put(prefix_of("q"), run_of("q", &[1, 2, 3], false), false);
        ahead.forget(&row("q", 1, 2));
        assert_eq!(taken(&ahead, "q", 2), None);
        ahead.put(prefix_of("q"), run_of("q", &[10, 11], false), false);
        assert_eq!(taken(&ahead, "q", 1), None);
        assert_eq!(taken(&ahead, "q", 10), Some(b"v10".to_vec()));
        assert!(!ahead.is_empty());
        ahead.clear();
        assert!(ahead.is_empty());
        assert_eq!(taken(&ahead, "q", 11), None);
    }

    #[test]
    fn holding_too_many_rows_drops_everything_held() {
        let ahead = ReadAhead::default();
        let many: Vec<u64> = (0..ReadAhead::MAX_ROWS as u64).collect();
        ahead.put(prefix_of("big"), run_of("big", &many, false), false);
        ahead.put(prefix_of("q"), run_of("q", &[1], false), false);
        assert_eq!(taken(&ahead, "big", 0), None);
        assert_eq!(taken(&ahead, "q", 1), Some(b"v1".to_vec()));
        assert!(ahead.is_empty());
    }
}
