//! The change logs behind `__stream__:<name>` keys as streams: every stream command loads
//! the stream at a key through [`load`], which for a change-log key gives a stream whose
//! entries are the log's records (read through [`LogEntries`]) and whose consumer-group
//! state is stored under the key in the client's database like any stream's. So XRANGE,
//! XREAD, XINFO and the group commands share one code path for both kinds of stream.
//!
//! This lives in the command layer because it joins two layers that may not know each
//! other: the stream type (`types::stream`) and the change log (`stream::changelog`).

use std::sync::Arc;

use bytes::Bytes;

use super::errors::CmdError;
use super::shared::Server;
use super::Ctx;
use crate::engine::{Locks, Txn, REDIS_DBS};
use crate::stream::changelog::{ChangeLog, STREAM_KEY_PREFIX};
use crate::types::stream::StreamId;
use crate::types::stream::{self as st, Entry, EntrySource, Fields, SourceSummary, Stream};
use crate::types::stream_group::Group;
use crate::types::TypeError;

/// The change-log name behind a `__stream__:<name>` key, or `None` for other keys.
pub fn log_name(key: &[u8]) -> Option<&[u8]> {
    key.strip_prefix(STREAM_KEY_PREFIX)
}

/// One change log's records as a stream's entries.
pub struct LogEntries {
    log: Arc<ChangeLog>,
    name: Bytes,
}

impl EntrySource for LogEntries {
    fn range(
        &self,
        start: StreamId,
        end: StreamId,
        reverse: bool,
        count: Option<usize>,
    ) -> Result<Vec<Entry>, TypeError> {
        let records = self.log.range(&self.name, start, end, count, reverse)?;
        if let Some(newest) = records.iter().map(|(id, _)| *id).max() {
            // Feeds the consumer-lag-in-seconds gauge of plain readers.
            self.log.note_read(&self.name, newest)?;
        }
        Ok(records.into_iter().map(owned_entry).collect())
    }

    fn get(&self, id: StreamId) -> Result<Option<Fields>, TypeError> {
        Ok(self
            .log
            .get(&self.name, id)?
            .map(|entry| owned_entry(entry).1))
    }

    fn count(&self, start: StreamId, end: StreamId) -> Result<u64, TypeError> {
        Ok(self.log.count(&self.name, start, end)?)
    }
}

fn owned_entry((id, fields): (StreamId, Vec<(Bytes, Bytes)>)) -> Entry {
    let fields = fields
        .into_iter()
        .map(|(f, v)| (f.to_vec(), v.to_vec()))
        .collect();
    (id, fields)
}

/// The stream at `key`: a change log's (always there) or a client-written one (`None` if
/// absent); WRONGTYPE for other types.
pub fn load(log: &Arc<ChangeLog>, txn: &mut Txn, key: &[u8]) -> Result<Option<Stream>, TypeError> {
    let Some(name) = log_name(key) else {
        return st::load(txn, key);
    };
    let summary = log.summary(name)?;
    let source = Arc::new(LogEntries {
        log: log.clone(),
        name: Bytes::copy_from_slice(name),
    });
    let summary = SourceSummary {
        len: summary.len,
        first_id: summary.first,
        last_id: summary.last,
        entries_added: summary.added,
    };
    st::load_with_source(txn, key, source, summary).map(Some)
}

/// Closes the gap a blocking read of a change log would otherwise have. For a client
/// stream the transaction that found nothing new holds the key's lock until the wake-up
/// signal is registered, so no write slips in between; change-log appends do not take key
/// locks, so a record appended after the look but before the registration would go
/// unnoticed. Once registered, look again: if a log moved past `seen_last` (its last ID
/// at the look, per key), wake the client at once so it retries.
pub fn wake_if_log_moved(
    ctx: &mut Ctx,
    keys: &[Bytes],
    seen_last: &[Option<StreamId>],
) -> Result<(), CmdError> {
    let log = ctx.server.changelog.clone();
    let Some(block) = ctx.client.blocked.as_mut() else {
        return Ok(());
    };
    let watched = keys.iter().zip(seen_last).zip(block.signals.iter_mut());
    for ((key, seen), (_, signal)) in watched {
        let (Some(name), Some(seen)) = (log_name(key), seen) else {
            continue;
        };
        if log.summary(name)?.last > *seen {
            signal.mark_changed();
        }
    }
    Ok(())
}

/// One consumer group of a change log, for the metrics sampler.
pub struct GroupLag {
    pub log: String,
    pub db: u32,
    pub group: String,
    /// Records not yet delivered to the group (Redis's XINFO GROUPS `lag`).
    pub lag: u64,
    /// Records delivered and not acknowledged.
    pub pending: u64,
}

/// Every consumer group of every change log, in every database.
pub fn group_lags(server: &Server) -> Result<Vec<GroupLag>, CmdError> {
    let log = &server.changelog;
    let mut out = Vec::new();
    for name in log.names() {
        let mut key = STREAM_KEY_PREFIX.to_vec();
        key.extend_from_slice(&name);
        for db in 0..REDIS_DBS {
            let mut txn = server.engine.txn(Locks::Take, db, &[&key]);
            let stream = match load(log, &mut txn, &key) {
                Ok(Some(stream)) if stream.info.groups > 0 => stream,
                _ => continue,
            };
            for (gname, group) in stream.groups(&txn)? {
                out.push(GroupLag {
                    log: String::from_utf8_lossy(&name).into_owned(),
                    db,
                    group: String::from_utf8_lossy(&gname).into_owned(),
                    lag: group_lag(&stream, &group).unwrap_or(0),
                    pending: group.pending,
                });
            }
        }
    }
    Ok(out)
}

/// Redis's consumer-group lag: entries added minus entries read, when knowable.
pub fn group_lag(stream: &Stream, group: &Group) -> Option<u64> {
    if stream.info.entries_added == 0 {
        return Some(0);
    }
    let read = match group.entries_read {
        Some(n) if !stream.has_tombstones_from(group.last_id) => Some(n),
        _ => stream.estimate_entries_read(group.last_id),
    }?;
    Some(stream.info.entries_added.saturating_sub(read))
}
