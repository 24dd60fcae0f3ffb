//! `cmsgpack`: MessagePack with lua-cmsgpack's rules — integers in their smallest form,
//! floats as float32 when exact, tables with keys 1..n as arrays, nesting cut at 16 levels
//! (deeper values encode as nil, so circular tables still encode).

use mlua::{Lua, MultiValue, Table, Value, Variadic};

use super::lua_error;

const MAX_NESTING: usize = 16;

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let cmsgpack = lua.create_table()?;
    cmsgpack.set(
        "pack",
        lua.create_function(|lua, values: Variadic<Value>| {
            if values.is_empty() {
                return Err(lua_error("MessagePack pack needs input."));
            }
            let mut out = Vec::new();
            for value in values.iter() {
                encode(value, 0, &mut out)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    cmsgpack.set(
        "unpack",
        lua.create_function(|lua, data: mlua::LuaString| {
            let bytes = data.as_bytes();
            let mut pos = 0;
            let mut values = Vec::new();
            while pos < bytes.len() {
                values.push(decode(lua, &bytes, &mut pos)?);
            }
            Ok(MultiValue::from_iter(values))
        })?,
    )?;
    cmsgpack.set(
        "unpack_one",
        lua.create_function(|lua, (data, offset): (mlua::LuaString, Option<i64>)| {
            unpack_limited(lua, &data.as_bytes(), 1, offset.unwrap_or(0))
        })?,
    )?;
    cmsgpack.set(
        "unpack_limit",
        lua.create_function(
            |lua, (data, limit, offset): (mlua::LuaString, i64, Option<i64>)| {
                unpack_limited(lua, &data.as_bytes(), limit, offset.unwrap_or(0))
            },
        )?,
    )?;
    Ok(cmsgpack)
}

/// Decodes up to `limit` values (0 = all) from `offset`; returns the offset to continue
/// from (-1 at the end) followed by the values.
fn unpack_limited(lua: &Lua, bytes: &[u8], limit: i64, offset: i64) -> mlua::Result<MultiValue> {
    if offset < 0 || offset as usize > bytes.len() {
        return Err(lua_error("Start offset greater than input length"));
    }
    let mut pos = offset as usize;
    let mut values = Vec::new();
    while pos < bytes.len() && (limit <= 0 || (values.len() as i64) < limit) {
        values.push(decode(lua, bytes, &mut pos)?);
    }
    let next = if pos >= bytes.len() { -1 } else { pos as i64 };
    let mut out = vec![Value::Integer(next)];
    out.extend(values);
    Ok(MultiValue::from_iter(out))
}

fn encode(value: &Value, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match value {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(n) => encode_int(*n, out),
        Value::Number(n) => encode_number(*n, out),
        Value::String(s) => encode_bytes(&s.as_bytes(), out),
        Value::Table(t) if level < MAX_NESTING => encode_table(t, level, out)?,
        _ => out.push(0xc0),
    }
    Ok(())
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    if n.fract() == 0.0 && n.is_finite() && n.abs() < 9.2e18 {
        encode_int(n as i64, out);
    } else if (n as f32) as f64 == n {
        out.push(0xca);
        out.extend((n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend(n.to_be_bytes());
    }
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        match n {
            0..=127 => out.push(n as u8),
            128..=0xff => out.extend([0xcc, n as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend((n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend((n as u32).to_be_bytes());
            }
            _ => {
                out.push(0xcf);
                out.extend((n as u64).to_be_bytes());
            }
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend([0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend((n as i16).to_be_bytes());
    } else if n >= -2147483648 {
        out.push(0xd2);
        out.extend((n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend(n.to_be_bytes());
    }
}

fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    let len = bytes.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend([0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend((len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend((len as u32).to_be_bytes());
    }
    out.extend_from_slice(bytes);
}

fn header(out: &mut Vec<u8>, len: usize, fix: u8, short: u8, long: u8) {
    if len < 16 {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(short);
        out.extend((len as u16).to_be_bytes());
    } else {
        out.push(long);
        out.extend((len as u32).to_be_bytes());
    }
}

/// lua-cmsgpack's array test: every key a positive integer and as many keys as the largest.
fn array_len(t: &Table) -> mlua::Result<Option<usize>> {
    let (mut count, mut max) = (0usize, 0usize);
    for pair in t.pairs::<Value, Value>() {
        let (key, _) = pair?;
        let index = match key {
            Value::Integer(i) if i > 0 => i as usize,
            Value::Number(n) if n > 0.0 && n.fract() == 0.0 => n as usize,
            _ => return Ok(None),
        };
        count += 1;
        max = max.max(index);
    }
    Ok((count == max).then_some(max))
}

fn encode_table(t: &Table, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    if let Some(len) = array_len(t)? {
        header(out, len, 0x90, 0xdc, 0xdd);
        for i in 1..=len {
            encode(&t.raw_get::<Value>(i)?, level + 1, out)?;
        }
        return Ok(());
    }
    // Each live Lua value pins a slot on mlua's reference stack (a few thousand at most),
    // so entries are encoded as they are visited rather than collected first; the count
    // for the header is known only afterwards.
    let mut body = Vec::new();
    let mut count = 0;
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        encode(&k, level + 1, &mut body)?;
        encode(&v, level + 1, &mut body)?;
        count += 1;
    }
    header(out, count, 0x80, 0xde, 0xdf);
    out.extend(body);
    Ok(())
}

fn take<'a>(bytes: &'a [u8], pos: &mut usize, n: usize) -> mlua::Result<&'a [u8]> {
    let end = pos
        .checked_add(n)
        .filter(|end| *end <= bytes.len())
        .ok_or_else(|| lua_error("Missing bytes in input."))?;
    let slice = &bytes[*pos..end];
    *pos = end;
    Ok(slice)
}

fn be(bytes: &[u8], pos: &mut usize, n: usize) -> mlua::Result<u64> {
    Ok(take(bytes, pos, n)?
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

fn decode(lua: &Lua, bytes: &[u8], pos: &mut usize) -> mlua::Result<Value> {
    let tag = take(bytes, pos, 1)?[0];
    let string = |lua: &Lua, pos: &mut usize, len: usize| -> mlua::Result<Value> {
        Ok(Value::String(lua.create_string(take(bytes, pos, len)?)?))
    };
    Ok(match tag {
        0x00..=0x7f => Value::Integer(i64::from(tag)),
        0x80..=0x8f => decode_map(lua, bytes, pos, usize::from(tag & 0x0f))?,
        0x90..=0x9f => decode_array(lua, bytes, pos, usize::from(tag & 0x0f))?,
        0xa0..=0xbf => string(lua, pos, usize::from(tag & 0x1f))?,
        0xc0 => Value::Nil,
        0xc2 => Value::Boolean(false),
        0xc3 => Value::Boolean(true),
        0xc4 | 0xd9 => {
            let len = be(bytes, pos, 1)? as usize;
            string(lua, pos, len)?
        }
        0xc5 | 0xda => {
            let len = be(bytes, pos, 2)? as usize;
            string(lua, pos, len)?
        }
        0xc6 | 0xdb => {
            let len = be(bytes, pos, 4)? as usize;
            string(lua, pos, len)?
        }
        0xca => Value::Number(f64::from(f32::from_bits(be(bytes, pos, 4)? as u32))),
        0xcb => Value::Number(f64::from_bits(be(bytes, pos, 8)?)),
        0xcc => Value::Integer(be(bytes, pos, 1)? as i64),
        0xcd => Value::Integer(be(bytes, pos, 2)? as i64),
        0xce => Value::Integer(be(bytes, pos, 4)? as i64),
        0xcf => Value::Number(be(bytes, pos, 8)? as f64),
        0xd0 => Value::Integer(i64::from(be(bytes, pos, 1)? as u8 as i8)),
        0xd1 => Value::Integer(i64::from(be(bytes, pos, 2)? as u16 as i16)),
        0xd2 => Value::Integer(i64::from(be(bytes, pos, 4)? as u32 as i32)),
        0xd3 => Value::Integer(be(bytes, pos, 8)? as i64),
        0xdc => {
            let len = be(bytes, pos, 2)? as usize;
            decode_array(lua, bytes, pos, len)?
        }
        0xdd => {
            let len = be(bytes, pos, 4)? as usize;
            decode_array(lua, bytes, pos, len)?
        }
        0xde => {
            let len = be(bytes, pos, 2)? as usize;
            decode_map(lua, bytes, pos, len)?
        }
        0xdf => {
            let len = be(bytes, pos, 4)? as usize;
            decode_map(lua, bytes, pos, len)?
        }
        0xe0..=0xff => Value::Integer(i64::from(tag as i8)),
        _ => return Err(lua_error("Bad data format in input.")),
    })
}

fn decode_array(lua: &Lua, bytes: &[u8], pos: &mut usize, len: usize) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(len.min(1 << 16), 0)?;
    for i in 1..=len {
        t.raw_set(i, decode(lua, bytes, pos)?)?;
    }
    Ok(Value::Table(t))
}

fn decode_map(lua: &Lua, bytes: &[u8], pos: &mut usize, len: usize) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(0, len.min(1 << 16))?;
    for _ in 0..len {
        let key = decode(lua, bytes, pos)?;
        let value = decode(lua, bytes, pos)?;
        if !matches!(key, Value::Nil) {
            t.raw_set(key, value)?;
        }
    }
    Ok(Value::Table(t))
}
