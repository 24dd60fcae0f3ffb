//! The in-memory order-statistic index of a sorted set: a treap ordered by (score, member)
//! whose nodes know their subtree sizes, so rank → member and member → rank are O(log n).
//!
//! fjall holds the durable data (one member → score row per member); this index is rebuilt
//! from those rows on first use after a restart (a scan and a sort) and is updated by the
//! same commands that write fjall, after their batch commits.

use std::cmp::Ordering;
use std::collections::HashMap;

/// A member with its score.
pub type Entry = (f64, Vec<u8>);

const NIL: u32 = u32::MAX;

/// Where a subtree hangs: the root, or a parent's left or right child slot.
#[derive(Clone, Copy)]
enum Link {
    Root,
    Left(u32),
    Right(u32),
}

struct Node {
    score: f64,
    member: Vec<u8>,
    left: u32,
    right: u32,
    size: u32,
    priority: u32,
}

/// Order of entries: by score, then by member bytes (Redis's order).
pub fn cmp_entry(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score
        .partial_cmp(&b_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a_member.cmp(b_member))
}

/// An order-statistic treap over (score, member), nodes kept in an arena, plus a
/// member → score map (as Redis keeps a dict beside its skiplist) so score lookups and
/// ranks never touch storage.
pub struct ZIndex {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    rng: u64,
    scores: HashMap<Vec<u8>, f64>,
}

impl Default for ZIndex {
    fn default() -> Self {
        ZIndex {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
            rng: 0x9E37_79B9_7F4A_7C15,
            scores: HashMap::new(),
        }
    }
}

impl ZIndex {
    /// Builds a balanced index from entries already in (score, member) order, in O(n).
    pub fn from_sorted(entries: Vec<Entry>) -> ZIndex {
        let mut index = ZIndex::default();
        index.nodes.reserve(entries.len());
        index.scores.reserve(entries.len());
        for (score, member) in entries {
            index.scores.insert(member.clone(), score);
            index.nodes.push(Node {
                score,
                member,
                left: NIL,
                right: NIL,
                size: 1,
                priority: 0,
            });
        }
        let n = index.nodes.len() as u32;
        index.root = index.build(0, n, 0);
        index
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

    fn alloc(&mut self, score: f64, member: Vec<u8>) -> u32 {
        let priority = self.next_priority();
        let node = Node {
            score,
            member,
            left: NIL,
            right: NIL,
            size: 1,
            priority,
        };
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
        if cmp_entry(node.score, &node.member, score, member) == Ordering::Less {
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

    /// Inserts an entry (the caller guarantees it is not present).
    ///
    /// One descent: the new node goes where its priority puts it, and only the subtree it
    /// displaces is split. (Split-then-merge over the whole tree walked the depth of a
    /// 10M-member set several times, a cache miss per node.)
    pub fn insert(&mut self, score: f64, member: Vec<u8>) {
        self.scores.insert(member.clone(), score);
        let node = self.alloc(score, member);
        let priority = self.nodes[node as usize].priority;
        let member = std::mem::take(&mut self.nodes[node as usize].member);
        let mut link = Link::Root;
        let mut n = self.root;
        while n != NIL && self.nodes[n as usize].priority > priority {
            let current = &mut self.nodes[n as usize];
            current.size += 1;
            if cmp_entry(score, &member, current.score, &current.member) == Ordering::Less {
                link = Link::Left(n);
                n = current.left;
            } else {
                link = Link::Right(n);
                n = current.right;
            }
        }
        let (left, right) = self.split(n, score, &member);
        let new = &mut self.nodes[node as usize];
        new.member = member;
        new.left = left;
        new.right = right;
        self.update(node);
        self.set_link(link, node);
    }

    /// Removes an entry; returns whether it was present.
    ///
    /// One descent to the node (shrinking subtree sizes on the way), then its two children
    /// are merged into its place.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        // The member map says whether the entry is in the tree, so sizes can be adjusted
        // on the way down without a second pass.
        if self.scores.get(member).is_none_or(|s| *s != score) {
            return false;
        }
        let mut link = Link::Root;
        let mut n = self.root;
        loop {
            assert!(n != NIL, "sorted set index out of sync with its member map");
            let current = &mut self.nodes[n as usize];
            match cmp_entry(score, member, current.score, &current.member) {
                Ordering::Equal => break,
                Ordering::Less => {
                    current.size -= 1;
                    link = Link::Left(n);
                    n = current.left;
                }
                Ordering::Greater => {
                    current.size -= 1;
                    link = Link::Right(n);
                    n = current.right;
                }
            }
        }
        let (left, right) = (self.nodes[n as usize].left, self.nodes[n as usize].right);
        let replacement = self.merge(left, right);
        self.set_link(link, replacement);
        self.nodes[n as usize].member = Vec::new();
        self.free.push(n);
        self.scores.remove(member);
        true
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
        self.scores.get(member).copied()
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
            if below(node.score, &node.member) {
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
                Ordering::Equal => return Some((node.score, &node.member)),
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
            out.push((node.score, node.member.clone()));
        }
        if end > here + 1 {
            self.collect(node.right, start, end, here + 1, out);
        }
    }

    /// Approximate heap bytes used (for the cache's memory bound).
    pub fn approx_bytes(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| n.member.capacity() + std::mem::size_of::<Node>())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn model_sorted(model: &[(f64, Vec<u8>)]) -> Vec<(f64, Vec<u8>)> {
        let mut v = model.to_vec();
        v.sort_by(|a, b| cmp_entry(a.0, &a.1, b.0, &b.1));
        v
    }

    proptest! {
        #[test]
        fn matches_a_sorted_vector(ops in proptest::collection::vec((any::<bool>(), 0u8..40, -5i8..5), 1..300),
                                   initial in proptest::collection::btree_set(0u8..40, 0..20)) {
            let mut model: Vec<(f64, Vec<u8>)> = initial.iter().map(|m| (f64::from(*m % 7), vec![*m])).collect();
            let mut index = ZIndex::from_sorted(model_sorted(&model));
            for (add, m, s) in ops {
                let member = vec![m];
                let existing = model.iter().position(|e| e.1 == member);
                if let Some(i) = existing {
                    let (old_score, _) = model.remove(i);
                    prop_assert!(index.remove(old_score, &member));
                }
                if add {
                    model.push((f64::from(s), member.clone()));
                    index.insert(f64::from(s), member);
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

    #[test]
    fn remove_missing_is_false() {
        let mut index = ZIndex::from_sorted(vec![(1.0, b"a".to_vec())]);
        assert!(!index.remove(2.0, b"a"));
        assert!(!index.remove(1.0, b"b"));
        assert!(index.remove(1.0, b"a"));
        assert!(index.is_empty());
    }
}
