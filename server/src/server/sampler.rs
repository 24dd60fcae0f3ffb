//! The metrics sampler: once a second, copies the server-wide counters (clients, bytes,
//! keys, shards, storage, tables, change log, pub/sub) into gauges and counters of the
//! `metrics` facade. Reading counters the server keeps anyway costs the request path
//! nothing; the exporter itself is installed by `crate::metrics`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use metrics::{counter, gauge};

use super::tasks::spawn_periodic;
use super::Server;
use crate::cmd::info::rss_bytes;

/// Samples server-wide series once a second until shutdown.
pub fn spawn_sampler(server: &Arc<Server>) {
    let s = server.clone();
    spawn_periodic(server, Duration::from_secs(1), move || {
        let s = s.clone();
        async move {
            // Off the runtime's worker threads: sampling reads the engine under its shard
            // locks, which a running script holds until it ends; waiting for them on a
            // worker would leave no thread to serve SCRIPT KILL.
            if let Err(e) = tokio::task::spawn_blocking(move || sample(&s)).await {
                tracing::warn!("metrics sampler failed: {e}");
            }
        }
    });
}

fn sample(server: &Server) {
    let stats = &server.stats;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    gauge!("redyn_connected_clients").set(server.clients.len() as f64);
    gauge!("redyn_blocked_clients").set(load(&stats.blocked_clients) as f64);
    counter!("redyn_connections_received_total").absolute(load(&stats.connections_received));
    counter!("redyn_rejected_connections_total").absolute(load(&stats.rejected_connections));
    counter!("redyn_net_input_bytes_total").absolute(load(&stats.net_input_bytes));
    counter!("redyn_net_output_bytes_total").absolute(load(&stats.net_output_bytes));
    counter!("redyn_commands_processed_total").absolute(load(&stats.commands_processed));
    let engine = &server.engine;
    counter!("redyn_expired_keys_total").absolute(engine.expired_keys.load(Ordering::Relaxed));
    counter!("redyn_evicted_keys_total").absolute(0);
    for db in 0..crate::engine::REDIS_DBS {
        gauge!("redyn_keys", "db" => db.to_string()).set(engine.key_count(db) as f64);
    }
    let shards = engine.shards.shards();
    gauge!("redyn_shard_count").set(shards.len() as f64);
    for shard in &shards {
        let id = shard.id.to_string();
        let slots = format!("{}-{}", shard.start, shard.end - 1);
        gauge!("redyn_shard_ops_per_second", "shard" => id.clone(), "slots" => slots.clone())
            .set(shard.ops_per_sec());
        gauge!("redyn_shard_bytes_per_second", "shard" => id, "slots" => slots)
            .set(shard.bytes_per_sec());
    }
    counter!("redyn_shard_splits_total").absolute(engine.shards.splits.load(Ordering::Relaxed));
    counter!("redyn_shard_merges_total").absolute(engine.shards.merges.load(Ordering::Relaxed));
    let storage = engine.storage_stats();
    gauge!("redyn_journal_bytes").set(storage.journal_bytes as f64);
    gauge!("redyn_journal_files").set(storage.journal_files as f64);
    gauge!("redyn_disk_bytes").set(storage.disk_bytes as f64);
    gauge!("redyn_memtable_bytes").set(storage.write_buffer_bytes as f64);
    gauge!("redyn_flushes_pending").set(storage.outstanding_flushes as f64);
    gauge!("redyn_compactions_active").set(storage.active_compactions as f64);
    counter!("redyn_compactions_completed_total").absolute(storage.compactions_completed);
    gauge!("redyn_process_resident_memory_bytes").set(rss_bytes() as f64);
    for (table, items) in server.tables.item_counts_by_table() {
        gauge!("redyn_table_items", "table" => table).set(items as f64);
    }
    let log = &server.changelog;
    counter!("redyn_changelog_records_total")
        .absolute(log.records_appended.load(Ordering::Relaxed));
    for (name, records, lag) in log.lag_report() {
        let stream = String::from_utf8_lossy(&name).into_owned();
        gauge!("redyn_changelog_records", "stream" => stream.clone()).set(records as f64);
        gauge!("redyn_changelog_consumer_lag_seconds", "stream" => stream).set(lag);
    }
    for g in crate::cmd::stream_log::group_lags(server).unwrap_or_default() {
        let (stream, db, group) = (g.log, g.db.to_string(), g.group);
        gauge!("redyn_changelog_group_pending", "stream" => stream.clone(), "db" => db.clone(), "group" => group.clone())
            .set(g.pending as f64);
        gauge!("redyn_changelog_group_lag", "stream" => stream, "db" => db, "group" => group)
            .set(g.lag as f64);
    }
    counter!("redyn_pubsub_messages_total")
        .absolute(server.pubsub.messages_published.load(Ordering::Relaxed));
}
