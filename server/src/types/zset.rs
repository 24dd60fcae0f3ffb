//! Sorted sets: a partition ordered by (score, member) plus a member index.
//!
//! Sub-rows under the key's version, written together in one batch:
//! - score order: `0x01 ‖ encode_f64(score) ‖ member` → empty;
//! - member index: `0x02 ‖ member` → score (8 bytes, big-endian bits).
//!
//! Ranks come from an in-memory order-statistic index ([`ZIndex`]) per sorted set in use,
//! cached by (metadata row key, version, flush epoch) so it can never describe another
//! incarnation of the key, rebuilt from the score-order rows on first use, and updated only
//! after a command's batch has committed.

use std::collections::HashMap;
use std::ops::Bound::{Excluded, Included};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::Mutex;

use super::zset_index::{Entry, ZIndex};
use crate::cmd::CmdError;
use crate::engine::keys::{decode_f64, encode_f64, meta_key};
use crate::engine::{Kind, Meta, Txn};

const SCORE_FAMILY: u8 = 0x01;
const MEMBER_FAMILY: u8 = 0x02;

fn score_row(score: f64, member: &[u8]) -> Vec<u8> {
    let mut row = Vec::with_capacity(9 + member.len());
    row.push(SCORE_FAMILY);
    row.extend_from_slice(&encode_f64(score));
    row.extend_from_slice(member);
    row
}

fn member_row(member: &[u8]) -> Vec<u8> {
    let mut row = Vec::with_capacity(1 + member.len());
    row.push(MEMBER_FAMILY);
    row.extend_from_slice(member);
    row
}

/// The sorted set at `key` (WRONGTYPE for other types, `None` if absent).
pub fn load(txn: &mut Txn, key: &[u8]) -> Result<Option<Meta>, CmdError> {
    super::get_of_kind(txn, key, Kind::ZSet)
}

/// The sorted set at `key`, or a new empty one (with a fresh version).
pub fn load_or_create(txn: &mut Txn, key: &[u8]) -> Result<Meta, CmdError> {
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
    if let Some(old) = old {
        if old == score {
            return;
        }
        txn.sub_delete(key, meta.version, &score_row(old, member));
        changes.removed.push((old, member.to_vec()));
    } else {
        meta.len += 1;
    }
    txn.sub_put(key, meta.version, &score_row(score, member), Vec::new());
    txn.sub_put(
        key,
        meta.version,
        &member_row(member),
        score.to_bits().to_be_bytes().to_vec(),
    );
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
    txn.sub_delete(key, meta.version, &score_row(score, member));
    txn.sub_delete(key, meta.version, &member_row(member));
    meta.len -= 1;
    changes.removed.push((score, member.to_vec()));
    changes.pending.insert(member.to_vec(), None);
}

/// Writes the metadata back (deleting an emptied set) unless it is unchanged (a score
/// update does not change the metadata row). Returns whether the key was deleted.
pub fn store(txn: &mut Txn, key: &[u8], meta: Meta) -> Result<bool, CmdError> {
    if meta.len == 0 {
        txn.delete(key)?;
        return Ok(true);
    }
    if txn.get(key)?.as_ref() != Some(&meta) {
        txn.put(key, meta)?;
    }
    Ok(false)
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
    pub fn get(&self, txn: &Txn, key: &[u8], meta: &Meta) -> Result<Arc<Mutex<ZIndex>>, CmdError> {
        let raw = meta_key(txn.space(), key);
        let epoch = txn.engine().flush_epoch.load(Ordering::SeqCst);
        if let Some(cached) = self.map.lock().get(&raw) {
            if cached.version == meta.version && cached.epoch == epoch {
                return Ok(cached.index.clone());
            }
        }
        let entries = txn
            .sub_scan(
                key,
                meta.version,
                Included(&[SCORE_FAMILY][..]),
                Excluded(&[MEMBER_FAMILY][..]),
                false,
            )
            .map(|row| {
                row.map(|(sort_key, _)| {
                    let score = decode_f64(sort_key[1..9].try_into().expect("8-byte score"));
                    (score, sort_key[9..].to_vec())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let index = Arc::new(Mutex::new(ZIndex::from_sorted(entries)));
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
            index.insert(score, member);
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
