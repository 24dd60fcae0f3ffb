//! Gradual write backpressure.
//!
//! fjall protects itself from writes its flushes and compactions cannot keep up with by
//! stopping the writer inside the commit: 100 ms sleeps while a keyspace has four sealed
//! memtables waiting to be flushed, and 10 ms sleeps for as long as a keyspace has 30 or
//! more L0 runs, that is until a compaction finishes, which under a bulk load can take
//! seconds. Commits run on the network thread, so that stops every client, readers too: a
//! second with no command served at all (issue 15).
//!
//! This throttle slows writers down before fjall stops them, in proportion to the backlog:
//! the background thread measures it every tick ([`pause_for`]), and at most once per
//! [`WINDOW`] a commit sleeps that long. Writes keep flowing at a reduced rate (at worst
//! [`MAX_PAUSE`] out of every [`WINDOW`]) while compaction catches up, instead of stopping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One pause per this much time at most.
pub const WINDOW: Duration = Duration::from_millis(100);
/// The longest pause: writes keep at least 40 % of their time.
pub const MAX_PAUSE: Duration = Duration::from_millis(60);
/// L0 runs (in any keyspace) from which writes are slowed; fjall slows them at 20 and
/// stops them at 30.
pub const L0_SLOWDOWN: usize = 12;
/// Sealed memtables awaiting flush (in any keyspace) from which writes are slowed; fjall
/// stops them at 4.
pub const SEALED_SLOWDOWN: usize = 3;

/// The pause (per [`WINDOW`]) for a backlog of `l0_runs` L0 runs and `sealed` memtables
/// awaiting flush, in the worst keyspace.
pub fn pause_for(l0_runs: usize, sealed: usize) -> Duration {
    let from_l0 = match l0_runs.checked_sub(L0_SLOWDOWN) {
        // 5 ms at the threshold, 5 ms more per run above it.
        Some(above) => Duration::from_millis(5 * (above as u64 + 1)),
        None => Duration::ZERO,
    };
    let from_sealed = if sealed >= SEALED_SLOWDOWN {
        Duration::from_millis(40)
    } else {
        Duration::ZERO
    };
    from_l0.max(from_sealed).min(MAX_PAUSE)
}

pub struct WriteThrottle {
    started: Instant,
    /// The pause in force, in microseconds (0 = none).
    pause_us: AtomicU64,
    /// When the last pause began, in microseconds since `started`.
    last_pause_us: AtomicU64,
    /// Total time commits spent paused, in microseconds (INFO `write_throttle_ms`).
    paused_us: AtomicU64,
}

impl Default for WriteThrottle {
    fn default() -> Self {
        WriteThrottle {
            started: Instant::now(),
            pause_us: AtomicU64::new(0),
            last_pause_us: AtomicU64::new(0),
            paused_us: AtomicU64::new(0),
        }
    }
}

impl WriteThrottle {
    /// Sets the pause from the backlog just measured.
    pub fn set_pause(&self, pause: Duration) {
        self.pause_us
            .store(pause.as_micros() as u64, Ordering::Relaxed);
    }

    /// Called before every commit: sleeps for the pause in force if no commit has paused
    /// in the last [`WINDOW`]. Without a backlog this is one atomic load.
    pub fn before_commit(&self) {
        let pause = self.pause_us.load(Ordering::Relaxed);
        if pause == 0 {
            return;
        }
        let now = self.started.elapsed().as_micros() as u64;
        let last = self.last_pause_us.load(Ordering::Relaxed);
        if now < last + WINDOW.as_micros() as u64 {
            return;
        }
        // One committer pauses per window; the others go on.
        if self
            .last_pause_us
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        std::thread::sleep(Duration::from_micros(pause));
        self.paused_us.fetch_add(pause, Ordering::Relaxed);
    }

    /// Total milliseconds commits have been paused.
    pub fn paused_ms(&self) -> u64 {
        self.paused_us.load(Ordering::Relaxed) / 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_backlog_no_pause() {
        assert_eq!(pause_for(0, 0), Duration::ZERO);
        assert_eq!(
            pause_for(L0_SLOWDOWN - 1, SEALED_SLOWDOWN - 1),
            Duration::ZERO
        );
    }

    #[test]
    fn pause_grows_with_l0_runs_and_is_capped() {
        assert_eq!(pause_for(L0_SLOWDOWN, 0), Duration::from_millis(5));
        assert_eq!(pause_for(L0_SLOWDOWN + 3, 0), Duration::from_millis(20));
        assert_eq!(pause_for(30, 0), MAX_PAUSE);
        assert_eq!(pause_for(0, SEALED_SLOWDOWN), Duration::from_millis(40));
        assert_eq!(pause_for(100, 4), MAX_PAUSE);
    }

    #[test]
    fn at_most_one_pause_per_window() {
        let throttle = WriteThrottle::default();
        throttle.before_commit();
        assert_eq!(throttle.paused_us.load(Ordering::Relaxed), 0);
        throttle.set_pause(Duration::from_millis(2));
        // The window since the (never taken) last pause has passed by now or soon.
        std::thread::sleep(WINDOW);
        let started = Instant::now();
        for _ in 0..100 {
            throttle.before_commit();
        }
        let elapsed = started.elapsed();
        assert_eq!(throttle.paused_us.load(Ordering::Relaxed), 2000);
        assert!(elapsed >= Duration::from_millis(2), "{elapsed:?}");
        throttle.set_pause(Duration::ZERO);
        std::thread::sleep(WINDOW);
        throttle.before_commit();
        assert_eq!(throttle.paused_ms(), 2);
    }
}
