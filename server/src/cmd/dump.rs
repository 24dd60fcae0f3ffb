//! DUMP and RESTORE in Redis's serialization format, and loading a Redis RDB file
//! (`redyn import-rdb`).
//!
//! The format lives in [`crate::rdb`]; this file moves values between it and the engine
//! through the types' own APIs, so a restored key is stored exactly as one built by
//! commands (same rows, same TYPE, OBJECT ENCODING and TTL).

use std::path::Path;

use bytes::Bytes;
use redyn_protocol::args::eq_ignore_case;
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::{dump_stream, stream_log};
use super::{CmdResult, CommandSpec, Ctx, Flag, ONE_KEY};
use crate::engine::{Engine, Kind, Locks, Meta, Txn};
use crate::rdb::{self, RdbEntry, RdbError, Value};
use crate::types::list::End;
use crate::types::zset::Changes;
use crate::types::{hash, list, set, string, zset, TypeError};
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "dump",
        2,
        &[ReadOnly],
        ONE_KEY,
        "generic",
        "2.6.0",
        "Returns a serialized representation of the value stored at a key.",
        dump,
    ),
    CommandSpec::new(
        "restore",
        -4,
        &[Write, DenyOom],
        ONE_KEY,
        "generic",
        "2.6.0",
        "Creates a key from the serialized representation of a value.",
        restore,
    ),
];

fn dump(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let value = match txn.get(key)? {
        Some(meta) => read_value(ctx, &mut txn, key, &meta)?,
        // A change log is a stream whether or not its key has a row.
        None if stream_log::log_name(key).is_some() => stream_value(ctx, &mut txn, key)?,
        None => return Ok(Reply::Nil),
    };
    Ok(Reply::bulk(rdb::dump_payload(&value)))
}

/// The value of `key` (whose metadata is `meta`) as a neutral [`Value`].
fn read_value(ctx: &Ctx, txn: &mut Txn, key: &[u8], meta: &Meta) -> Result<Value, CmdError> {
    Ok(match meta.kind {
        Kind::String => Value::String(string::value(txn, key, meta)?),
        Kind::List => Value::List(list::range(txn, key, meta, 0, meta.len.saturating_sub(1))?),
        Kind::Set => Value::Set(set::members(txn, key, meta)?),
        Kind::Hash => Value::Hash(hash::entries(txn, key, meta)?),
        Kind::ZSet => {
            let index = ctx.server.zsets.get(txn, key, meta)?;
            let index = index.lock();
            let entries = index.range(0, index.len());
            Value::ZSet(entries.into_iter().map(|(s, m)| (m, s)).collect())
        }
        Kind::Stream => stream_value(ctx, txn, key)?,
    })
}

/// The stream at `key` (a client-written one or a change log) as a [`Value`].
fn stream_value(ctx: &Ctx, txn: &mut Txn, key: &[u8]) -> Result<Value, CmdError> {
    let stream =
        super::stream::load(ctx, txn, key)?.ok_or_else(|| CmdError::new(errors::NO_SUCH_KEY))?;
    let value = dump_stream::stream_value(txn, &stream)?;
    Ok(Value::Stream(Box::new(value)))
}

/// RESTORE's options.
#[derive(Default)]
struct RestoreOptions {
    replace: bool,
    absttl: bool,
}

/// Parses `[REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]` with Redis's checks. IDLETIME and
/// FREQ are validated but not kept: redyn does not evict, so it tracks neither.
fn parse_restore_options(args: &[Bytes]) -> Result<RestoreOptions, CmdError> {
    let mut options = RestoreOptions::default();
    let (mut idletime, mut freq) = (false, false);
    let mut i = 0;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if eq_ignore_case(&args[i], "replace") {
            options.replace = true;
        } else if eq_ignore_case(&args[i], "absttl") {
            options.absttl = true;
        } else if eq_ignore_case(&args[i], "idletime") && has_value && !freq {
            if errors::int_arg(&args[i + 1])? < 0 {
                return Err(CmdError::new("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idletime = true;
            i += 1;
        } else if eq_ignore_case(&args[i], "freq") && has_value && !idletime {
            if !(0..=255).contains(&errors::int_arg(&args[i + 1])?) {
                return Err(CmdError::new(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = true;
            i += 1;
        } else {
            return Err(errors::syntax());
        }
        i += 1;
    }
    Ok(options)
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f], checking in Redis's
/// order: options, existing key, TTL, payload.
fn restore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    // Change logs are written by the server only, whatever the payload.
    super::stream::refuse_changelog(key)?;
    let options = parse_restore_options(&args[4..])?;
    let limit = super::set::intset_limit(ctx);
    let mut txn = ctx.txn_args(&args[1..2]);
    if !options.replace && txn.exists(key)? {
        return Err(CmdError::new("BUSYKEY Target key name already exists."));
    }
    let ttl = errors::int_arg(&args[2])?;
    if ttl < 0 {
        return Err(CmdError::new("ERR Invalid TTL value, must be >= 0"));
    }
    let value = parse_payload(&args[3])?;
    let deleted = options.replace && txn.delete(key)?;
    let expire_at = match (ttl, options.absttl) {
        (0, _) => 0,
        (ttl, true) => ttl as u64,
        (ttl, false) => txn.now().saturating_add(ttl as u64),
    };
    if expire_at != 0 && expire_at <= txn.now() {
        // Already expired: nothing is created, but a replaced key is still gone.
        if deleted {
            txn.notify('g', "del", key);
            ctx.commit(txn)?;
        }
        return Ok(Reply::ok());
    }
    write_value(&mut txn, key, value, expire_at, limit)?;
    txn.notify('g', "restore", key);
    ctx.commit(txn)?;
    Ok(Reply::ok())
}

/// The value of a RESTORE payload, with Redis's two error replies.
fn parse_payload(payload: &[u8]) -> Result<Value, CmdError> {
    rdb::verify_payload(payload)
        .map_err(|_| CmdError::new("ERR DUMP payload version or checksum are wrong"))?;
    rdb::parse_payload(payload).map_err(|_| CmdError::new("ERR Bad data format"))
}

/// Stores `value` at `key` (which must be absent or deleted in this transaction) through
/// the types' APIs. `expire_at`: absolute Unix milliseconds, 0 = none.
pub fn write_value(
    txn: &mut Txn,
    key: &[u8],
    value: Value,
    expire_at: u64,
    intset_limit: u64,
) -> Result<(), TypeError> {
    let mut meta = match value {
        Value::String(s) => return string::set(txn, key, s, expire_at),
        Value::List(elements) => {
            let mut meta = list::load_or_create(txn, key)?;
            for element in elements {
                list::push(txn, key, &mut meta, End::Tail, element)?;
            }
            meta
        }
        Value::Set(members) => {
            let mut meta = set::create(txn)?;
            for member in members {
                set::add_new(txn, key, &mut meta, &member, intset_limit);
            }
            meta
        }
        Value::Hash(pairs) => {
            let mut meta = hash::load_or_create(txn, key)?;
            for (field, value) in pairs {
                hash::set_field(txn, key, &mut meta, &field, value)?;
            }
            meta
        }
        Value::Stream(stream) => {
            return dump_stream::restore_stream(txn, key, *stream, expire_at);
        }
        Value::ZSet(entries) => {
            // A fresh version: the sorted set's in-memory index is built from these rows
            // on first use.
            let mut meta = zset::load_or_create(txn, key)?;
            let mut changes = Changes::default();
            for (member, score) in entries {
                zset::set_score(txn, key, &mut meta, &member, None, score, &mut changes);
            }
            meta
        }
    };
    meta.expire_at = expire_at;
    crate::types::store_members(txn, key, meta)?;
    Ok(())
}

/// What an RDB import loaded.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Keys loaded per type name (`string`, `list`, …).
    pub by_type: std::collections::BTreeMap<&'static str, u64>,
    /// Keys whose expiry had already passed, skipped as Redis skips them on load.
    pub expired: u64,
    /// Empty collections in the file, skipped as Redis skips them.
    pub skipped_empty: u64,
    /// Databases that received keys.
    pub databases: std::collections::BTreeSet<u32>,
}

impl ImportReport {
    pub fn loaded(&self) -> u64 {
        self.by_type.values().sum()
    }
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("not a valid RDB file: {0}")]
    Format(#[from] RdbError),
    #[error("storing key: {0}")]
    Store(String),
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::List(_) => "list",
        Value::Set(_) => "set",
        Value::Hash(_) => "hash",
        Value::ZSet(_) => "zset",
        Value::Stream(_) => "stream",
    }
}

/// Keys stored per engine transaction by [`import_rdb`]: one commit per batch instead of per
/// key, small enough that a batch's decoded values stay a few megabytes.
const IMPORT_BATCH: usize = 256;

/// Loads every key of the RDB file at `path` into `engine`, replacing keys of the same
/// name, with their expiries. The whole file is parsed (and its checksum checked) before
/// anything is written, so a corrupt file changes nothing; then it is parsed again and
/// stored batch by batch, so memory stays bounded by the file plus one batch.
pub fn import_rdb(engine: &Engine, path: &Path) -> Result<ImportReport, ImportError> {
    let data = std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let file = rdb::for_each_entry(&data, |_| Ok::<(), RdbError>(()))?;
    let mut report = ImportReport {
        skipped_empty: file.skipped_empty,
        ..ImportReport::default()
    };
    let mut batch: Vec<RdbEntry> = Vec::with_capacity(IMPORT_BATCH);
    rdb::for_each_entry(&data, |entry| {
        if batch.len() == IMPORT_BATCH || batch.first().is_some_and(|b| b.db != entry.db) {
            store_batch(engine, &mut batch, &mut report)?;
            engine
                .settle_write_buffer()
                .map_err(|e| ImportError::Store(e.to_string()))?;
        }
        batch.push(entry);
        Ok::<(), ImportError>(())
    })?;
    store_batch(engine, &mut batch, &mut report)?;
    engine
        .persist()
        .map_err(|e| ImportError::Store(e.to_string()))?;
    Ok(report)
}

/// Stores (and empties) a batch of keys of one database in one transaction.
fn store_batch(
    engine: &Engine,
    batch: &mut Vec<RdbEntry>,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let Some(db) = batch.first().map(|e| e.db) else {
        return Ok(());
    };
    let keys: Vec<&[u8]> = batch.iter().map(|e| e.key.as_slice()).collect();
    let mut txn = engine.txn(Locks::Take, db, &keys);
    for entry in batch.drain(..) {
        let expire_at = entry.expire_at_ms.unwrap_or(0);
        if expire_at != 0 && expire_at <= txn.now() {
            report.expired += 1;
            continue;
        }
        let kind = type_name(&entry.value);
        txn.delete(&entry.key)
            .map_err(TypeError::from)
            .and_then(|_| {
                write_value(
                    &mut txn,
                    &entry.key,
                    entry.value,
                    expire_at,
                    super::set::DEFAULT_INTSET_LIMIT,
                )
            })
            .map_err(|e| ImportError::Store(format!("{e}")))?;
        *report.by_type.entry(kind).or_default() += 1;
        report.databases.insert(db);
    }
    txn.commit()
        .map_err(|e| ImportError::Store(format!("{e}")))?;
    Ok(())
}
