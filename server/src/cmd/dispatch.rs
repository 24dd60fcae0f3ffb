//! Running one command: lookup, arity, authentication, MULTI queueing, the handler call,
//! and statistics — in the order Redis's `processCommand` checks them, so the same bad
//! request gets the same error.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use redyn_protocol::Reply;

use super::client::ClientState;
use super::errors::{self, CmdError};
use super::shared::Server;
use super::table::{BatchStats, Entry};
use super::{monitor, Ctx, Flag};
use crate::acl::log::Context as AclContext;
use crate::engine::{Batch, Locks};

/// Commands that run immediately even inside MULTI.
const MULTI_CONTROL: &[&str] = &[
    "exec", "discard", "multi", "watch", "unwatch", "quit", "reset",
];

/// The command table's entry for a request (looked up once per request: callers pass it
/// to [`may_block_thread`] and [`execute`]).
pub fn lookup<'s>(server: &'s Server, args: &[Bytes]) -> Option<&'s Entry> {
    server.commands.get(&args[0])
}

/// Executes one request (`entry` = [`lookup`]'s answer for it) and returns its reply.
pub fn execute(
    server: &Arc<Server>,
    client: &mut ClientState,
    entry: Option<&Entry>,
    args: &[Bytes],
) -> Reply {
    // Client-side caching attributes the keys this request modifies to this client, and
    // announces BCAST invalidations when the request ends (nothing to do while nobody
    // tracks keys).
    let _scope = server
        .tracking
        .is_active()
        .then(|| server.tracking.enter(&server.clients, client.id));
    let client_command = entry.is_some_and(|e| e.spec.name == "client");
    let reply = execute_request(server, client, entry, args);
    super::tracking::end_of_command(server, client, client_command);
    reply
}

fn execute_request(
    server: &Arc<Server>,
    client: &mut ClientState,
    entry: Option<&Entry>,
    args: &[Bytes],
) -> Reply {
    let entry = match admit(server, client, entry, args) {
        Ok(entry) => entry,
        Err(reply) => return reply,
    };
    if let Some(queue) = client.multi.as_mut() {
        if !MULTI_CONTROL.contains(&entry.spec.name) {
            queue.push(args.to_vec());
            return Reply::Simple("QUEUED".into());
        }
    }
    run(server, client, entry, args, Locks::Take)
}

/// The entry of a request that passes [`check`], or the error reply of one that does not,
/// with what a rejection does besides (a MULTI marked failed, an EXEC aborted, statistics).
fn admit<'e>(
    server: &Arc<Server>,
    client: &mut ClientState,
    entry: Option<&'e Entry>,
    args: &[Bytes],
) -> Result<&'e Entry, Reply> {
    let checked = match entry {
        Some(entry) => check(server, client, entry, args).map(|()| entry),
        None => Err(errors::unknown_command(args)),
    };
    let mut e = match checked {
        Ok(entry) => return Ok(entry),
        Err(e) => e,
    };
    if client.multi.is_some() {
        client.multi_error = true;
    }
    // A rejected EXEC (wrong arity, NOPERM, BUSY while a script runs…) ends the
    // transaction and forgets WATCHed keys, inside MULTI or not, as Redis's
    // execCommandAbort; its reason loses the generic `ERR ` code.
    if entry.is_some_and(|e| e.spec.name == "exec") {
        super::transaction::discard_transaction(&server.engine, client);
        e = CmdError::new(format!(
            "EXECABORT Transaction discarded because of: {}",
            e.0.strip_prefix("ERR ").unwrap_or(&e.0)
        ));
    }
    if let Some(entry) = entry {
        if let Some(sub) = entry.subcommand(args) {
            let full = format!("{}|{sub}", entry.spec.name);
            server.introspection.record_rejected(&full);
        }
    }
    let reply = Reply::Error(e.0);
    note_error_reply(server, &reply);
    Err(reply)
}

/// Makes the client's next reply wait for the writes committed since the durability
/// sequence was `written_before` (whoever made them: one sync covers them all anyway).
pub fn note_writes_since(server: &Server, client: &mut ClientState, written_before: u64) {
    let written_after = server.engine.durability.written();
    if written_after != written_before {
        client.last_write_seq = client.last_write_seq.max(written_after);
    }
}

/// Counts an error reply sent without running a command's handler (INFO stats and
/// errorstats).
pub fn note_error_reply(server: &Server, reply: &Reply) {
    if let Reply::Error(text) = reply {
        server.stats.error_replies.fetch_add(1, Ordering::Relaxed);
        server.introspection.record_error(text);
    }
}

/// Commands CLIENT PAUSE WRITE holds back although they do not write keys: they may
/// propagate (PUBLISH), or may write (scripts, PFCOUNT's cache update).
const MAY_REPLICATE: &[&str] = &["publish", "spublish", "pfcount", "eval", "evalsha", "fcall"];

/// Whether CLIENT PAUSE in `mode` holds `args` back. Inside MULTI commands are only
/// queued; EXEC is held when its queue holds a write. CLIENT UNPAUSE always runs, so the
/// pause can be lifted from any connection.
pub fn held_by_pause(
    server: &Server,
    client: &ClientState,
    args: &[Bytes],
    mode: super::client::PauseMode,
) -> bool {
    let Some(entry) = server.commands.get(&args[0]) else {
        return false;
    };
    let name = entry.spec.name;
    if name == "client"
        && args
            .get(1)
            .is_some_and(|a| a.eq_ignore_ascii_case(b"unpause"))
    {
        return false;
    }
    let may_write = |args: &[Bytes]| {
        server
            .commands
            .get(&args[0])
            .is_some_and(|e| e.spec.has(Flag::Write) || MAY_REPLICATE.contains(&e.spec.name))
    };
    match (&client.multi, mode) {
        (Some(queue), _) if name == "exec" => match mode {
            super::client::PauseMode::All => true,
            super::client::PauseMode::Write => queue.iter().any(|queued| may_write(queued)),
        },
        (Some(_), _) => false,
        (None, super::client::PauseMode::All) => true,
        (None, super::client::PauseMode::Write) => may_write(args),
    }
}

/// Whether running `args` now may hold the thread for long: a command marked
/// [`Flag::Offload`], or an EXEC whose queue holds one. Inside MULTI everything else is only
/// queued, which is quick whatever the command.
pub fn may_block_thread(server: &Server, client: &ClientState, entry: Option<&Entry>) -> bool {
    let Some(entry) = entry else {
        return false;
    };
    match &client.multi {
        None => entry.spec.has(Flag::Offload),
        Some(queue) => {
            entry.spec.name == "exec"
                && queue
                    .iter()
                    .any(|queued| lookup(server, queued).is_some_and(|e| e.spec.has(Flag::Offload)))
        }
    }
}

/// What Redis refuses while its AOF cannot be written: write commands, an EXEC whose queue
/// holds one, and PING (so that health checks notice).
fn refused_on_write_errors(server: &Server, client: &ClientState, entry: &Entry) -> bool {
    let writes = |args: &Vec<Bytes>| {
        server
            .commands
            .get(&args[0])
            .is_some_and(|e| e.spec.has(Flag::Write))
    };
    match entry.spec.name {
        "ping" => true,
        "exec" => client
            .multi
            .as_ref()
            .is_some_and(|queue| queue.iter().any(writes)),
        _ => entry.spec.has(Flag::Write),
    }
}

/// Validates a request for a known command against its spec and the client's state.
fn check(
    server: &Server,
    client: &mut ClientState,
    entry: &Entry,
    args: &[Bytes],
) -> Result<(), CmdError> {
    if !entry.spec.arity_ok(args.len()) {
        return Err(errors::wrong_arity(entry.spec.name));
    }
    if !client.authenticated && !entry.spec.has(Flag::NoAuth) && server.acl.default_requires_auth()
    {
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
    let context = if client.multi.is_some() {
        AclContext::Multi
    } else {
        AclContext::Toplevel
    };
    super::acl::check(server, client, entry, args, context)
        .map_err(|denied| super::acl::noperm(server, entry, args, &denied))?;
    if server.engine.disk.refuses_writes() && refused_on_write_errors(server, client, entry) {
        return Err(CmdError::new(server.engine.disk.refusal()));
    }
    Ok(())
}

/// Runs an already validated command under `locks` (EXEC passes the locks it holds).
pub fn run(
    server: &Arc<Server>,
    client: &mut ClientState,
    entry: &Entry,
    args: &[Bytes],
    locks: Locks<'_>,
) -> Reply {
    run_in(server, client, entry, args, locks, None)
}

/// Executes one request of a pipelined batch (see [`super::pipeline`]): the checks of
/// [`execute`], then the handler under the batch's locks, its writes joining the batch's.
pub fn execute_in_batch<'e>(
    server: &Arc<Server>,
    client: &mut ClientState,
    entry: &'e Entry,
    args: &[Bytes],
    locks: Locks<'_>,
    (batch, stats): (&Batch, &mut BatchStats<'e>),
) -> Reply {
    if let Err(reply) = admit(server, client, Some(entry), args) {
        return reply;
    }
    run_in(server, client, entry, args, locks, Some((batch, stats)))
}

/// [`run`], for a command that may be part of a pipelined batch.
fn run_in<'e>(
    server: &Arc<Server>,
    client: &mut ClientState,
    entry: &'e Entry,
    args: &[Bytes],
    locks: Locks<'_>,
    in_batch: Option<(&Batch, &mut BatchStats<'e>)>,
) -> Reply {
    let (batch, batch_stats) = in_batch.unzip();
    // In a pipelined batch, the previous command's end is this one's start. quanta reads the
    // TSC itself: std's Instant::now (vDSO clock_gettime) took 31 ns here against 16.5 ns,
    // 6.5 % of a pipelined PING's CPU (perf).
    let started = client.batch_clock.unwrap_or_else(quanta::Instant::now);
    // A re-run after a wake-up of a command that blocked: already counted once.
    let retry = client.block_deadline.is_some();
    let written_before = server.engine.durability.written();
    // Noted before the call too, so CLIENT LIST shows a command still running (as Redis
    // does), and after it, because EXEC runs its queued commands in between.
    let subcommand = entry.subcommand(args);
    note_command(client, entry.spec.name, subcommand);
    let locks_held = locks.is_held();
    let feed_monitors = |client: &ClientState| {
        if !monitor::active(server) {
            return;
        }
        let origin = if super::script::called_from_script(server, locks_held) {
            monitor::Origin::Script
        } else {
            monitor::Origin::Client(client)
        };
        monitor::feed(server, entry.spec, origin, client.db, args);
    };
    let fed_early = monitor::fed_before_running(entry.spec.name);
    if fed_early {
        feed_monitors(client);
    }
    let result = {
        let mut ctx = Ctx {
            server,
            client,
            locks,
            batch,
        };
        call_handler(entry, &mut ctx, args)
    };
    // One clock reading for the command's duration and the client's last interaction.
    let finished = quanta::Instant::now();
    if client.batch_clock.is_some() {
        client.batch_clock = Some(finished);
    }
    let usec = finished.duration_since(started).as_micros() as u64;
    // Whatever the command wrote (Redis keys, table items, change records) must be synced
    // before its reply under `appendfsync always`. Waiting for the latest sequence number
    // also covers other clients' writes in between, which one group fsync handles anyway.
    note_writes_since(server, client, written_before);
    let reply = result.unwrap_or_else(|e| Reply::Error(e.0));
    super::tracking::note_command_ran(server, client, entry, args, locks_held);
    if !fed_early {
        feed_monitors(client);
    }
    let failed = reply.is_error();
    if retry {
        entry.stat.record_retry(usec, failed);
    } else if let Some(stats) = batch_stats {
        stats.record(&entry.stat, usec, failed);
    } else {
        entry.stat.record(usec, failed);
        server
            .stats
            .commands_processed
            .fetch_add(1, Ordering::Relaxed);
    }
    if failed {
        note_error_reply(server, &reply);
    }
    record_introspection(server, client, entry, subcommand, args, usec, &reply);
    if entry.spec.name == "exec" {
        // Its queued commands noted themselves meanwhile.
        note_command(client, entry.spec.name, subcommand);
    }
    client.info.last_interaction_ms.store(
        finished.duration_since(client.info.created).as_millis() as u64,
        Ordering::Relaxed,
    );
    reply
}

/// Notes the command `client` runs, for CLIENT LIST's `cmd=`, unless it is the one noted
/// last: a pipeline repeats one command, and each note takes the client's info lock.
fn note_command(client: &mut ClientState, name: &'static str, subcommand: Option<&'static str>) {
    if client.noted_command != Some((name, subcommand)) {
        client.info.note_command(name, subcommand);
        client.noted_command = Some((name, subcommand));
    }
}

/// Runs the handler. A panic becomes an error reply that also closes the connection: the
/// command's uncommitted transaction was dropped and its locks released as the panic
/// unwound, so other clients and stored data are untouched, but this client's state may be
/// half-updated, so it does not go on.
fn call_handler(entry: &Entry, ctx: &mut Ctx, args: &[Bytes]) -> super::CmdResult {
    let handler = entry.spec.handler;
    match std::panic::catch_unwind(AssertUnwindSafe(|| handler(ctx, args))) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(
                command = entry.spec.name,
                "command handler panicked, closing the connection: {message}"
            );
            metrics::counter!("redyn_command_panics_total", "cmd" => entry.spec.name).increment(1);
            ctx.client.closing = true;
            Err(CmdError::new(format!(
                "ERR internal error while running '{}' (the connection will be closed)",
                entry.spec.name
            )))
        }
    }
}

/// Feeds the slow log, the latency monitor and the subcommand statistics. EXEC is not
/// logged itself (its commands are), nor is a run that only blocked its client: the run
/// that finally answers is.
fn record_introspection(
    server: &Server,
    client: &ClientState,
    entry: &Entry,
    subcommand: Option<&str>,
    args: &[Bytes],
    usec: u64,
    reply: &Reply,
) {
    let full_name = subcommand.map(|sub| format!("{}|{sub}", entry.spec.name));
    // A container checks its subcommands' arity itself; Redis checks it before the call,
    // so such a call counts as rejected, not as a failed call.
    if let (Some(name), Reply::Error(text)) = (&full_name, reply) {
        if text.starts_with("ERR wrong number of arguments for '") {
            server.introspection.record_rejected(name);
            return;
        }
    }
    let logged_args = if entry.spec.name == "exec" || client.blocked.is_some() {
        &[][..]
    } else {
        args
    };
    server.introspection.record_call(
        full_name.as_deref(),
        logged_args,
        usec,
        reply.is_error(),
        &client.info,
    );
}

/// Releases what a client held when it disconnects (WATCHed keys, subscriptions, tracking)
/// and takes it off the client list.
pub fn cleanup_client(server: &Arc<Server>, client: &mut ClientState) {
    super::transaction::unwatch_all(&server.engine, client);
    super::pubsub::unsubscribe_all(server, client);
    server.tracking.disable(client.id);
    server.clients.unregister(client.id);
}
