//! `cjson`: JSON encoding and decoding with lua-cjson's rules (arrays for tables whose keys
//! are 1..n, `cjson.null` for JSON null, configurable depth limits).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use mlua::{LightUserData, Lua, Table, Value};

use super::lua_error;

/// The settings scripts may change (`cjson.encode_max_depth(…)`…).
struct Settings {
    encode_max_depth: AtomicUsize,
    decode_max_depth: AtomicUsize,
    encode_invalid_numbers: AtomicBool,
}

/// lua-cjson's `cjson.null`: a light userdata holding NULL.
fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let settings = Arc::new(Settings {
        encode_max_depth: AtomicUsize::new(1000),
        decode_max_depth: AtomicUsize::new(1000),
        encode_invalid_numbers: AtomicBool::new(false),
    });
    let cjson = lua.create_table()?;
    let s = settings.clone();
    cjson.set(
        "encode",
        lua.create_function(move |_, value: Value| {
            let mut out = String::new();
            encode(&value, &s, 1, &mut out)?;
            Ok(out)
        })?,
    )?;
    let s = settings.clone();
    cjson.set(
        "decode",
        lua.create_function(move |lua, text: mlua::LuaString| {
            let parsed: serde_json::Value = serde_json::from_slice(&text.as_bytes())
                .map_err(|e| lua_error(format!("Expected value but found invalid token: {e}")))?;
            decode(lua, &parsed, &s, 1)
        })?,
    )?;
    let depth_setter = |target: fn(&Settings) -> &AtomicUsize| {
        let s = settings.clone();
        move |_: &Lua, depth: Option<f64>| {
            if let Some(depth) = depth {
                target(&s).store(depth.max(1.0) as usize, Ordering::Relaxed);
            }
            Ok(target(&s).load(Ordering::Relaxed) as f64)
        }
    };
    cjson.set(
        "encode_max_depth",
        lua.create_function(depth_setter(|s| &s.encode_max_depth))?,
    )?;
    cjson.set(
        "decode_max_depth",
        lua.create_function(depth_setter(|s| &s.decode_max_depth))?,
    )?;
    let s = settings.clone();
    cjson.set(
        "encode_invalid_numbers",
        lua.create_function(move |_, on: Option<Value>| {
            if let Some(on) = on {
                let enabled = !matches!(on, Value::Boolean(false) | Value::Nil)
                    && !matches!(&on, Value::String(v) if v.as_bytes().as_ref() == b"off");
                s.encode_invalid_numbers.store(enabled, Ordering::Relaxed);
            }
            Ok(s.encode_invalid_numbers.load(Ordering::Relaxed))
        })?,
    )?;
    // Settings lua-cjson has that change nothing observable here (buffers, precision…).
    for name in [
        "encode_keep_buffer",
        "encode_sparse_array",
        "encode_number_precision",
        "decode_invalid_numbers",
    ] {
        cjson.set(
            name,
            lua.create_function(|_, _: mlua::MultiValue| Ok(true))?,
        )?;
    }
    cjson.set("null", null())?;
    Ok(cjson)
}

fn encode(value: &Value, s: &Settings, depth: usize, out: &mut String) -> mlua::Result<()> {
    match value {
        Value::Nil => out.push_str("null"),
        Value::LightUserData(p) if p.0.is_null() => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Integer(n) => out.push_str(&n.to_string()),
        Value::Number(n) => encode_number(*n, s, out)?,
        Value::String(text) => encode_string(&text.as_bytes(), out),
        Value::Table(t) => {
            if depth > s.encode_max_depth.load(Ordering::Relaxed) {
                return Err(lua_error(format!(
                    "Cannot serialise, excessive nesting ({depth})"
                )));
            }
            encode_table(t, s, depth, out)?
        }
        other => {
            return Err(lua_error(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            )))
        }
    }
    Ok(())
}

fn encode_number(n: f64, s: &Settings, out: &mut String) -> mlua::Result<()> {
    if !n.is_finite() {
        if !s.encode_invalid_numbers.load(Ordering::Relaxed) {
            return Err(lua_error("Cannot serialise number: must not be NaN or Inf"));
        }
        out.push_str(if n.is_nan() {
            "nan"
        } else if n > 0.0 {
            "inf"
        } else {
            "-inf"
        });
        return Ok(());
    }
    if n.fract() == 0.0 && n.abs() < 1e15 {
        out.push_str(&(n as i64).to_string());
    } else {
        out.push_str(&format_g14(n));
    }
    Ok(())
}

/// `%.14g`, the precision lua-cjson encodes numbers with.
fn format_g14(n: f64) -> String {
    let formatted = format!("{n:.13e}");
    let (mantissa, exp) = formatted.split_once('e').expect("exponent format");
    let exp: i32 = exp.parse().expect("exponent");
    if (-5..14).contains(&exp) {
        let decimals = (13 - exp).max(0) as usize;
        let fixed = format!("{n:.decimals$}");
        trim_zeros(&fixed)
    } else {
        let mantissa = trim_zeros(mantissa);
        format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

fn encode_string(bytes: &[u8], out: &mut String) {
    out.push('"');
    for ch in String::from_utf8_lossy(bytes).chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The length of `t` as an array when every key is a positive integer, else `None`.
fn array_length(t: &Table) -> mlua::Result<Option<usize>> {
    let mut max = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (key, _) = pair?;
        let index = match key {
            Value::Integer(i) if i > 0 => i as usize,
            Value::Number(n) if n > 0.0 && n.fract() == 0.0 => n as usize,
            _ => return Ok(None),
        };
        max = max.max(index);
    }
    Ok(Some(max))
}

fn encode_table(t: &Table, s: &Settings, depth: usize, out: &mut String) -> mlua::Result<()> {
    match array_length(t)? {
        Some(len) if len > 0 => {
            out.push('[');
            for i in 1..=len {
                if i > 1 {
                    out.push(',');
                }
                encode(&t.raw_get::<Value>(i)?, s, depth + 1, out)?;
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            let mut first = true;
            for pair in t.pairs::<Value, Value>() {
                let (key, value) = pair?;
                let key = match &key {
                    Value::String(k) => k.as_bytes().to_vec(),
                    Value::Integer(i) => i.to_string().into_bytes(),
                    Value::Number(n) => {
                        let mut text = String::new();
                        encode_number(*n, s, &mut text)?;
                        text.into_bytes()
                    }
                    other => {
                        return Err(lua_error(format!(
                            "Cannot serialise {}: table key must be a number or string",
                            other.type_name()
                        )))
                    }
                };
                if !first {
                    out.push(',');
                }
                first = false;
                encode_string(&key, out);
                out.push(':');
                encode(&value, s, depth + 1, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn decode(lua: &Lua, json: &serde_json::Value, s: &Settings, depth: usize) -> mlua::Result<Value> {
    use serde_json::Value as J;
    let nested = matches!(json, J::Array(_) | J::Object(_));
    if nested && depth > s.decode_max_depth.load(Ordering::Relaxed) {
        return Err(lua_error(format!(
            "Found too many nested data structures ({depth})"
        )));
    }
    Ok(match json {
        J::Null => null(),
        J::Bool(b) => Value::Boolean(*b),
        J::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        J::String(text) => Value::String(lua.create_string(text)?),
        J::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, decode(lua, item, s, depth + 1)?)?;
            }
            Value::Table(t)
        }
        J::Object(fields) => {
            let t = lua.create_table_with_capacity(0, fields.len())?;
            for (k, v) in fields {
                t.raw_set(k.as_str(), decode(lua, v, s, depth + 1)?)?;
            }
            Value::Table(t)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::format_g14;

    #[test]
    fn numbers_use_fourteen_significant_digits() {
        assert_eq!(format_g14(0.0003), "0.0003");
        assert_eq!(format_g14(1023.2), "1023.2");
        assert_eq!(format_g14(0.1), "0.1");
        assert_eq!(format_g14(1e300), "1e+300");
    }
}
