//! Consumer groups of a stream: groups, consumers and pending-entries lists as sub-rows.
//!
//! ```text
//! G ‖ esc(group)                     → Group {last delivered ID, entries read, counts}
//! C ‖ esc(group) ‖ esc(consumer)     → Consumer {seen time, pending count}
//! P ‖ esc(group) ‖ id                → PendingEntry {consumer, delivery time, count}
//! Q ‖ esc(group) ‖ esc(consumer) ‖ id → (empty): the consumer's own PEL, in ID order
//! ```
//!
//! Names are escaped (`encode_bytes_escaped`), so a group's rows never run into another's
//! and groups and consumers list in name order, as Redis's radix trees do. This code only
//! asks the stream whether an entry exists; where entries come from does not matter to it.

use serde::{Deserialize, Serialize};

use super::error::{Result, TypeError};
use super::stream::{decode, encode, Stream, StreamId};
use crate::engine::keys::{decode_bytes_escaped, encode_bytes_escaped};
use crate::engine::Txn;

const GROUP: u8 = b'G';
const CONSUMER: u8 = b'C';
const PENDING: u8 = b'P';
const CONSUMER_PENDING: u8 = b'Q';

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The last ID delivered to the group (`>` reads after it).
    pub last_id: StreamId,
    /// Logical entries read; `None` when it cannot be known (Redis's -1).
    pub entries_read: Option<u64>,
    /// Entries in the group's PEL.
    pub pending: u64,
    /// Number of consumers.
    pub consumers: u64,
}

/// A consumer of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumer {
    /// Last time the consumer was seen (ms).
    pub seen_time: u64,
    /// Entries in its PEL.
    pub pending: u64,
}

/// An entry delivered but not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEntry {
    #[serde(with = "serde_bytes")]
    pub consumer: Vec<u8>,
    pub delivery_time: u64,
    pub delivery_count: u64,
}

fn escaped(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![tag];
    for part in parts {
        encode_bytes_escaped(part, &mut out);
    }
    out
}

fn with_id(mut prefix: Vec<u8>, id: StreamId) -> Vec<u8> {
    prefix.extend_from_slice(&id.to_bytes());
    prefix
}

fn trailing_id(key: &[u8]) -> Result<StreamId> {
    key.len()
        .checked_sub(16)
        .and_then(|at| StreamId::from_bytes(&key[at..]))
        .ok_or(TypeError::Corrupt("stream pending entry"))
}

impl Stream {
    pub fn group(&self, txn: &Txn, name: &[u8]) -> Result<Option<Group>> {
        self.row_get(txn, &escaped(GROUP, &[name]))?
            .map(|raw| decode(&raw, "stream group"))
            .transpose()
    }

    pub fn put_group(&mut self, txn: &mut Txn, name: &[u8], group: &Group) {
        self.row_put(txn, escaped(GROUP, &[name]), encode(group));
    }

    /// Creates a group unless one of that name exists; returns whether it did.
    pub fn create_group(
        &mut self,
        txn: &mut Txn,
        name: &[u8],
        last_id: StreamId,
        entries_read: Option<u64>,
    ) -> Result<bool> {
        if self.group(txn, name)?.is_some() {
            return Ok(false);
        }
        let group = Group {
            last_id,
            entries_read,
            pending: 0,
            consumers: 0,
        };
        self.put_group(txn, name, &group);
        self.info.groups += 1;
        Ok(true)
    }

    /// Deletes a group with its consumers and PEL; returns whether it existed.
    pub fn destroy_group(&mut self, txn: &mut Txn, name: &[u8]) -> Result<bool> {
        if self.group(txn, name)?.is_none() {
            return Ok(false);
        }
        self.row_delete(txn, escaped(GROUP, &[name]));
        for tag in [CONSUMER, PENDING, CONSUMER_PENDING] {
            let rows: Vec<_> = self
                .rows_with_prefix(txn, &escaped(tag, &[name]), false)
                .collect::<Result<_>>()?;
            for (key, _) in rows {
                self.row_delete(txn, key);
            }
        }
        self.info.groups -= 1;
        Ok(true)
    }

    /// All groups in name order.
    pub fn groups(&self, txn: &Txn) -> Result<Vec<(Vec<u8>, Group)>> {
        self.rows_with_prefix(txn, &[GROUP], false)
            .map(|row| {
                let (key, value) = row?;
                let (name, _) =
                    decode_bytes_escaped(&key[1..]).ok_or(TypeError::Corrupt("stream group"))?;
                Ok((name, decode(&value, "stream group")?))
            })
            .collect()
    }

    pub fn consumer(&self, txn: &Txn, group: &[u8], name: &[u8]) -> Result<Option<Consumer>> {
        self.row_get(txn, &escaped(CONSUMER, &[group, name]))?
            .map(|raw| decode(&raw, "stream consumer"))
            .transpose()
    }

    fn put_consumer(&mut self, txn: &mut Txn, group: &[u8], name: &[u8], consumer: &Consumer) {
        self.row_put(txn, escaped(CONSUMER, &[group, name]), encode(consumer));
    }

    /// Looks a consumer up, creating it if absent, and marks it seen at `now` (Redis's
    /// `streamLookupConsumer` + `streamCreateConsumer`). Returns whether it was created.
    pub fn touch_consumer(
        &mut self,
        txn: &mut Txn,
        gname: &[u8],
        group: &mut Group,
        name: &[u8],
        now: u64,
    ) -> Result<bool> {
        let (mut consumer, created) = match self.consumer(txn, gname, name)? {
            Some(c) => (c, false),
            None => {
                group.consumers += 1;
                (
                    Consumer {
                        seen_time: now,
                        pending: 0,
                    },
                    true,
                )
            }
        };
        consumer.seen_time = now;
        self.put_consumer(txn, gname, name, &consumer);
        if created {
            // Every command that creates a consumer (XGROUP CREATECONSUMER, XREADGROUP,
            // XCLAIM, XAUTOCLAIM) raises this event in Redis.
            txn.notify('t', "xgroup-createconsumer", self.key());
        }
        Ok(created)
    }

    /// Adds a consumer of a restored group, seen at `seen_time`, without the event a
    /// command raises (Redis's loader creates consumers silently too). The consumer must
    /// not exist yet.
    pub fn restore_consumer(
        &mut self,
        txn: &mut Txn,
        gname: &[u8],
        group: &mut Group,
        name: &[u8],
        seen_time: u64,
    ) {
        group.consumers += 1;
        let consumer = Consumer {
            seen_time,
            pending: 0,
        };
        self.put_consumer(txn, gname, name, &consumer);
    }

    /// Creates a consumer if absent (XGROUP CREATECONSUMER); returns whether it did.
    pub fn create_consumer(
        &mut self,
        txn: &mut Txn,
        gname: &[u8],
        group: &mut Group,
        name: &[u8],
        now: u64,
    ) -> Result<bool> {
        if self.consumer(txn, gname, name)?.is_some() {
            return Ok(false);
        }
        self.touch_consumer(txn, gname, group, name, now)
    }

    /// Deletes a consumer and its pending entries; returns how many it had pending, or
    /// `None` if there was no such consumer.
    pub fn delete_consumer(
        &mut self,
        txn: &mut Txn,
        gname: &[u8],
        group: &mut Group,
        name: &[u8],
    ) -> Result<Option<u64>> {
        let Some(consumer) = self.consumer(txn, gname, name)? else {
            return Ok(None);
        };
        let own: Vec<_> = self
            .rows_with_prefix(txn, &escaped(CONSUMER_PENDING, &[gname, name]), false)
            .collect::<Result<_>>()?;
        for (key, _) in own {
            let id = trailing_id(&key)?;
            self.row_delete(txn, key);
            self.row_delete(txn, with_id(escaped(PENDING, &[gname]), id));
            group.pending -= 1;
        }
        self.row_delete(txn, escaped(CONSUMER, &[gname, name]));
        group.consumers -= 1;
        Ok(Some(consumer.pending))
    }

    /// The group's consumers in name order.
    pub fn consumers(&self, txn: &Txn, gname: &[u8]) -> Result<Vec<(Vec<u8>, Consumer)>> {
        let prefix = escaped(CONSUMER, &[gname]);
        self.rows_with_prefix(txn, &prefix, false)
            .map(|row| {
                let (key, value) = row?;
                let (name, _) = decode_bytes_escaped(&key[prefix.len()..])
                    .ok_or(TypeError::Corrupt("stream consumer"))?;
                Ok((name, decode(&value, "stream consumer")?))
            })
            .collect()
    }

    pub fn pending_entry(
        &self,
        txn: &Txn,
        gname: &[u8],
        id: StreamId,
    ) -> Result<Option<PendingEntry>> {
        self.row_get(txn, &with_id(escaped(PENDING, &[gname]), id))?
            .map(|raw| decode(&raw, "stream pending entry"))
            .transpose()
    }

    /// Visits pending entries of the group (or of one consumer) with
    /// `start <= id <= end` in ID order, while `visit` returns `true`.
    pub fn visit_pending(
        &self,
        txn: &Txn,
        gname: &[u8],
        consumer: Option<&[u8]>,
        start: StreamId,
        end: StreamId,
        mut visit: impl FnMut(StreamId, PendingEntry) -> Result<bool>,
    ) -> Result<()> {
        use std::ops::Bound::Included;
        if start > end {
            return Ok(());
        }
        let prefix = match consumer {
            Some(name) => escaped(CONSUMER_PENDING, &[gname, name]),
            None => escaped(PENDING, &[gname]),
        };
        let rows = self.rows(
            txn,
            Included(with_id(prefix.clone(), start)),
            Included(with_id(prefix, end)),
            false,
        );
        for row in rows {
            let (key, value) = row?;
            let id = trailing_id(&key)?;
            let entry = if consumer.is_some() {
                self.pending_entry(txn, gname, id)?
                    .ok_or(TypeError::Corrupt("stream consumer pending entry"))?
            } else {
                decode(&value, "stream pending entry")?
            };
            if !visit(id, entry)? {
                break;
            }
        }
        Ok(())
    }

    /// Makes `entry.consumer` the owner of pending entry `id` with the entry's delivery
    /// time and count, creating it if absent (XREADGROUP `>`, XCLAIM, XAUTOCLAIM). The
    /// consumer must exist.
    pub fn assign_pending(
        &mut self,
        txn: &mut Txn,
        gname: &[u8],
        group: &mut Group,
        id: StreamId,
        entry: PendingEntry,
    ) -> Result<()> {
        let consumer = entry.consumer.as_slice();
        match self.pending_entry(txn, gname, id)? {
            Some(old) if old.consumer == consumer => {}
            Some(old) => {
                self.move_own_pending(txn, gname, &old.consumer, id, -1)?;
                self.move_own_pending(txn, gname, consumer, id, 1)?;
            }
            None => {
                group.pending += 1;
                self.move_own_pending(txn, gname, consumer, id, 1)?;
            }
        }
        self.row_put(txn, with_id(escaped(PENDING, &[gname]), id), encode(&entry));
        Ok(())
    }

    /// Updates delivery time and count of a pending entry whose owner stays.
    pub fn redeliver(&mut self, txn: &mut Txn, gname: &[u8], id: StreamId, entry: &PendingEntry) {
        self.row_put(txn, with_id(escaped(PENDING, &[gname]), id), encode(entry));
    }

    /// Acknowledges `id`: removes it from the group's and its consumer's PEL. Returns
    /// whether it was pending.
    pub fn ack(
        &mut self,
        txn: &mut Txn,
        gname: &[u8],
        group: &mut Group,
        id: StreamId,
    ) -> Result<bool> {
        let Some(entry) = self.pending_entry(txn, gname, id)? else {
            return Ok(false);
        };
        self.row_delete(txn, with_id(escaped(PENDING, &[gname]), id));
        self.move_own_pending(txn, gname, &entry.consumer, id, -1)?;
        group.pending -= 1;
        Ok(true)
    }

    /// Adds (`+1`) or removes (`-1`) `id` in a consumer's own PEL, keeping its count.
    fn move_own_pending(
        &mut self,
        txn: &mut Txn,
        gname: &[u8],
        name: &[u8],
        id: StreamId,
        delta: i64,
    ) -> Result<()> {
        let key = with_id(escaped(CONSUMER_PENDING, &[gname, name]), id);
        if delta > 0 {
            self.row_put(txn, key, Vec::new());
        } else {
            self.row_delete(txn, key);
        }
        if let Some(mut consumer) = self.consumer(txn, gname, name)? {
            consumer.pending = consumer.pending.saturating_add_signed(delta);
            self.put_consumer(txn, gname, name, &consumer);
        }
        Ok(())
    }
}
