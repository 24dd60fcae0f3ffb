//! Disk space. fjall treats a failed journal write as fatal: after ENOSPC it refuses every
//! write until the process restarts. So the engine stops taking writes *before* the disk is
//! full: while the data directory's filesystem has less free space than `disk-reserve`,
//! write commands get Redis's `MISCONF` error (as Redis answers when its AOF cannot be
//! written), and they are accepted again by themselves once space returns. The reserve
//! covers what fjall writes on its own meanwhile (memtable flushes, compactions) and what
//! is in flight between two checks.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Redis's reply while its AOF cannot be written for lack of space.
pub const DISK_FULL_ERROR: &str = "MISCONF Errors writing to the AOF file: No space left on device";
/// The reply once fjall has stopped taking writes (a write failed before the reserve check
/// caught a filling disk, or another I/O error).
pub const STORE_STOPPED_ERROR: &str = "MISCONF Errors writing to the AOF file: the store stopped taking writes after a failed write (see the server log); restart the server once the cause, such as a full disk, is fixed";
/// How often free space is measured.
const CHECK_INTERVAL: Duration = Duration::from_millis(100);
/// Default `disk-reserve`.
pub const DEFAULT_RESERVE: u64 = 128 << 20;

pub struct DiskGuard {
    dir: PathBuf,
    reserve: AtomicU64,
    full: AtomicBool,
    /// Set once fjall itself failed a write for lack of space: it then refuses writes until
    /// restart, whatever the free space (see the module comment).
    store_poisoned: AtomicBool,
}

impl DiskGuard {
    pub fn new(dir: &Path) -> DiskGuard {
        DiskGuard {
            dir: dir.to_path_buf(),
            reserve: AtomicU64::new(DEFAULT_RESERVE),
            full: AtomicBool::new(false),
            store_poisoned: AtomicBool::new(false),
        }
    }

    pub fn set_reserve(&self, bytes: u64) {
        self.reserve.store(bytes, Ordering::Relaxed);
        self.refresh();
    }

    /// Whether writes are refused now.
    pub fn refuses_writes(&self) -> bool {
        self.full.load(Ordering::Relaxed) || self.store_poisoned.load(Ordering::Relaxed)
    }

    /// `Err` with the refusal if writes are refused now (see [`DiskGuard::refusal`]).
    pub fn admit_writes(&self) -> Result<(), super::EngineError> {
        if self.refuses_writes() {
            return Err(super::EngineError::WritesRefused(self.refusal()));
        }
        Ok(())
    }

    /// The error for a refused write.
    pub fn refusal(&self) -> &'static str {
        if self.store_poisoned.load(Ordering::Relaxed) {
            STORE_STOPPED_ERROR
        } else {
            DISK_FULL_ERROR
        }
    }

    /// Records that the store failed a write and stopped taking writes (logged once).
    pub fn note_store_stopped(&self) {
        if !self.store_poisoned.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "the store failed a journal write (see the error above) and takes no more writes until restart; nothing acknowledged is lost"
            );
        }
    }

    /// Measures free space and updates the state, logging once per change.
    pub fn refresh(&self) {
        let Ok(available) = available_bytes(&self.dir) else {
            return;
        };
        let reserve = self.reserve.load(Ordering::Relaxed);
        let full = available < reserve;
        if self.full.swap(full, Ordering::Relaxed) != full {
            if full {
                tracing::warn!(
                    "refusing writes: {available} bytes free in {}, under disk-reserve {reserve} (MISCONF)",
                    self.dir.display()
                );
            } else {
                tracing::warn!(
                    "accepting writes again: {available} bytes free in {}",
                    self.dir.display()
                );
            }
        }
    }

    /// Measures free space every [`CHECK_INTERVAL`] while the guard is alive.
    pub fn spawn_watcher(guard: &Arc<DiskGuard>) {
        let weak: Weak<DiskGuard> = Arc::downgrade(guard);
        let spawned = std::thread::Builder::new()
            .name("redyn-disk".into())
            .spawn(move || {
                while let Some(guard) = weak.upgrade() {
                    guard.refresh();
                    drop(guard);
                    std::thread::sleep(CHECK_INTERVAL);
                }
            });
        if let Err(e) = spawned {
            tracing::error!("disk space watcher not started: {e}");
        }
    }
}

/// Bytes an unprivileged process may still write on the filesystem holding `dir`.
fn available_bytes(dir: &Path) -> std::io::Result<u64> {
    let stats = rustix::fs::statvfs(dir)?;
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// Whether a storage error means fjall takes no more writes (it poisons itself after a
/// failed journal write, ENOSPC being the usual cause).
pub fn stops_the_store(error: &fjall::Error) -> bool {
    match error {
        fjall::Error::Io(io) => io.kind() == std::io::ErrorKind::StorageFull,
        fjall::Error::Poisoned => true,
        _ => false,
    }
}
