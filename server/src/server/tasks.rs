//! Periodic maintenance over the shared state: change-log trimming and the TTL sweep of
//! tables. Each task ticks until shutdown is requested and does its blocking work off the
//! async workers.

use std::sync::Arc;
use std::time::Duration;

use super::Server;
use crate::tables::ttl::SWEEP_INTERVAL;

/// Trims change-log records older than the retention period, every 10 seconds.
pub fn spawn_changelog_trimmer(server: Arc<Server>) {
    tokio::spawn(async move {
        let mut shutdown = server.shutdown_requested();
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
            let log = server.changelog.clone();
            match tokio::task::spawn_blocking(move || log.trim_expired()).await {
                Ok(Err(e)) => tracing::warn!("change-log trim failed: {e}"),
                Err(e) => tracing::warn!("change-log trim task failed: {e}"),
                Ok(Ok(_)) => {}
            }
        }
    });
}

/// Runs the tables' TTL sweeper (`Tables::sweep_expired`) until shutdown.
pub fn spawn_ttl_sweeper(server: Arc<Server>) {
    tokio::spawn(async move {
        let mut shutdown = server.shutdown_requested();
        let mut tick = tokio::time::interval(SWEEP_INTERVAL);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
            let s = server.clone();
            match tokio::task::spawn_blocking(move || s.tables.sweep_expired()).await {
                Ok(Err(e)) => tracing::warn!("TTL sweep failed: {}", e.message),
                Err(e) => tracing::warn!("TTL sweep task failed: {e}"),
                Ok(Ok(_)) => {}
            }
        }
    });
}
