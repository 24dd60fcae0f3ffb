//! Pipelined batches: consecutive simple commands among one connection's buffered requests
//! run under one lock scope and commit as one engine batch — one fjall batch, one journal
//! append, one metadata row per key however many of the commands wrote it.
//!
//! Which commands qualify is the command table's [`Flag::Batch`]; a batch never spans
//! anything else (the connection runs other commands on their own, as before), and not
//! while anything that watches commands one by one is on (client-side caching, a running
//! script, a CLIENT PAUSE, MULTI). The batch holds its keys' shard locks from its first
//! command to its commit, so no other client sees its writes before they are committed,
//! and its replies are sent only after the commit, so nothing is acknowledged before it is
//! in the journal. Each command runs in a transaction of its own that reads through the
//! batch's pending writes (see [`Batch`]): a command that fails leaves nothing behind. A
//! writing command with short arguments carries the batch's writes instead (takes them over
//! and hands them back, see [`Batch::let_next_carry`]); if one failed after writing, which
//! among the batched commands only a storage error makes them do, the whole batch is
//! refused.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use redyn_protocol::Reply;
use smallvec::SmallVec;

use super::client::ClientState;
use super::shared::Server;
use super::table::{BatchStats, Entry};
use super::{dispatch, CmdError, Flag};
use crate::engine::{keys, Batch, Locks};

/// Most requests one batch runs: bounds how long its locks are held.
pub const MAX_BATCH: usize = 256;

/// Whether `client`'s requests may run in batches now.
pub fn may_batch(server: &Server, client: &ClientState) -> bool {
    client.multi.is_none()
        && client.push_rx.is_none()
        && !server.tracking.is_active()
        && !server.scripting.state.is_running()
        && server.clients.pause.current().is_none()
}

/// The command table's entry for `args` if the request may join a batch. `previous` is the
/// batch's last request: a request naming the same command, spelled the same way (a
/// pipeline repeats one command), takes its entry without a table lookup.
pub fn batch_entry<'s>(
    server: &'s Server,
    previous: Option<&(&'s Entry, Vec<Bytes>)>,
    args: &[Bytes],
) -> Option<&'s Entry> {
    if args.len() < 2 {
        return None;
    }
    if let Some((entry, last)) = previous {
        if last[0] == args[0] {
            return Some(*entry);
        }
    }
    dispatch::lookup(server, args).filter(|e| e.spec.has(Flag::Batch))
}

/// Arguments at most this long make rows far below the longest a row may be: a command
/// whose arguments all are cannot be refused at commit for a row's length.
const SHORT_ARGUMENT: usize = 4 * 1024;

/// Whether a request's transaction may carry the batch's pending writes (see
/// [`Batch::let_next_carry`]): a command that may write, whose arguments are all short.
fn may_carry(entry: &Entry, args: &[Bytes]) -> bool {
    entry.spec.has(Flag::Write) && args.iter().all(|arg| arg.len() <= SHORT_ARGUMENT)
}

/// Runs `requests` (each with its [`batch_entry`]) as one batch and returns their replies in
/// order. If the commit fails, every reply is its error: nothing of the batch was
/// acknowledged.
pub fn run_batch(
    server: &Arc<Server>,
    client: &mut ClientState,
    requests: &[(&Entry, Vec<Bytes>)],
) -> Vec<Reply> {
    let engine = &server.engine;
    // A pipeline often repeats one key (pushes to a queue, adds to one set): its slot is
    // hashed and its metadata row announced once per run of requests naming it.
    let mut firsts: SmallVec<[(u16, &[u8]); 32]> = SmallVec::new();
    // Each request's key's slot, announced to its command (see `Batch::announce_key`).
    let mut slots: SmallVec<[u16; 32]> = SmallVec::with_capacity(requests.len());
    for (_, args) in requests {
        let key = &args[1][..];
        if firsts.last().is_none_or(|&(_, last)| last != key) {
            firsts.push((keys::key_slot(key), key));
        }
        slots.extend(firsts.last().map(|&(slot, _)| slot));
    }
    let locks = Locks::Take.acquire(engine, firsts.iter().map(|&(slot, _)| slot));
    let prefixes: SmallVec<[_; 32]> = (firsts.iter())
        .map(|&(slot, key)| keys::meta_prefix(slot, client.db, key))
        .collect();
    let rows: SmallVec<[(&[u8], &[u8]); 32]> = (prefixes.iter().zip(&firsts))
        .map(|(prefix, &(_, key))| (prefix.as_slice(), key))
        .collect();
    engine.prefetch_metadata(&rows);
    for (entry, args) in requests {
        if entry.spec.has(Flag::SubKey) && args.len() > 2 {
            engine.prefetch_sub_row(&args[1], &args[2]);
        }
    }
    let batch = Batch::new(client.db);
    let mut stats = BatchStats::default();
    let mut replies = Vec::with_capacity(requests.len());
    client.batch_clock = Some(quanta::Instant::now());
    for (i, (entry, args)) in requests.iter().enumerate() {
        let next_key = requests.get(i + 1).map(|(_, next)| &next[1]);
        batch.keep_reads_for_next(next_key == Some(&args[1]));
        batch.announce_key(&args[1], slots[i]);
        batch.let_next_carry(may_carry(entry, args));
        replies.push(dispatch::execute_in_batch(
            server,
            client,
            entry,
            args,
            locks.held(),
            (&batch, &mut stats),
        ));
        if client.closing {
            break;
        }
    }
    client.batch_clock = None;
    let processed = stats.finish();
    (server.stats.commands_processed).fetch_add(processed, Ordering::Relaxed);
    let written_before = engine.durability.written();
    match batch.commit(engine, locks) {
        Ok(()) => dispatch::note_writes_since(server, client, written_before),
        Err(e) => {
            let text = CmdError::from(e).0;
            replies.fill(Reply::Error(text));
        }
    }
    replies
}
