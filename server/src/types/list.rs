//! Lists: elements as sub-rows keyed by an order-preserving sequence number (as Kvrocks).
//!
//! The metadata row holds `{kind: List, version, len, value = layout ‖ head ‖ tail}`: the
//! list's elements are the sub-rows `version ‖ seq (u64, big-endian) → element` for
//! `head <= seq < tail`, always contiguous, so element `i` is the row `head + i`. A new list
//! starts in the middle of the sequence space (`1 << 63`) so both ends can grow. Pushes, pops,
//! LINDEX and LSET touch one row; LRANGE is one range scan; LINSERT and LREM shift the
//! shorter side of the list by rewriting it.
//!
//! A pop deletes its row only while the row is still in the write buffer. One it takes from
//! fjall is left where it is, outside the ends, and removed by compaction (see
//! `engine::compaction`): a deletion per pop cost a fifth of a pop's CPU on a queue whose
//! backlog was in fjall. So everything reading a list's rows stays between its ends.

use std::ops::Bound::{Excluded, Included};

use super::error::{Result, TypeError};
use crate::engine::cache::StretchValues;
use crate::engine::txn::{SubScan, READ_AHEAD_ROWS};
use crate::engine::{Kind, ListEnds, Meta, Txn};

/// Sequence number of the first element of a new list.
const MIDDLE: u64 = 1 << 63;

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

impl End {
    pub fn parse(arg: &[u8]) -> Option<End> {
        if arg.eq_ignore_ascii_case(b"left") {
            Some(End::Head)
        } else if arg.eq_ignore_ascii_case(b"right") {
            Some(End::Tail)
        } else {
            None
        }
    }
}

/// The sequence range `[head, tail)` holding a list's elements.
fn ends_of(meta: &Meta) -> Result<ListEnds> {
    ListEnds::read(meta).ok_or(TypeError::Corrupt("list metadata"))
}

fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// The list at `key` (WRONGTYPE for other types, `None` if absent).
pub fn load(txn: &mut Txn, key: &[u8]) -> Result<Option<Meta>> {
    super::get_of_kind(txn, key, Kind::List)
}

/// The list at `key`, or a new empty one (fresh version, ends in the middle).
pub fn load_or_create(txn: &mut Txn, key: &[u8]) -> Result<Meta> {
    if let Some(meta) = load(txn, key)? {
        return Ok(meta);
    }
    let mut meta = Meta::new(Kind::List, txn.engine().new_version()?);
    ListEnds {
        head: MIDDLE,
        tail: MIDDLE,
    }
    .write(&mut meta);
    Ok(meta)
}

/// Writes the list's metadata back, deleting the key when it became empty (Redis never
/// keeps empty lists). Returns whether the key was deleted.
pub fn store(txn: &mut Txn, key: &[u8], meta: Meta) -> Result<bool> {
    if meta.len == 0 {
        // Trims and removals deleted their rows on the way to empty, and pops either did or
        // left rows compaction removes once the metadata row is gone: nothing is left for
        // background reclaim to walk.
        txn.delete_emptied(key, meta.version)?;
        return Ok(true);
    }
    super::store_members(txn, key, meta)
}

/// Adds `value` at `end`.
pub fn push(txn: &mut Txn, key: &[u8], meta: &mut Meta, end: End, value: Vec<u8>) -> Result<()> {
    let mut ends = ends_of(meta)?;
    let seq = match end {
        End::Head => {
            ends.head -= 1;
            ends.head
        }
        End::Tail => {
            ends.tail += 1;
            ends.tail - 1
        }
    };
    txn.sub_insert(key, meta.version, &seq_key(seq), value);
    ends.write(meta);
    Ok(())
}

/// Removes and returns up to `count` elements from `end`, nearest the end first.
pub fn pop(
    txn: &mut Txn,
    key: &[u8],
    meta: &mut Meta,
    end: End,
    count: usize,
) -> Result<Vec<Vec<u8>>> {
    let mut ends = ends_of(meta)?;
    let count = count.min(meta.len as usize);
    let mut popped = Vec::with_capacity(count);
    for _ in 0..count {
        let seq = match end {
            End::Head => ends.head,
            End::Tail => ends.tail - 1,
        };
        // The farthest element the next pops from this end would take (read ahead if the
        // elements are in fjall).
        let ahead = match end {
            End::Head => seq
                .saturating_add(READ_AHEAD_ROWS as u64 - 1)
                .min(ends.tail - 1),
            End::Tail => seq
                .saturating_sub(READ_AHEAD_ROWS as u64 - 1)
                .max(ends.head),
        };
        let element = txn
            .sub_take(
                key,
                meta.version,
                &seq_key(seq),
                Some((&seq_key(ahead), end == End::Tail)),
            )?
            .ok_or(TypeError::Corrupt("list element"))?;
        match end {
            End::Head => ends.head += 1,
            End::Tail => ends.tail -= 1,
        }
        popped.push(element);
    }
    ends.write(meta);
    Ok(popped)
}

/// Element `index` (0-based from the head, already normalized to `0..len`).
pub fn get(txn: &Txn, key: &[u8], meta: &Meta, index: u64) -> Result<Option<Vec<u8>>> {
    let ends = ends_of(meta)?;
    Ok(txn.sub_get(key, meta.version, &seq_key(ends.head + index))?)
}

/// Replaces element `index` (already normalized to `0..len`).
pub fn set(txn: &mut Txn, key: &[u8], meta: &Meta, index: u64, value: Vec<u8>) -> Result<()> {
    let ends = ends_of(meta)?;
    txn.sub_put(key, meta.version, &seq_key(ends.head + index), value);
    Ok(())
}

/// Elements `start..=stop` (normalized, `start <= stop < len`).
pub fn range(txn: &Txn, key: &[u8], meta: &Meta, start: u64, stop: u64) -> Result<Vec<Vec<u8>>> {
    let elements = range_shared(txn, key, meta, start, stop)?.into_vec();
    // Buffers that came from the scan (not shared with the cache) are handed back without
    // a copy.
    Ok(elements.into_iter().map(Vec::from).collect())
}

/// Elements `start..=stop` (normalized, `start <= stop < len`) as shared buffers (LRANGE's
/// reply holds them without a copy), through the stretch cache (see
/// [`Txn::sub_values_cached`]).
pub fn range_shared(
    txn: &Txn,
    key: &[u8],
    meta: &Meta,
    start: u64,
    stop: u64,
) -> Result<StretchValues> {
    let ends = ends_of(meta)?;
    let positions = (ends.head + start..=ends.head + stop).map(seq_key);
    let count = usize::try_from(stop - start + 1).unwrap_or(usize::MAX);
    Ok(txn.sub_values_cached(key, meta.version, positions, count)?)
}

/// The rows of the list's elements, `(sequence key, element)`, from the head (from the
/// tail when `reverse`). Bounded by the ends: rows beyond them are ones pops took, which
/// stay until compaction removes them (see `engine::compaction`).
pub fn rows(txn: &Txn, key: &[u8], meta: &Meta, reverse: bool) -> Result<SubScan> {
    let ends = ends_of(meta)?;
    let (head, tail) = (seq_key(ends.head), seq_key(ends.tail));
    Ok(txn.sub_scan(key, meta.version, Included(&head), Excluded(&tail), reverse))
}

/// Iterates `(index, element)` from the head, or from the tail when `reverse`, lazily (LPOS
/// stops early).
pub fn scan<'t>(
    txn: &'t Txn,
    key: &[u8],
    meta: &Meta,
    reverse: bool,
) -> Result<impl Iterator<Item = Result<(u64, Vec<u8>)>> + 't> {
    let ends = ends_of(meta)?;
    Ok(rows(txn, key, meta, reverse)?.map(move |row| {
        let (sort_key, element) = row?;
        let seq: [u8; 8] = sort_key
            .as_slice()
            .try_into()
            .map_err(|_| TypeError::Corrupt("list element key"))?;
        Ok((u64::from_be_bytes(seq) - ends.head, element))
    }))
}

/// Keeps only elements `start..=stop` (normalized); `None` empties the list.
pub fn trim(txn: &mut Txn, key: &[u8], meta: &mut Meta, keep: Option<(u64, u64)>) -> Result<()> {
    let mut ends = ends_of(meta)?;
    let (new_head, new_tail) = match keep {
        Some((start, stop)) => (ends.head + start, ends.head + stop + 1),
        None => (ends.head, ends.head),
    };
    for seq in (ends.head..new_head).chain(new_tail..ends.tail) {
        txn.sub_delete(key, meta.version, &seq_key(seq));
    }
    ends.head = new_head;
    ends.tail = new_tail.max(new_head);
    ends.write(meta);
    Ok(())
}

/// Replaces elements `0..upto` with `new_prefix`, which ends where the old prefix ended
/// (only the rows of the prefix are written).
fn rewrite_prefix(
    txn: &mut Txn,
    key: &[u8],
    meta: &mut Meta,
    upto: u64,
    new_prefix: Vec<Vec<u8>>,
) -> Result<()> {
    let mut ends = ends_of(meta)?;
    let boundary = ends.head + upto;
    let new_head = boundary - new_prefix.len() as u64;
    for seq in ends.head..new_head {
        txn.sub_delete(key, meta.version, &seq_key(seq));
    }
    for (seq, element) in (new_head..).zip(new_prefix) {
        txn.sub_put(key, meta.version, &seq_key(seq), element);
    }
    ends.head = new_head;
    ends.write(meta);
    Ok(())
}

/// Replaces elements `from..len` with `new_suffix`, which starts where the old suffix
/// started (only the rows of the suffix are written).
fn rewrite_suffix(
    txn: &mut Txn,
    key: &[u8],
    meta: &mut Meta,
    from: u64,
    new_suffix: Vec<Vec<u8>>,
) -> Result<()> {
    let mut ends = ends_of(meta)?;
    let start = ends.head + from;
    let new_tail = start + new_suffix.len() as u64;
    for seq in new_tail..ends.tail {
        txn.sub_delete(key, meta.version, &seq_key(seq));
    }
    for (seq, element) in (start..).zip(new_suffix) {
        txn.sub_put(key, meta.version, &seq_key(seq), element);
    }
    ends.tail = new_tail;
    ends.write(meta);
    Ok(())
}

/// Inserts `value` before (or after) the first element equal to `pivot`, shifting the
/// shorter side. Returns whether the pivot was found.
pub fn insert(
    txn: &mut Txn,
    key: &[u8],
    meta: &mut Meta,
    pivot: &[u8],
    value: Vec<u8>,
    after: bool,
) -> Result<bool> {
    let len = meta.len;
    let mut before_pivot = Vec::new();
    let mut position = None;
    for row in scan(txn, key, meta, false)? {
        let (index, element) = row?;
        let found = element == pivot;
        before_pivot.push(element);
        if found {
            position = Some(index + u64::from(after));
            break;
        }
    }
    let Some(at) = position else {
        return Ok(false);
    };
    if at <= len - at {
        // `before_pivot` holds elements 0..=pivot: they become elements 0..at, the new
        // value, then the rest of them.
        let upto = before_pivot.len() as u64;
        let mut prefix = before_pivot;
        let rest = prefix.split_off(at as usize);
        prefix.push(value);
        prefix.extend(rest);
        rewrite_prefix(txn, key, meta, upto, prefix)
    } else {
        let mut suffix = vec![value];
        if at < len {
            suffix.extend(range(txn, key, meta, at, len - 1)?);
        }
        rewrite_suffix(txn, key, meta, at, suffix)
    }?;
    Ok(true)
}

/// Removes elements equal to `value`: the first `count` from the head (`count > 0`), from
/// the tail (`count < 0`), or all (`0`). Returns how many were removed. Only the side of
/// the list between an end and the farthest removal is rewritten.
pub fn remove(txn: &mut Txn, key: &[u8], meta: &mut Meta, count: i64, value: &[u8]) -> Result<u64> {
    let elements: Vec<Vec<u8>> = scan(txn, key, meta, false)?
        .map(|row| Ok(row?.1))
        .collect::<Result<_>>()?;
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let matches = elements.iter().enumerate().filter(|(_, e)| *e == value);
    let removed: Vec<usize> = if count < 0 {
        let mut from_tail: Vec<usize> = matches.rev().take(limit).map(|(i, _)| i).collect();
        from_tail.reverse();
        from_tail
    } else {
        matches.take(limit).map(|(i, _)| i).collect()
    };
    let (Some(&first), Some(&last)) = (removed.first(), removed.last()) else {
        return Ok(0);
    };
    let n = elements.len();
    let is_removed = |i: usize| removed.binary_search(&i).is_ok();
    if last + 1 < n - first {
        let kept: Vec<Vec<u8>> = (0..=last)
            .filter(|&i| !is_removed(i))
            .map(|i| elements[i].clone())
            .collect();
        rewrite_prefix(txn, key, meta, last as u64 + 1, kept)?;
    } else {
        let kept: Vec<Vec<u8>> = (first..n)
            .filter(|&i| !is_removed(i))
            .map(|i| elements[i].clone())
            .collect();
        rewrite_suffix(txn, key, meta, first as u64, kept)?;
    }
    Ok(removed.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_keys_sort_like_numbers() {
        let seqs = [0, 1, 255, 256, MIDDLE - 1, MIDDLE, MIDDLE + 1, u64::MAX];
        for pair in seqs.windows(2) {
            assert!(seq_key(pair[0]) < seq_key(pair[1]));
        }
    }

    #[test]
    fn ends_round_trip_through_meta() {
        let mut meta = Meta::new(Kind::List, 7);
        ListEnds {
            head: MIDDLE - 3,
            tail: MIDDLE + 2,
        }
        .write(&mut meta);
        assert_eq!(meta.len, 5);
        let decoded = Meta::decode(&meta.encode()).unwrap();
        let ends = ends_of(&decoded).unwrap();
        assert_eq!((ends.head, ends.tail), (MIDDLE - 3, MIDDLE + 2));
        meta.value = [9u8][..].into();
        assert!(ends_of(&meta).is_err());
    }
}
