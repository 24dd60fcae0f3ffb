//! Sets: a partition whose sort keys are the members.
//!
//! The metadata row holds `{kind: Set, version, len = number of members, expire_at}`; each
//! member is one sub-row `meta key ‖ version ‖ member → (empty)`. SISMEMBER is a point
//! read, SCARD reads only the metadata row, SMEMBERS is one range scan of the partition,
//! and DEL drops only the metadata row (the version's sub-rows are reclaimed in the
//! background).
//!
//! Random members (SPOP, SRANDMEMBER) are picked uniformly by position: positions are drawn
//! from `0..len` and the partition is scanned up to the highest one. The LSM has no
//! positional index, so a pick costs O(highest position drawn) key-only reads — about
//! `len / 2` rows for a single member, never more than `len`. (Drawing a random byte prefix
//! and taking the next member would be O(log n) but biased toward members after gaps.)
//!
//! OBJECT ENCODING follows Redis 7.0, which keeps small all-integer sets as an `intset` and
//! converts them for good to a `hashtable` once a non-integer member is added or the size
//! passes `set-max-intset-entries`. The metadata's otherwise unused inline `value` records
//! that one-way conversion, so the answer costs no member reads and survives removals as
//! Redis's does.

use std::ops::Bound::{self, Excluded, Unbounded};

use rand::seq::SliceRandom;
use rand::Rng;
use redyn_protocol::args::parse_i64_strict;

use super::error::Result;
use crate::engine::txn::SubScan;
use crate::engine::{Kind, Meta, Txn};

/// Marker in `Meta::value` of a set that Redis would have converted to a hashtable.
const HASHTABLE_MARK: &[u8] = b"h";

/// The set at `key` (WRONGTYPE for other types, `None` if absent).
pub fn load(txn: &mut Txn, key: &[u8]) -> Result<Option<Meta>> {
    super::get_of_kind(txn, key, Kind::Set)
}

/// The set at `key`, or a new empty one (with a fresh version) if absent.
pub fn load_or_create(txn: &mut Txn, key: &[u8]) -> Result<Meta> {
    super::load_or_create(txn, key, Kind::Set)
}

/// A new empty set with a fresh version (the destination of SINTERSTORE and friends).
pub fn create(txn: &mut Txn) -> Result<Meta> {
    Ok(Meta::new(Kind::Set, txn.engine().new_version()?))
}

/// Whether `member` is in the set.
pub fn contains(txn: &Txn, key: &[u8], meta: &Meta, member: &[u8]) -> Result<bool> {
    Ok(txn.sub_get(key, meta.version, member)?.is_some())
}

/// Adds `member`; returns whether it is new. Updates `meta` (write it with [`store`]).
/// `intset_limit` is `set-max-intset-entries` (for OBJECT ENCODING).
pub fn add(
    txn: &mut Txn,
    key: &[u8],
    meta: &mut Meta,
    member: &[u8],
    intset_limit: u64,
) -> Result<bool> {
    if contains(txn, key, meta, member)? {
        return Ok(false);
    }
    add_new(txn, key, meta, member, intset_limit);
    Ok(true)
}

/// Adds a member known not to be in the set (no existence read).
pub fn add_new(txn: &mut Txn, key: &[u8], meta: &mut Meta, member: &[u8], intset_limit: u64) {
    txn.sub_put(key, meta.version, member, Vec::new());
    meta.len += 1;
    if meta.value.is_empty() && (parse_i64_strict(member).is_none() || meta.len > intset_limit) {
        meta.value = HASHTABLE_MARK.to_vec();
    }
}

/// Removes `member`; returns whether it was there. Updates `meta.len`.
pub fn remove(txn: &mut Txn, key: &[u8], meta: &mut Meta, member: &[u8]) -> Result<bool> {
    if !contains(txn, key, meta, member)? {
        return Ok(false);
    }
    remove_present(txn, key, meta, member);
    Ok(true)
}

/// Removes a member known to be in the set (read by a scan of this transaction).
pub fn remove_present(txn: &mut Txn, key: &[u8], meta: &mut Meta, member: &[u8]) {
    txn.sub_delete(key, meta.version, member);
    meta.len -= 1;
}

/// Writes the set's metadata back, deleting the key when it is empty (see
/// [`super::store_members`]). Returns whether the key was deleted.
pub fn store(txn: &mut Txn, key: &[u8], meta: Meta) -> Result<bool> {
    if meta.len == 0 {
        // Every member row was deleted on the way to empty (SREM, SPOP and SMOVE delete
        // their rows): nothing is left for background reclaim to walk.
        txn.delete_emptied(key, meta.version)?;
        return Ok(true);
    }
    super::store_members(txn, key, meta)
}

/// The encoding OBJECT ENCODING reports, as Redis 7.0 would.
pub fn encoding(meta: &Meta) -> &'static str {
    if meta.value.is_empty() {
        "intset"
    } else {
        "hashtable"
    }
}

/// Members in byte order, starting after `after` (all members when `None`). Sees stored
/// rows only: commands read before they write.
pub fn scan(txn: &Txn, key: &[u8], meta: &Meta, after: Option<&[u8]>) -> MemberScan {
    let lower: Bound<&[u8]> = match after {
        Some(member) => Excluded(member),
        None => Unbounded,
    };
    MemberScan(txn.sub_scan(key, meta.version, lower, Unbounded, false))
}

/// All members in byte order.
pub fn members(txn: &Txn, key: &[u8], meta: &Meta) -> Result<Vec<Vec<u8>>> {
    scan(txn, key, meta, None).collect()
}

/// Iterator over a set's members.
pub struct MemberScan(SubScan);

impl Iterator for MemberScan {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.0.next()?.map(|(member, _)| member).map_err(Into::into))
    }
}

/// Up to `count` distinct members picked uniformly at random, in random order (all of them
/// when `count >= len`).
pub fn random_distinct(txn: &Txn, key: &[u8], meta: &Meta, count: u64) -> Result<Vec<Vec<u8>>> {
    let mut rng = rand::rng();
    let mut picked = if count >= meta.len {
        members(txn, key, meta)?
    } else {
        let len = usize::try_from(meta.len).unwrap_or(usize::MAX);
        let mut positions: Vec<u64> = rand::seq::index::sample(&mut rng, len, count as usize)
            .into_iter()
            .map(|p| p as u64)
            .collect();
        positions.sort_unstable();
        members_at(txn, key, meta, &positions)?
    };
    picked.shuffle(&mut rng);
    Ok(picked)
}

/// `count` members picked uniformly at random with repeats, in random order.
pub fn random_with_repeats(txn: &Txn, key: &[u8], meta: &Meta, count: u64) -> Result<Vec<Vec<u8>>> {
    if meta.len == 0 {
        return Ok(Vec::new());
    }
    let mut rng = rand::rng();
    let mut positions: Vec<u64> = (0..count).map(|_| rng.random_range(0..meta.len)).collect();
    positions.sort_unstable();
    let mut picked = members_at(txn, key, meta, &positions)?;
    picked.shuffle(&mut rng);
    Ok(picked)
}

/// The members at ascending `positions` (repeats allowed) of the set in byte order, in one
/// scan that stops at the last position.
fn members_at(txn: &Txn, key: &[u8], meta: &Meta, positions: &[u64]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(positions.len());
    let mut wanted = positions.iter().peekable();
    for (position, member) in (0u64..).zip(scan(txn, key, meta, None)) {
        let Some(&&next) = wanted.peek() else {
            break;
        };
        let member = member?;
        if next != position {
            continue;
        }
        while wanted.next_if_eq(&&position).is_some() {
            out.push(member.clone());
        }
    }
    if wanted.peek().is_some() {
        // Fewer rows than the metadata counts: the set's rows and its length disagree.
        return Err(super::TypeError::Corrupt("set member count"));
    }
    Ok(out)
}
