//! ACL commands (SETUSER, GETUSER, DELUSER, USERS, LIST, WHOAMI, CAT, LOG, GENPASS, DRYRUN,
//! SAVE, LOAD, HELP) and the permission check the dispatcher and `redis.call` run before a
//! command: which command, which keys (by the command's key positions; a DDB.* command's
//! table names), which channels.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::key_specs::KeyFlags;
use super::shared::Server;
use super::table::Entry;
use super::{CmdResult, CommandSpec, CommandTable, Ctx, Flag, NO_KEYS};
use crate::acl::log::{self, Context, Reason};
use crate::acl::{category, file, CommandDecl, CommandIndex, Denied, KeyAccess, Request, User};
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "acl",
    -2,
    &[NoScript, Loading, Stale],
    NO_KEYS,
    "server",
    "6.0.0",
    "A container for Access List Control commands.",
    acl,
)];

/// The ACL's view of the command table: every command and its categories.
pub fn command_index(table: &CommandTable) -> CommandIndex {
    CommandIndex::new(table.all().map(|entry| CommandDecl {
        name: entry.spec.name,
        categories: entry.spec.acl_category_set(),
    }))
}

/// Arity of each subcommand, as Redis checks it before the call.
const SUBCOMMAND_ARITY: &[(&str, i32)] = &[
    ("cat", -2),
    ("deluser", -3),
    ("dryrun", -4),
    ("genpass", -2),
    ("getuser", 3),
    ("help", 2),
    ("list", 2),
    ("load", 2),
    ("log", -2),
    ("save", 2),
    ("setuser", -3),
    ("users", 2),
    ("whoami", 2),
];

fn acl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let Some(&(_, arity)) = SUBCOMMAND_ARITY.iter().find(|(name, _)| *name == sub) else {
        return Err(CmdError::new(format!(
            "ERR unknown subcommand '{}'. Try ACL HELP.",
            String::from_utf8_lossy(&args[1])
        )));
    };
    let argc = args.len() as i32;
    if (arity > 0 && argc != arity) || argc < -arity {
        return Err(CmdError::new(format!(
            "ERR wrong number of arguments for 'acl|{sub}' command"
        )));
    }
    match sub.as_str() {
        "setuser" => setuser(ctx, &args[2], &args[3..]),
        "getuser" => Ok(getuser(ctx.server, &args[2])),
        "deluser" => deluser(ctx, &args[2..]),
        "users" => Ok(Reply::Array(
            ctx.server
                .acl
                .users()
                .iter()
                .map(|u| Reply::text(u.name.clone()))
                .collect(),
        )),
        "list" => Ok(Reply::Array(
            ctx.server
                .acl
                .users()
                .iter()
                .map(|u| Reply::text(format!("user {} {}", u.name, u.describe())))
                .collect(),
        )),
        "whoami" => Ok(Reply::text(ctx.client.acl.name().to_string())),
        "cat" => cat(ctx.server, args.get(2)),
        "log" => acl_log(ctx.server, args.get(2)),
        "genpass" => genpass(args.get(2)),
        "dryrun" => dryrun(ctx.server, &args[2], &args[3..]),
        "save" => save(ctx.server),
        "load" => load(ctx),
        _ => Ok(help()),
    }
}

fn setuser(ctx: &mut Ctx, name: &[u8], rules: &[Bytes]) -> CmdResult {
    if name.iter().any(|c| *c == b' ' || *c == 0) {
        return Err(CmdError::new(
            "ERR Usernames can't contain spaces or null characters",
        ));
    }
    let name = String::from_utf8_lossy(name).into_owned();
    let rules: Vec<&[u8]> = rules.iter().map(|r| r.as_ref()).collect();
    let (before, after) = ctx.server.acl.set_user(&name, &rules).map_err(|e| {
        CmdError::new(format!(
            "ERR Error in ACL SETUSER modifier '{}': {}",
            e.rule, e.error
        ))
    })?;
    if let Some(before) = before {
        kill_pubsub_clients_if_needed(ctx, &before, &after);
    }
    Ok(Reply::ok())
}

/// Redis disconnects a user's subscribed clients when channel permissions shrink, since
/// their subscriptions may no longer be allowed.
fn kill_pubsub_clients_if_needed(ctx: &mut Ctx, before: &User, after: &User) {
    let revoked = before.root.all_channels() && !after.root.all_channels()
        || before.root.describe_channels() != after.root.describe_channels()
            && !after.root.all_channels();
    if !revoked {
        return;
    }
    for client in ctx.server.clients.all() {
        if client.is_pubsub() && *client.user.lock() == after.name {
            kill_client(ctx, &client);
        }
    }
}

fn kill_client(ctx: &mut Ctx, client: &Arc<super::client::ClientInfo>) {
    if client.id == ctx.client.id {
        ctx.client.closing = true;
    } else {
        client.kill();
        ctx.server.clients.unregister(client.id);
    }
}

fn getuser(server: &Server, name: &[u8]) -> Reply {
    let Some(user) = server.acl.user(&String::from_utf8_lossy(name)) else {
        return Reply::Nil;
    };
    let field = |k: &str, v: Reply| (Reply::text(k), v);
    let selectors = user
        .selectors
        .iter()
        .map(|s| {
            Reply::Map(vec![
                field("commands", Reply::text(s.describe_commands())),
                field("keys", Reply::text(s.describe_keys())),
                field("channels", Reply::text(s.describe_channels())),
            ])
        })
        .collect();
    Reply::Map(vec![
        field(
            "flags",
            Reply::Array(user.flags().into_iter().map(Reply::text).collect()),
        ),
        field(
            "passwords",
            Reply::Array(user.passwords.iter().cloned().map(Reply::text).collect()),
        ),
        field("commands", Reply::text(user.root.describe_commands())),
        field("keys", Reply::text(user.root.describe_keys())),
        field("channels", Reply::text(user.root.describe_channels())),
        field("selectors", Reply::Array(selectors)),
    ])
}

fn deluser(ctx: &mut Ctx, names: &[Bytes]) -> CmdResult {
    let names: Vec<String> = names
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    if names.iter().any(|n| n == "default") {
        return Err(CmdError::new("ERR The 'default' user cannot be removed"));
    }
    let deleted = ctx.server.acl.delete_users(&names);
    kill_clients_of(ctx, &deleted);
    Ok(Reply::Int(deleted.len() as i64))
}

/// Disconnects the clients authenticated as one of `users` (deleted users).
fn kill_clients_of(ctx: &mut Ctx, users: &[String]) {
    for client in ctx.server.clients.all() {
        let user = client.user.lock().clone();
        if users.contains(&user) {
            kill_client(ctx, &client);
        }
    }
}

fn cat(server: &Server, category_arg: Option<&Bytes>) -> CmdResult {
    let Some(arg) = category_arg else {
        return Ok(Reply::Array(
            category::CATEGORIES
                .iter()
                .map(|c| Reply::text(*c))
                .collect(),
        ));
    };
    let name = String::from_utf8_lossy(arg).into_owned();
    let flag = category::by_name(&name)
        .ok_or_else(|| CmdError::new(format!("ERR Unknown category '{name}'")))?;
    Ok(Reply::Array(
        server
            .acl
            .index
            .all()
            .filter(|(_, info)| info.categories & flag != 0)
            .map(|(_, info)| Reply::text(info.fullname.clone()))
            .collect(),
    ))
}

fn acl_log(server: &Server, arg: Option<&Bytes>) -> CmdResult {
    let count = match arg {
        Some(a) if a.eq_ignore_ascii_case(b"reset") => {
            server.acl.log.reset();
            return Ok(Reply::ok());
        }
        Some(a) => Some(usize::try_from(errors::int_arg(a)?).unwrap_or(0)),
        None => None,
    };
    let now = Instant::now();
    let entries = server.acl.log.recent(count);
    let field = |k: &str, v: Reply| (Reply::text(k), v);
    Ok(Reply::Array(
        entries
            .into_iter()
            .map(|e| {
                Reply::Map(vec![
                    field("count", Reply::Int(e.count as i64)),
                    field("reason", Reply::text(e.reason.name())),
                    field("context", Reply::text(e.context.name())),
                    field("object", Reply::text(e.object)),
                    field("username", Reply::text(e.username)),
                    field(
                        "age-seconds",
                        Reply::Double(now.duration_since(e.created).as_secs_f64()),
                    ),
                    field("client-info", Reply::text(e.client_info)),
                ])
            })
            .collect(),
    ))
}

/// GENPASS [bits]: a random password of `bits` bits (default 256), in hex.
fn genpass(bits_arg: Option<&Bytes>) -> CmdResult {
    let bits = match bits_arg {
        Some(arg) => errors::int_arg(arg)?,
        None => 256,
    };
    if !(1..=4096).contains(&bits) {
        return Err(CmdError::new("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"));
    }
    use rand::Rng;
    let mut rng = rand::rng();
    let chars = (bits as usize).div_ceil(4);
    let password: String = (0..chars)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).expect("hex digit"))
        .collect();
    Ok(Reply::text(password))
}

fn dryrun(server: &Server, user: &[u8], command: &[Bytes]) -> CmdResult {
    let name = String::from_utf8_lossy(user).into_owned();
    let user = server
        .acl
        .user(&name)
        .ok_or_else(|| CmdError::new(format!("ERR User '{name}' not found")))?;
    let entry = server.commands.get(&command[0]).ok_or_else(|| {
        CmdError::new(format!(
            "ERR Command '{}' not found",
            String::from_utf8_lossy(&command[0])
        ))
    })?;
    if !entry.spec.arity_ok(command.len()) {
        return Err(errors::wrong_arity(entry.spec.name));
    }
    let request = request_for(server, entry, command);
    match user.check(&request) {
        Ok(()) => Ok(Reply::ok()),
        Err(denied) => Ok(Reply::text(verbose_denial(server, &request, &denied))),
    }
}

fn aclfile(server: &Server) -> Option<PathBuf> {
    server.config.read().aclfile.clone()
}

/// Start-up: the aclfile's users, or the config file's `user` lines. Either overrides
/// `requirepass` for the default user when it defines it (the aclfile always does, as in
/// Redis: with an aclfile, the file is the only source of users).
pub fn load_users_at_startup(server: &Server) -> Result<(), String> {
    let config = server.config.read().clone();
    // Users read at start get the configured channel default wherever the setting stands
    // in the config file (Redis loads users after the whole file).
    server.acl.set_pubsub_default(config.acl_pubsub_default);
    match (&config.aclfile, config.user_lines.is_empty()) {
        (Some(_), false) => Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into()),
        (Some(path), true) => {
            // As Redis, a configured aclfile must exist (ACL SAVE needs it to be writable).
            file::load(&server.acl, path)?;
            server.acl.ignore_requirepass(&config.requirepass);
            Ok(())
        }
        (None, false) => {
            let origin = config
                .config_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let users = file::parse_users(&server.acl, &config.user_lines, &origin)?;
            if users.contains_key("default") {
                server.acl.ignore_requirepass(&config.requirepass);
            }
            server.acl.replace_users(users);
            Ok(())
        }
        (None, true) => Ok(()),
    }
}

const NO_ACLFILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

fn save(server: &Server) -> CmdResult {
    let path = aclfile(server).ok_or_else(|| CmdError::new(NO_ACLFILE))?;
    file::save(&server.acl, &path).map_err(|e| {
        tracing::warn!("ACL SAVE to {} failed: {e}", path.display());
        CmdError::new("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
    })?;
    Ok(Reply::ok())
}

fn load(ctx: &mut Ctx) -> CmdResult {
    let path = aclfile(ctx.server).ok_or_else(|| CmdError::new(NO_ACLFILE))?;
    let before: Vec<String> = ctx
        .server
        .acl
        .users()
        .iter()
        .map(|u| u.name.clone())
        .collect();
    file::load(&ctx.server.acl, &path).map_err(|e| CmdError::new(format!("ERR {e}")))?;
    // Clients of users the file no longer defines are disconnected, as Redis does.
    let gone: Vec<String> = before
        .into_iter()
        .filter(|name| ctx.server.acl.user(name).is_none())
        .collect();
    kill_clients_of(ctx, &gone);
    Ok(Reply::ok())
}

const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

fn help() -> Reply {
    Reply::status_lines(HELP)
}

// ---- The permission check ----

/// The pub/sub channels a command names (PUBLISH's first argument, every argument of
/// SUBSCRIBE), and whether they are patterns (PSUBSCRIBE).
fn channel_args<'a>(name: &str, args: &'a [Bytes]) -> (Vec<&'a [u8]>, bool) {
    let from_first = || args.iter().skip(1).map(|c| c.as_ref()).collect();
    match name {
        "publish" | "spublish" => (args.get(1).map(|c| c.as_ref()).into_iter().collect(), false),
        "subscribe" | "ssubscribe" => (from_first(), false),
        "psubscribe" => (from_first(), true),
        _ => (Vec::new(), false),
    }
}

/// What `args` asks of the ACL: command id, keys, key access, channels.
pub fn request_for<'a>(server: &Server, entry: &Entry, args: &'a [Bytes]) -> Request<'a> {
    let spec = entry.spec;
    let command = server
        .acl
        .index
        .resolve(spec.name, args)
        .expect("every command is in the ACL index");
    let keys: Vec<(Cow<'a, [u8]>, KeyAccess)> = if spec.name.starts_with("ddb.") {
        ddb_table_names(&args[1])
            .into_iter()
            .map(|table| (Cow::Owned(table), ddb_access(spec)))
            .collect()
    } else {
        // Per key, as its key spec says (Redis's ACLSelectorCheckKey): SORT k STORE d
        // reads k and writes d. Malformed arguments name no keys; the command fails alone.
        super::command_keys::keys_with_flags(spec, args)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(at, flags)| {
                let (read, write) = KeyFlags::access(flags);
                let key = Cow::Borrowed(args.get(at)?.as_ref());
                Some((key, KeyAccess { read, write }))
            })
            .collect()
    };
    let (channels, channel_patterns) = channel_args(spec.name, args);
    Request {
        command,
        no_auth: spec.has(Flag::NoAuth),
        first_arg: args.get(1).map(|a| a.as_ref()),
        keys,
        channels,
        channel_patterns,
    }
}

/// What a DDB.* command does to its tables, from its flags: a read-only command reads, a
/// write command writes, anything else (scripts) may do both.
fn ddb_access(spec: &CommandSpec) -> KeyAccess {
    let (read, write) = match (spec.has(Flag::ReadOnly), spec.has(Flag::Write)) {
        (true, false) => (true, false),
        (false, true) => (false, true),
        _ => (true, true),
    };
    KeyAccess { read, write }
}

/// The tables a DynamoDB request names: `TableName`, the keys of `RequestItems`, and the
/// `TableName` of each `TransactItems` element. They are the command's "keys".
fn ddb_table_names(body: &[u8]) -> Vec<Vec<u8>> {
    let Ok(serde_json::Value::Object(request)) = serde_json::from_slice(body) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    if let Some(name) = request.get("TableName").and_then(|v| v.as_str()) {
        names.push(name.as_bytes().to_vec());
    }
    if let Some(items) = request.get("RequestItems").and_then(|v| v.as_object()) {
        names.extend(items.keys().map(|k| k.as_bytes().to_vec()));
    }
    if let Some(items) = request.get("TransactItems").and_then(|v| v.as_array()) {
        for item in items.iter().filter_map(|i| i.as_object()) {
            for op in item.values() {
                if let Some(name) = op.get("TableName").and_then(|v| v.as_str()) {
                    names.push(name.as_bytes().to_vec());
                }
            }
        }
    }
    names
}

/// Checks the client's permission to run `args`; on denial logs it in ACL LOG and returns
/// the NOPERM error. A user allowed everything costs one generation check.
pub fn check(
    server: &Server,
    client: &mut super::client::ClientState,
    entry: &Entry,
    args: &[Bytes],
    context: Context,
) -> Result<(), Denied> {
    let Some(user) = client.acl.user(&server.acl) else {
        // The user was deleted; its connection is being closed.
        return Err(Denied::Command);
    };
    if user.is_unrestricted() {
        return Ok(());
    }
    let user = user.clone();
    let request = request_for(server, entry, args);
    user.check(&request).inspect_err(|denied| {
        let object = denial_object(server, &request, denied);
        let reason = match denied {
            Denied::Command => Reason::Command,
            Denied::Key(_) => Reason::Key,
            Denied::Channel(_) => Reason::Channel,
        };
        record(server, client, reason, context, object, &user.name);
    })
}

/// The NOPERM error for a denial at the top level (Redis 7.0's wording).
pub fn noperm(server: &Server, entry: &Entry, args: &[Bytes], denied: &Denied) -> CmdError {
    CmdError::new(match denied {
        Denied::Command => {
            let id = server.acl.index.resolve(entry.spec.name, args);
            let name = id.map_or(entry.spec.name.to_string(), |id| {
                server.acl.index.get(id).fullname.clone()
            });
            format!("NOPERM this user has no permissions to run the '{name}' command")
        }
        Denied::Key(_) => {
            "NOPERM this user has no permissions to access one of the keys used as arguments".into()
        }
        Denied::Channel(_) => {
            "NOPERM this user has no permissions to access one of the channels used as arguments"
                .into()
        }
    })
}

/// The error `redis.call` answers for a denied command (Redis 7.0's script wording).
pub fn script_denial(denied: &Denied) -> &'static str {
    match denied {
        Denied::Command => "ERR The user executing the script can't run this command or subcommand",
        Denied::Key(_) => "ERR The user executing the script can't access at least one of the keys mentioned in the command",
        Denied::Channel(_) => "ERR The user executing the script can't publish to the channel mentioned in the command",
    }
}

fn denial_object(server: &Server, request: &Request, denied: &Denied) -> String {
    match denied {
        Denied::Command => server.acl.index.get(request.command).fullname.clone(),
        Denied::Key(k) | Denied::Channel(k) => String::from_utf8_lossy(k).into_owned(),
    }
}

/// DRYRUN's text for a denial.
fn verbose_denial(server: &Server, request: &Request, denied: &Denied) -> String {
    let object = denial_object(server, request, denied);
    match denied {
        Denied::Command => format!("This user has no permissions to run the '{object}' command"),
        Denied::Key(_) => format!("This user has no permissions to access the '{object}' key"),
        Denied::Channel(_) => {
            format!("This user has no permissions to access the '{object}' channel")
        }
    }
}

/// Adds an ACL LOG entry for this client.
pub fn record(
    server: &Server,
    client: &super::client::ClientState,
    reason: Reason,
    context: Context,
    object: String,
    username: &str,
) {
    let max_len = server
        .config
        .read()
        .compat
        .get("acllog-max-len")
        .and_then(|v| v.parse().ok())
        .unwrap_or(log::DEFAULT_MAX_LEN);
    server.acl.log.add(
        log::Entry {
            count: 1,
            reason,
            context,
            object,
            username: username.to_string(),
            created: Instant::now(),
            client_info: client.info.describe(&server.tracking),
        },
        max_len,
    );
}
