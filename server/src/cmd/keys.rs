//! Keyspace commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN, RENAME, RENAMENX, COPY, MOVE,
//! RANDOMKEY, EXPIRE family, TTL family, PERSIST, TOUCH, OBJECT.

use bytes::Bytes;
use rand::Rng;
use redyn_protocol::args::eq_ignore_case;
use redyn_protocol::glob::glob_match;
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::{CmdResult, CommandSpec, Ctx, Flag, ALL_KEYS, NO_KEYS, ONE_KEY};
use crate::engine::keys::SLOTS;
use crate::engine::{Kind, Meta, Txn, REDIS_DBS};
use crate::types::generic::copy_value;
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("del", -2, &[Write], ALL_KEYS, "generic", "1.0.0", "Deletes one or more keys.", del),
    CommandSpec::new("unlink", -2, &[Write, Fast], ALL_KEYS, "generic", "4.0.0", "Asynchronously deletes one or more keys.", del),
    CommandSpec::new("exists", -2, &[ReadOnly, Fast], ALL_KEYS, "generic", "1.0.0", "Determines whether one or more keys exist.", exists),
    CommandSpec::new("touch", -2, &[ReadOnly, Fast], ALL_KEYS, "generic", "3.2.1", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", exists),
    CommandSpec::new("type", 2, &[ReadOnly, Fast], ONE_KEY, "generic", "1.0.0", "Determines the type of value stored at a key.", type_),
    CommandSpec::new("keys", 2, &[ReadOnly, Offload], NO_KEYS, "generic", "1.0.0", "Returns all key names that match a pattern.", keys),
    CommandSpec::new("scan", -2, &[ReadOnly], NO_KEYS, "generic", "2.8.0", "Iterates over the key names in the database.", scan),
    CommandSpec::new("randomkey", 1, &[ReadOnly], NO_KEYS, "generic", "1.0.0", "Returns a random key name from the database.", randomkey),
    CommandSpec::new("rename", 3, &[Write], (1, 2, 1), "generic", "1.0.0", "Renames a key and overwrites the destination.", rename),
    CommandSpec::new("renamenx", 3, &[Write, Fast], (1, 2, 1), "generic", "1.0.0", "Renames a key only when the target key name doesn't exist.", renamenx),
    CommandSpec::new("copy", -3, &[Write, DenyOom], (1, 2, 1), "generic", "6.2.0", "Copies the value of a key to a new key.", copy),
    CommandSpec::new("move", 3, &[Write, Fast], ONE_KEY, "generic", "1.0.0", "Moves a key to another database.", move_),
    CommandSpec::new("expire", -3, &[Write, Fast], ONE_KEY, "generic", "1.0.0", "Sets the expiration time of a key in seconds.", expire),
    CommandSpec::new("pexpire", -3, &[Write, Fast], ONE_KEY, "generic", "2.6.0", "Sets the expiration time of a key in milliseconds.", expire),
    CommandSpec::new("expireat", -3, &[Write, Fast], ONE_KEY, "generic", "1.2.0", "Sets the expiration time of a key to a Unix timestamp.", expire),
    CommandSpec::new("pexpireat", -3, &[Write, Fast], ONE_KEY, "generic", "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp.", expire),
    CommandSpec::new("ttl", 2, &[ReadOnly, Fast], ONE_KEY, "generic", "1.0.0", "Returns the expiration time in seconds of a key.", ttl),
    CommandSpec::new("pttl", 2, &[ReadOnly, Fast], ONE_KEY, "generic", "2.6.0", "Returns the expiration time in milliseconds of a key.", ttl),
    CommandSpec::new("expiretime", 2, &[ReadOnly, Fast], ONE_KEY, "generic", "7.0.0", "Returns the expiration time of a key as a Unix timestamp.", ttl),
    CommandSpec::new("pexpiretime", 2, &[ReadOnly, Fast], ONE_KEY, "generic", "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.", ttl),
    CommandSpec::new("persist", 2, &[Write, Fast], ONE_KEY, "generic", "2.2.0", "Removes the expiration time of a key.", persist),
    CommandSpec::new("object", -2, &[ReadOnly], (2, 2, 1), "generic", "2.2.3", "A container for object introspection commands.", object),
];

fn del(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let keys = &args[1..];
    let mut txn = ctx.txn_args(keys);
    let mut deleted = 0;
    for key in keys {
        if txn.delete(key)? {
            txn.notify('g', "del", key);
            deleted += 1;
        }
    }
    ctx.commit(txn)?;
    Ok(Reply::Int(deleted))
}

/// EXISTS and TOUCH: how many of the keys exist (repeats counted).
fn exists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let keys = &args[1..];
    let mut txn = ctx.txn_args(keys);
    let mut count = 0;
    for key in keys {
        if txn.exists(key)? {
            count += 1;
        }
    }
    Ok(Reply::Int(count))
}

fn type_(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    let name = txn.get(&args[1])?.map_or("none", |m| m.kind.type_name());
    Ok(Reply::Simple(name.into()))
}

fn keys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let pattern = &args[1];
    let now = crate::engine::now_ms();
    let mut out = Vec::new();
    ctx.engine().for_each_key(ctx.db(), 0, |_, key, meta| {
        if !meta.is_expired(now) && glob_match(pattern, key, false) {
            out.push(Reply::Bulk(Bytes::copy_from_slice(key)));
        }
        true
    })?;
    Ok(Reply::Array(out))
}

/// Options shared by SCAN, HSCAN, ZSCAN: MATCH, COUNT (and TYPE for SCAN).
pub struct ScanOptions {
    pub pattern: Option<Bytes>,
    pub count: usize,
    pub kind: Option<Bytes>,
}

/// Parses a SCAN-family cursor (`ERR invalid cursor`).
pub fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    std::str::from_utf8(arg)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| CmdError::new("ERR invalid cursor"))
}

/// Parses `[MATCH pattern] [COUNT count] [TYPE type]`; TYPE only when `allow_type`.
pub fn parse_scan_options(opts: &[Bytes], allow_type: bool) -> Result<ScanOptions, CmdError> {
    let mut parsed = ScanOptions {
        pattern: None,
        count: 10,
        kind: None,
    };
    let mut i = 0;
    while i < opts.len() {
        if i + 1 >= opts.len() {
            return Err(errors::syntax());
        }
        let value = &opts[i + 1];
        if eq_ignore_case(&opts[i], "match") {
            // "*" matches everything: skip the matching work.
            parsed.pattern = (value.as_ref() != b"*").then(|| value.clone());
        } else if eq_ignore_case(&opts[i], "count") {
            let n = errors::int_arg(value)?;
            if n < 1 {
                return Err(errors::syntax());
            }
            parsed.count = n as usize;
        } else if allow_type && eq_ignore_case(&opts[i], "type") {
            parsed.kind = Some(value.clone());
        } else {
            return Err(errors::syntax());
        }
        i += 2;
    }
    Ok(parsed)
}

/// SCAN walks slots in order; the cursor is the next slot to visit. A call always finishes
/// the slot it is in, so every key present for the whole iteration is returned (keys are
/// never skipped by concurrent inserts or deletes, whatever slot they land in).
fn scan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[1])?;
    let opts = parse_scan_options(&args[2..], true)?;
    if cursor >= u64::from(SLOTS) {
        return Ok(scan_reply(0, Vec::new()));
    }
    let now = crate::engine::now_ms();
    let mut examined = 0usize;
    let mut next_cursor = 0u64;
    let mut current_slot = cursor as u16;
    let mut out = Vec::new();
    ctx.engine()
        .for_each_key(ctx.db(), cursor as u16, |slot, key, meta| {
            if slot != current_slot {
                if examined >= opts.count {
                    next_cursor = u64::from(slot);
                    return false;
                }
                current_slot = slot;
            }
            examined += 1;
            let wanted = !meta.is_expired(now)
                && opts
                    .pattern
                    .as_ref()
                    .is_none_or(|p| glob_match(p, key, false))
                && opts
                    .kind
                    .as_ref()
                    .is_none_or(|t| eq_ignore_case(t, meta.kind.type_name()));
            if wanted {
                out.push(Reply::Bulk(Bytes::copy_from_slice(key)));
            }
            true
        })?;
    Ok(scan_reply(next_cursor, out))
}

/// The `[cursor, [items…]]` reply of the SCAN family.
pub fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::text(cursor.to_string()), Reply::Array(items)])
}

fn randomkey(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let now = crate::engine::now_ms();
    let start: u16 = rand::rng().random_range(0..SLOTS);
    let mut found: Option<Bytes> = None;
    for from in [start, 0] {
        ctx.engine().for_each_key(ctx.db(), from, |_, key, meta| {
            if meta.is_expired(now) {
                return true;
            }
            found = Some(Bytes::copy_from_slice(key));
            false
        })?;
        if found.is_some() {
            break;
        }
    }
    Ok(Reply::opt_bulk(found))
}

/// Moves `src` to `dst` inside `txn` (RENAME/RENAMENX). Returns false if `src` is missing.
fn rename_in(txn: &mut Txn, src: &[u8], dst: &[u8]) -> Result<bool, CmdError> {
    let Some(meta) = txn.get(src)? else {
        return Ok(false);
    };
    if src != dst {
        let moved = copy_value(txn, src, &meta, dst, txn.space())?;
        txn.delete(src)?;
        txn.delete(dst)?;
        txn.put(dst, moved)?;
    }
    txn.notify('g', "rename_from", src);
    txn.notify('g', "rename_to", dst);
    Ok(true)
}

fn rename(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..3]);
    if !rename_in(&mut txn, &args[1], &args[2])? {
        return Err(CmdError::new(errors::NO_SUCH_KEY));
    }
    ctx.commit(txn)?;
    Ok(Reply::ok())
}

fn renamenx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..3]);
    if !txn.exists(&args[1])? {
        return Err(CmdError::new(errors::NO_SUCH_KEY));
    }
    if txn.exists(&args[2])? {
        return Ok(Reply::Int(0));
    }
    rename_in(&mut txn, &args[1], &args[2])?;
    ctx.commit(txn)?;
    Ok(Reply::Int(1))
}

fn parse_db(arg: &[u8]) -> Result<u32, CmdError> {
    let db = errors::int_arg(arg)?;
    if !(0..i64::from(REDIS_DBS)).contains(&db) {
        return Err(CmdError::new(errors::DB_INDEX_OUT_OF_RANGE));
    }
    Ok(db as u32)
}

fn copy(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    let mut dst_db = ctx.db();
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if eq_ignore_case(&args[i], "replace") {
            replace = true;
            i += 1;
        } else if eq_ignore_case(&args[i], "db") && i + 1 < args.len() {
            dst_db = parse_db(&args[i + 1])?;
            i += 2;
        } else {
            return Err(errors::syntax());
        }
    }
    if src == dst && dst_db == ctx.db() {
        return Err(CmdError::new(
            "ERR source and destination objects are the same",
        ));
    }
    let mut txn = ctx.txn_args(&args[1..3]);
    let Some(meta) = txn.get(src)? else {
        return Ok(Reply::Int(0));
    };
    let copied = copy_value(&mut txn, src, &meta, dst, dst_db)?;
    txn.set_space(dst_db);
    if txn.exists(dst)? && !replace {
        return Ok(Reply::Int(0));
    }
    txn.delete(dst)?;
    txn.put(dst, copied)?;
    txn.notify('g', "copy_to", dst);
    ctx.commit(txn)?;
    Ok(Reply::Int(1))
}

fn move_(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let dst_db = parse_db(&args[2])?;
    if dst_db == ctx.db() {
        return Err(CmdError::new(
            "ERR source and destination objects are the same",
        ));
    }
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(meta) = txn.get(key)? else {
        return Ok(Reply::Int(0));
    };
    let moved = copy_value(&mut txn, key, &meta, key, dst_db)?;
    txn.set_space(dst_db);
    if txn.exists(key)? {
        return Ok(Reply::Int(0));
    }
    txn.put(key, moved)?;
    txn.set_space(ctx.db());
    txn.delete(key)?;
    txn.notify('g', "move_from", key);
    ctx.commit(txn)?;
    Ok(Reply::Int(1))
}

/// Converts a relative or absolute expire argument to an absolute Unix-ms time, with
/// Redis's overflow checks (`ERR invalid expire time in '<cmd>' command`).
pub fn expire_at_ms(
    cmd: &str,
    value: i64,
    unit_ms: i64,
    absolute: bool,
    now: u64,
) -> Result<i64, CmdError> {
    let ms = value
        .checked_mul(unit_ms)
        .ok_or_else(|| errors::invalid_expire(cmd))?;
    if absolute {
        Ok(ms)
    } else {
        ms.checked_add(now as i64)
            .ok_or_else(|| errors::invalid_expire(cmd))
    }
}

#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expire_flags(opts: &[Bytes]) -> Result<ExpireFlags, CmdError> {
    let mut f = ExpireFlags::default();
    for opt in opts {
        match opt.to_ascii_lowercase().as_slice() {
            b"nx" => f.nx = true,
            b"xx" => f.xx = true,
            b"gt" => f.gt = true,
            b"lt" => f.lt = true,
            _ => {
                return Err(CmdError::new(format!(
                    "ERR Unsupported option {}",
                    String::from_utf8_lossy(opt)
                )))
            }
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(CmdError::new(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(CmdError::new(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT.
fn expire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cmd = args[0].to_ascii_lowercase();
    let cmd = String::from_utf8_lossy(&cmd).into_owned();
    let unit_ms = if cmd.starts_with('p') { 1 } else { 1000 };
    let absolute = cmd.ends_with("at");
    let value = errors::int_arg(&args[2])?;
    let flags = parse_expire_flags(&args[3..])?;
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let now = txn.now();
    let when = expire_at_ms(&cmd, value, unit_ms, absolute, now)?;
    let Some(mut meta) = txn.get(key)? else {
        return Ok(Reply::Int(0));
    };
    let current = meta.expire_at;
    let allowed = if flags.nx {
        current == 0
    } else if flags.xx {
        current != 0 && (!flags.gt || when > current as i64) && (!flags.lt || when < current as i64)
    } else if flags.gt {
        current != 0 && when > current as i64
    } else if flags.lt {
        current == 0 || when < current as i64
    } else {
        true
    };
    if !allowed {
        return Ok(Reply::Int(0));
    }
    if when <= now as i64 {
        // An expiry in the past deletes the key at once (as Redis does).
        txn.delete(key)?;
        txn.notify('g', "del", key);
    } else {
        meta.expire_at = when as u64;
        txn.put(key, meta)?;
        txn.notify('g', "expire", key);
    }
    ctx.commit(txn)?;
    Ok(Reply::Int(1))
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME.
fn ttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cmd = args[0].to_ascii_lowercase();
    let mut txn = ctx.txn_args(&args[1..2]);
    let now = txn.now();
    let Some(meta) = txn.get(&args[1])? else {
        return Ok(Reply::Int(-2));
    };
    if meta.expire_at == 0 {
        return Ok(Reply::Int(-1));
    }
    let at = meta.expire_at as i64;
    let left = (at - now as i64).max(0);
    Ok(Reply::Int(match cmd.as_slice() {
        b"ttl" => (left + 500) / 1000,
        b"pttl" => left,
        // Redis rounds to the nearest second here too (`(ttl + 500) / 1000`).
        b"expiretime" => (at + 500) / 1000,
        _ => at,
    }))
}

fn persist(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    match txn.get(key)? {
        Some(mut meta) if meta.expire_at != 0 => {
            meta.expire_at = 0;
            txn.put(key, meta)?;
            txn.notify('g', "persist", key);
            ctx.commit(txn)?;
            Ok(Reply::Int(1))
        }
        _ => Ok(Reply::Int(0)),
    }
}

/// The encoding OBJECT ENCODING reports: what Redis 7.0 would use for the value at its
/// current size, under the `*-max-listpack-*` / `set-max-intset-entries` thresholds.
fn encoding_of(ctx: &Ctx, txn: &Txn, key: &[u8], meta: &Meta) -> Result<&'static str, CmdError> {
    let limit = |name: &str| {
        ctx.server
            .config
            .read()
            .get(name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(match meta.kind {
        // A chunked string is long: Redis would hold it raw.
        Kind::String if crate::types::string::is_chunked(meta) => "raw",
        Kind::String => {
            if meta.value.len() <= 20
                && redyn_protocol::args::parse_i64_strict(&meta.value).is_some()
            {
                "int"
            } else if meta.value.len() <= 44 {
                "embstr"
            } else {
                "raw"
            }
        }
        Kind::Hash => {
            let small = fits_listpack(
                txn,
                key,
                meta,
                limit("hash-max-listpack-entries"),
                limit("hash-max-listpack-value"),
                0,
            )?;
            if small {
                "listpack"
            } else {
                "hashtable"
            }
        }
        Kind::ZSet => {
            // Member rows carry a one-byte family prefix (see `types::zset`); scores are
            // not strings, so only members count against the value limit.
            let small = fits_listpack(
                txn,
                key,
                meta,
                limit("zset-max-listpack-entries"),
                limit("zset-max-listpack-value"),
                1,
            )?;
            if small {
                "listpack"
            } else {
                "skiplist"
            }
        }
        // Redis 7.0 always keeps lists as quicklists (listpack lists came in 7.2).
        Kind::List => "quicklist",
        Kind::Set => crate::types::set::encoding(meta),
        Kind::Stream => "stream",
    })
}

/// Whether a hash or sorted set is small enough for Redis's listpack: at most
/// `max_entries` elements, none longer than `max_value` bytes. Sort keys carry
/// `key_prefix` bytes that are not part of the element.
fn fits_listpack(
    txn: &Txn,
    key: &[u8],
    meta: &Meta,
    max_entries: u64,
    max_value: u64,
    key_prefix: usize,
) -> Result<bool, CmdError> {
    if meta.len > max_entries {
        return Ok(false);
    }
    let hash_values = meta.kind == Kind::Hash;
    for row in crate::types::value_rows(txn, key, meta)? {
        let (sort_key, value) = row?;
        let too_long = |len: usize| len as u64 > max_value;
        if too_long(sort_key.len().saturating_sub(key_prefix))
            || (hash_values && too_long(value.len()))
        {
            return Ok(false);
        }
    }
    Ok(true)
}

fn object(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    if sub.as_slice() == b"help" {
        return Ok(Reply::status_lines(&[
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "FREQ <key>",
            "IDLETIME <key>",
            "REFCOUNT <key>",
        ]));
    }
    if !matches!(
        sub.as_slice(),
        b"encoding" | b"freq" | b"idletime" | b"refcount"
    ) {
        return Err(errors::unknown_subcommand("object", &args[1]));
    }
    if args.len() != 3 {
        return Err(errors::wrong_arity(&format!(
            "object|{}",
            String::from_utf8_lossy(&sub)
        )));
    }
    let mut txn = ctx.txn_args(&args[2..3]);
    let Some(meta) = txn.get(&args[2])? else {
        return Ok(Reply::Nil);
    };
    match sub.as_slice() {
        b"encoding" => Ok(Reply::text(encoding_of(ctx, &txn, &args[2], &meta)?)),
        b"refcount" => Ok(Reply::Int(1)),
        b"idletime" => Ok(Reply::Int(0)),
        _ => Err(CmdError::new("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")),
    }
}
