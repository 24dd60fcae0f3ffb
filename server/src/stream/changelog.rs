//! The durable change log: append-only streams of change records in fjall, readable with
//! the Redis stream commands (XRANGE, XREVRANGE, XREAD [BLOCK], XLEN, XINFO STREAM) on keys
//! `__stream__:<name>`, so a consumer that was down resumes from its last ID.
//!
//! Row key: `name_len(4) ‖ name ‖ ms(8) ‖ seq(8)`; value: postcard field/value pairs behind a
//! format byte. IDs are `<ms>-<seq>` and strictly increasing per stream. An append holds the
//! stream's lock from ID allocation until its batch is committed, so records become visible
//! in ID order: a reader that has seen ID n can never later miss a record below n.
//!
//! Beside its records each stream has a counter row `name_len(4) ‖ name` (it sorts before
//! the records) holding the records ever added and the last ID, written in every append
//! batch. Retention trims records from the head, so without it a restart would lose both:
//! consumer groups count their lag as entries added minus entries read, and IDs must keep
//! increasing past records that aged out.
//!
//! Consumer groups on change logs (XGROUP, XREADGROUP, XACK, XCLAIM, ...) keep their state
//! in the reading database under the key `__stream__:<name>`, as a stream-type metadata row
//! whose entries are this log's records (see `cmd::stream_log`). Retention does not wait for
//! groups: a record older than `changelog-retention` is deleted whether or not a group has
//! delivered or acknowledged it. A group that falls behind by more than the retention
//! period skips the records that aged out without ever seeing them (its lag counts them
//! until it reads past them), and an entry still pending when it ages out comes back as
//! `[id, nil]` from XREADGROUP history reads and is dropped from the PEL (and listed as
//! deleted) by XCLAIM/XAUTOCLAIM, exactly as for an XDEL'd entry of a Redis stream. Watch
//! `redyn_changelog_group_lag` and keep it well below the retention's worth of records.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::engine::keys::{key_slot, meta_key, prefix_successor};
use crate::engine::{now_ms, Engine, EngineError, Family, Result, Rows, Txn, REDIS_DBS};

/// Prefix of the keys under which change logs are readable.
pub const STREAM_KEY_PREFIX: &[u8] = b"__stream__:";

pub use crate::engine::StreamId;

/// A record's field/value pairs as stored.
pub type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// Builds a record's fields once its ID is known.
pub type RecordBuilder<'a> = &'a dyn Fn(StreamId) -> Fields;

/// A record to append in [`ChangeLog::commit_with_records`].
pub struct RecordRequest<'a> {
    pub stream: Vec<u8>,
    /// Slot of the key whose change the record describes (its shard is credited).
    pub slot: u16,
    pub build: RecordBuilder<'a>,
}

/// The slot a stream's own writes (stand-alone appends, trims) are accounted to: that of
/// its readable key `__stream__:<name>`.
fn stream_slot(name: &[u8]) -> u16 {
    let mut key = STREAM_KEY_PREFIX.to_vec();
    key.extend_from_slice(name);
    key_slot(&key)
}

fn encode_fields(fields: &Fields) -> Vec<u8> {
    let mut value = vec![FORMAT_V1];
    value.extend(postcard::to_allocvec(fields).expect("serialising to a Vec cannot fail"));
    value
}

/// One record: its ID and field/value pairs.
pub type Entry = (StreamId, Vec<(Bytes, Bytes)>);

const FORMAT_V1: u8 = 1;

#[derive(Default)]
struct StreamState {
    last: StreamId,
    len: u64,
    /// Records ever appended (trimmed ones included).
    added: u64,
    /// Newest ID retention has deleted (0-0 if none): a reader positioned at or below it
    /// has missed records (DynamoDB Streams' TrimmedDataAccessException).
    trimmed: StreamId,
    loaded: bool,
    /// Newest ID any reader has been given (for the consumer-lag metric).
    read_up_to: StreamId,
}

pub struct ChangeLog {
    engine: Arc<Engine>,
    ks: Rows,
    streams: Mutex<HashMap<Bytes, Arc<Mutex<StreamState>>>>,
    /// Records older than this are trimmed (ms); 0 = keep forever.
    pub retention_ms: AtomicU64,
    pub records_appended: AtomicU64,
}

fn row_prefix(name: &[u8]) -> Vec<u8> {
    let mut row = Vec::with_capacity(4 + name.len() + 16);
    row.extend_from_slice(&(name.len() as u32).to_be_bytes());
    row.extend_from_slice(name);
    row
}

fn row_key(name: &[u8], id: StreamId) -> Vec<u8> {
    let mut row = row_prefix(name);
    row.extend_from_slice(&id.ms.to_be_bytes());
    row.extend_from_slice(&id.seq.to_be_bytes());
    row
}

/// The counter row's value: records ever added, the last ID, then the newest trimmed ID.
fn encode_counter(st: &StreamState) -> Vec<u8> {
    let mut value = st.added.to_be_bytes().to_vec();
    value.extend_from_slice(&st.last.to_bytes());
    value.extend_from_slice(&st.trimmed.to_bytes());
    value
}

/// (added, last, trimmed) of a counter row; rows written before the trimmed ID was kept
/// end after the last ID and read as "nothing trimmed".
fn decode_counter(value: &[u8]) -> Result<(u64, StreamId, StreamId)> {
    let corrupt = || EngineError::Corrupt("change log counter row".into());
    let added = u64::from_be_bytes(value.get(..8).ok_or_else(corrupt)?.try_into().expect("8"));
    let id_len = StreamId::MIN.to_bytes().len();
    let id_at = |at: usize| value.get(at..at + id_len).and_then(StreamId::from_bytes);
    let last = id_at(8).ok_or_else(corrupt)?;
    let trimmed = match value.len() > 8 + id_len {
        true => id_at(8 + id_len).ok_or_else(corrupt)?,
        false => StreamId::MIN,
    };
    Ok((added, last, trimmed))
}

/// What XLEN/XINFO and consumer groups need to know about a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Records kept.
    pub len: u64,
    /// Oldest record kept (0-0 when none).
    pub first: StreamId,
    /// Last ID ever given.
    pub last: StreamId,
    /// Records ever appended.
    pub added: u64,
    /// Newest ID deleted by retention (0-0 when none was).
    pub trimmed: StreamId,
}

fn decode_row(prefix_len: usize, key: &[u8], value: &[u8]) -> Result<Entry> {
    let id_bytes = &key[prefix_len..];
    let id = StreamId {
        ms: u64::from_be_bytes(id_bytes[..8].try_into().expect("8 bytes")),
        seq: u64::from_be_bytes(id_bytes[8..16].try_into().expect("8 bytes")),
    };
    let fields: Vec<(Vec<u8>, Vec<u8>)> = match value.split_first() {
        Some((&FORMAT_V1, body)) => {
            postcard::from_bytes(body).map_err(|e| EngineError::Corrupt(e.to_string()))?
        }
        _ => return Err(EngineError::Corrupt("unknown change record format".into())),
    };
    Ok((
        id,
        fields
            .into_iter()
            .map(|(f, v)| (Bytes::from(f), Bytes::from(v)))
            .collect(),
    ))
}

impl ChangeLog {
    pub fn open(engine: Arc<Engine>) -> Result<ChangeLog> {
        let ks = engine.rows(Family::ChangeLog);
        Ok(ChangeLog {
            engine,
            ks,
            streams: Mutex::new(HashMap::new()),
            retention_ms: AtomicU64::new(24 * 3600 * 1000),
            records_appended: AtomicU64::new(0),
        })
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    fn state(&self, name: &[u8]) -> Result<Arc<Mutex<StreamState>>> {
        let state = {
            let mut streams = self.streams.lock();
            match streams.get(name) {
                Some(state) => state.clone(),
                None => streams
                    .entry(Bytes::copy_from_slice(name))
                    .or_default()
                    .clone(),
            }
        };
        {
            let mut st = state.lock();
            if !st.loaded {
                // First use since start: recover length, last ID and count from disk.
                let prefix = row_prefix(name);
                let records = |reverse| {
                    self.ks.range(
                        row_key(name, StreamId::MIN)..=row_key(name, StreamId::MAX),
                        reverse,
                    )
                };
                st.len = records(false).count() as u64;
                st.last = StreamId::MIN;
                if let Some(last) = records(true).next() {
                    let (k, v) = last.into_inner()?;
                    st.last = decode_row(prefix.len(), &k, &v)?.0;
                }
                st.added = st.len;
                if let Some(counter) = self.ks.get(&prefix)? {
                    let (added, last, trimmed) = decode_counter(&counter)?;
                    st.added = st.added.max(added);
                    st.last = st.last.max(last);
                    st.trimmed = trimmed;
                }
                st.loaded = true;
            }
        }
        Ok(state)
    }

    /// Appends a record to stream `name` on its own (keyspace-event logs). Returns its ID.
    pub fn append(&self, name: &[u8], fields: &[(&[u8], &[u8])]) -> Result<StreamId> {
        let owned: Fields = fields
            .iter()
            .map(|(f, v)| (f.to_vec(), v.to_vec()))
            .collect();
        let request = RecordRequest {
            stream: name.to_vec(),
            slot: stream_slot(name),
            build: &|_| owned.clone(),
        };
        // Change-log rows belong to no shard: the stream's own lock orders them.
        let built =
            self.commit_with_records(std::slice::from_ref(&request), self.engine.unsharded_txn())?;
        Ok(built[0].0)
    }

    /// Appends records to several streams and commits them in `batch` together with
    /// whatever else it holds (item writes), atomically. Stream locks are taken in name order
    /// and held until the batch is committed, so IDs become visible in order.
    /// Each record is built by a closure from the ID it gets (records carry their sequence
    /// number); the IDs and built records are returned for publishing.
    pub fn commit_with_records(
        &self,
        records: &[RecordRequest<'_>],
        mut txn: Txn<'_>,
    ) -> Result<Vec<(StreamId, Fields)>> {
        let mut names: Vec<&[u8]> = records.iter().map(|r| r.stream.as_slice()).collect();
        names.sort();
        names.dedup();
        let states = names
            .iter()
            .map(|n| Ok((n.to_vec(), self.state(n)?)))
            .collect::<Result<Vec<_>>>()?;
        let mut guards: Vec<(Vec<u8>, parking_lot::MutexGuard<'_, StreamState>)> =
            states.iter().map(|(n, s)| (n.clone(), s.lock())).collect();
        let now = now_ms();
        let mut built = Vec::with_capacity(records.len());
        for request in records {
            let name = &request.stream;
            let st = &mut guards
                .iter_mut()
                .find(|(n, _)| n == name)
                .expect("locked")
                .1;
            let id = if now > st.last.ms {
                StreamId { ms: now, seq: 0 }
            } else {
                st.last.next().expect("stream IDs exhausted")
            };
            st.last = id;
            st.len += 1;
            st.added += 1;
            let fields = (request.build)(id);
            let row = row_key(name, id);
            txn.row_write(
                Family::ChangeLog,
                0,
                request.slot,
                row,
                Some(encode_fields(&fields)),
            )?;
            built.push((id, fields));
        }
        for (name, st) in &guards {
            let counter = encode_counter(st);
            txn.row_write(
                Family::ChangeLog,
                0,
                stream_slot(name),
                row_prefix(name),
                Some(counter),
            )?;
        }
        if let Err(e) = txn.commit() {
            // Nothing was written: give the IDs back by reloading the states from disk.
            for (_, st) in guards.iter_mut() {
                st.loaded = false;
            }
            return Err(e);
        }
        drop(guards);
        self.records_appended
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        for name in names {
            self.wake_readers(name);
        }
        Ok(built)
    }

    /// Wakes XREAD BLOCK readers of `__stream__:<name>` in every db.
    fn wake_readers(&self, name: &[u8]) {
        // Nobody blocks on any key: skip building 16 signal keys per record.
        if !self.engine.signals.active() {
            return;
        }
        let mut key = STREAM_KEY_PREFIX.to_vec();
        key.extend_from_slice(name);
        for db in 0..REDIS_DBS {
            self.engine.signals.touch(&meta_key(db, &key));
        }
    }

    /// Records with `start <= id <= end`, oldest first (or newest first with `rev`).
    pub fn range(
        &self,
        name: &[u8],
        start: StreamId,
        end: StreamId,
        count: Option<usize>,
        rev: bool,
    ) -> Result<Vec<Entry>> {
        if start > end {
            return Ok(Vec::new());
        }
        let prefix_len = row_prefix(name).len();
        let rows = self
            .ks
            .range(row_key(name, start)..=row_key(name, end), rev);
        let limit = count.unwrap_or(usize::MAX);
        rows.take(limit)
            .map(|g| {
                let (k, v) = g.into_inner()?;
                decode_row(prefix_len, &k, &v)
            })
            .collect()
    }

    /// Number of records with `start <= id <= end` (keys only).
    pub fn count(&self, name: &[u8], start: StreamId, end: StreamId) -> Result<u64> {
        if start > end {
            return Ok(0);
        }
        let mut n = 0;
        for guard in self
            .ks
            .range(row_key(name, start)..=row_key(name, end), false)
        {
            guard.key()?;
            n += 1;
        }
        Ok(n)
    }

    /// The record with ID `id`, if kept.
    pub fn get(&self, name: &[u8], id: StreamId) -> Result<Option<Entry>> {
        let prefix_len = row_prefix(name).len();
        let key = row_key(name, id);
        self.ks
            .get(&key)?
            .map(|value| decode_row(prefix_len, &key, &value))
            .transpose()
    }

    /// Names of the streams in use (all that have records once `load_all_names` ran).
    pub fn names(&self) -> Vec<Bytes> {
        self.streams.lock().keys().cloned().collect()
    }

    /// Notes that a reader has received records up to `id` (XREAD/XRANGE).
    pub fn note_read(&self, name: &[u8], id: StreamId) -> Result<()> {
        let state = self.state(name)?;
        let mut st = state.lock();
        st.read_up_to = st.read_up_to.max(id);
        Ok(())
    }

    /// Per stream: (name, records, consumer lag in seconds). The lag is the age of the
    /// oldest record no reader has received yet (0 when readers are caught up).
    pub fn lag_report(&self) -> Vec<(Bytes, u64, f64)> {
        let streams: Vec<(Bytes, Arc<Mutex<StreamState>>)> = self
            .streams
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let now = now_ms();
        streams
            .into_iter()
            .map(|(name, state)| {
                let (len, last, read_up_to) = {
                    let st = state.lock();
                    (st.len, st.last, st.read_up_to)
                };
                let oldest_unread = match read_up_to.next() {
                    Some(from) if read_up_to < last => self
                        .range(&name, from, StreamId::MAX, Some(1), false)
                        .ok()
                        .and_then(|e| e.first().map(|(id, _)| id.ms)),
                    _ => None,
                };
                let lag = oldest_unread.map_or(0.0, |ms| now.saturating_sub(ms) as f64 / 1000.0);
                (name, len, lag)
            })
            .collect()
    }

    /// Length, first and last IDs, and records ever added. Taken under the stream's lock,
    /// so no append is half done: every record up to `last` is readable.
    pub fn summary(&self, name: &[u8]) -> Result<Summary> {
        let state = self.state(name)?;
        let st = state.lock();
        let first = match st.len {
            0 => StreamId::MIN,
            _ => self
                .range(name, StreamId::MIN, StreamId::MAX, Some(1), false)?
                .first()
                .map_or(StreamId::MIN, |e| e.0),
        };
        Ok(Summary {
            len: st.len,
            first,
            last: st.last,
            added: st.added,
            trimmed: st.trimmed,
        })
    }

    /// Deletes records older than the retention period; returns how many.
    pub fn trim_expired(&self) -> Result<u64> {
        let retention = self.retention_ms.load(Ordering::Relaxed);
        if retention == 0 {
            return Ok(0);
        }
        let cutoff = now_ms().saturating_sub(retention);
        let names: Vec<Bytes> = self.streams.lock().keys().cloned().collect();
        let mut removed = 0;
        for name in names {
            let state = self.state(&name)?;
            let mut st = state.lock();
            let lower = row_key(&name, StreamId::MIN);
            let upper = row_key(&name, StreamId { ms: cutoff, seq: 0 });
            let mut txn = self.engine.unsharded_txn();
            let slot = stream_slot(&name);
            let mut n = 0;
            let mut newest = None;
            for guard in self.ks.range(lower..upper, false) {
                let key = guard.key()?;
                newest = Some(key.to_vec());
                txn.row_write(Family::ChangeLog, 0, slot, key.to_vec(), None)?;
                n += 1;
            }
            if let Some(key) = newest {
                // Remember how far the head was cut, in the same batch, so stream readers
                // can tell "records were lost" from "no records were written".
                let before = st.trimmed;
                st.trimmed = StreamId::from_bytes(&key[key.len() - 16..]).unwrap_or(before);
                let counter = encode_counter(&st);
                txn.row_write(Family::ChangeLog, 0, slot, row_prefix(&name), Some(counter))?;
                if let Err(e) = txn.commit() {
                    st.trimmed = before;
                    return Err(e);
                }
                st.len -= n;
                removed += n;
            }
        }
        Ok(removed)
    }

    /// Names of all streams that have records (loaded or not).
    pub fn load_all_names(&self) -> Result<Vec<Bytes>> {
        let mut names = Vec::new();
        let mut from: Vec<u8> = Vec::new();
        while let Some(guard) = self.ks.range(from.clone().., false).next() {
            let key = guard.key()?;
            let len = u32::from_be_bytes(key[..4].try_into().expect("4 bytes")) as usize;
            let name = &key[4..4 + len];
            names.push(Bytes::copy_from_slice(name));
            match prefix_successor(&row_prefix(name)) {
                Some(next) => from = next,
                None => break,
            }
        }
        for name in &names {
            self.state(name)?;
        }
        Ok(names)
    }
}
