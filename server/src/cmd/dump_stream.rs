//! Streams to and from the RDB codec's [`StreamValue`] for DUMP, RESTORE and
//! `import-rdb`: entries node by node, the stream's counters, and every consumer group
//! with its consumers and pending entries.
//!
//! redyn keeps only live entries, so a dumped node holds its live entries (its master
//! fields are its first entry's); restoring keeps a node's fill (deleted entries
//! included) so later appends split nodes where Redis would.

use super::errors::CmdError;
use crate::engine::Txn;
use crate::rdb::{self, EntriesRead, StreamConsumer, StreamGroup, StreamNode, StreamValue};
use crate::types::stream::{self as st, Entry, Stream, StreamId, StreamInfo};
use crate::types::stream_group::PendingEntry;
use crate::types::TypeError;

/// Entries per node when the stream has no nodes of its own (a change log): Redis's
/// default `stream-node-max-entries`.
const SOURCE_NODE_ENTRIES: usize = 100;

fn to_rdb(id: StreamId) -> rdb::StreamId {
    rdb::StreamId::new(id.ms, id.seq)
}

fn from_rdb(id: rdb::StreamId) -> StreamId {
    StreamId::new(id.ms, id.seq)
}

/// The whole of `stream` as the codec's value.
pub fn stream_value(txn: &Txn, stream: &Stream) -> Result<StreamValue, CmdError> {
    let info = &stream.info;
    let groups = stream
        .groups(txn)?
        .into_iter()
        .map(|(name, group)| group_value(txn, stream, name, group.last_id, group.entries_read))
        .collect::<Result<_, _>>()?;
    Ok(StreamValue {
        nodes: nodes(txn, stream)?,
        length: stream.len(),
        last_id: to_rdb(info.last_id),
        first_id: to_rdb(info.first_id),
        max_deleted_id: to_rdb(info.max_deleted_id),
        entries_added: info.entries_added,
        groups,
    })
}

fn node_value(master: StreamId, entries: Vec<Entry>) -> StreamNode {
    StreamNode {
        master: to_rdb(master),
        entries: entries
            .into_iter()
            .map(|(id, fields)| rdb::NodeEntry {
                id: to_rdb(id),
                deleted: false,
                fields,
            })
            .collect(),
    }
}

/// The stream's entries grouped by node: its own nodes, or fixed-size chunks for a
/// stream whose entries come from a change log.
fn nodes(txn: &Txn, stream: &Stream) -> Result<Vec<StreamNode>, CmdError> {
    if stream.has_source() {
        let entries = stream.range(txn, StreamId::MIN, StreamId::MAX, false, None)?;
        return Ok(entries
            .chunks(SOURCE_NODE_ENTRIES)
            .map(|chunk| node_value(chunk[0].0, chunk.to_vec()))
            .collect());
    }
    let masters = stream.node_masters(txn)?;
    let mut nodes = Vec::with_capacity(masters.len());
    for (i, master) in masters.iter().enumerate() {
        let end = match masters.get(i + 1) {
            Some(next) => next.prev().unwrap_or(StreamId::MIN),
            None => StreamId::MAX,
        };
        let entries = stream.range(txn, *master, end, false, None)?;
        if !entries.is_empty() {
            nodes.push(node_value(*master, entries));
        }
    }
    Ok(nodes)
}

fn group_value(
    txn: &Txn,
    stream: &Stream,
    name: Vec<u8>,
    last_id: StreamId,
    entries_read: Option<u64>,
) -> Result<StreamGroup, CmdError> {
    let mut pending = Vec::new();
    stream.visit_pending(txn, &name, None, StreamId::MIN, StreamId::MAX, |id, e| {
        pending.push(rdb::PendingEntry {
            id: to_rdb(id),
            delivery_time: e.delivery_time,
            delivery_count: e.delivery_count,
        });
        Ok(true)
    })?;
    let mut consumers = Vec::new();
    for (cname, consumer) in stream.consumers(txn, &name)? {
        let mut own = Vec::new();
        stream.visit_pending(
            txn,
            &name,
            Some(&cname),
            StreamId::MIN,
            StreamId::MAX,
            |id, _| {
                own.push(to_rdb(id));
                Ok(true)
            },
        )?;
        consumers.push(StreamConsumer {
            name: cname,
            seen_time: consumer.seen_time,
            pending: own,
        });
    }
    Ok(StreamGroup {
        name,
        last_id: to_rdb(last_id),
        entries_read: entries_read.map_or(EntriesRead::Unknown, EntriesRead::Known),
        pending,
        consumers,
    })
}

/// Stores a restored stream at `key` (absent or deleted in this transaction). The codec
/// checked its consistency (ascending IDs, counts, owners of pending entries).
pub fn restore_stream(
    txn: &mut Txn,
    key: &[u8],
    value: StreamValue,
    expire_at: u64,
) -> Result<(), TypeError> {
    let mut stream = st::create(txn, key)?;
    for node in &value.nodes {
        let live: Vec<Entry> = node
            .entries
            .iter()
            .filter(|e| !e.deleted)
            .map(|e| (from_rdb(e.id), e.fields.clone()))
            .collect();
        let last = node.entries.last().map_or(node.master, |e| e.id);
        let appended = node.entries.len() as u64;
        stream.restore_node(txn, from_rdb(node.master), &live, appended, from_rdb(last));
    }
    stream.info = StreamInfo {
        last_id: from_rdb(value.last_id),
        entries_added: value.entries_added,
        max_deleted_id: from_rdb(value.max_deleted_id),
        first_id: from_rdb(value.first_id),
        groups: 0,
    };
    for group in &value.groups {
        restore_group(txn, &mut stream, group)?;
    }
    stream.set_expire_at(expire_at);
    stream.store(txn)
}

fn restore_group(txn: &mut Txn, stream: &mut Stream, group: &StreamGroup) -> Result<(), TypeError> {
    let gname = group.name.as_slice();
    let last_id = from_rdb(group.last_id);
    let entries_read = match group.entries_read {
        EntriesRead::Known(n) => Some(n),
        EntriesRead::Unknown => None,
        // As Redis's loader does for payloads that did not record it.
        EntriesRead::Estimate => stream.estimate_entries_read(last_id),
    };
    stream.create_group(txn, gname, last_id, entries_read)?;
    let mut state = stream
        .group(txn, gname)?
        .ok_or(TypeError::Corrupt("stream group"))?;
    for consumer in &group.consumers {
        stream.restore_consumer(txn, gname, &mut state, &consumer.name, consumer.seen_time);
    }
    let owners = StreamValue::owners(group);
    for entry in &group.pending {
        let owner = owners
            .get(&entry.id)
            .ok_or(TypeError::Corrupt("stream pending entry"))?;
        let pending = PendingEntry {
            consumer: owner.to_vec(),
            delivery_time: entry.delivery_time,
            delivery_count: entry.delivery_count,
        };
        stream.assign_pending(txn, gname, &mut state, from_rdb(entry.id), pending)?;
    }
    stream.put_group(txn, gname, &state);
    Ok(())
}
