//! Client-side caching (CLIENT TRACKING): which clients read which keys, and the
//! invalidation messages sent when those keys change.
//!
//! As in Redis, the table is server-wide (keys of every db share it): in the default mode a
//! key maps to the ids of the clients that read it and the entry is dropped once it has been
//! invalidated; in BCAST mode a prefix maps to the clients subscribed to it and every
//! modified key under it is announced. Modified keys arrive from the engine's one write path
//! (see [`crate::engine::KeyTracker`]), so writes from scripts, EXEC, expiry and every other
//! command invalidate alike.
//!
//! Invalidations of the current client's own writes go into its push queue and are written
//! after its reply (the connection writes queued pushes only between commands). BCAST keys
//! modified by one command are gathered and announced once per prefix when the command ends,
//! as Redis announces them once per event-loop iteration.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use super::PushMessage;

/// A connected client as invalidation messages see it (implemented by the connection layer).
pub trait Recipient: Send + Sync {
    /// Whether the client speaks RESP3 (only RESP3 clients can receive `invalidate` pushes).
    fn resp3(&self) -> bool;
    /// Whether the client is in pub/sub mode (a RESP2 redirection target then receives
    /// invalidations as messages of `__redis__:invalidate`).
    fn subscribed(&self) -> bool;
    /// Queues a push message; false if the client has no push queue.
    fn push(&self, msg: PushMessage) -> bool;
}

/// Looks connected clients up by id.
pub trait Directory {
    fn recipient(&self, id: u64) -> Option<Arc<dyn Recipient>>;
}

/// The options of CLIENT TRACKING ON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Client id invalidations are redirected to (0: none).
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
}

/// One tracking client's state, as CLIENT TRACKINGINFO and CLIENT LIST report it.
#[derive(Debug, Clone, Default)]
pub struct ClientTracking {
    pub options: Options,
    /// CLIENT CACHING YES (OPTIN) or NO (OPTOUT) given for the next command.
    pub caching: bool,
    /// The redirection target disconnected.
    pub broken_redirect: bool,
    /// BCAST prefixes (the empty prefix when none was given).
    pub prefixes: BTreeSet<Bytes>,
}

#[derive(Default)]
struct Table {
    clients: HashMap<u64, ClientTracking>,
    /// Key -> ids of the clients that read it (ids of clients that stopped tracking are
    /// skipped when the key is invalidated, as Redis does).
    keys: HashMap<Bytes, HashSet<u64>>,
    /// Sum of the id-set sizes of `keys` (INFO `tracking_total_items`).
    items: usize,
    /// BCAST prefix -> subscribed client ids.
    prefixes: BTreeMap<Bytes, BTreeSet<u64>>,
}

/// Keys modified under each BCAST prefix, with the client that modified them last (for
/// NOLOOP).
type Pending = BTreeMap<Bytes, BTreeMap<Bytes, Option<u64>>>;

/// The command being run on this thread: whose it is, and the BCAST keys it modified.
struct Scope {
    client: u64,
    pending: Pending,
    /// A script run by this command called a read-only command (the command's own keys
    /// are then tracked, as Redis does).
    script_read: bool,
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// The client whose command is running on this thread, if any.
fn current_client() -> Option<u64> {
    SCOPE.with(|s| s.borrow().as_ref().map(|scope| scope.client))
}

/// Redis's default `tracking-table-max-keys`.
const DEFAULT_MAX_KEYS: usize = 1_000_000;

/// The server's tracking table.
pub struct Tracking {
    table: Mutex<Table>,
    /// Whether any client has tracking on (the engine only reports modified keys then).
    active: AtomicBool,
    /// `tracking-table-max-keys` (0: unlimited).
    max_keys: AtomicUsize,
}

impl Default for Tracking {
    fn default() -> Self {
        Tracking {
            table: Mutex::new(Table::default()),
            active: AtomicBool::new(false),
            max_keys: AtomicUsize::new(DEFAULT_MAX_KEYS),
        }
    }
}

/// Whether one of two prefixes starts the other (prefixes of a client must not overlap).
pub fn prefixes_overlap(a: &[u8], b: &[u8]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// A finished command's scope; leaving it announces the BCAST keys it modified.
pub struct ScopeGuard<'a> {
    tracking: &'a Tracking,
    directory: &'a dyn Directory,
    /// False for a nested scope (the outer one announces).
    owner: bool,
}

impl Drop for ScopeGuard<'_> {
    fn drop(&mut self) {
        if !self.owner {
            return;
        }
        let Some(scope) = SCOPE.with(|s| s.borrow_mut().take()) else {
            return;
        };
        if !scope.pending.is_empty() {
            self.tracking.broadcast(self.directory, scope.pending);
        }
        if self.tracking.is_active() {
            self.tracking.enforce_limit(self.directory);
        }
    }
}

impl Tracking {
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Applies `tracking-table-max-keys` (enforced when the next command ends).
    pub fn set_max_keys(&self, max: usize) {
        self.max_keys.store(max, Ordering::Relaxed);
    }

    /// Marks the start of `client`'s command on this thread, until the guard drops.
    pub fn enter<'a>(&'a self, directory: &'a dyn Directory, client: u64) -> ScopeGuard<'a> {
        let owner = SCOPE.with(|s| {
            let mut s = s.borrow_mut();
            if s.is_some() {
                return false;
            }
            *s = Some(Scope {
                client,
                pending: Pending::new(),
                script_read: false,
            });
            true
        });
        ScopeGuard {
            tracking: self,
            directory,
            owner,
        }
    }

    /// Notes that a script called a read-only command (see [`Tracking::take_script_read`]).
    pub fn note_script_read(&self) {
        SCOPE.with(|s| {
            if let Some(scope) = s.borrow_mut().as_mut() {
                scope.script_read = true;
            }
        });
    }

    /// Whether a script called a read-only command since the last call.
    pub fn take_script_read(&self) -> bool {
        SCOPE.with(|s| {
            s.borrow_mut()
                .as_mut()
                .is_some_and(|scope| std::mem::take(&mut scope.script_read))
        })
    }

    /// `client`'s tracking state, if tracking is on.
    pub fn client(&self, client: u64) -> Option<ClientTracking> {
        self.table.lock().clients.get(&client).cloned()
    }

    /// CLIENT TRACKING ON (options already validated): turns tracking on or updates it, and
    /// subscribes a BCAST client to `prefixes` (the empty prefix when none is given).
    pub fn enable(&self, client: u64, options: Options, prefixes: &[Bytes]) {
        let mut table = self.table.lock();
        let entry = table.clients.entry(client).or_default();
        entry.options = options;
        entry.broken_redirect = false;
        let mut added = Vec::new();
        if options.bcast {
            let wanted: Vec<Bytes> = if prefixes.is_empty() {
                vec![Bytes::new()]
            } else {
                prefixes.to_vec()
            };
            for prefix in wanted {
                if entry.prefixes.insert(prefix.clone()) {
                    added.push(prefix);
                }
            }
        }
        for prefix in added {
            table.prefixes.entry(prefix).or_default().insert(client);
        }
        self.active.store(true, Ordering::Relaxed);
    }

    /// CLIENT TRACKING OFF, or the client disconnected.
    pub fn disable(&self, client: u64) {
        let mut table = self.table.lock();
        let Some(entry) = table.clients.remove(&client) else {
            return;
        };
        for prefix in entry.prefixes {
            if let Some(ids) = table.prefixes.get_mut(&prefix) {
                ids.remove(&client);
                if ids.is_empty() {
                    table.prefixes.remove(&prefix);
                }
            }
        }
        self.active
            .store(!table.clients.is_empty(), Ordering::Relaxed);
    }

    /// CLIENT CACHING YES|NO: applies to the client's next command.
    pub fn set_caching(&self, client: u64, caching: bool) {
        if let Some(entry) = self.table.lock().clients.get_mut(&client) {
            entry.caching = caching;
        }
    }

    /// Remembers that `client` read `keys` (default mode; OPTIN only after CLIENT CACHING
    /// YES, OPTOUT unless CLIENT CACHING NO).
    pub fn remember<'k>(&self, client: u64, keys: impl IntoIterator<Item = &'k Bytes>) {
        let mut table = self.table.lock();
        let Some(entry) = table.clients.get(&client) else {
            return;
        };
        let o = entry.options;
        if o.bcast || (o.optin && !entry.caching) || (o.optout && entry.caching) {
            return;
        }
        let mut added = 0;
        for key in keys {
            if table.keys.entry(key.clone()).or_default().insert(client) {
                added += 1;
            }
        }
        table.items += added;
    }

    /// Invalidates `keys`, just modified: clients that read them are told (once: their
    /// entries are dropped), and the keys are queued for the BCAST prefixes they fall under.
    pub fn modified(&self, directory: &dyn Directory, keys: &[Vec<u8>]) {
        let origin = current_client();
        let mut direct: Vec<(u64, Bytes)> = Vec::new();
        let mut pending = Pending::new();
        {
            let mut table = self.table.lock();
            for key in keys {
                for prefix in table.prefixes.keys() {
                    if key.starts_with(prefix) {
                        pending
                            .entry(prefix.clone())
                            .or_default()
                            .insert(Bytes::copy_from_slice(key), origin);
                    }
                }
                let Some(ids) = table.keys.remove(key.as_slice()) else {
                    continue;
                };
                table.items -= ids.len();
                let key = Bytes::copy_from_slice(key);
                for id in ids {
                    let receives = table.clients.get(&id).is_some_and(|c| {
                        // BCAST clients hear of keys through prefixes only.
                        let own_write = c.options.noloop && origin == Some(id);
                        !(c.options.bcast || own_write)
                    });
                    if receives {
                        direct.push((id, key.clone()));
                    }
                }
            }
        }
        for (id, key) in direct {
            self.send(directory, id, Some(vec![key]));
        }
        if pending.is_empty() {
            return;
        }
        // Inside a command, its keys are announced together when it ends.
        let deferred = SCOPE.with(|s| match s.borrow_mut().as_mut() {
            Some(scope) => {
                merge_pending(&mut scope.pending, std::mem::take(&mut pending));
                true
            }
            None => false,
        });
        if !deferred {
            self.broadcast(directory, pending);
        }
    }

    /// FLUSHALL/FLUSHDB: every tracking client is told to drop its whole cache (an
    /// `invalidate` with a null key list) and the table is emptied.
    pub fn flushed(&self, directory: &dyn Directory) {
        let ids: Vec<u64> = {
            let mut table = self.table.lock();
            table.keys = HashMap::new();
            table.items = 0;
            table.clients.keys().copied().collect()
        };
        for id in ids {
            self.send(directory, id, None);
        }
    }

    /// Announces BCAST keys to the clients subscribed to their prefixes, one message per
    /// prefix (without the keys a NOLOOP client modified itself).
    fn broadcast(&self, directory: &dyn Directory, pending: Pending) {
        let mut messages: Vec<(u64, Vec<Bytes>)> = Vec::new();
        {
            let table = self.table.lock();
            for (prefix, keys) in &pending {
                let Some(ids) = table.prefixes.get(prefix) else {
                    continue;
                };
                for &id in ids {
                    let noloop = table.clients.get(&id).is_some_and(|c| c.options.noloop);
                    let list: Vec<Bytes> = keys
                        .iter()
                        .filter(|(_, origin)| !(noloop && **origin == Some(id)))
                        .map(|(key, _)| key.clone())
                        .collect();
                    if !list.is_empty() {
                        messages.push((id, list));
                    }
                }
            }
        }
        for (id, keys) in messages {
            self.send(directory, id, Some(keys));
        }
    }

    /// Invalidates keys (any of them) until the table holds at most `tracking-table-max-keys`
    /// keys, as Redis evicts from a full tracking table.
    fn enforce_limit(&self, directory: &dyn Directory) {
        let max = self.max_keys.load(Ordering::Relaxed);
        if max == 0 {
            return;
        }
        let victims: Vec<Vec<u8>> = {
            let table = self.table.lock();
            let excess = table.keys.len().saturating_sub(max);
            table.keys.keys().take(excess).map(|k| k.to_vec()).collect()
        };
        if victims.is_empty() {
            return;
        }
        // Not attributed to the running command: a NOLOOP client is told too.
        let scope = SCOPE.with(|s| s.borrow_mut().take());
        self.modified(directory, &victims);
        SCOPE.with(|s| *s.borrow_mut() = scope);
    }

    /// Sends one invalidation (`None`: everything) for `client`, to it or to its
    /// redirection target.
    fn send(&self, directory: &dyn Directory, client: u64, keys: Option<Vec<Bytes>>) {
        let Some(redirect) = self
            .table
            .lock()
            .clients
            .get(&client)
            .map(|c| c.options.redirect)
        else {
            return;
        };
        if redirect == 0 {
            if let Some(target) = directory.recipient(client) {
                deliver(&*target, keys, false);
            }
            return;
        }
        match directory.recipient(redirect) {
            Some(target) => deliver(&*target, keys, true),
            None => {
                if let Some(entry) = self.table.lock().clients.get_mut(&client) {
                    entry.broken_redirect = true;
                }
                if let Some(me) = directory.recipient(client).filter(|c| c.resp3()) {
                    me.push(PushMessage::RedirectBroken(redirect));
                }
            }
        }
    }

    /// INFO: (tracking clients, keys, items, prefixes).
    pub fn stats(&self) -> (usize, usize, usize, usize) {
        let table = self.table.lock();
        (
            table.clients.len(),
            table.keys.len(),
            table.items,
            table.prefixes.len(),
        )
    }
}

fn merge_pending(into: &mut Pending, from: Pending) {
    for (prefix, keys) in from {
        into.entry(prefix).or_default().extend(keys);
    }
}

/// Only RESP3 clients can receive pushes; a RESP2 redirection target in pub/sub mode gets
/// a message on `__redis__:invalidate` instead, and other RESP2 clients get nothing.
fn deliver(target: &dyn Recipient, keys: Option<Vec<Bytes>>, redirected: bool) {
    if target.resp3() {
        target.push(PushMessage::Invalidate {
            keys,
            as_message: false,
        });
    } else if redirected && target.subscribed() {
        target.push(PushMessage::Invalidate {
            keys,
            as_message: true,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Client {
        resp3: bool,
        subscribed: bool,
        got: Mutex<Vec<PushMessage>>,
    }

    impl Recipient for Client {
        fn resp3(&self) -> bool {
            self.resp3
        }
        fn subscribed(&self) -> bool {
            self.subscribed
        }
        fn push(&self, msg: PushMessage) -> bool {
            self.got.lock().push(msg);
            true
        }
    }

    struct Clients(HashMap<u64, Arc<Client>>);

    impl Directory for Clients {
        fn recipient(&self, id: u64) -> Option<Arc<dyn Recipient>> {
            self.0.get(&id).map(|c| c.clone() as Arc<dyn Recipient>)
        }
    }

    fn keys_of(msg: &PushMessage) -> Vec<Bytes> {
        match msg {
            PushMessage::Invalidate { keys, .. } => keys.clone().unwrap_or_default(),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn resp3_client() -> Arc<Client> {
        Arc::new(Client {
            resp3: true,
            ..Default::default()
        })
    }

    #[test]
    fn a_read_key_is_invalidated_once() {
        let tracking = Tracking::default();
        let dir = Clients(HashMap::from([(1, resp3_client())]));
        tracking.enable(1, Options::default(), &[]);
        tracking.remember(1, &[Bytes::from("k")]);
        assert_eq!(tracking.stats(), (1, 1, 1, 0));
        tracking.modified(&dir, &[b"k".to_vec(), b"other".to_vec()]);
        tracking.modified(&dir, &[b"k".to_vec()]);
        let got = dir.0[&1].got.lock();
        assert_eq!(got.len(), 1);
        assert_eq!(keys_of(&got[0]), vec![Bytes::from("k")]);
    }

    #[test]
    fn bcast_keys_of_one_command_are_announced_per_prefix_when_it_ends() {
        let tracking = Tracking::default();
        let dir = Clients(HashMap::from([(1, resp3_client()), (2, resp3_client())]));
        let prefixes = [Bytes::from("a:"), Bytes::from("b:")];
        let bcast = Options {
            bcast: true,
            ..Default::default()
        };
        tracking.enable(1, bcast, &prefixes);
        {
            let _scope = tracking.enter(&dir, 2);
            for key in ["a:1", "a:2", "b:1", "c:1"] {
                tracking.modified(&dir, &[key.as_bytes().to_vec()]);
            }
            assert!(
                dir.0[&1].got.lock().is_empty(),
                "sent before the command ended"
            );
        }
        let got = dir.0[&1].got.lock();
        assert_eq!(got.len(), 2);
        assert_eq!(
            keys_of(&got[0]),
            vec![Bytes::from("a:1"), Bytes::from("a:2")]
        );
        assert_eq!(keys_of(&got[1]), vec![Bytes::from("b:1")]);
    }

    #[test]
    fn noloop_skips_the_clients_own_writes() {
        let tracking = Tracking::default();
        let dir = Clients(HashMap::from([(1, resp3_client())]));
        let noloop = Options {
            noloop: true,
            ..Default::default()
        };
        tracking.enable(1, noloop, &[]);
        tracking.remember(1, &[Bytes::from("mine"), Bytes::from("theirs")]);
        {
            let _scope = tracking.enter(&dir, 1);
            tracking.modified(&dir, &[b"mine".to_vec()]);
        }
        tracking.modified(&dir, &[b"theirs".to_vec()]);
        let got = dir.0[&1].got.lock();
        assert_eq!(got.len(), 1);
        assert_eq!(keys_of(&got[0]), vec![Bytes::from("theirs")]);
    }

    #[test]
    fn a_gone_redirection_target_is_reported_to_a_resp3_client() {
        let tracking = Tracking::default();
        let dir = Clients(HashMap::from([(1, resp3_client())]));
        let redirect = Options {
            redirect: 9,
            ..Default::default()
        };
        tracking.enable(1, redirect, &[]);
        tracking.remember(1, &[Bytes::from("k")]);
        tracking.modified(&dir, &[b"k".to_vec()]);
        assert!(matches!(
            dir.0[&1].got.lock()[..],
            [PushMessage::RedirectBroken(9)]
        ));
        assert!(tracking.client(1).unwrap().broken_redirect);
    }

    #[test]
    fn the_table_is_cut_down_to_its_limit() {
        let tracking = Tracking::default();
        let dir = Clients(HashMap::from([(1, resp3_client())]));
        tracking.enable(1, Options::default(), &[]);
        let keys: Vec<Bytes> = (0..10).map(|i| Bytes::from(format!("k{i}"))).collect();
        tracking.remember(1, &keys);
        tracking.set_max_keys(3);
        drop(tracking.enter(&dir, 1));
        assert_eq!(tracking.stats().1, 3);
        assert_eq!(dir.0[&1].got.lock().len(), 7);
    }
}
