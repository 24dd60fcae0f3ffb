//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT, plus what scripts and functions share:
//! running one under every shard lock with `redis.call` bound to the command table, and the
//! BUSY answer other clients get while a script runs past `busy-reply-threshold`.
//!
//! A script runs alone: it holds every shard lock like EXEC, and each `redis.call` runs
//! through [`dispatch::run`] under those locks, so script writes take the same write path,
//! keyspace notifications and change logs as direct commands. Other clients' commands wait
//! for the locks; once the script has run longer than the threshold, new commands are
//! answered BUSY before they reach the locks (SCRIPT KILL, FUNCTION KILL/STATS, SHUTDOWN,
//! AUTH, HELLO, QUIT and RESET still run).

use bytes::Bytes;
use redyn_protocol::args::eq_ignore_case;
use redyn_protocol::{Reply, RespVersion};

use super::client::ClientState;
use super::errors::{self, CmdError};
use super::shared::Server;
use super::table::Entry;
use super::{dispatch, CmdResult, CommandSpec, Ctx, Flag, NO_KEYS};
use crate::acl::log::Context as AclContext;
use crate::engine::Locks;
use crate::script::library::eval_shebang;
use crate::script::run_state::{KillError, Running};
use crate::script::vm::RunSpec;
use crate::script::{Caller, Vm};
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "eval",
        -3,
        &[NoScript, Stale, Offload],
        NO_KEYS,
        "scripting",
        "2.6.0",
        "Executes a server-side Lua script.",
        eval,
    ),
    CommandSpec::new(
        "evalsha",
        -3,
        &[NoScript, Stale, Offload],
        NO_KEYS,
        "scripting",
        "2.6.0",
        "Executes a server-side Lua script by SHA1 digest.",
        eval,
    ),
    CommandSpec::new(
        "eval_ro",
        -3,
        &[NoScript, Stale, ReadOnly, Offload],
        NO_KEYS,
        "scripting",
        "7.0.0",
        "Executes a read-only server-side Lua script.",
        eval,
    ),
    CommandSpec::new(
        "evalsha_ro",
        -3,
        &[NoScript, Stale, ReadOnly, Offload],
        NO_KEYS,
        "scripting",
        "7.0.0",
        "Executes a read-only server-side Lua script by SHA1 digest.",
        eval,
    ),
    CommandSpec::new(
        "script",
        -2,
        &[NoScript],
        NO_KEYS,
        "scripting",
        "2.6.0",
        "A container for Lua scripts management commands.",
        script,
    ),
];

const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// Parses `numkeys` against the arguments after it; returns (keys, argv).
pub(super) fn split_keys<'a>(
    numkeys: &[u8],
    rest: &'a [Bytes],
) -> Result<(&'a [Bytes], &'a [Bytes]), CmdError> {
    let n = errors::int_arg(numkeys)?;
    split_keys_at(n, rest)
}

/// Splits `rest` after `n` keys, with Redis's errors for a negative or too large `n`.
pub(super) fn split_keys_at(n: i64, rest: &[Bytes]) -> Result<(&[Bytes], &[Bytes]), CmdError> {
    if n < 0 {
        return Err(CmdError::new("ERR Number of keys can't be negative"));
    }
    if n as usize > rest.len() {
        return Err(CmdError::new(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    Ok(rest.split_at(n as usize))
}

fn eval(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let by_sha = name.starts_with("evalsha");
    let read_only = name.ends_with("_ro");
    let (keys, argv) = split_keys(&args[2], &args[3..])?;
    let server = ctx.server.clone();
    let mut vm = server.scripting.vm(&data_dir(&server));
    let (function, body, sha) = if by_sha {
        let sha = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        let (function, body) = vm.script(&sha).ok_or_else(|| CmdError::new(NOSCRIPT))?;
        (function, body, sha)
    } else {
        let sha = vm.load_script(&args[1]).map_err(CmdError)?;
        let (function, body) = vm.script(&sha).expect("just loaded");
        (function, body, sha)
    };
    let flags = eval_shebang(&body).map_err(CmdError)?;
    let no_writes = read_only || flags.is_some_and(|f| f.no_writes);
    let spec = RunSpec {
        function: &function,
        name: &sha,
        keys,
        argv,
        as_function: false,
    };
    Ok(run_script(ctx, &mut vm, spec, no_writes, args))
}

/// The data directory, where saved function libraries live.
pub(super) fn data_dir(server: &Server) -> std::path::PathBuf {
    server.config.read().dir.clone()
}

/// Runs a script or function alone (every shard lock held) and returns its reply.
pub(super) fn run_script(
    ctx: &mut Ctx,
    vm: &mut Vm,
    spec: RunSpec,
    no_writes: bool,
    command: &[Bytes],
) -> Reply {
    let server = ctx.server;
    let locks = ctx.locks.acquire_all(ctx.engine());
    let state = &server.scripting.state;
    state.set_threshold_ms(busy_threshold_ms(server));
    let running = Running {
        name: spec.name.to_string(),
        started: std::time::Instant::now(),
        command: command.to_vec(),
    };
    state.start(running, spec.as_function);
    let mut script_client = ClientState::new(ctx.client.info.clone(), true);
    script_client.db = ctx.client.db;
    // `redis.call` runs as the calling user.
    script_client.acl = ctx.client.acl.clone();
    let mut caller = ScriptCaller {
        server,
        client: script_client,
        locks: locks.held(),
        no_writes,
    };
    let reply = vm.run(spec, &mut caller);
    state.finish();
    // SELECT inside the script changed only the script's client.
    ctx.client.select(ctx.client.db);
    drop(locks);
    reply
}

fn busy_threshold_ms(server: &Server) -> u64 {
    server
        .config
        .read()
        .compat
        .get("busy-reply-threshold")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000)
}

/// `redis.call` for one run: Redis's script checks, then the command under the run's locks.
struct ScriptCaller<'a> {
    server: &'a std::sync::Arc<Server>,
    client: ClientState,
    locks: Locks<'a>,
    no_writes: bool,
}

impl<'a> ScriptCaller<'a> {
    fn check(&mut self, args: &[Bytes]) -> Result<&'a Entry, &'static str> {
        let entry = self
            .server
            .commands
            .get(&args[0])
            .ok_or("ERR Unknown Redis command called from script")?;
        if !entry.spec.arity_ok(args.len()) {
            return Err("ERR Wrong number of args calling Redis command from script");
        }
        if entry.spec.has(NoScript) {
            return Err("ERR This Redis command is not allowed from script");
        }
        if entry.spec.has(Write) && self.no_writes {
            return Err("ERR Write commands are not allowed from read-only scripts.");
        }
        if let Some(message) = blocking_stream_read(entry, args) {
            return Err(message);
        }
        super::acl::check(self.server, &mut self.client, entry, args, AclContext::Lua)
            .map_err(|denied| super::acl::script_denial(&denied))?;
        Ok(entry)
    }
}

/// A script cannot block, and Redis refuses XREAD/XREADGROUP with BLOCK outright rather
/// than answering them as non-blocking reads (as it does for blocking list pops).
fn blocking_stream_read(entry: &Entry, args: &[Bytes]) -> Option<&'static str> {
    let message = match entry.spec.name {
        "xread" => "ERR xread command is not allowed with BLOCK option from scripts",
        "xreadgroup" => "ERR xreadgroup command is not allowed with BLOCK option from scripts",
        _ => return None,
    };
    let mut i = 1;
    while i < args.len() && !eq_ignore_case(&args[i], "streams") {
        if eq_ignore_case(&args[i], "block") {
            return Some(message);
        }
        // GROUP's group and consumer names are not options.
        i += if eq_ignore_case(&args[i], "group") {
            3
        } else {
            1
        };
    }
    None
}

impl Caller for ScriptCaller<'_> {
    fn call(&mut self, args: Vec<Bytes>, resp3: bool) -> Reply {
        let entry = match self.check(&args) {
            Ok(entry) => entry,
            Err(message) => return Reply::Error(message.into()),
        };
        if entry.spec.has(Write) {
            self.server.scripting.state.note_write();
        }
        self.client.resp = if resp3 {
            RespVersion::Resp3
        } else {
            RespVersion::Resp2
        };
        dispatch::run(self.server, &mut self.client, entry, &args, self.locks)
    }

    /// `redis.acl_check_cmd`: whether the calling user may run `args` (not logged in ACL
    /// LOG, as in Redis: nothing was refused).
    fn acl_check(&self, args: &[Bytes]) -> Result<bool, String> {
        let Some(entry) = self.server.commands.get(&args[0]) else {
            return Err("ERR Invalid command passed to redis.acl_check_cmd()".into());
        };
        if !entry.spec.arity_ok(args.len()) {
            return Err("ERR Invalid number of arguments passed to redis.acl_check_cmd()".into());
        }
        let mut session = self.client.acl.clone();
        let Some(user) = session.user(&self.server.acl) else {
            return Ok(false);
        };
        let request = super::acl::request_for(self.server, entry, args);
        Ok(user.check(&request).is_ok())
    }
}

/// The BUSY error for a command arriving while a script runs past the threshold, unless
/// the command is one Redis still serves then.
pub fn busy_error(server: &Server, entry: &Entry, args: &[Bytes]) -> Option<CmdError> {
    let function = server.scripting.state.busy()?;
    if allowed_while_busy(entry, args) {
        return None;
    }
    let kill = if function {
        "FUNCTION KILL"
    } else {
        "SCRIPT KILL"
    };
    Some(CmdError::new(format!(
        "BUSY Redis is busy running a script. You can only call {kill} or SHUTDOWN NOSAVE."
    )))
}

/// What still runs while a script is busy (Redis's ALLOW_BUSY commands).
fn allowed_while_busy(entry: &Entry, args: &[Bytes]) -> bool {
    let sub = |names: &[&str]| {
        args.get(1)
            .is_some_and(|s| names.iter().any(|n| eq_ignore_case(s, n)))
    };
    match entry.spec.name {
        "auth" | "hello" | "quit" | "reset" | "shutdown" => true,
        // Transaction control stays available: a MULTI refused while the rest of a
        // pipelined transaction runs later would execute half of it.
        "multi" | "discard" | "watch" | "unwatch" => true,
        "script" => sub(&["kill"]),
        "function" => sub(&["kill", "stats"]),
        _ => false,
    }
}

/// Whether `args` should wait (off the runtime's threads) before it runs: a script is
/// running but has not yet passed `busy-reply-threshold`, and the command would be answered
/// BUSY once it has. Such a command would otherwise wait for the script's locks on a
/// runtime worker thread, and with every worker waiting there is none left to serve
/// SCRIPT KILL, so a script waiting to be killed would wedge the server.
pub fn must_wait_for_script(server: &Server, args: &[Bytes]) -> bool {
    let state = &server.scripting.state;
    state.is_running()
        && state.busy().is_none()
        && server
            .commands
            .get(&args[0])
            .is_some_and(|entry| !allowed_while_busy(entry, args))
}

/// Whether a command running under held locks was called by the running script's
/// `redis.call` (EXEC cannot hold the locks while a script runs, nor run inside one). MONITOR
/// and client-side caching tell the two apart.
pub(super) fn called_from_script(server: &Server, locks_held: bool) -> bool {
    locks_held && server.scripting.state.is_running()
}

/// SCRIPT KILL and FUNCTION KILL.
pub(super) fn kill(server: &Server, function: bool) -> CmdResult {
    match server.scripting.state.request_kill(function) {
        Ok(()) => Ok(Reply::ok()),
        Err(KillError::NotRunning) => Err(CmdError::new(
            "NOTBUSY No scripts in execution right now.",
        )),
        Err(KillError::WrongKind) => {
            let kill = if function { "SCRIPT KILL" } else { "FUNCTION KILL" };
            Err(CmdError::new(format!(
                "BUSY Redis is busy running a script. You can only call {kill} or SHUTDOWN NOSAVE."
            )))
        }
        Err(KillError::Unkillable) => Err(CmdError::new(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
        )),
    }
}

const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

fn script(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let server = ctx.server.clone();
    match (sub.as_str(), args.len()) {
        ("help", 2) => Ok(Reply::status_lines(SCRIPT_HELP)),
        ("kill", 2) => kill(&server, false),
        ("load", 3) => {
            let mut vm = server.scripting.vm(&data_dir(&server));
            let sha = vm.load_script(&args[2]).map_err(CmdError)?;
            Ok(Reply::text(sha))
        }
        ("exists", n) if n >= 3 => {
            let vm = server.scripting.vm(&data_dir(&server));
            Ok(Reply::Array(
                args[2..]
                    .iter()
                    .map(|sha| {
                        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
                        Reply::Int(i64::from(vm.script(&sha).is_some()))
                    })
                    .collect(),
            ))
        }
        ("flush", 2) => flush(&server),
        ("flush", 3) if eq_ignore_case(&args[2], "sync") || eq_ignore_case(&args[2], "async") => {
            flush(&server)
        }
        ("flush", _) => Err(CmdError::new(
            "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
        )),
        _ => Err(CmdError::new(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try SCRIPT HELP.",
            String::from_utf8_lossy(&args[1])
        ))),
    }
}

fn flush(server: &Server) -> CmdResult {
    server.scripting.vm(&data_dir(server)).flush_scripts();
    Ok(Reply::ok())
}
