//! `appendfsync` for the fjall journal.
//!
//! fjall appends every batch to its journal buffer (8 KiB, written out when full). Rather than
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
//! The fsync itself runs outside fjall's journal lock: fjall's `persist(SyncData)` fsyncs
//! while holding it, so every commit on every connection waited for the disk once a second
//! (the write stalls of issue 15). Here the lock is held only to hand the buffer to the OS;
//! the journal file is then fsynced through a handle of our own (see [`JournalFile`]).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use parking_lot::Mutex;

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
    journal: JournalFile,
}

impl Durability {
    /// Durability for the database whose journal files live in `dir`.
    pub fn new(mode: AppendFsync, dir: &Path) -> Durability {
        Durability {
            mode: AtomicU8::new(mode.to_u8()),
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            handed_to_os: AtomicU64::new(0),
            sync_lock: Mutex::new(()),
            write_lock: Mutex::new(()),
            journal: JournalFile::new(dir),
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
    pub fn sync_through(&self, db: &fjall::Database, seq: u64) -> fjall::Result<()> {
        let _guard = self.sync_lock.lock();
        if self.synced.load(Ordering::SeqCst) >= seq {
            return Ok(());
        }
        let upto = self.written.load(Ordering::SeqCst);
        db.persist(fjall::PersistMode::Buffer)?;
        self.handed_to_os.fetch_max(upto, Ordering::SeqCst);
        if self.journal.sync_data().is_err() {
            // Our own handle failed (the file vanished in a rotation, an odd filesystem):
            // fjall's own fsync under its lock is still correct, only slower.
            db.persist(fjall::PersistMode::SyncData)?;
        }
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
    pub fn write_through(&self, db: &fjall::Database, seq: u64) -> fjall::Result<()> {
        let _guard = self.write_lock.lock();
        if self.handed_to_os.load(Ordering::SeqCst) >= seq {
            return Ok(());
        }
        self.write_out(db)
    }

    /// Hands buffered journal bytes to the OS without fsyncing (also the periodic flush of
    /// the `no` and `everysec` policies).
    pub fn write_out(&self, db: &fjall::Database) -> fjall::Result<()> {
        // Commits bump `written` after appending to the journal buffer, so everything up to
        // the value read here is in the buffer this call writes out.
        let upto = self.written.load(Ordering::SeqCst);
        db.persist(fjall::PersistMode::Buffer)?;
        self.handed_to_os.fetch_max(upto, Ordering::SeqCst);
        Ok(())
    }

    /// Syncs everything written so far (the `everysec` tick, shutdown).
    pub fn sync_all(&self, db: &fjall::Database) -> fjall::Result<()> {
        let upto = self.written();
        if self.synced.load(Ordering::SeqCst) >= upto {
            return Ok(());
        }
        self.sync_through(db, upto)
    }
}

/// The active journal file, opened once more so it can be fsynced without fjall's journal
/// lock. fjall names journals `<n>.jnl` in the database folder and writes only the newest;
/// when it seals one (memtable rotation) it fsyncs it itself, under its lock, so data
/// handed to the OS before a rotation is on disk either way. An fsync through any handle of
/// a file flushes all of that file's written data.
struct JournalFile {
    dir: PathBuf,
    open: Mutex<Option<(u64, File)>>,
}

impl JournalFile {
    fn new(dir: &Path) -> JournalFile {
        JournalFile {
            dir: dir.to_path_buf(),
            open: Mutex::new(None),
        }
    }

    /// fsyncs (data only) the newest journal file.
    fn sync_data(&self) -> std::io::Result<()> {
        let newest = self.newest_id()?;
        let mut open = self.open.lock();
        if open.as_ref().is_none_or(|(id, _)| *id != newest) {
            let file = File::open(self.dir.join(format!("{newest}.jnl")))?;
            *open = Some((newest, file));
        }
        let (_, file) = open.as_ref().expect("opened above");
        file.sync_data()
    }

    fn newest_id(&self) -> std::io::Result<u64> {
        std::fs::read_dir(&self.dir)?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name();
                name.to_str()?.strip_suffix(".jnl")?.parse::<u64>().ok()
            })
            .max()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no journal file"))
    }
}
