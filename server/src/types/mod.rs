//! Redis data types on the engine: how each type's value maps onto a metadata row and
//! sub-rows. Command files parse arguments and build replies; the storage logic lives here.

pub mod bits;
pub mod error;
pub mod generic;
pub mod hash;
pub mod hll;
pub mod list;
pub mod set;
pub mod stream;
pub mod stream_group;
pub mod string;
pub mod zset;
pub mod zset_index;

pub use error::TypeError;

use std::ops::Bound::Unbounded;
use std::sync::Arc;

use crate::engine::txn::SubScan;
use crate::engine::{Kind, Meta, Txn};
use error::Result;

/// The live metadata of `key` if it holds a value of `kind`; WRONGTYPE if it holds another
/// type; `None` if absent.
pub fn get_of_kind(txn: &mut Txn, key: &[u8], kind: Kind) -> Result<Option<Meta>> {
    Ok(shared_of_kind(txn, key, kind)?.map(|meta| Meta::clone(&meta)))
}

/// [`get_of_kind`], shared with the transaction rather than copied (a reader that only looks
/// at the value).
pub fn shared_of_kind(txn: &mut Txn, key: &[u8], kind: Kind) -> Result<Option<Arc<Meta>>> {
    match txn.get_shared(key)? {
        Some(meta) if meta.kind != kind => Err(TypeError::WrongType),
        other => Ok(other),
    }
}

/// The value of `kind` at `key`, or a new empty one with a fresh sub-row version.
pub fn load_or_create(txn: &mut Txn, key: &[u8], kind: Kind) -> Result<Meta> {
    match get_of_kind(txn, key, kind)? {
        Some(meta) => Ok(meta),
        None => Ok(Meta::new(kind, txn.engine().new_version()?)),
    }
}

/// Writes back the metadata of a type with members, deleting the key when its last member
/// is gone (Redis never keeps empty hashes or sorted sets). An unchanged row (a score update,
/// an overwritten field) is not rewritten: `Txn::put` skips it. Returns whether the key was
/// deleted.
pub fn store_members(txn: &mut Txn, key: &[u8], meta: Meta) -> Result<bool> {
    if meta.len == 0 {
        txn.delete(key)?;
        return Ok(true);
    }
    txn.put(key, meta)?;
    Ok(false)
}

/// Every sub-row of the value `meta` describes, `(sort key, value)` in sort-key order: for a
/// list only the rows between its ends (see [`list::rows`]).
pub fn value_rows(txn: &Txn, key: &[u8], meta: &Meta) -> Result<SubScan> {
    match meta.kind {
        Kind::List => list::rows(txn, key, meta, false),
        _ => Ok(txn.sub_scan(key, meta.version, Unbounded, Unbounded, false)),
    }
}
