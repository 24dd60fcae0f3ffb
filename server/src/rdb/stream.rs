//! Streams in RDB (`RDB_TYPE_STREAM_LISTPACKS*`): the entries as listpack nodes keyed by
//! their master ID, then the stream's counters, then each consumer group with its pending
//! entries list (PEL) and its consumers.
//!
//! ```text
//! nodes: len, then per node: string(master ID, 16 bytes big-endian) string(listpack)
//! length, last ID (ms, seq)                       all as RDB lengths
//! [v2+] first ID, max deleted ID, entries added
//! groups: len, then per group: string(name) last ID (ms, seq) [v2+ entries read]
//!     PEL: len, then per entry: ID (16 raw bytes) delivery time (8 bytes LE) count
//!     consumers: len, then per consumer: string(name) seen time (8 bytes LE)
//!         [v3 active time] PEL: len, then IDs (16 raw bytes each)
//! ```
//!
//! A node's listpack starts with its master entry (`count, deleted, n, field 1..n, 0`);
//! each entry follows as `flags, ms diff, seq diff, [n, field, value…] | [value…],
//! lp-count`, with IDs relative to the master ID and the field names left out when they
//! are the master entry's (`SAMEFIELDS`).
//!
//! Reading checks what the engine relies on (IDs ascending across nodes, counts that
//! add up, every pending entry owned by one consumer of its group) so a payload that
//! loads is one redyn can store as is.

use std::collections::{BTreeMap, BTreeSet};

use super::compact::listpack;
use super::read::Reader;
use super::write::{length, string};
use super::{RdbError, Result};

/// Redis 5 to 6.2: no first ID, max deleted ID, entries added nor groups' entries read.
pub const STREAM_LISTPACKS: u8 = 15;
/// Redis 7.0.
pub const STREAM_LISTPACKS_2: u8 = 19;
/// Redis 7.2: consumers also carry an active time.
pub const STREAM_LISTPACKS_3: u8 = 21;

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;
/// A group's entries read when unknown (Redis's `SCG_INVALID_ENTRIES_READ`, -1 as a
/// 64-bit length).
const ENTRIES_READ_UNKNOWN: u64 = u64::MAX;

/// A stream ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Id {
    pub ms: u64,
    pub seq: u64,
}

impl Id {
    pub const fn new(ms: u64, seq: u64) -> Id {
        Id { ms, seq }
    }

    fn raw(self) -> [u8; 16] {
        let mut out = [0; 16];
        out[..8].copy_from_slice(&self.ms.to_be_bytes());
        out[8..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }

    fn from_raw(raw: &[u8]) -> Result<Id> {
        if raw.len() != 16 {
            return Err(RdbError::Invalid("stream ID"));
        }
        let half = |r: &[u8]| u64::from_be_bytes(r.try_into().expect("8 bytes"));
        Ok(Id::new(half(&raw[..8]), half(&raw[8..])))
    }
}

/// A stream as serialized.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamValue {
    /// Entry nodes in ID order.
    pub nodes: Vec<StreamNode>,
    /// Live entries.
    pub length: u64,
    pub last_id: Id,
    /// First live entry (0-0 when empty).
    pub first_id: Id,
    pub max_deleted_id: Id,
    pub entries_added: u64,
    pub groups: Vec<StreamGroup>,
}

/// A listpack node: its master ID and its entries, deleted ones included.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamNode {
    pub master: Id,
    pub entries: Vec<NodeEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeEntry {
    pub id: Id,
    /// Deleted by XDEL or a trim inside the node: kept in the node, not in the stream.
    pub deleted: bool,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A group's logical read counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntriesRead {
    Known(u64),
    /// Not knowable (Redis's -1).
    Unknown,
    /// Not recorded (a payload from before Redis 7): to be estimated from the stream, as
    /// Redis's loader does.
    Estimate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StreamGroup {
    pub name: Vec<u8>,
    pub last_id: Id,
    pub entries_read: EntriesRead,
    /// The group's PEL in ID order.
    pub pending: Vec<PendingEntry>,
    pub consumers: Vec<StreamConsumer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingEntry {
    pub id: Id,
    /// Unix milliseconds of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StreamConsumer {
    pub name: Vec<u8>,
    /// Unix milliseconds.
    pub seen_time: u64,
    /// The IDs of the group's pending entries this consumer owns, in ID order.
    pub pending: Vec<Id>,
}

impl StreamValue {
    /// The owner of each pending entry of `group`, by ID.
    pub fn owners(group: &StreamGroup) -> BTreeMap<Id, &[u8]> {
        group
            .consumers
            .iter()
            .flat_map(|c| c.pending.iter().map(move |id| (*id, c.name.as_slice())))
            .collect()
    }
}

// ---- reading ----

impl Reader<'_> {
    /// A stream of type `kind` (one of the `STREAM_LISTPACKS*` types).
    pub fn stream(&mut self, kind: u8) -> Result<StreamValue> {
        let mut stream = StreamValue {
            nodes: self.stream_nodes()?,
            length: self.length()?,
            last_id: self.length_id()?,
            ..StreamValue::default()
        };
        check_nodes(&stream)?;
        if kind == STREAM_LISTPACKS {
            // As Redis's loader: the counters older versions did not keep are derived.
            stream.entries_added = stream.length;
            let first = live_entries(&stream).next().map(|e| e.id);
            stream.first_id = first.unwrap_or_default();
        } else {
            stream.first_id = self.length_id()?;
            stream.max_deleted_id = self.length_id()?;
            stream.entries_added = self.length()?;
        }
        let groups = self.length()?;
        let mut names = BTreeSet::new();
        for _ in 0..groups {
            let group = self.stream_group(kind)?;
            if !names.insert(group.name.clone()) {
                return Err(RdbError::Invalid("duplicate consumer group"));
            }
            stream.groups.push(group);
        }
        Ok(stream)
    }

    fn length_id(&mut self) -> Result<Id> {
        Ok(Id::new(self.length()?, self.length()?))
    }

    fn raw_id(&mut self) -> Result<Id> {
        Id::from_raw(self.bytes(16)?)
    }

    fn stream_nodes(&mut self) -> Result<Vec<StreamNode>> {
        let count = self.length()?;
        let mut nodes = Vec::new();
        for _ in 0..count {
            let master = Id::from_raw(&self.string()?)?;
            let elements = listpack::entries(&self.string()?)?;
            if elements.is_empty() {
                return Err(RdbError::Invalid("empty stream node"));
            }
            nodes.push(decode_node(master, elements)?);
        }
        Ok(nodes)
    }

    fn stream_group(&mut self, kind: u8) -> Result<StreamGroup> {
        let name = self.string()?;
        let last_id = self.length_id()?;
        let entries_read = match kind {
            STREAM_LISTPACKS => EntriesRead::Estimate,
            _ => match self.length()? {
                ENTRIES_READ_UNKNOWN => EntriesRead::Unknown,
                n => EntriesRead::Known(n),
            },
        };
        let mut pending = Vec::new();
        for _ in 0..self.length()? {
            pending.push(PendingEntry {
                id: self.raw_id()?,
                delivery_time: self.u64_le()?,
                delivery_count: self.length()?,
            });
        }
        if !strictly_ascending(pending.iter().map(|p| p.id)) {
            // Redis refuses a PEL entry twice; ours are also kept in ID order.
            pending.sort_by_key(|p| p.id);
            if !strictly_ascending(pending.iter().map(|p| p.id)) {
                return Err(RdbError::Invalid("duplicate pending entry"));
            }
        }
        let mut consumers = Vec::new();
        for _ in 0..self.length()? {
            consumers.push(self.stream_consumer(kind)?);
        }
        let group = StreamGroup {
            name,
            last_id,
            entries_read,
            pending,
            consumers,
        };
        check_group(&group)?;
        Ok(group)
    }

    fn stream_consumer(&mut self, kind: u8) -> Result<StreamConsumer> {
        let name = self.string()?;
        let seen_time = self.u64_le()?;
        if kind == STREAM_LISTPACKS_3 {
            let _active_time = self.u64_le()?;
        }
        let mut pending = Vec::new();
        for _ in 0..self.length()? {
            pending.push(self.raw_id()?);
        }
        pending.sort();
        Ok(StreamConsumer {
            name,
            seen_time,
            pending,
        })
    }
}

fn strictly_ascending(mut ids: impl Iterator<Item = Id>) -> bool {
    let Some(mut previous) = ids.next() else {
        return true;
    };
    ids.all(|id| std::mem::replace(&mut previous, id) < id)
}

fn live_entries(stream: &StreamValue) -> impl Iterator<Item = &NodeEntry> {
    stream
        .nodes
        .iter()
        .flat_map(|n| &n.entries)
        .filter(|e| !e.deleted)
}

/// Entries ascend through the nodes, each node's from its master ID, and the live ones
/// add up to the stream's length.
fn check_nodes(stream: &StreamValue) -> Result<()> {
    let mut floor: Option<Id> = None;
    for node in &stream.nodes {
        if floor.is_some_and(|f| node.master <= f) {
            return Err(RdbError::Invalid("stream nodes out of order"));
        }
        let ids = node.entries.iter().map(|e| e.id);
        if !strictly_ascending(ids) || node.entries.first().is_some_and(|e| e.id < node.master) {
            return Err(RdbError::Invalid("stream entries out of order"));
        }
        floor = Some(node.entries.last().map_or(node.master, |e| e.id));
    }
    if live_entries(stream).count() as u64 != stream.length {
        return Err(RdbError::Invalid("stream length"));
    }
    Ok(())
}

/// Consumer names are unique, and every pending entry has exactly one owner among them.
fn check_group(group: &StreamGroup) -> Result<()> {
    let mut names = BTreeSet::new();
    let mut owned = BTreeSet::new();
    for consumer in &group.consumers {
        if !names.insert(consumer.name.as_slice()) {
            return Err(RdbError::Invalid("duplicate consumer"));
        }
        for id in &consumer.pending {
            if !owned.insert(*id) {
                return Err(RdbError::Invalid("pending entry owned twice"));
            }
        }
    }
    let pending: BTreeSet<Id> = group.pending.iter().map(|p| p.id).collect();
    if owned != pending {
        return Err(RdbError::Invalid("pending entry without its consumer"));
    }
    Ok(())
}

/// Walks a node's listpack elements (integers as decimal text).
struct Elements {
    items: std::vec::IntoIter<Vec<u8>>,
}

impl Elements {
    fn bad() -> RdbError {
        RdbError::Invalid("stream listpack")
    }

    fn is_done(&self) -> bool {
        self.items.len() == 0
    }

    fn bytes(&mut self) -> Result<Vec<u8>> {
        self.items.next().ok_or_else(Self::bad)
    }

    fn int(&mut self) -> Result<i64> {
        let raw = self.bytes()?;
        std::str::from_utf8(&raw)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(Self::bad)
    }

    fn count(&mut self) -> Result<usize> {
        usize::try_from(self.int()?).map_err(|_| Self::bad())
    }
}

fn decode_node(master: Id, elements: Vec<Vec<u8>>) -> Result<StreamNode> {
    let mut lp = Elements {
        items: elements.into_iter(),
    };
    let live = lp.count()?;
    let deleted = lp.count()?;
    let field_count = lp.count()?;
    let master_fields = (0..field_count)
        .map(|_| lp.bytes())
        .collect::<Result<Vec<_>>>()?;
    if lp.int()? != 0 {
        return Err(Elements::bad());
    }
    let mut node = StreamNode {
        master,
        entries: Vec::new(),
    };
    while !lp.is_done() {
        node.entries
            .push(decode_entry(&mut lp, master, &master_fields)?);
    }
    let deleted_seen = node.entries.iter().filter(|e| e.deleted).count();
    if deleted_seen != deleted || node.entries.len() - deleted_seen != live {
        return Err(RdbError::Invalid("stream node counts"));
    }
    Ok(node)
}

fn decode_entry(lp: &mut Elements, master: Id, master_fields: &[Vec<u8>]) -> Result<NodeEntry> {
    let flags = lp.int()?;
    // Differences from the master ID, added as Redis does (64-bit wrapping).
    let id = Id::new(
        master.ms.wrapping_add(lp.int()? as u64),
        master.seq.wrapping_add(lp.int()? as u64),
    );
    let mut fields = Vec::new();
    let pieces = if flags & FLAG_SAMEFIELDS != 0 {
        for name in master_fields {
            fields.push((name.clone(), lp.bytes()?));
        }
        fields.len() + 3
    } else {
        let count = lp.count()?;
        for _ in 0..count {
            fields.push((lp.bytes()?, lp.bytes()?));
        }
        2 * count + 4
    };
    if lp.count()? != pieces {
        return Err(Elements::bad());
    }
    Ok(NodeEntry {
        id,
        deleted: flags & FLAG_DELETED != 0,
        fields,
    })
}

// ---- writing ----

/// Appends the body of a `STREAM_LISTPACKS_2` value (the type byte is the caller's).
pub fn encode_stream(out: &mut Vec<u8>, stream: &StreamValue) {
    let nodes: Vec<&StreamNode> = stream
        .nodes
        .iter()
        .filter(|n| !n.entries.is_empty())
        .collect();
    length(out, nodes.len() as u64);
    for node in nodes {
        string(out, &node.master.raw());
        string(out, &encode_node(node));
    }
    length(out, stream.length);
    for id in [stream.last_id, stream.first_id, stream.max_deleted_id] {
        length_id(out, id);
    }
    length(out, stream.entries_added);
    length(out, stream.groups.len() as u64);
    for group in &stream.groups {
        encode_group(out, group);
    }
}

fn length_id(out: &mut Vec<u8>, id: Id) {
    length(out, id.ms);
    length(out, id.seq);
}

fn encode_group(out: &mut Vec<u8>, group: &StreamGroup) {
    string(out, &group.name);
    length_id(out, group.last_id);
    length(
        out,
        match group.entries_read {
            EntriesRead::Known(n) => n,
            EntriesRead::Unknown | EntriesRead::Estimate => ENTRIES_READ_UNKNOWN,
        },
    );
    length(out, group.pending.len() as u64);
    for entry in &group.pending {
        out.extend_from_slice(&entry.id.raw());
        out.extend_from_slice(&entry.delivery_time.to_le_bytes());
        length(out, entry.delivery_count);
    }
    length(out, group.consumers.len() as u64);
    for consumer in &group.consumers {
        string(out, &consumer.name);
        out.extend_from_slice(&consumer.seen_time.to_le_bytes());
        length(out, consumer.pending.len() as u64);
        for id in &consumer.pending {
            out.extend_from_slice(&id.raw());
        }
    }
}

/// A node's listpack, the master entry's fields taken from its first entry (as Redis
/// takes them from the entry that created the node).
fn encode_node(node: &StreamNode) -> Vec<u8> {
    let master_fields: Vec<&[u8]> = node.entries[0]
        .fields
        .iter()
        .map(|(f, _)| f.as_slice())
        .collect();
    let deleted = node.entries.iter().filter(|e| e.deleted).count();
    let mut lp = listpack::Builder::default();
    lp.int((node.entries.len() - deleted) as i64);
    lp.int(deleted as i64);
    lp.int(master_fields.len() as i64);
    for field in &master_fields {
        lp.string(field);
    }
    lp.int(0);
    for entry in &node.entries {
        let same_fields = entry.fields.len() == master_fields.len()
            && entry
                .fields
                .iter()
                .zip(&master_fields)
                .all(|((f, _), m)| f == m);
        let mut flags = if same_fields { FLAG_SAMEFIELDS } else { 0 };
        if entry.deleted {
            flags |= FLAG_DELETED;
        }
        lp.int(flags);
        lp.int(entry.id.ms.wrapping_sub(node.master.ms) as i64);
        lp.int(entry.id.seq.wrapping_sub(node.master.seq) as i64);
        if same_fields {
            for (_, value) in &entry.fields {
                lp.string(value);
            }
            lp.int(entry.fields.len() as i64 + 3);
        } else {
            lp.int(entry.fields.len() as i64);
            for (field, value) in &entry.fields {
                lp.string(field);
                lp.string(value);
            }
            lp.int(2 * entry.fields.len() as i64 + 4);
        }
    }
    lp.finish()
}
