//! The `redyn` binary: parse flags and config file, start the server, stop on SIGTERM/SIGINT
//! or SHUTDOWN.

use redyn_server::config::logging;
use redyn_server::{Cli, Config};

fn main() -> anyhow::Result<()> {
    let config = Config::from_cli(Cli::parse()).map_err(|e| anyhow::anyhow!(e))?;
    logging::init(&config.loglevel);
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
