//! In-process harness: the server library started inside the test process, on its own
//! multi-thread tokio runtime, on an ephemeral port with a temporary data directory. Cheaper
//! than spawning the binary, and it lets a test configure the server through [`Config`].
//! Clients are the same as the process harness's (see [`Endpoint`]).

use std::time::Duration;

use redyn_server::{Config, RunningServer};

use crate::harness::Endpoint;

/// A server running in this process. Shut down (data flushed, runtime stopped) when dropped.
pub struct InProcServer {
    endpoint: Endpoint,
    running: Option<RunningServer>,
    runtime: Option<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for InProcServer {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl InProcServer {
    /// Starts a server with default settings.
    pub fn start() -> InProcServer {
        InProcServer::start_with(|_| {})
    }

    /// Starts a server after `configure` adjusted its configuration (port, address, data
    /// directory and metrics are already set for a test).
    pub fn start_with(configure: impl FnOnce(&mut Config)) -> InProcServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            port: 0,
            bind: "127.0.0.1".into(),
            dir: dir.path().to_path_buf(),
            // The metrics exporter is process-global: parallel in-process servers cannot
            // each install one.
            metrics_addr: None,
            ..Config::default()
        };
        configure(&mut config);
        // Multi-thread like the binary's runtime: the connection loop relies on
        // `block_in_place`, which needs one.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.io_threads)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let running = runtime
            .block_on(redyn_server::start(config))
            .expect("start in-process server");
        InProcServer {
            endpoint: Endpoint {
                addr: running.addr(),
            },
            running: Some(running),
            runtime: Some(runtime),
            _dir: dir,
        }
    }

    /// The server's shared state, for assertions a client cannot make.
    pub fn state(&self) -> &redyn_server::Server {
        &self.running.as_ref().expect("running").server
    }
}

impl Drop for InProcServer {
    fn drop(&mut self) {
        let (Some(running), Some(runtime)) = (self.running.take(), self.runtime.take()) else {
            return;
        };
        // A wedged server (the very thing some tests look for) must not hang the test run:
        // give the orderly shutdown a bounded time, then abandon its threads. The wait is
        // measured on this thread, not with a tokio timer: a stuck worker may be the one
        // that would drive the runtime's timers.
        let (stopped_tx, stopped_rx) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            running.shutdown().await;
            let _ = stopped_tx.send(());
        });
        if stopped_rx.recv_timeout(Duration::from_secs(10)).is_err() {
            eprintln!("in-process server did not shut down within 10s; abandoning it");
        }
        runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

#[test]
fn in_process_server_serves_clients_and_stops_on_drop() {
    let server = InProcServer::start();
    let mut c = server.client();
    let _: () = crate::harness::q(&mut c, &["SET", "k", "v"]);
    assert_eq!(crate::harness::q::<String>(&mut c, &["GET", "k"]), "v");
    assert_eq!(server.state().addr, server.addr);
    let addr = server.addr;
    drop(c);
    drop(server);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the listener closes when the harness is dropped"
    );
}
