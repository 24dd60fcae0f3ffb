//! MULTI / EXEC / DISCARD / WATCH / UNWATCH.
//!
//! EXEC takes every shard lock for the duration of the queue, so no other client's command
//! interleaves with it (Redis's guarantee), and checks the WATCHed keys' change counters
//! under those locks.

use bytes::Bytes;
use redyn_protocol::Reply;

use super::client::ClientState;
use super::errors::CmdError;
use super::{acl, dispatch, CmdResult, CommandSpec, Ctx, Flag, ALL_KEYS, NO_KEYS};
use crate::acl::log::Context as AclContext;
use crate::acl::Denied;
use crate::engine::keys::meta_key;
use crate::engine::Engine;
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "multi",
        1,
        &[NoScript, Loading, Stale, Fast],
        NO_KEYS,
        "transactions",
        "1.2.0",
        "Starts a transaction.",
        multi,
    ),
    CommandSpec::new(
        "exec",
        1,
        &[NoScript, Loading, Stale],
        NO_KEYS,
        "transactions",
        "1.2.0",
        "Executes all commands in a transaction.",
        exec,
    ),
    CommandSpec::new(
        "discard",
        1,
        &[NoScript, Loading, Stale, Fast],
        NO_KEYS,
        "transactions",
        "2.0.0",
        "Discards a transaction.",
        discard,
    ),
    CommandSpec::new(
        "watch",
        -2,
        &[NoScript, Loading, Stale, Fast],
        ALL_KEYS,
        "transactions",
        "2.2.0",
        "Monitors changes to keys to determine the execution of a transaction.",
        watch,
    ),
    CommandSpec::new(
        "unwatch",
        1,
        &[NoScript, Loading, Stale, Fast],
        NO_KEYS,
        "transactions",
        "2.2.0",
        "Forgets about watched keys of a transaction.",
        unwatch,
    ),
];

fn set_multi(client: &mut ClientState, queue: Option<Vec<Vec<Bytes>>>) {
    client
        .info
        .in_multi
        .store(queue.is_some(), std::sync::atomic::Ordering::Relaxed);
    client.multi = queue;
    client.multi_error = false;
}

fn multi(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::new("ERR MULTI calls can not be nested"));
    }
    set_multi(ctx.client, Some(Vec::new()));
    Ok(Reply::ok())
}

fn discard(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(CmdError::new("ERR DISCARD without MULTI"));
    }
    discard_transaction(ctx.engine(), ctx.client);
    Ok(Reply::ok())
}

/// Leaves MULTI state, dropping the queue and the watched keys (DISCARD, and an EXEC
/// rejected before it runs).
pub(super) fn discard_transaction(engine: &Engine, client: &mut ClientState) {
    set_multi(client, None);
    unwatch_all(engine, client);
}

fn exec(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let Some(queue) = ctx.client.multi.take() else {
        return Err(CmdError::new("ERR EXEC without MULTI"));
    };
    let had_error = ctx.client.multi_error;
    set_multi(ctx.client, None);
    if had_error {
        unwatch_all(ctx.engine(), ctx.client);
        return Err(CmdError::new(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    let engine = ctx.engine();
    // Every shard for the whole queue: no other client's command interleaves. Inside an
    // enclosing block (a script running EXEC) the block's locks are used.
    let locks = ctx.locks.acquire_all(engine);
    let watched_changed = ctx
        .client
        .watched
        .iter()
        .any(|(_, rx, seen)| *rx.borrow() != *seen);
    unwatch_all(engine, ctx.client);
    if watched_changed {
        return Ok(Reply::NilArray);
    }
    let mut replies = Vec::with_capacity(queue.len());
    for args in queue {
        let entry = ctx
            .server
            .commands
            .get(&args[0])
            .expect("queued commands were validated");
        // Permissions may have changed since the command was queued (ACL SETUSER, ACL
        // LOAD): Redis checks every queued command again when EXEC runs it.
        if let Err(denied) = acl::check(ctx.server, ctx.client, entry, &args, AclContext::Multi) {
            // Counted in errorstats, not in the command's own statistics (it never ran).
            let reply = Reply::Error(exec_denial(&denied));
            dispatch::note_error_reply(ctx.server, &reply);
            replies.push(reply);
            continue;
        }
        let held = locks.held();
        replies.push(dispatch::run(ctx.server, ctx.client, entry, &args, held));
    }
    drop(locks);
    Ok(Reply::Array(replies))
}

/// The NOPERM error a queued command denied at EXEC time gets in the EXEC reply (Redis
/// 7.0's wording, which differs from the error at queueing time).
fn exec_denial(denied: &Denied) -> String {
    let reason = match denied {
        Denied::Command => "no permission to execute the command or subcommand",
        Denied::Key(_) => "no permission to touch the specified keys",
        Denied::Channel(_) => "no permission to access one of the channels used as arguments",
    };
    format!(
        "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"
    )
}

fn watch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::new("ERR WATCH inside MULTI is not allowed"));
    }
    let db = ctx.db();
    for key in &args[1..] {
        let raw = meta_key(db, key);
        if ctx.client.watched.iter().any(|(k, _, _)| *k == raw) {
            continue;
        }
        let rx = ctx.engine().signals.acquire(&raw);
        let seen = *rx.borrow();
        ctx.client.watched.push((raw, rx, seen));
    }
    Ok(Reply::ok())
}

fn unwatch(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    unwatch_all(ctx.engine(), ctx.client);
    Ok(Reply::ok())
}

/// Forgets every key the client watches.
pub fn unwatch_all(engine: &Engine, client: &mut ClientState) {
    for (raw, _, _) in client.watched.drain(..) {
        engine.signals.release(&raw);
    }
}
