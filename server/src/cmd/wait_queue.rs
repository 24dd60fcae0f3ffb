//! First blocked, first served: the order in which clients blocked on the same key may take
//! from it.
//!
//! A write to a key wakes every client blocked on it (`engine::signals`), and each re-runs
//! its command; without more, whichever thread runs first would win. Redis serves blocked
//! clients in the order they blocked, so list blocking commands also keep a per-key FIFO of
//! waiting client ids: a client may take from a key only if nobody waits on it or it is the
//! first in line, otherwise it blocks again (joining the end of the line the first time).
//!
//! A client's places in line are held by a [`WaitTicket`] kept in its `block_context`
//! until the command finishes (served, timed out, or the connection closed: dropping the
//! ticket leaves the lines). Leaving wakes the others in those lines through a separate
//! "turn" signal per key, so the next in line re-checks without the key's own change
//! counter moving (that counter is what WATCH compares).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::watch;

use crate::engine::Engine;

/// Waiting clients per metadata row key, first in line at the front.
#[derive(Default)]
pub struct WaitQueues {
    lines: Mutex<HashMap<Vec<u8>, VecDeque<u64>>>,
}

/// The locked lines: check whose turn it is and join atomically.
pub struct Lines<'q>(MutexGuard<'q, HashMap<Vec<u8>, VecDeque<u64>>>);

impl WaitQueues {
    pub fn lock(&self) -> Lines<'_> {
        Lines(self.lines.lock())
    }

    /// Removes `client` from the lines of `keys`; returns the keys where others still wait.
    fn leave(&self, keys: &[Vec<u8>], client: u64) -> Vec<Vec<u8>> {
        let mut lines = self.lines.lock();
        let mut others_waiting = Vec::new();
        for key in keys {
            if let Some(line) = lines.get_mut(key) {
                line.retain(|&id| id != client);
                if line.is_empty() {
                    lines.remove(key);
                } else {
                    others_waiting.push(key.clone());
                }
            }
        }
        others_waiting
    }
}

impl Lines<'_> {
    /// Whether `client` may take from `key` now: nobody waits on it, or `client` is first.
    pub fn may_serve(&self, key: &[u8], client: u64) -> bool {
        self.0
            .get(key)
            .and_then(|line| line.front())
            .is_none_or(|&first| first == client)
    }

    /// Puts `client` at the end of the lines of `keys` (each once).
    fn join(&mut self, keys: &[Vec<u8>], client: u64) {
        for key in keys {
            let line = self.0.entry(key.clone()).or_default();
            if !line.contains(&client) {
                line.push_back(client);
            }
        }
    }
}

/// The signal key announcing that the line of `meta_key` moved. Metadata row keys start
/// with a slot number below 2^14, so a key starting with 0xFF is never one of them.
pub fn turn_key(meta_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(meta_key.len() + 1);
    key.push(0xFF);
    key.extend_from_slice(meta_key);
    key
}

/// A client's places in the lines of the keys it blocks on; leaving happens on drop.
pub struct WaitTicket {
    queues: Arc<WaitQueues>,
    engine: Arc<Engine>,
    client: u64,
    keys: Vec<Vec<u8>>,
}

impl WaitTicket {
    /// Joins the lines of `keys` (metadata row keys) under `lines`, the lock of `queues`.
    pub fn join(
        queues: &Arc<WaitQueues>,
        lines: &mut Lines,
        engine: &Arc<Engine>,
        client: u64,
        keys: Vec<Vec<u8>>,
    ) -> WaitTicket {
        lines.join(&keys, client);
        WaitTicket {
            queues: queues.clone(),
            engine: engine.clone(),
            client,
            keys,
        }
    }

    /// Registers interest in the turn signals of the ticket's keys (released, like the
    /// key signals, when the wait ends).
    pub fn turn_signals(&self) -> Vec<(Vec<u8>, watch::Receiver<u64>)> {
        self.keys
            .iter()
            .map(|key| {
                let turn = turn_key(key);
                let rx = self.engine.signals.acquire(&turn);
                (turn, rx)
            })
            .collect()
    }
}

impl Drop for WaitTicket {
    fn drop(&mut self) {
        for key in self.queues.leave(&self.keys, self.client) {
            self.engine.signals.touch(&turn_key(&key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_in_line_is_served_first() {
        let queues = WaitQueues::default();
        let key = b"k".to_vec();
        let mut lines = queues.lock();
        assert!(lines.may_serve(&key, 1));
        lines.join(std::slice::from_ref(&key), 1);
        lines.join(std::slice::from_ref(&key), 2);
        lines.join(std::slice::from_ref(&key), 1);
        assert!(lines.may_serve(&key, 1));
        assert!(!lines.may_serve(&key, 2));
        assert!(!lines.may_serve(&key, 3));
        drop(lines);
        assert_eq!(
            queues.leave(std::slice::from_ref(&key), 1),
            vec![key.clone()]
        );
        assert!(queues.lock().may_serve(&key, 2));
        assert!(queues.leave(std::slice::from_ref(&key), 2).is_empty());
        assert!(queues.lock().0.is_empty());
    }

    #[test]
    fn turn_keys_are_never_metadata_keys() {
        let meta = crate::engine::keys::meta_key(0, b"k");
        assert!(meta[0] < 0x40);
        assert_eq!(turn_key(&meta)[0], 0xFF);
    }
}
