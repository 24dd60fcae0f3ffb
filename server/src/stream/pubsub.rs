//! Pub/sub: channel, pattern and shard-channel subscriptions, and message fan-out.
//!
//! Each subscribed connection owns an unbounded queue of pushed messages plus a byte
//! counter of what is queued and not yet written. Publishing never blocks; instead the
//! output-buffer limit (Redis's `client-output-buffer-limit pubsub 32mb 8mb 60`)
//! disconnects a subscriber whose backlog passes the hard limit, or stays above the soft
//! limit for too long, so a slow reader can never grow server memory without bound.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use dashmap::DashMap;
use parking_lot::Mutex;
use redyn_protocol::glob::glob_match;
use redyn_protocol::Reply;
use tokio::sync::mpsc;

/// A message pushed to a subscriber.
#[derive(Debug, Clone)]
pub enum PushMessage {
    Message {
        channel: Bytes,
        payload: Bytes,
    },
    PMessage {
        pattern: Bytes,
        channel: Bytes,
        payload: Bytes,
    },
    SMessage {
        channel: Bytes,
        payload: Bytes,
    },
    /// A MONITOR line (sent as a status reply).
    Monitor(Bytes),
    /// A client-side caching invalidation of `keys` (`None`: every key, after a flush), as
    /// an `invalidate` push, or `as_message` on `__redis__:invalidate` (for a RESP2
    /// redirection target in pub/sub mode).
    Invalidate {
        keys: Option<Vec<Bytes>>,
        as_message: bool,
    },
    /// `tracking-redir-broken`: the client invalidations were redirected to is gone.
    RedirectBroken(u64),
}

/// The channel RESP2 clients receive redirected invalidations on.
pub const INVALIDATE_CHANNEL: &str = "__redis__:invalidate";

impl PushMessage {
    pub fn to_reply(&self) -> Reply {
        let bulk = |b: &Bytes| Reply::Bulk(b.clone());
        Reply::Push(match self {
            PushMessage::Message { channel, payload } => {
                vec![Reply::text("message"), bulk(channel), bulk(payload)]
            }
            PushMessage::PMessage {
                pattern,
                channel,
                payload,
            } => vec![
                Reply::text("pmessage"),
                bulk(pattern),
                bulk(channel),
                bulk(payload),
            ],
            PushMessage::SMessage { channel, payload } => {
                vec![Reply::text("smessage"), bulk(channel), bulk(payload)]
            }
            PushMessage::Monitor(line) => {
                return Reply::Simple(String::from_utf8_lossy(line).into_owned().into())
            }
            PushMessage::Invalidate { keys, as_message } => {
                let keys = keys.as_ref().map_or(Reply::Nil, |keys| {
                    Reply::Array(keys.iter().map(bulk).collect())
                });
                if *as_message {
                    vec![
                        Reply::text("message"),
                        Reply::text(INVALIDATE_CHANNEL),
                        keys,
                    ]
                } else {
                    vec![Reply::text("invalidate"), keys]
                }
            }
            PushMessage::RedirectBroken(id) => {
                vec![Reply::text("tracking-redir-broken"), Reply::Int(*id as i64)]
            }
        })
    }

    /// Approximate encoded size, for output-buffer accounting.
    pub fn size(&self) -> usize {
        match self {
            PushMessage::Message { channel, payload }
            | PushMessage::SMessage { channel, payload } => channel.len() + payload.len() + 40,
            PushMessage::PMessage {
                pattern,
                channel,
                payload,
            } => pattern.len() + channel.len() + payload.len() + 50,
            PushMessage::Monitor(line) => line.len() + 3,
            PushMessage::Invalidate { keys, .. } => {
                keys.iter().flatten().map(|k| k.len() + 16).sum::<usize>() + 50
            }
            PushMessage::RedirectBroken(_) => 50,
        }
    }
}

/// Output-buffer limit for pub/sub clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit {
    pub hard_bytes: usize,
    pub soft_bytes: usize,
    pub soft_seconds: u64,
}

impl Default for OutputLimit {
    fn default() -> Self {
        OutputLimit {
            hard_bytes: 32 << 20,
            soft_bytes: 8 << 20,
            soft_seconds: 60,
        }
    }
}

/// How pub/sub disconnects a subscriber whose output buffer overflows. The layer that owns
/// connections implements it (the client info marks the connection killed and wakes it),
/// so pub/sub needs nothing of that layer.
pub trait Disconnect: Send + Sync {
    /// Whether the connection is already closing (its messages are dropped).
    fn is_disconnecting(&self) -> bool;
    /// Closes the connection at its next chance.
    fn disconnect(&self);
}

/// The publishing side of one subscribed connection.
pub struct SubscriberHandle {
    /// The subscribed client's id (the key of its subscriptions).
    id: u64,
    tx: mpsc::UnboundedSender<PushMessage>,
    /// Bytes queued and not yet written by the connection.
    pub queued: Arc<AtomicUsize>,
    over_soft_since: Mutex<Option<Instant>>,
    connection: Arc<dyn Disconnect>,
}

impl SubscriberHandle {
    /// A handle for client `id`, and the receiving end its connection drains.
    pub fn new(
        id: u64,
        connection: Arc<dyn Disconnect>,
    ) -> (Arc<SubscriberHandle>, mpsc::UnboundedReceiver<PushMessage>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = Arc::new(SubscriberHandle {
            id,
            tx,
            queued: Arc::new(AtomicUsize::new(0)),
            over_soft_since: Mutex::new(None),
            connection,
        });
        (handle, rx)
    }

    /// Queues a message unless the client is over its output-buffer limit, in which case
    /// the client is disconnected (as Redis does) and the message dropped.
    fn deliver(&self, msg: PushMessage, limit: OutputLimit) -> bool {
        if self.connection.is_disconnecting() {
            return false;
        }
        let queued = self.queued.fetch_add(msg.size(), Ordering::Relaxed) + msg.size();
        if self.over_limit(queued, limit) {
            tracing::warn!(
                "client id={} scheduled to be closed for overcoming of output buffer limits",
                self.id
            );
            self.connection.disconnect();
            return false;
        }
        self.tx.send(msg).is_ok()
    }

    /// Queues a message with no output-buffer limit (a MONITOR client is a normal client,
    /// which Redis does not limit); false once the connection is gone.
    pub fn send_unlimited(&self, msg: PushMessage) -> bool {
        let unlimited = OutputLimit {
            hard_bytes: 0,
            soft_bytes: 0,
            soft_seconds: 0,
        };
        self.deliver(msg, unlimited)
    }

    fn over_limit(&self, queued: usize, limit: OutputLimit) -> bool {
        if limit.hard_bytes > 0 && queued > limit.hard_bytes {
            return true;
        }
        if limit.soft_bytes == 0 {
            return false;
        }
        let mut since = self.over_soft_since.lock();
        if queued > limit.soft_bytes {
            let start = *since.get_or_insert_with(Instant::now);
            start.elapsed().as_secs() >= limit.soft_seconds
        } else {
            *since = None;
            false
        }
    }
}

type Subscribers = HashMap<u64, Arc<SubscriberHandle>>;

/// All subscriptions of the server.
#[derive(Default)]
pub struct PubSub {
    channels: DashMap<Bytes, Subscribers>,
    patterns: DashMap<Bytes, Subscribers>,
    shard_channels: DashMap<Bytes, Subscribers>,
    limit: Mutex<OutputLimit>,
    pub messages_published: AtomicU64,
}

/// Which kind of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl PubSub {
    fn map(&self, kind: Kind) -> &DashMap<Bytes, Subscribers> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        }
    }

    pub fn set_limit(&self, limit: OutputLimit) {
        *self.limit.lock() = limit;
    }

    pub fn subscribe(&self, kind: Kind, name: &Bytes, handle: &Arc<SubscriberHandle>) {
        self.map(kind)
            .entry(name.clone())
            .or_default()
            .insert(handle.id, handle.clone());
    }

    pub fn unsubscribe(&self, kind: Kind, name: &Bytes, client_id: u64) {
        self.map(kind).remove_if_mut(name, |_, subs| {
            subs.remove(&client_id);
            subs.is_empty()
        });
    }

    /// PUBLISH: delivers to channel subscribers and matching patterns; returns receivers.
    pub fn publish(&self, channel: &Bytes, payload: &Bytes) -> usize {
        let limit = *self.limit.lock();
        let mut receivers = 0;
        if let Some(subs) = self.channels.get(channel) {
            for sub in subs.values() {
                let msg = PushMessage::Message {
                    channel: channel.clone(),
                    payload: payload.clone(),
                };
                receivers += usize::from(sub.deliver(msg, limit));
            }
        }
        for entry in self.patterns.iter() {
            if glob_match(entry.key(), channel, false) {
                for sub in entry.value().values() {
                    let msg = PushMessage::PMessage {
                        pattern: entry.key().clone(),
                        channel: channel.clone(),
                        payload: payload.clone(),
                    };
                    receivers += usize::from(sub.deliver(msg, limit));
                }
            }
        }
        self.messages_published.fetch_add(1, Ordering::Relaxed);
        receivers
    }

    /// SPUBLISH: delivers to shard-channel subscribers.
    pub fn spublish(&self, channel: &Bytes, payload: &Bytes) -> usize {
        let limit = *self.limit.lock();
        let mut receivers = 0;
        if let Some(subs) = self.shard_channels.get(channel) {
            for sub in subs.values() {
                let msg = PushMessage::SMessage {
                    channel: channel.clone(),
                    payload: payload.clone(),
                };
                receivers += usize::from(sub.deliver(msg, limit));
            }
        }
        receivers
    }

    /// Active channels (with at least one subscriber) matching `pattern` (PUBSUB CHANNELS).
    pub fn channel_names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.map(kind)
            .iter()
            .filter(|e| pattern.is_none_or(|p| glob_match(p, e.key(), false)))
            .map(|e| e.key().clone())
            .collect()
    }

    /// Subscriber count of a channel (PUBSUB NUMSUB).
    pub fn subscriber_count(&self, kind: Kind, channel: &[u8]) -> usize {
        self.map(kind).get(channel).map_or(0, |s| s.len())
    }

    /// Number of patterns with subscribers (PUBSUB NUMPAT).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }
}
