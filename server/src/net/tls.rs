//! The TLS listener: accepts TCP connections, runs the TLS handshake with the configuration
//! current at that moment (CONFIG SET of the certificate files applies to new connections),
//! then hands the encrypted stream to the same admission and connection code as plaintext.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::cmd::shared::Server;

/// A peer that does not complete its handshake within this time is dropped, so stalled or
/// half-open connections do not pile up before they count as clients.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts TLS connections until shutdown is requested.
pub async fn accept_loop(server: Arc<Server>, listener: TcpListener) {
    let mut shutdown = server.shutdown_requested();
    while let Some((stream, peer, laddr)) =
        super::next_connection(&server, &listener, &mut shutdown, "TLS accept").await
    {
        let Some(config) = server.config.read().tls.server_config.clone() else {
            continue;
        };
        // The handshake runs in the connection's task: a slow peer must not hold up
        // the accept loop.
        tokio::spawn(handshake_and_serve(
            server.clone(),
            TlsAcceptor::from(config),
            stream,
            peer,
            laddr,
        ));
    }
}

async fn handshake_and_serve(
    server: Arc<Server>,
    acceptor: TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    laddr: SocketAddr,
) {
    let mut tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            // Redis logs failed handshakes at verbose level too: a port scan is not news.
            tracing::debug!("Error accepting a client connection: {e} (addr={peer} laddr={laddr})");
            return;
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out (addr={peer} laddr={laddr})");
            return;
        }
    };
    if let Some(info) = super::admit(&server, &mut tls, peer, laddr).await {
        super::serve_client(server, tls, info).await;
    }
}
