//! The sub-row keyspace's compaction filter (as Kvrocks's sub-key filter): while fjall
//! compacts sub-rows, it removes those no live value holds — rows of a key whose metadata
//! row is gone, rows of another version than the key's, and list rows outside the list's
//! ends ([`Meta::may_hold_sub_row`]). List pops leave the rows they take from fjall without
//! a deletion (see `types::list`); this is what reclaims them.
//!
//! The filter reads the metadata rows in fjall, not the newer ones the write buffer may hold.
//! That is enough: a frozen layer is ingested metadata keyspace first, so by the time a
//! sub-row is in fjall, fjall's metadata row of its key is the one written with it or a
//! later one. A later metadata row that no longer holds the row (the key deleted, its
//! version replaced, the list popped past it) means the row is dead: it can only come back
//! by a write of it, which is newer than the row and wins over the tombstone the filter
//! leaves. Rows the filter cannot read a decision for (a malformed key, an unreadable
//! metadata row) are kept.

use std::sync::{Arc, Mutex};

use fjall::compaction::filter::{CompactionFilter, Context, Factory, ItemAccessor, Verdict};
use fjall::Keyspace;

use super::keys;
use super::meta::Meta;

/// Name of the keyspace the filter runs on.
pub(super) const FILTERED_KEYSPACE: &str = "sub";

/// The metadata keyspace as the filter reads it: set once the engine has opened it
/// (compactions that run before keep every row), and cleared when the engine drops, since
/// the keyspace handle keeps the database it belongs to (and so this slot) alive.
pub(super) type MetaSlot = Arc<Mutex<Option<Keyspace>>>;

/// Makes a [`SubRowFilter`] per compaction of the sub-row keyspace.
pub(super) struct SubRowFilterFactory {
    pub(super) meta: MetaSlot,
}

impl Factory for SubRowFilterFactory {
    fn name(&self) -> &str {
        "redyn-sub-rows"
    }

    fn make_filter(&self, _ctx: &Context) -> Box<dyn CompactionFilter> {
        Box::new(SubRowFilter {
            meta: self.meta.lock().ok().and_then(|slot| slot.clone()),
            last: None,
        })
    }
}

/// Decides for each sub-row a compaction rewrites whether a live value still holds it.
struct SubRowFilter {
    meta: Option<Keyspace>,
    /// The metadata row key last looked up and what fjall held for it: a compaction visits
    /// rows in key order, so one lookup serves all the rows of a key.
    last: Option<(Vec<u8>, Lookup)>,
}

enum Lookup {
    Absent,
    Present(Meta),
    /// Unreadable: the key's rows are kept.
    Unknown,
}

/// What fjall holds for `meta_key`, looked up unless `last` is that key's.
fn lookup<'l>(
    meta: &Keyspace,
    last: &'l mut Option<(Vec<u8>, Lookup)>,
    meta_key: &[u8],
) -> &'l Lookup {
    if last.as_ref().is_none_or(|(key, _)| key != meta_key) {
        let lookup = match meta.get(meta_key) {
            Ok(None) => Lookup::Absent,
            Ok(Some(raw)) => Meta::decode(&raw).map_or(Lookup::Unknown, Lookup::Present),
            Err(_) => Lookup::Unknown,
        };
        *last = Some((meta_key.to_vec(), lookup));
    }
    &last.as_ref().expect("just filled").1
}

impl CompactionFilter for SubRowFilter {
    fn filter_item(
        &mut self,
        item: ItemAccessor<'_>,
        _ctx: &Context,
    ) -> fjall::compaction::filter::CompactionFilterResult {
        let Some(meta) = &self.meta else {
            return Ok(Verdict::Keep);
        };
        let row = item.key();
        let prefix_len = keys::sub_prefix_len(row);
        let Some(meta_key_len) = prefix_len
            .checked_sub(8)
            .filter(|&n| n >= keys::META_HEADER)
        else {
            return Ok(Verdict::Keep);
        };
        let version =
            u64::from_be_bytes(row[meta_key_len..prefix_len].try_into().expect("8 bytes"));
        let sort_key = &row[prefix_len..];
        let held = match lookup(meta, &mut self.last, &row[..meta_key_len]) {
            Lookup::Absent => false,
            Lookup::Present(meta) => meta.version == version && meta.may_hold_sub_row(sort_key),
            Lookup::Unknown => true,
        };
        // A tombstone, not a silent drop: an older version of the row in a lower level
        // must stay hidden.
        Ok(if held { Verdict::Keep } else { Verdict::Remove })
    }
}
