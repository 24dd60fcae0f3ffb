//! The in-memory order-statistic index of a sorted set: a treap ordered by (score, member)
//! whose nodes know their subtree sizes, so rank → member and member → rank are O(log n).
//!
//! fjall holds the durable data (one member → score row per member); this index is rebuilt
//! from those rows on first use after a restart (a scan and a sort) and is updated by the
//! same commands that write fjall, after their batch commits.
//!
//! Memory: the index is the only in-memory copy of a set, and a leaderboard may hold tens of
//! millions of members, so each member is stored once, in its 48-byte node (inline when it
//! is at most [`INLINE`] bytes, else in one exact-size allocation); the member → node map
//! is a table of 4-byte node numbers that compares members through the arena. About 57
//! bytes per short member, against ~185 when the tree and a `HashMap` each owned a `Vec`.

use std::cmp::Ordering;
use std::hash::BuildHasher;

use hashbrown::HashTable;

/// A member with its score.
pub type Entry = (f64, Vec<u8>);

const NIL: u32 = u32::MAX;

/// Members up to this many bytes live inside their node (no allocation of their own).
pub const INLINE: usize = 22;

/// A member's bytes, owned by its node.
enum Member {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Member {
    fn new(member: &[u8]) -> Member {
        if member.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..member.len()].copy_from_slice(member);
            Member::Inline {
                len: member.len() as u8,
                bytes,
            }
        } else {
            Member::Heap(member.into())
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Member::Inline { len, bytes } => &bytes[..*len as usize],
            Member::Heap(bytes) => bytes,
        }
    }

    /// Bytes allocated outside the node.
    fn heap_bytes(&self) -> usize {
        match self {
            Member::Inline { .. } => 0,
            Member::Heap(bytes) => bytes.len(),
        }
    }
}

/// Where a subtree hangs: the root, or a parent's left or right child slot.
#[derive(Clone, Copy)]
enum Link {
    Root,
    Left(u32),
    Right(u32),
}

struct Node {
    score: f64,
    member: Member,
    left: u32,
    right: u32,
    size: u32,
    priority: u32,
}

// The per-member cost the module comment promises; a layout change must be deliberate.
const _: () = assert!(std::mem::size_of::<Member>() == 24);
const _: () = assert!(std::mem::size_of::<Node>() == 48);

/// Order of entries: by score, then by member bytes (Redis's order).
pub fn cmp_entry(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score
        .partial_cmp(&b_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a_member.cmp(b_member))
}

/// An order-statistic treap over (score, member), nodes kept in an arena, plus a
/// member → node table (as Redis keeps a dict beside its skiplist) so score lookups and
/// ranks never touch storage.
pub struct ZIndex {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    rng: u64,
    /// Node numbers of the live members, hashed by member bytes (read through `nodes`).
    by_member: HashTable<u32>,
    /// Randomly seeded per index, so clients cannot choose colliding members.
    hasher: foldhash::quality::RandomState,
}

impl Default for ZIndex {
    fn default() -> Self {
        ZIndex {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
            rng: 0x9E37_79B9_7F4A_7C15,
            by_member: HashTable::new(),
            hasher: foldhash::quality::RandomState::default(),
        }
    }
}

impl ZIndex {
    /// Builds a balanced index from entries in any order (members must be distinct), in
    /// O(n log n). The entries are sorted inside the node arena, so a rebuild holds no
    /// second copy of the members.
    pub fn from_unsorted<M: AsRef<[u8]>, E>(
        entries: impl IntoIterator<Item = Result<(f64, M), E>>,
    ) -> Result<ZIndex, E> {
        let mut index = ZIndex::default();
        for entry in entries {
            let (score, member) = entry?;
            index.nodes.push(Node {
                score,
                member: Member::new(member.as_ref()),
                left: NIL,
                right: NIL,
                size: 1,
                priority: 0,
            });
        }
        index.nodes.shrink_to_fit();
        index.nodes.sort_unstable_by(|a, b| {
            cmp_entry(a.score, a.member.as_bytes(), b.score, b.member.as_bytes())
        });
        let n = index.nodes.len() as u32;
        index.root = index.build(0, n, 0);
        index.by_member.reserve(n as usize, |_| 0);
        for node in 0..n {
            index.link_member(node);
        }
        Ok(index)
    }

    /// Links nodes `[lo, hi)` into a balanced subtree; upper levels get higher priorities so
    /// the heap order holds and later random insertions keep it balanced.
    fn build(&mut self, lo: u32, hi: u32, depth: u32) -> u32 {
        if lo >= hi {
            return NIL;
        }
        let mid = lo + (hi - lo) / 2;
        let left = self.build(lo, mid, depth + 1);
        let right = self.build(mid + 1, hi, depth + 1);
        let node = &mut self.nodes[mid as usize];
        node.left = left;
        node.right = right;
        node.size = hi - lo;
        node.priority = u32::MAX - depth * 64;
        mid
    }

    fn hash(&self, member: &[u8]) -> u64 {
        self.hasher.hash_one(member)
    }

    /// Adds node `node` to the member table.
    fn link_member(&mut self, node: u32) {
        let hash = self.hash(self.nodes[node as usize].member.as_bytes());
        let (nodes, hasher) = (&self.nodes, &self.hasher);
        self.by_member.insert_unique(hash, node, |&n| {
            hasher.hash_one(nodes[n as usize].member.as_bytes())
        });
    }

    /// The node holding `member`.
    fn find(&self, member: &[u8]) -> Option<u32> {
        let nodes = &self.nodes;
        self.by_member
            .find(self.hash(member), |&n| {
                nodes[n as usize].member.as_bytes() == member
            })
            .copied()
    }

    /// Removes `member` from the member table.
    fn unlink_member(&mut self, member: &[u8]) {
        let hash = self.hash(member);
        let nodes = &self.nodes;
        if let Ok(entry) = self
            .by_member
            .find_entry(hash, |&n| nodes[n as usize].member.as_bytes() == member)
        {
            entry.remove();
        }
    }

    pub fn len(&self) -> usize {
        self.size(self.root) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.root == NIL
    }

    fn size(&self, n: u32) -> u32 {
        if n == NIL {
            0
        } else {
            self.nodes[n as usize].size
        }
    }

    fn update(&mut self, n: u32) {
        let (l, r) = (self.nodes[n as usize].left, self.nodes[n as usize].right);
        self.nodes[n as usize].size = 1 + self.size(l) + self.size(r);
    }

    fn next_priority(&mut self) -> u32 {
        // xorshift: priorities only need to be well spread.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 32) as u32
    }

    /// Stores `node` in a free slot (or a new one) and returns its number.
    fn alloc(&mut self, node: Node) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.nodes[slot as usize] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Splits subtree `n` into (< key, >= key).
    fn split(&mut self, n: u32, score: f64, member: &[u8]) -> (u32, u32) {
        if n == NIL {
            return (NIL, NIL);
        }
        let node = &self.nodes[n as usize];
        if cmp_entry(node.score, node.member.as_bytes(), score, member) == Ordering::Less {
            let right = node.right;
            let (l, r) = self.split(right, score, member);
            self.nodes[n as usize].right = l;
            self.update(n);
            (n, r)
        } else {
            let left = node.left;
            let (l, r) = self.split(left, score, member);
            self.nodes[n as usize].left = r;
            self.update(n);
            (l, n)
        }
    }

    /// Joins two subtrees where every key of `a` is below every key of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].priority > self.nodes[b as usize].priority {
            let ar = self.nodes[a as usize].right;
            let merged = self.merge(ar, b);
            self.nodes[a as usize].right = merged;
            self.update(a);
            a
        } else {
            let bl = self.nodes[b as usize].left;
            let merged = self.merge(a, bl);
            self.nodes[b as usize].left = merged;
            self.update(b);
            b
        }
    }

    /// Inserts an entry (the caller guarantees the member is not present).
    ///
    /// One descent: the new node goes where its priority puts it, and only the subtree it
    /// displaces is split. (Split-then-merge over the whole tree walked the depth of a
    /// 10M-member set several times, a cache miss per node.)
    pub fn insert(&mut self, score: f64, member: &[u8]) {
        debug_assert!(self.find(member).is_none(), "member inserted twice");
        let priority = self.next_priority();
        let mut link = Link::Root;
        let mut n = self.root;
        while n != NIL && self.nodes[n as usize].priority > priority {
            (link, n) = self.step_toward(n, score, member, 1);
        }
        let (left, right) = self.split(n, score, member);
        let node = self.alloc(Node {
            score,
            member: Member::new(member),
            left,
            right,
            size: 0,
            priority,
        });
        self.update(node);
        self.set_link(link, node);
        self.link_member(node);
    }

    /// Removes an entry; returns whether it was present.
    ///
    /// One descent to the node (shrinking subtree sizes on the way), then its two children
    /// are merged into its place.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        // The member table says whether the entry is in the tree, so sizes can be adjusted
        // on the way down without a second pass.
        let Some(target) = self.find(member) else {
            return false;
        };
        if self.nodes[target as usize].score != score {
            return false;
        }
        let mut link = Link::Root;
        let mut n = self.root;
        while n != target {
            assert!(
                n != NIL,
                "sorted set index out of sync with its member table"
            );
            (link, n) = self.step_toward(n, score, member, -1);
        }
        self.unlink_member(member);
        let (left, right) = (self.nodes[n as usize].left, self.nodes[n as usize].right);
        let replacement = self.merge(left, right);
        self.set_link(link, replacement);
        // Frees a long member's allocation now rather than when the slot is reused.
        self.nodes[n as usize].member = Member::new(&[]);
        self.free.push(n);
        true
    }

    /// One step of a descent toward (`score`, `member`) from node `n`, whose subtree grows
    /// (insert, `+1`) or shrinks (remove, `-1`) by the entry: the child slot taken and the
    /// child.
    fn step_toward(&mut self, n: u32, score: f64, member: &[u8], size_change: i32) -> (Link, u32) {
        let current = &mut self.nodes[n as usize];
        current.size = current.size.wrapping_add_signed(size_change);
        if cmp_entry(score, member, current.score, current.member.as_bytes()) == Ordering::Less {
            (Link::Left(n), current.left)
        } else {
            (Link::Right(n), current.right)
        }
    }

    /// Points the parent slot `link` at `child`.
    fn set_link(&mut self, link: Link, child: u32) {
        match link {
            Link::Root => self.root = child,
            Link::Left(parent) => self.nodes[parent as usize].left = child,
            Link::Right(parent) => self.nodes[parent as usize].right = child,
        }
    }

    /// A member's score.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|n| self.nodes[n as usize].score)
    }

    /// Number of entries strictly below `(score, member)`.
    pub fn rank_of(&self, score: f64, member: &[u8]) -> usize {
        self.count_below(|s, m| cmp_entry(s, m, score, member) == Ordering::Less)
    }

    /// Number of entries for which `below` holds, where `below` is monotone in the order
    /// (true for a prefix of the entries).
    pub fn count_below(&self, below: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut n = self.root;
        let mut count = 0;
        while n != NIL {
            let node = &self.nodes[n as usize];
            if below(node.score, node.member.as_bytes()) {
                count += self.size(node.left) as usize + 1;
                n = node.right;
            } else {
                n = node.left;
            }
        }
        count
    }

    /// The entry at 0-based position `rank`.
    pub fn select(&self, mut rank: usize) -> Option<(f64, &[u8])> {
        let mut n = self.root;
        while n != NIL {
            let node = &self.nodes[n as usize];
            let left = self.size(node.left) as usize;
            match rank.cmp(&left) {
                Ordering::Less => n = node.left,
                Ordering::Equal => return Some((node.score, node.member.as_bytes())),
                Ordering::Greater => {
                    rank -= left + 1;
                    n = node.right;
                }
            }
        }
        None
    }

    /// Entries at positions `[start, end)`, in order.
    pub fn range(&self, start: usize, end: usize) -> Vec<Entry> {
        let end = end.min(self.len());
        let mut out = Vec::with_capacity(end.saturating_sub(start));
        self.collect(self.root, start, end, 0, &mut out);
        out
    }

    fn collect(&self, n: u32, start: usize, end: usize, offset: usize, out: &mut Vec<Entry>) {
        if n == NIL || start >= end {
            return;
        }
        let node = &self.nodes[n as usize];
        let left = self.size(node.left) as usize;
        let here = offset + left;
        if start < here {
            self.collect(node.left, start, end, offset, out);
        }
        if (start..end).contains(&here) {
            out.push((node.score, node.member.as_bytes().to_vec()));
        }
        if end > here + 1 {
            self.collect(node.right, start, end, here + 1, out);
        }
    }

    /// Heap bytes allocated: the node arena, long members, the free list and the member
    /// table (allocator overhead aside).
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self
                .nodes
                .iter()
                .map(|n| n.member.heap_bytes())
                .sum::<usize>()
            + self.free.capacity() * std::mem::size_of::<u32>()
            + self.by_member.allocation_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeSet, HashMap};

    fn model_sorted(model: &[(f64, Vec<u8>)]) -> Vec<(f64, Vec<u8>)> {
        let mut v = model.to_vec();
        v.sort_by(|a, b| cmp_entry(a.0, &a.1, b.0, &b.1));
        v
    }

    fn from_entries(entries: &[Entry]) -> ZIndex {
        ZIndex::from_unsorted(entries.iter().map(|(s, m)| Ok::<_, ()>((*s, m)))).unwrap()
    }

    proptest! {
        #[test]
        fn matches_a_sorted_vector(ops in proptest::collection::vec((any::<bool>(), 0u8..40, -5i8..5), 1..300),
                                   initial in proptest::collection::btree_set(0u8..40, 0..20)) {
            let mut model: Vec<(f64, Vec<u8>)> = initial.iter().map(|m| (f64::from(*m % 7), vec![*m])).collect();
            let mut index = from_entries(&model);
            for (add, m, s) in ops {
                let member = vec![m];
                let existing = model.iter().position(|e| e.1 == member);
                if let Some(i) = existing {
                    let (old_score, _) = model.remove(i);
                    prop_assert!(index.remove(old_score, &member));
                }
                if add {
                    model.push((f64::from(s), member.clone()));
                    index.insert(f64::from(s), &member);
                }
                let sorted = model_sorted(&model);
                prop_assert_eq!(index.len(), sorted.len());
                prop_assert_eq!(index.range(0, usize::MAX), sorted.clone());
                for (rank, (score, member)) in sorted.iter().enumerate() {
                    prop_assert_eq!(index.score(member), Some(*score));
                    prop_assert_eq!(index.rank_of(*score, member), rank);
                    prop_assert_eq!(index.select(rank), Some((*score, member.as_slice())));
                }
            }
        }
    }

    /// A member of 0..=40 bytes (both sides of the inline limit) derived from `id`, so
    /// members sharing prefixes and lengths compare on every byte.
    fn member_of(id: u16, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| b"ab"[(id as usize >> (i % 8)) & 1])
            .chain(id.to_be_bytes())
            .collect()
    }

    /// Random inserts, removals and score changes (as ZADD/ZREM/ZINCRBY make them) against
    /// a BTreeSet of (score, member), checking every query the commands use.
    #[test]
    fn randomized_against_a_btreeset() {
        let mut rng = 0x1234_5678_9ABC_DEF1u64;
        let mut next = move |bound: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % bound
        };
        let members: Vec<Vec<u8>> = (0..300u16)
            .map(|id| member_of(id, (id % 41) as usize))
            .collect();
        let mut scores: HashMap<Vec<u8>, f64> = HashMap::new();
        for member in members.iter().step_by(3) {
            scores.insert(member.clone(), next(20) as f64 - 10.0);
        }
        let entries: Vec<Entry> = scores.iter().map(|(m, s)| (*s, m.clone())).collect();
        let mut index = from_entries(&entries);
        for step in 0..20_000 {
            let member = &members[next(members.len() as u64) as usize];
            let old = scores.get(member).copied();
            match (old, next(3)) {
                (Some(old), 0) => {
                    assert!(index.remove(old, member));
                    scores.remove(member);
                }
                (Some(old), _) => {
                    assert!(
                        !index.remove(old + 1.0, member),
                        "wrong score removes nothing"
                    );
                    let new = old + next(5) as f64 - 2.0;
                    assert!(index.remove(old, member));
                    index.insert(new, member);
                    scores.insert(member.clone(), new);
                }
                (None, _) => {
                    assert!(!index.remove(0.0, member));
                    let score = next(20) as f64 - 10.0;
                    index.insert(score, member);
                    scores.insert(member.clone(), score);
                }
            }
            if step % 97 == 0 {
                check_against_model(&index, &scores);
            }
        }
        check_against_model(&index, &scores);
    }

    fn check_against_model(index: &ZIndex, scores: &HashMap<Vec<u8>, f64>) {
        let model: BTreeSet<(i64, Vec<u8>)> =
            scores.iter().map(|(m, s)| (*s as i64, m.clone())).collect();
        let sorted: Vec<Entry> = model.iter().map(|(s, m)| (*s as f64, m.clone())).collect();
        assert_eq!(index.len(), sorted.len());
        assert_eq!(index.range(0, usize::MAX), sorted);
        assert_eq!(
            index.range(3, 11),
            sorted[3.min(sorted.len())..11.min(sorted.len())]
        );
        for (rank, (score, member)) in sorted.iter().enumerate() {
            assert_eq!(index.score(member), Some(*score));
            assert_eq!(index.rank_of(*score, member), rank);
            assert_eq!(index.select(rank), Some((*score, member.as_slice())));
        }
        assert_eq!(index.select(sorted.len()), None);
        for bound in -12..12 {
            let below = sorted.iter().filter(|(s, _)| *s < f64::from(bound)).count();
            assert_eq!(index.count_below(|s, _| s < f64::from(bound)), below);
        }
    }

    #[test]
    fn remove_missing_is_false() {
        let mut index = from_entries(&[(1.0, b"a".to_vec())]);
        assert!(!index.remove(2.0, b"a"));
        assert!(!index.remove(1.0, b"b"));
        assert!(index.remove(1.0, b"a"));
        assert!(index.is_empty());
        assert_eq!(index.score(b"a"), None);
    }

    #[test]
    fn a_row_error_stops_the_build() {
        let rows = vec![
            Ok((1.0, b"a".to_vec())),
            Err("corrupt"),
            Ok((2.0, b"b".to_vec())),
        ];
        assert_eq!(ZIndex::from_unsorted(rows).err(), Some("corrupt"));
    }

    /// Leaderboard-like members (`member:%012d`, 19 bytes, as bench/zadd_stream.py writes).
    fn leaderboard(n: u32) -> ZIndex {
        let mut index = ZIndex::default();
        let mut score = 7u64;
        for i in 0..n {
            score = score * 6364136223846793005 + 1442695040888963407;
            index.insert((score >> 34) as f64, format!("member:{i:012}").as_bytes());
        }
        index
    }

    /// Short members cost no allocation of their own: an arena node plus a table slot
    /// (under 80 bytes with the arena's and table's spare capacity; the layout with a
    /// `Vec` per member in both the tree and a `HashMap` cost about 190).
    #[test]
    fn short_members_cost_under_80_heap_bytes_each() {
        let n = 100_000;
        let index = leaderboard(n);
        let per_member = index.heap_bytes() as f64 / f64::from(n);
        assert!(per_member < 80.0, "{per_member:.1} heap bytes per member");
    }

    fn rss_bytes() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .unwrap();
        kb.trim().trim_end_matches(" kB").parse::<usize>().unwrap() * 1024
    }

    /// Measures the process's RSS growth for 1 M leaderboard members (run alone, as other
    /// tests' allocations would count: `cargo test --release -p redyn-server
    /// bytes_per_member -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn bytes_per_member() {
        let n = 1_000_000;
        let before = rss_bytes();
        let index = leaderboard(n);
        let per_member = (rss_bytes() - before) as f64 / f64::from(n);
        let heap = index.heap_bytes() as f64 / f64::from(n);
        println!("{n} members: RSS {per_member:.1} bytes/member, heap {heap:.1} bytes/member");
        assert!(per_member < 80.0);
    }
}
