//! DEBUG, behind `enable-debug-command` (default `no`, as in Redis 7): the subcommands
//! operators and test suites use to stall the server on purpose.
//!
//! - `DEBUG SLEEP <seconds>` holds every shard lock for that long, so every other
//!   client's commands wait, as Redis's single thread does.
//! - `DEBUG PANIC` panics inside the handler. Redis crashes on it; redyn catches panics at
//!   the dispatch boundary (`dispatch::run`), so this answers an error, closes this one
//!   connection and leaves every other client and all data untouched: it is how that
//!   guarantee is tested from outside.

use bytes::Bytes;
use redyn_protocol::args::{eq_ignore_case, parse_f64};
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::{CmdResult, CommandSpec, Ctx, Flag, NO_KEYS};
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "debug",
    -2,
    &[Admin, NoScript, Loading, Stale, Offload],
    NO_KEYS,
    "server",
    "1.0.0",
    "A container for debugging commands.",
    debug,
)];

const NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

const HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "PANIC",
    "    Panic inside the command handler (redyn answers an error and closes the connection).",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Print this help.",
];

fn debug(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if !allowed(ctx) {
        return Err(CmdError::new(NOT_ALLOWED));
    }
    let sub = &args[1];
    if eq_ignore_case(sub, "help") && args.len() == 2 {
        return Ok(Reply::status_lines(HELP));
    }
    if eq_ignore_case(sub, "sleep") && args.len() == 3 {
        let seconds = parse_f64(&args[2])
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| CmdError::new("ERR value is not a valid float"))?;
        let _all = ctx.locks.acquire_all(ctx.engine());
        std::thread::sleep(std::time::Duration::from_secs_f64(seconds));
        return Ok(Reply::ok());
    }
    if eq_ignore_case(sub, "panic") && args.len() == 2 {
        panic!("DEBUG PANIC");
    }
    Err(errors::unknown_subcommand("debug", sub))
}

/// `enable-debug-command`: `yes`, or `local` for connections from a loopback address.
fn allowed(ctx: &Ctx) -> bool {
    let setting = ctx
        .server
        .config
        .read()
        .get("enable-debug-command")
        .unwrap_or_default();
    match setting.as_str() {
        "yes" => true,
        "local" => ctx.client.info.addr.ip().is_loopback(),
        _ => false,
    }
}
