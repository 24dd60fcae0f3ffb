//! MONITOR: a connection that asks for it gets `+OK`, then one status line per command any
//! client runs, in Redis 7.0's format:
//!
//! ```text
//! +1700000000.123456 [0 127.0.0.1:50000] "set" "foo" "bar"
//! +1700000000.123500 [0 lua] "set" "foo" "bar"
//! ```
//!
//! Lines are queued on the monitoring connection's push queue (the one pub/sub messages
//! use), so feeding never blocks the command being reported. Secrets (AUTH, HELLO AUTH,
//! MIGRATE AUTH/AUTH2 passwords) are shown as `"(redacted)"`, and administrative commands
//! are not shown, as in Redis.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::Mutex;
use redyn_protocol::Reply;

use super::client::ClientState;
use super::introspection::redacted_positions;
use super::{CmdResult, CommandSpec, Ctx, Flag, NO_KEYS};
use crate::stream::{PushMessage, SubscriberHandle};
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "monitor",
    1,
    &[Admin, NoScript, Loading, Stale, NoMulti],
    NO_KEYS,
    "server",
    "1.0.0",
    "Listens for all requests received by the server in real-time.",
    monitor,
)];

/// The monitoring connections (client id, push queue).
#[derive(Default)]
pub struct Monitors {
    handles: Mutex<Vec<(u64, Arc<SubscriberHandle>)>>,
    /// How many there are, read without the lock on every command.
    count: AtomicUsize,
}

impl Monitors {
    fn add(&self, client_id: u64, handle: Arc<SubscriberHandle>) {
        let mut handles = self.handles.lock();
        handles.push((client_id, handle));
        self.count.store(handles.len(), Ordering::Release);
    }

    fn contains(&self, client_id: u64) -> bool {
        self.handles.lock().iter().any(|(id, _)| *id == client_id)
    }

    fn is_empty(&self) -> bool {
        self.count.load(Ordering::Acquire) == 0
    }

    /// Sends `line` to every monitor, forgetting the ones whose connection is gone.
    fn broadcast(&self, line: Bytes) {
        let mut handles = self.handles.lock();
        handles.retain(|(_, h)| h.send_unlimited(PushMessage::Monitor(line.clone())));
        self.count.store(handles.len(), Ordering::Release);
    }
}

/// MONITOR
fn monitor(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    // Already monitoring: Redis ignores the command without a reply.
    if ctx.server.monitors.contains(ctx.client.id) {
        return Ok(Reply::Multi(Vec::new()));
    }
    let handle = ctx.client.push_handle();
    ctx.server.monitors.add(ctx.client.id, handle);
    Ok(Reply::ok())
}

/// Where a command came from, as the line's bracket shows it.
pub enum Origin<'a> {
    Client(&'a ClientState),
    /// A `redis.call` from a script or function.
    Script,
}

/// Whether `name` is fed before it runs: a script's line comes before the lines of the
/// commands it calls (other commands, EXEC included, are fed once they ran).
pub fn fed_before_running(name: &str) -> bool {
    matches!(
        name,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    )
}

/// Whether any connection is monitoring (one atomic load: checked on every command).
pub fn active(server: &super::shared::Server) -> bool {
    !server.monitors.is_empty()
}

/// Reports a command to the monitors (if any, and unless it is administrative).
pub fn feed(
    server: &super::shared::Server,
    spec: &CommandSpec,
    origin: Origin,
    db: u32,
    args: &[Bytes],
) {
    if server.monitors.is_empty() || spec.has(Admin) {
        return;
    }
    server
        .monitors
        .broadcast(Bytes::from(line(origin, db, args)));
}

/// One MONITOR line (without the leading `+`, which the status reply adds).
fn line(origin: Origin, db: u32, args: &[Bytes]) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let source = match origin {
        Origin::Client(client) => client.info.addr.to_string(),
        Origin::Script => "lua".to_string(),
    };
    let mut out = format!(
        "{}.{:06} [{db} {source}]",
        now.as_secs(),
        now.subsec_micros()
    );
    let redacted = redacted_positions(args);
    for (i, arg) in args.iter().enumerate() {
        out.push(' ');
        if redacted.contains(&i) {
            out.push_str("\"(redacted)\"");
        } else {
            quote_into(&mut out, arg);
        }
    }
    out
}

/// Redis's `sdscatrepr`: a double-quoted string with C escapes and `\xHH` for the rest.
fn quote_into(out: &mut String, arg: &[u8]) {
    out.push('"');
    for &b in arg {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<Bytes> {
        list.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn arguments_are_quoted_like_sdscatrepr() {
        let mut out = String::new();
        quote_into(&mut out, b"a\"b\\c\n\x01\xff ");
        assert_eq!(out, r#""a\"b\\c\n\x01\xff ""#);
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(redacted_positions(&args(&["AUTH", "u", "p"])), [1, 2]);
        assert_eq!(
            redacted_positions(&args(&["hello", "2", "AUTH", "u", "p"])),
            [3, 4]
        );
        assert_eq!(
            redacted_positions(&args(&[
                "migrate", "h", "1", "k", "9", "5000", "AUTH2", "u", "p"
            ])),
            [7, 8]
        );
        assert_eq!(
            redacted_positions(&args(&["migrate", "h", "1", "k", "9", "5000", "AUTH", "p"])),
            [7]
        );
        let text = line(Origin::Script, 0, &args(&["auth", "secret"]));
        assert!(text.ends_with("[0 lua] \"auth\" \"(redacted)\""), "{text}");
    }
}
