//! Sets: a partition whose sort keys are the members.
//!
//! The metadata row holds `{kind: Set, version, len = number of members, expire_at}`; each
//! member is one sub-row `meta key ‖ version ‖ member → (empty)`. SISMEMBER is a point
//! read, SCARD reads only the metadata row, SMEMBERS is one range scan of the partition,
//! and DEL drops only the metadata row (the version's sub-rows are reclaimed in the
//! background).
//!
//! Random members (SPOP, SRANDMEMBER): the LSM has no positional index, so a uniform pick
//! by position costs a scan up to that position (O(len) rows, plus the tombstones of
//! members removed since the last compaction). That exact pick is kept where it is cheap:
//! sets of up to [`EXACT_SAMPLE_MAX`] members, and counts large enough that one scan serves
//! many picks. A larger set is sampled as Redis samples its hash table, approximately: a
//! random point between the first and the last member (byte strings read as numbers), a
//! seek to the first member at or after it, then a random skip of up to
//! [`SMOOTHING_WINDOW`] members (wrapping round). A seek alone favours members after wide
//! gaps of the key space; the skip spreads each gap's weight over the members after it.
//! Measured on `member:1`..`member:20000` (see `approximate_pick_reaches_every_member`):
//! every member is picked, and the most-picked members are about 5x as likely as the mean
//! for keys with such skewed gaps; for members of uniform spread the picks are near uniform.
//!
//! OBJECT ENCODING follows Redis 7.0, which keeps small all-integer sets as an `intset` and
//! converts them for good to a `hashtable` once a non-integer member is added or the size
//! passes `set-max-intset-entries`. The metadata's otherwise unused inline `value` records
//! that one-way conversion, so the answer costs no member reads and survives removals as
//! Redis's does.

use std::ops::Bound::{self, Excluded, Included, Unbounded};

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

/// Sets up to this size are sampled exactly, by position (a scan of at most this many rows).
const EXACT_SAMPLE_MAX: u64 = 512;
/// An exact sampling scan is used when it reads at most this many rows per member picked.
const EXACT_ROWS_PER_PICK: u64 = 16;
/// Members an approximate pick skips forward, at most, after its seek.
const SMOOTHING_WINDOW: u64 = 32;

/// Whether picking `count` members of the set is cheap enough by position (uniform).
fn exact_sampling(meta: &Meta, count: u64) -> bool {
    meta.len <= EXACT_SAMPLE_MAX || count.saturating_mul(EXACT_ROWS_PER_PICK) >= meta.len
}

/// Up to `count` distinct members picked at random, in random order (all of them when
/// `count >= len`): uniformly for small sets and large counts, approximately otherwise (see
/// the module documentation).
pub fn random_distinct(txn: &Txn, key: &[u8], meta: &Meta, count: u64) -> Result<Vec<Vec<u8>>> {
    let mut rng = rand::rng();
    let mut picked = if count >= meta.len {
        members(txn, key, meta)?
    } else if exact_sampling(meta, count) {
        let len = usize::try_from(meta.len).unwrap_or(usize::MAX);
        let mut positions: Vec<u64> = rand::seq::index::sample(&mut rng, len, count as usize)
            .into_iter()
            .map(|p| p as u64)
            .collect();
        positions.sort_unstable();
        members_at(txn, key, meta, &positions)?
    } else {
        approximate_distinct(txn, key, meta, count, &mut rng)?
    };
    picked.shuffle(&mut rng);
    Ok(picked)
}

/// `count` members picked at random with repeats, in random order: uniformly for small sets
/// and large counts, approximately otherwise.
pub fn random_with_repeats(txn: &Txn, key: &[u8], meta: &Meta, count: u64) -> Result<Vec<Vec<u8>>> {
    if meta.len == 0 {
        return Ok(Vec::new());
    }
    let mut rng = rand::rng();
    if !exact_sampling(meta, count) {
        let bounds = MemberBounds::read(txn, key, meta)?;
        return (0..count)
            .map(|_| bounds.pick(txn, key, meta, &mut rng))
            .collect();
    }
    let mut positions: Vec<u64> = (0..count).map(|_| rng.random_range(0..meta.len)).collect();
    positions.sort_unstable();
    let mut picked = members_at(txn, key, meta, &positions)?;
    picked.shuffle(&mut rng);
    Ok(picked)
}

/// `count` distinct members (`count` well below `len`) by repeated approximate picks. Repeats
/// are rare (`count * 16 < len`), so a bounded number of extra picks almost always suffices;
/// if it does not, the exact scan finishes the job.
fn approximate_distinct(
    txn: &Txn,
    key: &[u8],
    meta: &Meta,
    count: u64,
    rng: &mut impl Rng,
) -> Result<Vec<Vec<u8>>> {
    let bounds = MemberBounds::read(txn, key, meta)?;
    let mut seen = std::collections::HashSet::new();
    let mut picked = Vec::with_capacity(count as usize);
    for _ in 0..count.saturating_mul(4).saturating_add(16) {
        if picked.len() as u64 == count {
            return Ok(picked);
        }
        let member = bounds.pick(txn, key, meta, rng)?;
        if seen.insert(member.clone()) {
            picked.push(member);
        }
    }
    let len = usize::try_from(meta.len).unwrap_or(usize::MAX);
    let mut positions: Vec<u64> = rand::seq::index::sample(rng, len, count as usize)
        .into_iter()
        .map(|p| p as u64)
        .collect();
    positions.sort_unstable();
    members_at(txn, key, meta, &positions)
}

/// The first and last member of a non-empty set: the range approximate picks seek in.
struct MemberBounds {
    first: Vec<u8>,
    last: Vec<u8>,
}

impl MemberBounds {
    fn read(txn: &Txn, key: &[u8], meta: &Meta) -> Result<MemberBounds> {
        let missing = || super::TypeError::Corrupt("set member count");
        let first = scan(txn, key, meta, None).next().ok_or_else(missing)??;
        let (last, _) = txn
            .sub_scan(key, meta.version, Unbounded, Unbounded, true)
            .next()
            .ok_or_else(missing)??;
        Ok(MemberBounds { first, last })
    }

    /// One member, approximately uniformly: seek to a random point, skip a random number of
    /// members (wrapping round to the first).
    fn pick(&self, txn: &Txn, key: &[u8], meta: &Meta, rng: &mut impl Rng) -> Result<Vec<u8>> {
        let point = random_point_between(&self.first, &self.last, rng);
        let skip = rng.random_range(0..SMOOTHING_WINDOW.min(meta.len)) as usize;
        let from_point = txn.sub_scan(key, meta.version, Included(point.as_slice()), Unbounded, false);
        let from_start = scan(txn, key, meta, None).map(|m| m.map(|m| (m, Vec::new())));
        let member = from_point
            .map(|row| row.map_err(Into::into))
            .chain(from_start)
            .nth(skip)
            .ok_or(super::TypeError::Corrupt("set member count"))??
            .0;
        Ok(member)
    }
}

/// A random byte string between `first` and `last` (`first <= last`): their common prefix,
/// then the next 8 bytes drawn uniformly between theirs (read as big-endian numbers, the
/// shorter string padded with zeros), trailing zeros dropped so `first` itself is reachable.
fn random_point_between(first: &[u8], last: &[u8], rng: &mut impl Rng) -> Vec<u8> {
    let common = first.iter().zip(last).take_while(|(a, b)| a == b).count();
    let window = |s: &[u8]| {
        let mut bytes = [0u8; 8];
        let tail = &s[common.min(s.len())..];
        let n = tail.len().min(8);
        bytes[..n].copy_from_slice(&tail[..n]);
        u64::from_be_bytes(bytes)
    };
    let (lo, hi) = (window(first), window(last));
    let drawn = if lo < hi {
        rng.random_range(lo..=hi)
    } else {
        lo
    };
    let bytes = drawn.to_be_bytes();
    let significant = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let mut point = first[..common].to_vec();
    point.extend_from_slice(&bytes[..significant]);
    point
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, EngineOptions, Locks};
    use std::collections::HashMap;

    /// A set `s` of `members` in a fresh engine.
    fn set_of(members: &[Vec<u8>]) -> (tempfile::TempDir, std::sync::Arc<Engine>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(dir.path(), EngineOptions::default()).expect("open");
        let mut txn = engine.txn(Locks::Take, 0, &[b"s"]);
        let mut meta = load_or_create(&mut txn, b"s").unwrap();
        for member in members {
            add_new(&mut txn, b"s", &mut meta, member, 0);
        }
        store(&mut txn, b"s", meta).unwrap();
        txn.commit().unwrap();
        (dir, engine)
    }

    /// How often each member is picked over `picks` single approximate picks.
    fn pick_counts(members: &[Vec<u8>], picks: usize) -> HashMap<Vec<u8>, usize> {
        let (_dir, engine) = set_of(members);
        let mut txn = engine.txn(Locks::Take, 0, &[b"s"]);
        let meta = load(&mut txn, b"s").unwrap().unwrap();
        assert!(!exact_sampling(&meta, 1), "the set must take the approximate path");
        let bounds = MemberBounds::read(&txn, b"s", &meta).unwrap();
        let mut rng = rand::rng();
        let mut counts = HashMap::new();
        for _ in 0..picks {
            *counts
                .entry(bounds.pick(&txn, b"s", &meta, &mut rng).unwrap())
                .or_insert(0) += 1;
        }
        counts
    }

    /// Most-picked member's count over the mean count (1.0 = perfectly even).
    fn max_over_mean(counts: &HashMap<Vec<u8>, usize>, members: usize, picks: usize) -> f64 {
        let max = counts.values().copied().max().unwrap_or(0);
        max as f64 / (picks as f64 / members as f64)
    }

    #[test]
    fn approximate_pick_reaches_every_member_of_a_skewed_key_space() {
        // Decimal names are the hard case: "member:1" is followed by "member:10", but
        // "member:1999" by "member:2", a wide gap.
        let members: Vec<Vec<u8>> = (1..=2000).map(|i| format!("member:{i}").into_bytes()).collect();
        let picks = 200_000;
        let counts = pick_counts(&members, picks);
        assert_eq!(counts.len(), members.len(), "some member was never picked");
        let ratio = max_over_mean(&counts, members.len(), picks);
        assert!(ratio < 8.0, "most-picked member {ratio:.1}x the mean");
    }

    #[test]
    fn approximate_pick_is_near_uniform_for_evenly_spread_members() {
        let mut rng = rand::rng();
        let members: Vec<Vec<u8>> = (0..2000)
            .map(|_| rng.random::<u64>().to_be_bytes().to_vec())
            .collect();
        let picks = 200_000;
        let counts = pick_counts(&members, picks);
        assert_eq!(counts.len(), members.len(), "some member was never picked");
        let ratio = max_over_mean(&counts, members.len(), picks);
        assert!(ratio < 2.0, "most-picked member {ratio:.1}x the mean");
    }

    #[test]
    fn random_point_stays_between_its_bounds() {
        let mut rng = rand::rng();
        let pairs: [(&[u8], &[u8]); 4] = [
            (b"a", b"b"),
            (b"member:1", b"member:999"),
            (b"x", b"x\x00\x00\x01"),
            (b"same", b"same"),
        ];
        for (first, last) in pairs {
            for _ in 0..1000 {
                let point = random_point_between(first, last, &mut rng);
                assert!(first <= point.as_slice() && point.as_slice() <= last);
            }
        }
    }
}
