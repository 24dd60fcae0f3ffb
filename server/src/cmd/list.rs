//! List commands, with Redis 7.0's replies, error texts and keyspace events.
//!
//! Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) serve waiting clients in the
//! order they blocked: see [`super::wait_queue`].

use bytes::Bytes;
use redyn_protocol::args::{eq_ignore_case, parse_i64_strict};
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::wait_queue::{self, Family};
use super::{parse_block_timeout, CmdResult, CommandSpec, Ctx, Flag, ONE_KEY};
use crate::engine::{Meta, Txn};
use crate::types::list::{self, End};
use crate::types::TypeError;
use Flag::*;

const TWO_KEYS: super::table::KeySpec = (1, 2, 1);
/// Keys follow a numkeys argument (LMPOP): declared without fixed positions.
const NUMKEYS: super::table::KeySpec = (0, 0, 0);
/// Every argument but the last (the timeout) is a key.
const KEYS_THEN_TIMEOUT: super::table::KeySpec = (1, -2, 1);

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("lpush", -3, &[Write, DenyOom, Fast, Batch], ONE_KEY, "list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", push),
    CommandSpec::new("rpush", -3, &[Write, DenyOom, Fast, Batch], ONE_KEY, "list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.", push),
    CommandSpec::new("lpushx", -3, &[Write, DenyOom, Fast], ONE_KEY, "list", "2.2.0", "Prepends one or more elements to a list only when the list exists.", push),
    CommandSpec::new("rpushx", -3, &[Write, DenyOom, Fast], ONE_KEY, "list", "2.2.0", "Appends an element to a list only when the list exists.", push),
    CommandSpec::new("lpop", -2, &[Write, Fast, Batch], ONE_KEY, "list", "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", pop),
    CommandSpec::new("rpop", -2, &[Write, Fast, Batch], ONE_KEY, "list", "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", pop),
    CommandSpec::new("llen", 2, &[ReadOnly, Fast, Batch], ONE_KEY, "list", "1.0.0", "Returns the length of a list.", llen),
    CommandSpec::new("lindex", 3, &[ReadOnly, Batch], ONE_KEY, "list", "1.0.0", "Returns an element from a list by its index.", lindex),
    CommandSpec::new("lset", 4, &[Write, DenyOom], ONE_KEY, "list", "1.0.0", "Sets the value of an element in a list by its index.", lset),
    CommandSpec::new("lrange", 4, &[ReadOnly, Batch], ONE_KEY, "list", "1.0.0", "Returns a range of elements from a list.", lrange),
    CommandSpec::new("ltrim", 4, &[Write], ONE_KEY, "list", "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", ltrim),
    CommandSpec::new("lrem", 4, &[Write], ONE_KEY, "list", "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed.", lrem),
    CommandSpec::new("linsert", 5, &[Write, DenyOom], ONE_KEY, "list", "2.2.0", "Inserts an element before or after another element in a list.", linsert),
    CommandSpec::new("lpos", -3, &[ReadOnly], ONE_KEY, "list", "6.0.6", "Returns the index of matching elements in a list.", lpos),
    CommandSpec::new("lmove", 5, &[Write, DenyOom], TWO_KEYS, "list", "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", lmove),
    CommandSpec::new("rpoplpush", 3, &[Write, DenyOom], TWO_KEYS, "list", "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", lmove),
    CommandSpec::new("lmpop", -4, &[Write], NUMKEYS, "list", "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", lmpop),
    CommandSpec::new("blpop", -3, &[Write, NoScript, Blocking], KEYS_THEN_TIMEOUT, "list", "2.0.0", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", bpop),
    CommandSpec::new("brpop", -3, &[Write, NoScript, Blocking], KEYS_THEN_TIMEOUT, "list", "2.0.0", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", bpop),
    CommandSpec::new("blmove", 6, &[Write, DenyOom, NoScript, Blocking], TWO_KEYS, "list", "6.2.0", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", blmove),
    CommandSpec::new("brpoplpush", 4, &[Write, DenyOom, NoScript, Blocking], TWO_KEYS, "list", "2.2.0", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", blmove),
    CommandSpec::new("blmpop", -5, &[Write, Blocking], NUMKEYS, "list", "7.0.0", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blmpop),
];

fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

/// LPUSH, RPUSH, LPUSHX, RPUSHX: the new length (0 when an X variant finds no list).
fn push(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = &args[0];
    let end = if name[0].eq_ignore_ascii_case(&b'l') {
        End::Head
    } else {
        End::Tail
    };
    let only_existing = name.last().is_some_and(|c| c.eq_ignore_ascii_case(&b'x'));
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let mut meta = match list::load(&mut txn, key)? {
        Some(meta) => meta,
        None if only_existing => return Ok(Reply::Int(0)),
        None => list::load_or_create(&mut txn, key)?,
    };
    for element in &args[2..] {
        list::push(&mut txn, key, &mut meta, end, element.to_vec())?;
    }
    let len = meta.len;
    list::store(&mut txn, key, meta)?;
    txn.notify('l', push_event(end), key);
    ctx.commit(txn)?;
    Ok(Reply::Int(len as i64))
}

/// Pops up to `count` elements from `end` of the list `meta`, raising Redis's events and
/// deleting the key when it empties.
fn pop_and_store(
    txn: &mut Txn,
    key: &[u8],
    mut meta: Meta,
    end: End,
    count: usize,
) -> Result<Vec<Vec<u8>>, CmdError> {
    let popped = list::pop(txn, key, &mut meta, end, count)?;
    let emptied = list::store(txn, key, meta)?;
    txn.notify('l', pop_event(end), key);
    if emptied {
        txn.notify('g', "del", key);
    }
    Ok(popped)
}

/// LPOP/RPOP's count: Redis says "must be positive" for anything but a non-negative integer.
fn parse_pop_count(arg: &[u8]) -> Result<usize, CmdError> {
    match parse_i64_strict(arg) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(CmdError::new("ERR value is out of range, must be positive")),
    }
}

fn pop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let end = if eq_ignore_case(&args[0], "lpop") {
        End::Head
    } else {
        End::Tail
    };
    let count = match args.len() {
        2 => None,
        3 => Some(parse_pop_count(&args[2])?),
        _ => {
            return Err(errors::wrong_arity(
                &String::from_utf8_lossy(&args[0]).to_ascii_lowercase(),
            ))
        }
    };
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(meta) = list::load(&mut txn, key)? else {
        return Ok(if count.is_some() {
            Reply::NilArray
        } else {
            Reply::Nil
        });
    };
    if count == Some(0) {
        return Ok(Reply::Array(Vec::new()));
    }
    let popped = pop_and_store(&mut txn, key, meta, end, count.unwrap_or(1))?;
    ctx.commit(txn)?;
    Ok(match count {
        Some(_) => bulks(popped),
        None => Reply::opt_bulk(popped.into_iter().next()),
    })
}

fn bulks(elements: Vec<Vec<u8>>) -> Reply {
    Reply::Array(elements.into_iter().map(Reply::bulk).collect())
}

fn llen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    Ok(Reply::Int(
        list::load(&mut txn, &args[1])?.map_or(0, |m| m.len as i64),
    ))
}

/// A Redis index (negative = from the tail) as a position in a list of `len`, if inside.
fn position(index: i64, len: u64) -> Option<u64> {
    let len = len as i64;
    let index = if index < 0 { index + len } else { index };
    (0..len).contains(&index).then_some(index as u64)
}

fn lindex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(meta) = list::load(&mut txn, key)? else {
        return Ok(Reply::Nil);
    };
    let index = errors::int_arg(&args[2])?;
    let element = match position(index, meta.len) {
        Some(at) => list::get(&txn, key, &meta, at)?,
        None => None,
    };
    Ok(Reply::opt_bulk(element))
}

fn lset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(meta) = list::load(&mut txn, key)? else {
        return Err(CmdError::new(errors::NO_SUCH_KEY));
    };
    let index = errors::int_arg(&args[2])?;
    let at = position(index, meta.len).ok_or_else(|| CmdError::new("ERR index out of range"))?;
    list::set(&mut txn, key, &meta, at, args[3].to_vec())?;
    txn.notify('l', "lset", key);
    ctx.commit(txn)?;
    Ok(Reply::ok())
}

/// Redis's start/stop range over a list of `len`: the inclusive positions, or `None` when
/// the range is empty.
fn range_positions(start: i64, stop: i64, len: u64) -> Option<(u64, u64)> {
    let len = len as i64;
    let start = if start < 0 {
        (start + len).max(0)
    } else {
        start
    };
    let stop = if stop < 0 {
        stop + len
    } else {
        stop.min(len - 1)
    };
    (start <= stop && start < len).then_some((start as u64, stop as u64))
}

fn lrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = errors::int_arg(&args[2])?;
    let stop = errors::int_arg(&args[3])?;
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(meta) = list::load(&mut txn, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    Ok(match range_positions(start, stop, meta.len) {
        Some((from, to)) => {
            let elements = list::range_shared(&txn, key, &meta, from, to)?;
            Reply::SharedBulks {
                values: elements.all,
                len: elements.len,
            }
        }
        None => Reply::Array(Vec::new()),
    })
}

fn ltrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = errors::int_arg(&args[2])?;
    let stop = errors::int_arg(&args[3])?;
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(mut meta) = list::load(&mut txn, key)? else {
        return Ok(Reply::ok());
    };
    let keep = range_positions(start, stop, meta.len);
    list::trim(&mut txn, key, &mut meta, keep)?;
    let emptied = list::store(&mut txn, key, meta)?;
    txn.notify('l', "ltrim", key);
    if emptied {
        txn.notify('g', "del", key);
    }
    ctx.commit(txn)?;
    Ok(Reply::ok())
}

fn lrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let count = errors::int_arg(&args[2])?;
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(mut meta) = list::load(&mut txn, key)? else {
        return Ok(Reply::Int(0));
    };
    let removed = list::remove(&mut txn, key, &mut meta, count, &args[3])?;
    if removed > 0 {
        let emptied = list::store(&mut txn, key, meta)?;
        txn.notify('l', "lrem", key);
        if emptied {
            txn.notify('g', "del", key);
        }
        ctx.commit(txn)?;
    }
    Ok(Reply::Int(removed as i64))
}

fn linsert(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let after = if eq_ignore_case(&args[2], "after") {
        true
    } else if eq_ignore_case(&args[2], "before") {
        false
    } else {
        return Err(errors::syntax());
    };
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(mut meta) = list::load(&mut txn, key)? else {
        return Ok(Reply::Int(0));
    };
    if !list::insert(&mut txn, key, &mut meta, &args[3], args[4].to_vec(), after)? {
        return Ok(Reply::Int(-1));
    }
    let len = meta.len;
    list::store(&mut txn, key, meta)?;
    txn.notify('l', "linsert", key);
    ctx.commit(txn)?;
    Ok(Reply::Int(len as i64))
}

/// LPOS options.
struct LposOptions {
    /// 1-based match to start from; negative searches from the tail.
    rank: i64,
    /// `None` = reply one index; `Some(0)` = every match.
    count: Option<u64>,
    /// Elements compared at most (0 = all).
    maxlen: u64,
}

fn parse_lpos_options(opts: &[Bytes]) -> Result<LposOptions, CmdError> {
    let mut parsed = LposOptions {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let non_negative = |arg: &[u8], error: &str| match parse_i64_strict(arg) {
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(CmdError::new(error)),
    };
    let mut i = 0;
    while i < opts.len() {
        let Some(value) = opts.get(i + 1) else {
            return Err(errors::syntax());
        };
        if eq_ignore_case(&opts[i], "rank") {
            parsed.rank = errors::int_arg(value)?;
            if parsed.rank == 0 {
                return Err(CmdError::new("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
        } else if eq_ignore_case(&opts[i], "count") {
            parsed.count = Some(non_negative(value, "ERR COUNT can't be negative")?);
        } else if eq_ignore_case(&opts[i], "maxlen") {
            parsed.maxlen = non_negative(value, "ERR MAXLEN can't be negative")?;
        } else {
            return Err(errors::syntax());
        }
        i += 2;
    }
    Ok(parsed)
}

fn lpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let opts = parse_lpos_options(&args[3..])?;
    let (key, wanted) = (&args[1], &args[2]);
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(meta) = list::load(&mut txn, key)? else {
        return Ok(match opts.count {
            Some(_) => Reply::Array(Vec::new()),
            None => Reply::Nil,
        });
    };
    let skip = opts.rank.unsigned_abs() - 1;
    let want = match opts.count {
        None => 1,
        Some(0) => u64::MAX,
        Some(n) => n,
    };
    let compared = if opts.maxlen == 0 {
        u64::MAX
    } else {
        opts.maxlen
    };
    let mut found = Vec::new();
    let mut matches = 0u64;
    for row in list::scan(&txn, key, &meta, opts.rank < 0)?.take(compared.min(meta.len) as usize) {
        let (index, element) = row?;
        if element != wanted.as_ref() {
            continue;
        }
        matches += 1;
        if matches > skip {
            found.push(Reply::Int(index as i64));
            if found.len() as u64 >= want {
                break;
            }
        }
    }
    Ok(match opts.count {
        Some(_) => Reply::Array(found),
        None => found.pop().unwrap_or(Reply::Nil),
    })
}

/// LMOVE's and BLMOVE's LEFT/RIGHT argument.
fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    End::parse(arg).ok_or_else(errors::syntax)
}

/// Moves one element from `from` of `src` to `to` of `dst` (the same key may be both);
/// `None` when `src` is missing. WRONGTYPE when either key holds another type.
fn move_element(
    txn: &mut Txn,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<Option<Vec<u8>>, CmdError> {
    let Some(mut src_meta) = list::load(txn, src)? else {
        return Ok(None);
    };
    let dst_meta = list::load(txn, dst)?;
    let element = list::pop(txn, src, &mut src_meta, from, 1)?
        .pop()
        .ok_or(TypeError::Corrupt("list length"))?;
    if src == dst {
        list::push(txn, src, &mut src_meta, to, element.clone())?;
        list::store(txn, src, src_meta)?;
        txn.notify('l', push_event(to), dst);
        txn.notify('l', pop_event(from), src);
        return Ok(Some(element));
    }
    let mut dst_meta = match dst_meta {
        Some(meta) => meta,
        None => list::load_or_create(txn, dst)?,
    };
    list::push(txn, dst, &mut dst_meta, to, element.clone())?;
    list::store(txn, dst, dst_meta)?;
    txn.notify('l', push_event(to), dst);
    let emptied = list::store(txn, src, src_meta)?;
    txn.notify('l', pop_event(from), src);
    if emptied {
        txn.notify('g', "del", src);
    }
    Ok(Some(element))
}

/// LMOVE src dst LEFT|RIGHT LEFT|RIGHT, and RPOPLPUSH src dst (RIGHT LEFT).
fn lmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (from, to) = if args.len() == 5 {
        (parse_end(&args[3])?, parse_end(&args[4])?)
    } else {
        (End::Tail, End::Head)
    };
    let mut txn = ctx.txn_args(&args[1..3]);
    let moved = move_element(&mut txn, &args[1], &args[2], from, to)?;
    if moved.is_some() {
        ctx.commit(txn)?;
    }
    Ok(Reply::opt_bulk(moved))
}

/// Parses `numkeys key... LEFT|RIGHT [COUNT n]` at `args[at..]`.
fn parse_mpop(args: &[Bytes], at: usize) -> Result<(&[Bytes], End, usize), CmdError> {
    let numkeys = match parse_i64_strict(&args[at]) {
        Some(n) if n > 0 => n as usize,
        _ => return Err(CmdError::new("ERR numkeys should be greater than 0")),
    };
    let where_at = at.saturating_add(1).saturating_add(numkeys);
    if where_at >= args.len() {
        return Err(errors::syntax());
    }
    let end = parse_end(&args[where_at])?;
    let count = match &args[where_at + 1..] {
        [] => 1,
        [word, n] if eq_ignore_case(word, "count") => match parse_i64_strict(n) {
            Some(n) if n > 0 => n as usize,
            _ => return Err(CmdError::new("ERR count should be greater than 0")),
        },
        _ => return Err(errors::syntax()),
    };
    Ok((&args[at + 1..where_at], end, count))
}

/// How a pop command takes from keys.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// LMPOP, LMOVE: any list, now.
    Plain,
    /// A blocking command's run: it waits for its turn behind clients blocked earlier.
    /// After a wake-up (`retry`), keys holding other types are passed over instead of
    /// failing the command, as Redis serves blocked clients from lists only.
    Blocking { retry: bool },
}

/// The key popped from and the elements popped, nearest the end first.
type Popped = (Bytes, Vec<Vec<u8>>);

/// Pops up to `count` elements from `end` of the first non-empty list among `keys`.
fn pop_first(
    ctx: &mut Ctx,
    keys: &[Bytes],
    end: End,
    count: usize,
    mode: Mode,
) -> Result<Option<Popped>, CmdError> {
    for key in keys {
        if !may_take(ctx, key, mode) {
            continue;
        }
        let mut txn = ctx.txn_args(std::slice::from_ref(key));
        let Some(meta) = load_for_serving(&mut txn, key, mode)? else {
            continue;
        };
        let popped = pop_and_store(&mut txn, key, meta, end, count)?;
        ctx.commit(txn)?;
        return Ok(Some((key.clone(), popped)));
    }
    Ok(None)
}

/// LMPOP's and BLMPOP's reply: `[key, [elements…]]`.
fn mpop_reply((key, popped): Popped) -> Reply {
    Reply::Array(vec![Reply::Bulk(key), bulks(popped)])
}

fn lmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (keys, end, count) = parse_mpop(args, 1)?;
    let popped = pop_first(ctx, keys, end, count, Mode::Plain)?;
    Ok(popped.map_or(Reply::NilArray, mpop_reply))
}

// ---- Blocking commands ----

/// Whether this client may take from `key` now: always for plain commands; for blocking
/// ones only when nobody blocked on it earlier still waits (first blocked, first served).
fn may_take(ctx: &Ctx, key: &[u8], mode: Mode) -> bool {
    mode == Mode::Plain || wait_queue::may_take(ctx, Family::List, key)
}

/// The list at `key`, or `None`; a woken command passes over keys of other types.
fn load_for_serving(txn: &mut Txn, key: &[u8], mode: Mode) -> Result<Option<Meta>, CmdError> {
    match list::load(txn, key) {
        Err(TypeError::WrongType) if mode == (Mode::Blocking { retry: true }) => Ok(None),
        other => Ok(other?),
    }
}

/// Whether `key` holds a list a blocked client could pop from.
fn has_elements(txn: &mut Txn, key: &[u8]) -> bool {
    matches!(list::load(txn, key), Ok(Some(_)))
}

/// Runs a list blocking command over the shared wait lines (see [`wait_queue`]); `serve`
/// gets the mode of this run (a retry after a wake-up, or the first run).
fn serve_or_block(
    ctx: &mut Ctx,
    keys: &[Bytes],
    timeout: Option<std::time::Duration>,
    in_multi: Reply,
    mut serve: impl FnMut(&mut Ctx, Mode) -> Result<Option<Reply>, CmdError>,
) -> CmdResult {
    wait_queue::serve_or_block(
        ctx,
        Family::List,
        keys,
        timeout,
        in_multi,
        has_elements,
        |ctx| {
            let retry = wait_queue::is_retry(ctx);
            serve(ctx, Mode::Blocking { retry })
        },
    )
}

/// BLPOP/BRPOP key... timeout: `[key, element]` from the first non-empty list.
fn bpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let end = if eq_ignore_case(&args[0], "blpop") {
        End::Head
    } else {
        End::Tail
    };
    let timeout = parse_block_timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    serve_or_block(ctx, keys, timeout, Reply::NilArray, |ctx, mode| {
        let popped = pop_first(ctx, keys, end, 1, mode)?;
        Ok(popped.map(|(key, mut elements)| {
            Reply::Array(vec![Reply::Bulk(key), Reply::opt_bulk(elements.pop())])
        }))
    })
}

/// BLMOVE src dst LEFT|RIGHT LEFT|RIGHT timeout, and BRPOPLPUSH src dst timeout.
fn blmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (from, to) = if args.len() == 6 {
        (parse_end(&args[3])?, parse_end(&args[4])?)
    } else {
        (End::Tail, End::Head)
    };
    let timeout = parse_block_timeout(&args[args.len() - 1])?;
    let (src, dst) = (&args[1], &args[2]);
    let keys = std::slice::from_ref(src);
    serve_or_block(ctx, keys, timeout, Reply::Nil, |ctx, mode| {
        if !may_take(ctx, src, mode) {
            return Ok(None);
        }
        let mut txn = ctx.txn_args(&args[1..3]);
        if load_for_serving(&mut txn, src, mode)?.is_none() {
            return Ok(None);
        }
        let moved = move_element(&mut txn, src, dst, from, to)?;
        ctx.commit(txn)?;
        Ok(moved.map(Reply::bulk))
    })
}

/// BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT n].
fn blmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (keys, end, count) = parse_mpop(args, 2)?;
    let timeout = parse_block_timeout(&args[1])?;
    serve_or_block(ctx, keys, timeout, Reply::NilArray, |ctx, mode| {
        Ok(pop_first(ctx, keys, end, count, mode)?.map(mpop_reply))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_follow_redis_index_rules() {
        assert_eq!(position(0, 3), Some(0));
        assert_eq!(position(-1, 3), Some(2));
        assert_eq!(position(-4, 3), None);
        assert_eq!(position(3, 3), None);
        assert_eq!(range_positions(0, -1, 3), Some((0, 2)));
        assert_eq!(range_positions(-100, 100, 3), Some((0, 2)));
        assert_eq!(range_positions(2, 1, 3), None);
        assert_eq!(range_positions(5, 10, 3), None);
        assert_eq!(range_positions(0, -4, 3), None);
        assert_eq!(range_positions(0, 0, 0), None);
    }
}
