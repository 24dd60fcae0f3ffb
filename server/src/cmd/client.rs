//! Per-client state.
//!
//! [`ClientState`] is owned by the connection task and passed to handlers; the parts other
//! clients may look at (CLIENT LIST, CLIENT KILL, INFO clients) live in a shared
//! [`ClientInfo`] registered in the [`ClientRegistry`]. Both belong to the command layer
//! (commands read and change them); the network layer creates them per connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use dashmap::DashMap;
use parking_lot::Mutex;
use redyn_protocol::RespVersion;
use tokio::sync::mpsc::UnboundedReceiver;

use super::BlockRequest;
use crate::stream::pubsub::Disconnect;
use crate::stream::{PushMessage, SubscriberHandle};

/// What other connections can see of a client.
#[derive(Debug)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub created: Instant,
    pub name: Mutex<Option<String>>,
    pub lib_name: Mutex<Option<String>>,
    pub lib_ver: Mutex<Option<String>>,
    pub db: AtomicU32,
    pub resp3: AtomicBool,
    pub last_cmd: Mutex<&'static str>,
    /// Milliseconds since `created` at the last command (for `idle=`).
    pub last_interaction_ms: AtomicU64,
    pub subscriptions: AtomicU64,
    pub in_multi: AtomicBool,
    /// Set by CLIENT KILL / shutdown: the connection closes at its next chance.
    pub killed: AtomicBool,
    pub kill_signal: tokio::sync::Notify,
}

impl ClientInfo {
    /// The CLIENT LIST / CLIENT INFO line for this client.
    pub fn describe(&self) -> String {
        let age = self.created.elapsed().as_secs();
        let idle_ms = (self.created.elapsed().as_millis() as u64)
            .saturating_sub(self.last_interaction_ms.load(Ordering::Relaxed));
        let flags = if self.in_multi.load(Ordering::Relaxed) {
            "x"
        } else if self.subscriptions.load(Ordering::Relaxed) > 0 {
            "P"
        } else {
            "N"
        };
        format!(
            "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db={} sub={} psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.name.lock().clone().unwrap_or_default(),
            age,
            idle_ms / 1000,
            flags,
            self.db.load(Ordering::Relaxed),
            self.subscriptions.load(Ordering::Relaxed),
            self.last_cmd.lock(),
            if self.resp3.load(Ordering::Relaxed) { 3 } else { 2 },
            self.lib_name.lock().clone().unwrap_or_default(),
            self.lib_ver.lock().clone().unwrap_or_default(),
        )
    }

    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.kill_signal.notify_one();
    }

    /// This client's pub/sub handle, and the queue its connection drains (created at the
    /// first subscription). Overflowing the output-buffer limit kills the client.
    pub fn subscriber_handle(
        self: &Arc<Self>,
    ) -> (Arc<SubscriberHandle>, UnboundedReceiver<PushMessage>) {
        SubscriberHandle::new(self.id, self.clone())
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
}

impl ClientRegistry {
    pub fn register(&self, addr: SocketAddr, laddr: SocketAddr) -> Arc<ClientInfo> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let info = Arc::new(ClientInfo {
            id,
            addr,
            laddr,
            created: Instant::now(),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            db: AtomicU32::new(0),
            resp3: AtomicBool::new(false),
            last_cmd: Mutex::new("NULL"),
            last_interaction_ms: AtomicU64::new(0),
            subscriptions: AtomicU64::new(0),
            in_multi: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            kill_signal: tokio::sync::Notify::new(),
        });
        self.clients.insert(id, info.clone());
        info
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

/// The connection-private state of a client.
pub struct ClientState {
    pub id: u64,
    pub info: Arc<ClientInfo>,
    pub db: u32,
    pub resp: RespVersion,
    pub authenticated: bool,
    /// Set by QUIT: close after sending the reply.
    pub closing: bool,
    /// Set by SHUTDOWN: close without sending the reply (as Redis does).
    pub no_reply: bool,
    /// Highest durability sequence number this client wrote (for `appendfsync always`).
    pub last_write_seq: u64,
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
            no_reply: false,
            last_write_seq: 0,
            multi: None,
            multi_error: false,
            watched: Vec::new(),
            blocked: None,
            block_deadline: None,
            block_context: None,
            subs: Subscriptions::default(),
            push_rx: None,
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
    }
}
