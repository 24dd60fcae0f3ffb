//! The shared state every command operates on ([`Server`]): the engine, tables, change
//! streams, clients, configuration and counters. Like mini-redis's `Db`, it is what a
//! handler reaches through [`super::Ctx`]; the server layer (`crate::server`) builds it at
//! start-up, runs the background tasks over it and flushes it at shutdown.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use super::client::ClientRegistry;
use super::CommandTable;
use crate::config::Config;
use crate::engine::autoscale::AutoscaleConfig;
use crate::engine::background::Background;
use crate::engine::Engine;
use crate::stream::changelog::ChangeLog;
use crate::stream::notify::Notifications;
use crate::stream::PubSub;
use crate::tables::Tables;

/// Server-wide counters (INFO stats).
#[derive(Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub commands_processed: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub error_replies: AtomicU64,
    pub blocked_clients: AtomicU64,
}

/// Resume points of HSCAN/ZSCAN-style cursors: a cursor number stands for "continue after
/// this sort key". Bounded: when full, the oldest half is forgotten (a forgotten cursor
/// restarts its scan from the beginning, which repeats items but never skips any).
pub struct ScanCursors {
    map: Mutex<std::collections::BTreeMap<u64, Vec<u8>>>,
    next: AtomicU64,
}

const MAX_SCAN_CURSORS: usize = 100_000;

impl Default for ScanCursors {
    fn default() -> Self {
        ScanCursors {
            map: Mutex::new(std::collections::BTreeMap::new()),
            next: AtomicU64::new(1),
        }
    }
}

impl ScanCursors {
    /// Remembers `resume_after` and returns the cursor number for it (never 0).
    pub fn save(&self, resume_after: Vec<u8>) -> u64 {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut map = self.map.lock();
        if map.len() >= MAX_SCAN_CURSORS {
            let keep = map.split_off(&(id - (MAX_SCAN_CURSORS as u64 / 2)));
            *map = keep;
        }
        map.insert(id, resume_after);
        id
    }

    /// Where a cursor resumes (`None` = from the start: cursor 0 or forgotten).
    pub fn resume_point(&self, cursor: u64) -> Option<Vec<u8>> {
        if cursor == 0 {
            return None;
        }
        self.map.lock().get(&cursor).cloned()
    }
}

/// What start-up opens before the shared state can exist.
pub struct OpenedParts {
    pub engine: Arc<Engine>,
    pub config: Config,
    pub addr: SocketAddr,
    pub pubsub: Arc<PubSub>,
    pub tables: Tables,
    pub changelog: Arc<ChangeLog>,
    pub notifications: Arc<Notifications>,
}

/// A listener bound by CONFIG SET port, waiting for the plaintext accept loop to take it
/// (and drop the old one), as Redis moves its listening socket.
#[derive(Default)]
pub struct ListenerSwap {
    next: Mutex<Option<std::net::TcpListener>>,
    ready: tokio::sync::Notify,
}

impl ListenerSwap {
    pub fn offer(&self, listener: std::net::TcpListener) {
        *self.next.lock() = Some(listener);
        self.ready.notify_one();
    }

    /// Waits for the next listener offered.
    pub async fn take(&self) -> std::net::TcpListener {
        loop {
            if let Some(listener) = self.next.lock().take() {
                return listener;
            }
            self.ready.notified().await;
        }
    }
}

/// State shared by every connection.
pub struct Server {
    pub engine: Arc<Engine>,
    pub config: RwLock<Config>,
    pub clients: ClientRegistry,
    pub commands: CommandTable,
    pub stats: Stats,
    /// Slow log, latency events, subcommand and error statistics.
    pub introspection: crate::cmd::introspection::Introspection,
    pub started: Instant,
    pub run_id: String,
    pub scan_cursors: ScanCursors,
    /// In-memory rank indexes of the sorted sets in use.
    pub zsets: crate::types::zset::ZsetIndexes,
    /// The order of clients blocked on list and sorted-set keys (first blocked, first served).
    pub waiters: Arc<crate::cmd::wait_queue::WaitQueues>,
    /// The address actually bound (port 0 resolves to a real port).
    pub addr: SocketAddr,
    /// Unix time (seconds) of the last successful persist (LASTSAVE).
    pub last_save: AtomicU64,
    pub pubsub: Arc<PubSub>,
    /// Connections in MONITOR mode.
    pub monitors: crate::cmd::monitor::Monitors,
    /// Native DynamoDB-model tables.
    pub tables: Tables,
    pub changelog: Arc<ChangeLog>,
    pub notifications: Arc<Notifications>,
    /// Client-side caching: the keys clients track (CLIENT TRACKING).
    pub tracking: Arc<crate::stream::tracking::Tracking>,
    /// The Lua VM, cached scripts, function libraries and the running script.
    pub scripting: crate::script::Scripting,
    /// ACL users and the ACL LOG.
    pub acl: crate::acl::Acl,
    /// CONFIG SET port hands the listener bound on the new port to the accept loop here.
    pub listener_swap: ListenerSwap,
    shutdown: watch::Sender<bool>,
    /// Set with `shutdown`: read without a lock by connections waiting for their clients.
    stopping: AtomicBool,
    /// Background threads and the autoscaler settings they run with (see `apply_config`).
    background: Mutex<Option<(Background, AutoscaleConfig)>>,
}

impl Server {
    /// The state of a freshly started server: no clients, zeroed counters, not shutting
    /// down, background threads not yet started (see [`Server::apply_config`]).
    pub fn new(parts: OpenedParts) -> Server {
        let commands = CommandTable::new();
        let acl = crate::acl::Acl::new(super::acl::command_index(&commands));
        Server {
            engine: parts.engine,
            introspection: crate::cmd::introspection::Introspection::new(&parts.config),
            config: RwLock::new(parts.config),
            clients: ClientRegistry::default(),
            commands,
            stats: Stats::default(),
            started: Instant::now(),
            run_id: random_run_id(),
            scan_cursors: ScanCursors::default(),
            zsets: Default::default(),
            waiters: Default::default(),
            addr: parts.addr,
            last_save: AtomicU64::new(crate::engine::now_ms() / 1000),
            pubsub: parts.pubsub,
            monitors: Default::default(),
            tables: parts.tables,
            changelog: parts.changelog,
            notifications: parts.notifications,
            tracking: Default::default(),
            scripting: Default::default(),
            acl,
            listener_swap: ListenerSwap::default(),
            shutdown: watch::channel(false).0,
            stopping: AtomicBool::new(false),
            background: Mutex::new(None),
        }
    }

    /// Asks the server to shut down (SHUTDOWN, SIGTERM).
    pub fn request_shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.shutdown.send_replace(true);
        self.clients.wake_all();
    }

    /// Whether shutdown was requested.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    pub fn shutdown_requested(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Flushes everything to disk and stops background threads (the last step of shutdown).
    pub(crate) fn finish(&self) {
        if let Some((mut bg, _)) = self.background.lock().take() {
            bg.stop();
        }
        if let Err(e) = self.engine.persist() {
            tracing::error!("final persist failed: {e}");
        }
    }

    /// Applies configuration that has live effect (after start or CONFIG SET). Settings
    /// read where they are used (`maxclients`, `requirepass`, `proto-max-bulk-len`,
    /// `timeout`) need nothing here.
    pub fn apply_config(&self) {
        let config = self.config.read();
        self.introspection.configure(&config);
        self.acl.sync_requirepass(&config.requirepass);
        self.acl.set_pubsub_default(config.acl_pubsub_default);
        self.engine.durability.set_mode(config.appendfsync);
        self.engine.disk.set_reserve(config.disk_reserve);
        self.engine
            .set_disk_read_threshold(config.disk_read_threshold_us.saturating_mul(1000));
        self.engine
            .set_memory_budget(&crate::engine::MemoryBudget::split(config.maxmemory));
        self.notifications
            .configure(&self.engine, &config.notify_keyspace_events);
        self.pubsub.set_limit(config.output_limits.pubsub);
        if let Some(max) = config.compat.get("tracking-table-max-keys") {
            self.tracking
                .set_max_keys(max.parse().unwrap_or(usize::MAX));
        }
        self.changelog.retention_ms.store(
            config.changelog_retention_secs * 1000,
            std::sync::atomic::Ordering::Relaxed,
        );
        crate::config::logging::apply(&config.loglevel);
        // The autoscaler takes its settings when it starts: (re)start the background
        // threads when they change. Stopping joins threads that sleep at most a tick, and
        // happens only when an autoscaler setting actually changed.
        let mut background = self.background.lock();
        let running = background.as_ref().map(|(_, applied)| applied);
        if !running.is_some_and(|applied| same_autoscale(applied, &config.autoscale)) {
            if let Some((mut old, _)) = background.take() {
                old.stop();
            }
            let threads = Background::start(self.engine.clone(), config.autoscale.clone());
            *background = Some((threads, config.autoscale.clone()));
        }
    }
}

fn same_autoscale(a: &AutoscaleConfig, b: &AutoscaleConfig) -> bool {
    a.split_ops == b.split_ops
        && a.merge_ops == b.merge_ops
        && a.window == b.window
        && a.cooldown == b.cooldown
        && a.min_shards == b.min_shards
        && a.max_shards == b.max_shards
}

fn random_run_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).expect("hex digit"))
        .collect()
}
