//! Set commands.
//!
//! Multi-key commands (SMOVE, SINTER…, SINTERCARD) take all their keys in one transaction,
//! so they see and change the sets atomically, as single-threaded Redis does.

use std::collections::BTreeSet;

use bytes::Bytes;
use redyn_protocol::args::{eq_ignore_case, parse_i64_strict};
use redyn_protocol::glob::glob_match;
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::keys::{parse_cursor, parse_scan_options, scan_reply};
use super::{CmdResult, CommandSpec, Ctx, Flag, ALL_KEYS, ONE_KEY};
use crate::engine::{Meta, Txn};
use crate::types::set;
use Flag::*;

/// Keys follow a numkeys argument (SINTERCARD): declared without fixed positions.
const NUMKEYS: super::table::KeySpec = (0, 0, 0);

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("sadd", -3, &[Write, DenyOom, Fast, Batch, SubKey], ONE_KEY, "set", "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist.", sadd),
    CommandSpec::new("srem", -3, &[Write, Fast, Batch, SubKey], ONE_KEY, "set", "1.0.0", "Removes one or more members from a set. Deletes the set if the last member was removed.", srem),
    CommandSpec::new("smembers", 2, &[ReadOnly], ONE_KEY, "set", "1.0.0", "Returns all members of a set.", smembers),
    CommandSpec::new("sismember", 3, &[ReadOnly, Fast, Batch, SubKey], ONE_KEY, "set", "1.0.0", "Determines whether a member belongs to a set.", sismember),
    CommandSpec::new("smismember", -3, &[ReadOnly, Fast], ONE_KEY, "set", "6.2.0", "Determines whether multiple members belong to a set.", smismember),
    CommandSpec::new("scard", 2, &[ReadOnly, Fast, Batch], ONE_KEY, "set", "1.0.0", "Returns the number of members in a set.", scard),
    CommandSpec::new("spop", -2, &[Write, Fast, Batch], ONE_KEY, "set", "1.0.0", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", spop),
    CommandSpec::new("srandmember", -2, &[ReadOnly], ONE_KEY, "set", "1.0.0", "Get one or multiple random members from a set", srandmember),
    CommandSpec::new("smove", 4, &[Write, Fast], (1, 2, 1), "set", "1.0.0", "Moves a member from one set to another.", smove),
    CommandSpec::new("sinter", -2, &[ReadOnly], ALL_KEYS, "set", "1.0.0", "Returns the intersect of multiple sets.", sinter),
    CommandSpec::new("sunion", -2, &[ReadOnly], ALL_KEYS, "set", "1.0.0", "Returns the union of multiple sets.", sunion),
    CommandSpec::new("sdiff", -2, &[ReadOnly], ALL_KEYS, "set", "1.0.0", "Returns the difference of multiple sets.", sdiff),
    CommandSpec::new("sinterstore", -3, &[Write, DenyOom], ALL_KEYS, "set", "1.0.0", "Stores the intersect of multiple sets in a key.", sinterstore),
    CommandSpec::new("sunionstore", -3, &[Write, DenyOom], ALL_KEYS, "set", "1.0.0", "Stores the union of multiple sets in a key.", sunionstore),
    CommandSpec::new("sdiffstore", -3, &[Write, DenyOom], ALL_KEYS, "set", "1.0.0", "Stores the difference of multiple sets in a key.", sdiffstore),
    CommandSpec::new("sintercard", -3, &[ReadOnly], NUMKEYS, "set", "7.0.0", "Returns the number of members of the intersect of multiple sets.", sintercard),
    CommandSpec::new("sscan", -3, &[ReadOnly], ONE_KEY, "set", "2.8.0", "Iterates over members of a set.", sscan),
];

/// `set-max-intset-entries` when no configuration is at hand (RDB import): Redis's default.
pub(super) const DEFAULT_INTSET_LIMIT: u64 = 512;

/// `set-max-intset-entries`: up to this many integer members OBJECT ENCODING says `intset`.
pub(super) fn intset_limit(ctx: &Ctx) -> u64 {
    ctx.server.config.read().set_max_intset_entries
}

fn bulks(members: Vec<Vec<u8>>) -> Vec<Reply> {
    members.into_iter().map(Reply::bulk).collect()
}

fn sadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let limit = intset_limit(ctx);
    let mut txn = ctx.txn_args(&args[1..2]);
    let mut meta = set::load_or_create(&mut txn, key)?;
    let mut added = 0;
    for member in &args[2..] {
        if set::add(&mut txn, key, &mut meta, member, limit)? {
            added += 1;
        }
    }
    if added > 0 {
        set::store(&mut txn, key, meta)?;
        txn.notify('s', "sadd", key);
        ctx.commit(txn)?;
    }
    Ok(Reply::Int(added))
}

fn srem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(mut meta) = set::load(&mut txn, key)? else {
        return Ok(Reply::Int(0));
    };
    let mut removed = 0;
    for member in &args[2..] {
        if set::remove(&mut txn, key, &mut meta, member)? {
            removed += 1;
        }
    }
    if removed > 0 {
        let emptied = set::store(&mut txn, key, meta)?;
        txn.notify('s', "srem", key);
        if emptied {
            txn.notify('g', "del", key);
        }
        ctx.commit(txn)?;
    }
    Ok(Reply::Int(removed))
}

fn smembers(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let members = match set::load(&mut txn, key)? {
        Some(meta) => set::members(&txn, key, &meta)?,
        None => Vec::new(),
    };
    Ok(Reply::Set(bulks(members)))
}

/// Whether each of `members` is in the set at `key` (all false when it is missing).
fn membership(ctx: &mut Ctx, key: &Bytes, members: &[Bytes]) -> Result<Vec<Reply>, CmdError> {
    let mut txn = ctx.txn_args(std::slice::from_ref(key));
    let meta = set::load(&mut txn, key)?;
    members
        .iter()
        .map(|member| {
            let present = match &meta {
                Some(meta) => set::contains(&txn, key, meta, member)?,
                None => false,
            };
            Ok(Reply::Int(i64::from(present)))
        })
        .collect()
}

fn sismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut replies = membership(ctx, &args[1], &args[2..3])?;
    Ok(replies.remove(0))
}

fn smismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Reply::Array(membership(ctx, &args[1], &args[2..])?))
}

fn scard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    Ok(Reply::Int(
        set::load(&mut txn, &args[1])?.map_or(0, |m| m.len as i64),
    ))
}

/// SPOP key [count]: without a count one member (or nil), with a count a set reply.
fn spop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let count = match args.len() {
        2 => None,
        3 => Some(match parse_i64_strict(&args[2]) {
            Some(n) if n >= 0 => n as u64,
            _ => return Err(CmdError::new("ERR value is out of range, must be positive")),
        }),
        _ => return Err(errors::syntax()),
    };
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(mut meta) = set::load(&mut txn, key)? else {
        return Ok(if count.is_some() {
            Reply::Set(Vec::new())
        } else {
            Reply::Nil
        });
    };
    let popped = set::random_distinct_quick(&txn, key, &meta, count.unwrap_or(1))?;
    if !popped.is_empty() {
        let emptied = popped.len() as u64 == meta.len;
        if emptied {
            // Popping everything deletes the key: its rows go with the dropped version,
            // without a tombstone per member.
            txn.delete(key)?;
        } else {
            for member in &popped {
                set::remove_present(&mut txn, key, &mut meta, member);
            }
            set::store(&mut txn, key, meta)?;
        }
        txn.notify('s', "spop", key);
        if emptied {
            txn.notify('g', "del", key);
        }
        ctx.commit(txn)?;
    }
    Ok(match count {
        Some(_) => Reply::Set(bulks(popped)),
        None => Reply::opt_bulk(popped.into_iter().next()),
    })
}

/// SRANDMEMBER key [count]: a positive count picks distinct members, a negative one picks
/// |count| members with repeats.
fn srandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let count = match args.len() {
        2 => None,
        3 => Some(match errors::int_arg(&args[2])? {
            i64::MIN => {
                return Err(CmdError::new(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                ))
            }
            n => n,
        }),
        _ => return Err(errors::syntax()),
    };
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let meta = set::load(&mut txn, key)?;
    let Some(count) = count else {
        let picked = match &meta {
            Some(meta) => set::random_distinct(&txn, key, meta, 1)?,
            None => Vec::new(),
        };
        return Ok(Reply::opt_bulk(picked.into_iter().next()));
    };
    let picked = match &meta {
        None => Vec::new(),
        Some(meta) if count >= 0 => set::random_distinct(&txn, key, meta, count as u64)?,
        Some(meta) => set::random_with_repeats(&txn, key, meta, count.unsigned_abs())?,
    };
    Ok(Reply::Array(bulks(picked)))
}

fn smove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let limit = intset_limit(ctx);
    let mut txn = ctx.txn_args(&args[1..3]);
    // Redis's order: a missing source answers 0 before the destination's type is checked.
    let Some(mut src_meta) = set::load(&mut txn, src)? else {
        return Ok(Reply::Int(0));
    };
    let dst_meta = set::load(&mut txn, dst)?;
    if src == dst {
        return Ok(Reply::Int(i64::from(set::contains(
            &txn, src, &src_meta, member,
        )?)));
    }
    if !set::remove(&mut txn, src, &mut src_meta, member)? {
        return Ok(Reply::Int(0));
    }
    let emptied = set::store(&mut txn, src, src_meta)?;
    txn.notify('s', "srem", src);
    if emptied {
        txn.notify('g', "del", src);
    }
    let mut dst_meta = match dst_meta {
        Some(meta) => meta,
        None => set::create(&mut txn)?,
    };
    // A member already in the destination leaves it untouched (no event, no WATCH signal).
    if set::add(&mut txn, dst, &mut dst_meta, member, limit)? {
        set::store(&mut txn, dst, dst_meta)?;
        txn.notify('s', "sadd", dst);
    }
    ctx.commit(txn)?;
    Ok(Reply::Int(1))
}

/// The set operations of SINTER, SUNION, SDIFF and their STORE forms.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

/// The sets at `keys`, in order (`None` = missing, an empty set). Every key's type is
/// checked before any result is computed, as Redis does.
fn load_all(txn: &mut Txn, keys: &[Bytes]) -> Result<Vec<Option<Meta>>, CmdError> {
    keys.iter().map(|key| Ok(set::load(txn, key)?)).collect()
}

/// Computes `op` over the sets at `keys`, in member order.
fn compute(txn: &mut Txn, op: SetOp, keys: &[Bytes]) -> Result<Vec<Vec<u8>>, CmdError> {
    let metas = load_all(txn, keys)?;
    let sets: Vec<(&Bytes, Option<&Meta>)> =
        keys.iter().zip(metas.iter().map(Option::as_ref)).collect();
    match op {
        SetOp::Inter => intersection(txn, &sets, usize::MAX),
        SetOp::Union => {
            let mut out = BTreeSet::new();
            for (key, meta) in &sets {
                if let Some(meta) = meta {
                    for member in set::scan(txn, key, meta, None) {
                        out.insert(member?);
                    }
                }
            }
            Ok(out.into_iter().collect())
        }
        SetOp::Diff => difference(txn, &sets),
    }
}

/// The intersection, stopping after `limit` members: scans the smallest set and looks each
/// member up in the others (O(smallest × sets) point reads, as Redis's algorithm).
fn intersection(
    txn: &Txn,
    sets: &[(&Bytes, Option<&Meta>)],
    limit: usize,
) -> Result<Vec<Vec<u8>>, CmdError> {
    let mut present: Vec<(&Bytes, &Meta)> = Vec::with_capacity(sets.len());
    for (key, meta) in sets {
        match meta {
            Some(meta) => present.push((key, meta)),
            // A missing key is an empty set: the intersection is empty.
            None => return Ok(Vec::new()),
        }
    }
    present.sort_by_key(|(_, meta)| meta.len);
    let Some(((smallest_key, smallest), others)) = present.split_first() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for member in set::scan(txn, smallest_key, smallest, None) {
        if out.len() >= limit {
            break;
        }
        let member = member?;
        let mut in_all = true;
        for (key, meta) in others {
            if !set::contains(txn, key, meta, &member)? {
                in_all = false;
                break;
            }
        }
        if in_all {
            out.push(member);
        }
    }
    Ok(out)
}

/// The members of the first set in none of the others. Each other set is either scanned
/// or probed member by member, whichever reads fewer rows.
fn difference(txn: &Txn, sets: &[(&Bytes, Option<&Meta>)]) -> Result<Vec<Vec<u8>>, CmdError> {
    let Some(((first_key, Some(first)), others)) = sets.split_first() else {
        return Ok(Vec::new());
    };
    let mut remaining: BTreeSet<Vec<u8>> =
        set::scan(txn, first_key, first, None).collect::<Result<_, _>>()?;
    for (key, meta) in others {
        let Some(meta) = meta else { continue };
        if remaining.is_empty() {
            break;
        }
        if meta.len < remaining.len() as u64 {
            for member in set::scan(txn, key, meta, None) {
                remaining.remove(&member?);
            }
        } else {
            let mut kept = BTreeSet::new();
            for member in remaining {
                if !set::contains(txn, key, meta, &member)? {
                    kept.insert(member);
                }
            }
            remaining = kept;
        }
    }
    Ok(remaining.into_iter().collect())
}

fn set_op(ctx: &mut Ctx, args: &[Bytes], op: SetOp) -> CmdResult {
    let keys = &args[1..];
    let mut txn = ctx.txn_args(keys);
    Ok(Reply::Set(bulks(compute(&mut txn, op, keys)?)))
}

fn sinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op(ctx, args, SetOp::Inter)
}

fn sunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op(ctx, args, SetOp::Union)
}

fn sdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op(ctx, args, SetOp::Diff)
}

/// SINTERSTORE, SUNIONSTORE, SDIFFSTORE: the result replaces whatever `dst` held (any
/// type); an empty result deletes `dst`.
fn set_op_store(ctx: &mut Ctx, args: &[Bytes], op: SetOp, event: &'static str) -> CmdResult {
    let dst = &args[1];
    let limit = intset_limit(ctx);
    let mut txn = ctx.txn_args(&args[1..]);
    // Computed from stored rows before anything is written, so `dst` may be a source.
    let result = compute(&mut txn, op, &args[2..])?;
    let count = result.len() as i64;
    if result.is_empty() {
        if txn.delete(dst)? {
            txn.notify('g', "del", dst);
        }
    } else {
        let mut meta = set::create(&mut txn)?;
        for member in &result {
            set::add_new(&mut txn, dst, &mut meta, member, limit);
        }
        txn.put(dst, meta)?;
        txn.notify('s', event, dst);
    }
    ctx.commit(txn)?;
    Ok(Reply::Int(count))
}

fn sinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_store(ctx, args, SetOp::Inter, "sinterstore")
}

fn sunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_store(ctx, args, SetOp::Union, "sunionstore")
}

fn sdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_store(ctx, args, SetOp::Diff, "sdiffstore")
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit], with Redis's argument errors.
fn sintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let numkeys = match parse_i64_strict(&args[1]) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(CmdError::new("ERR numkeys should be greater than 0")),
    };
    if numkeys > (args.len() - 2) as u64 {
        return Err(CmdError::new(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let keys_end = 2 + numkeys as usize;
    let keys = &args[2..keys_end];
    let mut limit = 0u64;
    let mut opts = args[keys_end..].iter();
    while let Some(opt) = opts.next() {
        match opts.next() {
            Some(value) if eq_ignore_case(opt, "limit") => {
                limit = match parse_i64_strict(value) {
                    Some(n) if n >= 0 => n as u64,
                    _ => return Err(CmdError::new("ERR LIMIT can't be negative")),
                };
            }
            _ => return Err(errors::syntax()),
        }
    }
    let mut txn = ctx.txn_args(keys);
    let metas = load_all(&mut txn, keys)?;
    let sets: Vec<(&Bytes, Option<&Meta>)> =
        keys.iter().zip(metas.iter().map(Option::as_ref)).collect();
    // LIMIT 0 means no limit.
    let limit = if limit == 0 {
        usize::MAX
    } else {
        usize::try_from(limit).unwrap_or(usize::MAX)
    };
    Ok(Reply::Int(intersection(&txn, &sets, limit)?.len() as i64))
}

/// SSCAN: continues in member order after the last member examined (remembered behind the
/// cursor number), so a member present for the whole scan is returned exactly once, and a
/// call reads only about COUNT members.
fn sscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let opts = parse_scan_options(&args[3..], false)?;
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(meta) = set::load(&mut txn, key)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let after = ctx.server.scan_cursors.resume_point(cursor);
    let mut items = Vec::new();
    let mut last: Option<Vec<u8>> = None;
    let mut more = false;
    for (examined, member) in set::scan(&txn, key, &meta, after.as_deref()).enumerate() {
        let member = member?;
        if examined == opts.count {
            more = true;
            break;
        }
        if opts
            .pattern
            .as_ref()
            .is_none_or(|p| glob_match(p, &member, false))
        {
            items.push(Reply::bulk(member.clone()));
        }
        last = Some(member);
    }
    let next = match (more, last) {
        (true, Some(member)) => ctx.server.scan_cursors.save(member),
        _ => 0,
    };
    Ok(scan_reply(next, items))
}
