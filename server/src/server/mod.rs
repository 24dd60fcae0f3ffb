//! The server layer: start-up, the accept loop's lifetime, shutdown, and the background
//! tasks that run over the shared state ([`Server`], defined with the commands that
//! operate on it in `crate::cmd::shared`).

mod command_metrics;
mod sampler;
mod tasks;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::cmd::shared::OpenedParts;
use crate::config::Config;
use crate::engine::{Engine, EngineOptions, MemoryBudget};
use crate::stream::changelog::ChangeLog;
use crate::stream::notify::Notifications;
use crate::stream::PubSub;

pub use crate::cmd::shared::{ScanCursors, Server, Stats};

/// A server running in the background of the current tokio runtime.
pub struct RunningServer {
    pub server: Arc<Server>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Requests shutdown and waits until data is flushed and connections are closed.
    pub async fn shutdown(self) {
        self.server.request_shutdown();
        self.wait().await;
    }

    /// Waits until the server stops (SHUTDOWN command or [`RunningServer::shutdown`]).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Opens (creating it if needed) the engine in the configured data directory, with the
/// configured durability and shard count: the server and `redyn import-rdb` open it alike.
pub fn open_engine(config: &Config) -> anyhow::Result<Arc<Engine>> {
    std::fs::create_dir_all(&config.dir)?;
    Ok(Engine::open(
        &config.dir,
        EngineOptions {
            appendfsync: config.appendfsync,
            shards: config.shards,
            budget: MemoryBudget::split(config.maxmemory),
        },
    )?)
}

/// Opens the data directory, binds the listener and starts serving.
pub async fn start(mut config: Config) -> anyhow::Result<RunningServer> {
    fit_maxclients_to_open_files(&mut config)?;
    crate::disable_transparent_huge_pages();
    // quanta calibrates its clock at first use (up to 200 ms): now, not at the first client.
    let _ = quanta::Instant::now();
    let engine = open_engine(&config)?;
    let listeners = bind_listeners(&mut config).await?;
    let addr = listeners.main_addr()?;
    let dynamodb_listener = crate::dynamodb_http::bind(&mut config).await;
    let metrics_addr: Option<SocketAddr> =
        config.metrics_addr.as_deref().map(str::parse).transpose()?;
    let pubsub = Arc::new(PubSub::default());
    let changelog = Arc::new(ChangeLog::open(engine.clone())?);
    let tables = crate::tables::Tables::open(engine.clone())
        .map_err(|e| anyhow::anyhow!("opening tables: {}", e.message))?;
    changelog.load_all_names()?;
    let notifications = Notifications::install(&engine, &pubsub, &changelog);
    let _ = tables.streams.set(crate::tables::records::StreamSink {
        log: changelog.clone(),
        pubsub: pubsub.clone(),
    });
    let server = Arc::new(Server::new(OpenedParts {
        engine,
        config,
        addr,
        pubsub,
        tables,
        changelog,
        notifications,
    }));
    if let Some(metrics_addr) = metrics_addr {
        // Serving data matters more than serving metrics: a busy metrics port is reported,
        // not fatal.
        let per_command = command_metrics::renderer(Arc::downgrade(&server));
        if let Err(e) = crate::metrics::install(metrics_addr, per_command) {
            tracing::error!("metrics endpoint on {metrics_addr} not started: {e}");
        }
    }
    crate::cmd::tracking::install(&server);
    crate::cmd::acl::load_users_at_startup(&server).map_err(anyhow::Error::msg)?;
    server.apply_config();
    sampler::spawn_sampler(&server);
    tasks::spawn_changelog_trimmer(&server);
    tasks::spawn_ttl_sweeper(&server);
    if let Some(listener) = dynamodb_listener {
        crate::dynamodb_http::spawn(server.clone(), listener);
    }
    tracing::info!("redyn ready to accept connections on {addr}");
    if let (Some(_), Some(tls)) = (&listeners.plain, &listeners.tls) {
        tracing::info!(
            "redyn ready to accept TLS connections on {}",
            tls.local_addr()?
        );
    }
    let task = tokio::spawn(run(server.clone(), listeners));
    Ok(RunningServer { server, task })
}

/// Raises the open-file limit for `maxclients`, or lowers `maxclients` to what the limit
/// allows, with Redis's log lines.
fn fit_maxclients_to_open_files(config: &mut Config) -> anyhow::Result<()> {
    let fit = crate::config::open_files::fit_maxclients(config.maxclients);
    if fit.maxclients == config.maxclients {
        if fit.limit > fit.original {
            tracing::info!(
                "Increased maximum number of open files to {} (it was originally set to {}).",
                fit.limit,
                fit.original
            );
        }
        return Ok(());
    }
    if fit.maxclients == 0 {
        anyhow::bail!(
            "Your current 'ulimit -n' of {} is not enough for the server to start. Please increase your open file limit to at least {}. Exiting.",
            fit.limit,
            crate::config::open_files::RESERVED_FDS + 1
        );
    }
    let reason = fit.error.map(|e| e.to_string()).unwrap_or_default();
    tracing::warn!(
        "You requested maxclients of {} requiring at least {} max file descriptors.",
        config.maxclients,
        fit.wanted
    );
    tracing::warn!(
        "Server can't set maximum open files to {} because of OS error: {reason}.",
        fit.wanted
    );
    tracing::warn!(
        "Current maximum open files is {}. maxclients has been reduced to {} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.",
        fit.limit,
        fit.maxclients
    );
    config.maxclients = fit.maxclients;
    Ok(())
}

/// The plaintext and TLS listeners; at least one is open.
struct Listeners {
    plain: Option<TcpListener>,
    tls: Option<TcpListener>,
}

impl Listeners {
    /// The address the server reports as its own: the plaintext one when there is one.
    fn main_addr(&self) -> std::io::Result<SocketAddr> {
        self.plain
            .as_ref()
            .or(self.tls.as_ref())
            .expect("a listener is open")
            .local_addr()
    }
}

/// Binds the listeners. As in Redis, `port 0` with a `tls-port` serves TLS only; without a
/// `tls-port`, `port 0` keeps redyn's meaning (a free port, logged and reported).
async fn bind_listeners(config: &mut Config) -> anyhow::Result<Listeners> {
    let tls = if config.tls.port != 0 {
        if config.tls.server_config.is_none() {
            config
                .tls
                .reload()
                .map_err(|e| anyhow::anyhow!("Failed to configure TLS: {e}"))?;
        }
        Some(TcpListener::bind((config.bind.as_str(), config.tls.port)).await?)
    } else {
        None
    };
    let plain = if config.port != 0 || tls.is_none() {
        let listener = TcpListener::bind((config.bind.as_str(), config.port)).await?;
        // `--port 0` picks a free port: report the real one (CONFIG GET port, INFO).
        config.port = listener.local_addr()?.port();
        Some(listener)
    } else {
        None
    };
    Ok(Listeners { plain, tls })
}

async fn run(server: Arc<Server>, listeners: Listeners) {
    let plain = async {
        if let Some(listener) = listeners.plain {
            crate::net::accept_loop(server.clone(), listener).await;
        }
    };
    let tls = async {
        if let Some(listener) = listeners.tls {
            crate::net::tls::accept_loop(server.clone(), listener).await;
        }
    };
    tokio::join!(plain, tls);
    // Wait (briefly) for connections to notice the shutdown and finish their replies.
    for _ in 0..50 {
        if server.clients.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let s = server.clone();
    let _ = tokio::task::spawn_blocking(move || s.finish()).await;
    tracing::info!("redyn is now ready to exit, bye bye...");
}
