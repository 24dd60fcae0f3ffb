//! Type-independent operations on whole values (RENAME, COPY, MOVE).

use super::error::Result;
use crate::engine::{Meta, Txn};

/// Copies the value of `src` (whose metadata is `meta`) to key `dst` of `dst_space`, and
/// returns the metadata to store at `dst`. Sub-rows are copied under a fresh version, so
/// the copy is independent of the source.
pub fn copy_value(
    txn: &mut Txn,
    src: &[u8],
    meta: &Meta,
    dst: &[u8],
    dst_space: u32,
) -> Result<Meta> {
    let mut copy = meta.clone();
    if meta.has_sub_rows() {
        copy.version = txn.engine().new_version()?;
        let rows = super::value_rows(txn, src, meta)?.collect::<Result<Vec<_>, _>>()?;
        let src_space = txn.space();
        txn.set_space(dst_space);
        for (sort_key, value) in rows {
            txn.sub_put(dst, copy.version, &sort_key, value);
        }
        txn.set_space(src_space);
    }
    Ok(copy)
}
