//! The write buffer: redyn's own memtable and journal in front of fjall (issue 15).
//!
//! fjall's write path inserts every row into a lock-free skiplist that keeps every version
//! of a key (MVCC) and compares internal keys at each of its ~20 levels: measured alone
//! (`bench/fjall_floor.rs`) that costs 2–2.5 CPU µs per row, more than Redis spends on a
//! whole INCR, and a point read of a hot key in it about 2 µs. A commit here instead:
//! - appends one record to a journal buffer of our own (handed to the OS and fsynced per
//!   `appendfsync` by [`super::durability`]), and
//! - inserts the rows into an ordered in-memory map per row family, replacing older values
//!   of the same row (a hot key is one entry, not one per write).
//!
//! When the active maps outgrow the memory budget's memtable size they are frozen (the
//! journal moves to a new segment) and a background thread ingests them into fjall as sorted
//! runs ([`fjall::Keyspace::start_ingestion`], which writes tables directly, without fjall's
//! journal or memtable); once fjall holds them, the frozen maps and the journal segments
//! they came from are dropped. At start-up the journal segments left are replayed.
//!
//! Reads look here first (active map, then frozen maps newest first) and then in fjall; see
//! [`super::store`]. A row moves to fjall before it leaves the buffer, so a reader that
//! looks here first and in fjall second always finds it in one of the two.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use fjall::Slice;
use parking_lot::{Condvar, Mutex, RwLock};

use super::row_map::{is_empty_range, Applied, RowMap, RowRef, Split};

/// The row families kept in the buffer, as indexes into [`Layer::maps`].
pub(crate) type StoreId = usize;
pub(crate) const META: StoreId = 0;
pub(crate) const SUB: StoreId = 1;
pub(crate) const EXPIRY: StoreId = 2;
pub(crate) const GC: StoreId = 3;
pub(crate) const ITEMS: StoreId = 4;
pub(crate) const CATALOG: StoreId = 5;
pub(crate) const CHANGELOG: StoreId = 6;
pub(crate) const STORES: usize = 7;

/// Bookkeeping bytes counted per buffered row besides its key and value (map node share,
/// the two slices' headers), so the size that triggers a freeze tracks real memory.
const ROW_OVERHEAD: u64 = 64;
/// Journal bytes kept in memory before a commit writes them out itself (the durability
/// thread normally does, every 100 ms).
const JOURNAL_BUFFER_LIMIT: usize = 4 << 20;
/// Journal segment files live in this folder of the data directory.
const JOURNAL_DIR: &str = "journal";

/// A row write.
pub(crate) struct RowOp {
    pub(crate) store: StoreId,
    pub(crate) key: Slice,
    /// `None` deletes the row.
    pub(crate) value: Option<Slice>,
    /// The writer knows the row did not exist before this write (a list push, a new set
    /// member): if it is deleted again while still in the active layer, the entry can go
    /// instead of becoming a deletion (see [`Layer::apply`]).
    pub(crate) fresh: bool,
}

impl RowOp {
    /// A write of a row that may have existed before.
    pub(crate) fn new(store: StoreId, key: Slice, value: Option<Slice>) -> RowOp {
        RowOp {
            store,
            key,
            value,
            fresh: false,
        }
    }
}

/// One generation of buffered rows: a map per row family.
pub(crate) struct Layer {
    pub(crate) maps: [RowMap; STORES],
    bytes: u64,
    /// The last journal segment whose records are in this layer (set when it is frozen).
    through_segment: u64,
}

impl Default for Layer {
    fn default() -> Self {
        Layer {
            maps: std::array::from_fn(new_map),
            bytes: 0,
            through_segment: 0,
        }
    }
}

/// An empty map for the rows of `store` (metadata rows and sub-rows are kept by partition,
/// see [`RowMap`]).
fn new_map(store: StoreId) -> RowMap {
    RowMap::new(match store {
        META => Split::MetaRows,
        SUB => Split::SubRows,
        _ => Split::Whole,
    })
}

impl Layer {
    /// Applies one row write. A deletion of a row that this layer holds as written fresh
    /// (nothing that exists below it: frozen layers and fjall hold no live row of that key)
    /// removes the entry instead of keeping a deletion: a job queue's pushed-then-popped
    /// elements, or a set's added-then-popped members, then leave nothing behind for scans
    /// to step over, for memory to hold and for ingestion to write.
    fn apply(&mut self, op: RowOp) {
        let RowOp {
            store,
            key,
            value,
            fresh,
        } = op;
        let size = |value: &Option<Slice>| value.as_ref().map_or(0, |v| v.len() as u64);
        let (key_len, new_len) = (key.len() as u64, size(&value));
        self.bytes = match self.maps[store].apply(&key, value, fresh) {
            Applied::Inserted => self.bytes + key_len + new_len + ROW_OVERHEAD,
            Applied::Replaced { old } => (self.bytes + new_len).saturating_sub(size(&old)),
            Applied::Removed { old } => self
                .bytes
                .saturating_sub(key_len + size(&old) + ROW_OVERHEAD),
        };
    }

    fn is_empty(&self) -> bool {
        self.maps.iter().all(RowMap::is_empty)
    }
}

struct Layers {
    active: Layer,
    /// Frozen layers waiting to be ingested into fjall, oldest first.
    frozen: Vec<Arc<Layer>>,
}

/// The journal segment being appended to.
struct Journal {
    segment: u64,
    file: File,
    /// Bytes of whole records in the file.
    file_len: u64,
    /// Records not yet handed to the OS.
    buffer: Vec<u8>,
}

impl Journal {
    fn write_out(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.write_all(&self.buffer) {
            // A short write (a full disk) must not leave half a record for the next write to
            // follow: replay would stop there and drop every record after it. The buffer is
            // kept and written again later.
            let _ = self.file.set_len(self.file_len);
            return Err(e);
        }
        self.file_len += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }
}

pub(crate) struct WriteBuffer {
    dir: PathBuf,
    layers: RwLock<Layers>,
    journal: Mutex<Journal>,
    /// A handle on the current segment, to fsync it without holding the journal lock.
    sync_file: Mutex<Arc<File>>,
    /// Wakes the flush thread when a layer is frozen.
    frozen_signal: Condvar,
    frozen_wait: Mutex<()>,
    /// Held while a frozen layer is being ingested (one ingestion at a time, in order).
    pub(crate) flushing: Mutex<()>,
    /// Bumped whenever rows leave the buffer without a new write (a retired layer, FLUSHALL's
    /// forget), under the layers lock: a scan keeps one fjall range open across its chunks
    /// only while this stays the same (see [`super::store::StoreIter`]).
    departures: AtomicU64,
    /// fjall may hold sub-rows of key versions below this, and of none at or above it: a
    /// key version created since start-up whose rows have not been ingested has them all
    /// here, and its scans and point reads skip fjall (see [`WriteBuffer::fjall_may_hold`]).
    sub_versions_stored: AtomicU64,
}

impl WriteBuffer {
    /// Opens the journal in `data_dir`, replaying the segments a previous run left into the
    /// active layer (a torn record at the end of the last one, from a crash, is cut off).
    pub(crate) fn open(data_dir: &Path) -> std::io::Result<WriteBuffer> {
        let dir = data_dir.join(JOURNAL_DIR);
        std::fs::create_dir_all(&dir)?;
        let mut active = Layer::default();
        let segments = list_segments(&dir)?;
        for &segment in &segments {
            if !replay_segment(&segment_path(&dir, segment), &mut active)? {
                tracing::warn!("journal segment {segment}: torn record cut off");
                break;
            }
        }
        let segment = segments.last().map_or(1, |last| last + 1);
        let file = create_segment(&dir, segment)?;
        let sync_file = Arc::new(file.try_clone()?);
        Ok(WriteBuffer {
            dir,
            layers: RwLock::new(Layers {
                active,
                frozen: Vec::new(),
            }),
            journal: Mutex::new(Journal {
                segment,
                file,
                file_len: 0,
                buffer: Vec::with_capacity(1 << 16),
            }),
            sync_file: Mutex::new(sync_file),
            frozen_signal: Condvar::new(),
            frozen_wait: Mutex::new(()),
            flushing: Mutex::new(()),
            departures: AtomicU64::new(0),
            // Until the engine says which versions existed before start-up: any.
            sub_versions_stored: AtomicU64::new(u64::MAX),
        })
    }

    /// Journals and applies one atomic group of row writes.
    pub(crate) fn commit(&self, ops: Vec<RowOp>) -> std::io::Result<()> {
        let mut journal = self.journal.lock();
        encode_record(&mut journal.buffer, &ops);
        if journal.buffer.len() > JOURNAL_BUFFER_LIMIT {
            journal.write_out()?;
        }
        // Applied before the journal lock is released, so a freeze (which takes both) puts
        // every row in the layer of the segment that holds its record.
        let mut layers = self.layers.write();
        for op in ops {
            layers.active.apply(op);
        }
        Ok(())
    }

    /// Starts loading what point reads of rows of `store` in the active layer's partitions
    /// `prefixes` will read first (see [`RowMap::prefetch`]), so the cache misses of a
    /// batch's commands overlap instead of each command waiting for its own in turn.
    pub(crate) fn prefetch<'p>(&self, store: StoreId, prefixes: impl Iterator<Item = &'p [u8]>) {
        self.layers.read().active.maps[store].prefetch(prefixes);
    }

    /// The buffered state of a row: `Some(None)` if it is buffered as deleted, `None` if the
    /// buffer does not hold it (fjall decides).
    pub(crate) fn get(&self, store: StoreId, key: &[u8]) -> Option<Option<Slice>> {
        self.get_with(store, key, RowMap::get)
    }

    /// [`WriteBuffer::get`] for a row likely near the end of its partition (a list's tail):
    /// see [`RowMap::get_near_last`].
    pub(crate) fn get_near_last(&self, store: StoreId, key: &[u8]) -> Option<Option<Slice>> {
        self.get_with(store, key, RowMap::get_near_last)
    }

    fn get_with(
        &self,
        store: StoreId,
        key: &[u8],
        get: impl for<'m> Fn(&'m RowMap, &[u8]) -> Option<&'m Option<Slice>>,
    ) -> Option<Option<Slice>> {
        let layers = self.layers.read();
        if let Some(value) = get(&layers.active.maps[store], key) {
            return Some(value.clone());
        }
        layers
            .frozen
            .iter()
            .rev()
            .find_map(|layer| get(&layer.maps[store], key).cloned())
    }

    /// Up to about `limit` buffered rows of `store` within the bounds, in scan order (newest
    /// layer winning), and where the collected run stops being complete: `Some(key)` if
    /// rows past `key` (in scan order) were left out, `None` if every buffered row in the
    /// bounds is there.
    pub(crate) fn collect_range(
        &self,
        store: StoreId,
        bounds: (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        limit: usize,
    ) -> CollectedRange {
        if is_empty_range(bounds) {
            // `BTreeMap::range` panics on these; fjall's ranges are merely empty.
            return CollectedRange {
                rows: Vec::new(),
                cut: None,
                departures: self.departures.load(Ordering::Acquire),
            };
        }
        let layers = self.layers.read();
        let departures = self.departures.load(Ordering::Acquire);
        let mut merged: Vec<(Slice, Option<Slice>)> = Vec::new();
        let mut cut: Option<Slice> = None;
        let newest_first =
            std::iter::once(&layers.active).chain(layers.frozen.iter().rev().map(|l| &**l));
        for layer in newest_first {
            let rows: Vec<(Slice, Option<Slice>)> = layer.maps[store]
                .range(bounds, reverse)
                .take(limit)
                .map(clone_row)
                .collect();
            if rows.len() == limit {
                let last = &rows[limit - 1].0;
                if cut.as_ref().is_none_or(|c| before(last, c, reverse)) {
                    cut = Some(last.clone());
                }
            }
            merged = if merged.is_empty() {
                rows
            } else {
                merge_runs(merged, rows, reverse)
            };
        }
        drop(layers);
        if let Some(c) = &cut {
            let beyond = merged.partition_point(|(k, _)| !before(c, k, reverse));
            merged.truncate(beyond);
        }
        CollectedRange {
            rows: merged,
            cut,
            departures,
        }
    }

    /// Bytes held by the active layer.
    pub(crate) fn active_bytes(&self) -> u64 {
        self.layers.read().active.bytes
    }

    /// Bytes held by all layers, and how many frozen layers await ingestion.
    pub(crate) fn usage(&self) -> (u64, usize) {
        let layers = self.layers.read();
        let frozen: u64 = layers.frozen.iter().map(|l| l.bytes).sum();
        (layers.active.bytes + frozen, layers.frozen.len())
    }

    /// The journal's segment files and their total size in bytes.
    pub(crate) fn journal_size(&self) -> (u64, u64) {
        let segments = list_segments(&self.dir).unwrap_or_default();
        let bytes = segments
            .iter()
            .filter_map(|&s| std::fs::metadata(segment_path(&self.dir, s)).ok())
            .map(|m| m.len())
            .sum();
        (segments.len() as u64, bytes)
    }

    /// Hands buffered journal records to the OS.
    pub(crate) fn write_out(&self) -> std::io::Result<()> {
        self.journal.lock().write_out()
    }

    /// fsyncs the current journal segment (earlier segments were fsynced when they were
    /// left), outside the journal lock so commits go on meanwhile.
    pub(crate) fn sync(&self) -> std::io::Result<()> {
        let file = self.sync_file.lock().clone();
        file.sync_data()
    }

    /// Freezes the active layer (if it holds anything): its records' segment is written out,
    /// fsynced and left for a new one, and the layer queued for ingestion.
    pub(crate) fn freeze(&self) -> std::io::Result<()> {
        let mut journal = self.journal.lock();
        if self.layers.read().active.is_empty() {
            return Ok(());
        }
        journal.write_out()?;
        journal.file.sync_data()?;
        let next = journal.segment + 1;
        let file = create_segment(&self.dir, next)?;
        *self.sync_file.lock() = Arc::new(file.try_clone()?);
        let left = std::mem::replace(&mut journal.file, file);
        drop(left);
        journal.file_len = 0;
        let through = std::mem::replace(&mut journal.segment, next);
        let mut layers = self.layers.write();
        let mut layer = std::mem::take(&mut layers.active);
        layer.through_segment = through;
        layers.frozen.push(Arc::new(layer));
        drop(layers);
        drop(journal);
        self.frozen_signal.notify_all();
        Ok(())
    }

    /// The oldest frozen layer, waiting up to `timeout` for one.
    pub(crate) fn oldest_frozen(&self, timeout: std::time::Duration) -> Option<Arc<Layer>> {
        if let Some(layer) = self.layers.read().frozen.first() {
            return Some(layer.clone());
        }
        let mut wait = self.frozen_wait.lock();
        self.frozen_signal.wait_for(&mut wait, timeout);
        self.layers.read().frozen.first().cloned()
    }

    /// Whether `layer` still waits for ingestion.
    pub(crate) fn is_frozen(&self, layer: &Arc<Layer>) -> bool {
        self.layers
            .read()
            .frozen
            .iter()
            .any(|l| Arc::ptr_eq(l, layer))
    }

    /// Whether fjall may hold sub-rows of key version `version`. Asked after a read of the
    /// buffer missed: the mark is raised before a layer's rows are ingested, so before they
    /// can leave the buffer, and the layers lock a retirement takes orders the two.
    pub(crate) fn fjall_may_hold(&self, version: u64) -> bool {
        version < self.sub_versions_stored.load(Ordering::Acquire)
    }

    /// Sets which key versions fjall may hold sub-rows of: those below `versions_below`
    /// (at start-up: every version handed out before).
    pub(crate) fn set_sub_versions_stored(&self, versions_below: u64) {
        self.sub_versions_stored
            .store(versions_below, Ordering::Release);
    }

    /// Notes, before a layer is ingested, the key versions of its sub-rows.
    pub(crate) fn note_ingesting(&self, layer: &Layer) {
        let newest = layer.maps[SUB]
            .prefixes()
            .filter_map(|prefix| prefix.len().checked_sub(8).map(|at| &prefix[at..]))
            .map(|version| u64::from_be_bytes(version.try_into().expect("8 bytes")))
            .max();
        if let Some(newest) = newest {
            self.sub_versions_stored
                .fetch_max(newest.saturating_add(1), Ordering::AcqRel);
        }
    }

    /// Drops a frozen layer fjall now holds, with the journal segments it came from.
    pub(crate) fn retire(&self, layer: &Arc<Layer>) -> std::io::Result<()> {
        {
            let mut layers = self.layers.write();
            let at = layers.frozen.iter().position(|l| Arc::ptr_eq(l, layer));
            if let Some(at) = at {
                layers.frozen.remove(at);
                self.departures.fetch_add(1, Ordering::Release);
            }
        }
        for segment in list_segments(&self.dir)? {
            if segment <= layer.through_segment {
                std::fs::remove_file(segment_path(&self.dir, segment))?;
            }
        }
        Ok(())
    }

    /// Forgets every buffered row of `stores` (FLUSHALL, after it ingested every layer and
    /// cleared fjall's keyspaces). What the active layer holds then was written during the
    /// flush, by background reclaim only (the caller holds every shard lock); its journal
    /// records stay, so a replay after a crash may bring back those reclaim rows, which name
    /// versions that no longer exist and are dropped by the next reclaim pass.
    pub(crate) fn forget(&self, stores: &[StoreId]) {
        let mut layers = self.layers.write();
        self.departures.fetch_add(1, Ordering::Release);
        for &store in stores {
            let map = std::mem::replace(&mut layers.active.maps[store], new_map(store));
            let freed: u64 = map
                .iter()
                .map(|(k, v)| k.len() as u64 + v.as_ref().map_or(0, |v| v.len() as u64))
                .map(|row_bytes| row_bytes + ROW_OVERHEAD)
                .sum();
            layers.active.bytes = layers.active.bytes.saturating_sub(freed);
        }
    }
}

/// A run of buffered rows taken by [`WriteBuffer::collect_range`].
pub(crate) struct CollectedRange {
    /// The rows, in scan order (`None`: deleted).
    pub(crate) rows: Vec<(Slice, Option<Slice>)>,
    /// `Some(key)`: rows past `key` (in scan order) were left out; `None`: every buffered
    /// row within the bounds is in `rows`.
    pub(crate) cut: Option<Slice>,
    /// [`WriteBuffer`]'s departure count when the rows were taken.
    pub(crate) departures: u64,
}

fn clone_row((key, value): RowRef<'_>) -> (Slice, Option<Slice>) {
    (key.to_slice(), value.clone())
}

/// Whether `a` comes before `b` in scan order.
fn before(a: &[u8], b: &[u8], reverse: bool) -> bool {
    if reverse {
        a > b
    } else {
        a < b
    }
}

/// Merges two runs sorted in scan order; on equal keys the newer run's row wins.
fn merge_runs(
    newer: Vec<(Slice, Option<Slice>)>,
    older: Vec<(Slice, Option<Slice>)>,
    reverse: bool,
) -> Vec<(Slice, Option<Slice>)> {
    let mut out = Vec::with_capacity(newer.len() + older.len());
    let (mut newer, mut older) = (newer.into_iter().peekable(), older.into_iter().peekable());
    loop {
        let take_newer = match (newer.peek(), older.peek()) {
            (None, None) => return out,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((n, _)), Some((o, _))) => {
                if n == o {
                    older.next();
                    true
                } else {
                    before(n, o, reverse)
                }
            }
        };
        let row = if take_newer {
            newer.next()
        } else {
            older.next()
        };
        out.extend(row);
    }
}

fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("{segment:010}.log"))
}

fn create_segment(dir: &Path, segment: u64) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(segment_path(dir, segment))?;
    // The new name must survive a crash too.
    File::open(dir)?.sync_all()?;
    Ok(file)
}

/// Segment numbers in the journal folder, in order.
fn list_segments(dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut segments: Vec<u64> = std::fs::read_dir(dir)?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            name.to_str()?.strip_suffix(".log")?.parse().ok()
        })
        .collect();
    segments.sort_unstable();
    Ok(segments)
}

/// Record: `len: u32 LE, crc32(payload): u32 LE, payload`; payload: ops, each
/// `store: u8, kind: u8 (1 put, 0 delete), key len: u32 LE, key, [value len: u32 LE, value]`.
fn encode_record(out: &mut Vec<u8>, ops: &[RowOp]) {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    for RowOp {
        store, key, value, ..
    } in ops
    {
        out.push(*store as u8);
        out.push(u8::from(value.is_some()));
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
        if let Some(value) = value {
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            out.extend_from_slice(value);
        }
    }
    let payload_len = (out.len() - start - 8) as u32;
    let crc = crc32fast::hash(&out[start + 8..]);
    out[start..start + 4].copy_from_slice(&payload_len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Applies a segment's records to `layer`; returns false if it ended in a torn or corrupt
/// record (cut off from the file, so appends never follow garbage).
fn replay_segment(path: &Path, layer: &mut Layer) -> std::io::Result<bool> {
    let mut raw = Vec::new();
    File::open(path)?.read_to_end(&mut raw)?;
    let mut at = 0;
    while at < raw.len() {
        match decode_record(&raw[at..]) {
            Some((ops, used)) => {
                // Replayed writes are not marked fresh: a deletion stays a deletion.
                for op in ops {
                    layer.apply(op);
                }
                at += used;
            }
            None => {
                OpenOptions::new()
                    .write(true)
                    .open(path)?
                    .set_len(at as u64)?;
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// One record's ops and its length in bytes, or `None` if it is torn or corrupt.
fn decode_record(raw: &[u8]) -> Option<(Vec<RowOp>, usize)> {
    let len = u32::from_le_bytes(raw.get(..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(raw.get(4..8)?.try_into().ok()?);
    let payload = raw.get(8..8 + len)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let mut ops = Vec::new();
    let mut at = 0;
    let mut take = |n: usize| {
        let bytes = payload.get(at..at + n);
        at += n;
        bytes
    };
    while let Some(head) = take(2) {
        let (store, kind) = (head[0] as usize, head[1]);
        if store >= STORES {
            return None;
        }
        let key_len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let key = Slice::from(take(key_len)?);
        let value = if kind == 1 {
            let value_len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
            Some(Slice::from(take(value_len)?))
        } else {
            None
        };
        ops.push(RowOp::new(store, key, value));
    }
    Some((ops, 8 + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(store: StoreId, key: &str, value: &str) -> RowOp {
        RowOp::new(store, Slice::from(key), Some(Slice::from(value)))
    }

    fn fresh_put(store: StoreId, key: &str, value: &str) -> RowOp {
        RowOp {
            fresh: true,
            ..put(store, key, value)
        }
    }

    fn delete(store: StoreId, key: &str) -> RowOp {
        RowOp::new(store, Slice::from(key), None)
    }

    #[test]
    fn records_round_trip_and_torn_ones_are_rejected() {
        let ops = vec![put(META, "k", "v"), delete(SUB, "gone")];
        let mut raw = Vec::new();
        encode_record(&mut raw, &ops);
        let (decoded, used) = decode_record(&raw).expect("whole record");
        assert_eq!(used, raw.len());
        assert_eq!(decoded.len(), 2);
        assert_eq!(&*decoded[0].key, b"k");
        assert_eq!(decoded[1].value, None);
        assert!(decode_record(&raw[..raw.len() - 1]).is_none());
        raw[10] ^= 1;
        assert!(decode_record(&raw).is_none());
    }

    #[test]
    fn replays_after_reopen_newest_value_winning() {
        let dir = tempfile::tempdir().unwrap();
        {
            let buffer = WriteBuffer::open(dir.path()).unwrap();
            buffer
                .commit(vec![put(META, "a", "1"), put(META, "b", "1")])
                .unwrap();
            buffer.freeze().unwrap();
            buffer
                .commit(vec![put(META, "a", "2"), delete(META, "b")])
                .unwrap();
            buffer.write_out().unwrap();
        }
        let buffer = WriteBuffer::open(dir.path()).unwrap();
        assert_eq!(buffer.get(META, b"a"), Some(Some(Slice::from("2"))));
        assert_eq!(buffer.get(META, b"b"), Some(None));
        assert_eq!(buffer.get(SUB, b"a"), None);
    }

    #[test]
    fn ranges_merge_layers_and_report_where_they_stop() {
        let dir = tempfile::tempdir().unwrap();
        let buffer = WriteBuffer::open(dir.path()).unwrap();
        buffer
            .commit((0..10).map(|i| put(SUB, &format!("k{i}"), "old")).collect())
            .unwrap();
        buffer.freeze().unwrap();
        buffer
            .commit(vec![put(SUB, "k3", "new"), put(SUB, "k35", "x")])
            .unwrap();
        let all = (Bound::Unbounded, Bound::Unbounded);
        let CollectedRange { rows, cut, .. } = buffer.collect_range(SUB, all, false, 100);
        assert_eq!(rows.len(), 11);
        assert_eq!(cut, None);
        assert_eq!(rows[3], (Slice::from("k3"), Some(Slice::from("new"))));
        let CollectedRange { rows, cut, .. } = buffer.collect_range(SUB, all, false, 4);
        // The frozen layer stopped at k3: the new layer's k35 lies beyond it.
        assert_eq!(cut, Some(Slice::from("k3")));
        assert_eq!(rows.len(), 4);
        let CollectedRange { rows, cut, .. } = buffer.collect_range(SUB, all, true, 2);
        assert_eq!(cut, Some(Slice::from("k8")));
        assert_eq!(rows.first().unwrap().0, Slice::from("k9"));
    }

    /// Deleting a row written fresh in the active layer drops its entry; anything that may
    /// hide a row below (a deletion, a row from before, a frozen layer) stays a deletion.
    #[test]
    fn deletions_of_fresh_rows_leave_no_entry_behind() {
        let dir = tempfile::tempdir().unwrap();
        let buffer = WriteBuffer::open(dir.path()).unwrap();
        buffer
            .commit(vec![
                fresh_put(SUB, "pushed", "1"),
                fresh_put(SUB, "rewritten", "1"),
                put(SUB, "old", "1"),
                delete(SUB, "over-deletion"),
            ])
            .unwrap();
        let bytes_with_them = buffer.active_bytes();
        buffer
            .commit(vec![
                put(SUB, "rewritten", "2"),
                fresh_put(SUB, "over-deletion", "1"),
            ])
            .unwrap();
        buffer
            .commit(vec![
                delete(SUB, "pushed"),
                delete(SUB, "rewritten"),
                delete(SUB, "old"),
                delete(SUB, "over-deletion"),
            ])
            .unwrap();
        assert_eq!(buffer.get(SUB, b"pushed"), None, "gone, not a deletion");
        assert_eq!(
            buffer.get(SUB, b"rewritten"),
            None,
            "a rewrite keeps freshness"
        );
        assert_eq!(buffer.get(SUB, b"old"), Some(None));
        assert_eq!(buffer.get(SUB, b"over-deletion"), Some(None));
        assert!(buffer.active_bytes() < bytes_with_them);
        // Frozen, the row may be in fjall soon: a deletion in the new layer must hide it.
        buffer.commit(vec![fresh_put(SUB, "frozen", "1")]).unwrap();
        buffer.freeze().unwrap();
        buffer.commit(vec![delete(SUB, "frozen")]).unwrap();
        assert_eq!(buffer.get(SUB, b"frozen"), Some(None));
        // A replay knows nothing of freshness: the deletions come back as deletions.
        buffer.write_out().unwrap();
        drop(buffer);
        let buffer = WriteBuffer::open(dir.path()).unwrap();
        assert_eq!(buffer.get(SUB, b"pushed"), Some(None));
        assert_eq!(buffer.get(SUB, b"frozen"), Some(None));
        let all = (Bound::Unbounded, Bound::Unbounded);
        let CollectedRange { rows, .. } = buffer.collect_range(SUB, all, false, 100);
        assert!(rows.iter().all(|(_, value)| value.is_none()));
    }
}
