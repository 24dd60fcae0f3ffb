//! Network layer: the TCP and TLS listeners and one task per connection.

pub mod conn;
pub mod tls;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::cmd::client::ClientInfo;
use crate::cmd::shared::Server;
use conn::Transport;

/// Redis's reply to a client protected mode refuses, word for word.
const PROTECTED_MODE_DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Protected mode (Redis 7): while it is on and the default user needs no password, only
/// loopback peers are served, whatever address the server listens on.
fn protected_mode_refuses(server: &Server, peer: IpAddr) -> bool {
    server.config.read().protected_mode && server.acl.default_user().nopass && !is_loopback(peer)
}

/// Loopback, including IPv4 loopback peers seen through an IPv6 socket (`::ffff:127.0.0.1`).
fn is_loopback(peer: IpAddr) -> bool {
    match peer {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Accepts plaintext connections until shutdown is requested; moves to the listener
/// CONFIG SET port bound when one is offered.
pub async fn accept_loop(server: Arc<Server>, mut listener: TcpListener) {
    let mut shutdown = server.shutdown_requested();
    loop {
        let next = tokio::select! {
            next = next_connection(&server, &listener, &mut shutdown, "accept") => next,
            moved = server.listener_swap.take() => {
                match TcpListener::from_std(moved) {
                    Ok(new) => listener = new,
                    Err(e) => tracing::warn!("could not take the new listening socket: {e}"),
                }
                continue;
            }
        };
        let Some((mut stream, addr, laddr)) = next else {
            return;
        };
        // Admitted here, before the next accept, so maxclients is never overshot.
        let Some(info) = admit(&server, &mut stream, addr, laddr).await else {
            continue;
        };
        tokio::spawn(serve_client(server.clone(), stream, info));
    }
}

/// The next TCP connection on `listener` (Nagle off), with its peer and local address;
/// `None` once shutdown is requested. Shared by the plaintext, TLS and DynamoDB listeners.
pub async fn next_connection(
    server: &Server,
    listener: &TcpListener,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
    what: &str,
) -> Option<(TcpStream, SocketAddr, SocketAddr)> {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => return None,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let laddr = stream.local_addr().unwrap_or(server.addr);
                return Some((stream, peer, laddr));
            }
            Err(e) => {
                // Typically EMFILE: back off a little instead of spinning.
                tracing::warn!("{what} failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// The checks every new client passes, whatever its transport (a TLS client once its
/// handshake is done, so it reads the refusal): maxclients and protected mode. Returns the
/// registered client, or `None` after writing the refusal.
async fn admit<S: Transport>(
    server: &Arc<Server>,
    stream: &mut S,
    peer: SocketAddr,
    laddr: SocketAddr,
) -> Option<Arc<ClientInfo>> {
    server
        .stats
        .connections_received
        .fetch_add(1, Ordering::Relaxed);
    let maxclients = server.config.read().maxclients;
    let refusal = if server.clients.len() >= maxclients {
        server
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        "-ERR max number of clients reached\r\n"
    } else if protected_mode_refuses(server, peer.ip()) {
        PROTECTED_MODE_DENIED
    } else {
        return Some(server.clients.register(peer, laddr));
    };
    let _ = stream.write_all(refusal.as_bytes()).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
    None
}

/// Serves an admitted client to the end of its connection (which takes it off the client
/// list: `dispatch::cleanup_client`).
async fn serve_client<S: Transport>(server: Arc<Server>, stream: S, info: Arc<ClientInfo>) {
    conn::serve(server, stream, info).await;
}
