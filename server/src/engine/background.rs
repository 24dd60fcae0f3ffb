//! Background maintenance threads:
//! - **active expiry**: walks the expiry index (ordered by expiry time) and deletes keys
//!   whose time has come, so expired keys do not linger until someone reads them;
//! - **reclaim**: deletes the sub-rows of dropped key versions (DEL, overwrite, expiry) in
//!   bounded chunks, which is what makes DEL of a huge hash O(1) for the client;
//! - **everysec fsync** of the journal;
//! - **flush** of the write buffer's frozen layers into fjall.
//!
//! They are plain threads because fjall calls block; each round is short and bounded.

use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::autoscale::{AutoscaleConfig, Autoscaler};
use super::keys::{decode_meta_key, prefix_successor};
use super::write_buffer::RowOp;
use super::{now_ms, AppendFsync, Engine, Result};

/// Keys expired per batch of the active-expiry cycle.
const EXPIRE_BATCH: usize = 256;
/// Sub-rows deleted per reclaim batch.
pub(crate) const RECLAIM_BATCH: usize = 4096;
const TICK: Duration = Duration::from_millis(100);

/// Handle on the running background threads; stops and joins them when dropped.
pub struct Background {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Background {
    pub fn start(engine: Arc<Engine>, autoscale: AutoscaleConfig) -> Background {
        let stop = Arc::new(AtomicBool::new(false));
        let spawn = |name: &str, work: fn(&Engine) -> Result<bool>| {
            let engine = engine.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        match work(&engine) {
                            // More work pending: go again at once.
                            Ok(true) => continue,
                            Ok(false) => {}
                            Err(e) => tracing::warn!("background {}: {e}", name_of_thread()),
                        }
                        std::thread::sleep(TICK);
                    }
                })
                .expect("spawn background thread")
        };
        let mut threads = vec![
            spawn("redyn-expire", expire_cycle),
            spawn("redyn-reclaim", reclaim_cycle),
            spawn("redyn-fsync", fsync_tick),
            spawn("redyn-flush", flush_cycle),
        ];
        threads.push(spawn_autoscaler(engine.clone(), stop.clone(), autoscale));
        Background { stop, threads }
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The shard monitor/autoscaler: samples shard rates every tick, acts when configured.
fn spawn_autoscaler(
    engine: Arc<Engine>,
    stop: Arc<AtomicBool>,
    config: AutoscaleConfig,
) -> JoinHandle<()> {
    // Ticks are a fraction of the window so "held for a window" is measured finely enough.
    let tick = (config.window / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
    std::thread::Builder::new()
        .name("redyn-autoscale".into())
        .spawn(move || {
            let mut scaler = Autoscaler::new(config);
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                if let Err(e) = scaler.tick(&engine) {
                    tracing::warn!("autoscaler: {e}");
                }
            }
        })
        .expect("spawn autoscaler thread")
}

fn name_of_thread() -> String {
    std::thread::current().name().unwrap_or("?").to_string()
}

/// Deletes up to one batch of expired keys; returns whether a full batch was found.
pub fn expire_cycle(engine: &Engine) -> Result<bool> {
    let now = now_ms();
    let due: Vec<(u64, Vec<u8>)> = engine
        .expiry
        .range(
            Bound::Unbounded,
            Bound::Included(now.to_be_bytes().to_vec()),
            false,
        )
        .take(EXPIRE_BATCH)
        .map(|g| {
            g.key().map(|k| {
                let at = u64::from_be_bytes(k[..8].try_into().expect("8-byte prefix"));
                (at, k[8..].to_vec())
            })
        })
        .collect::<std::result::Result<_, _>>()?;
    for (expire_at, raw_meta_key) in &due {
        let Some(parts) = decode_meta_key(raw_meta_key) else {
            continue;
        };
        let mut txn = engine.txn(super::Locks::Take, parts.space, &[parts.key]);
        match txn.peek(parts.key)? {
            Some(meta) if meta.expire_at == *expire_at && meta.is_expired(now) => {
                txn.delete(parts.key)?;
                txn.notify('x', "expired", parts.key);
                txn.commit()?;
                engine.expired_keys.fetch_add(1, Ordering::Relaxed);
            }
            Some(meta) if meta.expire_at == *expire_at => {}
            _ => {
                // Stale index entry (should not happen; tolerate it).
                drop(txn);
                let row = super::txn::expiry_row(*expire_at, raw_meta_key);
                engine.commit_batch(vec![RowOp::new(engine.expiry.id, row.into(), None)])?;
            }
        }
    }
    Ok(due.len() == EXPIRE_BATCH)
}

/// Deletes sub-rows of dropped versions, one bounded batch at a time; returns whether work
/// remains.
///
/// The `gc` row of a version being reclaimed holds the last sub-row deleted so far, and the
/// next batch starts after it: a batch never re-walks the tombstones of the batches before
/// it, so reclaiming a version costs O(its rows) in total, not O(rows² / batch).
pub fn reclaim_cycle(engine: &Engine) -> Result<bool> {
    let Some((prefix, resume_after)) = engine.gc.first()? else {
        return Ok(false);
    };
    let lower = if resume_after.is_empty() {
        Bound::Included(prefix.to_vec())
    } else {
        Bound::Excluded(resume_after.to_vec())
    };
    let upper = prefix_successor(&prefix).map_or(Bound::Unbounded, Bound::Excluded);
    let rows: Vec<_> = engine
        .sub
        .range(lower, upper, false)
        .take(RECLAIM_BATCH)
        .map(|g| g.key())
        .collect::<std::result::Result<_, _>>()?;
    let resume = match rows.last() {
        Some(last) if rows.len() == RECLAIM_BATCH => Some(last.clone()),
        _ => None,
    };
    let mut ops: Vec<_> = rows
        .into_iter()
        .map(|row| RowOp::new(engine.sub.id, row, None))
        .collect();
    ops.push(RowOp::new(engine.gc.id, prefix, resume));
    engine.commit_batch(ops)?;
    Ok(true)
}

/// Ingests the oldest frozen layer of the write buffer into fjall, waiting a tick for one;
/// returns whether one was ingested.
fn flush_cycle(engine: &Engine) -> Result<bool> {
    match engine.buffer.oldest_frozen(TICK) {
        Some(layer) => engine.ingest_frozen(&layer).map(|()| true),
        None => Ok(false),
    }
}

fn fsync_tick(engine: &Engine) -> Result<bool> {
    engine.reserve_versions()?;
    if engine.durability.mode() == AppendFsync::EverySec {
        engine
            .durability
            .sync_all(&engine.buffer)
            .map_err(fjall::Error::from)?;
    }
    // Between fsyncs, hand buffered journal bytes to the OS every tick, so a crash of the
    // process (not of the machine) loses at most a tick of writes in every mode.
    for _ in 0..9 {
        engine
            .durability
            .write_out(&engine.buffer)
            .map_err(fjall::Error::from)?;
        engine.tend_write_buffers()?;
        std::thread::sleep(TICK);
    }
    Ok(false)
}
