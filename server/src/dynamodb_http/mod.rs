//! DynamoDB's HTTP API (the JSON 1.0 protocol SDKs speak: `POST /` with
//! `X-Amz-Target: DynamoDB_20120810.<Operation>`) and DynamoDB Streams' API, served on
//! `--dynamodb-port` beside the RESP listener.
//!
//! This is a second front end over the same table layer as the DDB.* commands: every
//! operation calls the `Tables` function its DDB.* command calls, so validation, expressions,
//! change records and metrics of the data are shared.
//!
//! - [`protocol`]: one HTTP exchange: target, body, reply headers (CRC32, request id, gzip);
//! - [`auth`]: AWS Signature Version 4 against the ACL users' passwords;
//! - [`operations`]: the operation table (table-layer function, ACL command, access);
//! - [`streams`]: DynamoDB Streams over the tables' change logs;
//! - [`errors`]: DynamoDB's error bodies and status codes.

mod auth;
mod errors;
mod operations;
mod protocol;
mod streams;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::cmd::shared::Server;
use crate::config::Config;

/// Binds the listener if `dynamodb-port` is on, and writes the bound port back to the
/// configuration (`0` picks a free port; CONFIG GET reports the real one). A busy port is
/// reported and leaves the API off: serving RESP matters more.
pub async fn bind(config: &mut Config) -> Option<TcpListener> {
    let port = config.dynamodb_port?;
    match TcpListener::bind((config.bind.as_str(), port)).await {
        Ok(listener) => {
            config.dynamodb_port = listener.local_addr().ok().map(|a| a.port());
            Some(listener)
        }
        Err(e) => {
            tracing::error!("DynamoDB API on {}:{port} not started: {e}", config.bind);
            config.dynamodb_port = None;
            None
        }
    }
}

/// Serves DynamoDB's API on `listener` until shutdown is requested.
pub fn spawn(server: Arc<Server>, listener: TcpListener) {
    if let Ok(addr) = listener.local_addr() {
        announce(&server, addr);
    }
    tokio::spawn(accept_loop(server, listener));
}

fn announce(server: &Server, addr: SocketAddr) {
    tracing::info!("DynamoDB API listening on http://{addr}");
    if !server.acl.default_requires_auth() && !addr.ip().is_loopback() {
        tracing::warn!(
            "The DynamoDB API on {addr} is not on loopback and redyn has no password: any request is accepted, whatever its signature. Set requirepass (or ACL users) to verify AWS signatures."
        );
    }
}

async fn accept_loop(server: Arc<Server>, listener: TcpListener) {
    let mut shutdown = server.shutdown_requested();
    while let Some((stream, _, _)) =
        crate::net::next_connection(&server, &listener, &mut shutdown, "DynamoDB API accept").await
    {
        tokio::spawn(serve_connection(server.clone(), stream));
    }
}

/// One keep-alive HTTP/1.1 connection.
async fn serve_connection(server: Arc<Server>, stream: tokio::net::TcpStream) {
    let service = service_fn(move |request| {
        let server = server.clone();
        async move { Ok::<_, Infallible>(protocol::handle(server, request).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}
