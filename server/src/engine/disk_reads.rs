//! Whether point reads of fjall are going to the disk now, from how long they take.
//!
//! redyn leaves caching the data set beyond its memory budget to the OS page cache. A read
//! the page cache serves costs a few µs; one it does not waits for the disk (70 µs for a
//! 4 KB read on the virtio disk this was measured on) and holds the network thread, and so
//! every client, that long. That happens with a data set larger than RAM, after a restart
//! of the machine, or on hosts that page out idle page cache (the VMs this was measured on
//! run DAMON with a `pageout` scheme for pages idle 60 s): there GETs of random keys ran
//! at 14 k/s with a p99 of 8.9 ms, the thread waiting on one read at a time.
//!
//! The engine times its point reads of fjall's metadata rows (the reads the write buffer
//! and the caches could not answer) and keeps a moving average; while it says the disk is
//! being read, the network layer has the keys of a read command read on another thread
//! first (see `cmd::cold_reads`), so many disk reads are in flight at once and the thread
//! serves other clients meanwhile. Then only those reads ahead are timed: the command's own
//! read that follows one finds its blocks in memory, and timing it too would pull the
//! average down by half and end reading ahead while half the reads still go to the disk.
//! Slow reads count only while the process also reads from storage (the kernel's count of
//! bytes not served by the page cache, [`storage_read_bytes`]). With the page cache warm
//! nothing changes: handing a read to another thread costs more than a page-cache read.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The default average from which reads count as going to the disk (config
/// `disk-read-threshold-us`): several times a page-cache read (3–6 µs measured alone with
/// the index search and a 4 KB copy, 7–11 µs averaged under load on a busy 2-core machine),
/// a fraction of a disk read: it is crossed once about one read in four goes to the disk.
const DEFAULT_THRESHOLD_NANOS: u64 = 20_000;
/// Longest time a read counts as (see [`ReadTimes::note`]).
const CAP_NANOS: u64 = 160_000;
/// The average's weight of a new sample, as a power of two (1/16).
const WEIGHT_SHIFT: u32 = 4;
/// Bytes the process must have read from storage (not the page cache) within a tick of
/// [`ReadTimes::tick`] (100 ms) for slow reads to count as disk reads: 2 MB, some 5,000 4 KB
/// reads a second, a third of the network thread's time if it waited for each. Slow reads
/// alone are not enough: a GET run over a warm page cache also loads whole index blocks
/// (500 KB each) into fjall's block cache now and then, and on a busy 2-core machine a read
/// may be preempted; those bursts turned reading ahead on for 5 % of a warm run's GETs.
const STORAGE_READ_BYTES_PER_TICK: u64 = 2 << 20;

/// The moving average of fjall point-read times.
pub struct ReadTimes {
    average_nanos: AtomicU64,
    /// From this average on, reads count as going to the disk (0: always).
    threshold_nanos: AtomicU64,
    /// Rows read ahead of their commands, off the network thread.
    read_ahead: AtomicU64,
    /// Reads timed since the last [`ReadTimes::tick`].
    recent: AtomicU64,
    /// The process's bytes read from storage at the last tick (`u64::MAX`: unknown).
    storage_read_bytes: AtomicU64,
    /// Whether the process read enough from storage in the last tick (or cannot tell).
    storage_busy: AtomicBool,
}

impl Default for ReadTimes {
    fn default() -> Self {
        ReadTimes {
            average_nanos: AtomicU64::new(0),
            threshold_nanos: AtomicU64::new(DEFAULT_THRESHOLD_NANOS),
            read_ahead: AtomicU64::new(0),
            recent: AtomicU64::new(0),
            storage_read_bytes: AtomicU64::new(u64::MAX),
            storage_busy: AtomicBool::new(true),
        }
    }
}

impl ReadTimes {
    /// Counts one read that took `nanos`. Races between threads may lose a sample, which an
    /// average of many does not miss.
    pub fn note(&self, nanos: u64) {
        let old = self.average_nanos.load(Ordering::Relaxed);
        // Capped, so that one read stalled for seconds does not keep the average up for
        // thousands of reads after it.
        let sample = nanos.min(CAP_NANOS);
        let new = old - (old >> WEIGHT_SHIFT) + (sample >> WEIGHT_SHIFT);
        self.average_nanos.store(new, Ordering::Relaxed);
        self.recent.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs every tick of a background thread: an average no read updated since the last
    /// tick is halved. While reads count as disk reads only the reads ahead are timed, and
    /// none is made once every key read is in the caches: without this the average would
    /// stay up, and every read command go on paying the check for keys to read ahead.
    ///
    /// `storage_read_bytes` is the process's count of bytes read from storage so far
    /// ([`storage_read_bytes`]); without one, slow reads alone decide.
    pub fn tick(&self, storage_read_bytes: Option<u64>) {
        if self.recent.swap(0, Ordering::Relaxed) == 0 {
            let old = self.average_nanos.load(Ordering::Relaxed);
            self.average_nanos.store(old / 2, Ordering::Relaxed);
        }
        let now = storage_read_bytes.unwrap_or(u64::MAX);
        let before = self.storage_read_bytes.swap(now, Ordering::Relaxed);
        let busy = match (before, now) {
            (u64::MAX, _) | (_, u64::MAX) => true,
            (before, now) => now.saturating_sub(before) >= STORAGE_READ_BYTES_PER_TICK,
        };
        self.storage_busy.store(busy, Ordering::Relaxed);
    }

    /// Whether recent reads went to the disk: they were slow, and the process read from
    /// storage in the last tick. A threshold of 0 says yes regardless.
    pub fn disk_bound(&self) -> bool {
        let threshold = self.threshold_nanos.load(Ordering::Relaxed);
        threshold == 0
            || (self.average_nanos.load(Ordering::Relaxed) >= threshold
                && self.storage_busy.load(Ordering::Relaxed))
    }

    /// Sets the average from which reads count as going to the disk.
    pub fn set_threshold(&self, nanos: u64) {
        self.threshold_nanos.store(nanos, Ordering::Relaxed);
    }

    /// The moving average, in nanoseconds.
    pub fn average_nanos(&self) -> u64 {
        self.average_nanos.load(Ordering::Relaxed)
    }

    /// Counts a row read ahead of its command.
    pub fn note_read_ahead(&self) {
        self.read_ahead.fetch_add(1, Ordering::Relaxed);
    }

    /// Rows read ahead of their commands so far.
    pub fn read_ahead(&self) -> u64 {
        self.read_ahead.load(Ordering::Relaxed)
    }
}

/// Bytes this process has read from storage so far (`read_bytes` of `/proc/self/io`; page
/// cache hits do not count). `None` where the kernel does not account them.
pub fn storage_read_bytes() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines()
        .find_map(|line| line.strip_prefix("read_bytes:"))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_cache_reads_stay_below_and_disk_reads_cross() {
        let times = ReadTimes::default();
        for _ in 0..200 {
            times.note(4_000);
        }
        assert!(!times.disk_bound(), "{}", times.average_nanos());
        // One read in three waiting 70 µs for the disk.
        for i in 0..200 {
            times.note(if i % 3 == 0 { 70_000 } else { 4_000 });
        }
        assert!(times.disk_bound(), "{}", times.average_nanos());
        // The page cache warms up again.
        for _ in 0..200 {
            times.note(4_000);
        }
        assert!(!times.disk_bound(), "{}", times.average_nanos());
    }

    #[test]
    fn an_average_no_read_updates_fades_tick_by_tick() {
        let times = ReadTimes::default();
        for _ in 0..100 {
            times.note(70_000);
        }
        times.tick(None);
        assert!(times.disk_bound(), "reads since the last tick: kept");
        times.tick(None);
        assert!(times.disk_bound(), "halved once: {}", times.average_nanos());
        times.tick(None);
        assert!(
            !times.disk_bound(),
            "halved twice: {}",
            times.average_nanos()
        );
    }

    #[test]
    fn slow_reads_count_as_disk_reads_only_while_storage_is_read() {
        let times = ReadTimes::default();
        times.tick(Some(1_000));
        for _ in 0..100 {
            times.note(70_000);
        }
        // 4 KB read from storage in a tick: the slow reads were served from memory.
        times.tick(Some(1_000 + 4_096));
        assert!(!times.disk_bound());
        for _ in 0..100 {
            times.note(70_000);
        }
        times.tick(Some(1_000 + 4_096 + 8 * 1024 * 1024));
        assert!(times.disk_bound());
        // A kernel that does not say: slow reads alone decide.
        for _ in 0..100 {
            times.note(70_000);
        }
        times.tick(None);
        assert!(times.disk_bound());
    }

    #[test]
    fn this_process_storage_reads_are_known_on_linux() {
        if cfg!(target_os = "linux") && std::path::Path::new("/proc/self/io").exists() {
            assert!(storage_read_bytes().is_some());
        }
    }

    #[test]
    fn threshold_zero_counts_every_read_as_a_disk_read() {
        let times = ReadTimes::default();
        times.set_threshold(0);
        assert!(times.disk_bound());
        times.set_threshold(u64::MAX);
        times.note(5_000_000_000);
        assert!(!times.disk_bound());
    }

    #[test]
    fn one_stalled_read_alone_does_not_count_as_disk_reads() {
        let times = ReadTimes::default();
        for _ in 0..100 {
            times.note(4_000);
        }
        times.note(5_000_000_000);
        assert!(!times.disk_bound(), "{}", times.average_nanos());
    }
}
