//! Reading RDB values: the length and string encodings, and each value type.

use std::collections::HashSet;

use super::compact::{intset, listpack, ziplist, zipmap};
use super::stream::{STREAM_LISTPACKS, STREAM_LISTPACKS_2, STREAM_LISTPACKS_3};
use super::types::*;
use super::{lzf, RdbError, Result, Value};

/// Low 6 bits of a length byte tagged `11`: how the string that follows is encoded.
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// Quicklist 2 node containers.
const QUICKLIST_NODE_PLAIN: u64 = 1;
const QUICKLIST_NODE_PACKED: u64 = 2;

/// A cursor over serialized bytes.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

/// A length, or the marker of a specially encoded string.
enum Length {
    Plain(u64),
    Encoded(u8),
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn is_at_end(&self) -> bool {
        self.pos == self.data.len()
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(RdbError::Truncated)?;
        let slice = self.data.get(self.pos..end).ok_or(RdbError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.bytes(N)?.try_into().expect("N bytes"))
    }

    pub fn u32_le(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64_le(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn length_or_encoding(&mut self) -> Result<Length> {
        let first = self.u8()?;
        Ok(match first >> 6 {
            0 => Length::Plain(u64::from(first & 0x3f)),
            1 => Length::Plain((u64::from(first & 0x3f) << 8) | u64::from(self.u8()?)),
            2 => match first {
                0x80 => Length::Plain(u64::from(u32::from_be_bytes(self.array()?))),
                0x81 => Length::Plain(u64::from_be_bytes(self.array()?)),
                _ => return Err(RdbError::Invalid("length encoding")),
            },
            _ => Length::Encoded(first & 0x3f),
        })
    }

    /// A length (element counts, string lengths).
    pub fn length(&mut self) -> Result<u64> {
        match self.length_or_encoding()? {
            Length::Plain(n) => Ok(n),
            Length::Encoded(_) => Err(RdbError::Invalid("length")),
        }
    }

    /// A length used as an element count, bounded by the bytes left so a corrupt count
    /// cannot make us reserve huge buffers.
    fn count(&mut self) -> Result<usize> {
        let n = self.length()?;
        if n > (self.data.len() - self.pos) as u64 {
            return Err(RdbError::Truncated);
        }
        Ok(n as usize)
    }

    /// A string: raw, int-encoded (as its decimal text) or LZF-compressed.
    pub fn string(&mut self) -> Result<Vec<u8>> {
        match self.length_or_encoding()? {
            Length::Plain(n) => {
                let n = usize::try_from(n).map_err(|_| RdbError::Truncated)?;
                Ok(self.bytes(n)?.to_vec())
            }
            Length::Encoded(ENC_INT8) => Ok((self.u8()? as i8).to_string().into_bytes()),
            Length::Encoded(ENC_INT16) => {
                Ok(i16::from_le_bytes(self.array()?).to_string().into_bytes())
            }
            Length::Encoded(ENC_INT32) => {
                Ok(i32::from_le_bytes(self.array()?).to_string().into_bytes())
            }
            Length::Encoded(ENC_LZF) => {
                let compressed_len = self.length()? as usize;
                let len = self.length()? as usize;
                lzf::decompress(self.bytes(compressed_len)?, len)
            }
            Length::Encoded(_) => Err(RdbError::Invalid("string encoding")),
        }
    }

    /// A score of the old ZSET type: a length byte and ASCII text (253-255 = nan, +inf, -inf).
    fn text_double(&mut self) -> Result<f64> {
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => parse_score(self.bytes(n as usize)?),
        }
    }

    /// A score of ZSET_2: 8 bytes, little-endian IEEE 754.
    fn binary_double(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// A value of type `kind` (the type byte already read). Empty collections are
    /// refused, as RESTORE refuses them (an empty stream is a value of its own).
    pub fn value(&mut self, kind: u8) -> Result<Value> {
        let value = self.value_maybe_empty(kind)?;
        if is_empty(&value) {
            return Err(RdbError::Invalid("empty collection"));
        }
        Ok(value)
    }

    /// A value of type `kind`, possibly an empty collection (which Redis's file loader
    /// skips rather than fails on).
    pub fn value_maybe_empty(&mut self, kind: u8) -> Result<Value> {
        let value = match kind {
            STRING => Value::String(self.string()?),
            LIST => Value::List(self.strings()?),
            SET => Value::Set(self.strings()?),
            ZSET | ZSET_2 => Value::ZSet(self.zset(kind == ZSET_2)?),
            HASH => Value::Hash(self.pairs()?),
            HASH_ZIPMAP => Value::Hash(zipmap::pairs(&self.string()?)?),
            LIST_ZIPLIST => Value::List(ziplist::entries(&self.string()?)?),
            SET_INTSET => Value::Set(intset::members(&self.string()?)?),
            SET_LISTPACK => Value::Set(listpack::entries(&self.string()?)?),
            ZSET_ZIPLIST => Value::ZSet(scored(ziplist::entries(&self.string()?)?)?),
            ZSET_LISTPACK => Value::ZSet(scored(listpack::entries(&self.string()?)?)?),
            HASH_ZIPLIST => Value::Hash(paired(ziplist::entries(&self.string()?)?)?),
            HASH_LISTPACK => Value::Hash(paired(listpack::entries(&self.string()?)?)?),
            LIST_QUICKLIST => Value::List(self.quicklist()?),
            LIST_QUICKLIST_2 => Value::List(self.quicklist_2()?),
            STREAM_LISTPACKS | STREAM_LISTPACKS_2 | STREAM_LISTPACKS_3 => {
                Value::Stream(Box::new(self.stream(kind)?))
            }
            other => return Err(RdbError::UnsupportedType(other)),
        };
        if has_duplicates(&value) {
            // As Redis's loader: a set member, hash field or sorted set member twice.
            return Err(RdbError::Invalid("duplicate member"));
        }
        Ok(value)
    }

    fn strings(&mut self) -> Result<Vec<Vec<u8>>> {
        let n = self.count()?;
        (0..n).map(|_| self.string()).collect()
    }

    fn pairs(&mut self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let n = self.count()?;
        (0..n)
            .map(|_| Ok((self.string()?, self.string()?)))
            .collect()
    }

    fn zset(&mut self, binary_scores: bool) -> Result<Vec<(Vec<u8>, f64)>> {
        let n = self.count()?;
        (0..n)
            .map(|_| {
                let member = self.string()?;
                let score = if binary_scores {
                    self.binary_double()?
                } else {
                    self.text_double()?
                };
                if score.is_nan() {
                    return Err(RdbError::Invalid("score"));
                }
                Ok((member, score))
            })
            .collect()
    }

    /// Quicklist (RDB 7–9): a list of ziplists.
    fn quicklist(&mut self) -> Result<Vec<Vec<u8>>> {
        let nodes = self.count()?;
        let mut elements = Vec::new();
        for _ in 0..nodes {
            elements.extend(ziplist::entries(&self.string()?)?);
        }
        Ok(elements)
    }

    /// Quicklist 2 (RDB 10): nodes that are a listpack or one plain (large) element.
    fn quicklist_2(&mut self) -> Result<Vec<Vec<u8>>> {
        let nodes = self.count()?;
        let mut elements = Vec::new();
        for _ in 0..nodes {
            match self.length()? {
                QUICKLIST_NODE_PLAIN => elements.push(self.string()?),
                QUICKLIST_NODE_PACKED => elements.extend(listpack::entries(&self.string()?)?),
                _ => return Err(RdbError::Invalid("quicklist node container")),
            }
        }
        Ok(elements)
    }
}

pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::String(_) | Value::Stream(_) => false,
        Value::List(v) | Value::Set(v) => v.is_empty(),
        Value::Hash(v) => v.is_empty(),
        Value::ZSet(v) => v.is_empty(),
    }
}

fn has_duplicates(value: &Value) -> bool {
    fn repeats<'v>(mut names: impl Iterator<Item = &'v [u8]>) -> bool {
        let mut seen = HashSet::new();
        names.any(|name| !seen.insert(name))
    }
    match value {
        // A stream's names are checked as it is read.
        Value::String(_) | Value::List(_) | Value::Stream(_) => false,
        Value::Set(members) => repeats(members.iter().map(Vec::as_slice)),
        Value::Hash(pairs) => repeats(pairs.iter().map(|(f, _)| f.as_slice())),
        Value::ZSet(entries) => repeats(entries.iter().map(|(m, _)| m.as_slice())),
    }
}

/// A score as Redis prints it into ziplists and old ZSETs (`inf`, `-inf`, decimal text).
fn parse_score(text: &[u8]) -> Result<f64> {
    let text = std::str::from_utf8(text).map_err(|_| RdbError::Invalid("score"))?;
    let score = match text.to_ascii_lowercase().as_str() {
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        _ => text.parse().map_err(|_| RdbError::Invalid("score"))?,
    };
    if score.is_nan() {
        return Err(RdbError::Invalid("score"));
    }
    Ok(score)
}

/// Flat `field, value, field, value…` entries as pairs.
fn paired(flat: Vec<Vec<u8>>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    if !flat.len().is_multiple_of(2) {
        return Err(RdbError::Invalid("odd number of hash entries"));
    }
    let mut flat = flat.into_iter();
    let mut pairs = Vec::new();
    while let (Some(field), Some(value)) = (flat.next(), flat.next()) {
        pairs.push((field, value));
    }
    Ok(pairs)
}

/// Flat `member, score, …` entries (scores as text) as scored members.
fn scored(flat: Vec<Vec<u8>>) -> Result<Vec<(Vec<u8>, f64)>> {
    paired(flat)?
        .into_iter()
        .map(|(member, score)| Ok((member, parse_score(&score)?)))
        .collect()
}
