//! Read commands whose keys are on disk: while fjall's point reads go to the disk (see
//! `engine::disk_reads`), the metadata rows of read commands' keys that only fjall holds
//! are read on blocking threads, one per key, before the commands run, so the network thread
//! serves other clients meanwhile and many disk reads are in flight at once. The commands
//! then read their rows themselves, as always, and find the table blocks in fjall's block
//! cache: the reads ahead only warm fjall's and the OS's caches, which stay coherent with
//! writes by themselves (they run without the keys' locks).

use std::sync::Arc;

use bytes::Bytes;

use super::client::ClientState;
use super::shared::Server;
use super::{command_keys, dispatch, Flag};

/// The database whose keys `client`'s commands should read ahead now, if any: only while
/// reads go to the disk (otherwise this costs one atomic load).
pub fn reading_ahead_for(server: &Server, client: &ClientState) -> Option<u32> {
    let eligible = client.authenticated && client.multi.is_none();
    (eligible && server.engine.reads_hit_disk()).then_some(client.db)
}

/// Reads ahead the rows of `requests`' keys in `db` as described above, returning once
/// they are read.
pub async fn read_keys_first<'a>(
    server: &Arc<Server>,
    db: u32,
    requests: impl IntoIterator<Item = &'a [Bytes]>,
) {
    let mut reads = tokio::task::JoinSet::new();
    for args in requests {
        for row_key in rows_only_fjall_holds(server, db, args) {
            let engine = server.engine.clone();
            reads.spawn_blocking(move || engine.warm_meta_row(&row_key));
        }
    }
    while reads.join_next().await.is_some() {}
}

/// The metadata row keys of the keys of `args`, if it is a read command, whose rows
/// neither the write buffer nor the metadata cache holds.
fn rows_only_fjall_holds(server: &Server, db: u32, args: &[Bytes]) -> Vec<Vec<u8>> {
    let Some(entry) = dispatch::lookup(server, args) else {
        return Vec::new();
    };
    if !entry.spec.has(Flag::ReadOnly) {
        return Vec::new();
    }
    command_keys::key_positions(entry.spec, args)
        .into_iter()
        .filter_map(|at| args.get(at))
        .filter_map(|key| server.engine.meta_row_only_stored(db, key))
        .collect()
}
