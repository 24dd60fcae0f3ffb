//! Client-side caching commands: CLIENT TRACKING, CLIENT CACHING, CLIENT GETREDIR and
//! CLIENT TRACKINGINFO, and the hooks that feed the tracking table (keys read by commands,
//! keys modified by the engine's write path). The table itself is [`crate::stream::tracking`].

use std::sync::{Arc, Weak};

use bytes::Bytes;
use redyn_protocol::args::{eq_ignore_case, parse_i64_strict};
use redyn_protocol::Reply;

use super::client::ClientState;
use super::errors::{self, CmdError};
use super::shared::Server;
use super::table::Entry;
use super::{CmdResult, Ctx, Flag};
use crate::engine::KeyTracker;
use crate::stream::tracking::{prefixes_overlap, Options, Tracking};

/// Connects the engine's write path to the tracking table.
pub fn install(server: &Arc<Server>) {
    let _ = server.engine.tracker.set(Box::new(EngineHook {
        tracking: server.tracking.clone(),
        server: Arc::downgrade(server),
    }));
}

struct EngineHook {
    tracking: Arc<Tracking>,
    server: Weak<Server>,
}

impl KeyTracker for EngineHook {
    fn active(&self) -> bool {
        self.tracking.is_active()
    }

    fn modified(&self, keys: &[Vec<u8>]) {
        if let Some(server) = self.server.upgrade() {
            self.tracking.modified(&server.clients, keys);
        }
    }

    fn flushed(&self) {
        if let Some(server) = self.server.upgrade() {
            self.tracking.flushed(&server.clients);
        }
    }
}

/// Script commands whose own keys are not tracked: only the read-only commands they call
/// make Redis track the script's declared keys.
const READ_ONLY_SCRIPTS: &[&str] = &["eval_ro", "evalsha_ro", "fcall_ro"];

/// After a command ran: remembers the keys a tracking client read. A read-only command
/// called by a script makes the calling command's keys tracked (Redis tracks the keys
/// declared to EVAL/FCALL then). `locks_held`: the command ran under locks it did not
/// take (inside EXEC or a script).
pub fn note_command_ran(
    server: &Server,
    client: &ClientState,
    entry: &Entry,
    args: &[Bytes],
    locks_held: bool,
) {
    let tracking = &server.tracking;
    if !tracking.is_active() {
        return;
    }
    let in_script = super::script::called_from_script(server, locks_held);
    let spec = entry.spec;
    let reads = spec.has(Flag::ReadOnly)
        && !spec.has(Flag::PubSub)
        && !READ_ONLY_SCRIPTS.contains(&spec.name);
    if in_script {
        if reads {
            tracking.note_script_read();
        }
        return;
    }
    if !(tracking.take_script_read() || reads) {
        return;
    }
    let positions = super::command_keys::key_positions(spec, args);
    tracking.remember(client.id, positions.iter().filter_map(|&i| args.get(i)));
}

/// After a top-level command: CLIENT CACHING applies to one command only (all of a
/// transaction), as in Redis.
/// `client_command`: the command was CLIENT (CLIENT CACHING itself, or another CLIENT
/// subcommand, which Redis lets the flag survive too).
pub fn end_of_command(server: &Server, client: &ClientState, client_command: bool) {
    if server.tracking.is_active() && client.multi.is_none() && !client_command {
        server.tracking.set_caching(client.id, false);
    }
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN] [OPTOUT] [NOLOOP]
pub fn client_tracking(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (options, prefixes) = parse_options(ctx, &args[3..])?;
    let tracking = &ctx.server.tracking;
    let id = ctx.client.id;
    if eq_ignore_case(&args[2], "off") {
        tracking.disable(id);
        return Ok(Reply::ok());
    }
    if !eq_ignore_case(&args[2], "on") {
        return Err(errors::syntax());
    }
    check_compatible(tracking, id, &options, &prefixes)?;
    // Invalidations can reach this client as pushes once it speaks RESP3.
    if ctx.client.resp == redyn_protocol::RespVersion::Resp3 {
        ctx.client.push_handle();
    }
    tracking.enable(id, options, &prefixes);
    Ok(Reply::ok())
}

fn parse_options(ctx: &Ctx, opts: &[Bytes]) -> Result<(Options, Vec<Bytes>), CmdError> {
    let mut options = Options::default();
    let mut prefixes = Vec::new();
    let mut i = 0;
    while i < opts.len() {
        let more = i + 1 < opts.len();
        let opt = &opts[i];
        if eq_ignore_case(opt, "redirect") && more {
            i += 1;
            if options.redirect != 0 {
                return Err(CmdError::new(
                    "ERR A client can only redirect to a single other client",
                ));
            }
            let target = parse_i64_strict(&opts[i])
                .ok_or_else(|| CmdError::new("ERR value is not an integer or out of range"))?;
            let exists = u64::try_from(target)
                .ok()
                .and_then(|t| ctx.server.clients.get(t))
                .is_some();
            if !exists {
                return Err(CmdError::new(
                    "ERR The client ID you want redirect to does not exist",
                ));
            }
            options.redirect = target as u64;
        } else if eq_ignore_case(opt, "bcast") {
            options.bcast = true;
        } else if eq_ignore_case(opt, "optin") {
            options.optin = true;
        } else if eq_ignore_case(opt, "optout") {
            options.optout = true;
        } else if eq_ignore_case(opt, "noloop") {
            options.noloop = true;
        } else if eq_ignore_case(opt, "prefix") && more {
            i += 1;
            prefixes.push(opts[i].clone());
        } else {
            return Err(errors::syntax());
        }
        i += 1;
    }
    Ok((options, prefixes))
}

/// Redis's checks, in its order, of new options against each other and against the
/// tracking already on.
fn check_compatible(
    tracking: &Tracking,
    id: u64,
    new: &Options,
    prefixes: &[Bytes],
) -> Result<(), CmdError> {
    if !new.bcast && !prefixes.is_empty() {
        return Err(CmdError::new(
            "ERR PREFIX option requires BCAST mode to be enabled",
        ));
    }
    let current = tracking.client(id);
    if let Some(current) = &current {
        if current.options.bcast != new.bcast {
            return Err(CmdError::new("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."));
        }
    }
    if new.bcast && (new.optin || new.optout) {
        return Err(CmdError::new(
            "ERR OPTIN and OPTOUT are not compatible with BCAST",
        ));
    }
    if new.optin && new.optout {
        return Err(CmdError::new(
            "ERR You can't specify both OPTIN mode and OPTOUT mode",
        ));
    }
    if let Some(current) = &current {
        let old = current.options;
        if (new.optin && old.optout) || (new.optout && old.optin) {
            return Err(CmdError::new("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."));
        }
    }
    if new.bcast {
        let existing = current.map(|c| c.prefixes).unwrap_or_default();
        check_prefixes(&existing, prefixes)?;
    }
    Ok(())
}

/// A BCAST client's prefixes must not overlap (one a prefix of another), neither with
/// those it has nor among the new ones.
fn check_prefixes(
    existing: &std::collections::BTreeSet<Bytes>,
    prefixes: &[Bytes],
) -> Result<(), CmdError> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (i, prefix) in prefixes.iter().enumerate() {
        if let Some(old) = existing.iter().find(|old| prefixes_overlap(old, prefix)) {
            return Err(CmdError::new(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                text(prefix),
                text(old)
            )));
        }
        if let Some(other) = prefixes[i + 1..]
            .iter()
            .find(|other| prefixes_overlap(prefix, other))
        {
            return Err(CmdError::new(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                text(prefix),
                text(other)
            )));
        }
    }
    Ok(())
}

/// CLIENT CACHING YES|NO: whether the next command's keys are tracked (OPTIN/OPTOUT).
pub fn client_caching(ctx: &mut Ctx, arg: &[u8]) -> CmdResult {
    let tracking = &ctx.server.tracking;
    let Some(current) = tracking.client(ctx.client.id) else {
        return Err(CmdError::new("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"));
    };
    if eq_ignore_case(arg, "yes") {
        if !current.options.optin {
            return Err(CmdError::new(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
    } else if eq_ignore_case(arg, "no") {
        if !current.options.optout {
            return Err(CmdError::new(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
    } else {
        return Err(errors::syntax());
    }
    tracking.set_caching(ctx.client.id, true);
    Ok(Reply::ok())
}

/// CLIENT GETREDIR: the redirection target, 0 when tracking without one, -1 when off.
pub fn client_getredir(ctx: &mut Ctx) -> CmdResult {
    let redirect = ctx.server.tracking.client(ctx.client.id);
    Ok(Reply::Int(
        redirect.map_or(-1, |c| c.options.redirect as i64),
    ))
}

/// CLIENT TRACKINGINFO: flags, redirect and prefixes of this connection's tracking.
pub fn client_trackinginfo(ctx: &mut Ctx) -> CmdResult {
    let current = ctx.server.tracking.client(ctx.client.id);
    let mut flags = Vec::new();
    let mut redirect = -1;
    let mut prefixes = Vec::new();
    match &current {
        None => flags.push("off"),
        Some(c) => {
            let o = c.options;
            flags.push("on");
            for (on, name) in [
                (o.bcast, "bcast"),
                (o.optin, "optin"),
                (o.optin && c.caching, "caching-yes"),
                (o.optout, "optout"),
                (o.optout && c.caching, "caching-no"),
                (o.noloop, "noloop"),
                (c.broken_redirect, "broken_redirect"),
            ] {
                if on {
                    flags.push(name);
                }
            }
            redirect = o.redirect as i64;
            prefixes = c.prefixes.iter().cloned().map(Reply::Bulk).collect();
        }
    }
    Ok(Reply::Map(vec![
        (
            Reply::text("flags"),
            Reply::Set(flags.into_iter().map(Reply::text).collect()),
        ),
        (Reply::text("redirect"), Reply::Int(redirect)),
        (Reply::text("prefixes"), Reply::Array(prefixes)),
    ]))
}
