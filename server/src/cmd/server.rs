//! Server commands: INFO, COMMAND, CONFIG, DBSIZE, FLUSHDB, FLUSHALL, TIME, LASTSAVE, SAVE,
//! BGSAVE, SHUTDOWN, WAIT, ROLE.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use redyn_protocol::args::eq_ignore_case;
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::{CmdResult, CommandSpec, Ctx, Flag, NO_KEYS};
use crate::engine::keys::decode_meta_key;
use crate::engine::now_ms;
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "info",
        -1,
        &[Loading, Stale],
        NO_KEYS,
        "server",
        "1.0.0",
        "Returns information and statistics about the server.",
        info,
    ),
    CommandSpec::new(
        "command",
        -1,
        &[Loading, Stale],
        NO_KEYS,
        "server",
        "2.8.13",
        "Returns detailed information about all commands.",
        command,
    ),
    CommandSpec::new(
        "config",
        -2,
        &[Admin, NoScript, Loading, Stale],
        NO_KEYS,
        "server",
        "2.0.0",
        "A container for server configuration commands.",
        config,
    ),
    CommandSpec::new(
        "dbsize",
        1,
        &[ReadOnly, Fast],
        NO_KEYS,
        "server",
        "1.0.0",
        "Returns the number of keys in the database.",
        dbsize,
    ),
    CommandSpec::new(
        "flushdb",
        -1,
        &[Write, Offload],
        NO_KEYS,
        "server",
        "1.0.0",
        "Removes all keys from the current database.",
        flushdb,
    ),
    CommandSpec::new(
        "flushall",
        -1,
        &[Write, Offload],
        NO_KEYS,
        "server",
        "1.0.0",
        "Removes all keys from all databases.",
        flushall,
    ),
    CommandSpec::new(
        "time",
        1,
        &[Loading, Stale, Fast],
        NO_KEYS,
        "server",
        "2.6.0",
        "Returns the server time.",
        time,
    ),
    CommandSpec::new(
        "lastsave",
        1,
        &[Loading, Stale, Fast],
        NO_KEYS,
        "server",
        "1.0.0",
        "Returns the Unix timestamp of the last successful save to disk.",
        lastsave,
    ),
    CommandSpec::new(
        "save",
        1,
        &[Admin, NoScript, NoMulti, Offload],
        NO_KEYS,
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk.",
        save,
    ),
    CommandSpec::new(
        "bgsave",
        -1,
        &[Admin, NoScript, Offload],
        NO_KEYS,
        "server",
        "1.0.0",
        "Asynchronously saves the database(s) to disk.",
        bgsave,
    ),
    CommandSpec::new(
        "wait",
        3,
        &[NoScript],
        NO_KEYS,
        "generic",
        "3.0.0",
        "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.",
        wait,
    ),
    CommandSpec::new(
        "role",
        1,
        &[NoScript, Loading, Stale, Fast],
        NO_KEYS,
        "server",
        "2.8.12",
        "Returns the replication role.",
        role,
    ),
    CommandSpec::new(
        "shutdown",
        -1,
        &[Admin, NoScript, Loading, Stale, NoMulti, Offload],
        NO_KEYS,
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        shutdown,
    ),
];

fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.engine().key_count(ctx.db()) as i64))
}

fn time(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Ok(Reply::Array(vec![
        Reply::text(now.as_secs().to_string()),
        Reply::text(now.subsec_micros().to_string()),
    ]))
}

fn lastsave(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(
        ctx.server.last_save.load(Ordering::Relaxed) as i64
    ))
}

/// WAIT numreplicas timeout: the number of replicas that acknowledged the client's writes.
/// redyn has no replicas, so that number is always 0; WAIT answers at once rather than
/// sit out a timeout no replica could cut short.
fn wait(_ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    errors::int_arg(&args[1])?;
    let timeout = redyn_protocol::args::parse_i64_strict(&args[2])
        .ok_or_else(|| CmdError::new("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::new("ERR timeout is negative"));
    }
    Ok(Reply::Int(0))
}

/// ROLE: a master with no replicas, at replication offset 0.
fn role(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(Reply::Array(vec![
        Reply::text("master"),
        Reply::Int(0),
        Reply::Array(vec![]),
    ]))
}

fn persist_now(ctx: &mut Ctx) -> Result<(), CmdError> {
    ctx.engine().persist()?;
    ctx.engine().changes.store(0, Ordering::Relaxed);
    ctx.server
        .last_save
        .store(now_ms() / 1000, Ordering::Relaxed);
    Ok(())
}

fn save(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    persist_now(ctx)?;
    Ok(Reply::ok())
}

fn bgsave(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    // Data is already in the journal; a journal fsync is all a "save" means here.
    persist_now(ctx)?;
    Ok(Reply::Simple("Background saving started".into()))
}

fn shutdown(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    for arg in &args[1..] {
        if !["nosave", "save", "now", "force", "abort"]
            .iter()
            .any(|o| eq_ignore_case(arg, o))
        {
            return Err(errors::syntax());
        }
    }
    if args[1..].iter().any(|a| eq_ignore_case(a, "abort")) {
        return Err(CmdError::new("ERR No shutdown in progress."));
    }
    persist_now(ctx)?;
    tracing::info!("User requested shutdown...");
    ctx.server.request_shutdown();
    // Like Redis, a successful SHUTDOWN does not reply: the connection just closes.
    ctx.client.closing = true;
    ctx.client.no_reply = true;
    Ok(Reply::ok())
}

/// Parses the optional ASYNC|SYNC argument of FLUSHDB/FLUSHALL.
fn flush_mode(args: &[Bytes]) -> Result<(), CmdError> {
    match args.len() {
        1 => Ok(()),
        2 if eq_ignore_case(&args[1], "async") || eq_ignore_case(&args[1], "sync") => Ok(()),
        _ => Err(errors::syntax()),
    }
}

fn flushdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    flush_mode(args)?;
    let engine = ctx.engine();
    let all = ctx.locks.acquire_all(engine);
    let db = ctx.db();
    // Delete in bounded batches so a huge database does not build one giant batch; sub-rows
    // are reclaimed in the background.
    const CHUNK: usize = 10_000;
    let mut keys: Vec<Vec<u8>> = Vec::with_capacity(CHUNK);
    let mut iter = engine.meta_range(&[], None);
    loop {
        keys.clear();
        for guard in iter.by_ref() {
            let raw = guard.key().map_err(crate::engine::EngineError::from)?;
            if let Some(parts) = decode_meta_key(&raw) {
                if parts.space == db {
                    keys.push(parts.key.to_vec());
                }
            }
            if keys.len() == CHUNK {
                break;
            }
        }
        if keys.is_empty() {
            break;
        }
        let mut txn = engine.txn_all(all.held(), db);
        // Client-side caches are told once, by `note_flush`, not key by key.
        txn.untracked();
        for key in &keys {
            txn.delete(key)?;
        }
        txn.commit()?;
    }
    engine.note_flush();
    Ok(Reply::ok())
}

fn flushall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    flush_mode(args)?;
    let all = ctx.locks.acquire_all(ctx.engine());
    ctx.engine().clear_redis_keyspaces(&all)?;
    drop(all);
    persist_now(ctx)?;
    Ok(Reply::ok())
}

fn command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let table = &ctx.server.commands;
    if args.len() == 1 {
        return Ok(Reply::Array(
            table
                .all()
                .map(|e| super::command_keys::info_reply(e.spec))
                .collect(),
        ));
    }
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"count" if args.len() == 2 => Ok(Reply::Int(table.len() as i64)),
        b"info" => {
            if args.len() == 2 {
                return Ok(Reply::Array(
                    table
                        .all()
                        .map(|e| super::command_keys::info_reply(e.spec))
                        .collect(),
                ));
            }
            Ok(Reply::Array(
                args[2..]
                    .iter()
                    .map(|name| {
                        table
                            .get(name)
                            .map_or(Reply::NilArray, |e| super::command_keys::info_reply(e.spec))
                    })
                    .collect(),
            ))
        }
        b"docs" => {
            let specs: Vec<_> = if args.len() == 2 {
                table.all().map(|e| e.spec).collect()
            } else {
                args[2..]
                    .iter()
                    .filter_map(|n| table.get(n).map(|e| e.spec))
                    .collect()
            };
            Ok(Reply::Map(specs.iter().map(|s| s.docs_reply()).collect()))
        }
        b"list" => super::command_keys::command_list(table, &args[2..]),
        // Arity -4, as Redis: the command and at least one argument.
        b"getkeys" | b"getkeysandflags" if args.len() >= 4 => {
            let cmd_args = &args[2..];
            let keys = super::command_keys::getkeys(table, cmd_args)?;
            let with_flags = sub.as_slice() == b"getkeysandflags";
            Ok(Reply::Array(
                keys.into_iter()
                    .map(|(at, flags)| {
                        let key = Reply::Bulk(cmd_args[at].clone());
                        if with_flags {
                            Reply::Array(vec![key, super::key_specs::KeyFlags::reply(flags)])
                        } else {
                            key
                        }
                    })
                    .collect(),
            ))
        }
        b"help" => Ok(Reply::status_lines(&[
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
            "HELP",
            "    Prints this help.",
        ])),
        b"count" | b"getkeys" | b"getkeysandflags" => Err(errors::wrong_arity(&format!(
            "command|{}",
            String::from_utf8_lossy(&sub)
        ))),
        _ => Err(errors::unknown_subcommand("command", &args[1])),
    }
}

/// CONFIG SET port/bind: a listener on the new port and address, or Redis's error when it
/// cannot be bound; `None` when neither changed. Port 0 picks a free port, which CONFIG GET
/// then reports.
fn listen_on_new_port(
    current: &crate::config::Config,
    updated: &mut crate::config::Config,
) -> Result<Option<std::net::TcpListener>, CmdError> {
    if updated.port == current.port && updated.bind == current.bind {
        return Ok(None);
    }
    let failed = || {
        CmdError::new(if updated.port == current.port {
            "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses."
        } else {
            "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port"
        })
    };
    let listener =
        std::net::TcpListener::bind((updated.bind.as_str(), updated.port)).map_err(|e| {
            tracing::warn!(
                "Could not create server TCP listening socket on port {}: {e}",
                updated.port
            );
            failed()
        })?;
    listener.set_nonblocking(true).map_err(|_| failed())?;
    updated.port = listener.local_addr().map_err(|_| failed())?.port();
    Ok(Some(listener))
}

/// CONFIG REWRITE: the file rewritten over its current text (a missing file is created),
/// through a temporary file renamed over it, so a crash never leaves half a file.
fn rewrite_config_file(
    config: &crate::config::Config,
    path: &std::path::Path,
) -> std::io::Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".rewrite-tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, config.rewrite_file_text(&old))?;
    std::fs::rename(&tmp, path)
}

fn config(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"get" if args.len() >= 3 => {
            let config = ctx.server.config.read();
            let mut pairs: Vec<(String, String)> = Vec::new();
            for pattern in &args[2..] {
                for (k, v) in
                    config.get_matching(&String::from_utf8_lossy(pattern).to_ascii_lowercase())
                {
                    if !pairs.iter().any(|(seen, _)| *seen == k) {
                        pairs.push((k, v));
                    }
                }
            }
            Ok(Reply::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| (Reply::text(k), Reply::text(v)))
                    .collect(),
            ))
        }
        b"set" if args.len() >= 4 && args.len().is_multiple_of(2) => {
            let pairs: Vec<(String, String)> = args[2..]
                .chunks(2)
                .map(|pair| {
                    (
                        String::from_utf8_lossy(&pair[0]).into_owned(),
                        String::from_utf8_lossy(&pair[1]).into_owned(),
                    )
                })
                .collect();
            let mut config = ctx.server.config.write();
            let mut updated = config.clone();
            updated
                .set_runtime(&pairs)
                .map_err(|e| CmdError::new(format!("ERR {e}")))?;
            // Applied after every value was validated, as Redis applies: the new port must
            // be bound before anything changes.
            let listener = listen_on_new_port(&config, &mut updated)?;
            *config = updated;
            drop(config);
            if let Some(listener) = listener {
                ctx.server.listener_swap.offer(listener);
            }
            ctx.server.apply_config();
            Ok(Reply::ok())
        }
        b"resetstat" if args.len() == 2 => {
            reset_stats(ctx.server);
            Ok(Reply::ok())
        }
        b"rewrite" if args.len() == 2 => {
            let config = ctx.server.config.read().clone();
            let Some(path) = &config.config_file else {
                return Err(CmdError::new(
                    "ERR The server is running without a config file",
                ));
            };
            rewrite_config_file(&config, path)
                .map_err(|e| CmdError::new(format!("ERR Rewriting config file: {e}")))?;
            Ok(Reply::ok())
        }
        b"help" => Ok(Reply::status_lines(&[
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "SET <directive> <value>",
            "RESETSTAT",
            "REWRITE",
        ])),
        b"get" | b"set" | b"resetstat" | b"rewrite" => Err(errors::wrong_arity(&format!(
            "config|{}",
            String::from_utf8_lossy(&sub)
        ))),
        _ => Err(errors::unknown_subcommand("config", &args[1])),
    }
}

/// CONFIG RESETSTAT: zeroes the counters INFO reports (commandstats and the stats section),
/// as Redis does; gauges such as blocked clients are left alone.
fn reset_stats(server: &super::shared::Server) {
    for entry in server.commands.all() {
        entry.stat.reset();
    }
    server.introspection.reset_stats();
    let stats = &server.stats;
    for counter in [
        &stats.connections_received,
        &stats.rejected_connections,
        &stats.commands_processed,
        &stats.net_input_bytes,
        &stats.net_output_bytes,
        &stats.error_replies,
    ] {
        counter.store(0, Ordering::Relaxed);
    }
}

fn info(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let requested: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    Ok(Reply::Verbatim(super::info::render(ctx.server, &requested)))
}
