//! Read commands whose keys are on disk: while fjall's point reads go to the disk (see
//! `engine::disk_reads`), the metadata rows of a read command's keys that only fjall holds
//! are read on a blocking thread before the command runs, so the network thread serves other
//! clients meanwhile and many disk reads are in flight at once. The command then finds its
//! rows in the metadata cache; it still reads them itself, so nothing it answers depends on
//! the read ahead, which only warms the cache.

use std::sync::Arc;

use bytes::Bytes;

use super::client::ClientState;
use super::shared::Server;
use super::{command_keys, dispatch, Flag};

/// The reads to run off the network thread before `args` runs, if any.
pub fn read_first(
    server: &Arc<Server>,
    client: &ClientState,
    args: &[Bytes],
) -> Option<impl FnOnce() + Send + 'static> {
    let engine = &server.engine;
    // The common case, the page cache serving reads, costs one load.
    if !engine.reads_hit_disk() || !client.authenticated || client.multi.is_some() {
        return None;
    }
    let entry = dispatch::lookup(server, args)?;
    if !entry.spec.has(Flag::ReadOnly) {
        return None;
    }
    let keys: Vec<Bytes> = command_keys::key_positions(entry.spec, args)
        .into_iter()
        .filter_map(|at| args.get(at))
        .filter(|key| engine.meta_needs_stored_read(client.db, key))
        .cloned()
        .collect();
    if keys.is_empty() {
        return None;
    }
    let engine = engine.clone();
    let db = client.db;
    Some(move || {
        for key in &keys {
            engine.load_meta(db, key);
        }
    })
}
