//! Hash commands.

use std::ops::Bound::{Excluded, Unbounded};

use bytes::Bytes;
use redyn_protocol::args::{eq_ignore_case, format_incr_float, parse_f64, parse_i64_strict};
use redyn_protocol::glob::glob_match;
use redyn_protocol::{Reply, RespVersion};

use super::errors::{self, CmdError};
use super::keys::{parse_cursor, parse_scan_options, scan_reply};
use super::{sampling, CmdResult, CommandSpec, Ctx, Flag, ONE_KEY};
use crate::engine::Meta;
use crate::types::hash;
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("hset", -4, &[Write, DenyOom, Fast, Batch, SubKey], ONE_KEY, "hash", "2.0.0", "Creates or modifies the value of a field in a hash.", hset),
    CommandSpec::new("hmset", -4, &[Write, DenyOom, Fast], ONE_KEY, "hash", "2.0.0", "Sets the values of multiple fields.", hset),
    CommandSpec::new("hsetnx", 4, &[Write, DenyOom, Fast], ONE_KEY, "hash", "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist.", hsetnx),
    CommandSpec::new("hget", 3, &[ReadOnly, Fast, Batch, SubKey], ONE_KEY, "hash", "2.0.0", "Returns the value of a field in a hash.", hget),
    CommandSpec::new("hmget", -3, &[ReadOnly, Fast], ONE_KEY, "hash", "2.0.0", "Returns the values of all fields in a hash.", hmget),
    CommandSpec::new("hdel", -3, &[Write, Fast], ONE_KEY, "hash", "2.0.0", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", hdel),
    CommandSpec::new("hlen", 2, &[ReadOnly, Fast], ONE_KEY, "hash", "2.0.0", "Returns the number of fields in a hash.", hlen),
    CommandSpec::new("hstrlen", 3, &[ReadOnly, Fast], ONE_KEY, "hash", "3.2.0", "Returns the length of the value of a field.", hstrlen),
    CommandSpec::new("hexists", 3, &[ReadOnly, Fast], ONE_KEY, "hash", "2.0.0", "Determines whether a field exists in a hash.", hexists),
    CommandSpec::new("hgetall", 2, &[ReadOnly], ONE_KEY, "hash", "2.0.0", "Returns all fields and values in a hash.", hgetall),
    CommandSpec::new("hkeys", 2, &[ReadOnly], ONE_KEY, "hash", "2.0.0", "Returns all fields in a hash.", hgetall),
    CommandSpec::new("hvals", 2, &[ReadOnly], ONE_KEY, "hash", "2.0.0", "Returns all values in a hash.", hgetall),
    CommandSpec::new("hincrby", 4, &[Write, DenyOom, Fast], ONE_KEY, "hash", "2.0.0", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", hincrby),
    CommandSpec::new("hincrbyfloat", 4, &[Write, DenyOom, Fast], ONE_KEY, "hash", "2.6.0", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", hincrbyfloat),
    CommandSpec::new("hrandfield", -2, &[ReadOnly], ONE_KEY, "hash", "6.2.0", "Returns one or more random fields from a hash.", hrandfield),
    CommandSpec::new("hscan", -3, &[ReadOnly], ONE_KEY, "hash", "2.8.0", "Iterates over fields and values of a hash.", hscan),
];

/// HSET and HMSET: field/value pairs.
fn hset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let is_hmset = eq_ignore_case(&args[0], "hmset");
    if !args.len().is_multiple_of(2) {
        return Err(errors::wrong_arity(if is_hmset { "hmset" } else { "hset" }));
    }
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let mut meta = hash::load_or_create(&mut txn, key)?;
    let mut added = 0;
    for pair in args[2..].chunks(2) {
        if hash::set_field(&mut txn, key, &mut meta, &pair[0], pair[1].to_vec())? {
            added += 1;
        }
    }
    hash::store(&mut txn, key, meta)?;
    txn.notify('h', "hset", key);
    ctx.commit(txn)?;
    Ok(if is_hmset {
        Reply::ok()
    } else {
        Reply::Int(added)
    })
}

fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let mut meta = hash::load_or_create(&mut txn, key)?;
    if hash::get_field(&txn, key, &meta, &args[2])?.is_some() {
        return Ok(Reply::Int(0));
    }
    hash::set_field(&mut txn, key, &mut meta, &args[2], args[3].to_vec())?;
    hash::store(&mut txn, key, meta)?;
    txn.notify('h', "hset", key);
    ctx.commit(txn)?;
    Ok(Reply::Int(1))
}

/// Reads one field of a hash (nil when the key or field is missing).
fn read_field(ctx: &mut Ctx, key: &Bytes, field: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
    let mut txn = ctx.txn_args(std::slice::from_ref(key));
    match hash::load(&mut txn, key)? {
        Some(meta) => Ok(hash::get_field(&txn, key, &meta, field)?),
        None => Ok(None),
    }
}

fn hget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Reply::opt_bulk(read_field(ctx, &args[1], &args[2])?))
}

fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let value = read_field(ctx, &args[1], &args[2])?;
    Ok(Reply::Int(value.map_or(0, |v| v.len() as i64)))
}

fn hexists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let value = read_field(ctx, &args[1], &args[2])?;
    Ok(Reply::Int(i64::from(value.is_some())))
}

fn hmget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let meta = hash::load(&mut txn, key)?;
    let mut out = Vec::with_capacity(args.len() - 2);
    for field in &args[2..] {
        let value = match &meta {
            Some(meta) => hash::get_field(&txn, key, meta, field)?,
            None => None,
        };
        out.push(Reply::opt_bulk(value));
    }
    Ok(Reply::Array(out))
}

fn hdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(mut meta) = hash::load(&mut txn, key)? else {
        return Ok(Reply::Int(0));
    };
    let mut removed = 0;
    for field in &args[2..] {
        if hash::delete_field(&mut txn, key, &mut meta, field)? {
            removed += 1;
        }
    }
    if removed > 0 {
        let emptied = hash::store(&mut txn, key, meta)?;
        txn.notify('h', "hdel", key);
        if emptied {
            txn.notify('g', "del", key);
        }
        ctx.commit(txn)?;
    }
    Ok(Reply::Int(removed))
}

fn hlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    Ok(Reply::Int(
        hash::load(&mut txn, &args[1])?.map_or(0, |m| m.len as i64),
    ))
}

/// HGETALL, HKEYS and HVALS.
fn hgetall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = args[0].to_ascii_lowercase();
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let entries = match hash::load(&mut txn, key)? {
        Some(meta) => hash::entries(&txn, key, &meta)?,
        None => Vec::new(),
    };
    Ok(match name.as_slice() {
        b"hkeys" => Reply::Array(entries.into_iter().map(|(f, _)| Reply::bulk(f)).collect()),
        b"hvals" => Reply::Array(entries.into_iter().map(|(_, v)| Reply::bulk(v)).collect()),
        _ => Reply::Map(
            entries
                .into_iter()
                .map(|(f, v)| (Reply::bulk(f), Reply::bulk(v)))
                .collect(),
        ),
    })
}

/// Applies `update` to a field's current value (absent = None) and stores the result.
fn update_field(
    ctx: &mut Ctx,
    args: &[Bytes],
    event: &'static str,
    update: impl FnOnce(Option<&[u8]>) -> Result<(Vec<u8>, Reply), CmdError>,
) -> CmdResult {
    let (key, field) = (&args[1], &args[2]);
    let mut txn = ctx.txn_args(&args[1..2]);
    let mut meta: Meta = hash::load_or_create(&mut txn, key)?;
    let current = hash::get_field(&txn, key, &meta, field)?;
    let (new_value, reply) = update(current.as_deref())?;
    hash::set_field(&mut txn, key, &mut meta, field, new_value)?;
    hash::store(&mut txn, key, meta)?;
    txn.notify('h', event, key);
    ctx.commit(txn)?;
    Ok(reply)
}

fn hincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let delta = errors::int_arg(&args[3])?;
    update_field(ctx, args, "hincrby", |current| {
        let value = match current {
            None => 0,
            Some(raw) => parse_i64_strict(raw)
                .ok_or_else(|| CmdError::new("ERR hash value is not an integer"))?,
        };
        let new = value
            .checked_add(delta)
            .ok_or_else(|| CmdError::new(errors::OVERFLOW))?;
        Ok((new.to_string().into_bytes(), Reply::Int(new)))
    })
}

fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let delta = errors::float_arg(&args[3])?;
    update_field(ctx, args, "hincrbyfloat", |current| {
        let value = match current {
            None => 0.0,
            Some(raw) => {
                parse_f64(raw).ok_or_else(|| CmdError::new("ERR hash value is not a float"))?
            }
        };
        let new = value + delta;
        if !new.is_finite() {
            return Err(CmdError::new("ERR increment would produce NaN or Infinity"));
        }
        let text = format_incr_float(new);
        Ok((text.clone().into_bytes(), Reply::text(text)))
    })
}

fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (count, with_values) = sampling::parse_args(args, "withvalues")?;
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let entries = match hash::load(&mut txn, key)? {
        Some(meta) => hash::entries(&txn, key, &meta)?,
        None => Vec::new(),
    };
    let Some(count) = count else {
        return Ok(Reply::opt_bulk(
            sampling::pick_one(&entries).map(|(f, _)| f),
        ));
    };
    let picked = sampling::pick(&entries, count);
    let resp3 = ctx.client.resp == RespVersion::Resp3;
    Ok(Reply::Array(if !with_values {
        picked.into_iter().map(|(f, _)| Reply::bulk(f)).collect()
    } else if resp3 {
        picked
            .into_iter()
            .map(|(f, v)| Reply::Array(vec![Reply::bulk(f), Reply::bulk(v)]))
            .collect()
    } else {
        picked
            .into_iter()
            .flat_map(|(f, v)| [Reply::bulk(f), Reply::bulk(v)])
            .collect()
    }))
}

/// HSCAN: continues in field order after the last field examined (remembered behind the
/// cursor number), so a field present for the whole scan is returned exactly once, and a
/// call reads only about COUNT fields, never the whole hash.
fn hscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let opts = parse_scan_options(&args[3..], false)?;
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(meta) = hash::load(&mut txn, key)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let after = ctx.server.scan_cursors.resume_point(cursor);
    let lower = match &after {
        Some(field) => Excluded(field.as_slice()),
        None => Unbounded,
    };
    let mut items = Vec::new();
    let mut last: Option<Vec<u8>> = None;
    let mut more = false;
    let rows = txn.sub_scan(key, meta.version, lower, Unbounded, false);
    for (examined, row) in rows.enumerate() {
        let (field, value) = row?;
        if examined == opts.count {
            more = true;
            break;
        }
        if opts
            .pattern
            .as_ref()
            .is_none_or(|p| glob_match(p, &field, false))
        {
            items.push(Reply::bulk(field.clone()));
            items.push(Reply::bulk(value));
        }
        last = Some(field);
    }
    let next = match (more, last) {
        (true, Some(field)) => ctx.server.scan_cursors.save(field),
        _ => 0,
    };
    Ok(scan_reply(next, items))
}
