//! What other clients may see of the running script: whether it has run past
//! `busy-reply-threshold` (they then get BUSY), whether a kill was asked, whether it wrote
//! (then it cannot be killed). Kept outside the VM's lock so SCRIPT KILL never waits for it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

/// The running script, if any.
#[derive(Default)]
pub struct RunState {
    running: AtomicBool,
    /// Set once the script has run longer than the busy threshold.
    busy: AtomicBool,
    kill_requested: AtomicBool,
    wrote: AtomicBool,
    is_function: AtomicBool,
    /// Milliseconds after which a running script makes other clients answer BUSY.
    threshold_ms: AtomicU64,
    current: Mutex<Option<Running>>,
}

/// The script running now (FUNCTION STATS shows it).
#[derive(Clone)]
pub struct Running {
    pub name: String,
    pub started: Instant,
    /// The command that started it (`eval`, `fcall`…) and its arguments, for FUNCTION STATS.
    pub command: Vec<bytes::Bytes>,
}

/// Why a running script may not be killed.
#[derive(Debug, PartialEq, Eq)]
pub enum KillError {
    NotRunning,
    WrongKind,
    Unkillable,
}

impl RunState {
    pub fn set_threshold_ms(&self, ms: u64) {
        self.threshold_ms.store(ms, Ordering::Relaxed);
    }

    /// Marks a script as started.
    pub fn start(&self, running: Running, is_function: bool) {
        self.kill_requested.store(false, Ordering::SeqCst);
        self.wrote.store(false, Ordering::SeqCst);
        self.busy.store(false, Ordering::SeqCst);
        self.is_function.store(is_function, Ordering::SeqCst);
        *self.current.lock() = Some(running);
        self.running.store(true, Ordering::SeqCst);
    }

    pub fn finish(&self) {
        self.running.store(false, Ordering::SeqCst);
        self.busy.store(false, Ordering::SeqCst);
        *self.current.lock() = None;
    }

    pub fn current(&self) -> Option<Running> {
        self.current.lock().clone()
    }

    /// Called from the VM's periodic hook: notes when the script crosses the threshold.
    pub fn check_busy(&self) {
        if self.busy.load(Ordering::Relaxed) {
            return;
        }
        let threshold = self.threshold_ms.load(Ordering::Relaxed);
        if let Some(cur) = self.current.lock().as_ref() {
            if cur.started.elapsed().as_millis() as u64 >= threshold {
                self.busy.store(true, Ordering::SeqCst);
            }
        }
    }

    /// Whether a script or function is running now.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Whether other clients must be answered BUSY; `Some(true)` when a function runs.
    pub fn busy(&self) -> Option<bool> {
        (self.running.load(Ordering::SeqCst) && self.busy.load(Ordering::SeqCst))
            .then(|| self.is_function.load(Ordering::SeqCst))
    }

    pub fn note_write(&self) {
        self.wrote.store(true, Ordering::SeqCst);
    }

    pub fn kill_requested(&self) -> bool {
        self.kill_requested.load(Ordering::Relaxed)
    }

    /// SCRIPT KILL (`function == false`) or FUNCTION KILL.
    pub fn request_kill(&self, function: bool) -> Result<(), KillError> {
        if !self.running.load(Ordering::SeqCst) {
            return Err(KillError::NotRunning);
        }
        if self.is_function.load(Ordering::SeqCst) != function {
            return Err(KillError::WrongKind);
        }
        if self.wrote.load(Ordering::SeqCst) {
            return Err(KillError::Unkillable);
        }
        self.kill_requested.store(true, Ordering::SeqCst);
        Ok(())
    }
}
