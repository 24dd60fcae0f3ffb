//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST. Values are plain
//! strings in Redis's HLL representation (see `types::hll`).

use bytes::Bytes;
use redyn_protocol::Reply;

use super::errors::CmdError;
use super::{CmdResult, CommandSpec, Ctx, Flag, ALL_KEYS, NO_KEYS, ONE_KEY};
use crate::engine::{Kind, Meta, Txn};
use crate::types::hll::{self, HllError};
use Flag::*;

/// PFDEBUG's key is its second argument.
const PFDEBUG_KEY: super::table::KeySpec = (2, 2, 1);

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "pfadd",
        -2,
        &[Write, DenyOom, Fast],
        ONE_KEY,
        "hyperloglog",
        "2.8.9",
        "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.",
        pfadd,
    ),
    CommandSpec::new(
        "pfcount",
        -2,
        &[ReadOnly],
        ALL_KEYS,
        "hyperloglog",
        "2.8.9",
        "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).",
        pfcount,
    ),
    CommandSpec::new(
        "pfmerge",
        -2,
        &[Write, DenyOom],
        ALL_KEYS,
        "hyperloglog",
        "2.8.9",
        "Merges one or more HyperLogLog values into a single key.",
        pfmerge,
    ),
    CommandSpec::new(
        "pfdebug",
        3,
        &[Write, DenyOom, Admin],
        PFDEBUG_KEY,
        "hyperloglog",
        "2.8.9",
        "Internal commands for debugging HyperLogLog values.",
        pfdebug,
    ),
    CommandSpec::new(
        "pfselftest",
        1,
        &[Admin, Offload],
        NO_KEYS,
        "hyperloglog",
        "2.8.9",
        "An internal command for testing HyperLogLog values.",
        pfselftest,
    ),
];

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

impl From<HllError> for CmdError {
    fn from(e: HllError) -> Self {
        CmdError::new(match e {
            HllError::NotHll => NOT_HLL,
            HllError::Corrupt => CORRUPT,
        })
    }
}

/// The HLL stored at `key`: `None` if missing, WRONGTYPE for other types and for strings
/// that are not HLLs.
fn load(txn: &mut Txn, key: &[u8]) -> Result<Option<Meta>, CmdError> {
    let Some(meta) = crate::types::get_of_kind(txn, key, Kind::String)? else {
        return Ok(None);
    };
    // HLL commands edit the value as a whole: a long string comes back inline.
    let meta = crate::types::string::inline(txn, key, meta)?;
    hll::validate(&meta.value)?;
    Ok(Some(meta))
}

/// `hll-sparse-max-bytes`: the size (header included) past which a sparse HLL turns dense.
fn sparse_max_bytes(ctx: &Ctx) -> usize {
    ctx.server
        .config
        .read()
        .get("hll-sparse-max-bytes")
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

fn pfadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let sparse_max = sparse_max_bytes(ctx);
    let mut txn = ctx.txn_args(&args[1..2]);
    let (mut meta, created) = match load(&mut txn, key)? {
        Some(meta) => (meta, false),
        None => (Meta::string(hll::create()), true),
    };
    let elements: Vec<&[u8]> = args[2..].iter().map(|a| a.as_ref()).collect();
    let changed = hll::add(&mut meta.value, &elements, sparse_max)?;
    if !(created || changed) {
        return Ok(Reply::Int(0));
    }
    if created {
        hll::invalidate_cache(&mut meta.value);
    }
    txn.put(key, meta)?;
    txn.notify('$', "pfadd", key);
    ctx.commit(txn)?;
    Ok(Reply::Int(1))
}

fn pfcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let keys = &args[1..];
    let mut txn = ctx.txn_args(keys);
    if let [key] = keys {
        let Some(mut meta) = load(&mut txn, key)? else {
            return Ok(Reply::Int(0));
        };
        let (count, refreshed) = hll::count_cached(&mut meta.value)?;
        // The cache lives in the value, so a fresh estimate is a write (as in Redis).
        if refreshed {
            txn.put(key, meta)?;
            ctx.commit(txn)?;
        }
        return Ok(Reply::Int(count as i64));
    }
    // Several keys: the cardinality of their union, without touching any of them.
    let mut union = Box::new([0u8; hll::REGISTERS]);
    for key in keys {
        if let Some(meta) = load(&mut txn, key)? {
            hll::merge_into(&mut union, &meta.value)?;
        }
    }
    Ok(Reply::Int(hll::estimate(&union) as i64))
}

fn pfmerge(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let dest = &args[1];
    let sparse_max = sparse_max_bytes(ctx);
    let mut txn = ctx.txn_args(&args[1..]);
    // The destination is an input too, so the result only ever grows it.
    let mut union = Box::new([0u8; hll::REGISTERS]);
    let mut any_dense = false;
    for key in &args[1..] {
        if let Some(meta) = load(&mut txn, key)? {
            any_dense |= hll::is_dense(&meta.value);
            hll::merge_into(&mut union, &meta.value)?;
        }
    }
    let mut meta = load(&mut txn, dest)?.unwrap_or_else(|| Meta::string(hll::create()));
    hll::store_merged(&mut meta.value, &union, any_dense, sparse_max);
    txn.put(dest, meta)?;
    // Redis raises PFADD for a merge: it is a mass-add of elements.
    txn.notify('$', "pfadd", dest);
    ctx.commit(txn)?;
    Ok(Reply::ok())
}

fn pfdebug(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).into_owned();
    let key = &args[2];
    let mut txn = ctx.txn_args(&args[2..3]);
    let Some(mut meta) = load(&mut txn, key)? else {
        return Err(CmdError::new("ERR The specified key does not exist"));
    };
    match sub.to_ascii_lowercase().as_str() {
        "getreg" => {
            // Registers are read from the dense form, which GETREG leaves in place.
            if hll::to_dense(&mut meta.value)? {
                txn.put(key, meta.clone())?;
                ctx.commit(txn)?;
            }
            let registers = hll::registers(&meta.value)?;
            Ok(Reply::Array(
                registers
                    .iter()
                    .map(|&r| Reply::Int(i64::from(r)))
                    .collect(),
            ))
        }
        "decode" => {
            if hll::is_dense(&meta.value) {
                return Err(CmdError::new("ERR HLL encoding is not sparse"));
            }
            Ok(Reply::bulk(hll::describe_sparse(&meta.value)))
        }
        "encoding" => {
            let name = if hll::is_dense(&meta.value) {
                "dense"
            } else {
                "sparse"
            };
            Ok(Reply::Simple(name.into()))
        }
        "todense" => {
            let converted = hll::to_dense(&mut meta.value)?;
            if converted {
                txn.put(key, meta)?;
                ctx.commit(txn)?;
            }
            Ok(Reply::Int(i64::from(converted)))
        }
        _ => Err(CmdError::new(format!(
            "ERR Unknown PFDEBUG subcommand '{sub}'"
        ))),
    }
}

fn pfselftest(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    match hll::self_test() {
        Ok(()) => Ok(Reply::ok()),
        Err(failure) => Err(CmdError::new(format!("ERR {failure}"))),
    }
}
