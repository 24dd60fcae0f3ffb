//! The `redyn` binary: parse flags and config file, start the server, stop on SIGTERM/SIGINT
//! or SHUTDOWN. `redyn import-rdb FILE [config-file] [--flags]` instead loads a Redis RDB
//! file into the data directory those settings name, reports what it loaded, and exits.

use std::ffi::OsString;
use std::path::PathBuf;

use redyn_server::config::logging;
use redyn_server::{Cli, Config};

fn main() -> anyhow::Result<()> {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "import-rdb") {
        args.remove(1);
        return import_rdb(args);
    }
    let config = Config::from_cli(Cli::parse()).map_err(|e| anyhow::anyhow!(e))?;
    logging::init(&config.loglevel);
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.worker_threads(config.io_threads).enable_all();
    // Serve connections woken by one poll of the I/O driver in the order their requests
    // arrived, as Redis does: tokio's LIFO slot runs the last one woken first, so a command
    // sent after another client's (BLOCK after XREADGROUP, DEL after it) could run before it.
    // The option needs `--cfg tokio_unstable` (set in .cargo/config.toml).
    #[cfg(tokio_unstable)]
    runtime.disable_lifo_slot();
    let runtime = runtime.build()?;
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

/// `redyn import-rdb FILE …`: `args` without the subcommand; FILE comes first, the usual
/// settings (`--dir`) after it. The server must not be running on that directory.
fn import_rdb(mut args: Vec<OsString>) -> anyhow::Result<()> {
    const USAGE: &str =
        "usage: redyn import-rdb FILE [config-file] [--dir DIR] [--<setting> value]...";
    if args.get(1).is_some_and(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    if args.len() < 2 {
        anyhow::bail!(USAGE);
    }
    let file = PathBuf::from(args.remove(1));
    let config = Config::from_cli(Cli::try_parse_from(args)?).map_err(|e| anyhow::anyhow!(e))?;
    let engine = redyn_server::server::open_engine(&config)?;
    let report = redyn_server::cmd::dump::import_rdb(&engine, &file)?;
    let by_type: Vec<String> = report
        .by_type
        .iter()
        .map(|(kind, n)| format!("{kind}={n}"))
        .collect();
    println!(
        "imported {} keys ({}) into {} database(s); skipped {} already expired, {} empty",
        report.loaded(),
        by_type.join(" "),
        report.databases.len(),
        report.expired,
        report.skipped_empty
    );
    Ok(())
}
