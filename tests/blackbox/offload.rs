//! Slow commands run off the network thread: while one client's FLUSHDB works through a
//! large database, another client sharing the server's only I/O thread is still answered.
//!
//! The test compares completion order, never durations: it waits (by polling CLIENT LIST
//! from a second connection) until the slow command is known to be running, then checks that
//! a PING is answered while the first connection still has no reply. Without offloading, the
//! second connection cannot be answered at all until FLUSHDB finished and replied, so the
//! assertion fails.

use std::io::{ErrorKind, Read};

use crate::harness::{q, RawConn, TestServer};

/// Enough keys that deleting them takes far longer than a few loopback round trips.
const KEYS: usize = 300_000;
const BATCH: usize = 5_000;

fn load_keys(con: &mut redis::Connection) {
    for start in (0..KEYS).step_by(BATCH) {
        let mut mset = redis::cmd("MSET");
        for i in start..start + BATCH {
            mset.arg(format!("key:{i}")).arg(i);
        }
        let mut pipe = redis::pipe();
        pipe.add_command(mset).ignore();
        let () = pipe.query(con).expect("MSET batch");
    }
    assert_eq!(q::<usize>(con, &["DBSIZE"]), KEYS);
}

/// The CLIENT LIST `cmd=` of connection `id` (the command it runs or ran last).
fn current_command(con: &mut redis::Connection, id: i64) -> String {
    let list: String = q(con, &["CLIENT", "LIST", "ID", &id.to_string()]);
    list.split_whitespace()
        .find_map(|field| field.strip_prefix("cmd="))
        .expect("cmd= field")
        .to_string()
}

/// Whether the server already sent anything on `raw` (without waiting for it).
fn has_reply(raw: &mut RawConn) -> bool {
    raw.stream.set_nonblocking(true).expect("nonblocking");
    let mut byte = [0u8; 1];
    let ready = match raw.stream.peek(&mut byte) {
        Ok(n) => n > 0,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(e) => panic!("peek failed: {e}"),
    };
    raw.stream.set_nonblocking(false).expect("blocking");
    ready
}

/// Sends `requests` on a fresh connection (after reading `preamble_replies` lines of
/// immediate replies), waits until CLIENT LIST shows it running `running`, and checks another
/// client is answered before the slow connection gets its reply, which must be `reply`.
fn assert_others_answered_during(
    server: &TestServer,
    observer: &mut redis::Connection,
    requests: &[u8],
    preamble_replies: &[&str],
    running: &str,
    reply: &[&str],
) {
    let mut slow = server.raw();
    slow.send(b"CLIENT ID\r\n");
    let id: i64 = slow.read_line().trim()[1..].parse().expect("client id");
    slow.send(requests);
    for expected in preamble_replies {
        assert_eq!(slow.read_line(), *expected);
    }
    // Wait until the server is inside the slow command. Without offloading, this CLIENT
    // LIST itself is only answered after the command replied.
    let mut seen = Vec::new();
    loop {
        let current = current_command(observer, id);
        if current == running {
            break;
        }
        if seen.last() != Some(&current) {
            seen.push(current);
        }
        assert!(
            !has_reply(&mut slow),
            "{running} finished before any other client was answered (it blocked the I/O \
             thread); CLIENT LIST showed {seen:?}"
        );
    }
    assert!(
        !has_reply(&mut slow),
        "{running} finished before any other client was answered: it blocked the I/O thread"
    );
    assert_eq!(q::<String>(observer, &["PING"]), "PONG");
    assert!(
        !has_reply(&mut slow),
        "PING must be answered while {running} is still running"
    );

    // The slow command still completes normally, with exactly its reply.
    slow.stream
        .set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .expect("timeout");
    for expected in reply {
        assert_eq!(slow.read_line(), *expected);
    }
    let mut rest = [0u8; 1];
    slow.stream.set_nonblocking(true).expect("nonblocking");
    assert!(
        matches!(slow.stream.read(&mut rest), Err(e) if e.kind() == ErrorKind::WouldBlock),
        "exactly one reply"
    );
}

fn single_io_thread_server() -> TestServer {
    TestServer::start_with(&["--io-threads", "1"])
}

#[test]
fn other_clients_are_answered_while_a_slow_command_runs() {
    let server = single_io_thread_server();
    let mut observer = server.client();
    load_keys(&mut observer);
    assert_others_answered_during(
        &server,
        &mut observer,
        b"FLUSHDB\r\n",
        &[],
        "flushdb",
        &["+OK\r\n"],
    );
    assert_eq!(q::<usize>(&mut observer, &["DBSIZE"]), 0);
}

/// EXEC is offloaded when its queue holds a slow command, yet another client's CLIENT LIST
/// still stalls until EXEC finishes (something on the I/O thread waits for the shard locks
/// or layout lock EXEC holds for its whole run); not diagnosed yet.
#[test]
#[ignore = "another client still stalls behind an offloaded EXEC: undiagnosed lock wait"]
fn other_clients_are_answered_while_an_exec_with_a_slow_command_runs() {
    let server = single_io_thread_server();
    let mut observer = server.client();
    load_keys(&mut observer);
    assert_others_answered_during(
        &server,
        &mut observer,
        b"MULTI\r\nFLUSHDB\r\nEXEC\r\n",
        &["+OK\r\n", "+QUEUED\r\n"],
        "flushdb",
        &["*1\r\n", "+OK\r\n"],
    );
    assert_eq!(q::<usize>(&mut observer, &["DBSIZE"]), 0);
}
