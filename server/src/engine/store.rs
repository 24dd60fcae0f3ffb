//! Reading a row family: the write buffer's rows over fjall's (see [`super::write_buffer`]).
//!
//! A point read looks in the buffer, then in fjall. A scan reads the buffer in chunks and
//! merges each with a fjall range opened after the chunk was taken: a row the flush thread
//! moves from the buffer to fjall in the meantime is in the chunk or, if it had left the
//! buffer already, in that fjall range, so no row is missed and none seen twice.

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use fjall::{Keyspace, Slice};

use super::keys;
use super::write_buffer::{StoreId, WriteBuffer};

/// Buffered rows taken by a scan's first chunk; each further chunk takes twice as many, up
/// to [`MAX_CHUNK`]. Most scans want a few rows (SPOP's random seek, ZRANGE 0 9), a few want
/// them all.
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
        if key.len() > keys::MAX_ROW_KEY {
            return Ok(None);
        }
        match self.buffer.get(self.id, key) {
            Some(buffered) => Ok(buffered),
            None => self.keyspace.get(key),
        }
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
            chunk: None,
            chunk_size: FIRST_CHUNK,
            last_chunk: false,
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
    chunk: Option<Chunk>,
    /// Buffered rows the next chunk takes.
    chunk_size: usize,
    /// The current chunk reaches the end of the range.
    last_chunk: bool,
}

/// Buffered rows of one stretch of the range over fjall's rows of the same stretch.
type Chunk = Overlaid<Box<dyn Iterator<Item = fjall::Result<(Slice, Slice)>>>, Slice>;

impl StoreIter {
    /// Takes the next chunk of buffered rows and opens fjall's range over the same stretch.
    fn next_chunk(&mut self) -> Chunk {
        let bounds = (
            self.lower.as_ref().map(Vec::as_slice),
            self.upper.as_ref().map(Vec::as_slice),
        );
        let (buffered, cut) =
            self.store
                .buffer
                .collect_range(self.store.id, bounds, self.reverse, self.chunk_size);
        self.chunk_size = (self.chunk_size * 2).min(MAX_CHUNK);
        // This chunk's stretch ends at the cut (inclusive); the next starts after it.
        let (lower, upper) = match &cut {
            None => (self.lower.clone(), self.upper.clone()),
            Some(cut) if self.reverse => (Bound::Included(cut.to_vec()), self.upper.clone()),
            Some(cut) => (self.lower.clone(), Bound::Included(cut.to_vec())),
        };
        match cut {
            None => self.last_chunk = true,
            Some(cut) if self.reverse => self.upper = Bound::Excluded(cut.to_vec()),
            Some(cut) => self.lower = Bound::Excluded(cut.to_vec()),
        }
        let range = self.store.keyspace.range::<Vec<u8>, _>((lower, upper));
        let stored: Box<dyn Iterator<Item = fjall::Result<(Slice, Slice)>>> = if self.reverse {
            Box::new(range.rev().map(fjall::Guard::into_inner))
        } else {
            Box::new(range.map(fjall::Guard::into_inner))
        };
        Overlaid::new(stored, buffered.into(), self.reverse)
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
    reverse: bool,
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
            reverse,
        }
    }

    /// The next row, `None` when both sides are exhausted.
    pub(crate) fn next_row(&mut self) -> Option<fjall::Result<MergedRow<K>>> {
        loop {
            if self.stored_head.is_none() {
                match self.stored.next() {
                    Some(Ok(row)) => self.stored_head = Some(row),
                    Some(Err(e)) => return Some(Err(e)),
                    None => {}
                }
            }
            let order = match (&self.stored_head, self.newer.front()) {
                (None, None) => return None,
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
                return Some(Ok(MergedRow::Stored(key, value)));
            }
            if order == std::cmp::Ordering::Equal {
                self.stored_head = None;
            }
            let (key, value) = self.newer.pop_front().expect("compared above");
            if let Some(value) = value {
                return Some(Ok(MergedRow::Newer(key, value)));
            }
        }
    }
}

impl Iterator for StoreIter {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        loop {
            if self.chunk.is_none() {
                if self.last_chunk {
                    return None;
                }
                self.chunk = Some(self.next_chunk());
            }
            let chunk = self.chunk.as_mut().expect("set above");
            match chunk.next_row() {
                Some(row) => {
                    return Some(Row(row.map(|row| match row {
                        MergedRow::Stored(k, v) | MergedRow::Newer(k, v) => (k, v),
                    })))
                }
                None => self.chunk = None,
            }
        }
    }
}
