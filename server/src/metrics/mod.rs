//! Metrics: the `metrics` facade everywhere, exported for Prometheus on `--metrics-addr` by
//! `metrics-exporter-prometheus`'s recorder behind a small HTTP endpoint of ours.
//!
//! This module is the bottom layer (it imports nothing of the crate): it installs the
//! recorder and serves its text. Two kinds of series:
//! - Per-command series (calls, errors, the latency histogram) are not recorded through the
//!   facade: the command table counts them anyway for INFO commandstats and latencystats,
//!   and the exporter's histograms keep every sample until a drain (an epoch pin, two atomic
//!   operations and a block allocation per 64 samples on the request path, then the drain on
//!   a runtime thread): 7 % of the server's CPU in a pipelined INCR, measured with
//!   `--metrics-addr off` beside it. The server layer renders them from the table's counters
//!   at each scrape, as the `extra` text of [`install`].
//! - Everything else (clients, bytes, keys, shards, storage) is sampled once a second from
//!   the counters the server keeps anyway, by the server layer's sampler, into the facade.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// Latency histogram buckets in seconds (10µs … 1s) of the DynamoDB API's requests.
const LATENCY_BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0,
];

/// How often histogram samples are drained into their buckets between scrapes (the
/// exporter's own listener did it every 5 s): they are held in memory until then.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Prometheus text the server appends to the recorder's at each scrape.
pub type ExtraText = Box<dyn Fn(&mut String) + Send + Sync>;

/// Installs the Prometheus recorder and serves its text, followed by `extra`'s, over HTTP
/// on `addr` (any path). Must run inside the tokio runtime, before commands are served.
pub fn install(addr: SocketAddr, extra: ExtraText) -> anyhow::Result<()> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("redyn_dynamodb_request_duration_seconds".into()),
            LATENCY_BUCKETS,
        )?
        // Series of shards that no longer exist (after a split/merge) disappear.
        .idle_timeout(
            metrics_util::MetricKindMask::GAUGE,
            Some(Duration::from_secs(15)),
        )
        .build_recorder();
    let handle = recorder.handle();
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    metrics::set_global_recorder(recorder)
        .map_err(|e| anyhow::anyhow!("metrics recorder already installed: {e}"))?;
    tokio::spawn(upkeep(handle.clone()));
    tokio::spawn(serve(listener, handle, Arc::new(extra)));
    tracing::info!("metrics exporter listening on http://{addr}/metrics");
    Ok(())
}

/// Drains histogram samples into their buckets periodically.
async fn upkeep(handle: PrometheusHandle) {
    loop {
        tokio::time::sleep(UPKEEP_INTERVAL).await;
        handle.run_upkeep();
    }
}

async fn serve(listener: TcpListener, handle: PrometheusHandle, extra: Arc<ExtraText>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, most likely: let some close.
                tracing::warn!("metrics endpoint accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (handle, extra) = (handle.clone(), extra.clone());
        let service = service_fn(move |_request| {
            let (handle, extra) = (handle.clone(), extra.clone());
            async move {
                // Off the runtime's threads, as the exporter's own listener renders.
                let text = tokio::task::spawn_blocking(move || {
                    let mut text = handle.render();
                    extra(&mut text);
                    text
                })
                .await
                .unwrap_or_default();
                let mut response = Response::new(Full::new(Bytes::from(text)));
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4"),
                );
                Ok::<_, Infallible>(response)
            }
        });
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service),
        );
    }
}
