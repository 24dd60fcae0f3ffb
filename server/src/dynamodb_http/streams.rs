//! DynamoDB Streams (`DynamoDBStreams_20120810.*`) over the tables' durable change logs.
//!
//! A table's change log is one totally ordered sequence, so its stream has one shard that
//! never closes. Sequence numbers are the records' own (`<ms:13><seq:8>`, see
//! `tables::records`); a shard iterator is `<stream arn>|<next change-log id>|<issued ms>`,
//! so it is valid across restarts like the log itself, and expires 15 minutes after it was
//! issued as DynamoDB's do. Retention trims the log's head: a position at or below the newest
//! trimmed record has lost records, and reading from it is a TrimmedDataAccessException.

use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::errors::error;
use super::operations::Req;
use crate::cmd::shared::Server;
use crate::engine::{now_ms, StreamId};
use crate::stream::changelog::Summary;
use crate::tables::iso_time::iso_millis;
use crate::tables::{DdbError, TableDesc};

/// Most records GetRecords returns (DynamoDB's limit).
const MAX_RECORDS: u64 = 1000;
/// How long a shard iterator may be used after GetShardIterator/GetRecords issued it.
const ITERATOR_LIFETIME_MS: u64 = 15 * 60 * 1000;

/// The operations of `DynamoDBStreams_20120810`.
pub const OPERATIONS: &[&str] = &[
    "ListStreams",
    "DescribeStream",
    "GetShardIterator",
    "GetRecords",
];

pub fn run(server: &Server, operation: &str, req: &Req) -> Result<Json, DdbError> {
    match operation {
        "ListStreams" => list_streams(server, req),
        "DescribeStream" => describe_stream(server, req),
        "GetShardIterator" => get_shard_iterator(server, req),
        "GetRecords" => get_records(server, req),
        _ => Err(super::errors::unknown_operation()),
    }
}

/// The table a stream request reads (from its stream ARN or shard iterator), for the ACL
/// check; `None` for ListStreams.
pub fn table_of_request(req: &Req) -> Option<String> {
    let arn = req
        .get("StreamArn")
        .or_else(|| req.get("ShardIterator"))
        .and_then(Json::as_str)?;
    let (_, rest) = arn.split_once(":table/")?;
    Some(
        rest.split_once("/stream/")
            .map_or(rest, |(name, _)| name)
            .to_string(),
    )
}

/// The table whose stream `arn` names, when that stream exists (enabled or not).
fn table_of_arn(server: &Server, arn: &str) -> Result<Arc<TableDesc>, DdbError> {
    let missing = || {
        error(
            "ResourceNotFoundException",
            format!("Requested resource not found: Stream: {arn} not found"),
        )
    };
    let name = arn
        .split_once(":table/")
        .and_then(|(_, rest)| rest.split_once("/stream/"))
        .map(|(name, _)| name)
        .ok_or_else(missing)?;
    let table = server.tables.table(name).map_err(|_| missing())?;
    match table.stream.is_some() && stream_arn(&table) == arn {
        true => Ok(table),
        false => Err(missing()),
    }
}

fn stream_arn(table: &TableDesc) -> String {
    table.stream_arn()
}

/// The stream label DescribeTable reports as `LatestStreamLabel`.
fn label(table: &TableDesc) -> String {
    table.stream_label()
}

fn trimmed_error() -> DdbError {
    error(
        "TrimmedDataAccessException",
        "The data you are trying to access has been trimmed.",
    )
}

/// Whether reading from `position` would skip records retention has deleted.
fn is_trimmed(summary: &Summary, position: StreamId) -> bool {
    summary.trimmed != StreamId::MIN && position <= summary.trimmed
}

fn shard_id(table: &TableDesc) -> String {
    format!("shardId-{:020}-{:08x}", table.created_at as u64, table.id)
}

pub fn sequence_number(id: StreamId) -> String {
    format!("{:013}{:08}", id.ms, id.seq)
}

/// Inverse of [`sequence_number`]: the last eight digits are the sequence.
fn parse_sequence_number(text: &str) -> Option<StreamId> {
    if text.len() < 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (ms, seq) = text.split_at(text.len() - 8);
    Some(StreamId {
        ms: ms.parse().ok()?,
        seq: seq.parse().ok()?,
    })
}

fn required<'a>(req: &'a Req, field: &str, member: &str) -> Result<&'a str, DdbError> {
    req.get(field).and_then(Json::as_str).ok_or_else(|| {
        DdbError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

fn list_streams(server: &Server, req: &Req) -> Result<Json, DdbError> {
    let only = req.get("TableName").and_then(Json::as_str);
    if let Some(name) = only {
        server.tables.table(name)?;
    }
    let limit = req.get("Limit").and_then(Json::as_u64).unwrap_or(100) as usize;
    let start = req.get("ExclusiveStartStreamArn").and_then(Json::as_str);
    let tables: Vec<Arc<TableDesc>> = server.tables.tables.read().values().cloned().collect();
    let streams: Vec<Json> = tables
        .iter()
        .filter(|t| t.stream.is_some() && only.is_none_or(|n| n == t.name))
        .map(|t| json!({"StreamArn": stream_arn(t), "TableName": t.name, "StreamLabel": label(t)}))
        .skip_while(|s| start.is_some_and(|arn| s["StreamArn"] != arn))
        .skip(usize::from(start.is_some()))
        .take(limit + 1)
        .collect();
    let mut out = json!({ "Streams": streams.iter().take(limit).collect::<Vec<_>>() });
    if streams.len() > limit {
        out["LastEvaluatedStreamArn"] = streams[limit - 1]["StreamArn"].clone();
    }
    Ok(out)
}

fn describe_stream(server: &Server, req: &Req) -> Result<Json, DdbError> {
    let arn = required(req, "StreamArn", "streamArn")?;
    let table = table_of_arn(server, arn)?;
    let spec = table.stream.clone().expect("checked by table_of_arn");
    let summary = server.changelog.summary(table.name.as_bytes())?;
    let first = if summary.len == 0 {
        summary.last.next().unwrap_or(summary.last)
    } else {
        summary.first
    };
    let mut schema = vec![json!({"AttributeName": table.hash_key.name, "KeyType": "HASH"})];
    if let Some(range) = &table.range_key {
        schema.push(json!({"AttributeName": range.name, "KeyType": "RANGE"}));
    }
    Ok(json!({ "StreamDescription": {
        "StreamArn": arn,
        "StreamLabel": label(&table),
        "StreamStatus": if spec.enabled { "ENABLED" } else { "DISABLED" },
        "StreamViewType": spec.view_type,
        "CreationRequestDateTime": table.created_at,
        "TableName": table.name,
        "KeySchema": schema,
        "Shards": [{
            "ShardId": shard_id(&table),
            "SequenceNumberRange": {"StartingSequenceNumber": sequence_number(first)},
        }],
    }}))
}

fn get_shard_iterator(server: &Server, req: &Req) -> Result<Json, DdbError> {
    let arn = required(req, "StreamArn", "streamArn")?;
    let shard = required(req, "ShardId", "shardId")?;
    let kind = required(req, "ShardIteratorType", "shardIteratorType")?;
    let table = table_of_arn(server, arn)?;
    if shard != shard_id(&table) {
        return Err(error(
            "ResourceNotFoundException",
            format!("Requested resource not found: Shard does not exist: {shard}"),
        ));
    }
    let sequence = || -> Result<StreamId, DdbError> {
        let text = required(req, "SequenceNumber", "sequenceNumber")?;
        parse_sequence_number(text).ok_or_else(|| {
            DdbError::validation(format!("Invalid SequenceNumber: {text} for shard {shard}"))
        })
    };
    let summary = server.changelog.summary(table.name.as_bytes())?;
    let next = match kind {
        // The oldest record kept: just past what retention deleted.
        "TRIM_HORIZON" => match summary.trimmed {
            StreamId::MIN => StreamId::MIN,
            cut => cut.next().unwrap_or(cut),
        },
        "LATEST" => summary.last.next().unwrap_or(summary.last),
        "AT_SEQUENCE_NUMBER" => sequence()?,
        "AFTER_SEQUENCE_NUMBER" => {
            let id = sequence()?;
            id.next().unwrap_or(id)
        }
        other => return Err(DdbError::validation(format!(
            "1 validation error detected: Value '{other}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
        ))),
    };
    if is_trimmed(&summary, next) {
        return Err(trimmed_error());
    }
    Ok(json!({ "ShardIterator": iterator(arn, next, now_ms()) }))
}

fn iterator(arn: &str, next: StreamId, issued_ms: u64) -> String {
    format!("{arn}|{}-{}|{issued_ms}", next.ms, next.seq)
}

/// (stream ARN, position, issued at ms) of a shard iterator.
fn parse_iterator(text: &str) -> Option<(&str, StreamId, u64)> {
    let (rest, issued) = text.rsplit_once('|')?;
    let (arn, position) = rest.rsplit_once('|')?;
    let (ms, seq) = position.split_once('-')?;
    let id = StreamId {
        ms: ms.parse().ok()?,
        seq: seq.parse().ok()?,
    };
    Some((arn, id, issued.parse().ok()?))
}

/// ExpiredIteratorException once an iterator is older than DynamoDB's 15 minutes.
fn check_fresh(issued_ms: u64) -> Result<(), DdbError> {
    let now = now_ms();
    if now.saturating_sub(issued_ms) <= ITERATOR_LIFETIME_MS {
        return Ok(());
    }
    Err(error(
        "ExpiredIteratorException",
        format!(
            "Shard iterator has expired: it was issued at {} and it is now {}; iterators are valid for 15 minutes, get a new one with GetShardIterator",
            iso_millis(issued_ms as i64),
            iso_millis(now as i64)
        ),
    ))
}

fn get_records(server: &Server, req: &Req) -> Result<Json, DdbError> {
    let text = required(req, "ShardIterator", "shardIterator")?;
    let (arn, from, issued) = parse_iterator(text)
        .ok_or_else(|| DdbError::validation(format!("Invalid ShardIterator: {text}")))?;
    check_fresh(issued)?;
    let limit = match req.get("Limit") {
        None => MAX_RECORDS,
        Some(l) => l.as_u64().filter(|n| (1..=MAX_RECORDS).contains(n)).ok_or_else(|| {
            DdbError::validation("1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000 and greater than or equal to 1")
        })?,
    };
    let table = table_of_arn(server, arn)?;
    let name = table.name.as_bytes();
    if is_trimmed(&server.changelog.summary(name)?, from) {
        return Err(trimmed_error());
    }
    let entries = server
        .changelog
        .range(name, from, StreamId::MAX, Some(limit as usize), false)?;
    let mut next = from;
    let mut records = Vec::with_capacity(entries.len());
    for (id, fields) in &entries {
        let record = fields.iter().find(|(f, _)| &f[..] == b"record");
        if let Some(parsed) = record.and_then(|(_, v)| serde_json::from_slice::<Json>(v).ok()) {
            records.push(parsed);
        }
        next = id.next().unwrap_or(*id);
    }
    if let Some((last, _)) = entries.last() {
        // Feeds the consumer-lag metric, as XREAD of the change log does.
        server.changelog.note_read(name, *last)?;
    }
    Ok(json!({ "Records": records, "NextShardIterator": iterator(arn, next, now_ms()) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_and_iterators_round_trip() {
        let id = StreamId {
            ms: 1_764_420_000_123,
            seq: 7,
        };
        assert_eq!(sequence_number(id), "176442000012300000007");
        assert_eq!(parse_sequence_number(&sequence_number(id)), Some(id));
        assert_eq!(parse_sequence_number("12a"), None);
        let arn = "arn:aws:dynamodb:local:000000000000:table/T/stream/2026-11-29T15:00:00.000";
        assert_eq!(parse_iterator(&iterator(arn, id, 42)), Some((arn, id, 42)));
        // Iterators from before they carried their issue time are not accepted.
        assert_eq!(parse_iterator(&format!("{arn}|1-2")), None);
    }

    #[test]
    fn iterators_expire_after_fifteen_minutes() {
        let now = now_ms();
        assert!(check_fresh(now - ITERATOR_LIFETIME_MS + 1000).is_ok());
        let old = check_fresh(now - ITERATOR_LIFETIME_MS - 1000).unwrap_err();
        assert_eq!(old.kind, "ExpiredIteratorException");
    }

    #[test]
    fn positions_at_or_below_the_cut_are_trimmed() {
        let id = |ms| StreamId { ms, seq: 0 };
        let summary = |trimmed| Summary {
            len: 1,
            first: id(20),
            last: id(20),
            added: 2,
            trimmed,
        };
        assert!(!is_trimmed(&summary(StreamId::MIN), StreamId::MIN));
        assert!(is_trimmed(&summary(id(10)), id(10)));
        assert!(is_trimmed(&summary(id(10)), StreamId::MIN));
        assert!(!is_trimmed(&summary(id(10)), id(10).next().unwrap()));
    }
}
