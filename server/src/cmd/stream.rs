//! Stream commands: XADD, XRANGE, XREVRANGE, XREAD, XLEN, XDEL, XTRIM, XSETID, XINFO.
//! Consumer-group commands live in `stream_group.rs`.
//!
//! Two kinds of stream answer to these commands: streams clients write (a Redis type on
//! the engine, `types::stream`), and the server-written change logs behind
//! `__stream__:<name>` keys (`stream::changelog`), which clients read (and consume with
//! groups) but never write. Both load as a [`Stream`] through `stream_log::load`.

use bytes::Bytes;
use redyn_protocol::args::eq_ignore_case;
use redyn_protocol::{Reply, RespVersion};

use super::errors::{self, CmdError};
pub use super::stream_log::log_name;
use super::stream_log::{self, wake_if_log_moved};
use super::{CmdResult, CommandSpec, Ctx, Flag, ONE_KEY};
use crate::engine::Txn;
use crate::types::stream::{self as st, Entry, NodeLimits, Stream, StreamId, Trim, TrimSpec};
use crate::types::TypeError;
use Flag::*;

#[rustfmt::skip]
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("xadd", -5, &[Write, DenyOom, Fast], ONE_KEY, "stream", "5.0.0", "Appends a new message to a stream. Creates the key if it doesn't exist.", xadd),
    CommandSpec::new("xrange", -4, &[ReadOnly], ONE_KEY, "stream", "5.0.0", "Returns the messages from a stream within a range of IDs.", xrange),
    CommandSpec::new("xrevrange", -4, &[ReadOnly], ONE_KEY, "stream", "5.0.0", "Returns the messages from a stream within a range of IDs in reverse order.", xrange),
    CommandSpec::new("xread", -4, &[ReadOnly, Blocking], (0, 0, 0), "stream", "5.0.0", "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.", xread),
    CommandSpec::new("xlen", 2, &[ReadOnly, Fast], ONE_KEY, "stream", "5.0.0", "Return the number of messages in a stream.", xlen),
    CommandSpec::new("xdel", -3, &[Write, Fast], ONE_KEY, "stream", "5.0.0", "Returns the number of messages after removing them from a stream.", xdel),
    CommandSpec::new("xtrim", -4, &[Write], ONE_KEY, "stream", "5.0.0", "Deletes messages from the beginning of a stream.", xtrim),
    CommandSpec::new("xsetid", -3, &[Write, DenyOom, Fast], ONE_KEY, "stream", "5.0.0", "An internal command for replicating stream values.", xsetid),
    CommandSpec::new("xinfo", -2, &[ReadOnly], (2, 2, 1), "stream", "5.0.0", "A container for stream introspection commands.", xinfo),
];

pub const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
const CHANGELOG_WRITE: &str =
    "ERR __stream__ keys are change logs only the server writes: XADD, XDEL, XTRIM and XSETID are not allowed on them";

/// Refuses client writes to change logs.
pub fn refuse_changelog(key: &[u8]) -> Result<(), CmdError> {
    match log_name(key) {
        Some(_) => Err(CmdError::new(CHANGELOG_WRITE)),
        None => Ok(()),
    }
}

fn parse_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Parses `ms` or `ms-seq` (`ms` alone takes `default_seq`); `None` if malformed.
fn parse_plain_id(arg: &[u8], default_seq: u64) -> Option<StreamId> {
    match arg.iter().position(|&b| b == b'-') {
        Some(dash) => Some(StreamId::new(
            parse_u64(&arg[..dash])?,
            parse_u64(&arg[dash + 1..])?,
        )),
        None => Some(StreamId::new(parse_u64(arg)?, default_seq)),
    }
}

/// A strict ID argument (no `-`/`+`/`*`), as Redis's `streamParseStrictIDOrReply`.
pub fn parse_strict_id(arg: &[u8]) -> Result<StreamId, CmdError> {
    parse_plain_id(arg, 0).ok_or_else(|| CmdError::new(INVALID_ID))
}

/// A range bound: `-`, `+`, an ID (a bare `ms` takes seq 0 as a start, the largest seq as
/// an end), or an exclusive `(id`.
pub fn parse_bound(arg: &[u8], is_start: bool) -> Result<StreamId, CmdError> {
    let default_seq = if is_start { 0 } else { u64::MAX };
    if let Some(rest) = arg.strip_prefix(b"(").filter(|r| !r.is_empty()) {
        let id = parse_plain_id(rest, default_seq).ok_or_else(|| CmdError::new(INVALID_ID))?;
        let stepped = if is_start { id.next() } else { id.prev() };
        let side = if is_start { "start" } else { "end" };
        return stepped
            .ok_or_else(|| CmdError::new(format!("ERR invalid {side} ID for the interval")));
    }
    match arg {
        b"-" => Ok(StreamId::MIN),
        b"+" => Ok(StreamId::MAX),
        _ => parse_plain_id(arg, default_seq).ok_or_else(|| CmdError::new(INVALID_ID)),
    }
}

pub fn id_reply(id: StreamId) -> Reply {
    Reply::text(id.to_string())
}

pub fn entry_reply((id, fields): &Entry) -> Reply {
    Reply::Array(vec![
        id_reply(*id),
        Reply::Array(
            fields
                .iter()
                .flat_map(|(f, v)| [Reply::bulk(f.clone()), Reply::bulk(v.clone())])
                .collect(),
        ),
    ])
}

/// `stream-node-max-entries` / `stream-node-max-bytes`.
pub fn node_limits(ctx: &Ctx) -> NodeLimits {
    let config = ctx.server.config.read();
    let get = |name: &str, default: u64| {
        config
            .compat
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    NodeLimits {
        max_entries: get("stream-node-max-entries", 100),
        max_bytes: get("stream-node-max-bytes", 4096),
    }
}

/// The stream at `key` (a change log's, or a client-written one): WRONGTYPE for other
/// types, `None` if absent.
pub fn load(ctx: &Ctx, txn: &mut Txn, key: &[u8]) -> Result<Option<Stream>, CmdError> {
    Ok(stream_log::load(&ctx.server.changelog, txn, key)?)
}

/// Replies to XREAD/XREADGROUP: a map of key to entries in RESP3, pairs in RESP2.
pub fn streams_reply(ctx: &Ctx, results: Vec<(Reply, Reply)>) -> Reply {
    if ctx.client.resp == RespVersion::Resp3 {
        Reply::Map(results)
    } else {
        Reply::Array(
            results
                .into_iter()
                .map(|(k, v)| Reply::Array(vec![k, v]))
                .collect(),
        )
    }
}

/// The ID XADD was asked for.
#[derive(Debug, Clone, Copy)]
enum AddId {
    /// `*`: from the clock.
    Auto,
    /// `ms-*`: the given time, next sequence number.
    Partial(u64),
    Exact(StreamId),
}

fn parse_add_id(arg: &[u8]) -> Result<AddId, CmdError> {
    if arg == b"*" {
        return Ok(AddId::Auto);
    }
    if let Some(ms) = arg.strip_suffix(b"-*") {
        return parse_u64(ms)
            .map(AddId::Partial)
            .ok_or_else(|| CmdError::new(INVALID_ID));
    }
    parse_strict_id(arg).map(AddId::Exact)
}

/// Trimming options shared by XADD and XTRIM.
#[derive(Debug, Default)]
struct TrimArgs {
    strategy: Option<Trim>,
    approx: bool,
    limit: Option<u64>,
}

/// Parses XADD/XTRIM options from `args[i..]` as Redis's `streamParseAddOrTrimArgsOrReply`;
/// for XADD returns the index of the ID argument and whether NOMKSTREAM was given.
fn parse_trim_args(
    args: &[Bytes],
    mut i: usize,
    xadd: bool,
) -> Result<(TrimArgs, usize, bool), CmdError> {
    let mut trim = TrimArgs::default();
    let mut nomkstream = false;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i];
        let is = |name: &str| eq_ignore_case(opt, name);
        if xadd && opt.as_ref() == b"*" {
            break;
        } else if (is("maxlen") || is("minid")) && more > 0 {
            if trim.strategy.is_some() {
                return Err(CmdError::new("ERR syntax error, MAXLEN and MINID options at the same time are not compatible"));
            }
            trim.approx = false;
            if more >= 2 && (args[i + 1].as_ref() == b"~" || args[i + 1].as_ref() == b"=") {
                trim.approx = args[i + 1].as_ref() == b"~";
                i += 1;
            }
            let value = &args[i + 1];
            trim.strategy = Some(if is("maxlen") {
                let n = errors::int_arg(value)?;
                if n < 0 {
                    return Err(CmdError::new("ERR The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(parse_strict_id(value)?)
            });
            i += 2;
        } else if is("limit") && more > 0 {
            let n = errors::int_arg(&args[i + 1])?;
            if n < 0 {
                return Err(CmdError::new("ERR The LIMIT argument must be >= 0."));
            }
            trim.limit = Some(n as u64);
            i += 2;
        } else if xadd && is("nomkstream") {
            nomkstream = true;
            i += 1;
        } else if xadd {
            break;
        } else {
            return Err(errors::syntax());
        }
    }
    if trim.limit.is_some_and(|l| l > 0) && trim.strategy.is_none() {
        return Err(CmdError::new(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && trim.strategy.is_none() {
        return Err(CmdError::new(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if trim.limit.is_some() && !trim.approx {
        return Err(CmdError::new(
            "ERR syntax error, LIMIT cannot be used without the special ~ option",
        ));
    }
    Ok((trim, i, nomkstream))
}

/// The trim to run, with Redis's default LIMIT for `~` (100 nodes' worth of entries).
fn trim_spec(ctx: &Ctx, trim: &TrimArgs) -> Option<TrimSpec> {
    let strategy = trim.strategy?;
    let limit = match (trim.approx, trim.limit) {
        (false, _) => 0,
        (true, Some(limit)) => limit,
        (true, None) => {
            let limit = 100u64.saturating_mul(node_limits(ctx).max_entries);
            if limit == 0 {
                10_000
            } else {
                limit.min(1_000_000)
            }
        }
    };
    Some(TrimSpec {
        strategy,
        approx: trim.approx,
        limit,
    })
}

/// The ID to give a new entry, as Redis's `streamAppendItem` picks it.
fn new_entry_id(stream: &Stream, want: AddId, now_ms: u64) -> Result<StreamId, CmdError> {
    let last = stream.info.last_id;
    let smaller = || {
        CmdError::new(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item",
        )
    };
    let id = match want {
        AddId::Exact(id) => id,
        AddId::Partial(ms) if ms == last.ms => {
            let seq = last.seq.checked_add(1).ok_or_else(smaller)?;
            StreamId::new(ms, seq)
        }
        AddId::Partial(ms) => StreamId::new(ms, 0),
        AddId::Auto if now_ms > last.ms => StreamId::new(now_ms, 0),
        AddId::Auto => last.next().ok_or_else(smaller)?,
    };
    if id <= last {
        return Err(smaller());
    }
    Ok(id)
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value ...
fn xadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let (trim, id_at, nomkstream) = parse_trim_args(args, 2, true)?;
    let fields_args = args.get(id_at + 1..).unwrap_or(&[]);
    if id_at >= args.len() || fields_args.is_empty() || !fields_args.len().is_multiple_of(2) {
        return Err(errors::wrong_arity("xadd"));
    }
    let want = parse_add_id(&args[id_at])?;
    if matches!(want, AddId::Exact(id) if id.is_zero()) {
        return Err(CmdError::new(
            "ERR The ID specified in XADD must be greater than 0-0",
        ));
    }
    refuse_changelog(key)?;
    let spec = trim_spec(ctx, &trim);
    let limits = node_limits(ctx);
    let mut txn = ctx.txn_args(std::slice::from_ref(key));
    let mut stream = match load(ctx, &mut txn, key)? {
        Some(stream) => stream,
        None if nomkstream => return Ok(Reply::Nil),
        None => st::create(&mut txn, key)?,
    };
    if stream.info.last_id == StreamId::MAX {
        return Err(CmdError::new(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let id = new_entry_id(&stream, want, txn.now())?;
    let fields: Vec<(Vec<u8>, Vec<u8>)> = fields_args
        .chunks(2)
        .map(|pair| (pair[0].to_vec(), pair[1].to_vec()))
        .collect();
    stream.append(&mut txn, id, &fields, limits)?;
    txn.notify('t', "xadd", key);
    if let Some(spec) = spec {
        if stream.trim(&mut txn, spec)? > 0 {
            txn.notify('t', "xtrim", key);
        }
    }
    stream.store(&mut txn)?;
    ctx.commit(txn)?;
    Ok(id_reply(id))
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
    let mut count = None;
    let mut i = 4;
    while i < args.len() {
        if eq_ignore_case(&args[i], "count") && i + 1 < args.len() {
            count = Some(errors::int_arg(&args[i + 1])?.max(0) as usize);
            i += 2;
        } else {
            return Err(errors::syntax());
        }
    }
    let key = &args[1];
    let mut txn = ctx.txn_args(std::slice::from_ref(key));
    let Some(stream) = load(ctx, &mut txn, key)? else {
        return Ok(Reply::Array(vec![]));
    };
    if count == Some(0) {
        return Ok(Reply::NilArray);
    }
    let entries = stream.range(&txn, start, end, rev, count)?;
    Ok(Reply::Array(entries.iter().map(entry_reply).collect()))
}

fn xlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    let len = load(ctx, &mut txn, &args[1])?.map_or(0, |s| s.len());
    Ok(Reply::Int(len as i64))
}

/// XDEL key id [id ...].
fn xdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    refuse_changelog(key)?;
    let mut txn = ctx.txn_args(std::slice::from_ref(key));
    let Some(mut stream) = load(ctx, &mut txn, key)? else {
        return Ok(Reply::Int(0));
    };
    let ids = args[2..]
        .iter()
        .map(|a| parse_strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let mut deleted = 0;
    for id in ids {
        if stream.delete(&mut txn, id)? {
            deleted += 1;
        }
    }
    if deleted > 0 {
        stream.store(&mut txn)?;
        txn.notify('t', "xdel", key);
        ctx.commit(txn)?;
    }
    Ok(Reply::Int(deleted))
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count].
fn xtrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    refuse_changelog(key)?;
    let mut txn = ctx.txn_args(std::slice::from_ref(key));
    let Some(mut stream) = load(ctx, &mut txn, key)? else {
        return Ok(Reply::Int(0));
    };
    let (trim, _, _) = parse_trim_args(args, 2, false)?;
    let Some(spec) = trim_spec(ctx, &trim) else {
        return Err(errors::syntax());
    };
    let deleted = stream.trim(&mut txn, spec)?;
    if deleted > 0 {
        stream.store(&mut txn)?;
        txn.notify('t', "xtrim", key);
        ctx.commit(txn)?;
    }
    Ok(Reply::Int(deleted as i64))
}

/// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id].
fn xsetid(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let id = parse_strict_id(&args[2])?;
    let mut entries_added = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if eq_ignore_case(&args[i], "entriesadded") && more > 0 {
            let n = errors::int_arg(&args[i + 1])?;
            if n < 0 {
                return Err(CmdError::new("ERR entries_added must be positive"));
            }
            entries_added = Some(n as u64);
        } else if eq_ignore_case(&args[i], "maxdeletedid") && more > 0 {
            max_deleted = parse_strict_id(&args[i + 1])?;
            if id < max_deleted {
                return Err(CmdError::new("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"));
            }
        } else {
            return Err(errors::syntax());
        }
        i += 2;
    }
    refuse_changelog(key)?;
    let mut txn = ctx.txn_args(std::slice::from_ref(key));
    let Some(mut stream) = load(ctx, &mut txn, key)? else {
        return Err(CmdError::new(errors::NO_SUCH_KEY));
    };
    if id < stream.info.max_deleted_id {
        return Err(CmdError::new(
            "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id",
        ));
    }
    if !stream.is_empty() {
        if stream.last_entry_id(&txn)?.is_some_and(|top| id < top) {
            return Err(CmdError::new(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added.is_some_and(|n| n < stream.len()) {
            return Err(CmdError::new("ERR The entries_added specified in XSETID is smaller than the target stream length"));
        }
    }
    stream.info.last_id = id;
    if let Some(n) = entries_added {
        stream.info.entries_added = n;
    }
    if !max_deleted.is_zero() {
        stream.info.max_deleted_id = max_deleted;
    }
    stream.store(&mut txn)?;
    txn.notify('t', "xsetid", key);
    ctx.commit(txn)?;
    Ok(Reply::ok())
}

/// Options of XREAD and XREADGROUP.
pub struct ReadArgs {
    pub count: Option<usize>,
    pub block: Option<std::time::Duration>,
    pub group: Option<(Bytes, Bytes)>,
    pub noack: bool,
    pub keys: Vec<Bytes>,
    pub ids: Vec<Bytes>,
}

/// Parses XREAD/XREADGROUP arguments with Redis's errors (`group` = XREADGROUP).
pub fn parse_read_args(args: &[Bytes], xreadgroup: bool) -> Result<ReadArgs, CmdError> {
    let mut read = ReadArgs {
        count: None,
        block: None,
        group: None,
        noack: false,
        keys: Vec::new(),
        ids: Vec::new(),
    };
    let mut streams_at = None;
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let is = |name: &str| eq_ignore_case(&args[i], name);
        if is("block") && more > 0 {
            let ms = errors::int_arg(&args[i + 1])
                .map_err(|_| CmdError::new("ERR timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(CmdError::new("ERR timeout is negative"));
            }
            read.block = Some(std::time::Duration::from_millis(ms as u64));
            i += 2;
        } else if is("count") && more > 0 {
            let n = errors::int_arg(&args[i + 1])?;
            read.count = (n > 0).then_some(n as usize);
            i += 2;
        } else if is("streams") && more > 0 {
            let rest = &args[i + 1..];
            if !rest.len().is_multiple_of(2) {
                let (name, symbol) = if xreadgroup {
                    ("xreadgroup", '>')
                } else {
                    ("xread", '$')
                };
                return Err(CmdError::new(format!("ERR Unbalanced '{name}' list of streams: for each stream key an ID or '{symbol}' must be specified.")));
            }
            streams_at = Some(i + 1);
            break;
        } else if is("group") && more >= 2 {
            if !xreadgroup {
                return Err(CmdError::new(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            read.group = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 3;
        } else if is("noack") {
            if !xreadgroup {
                return Err(CmdError::new(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            read.noack = true;
            i += 1;
        } else {
            return Err(errors::syntax());
        }
    }
    let Some(at) = streams_at else {
        return Err(errors::syntax());
    };
    if xreadgroup && read.group.is_none() {
        return Err(CmdError::new("ERR Missing GROUP option for XREADGROUP"));
    }
    let rest = &args[at..];
    let (keys, ids) = rest.split_at(rest.len() / 2);
    read.keys = keys.to_vec();
    read.ids = ids.to_vec();
    Ok(read)
}

/// Whether this run of a blocking command is a retry after a wake-up.
pub fn is_retry(ctx: &Ctx) -> bool {
    ctx.client.block_deadline.is_some()
}

/// XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...].
fn xread(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let read = parse_read_args(args, false)?;
    let retry = is_retry(ctx);
    // One transaction over every key from the check to the wait: an XADD to any of them
    // waits for it, so none can land between "nothing new" and the wake-up registration.
    let mut txn = ctx.txn_args(&read.keys);
    let starts = resolve_start_ids(ctx, &mut txn, &read)?;
    let mut results = Vec::new();
    let mut seen_last = Vec::with_capacity(read.keys.len());
    for (key, after) in read.keys.iter().zip(&starts) {
        let stream = match stream_log::load(&ctx.server.changelog, &mut txn, key) {
            // A woken reader passes over a key that became another type.
            Err(TypeError::WrongType) if retry => None,
            other => other?,
        };
        seen_last.push(stream.as_ref().map(|s| s.info.last_id));
        let Some(from) = after.next() else { continue };
        let entries = match stream {
            Some(stream) if !stream.is_empty() => {
                stream.range(&txn, from, StreamId::MAX, false, read.count)?
            }
            _ => Vec::new(),
        };
        if !entries.is_empty() {
            let entries = entries.iter().map(entry_reply).collect();
            results.push((Reply::Bulk(key.clone()), Reply::Array(entries)));
        }
    }
    if !results.is_empty() {
        return Ok(streams_reply(ctx, results));
    }
    match read.block {
        None => Ok(Reply::NilArray),
        Some(timeout) => {
            // `$` must keep meaning "after the last ID when XREAD was first called" when
            // the command is re-run after a wake-up.
            ctx.client.block_context = Some(Box::new(starts));
            let key_refs: Vec<&[u8]> = read.keys.iter().map(|k| k.as_ref()).collect();
            let timeout = (!timeout.is_zero()).then_some(timeout);
            let reply = ctx.block_on(&key_refs, timeout);
            drop(txn);
            wake_if_log_moved(ctx, &read.keys, &seen_last)?;
            reply
        }
    }
}

/// The ID after which each stream is read: given IDs, or the stream's last ID for `$`
/// (remembered across blocking retries). Checks key types on the first run.
fn resolve_start_ids(
    ctx: &mut Ctx,
    txn: &mut Txn,
    read: &ReadArgs,
) -> Result<Vec<StreamId>, CmdError> {
    if let Some(saved) = ctx
        .client
        .block_context
        .take()
        .and_then(|c| c.downcast::<Vec<StreamId>>().ok())
    {
        return Ok(*saved);
    }
    let mut starts = Vec::with_capacity(read.keys.len());
    for (key, id) in read.keys.iter().zip(&read.ids) {
        let last = load(ctx, txn, key)?.map_or(StreamId::MIN, |s| s.info.last_id);
        starts.push(match id.as_ref() {
            b"$" => last,
            b">" => {
                return Err(CmdError::new("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."))
            }
            _ => parse_strict_id(id)?,
        });
    }
    Ok(starts)
}

pub fn field(name: &str, value: Reply) -> (Reply, Reply) {
    (Reply::text(name), value)
}

fn xinfo(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    let arity_ok = match sub.as_slice() {
        b"help" => args.len() == 2,
        b"stream" => args.len() >= 3,
        b"groups" => args.len() == 3,
        b"consumers" => args.len() == 4,
        _ => return Err(errors::unknown_subcommand("xinfo", &args[1])),
    };
    if !arity_ok {
        return Err(errors::wrong_arity(&format!(
            "xinfo|{}",
            String::from_utf8_lossy(&sub)
        )));
    }
    if sub.as_slice() == b"help" {
        return Ok(Reply::status_lines(XINFO_HELP));
    }
    let key = &args[2];
    let mut txn = ctx.txn_args(std::slice::from_ref(key));
    let Some(stream) = load(ctx, &mut txn, key)? else {
        return Err(CmdError::new(errors::NO_SUCH_KEY));
    };
    match sub.as_slice() {
        b"stream" => super::stream_group::xinfo_stream(&txn, &stream, &args[3..]),
        b"groups" => super::stream_group::xinfo_groups(&txn, &stream),
        _ => super::stream_group::xinfo_consumers(&txn, &stream, &args[3]),
    }
}

const XINFO_HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];
