//! Redis's conversion rules between RESP replies and Lua values, both ways.
//!
//! Reply → Lua (what `redis.call` returns): integers become numbers, bulk strings strings,
//! nil `false`, arrays tables, status `{ok=…}`, errors `{err=…}`; under `redis.setresp(3)`
//! maps become `{map={…}}`, sets `{set={…}}`, doubles `{double=n}`, booleans booleans and
//! nulls `nil`. Lua → Reply (what a script returns): numbers are truncated to integers,
//! tables are arrays up to the first nil unless they carry `err`, `ok`, `double`, `map`,
//! `set`, `big_number` or `verbatim_string`.

use bytes::Bytes;
use mlua::{Lua, Table, Value};
use redyn_protocol::Reply;

/// Nesting deeper than this answers Redis's stack-limit error instead of recursing on.
const MAX_DEPTH: usize = 200;

/// Converts a command reply for the script (`resp3`: the script called `redis.setresp(3)`).
pub fn reply_to_lua(lua: &Lua, reply: &Reply, resp3: bool) -> mlua::Result<Value> {
    Ok(match reply {
        Reply::Simple(s) => {
            single_field(lua, "ok", Value::String(lua.create_string(s.as_bytes())?))?
        }
        Reply::Error(e) => error_table(lua, e)?,
        Reply::Int(n) => Value::Number(*n as f64),
        Reply::Bulk(b) => Value::String(lua.create_string(b)?),
        Reply::Nil | Reply::NilArray => {
            if resp3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        Reply::Array(items) | Reply::Push(items) | Reply::Multi(items) => {
            array_to_lua(lua, items, resp3)?
        }
        Reply::SharedBulks { values, len } => {
            let values = &values[..(*len).min(values.len())];
            let table = lua.create_table_with_capacity(values.len(), 0)?;
            for (i, value) in values.iter().enumerate() {
                table.raw_set(i + 1, lua.create_string(value)?)?;
            }
            Value::Table(table)
        }
        Reply::Set(items) if resp3 => {
            let set = lua.create_table()?;
            for item in items {
                set.raw_set(reply_to_lua(lua, item, resp3)?, true)?;
            }
            single_field(lua, "set", Value::Table(set))?
        }
        Reply::Set(items) => array_to_lua(lua, items, resp3)?,
        Reply::Map(pairs) if resp3 => {
            let map = lua.create_table()?;
            for (k, v) in pairs {
                map.raw_set(reply_to_lua(lua, k, resp3)?, reply_to_lua(lua, v, resp3)?)?;
            }
            single_field(lua, "map", Value::Table(map))?
        }
        Reply::Map(pairs) => {
            let flat: Vec<Reply> = pairs
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect();
            array_to_lua(lua, &flat, resp3)?
        }
        Reply::Double(d) if resp3 => single_field(lua, "double", Value::Number(*d))?,
        Reply::Double(d) => Value::String(lua.create_string(format_double(*d))?),
        Reply::Bool(b) if resp3 => Value::Boolean(*b),
        Reply::Bool(b) => Value::Number(if *b { 1.0 } else { 0.0 }),
        Reply::Verbatim(text) if resp3 => {
            let inner = lua.create_table()?;
            inner.raw_set("format", "txt")?;
            inner.raw_set("string", lua.create_string(text)?)?;
            single_field(lua, "verbatim_string", Value::Table(inner))?
        }
        Reply::Verbatim(text) => Value::String(lua.create_string(text)?),
    })
}

fn array_to_lua(lua: &Lua, items: &[Reply], resp3: bool) -> mlua::Result<Value> {
    let table = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        table.raw_set(i + 1, reply_to_lua(lua, item, resp3)?)?;
    }
    Ok(Value::Table(table))
}

fn single_field(lua: &Lua, key: &str, value: Value) -> mlua::Result<Value> {
    let table = lua.create_table_with_capacity(0, 1)?;
    table.raw_set(key, value)?;
    Ok(Value::Table(table))
}

/// `{err="CODE message"}`: a reply error keeps its code, the trailing newline trimmed.
pub fn error_table(lua: &Lua, message: &str) -> mlua::Result<Value> {
    let message = message.trim_end_matches(['\r', '\n']);
    single_field(lua, "err", Value::String(lua.create_string(message)?))
}

/// Redis's `%.17g` rendering of a double reply under RESP2.
fn format_double(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    redyn_protocol::args::format_double(d)
}

/// Converts what a script returned into the reply for its caller. `resp3`: the script's
/// protocol (`redis.setresp`), which decides how booleans are answered.
pub fn lua_to_reply(value: &Value, resp3: bool) -> Reply {
    to_reply(value, resp3, 0)
}

fn to_reply(value: &Value, resp3: bool, depth: usize) -> Reply {
    match value {
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Boolean(b) if resp3 => Reply::Bool(*b),
        Value::Boolean(true) => Reply::Int(1),
        Value::Boolean(false) | Value::Nil => Reply::Nil,
        Value::Integer(n) => Reply::Int(*n),
        Value::Number(n) => Reply::Int(truncate(*n)),
        Value::Table(t) => {
            if depth >= MAX_DEPTH {
                return Reply::Error("ERR reached lua stack limit".into());
            }
            table_to_reply(t, resp3, depth)
        }
        _ => Reply::Nil,
    }
}

/// Lua numbers become integers the way C casts a double to `long long`.
fn truncate(n: f64) -> i64 {
    if n.is_nan() {
        i64::MIN
    } else {
        n as i64
    }
}

fn raw_field(t: &Table, key: &str) -> Value {
    t.raw_get::<Value>(key).unwrap_or(Value::Nil)
}

fn table_to_reply(t: &Table, resp3: bool, depth: usize) -> Reply {
    if let Value::String(err) = raw_field(t, "err") {
        return Reply::Error(err.to_string_lossy().to_string());
    }
    if let Value::String(ok) = raw_field(t, "ok") {
        return Reply::Simple(ok.to_string_lossy().replace(['\r', '\n'], " ").into());
    }
    match raw_field(t, "double") {
        Value::Number(d) => return Reply::Double(d),
        Value::Integer(d) => return Reply::Double(d as f64),
        _ => {}
    }
    if let Value::String(big) = raw_field(t, "big_number") {
        // RESP3 big numbers have no reply type here; they travel as their digits.
        return Reply::Bulk(Bytes::copy_from_slice(&big.as_bytes()));
    }
    if let Value::Table(map) = raw_field(t, "map") {
        let mut pairs = Vec::new();
        for (k, v) in map.pairs::<Value, Value>().flatten() {
            pairs.push((
                to_reply(&k, resp3, depth + 1),
                to_reply(&v, resp3, depth + 1),
            ));
        }
        return Reply::Map(pairs);
    }
    if let Value::Table(set) = raw_field(t, "set") {
        let members = set
            .pairs::<Value, Value>()
            .flatten()
            .map(|(k, _)| to_reply(&k, resp3, depth + 1))
            .collect();
        return Reply::Set(members);
    }
    if let Value::Table(verbatim) = raw_field(t, "verbatim_string") {
        if let Value::String(s) = raw_field(&verbatim, "string") {
            return Reply::Verbatim(s.to_string_lossy().to_string());
        }
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(to_reply(&v, resp3, depth + 1)),
        }
    }
    Reply::Array(items)
}
