//! Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and
//! BITFIELD_RO. The bit arithmetic lives in `types::bits`; this file parses arguments in
//! Redis's order (so the same error wins when several are wrong) and stores through the
//! string type.

use std::ops::ControlFlow;

use bytes::Bytes;
use redyn_protocol::args::parse_i64_strict;
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::{CmdResult, CommandSpec, Ctx, Flag};
use crate::types::bits::{self, BitOp, FieldType, Overflow, Unit};
use crate::types::string;
use Flag::*;

/// BITOP's destination and sources: every argument from the second.
const BITOP_KEYS: super::table::KeySpec = (2, -1, 1);
const ONE_KEY: super::table::KeySpec = super::ONE_KEY;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("setbit", 4, &[Write, DenyOom], ONE_KEY, "bitmap", "2.2.0", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", setbit),
    CommandSpec::new("getbit", 3, &[ReadOnly, Fast], ONE_KEY, "bitmap", "2.2.0", "Returns a bit value by offset.", getbit),
    CommandSpec::new("bitcount", -2, &[ReadOnly], ONE_KEY, "bitmap", "2.6.0", "Counts the number of set bits (population counting) in a string.", bitcount),
    CommandSpec::new("bitpos", -3, &[ReadOnly], ONE_KEY, "bitmap", "2.8.7", "Finds the first set (1) or clear (0) bit in a string.", bitpos),
    CommandSpec::new("bitop", -4, &[Write, DenyOom], BITOP_KEYS, "bitmap", "2.6.0", "Performs bitwise operations on multiple strings, and stores the result.", bitop),
    CommandSpec::new("bitfield", -2, &[Write, DenyOom], ONE_KEY, "bitmap", "3.2.0", "Performs arbitrary bitfield integer operations on strings.", bitfield),
    CommandSpec::new("bitfield_ro", -2, &[ReadOnly, Fast], ONE_KEY, "bitmap", "6.0.0", "Performs arbitrary read-only bitfield integer operations on strings.", bitfield_ro),
];

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BAD_BIT_VALUE: &str = "ERR bit is not an integer or out of range";
const BAD_BITPOS_BIT: &str = "ERR The bit argument must be 1 or 0.";
const BITOP_NOT_ARITY: &str = "ERR BITOP NOT must be called with a single source key.";
const BAD_FIELD_TYPE: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
const BAD_OVERFLOW: &str = "ERR Invalid OVERFLOW type specified";
const RO_WRITE: &str = "ERR BITFIELD_RO only supports the GET subcommand";

/// Parses a bit offset. In BITFIELD (`field_bits` given) `#n` means the n-th field of that
/// width. The offset must address a byte below `proto-max-bulk-len` (512MB by default), the
/// largest string Redis will grow.
fn bit_offset(ctx: &Ctx, arg: &[u8], field_bits: Option<u32>) -> Result<u64, CmdError> {
    let bad = || CmdError::new(BAD_OFFSET);
    let offset = match (arg.strip_prefix(b"#"), field_bits) {
        (Some(index), Some(width)) => parse_i64_strict(index)
            .and_then(|n| n.checked_mul(i64::from(width)))
            .ok_or_else(bad)?,
        _ => parse_i64_strict(arg).ok_or_else(bad)?,
    };
    let max_bytes = ctx.server.config.read().proto_max_bulk_len as u64;
    match u64::try_from(offset) {
        Ok(offset) if offset >> 3 < max_bytes => Ok(offset),
        _ => Err(bad()),
    }
}

/// SETBIT's value: `0` or `1`.
fn setbit_value(arg: &[u8]) -> Result<bool, CmdError> {
    match parse_i64_strict(arg) {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        _ => Err(CmdError::new(BAD_BIT_VALUE)),
    }
}

/// BITPOS's bit: an integer (the generic error otherwise) that must be `0` or `1`.
fn bitpos_bit(arg: &[u8]) -> Result<bool, CmdError> {
    match errors::int_arg(arg)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(CmdError::new(BAD_BITPOS_BIT)),
    }
}

/// BITCOUNT/BITPOS's optional `BYTE|BIT` unit.
fn unit_arg(arg: Option<&Bytes>) -> Result<Unit, CmdError> {
    match arg.map(|a| a.to_ascii_lowercase()).as_deref() {
        None | Some(b"byte") => Ok(Unit::Byte),
        Some(b"bit") => Ok(Unit::Bit),
        Some(_) => Err(errors::syntax()),
    }
}

/// The byte holding bit `offset`.
fn byte_of(offset: u64) -> usize {
    (offset / 8) as usize
}

fn setbit(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let offset = bit_offset(ctx, &args[2], None)?;
    let on = setbit_value(&args[3])?;
    let mut txn = ctx.txn_args(&args[1..2]);
    // The window is the one byte holding the bit: only its chunk is read and written.
    let byte = byte_of(offset);
    let (old, changed) =
        string::modify(&mut txn, key, byte, byte + 1, byte + 1, |window, grew| {
            let old = bits::set_bit(window, offset % 8, on);
            let changed = grew || old != on;
            ((old, changed), changed)
        })?;
    // Like Redis, a SETBIT that changes nothing is not an event.
    if changed {
        txn.notify('$', "setbit", key);
    }
    ctx.commit(txn)?;
    Ok(Reply::Int(i64::from(old)))
}

fn getbit(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let offset = bit_offset(ctx, &args[2], None)?;
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(meta) = string::load(&mut txn, &args[1])? else {
        return Ok(Reply::Int(0));
    };
    let byte = byte_of(offset);
    let window = string::range(&txn, &args[1], &meta, byte..byte + 1)?;
    Ok(Reply::Int(i64::from(bits::get_bit(&window, offset % 8))))
}

fn bitcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    // Redis 7.0 answers 0 for a missing key before looking at the other arguments.
    let Some(meta) = string::load(&mut txn, &args[1])? else {
        return Ok(Reply::Int(0));
    };
    let len = string::len(&meta);
    let range = match args.len() {
        2 => bits::whole(len),
        4 | 5 => {
            let start = errors::int_arg(&args[2])?;
            let end = errors::int_arg(&args[3])?;
            // Both from the end and inverted: empty whatever the unit says.
            if start < 0 && end < 0 && start > end {
                return Ok(Reply::Int(0));
            }
            let unit = unit_arg(args.get(4))?;
            bits::resolve_range(len, start, end, unit)
        }
        _ => return Err(errors::syntax()),
    };
    let Some((first, last)) = range else {
        return Ok(Reply::Int(0));
    };
    let mut count = 0;
    string::for_each_window(
        &txn,
        &args[1],
        &meta,
        bit_bytes(first, last),
        |at, window| {
            let (lo, hi) = window_bits(at, window, first, last);
            count += bits::count_ones(window, lo, hi);
            ControlFlow::<()>::Continue(())
        },
    )?;
    Ok(Reply::Int(count as i64))
}

fn bitpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let bit = bitpos_bit(&args[2])?;
    let mut txn = ctx.txn_args(&args[1..2]);
    // A missing key is an endless run of zeros.
    let Some(meta) = string::load(&mut txn, &args[1])? else {
        return Ok(Reply::Int(if bit { -1 } else { 0 }));
    };
    let len = string::len(&meta);
    let (range, end_given) = match args.len() {
        3 => (bits::whole(len), false),
        4..=6 => {
            let start = errors::int_arg(&args[3])?;
            let unit = unit_arg(args.get(5))?;
            let end = match args.get(4) {
                Some(end) => errors::int_arg(end)?,
                None => -1,
            };
            (bits::resolve_range(len, start, end, unit), args.len() >= 5)
        }
        _ => return Err(errors::syntax()),
    };
    let Some((first, last)) = range else {
        return Ok(Reply::Int(-1));
    };
    let found = string::for_each_window(
        &txn,
        &args[1],
        &meta,
        bit_bytes(first, last),
        |at, window| {
            let (lo, hi) = window_bits(at, window, first, last);
            match bits::first_bit(window, bit, lo, hi) {
                Some(pos) => ControlFlow::Break(pos + at as u64 * 8),
                None => ControlFlow::Continue(()),
            }
        },
    )?;
    let pos = match found {
        Some(pos) => pos as i64,
        None if bit || end_given => -1,
        // Looking for a clear bit with no end given: the string continues with zeros, so
        // the first one is just past it.
        None => last as i64 + 1,
    };
    Ok(Reply::Int(pos))
}

/// The bytes holding bits `first..=last`.
fn bit_bytes(first: u64, last: u64) -> std::ops::Range<usize> {
    byte_of(first)..byte_of(last) + 1
}

/// Bits `first..=last` of the string, clipped to `window` (which starts at byte `at`), as
/// bit positions inside the window.
fn window_bits(at: usize, window: &[u8], first: u64, last: u64) -> (u64, u64) {
    let base = at as u64 * 8;
    let end = base + window.len() as u64 * 8 - 1;
    (first.max(base) - base, last.min(end) - base)
}

fn bitop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let op = BitOp::parse(&args[1]).ok_or_else(errors::syntax)?;
    if op == BitOp::Not && args.len() != 4 {
        return Err(CmdError::new(BITOP_NOT_ARITY));
    }
    let dest = &args[2];
    let mut txn = ctx.txn_args(&args[2..]);
    let mut sources = Vec::with_capacity(args.len() - 3);
    for key in &args[3..] {
        sources.push(string::get(&mut txn, key)?.unwrap_or_default());
    }
    let result = bits::bitop(op, &sources);
    let len = result.len();
    if len > 0 {
        string::set(&mut txn, dest, result, 0)?;
        txn.notify('$', "set", dest);
    } else if txn.delete(dest)? {
        // An empty result is no string at all: the destination goes away.
        txn.notify('g', "del", dest);
    }
    ctx.commit(txn)?;
    Ok(Reply::Int(len as i64))
}

/// One BITFIELD operation.
#[derive(Debug, Clone, Copy)]
enum FieldAction {
    Get,
    Set(i64),
    IncrBy(i64),
}

#[derive(Debug, Clone, Copy)]
struct FieldOp {
    action: FieldAction,
    ty: FieldType,
    offset: u64,
    overflow: Overflow,
}

impl FieldOp {
    fn writes(&self) -> bool {
        !matches!(self.action, FieldAction::Get)
    }

    /// The operation on a window of the string starting at byte `at`.
    fn in_window(&self, at: usize) -> FieldOp {
        FieldOp {
            offset: self.offset - at as u64 * 8,
            ..*self
        }
    }

    /// The last bit the operation touches.
    fn last_bit(&self) -> u64 {
        self.offset + u64::from(self.ty.bits) - 1
    }
}

/// Parses BITFIELD's operations; OVERFLOW applies to the operations after it.
fn parse_field_ops(ctx: &Ctx, args: &[Bytes]) -> Result<Vec<FieldOp>, CmdError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 2;
    while i < args.len() {
        let remaining = args.len() - i - 1;
        let sub = args[i].to_ascii_lowercase();
        let takes_value = match sub.as_slice() {
            b"get" if remaining >= 2 => false,
            b"set" | b"incrby" if remaining >= 3 => true,
            b"overflow" if remaining >= 1 => {
                overflow =
                    Overflow::parse(&args[i + 1]).ok_or_else(|| CmdError::new(BAD_OVERFLOW))?;
                i += 2;
                continue;
            }
            _ => return Err(errors::syntax()),
        };
        let ty = FieldType::parse(&args[i + 1]).ok_or_else(|| CmdError::new(BAD_FIELD_TYPE))?;
        let offset = bit_offset(ctx, &args[i + 2], Some(ty.bits))?;
        let action = match sub.as_slice() {
            b"get" => FieldAction::Get,
            b"set" => FieldAction::Set(errors::int_arg(&args[i + 3])?),
            _ => FieldAction::IncrBy(errors::int_arg(&args[i + 3])?),
        };
        ops.push(FieldOp {
            action,
            ty,
            offset,
            overflow,
        });
        i += if takes_value { 4 } else { 3 };
    }
    Ok(ops)
}

/// Runs one operation on `value` (already grown to cover every write). Returns its reply
/// and, for a write that happened, whether it changed the field.
fn apply_field_op(op: &FieldOp, value: &mut [u8]) -> (Reply, Option<bool>) {
    let old = op.ty.get(value, op.offset);
    let (new, reply_value) = match op.action {
        FieldAction::Get => return (Reply::Int(old), None),
        FieldAction::Set(arg) => (op.ty.fit_set(arg, op.overflow), old),
        FieldAction::IncrBy(incr) => {
            let new = op.ty.fit_incr(old, incr, op.overflow);
            (new, new.unwrap_or(old))
        }
    };
    match new {
        // OVERFLOW FAIL: nothing written, nil reply.
        None => (Reply::Nil, None),
        Some(new) => {
            op.ty.put(value, op.offset, new);
            (Reply::Int(reply_value), Some(new != old))
        }
    }
}

fn bitfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run_bitfield(ctx, args, false)
}

fn bitfield_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run_bitfield(ctx, args, true)
}

fn run_bitfield(ctx: &mut Ctx, args: &[Bytes], read_only: bool) -> CmdResult {
    let key = &args[1];
    let ops = parse_field_ops(ctx, args)?;
    let mut txn = ctx.txn_args(&args[1..2]);
    // The operations read and write only the bytes between the first and the last they
    // touch: only those chunks are read and written.
    let start = ops.iter().map(|op| byte_of(op.offset)).min().unwrap_or(0);
    let read_end = ops.iter().map(|op| byte_of(op.last_bit()) + 1).max();
    let read_end = read_end.unwrap_or(0);
    let Some(last_written) = ops
        .iter()
        .filter(|op| op.writes())
        .map(FieldOp::last_bit)
        .max()
    else {
        let window = match string::load(&mut txn, key)? {
            Some(meta) => string::range(&txn, key, &meta, start..read_end)?,
            None => Vec::new(),
        };
        let replies = ops
            .iter()
            .map(|op| Reply::Int(op.ty.get(&window, op.in_window(start).offset)))
            .collect();
        return Ok(Reply::Array(replies));
    };
    if read_only {
        return Err(CmdError::new(RO_WRITE));
    }
    // As Redis, the string grows to cover every write first, even ones OVERFLOW FAIL
    // refuses later.
    let grow_to = byte_of(last_written) + 1;
    let (replies, changed) =
        string::modify(&mut txn, key, start, read_end, grow_to, |window, grew| {
            let mut changed = false;
            let replies: Vec<Reply> = ops
                .iter()
                .map(|op| {
                    let (reply, wrote) = apply_field_op(&op.in_window(start), window);
                    // A write into new room counts as a change even if it wrote zeros.
                    changed |= wrote.is_some_and(|field_changed| field_changed || grew);
                    reply
                })
                .collect();
            ((replies, changed), changed)
        })?;
    if changed {
        txn.notify('$', "setbit", key);
    }
    ctx.commit(txn)?;
    Ok(Reply::Array(replies))
}
