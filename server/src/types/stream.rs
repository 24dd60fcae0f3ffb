//! Streams: entries as sub-rows ordered by ID, with Redis's node structure kept alongside.
//!
//! The metadata row holds `{kind: Stream, version, len = number of entries, expire_at,
//! value = layout ‖ postcard(StreamInfo)}` (last ID, entries added, max deleted ID, first
//! ID, group count). Sub-rows, tagged by their first byte:
//!
//! ```text
//! E ‖ ms(8) ‖ seq(8)       → the entry's field/value pairs
//! N ‖ master ms ‖ seq      → a node: live and total entries, last ID appended, bytes
//! G, P, C, Q …             → consumer groups (see `stream_group`)
//! ```
//!
//! IDs are big-endian, so a range read is one ordered scan.
//!
//! Why nodes: Redis keeps entries in listpack nodes of at most `stream-node-max-entries`
//! entries (or `stream-node-max-bytes`), and approximate trimming (`MAXLEN ~`, `MINID ~`,
//! `LIMIT`) removes whole nodes only, so clients see node boundaries in XLEN after a trim.
//! A node covers the IDs from its master ID (its first entry) up to the next node's
//! master ID, so an entry's node is found with one reverse seek and entries carry no link.
//!
//! A stream's entries may also live elsewhere (an [`EntrySource`]): the server-written
//! change logs behind `__stream__:<name>` keys keep their records in their own rows, and
//! the stream loaded for such a key carries only consumer-group state in its sub-rows. Reads
//! of entries go to the source then, so the group code works unchanged on both.
//!
//! Commands read their own writes: every sub-row written through a [`Stream`] is also
//! kept in its overlay, which point reads and scans merge with the stored rows (the
//! engine's scans see only stored rows; XADD trims right after appending).

use std::collections::BTreeMap;
use std::ops::Bound::{self, Excluded, Included, Unbounded};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::error::{Result, TypeError};
use crate::engine::txn::SubScan;
use crate::engine::{Kind, Meta, Txn};

pub use crate::engine::StreamId;

/// An entry's field/value pairs.
pub type Fields = Vec<(Vec<u8>, Vec<u8>)>;
/// An entry: ID and fields.
pub type Entry = (StreamId, Fields);

/// Stream-wide state kept in the metadata row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamInfo {
    /// The ID of the last entry ever added (or set by XSETID).
    pub last_id: StreamId,
    /// Entries ever added (the logical offset of the last entry).
    pub entries_added: u64,
    /// The largest ID ever deleted by XDEL (tombstones make lag estimates invalid).
    pub max_deleted_id: StreamId,
    /// ID of the first live entry (0-0 when empty).
    pub first_id: StreamId,
    /// Number of consumer groups.
    pub groups: u64,
}

/// A node (Redis's listpack) as bookkeeping: entries are not stored inside it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Node {
    /// Entries not deleted.
    live: u64,
    /// Entries ever appended (deleted ones still count toward the node's fill).
    total: u64,
    /// The last ID appended to the node (deleted or not), as Redis's MINID check reads it.
    last: StreamId,
    /// Estimated listpack size.
    bytes: u64,
}

/// When a new node starts (`stream-node-max-entries`, `stream-node-max-bytes`; 0 = none).
#[derive(Debug, Clone, Copy)]
pub struct NodeLimits {
    pub max_entries: u64,
    pub max_bytes: u64,
}

/// What a trim keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// At most this many entries.
    MaxLen(u64),
    /// Entries with an ID at least this.
    MinId(StreamId),
}

/// A trim request: strategy, whether approximate (`~`: whole nodes only) and the most
/// entries it may remove (0 = no limit).
#[derive(Debug, Clone, Copy)]
pub struct TrimSpec {
    pub strategy: Trim,
    pub approx: bool,
    pub limit: u64,
}

const LAYOUT_V1: u8 = 1;
pub(crate) const ENTRY: u8 = b'E';
const NODE: u8 = b'N';
/// Estimated listpack header and per-entry overhead (flags, ID deltas, lp-count).
const NODE_HEADER_BYTES: u64 = 16;
const ENTRY_OVERHEAD_BYTES: u64 = 4;
/// Redis caps a node's size at 1 GB whatever `stream-node-max-bytes` says.
const NODE_MAX_BYTES_CAP: u64 = 1 << 30;

fn tagged(tag: u8, id: StreamId) -> Vec<u8> {
    let mut out = Vec::with_capacity(17);
    out.push(tag);
    out.extend_from_slice(&id.to_bytes());
    out
}

fn entry_key(id: StreamId) -> Vec<u8> {
    tagged(ENTRY, id)
}

fn encode_fields(fields: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let size: usize = fields.iter().map(|(f, v)| f.len() + v.len() + 8).sum();
    let mut out = Vec::with_capacity(size);
    for part in fields.iter().flat_map(|(f, v)| [f, v]) {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

fn decode_fields(mut raw: &[u8]) -> Result<Fields> {
    let corrupt = || TypeError::Corrupt("stream entry");
    let mut parts = Vec::new();
    while !raw.is_empty() {
        let len = u32::from_be_bytes(raw.get(..4).ok_or_else(corrupt)?.try_into().unwrap());
        let end = 4 + len as usize;
        parts.push(raw.get(4..end).ok_or_else(corrupt)?.to_vec());
        raw = &raw[end..];
    }
    if parts.len() % 2 != 0 {
        return Err(corrupt());
    }
    let mut fields = Vec::with_capacity(parts.len() / 2);
    let mut iter = parts.into_iter();
    while let (Some(f), Some(v)) = (iter.next(), iter.next()) {
        fields.push((f, v));
    }
    Ok(fields)
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("serializing to a Vec cannot fail")
}

pub(crate) fn decode<'a, T: Deserialize<'a>>(raw: &'a [u8], what: &'static str) -> Result<T> {
    postcard::from_bytes(raw).map_err(|_| TypeError::Corrupt(what))
}

fn entry_bytes(fields: &[(Vec<u8>, Vec<u8>)]) -> u64 {
    fields
        .iter()
        .map(|(f, v)| f.len() as u64 + v.len() as u64 + 2)
        .sum::<u64>()
        + ENTRY_OVERHEAD_BYTES
}

/// Entries kept outside the stream's sub-rows (a change log), read-only to commands.
pub trait EntrySource: Send + Sync {
    /// Up to `count` entries (all if `None`) with `start <= id <= end`, in ID order (or
    /// reversed).
    fn range(
        &self,
        start: StreamId,
        end: StreamId,
        reverse: bool,
        count: Option<usize>,
    ) -> Result<Vec<Entry>>;

    /// The fields of entry `id`, if it is kept.
    fn get(&self, id: StreamId) -> Result<Option<Fields>>;

    /// Number of entries with `start <= id <= end`.
    fn count(&self, start: StreamId, end: StreamId) -> Result<u64>;
}

/// A source's state when a command loads it.
#[derive(Debug, Clone, Copy)]
pub struct SourceSummary {
    pub len: u64,
    /// Oldest entry kept (0-0 when none).
    pub first_id: StreamId,
    /// Last ID ever given.
    pub last_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
}

/// A stream loaded for a command: its metadata, and the sub-rows the command wrote.
pub struct Stream {
    key: Vec<u8>,
    meta: Meta,
    pub info: StreamInfo,
    written: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Where entries live when not in `E` sub-rows.
    source: Option<Arc<dyn EntrySource>>,
}

/// The stream at `key` (WRONGTYPE for other types, `None` if absent).
pub fn load(txn: &mut Txn, key: &[u8]) -> Result<Option<Stream>> {
    let Some(meta) = super::get_of_kind(txn, key, Kind::Stream)? else {
        return Ok(None);
    };
    let info = match meta.value.split_first() {
        Some((&LAYOUT_V1, rest)) => decode(rest, "stream metadata")?,
        _ => return Err(TypeError::Corrupt("stream metadata")),
    };
    Ok(Some(Stream {
        key: key.to_vec(),
        meta,
        info,
        written: BTreeMap::new(),
        source: None,
    }))
}

/// The stream at `key` whose entries come from `source` (a change log): its group state
/// as stored (WRONGTYPE if `key` holds another type), or none yet. Counts and IDs are the
/// source's; such a stream is never empty of meaning, so it always loads. Its metadata
/// row is written only when group state is ([`Stream::store`]).
pub fn load_with_source(
    txn: &mut Txn,
    key: &[u8],
    source: Arc<dyn EntrySource>,
    summary: SourceSummary,
) -> Result<Stream> {
    let mut stream = match load(txn, key)? {
        Some(stream) => stream,
        None => create(txn, key)?,
    };
    stream.meta.len = summary.len;
    stream.info.first_id = summary.first_id;
    stream.info.last_id = summary.last_id;
    stream.info.entries_added = summary.entries_added;
    // Sources lose entries only from the head (retention), never in the middle.
    stream.info.max_deleted_id = StreamId::MIN;
    stream.source = Some(source);
    Ok(stream)
}

/// A new empty stream at `key` (stored by [`Stream::store`]).
pub fn create(txn: &mut Txn, key: &[u8]) -> Result<Stream> {
    Ok(Stream {
        key: key.to_vec(),
        meta: Meta::new(Kind::Stream, txn.engine().new_version()?),
        info: StreamInfo::default(),
        written: BTreeMap::new(),
        source: None,
    })
}

/// The command's own writes within a scanned range, in scan order.
type PendingRows = std::iter::Peekable<std::vec::IntoIter<(Vec<u8>, Option<Vec<u8>>)>>;

/// Iterator over sub-rows merging stored rows with the command's own writes.
pub(crate) struct Rows {
    stored: std::iter::Peekable<SubScan>,
    pending: PendingRows,
    reverse: bool,
}

impl Iterator for Rows {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::cmp::Ordering::*;
        loop {
            let order = match (self.stored.peek(), self.pending.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) | (Some(_), None) => None,
                (None, Some(_)) => Some(Less),
                (Some(Ok((stored, _))), Some((pending, _))) => {
                    let order = pending.cmp(stored);
                    Some(if self.reverse { order.reverse() } else { order })
                }
            };
            match order {
                None | Some(Greater) => {
                    return self.stored.next().map(|r| r.map_err(TypeError::from))
                }
                Some(Equal) => {
                    self.stored.next();
                }
                Some(Less) => {}
            }
            if let Some((key, Some(value))) = self.pending.next() {
                return Some(Ok((key, value)));
            }
        }
    }
}

fn bounds_empty(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    match (lower, upper) {
        (Included(l), Included(u)) => l > u,
        (Included(l) | Excluded(l), Included(u) | Excluded(u)) => l >= u,
        _ => false,
    }
}

fn as_ref_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Included(v) => Included(v.as_slice()),
        Excluded(v) => Excluded(v.as_slice()),
        Unbounded => Unbounded,
    }
}

/// The bounds covering every sort key that starts with `prefix`.
pub(crate) fn prefix_bounds(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let upper = match crate::engine::keys::prefix_successor(prefix) {
        Some(succ) => Excluded(succ),
        None => Unbounded,
    };
    (Included(prefix.to_vec()), upper)
}

impl Stream {
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.meta.len
    }

    pub fn is_empty(&self) -> bool {
        self.meta.len == 0
    }

    /// Whether entries come from an outside source (a change log) rather than sub-rows.
    pub fn has_source(&self) -> bool {
        self.source.is_some()
    }

    /// Writes the metadata back. Streams stay when empty, as in Redis.
    pub fn store(mut self, txn: &mut Txn) -> Result<()> {
        let mut value = vec![LAYOUT_V1];
        value.extend_from_slice(&encode(&self.info));
        self.meta.value = value.into();
        txn.put(&self.key, self.meta)?;
        Ok(())
    }

    pub(crate) fn row_get(&self, txn: &Txn, sort_key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(pending) = self.written.get(sort_key) {
            return Ok(pending.clone());
        }
        Ok(txn.sub_get(&self.key, self.meta.version, sort_key)?)
    }

    pub(crate) fn row_put(&mut self, txn: &mut Txn, sort_key: Vec<u8>, value: Vec<u8>) {
        txn.sub_put(&self.key, self.meta.version, &sort_key, value.clone());
        self.written.insert(sort_key, Some(value));
    }

    pub(crate) fn row_delete(&mut self, txn: &mut Txn, sort_key: Vec<u8>) {
        txn.sub_delete(&self.key, self.meta.version, &sort_key);
        self.written.insert(sort_key, None);
    }

    pub(crate) fn rows(
        &self,
        txn: &Txn,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
    ) -> Rows {
        let empty = bounds_empty(&lower, &upper);
        let mut pending: Vec<_> = if empty {
            Vec::new()
        } else {
            self.written
                .range((lower.clone(), upper.clone()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        if reverse {
            pending.reverse();
        }
        let (lower, upper) = if empty {
            (Included(vec![0xff]), Excluded(vec![0xff]))
        } else {
            (lower, upper)
        };
        Rows {
            stored: txn
                .sub_scan(
                    &self.key,
                    self.meta.version,
                    as_ref_bound(&lower),
                    as_ref_bound(&upper),
                    reverse,
                )
                .peekable(),
            pending: pending.into_iter().peekable(),
            reverse,
        }
    }

    /// The rows whose sort key starts with `prefix`.
    pub(crate) fn rows_with_prefix(&self, txn: &Txn, prefix: &[u8], reverse: bool) -> Rows {
        let (lower, upper) = prefix_bounds(prefix);
        self.rows(txn, lower, upper, reverse)
    }

    /// The fields of entry `id`, if it exists.
    pub fn entry(&self, txn: &Txn, id: StreamId) -> Result<Option<Fields>> {
        if let Some(source) = &self.source {
            return source.get(id);
        }
        self.row_get(txn, &entry_key(id))?
            .map(|raw| decode_fields(&raw))
            .transpose()
    }

    pub fn contains(&self, txn: &Txn, id: StreamId) -> Result<bool> {
        if self.source.is_some() {
            return Ok(self.entry(txn, id)?.is_some());
        }
        Ok(self.row_get(txn, &entry_key(id))?.is_some())
    }

    /// Entries with `start <= id <= end`, in ID order (or reversed).
    pub fn entries(
        &self,
        txn: &Txn,
        start: StreamId,
        end: StreamId,
        reverse: bool,
    ) -> impl Iterator<Item = Result<Entry>> {
        self.rows(
            txn,
            Included(entry_key(start)),
            Included(entry_key(end)),
            reverse,
        )
        .map(|row| {
            let (key, value) = row?;
            let id = StreamId::from_bytes(&key[1..]).ok_or(TypeError::Corrupt("stream entry"))?;
            Ok((id, decode_fields(&value)?))
        })
    }

    /// Up to `count` entries (all if `None`) with `start <= id <= end`.
    pub fn range(
        &self,
        txn: &Txn,
        start: StreamId,
        end: StreamId,
        reverse: bool,
        count: Option<usize>,
    ) -> Result<Vec<Entry>> {
        if let Some(source) = &self.source {
            return source.range(start, end, reverse, count);
        }
        self.entries(txn, start, end, reverse)
            .take(count.unwrap_or(usize::MAX))
            .collect()
    }

    /// The last live entry's ID (Redis's `streamLastValidID`), if any.
    pub fn last_entry_id(&self, txn: &Txn) -> Result<Option<StreamId>> {
        let newest = self.range(txn, StreamId::MIN, StreamId::MAX, true, Some(1))?;
        Ok(newest.first().map(|(id, _)| *id))
    }

    fn first_entry_id(&self, txn: &Txn) -> Result<Option<StreamId>> {
        Ok(self
            .entries(txn, StreamId::MIN, StreamId::MAX, false)
            .next()
            .transpose()?
            .map(|(id, _)| id))
    }

    fn nodes(&self, txn: &Txn, upto: Option<StreamId>, reverse: bool) -> Rows {
        let upper = match upto {
            Some(id) => Included(tagged(NODE, id)),
            None => Excluded(vec![NODE + 1]),
        };
        self.rows(txn, Included(vec![NODE]), upper, reverse)
    }

    fn decode_node(row: Result<(Vec<u8>, Vec<u8>)>) -> Result<(StreamId, Node)> {
        let (key, value) = row?;
        let master = StreamId::from_bytes(&key[1..]).ok_or(TypeError::Corrupt("stream node"))?;
        Ok((master, decode(&value, "stream node")?))
    }

    /// The node holding `id` (the last node whose master ID is not above it), or the
    /// tail node for `None`.
    fn node_of(&self, txn: &Txn, id: Option<StreamId>) -> Result<Option<(StreamId, Node)>> {
        self.nodes(txn, id, true)
            .next()
            .map(Self::decode_node)
            .transpose()
    }

    fn put_node(&mut self, txn: &mut Txn, master: StreamId, node: &Node) {
        self.row_put(txn, tagged(NODE, master), encode(node));
    }

    /// Number of nodes (XINFO's `radix-tree-keys`).
    pub fn node_count(&self, txn: &Txn) -> Result<u64> {
        if self.source.is_some() {
            // A source has no nodes; report one while it holds entries.
            return Ok(self.meta.len.min(1));
        }
        let mut count = 0;
        for row in self.nodes(txn, None, false) {
            row?;
            count += 1;
        }
        Ok(count)
    }

    /// The master IDs of the nodes, in order (none for a stream with an entry source).
    pub fn node_masters(&self, txn: &Txn) -> Result<Vec<StreamId>> {
        self.nodes(txn, None, false)
            .map(|row| Ok(Self::decode_node(row)?.0))
            .collect()
    }

    /// Loads one node of a restored stream: its live entries, how many entries it ever
    /// held (deleted ones count toward its fill, as in Redis) and the last ID appended to
    /// it. Nodes come in ID order into a stream being built; one with no live entry is
    /// not kept, as Redis drops such nodes.
    pub fn restore_node(
        &mut self,
        txn: &mut Txn,
        master: StreamId,
        entries: &[Entry],
        appended: u64,
        last: StreamId,
    ) {
        if entries.is_empty() {
            return;
        }
        let mut node = Node {
            live: entries.len() as u64,
            total: appended.max(entries.len() as u64),
            last,
            bytes: NODE_HEADER_BYTES,
        };
        for (id, fields) in entries {
            node.bytes += entry_bytes(fields);
            self.row_put(txn, entry_key(*id), encode_fields(fields));
        }
        self.put_node(txn, master, &node);
        self.meta.len += node.live;
    }

    /// Sets when the stream expires (absolute Unix ms, 0 = never) for [`Stream::store`].
    pub fn set_expire_at(&mut self, expire_at: u64) {
        self.meta.expire_at = expire_at;
    }

    /// Appends entry `id` (the caller checked it is above the last ID).
    pub fn append(
        &mut self,
        txn: &mut Txn,
        id: StreamId,
        fields: &[(Vec<u8>, Vec<u8>)],
        limits: NodeLimits,
    ) -> Result<()> {
        let bytes = entry_bytes(fields);
        let (master, mut node) = match self.node_of(txn, None)? {
            Some((master, node)) if !node_is_full(&node, bytes, limits) => (master, node),
            _ => (
                id,
                Node {
                    live: 0,
                    total: 0,
                    last: id,
                    bytes: NODE_HEADER_BYTES + bytes,
                },
            ),
        };
        node.live += 1;
        node.total += 1;
        node.last = id;
        node.bytes += bytes;
        self.put_node(txn, master, &node);
        self.row_put(txn, entry_key(id), encode_fields(fields));
        if self.meta.len == 0 {
            self.info.first_id = id;
        }
        self.meta.len += 1;
        self.info.last_id = id;
        self.info.entries_added += 1;
        Ok(())
    }

    /// Deletes entry `id` (XDEL); returns whether it existed.
    pub fn delete(&mut self, txn: &mut Txn, id: StreamId) -> Result<bool> {
        if !self.contains(txn, id)? {
            return Ok(false);
        }
        self.row_delete(txn, entry_key(id));
        if let Some((master, mut node)) = self.node_of(txn, Some(id))? {
            node.live = node.live.saturating_sub(1);
            if node.live == 0 {
                self.row_delete(txn, tagged(NODE, master));
            } else {
                self.put_node(txn, master, &node);
            }
        }
        self.meta.len -= 1;
        if id > self.info.max_deleted_id {
            self.info.max_deleted_id = id;
        }
        if self.meta.len == 0 {
            self.info.first_id = StreamId::MIN;
        } else if id == self.info.first_id {
            self.info.first_id = self.first_entry_id(txn)?.unwrap_or_default();
        }
        Ok(true)
    }

    /// Trims as Redis's `streamTrim`: whole nodes from the head while they may go, then
    /// (unless approximate) entries of the first node that may not go entirely. Returns
    /// the number of entries removed.
    pub fn trim(&mut self, txn: &mut Txn, spec: TrimSpec) -> Result<u64> {
        let mut deleted = 0;
        let nodes: Vec<_> = self.nodes(txn, None, false).collect();
        for row in nodes {
            let (master, mut node) = Self::decode_node(row)?;
            if let Trim::MaxLen(max) = spec.strategy {
                if self.meta.len <= max {
                    break;
                }
            }
            if spec.limit != 0 && deleted + node.live > spec.limit {
                break;
            }
            let remove_node = match spec.strategy {
                Trim::MaxLen(max) => self.meta.len - node.live >= max,
                Trim::MinId(min) => node.last < min,
            };
            if remove_node {
                deleted += self.delete_entries(txn, master, node.last, |_, _| true)?;
                self.row_delete(txn, tagged(NODE, master));
                continue;
            }
            if spec.approx {
                break;
            }
            let strategy = spec.strategy;
            let removed =
                self.delete_entries(txn, master, node.last, |id, len| match strategy {
                    Trim::MaxLen(max) => len > max,
                    Trim::MinId(min) => id < min,
                })?;
            node.live -= removed;
            deleted += removed;
            self.put_node(txn, master, &node);
            break;
        }
        if deleted > 0 {
            self.info.first_id = self.first_entry_id(txn)?.unwrap_or_default();
        }
        Ok(deleted)
    }

    /// Deletes entries from `start` to `end` in order while `go_on(id, length)` holds;
    /// returns how many were deleted.
    fn delete_entries(
        &mut self,
        txn: &mut Txn,
        start: StreamId,
        end: StreamId,
        go_on: impl Fn(StreamId, u64) -> bool,
    ) -> Result<u64> {
        let rows: Vec<_> = self
            .rows(
                txn,
                Included(entry_key(start)),
                Included(entry_key(end)),
                false,
            )
            .collect();
        let mut removed = 0;
        for row in rows {
            let (key, _) = row?;
            let id = StreamId::from_bytes(&key[1..]).ok_or(TypeError::Corrupt("stream entry"))?;
            if !go_on(id, self.meta.len) {
                break;
            }
            self.row_delete(txn, key);
            self.meta.len -= 1;
            removed += 1;
        }
        Ok(removed)
    }

    /// Whether an XDEL tombstone may lie at or after `start` (Redis's
    /// `streamRangeHasTombstones` with an open end).
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        let info = &self.info;
        if self.meta.len == 0 || info.max_deleted_id.is_zero() {
            return false;
        }
        if info.first_id > info.max_deleted_id {
            return false;
        }
        start <= info.max_deleted_id
    }

    /// The logical offset of `id` for a new or moved group: exact for a source (it loses
    /// entries only from the head, so everything added is either kept or before the first
    /// kept entry), Redis's estimate otherwise.
    pub fn entries_read_at(&self, id: StreamId) -> Result<Option<u64>> {
        let Some(source) = &self.source else {
            return Ok(self.estimate_entries_read(id));
        };
        let after = match id.next() {
            Some(from) => source.count(from, StreamId::MAX)?,
            None => 0,
        };
        Ok(Some(self.info.entries_added.saturating_sub(after)))
    }

    /// The logical offset (entries added up to and including `id`) when it can be known
    /// (Redis's `streamEstimateDistanceFromFirstEverEntry`); `None` = unknown.
    pub fn estimate_entries_read(&self, id: StreamId) -> Option<u64> {
        let info = &self.info;
        if info.entries_added == 0 {
            return Some(0);
        }
        if self.meta.len == 0 && id <= info.last_id {
            return Some(info.entries_added);
        }
        if id == info.last_id {
            return Some(info.entries_added);
        }
        if id > info.last_id {
            return None;
        }
        if info.max_deleted_id.is_zero() || info.max_deleted_id < info.first_id {
            if id < info.first_id {
                return Some(info.entries_added - self.meta.len);
            }
            if id == info.first_id {
                return Some(info.entries_added - self.meta.len + 1);
            }
        }
        None
    }
}

/// Redis's rule for starting a new node on append.
fn node_is_full(node: &Node, bytes: u64, limits: NodeLimits) -> bool {
    let max_bytes = match limits.max_bytes {
        0 => NODE_MAX_BYTES_CAP,
        n => n.min(NODE_MAX_BYTES_CAP),
    };
    node.bytes + bytes >= max_bytes || (limits.max_entries != 0 && node.total >= limits.max_entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let fields = vec![(b"a".to_vec(), b"".to_vec()), (b"".to_vec(), vec![0, 1])];
        assert_eq!(decode_fields(&encode_fields(&fields)).unwrap(), fields);
        assert!(decode_fields(&[0, 0, 0, 5, 1]).is_err());
    }
}
