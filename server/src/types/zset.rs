//! Sorted sets: a partition of members with their scores, ordered by (score, member) in memory.
//!
//! Durable data: one sub-row per member under the key's version, `0x02 ‖ member` → score
//! (8 bytes, big-endian bits). The (score, member) order lives in an in-memory
//! order-statistic index ([`ZIndex`]) per sorted set in use, cached by (metadata row key,
//! version, flush epoch) so it can never describe another incarnation of the key, rebuilt
//! from the member rows on first use (one partition scan and a sort), and updated only after
//! a command's batch has committed.
//!
//! The design also stored a score-order family `0x01 ‖ score ‖ member`. Every read is
//! answered from the index (it must exist for O(log n) ranks), so that family was only read
//! when rebuilding the index, yet it cost two extra LSM writes (tombstone + insert) per
//! score change: ZINCRBY wrote three rows instead of one. It is gone; the family byte stays
//! so the layout can grow other families.

use std::collections::HashMap;
use std::ops::Bound::{Excluded, Included};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::Mutex;

use super::error::{Result, TypeError};
use super::zset_index::{Entry, ZIndex};
use crate::engine::keys::meta_key;
use crate::engine::{Kind, Meta, Txn};

const MEMBER_FAMILY: u8 = 0x02;

fn member_row(member: &[u8]) -> Vec<u8> {
    let mut row = Vec::with_capacity(1 + member.len());
    row.push(MEMBER_FAMILY);
    row.extend_from_slice(member);
    row
}

/// The sorted set at `key` (WRONGTYPE for other types, `None` if absent).
pub fn load(txn: &mut Txn, key: &[u8]) -> Result<Option<Meta>> {
    super::get_of_kind(txn, key, Kind::ZSet)
}

/// The sorted set at `key`, or a new empty one (with a fresh version).
pub fn load_or_create(txn: &mut Txn, key: &[u8]) -> Result<Meta> {
    super::load_or_create(txn, key, Kind::ZSet)
}

/// Index changes made by a command, applied to the in-memory index after commit.
#[derive(Default)]
pub struct Changes {
    removed: Vec<Entry>,
    added: Vec<Entry>,
    /// Latest pending state of each touched member (`None` = removed), so a command that
    /// names a member twice sees its own earlier change.
    pending: HashMap<Vec<u8>, Option<f64>>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }

    /// A member's score as this command currently sees it.
    pub fn score(&self, index: &ZIndex, member: &[u8]) -> Option<f64> {
        match self.pending.get(member) {
            Some(pending) => *pending,
            None => index.score(member),
        }
    }
}

/// Sets `member`'s score (`old` = its current score, if any). Updates `meta.len`.
pub fn set_score(
    txn: &mut Txn,
    key: &[u8],
    meta: &mut Meta,
    member: &[u8],
    old: Option<f64>,
    score: f64,
    changes: &mut Changes,
) {
    if old == Some(score) {
        return;
    }
    let row = member_row(member);
    let value = score.to_bits().to_be_bytes().to_vec();
    if let Some(old) = old {
        changes.removed.push((old, member.to_vec()));
        txn.sub_put(key, meta.version, &row, value);
    } else {
        // A new member (the index knows every one): removed again soon, as a delay queue's
        // jobs are, it leaves nothing behind in the write buffer.
        meta.len += 1;
        txn.sub_insert(key, meta.version, &row, value);
    }
    changes.added.push((score, member.to_vec()));
}

/// Removes `member` (whose score is `score`). Updates `meta.len`.
pub fn remove(
    txn: &mut Txn,
    key: &[u8],
    meta: &mut Meta,
    member: &[u8],
    score: f64,
    changes: &mut Changes,
) {
    txn.sub_delete(key, meta.version, &member_row(member));
    meta.len -= 1;
    changes.removed.push((score, member.to_vec()));
    changes.pending.insert(member.to_vec(), None);
}

/// Writes the sorted set's metadata back (see [`super::store_members`]).
pub fn store(txn: &mut Txn, key: &[u8], meta: Meta) -> Result<bool> {
    super::store_members(txn, key, meta)
}

struct Cached {
    version: u64,
    epoch: u64,
    index: Arc<Mutex<ZIndex>>,
}

/// Cached order-statistic indexes of sorted sets in use.
#[derive(Default)]
pub struct ZsetIndexes {
    map: Mutex<HashMap<Vec<u8>, Cached>>,
}

/// Indexes kept at most; beyond that an arbitrary other one is dropped (it is rebuilt from
/// fjall when needed again).
const MAX_CACHED_INDEXES: usize = 4096;

impl ZsetIndexes {
    /// The index of the sorted set `key` described by `meta`, loading it if needed. Must be
    /// called while the transaction holds the key's shard lock.
    pub fn get(&self, txn: &Txn, key: &[u8], meta: &Meta) -> Result<Arc<Mutex<ZIndex>>> {
        let raw = meta_key(txn.space(), key);
        let epoch = txn.engine().flush_epoch.load(Ordering::SeqCst);
        if let Some(cached) = self.map.lock().get(&raw) {
            if cached.version == meta.version && cached.epoch == epoch {
                return Ok(cached.index.clone());
            }
        }
        let rows = txn
            .sub_scan(
                key,
                meta.version,
                Included(&[MEMBER_FAMILY][..]),
                Excluded(&[MEMBER_FAMILY + 1][..]),
                false,
            )
            .map(|row| -> Result<(f64, Vec<u8>)> {
                let (mut sort_key, value) = row?;
                let bits: [u8; 8] = value
                    .as_slice()
                    .try_into()
                    .map_err(|_| TypeError::Corrupt("sorted set member row"))?;
                sort_key.remove(0);
                Ok((f64::from_bits(u64::from_be_bytes(bits)), sort_key))
            });
        let index = Arc::new(Mutex::new(ZIndex::from_unsorted(rows)?));
        let mut map = self.map.lock();
        if map.len() >= MAX_CACHED_INDEXES {
            if let Some(victim) = map.keys().find(|k| **k != raw).cloned() {
                map.remove(&victim);
            }
        }
        map.insert(
            raw,
            Cached {
                version: meta.version,
                epoch,
                index: index.clone(),
            },
        );
        Ok(index)
    }

    /// Applies committed changes to a loaded index.
    pub fn apply(index: &Mutex<ZIndex>, changes: Changes) {
        let mut index = index.lock();
        for (score, member) in changes.removed {
            index.remove(score, &member);
        }
        for (score, member) in changes.added {
            index.insert(score, &member);
        }
    }

    /// The index of a set that does not exist yet (a new version): empty, and cached once
    /// the creating command commits.
    pub fn fresh(&self, txn: &Txn, key: &[u8], version: u64) -> Arc<Mutex<ZIndex>> {
        let index = Arc::new(Mutex::new(ZIndex::default()));
        let epoch = txn.engine().flush_epoch.load(Ordering::SeqCst);
        self.map.lock().insert(
            meta_key(txn.space(), key),
            Cached {
                version,
                epoch,
                index: index.clone(),
            },
        );
        index
    }
}
