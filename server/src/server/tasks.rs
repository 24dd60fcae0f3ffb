//! Periodic maintenance over the shared state: change-log trimming and the TTL sweep of
//! tables. Each task ticks until shutdown is requested and does its blocking work off the
//! async workers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::Server;
use crate::tables::ttl::SWEEP_INTERVAL;

/// Runs `job` every `period` (the first time at once) until shutdown is requested.
pub fn spawn_periodic<F, Fut>(server: &Arc<Server>, period: Duration, mut job: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let mut shutdown = server.shutdown_requested();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
            job().await;
        }
    });
}

/// Trims change-log records older than the retention period, every 10 seconds.
pub fn spawn_changelog_trimmer(server: &Arc<Server>) {
    let log = server.changelog.clone();
    spawn_periodic(server, Duration::from_secs(10), move || {
        let log = log.clone();
        async move {
            match tokio::task::spawn_blocking(move || log.trim_expired()).await {
                Ok(Err(e)) => tracing::warn!("change-log trim failed: {e}"),
                Err(e) => tracing::warn!("change-log trim task failed: {e}"),
                Ok(Ok(_)) => {}
            }
        }
    });
}

/// Runs the tables' TTL sweep (`Tables::sweep_expired`) every [`SWEEP_INTERVAL`].
pub fn spawn_ttl_sweeper(server: &Arc<Server>) {
    let s = server.clone();
    spawn_periodic(server, SWEEP_INTERVAL, move || {
        let s = s.clone();
        async move {
            match tokio::task::spawn_blocking(move || s.tables.sweep_expired()).await {
                Ok(Err(e)) => tracing::warn!("TTL sweep failed: {}", e.message),
                Err(e) => tracing::warn!("TTL sweep task failed: {e}"),
                Ok(Ok(_)) => {}
            }
        }
    });
}
