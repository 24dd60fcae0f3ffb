//! `appendfsync` for the journal.
//!
//! Every commit appends a record to the journal buffer. Rather than
//! a `write()` per batch, the buffer is handed to the OS by whoever needs it there, like
//! Redis's AOF buffer, and modes differ in when the journal is fsynced:
//! - `always`: before the reply is sent. Connections that wrote wait for a sync covering
//!   their write; one fsync covers every write that happened before it (group commit).
//! - `everysec`: a background thread fsyncs once a second (the default) and writes the
//!   buffer out every 100 ms in between.
//! - `no`: the buffer is written out every 100 ms; the OS decides when it reaches disk.
//!
//! In every mode a reply is sent only once the writes it acknowledges have been handed to the
//! OS ([`Durability::must_write_out`], [`Durability::write_through`]): Redis's guarantee that
//! a crash of the process (kill -9, a panic) loses nothing acknowledged, only a crash of the
//! machine may cost the last second under `everysec`. Like Redis, which writes its AOF
//! buffer once per event-loop turn before sending replies, one `write()` covers every write
//! committed before it, whichever connection made it.
//!
//! Every committed batch takes a sequence number ([`Durability::note_write`], through
//! `Engine::commit`), which is how `always` knows what a reply must wait for.
//!
//! The journal is the write buffer's (see [`super::write_buffer`]); the fsync runs outside
//! its lock, so commits on other connections go on while the disk works.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use parking_lot::Mutex;

use super::write_buffer::WriteBuffer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendFsync {
    Always,
    EverySec,
    No,
}

impl AppendFsync {
    pub fn parse(s: &str) -> Option<AppendFsync> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(AppendFsync::Always),
            "everysec" => Some(AppendFsync::EverySec),
            "no" => Some(AppendFsync::No),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AppendFsync::Always => "always",
            AppendFsync::EverySec => "everysec",
            AppendFsync::No => "no",
        }
    }

    fn to_u8(self) -> u8 {
        self as u8
    }

    fn from_u8(v: u8) -> AppendFsync {
        match v {
            0 => AppendFsync::Always,
            1 => AppendFsync::EverySec,
            _ => AppendFsync::No,
        }
    }
}

pub struct Durability {
    mode: AtomicU8,
    /// Sequence number of the last committed write.
    written: AtomicU64,
    /// Every write with a sequence number up to this one is on disk.
    synced: AtomicU64,
    /// Every write with a sequence number up to this one has reached the OS (page cache).
    handed_to_os: AtomicU64,
    sync_lock: Mutex<()>,
    write_lock: Mutex<()>,
}

impl Durability {
    pub fn new(mode: AppendFsync) -> Durability {
        Durability {
            mode: AtomicU8::new(mode.to_u8()),
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            handed_to_os: AtomicU64::new(0),
            sync_lock: Mutex::new(()),
            write_lock: Mutex::new(()),
        }
    }

    pub fn mode(&self) -> AppendFsync {
        AppendFsync::from_u8(self.mode.load(Ordering::Relaxed))
    }

    pub fn set_mode(&self, mode: AppendFsync) {
        self.mode.store(mode.to_u8(), Ordering::Relaxed);
    }

    /// Records a committed write (it takes the next sequence number, see [`Self::written`]).
    pub(crate) fn note_write(&self) {
        self.written.fetch_add(1, Ordering::SeqCst);
    }

    /// Sequence number of the last committed write.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    /// Whether a write with sequence number `seq` must be synced before replying.
    pub fn must_sync(&self, seq: u64) -> bool {
        seq > 0 && self.mode() == AppendFsync::Always && self.synced.load(Ordering::SeqCst) < seq
    }

    /// Blocks until every write up to `seq` is on disk. Concurrent callers share fsyncs: the
    /// one holding the lock syncs everything written so far, the others find their write
    /// already covered.
    pub(crate) fn sync_through(&self, journal: &WriteBuffer, seq: u64) -> std::io::Result<()> {
        let _guard = self.sync_lock.lock();
        if self.synced.load(Ordering::SeqCst) >= seq {
            return Ok(());
        }
        let upto = self.written.load(Ordering::SeqCst);
        journal.write_out()?;
        self.handed_to_os.fetch_max(upto, Ordering::SeqCst);
        journal.sync()?;
        self.synced.fetch_max(upto, Ordering::SeqCst);
        Ok(())
    }

    /// Whether the write with sequence number `seq` must still be handed to the OS before a
    /// reply acknowledging it is sent (under `always` the sync does it).
    pub fn must_write_out(&self, seq: u64) -> bool {
        seq > 0 && self.handed_to_os.load(Ordering::SeqCst) < seq
    }

    /// Hands the journal buffer to the OS unless a concurrent caller already covered `seq`:
    /// the one holding the lock writes out everything committed so far, the others find
    /// their write covered (one `write()` per batch of replies, not per connection).
    pub(crate) fn write_through(&self, journal: &WriteBuffer, seq: u64) -> std::io::Result<()> {
        let _guard = self.write_lock.lock();
        if self.handed_to_os.load(Ordering::SeqCst) >= seq {
            return Ok(());
        }
        self.write_out(journal)
    }

    /// Hands buffered journal bytes to the OS without fsyncing (also the periodic flush of
    /// the `no` and `everysec` policies).
    pub(crate) fn write_out(&self, journal: &WriteBuffer) -> std::io::Result<()> {
        // Commits bump `written` after appending to the journal buffer, so everything up to
        // the value read here is in the buffer this call writes out.
        let upto = self.written.load(Ordering::SeqCst);
        journal.write_out()?;
        self.handed_to_os.fetch_max(upto, Ordering::SeqCst);
        Ok(())
    }

    /// Syncs everything written so far (the `everysec` tick, shutdown).
    pub(crate) fn sync_all(&self, journal: &WriteBuffer) -> std::io::Result<()> {
        let upto = self.written();
        if self.synced.load(Ordering::SeqCst) >= upto {
            return Ok(());
        }
        self.sync_through(journal, upto)
    }
}
