//! A map from row keys to values for the handful of keys one transaction touches.
//!
//! Nearly every command touches one or two keys, and a transaction is built per command: a
//! hash map would allocate its table and hash each key on every command. This keeps the
//! first entries inline and searches them linearly; only a transaction over many keys
//! (MSET, DEL of a hundred keys, EXEC) builds a hashed index.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use smallvec::SmallVec;

/// Entries searched linearly before an index is built: 16, a pipelined batch's pending
/// writes of redis-benchmark's `-P 16` over random keys, searched by every command of the
/// batch (a hashed search cost ~100 instructions; a linear one mostly a word comparison per
/// entry, see [`same_key`]).
const LINEAR_MAX: usize = 16;

/// Whether two row keys are equal, told apart by their first eight bytes where they can be:
/// metadata rows of different keys nearly always differ there (they start with the key's
/// slot), and a word comparison costs less than a call to `memcmp`.
#[inline]
fn same_key(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        (Some(x), Some(y)) => x == y && a[8..] == b[8..],
        _ => a == b,
    }
}

pub(crate) struct SmallMap<V> {
    entries: SmallVec<[(Vec<u8>, V); 2]>,
    /// Positions in `entries` hashed by their keys, once there are more than
    /// [`LINEAR_MAX`] (the keys are not copied into the index).
    index: Option<Index>,
}

struct Index {
    positions: HashTable<usize>,
    hasher: foldhash::fast::FixedState,
}

impl<V> Default for SmallMap<V> {
    fn default() -> Self {
        SmallMap {
            entries: SmallVec::new(),
            index: None,
        }
    }
}

impl<V> SmallMap<V> {
    /// Position of `key`, if present.
    pub(crate) fn position(&self, key: &[u8]) -> Option<usize> {
        match &self.index {
            Some(index) => index
                .positions
                .find(index.hasher.hash_one(key), |&at| self.entries[at].0 == key)
                .copied(),
            None => self.entries.iter().position(|(k, _)| same_key(k, key)),
        }
    }

    /// Appends an entry for a key not present yet; returns its position.
    pub(crate) fn push(&mut self, key: Vec<u8>, value: V) -> usize {
        let at = self.entries.len();
        if self.index.is_none() && at == LINEAR_MAX {
            let mut index = Index {
                positions: HashTable::with_capacity(2 * LINEAR_MAX),
                hasher: foldhash::fast::FixedState::default(),
            };
            let entries = &self.entries;
            for (i, (k, _)) in entries.iter().enumerate() {
                let hasher = &index.hasher;
                index
                    .positions
                    .insert_unique(hasher.hash_one(k), i, |&j| hasher.hash_one(&entries[j].0));
            }
            self.index = Some(index);
        }
        if let Some(index) = &mut self.index {
            let (entries, hasher) = (&self.entries, &index.hasher);
            let hash = hasher.hash_one(&key);
            index.positions.insert_unique(hash, at, |&i| {
                // Only for entries already there: `at` is not in `entries` yet.
                hasher.hash_one(&entries[i].0)
            });
        }
        self.entries.push((key, value));
        at
    }

    pub(crate) fn at(&self, at: usize) -> &V {
        &self.entries[at].1
    }

    pub(crate) fn at_mut(&mut self, at: usize) -> &mut V {
        &mut self.entries[at].1
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The key of the newest entry.
    pub(crate) fn last_key(&self) -> Option<&Vec<u8>> {
        self.entries.last().map(|(k, _)| k)
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// Removes and returns the entry of a map holding exactly one.
    pub(crate) fn take_only(&mut self) -> Option<(Vec<u8>, V)> {
        if self.entries.len() == 1 {
            self.entries.pop()
        } else {
            None
        }
    }

    /// Removes and yields every entry.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (Vec<u8>, V)> + '_ {
        self.index = None;
        self.entries.drain(..)
    }
}

#[cfg(test)]
mod tests {
    use super::SmallMap;

    #[test]
    fn finds_entries_before_and_after_the_index_is_built() {
        let mut map = SmallMap::default();
        for i in 0..20u32 {
            let key = i.to_be_bytes().to_vec();
            assert_eq!(map.position(&key), None);
            assert_eq!(map.push(key, i), i as usize);
        }
        for i in 0..20u32 {
            let at = map.position(&i.to_be_bytes()).expect("present");
            assert_eq!(*map.at_mut(at), i);
        }
        assert_eq!(map.values().copied().sum::<u32>(), (0..20u32).sum::<u32>());
        assert_eq!(map.drain().count(), 20);
        assert_eq!(map.position(&3u32.to_be_bytes()), None);
    }

    /// Keys of eight bytes or more are told apart by their first word, then the rest: keys
    /// sharing the first word, keys differing only there, and keys of other lengths.
    #[test]
    fn long_keys_are_equal_only_in_every_byte() {
        let keys: Vec<Vec<u8>> = vec![
            b"\x00\x01same-prefix-a".to_vec(),
            b"\x00\x01same-prefix-b".to_vec(),
            b"\x00\x02same-prefix-a".to_vec(),
            b"\x00\x01same-prefix-a!".to_vec(),
            b"\x00\x01same-p".to_vec(),
            b"\x00\x01same-pr".to_vec(),
        ];
        let mut map = SmallMap::default();
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(map.position(key), None);
            map.push(key.clone(), i);
        }
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(map.position(key), Some(i));
        }
        assert_eq!(map.position(b"\x00\x01same-prefix-c"), None);
    }
}
