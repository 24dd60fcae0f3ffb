//! Hashes: a partition whose sort keys are the fields.
//!
//! The metadata row holds `{kind: Hash, version, len = number of fields, expire_at}`; each
//! field is one sub-row `meta key ‖ version ‖ field → value`. HGET is a point read, HGETALL
//! one range scan of the partition, and DEL drops only the metadata row (the version's
//! sub-rows are reclaimed in the background).

use std::ops::Bound::Unbounded;

use super::error::Result;
use crate::engine::{Kind, Meta, Txn};

/// The hash at `key` (WRONGTYPE for other types, `None` if absent).
pub fn load(txn: &mut Txn, key: &[u8]) -> Result<Option<Meta>> {
    super::get_of_kind(txn, key, Kind::Hash)
}

/// The hash at `key`, or a new empty one (with a fresh version) if absent.
pub fn load_or_create(txn: &mut Txn, key: &[u8]) -> Result<Meta> {
    super::load_or_create(txn, key, Kind::Hash)
}

/// One field's value.
pub fn get_field(txn: &Txn, key: &[u8], meta: &Meta, field: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(txn.sub_get(key, meta.version, field)?)
}

/// Sets a field; returns whether it is new. Updates `meta.len` (write `meta` with
/// [`store`] afterwards).
pub fn set_field(
    txn: &mut Txn,
    key: &[u8],
    meta: &mut Meta,
    field: &[u8],
    value: Vec<u8>,
) -> Result<bool> {
    let old = txn.sub_get(key, meta.version, field)?;
    let is_new = old.is_none();
    if old.as_deref() == Some(value.as_slice()) {
        // Rewriting a field's own value would only cost a memtable insert and journal bytes.
        txn.touch_unchanged(key);
    } else if is_new {
        txn.sub_insert(key, meta.version, field, value);
    } else {
        txn.sub_put(key, meta.version, field, value);
    }
    if is_new {
        meta.len += 1;
    }
    Ok(is_new)
}

/// Deletes a field; returns whether it existed.
pub fn delete_field(txn: &mut Txn, key: &[u8], meta: &mut Meta, field: &[u8]) -> Result<bool> {
    if txn.sub_get(key, meta.version, field)?.is_none() {
        return Ok(false);
    }
    txn.sub_delete(key, meta.version, field);
    meta.len -= 1;
    Ok(true)
}

/// Writes the hash's metadata back (see [`super::store_members`]).
pub fn store(txn: &mut Txn, key: &[u8], meta: Meta) -> Result<bool> {
    super::store_members(txn, key, meta)
}

/// A field and its value.
pub type FieldValue = (Vec<u8>, Vec<u8>);

/// All `(field, value)` pairs in field order (one range scan of the partition).
pub fn entries(txn: &Txn, key: &[u8], meta: &Meta) -> Result<Vec<FieldValue>> {
    Ok(txn
        .sub_scan(key, meta.version, Unbounded, Unbounded, false)
        .collect::<Result<Vec<_>, _>>()?)
}
