//! Strings. Up to [`threshold`] bytes a string lives inline in its metadata row
//! (`Meta.value`, version 0), so a small GET or SET is one row. Past it the bytes are stored
//! in fixed-size chunks as sub-rows under a fresh version (sort key: the chunk index, u32
//! big-endian, so a range scan returns them in order), as Kvrocks stores bitmap fragments:
//! SETBIT, BITFIELD, SETRANGE and APPEND rewrite only the chunks they touch, GETRANGE and
//! GETBIT read only the chunks they need, and DEL or an overwrite drops the version in O(1)
//! (its chunks are reclaimed in the background like any type's sub-rows).
//!
//! A chunked string's `Meta.len` is its byte length and `Meta.value` one byte, the log2 of
//! its chunk size: the size can be retuned without a format change. A chunk may be stored
//! shorter than the chunk size, or not at all: bytes inside the length that no chunk holds
//! read as zeros, so SETBIT far past the end writes one chunk, not the gap.
//!
//! Commands never look at a string's `Meta.value` themselves: they go through this API.

use std::ops::{Bound, ControlFlow, Range};
use std::sync::OnceLock;

use super::error::Result;
use crate::engine::{Kind, Meta, MetaValue, Txn};

/// log2 of the chunk size new chunked strings get (`bench/chunk_size.sh` measures the
/// candidates; the figures are in the module notes below).
const DEFAULT_CHUNK_LOG2: u8 = 12;

/// Bytes per window in which [`for_each_window`] reads a long range.
const WINDOW: usize = 1 << 20;

/// log2 of the chunk size for newly chunked strings. `REDYN_STRING_CHUNK_LOG2` (8..=20)
/// overrides it, for measuring other sizes: stored strings keep the size they were written
/// with, so changing it never misreads data.
fn new_chunk_log2() -> u8 {
    static LOG2: OnceLock<u8> = OnceLock::new();
    *LOG2.get_or_init(|| {
        std::env::var("REDYN_STRING_CHUNK_LOG2")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|v| (8..=20).contains(v))
            .unwrap_or(DEFAULT_CHUNK_LOG2)
    })
}

/// Strings longer than this many bytes are stored in chunks. It equals the chunk size: an
/// inline write costs the whole value, a chunked one a chunk, so past one chunk's worth
/// chunks are never dearer to write.
pub fn threshold() -> usize {
    1 << new_chunk_log2()
}

/// Whether a string's metadata says it is stored in chunks (inline strings have version 0;
/// versions handed out start at 1).
pub fn is_chunked(meta: &Meta) -> bool {
    meta.version != 0
}

/// The length in bytes of the string whose metadata is `meta`.
pub fn len(meta: &Meta) -> usize {
    if is_chunked(meta) {
        meta.len as usize
    } else {
        meta.value.len()
    }
}

fn chunk_size(meta: &Meta) -> usize {
    1 << meta.value[0]
}

fn chunk_key(index: usize) -> [u8; 4] {
    (index as u32).to_be_bytes()
}

fn chunk_index(sort_key: &[u8]) -> usize {
    u32::from_be_bytes(sort_key.try_into().unwrap_or_default()) as usize
}

/// The metadata of string `key` (WRONGTYPE for other types).
pub fn load(txn: &mut Txn, key: &[u8]) -> Result<Option<Meta>> {
    super::get_of_kind(txn, key, Kind::String)
}

/// The value of a string key (WRONGTYPE for other types).
pub fn get(txn: &mut Txn, key: &[u8]) -> Result<Option<Vec<u8>>> {
    with_value(txn, key, <[u8]>::to_vec)
}

/// Runs `f` on the value of the string `key` (WRONGTYPE for other types) without copying a
/// value stored inline: GET copies it once, into its reply, and INCR only parses it.
pub fn with_value<R>(txn: &mut Txn, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>> {
    let Some(meta) = super::shared_of_kind(txn, key, Kind::String)? else {
        return Ok(None);
    };
    if !is_chunked(&meta) {
        return Ok(Some(f(&meta.value)));
    }
    Ok(Some(f(&value(txn, key, &meta)?)))
}

/// The whole value of the string `key` whose metadata is `meta`.
pub fn value(txn: &Txn, key: &[u8], meta: &Meta) -> Result<Vec<u8>> {
    if !is_chunked(meta) {
        return Ok(meta.value.to_vec());
    }
    range(txn, key, meta, 0..len(meta))
}

/// `meta` with the value inline, whichever way it is stored (for code that edits a value as
/// a whole, such as HyperLogLogs). Storing it back stores it inline and drops the chunks.
pub fn inline(txn: &Txn, key: &[u8], meta: Meta) -> Result<Meta> {
    if !is_chunked(&meta) {
        return Ok(meta);
    }
    let value = value(txn, key, &meta)?;
    Ok(Meta {
        value: value.into(),
        version: 0,
        len: 0,
        ..meta
    })
}

/// Bytes `bytes` of the string (clamped to its length), reading only the chunks that cover
/// them: one chunk through the row cache, several with one range scan.
pub fn range(txn: &Txn, key: &[u8], meta: &Meta, bytes: Range<usize>) -> Result<Vec<u8>> {
    let (start, end) = (bytes.start, bytes.end.min(len(meta)));
    if start >= end {
        return Ok(Vec::new());
    }
    if !is_chunked(meta) {
        return Ok(meta.value[start..end].to_vec());
    }
    let mut out = vec![0; end - start];
    let size = chunk_size(meta);
    let (first, last) = (start / size, (end - 1) / size);
    if first == last {
        if let Some(chunk) = txn.sub_get(key, meta.version, &chunk_key(first))? {
            copy_overlap(&mut out, start, first * size, &chunk);
        }
        return Ok(out);
    }
    let (lo, hi) = (chunk_key(first), chunk_key(last));
    let scan = txn.sub_scan(
        key,
        meta.version,
        Bound::Included(&lo),
        Bound::Included(&hi),
        false,
    );
    for row in scan {
        let (sort_key, chunk) = row?;
        copy_overlap(&mut out, start, chunk_index(&sort_key) * size, &chunk);
    }
    Ok(out)
}

/// Copies the part of `chunk` (which starts at byte `chunk_start` of the string) that
/// overlaps `out` (which starts at byte `out_start`).
fn copy_overlap(out: &mut [u8], out_start: usize, chunk_start: usize, chunk: &[u8]) {
    let from = out_start.max(chunk_start);
    let to = (out_start + out.len()).min(chunk_start + chunk.len());
    if from < to {
        out[from - out_start..to - out_start]
            .copy_from_slice(&chunk[from - chunk_start..to - chunk_start]);
    }
}

/// Calls `visit(offset, bytes)` on consecutive windows of bytes `bytes` of the string
/// (clamped to its length), in order, until it breaks: BITCOUNT and BITPOS walk a 100 MB
/// bitmap without holding it all.
pub fn for_each_window<B>(
    txn: &Txn,
    key: &[u8],
    meta: &Meta,
    bytes: Range<usize>,
    mut visit: impl FnMut(usize, &[u8]) -> ControlFlow<B>,
) -> Result<Option<B>> {
    let end = bytes.end.min(len(meta));
    let mut start = bytes.start;
    while start < end {
        let stop = (start + WINDOW).min(end);
        if let ControlFlow::Break(found) = visit(start, &range(txn, key, meta, start..stop)?) {
            return Ok(Some(found));
        }
        start = stop;
    }
    Ok(None)
}

/// Stores a string, replacing whatever the key held. `expire_at`: 0 = no expiry.
pub fn set(txn: &mut Txn, key: &[u8], value: Vec<u8>, expire_at: u64) -> Result<()> {
    let mut meta = if value.len() <= threshold() {
        Meta::string(value)
    } else {
        let mut meta = Meta::string(Vec::new());
        write(txn, key, &mut meta, 0, &value)?;
        meta
    };
    meta.expire_at = expire_at;
    txn.put(key, meta)?;
    Ok(())
}

/// Replaces the value of a string key keeping its TTL (INCR, INCRBYFLOAT…), or creates it.
pub fn update(txn: &mut Txn, key: &[u8], value: Vec<u8>) -> Result<()> {
    let expire_at = txn.get_shared(key)?.map_or(0, |m| m.expire_at);
    set(txn, key, value, expire_at)
}

/// Writes `bytes` at byte `offset` of the string `key` whose metadata is `meta` (`None`:
/// a new key), growing it with zeros as needed and keeping its TTL (SETRANGE, APPEND). Only
/// the chunks written are touched. Returns the new length.
pub fn write_at(
    txn: &mut Txn,
    key: &[u8],
    meta: Option<Meta>,
    offset: usize,
    bytes: &[u8],
) -> Result<usize> {
    let mut meta = meta.unwrap_or_else(|| Meta::string(Vec::new()));
    write(txn, key, &mut meta, offset, bytes)?;
    let new_len = len(&meta);
    txn.put(key, meta)?;
    Ok(new_len)
}

/// Applies `change` to a window of the string `key` (created empty if missing; TTL kept),
/// reading and writing only the chunks under the window (SETBIT, BITFIELD). The window
/// starts at byte `start` and covers the existing bytes up to `read_end` and the string
/// grown with zeros to `grow_to` bytes. `change` gets the window and whether the string
/// grew, and answers its result and whether it changed the window; an unchanged window is
/// not written (the key still counts as touched, for WATCH).
pub fn modify<R>(
    txn: &mut Txn,
    key: &[u8],
    start: usize,
    read_end: usize,
    grow_to: usize,
    change: impl FnOnce(&mut [u8], bool) -> (R, bool),
) -> Result<R> {
    let mut meta = load(txn, key)?.unwrap_or_else(|| Meta::string(Vec::new()));
    let old_len = len(&meta);
    let end = grow_to.max(read_end.min(old_len));
    let mut window = range(txn, key, &meta, start..end)?;
    window.resize(end - start, 0);
    let (result, changed) = change(&mut window, grow_to > old_len);
    if changed {
        write(txn, key, &mut meta, start, &window)?;
    }
    txn.put(key, meta)?;
    Ok(result)
}

/// Writes `bytes` at `offset` into the string described by `meta` (updated, not stored),
/// moving it to chunks when it grows past the threshold.
fn write(txn: &mut Txn, key: &[u8], meta: &mut Meta, offset: usize, bytes: &[u8]) -> Result<()> {
    let new_len = len(meta).max(offset + bytes.len());
    if !is_chunked(meta) {
        if new_len <= threshold() {
            if meta.value.len() < new_len {
                meta.value.resize(new_len, 0);
            }
            meta.value[offset..offset + bytes.len()].copy_from_slice(bytes);
            return Ok(());
        }
        to_chunks(txn, key, meta)?;
    }
    meta.len = new_len as u64;
    let size = chunk_size(meta);
    let (mut at, mut rest) = (offset, bytes);
    while !rest.is_empty() {
        let (index, within) = (at / size, at % size);
        let n = (size - within).min(rest.len());
        let sort_key = chunk_key(index);
        // A chunk written whole needs no read of what it held.
        let mut chunk = if n == size {
            Vec::with_capacity(size)
        } else {
            txn.sub_get(key, meta.version, &sort_key)?
                .unwrap_or_default()
        };
        if chunk.len() < within + n {
            chunk.resize(within + n, 0);
        }
        chunk[within..within + n].copy_from_slice(&rest[..n]);
        txn.sub_put(key, meta.version, &sort_key, chunk);
        at += n;
        rest = &rest[n..];
    }
    Ok(())
}

/// Moves an inline string into chunks under a fresh version.
fn to_chunks(txn: &mut Txn, key: &[u8], meta: &mut Meta) -> Result<()> {
    let inline = std::mem::replace(&mut meta.value, MetaValue::from_slice(&[new_chunk_log2()]));
    meta.version = txn.engine().new_version()?;
    meta.len = 0;
    write(txn, key, meta, 0, &inline)
}

/// One run of consecutive matching bytes of a longest common subsequence: inclusive ranges
/// in each string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LcsMatch {
    pub a: (usize, usize),
    pub b: (usize, usize),
}

impl LcsMatch {
    /// Bytes in the run (never 0: a run holds at least one matching byte).
    pub fn run_len(&self) -> usize {
        self.a.1 - self.a.0 + 1
    }
}

/// A longest common subsequence of two strings, with its matching runs listed from the end
/// of the strings backwards (the order LCS IDX replies with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lcs {
    pub text: Vec<u8>,
    pub matches: Vec<LcsMatch>,
}

/// Bytes of the dynamic-programming table [`lcs`] needs for strings of these lengths (LCS
/// refuses to allocate more than `proto-max-bulk-len`).
pub fn lcs_table_bytes(a_len: usize, b_len: usize) -> u128 {
    (a_len as u128 + 1) * (b_len as u128 + 1) * 4
}

/// The longest common subsequence of `a` and `b`, by Redis's dynamic-programming algorithm
/// and backtracking order, so ties resolve to the same subsequence Redis reports.
pub fn lcs(a: &[u8], b: &[u8]) -> Lcs {
    let width = b.len() + 1;
    // table[i * width + j] = LCS length of a[..i] and b[..j].
    let mut table = vec![0u32; (a.len() + 1) * width];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let at = |i: usize, j: usize| table[i * width + j];
    let mut text = Vec::with_capacity(at(a.len(), b.len()) as usize);
    let mut matches = Vec::new();
    let mut run: Option<LcsMatch> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        if a[i - 1] == b[j - 1] {
            text.push(a[i - 1]);
            match run.as_mut() {
                // Walking backwards, a match right before the run extends it.
                Some(r) if r.a.0 == i && r.b.0 == j => {
                    r.a.0 -= 1;
                    r.b.0 -= 1;
                }
                Some(_) => matches.extend(run.take()),
                None => {
                    run = Some(LcsMatch {
                        a: (i - 1, i - 1),
                        b: (j - 1, j - 1),
                    })
                }
            }
            i -= 1;
            j -= 1;
            if run.as_ref().is_some_and(|r| r.a.0 == 0 || r.b.0 == 0) {
                matches.extend(run.take());
            }
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            matches.extend(run.take());
        }
    }
    text.reverse();
    Lcs { text, matches }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcs_of_simple_strings() {
        let found = lcs(b"ohmytext", b"mynewtext");
        assert_eq!(found.text, b"mytext");
        assert_eq!(
            found.matches,
            [
                LcsMatch {
                    a: (4, 7),
                    b: (5, 8)
                },
                LcsMatch {
                    a: (2, 3),
                    b: (0, 1)
                },
            ]
        );
        assert_eq!(found.matches[0].run_len(), 4);
        assert!(lcs(b"", b"abc").text.is_empty());
        assert!(lcs(b"abc", b"xyz").matches.is_empty());
    }
}
