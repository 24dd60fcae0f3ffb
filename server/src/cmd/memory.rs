//! MEMORY: USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, HELP.
//!
//! redyn keeps data in an LSM store, not in Redis's in-memory objects, so MEMORY USAGE
//! estimates what the key's stored bytes would take as a Redis object: the key and value
//! bytes plus a fixed per-key and per-element overhead. Collections are measured from a
//! sample of their elements (SAMPLES, default 5, 0 = all) scaled to their length, as Redis
//! does.

use bytes::Bytes;
use redyn_protocol::args::eq_ignore_case;
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::{CmdResult, CommandSpec, Ctx, Flag, NO_KEYS};
use crate::engine::{Kind, Meta, Txn};
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "memory",
    -2,
    &[ReadOnly],
    NO_KEYS,
    "server",
    "4.0.0",
    "A container for memory diagnostics commands.",
    memory,
)];

/// Elements MEMORY USAGE samples by default (Redis's `OBJ_COMPUTE_SIZE_DEF_SAMPLES`).
const DEFAULT_SAMPLES: u64 = 5;
/// A key's own cost beyond its bytes: the dictionary entry, the object header and the
/// key string's header (what Redis 7 reports for a tiny string is about this).
const KEY_OVERHEAD: u64 = 40;
/// Per-element cost of a collection element beyond its bytes (a small encoding's entry
/// header; larger encodings pay more, but a constant keeps the estimate monotonic).
const ELEMENT_OVERHEAD: u64 = 8;
/// The family byte in front of sorted-set member rows (see `types::zset`).
const ZSET_ROW_PREFIX: usize = 1;

fn memory(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    match (sub.as_slice(), args.len()) {
        (b"usage", n) if n >= 3 => usage(ctx, args),
        (b"stats", 2) => Ok(stats(ctx)),
        (b"doctor", 2) => Ok(Reply::Verbatim(doctor(ctx))),
        (b"malloc-stats", 2) => Ok(Reply::Verbatim(
            "Stats not supported for the current allocator".into(),
        )),
        (b"purge", 2) => Ok(Reply::ok()),
        (b"help", 2) => Ok(Reply::status_lines(&[
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
            "HELP",
            "    Prints this help.",
        ])),
        (b"usage" | b"stats" | b"doctor" | b"malloc-stats" | b"purge" | b"help", _) => Err(
            errors::wrong_arity(&format!("memory|{}", String::from_utf8_lossy(&sub))),
        ),
        _ => Err(errors::unknown_subcommand("memory", &args[1])),
    }
}

/// MEMORY USAGE key [SAMPLES count]: the estimate in bytes, nil for a missing key.
fn usage(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut samples = DEFAULT_SAMPLES;
    let mut i = 3;
    while i < args.len() {
        if eq_ignore_case(&args[i], "samples") && i + 1 < args.len() {
            let n = errors::int_arg(&args[i + 1])?;
            // Redis: 0 samples everything; negative values are a syntax error.
            if n < 0 {
                return Err(errors::syntax());
            }
            samples = if n == 0 { u64::MAX } else { n as u64 };
            i += 2;
        } else {
            return Err(errors::syntax());
        }
    }
    let key = &args[2];
    let mut txn = ctx.txn_args(&args[2..3]);
    let Some(meta) = txn.get(key)? else {
        return Ok(Reply::Nil);
    };
    let value_bytes = value_estimate(&txn, key, &meta, samples)?;
    Ok(Reply::Int(
        (KEY_OVERHEAD + key.len() as u64 + value_bytes) as i64,
    ))
}

/// Bytes of the value: a string's length, or a collection's sampled element size times
/// its length.
fn value_estimate(txn: &Txn, key: &[u8], meta: &Meta, samples: u64) -> Result<u64, CmdError> {
    if meta.kind == Kind::String {
        return Ok(crate::types::string::len(meta) as u64);
    }
    let row_prefix = if meta.kind == Kind::ZSet {
        ZSET_ROW_PREFIX
    } else {
        0
    };
    let mut seen = 0u64;
    let mut bytes = 0u64;
    for row in crate::types::value_rows(txn, key, meta)? {
        if seen >= samples {
            break;
        }
        let (sort_key, value) = row?;
        bytes += element_bytes(
            meta.kind,
            sort_key.len().saturating_sub(row_prefix),
            value.len(),
        );
        seen += 1;
    }
    if seen == 0 {
        return Ok(0);
    }
    Ok(bytes * meta.len.max(seen) / seen)
}

/// What one stored element costs: a list row's sort key is its sequence number, not data.
fn element_bytes(kind: Kind, sort_key: usize, value: usize) -> u64 {
    let data = match kind {
        Kind::List => value,
        Kind::Set => sort_key,
        _ => sort_key + value,
    };
    data as u64 + ELEMENT_OVERHEAD
}

/// MEMORY STATS: Redis's field names, with the numbers redyn has.
fn stats(ctx: &Ctx) -> Reply {
    let rss = super::info::rss_bytes();
    let keys: u64 = ctx
        .engine()
        .spaces_with_keys()
        .into_iter()
        .filter(|(space, _)| *space < crate::engine::REDIS_DBS)
        .map(|(_, keys)| keys)
        .sum();
    let clients = ctx.server.clients.len() as u64;
    let int = |n: u64| Reply::Int(n as i64);
    let mut fields = vec![
        ("peak.allocated", int(rss)),
        ("total.allocated", int(rss)),
        ("startup.allocated", int(0)),
        ("replication.backlog", int(0)),
        ("clients.slaves", int(0)),
        ("clients.normal", int(clients * 1024)),
        ("cluster.links", int(0)),
        ("aof.buffer", int(0)),
        ("lua.caches", int(0)),
        ("functions.caches", int(0)),
        ("overhead.total", int(clients * 1024)),
        ("keys.count", int(keys)),
        (
            "keys.bytes-per-key",
            int(rss.checked_div(keys).unwrap_or(0)),
        ),
        ("dataset.bytes", int(rss.saturating_sub(clients * 1024))),
        ("dataset.percentage", Reply::Double(100.0)),
        ("peak.percentage", Reply::Double(100.0)),
        ("allocator.allocated", int(rss)),
        ("allocator.active", int(rss)),
        ("allocator.resident", int(rss)),
        ("allocator-fragmentation.ratio", Reply::Double(1.0)),
        ("allocator-fragmentation.bytes", int(0)),
        ("rss-overhead.ratio", Reply::Double(1.0)),
        ("rss-overhead.bytes", int(0)),
        ("fragmentation", Reply::Double(1.0)),
        ("fragmentation.bytes", int(0)),
    ];
    let mut dbs: Vec<(String, Reply)> = Vec::new();
    for (space, count) in ctx.engine().spaces_with_keys() {
        if space < crate::engine::REDIS_DBS {
            dbs.push((
                format!("db.{space}"),
                Reply::Map(vec![
                    (Reply::text("overhead.hashtable.main"), int(count * 24)),
                    (Reply::text("overhead.hashtable.expires"), int(0)),
                ]),
            ));
        }
    }
    let mut out: Vec<(Reply, Reply)> = fields
        .drain(..5)
        .map(|(k, v)| (Reply::text(k), v))
        .collect();
    out.extend(dbs.into_iter().map(|(k, v)| (Reply::text(k), v)));
    out.extend(fields.into_iter().map(|(k, v)| (Reply::text(k), v)));
    Reply::Map(out)
}

/// MEMORY DOCTOR: Redis's report for an instance with nothing to worry about.
fn doctor(ctx: &Ctx) -> String {
    // Redis declines to diagnose below 5 MB of data.
    let keys: usize = ctx
        .engine()
        .spaces_with_keys()
        .into_iter()
        .map(|(_, keys)| keys as usize)
        .sum();
    if keys == 0 {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".into();
    }
    "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_rows_count_only_their_elements() {
        assert_eq!(element_bytes(Kind::List, 8, 5), 5 + ELEMENT_OVERHEAD);
        assert_eq!(element_bytes(Kind::Hash, 3, 5), 8 + ELEMENT_OVERHEAD);
        assert_eq!(element_bytes(Kind::Set, 3, 0), 3 + ELEMENT_OVERHEAD);
    }
}
