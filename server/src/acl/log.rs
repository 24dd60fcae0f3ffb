//! ACL LOG: the most recent permission and authentication failures, newest first. As in
//! Redis, a failure like one of the last few (same reason, context, object and user, less
//! than a minute ago) only bumps that entry's count.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Entries kept (Redis's `acllog-max-len` default).
pub const DEFAULT_MAX_LEN: usize = 128;
/// How many recent entries a new failure is compared with, and for how long.
const GROUPING_SCAN: usize = 10;
const GROUPING_WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Command,
    Key,
    Channel,
    Auth,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Channel => "channel",
            Reason::Auth => "auth",
        }
    }
}

/// Where the denied call came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Toplevel,
    Multi,
    Lua,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::Toplevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub count: u64,
    pub reason: Reason,
    pub context: Context,
    /// The command's full name, the key, the channel, or `AUTH`.
    pub object: String,
    pub username: String,
    pub created: Instant,
    /// CLIENT INFO of the client at the (latest) failure.
    pub client_info: String,
}

impl Entry {
    fn same_failure(&self, other: &Entry) -> bool {
        self.reason == other.reason
            && self.context == other.context
            && self.object == other.object
            && self.username == other.username
    }
}

#[derive(Debug)]
pub struct AclLog {
    entries: Mutex<VecDeque<Entry>>,
}

impl Default for AclLog {
    fn default() -> Self {
        AclLog {
            entries: Mutex::new(VecDeque::new()),
        }
    }
}

impl AclLog {
    /// Records a failure, keeping at most `max_len` entries.
    pub fn add(&self, entry: Entry, max_len: usize) {
        let mut entries = self.entries.lock();
        let similar = entries.iter().take(GROUPING_SCAN).position(|e| {
            e.same_failure(&entry) && entry.created.duration_since(e.created) < GROUPING_WINDOW
        });
        let entry = match similar.and_then(|at| entries.remove(at)) {
            Some(old) => Entry {
                count: old.count + 1,
                ..entry
            },
            None => entry,
        };
        entries.push_front(entry);
        entries.truncate(max_len);
    }

    /// The newest `count` entries (all with `None`).
    pub fn recent(&self, count: Option<usize>) -> Vec<Entry> {
        let entries = self.entries.lock();
        entries
            .iter()
            .take(count.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    pub fn reset(&self) {
        self.entries.lock().clear();
    }
}
