//! CLIENT: the connection's own settings (SETNAME, REPLY, NO-EVICT…), looking at other
//! clients (LIST, INFO) and acting on them (KILL, UNBLOCK, PAUSE).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use redyn_protocol::args::{eq_ignore_case, parse_i64_strict};
use redyn_protocol::Reply;

use super::client::{ClientInfo, ClientType, PauseMode, ReplyMode, UnblockMode};
use super::connection::{set_client_name, validate_client_name};
use super::errors::{self, CmdError};
use super::shared::Server;
use super::tracking;
use super::{CmdResult, CommandSpec, Ctx, Flag, NO_KEYS};
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "client",
    -2,
    &[Admin, NoScript, Loading, Stale],
    NO_KEYS,
    "connection",
    "2.4.0",
    "A container for client connection commands.",
    client,
)];

/// Arity of each subcommand, Redis-style (`-n` = at least n), counting `CLIENT` itself.
const ARITY: &[(&str, i32)] = &[
    ("caching", 3),
    ("getname", 2),
    ("getredir", 2),
    ("help", 2),
    ("id", 2),
    ("info", 2),
    ("kill", -3),
    ("list", -2),
    ("no-evict", 3),
    ("no-touch", 3),
    ("pause", -3),
    ("reply", 3),
    ("setinfo", 4),
    ("setname", 3),
    ("tracking", -3),
    ("trackinginfo", 2),
    ("unblock", -3),
    ("unpause", 2),
];

fn client(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let Some(&(_, arity)) = ARITY.iter().find(|(name, _)| *name == sub) else {
        return Err(errors::unknown_subcommand("client", &args[1]));
    };
    let argc = args.len() as i32;
    if (arity >= 0 && argc != arity) || argc < arity.abs() {
        return Err(errors::wrong_arity(&format!("client|{sub}")));
    }
    match sub.as_str() {
        "setname" => {
            validate_client_name(&args[2])?;
            set_client_name(ctx, &args[2]);
            Ok(Reply::ok())
        }
        "getname" => Ok(Reply::opt_bulk(ctx.client.info.name.lock().clone())),
        "id" => Ok(Reply::Int(ctx.client.id as i64)),
        "info" => Ok(Reply::Verbatim(format!(
            "{}\n",
            ctx.client.info.describe(&ctx.server.tracking)
        ))),
        "list" => client_list(ctx, &args[2..]),
        "setinfo" => set_info(ctx, &args[2], &args[3]),
        "kill" => client_kill(ctx, &args[2..]),
        "no-evict" => {
            let on = on_off(&args[2])?;
            ctx.client.info.no_evict.store(on, Ordering::Relaxed);
            Ok(Reply::ok())
        }
        "no-touch" => on_off(&args[2]).map(|_| Reply::ok()),
        "reply" => client_reply(ctx, &args[2]),
        "unblock" => client_unblock(ctx, &args[2..]),
        "pause" => client_pause(ctx, &args[2..]),
        "unpause" => {
            ctx.server.clients.pause.stop();
            Ok(Reply::ok())
        }
        "getredir" => tracking::client_getredir(ctx),
        "tracking" => tracking::client_tracking(ctx, args),
        "trackinginfo" => tracking::client_trackinginfo(ctx),
        "caching" => tracking::client_caching(ctx, &args[2]),
        _ => Ok(help()),
    }
}

fn help() -> Reply {
    Reply::status_lines(&[
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "HELP",
        "    Print this help.",
    ])
}

fn on_off(arg: &[u8]) -> Result<bool, CmdError> {
    if eq_ignore_case(arg, "on") {
        Ok(true)
    } else if eq_ignore_case(arg, "off") {
        Ok(false)
    } else {
        Err(errors::syntax())
    }
}

fn set_info(ctx: &mut Ctx, attr: &[u8], value: &[u8]) -> CmdResult {
    let value = String::from_utf8_lossy(value).into_owned();
    if value.contains(' ') || value.contains('\n') {
        return Err(CmdError::new(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr).to_ascii_lowercase()
        )));
    }
    if eq_ignore_case(attr, "lib-name") {
        *ctx.client.info.lib_name.lock() = Some(value);
    } else if eq_ignore_case(attr, "lib-ver") {
        *ctx.client.info.lib_ver.lock() = Some(value);
    } else {
        return Err(CmdError::new(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        )));
    }
    Ok(Reply::ok())
}

/// CLIENT REPLY ON|OFF|SKIP. OFF and SKIP are not answered (the connection drops their
/// reply, see `ReplyMode`).
fn client_reply(ctx: &mut Ctx, mode: &[u8]) -> CmdResult {
    ctx.client.reply_mode = if eq_ignore_case(mode, "on") {
        ReplyMode::On
    } else if eq_ignore_case(mode, "off") {
        ReplyMode::Off
    } else if eq_ignore_case(mode, "skip") {
        ReplyMode::SkipNext
    } else {
        return Err(errors::syntax());
    };
    Ok(Reply::ok())
}

fn unknown_type(arg: &[u8]) -> CmdError {
    CmdError::new(format!(
        "ERR Unknown client type '{}'",
        String::from_utf8_lossy(arg)
    ))
}

/// CLIENT LIST [TYPE type | ID id...].
fn client_list(ctx: &mut Ctx, opts: &[Bytes]) -> CmdResult {
    let mut kind = None;
    let mut ids: Option<Vec<u64>> = None;
    if opts.len() == 2 && eq_ignore_case(&opts[0], "type") {
        kind = Some(ClientType::parse(&opts[1]).ok_or_else(|| unknown_type(&opts[1]))?);
    } else if opts.len() >= 2 && eq_ignore_case(&opts[0], "id") {
        let mut list = Vec::new();
        for arg in &opts[1..] {
            // Any integer is accepted; ids below 1 simply match no client.
            let id = parse_i64_strict(arg).ok_or_else(|| CmdError::new("ERR Invalid client ID"))?;
            if let Ok(id) = u64::try_from(id) {
                list.push(id);
            }
        }
        ids = Some(list);
    } else if !opts.is_empty() {
        return Err(errors::syntax());
    }
    let mut out = String::new();
    for c in ctx.server.clients.all() {
        let listed = ids.as_ref().is_none_or(|ids| ids.contains(&c.id))
            && kind.is_none_or(|kind| c.client_type() == kind);
        if listed {
            out.push_str(&c.describe(&ctx.server.tracking));
            out.push('\n');
        }
    }
    Ok(Reply::Verbatim(out))
}

/// What CLIENT KILL's filters select; every given filter must match.
struct KillFilter {
    id: Option<u64>,
    kind: Option<ClientType>,
    addr: Option<String>,
    laddr: Option<String>,
    user: Option<String>,
    skip_me: bool,
}

impl KillFilter {
    fn parse(server: &Server, opts: &[Bytes]) -> Result<KillFilter, CmdError> {
        let mut filter = KillFilter {
            id: None,
            kind: None,
            addr: None,
            laddr: None,
            user: None,
            skip_me: true,
        };
        for pair in opts.chunks(2) {
            let [option, value] = pair else {
                return Err(errors::syntax());
            };
            let text = || String::from_utf8_lossy(value).into_owned();
            match option.to_ascii_lowercase().as_slice() {
                b"id" => {
                    let id = parse_i64_strict(value)
                        .filter(|id| *id > 0)
                        .ok_or_else(|| CmdError::new("ERR client-id should be greater than 0"))?;
                    filter.id = Some(id as u64);
                }
                b"type" => {
                    filter.kind = Some(ClientType::parse(value).ok_or_else(|| unknown_type(value))?)
                }
                b"addr" => filter.addr = Some(text()),
                b"laddr" => filter.laddr = Some(text()),
                b"user" => {
                    if server.acl.user(&text()).is_none() {
                        return Err(CmdError::new(format!("ERR No such user '{}'", text())));
                    }
                    filter.user = Some(text());
                }
                b"skipme" if eq_ignore_case(value, "yes") => filter.skip_me = true,
                b"skipme" if eq_ignore_case(value, "no") => filter.skip_me = false,
                _ => return Err(errors::syntax()),
            }
        }
        Ok(filter)
    }

    fn matches(&self, client: &ClientInfo, me: u64) -> bool {
        self.id.is_none_or(|id| client.id == id)
            && self.kind.is_none_or(|kind| client.client_type() == kind)
            && self
                .addr
                .as_ref()
                .is_none_or(|addr| client.addr.to_string() == *addr)
            && self
                .laddr
                .as_ref()
                .is_none_or(|laddr| client.laddr.to_string() == *laddr)
            && self
                .user
                .as_ref()
                .is_none_or(|user| *client.user.lock() == *user)
            && !(self.skip_me && client.id == me)
    }
}

/// CLIENT KILL ip:port (answers OK or an error) or CLIENT KILL <filter> <value>...
/// (answers how many were killed).
fn client_kill(ctx: &mut Ctx, opts: &[Bytes]) -> CmdResult {
    if opts.len() == 1 {
        let addr = String::from_utf8_lossy(&opts[0]).into_owned();
        let target = ctx
            .server
            .clients
            .all()
            .into_iter()
            .find(|c| c.addr.to_string() == addr);
        return match target {
            Some(c) => {
                kill_client(ctx, &c);
                Ok(Reply::ok())
            }
            None => Err(CmdError::new("ERR No such client")),
        };
    }
    let filter = KillFilter::parse(ctx.server, opts)?;
    let me = ctx.client.id;
    let mut killed = 0;
    for c in ctx.server.clients.all() {
        if filter.matches(&c, me) {
            kill_client(ctx, &c);
            killed += 1;
        }
    }
    Ok(Reply::Int(killed))
}

fn kill_client(ctx: &mut Ctx, target: &Arc<ClientInfo>) {
    if target.id == ctx.client.id {
        // Killing yourself: the reply is still sent, then the connection closes.
        ctx.client.closing = true;
    } else {
        target.kill();
        // Gone from CLIENT LIST and INFO at once, not when its connection task notices.
        ctx.server.clients.unregister(target.id);
    }
}

/// Redis's answer to extra arguments after a complete PAUSE or UNBLOCK.
fn too_many_arguments(sub: &str) -> CmdError {
    CmdError::new(format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try CLIENT HELP."
    ))
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if that client was blocked and is now released.
fn client_unblock(ctx: &mut Ctx, opts: &[Bytes]) -> CmdResult {
    let id = errors::int_arg(&opts[0])?;
    let mode = match opts.get(1) {
        None => UnblockMode::Timeout,
        Some(arg) if eq_ignore_case(arg, "timeout") => UnblockMode::Timeout,
        Some(arg) if eq_ignore_case(arg, "error") => UnblockMode::Error,
        Some(_) => {
            return Err(CmdError::new(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    if opts.len() > 2 {
        return Err(too_many_arguments("unblock"));
    }
    let released = u64::try_from(id)
        .ok()
        .and_then(|id| ctx.server.clients.get(id))
        .is_some_and(|target| target.request_unblock(mode));
    Ok(Reply::Int(i64::from(released)))
}

/// CLIENT PAUSE timeout-ms [WRITE|ALL].
fn client_pause(ctx: &mut Ctx, opts: &[Bytes]) -> CmdResult {
    let ms = parse_i64_strict(&opts[0])
        .ok_or_else(|| CmdError::new("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::new("ERR timeout is negative"));
    }
    let mode = match opts.get(1) {
        None => PauseMode::All,
        Some(arg) if eq_ignore_case(arg, "all") => PauseMode::All,
        Some(arg) if eq_ignore_case(arg, "write") => PauseMode::Write,
        Some(_) => return Err(CmdError::new("ERR CLIENT PAUSE mode must be WRITE or ALL")),
    };
    if opts.len() > 2 {
        return Err(too_many_arguments("pause"));
    }
    let until = Instant::now() + Duration::from_millis(ms as u64);
    ctx.server.clients.pause.start(until, mode);
    Ok(Reply::ok())
}
