//! Strings: a one-item partition; the value lives inline in the metadata row.

use super::error::Result;
use crate::engine::{Kind, Meta, Txn};

/// The value of a string key (WRONGTYPE for other types).
pub fn get(txn: &mut Txn, key: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(super::get_of_kind(txn, key, Kind::String)?.map(|m| m.value))
}

/// Stores a string, replacing whatever the key held. `expire_at`: 0 = no expiry.
pub fn set(txn: &mut Txn, key: &[u8], value: Vec<u8>, expire_at: u64) -> Result<()> {
    let mut meta = Meta::string(value);
    meta.expire_at = expire_at;
    txn.put(key, meta)?;
    Ok(())
}

/// Replaces the value of a string key keeping its TTL (APPEND, SETRANGE, INCR…), or creates it.
pub fn update(txn: &mut Txn, key: &[u8], value: Vec<u8>) -> Result<()> {
    let expire_at = txn.get(key)?.map_or(0, |m| m.expire_at);
    set(txn, key, value, expire_at)
}
