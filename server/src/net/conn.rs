//! One client connection: read requests, run them, write replies.
//!
//! Pipelining falls out of the loop's shape: every complete request already buffered is
//! executed and its reply appended to the output buffer before the buffer is written, so a
//! pipeline of N commands costs one read and one write, with replies in order.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;

use bytes::{Bytes, BytesMut};
use redyn_protocol::{ParserLimits, Reply, RequestParser};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::runtime::RuntimeFlavor;

use crate::cmd::client::{ClientInfo, ClientState, UnblockMode};
use crate::cmd::shared::Server;
use crate::cmd::{cold_reads, dispatch, pipeline};

/// Output is flushed mid-pipeline once this much is pending, to bound memory.
const FLUSH_THRESHOLD: usize = 64 * 1024;
/// How often a command held back by a running script looks again (see
/// `cmd::script::must_wait_for_script`).
const SCRIPT_POLL: std::time::Duration = std::time::Duration::from_millis(1);

/// What a connection runs over: a TCP stream, or a TLS stream over one. Everything past
/// the TLS handshake is the same code for both.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

pub async fn serve<S: Transport>(server: Arc<Server>, mut stream: S, info: Arc<ClientInfo>) {
    let needs_auth = server.acl.default_requires_auth();
    let mut client = ClientState::new(info.clone(), !needs_auth);
    let mut rbuf = BytesMut::with_capacity(READ_BUFFER);
    let mut wbuf = BytesMut::with_capacity(16 * 1024);
    if let Err(e) = run(&server, &mut stream, &mut client, &mut rbuf, &mut wbuf).await {
        tracing::debug!("client {} closed: {e}", client.id);
    }
    // Released before the socket is shut down: once the peer sees the connection end, the
    // client is gone for the others too (a tracking redirection to it is broken).
    dispatch::cleanup_client(&server, &mut client);
    let _ = stream.shutdown().await;
}

async fn run<S: Transport>(
    server: &Arc<Server>,
    stream: &mut S,
    client: &mut ClientState,
    rbuf: &mut BytesMut,
    wbuf: &mut BytesMut,
) -> std::io::Result<()> {
    let info = client.info.clone();
    let mut peak = 0;
    let mut settled_capacity = rbuf.capacity();
    // Remembers a partly received request between reads, so it is never re-parsed.
    let mut parser = RequestParser::default();
    // A request parsed ahead while gathering a pipelined batch that could not join it.
    let mut parsed_ahead = None;
    let mut idle = IdleRelease::new();
    loop {
        let limits = ParserLimits {
            max_bulk_len: server.config.read().proto_max_bulk_len,
            authenticated: client.authenticated,
        };
        loop {
            let buffered = rbuf.len();
            let capacity = rbuf.capacity();
            let next = match parsed_ahead.take() {
                Some(request) => request,
                None => parser.next(rbuf, limits),
            };
            match next {
                Ok(Some(args)) if args.is_empty() => continue,
                Ok(Some(args)) => {
                    // Like Redis, the query buffer still holds the running command.
                    note_query_buffer(&info, buffered, capacity);
                    peak = peak.max(buffered);
                    wait_while_paused(server, stream, rbuf, client, &args).await?;
                    // Pushes queued before this command (invalidations) go before its reply.
                    if let Some(msg) = client.push_rx.as_mut().and_then(|rx| rx.try_recv().ok()) {
                        write_pushes(client, msg, wbuf);
                    }
                    let args = match gather_batch(server, client, &mut parser, rbuf, limits, args) {
                        Err(alone) => alone,
                        Ok((requests, ahead)) => {
                            parsed_ahead = ahead;
                            if let Some(db) = cold_reads::reading_ahead_for(server, client) {
                                let reads = requests.iter().map(|(_, args)| &args[..]);
                                cold_reads::read_keys_first(server, db, reads).await;
                            }
                            for reply in pipeline::run_batch(server, client, &requests) {
                                answer(client, reply, wbuf);
                            }
                            if client.closing {
                                break;
                            }
                            if wbuf.len() >= FLUSH_THRESHOLD {
                                flush(server, stream, client, wbuf).await?;
                            }
                            continue;
                        }
                    };
                    let reply = match run_command(server, stream, client, rbuf, wbuf, args).await? {
                        Some(reply) => reply,
                        None => return Ok(()),
                    };
                    answer(client, reply, wbuf);
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
        // Replies go out after the other connections ready now have run their commands,
        // as Redis writes its replies at the end of an event-loop turn: a client process
        // serving many connections (redis-benchmark, a worker pool) then wakes once for a
        // burst of replies instead of once per reply, and waking a sleeping thread on
        // another CPU is what a reply's send costs most (a third of the network thread's
        // time in the memory benchmark's GETs). There: 42-47 k -> 57 k GET/s, p99
        // 1.9-2.2 -> 1.45-1.5 ms; bench.sh unchanged (see the issue 15 notes).
        if !wbuf.is_empty() && !client.closing {
            tokio::task::yield_now().await;
        }
        flush(server, stream, client, wbuf).await?;
        if client.closing {
            return Ok(());
        }
        settled_capacity = resize_query_buffer(rbuf, std::mem::take(&mut peak), settled_capacity);
        note_query_buffer(&info, rbuf.len(), rbuf.capacity());
        let read = tokio::select! {
            read = read_request_bytes(stream, rbuf, &info, &mut idle) => read?,
            Some(message) = next_push(&mut client.push_rx) => {
                write_pushes(client, message, wbuf);
                continue;
            }
            () = stop_requested(server, &info) => return Ok(()),
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

/// A request as the parser returns it.
type ParsedRequest = Result<Option<Vec<Bytes>>, redyn_protocol::ProtocolError>;

/// Starting from `first`, takes the complete requests already buffered that may run with
/// it as one pipelined batch (see [`pipeline`]); also returns the request parsed after
/// them if it could not join. `None` (nothing parsed ahead) when `first` runs on its own.
fn gather_batch<'s>(
    server: &'s Server,
    client: &ClientState,
    parser: &mut RequestParser,
    rbuf: &mut BytesMut,
    limits: ParserLimits,
    first: Vec<Bytes>,
) -> Result<Batched<'s>, Vec<Bytes>> {
    if rbuf.is_empty() || !pipeline::may_batch(server, client) {
        return Err(first);
    }
    let Some(entry) = pipeline::batch_entry(server, None, &first) else {
        return Err(first);
    };
    // Sized for a typical pipeline at once (redis-benchmark -P 16): growing it 1, 4, 8, 16
    // was three reallocations per batch.
    let mut requests = Vec::with_capacity(16);
    requests.push((entry, first));
    let mut ahead = None;
    while requests.len() < pipeline::MAX_BATCH {
        match parser.next(rbuf, limits) {
            Ok(Some(args)) if args.is_empty() => continue,
            Ok(Some(args)) => match pipeline::batch_entry(server, requests.last(), &args) {
                Some(entry) => requests.push((entry, args)),
                None => {
                    ahead = Some(Ok(Some(args)));
                    break;
                }
            },
            Ok(None) => break,
            Err(e) => {
                ahead = Some(Err(e));
                break;
            }
        }
    }
    if requests.len() == 1 && ahead.is_none() {
        return Err(requests.pop().expect("one request").1);
    }
    Ok((requests, ahead))
}

/// Requests gathered into one batch, and the request parsed after them if it could not join.
type Batched<'s> = (
    Vec<(&'s crate::cmd::table::Entry, Vec<Bytes>)>,
    Option<ParsedRequest>,
);

/// Runs one request to its reply, waiting meanwhile if it blocks; `None` when the client
/// went away while blocked.
async fn run_command<S: Transport>(
    server: &Arc<Server>,
    stream: &mut S,
    client: &mut ClientState,
    rbuf: &mut BytesMut,
    wbuf: &mut BytesMut,
    args: Vec<Bytes>,
) -> std::io::Result<Option<Reply>> {
    if let Some(db) = cold_reads::reading_ahead_for(server, client) {
        // Other clients are served while this one's rows come from the disk.
        cold_reads::read_keys_first(server, db, [&args[..]]).await;
    }
    // Nothing awaits between this check and the command.
    while crate::cmd::script::must_wait_for_script(server, &args) {
        tokio::time::sleep(SCRIPT_POLL).await;
    }
    let mut reply = execute(server, client, &args);
    while let Some(block) = client.blocked.take() {
        let info = client.info.clone();
        flush(server, stream, client, wbuf).await?;
        let deadline = block.deadline;
        match wait_unblocked(server, stream, rbuf, &info, block).await? {
            Wake::Retry => {
                client.block_deadline = Some(deadline);
                let entry = dispatch::lookup(server, &args);
                reply = dispatch::execute(server, client, entry, &args);
            }
            Wake::TimedOut | Wake::Unblocked(UnblockMode::Timeout) => reply = Reply::NilArray,
            Wake::Unblocked(UnblockMode::Error) => {
                reply = Reply::Error(UNBLOCKED_ERROR.into());
                dispatch::note_error_reply(server, &reply);
            }
            Wake::Closed => return Ok(None),
        }
    }
    client.block_deadline = None;
    client.block_context = None;
    Ok(Some(reply))
}

/// The error a command ended by `CLIENT UNBLOCK id ERROR` answers.
const UNBLOCKED_ERROR: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

/// Appends a command's reply to the output as the client's CLIENT REPLY mode says, and
/// moves the mode on (SKIP covers one command).
fn answer(client: &mut ClientState, reply: Reply, wbuf: &mut BytesMut) {
    let mode = client.reply_mode;
    client.reply_mode = mode.after_command();
    client.replies_unsent += 1;
    if !client.no_reply {
        encode_reply(reply, mode.drops_reply(), client, wbuf);
    }
}

/// Encodes `reply`, or under CLIENT REPLY OFF/SKIP only the pushes it carries (Redis sends
/// subscription confirmations whatever the reply mode).
fn encode_reply(reply: Reply, drop_reply: bool, client: &ClientState, wbuf: &mut BytesMut) {
    if !drop_reply {
        reply.encode(client.resp, wbuf);
        return;
    }
    match reply {
        Reply::Push(_) => reply.encode(client.resp, wbuf),
        Reply::Multi(frames) => {
            for frame in frames {
                encode_reply(frame, true, client, wbuf);
            }
        }
        _ => {}
    }
}

/// Publishes the query buffer's use for CLIENT LIST.
fn note_query_buffer(info: &ClientInfo, used: usize, capacity: usize) {
    info.qbuf.store(used as u64, Ordering::Relaxed);
    info.qbuf_free
        .store(capacity.saturating_sub(used) as u64, Ordering::Relaxed);
}

/// What a connection reserves for reading.
const READ_BUFFER: usize = 16 * 1024;
/// Above this capacity an idle query buffer is given back when its recent peak use was
/// under half of it (Redis's `PROTO_RESIZE_THRESHOLD`).
const RESIZE_THRESHOLD: usize = 32 * 1024;
/// An empty query buffer unused this long is freed (as Redis's clients cron does).
const IDLE_BUFFER_RELEASE: std::time::Duration = std::time::Duration::from_secs(2);

/// Between batches: makes room for the next request (the consumed front of the buffer is
/// taken back when possible), and gives back a
/// buffer that grew for a large request once a later batch shows requests are small again
/// (peak use under half of it). Returns the capacity to compare the next batch with.
fn resize_query_buffer(rbuf: &mut BytesMut, peak: usize, settled_capacity: usize) -> usize {
    // Room for a request as large as the latest peak (as Redis keeps it), reusing the
    // allocation from its start when no request bytes are still referenced.
    let room = READ_BUFFER.max(peak);
    if rbuf.capacity() - rbuf.len() < room {
        rbuf.reserve(room);
    }
    let capacity = rbuf.capacity();
    if capacity > settled_capacity {
        return capacity;
    }
    if rbuf.is_empty() && capacity > RESIZE_THRESHOLD && peak < capacity / 2 {
        *rbuf = BytesMut::with_capacity(peak.max(READ_BUFFER));
    }
    rbuf.capacity()
}

/// Resolves once the client is killed or the server shuts down (see
/// [`ClientInfo::attention`]): what every wait of the connection for its client (the next
/// request, a blocked command, a pause) also waits for.
fn stop_requested<'a>(server: &'a Server, info: &'a ClientInfo) -> impl Future<Output = ()> + 'a {
    std::future::poll_fn(move |cx| {
        // Registered before the checks: a kill or shutdown after them wakes this waker.
        info.attention.register(cx.waker());
        if info.killed.load(Ordering::SeqCst) || server.is_stopping() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
}

/// The connection's one idle timer: an empty query buffer is freed once no request came
/// for between one and two [`IDLE_BUFFER_RELEASE`] periods. The timer is re-armed when it
/// fires, not at every read (a timer made for each wait cost ~450 instructions and two
/// locks of the timer wheel per request).
struct IdleRelease {
    timer: Pin<Box<tokio::time::Sleep>>,
    /// Whether the connection waited for a request since the timer was armed.
    active: bool,
}

impl IdleRelease {
    fn new() -> IdleRelease {
        IdleRelease {
            timer: Box::pin(tokio::time::sleep(IDLE_BUFFER_RELEASE)),
            active: false,
        }
    }

    /// Waits for the timer; `true` if the connection stayed idle for a whole period.
    async fn elapsed(&mut self) -> bool {
        self.timer.as_mut().await;
        let deadline = tokio::time::Instant::now() + IDLE_BUFFER_RELEASE;
        self.timer.as_mut().reset(deadline);
        !std::mem::take(&mut self.active)
    }
}

/// Reads more request bytes. While the connection sits idle with an empty buffer, the
/// buffer is released after a while; the first bytes to come then are read into a small
/// stack buffer (a TLS stream may hold decrypted bytes the socket no longer signals, so
/// readiness of the socket alone cannot be awaited), and a buffer allocated for them.
async fn read_request_bytes<S: Transport>(
    stream: &mut S,
    rbuf: &mut BytesMut,
    info: &ClientInfo,
    idle: &mut IdleRelease,
) -> std::io::Result<usize> {
    idle.active = true;
    if rbuf.is_empty() && rbuf.capacity() > 0 {
        loop {
            tokio::select! {
                // Cancel-safe: a read that has not completed has taken no bytes.
                read = stream.read_buf(rbuf) => return read,
                idle_for_a_period = idle.elapsed() => if idle_for_a_period {
                    *rbuf = BytesMut::new();
                    note_query_buffer(info, 0, 0);
                    break;
                }
            }
        }
    }
    if rbuf.capacity() == 0 {
        let mut first = [0u8; 256];
        let read = stream.read(&mut first).await?;
        rbuf.reserve(READ_BUFFER);
        rbuf.extend_from_slice(&first[..read]);
        return Ok(read);
    }
    rbuf.reserve(READ_BUFFER);
    stream.read_buf(rbuf).await
}

/// Holds a command back while CLIENT PAUSE covers it (all commands, or writes).
async fn wait_while_paused<S: Transport>(
    server: &Arc<Server>,
    stream: &mut S,
    rbuf: &mut BytesMut,
    client: &mut ClientState,
    args: &[Bytes],
) -> std::io::Result<()> {
    let pause = &server.clients.pause;
    // The common case (no pause) costs one check; subscribing first would cost every
    // command a channel subscription.
    if pause.current().is_none() {
        return Ok(());
    }
    let mut changed = pause.subscribe();
    let Some((mut until, mode)) = pause.current() else {
        return Ok(());
    };
    if !dispatch::held_by_pause(server, client, args, mode) {
        return Ok(());
    }
    // Counted as blocked (as Redis does), but not unblockable by CLIENT UNBLOCK.
    let info = client.info.clone();
    server.stats.blocked_clients.fetch_add(1, Ordering::Relaxed);
    let result = loop {
        tokio::select! {
            _ = tokio::time::sleep_until(until.into()) => {}
            _ = changed.changed() => {}
            read = stream.read_buf(rbuf) => match read {
                Ok(0) => break Err(std::io::Error::other("client closed while paused")),
                Ok(_) => continue,
                Err(e) => break Err(e),
            },
            () = stop_requested(server, &info) => {
                break Err(std::io::Error::other("client killed or server stopping"));
            }
        }
        match pause.current() {
            Some((next_until, next_mode))
                if dispatch::held_by_pause(server, client, args, next_mode) =>
            {
                until = next_until;
            }
            _ => break Ok(()),
        }
    };
    server.stats.blocked_clients.fetch_sub(1, Ordering::Relaxed);
    result
}

/// Runs one request. A command that may hold the thread for long (FLUSHDB, SAVE,
/// DDB.DELETETABLE…) runs inside `block_in_place`, so the runtime hands this worker's other
/// connections to another thread meanwhile instead of stalling them behind it. Fast
/// commands run inline: `block_in_place` costs a thread hand-off they should not pay.
fn execute(server: &Arc<Server>, client: &mut ClientState, args: &[Bytes]) -> Reply {
    let entry = dispatch::lookup(server, args);
    if dispatch::may_block_thread(server, client, entry) && can_block_in_place() {
        tokio::task::block_in_place(|| dispatch::execute(server, client, entry, args))
    } else {
        dispatch::execute(server, client, entry, args)
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
    /// CLIENT UNBLOCK.
    Unblocked(UnblockMode),
    /// The client went away or the server is stopping.
    Closed,
}

/// Waits until one of the keys a blocked command waits on changes, its timeout passes, or
/// the client disconnects. Bytes the client sends meanwhile stay buffered for later.
async fn wait_unblocked<S: Transport>(
    server: &Arc<Server>,
    stream: &mut S,
    rbuf: &mut BytesMut,
    info: &ClientInfo,
    mut block: crate::cmd::BlockRequest,
) -> std::io::Result<Wake> {
    server.stats.blocked_clients.fetch_add(1, Ordering::Relaxed);
    info.blocked.store(true, Ordering::SeqCst);
    let wake = loop {
        if let Some(mode) = info.take_unblock() {
            break Wake::Unblocked(mode);
        }
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
            () = stop_requested(server, info) => break Wake::Closed,
            // The request itself is read at the top of the loop.
            _ = info.unblock_signal.notified() => continue,
        }
    };
    info.blocked.store(false, Ordering::SeqCst);
    // A CLIENT UNBLOCK that raced with another wake-up no longer applies.
    info.take_unblock();
    server.stats.blocked_clients.fetch_sub(1, Ordering::Relaxed);
    for (raw, _) in &block.signals {
        server.engine.signals.release(raw);
    }
    Ok(wake)
}

/// Writes pending replies, first waiting for the fsync covering this client's writes when
/// `appendfsync always` is in force.
async fn flush<S: Transport>(
    server: &Arc<Server>,
    stream: &mut S,
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
    } else {
        let pipelined = std::mem::take(&mut client.replies_unsent) > 1;
        let write_out = server.engine.durability.must_write_out(seq);
        if pipelined || write_out {
            // Yielding first lets the other connections ready on this worker run their
            // commands (tokio polls a yielded task after the I/O driver), so their replies go
            // out in a burst, as Redis writes replies once per event-loop turn: a pipelining
            // client woken by the first reply finds the others there instead of being woken
            // again for each (a wake-up was a fifth of a pipelined GET's CPU time). A lone
            // reply that acknowledges no write goes at once, as before: it gains nothing from
            // the yield, and Redis's pub/sub suite (UNSUBSCRIBE on one connection, then PUBLISH
            // on another without reading the first's replies) failed with it.
            tokio::task::yield_now().await;
        }
        if write_out {
            // A write() to the page cache, shared with every connection flushing meanwhile:
            // after it, only a machine crash (not a process crash) can lose what this reply
            // acknowledges; one write() covers every reply of the turn, as Redis writes its
            // AOF buffer once per event-loop turn, not per client.
            if let Err(e) = server.engine.write_through(seq) {
                tracing::error!("journal write failed: {e}");
                return Err(std::io::Error::other(e));
            }
        }
    }
    // A client that stops reading must not pin its connection forever: CLIENT KILL and
    // the pub/sub output-buffer limit interrupt a stuck write.
    let info = client.info.clone();
    tokio::select! {
        // The write first: it most often completes at once, and the kill wait, never
        // polled, is never registered with its Notify.
        biased;
        // TLS keeps records it could not send yet: flush pushes them out (a no-op on TCP).
        written = async { stream.write_all(wbuf).await?; stream.flush().await } => written?,
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
