//! Per-client state.
//!
//! [`ClientState`] is owned by the connection task and passed to handlers; the parts other
//! clients may look at (CLIENT LIST, CLIENT KILL, INFO clients) live in a shared
//! [`ClientInfo`] registered in the [`ClientRegistry`]. Both belong to the command layer
//! (commands read and change them); the network layer creates them per connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use bytes::Bytes;
use dashmap::DashMap;
use futures::task::AtomicWaker;
use parking_lot::Mutex;
use redyn_protocol::RespVersion;
use tokio::sync::mpsc::UnboundedReceiver;

use super::BlockRequest;
use crate::stream::pubsub::Disconnect;
use crate::stream::tracking::{Directory, Recipient, Tracking};
use crate::stream::{PushMessage, SubscriberHandle};

/// What other connections can see of a client.
#[derive(Debug)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    /// quanta's clock (the TSC read directly): the command path reads it per command.
    pub created: quanta::Instant,
    pub name: Mutex<Option<String>>,
    pub lib_name: Mutex<Option<String>>,
    pub lib_ver: Mutex<Option<String>>,
    pub db: AtomicU32,
    pub resp3: AtomicBool,
    /// The last command run, as CLIENT LIST's `cmd=` shows it (`client|list` for a
    /// subcommand); the buffer is reused, so noting a command does not allocate.
    pub last_cmd: Mutex<String>,
    /// Milliseconds since `created` at the last command (for `idle=`).
    pub last_interaction_ms: AtomicU64,
    pub subscriptions: AtomicU64,
    pub in_multi: AtomicBool,
    /// Set by CLIENT KILL / shutdown: the connection closes at its next chance.
    pub killed: AtomicBool,
    /// Interrupts a write stuck on a client that stopped reading, on a kill.
    pub kill_signal: tokio::sync::Notify,
    /// The connection task while it waits for its client (the next request, a blocked
    /// command, a pause), woken on a kill or a shutdown. A waker registered without a lock:
    /// a `Notify` wait made anew for every request took its lock twice (registered, then
    /// dropped when the request came first).
    pub attention: AtomicWaker,
    /// Bytes buffered from the socket and not yet consumed, and the rest of the buffer's
    /// capacity (CLIENT LIST `qbuf=` / `qbuf-free=`).
    pub qbuf: AtomicU64,
    pub qbuf_free: AtomicU64,
    /// Whether the client waits in a blocking command (CLIENT LIST flag `b`).
    pub blocked: AtomicBool,
    /// A pending CLIENT UNBLOCK for the blocked command; `unblock_signal` wakes the wait.
    pub unblock: Mutex<Option<UnblockMode>>,
    pub unblock_signal: tokio::sync::Notify,
    /// CLIENT NO-EVICT (reported as flag `e`; redyn never evicts clients).
    pub no_evict: AtomicBool,
    /// The ACL user the client is authenticated as (CLIENT LIST `user=`, CLIENT KILL USER).
    pub user: Mutex<String>,
    /// The client's push queue once it has one (see [`ClientState::push_handle`]), so other
    /// connections can push to it (client-side caching invalidations).
    pub pushes: Mutex<Weak<SubscriberHandle>>,
}

/// How CLIENT UNBLOCK ends a blocked command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnblockMode {
    /// As if its timeout passed.
    Timeout,
    /// With the `UNBLOCKED` error.
    Error,
}

/// Which kind of client CLIENT LIST/KILL TYPE selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    Normal,
    Replica,
    Master,
    PubSub,
}

impl ClientType {
    /// Parses a TYPE argument (`slave` is `replica`'s old name).
    pub fn parse(arg: &[u8]) -> Option<ClientType> {
        match arg.to_ascii_lowercase().as_slice() {
            b"normal" => Some(ClientType::Normal),
            b"replica" | b"slave" => Some(ClientType::Replica),
            b"master" => Some(ClientType::Master),
            b"pubsub" => Some(ClientType::PubSub),
            _ => None,
        }
    }
}

impl ClientInfo {
    /// The CLIENT LIST / CLIENT INFO line for this client, fields in Redis 7's order.
    pub fn describe(&self, tracking: &Tracking) -> String {
        let tracked = tracking.client(self.id);
        let redir = tracked.as_ref().map_or(-1, |t| t.options.redirect as i64);
        let age = self.created.elapsed().as_secs();
        let qbuf = self.qbuf.load(Ordering::Relaxed);
        let qbuf_free = self.qbuf_free.load(Ordering::Relaxed);
        format!(
            "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db={} sub={} psub=0 ssub=0 multi={} qbuf={qbuf} qbuf-free={qbuf_free} argv-mem=0 multi-mem=0 rbs={} rbp=0 obl=0 oll=0 omem=0 tot-mem={} events=r cmd={} user={} redir={redir} resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.name.lock().clone().unwrap_or_default(),
            age,
            self.idle_secs(),
            self.flags(tracked.as_ref()),
            self.db.load(Ordering::Relaxed),
            self.subscriptions.load(Ordering::Relaxed),
            if self.in_multi.load(Ordering::Relaxed) { 0 } else { -1 },
            qbuf + qbuf_free,
            qbuf + qbuf_free,
            self.last_cmd.lock(),
            self.user.lock(),
            if self.resp3.load(Ordering::Relaxed) { 3 } else { 2 },
            self.lib_name.lock().clone().unwrap_or_default(),
            self.lib_ver.lock().clone().unwrap_or_default(),
        )
    }

    /// Seconds since the client's last command.
    pub fn idle_secs(&self) -> u64 {
        (self.created.elapsed().as_millis() as u64)
            .saturating_sub(self.last_interaction_ms.load(Ordering::Relaxed))
            / 1000
    }

    /// CLIENT LIST `flags=`: `P` subscribed, `x` in MULTI, `b` blocked, `t` tracking keys
    /// (`R` its redirection target is gone, `B` in BCAST mode), `e` no-evict, `N` when
    /// none applies (Redis's order).
    fn flags(&self, tracking: Option<&crate::stream::tracking::ClientTracking>) -> String {
        let mut flags = String::new();
        if self.is_pubsub() {
            flags.push('P');
        }
        if self.in_multi.load(Ordering::Relaxed) {
            flags.push('x');
        }
        if self.blocked.load(Ordering::Relaxed) {
            flags.push('b');
        }
        if let Some(t) = tracking {
            flags.push('t');
            if t.broken_redirect {
                flags.push('R');
            }
            if t.options.bcast {
                flags.push('B');
            }
        }
        if self.no_evict.load(Ordering::Relaxed) {
            flags.push('e');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        flags
    }

    pub fn is_pubsub(&self) -> bool {
        self.subscriptions.load(Ordering::Relaxed) > 0
    }

    /// The type CLIENT LIST/KILL TYPE matches this client as.
    pub fn client_type(&self) -> ClientType {
        if self.is_pubsub() {
            ClientType::PubSub
        } else {
            ClientType::Normal
        }
    }

    /// Notes the command being run, as `cmd=` shows it.
    pub fn note_command(&self, name: &str, subcommand: Option<&str>) {
        let mut last = self.last_cmd.lock();
        last.clear();
        last.push_str(name);
        if let Some(sub) = subcommand {
            last.push('|');
            last.push_str(sub);
        }
    }

    /// Asks the blocked command of this client to end; `false` if it is not blocked.
    pub fn request_unblock(&self, mode: UnblockMode) -> bool {
        if !self.blocked.load(Ordering::SeqCst) {
            return false;
        }
        *self.unblock.lock() = Some(mode);
        self.unblock_signal.notify_one();
        true
    }

    /// Takes a pending CLIENT UNBLOCK request.
    pub fn take_unblock(&self) -> Option<UnblockMode> {
        self.unblock.lock().take()
    }

    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.kill_signal.notify_one();
        self.attention.wake();
    }

    /// This client's pub/sub handle, and the queue its connection drains (created at the
    /// first subscription). Overflowing the output-buffer limit kills the client.
    pub fn subscriber_handle(
        self: &Arc<Self>,
    ) -> (Arc<SubscriberHandle>, UnboundedReceiver<PushMessage>) {
        SubscriberHandle::new(self.id, self.clone())
    }
}

impl Recipient for ClientInfo {
    fn resp3(&self) -> bool {
        self.resp3.load(Ordering::Relaxed)
    }

    fn subscribed(&self) -> bool {
        self.is_pubsub()
    }

    fn push(&self, msg: PushMessage) -> bool {
        let handle = self.pushes.lock().upgrade();
        handle.is_some_and(|h| h.send_unlimited(msg))
    }
}

impl Directory for ClientRegistry {
    fn recipient(&self, id: u64) -> Option<Arc<dyn Recipient>> {
        self.get(id).map(|c| c as Arc<dyn Recipient>)
    }
}

impl Disconnect for ClientInfo {
    fn is_disconnecting(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }

    fn disconnect(&self) {
        self.kill();
    }
}

/// All connected clients.
#[derive(Default)]
pub struct ClientRegistry {
    clients: DashMap<u64, Arc<ClientInfo>>,
    next_id: AtomicU64,
    /// CLIENT PAUSE in force.
    pub pause: Pause,
}

/// Which commands CLIENT PAUSE holds back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseMode {
    /// Every command.
    All,
    /// Commands that may write (and EXEC of a transaction holding one).
    Write,
}

/// The server-wide CLIENT PAUSE state. Waiting clients watch `changed`, which moves when
/// a pause is set or lifted.
pub struct Pause {
    state: Mutex<Option<(Instant, PauseMode)>>,
    changed: tokio::sync::watch::Sender<u64>,
}

impl Default for Pause {
    fn default() -> Self {
        Pause {
            state: Mutex::new(None),
            changed: tokio::sync::watch::channel(0).0,
        }
    }
}

impl Pause {
    /// Pauses until `until`. As in Redis, a new pause never shortens or weakens one in
    /// force: the later deadline and the stricter mode win.
    pub fn start(&self, until: Instant, mode: PauseMode) {
        let mut state = self.state.lock();
        let merged = match *state {
            Some((old_until, old_mode)) if old_until > Instant::now() => (
                old_until.max(until),
                if old_mode == PauseMode::All || mode == PauseMode::All {
                    PauseMode::All
                } else {
                    PauseMode::Write
                },
            ),
            _ => (until, mode),
        };
        *state = Some(merged);
        self.changed.send_modify(|n| *n += 1);
    }

    pub fn stop(&self) {
        *self.state.lock() = None;
        self.changed.send_modify(|n| *n += 1);
    }

    /// The pause in force now, with its deadline.
    pub fn current(&self) -> Option<(Instant, PauseMode)> {
        let state = *self.state.lock();
        state.filter(|(until, _)| *until > Instant::now())
    }

    /// A receiver that sees every later start/stop.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

impl ClientRegistry {
    pub fn register(&self, addr: SocketAddr, laddr: SocketAddr) -> Arc<ClientInfo> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let info = Arc::new(ClientInfo {
            id,
            addr,
            laddr,
            created: quanta::Instant::now(),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            db: AtomicU32::new(0),
            resp3: AtomicBool::new(false),
            last_cmd: Mutex::new("NULL".to_string()),
            last_interaction_ms: AtomicU64::new(0),
            subscriptions: AtomicU64::new(0),
            in_multi: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            kill_signal: tokio::sync::Notify::new(),
            attention: AtomicWaker::new(),
            qbuf: AtomicU64::new(0),
            qbuf_free: AtomicU64::new(0),
            blocked: AtomicBool::new(false),
            unblock: Mutex::new(None),
            unblock_signal: tokio::sync::Notify::new(),
            no_evict: AtomicBool::new(false),
            user: Mutex::new("default".to_string()),
            pushes: Mutex::new(Weak::new()),
        });
        self.clients.insert(id, info.clone());
        info
    }

    /// Wakes every connection waiting for its client (the server is shutting down).
    pub fn wake_all(&self) {
        for client in self.clients.iter() {
            client.attention.wake();
        }
    }

    pub fn unregister(&self, id: u64) {
        self.clients.remove(&id);
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.clients.get(&id).map(|c| c.clone())
    }

    /// All clients, ordered by id.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        let mut v: Vec<_> = self.clients.iter().map(|e| e.value().clone()).collect();
        v.sort_by_key(|c| c.id);
        v
    }
}

/// A client's pub/sub subscriptions.
#[derive(Default)]
pub struct Subscriptions {
    pub channels: std::collections::HashSet<Bytes>,
    pub patterns: std::collections::HashSet<Bytes>,
    pub shard_channels: std::collections::HashSet<Bytes>,
    /// Publishing side of this client's message queue, created at the first subscription.
    pub handle: Option<Arc<SubscriberHandle>>,
}

impl Subscriptions {
    /// Channel + pattern subscriptions (the count SUBSCRIBE/UNSUBSCRIBE replies carry).
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.count() + self.shard_channels.len() == 0
    }
}

/// A command queued between MULTI and EXEC.
pub type QueuedCommand = Vec<Bytes>;

/// CLIENT REPLY: whether replies are sent. Pushes (pub/sub messages and subscription
/// confirmations) are sent whatever the mode, as in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyMode {
    #[default]
    On,
    Off,
    /// CLIENT REPLY SKIP was the last command: the next command's reply is dropped.
    SkipNext,
    /// The running command's reply is dropped (set from `SkipNext` when it starts).
    Skip,
}

impl ReplyMode {
    /// The mode for the next command, once the current one finished.
    pub fn after_command(self) -> ReplyMode {
        match self {
            ReplyMode::Skip => ReplyMode::On,
            ReplyMode::SkipNext => ReplyMode::Skip,
            other => other,
        }
    }

    /// Whether the reply of the command that just ran is dropped.
    pub fn drops_reply(self) -> bool {
        self != ReplyMode::On
    }
}

/// The connection-private state of a client.
pub struct ClientState {
    pub id: u64,
    pub info: Arc<ClientInfo>,
    pub db: u32,
    pub resp: RespVersion,
    pub authenticated: bool,
    /// Set by QUIT: close after sending the reply.
    pub closing: bool,
    /// CLIENT REPLY.
    pub reply_mode: ReplyMode,
    /// Set by SHUTDOWN: close without sending the reply (as Redis does).
    pub no_reply: bool,
    /// Highest durability sequence number this client wrote (for `appendfsync always`).
    pub last_write_seq: u64,
    /// Replies encoded since the connection last wrote to its socket.
    pub replies_unsent: usize,
    /// MULTI state: queued commands, or `None` outside MULTI.
    pub multi: Option<Vec<QueuedCommand>>,
    /// A command inside MULTI failed to queue (EXEC will answer EXECABORT).
    pub multi_error: bool,
    /// Set by a blocking command that found nothing to return (see `Ctx::block_on`).
    pub blocked: Option<BlockRequest>,
    /// While a blocked command is retried: its original deadline (`Some(None)` = forever).
    pub block_deadline: Option<Option<std::time::Instant>>,
    /// State a blocking command keeps across its retries (XREAD's resolved `$` IDs).
    pub block_context: Option<Box<dyn std::any::Any + Send>>,
    /// Pub/sub subscriptions, and the queue of messages pushed to this client.
    pub subs: Subscriptions,
    pub push_rx: Option<UnboundedReceiver<PushMessage>>,
    /// WATCHed keys: metadata row key, its change signal, and the counter seen at WATCH.
    pub watched: Vec<(Vec<u8>, tokio::sync::watch::Receiver<u64>, u64)>,
    /// The ACL user this client runs commands as.
    pub acl: crate::acl::Session,
    /// Failed AUTH attempts on this connection (too many close it).
    pub failed_auths: u32,
    /// While a pipelined batch runs: when its last command finished (the next one's start,
    /// which saves a clock reading per command).
    pub batch_clock: Option<quanta::Instant>,
    /// The command (and subcommand) last noted in [`ClientInfo::note_command`].
    pub noted_command: Option<(&'static str, Option<&'static str>)>,
}

impl ClientState {
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> ClientState {
        ClientState {
            id: info.id,
            info,
            db: 0,
            resp: RespVersion::Resp2,
            authenticated,
            closing: false,
            reply_mode: ReplyMode::On,
            no_reply: false,
            last_write_seq: 0,
            replies_unsent: 0,
            multi: None,
            multi_error: false,
            watched: Vec::new(),
            blocked: None,
            block_deadline: None,
            block_context: None,
            subs: Subscriptions::default(),
            push_rx: None,
            acl: crate::acl::Session::default(),
            failed_auths: 0,
            batch_clock: None,
            noted_command: None,
        }
    }

    pub fn select(&mut self, db: u32) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }

    pub fn set_resp(&mut self, resp: RespVersion) {
        self.resp = resp;
        self.info
            .resp3
            .store(resp == RespVersion::Resp3, Ordering::Relaxed);
        if resp == RespVersion::Resp3 {
            // A RESP3 client may receive pushes any time (invalidations redirected to it).
            self.push_handle();
        }
    }

    /// This connection's push queue (pub/sub messages, MONITOR lines, invalidations),
    /// created at first need; other connections reach it through `ClientInfo::pushes`.
    pub fn push_handle(&mut self) -> Arc<SubscriberHandle> {
        if let Some(handle) = &self.subs.handle {
            return handle.clone();
        }
        let (handle, rx) = self.info.subscriber_handle();
        *self.info.pushes.lock() = Arc::downgrade(&handle);
        self.subs.handle = Some(handle.clone());
        self.push_rx = Some(rx);
        handle
    }
}
