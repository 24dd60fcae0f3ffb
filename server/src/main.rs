//! The `redyn` binary: parse flags and config file, start the server, stop on SIGTERM/SIGINT
//! or SHUTDOWN.

use clap::Parser;
use redyn_server::{Cli, Config};
use tracing_subscriber::EnvFilter;

fn log_filter(loglevel: &str) -> EnvFilter {
    if let Ok(filter) = EnvFilter::try_from_env("RUST_LOG") {
        return filter;
    }
    let level = match loglevel {
        "debug" => "debug",
        "verbose" => "debug",
        "warning" => "warn",
        "nothing" => "off",
        _ => "info",
    };
    EnvFilter::new(format!("{level},fjall=warn,lsm_tree=warn"))
}

fn main() -> anyhow::Result<()> {
    let config = Config::from_cli(Cli::parse()).map_err(|e| anyhow::anyhow!(e))?;
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(&config.loglevel))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.io_threads)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let running = redyn_server::start(config).await?;
        let server = running.server.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("Received shutdown signal, scheduling shutdown...");
            server.request_shutdown();
        });
        running.wait().await;
        anyhow::Ok(())
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
