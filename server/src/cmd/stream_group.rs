//! Consumer-group commands: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, and the
//! XINFO STREAM/GROUPS/CONSUMERS replies.
//!
//! Groups work alike on client-written streams and on the change logs behind
//! `__stream__:` keys (whose entries come from the log, see `stream_log`): a change log
//! consumed by a group gives at-least-once processing of table changes.

use bytes::Bytes;
use redyn_protocol::args::eq_ignore_case;
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::stream::{
    entry_reply, field, id_reply, is_retry, load, parse_bound, parse_read_args, parse_strict_id,
    streams_reply,
};
use super::stream_log::{self, group_lag, wake_if_log_moved};
use super::{CmdResult, CommandSpec, Ctx, Flag, ONE_KEY};
use crate::engine::Txn;
use crate::types::stream::{Stream, StreamId};
use crate::types::stream_group::{Group, PendingEntry};
use crate::types::TypeError;
use Flag::*;

#[rustfmt::skip]
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("xgroup", -2, &[Write], (2, 2, 1), "stream", "5.0.0", "A container for consumer groups commands.", xgroup),
    CommandSpec::new("xreadgroup", -7, &[Write, Blocking], (0, 0, 0), "stream", "5.0.0", "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.", xreadgroup),
    CommandSpec::new("xack", -4, &[Write, Fast], ONE_KEY, "stream", "5.0.0", "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.", xack),
    CommandSpec::new("xpending", -3, &[ReadOnly], ONE_KEY, "stream", "5.0.0", "Returns the information and entries from a stream consumer group's pending entries list.", xpending),
    CommandSpec::new("xclaim", -6, &[Write, Fast], ONE_KEY, "stream", "5.0.0", "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.", xclaim),
    CommandSpec::new("xautoclaim", -6, &[Write, Fast], ONE_KEY, "stream", "6.2.0", "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.", xautoclaim),
];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn no_group(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::new(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        text(key),
        text(group)
    ))
}

/// The stream and group a command works on, with Redis's NOGROUP error if either is missing.
fn load_group(
    ctx: &Ctx,
    txn: &mut Txn,
    key: &[u8],
    gname: &[u8],
) -> Result<(Stream, Group), CmdError> {
    let Some(stream) = load(ctx, txn, key)? else {
        return Err(no_group(key, gname));
    };
    match stream.group(txn, gname)? {
        Some(group) => Ok((stream, group)),
        None => Err(no_group(key, gname)),
    }
}

/// Parses an ID argument that may be `$` (the stream's last ID).
fn parse_id_or_last(arg: &[u8], stream: Option<&Stream>) -> Result<StreamId, CmdError> {
    if arg == b"$" {
        return Ok(stream.map_or(StreamId::MIN, |s| s.info.last_id));
    }
    parse_strict_id(arg)
}

/// A new or moved group's read counter: as given (ENTRIESREAD), else unknown for a client
/// stream as in Redis, but exact for a change log, which can count (its lag metric then
/// holds from the first read on).
fn known_entries_read(
    stream: &Stream,
    id: StreamId,
    given: Option<u64>,
) -> Result<Option<u64>, CmdError> {
    if given.is_some() || !stream.has_source() {
        return Ok(given);
    }
    Ok(stream.entries_read_at(id)?)
}

fn parse_entries_read(arg: &[u8]) -> Result<Option<u64>, CmdError> {
    match errors::int_arg(arg)? {
        -1 => Ok(None),
        n if n >= 0 => Ok(Some(n as u64)),
        _ => Err(CmdError::new(
            "ERR value for ENTRIESREAD must be positive or -1",
        )),
    }
}

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

/// XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP.
fn xgroup(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    let arity_ok = match sub.as_slice() {
        b"help" => args.len() == 2,
        b"create" | b"setid" => args.len() >= 5,
        b"destroy" => args.len() == 4,
        b"createconsumer" | b"delconsumer" => args.len() == 5,
        _ => return Err(errors::unknown_subcommand("xgroup", &args[1])),
    };
    if !arity_ok {
        return Err(errors::wrong_arity(&format!("xgroup|{}", text(&sub))));
    }
    if sub.as_slice() == b"help" {
        return Ok(Reply::status_lines(XGROUP_HELP));
    }
    let syntax = || {
        CmdError::new(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try XGROUP HELP.",
            text(&args[1])
        ))
    };
    let mut mkstream = false;
    let mut entries_read = None;
    match sub.as_slice() {
        b"create" => {
            if args.len() > 8 {
                return Err(syntax());
            }
            let mut i = 5;
            while i < args.len() {
                if eq_ignore_case(&args[i], "mkstream") {
                    mkstream = true;
                } else if eq_ignore_case(&args[i], "entriesread") && i + 1 < args.len() {
                    entries_read = parse_entries_read(&args[i + 1])?;
                    i += 1;
                } else {
                    return Err(syntax());
                }
                i += 1;
            }
        }
        b"setid" => match args.len() {
            5 => {}
            7 if eq_ignore_case(&args[5], "entriesread") => {
                entries_read = parse_entries_read(&args[6])?;
            }
            _ => return Err(syntax()),
        },
        _ => {}
    }
    let (key, gname) = (&args[2], &args[3]);
    let mut txn = ctx.txn_args(std::slice::from_ref(key));
    let stream = load(ctx, &mut txn, key)?;
    if stream.is_none() && !mkstream {
        return Err(CmdError::new("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."));
    }
    let group = match &stream {
        Some(s) => s.group(&txn, gname)?,
        None => None,
    };
    let needs_group = matches!(
        sub.as_slice(),
        b"setid" | b"createconsumer" | b"delconsumer"
    );
    if needs_group && group.is_none() {
        return Err(CmdError::new(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            text(gname),
            text(key)
        )));
    }
    let reply = match sub.as_slice() {
        b"create" => {
            let id = parse_id_or_last(&args[4], stream.as_ref())?;
            let mut stream = match stream {
                Some(s) => s,
                None => crate::types::stream::create(&mut txn, key)?,
            };
            let entries_read = known_entries_read(&stream, id, entries_read)?;
            if !stream.create_group(&mut txn, gname, id, entries_read)? {
                return Err(CmdError::new(
                    "BUSYGROUP Consumer Group name already exists",
                ));
            }
            stream.store(&mut txn)?;
            txn.notify('t', "xgroup-create", key);
            Reply::ok()
        }
        b"setid" => {
            let stream = stream.expect("checked above");
            let id = match args[4].as_ref() {
                b"$" => stream.info.last_id,
                arg => parse_bound(arg, true)?,
            };
            let mut group = group.expect("checked above");
            group.last_id = id;
            group.entries_read = known_entries_read(&stream, id, entries_read)?;
            let mut stream = stream;
            stream.put_group(&mut txn, gname, &group);
            txn.notify('t', "xgroup-setid", key);
            Reply::ok()
        }
        b"destroy" => {
            let mut stream = stream.expect("checked above");
            if !stream.destroy_group(&mut txn, gname)? {
                return Ok(Reply::Int(0));
            }
            stream.store(&mut txn)?;
            txn.notify('t', "xgroup-destroy", key);
            Reply::Int(1)
        }
        b"createconsumer" => {
            let (mut stream, mut group) = (stream.expect("checked"), group.expect("checked"));
            let now = txn.now();
            if !stream.create_consumer(&mut txn, gname, &mut group, &args[4], now)? {
                return Ok(Reply::Int(0));
            }
            stream.put_group(&mut txn, gname, &group);
            Reply::Int(1)
        }
        _ => {
            let (mut stream, mut group) = (stream.expect("checked"), group.expect("checked"));
            let pending = stream.delete_consumer(&mut txn, gname, &mut group, &args[4])?;
            if pending.is_some() {
                stream.put_group(&mut txn, gname, &group);
                txn.notify('t', "xgroup-delconsumer", key);
            }
            Reply::Int(pending.unwrap_or(0) as i64)
        }
    };
    ctx.commit(txn)?;
    Ok(reply)
}

/// Which entries XREADGROUP reads from one stream.
enum ReadFrom {
    /// `>`: entries never delivered to the group.
    New,
    /// An ID: the consumer's own pending entries after it.
    History(StreamId),
}

/// XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key... id...
fn xreadgroup(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let read = parse_read_args(args, true)?;
    let (gname, consumer) = read.group.clone().expect("parse_read_args requires GROUP");
    let retry = is_retry(ctx);
    let mut txn = ctx.txn_args(&read.keys);
    let mut sources = Vec::with_capacity(read.keys.len());
    for (key, id) in read.keys.iter().zip(&read.ids) {
        let loaded = match stream_log::load(&ctx.server.changelog, &mut txn, key) {
            Err(TypeError::WrongType) | Ok(None) if retry => {
                return Err(CmdError::new("UNBLOCKED the stream key no longer exists"))
            }
            other => other?,
        };
        let has_group = match &loaded {
            Some(stream) => stream.group(&txn, &gname)?.is_some(),
            None => false,
        };
        if !has_group {
            if retry {
                return Err(CmdError::new(
                    "NOGROUP the consumer group this client was blocked on no longer exists",
                ));
            }
            return Err(CmdError::new(format!(
                "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                text(key),
                text(&gname)
            )));
        }
        sources.push(match id.as_ref() {
            b">" => ReadFrom::New,
            b"$" => return Err(CmdError::new("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")),
            _ => ReadFrom::History(parse_strict_id(id)?),
        });
    }
    let mut results = Vec::new();
    let mut seen_last = Vec::with_capacity(read.keys.len());
    for (key, from) in read.keys.iter().zip(&sources) {
        let mut stream = load(ctx, &mut txn, key)?.expect("checked above");
        seen_last.push(Some(stream.info.last_id));
        let mut group = stream.group(&txn, &gname)?.expect("checked above");
        let served = match from {
            ReadFrom::History(after) => Some(serve_history(
                &mut txn,
                &mut stream,
                &gname,
                &mut group,
                &consumer,
                *after,
                read.count,
            )?),
            ReadFrom::New => serve_new(
                &mut txn,
                &mut stream,
                &gname,
                &mut group,
                &consumer,
                read.count,
                read.noack,
            )?,
        };
        let Some(entries) = served else { continue };
        stream.put_group(&mut txn, &gname, &group);
        stream.store(&mut txn)?;
        results.push((Reply::Bulk(key.clone()), Reply::Array(entries)));
    }
    if !results.is_empty() {
        ctx.commit(txn)?;
        return Ok(streams_reply(ctx, results));
    }
    match read.block {
        None => Ok(Reply::NilArray),
        Some(timeout) => {
            let key_refs: Vec<&[u8]> = read.keys.iter().map(|k| k.as_ref()).collect();
            let timeout = (!timeout.is_zero()).then_some(timeout);
            let reply = ctx.block_on(&key_refs, timeout);
            drop(txn);
            wake_if_log_moved(ctx, &read.keys, &seen_last)?;
            reply
        }
    }
}

/// A PEL entry for a delivery to `consumer`.
fn delivery(consumer: &[u8], delivery_time: u64, delivery_count: u64) -> PendingEntry {
    PendingEntry {
        consumer: consumer.to_vec(),
        delivery_time,
        delivery_count,
    }
}

/// Serves a consumer's pending entries after `after` (deleted entries come back as
/// `[id, nil]`), counting a new delivery of each.
fn serve_history(
    txn: &mut Txn,
    stream: &mut Stream,
    gname: &[u8],
    group: &mut Group,
    consumer: &[u8],
    after: StreamId,
    count: Option<usize>,
) -> Result<Vec<Reply>, CmdError> {
    let now = txn.now();
    stream.touch_consumer(txn, gname, group, consumer, now)?;
    let Some(start) = after.next() else {
        return Ok(Vec::new());
    };
    let limit = count.unwrap_or(usize::MAX);
    let mut pending = Vec::new();
    stream.visit_pending(
        txn,
        gname,
        Some(consumer),
        start,
        StreamId::MAX,
        |id, entry| {
            pending.push((id, entry));
            Ok(pending.len() < limit)
        },
    )?;
    let mut replies = Vec::with_capacity(pending.len());
    for (id, mut entry) in pending {
        match stream.entry(txn, id)? {
            Some(fields) => {
                entry.delivery_time = now;
                entry.delivery_count += 1;
                stream.redeliver(txn, gname, id, &entry);
                replies.push(entry_reply(&(id, fields)));
            }
            None => replies.push(Reply::Array(vec![id_reply(id), Reply::NilArray])),
        }
    }
    Ok(replies)
}

/// Serves entries never delivered to the group, or `None` if there are none (the caller
/// may block).
fn serve_new(
    txn: &mut Txn,
    stream: &mut Stream,
    gname: &[u8],
    group: &mut Group,
    consumer: &[u8],
    count: Option<usize>,
    noack: bool,
) -> Result<Option<Vec<Reply>>, CmdError> {
    if stream.is_empty()
        || stream
            .last_entry_id(txn)?
            .is_none_or(|top| top <= group.last_id)
    {
        return Ok(None);
    }
    let now = txn.now();
    stream.touch_consumer(txn, gname, group, consumer, now)?;
    let Some(start) = group.last_id.next() else {
        return Ok(Some(Vec::new()));
    };
    skip_aged_out(stream, group);
    let entries = stream.range(txn, start, StreamId::MAX, false, count)?;
    for (id, _) in &entries {
        advance_group(stream, group, *id);
        if !noack {
            stream.assign_pending(txn, gname, group, *id, delivery(consumer, now, 1))?;
        }
    }
    Ok(Some(entries.iter().map(entry_reply).collect()))
}

/// A change-log group that fell behind the retention period passes over the records that
/// aged out before it saw them: they count as read, so its lag stays exact. (A client
/// stream trimmed ahead of a group keeps Redis's counting.)
fn skip_aged_out(stream: &Stream, group: &mut Group) {
    if !stream.has_source() || group.last_id >= stream.info.first_id {
        return;
    }
    let aged_out = stream.info.entries_added - stream.len();
    if let Some(read) = group.entries_read {
        group.entries_read = Some(read.max(aged_out));
    }
}

/// Moves the group's last delivered ID to `id`, keeping its read counter when it can be
/// known (Redis's `streamReplyWithRange` with a group).
fn advance_group(stream: &Stream, group: &mut Group, id: StreamId) {
    if id <= group.last_id {
        return;
    }
    match group.entries_read {
        Some(n) if !stream.has_tombstones_from(id) => group.entries_read = Some(n + 1),
        _ if stream.info.entries_added > 0 => {
            group.entries_read = stream.estimate_entries_read(id);
        }
        _ => {}
    }
    group.last_id = id;
}

/// XACK key group id [id ...].
fn xack(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (key, gname) = (&args[1], &args[2]);
    let mut txn = ctx.txn_args(std::slice::from_ref(key));
    let Some(mut stream) = load(ctx, &mut txn, key)? else {
        return Ok(Reply::Int(0));
    };
    let Some(mut group) = stream.group(&txn, gname)? else {
        return Ok(Reply::Int(0));
    };
    let ids = args[3..]
        .iter()
        .map(|a| parse_strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let mut acked = 0;
    for id in ids {
        if stream.ack(&mut txn, gname, &mut group, id)? {
            acked += 1;
        }
    }
    if acked > 0 {
        stream.put_group(&mut txn, gname, &group);
        ctx.commit(txn)?;
    }
    Ok(Reply::Int(acked))
}

/// XPENDING key group [[IDLE ms] start end count [consumer]].
fn xpending(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (key, gname) = (&args[1], &args[2]);
    if args.len() != 3 && !(6..=9).contains(&args.len()) {
        return Err(errors::syntax());
    }
    let mut range = None;
    if args.len() >= 6 {
        let mut at = 3;
        let mut min_idle = 0;
        if eq_ignore_case(&args[3], "idle") {
            min_idle = errors::int_arg(&args[4])?;
            if args.len() < 8 {
                return Err(errors::syntax());
            }
            at = 5;
        }
        let count = errors::int_arg(&args[at + 2])?.max(0) as usize;
        let start = parse_bound(&args[at], true)?;
        let end = parse_bound(&args[at + 1], false)?;
        let consumer = args.get(at + 3).cloned();
        if args.len() > at + 4 {
            return Err(errors::syntax());
        }
        range = Some((min_idle, start, end, count, consumer));
    }
    let mut txn = ctx.txn_args(std::slice::from_ref(key));
    let (stream, group) = load_group(ctx, &mut txn, key, gname)?;
    let Some((min_idle, start, end, count, consumer)) = range else {
        return pending_summary(&txn, &stream, gname, &group);
    };
    if let Some(name) = &consumer {
        if stream.consumer(&txn, gname, name)?.is_none() {
            return Ok(Reply::Array(vec![]));
        }
    }
    let now = txn.now();
    let mut rows = Vec::new();
    if count > 0 {
        stream.visit_pending(&txn, gname, consumer.as_deref(), start, end, |id, entry| {
            let idle = now.saturating_sub(entry.delivery_time);
            if min_idle > 0 && (idle as i64) < min_idle {
                return Ok(true);
            }
            rows.push(Reply::Array(vec![
                id_reply(id),
                Reply::bulk(entry.consumer),
                Reply::Int(idle as i64),
                Reply::Int(entry.delivery_count as i64),
            ]));
            Ok(rows.len() < count)
        })?;
    }
    Ok(Reply::Array(rows))
}

/// XPENDING key group: count, smallest and largest pending IDs, pending per consumer.
fn pending_summary(txn: &Txn, stream: &Stream, gname: &[u8], group: &Group) -> CmdResult {
    if group.pending == 0 {
        return Ok(Reply::Array(vec![
            Reply::Int(0),
            Reply::Nil,
            Reply::Nil,
            Reply::NilArray,
        ]));
    }
    let mut first = None;
    let mut last = StreamId::MIN;
    stream.visit_pending(txn, gname, None, StreamId::MIN, StreamId::MAX, |id, _| {
        first.get_or_insert(id);
        last = id;
        Ok(true)
    })?;
    let consumers = stream
        .consumers(txn, gname)?
        .into_iter()
        .filter(|(_, c)| c.pending > 0)
        .map(|(name, c)| Reply::Array(vec![Reply::bulk(name), Reply::text(c.pending.to_string())]))
        .collect();
    Ok(Reply::Array(vec![
        Reply::Int(group.pending as i64),
        id_reply(first.unwrap_or_default()),
        id_reply(last),
        Reply::Array(consumers),
    ]))
}

/// XCLAIM options after the IDs.
struct ClaimOptions {
    delivery_time: Option<i64>,
    retry_count: Option<i64>,
    force: bool,
    justid: bool,
    last_id: StreamId,
}

fn parse_claim_options(args: &[Bytes], now: u64) -> Result<ClaimOptions, CmdError> {
    let mut opts = ClaimOptions {
        delivery_time: None,
        retry_count: None,
        force: false,
        justid: false,
        last_id: StreamId::MIN,
    };
    let mut i = 0;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let is = |name: &str| eq_ignore_case(&args[i], name);
        let int = |what: &str| {
            errors::int_arg(&args[i + 1]).map_err(|_| {
                CmdError::new(format!("ERR Invalid {what} option argument for XCLAIM"))
            })
        };
        if is("force") {
            opts.force = true;
        } else if is("justid") {
            opts.justid = true;
        } else if is("idle") && more > 0 {
            opts.delivery_time = Some((now as i64).saturating_sub(int("IDLE")?));
            i += 1;
        } else if is("time") && more > 0 {
            opts.delivery_time = Some(int("TIME")?);
            i += 1;
        } else if is("retrycount") && more > 0 {
            opts.retry_count = Some(int("RETRYCOUNT")?);
            i += 1;
        } else if is("lastid") && more > 0 {
            opts.last_id = parse_strict_id(&args[i + 1])?;
            i += 1;
        } else {
            return Err(CmdError::new(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                text(&args[i])
            )));
        }
        i += 1;
    }
    Ok(opts)
}

fn min_idle_arg(arg: &[u8], cmd: &str) -> Result<u64, CmdError> {
    let n = errors::int_arg(arg)
        .map_err(|_| CmdError::new(format!("ERR Invalid min-idle-time argument for {cmd}")))?;
    Ok(n.max(0) as u64)
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms]
/// [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id].
fn xclaim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (key, gname, consumer) = (&args[1], &args[2], &args[3]);
    let mut txn = ctx.txn_args(std::slice::from_ref(key));
    let (mut stream, mut group) = load_group(ctx, &mut txn, key, gname)?;
    let min_idle = min_idle_arg(&args[4], "XCLAIM")?;
    let id_count = args[5..]
        .iter()
        .take_while(|a| parse_strict_id(a).is_ok())
        .count();
    let ids: Vec<StreamId> = args[5..5 + id_count]
        .iter()
        .map(|a| parse_strict_id(a))
        .collect::<Result<_, _>>()?;
    let now = txn.now();
    let opts = parse_claim_options(&args[5 + id_count..], now)?;
    let delivery_time = match opts.delivery_time {
        Some(t) if t >= 0 && t as u64 <= now => t as u64,
        _ => now,
    };
    if opts.last_id > group.last_id {
        group.last_id = opts.last_id;
    }
    let mut replies = Vec::new();
    let mut consumer_ready = false;
    for id in ids {
        let pending = stream.pending_entry(&txn, gname, id)?;
        let Some(fields) = stream.entry(&txn, id)? else {
            // The entry is gone: its PEL entry goes too.
            if pending.is_some() {
                stream.ack(&mut txn, gname, &mut group, id)?;
            }
            continue;
        };
        let count = match pending {
            Some(p) => {
                let idle = now.saturating_sub(p.delivery_time);
                if min_idle > 0 && idle < min_idle {
                    continue;
                }
                p.delivery_count
            }
            None if opts.force => 0,
            None => continue,
        };
        if !consumer_ready {
            stream.touch_consumer(&mut txn, gname, &mut group, consumer, now)?;
            consumer_ready = true;
        }
        let count = match opts.retry_count {
            Some(n) => n.max(0) as u64,
            None if opts.justid => count,
            None => count + 1,
        };
        stream.assign_pending(
            &mut txn,
            gname,
            &mut group,
            id,
            delivery(consumer, delivery_time, count),
        )?;
        replies.push(if opts.justid {
            id_reply(id)
        } else {
            entry_reply(&(id, fields))
        });
    }
    stream.put_group(&mut txn, gname, &group);
    stream.store(&mut txn)?;
    ctx.commit(txn)?;
    Ok(Reply::Array(replies))
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID].
fn xautoclaim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (key, gname, consumer) = (&args[1], &args[2], &args[3]);
    let min_idle = min_idle_arg(&args[4], "XAUTOCLAIM")?;
    let start = parse_bound(&args[5], true)?;
    let mut count = 100usize;
    let mut justid = false;
    let mut i = 6;
    while i < args.len() {
        if eq_ignore_case(&args[i], "count") && i + 1 < args.len() {
            let max = i64::MAX / 16;
            count = match errors::int_arg(&args[i + 1]) {
                Ok(n) if (1..=max).contains(&n) => n as usize,
                _ => return Err(CmdError::new("ERR COUNT must be > 0")),
            };
            i += 2;
        } else if eq_ignore_case(&args[i], "justid") {
            justid = true;
            i += 1;
        } else {
            return Err(errors::syntax());
        }
    }
    let mut txn = ctx.txn_args(std::slice::from_ref(key));
    let (mut stream, mut group) = load_group(ctx, &mut txn, key, gname)?;
    let now = txn.now();
    // Redis looks at up to ten PEL entries per entry it may return.
    let mut attempts = count.saturating_mul(10);
    let mut scanned = Vec::new();
    let mut cursor = StreamId::MIN;
    stream.visit_pending(&txn, gname, None, start, StreamId::MAX, |id, entry| {
        if attempts == 0 || count == scanned.len() {
            cursor = id;
            return Ok(false);
        }
        attempts -= 1;
        scanned.push((id, entry));
        Ok(true)
    })?;
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let mut consumer_ready = false;
    let mut remaining = count;
    for (id, entry) in scanned {
        if remaining == 0 {
            break;
        }
        let Some(fields) = stream.entry(&txn, id)? else {
            stream.ack(&mut txn, gname, &mut group, id)?;
            deleted.push(id_reply(id));
            remaining -= 1;
            continue;
        };
        if min_idle > 0 && now.saturating_sub(entry.delivery_time) < min_idle {
            continue;
        }
        if !consumer_ready {
            stream.touch_consumer(&mut txn, gname, &mut group, consumer, now)?;
            consumer_ready = true;
        }
        let times = entry.delivery_count + u64::from(!justid);
        stream.assign_pending(
            &mut txn,
            gname,
            &mut group,
            id,
            delivery(consumer, now, times),
        )?;
        claimed.push(if justid {
            id_reply(id)
        } else {
            entry_reply(&(id, fields))
        });
        remaining -= 1;
    }
    stream.put_group(&mut txn, gname, &group);
    stream.store(&mut txn)?;
    ctx.commit(txn)?;
    Ok(Reply::Array(vec![
        id_reply(cursor),
        Reply::Array(claimed),
        Reply::Array(deleted),
    ]))
}

fn opt_int(value: Option<u64>) -> Reply {
    value.map_or(Reply::Nil, |n| Reply::Int(n as i64))
}

/// XINFO STREAM key [FULL [COUNT n]].
pub fn xinfo_stream(txn: &Txn, stream: &Stream, opts: &[Bytes]) -> CmdResult {
    let syntax = || {
        CmdError::new(
            "ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.",
        )
    };
    let full = match opts.len() {
        0 => None,
        1 | 3 if !eq_ignore_case(&opts[0], "full") => return Err(syntax()),
        1 => Some(10),
        3 if !eq_ignore_case(&opts[1], "count") => return Err(syntax()),
        3 => {
            let n = errors::int_arg(&opts[2])?;
            Some(if n < 0 { 10 } else { n as usize })
        }
        _ => return Err(syntax()),
    };
    let info = &stream.info;
    let nodes = stream.node_count(txn)?;
    let mut map = vec![
        field("length", Reply::Int(stream.len() as i64)),
        field("radix-tree-keys", Reply::Int(nodes as i64)),
        field("radix-tree-nodes", Reply::Int(nodes as i64 + 1)),
        field("last-generated-id", id_reply(info.last_id)),
        field("max-deleted-entry-id", id_reply(info.max_deleted_id)),
        field("entries-added", Reply::Int(info.entries_added as i64)),
        field("recorded-first-entry-id", id_reply(info.first_id)),
    ];
    let Some(count) = full else {
        let edge = |reverse| -> Result<Reply, CmdError> {
            let entries = stream.range(txn, StreamId::MIN, StreamId::MAX, reverse, Some(1))?;
            Ok(entries.first().map_or(Reply::Nil, entry_reply))
        };
        map.push(field("groups", Reply::Int(info.groups as i64)));
        map.push(field("first-entry", edge(false)?));
        map.push(field("last-entry", edge(true)?));
        return Ok(Reply::Map(map));
    };
    let limit = (count > 0).then_some(count);
    let entries = stream.range(txn, StreamId::MIN, StreamId::MAX, false, limit)?;
    map.push(field(
        "entries",
        Reply::Array(entries.iter().map(entry_reply).collect()),
    ));
    let mut groups = Vec::new();
    for (gname, group) in stream.groups(txn)? {
        groups.push(full_group_info(txn, stream, &gname, &group, limit)?);
    }
    map.push(field("groups", Reply::Array(groups)));
    Ok(Reply::Map(map))
}

fn full_group_info(
    txn: &Txn,
    stream: &Stream,
    gname: &[u8],
    group: &Group,
    limit: Option<usize>,
) -> CmdResult {
    let limit = limit.unwrap_or(usize::MAX);
    let mut pel = Vec::new();
    stream.visit_pending(txn, gname, None, StreamId::MIN, StreamId::MAX, |id, p| {
        pel.push(Reply::Array(vec![
            id_reply(id),
            Reply::bulk(p.consumer),
            Reply::Int(p.delivery_time as i64),
            Reply::Int(p.delivery_count as i64),
        ]));
        Ok(pel.len() < limit)
    })?;
    let mut consumers = Vec::new();
    for (name, consumer) in stream.consumers(txn, gname)? {
        let mut own = Vec::new();
        stream.visit_pending(
            txn,
            gname,
            Some(&name),
            StreamId::MIN,
            StreamId::MAX,
            |id, p| {
                own.push(Reply::Array(vec![
                    id_reply(id),
                    Reply::Int(p.delivery_time as i64),
                    Reply::Int(p.delivery_count as i64),
                ]));
                Ok(own.len() < limit)
            },
        )?;
        consumers.push(Reply::Map(vec![
            field("name", Reply::bulk(name)),
            field("seen-time", Reply::Int(consumer.seen_time as i64)),
            field("pel-count", Reply::Int(consumer.pending as i64)),
            field("pending", Reply::Array(own)),
        ]));
    }
    Ok(Reply::Map(vec![
        field("name", Reply::bulk(gname.to_vec())),
        field("last-delivered-id", id_reply(group.last_id)),
        field("entries-read", opt_int(group.entries_read)),
        field("lag", opt_int(group_lag(stream, group))),
        field("pel-count", Reply::Int(group.pending as i64)),
        field("pending", Reply::Array(pel)),
        field("consumers", Reply::Array(consumers)),
    ]))
}

/// XINFO GROUPS key.
pub fn xinfo_groups(txn: &Txn, stream: &Stream) -> CmdResult {
    let groups = stream
        .groups(txn)?
        .into_iter()
        .map(|(name, group)| {
            Reply::Map(vec![
                field("name", Reply::bulk(name)),
                field("consumers", Reply::Int(group.consumers as i64)),
                field("pending", Reply::Int(group.pending as i64)),
                field("last-delivered-id", id_reply(group.last_id)),
                field("entries-read", opt_int(group.entries_read)),
                field("lag", opt_int(group_lag(stream, &group))),
            ])
        })
        .collect();
    Ok(Reply::Array(groups))
}

/// XINFO CONSUMERS key group.
pub fn xinfo_consumers(txn: &Txn, stream: &Stream, gname: &[u8]) -> CmdResult {
    if stream.group(txn, gname)?.is_none() {
        return Err(CmdError::new(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            text(gname),
            text(stream.key())
        )));
    }
    let now = txn.now();
    let consumers = stream
        .consumers(txn, gname)?
        .into_iter()
        .map(|(name, c)| {
            Reply::Map(vec![
                field("name", Reply::bulk(name)),
                field("pending", Reply::Int(c.pending as i64)),
                field("idle", Reply::Int(now.saturating_sub(c.seen_time) as i64)),
            ])
        })
        .collect();
    Ok(Reply::Array(consumers))
}
