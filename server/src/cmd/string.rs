//! String commands.

use bytes::Bytes;
use redyn_protocol::args::{format_incr_float, parse_f64, parse_i64_strict};
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::keys::expire_at_ms;
use super::{CmdResult, CommandSpec, Ctx, Flag, ALL_KEYS, ONE_KEY};
use crate::engine::Txn;
use crate::types::string;
use Flag::*;

/// Every other key argument from the first (MSET, MSETNX).
const PAIRED_KEYS: super::table::KeySpec = (1, -1, 2);
/// LCS compares its first two arguments.
const LCS_KEYS: super::table::KeySpec = (1, 2, 1);

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", 2, &[ReadOnly, Fast, Batch], ONE_KEY, "string", "1.0.0", "Returns the string value of a key.", get),
    CommandSpec::new("set", -3, &[Write, DenyOom, Batch], ONE_KEY, "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", set),
    CommandSpec::new("setnx", 3, &[Write, DenyOom, Fast], ONE_KEY, "string", "1.0.0", "Set the string value of a key only when the key doesn't exist.", setnx),
    CommandSpec::new("setex", 4, &[Write, DenyOom], ONE_KEY, "string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", setex),
    CommandSpec::new("psetex", 4, &[Write, DenyOom], ONE_KEY, "string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", setex),
    CommandSpec::new("getset", 3, &[Write, DenyOom, Fast], ONE_KEY, "string", "1.0.0", "Returns the previous string value of a key after setting it to a new value.", getset),
    CommandSpec::new("getdel", 2, &[Write, Fast], ONE_KEY, "string", "6.2.0", "Returns the string value of a key after deleting the key.", getdel),
    CommandSpec::new("getex", -2, &[Write, Fast], ONE_KEY, "string", "6.2.0", "Returns the string value of a key after setting its expiration time.", getex),
    CommandSpec::new("mget", -2, &[ReadOnly, Fast], ALL_KEYS, "string", "1.0.0", "Atomically returns the string values of one or more keys.", mget),
    CommandSpec::new("mset", -3, &[Write, DenyOom], PAIRED_KEYS, "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.", mset),
    CommandSpec::new("msetnx", -3, &[Write, DenyOom], PAIRED_KEYS, "string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist.", mset),
    CommandSpec::new("append", 3, &[Write, DenyOom, Fast], ONE_KEY, "string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.", append),
    CommandSpec::new("strlen", 2, &[ReadOnly, Fast], ONE_KEY, "string", "2.2.0", "Returns the length of a string value.", strlen),
    CommandSpec::new("getrange", 4, &[ReadOnly], ONE_KEY, "string", "2.4.0", "Returns a substring of the string stored at a key.", getrange),
    CommandSpec::new("substr", 4, &[ReadOnly], ONE_KEY, "string", "1.0.0", "Returns a substring from a string value.", getrange),
    CommandSpec::new("setrange", 4, &[Write, DenyOom], ONE_KEY, "string", "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", setrange),
    CommandSpec::new("incr", 2, &[Write, DenyOom, Fast, Batch], ONE_KEY, "string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", incr),
    CommandSpec::new("decr", 2, &[Write, DenyOom, Fast, Batch], ONE_KEY, "string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", incr),
    CommandSpec::new("incrby", 3, &[Write, DenyOom, Fast, Batch], ONE_KEY, "string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", incr),
    CommandSpec::new("decrby", 3, &[Write, DenyOom, Fast, Batch], ONE_KEY, "string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", incr),
    CommandSpec::new("lcs", -3, &[ReadOnly], LCS_KEYS, "string", "7.0.0", "Finds the longest common substring.", lcs),
    CommandSpec::new("incrbyfloat", 3, &[Write, DenyOom, Fast], ONE_KEY, "string", "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", incrbyfloat),
];

fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    let value = string::with_value(&mut txn, &args[1], Bytes::copy_from_slice)?;
    Ok(Reply::opt_bulk(value))
}

/// How SET treats the key's expiry.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expiry {
    /// Remove any TTL (plain SET).
    Clear,
    /// KEEPTTL.
    Keep,
    /// Absolute Unix ms.
    At(i64),
}

/// Parses one of EX/PX/EXAT/PXAT's value into an absolute time.
fn parse_expiry(cmd: &str, opt: &[u8], value: &[u8], now: u64) -> Result<Expiry, CmdError> {
    let n = errors::int_arg(value)?;
    let (unit, absolute) = match opt.to_ascii_lowercase().as_slice() {
        b"ex" => (1000, false),
        b"px" => (1, false),
        b"exat" => (1000, true),
        _ => (1, true),
    };
    if n <= 0 {
        return Err(errors::invalid_expire(cmd));
    }
    Ok(Expiry::At(expire_at_ms(cmd, n, unit, absolute, now)?))
}

fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (key, value) = (&args[1], &args[2]);
    let mut nx = false;
    let mut xx = false;
    let mut get_old = false;
    let mut expiry = Expiry::Clear;
    let mut expiry_given = false;
    let mut txn = ctx.txn_args(&args[1..2]);
    let mut i = 3;
    while i < args.len() {
        let opt = args[i].to_ascii_lowercase();
        match opt.as_slice() {
            b"nx" if !xx => nx = true,
            b"xx" if !nx => xx = true,
            b"get" => get_old = true,
            b"keepttl" if !expiry_given => {
                expiry = Expiry::Keep;
                expiry_given = true;
            }
            b"ex" | b"px" | b"exat" | b"pxat" if !expiry_given && i + 1 < args.len() => {
                expiry = parse_expiry("set", &opt, &args[i + 1], txn.now())?;
                expiry_given = true;
                i += 1;
            }
            _ => return Err(errors::syntax()),
        }
        i += 1;
    }
    let old = txn.get_shared(key)?;
    let old_value = match (&old, get_old) {
        (Some(m), true) if m.kind != crate::engine::Kind::String => {
            return Err(errors::wrong_type())
        }
        (Some(m), true) => Some(string::value(&txn, key, m)?),
        _ => None,
    };
    if (nx && old.is_some()) || (xx && old.is_none()) {
        return Ok(Reply::opt_bulk(old_value));
    }
    let expire_at = match expiry {
        Expiry::Clear => 0,
        Expiry::Keep => old.as_ref().map_or(0, |m| m.expire_at),
        Expiry::At(at) => at as u64,
    };
    if let Expiry::At(at) = expiry {
        if at <= txn.now() as i64 {
            // Already expired: Redis deletes the key instead of storing it.
            txn.delete(key)?;
            ctx.commit(txn)?;
            return Ok(if get_old {
                Reply::opt_bulk(old_value)
            } else {
                Reply::ok()
            });
        }
    }
    string::set(&mut txn, key, value.to_vec(), expire_at)?;
    txn.notify('$', "set", key);
    if expire_at != 0 && expiry != Expiry::Keep {
        txn.notify('g', "expire", key);
    }
    ctx.commit(txn)?;
    Ok(if get_old {
        Reply::opt_bulk(old_value)
    } else {
        Reply::ok()
    })
}

fn setnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    if txn.exists(&args[1])? {
        return Ok(Reply::Int(0));
    }
    string::set(&mut txn, &args[1], args[2].to_vec(), 0)?;
    txn.notify('$', "set", &args[1]);
    ctx.commit(txn)?;
    Ok(Reply::Int(1))
}

/// SETEX and PSETEX.
fn setex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cmd = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let mut txn = ctx.txn_args(&args[1..2]);
    let unit: &[u8] = if cmd == "psetex" { b"px" } else { b"ex" };
    let Expiry::At(at) = parse_expiry(&cmd, unit, &args[2], txn.now())? else {
        unreachable!("EX/PX always give an absolute time")
    };
    string::set(&mut txn, &args[1], args[3].to_vec(), at as u64)?;
    txn.notify('$', "set", &args[1]);
    txn.notify('g', "expire", &args[1]);
    ctx.commit(txn)?;
    Ok(Reply::ok())
}

fn getset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    let old = string::get(&mut txn, &args[1])?;
    string::set(&mut txn, &args[1], args[2].to_vec(), 0)?;
    txn.notify('$', "set", &args[1]);
    ctx.commit(txn)?;
    Ok(Reply::opt_bulk(old))
}

fn getdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    let old = string::get(&mut txn, &args[1])?;
    if old.is_some() {
        txn.delete(&args[1])?;
        txn.notify('g', "del", &args[1]);
        ctx.commit(txn)?;
    }
    Ok(Reply::opt_bulk(old))
}

fn getex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let mut change: Option<Expiry> = None;
    let mut i = 2;
    while i < args.len() {
        let opt = args[i].to_ascii_lowercase();
        match opt.as_slice() {
            b"persist" if change.is_none() => change = Some(Expiry::Clear),
            b"ex" | b"px" | b"exat" | b"pxat" if change.is_none() && i + 1 < args.len() => {
                change = Some(parse_expiry("getex", &opt, &args[i + 1], txn.now())?);
                i += 1;
            }
            _ => return Err(errors::syntax()),
        }
        i += 1;
    }
    let Some(mut meta) = crate::types::get_of_kind(&mut txn, key, crate::engine::Kind::String)?
    else {
        return Ok(Reply::Nil);
    };
    let value = string::value(&txn, key, &meta)?;
    match change {
        None => return Ok(Reply::bulk(value)),
        Some(Expiry::At(at)) if at <= txn.now() as i64 => {
            txn.delete(key)?;
            txn.notify('g', "del", key);
        }
        Some(Expiry::At(at)) => {
            meta.expire_at = at as u64;
            txn.put(key, meta)?;
            txn.notify('g', "expire", key);
        }
        Some(_) if meta.expire_at != 0 => {
            meta.expire_at = 0;
            txn.put(key, meta)?;
            txn.notify('g', "persist", key);
        }
        Some(_) => {}
    }
    ctx.commit(txn)?;
    Ok(Reply::bulk(value))
}

fn mget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let keys = &args[1..];
    let mut txn = ctx.txn_args(keys);
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        // MGET answers nil for keys of other types instead of failing.
        let value = match txn.get_shared(key)? {
            Some(m) if m.kind == crate::engine::Kind::String => Some(string::value(&txn, key, &m)?),
            _ => None,
        };
        out.push(Reply::opt_bulk(value));
    }
    Ok(Reply::Array(out))
}

/// MSET and MSETNX.
fn mset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    if args.len().is_multiple_of(2) {
        return Err(errors::wrong_arity(&name));
    }
    let pairs: Vec<_> = args[1..].chunks(2).collect();
    let keys: Vec<&[u8]> = pairs.iter().map(|p| p[0].as_ref()).collect();
    let mut txn = ctx.txn(&keys);
    let only_new = name == "msetnx";
    if only_new {
        for key in &keys {
            if txn.exists(key)? {
                return Ok(Reply::Int(0));
            }
        }
    }
    for pair in &pairs {
        string::set(&mut txn, &pair[0], pair[1].to_vec(), 0)?;
        txn.notify('$', "set", &pair[0]);
    }
    ctx.commit(txn)?;
    Ok(if only_new { Reply::Int(1) } else { Reply::ok() })
}

fn append(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    let meta = string::load(&mut txn, &args[1])?;
    let end = meta.as_ref().map_or(0, string::len);
    check_size(ctx, end + args[2].len())?;
    let len = string::write_at(&mut txn, &args[1], meta, end, &args[2])?;
    txn.notify('$', "append", &args[1]);
    ctx.commit(txn)?;
    Ok(Reply::Int(len as i64))
}

fn check_size(ctx: &Ctx, len: usize) -> Result<(), CmdError> {
    if len > ctx.server.config.read().proto_max_bulk_len {
        return Err(CmdError::new(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    Ok(())
}

fn strlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    Ok(Reply::Int(
        string::load(&mut txn, &args[1])?.map_or(0, |m| string::len(&m) as i64),
    ))
}

/// GETRANGE with Redis's index rules (negative from the end, clamped, empty when inverted).
fn getrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = errors::int_arg(&args[2])?;
    let end = errors::int_arg(&args[3])?;
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(meta) = string::load(&mut txn, &args[1])? else {
        return Ok(Reply::bulk(Bytes::new()));
    };
    let len = string::len(&meta) as i64;
    if len == 0 || (start < 0 && end < 0 && start > end) {
        return Ok(Reply::bulk(Bytes::new()));
    }
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    s = s.max(0);
    e = e.max(0).min(len - 1);
    if s > e {
        return Ok(Reply::bulk(Bytes::new()));
    }
    let bytes = s as usize..e as usize + 1;
    Ok(Reply::bulk(string::range(&txn, &args[1], &meta, bytes)?))
}

fn setrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let offset = errors::int_arg(&args[2])?;
    if offset < 0 {
        return Err(CmdError::new("ERR offset is out of range"));
    }
    let patch = &args[3];
    let mut txn = ctx.txn_args(&args[1..2]);
    let current = string::load(&mut txn, &args[1])?;
    if patch.is_empty() {
        return Ok(Reply::Int(current.map_or(0, |m| string::len(&m) as i64)));
    }
    let offset = offset as usize;
    check_size(ctx, offset + patch.len())?;
    let len = string::write_at(&mut txn, &args[1], current, offset, patch)?;
    txn.notify('$', "setrange", &args[1]);
    ctx.commit(txn)?;
    Ok(Reply::Int(len as i64))
}

/// Reads a string key as an integer for INCR-style commands.
fn current_int(txn: &mut Txn, key: &[u8]) -> Result<i64, CmdError> {
    match string::with_value(txn, key, parse_i64_strict)? {
        None => Ok(0),
        Some(parsed) => parsed.ok_or_else(errors::not_integer),
    }
}

/// INCR, DECR, INCRBY, DECRBY.
fn incr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = &args[0];
    let delta = match () {
        _ if name.eq_ignore_ascii_case(b"incr") => 1,
        _ if name.eq_ignore_ascii_case(b"decr") => -1,
        _ if name.eq_ignore_ascii_case(b"incrby") => errors::int_arg(&args[2])?,
        _ => {
            let d = errors::int_arg(&args[2])?;
            if d == i64::MIN {
                return Err(CmdError::new("ERR decrement would overflow"));
            }
            -d
        }
    };
    let mut txn = ctx.txn_args(&args[1..2]);
    let value = current_int(&mut txn, &args[1])?
        .checked_add(delta)
        .ok_or_else(|| CmdError::new(errors::OVERFLOW))?;
    let text = value.to_string().into_bytes();
    string::update(&mut txn, &args[1], text)?;
    txn.notify('$', "incrby", &args[1]);
    ctx.commit(txn)?;
    Ok(Reply::Int(value))
}

fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let delta = errors::float_arg(&args[2])?;
    let mut txn = ctx.txn_args(&args[1..2]);
    let current = match string::get(&mut txn, &args[1])? {
        None => 0.0,
        Some(v) => parse_f64(&v).ok_or_else(errors::not_float)?,
    };
    let value = current + delta;
    if !value.is_finite() {
        return Err(CmdError::new("ERR increment would produce NaN or Infinity"));
    }
    let text = format_incr_float(value);
    string::update(&mut txn, &args[1], text.clone().into_bytes())?;
    txn.notify('$', "incrbyfloat", &args[1]);
    ctx.commit(txn)?;
    Ok(Reply::text(text))
}

/// LCS's options.
#[derive(Debug, Default)]
struct LcsOptions {
    idx: bool,
    len: bool,
    with_match_len: bool,
    min_match_len: usize,
}

fn parse_lcs_options(args: &[Bytes]) -> Result<LcsOptions, CmdError> {
    let mut opts = LcsOptions::default();
    let mut i = 0;
    while i < args.len() {
        match args[i].to_ascii_lowercase().as_slice() {
            b"idx" => opts.idx = true,
            b"len" => opts.len = true,
            b"withmatchlen" => opts.with_match_len = true,
            b"minmatchlen" if i + 1 < args.len() => {
                // Negative means no minimum, as in Redis.
                opts.min_match_len = errors::int_arg(&args[i + 1])?.max(0) as usize;
                i += 1;
            }
            _ => return Err(errors::syntax()),
        }
        i += 1;
    }
    if opts.idx && opts.len {
        return Err(CmdError::new(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    Ok(opts)
}

/// Reads one LCS input: a missing key is an empty string, another type an error.
fn lcs_input(txn: &mut Txn, key: &[u8]) -> Result<Vec<u8>, CmdError> {
    match txn.get(key)? {
        None => Ok(Vec::new()),
        Some(meta) if meta.kind == crate::engine::Kind::String => {
            Ok(string::value(txn, key, &meta)?)
        }
        Some(_) => Err(CmdError::new(
            "ERR The specified keys must contain string values",
        )),
    }
}

fn lcs(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..3]);
    let a = lcs_input(&mut txn, &args[1])?;
    let b = lcs_input(&mut txn, &args[2])?;
    // The comparison below can be long: it needs no locks.
    drop(txn);
    let opts = parse_lcs_options(&args[3..])?;
    let limit = u32::MAX as usize - 1;
    if a.len() >= limit || b.len() >= limit {
        return Err(CmdError::new("ERR String too long for LCS"));
    }
    let max_table = ctx.server.config.read().proto_max_bulk_len as u128;
    if string::lcs_table_bytes(a.len(), b.len()) > max_table {
        return Err(CmdError::new(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let found = string::lcs(&a, &b);
    if opts.len {
        return Ok(Reply::Int(found.text.len() as i64));
    }
    if !opts.idx {
        return Ok(Reply::bulk(found.text));
    }
    let range = |(start, end): (usize, usize)| {
        Reply::Array(vec![Reply::Int(start as i64), Reply::Int(end as i64)])
    };
    let matches = found
        .matches
        .iter()
        .filter(|m| m.run_len() >= opts.min_match_len)
        .map(|m| {
            let mut entry = vec![range(m.a), range(m.b)];
            if opts.with_match_len {
                entry.push(Reply::Int(m.run_len() as i64));
            }
            Reply::Array(entry)
        })
        .collect();
    Ok(Reply::Map(vec![
        (Reply::text("matches"), Reply::Array(matches)),
        (Reply::text("len"), Reply::Int(found.text.len() as i64)),
    ]))
}
