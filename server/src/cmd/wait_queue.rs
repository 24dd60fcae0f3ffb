//! First blocked, first served: the order in which clients blocked on the same key may take
//! from it, and who is woken when it may have something to take.
//!
//! Redis serves clients blocked on a key in the order they blocked. Here each blocking
//! command family (lists, sorted sets) keeps a per-key FIFO line of waiting client ids: a
//! client may take from a key only if nobody waits on it or it is first in line; otherwise
//! it joins the end of the line (once) and waits.
//!
//! Only the first in line listens to the key's change signal (`engine::signals`), so a push
//! wakes one client, not every client blocked on the key. Every waiter also listens to its
//! own "turn" signal: when the first in line leaves the line (served, timed out, unblocked or
//! disconnected; dropping its [`WaitTicket`] leaves), the next one is handed the turn through
//! that signal. It then re-runs its command: it takes what is there, or blocks again, now as
//! the first in line listening to the key. The key's own change counter never moves for a
//! hand-over (that counter is what WATCH compares).
//!
//! No wake-up is lost: whether a client may serve, joining the line and registering for the
//! key's signal happen under the keys' locks and the lines' lock together (a push needs the
//! key lock, a hand-over the lines' lock), and the turn signal is registered before the lines'
//! lock is released, so a hand-over that happens later is seen.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard};
use redyn_protocol::Reply;

use super::errors::CmdError;
use super::{CmdResult, Ctx};
use crate::engine::{keys::meta_key, Engine, Txn};

/// Which blocking commands a line is for: a key holds one type at a time, and a list waiter
/// must never stand in the way of a sorted-set waiter on the same key (Redis serves each
/// blocked client from keys of its own type only).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Family {
    List,
    ZSet,
}

impl Family {
    fn tag(self) -> u8 {
        match self {
            Family::List => b'l',
            Family::ZSet => b'z',
        }
    }
}

/// The line of one family on one key: the family's tag, then the key's metadata row key.
fn line_key(family: Family, meta: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(meta.len() + 1);
    key.push(family.tag());
    key.extend_from_slice(meta);
    key
}

/// Waiting clients per line, first in line at the front.
#[derive(Default)]
pub struct WaitQueues {
    lines: Mutex<HashMap<Vec<u8>, VecDeque<u64>>>,
}

/// The locked lines: check whose turn it is and join atomically.
pub struct Lines<'q>(MutexGuard<'q, HashMap<Vec<u8>, VecDeque<u64>>>);

impl WaitQueues {
    fn lock(&self) -> Lines<'_> {
        Lines(self.lines.lock())
    }

    /// Removes `client` from `lines`; returns the clients that became first in one of them
    /// (each once), whose turn it now is.
    fn leave(&self, lines: &[Vec<u8>], client: u64) -> Vec<u64> {
        let mut queues = self.lines.lock();
        let mut now_first = Vec::new();
        for key in lines {
            let Some(line) = queues.get_mut(key) else {
                continue;
            };
            let was_first = line.front() == Some(&client);
            line.retain(|&id| id != client);
            match line.front() {
                None => {
                    queues.remove(key);
                }
                Some(&next) if was_first && !now_first.contains(&next) => now_first.push(next),
                Some(_) => {}
            }
        }
        now_first
    }
}

impl Lines<'_> {
    /// Whether `client` may take from the key of `line` now: nobody waits, or it is first.
    fn may_serve(&self, line: &[u8], client: u64) -> bool {
        self.0
            .get(line)
            .and_then(|line| line.front())
            .is_none_or(|&first| first == client)
    }

    /// Puts `client` at the end of `lines` (each once).
    fn join(&mut self, lines: &[Vec<u8>], client: u64) {
        for key in lines {
            let line = self.0.entry(key.clone()).or_default();
            if !line.contains(&client) {
                line.push_back(client);
            }
        }
    }
}

/// The signal key that hands `client` its turn. Metadata row keys start with a slot number
/// below 2^14, so a key starting with 0xFF is never one of them.
fn turn_key(client: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(9);
    key.push(0xFF);
    key.extend_from_slice(&client.to_be_bytes());
    key
}

/// A client's places in the lines of the keys it blocks on; leaving happens on drop.
pub struct WaitTicket {
    queues: Arc<WaitQueues>,
    engine: Arc<Engine>,
    client: u64,
    lines: Vec<Vec<u8>>,
}

impl Drop for WaitTicket {
    fn drop(&mut self) {
        for next in self.queues.leave(&self.lines, self.client) {
            self.engine.signals.touch(&turn_key(next));
        }
    }
}

/// Whether this client may take from `key` now (nobody of `family` blocked on it earlier
/// still waits). Commands that do not block need not ask: only blocked clients keep order.
pub fn may_take(ctx: &Ctx, family: Family, key: &[u8]) -> bool {
    let line = line_key(family, &meta_key(ctx.db(), key));
    ctx.server.waiters.lock().may_serve(&line, ctx.client.id)
}

/// Whether this run of a blocking command is a retry after a wake-up (it holds places in
/// the wait lines).
pub fn is_retry(ctx: &Ctx) -> bool {
    ctx.client
        .block_context
        .as_ref()
        .is_some_and(|c| c.is::<WaitTicket>())
}

/// Runs a blocking command of `family`: `serve` tries to answer from the keys (skipping keys
/// it may not take, see [`may_take`]); when it cannot, the client waits in line on `keys`
/// and `serve` runs again when its turn comes or a key it is first in line on changes.
/// `has_items` tells whether a key holds something to take. Inside MULTI/EXEC it answers
/// `in_multi` instead of waiting.
pub fn serve_or_block(
    ctx: &mut Ctx,
    family: Family,
    keys: &[Bytes],
    timeout: Option<Duration>,
    in_multi: Reply,
    has_items: fn(&mut Txn, &[u8]) -> bool,
    mut serve: impl FnMut(&mut Ctx) -> Result<Option<Reply>, CmdError>,
) -> CmdResult {
    loop {
        if let Some(reply) = serve(ctx)? {
            // Leave the lines at once so the next waiter's turn comes.
            ctx.client.block_context = None;
            return Ok(reply);
        }
        if ctx.locks.is_held() {
            return Ok(in_multi);
        }
        let blocking = Blocking {
            family,
            keys,
            timeout,
            has_items,
        };
        if let Some(reply) = blocking.block_unless_servable(ctx)? {
            return Ok(reply);
        }
    }
}

/// What a blocking command waits on.
struct Blocking<'k> {
    family: Family,
    keys: &'k [Bytes],
    timeout: Option<Duration>,
    has_items: fn(&mut Txn, &[u8]) -> bool,
}

impl Blocking<'_> {
    /// Blocks the client unless one of the keys has items it may take (then `None`: the
    /// caller serves again). Registers for the change signals of the keys it is first in
    /// line on, and for its own turn signal.
    fn block_unless_servable(&self, ctx: &mut Ctx) -> Result<Option<Reply>, CmdError> {
        let refs: Vec<&[u8]> = self.keys.iter().map(|k| k.as_ref()).collect();
        let mut guard = ctx.txn(&refs);
        let lines_of_keys: Vec<Vec<u8>> = self
            .keys
            .iter()
            .map(|key| line_key(self.family, &meta_key(ctx.db(), key)))
            .collect();
        let queues = ctx.server.waiters.clone();
        let mut lines = queues.lock();
        let client = ctx.client.id;
        for (key, line) in self.keys.iter().zip(&lines_of_keys) {
            if lines.may_serve(line, client) && (self.has_items)(&mut guard, key) {
                return Ok(None);
            }
        }
        if !is_retry(ctx) {
            let mut unique: Vec<Vec<u8>> = Vec::with_capacity(lines_of_keys.len());
            for line in &lines_of_keys {
                if !unique.contains(line) {
                    unique.push(line.clone());
                }
            }
            lines.join(&unique, client);
            ctx.client.block_context = Some(Box::new(WaitTicket {
                queues: queues.clone(),
                engine: ctx.server.engine.clone(),
                client,
                lines: unique,
            }));
        }
        let first_on: Vec<&[u8]> = refs
            .iter()
            .zip(&lines_of_keys)
            .filter(|(_, line)| lines.may_serve(line, client))
            .map(|(key, _)| *key)
            .collect();
        let reply = ctx.block_on(&first_on, self.timeout)?;
        if let Some(blocked) = ctx.client.blocked.as_mut() {
            // Released with the key signals when the wait ends (`net::conn`).
            let turn = turn_key(client);
            let turn_signal = ctx.server.engine.signals.acquire(&turn);
            blocked.signals.push((turn, turn_signal));
        }
        drop(lines);
        drop(guard);
        Ok(Some(reply))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &[u8]) -> Vec<u8> {
        line_key(Family::List, name)
    }

    #[test]
    fn first_in_line_is_served_first() {
        let queues = WaitQueues::default();
        let key = line(b"k");
        let mut lines = queues.lock();
        assert!(lines.may_serve(&key, 1));
        lines.join(std::slice::from_ref(&key), 1);
        lines.join(std::slice::from_ref(&key), 2);
        lines.join(std::slice::from_ref(&key), 1);
        assert!(lines.may_serve(&key, 1));
        assert!(!lines.may_serve(&key, 2));
        assert!(!lines.may_serve(&key, 3));
        drop(lines);
        assert_eq!(queues.leave(std::slice::from_ref(&key), 1), vec![2]);
        assert!(queues.lock().may_serve(&key, 2));
        assert!(queues.leave(std::slice::from_ref(&key), 2).is_empty());
        assert!(queues.lock().0.is_empty());
    }

    #[test]
    fn only_leaving_the_front_hands_the_turn_on() {
        let queues = WaitQueues::default();
        let (a, b) = (line(b"a"), line(b"b"));
        let mut lines = queues.lock();
        lines.join(&[a.clone(), b.clone()], 1);
        lines.join(std::slice::from_ref(&a), 2);
        lines.join(&[a.clone(), b.clone()], 3);
        drop(lines);
        // 3 is behind someone on both lines: nobody's turn changes.
        assert!(queues.leave(&[a.clone(), b.clone()], 3).is_empty());
        lines = queues.lock();
        lines.join(&[a.clone(), b.clone()], 3);
        drop(lines);
        // 1 was first on both: 2 gets a's turn, 3 gets b's, each told once.
        assert_eq!(queues.leave(&[a.clone(), b.clone()], 1), vec![2, 3]);
        assert_eq!(queues.leave(std::slice::from_ref(&a), 2), vec![3]);
    }

    #[test]
    fn families_wait_in_separate_lines() {
        let queues = WaitQueues::default();
        let meta = meta_key(0, b"k");
        let mut lines = queues.lock();
        lines.join(&[line_key(Family::List, &meta)], 1);
        assert!(lines.may_serve(&line_key(Family::ZSet, &meta), 2));
        assert!(!lines.may_serve(&line_key(Family::List, &meta), 2));
    }

    #[test]
    fn turn_keys_are_never_metadata_keys() {
        let meta = meta_key(0, b"k");
        assert!(meta[0] < 0x40);
        assert_eq!(turn_key(7)[0], 0xFF);
        assert_ne!(turn_key(7), turn_key(8));
    }
}
