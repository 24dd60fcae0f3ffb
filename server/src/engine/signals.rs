//! Per-key change signals, used by WATCH (did the key change since?) and by blocking
//! commands (wake me when the key changes).
//!
//! Only keys somebody is interested in have an entry, so transactions pay a single atomic
//! load when nobody watches anything.

use std::sync::atomic::{AtomicUsize, Ordering};

use dashmap::DashMap;
use tokio::sync::watch;

struct Signal {
    refs: usize,
    changes: watch::Sender<u64>,
}

#[derive(Default)]
pub struct KeySignals {
    map: DashMap<Vec<u8>, Signal>,
    active: AtomicUsize,
}

impl KeySignals {
    /// Whether any key is being watched (transactions then record the keys they touch).
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed) > 0
    }

    /// Registers interest in a metadata row key; returns a receiver whose value is the
    /// key's change counter. Must be paired with [`KeySignals::release`].
    pub fn acquire(&self, meta_key: &[u8]) -> watch::Receiver<u64> {
        let mut entry = self.map.entry(meta_key.to_vec()).or_insert_with(|| {
            self.active.fetch_add(1, Ordering::Relaxed);
            Signal {
                refs: 0,
                changes: watch::channel(0).0,
            }
        });
        entry.refs += 1;
        entry.changes.subscribe()
    }

    /// Drops one registration of interest.
    pub fn release(&self, meta_key: &[u8]) {
        let removed = self
            .map
            .remove_if_mut(meta_key, |_, signal| {
                signal.refs = signal.refs.saturating_sub(1);
                signal.refs == 0
            })
            .is_some();
        if removed {
            self.active.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Marks a key as changed.
    pub fn touch(&self, meta_key: &[u8]) {
        if let Some(signal) = self.map.get(meta_key) {
            signal.changes.send_modify(|c| *c += 1);
        }
    }

    /// The metadata row keys somebody watches or blocks on.
    pub fn watched(&self) -> Vec<Vec<u8>> {
        self.map.iter().map(|e| e.key().clone()).collect()
    }

    /// Marks every watched key as changed.
    pub fn touch_all(&self) {
        for signal in self.map.iter() {
            signal.changes.send_modify(|c| *c += 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_is_seen_by_receivers_and_release_cleans_up() {
        let signals = KeySignals::default();
        assert!(!signals.active());
        let rx = signals.acquire(b"k");
        assert!(signals.active());
        assert_eq!(*rx.borrow(), 0);
        signals.touch(b"k");
        signals.touch(b"other");
        assert_eq!(*rx.borrow(), 1);
        signals.release(b"k");
        assert!(!signals.active());
    }
}
