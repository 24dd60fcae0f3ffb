//! The TTL sweep: deletes items whose TTL attribute (epoch seconds) is in the past.
//! Expired items are already hidden from reads; the sweep reclaims their space. The server
//! layer runs it every [`SWEEP_INTERVAL`] (`crate::server` spawns the task).
//!
//! This first version walks the items of each TTL-enabled table (a per-table expiry index,
//! like the Redis keys' one, would make a sweep proportional to the expired items only).

use std::sync::Arc;
use std::time::Duration;

use super::catalog::TableDesc;
use super::records::{ItemChange, Origin};
use super::value::decode_item;
use super::{DdbError, Tables};
use crate::engine::keys::SLOTS;
use crate::engine::{Family, Locks};

/// Time between sweeps.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(2);

impl Tables {
    /// One sweep over every TTL-enabled table; returns how many items were deleted.
    pub fn sweep_expired(&self) -> Result<u64, DdbError> {
        let tables: Vec<Arc<TableDesc>> = self
            .tables
            .read()
            .values()
            .filter(|t| t.ttl_attribute.is_some())
            .cloned()
            .collect();
        let mut deleted = 0;
        for table in tables {
            for slot in 0..SLOTS {
                deleted += self.sweep_slot(&table, slot)?;
            }
        }
        Ok(deleted)
    }

    fn sweep_slot(&self, table: &TableDesc, slot: u16) -> Result<u64, DdbError> {
        let mut prefix = slot.to_be_bytes().to_vec();
        prefix.extend_from_slice(&table.id.to_be_bytes());
        let mut expired_rows = Vec::new();
        for guard in self.items.prefix(&prefix) {
            let (key, raw) = guard.into_inner()?;
            if super::ops::expired(table, &decode_item(&raw)?) {
                expired_rows.push(key);
            }
        }
        if expired_rows.is_empty() {
            return Ok(0);
        }
        // Re-check under the shard lock: the item may have been rewritten meanwhile.
        let mut txn = self
            .engine
            .txn_slots(Locks::Take, table.id, std::iter::once(slot));
        let mut removed = Vec::new();
        for row in expired_rows {
            if let Some(raw) = txn.row_get(Family::Items, &row)? {
                let item = decode_item(&raw)?;
                if super::ops::expired(table, &item) {
                    txn.row_write(Family::Items, table.id, slot, row.to_vec(), None)?;
                    removed.push(item);
                }
            }
        }
        let n = removed.len() as u64;
        let changes: Vec<ItemChange> = removed
            .iter()
            .map(|old| ItemChange {
                table,
                slot,
                old: Some(old),
                new: None,
                origin: Origin::TimeToLive,
            })
            .collect();
        self.commit_changes(txn, &changes)?;
        Ok(n)
    }
}
