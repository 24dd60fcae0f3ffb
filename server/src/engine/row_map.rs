//! The ordered rows of one row family in one write-buffer layer.
//!
//! Rows are split into buckets by their first two bytes (the slot, for the families whose
//! rows start with one), indexed directly, so an insert searches only the keys of its slot
//! instead of ~40 long keys sharing prefixes (`slot ‖ db ‖ length ‖ key:0000…`).
//!
//! Sub-rows are split once more, by partition: a big list, set or hash keeps all its rows in
//! one slot, and each search of a bucket holding a 200 k-element list compared ~17 keys of
//! ~35 bytes that share a 28-byte prefix, each on the heap (a third of RPOP's instructions,
//! `memcmp` and `BTreeMap` searches). So a sub-row is kept under its partition (metadata key ‖
//! version, see [`keys::sub_prefix_len`]) by its sort key alone, which is short and stored
//! inside the map's node. Partitions' prefixes are prefix-free (the metadata key carries the
//! key's length), so ordering by (partition, sort key) is ordering by the whole key. Small
//! partitions (most hashes and sets of a few members) keep their rows in a short sorted
//! vector, not a B-tree node of room for eleven.
//!
//! Metadata rows are split the same way at their fixed-length header (slot, space, key
//! length), so a bucket's keys are compared by the key's own bytes, whose first 24 are held
//! as numbers beside it ([`RestKey`]): a SET's search compared 26-byte heap keys whose first
//! 16 bytes were all alike, a fifth of its time in `memcmp` stalls.

use std::cmp::Ordering;
use std::collections::{btree_map, BTreeMap};
use std::ops::Bound;

use fjall::Slice;
use smallvec::SmallVec;

use super::keys;
use super::prefetch::prefetch;

/// A buffered row.
pub(crate) struct Buffered {
    /// `None`: deleted.
    pub(crate) value: Option<Slice>,
    /// No layer below holds a live row of this key (it was written fresh, see
    /// [`super::write_buffer::RowOp`]): deleting it can drop the entry.
    pub(crate) elidable: bool,
}

/// What a write did to a map (the caller keeps the byte count).
pub(crate) enum Applied {
    Inserted,
    /// A held row now has the new value; `old` is the value it had.
    Replaced {
        old: Option<Slice>,
    },
    /// A deletion of a row written fresh removed its entry (see [`RowMap::apply`]).
    Removed {
        old: Option<Slice>,
    },
}

/// Writes `value` over a held row, or says the entry is to go instead.
fn overwrite(row: &mut Buffered, value: Option<Slice>) -> Applied {
    if value.is_none() && row.elidable {
        return Applied::Removed {
            old: row.value.take(),
        };
    }
    // A deletion may hide rows below it: a value written over one is not elidable. A value
    // over a value keeps what lies below.
    row.elidable = row.value.is_some() && value.is_some() && row.elidable;
    Applied::Replaced {
        old: std::mem::replace(&mut row.value, value),
    }
}

fn new_row(value: Option<Slice>, fresh: bool) -> Buffered {
    Buffered {
        elidable: fresh && value.is_some(),
        value,
    }
}

/// How a family's row keys divide into a partition and a key within it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Split {
    /// One partition per bucket: rows are keyed whole.
    Whole,
    /// Metadata rows: partition = the fixed-length header (slot, space, key length), then
    /// the key itself. The keys of a bucket share their header, so searches compare key
    /// bytes from the start (see [`RestKey`]).
    MetaRows,
    /// Sub-rows: partition = metadata key ‖ version, then the sort key.
    SubRows,
}

/// A row's key as the map holds it: its partition's prefix and the rest.
#[derive(Clone, Copy)]
pub(crate) struct KeyRef<'a> {
    prefix: &'a Slice,
    rest: &'a Slice,
}

/// The rest of a row's key (past its partition's prefix), with its first 24 bytes also
/// held as three big-endian numbers (zero-padded): searches compare those first, and they
/// decide nearly every comparison of short sort keys (members, fields, list positions)
/// without a `memcmp` call. A big set's B-tree search made ~50 such calls per SADD, a tenth
/// of its instructions; with 16 bytes held, redis-benchmark's 19-byte members still needed
/// them.
#[derive(Clone)]
struct RestKey {
    head: Head,
    key: Slice,
}

impl RestKey {
    /// Copies `rest` (onto the heap only when it is too long to be held inline).
    fn new(rest: &[u8]) -> RestKey {
        RestKey {
            head: head_of(rest),
            key: Slice::from(rest),
        }
    }

    /// Orders against a key given as its head and bytes.
    fn cmp_to(&self, head: Head, bytes: &[u8]) -> Ordering {
        self.head
            .cmp(&head)
            .then_with(|| cmp_past_head(&self.key, bytes))
    }
}

/// A key's first bytes as numbers (see [`head_of`]).
type Head = [u64; 3];
const HEAD_BYTES: usize = 24;

/// A key's first 24 bytes as three big-endian numbers, zero-padded: for keys `a < b`,
/// `head_of(a) <= head_of(b)` (a shorter key that is a prefix of a longer one pads with
/// zeros, the smallest byte), so heads that differ order their keys.
fn head_of(key: &[u8]) -> Head {
    let mut bytes = [0u8; HEAD_BYTES];
    let n = key.len().min(HEAD_BYTES);
    bytes[..n].copy_from_slice(&key[..n]);
    let word = |i: usize| u64::from_be_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    [word(0), word(1), word(2)]
}

/// Orders two keys whose heads are equal: by the bytes past the head, then by length.
fn cmp_past_head(a: &[u8], b: &[u8]) -> Ordering {
    if a.len() <= HEAD_BYTES && b.len() <= HEAD_BYTES {
        return a.len().cmp(&b.len());
    }
    a[a.len().min(HEAD_BYTES)..].cmp(&b[b.len().min(HEAD_BYTES)..])
}

impl PartialEq for RestKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RestKey {}

impl PartialOrd for RestKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RestKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_to(other.head, &other.key)
    }
}

impl KeyRef<'_> {
    pub(crate) fn len(&self) -> usize {
        self.prefix.len() + self.rest.len()
    }

    /// The whole key (shared, not copied, when the partition prefix is empty).
    pub(crate) fn to_slice(self) -> Slice {
        if self.prefix.is_empty() {
            self.rest.clone()
        } else {
            Slice::from(byteview::ByteView::fused(self.prefix, self.rest))
        }
    }
}

/// Lower and upper bounds on keys.
type Bounds<'b> = (Bound<&'b [u8]>, Bound<&'b [u8]>);

/// A row and its value (`None`: deleted), as a map iterates them.
pub(crate) type RowRef<'a> = (KeyRef<'a>, &'a Option<Slice>);

/// Rows of one partition, by the rest of their key.
enum Part {
    /// Sorted by key.
    Few(Vec<(RestKey, Buffered)>),
    Many(BTreeMap<RestKey, Buffered>),
}

/// A partition holds this many rows in its sorted vector before it becomes a B-tree.
const FEW_MAX: usize = 16;

/// Rows [`Part::get_near_last`] walks back over before it searches.
const NEAR_LAST_ROWS: usize = 32;

/// Buckets per map: one per slot (16,384), for the families whose rows start with one.
const BUCKETS: usize = 1 << 14;

/// Bytes of a partition's few rows [`prefetch_rows`] loads at most (a search reads rows
/// from the first up to the one it looks for).
const PREFETCH_ROW_BYTES: usize = 512;

/// Where `rest` is in a sorted vector of rows, or where it would go. A linear scan: a
/// binary search's probes each wait for the cache miss of the one before (14 % of a
/// pipelined INCR's time went to them), while a scan's loads are independent, and at most
/// [`FEW_MAX`] rows of a few cache lines each are in the vector.
fn find(rows: &[(RestKey, Buffered)], rest: &[u8]) -> Result<usize, usize> {
    let head = head_of(rest);
    for (at, (key, _)) in rows.iter().enumerate() {
        match key.cmp_to(head, rest) {
            Ordering::Less => {}
            Ordering::Equal => return Ok(at),
            Ordering::Greater => return Err(at),
        }
    }
    Err(rows.len())
}

impl Part {
    fn get(&self, rest: &[u8]) -> Option<&Buffered> {
        match self {
            Part::Few(rows) => Some(&rows[find(rows, rest).ok()?].1),
            Part::Many(rows) => rows.get(&RestKey::new(rest)),
        }
    }

    /// [`Part::get`] for a key likely among the last [`NEAR_LAST_ROWS`] rows: walks back over
    /// the live rows at the end before searching. A batch of RPOPs reads each element while
    /// the batch's deletions of the ones after it are still pending, so the element read is
    /// a few rows from the end, where a search compares every key of each node on its way
    /// down.
    fn get_near_last(&self, rest: &[u8]) -> Option<&Buffered> {
        if let Part::Many(rows) = self {
            let head = head_of(rest);
            for (key, row) in rows.iter().rev().take(NEAR_LAST_ROWS) {
                match key.cmp_to(head, rest) {
                    Ordering::Equal => return Some(row),
                    Ordering::Less => return None,
                    // Deletions past the key: the partition ends in rows popped while an
                    // older layer held them (a run as long as those pops), so search.
                    Ordering::Greater if row.value.is_none() => break,
                    Ordering::Greater => {}
                }
            }
        }
        self.get(rest)
    }

    /// Writes a row (one search): see [`RowMap::apply`].
    fn apply(&mut self, rest: &[u8], value: Option<Slice>, fresh: bool) -> Applied {
        match self {
            Part::Few(rows) => match find(rows, rest) {
                Ok(at) => {
                    let applied = overwrite(&mut rows[at].1, value);
                    if matches!(applied, Applied::Removed { .. }) {
                        rows.remove(at);
                    }
                    applied
                }
                Err(at) if rows.len() < FEW_MAX => {
                    rows.insert(at, (RestKey::new(rest), new_row(value, fresh)));
                    Applied::Inserted
                }
                Err(_) => {
                    let mut many: BTreeMap<RestKey, Buffered> =
                        std::mem::take(rows).into_iter().collect();
                    many.insert(RestKey::new(rest), new_row(value, fresh));
                    *self = Part::Many(many);
                    Applied::Inserted
                }
            },
            Part::Many(rows) if is_last(rows, rest) => {
                let mut last = rows.last_entry().expect("a last row");
                let applied = overwrite(last.get_mut(), value);
                if matches!(applied, Applied::Removed { .. }) {
                    last.remove();
                }
                applied
            }
            Part::Many(rows) => match rows.entry(RestKey::new(rest)) {
                btree_map::Entry::Occupied(mut entry) => {
                    let applied = overwrite(entry.get_mut(), value);
                    if matches!(applied, Applied::Removed { .. }) {
                        entry.remove();
                    }
                    applied
                }
                btree_map::Entry::Vacant(entry) => {
                    entry.insert(new_row(value, fresh));
                    Applied::Inserted
                }
            },
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Part::Few(rows) => rows.is_empty(),
            Part::Many(rows) => rows.is_empty(),
        }
    }

    /// Rows within (non-empty) bounds on the rest of the key, in order or against it.
    fn range<'a>(
        &'a self,
        bounds: Bounds<'_>,
        reverse: bool,
    ) -> Box<dyn Iterator<Item = (&'a Slice, &'a Buffered)> + 'a> {
        match self {
            Part::Few(rows) => {
                let from = match bounds.0 {
                    Bound::Included(k) => rows.partition_point(|(r, _)| *r.key < *k),
                    Bound::Excluded(k) => rows.partition_point(|(r, _)| *r.key <= *k),
                    Bound::Unbounded => 0,
                };
                let to = match bounds.1 {
                    Bound::Included(k) => rows.partition_point(|(r, _)| *r.key <= *k),
                    Bound::Excluded(k) => rows.partition_point(|(r, _)| *r.key < *k),
                    Bound::Unbounded => rows.len(),
                };
                let rows = rows[from..to.max(from)].iter().map(|(k, r)| (&k.key, r));
                if reverse {
                    Box::new(rows.rev())
                } else {
                    Box::new(rows)
                }
            }
            Part::Many(rows) => {
                if is_empty_range(bounds) {
                    return Box::new(std::iter::empty());
                }
                let bounds = (bounds.0.map(RestKey::new), bounds.1.map(RestKey::new));
                let rows = rows.range(bounds).map(|(k, r)| (&k.key, r));
                if reverse {
                    Box::new(rows.rev())
                } else {
                    Box::new(rows)
                }
            }
        }
    }
}

/// Starts loading the first rows of a partition of few rows (a search reads from the first).
fn prefetch_rows(part: &Part) {
    if let Part::Few(rows) = part {
        prefetch_lines(rows.as_slice());
    }
}

/// Starts loading up to [`PREFETCH_ROW_BYTES`] of `items`.
fn prefetch_lines<T>(items: &[T]) {
    let bytes = std::mem::size_of_val(items).min(PREFETCH_ROW_BYTES);
    let start = items.as_ptr().cast::<u8>();
    for offset in (0..bytes).step_by(64) {
        prefetch(start.wrapping_add(offset));
    }
}

/// Whether `rest` is the last key of `rows`. A batch of queue pops (LPUSH + RPOP) deletes
/// the last row of its partition each time (see `Txn::stage_subs`), which a search reaches
/// only after comparing every key of each node on the way down (eleven per level); the last
/// key is reached without any.
fn is_last(rows: &BTreeMap<RestKey, Buffered>, rest: &[u8]) -> bool {
    rows.last_key_value()
        .is_some_and(|(last, _)| last.cmp_to(head_of(rest), rest) == Ordering::Equal)
}

/// Whether bounds select nothing, which `BTreeMap::range` panics on.
pub(crate) fn is_empty_range((lo, hi): Bounds<'_>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b))
        | (Bound::Excluded(a), Bound::Excluded(b)) => a >= b,
        _ => false,
    }
}

/// The partitions of one bucket. Most buckets hold one (every metadata row of a slot with
/// keys of one length and db; a slot's only big hash or list), kept in the bucket itself: a
/// lookup then reaches its rows without first searching a B-tree node whose keys and values
/// sit on different cache lines.
#[derive(Default)]
enum Parts {
    #[default]
    Empty,
    One(Slice, Part),
    /// Sorted by prefix. A vector rather than a B-tree: a bucket holds a few partitions
    /// (metadata rows of keys of a few lengths), and the vector's address, in the bucket
    /// itself, is what a batch's prefetch needs to load them (see [`RowMap::prefetch`]); a
    /// B-tree's root node was a cache miss no prefetch reached (77 % of a pipelined INCR's
    /// samples in `part_of`, once counters and strings shared slots).
    Many(Vec<(Slice, Part)>),
}

/// The partitions of a bucket within some bounds, in prefix order.
type PartsIter<'a> = std::iter::Chain<
    std::option::IntoIter<(&'a Slice, &'a Part)>,
    std::iter::Map<std::slice::Iter<'a, (Slice, Part)>, fn(&(Slice, Part)) -> (&Slice, &Part)>,
>;

/// Where `prefix` is among sorted partitions, or where it would go.
fn find_part(parts: &[(Slice, Part)], prefix: &[u8]) -> Result<usize, usize> {
    parts.binary_search_by(|(held, _)| (**held).cmp(prefix))
}

impl Parts {
    fn get(&self, prefix: &[u8]) -> Option<&Part> {
        match self {
            Parts::Empty => None,
            Parts::One(held, part) => (**held == *prefix).then_some(part),
            Parts::Many(parts) => Some(&parts[find_part(parts, prefix).ok()?].1),
        }
    }

    fn get_mut(&mut self, prefix: &[u8]) -> Option<&mut Part> {
        match self {
            Parts::Empty => None,
            Parts::One(held, part) => (**held == *prefix).then_some(part),
            Parts::Many(parts) => {
                let at = find_part(parts, prefix).ok()?;
                Some(&mut parts[at].1)
            }
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Parts::Empty)
    }

    /// Adds a partition the bucket does not hold.
    fn insert(&mut self, prefix: Slice, part: Part) {
        *self = match std::mem::take(self) {
            Parts::Empty => Parts::One(prefix, part),
            Parts::One(held, held_part) if held < prefix => {
                Parts::Many(vec![(held, held_part), (prefix, part)])
            }
            Parts::One(held, held_part) => Parts::Many(vec![(prefix, part), (held, held_part)]),
            Parts::Many(mut parts) => {
                let at = find_part(&parts, &prefix).unwrap_or_else(|at| at);
                parts.insert(at, (prefix, part));
                Parts::Many(parts)
            }
        };
    }

    fn remove(&mut self, prefix: &[u8]) {
        *self = match std::mem::take(self) {
            Parts::One(held, _) if *held == *prefix => Parts::Empty,
            Parts::Many(mut parts) => {
                if let Ok(at) = find_part(&parts, prefix) {
                    parts.remove(at);
                }
                match parts.len() {
                    0 => Parts::Empty,
                    1 => {
                        let (prefix, part) = parts.pop().expect("one partition");
                        Parts::One(prefix, part)
                    }
                    _ => Parts::Many(parts),
                }
            }
            unchanged => unchanged,
        };
    }

    /// Every partition, in prefix order.
    fn iter(&self) -> PartsIter<'_> {
        self.within((Bound::Unbounded, Bound::Unbounded))
    }

    /// The partitions that may hold keys within `bounds` (see [`parts_within`]); a lone
    /// partition is always given (the caller's [`rest_bounds`] decides).
    fn within(&self, bounds: Bounds<'_>) -> PartsIter<'_> {
        let (one, many): (_, &[(Slice, Part)]) = match self {
            Parts::Empty => (None, &[]),
            Parts::One(prefix, part) => (Some((prefix, part)), &[]),
            Parts::Many(parts) => (None, parts_within(parts, bounds)),
        };
        let as_refs: fn(&(Slice, Part)) -> (&Slice, &Part) = |(prefix, part)| (prefix, part);
        one.into_iter().chain(many.iter().map(as_refs))
    }
}

/// The rows of one family in one layer, in key order (see the module documentation).
pub(crate) struct RowMap {
    /// [`BUCKETS`] buckets once the first row arrives: partitions by prefix (the empty
    /// prefix for [`Split::Whole`]).
    buckets: Vec<Parts>,
    /// Buckets holding rows, so an empty map is known without a walk.
    used: usize,
    split: Split,
}

impl RowMap {
    pub(crate) fn new(split: Split) -> RowMap {
        RowMap {
            buckets: Vec::new(),
            used: 0,
            split,
        }
    }

    /// The bucket of a key, from its first two bytes (missing bytes count as 0), in key
    /// order: metadata rows and sub-rows start with their slot, one bucket each (a slot
    /// cannot reach [`BUCKETS`]; should a key's bytes do, it joins the last bucket, whose
    /// partitions are ordered); other rows' buckets take four values of those bytes.
    fn bucket(&self, key: &[u8]) -> usize {
        let byte = |i: usize| usize::from(key.get(i).copied().unwrap_or(0));
        let first_two = (byte(0) << 8) | byte(1);
        match self.split {
            Split::MetaRows | Split::SubRows => first_two.min(BUCKETS - 1),
            Split::Whole => first_two >> 2,
        }
    }

    /// Where `key` divides into its partition prefix and the rest.
    fn split_at(&self, key: &[u8]) -> usize {
        match self.split {
            Split::Whole => 0,
            Split::MetaRows => keys::META_HEADER.min(key.len()),
            Split::SubRows => keys::sub_prefix_len(key),
        }
    }

    /// Starts loading into the CPU's cache what point reads of rows of partitions `prefixes`
    /// (a pipelined batch's metadata row prefixes) will search first: the buckets, then the
    /// bucket's partitions, then the partition's rows. Each stage reads what the one before
    /// loaded, so a batch waits for three rounds of cache misses, not three per command.
    pub(crate) fn prefetch<'p>(&self, prefixes: impl Iterator<Item = &'p [u8]>) {
        if self.buckets.is_empty() {
            return;
        }
        let buckets: SmallVec<[(&[u8], &Parts); 32]> = prefixes
            .map(|p| (p, &self.buckets[self.bucket(p)]))
            .collect();
        for (_, parts) in &buckets {
            prefetch(*parts);
        }
        for (_, parts) in &buckets {
            match parts {
                Parts::One(_, part) => prefetch_rows(part),
                Parts::Many(parts) => prefetch_lines(parts.as_slice()),
                Parts::Empty => {}
            }
        }
        for (prefix, parts) in &buckets {
            if let Parts::Many(_) = parts {
                if let Some(part) = parts.get(prefix) {
                    prefetch_rows(part);
                }
            }
        }
    }

    /// The buffered value of `key` (`Some(None)`: buffered as deleted).
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Option<Slice>> {
        let (part, rest) = self.part_of(key)?;
        Some(&part.get(rest)?.value)
    }

    /// [`RowMap::get`] for a key likely near the end of its partition (a list's tail).
    pub(crate) fn get_near_last(&self, key: &[u8]) -> Option<&Option<Slice>> {
        let (part, rest) = self.part_of(key)?;
        Some(&part.get_near_last(rest)?.value)
    }

    /// The partition `key` belongs to, if the map holds it, and the rest of the key.
    fn part_of<'k>(&self, key: &'k [u8]) -> Option<(&Part, &'k [u8])> {
        let (prefix, rest) = key.split_at(self.split_at(key));
        let part = self.buckets.get(self.bucket(key))?.get(prefix)?;
        Some((part, rest))
    }

    /// Writes `value` (`None`: a deletion) as `key`'s row. A deletion of a row held as
    /// written fresh (`fresh` at its first write: nothing below this layer holds a live row of
    /// that key) removes the entry instead of keeping a deletion.
    pub(crate) fn apply(&mut self, key: &[u8], value: Option<Slice>, fresh: bool) -> Applied {
        if self.buckets.is_empty() {
            self.buckets.resize_with(BUCKETS, Parts::default);
        }
        let at = self.split_at(key);
        let (prefix, rest) = key.split_at(at);
        let bucket = self.bucket(key);
        let parts = &mut self.buckets[bucket];
        let Some(part) = parts.get_mut(prefix) else {
            if parts.is_empty() {
                self.used += 1;
            }
            let part = Part::Few(vec![(RestKey::new(rest), new_row(value, fresh))]);
            parts.insert(Slice::from(prefix), part);
            return Applied::Inserted;
        };
        let applied = part.apply(rest, value, fresh);
        if part.is_empty() {
            parts.remove(prefix);
            if parts.is_empty() {
                self.used -= 1;
            }
        }
        applied
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// The partitions' prefixes (for sub-rows: metadata key ‖ version), in no set order.
    pub(crate) fn prefixes(&self) -> impl Iterator<Item = &Slice> {
        self.buckets
            .iter()
            .flat_map(Parts::iter)
            .map(|(prefix, _)| prefix)
    }

    /// Every row, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = RowRef<'_>> {
        self.buckets
            .iter()
            .flat_map(Parts::iter)
            .flat_map(|(prefix, part)| {
                part.range((Bound::Unbounded, Bound::Unbounded), false)
                    .map(move |(rest, row)| (KeyRef { prefix, rest }, &row.value))
            })
    }

    /// Rows within non-empty bounds, in key order or against it.
    pub(crate) fn range<'a>(
        &'a self,
        bounds: (Bound<&'a [u8]>, Bound<&'a [u8]>),
        reverse: bool,
    ) -> Box<dyn Iterator<Item = RowRef<'a>> + 'a> {
        if self.is_empty() {
            return Box::new(std::iter::empty());
        }
        let bucket_of = |bound: Bound<&[u8]>, unbounded: usize| match bound {
            Bound::Included(k) | Bound::Excluded(k) => self.bucket(k),
            Bound::Unbounded => unbounded,
        };
        let buckets = self.buckets[bucket_of(bounds.0, 0)..=bucket_of(bounds.1, BUCKETS - 1)]
            .iter()
            .filter(|parts| !parts.is_empty());
        let rows_of = move |parts: &'a Parts| {
            let parts = parts.within(bounds);
            let parts: Box<dyn Iterator<Item = (&'a Slice, &'a Part)>> = if reverse {
                Box::new(parts.rev())
            } else {
                Box::new(parts)
            };
            parts.flat_map(move |(prefix, part)| {
                let within = rest_bounds(prefix, bounds);
                within.into_iter().flat_map(move |within| {
                    part.range(within, reverse)
                        .map(move |(rest, row)| (KeyRef { prefix, rest }, &row.value))
                })
            })
        };
        if reverse {
            Box::new(buckets.rev().flat_map(rows_of))
        } else {
            Box::new(buckets.flat_map(rows_of))
        }
    }
}

/// The partitions of a bucket that may hold keys within `bounds`: from the last one whose
/// prefix sorts at or before the lower bound (its rows may lie past the bound) through the
/// last one whose prefix sorts at or before the upper bound.
fn parts_within<'a>(
    parts: &'a [(Slice, Part)],
    (lo, hi): (Bound<&[u8]>, Bound<&[u8]>),
) -> &'a [(Slice, Part)] {
    let at_or_before = |k: &[u8]| parts.partition_point(|(prefix, _)| **prefix <= *k);
    let first = match lo {
        Bound::Included(k) | Bound::Excluded(k) => at_or_before(k).saturating_sub(1),
        Bound::Unbounded => 0,
    };
    let end = match hi {
        Bound::Included(k) | Bound::Excluded(k) => at_or_before(k),
        Bound::Unbounded => parts.len(),
    };
    &parts[first..end.max(first)]
}

/// The bounds on the rest of the key, within partition `prefix`, that match whole-key
/// `bounds`; `None` if the partition holds no key within them. Prefixes are prefix-free, so a
/// prefix that sorts before a bound without being a prefix of it sorts every one of its keys
/// before the bound, and likewise after.
fn rest_bounds<'b>(prefix: &[u8], (lo, hi): Bounds<'b>) -> Option<Bounds<'b>> {
    let lower = match lo {
        Bound::Unbounded => Bound::Unbounded,
        Bound::Included(k) | Bound::Excluded(k) if k.starts_with(prefix) => {
            map_bound(lo, prefix.len())
        }
        Bound::Included(k) | Bound::Excluded(k) if prefix > k => Bound::Unbounded,
        _ => return None,
    };
    let upper = match hi {
        Bound::Unbounded => Bound::Unbounded,
        Bound::Included(k) | Bound::Excluded(k) if k.starts_with(prefix) => {
            map_bound(hi, prefix.len())
        }
        Bound::Included(k) | Bound::Excluded(k) if prefix < k => Bound::Unbounded,
        _ => return None,
    };
    Some((lower, upper))
}

/// A bound on whole keys as a bound on their rest past `cut` bytes.
fn map_bound(bound: Bound<&[u8]>, cut: usize) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(&k[cut..]),
        Bound::Excluded(k) => Bound::Excluded(&k[cut..]),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A sub-row of key `k{key}` (its length varies with `key`) at `version`, in a slot picked
    /// so that several partitions share a bucket.
    fn sub_row(key: u8, version: u8, sort_key: &[u8]) -> Vec<u8> {
        let name = format!("k{}", "x".repeat(usize::from(key % 4))) + &key.to_string();
        let mut meta = vec![0, key % 2];
        meta.extend_from_slice(&0u32.to_be_bytes());
        meta.extend_from_slice(&(name.len() as u32).to_be_bytes());
        meta.extend_from_slice(name.as_bytes());
        let mut row = keys::sub_prefix(&meta, u64::from(version));
        row.extend_from_slice(sort_key);
        row
    }

    fn any_row() -> impl Strategy<Value = Vec<u8>> {
        (
            0u8..4,
            0u8..2,
            proptest::collection::vec(
                prop_oneof![Just(0u8), Just(1), Just(255), any::<u8>()],
                0..24,
            ),
        )
            .prop_map(|(key, version, sort_key)| sub_row(key, version, &sort_key))
    }

    /// A bound: a row, a partition prefix or its successor, a slot, or cut anywhere.
    fn any_bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
        let point = prop_oneof![
            any_row(),
            any_row().prop_map(|r| r[..keys::sub_prefix_len(&r)].to_vec()),
            any_row().prop_map(|r| keys::prefix_successor(&r[..keys::sub_prefix_len(&r)]).unwrap()),
            any_row().prop_map(|r| r[..2].to_vec()),
            (any_row(), any::<prop::sample::Index>())
                .prop_map(|(r, i)| r[..i.index(r.len() + 1)].to_vec()),
        ];
        prop_oneof![
            point.clone().prop_map(Bound::Included),
            point.prop_map(Bound::Excluded),
            Just(Bound::Unbounded),
        ]
    }

    proptest! {
        /// Inserts, rewrites and removals, then ranges in both directions, against a plain
        /// ordered set of whole keys.
        #[test]
        fn ranges_match_an_ordered_set_of_whole_keys(
            split in prop_oneof![Just(Split::SubRows), Just(Split::MetaRows), Just(Split::Whole)],
            ops in proptest::collection::vec((any_row(), any::<bool>()), 1..400),
            ranges in proptest::collection::vec((any_bound(), any_bound(), any::<bool>()), 1..20),
        ) {
            let mut map = RowMap::new(split);
            // Whole key → (value, elidable), with the buffer's rules: rows are written
            // fresh; a deletion of a row held fresh removes it, any other is kept.
            let mut model: BTreeMap<Vec<u8>, (Option<Slice>, bool)> = BTreeMap::new();
            for (row, insert) in ops {
                let value = insert.then(|| Slice::from(&row[..]));
                let applied = map.apply(&row, value.clone(), true);
                let kind = match &applied {
                    Applied::Inserted => 0,
                    Applied::Replaced { .. } => 1,
                    Applied::Removed { .. } => 2,
                };
                let expected = match model.get_mut(&row) {
                    None => {
                        model.insert(row, (value, insert));
                        0
                    }
                    Some((_, true)) if !insert => {
                        model.remove(&row);
                        2
                    }
                    Some((held, elidable)) => {
                        *elidable = held.is_some() && insert && *elidable;
                        *held = value;
                        1
                    }
                };
                prop_assert_eq!(kind, expected);
            }
            prop_assert_eq!(map.is_empty(), model.is_empty());
            // A prefetch reads the map without changing it (and must not panic on any key).
            let prefixes: Vec<&[u8]> = model.keys().map(|k| &k[..map.split_at(k)]).collect();
            map.prefetch(prefixes.iter().copied());
            let all: Vec<Vec<u8>> = map.iter().map(|(k, _)| k.to_slice().to_vec()).collect();
            prop_assert_eq!(&all, &model.keys().cloned().collect::<Vec<_>>());
            for (row, (value, _)) in &model {
                prop_assert_eq!(map.get(row), Some(value));
                prop_assert_eq!(map.get_near_last(row), Some(value));
            }
            for (lo, hi, reverse) in ranges {
                // Keys the map may not hold, between and past those it does.
                for probe in [&lo, &hi] {
                    if let Bound::Included(k) | Bound::Excluded(k) = probe {
                        let want = model.get(k).map(|(v, _)| v);
                        prop_assert_eq!(map.get(k), want);
                        prop_assert_eq!(map.get_near_last(k), want);
                    }
                }
                let bounds = (lo.as_ref().map(Vec::as_slice), hi.as_ref().map(Vec::as_slice));
                if is_empty_range(bounds) {
                    continue;
                }
                let got: Vec<(Vec<u8>, Option<Slice>)> = map
                    .range(bounds, reverse)
                    .map(|(k, v)| (k.to_slice().to_vec(), v.clone()))
                    .collect();
                let mut want: Vec<(Vec<u8>, Option<Slice>)> = model
                    .range::<[u8], _>(bounds)
                    .map(|(k, (v, _))| (k.clone(), v.clone()))
                    .collect();
                if reverse {
                    want.reverse();
                }
                prop_assert_eq!(got, want, "bounds {:?} reverse {}", bounds, reverse);
            }
        }
    }
}
