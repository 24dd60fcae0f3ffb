//! Reading a row family: the write buffer's rows over fjall's (see [`super::write_buffer`]).
//!
//! A point read looks in the buffer, then in fjall (for a sub-row, only if fjall may hold
//! rows of its key version: see [`WriteBuffer::fjall_may_hold`]). A scan reads the buffer in
//! chunks and merges them with a fjall range opened after the first chunk was taken, and
//! opened again after any later chunk if rows left the buffer in between: a row the flush
//! thread moves from the buffer to fjall is in a chunk or, if it had left the buffer
//! already, in the fjall range, so no row is missed and none seen twice.

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use fjall::{Keyspace, Slice};

use super::keys;
use super::write_buffer::{StoreId, WriteBuffer};

/// Buffered rows taken by a scan's first chunk; each further chunk takes twice as many, up
/// to [`MAX_CHUNK`]. Most scans want a few rows (ZRANGE 0 9), a few want them all; callers
/// that know how many they want say so (SPOP's seek: one, LRANGE: its count, see
/// [`StoreIter::expecting`]).
const FIRST_CHUNK: usize = 8;
const MAX_CHUNK: usize = 1024;

/// One row family: its keyspace in fjall and its rows in the write buffer.
#[derive(Clone)]
pub(crate) struct Store {
    pub(crate) id: StoreId,
    pub(crate) keyspace: Keyspace,
    pub(crate) buffer: Arc<WriteBuffer>,
}

impl Store {
    /// A point read; a key longer than any stored row is absent (fjall panics on those).
    pub(crate) fn get(&self, key: &[u8]) -> fjall::Result<Option<Slice>> {
        match self.get_buffered(key) {
            Some(buffered) => Ok(buffered),
            None => self.get_stored(key),
        }
    }

    /// A point read of the write buffer alone: `None` if it holds nothing for `key` (the
    /// row, if any, is in fjall).
    pub(crate) fn get_buffered(&self, key: &[u8]) -> Option<Option<Slice>> {
        self.buffer.get(self.id, key)
    }

    /// [`Store::get_buffered`] for a row likely near the end of its partition.
    pub(crate) fn get_buffered_near_last(&self, key: &[u8]) -> Option<Option<Slice>> {
        self.buffer.get_near_last(self.id, key)
    }

    /// [`Store::get_stored`] of a sub-row of key version `version` (after the buffer missed).
    pub(crate) fn get_stored_of_version(
        &self,
        key: &[u8],
        version: u64,
    ) -> fjall::Result<Option<Slice>> {
        if !self.buffer.fjall_may_hold(version) {
            return Ok(None);
        }
        self.get_stored(key)
    }

    /// A point read of fjall alone, for a key the write buffer was found not to hold (a row
    /// moves to fjall before it leaves the buffer, so none can have left it since).
    pub(crate) fn get_stored(&self, key: &[u8]) -> fjall::Result<Option<Slice>> {
        if key.len() > keys::MAX_ROW_KEY {
            return Ok(None);
        }
        self.keyspace.get(key)
    }

    /// Rows within the bounds, in key order or (`reverse`) against it. Bounds must be
    /// storable (see [`keys::storable_bound`]).
    pub(crate) fn range(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
    ) -> StoreIter {
        StoreIter {
            store: self.clone(),
            lower,
            upper,
            reverse,
            merged: None,
            opened_at: 0,
            chunk_size: FIRST_CHUNK,
            last_chunk: false,
            version: None,
        }
    }

    /// Every row, in key order.
    pub(crate) fn iter(&self) -> StoreIter {
        self.range(Bound::Unbounded, Bound::Unbounded, false)
    }

    /// Rows whose key starts with `prefix`, in key order.
    pub(crate) fn prefix(&self, prefix: &[u8]) -> StoreIter {
        let upper = keys::prefix_successor(prefix).map_or(Bound::Unbounded, Bound::Excluded);
        self.range(
            keys::storable_bound(Bound::Included(prefix.to_vec()), true),
            keys::storable_bound(upper, false),
            false,
        )
    }

    /// The first row in key order.
    pub(crate) fn first(&self) -> fjall::Result<Option<(Slice, Slice)>> {
        self.iter().next().map(Row::into_inner).transpose()
    }
}

/// A row of a scan, with the accessors of fjall's own iterator guards.
pub struct Row(fjall::Result<(Slice, Slice)>);

impl Row {
    pub fn into_inner(self) -> fjall::Result<(Slice, Slice)> {
        self.0
    }

    pub fn key(self) -> fjall::Result<Slice> {
        self.0.map(|(k, _)| k)
    }

    pub fn value(self) -> fjall::Result<Slice> {
        self.0.map(|(_, v)| v)
    }
}

/// A scan over a [`Store`]: buffered rows (deletions hiding stored rows) merged with fjall's.
pub struct StoreIter {
    store: Store,
    /// The part of the range no chunk has covered yet.
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    reverse: bool,
    /// The chunks taken so far over fjall's range; `None` until the first chunk.
    merged: Option<Overlaid<StoredRows, Slice>>,
    /// The write buffer's departure count when fjall's range was opened.
    opened_at: u64,
    /// Buffered rows the next chunk takes.
    chunk_size: usize,
    /// The chunks taken reach the end of the range.
    last_chunk: bool,
    /// The key version of the sub-rows scanned, if one: fjall is not read while it holds
    /// none of that version ([`WriteBuffer::fjall_may_hold`]).
    version: Option<u64>,
}

/// fjall's rows of a scan.
type StoredRows = Box<dyn Iterator<Item = fjall::Result<(Slice, Slice)>>>;

impl StoreIter {
    /// Says the scan covers sub-rows of key version `version` only.
    pub(crate) fn of_version(mut self, version: u64) -> StoreIter {
        self.version = Some(version);
        self
    }

    /// Sizes the first chunk for a caller that will read about `rows` rows (0: unknown).
    pub(crate) fn expecting(mut self, rows: usize) -> StoreIter {
        if rows > 0 {
            self.chunk_size = rows.min(MAX_CHUNK);
        }
        self
    }

    /// Takes the next chunk of buffered rows. fjall's range stays open from one chunk to the
    /// next unless rows left the buffer in between (a retired layer): such a row is in
    /// fjall, but perhaps not in a range opened before it got there, so the range is opened
    /// again from where the chunks reached. (Opening a range costs more than taking a chunk:
    /// a scan through a run of deleted rows takes many chunks.)
    fn next_chunk(&mut self) {
        let bounds = (
            self.lower.as_ref().map(Vec::as_slice),
            self.upper.as_ref().map(Vec::as_slice),
        );
        let chunk =
            self.store
                .buffer
                .collect_range(self.store.id, bounds, self.reverse, self.chunk_size);
        self.chunk_size = (self.chunk_size * 2).min(MAX_CHUNK);
        let reopen = self
            .merged
            .as_ref()
            .is_none_or(|_| chunk.departures != self.opened_at);
        // Every row before `lower` (in scan order) has been returned: fjall's range, if
        // opened again, starts there.
        let stored = reopen.then(|| self.open_stored());
        self.opened_at = chunk.departures;
        match chunk.cut {
            None => self.last_chunk = true,
            Some(cut) if self.reverse => self.upper = Bound::Excluded(cut.to_vec()),
            Some(cut) => self.lower = Bound::Excluded(cut.to_vec()),
        }
        let merged = match (self.merged.take(), stored) {
            (Some(mut merged), Some(stored)) => {
                merged.replace_stored(stored);
                merged
            }
            (Some(merged), None) => merged,
            (None, stored) => {
                let stored = stored.expect("opened for the first chunk");
                Overlaid::new(stored, VecDeque::new(), self.reverse)
            }
        };
        let merged = self.merged.insert(merged);
        merged.refill(chunk.rows, !self.last_chunk);
    }

    /// fjall's rows from where the chunks reached to the end of the range.
    fn open_stored(&self) -> StoredRows {
        if let Some(version) = self.version {
            if !self.store.buffer.fjall_may_hold(version) {
                return Box::new(std::iter::empty());
            }
        }
        let range = self
            .store
            .keyspace
            .range::<Vec<u8>, _>((self.lower.clone(), self.upper.clone()));
        if self.reverse {
            Box::new(range.rev().map(fjall::Guard::into_inner))
        } else {
            Box::new(range.map(fjall::Guard::into_inner))
        }
    }
}

/// Stored rows overlaid with newer ones, both in scan order: a newer row replaces the stored
/// row of the same key, a newer deletion hides it. The write buffer's rows over fjall's (a
/// scan chunk), and a pipelined batch's pending rows over the store (`Txn::sub_scan`).
pub(crate) struct Overlaid<S, K> {
    stored: S,
    /// The next stored row, read from `stored` and not yet returned.
    stored_head: Option<(Slice, Slice)>,
    newer: VecDeque<(K, Option<K>)>,
    /// More newer rows follow the ones in `newer` (a scan's next chunk): no stored row past
    /// the last of them may be returned before they arrive.
    more_newer: bool,
    reverse: bool,
}

/// What [`Overlaid::step`] found next.
pub(crate) enum Step<K> {
    Row(fjall::Result<MergedRow<K>>),
    /// The newer rows given so far are used up, and more follow ([`Overlaid::refill`]).
    NeedNewer,
    End,
}

/// A row of an [`Overlaid`] scan: a stored one, or a newer one.
pub(crate) enum MergedRow<K> {
    Stored(Slice, Slice),
    Newer(K, K),
}

impl<S, K> Overlaid<S, K>
where
    S: Iterator<Item = fjall::Result<(Slice, Slice)>>,
    K: AsRef<[u8]>,
{
    pub(crate) fn new(stored: S, newer: VecDeque<(K, Option<K>)>, reverse: bool) -> Self {
        Overlaid {
            stored,
            stored_head: None,
            newer,
            more_newer: false,
            reverse,
        }
    }

    /// The next row, `None` when both sides are exhausted.
    pub(crate) fn next_row(&mut self) -> Option<fjall::Result<MergedRow<K>>> {
        match self.step() {
            Step::Row(row) => Some(row),
            Step::NeedNewer | Step::End => None,
        }
    }

    /// Appends the next newer rows (they follow the earlier ones in scan order).
    pub(crate) fn refill(&mut self, rows: impl IntoIterator<Item = (K, Option<K>)>, more: bool) {
        self.newer.extend(rows);
        self.more_newer = more;
    }

    /// Reads stored rows from `stored` from now on (it starts after the rows returned so
    /// far).
    pub(crate) fn replace_stored(&mut self, stored: S) {
        self.stored = stored;
        self.stored_head = None;
    }

    /// The next row, or why there is none.
    pub(crate) fn step(&mut self) -> Step<K> {
        loop {
            if self.newer.is_empty() && self.more_newer {
                return Step::NeedNewer;
            }
            if self.stored_head.is_none() {
                match self.stored.next() {
                    Some(Ok(row)) => self.stored_head = Some(row),
                    Some(Err(e)) => return Step::Row(Err(e)),
                    None => {}
                }
            }
            let order = match (&self.stored_head, self.newer.front()) {
                (None, None) => return Step::End,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some((stored, _)), Some((newer, _))) => {
                    let order = stored.as_ref().cmp(newer.as_ref());
                    if self.reverse {
                        order.reverse()
                    } else {
                        order
                    }
                }
            };
            if order == std::cmp::Ordering::Less {
                let (key, value) = self.stored_head.take().expect("compared above");
                return Step::Row(Ok(MergedRow::Stored(key, value)));
            }
            if order == std::cmp::Ordering::Equal {
                self.stored_head = None;
            }
            let (key, value) = self.newer.pop_front().expect("compared above");
            if let Some(value) = value {
                return Step::Row(Ok(MergedRow::Newer(key, value)));
            }
        }
    }
}

impl Iterator for StoreIter {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        loop {
            let step = match &mut self.merged {
                None => Step::NeedNewer,
                Some(merged) => merged.step(),
            };
            match step {
                Step::Row(row) => {
                    return Some(Row(row.map(|row| match row {
                        MergedRow::Stored(k, v) | MergedRow::Newer(k, v) => (k, v),
                    })))
                }
                Step::NeedNewer => self.next_chunk(),
                Step::End => return None,
            }
        }
    }
}
