//! Sets: a partition whose sort keys are the members.
//!
//! The metadata row holds `{kind: Set, version, len = number of members, expire_at}`; each
//! member is one sub-row `meta key ‖ version ‖ member → (empty)`. SISMEMBER is a point
//! read, SCARD reads only the metadata row, SMEMBERS is one range scan of the partition,
//! and DEL drops only the metadata row (the version's sub-rows are reclaimed in the
//! background).
//!
//! SRANDMEMBER picks members uniformly by position: positions are drawn from `0..len` and
//! the partition is scanned up to the highest one. The LSM has no positional index, so a
//! pick costs O(highest position drawn) key-only reads — about `len / 2` rows for a single
//! member, never more than `len`. SPOP of a few members from a large set cannot afford
//! that (a job queue popping a 20,000-member set managed 400 pops a second): it seeks to
//! random points between the first and the last member instead ([`random_distinct_quick`]),
//! O(log n) per member (each seek reads a run of members into a pool that later pops pick
//! from at random) but biased toward members after wide gaps in byte
//! order — as Redis's own pick of a random hash bucket favours members of sparse buckets.
//! Redis's test suite checks SRANDMEMBER's distribution, not SPOP's.
//!
//! OBJECT ENCODING follows Redis 7.0, which keeps small all-integer sets as an `intset` and
//! converts them for good to a `hashtable` once a non-integer member is added or the size
//! passes `set-max-intset-entries`. The metadata's otherwise unused inline `value` records
//! that one-way conversion, so the answer costs no member reads and survives removals as
//! Redis's does.

use std::collections::BTreeMap;
use std::ops::Bound::{self, Excluded, Unbounded};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

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
    txn.sub_insert(key, meta.version, member, Vec::new());
    meta.len += 1;
    if meta.value.is_empty() && (parse_i64_strict(member).is_none() || meta.len > intset_limit) {
        meta.value = HASHTABLE_MARK.into();
    }
}

/// Removes `member`; returns whether it was there. Updates `meta.len`.
pub fn remove(txn: &mut Txn, key: &[u8], meta: &mut Meta, member: &[u8]) -> Result<bool> {
    if !contains(txn, key, meta, member)? {
        return Ok(false);
    }
    remove_present(txn, key, meta, member);
    // SPOP's pools may hold the member (see `PopHints::ready`).
    MEMBER_REMOVALS.fetch_add(1, Ordering::Relaxed);
    Ok(true)
}

/// Members removed by SREM and SMOVE since start-up, in any set: while it has not moved
/// since SPOP read a pool ahead, every member of the pool is still in its set (other
/// changes to the set's membership change its length, and the pool is dropped).
static MEMBER_REMOVALS: AtomicU64 = AtomicU64::new(0);

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

/// Sets smaller than this are popped by position (exact and cheap enough).
const QUICK_PICK_MIN_LEN: u64 = 256;
/// SPOPs of more members than this are popped by position (one scan serves them all).
const QUICK_PICK_MAX_COUNT: u64 = 64;

/// Up to `count` distinct members for SPOP: from a large set, each the first member at or
/// after a random point between the set's first and last member (see the module notes);
/// otherwise as [`random_distinct`]. The caller removes them.
pub fn random_distinct_quick(
    txn: &Txn,
    key: &[u8],
    meta: &Meta,
    count: u64,
) -> Result<Vec<Vec<u8>>> {
    if meta.len < QUICK_PICK_MIN_LEN || count > QUICK_PICK_MAX_COUNT {
        return random_distinct(txn, key, meta, count);
    }
    let hints_key = (txn.space(), key.to_vec(), meta.version);
    let hints = match pop_hints().get(&hints_key) {
        Some(hints) => hints,
        None => {
            let hints = Arc::new(Mutex::new(PopHints::read(txn, key, meta)?));
            pop_hints().insert(hints_key, hints.clone());
            hints
        }
    };
    let mut hints = hints.lock();
    if hints.len != meta.len {
        // Members were added or removed other than by our pops: start afresh.
        *hints = PopHints::read(txn, key, meta)?;
    }
    let mut rng = rand::rng();
    let mut picked: Vec<Vec<u8>> = Vec::with_capacity(count as usize);
    // A few misses (the same member twice) are expected; many mean a skewed key space.
    for _ in 0..count * 4 {
        if picked.len() as u64 == count {
            break;
        }
        let Some(member) = hints.pick(txn, key, meta, &mut rng)? else {
            break;
        };
        if !picked.contains(&member) {
            picked.push(member);
        }
    }
    hints.len = meta.len - picked.len() as u64;
    if (picked.len() as u64) < count {
        hints.forget_stretches();
        return random_distinct(txn, key, meta, count);
    }
    Ok(picked)
}

/// What SPOP learned about a large set it pops from. Popped members leave deletions behind
/// until compaction drops them, and a seek from a random point steps over every deletion up
/// to the next member: draining a 1.5 M-member set stored in fjall slowed to a few pops a
/// second as the popped stretches grew. So SPOP remembers the stretches of member space it
/// has found empty (or emptied) and starts its seeks past them. These are hints only: a seek
/// still returns a member that exists, and the hints are dropped when the set's length is not
/// what our own pops left (a member added or removed meanwhile).
struct PopHints {
    /// The first and last member when the hints were made (random points are drawn between).
    first: Vec<u8>,
    last: Vec<u8>,
    /// Stretches known to hold no member: start → end (inclusive; `None`: to the end).
    /// Members read ahead into `ready` count as popped already.
    dead: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Members read ahead by the last seeks and not popped yet.
    ready: Vec<Vec<u8>>,
    /// [`MEMBER_REMOVALS`] when `ready` was read: while it holds, no member of the pool can
    /// have been removed but by our pops, and the pops need not check.
    ready_as_of: u64,
    /// The set's length the hints describe.
    len: u64,
}

/// Dead stretches remembered per set at most (past that they are forgotten and relearned).
const MAX_DEAD_STRETCHES: usize = 8192;
/// Seeks into fjall per refill of the read-ahead pool, and members each takes. Opening a
/// range in fjall cost ~30 k instructions, reading on ~2.5 k a member (fjall's merge and the
/// write buffer's rows over it): a pool of 16 random runs of 32 serves 512 pops, picked from
/// it at random, so that consecutive pops come from different runs, not from one stretch of
/// the member space. Runs of 16 cost a pop of a set in fjall 7.9 % more instructions
/// (callgrind, `bench/callgrind.sh 40000 1 SPOP_FJALL SPOP`: 17,108 against 15,797; SPOP
/// 14,692 against 14,279); runs of 64 saved 3 % more, for stretches twice as long.
const SEEKS_PER_REFILL: usize = 16;
const MEMBERS_PER_SEEK: usize = 32;

/// Members a seek read (up to [`MEMBERS_PER_SEEK`]).
type Run = Vec<Vec<u8>>;

impl PopHints {
    fn read(txn: &Txn, key: &[u8], meta: &Meta) -> Result<PopHints> {
        let (first, last) = read_bounds(txn, key, meta)?;
        Ok(PopHints {
            first,
            last,
            dead: BTreeMap::new(),
            ready: Vec::new(),
            ready_as_of: 0,
            len: meta.len,
        })
    }

    /// A member to pop (`None` if the set seems to hold nothing): a random one of the pool
    /// read ahead, checked still there.
    ///
    /// Sets all in the write buffer are popped from the pool too. They sought the first
    /// member after a random point for every pop (no pool, no dead stretches), but a random
    /// descent of the buffer's B-tree of a set of 150 k members (bench.sh's) missed the
    /// cache at every level: callgrind (`SPOP_SET=150000 bench/callgrind.sh 20000 1 SPOP`,
    /// 2 MB last level) 16,475 instructions and 17.3 last-level misses per pop that way,
    /// 14,768 and 6.1 from the pool.
    fn pick(
        &mut self,
        txn: &Txn,
        key: &[u8],
        meta: &Meta,
        rng: &mut impl Rng,
    ) -> Result<Option<Vec<u8>>> {
        loop {
            while !self.ready.is_empty() {
                let member = self
                    .ready
                    .swap_remove(rng.random_range(0..self.ready.len()));
                // Another client may have removed it (its SREM with an SADD leaves the length
                // our pops expect): a point read per pop, if anything was removed anywhere.
                let untouched = MEMBER_REMOVALS.load(Ordering::Relaxed) == self.ready_as_of;
                if untouched || contains(txn, key, meta, &member)? {
                    return Ok(Some(member));
                }
            }
            // Read before the seeks: removals from other sets may run meanwhile, not from
            // this one, whose shard this command holds.
            self.ready_as_of = MEMBER_REMOVALS.load(Ordering::Relaxed);
            for _ in 0..SEEKS_PER_REFILL {
                let point = random_between(&self.first, &self.last, rng);
                let run = self.run_from(txn, key, meta, point, MEMBERS_PER_SEEK)?;
                self.ready.extend(run);
            }
            if self.ready.is_empty() {
                return Ok(None);
            }
        }
    }

    /// Up to `limit` members from the first at or after `point` (wrapping around to the first
    /// member), skipping known dead stretches and stopping at the next. Notes the stretch it
    /// stepped over as dead, through the last member read (which the caller pools).
    fn run_from(
        &mut self,
        txn: &Txn,
        key: &[u8],
        meta: &Meta,
        mut point: Vec<u8>,
        limit: usize,
    ) -> Result<Run> {
        let mut wrapped = false;
        loop {
            let (from, start) = self.seek_start(std::mem::take(&mut point));
            // A dead stretch may hold members of the pool: the run stops before it.
            let stop = self
                .dead
                .range::<[u8], _>((Excluded(from.as_slice()), Unbounded))
                .next()
                .map(|(start, _)| start.clone());
            let run = match &start {
                Some(start) => {
                    let upper = stop.as_deref().map_or(Unbounded, Excluded);
                    let range = (start.as_ref().map(Vec::as_slice), upper);
                    txn.sub_scan_expecting(key, meta.version, range, false, limit)
                        .take(limit)
                        .map(|row| row.map(|(member, _)| member))
                        .collect::<std::result::Result<Run, _>>()?
                }
                None => Run::new(),
            };
            // A short run read everything up to the next dead stretch (or the end), which the
            // noted stretch then joins.
            let through = if run.len() == limit {
                run.last().cloned()
            } else {
                stop.clone()
            };
            self.note_dead(from.clone(), through);
            if !run.is_empty() {
                return Ok(run);
            }
            match (stop, start) {
                // Go on past the stretch just joined.
                (Some(_), Some(_)) => point = from,
                // Nothing from there to the end: wrap around, once.
                _ if !wrapped => {
                    wrapped = true;
                    point = self.first.clone();
                }
                _ => return Ok(Run::new()),
            }
        }
    }

    /// Where a seek for `point` starts: past the dead stretch holding it, if any. Returns the
    /// start of the stretch the seek extends, and the seek's lower bound (`None`: the dead
    /// stretch runs to the end).
    fn seek_start(&self, point: Vec<u8>) -> (Vec<u8>, Option<Bound<Vec<u8>>>) {
        let up_to_point = (Unbounded, Bound::Included(point.as_slice()));
        match self.dead.range::<[u8], _>(up_to_point).next_back() {
            Some((start, None)) => (start.clone(), None),
            Some((start, Some(end))) if *end >= point => {
                (start.clone(), Some(Bound::Excluded(end.clone())))
            }
            _ => (point.clone(), Some(Bound::Included(point))),
        }
    }

    /// Forgets the dead stretches, and with them the pool read ahead (whose members they
    /// count as popped: a seek could otherwise read them again).
    fn forget_stretches(&mut self) {
        self.dead.clear();
        self.ready.clear();
    }

    /// Records `from..=through` (`None`: to the end) as holding no member, merged with the
    /// stretches it covers.
    fn note_dead(&mut self, from: Vec<u8>, through: Option<Vec<u8>>) {
        if self.dead.len() >= MAX_DEAD_STRETCHES {
            self.forget_stretches();
        }
        let upper = match &through {
            Some(end) if *end < from => return,
            Some(end) => Bound::Included(end.as_slice()),
            None => Unbounded,
        };
        let covered: Vec<Vec<u8>> = self
            .dead
            .range::<[u8], _>((Bound::Included(from.as_slice()), upper))
            .map(|(start, _)| start.clone())
            .collect();
        let mut end = through;
        for start in covered {
            if let Some(Some(e)) = self.dead.remove(&start) {
                end = end.map(|end| end.max(e));
            } else {
                end = None;
            }
        }
        self.dead.insert(from, end);
    }
}

/// SPOP's hints about large sets it recently popped from, by (db, key, version). Versions
/// are never reused, so a rewritten set starts afresh.
type HintsCache = quick_cache::sync::Cache<(u32, Vec<u8>, u64), Arc<Mutex<PopHints>>>;

fn pop_hints() -> &'static HintsCache {
    static HINTS: std::sync::OnceLock<HintsCache> = std::sync::OnceLock::new();
    HINTS.get_or_init(|| HintsCache::new(1024))
}

/// The set's first and last member in byte order.
fn read_bounds(txn: &Txn, key: &[u8], meta: &Meta) -> Result<(Vec<u8>, Vec<u8>)> {
    let first = scan(txn, key, meta, None).next().transpose()?;
    let last = txn
        .sub_scan(key, meta.version, Unbounded, Unbounded, true)
        .next()
        .transpose()?
        .map(|(member, _)| member);
    match (first, last) {
        (Some(first), Some(last)) => Ok((first, last)),
        _ => Err(super::TypeError::Corrupt("set member count")),
    }
}

/// A random byte string between `low` and `high` (`low < high` in byte order): their common
/// prefix, then random bytes from the alphabet their differing parts use (the range of
/// those bytes, all ten digits if they are digits). Member names such as `user:1234` keep
/// to one alphabet: drawing other bytes would send most seeks to the few members right after
/// them, and after those are popped, over their ever longer runs of tombstones.
fn random_between(low: &[u8], high: &[u8], rng: &mut impl Rng) -> Vec<u8> {
    let common = low.iter().zip(high).take_while(|(a, b)| a == b).count();
    let (low_rest, high_rest) = (&low[common..], &high[common..]);
    let len = low.len().max(high.len());
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&low[..common]);
    let Some(&first_high) = high_rest.first() else {
        return out;
    };
    let rest = low_rest.iter().chain(high_rest);
    let (mut lo, mut hi) = (u8::MAX, u8::MIN);
    for &b in rest {
        lo = lo.min(b);
        hi = hi.max(b);
    }
    if lo.is_ascii_digit() && hi.is_ascii_digit() {
        (lo, hi) = (b'0', b'9');
    }
    let first_low = low_rest.first().copied().unwrap_or(lo).min(first_high);
    out.push(rng.random_range(first_low..=first_high));
    while out.len() < len {
        out.push(rng.random_range(lo..=hi));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::random_between;

    #[test]
    fn random_points_keep_the_common_prefix_and_the_alphabet() {
        let mut rng = rand::rng();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            let point = random_between(b"member:1", b"member:9999", &mut rng);
            assert_eq!(point.len(), 11);
            assert!(point.starts_with(b"member:"), "{point:?}");
            assert!(point[7..].iter().all(u8::is_ascii_digit), "{point:?}");
            assert!((b'1'..=b'9').contains(&point[7]), "{point:?}");
            seen.insert(point[7]);
            let point = random_between(b"abc", b"abd", &mut rng);
            assert!(point == b"abc" || point == b"abd", "{point:?}");
        }
        assert_eq!(seen.len(), 9, "every first digit comes up");
        assert_eq!(random_between(b"same", b"same", &mut rng), b"same");
        assert_eq!(random_between(b"", b"", &mut rng), b"");
    }
}
