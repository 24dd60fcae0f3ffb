//! One client connection: read requests, run them, write replies.
//!
//! Pipelining falls out of the loop's shape: every complete request already buffered is
//! executed and its reply appended to the output buffer before the buffer is written, so a
//! pipeline of N commands costs one read and one write, with replies in order.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use redyn_protocol::{parse_request, ParserLimits, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::RuntimeFlavor;

use crate::cmd::client::{ClientInfo, ClientState};
use crate::cmd::dispatch;
use crate::cmd::shared::Server;

/// Output is flushed mid-pipeline once this much is pending, to bound memory.
const FLUSH_THRESHOLD: usize = 64 * 1024;

pub async fn serve(server: Arc<Server>, mut stream: TcpStream, info: Arc<ClientInfo>) {
    let needs_auth = server.config.read().requirepass.is_some();
    let mut client = ClientState::new(info.clone(), !needs_auth);
    let mut rbuf = BytesMut::with_capacity(16 * 1024);
    let mut wbuf = BytesMut::with_capacity(16 * 1024);
    let mut shutdown = server.shutdown_requested();
    if let Err(e) = run(
        &server,
        &mut stream,
        &mut client,
        &mut rbuf,
        &mut wbuf,
        &mut shutdown,
    )
    .await
    {
        tracing::debug!("client {} closed: {e}", client.id);
    }
    let _ = stream.shutdown().await;
    dispatch::cleanup_client(&server, &mut client);
}

async fn run(
    server: &Arc<Server>,
    stream: &mut TcpStream,
    client: &mut ClientState,
    rbuf: &mut BytesMut,
    wbuf: &mut BytesMut,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let info = client.info.clone();
    loop {
        let limits = ParserLimits {
            max_bulk_len: server.config.read().proto_max_bulk_len,
            authenticated: client.authenticated,
        };
        loop {
            match parse_request(rbuf, limits) {
                Ok(Some(args)) if args.is_empty() => continue,
                Ok(Some(args)) => {
                    let mut reply = execute(server, client, args.clone());
                    while let Some(block) = client.blocked.take() {
                        flush(server, stream, client, wbuf).await?;
                        let deadline = block.deadline;
                        match wait_unblocked(server, stream, rbuf, shutdown, &info, block).await? {
                            Wake::Retry => {
                                client.block_deadline = Some(deadline);
                                reply = dispatch::execute(server, client, args.clone());
                            }
                            Wake::TimedOut => reply = Reply::NilArray,
                            Wake::Closed => return Ok(()),
                        }
                    }
                    client.block_deadline = None;
                    client.block_context = None;
                    if !client.no_reply {
                        reply.encode(client.resp, wbuf);
                    }
                    if client.closing {
                        break;
                    }
                    if wbuf.len() >= FLUSH_THRESHOLD {
                        flush(server, stream, client, wbuf).await?;
                    }
                }
                Ok(None) => break,
                Err(protocol_error) => {
                    // Redis answers and closes: the stream cannot be resynchronised.
                    Reply::Error(protocol_error.reply_text()).encode(client.resp, wbuf);
                    flush(server, stream, client, wbuf).await?;
                    return Ok(());
                }
            }
        }
        flush(server, stream, client, wbuf).await?;
        if client.closing {
            return Ok(());
        }
        let read = tokio::select! {
            read = stream.read_buf(rbuf) => read?,
            Some(message) = next_push(&mut client.push_rx) => {
                write_pushes(client, message, wbuf);
                continue;
            }
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
            _ = info.kill_signal.notified() => return Ok(()),
        };
        if read == 0 {
            return Ok(());
        }
        server
            .stats
            .net_input_bytes
            .fetch_add(read as u64, Ordering::Relaxed);
    }
}

/// Runs one request. A command that may hold the thread for long (FLUSHDB, SAVE,
/// DDB.DELETETABLE…) runs inside `block_in_place`, so the runtime hands this worker's other
/// connections to another thread meanwhile instead of stalling them behind it. Fast
/// commands run inline: `block_in_place` costs a thread hand-off they should not pay.
fn execute(server: &Arc<Server>, client: &mut ClientState, args: Vec<Bytes>) -> Reply {
    if dispatch::may_block_thread(server, client, &args) && can_block_in_place() {
        tokio::task::block_in_place(|| dispatch::execute(server, client, args))
    } else {
        dispatch::execute(server, client, args)
    }
}

/// `block_in_place` panics on a current-thread runtime (an embedding may run the server on
/// one); there the command simply runs inline.
fn can_block_in_place() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == RuntimeFlavor::MultiThread)
}

/// The next pub/sub message for this client (never resolves for unsubscribed clients).
async fn next_push(
    rx: &mut Option<tokio::sync::mpsc::UnboundedReceiver<crate::stream::PushMessage>>,
) -> Option<crate::stream::PushMessage> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Encodes `first` and every other message already queued, and releases their bytes from
/// the client's output-buffer accounting.
fn write_pushes(client: &mut ClientState, first: crate::stream::PushMessage, wbuf: &mut BytesMut) {
    let mut message = Some(first);
    while let Some(msg) = message {
        msg.to_reply().encode(client.resp, wbuf);
        if let Some(handle) = &client.subs.handle {
            handle.queued.fetch_sub(msg.size(), Ordering::Relaxed);
        }
        if wbuf.len() >= FLUSH_THRESHOLD {
            break;
        }
        message = client.push_rx.as_mut().and_then(|rx| rx.try_recv().ok());
    }
}

enum Wake {
    /// A watched key changed: run the command again.
    Retry,
    TimedOut,
    /// The client went away or the server is stopping.
    Closed,
}

/// Waits until one of the keys a blocked command waits on changes, its timeout passes, or
/// the client disconnects. Bytes the client sends meanwhile stay buffered for later.
async fn wait_unblocked(
    server: &Arc<Server>,
    stream: &mut TcpStream,
    rbuf: &mut BytesMut,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
    info: &ClientInfo,
    mut block: crate::cmd::BlockRequest,
) -> std::io::Result<Wake> {
    server.stats.blocked_clients.fetch_add(1, Ordering::Relaxed);
    let wake = loop {
        let changed = futures::future::select_all(
            block
                .signals
                .iter_mut()
                .map(|(_, rx)| Box::pin(rx.changed())),
        );
        let timeout = async {
            match block.deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = changed => break Wake::Retry,
            _ = timeout => break Wake::TimedOut,
            read = stream.read_buf(rbuf) => match read {
                Ok(0) | Err(_) => break Wake::Closed,
                Ok(_) => continue,
            },
            _ = shutdown.wait_for(|stop| *stop) => break Wake::Closed,
            _ = info.kill_signal.notified() => break Wake::Closed,
        }
    };
    server.stats.blocked_clients.fetch_sub(1, Ordering::Relaxed);
    for (raw, _) in &block.signals {
        server.engine.signals.release(raw);
    }
    Ok(wake)
}

/// Writes pending replies, first waiting for the fsync covering this client's writes when
/// `appendfsync always` is in force.
async fn flush(
    server: &Arc<Server>,
    stream: &mut TcpStream,
    client: &mut ClientState,
    wbuf: &mut BytesMut,
) -> std::io::Result<()> {
    if wbuf.is_empty() {
        return Ok(());
    }
    let seq = client.last_write_seq;
    if server.engine.durability.must_sync(seq) {
        let engine = server.engine.clone();
        let synced = tokio::task::spawn_blocking(move || engine.sync_through(seq))
            .await
            .map_err(std::io::Error::other)?;
        if let Err(e) = synced {
            // Never acknowledge a write that may not be durable.
            tracing::error!("fsync failed: {e}");
            return Err(std::io::Error::other(e));
        }
    }
    // A client that stops reading must not pin its connection forever: CLIENT KILL and
    // the pub/sub output-buffer limit interrupt a stuck write.
    let info = client.info.clone();
    tokio::select! {
        written = stream.write_all(wbuf) => written?,
        _ = info.kill_signal.notified() => {
            return Err(std::io::Error::other("client killed"));
        }
    }
    server
        .stats
        .net_output_bytes
        .fetch_add(wbuf.len() as u64, Ordering::Relaxed);
    wbuf.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::can_block_in_place;
    use tokio::runtime::Builder;

    #[test]
    fn block_in_place_is_used_only_on_multi_thread_runtimes() {
        assert!(!can_block_in_place(), "outside any runtime");
        let current = Builder::new_current_thread().build().unwrap();
        assert!(!current.block_on(async { can_block_in_place() }));
        let multi = Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        assert!(multi.block_on(async { can_block_in_place() }));
    }
}
