//! Connection commands: PING, ECHO, QUIT, HELLO, AUTH, SELECT, RESET (CLIENT is in
//! `client_commands`).

use bytes::Bytes;
use redyn_protocol::args::eq_ignore_case;
use redyn_protocol::{Reply, RespVersion};

use super::errors::{self, CmdError};
use super::{CmdResult, CommandSpec, Ctx, Flag, NO_KEYS};
use crate::acl::log::{Context as AclContext, Reason as AclReason};
use crate::engine::REDIS_DBS;
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "ping",
        -1,
        &[Fast, PubSubContext],
        NO_KEYS,
        "connection",
        "1.0.0",
        "Returns the server's liveliness response.",
        ping,
    ),
    CommandSpec::new(
        "echo",
        2,
        &[Fast],
        NO_KEYS,
        "connection",
        "1.0.0",
        "Returns the given string.",
        echo,
    ),
    CommandSpec::new(
        "quit",
        -1,
        &[NoAuth, Fast, Loading, Stale, PubSubContext],
        NO_KEYS,
        "connection",
        "1.0.0",
        "Closes the connection.",
        quit,
    ),
    CommandSpec::new(
        "hello",
        -1,
        &[NoAuth, NoScript, Fast, Loading, Stale],
        NO_KEYS,
        "connection",
        "6.0.0",
        "Handshakes with the Redis server.",
        hello,
    ),
    CommandSpec::new(
        "auth",
        -2,
        &[NoAuth, NoScript, Fast, Loading, Stale],
        NO_KEYS,
        "connection",
        "1.0.0",
        "Authenticates the connection.",
        auth,
    ),
    CommandSpec::new(
        "select",
        2,
        &[Loading, Stale, Fast],
        NO_KEYS,
        "connection",
        "1.0.0",
        "Changes the selected database.",
        select,
    ),
    CommandSpec::new(
        "reset",
        1,
        &[NoAuth, NoScript, Loading, Stale, Fast, PubSubContext],
        NO_KEYS,
        "connection",
        "6.2.0",
        "Resets the connection.",
        reset,
    ),
];

fn ping(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if super::pubsub::in_subscribe_mode(ctx.client) {
        // In RESP2 subscribe mode PING answers in the push shape.
        return match args.len() {
            1 => Ok(Reply::Array(vec![Reply::text("pong"), Reply::text("")])),
            2 => Ok(Reply::Array(vec![
                Reply::text("pong"),
                Reply::Bulk(args[1].clone()),
            ])),
            _ => Err(errors::wrong_arity("ping")),
        };
    }
    match args.len() {
        1 => Ok(Reply::Simple("PONG".into())),
        2 => Ok(Reply::Bulk(args[1].clone())),
        _ => Err(errors::wrong_arity("ping")),
    }
}

fn echo(_ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Reply::Bulk(args[1].clone()))
}

fn quit(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.client.closing = true;
    Ok(Reply::ok())
}

/// Failed AUTH attempts after which a connection is closed, so a client cannot try
/// passwords without limit on one connection (each new connection costs a handshake and is
/// counted by `maxclients`).
const MAX_FAILED_AUTHS: u32 = 10;

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Authenticates the connection as `user` with `password`; a failure is logged in ACL LOG
/// (reason `auth`) and counted towards [`MAX_FAILED_AUTHS`].
fn check_password(ctx: &mut Ctx, user: &[u8], password: &[u8]) -> Result<(), CmdError> {
    match ctx.server.acl.authenticate(user, password) {
        Some(user) => {
            *ctx.client.info.user.lock() = user.name.clone();
            ctx.client.acl.login(user, &ctx.server.acl);
            ctx.client.authenticated = true;
            Ok(())
        }
        None => {
            let name = String::from_utf8_lossy(user).into_owned();
            super::acl::record(
                ctx.server,
                ctx.client,
                AclReason::Auth,
                AclContext::Toplevel,
                "AUTH".into(),
                &name,
            );
            ctx.client.failed_auths += 1;
            if ctx.client.failed_auths >= MAX_FAILED_AUTHS {
                tracing::warn!(
                    client = ctx.client.id,
                    "closing the connection after {MAX_FAILED_AUTHS} failed AUTH attempts"
                );
                ctx.client.closing = true;
            }
            Err(CmdError::new(WRONGPASS))
        }
    }
}

fn auth(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match args.len() {
        2 => {
            let default = ctx.server.acl.default_user();
            if default.nopass {
                return Err(CmdError::new("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
            }
            check_password(ctx, b"default", &args[1])?;
        }
        3 => check_password(ctx, &args[1], &args[2])?,
        _ => return Err(errors::syntax()),
    }
    Ok(Reply::ok())
}

fn hello(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut version = ctx.client.resp;
    let mut i = 1;
    if args.len() >= 2 {
        version = match redyn_protocol::args::parse_i64_strict(&args[1]) {
            Some(2) => RespVersion::Resp2,
            Some(3) => RespVersion::Resp3,
            Some(_) => return Err(CmdError::new("NOPROTO unsupported protocol version")),
            None => {
                return Err(CmdError::new(
                    "ERR Protocol version is not an integer or out of range",
                ))
            }
        };
        i = 2;
    }
    let mut setname = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if eq_ignore_case(&args[i], "auth") && more >= 2 {
            check_password(ctx, &args[i + 1], &args[i + 2])?;
            i += 3;
        } else if eq_ignore_case(&args[i], "setname") && more >= 1 {
            validate_client_name(&args[i + 1])?;
            setname = Some(args[i + 1].clone());
            i += 2;
        } else {
            return Err(CmdError::new(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            )));
        }
    }
    if !ctx.client.authenticated {
        return Err(CmdError::new("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(name) = setname {
        set_client_name(ctx, &name);
    }
    ctx.client.set_resp(version);
    let field = |k: &str, v: Reply| (Reply::text(k), v);
    Ok(Reply::Map(vec![
        field("server", Reply::text("redis")),
        field("version", Reply::text(crate::REDIS_VERSION)),
        field(
            "proto",
            Reply::Int(if version == RespVersion::Resp3 { 3 } else { 2 }),
        ),
        field("id", Reply::Int(ctx.client.id as i64)),
        field("mode", Reply::text("standalone")),
        field("role", Reply::text("master")),
        field("modules", Reply::Array(vec![])),
    ]))
}

fn select(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = errors::int_arg(&args[1])?;
    if !(0..i64::from(REDIS_DBS)).contains(&db) {
        return Err(CmdError::new(errors::DB_INDEX_OUT_OF_RANGE));
    }
    ctx.client.select(db as u32);
    Ok(Reply::ok())
}

fn reset(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    super::transaction::unwatch_all(ctx.engine(), ctx.client);
    super::pubsub::unsubscribe_all(ctx.server, ctx.client);
    ctx.client.multi = None;
    ctx.client.multi_error = false;
    ctx.client.select(0);
    ctx.client.set_resp(RespVersion::Resp2);
    *ctx.client.info.name.lock() = None;
    // Back to the default user, authenticated only if it needs no password.
    let default = ctx.server.acl.default_user();
    ctx.client.authenticated = default.nopass && default.enabled;
    *ctx.client.info.user.lock() = default.name.clone();
    ctx.client.acl.login(default, &ctx.server.acl);
    Ok(Reply::Simple("RESET".into()))
}

pub(super) fn validate_client_name(name: &[u8]) -> Result<(), CmdError> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::new(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

pub(super) fn set_client_name(ctx: &mut Ctx, name: &[u8]) {
    *ctx.client.info.name.lock() =
        (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned());
}
