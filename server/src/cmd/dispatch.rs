//! Running one command: lookup, arity, authentication, MULTI queueing, the handler call,
//! and statistics — in the order Redis's `processCommand` checks them, so the same bad
//! request gets the same error.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use redyn_protocol::Reply;

use super::client::ClientState;
use super::errors::{self, CmdError};
use super::shared::Server;
use super::table::Entry;
use super::{Ctx, Flag};
use crate::engine::Locks;

/// Commands that run immediately even inside MULTI.
const MULTI_CONTROL: &[&str] = &[
    "exec", "discard", "multi", "watch", "unwatch", "quit", "reset",
];

/// Executes one request and returns its reply.
pub fn execute(server: &Arc<Server>, client: &mut ClientState, args: Vec<Bytes>) -> Reply {
    let entry = match check(server, client, &args) {
        Ok(entry) => entry,
        Err(e) => {
            if client.multi.is_some() {
                client.multi_error = true;
            }
            server.stats.error_replies.fetch_add(1, Ordering::Relaxed);
            return Reply::Error(e.0);
        }
    };
    if let Some(queue) = client.multi.as_mut() {
        if !MULTI_CONTROL.contains(&entry.spec.name) {
            queue.push(args);
            return Reply::Simple("QUEUED".into());
        }
    }
    run(server, client, entry, &args, Locks::Take)
}

/// Whether running `args` now may hold the thread for long: a command marked
/// [`Flag::Offload`], or an EXEC whose queue holds one. Inside MULTI everything else is only
/// queued, which is quick whatever the command.
pub fn may_block_thread(server: &Server, client: &ClientState, args: &[Bytes]) -> bool {
    let offloaded = |name: &[u8]| {
        server
            .commands
            .get(name)
            .is_some_and(|entry| entry.spec.has(Flag::Offload))
    };
    match &client.multi {
        None => offloaded(&args[0]),
        Some(queue) => {
            server
                .commands
                .get(&args[0])
                .is_some_and(|entry| entry.spec.name == "exec")
                && queue.iter().any(|queued| offloaded(&queued[0]))
        }
    }
}

/// Validates a request against the command table and the client's state.
fn check<'s>(
    server: &'s Server,
    client: &ClientState,
    args: &[Bytes],
) -> Result<&'s Entry, CmdError> {
    let Some(entry) = server.commands.get(&args[0]) else {
        return Err(errors::unknown_command(args));
    };
    if !entry.spec.arity_ok(args.len()) {
        return Err(errors::wrong_arity(entry.spec.name));
    }
    if !client.authenticated && !entry.spec.has(Flag::NoAuth) {
        return Err(CmdError::new(errors::NOAUTH));
    }
    if client.multi.is_some() && entry.spec.has(Flag::NoMulti) {
        return Err(CmdError::new(
            "ERR Command not allowed inside a transaction",
        ));
    }
    if super::pubsub::in_subscribe_mode(client) && !entry.spec.has(Flag::PubSubContext) {
        return Err(CmdError::new(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            entry.spec.name
        )));
    }
    if let Some(busy) = super::script::busy_error(server, entry, args) {
        return Err(busy);
    }
    Ok(entry)
}

/// Runs an already validated command under `locks` (EXEC passes the locks it holds).
pub fn run(
    server: &Arc<Server>,
    client: &mut ClientState,
    entry: &Entry,
    args: &[Bytes],
    locks: Locks<'_>,
) -> Reply {
    let started = Instant::now();
    let written_before = server.engine.durability.written();
    // Noted before the call too, so CLIENT LIST shows a command still running (as Redis
    // does), and after it, because EXEC runs its queued commands in between.
    *client.info.last_cmd.lock() = entry.spec.name;
    let result = {
        let mut ctx = Ctx {
            server,
            client,
            locks,
        };
        (entry.spec.handler)(&mut ctx, args)
    };
    let usec = started.elapsed().as_micros() as u64;
    // Whatever the command wrote (Redis keys, table items, change records) must be synced
    // before its reply under `appendfsync always`. Waiting for the latest sequence number
    // also covers other clients' writes in between, which one group fsync handles anyway.
    let written_after = server.engine.durability.written();
    if written_after != written_before {
        client.last_write_seq = client.last_write_seq.max(written_after);
    }
    let reply = result.unwrap_or_else(|e| Reply::Error(e.0));
    let failed = reply.is_error();
    entry.stat.record(entry.spec.name, usec, failed);
    server
        .stats
        .commands_processed
        .fetch_add(1, Ordering::Relaxed);
    if failed {
        server.stats.error_replies.fetch_add(1, Ordering::Relaxed);
    }
    *client.info.last_cmd.lock() = entry.spec.name;
    client.info.last_interaction_ms.store(
        client.info.created.elapsed().as_millis() as u64,
        Ordering::Relaxed,
    );
    reply
}

/// Releases what a client held when it disconnects (WATCHed keys…).
pub fn cleanup_client(server: &Arc<Server>, client: &mut ClientState) {
    super::transaction::unwatch_all(&server.engine, client);
    super::pubsub::unsubscribe_all(server, client);
}
