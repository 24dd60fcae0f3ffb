//! Stream read commands over the durable change logs (`__stream__:<name>` keys):
//! XRANGE, XREVRANGE, XREAD [COUNT] [BLOCK], XLEN, XINFO STREAM.
//!
//! Change logs are written by the server (table change records, keyspace events), never by
//! clients, so XADD/XDEL/XTRIM are not offered.

use bytes::Bytes;
use redyn_protocol::args::eq_ignore_case;
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::{CmdResult, CommandSpec, Ctx, Flag, ONE_KEY};
use crate::stream::changelog::{Entry, StreamId, STREAM_KEY_PREFIX};
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("xrange", -4, &[ReadOnly], ONE_KEY, "stream", "5.0.0", "Returns the messages from a stream within a range of IDs.", xrange),
    CommandSpec::new("xrevrange", -4, &[ReadOnly], ONE_KEY, "stream", "5.0.0", "Returns the messages from a stream within a range of IDs in reverse order.", xrange),
    CommandSpec::new("xread", -4, &[ReadOnly, Blocking], (0, 0, 0), "stream", "5.0.0", "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.", xread),
    CommandSpec::new("xlen", 2, &[ReadOnly, Fast], ONE_KEY, "stream", "5.0.0", "Return the number of messages in a stream.", xlen),
    CommandSpec::new("xinfo", -2, &[ReadOnly], (2, 2, 1), "stream", "5.0.0", "A container for stream introspection commands.", xinfo),
];

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// The change-log name behind a `__stream__:<name>` key, or `None` for other keys.
fn log_name(key: &[u8]) -> Option<&[u8]> {
    key.strip_prefix(STREAM_KEY_PREFIX)
}

/// For keys that are not change logs: WRONGTYPE if the key holds a value, else "empty".
fn not_a_stream(ctx: &mut Ctx, key: &Bytes) -> Result<(), CmdError> {
    let mut txn = ctx.txn_args(std::slice::from_ref(key));
    if txn.exists(key)? {
        return Err(errors::wrong_type());
    }
    Ok(())
}

/// Parses an XRANGE bound: `-`, `+`, `ms`, `ms-seq`, or exclusive `(id`.
fn parse_bound(arg: &[u8], is_start: bool) -> Result<StreamId, CmdError> {
    let invalid = || CmdError::new(INVALID_ID);
    match arg {
        b"-" => Ok(StreamId::MIN),
        b"+" => Ok(StreamId::MAX),
        _ => {
            let (exclusive, text) = match arg.strip_prefix(b"(") {
                Some(rest) => (true, rest),
                None => (false, arg),
            };
            let default_seq = if is_start { 0 } else { u64::MAX };
            let id = StreamId::parse(text, default_seq).ok_or_else(invalid)?;
            if !exclusive {
                return Ok(id);
            }
            let stepped = if is_start { id.next() } else { id.prev() };
            stepped.ok_or_else(|| CmdError::new("ERR invalid start ID for the interval"))
        }
    }
}

fn entry_reply((id, fields): &Entry) -> Reply {
    Reply::Array(vec![
        Reply::text(id.to_string()),
        Reply::Array(
            fields
                .iter()
                .flat_map(|(f, v)| [Reply::Bulk(f.clone()), Reply::Bulk(v.clone())])
                .collect(),
        ),
    ])
}

fn parse_count(arg: &[u8]) -> Result<Option<usize>, CmdError> {
    let n = errors::int_arg(arg)?;
    Ok((n > 0).then_some(n as usize))
}

/// XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n].
fn xrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let rev = eq_ignore_case(&args[0], "xrevrange");
    let (start_arg, end_arg) = if rev {
        (&args[3], &args[2])
    } else {
        (&args[2], &args[3])
    };
    let start = parse_bound(start_arg, true)?;
    let end = parse_bound(end_arg, false)?;
    let count = match args.len() {
        4 => None,
        6 if eq_ignore_case(&args[4], "count") => {
            let n = errors::int_arg(&args[5])?;
            if n <= 0 {
                return Ok(Reply::Array(vec![]));
            }
            Some(n as usize)
        }
        _ => return Err(errors::syntax()),
    };
    let Some(name) = log_name(&args[1]) else {
        not_a_stream(ctx, &args[1])?;
        return Ok(Reply::Array(vec![]));
    };
    let entries = ctx.server.changelog.range(name, start, end, count, rev)?;
    if let Some(newest) = entries.iter().map(|e| e.0).max() {
        ctx.server.changelog.note_read(name, newest)?;
    }
    Ok(Reply::Array(entries.iter().map(entry_reply).collect()))
}

fn xlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(name) = log_name(&args[1]) else {
        not_a_stream(ctx, &args[1])?;
        return Ok(Reply::Int(0));
    };
    Ok(Reply::Int(ctx.server.changelog.info(name)?.0 as i64))
}

fn xinfo(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if !eq_ignore_case(&args[1], "stream") {
        if eq_ignore_case(&args[1], "help") {
            return Ok(Reply::Array(vec![Reply::Simple(
                "XINFO STREAM <key>".into(),
            )]));
        }
        return Err(errors::unknown_subcommand("xinfo", &args[1]));
    }
    if args.len() != 3 {
        return Err(errors::wrong_arity("xinfo|stream"));
    }
    let Some(name) = log_name(&args[2]) else {
        not_a_stream(ctx, &args[2])?;
        return Err(CmdError::new(errors::NO_SUCH_KEY));
    };
    let log = &ctx.server.changelog;
    let (len, last, added) = log.info(name)?;
    let first = log.range(name, StreamId::MIN, StreamId::MAX, Some(1), false)?;
    let newest = log.range(name, StreamId::MIN, StreamId::MAX, Some(1), true)?;
    let field = |k: &str, v: Reply| (Reply::text(k), v);
    let id_text = |id: StreamId| Reply::text(id.to_string());
    Ok(Reply::Map(vec![
        field("length", Reply::Int(len as i64)),
        field("radix-tree-keys", Reply::Int(len.min(1) as i64)),
        field("radix-tree-nodes", Reply::Int(len.min(1) as i64 + 1)),
        field("last-generated-id", id_text(last)),
        field("max-deleted-entry-id", id_text(StreamId::MIN)),
        field("entries-added", Reply::Int(added as i64)),
        field(
            "recorded-first-entry-id",
            id_text(first.first().map_or(StreamId::MIN, |e| e.0)),
        ),
        field("groups", Reply::Int(0)),
        field("first-entry", first.first().map_or(Reply::Nil, entry_reply)),
        field("last-entry", newest.first().map_or(Reply::Nil, entry_reply)),
    ]))
}

/// XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...].
fn xread(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut count = None;
    let mut block = None;
    let mut i = 1;
    while i < args.len() && !eq_ignore_case(&args[i], "streams") {
        match args[i].to_ascii_lowercase().as_slice() {
            b"count" if i + 1 < args.len() => count = parse_count(&args[i + 1])?,
            b"block" if i + 1 < args.len() => {
                let ms = errors::int_arg(&args[i + 1])?;
                if ms < 0 {
                    return Err(CmdError::new("ERR timeout is negative"));
                }
                block = Some(std::time::Duration::from_millis(ms as u64));
            }
            _ => return Err(errors::syntax()),
        }
        i += 2;
    }
    let rest = args.get(i + 1..).unwrap_or(&[]);
    if i >= args.len() || rest.is_empty() || rest.len() % 2 != 0 {
        return Err(CmdError::new("ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified."));
    }
    let (keys, ids) = rest.split_at(rest.len() / 2);
    let starts = resolve_start_ids(ctx, keys, ids)?;
    let mut results = Vec::new();
    for (key, after) in keys.iter().zip(&starts) {
        let Some(name) = log_name(key) else {
            not_a_stream(ctx, key)?;
            continue;
        };
        let Some(from) = after.next() else { continue };
        let entries = ctx
            .server
            .changelog
            .range(name, from, StreamId::MAX, count, false)?;
        if let Some(newest) = entries.last() {
            ctx.server.changelog.note_read(name, newest.0)?;
        }
        if !entries.is_empty() {
            results.push((
                Reply::Bulk(key.clone()),
                Reply::Array(entries.iter().map(entry_reply).collect()),
            ));
        }
    }
    if !results.is_empty() {
        return Ok(if ctx.client.resp == redyn_protocol::RespVersion::Resp3 {
            Reply::Map(results)
        } else {
            Reply::Array(
                results
                    .into_iter()
                    .map(|(k, v)| Reply::Array(vec![k, v]))
                    .collect(),
            )
        });
    }
    match block {
        None => Ok(Reply::NilArray),
        Some(timeout) => {
            // `$` must keep meaning "after the last ID when XREAD was first called" when
            // the command is re-run after a wake-up.
            ctx.client.block_context = Some(Box::new(starts));
            let key_refs: Vec<&[u8]> = keys.iter().map(|k| k.as_ref()).collect();
            let timeout = (!timeout.is_zero()).then_some(timeout);
            ctx.block_on(&key_refs, timeout)
        }
    }
}

/// The ID after which each stream is read: given IDs, or the stream's last ID for `$`
/// (remembered across blocking retries).
fn resolve_start_ids(
    ctx: &mut Ctx,
    keys: &[Bytes],
    ids: &[Bytes],
) -> Result<Vec<StreamId>, CmdError> {
    if let Some(saved) = ctx
        .client
        .block_context
        .take()
        .and_then(|c| c.downcast::<Vec<StreamId>>().ok())
    {
        return Ok(*saved);
    }
    keys.iter()
        .zip(ids)
        .map(|(key, id)| {
            if id.as_ref() == b"$" {
                match log_name(key) {
                    Some(name) => Ok(ctx.server.changelog.info(name)?.1),
                    None => Ok(StreamId::MAX),
                }
            } else {
                StreamId::parse(id, 0).ok_or_else(|| CmdError::new(INVALID_ID))
            }
        })
        .collect()
}
