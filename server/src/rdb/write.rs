//! Writing RDB values in the plain encodings (string, list, set, zset 2, hash), and
//! streams as Redis 7.0 does.

use super::stream::{encode_stream, STREAM_LISTPACKS_2};
use super::types::*;
use super::Value;

/// Appends `value` as a type byte followed by its body.
pub fn encode_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(s) => {
            out.push(STRING);
            string(out, s);
        }
        Value::List(elements) => {
            out.push(LIST);
            strings(out, elements);
        }
        Value::Set(members) => {
            out.push(SET);
            strings(out, members);
        }
        Value::Hash(pairs) => {
            out.push(HASH);
            length(out, pairs.len() as u64);
            for (field, value) in pairs {
                string(out, field);
                string(out, value);
            }
        }
        Value::ZSet(entries) => {
            out.push(ZSET_2);
            length(out, entries.len() as u64);
            for (member, score) in entries {
                string(out, member);
                out.extend_from_slice(&score.to_le_bytes());
            }
        }
        Value::Stream(stream) => {
            out.push(STREAM_LISTPACKS_2);
            encode_stream(out, stream);
        }
    }
}

fn strings(out: &mut Vec<u8>, items: &[Vec<u8>]) {
    length(out, items.len() as u64);
    for item in items {
        string(out, item);
    }
}

/// Redis's length encoding: 6, 14, 32 or 64 bits.
pub fn length(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A string, int-encoded when it is the canonical decimal text of a 32-bit integer (as
/// Redis does), raw otherwise.
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    if let Some(n) = canonical_int(s) {
        if let Ok(n) = i8::try_from(n) {
            out.extend_from_slice(&[0xc0, n as u8]);
            return;
        }
        if let Ok(n) = i16::try_from(n) {
            out.push(0xc1);
            out.extend_from_slice(&n.to_le_bytes());
            return;
        }
        if let Ok(n) = i32::try_from(n) {
            out.push(0xc2);
            out.extend_from_slice(&n.to_le_bytes());
            return;
        }
    }
    length(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// The integer `s` spells, only if printing it gives back exactly `s` (so "007" and "+1"
/// stay strings and round-trip byte for byte).
fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 11 {
        return None;
    }
    let n: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    (n.to_string().as_bytes() == s).then_some(n)
}
