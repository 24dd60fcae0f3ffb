//! Metrics: the `metrics` facade everywhere, exported for Prometheus by
//! `metrics-exporter-prometheus` on `--metrics-addr`.
//!
//! This module is the bottom layer (it imports nothing of the crate): it installs the
//! exporter and holds the handles the layers above record into. Hot-path series (per-command calls, errors, latency) are recorded
//! through handles cached on each command-table entry ([`CommandMetrics`]), so a command
//! pays a few atomic increments. Everything else (clients, bytes, keys, shards, storage) is
//! sampled once a second from the counters the server keeps anyway, by the server layer's
//! sampler (`crate::server`), which costs the request path nothing.

use std::net::SocketAddr;
use std::time::Duration;

use metrics::{counter, histogram, Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

/// Latency histogram buckets in seconds (10µs … 1s).
const LATENCY_BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0,
];

/// Installs the Prometheus recorder and starts its HTTP listener on `addr`.
/// Must run inside the tokio runtime, before commands are served.
pub fn install(addr: SocketAddr) -> anyhow::Result<()> {
    let (recorder, exporter) = PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            Matcher::Full("redyn_command_duration_seconds".into()),
            LATENCY_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full("redyn_dynamodb_request_duration_seconds".into()),
            LATENCY_BUCKETS,
        )?
        // Series of shards that no longer exist (after a split/merge) disappear.
        .idle_timeout(
            metrics_util::MetricKindMask::GAUGE,
            Some(Duration::from_secs(15)),
        )
        .build()?;
    metrics::set_global_recorder(recorder)
        .map_err(|e| anyhow::anyhow!("metrics recorder already installed: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = exporter.await {
            tracing::error!("metrics exporter stopped: {e:?}");
        }
    });
    tracing::info!("metrics exporter listening on http://{addr}/metrics");
    Ok(())
}

/// Cached metric handles of one command.
pub struct CommandMetrics {
    calls: Counter,
    errors: Counter,
    latency: Histogram,
}

impl CommandMetrics {
    pub fn new(name: &'static str) -> CommandMetrics {
        CommandMetrics {
            calls: counter!("redyn_commands_total", "cmd" => name),
            errors: counter!("redyn_command_errors_total", "cmd" => name),
            latency: histogram!("redyn_command_duration_seconds", "cmd" => name),
        }
    }

    pub fn record(&self, usec: u64, failed: bool) {
        self.record_many(&[(usec, 1)], 1, u64::from(failed));
    }

    /// Records `calls` calls at once, `failed` of them failed, with their durations as
    /// (µs, number of calls).
    pub fn record_many(&self, durations: &[(u64, usize)], calls: u64, failed: u64) {
        self.calls.increment(calls);
        if failed > 0 {
            self.errors.increment(failed);
        }
        for &(usec, count) in durations {
            self.latency.record_many(usec as f64 / 1e6, count);
        }
    }
}
