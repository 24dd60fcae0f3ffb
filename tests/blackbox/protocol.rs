//! Protocol-level behaviour over raw sockets: inline commands, pipelining, malformed input
//! (which must close only the offending connection), many concurrent clients.

use std::io::Write;

use crate::harness::{q, TestServer};

/// After a protocol error the offender is disconnected, and other clients and the data
/// are untouched.
fn assert_rejected(server: &TestServer, input: &[u8], expected_error: &str) {
    let mut bystander = server.client();
    let _: () = q(&mut bystander, &["SET", "guard", "intact"]);
    let mut raw = server.raw();
    raw.send(input);
    assert_eq!(
        raw.read_line(),
        format!("-{expected_error}\r\n"),
        "input {:?}",
        String::from_utf8_lossy(input)
    );
    assert!(
        raw.is_closed(),
        "connection should be closed after a protocol error"
    );
    assert_eq!(q::<String>(&mut bystander, &["GET", "guard"]), "intact");
    assert_eq!(q::<String>(&mut bystander, &["PING"]), "PONG");
}

#[test]
fn inline_commands() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.send(b"PING\r\n");
    assert_eq!(raw.read_line(), "+PONG\r\n");
    raw.send(b"SET greeting \"hello world\"\nGET greeting\r\n");
    assert_eq!(raw.read_line(), "+OK\r\n");
    assert_eq!(raw.read_line(), "$11\r\n");
    assert_eq!(raw.read_line(), "hello world\r\n");
    raw.send(b"\r\n\r\nECHO 'it''s'\r\n");
    // Empty lines are ignored; a closing quote must be followed by a space.
    assert_eq!(
        raw.read_line(),
        "-ERR Protocol error: unbalanced quotes in request\r\n"
    );
}

#[test]
fn pipelining_keeps_reply_order() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut batch = Vec::new();
    for i in 0..1000 {
        batch.extend_from_slice(
            format!("*3\r\n$3\r\nSET\r\n$4\r\nk{i:03}\r\n$1\r\n{}\r\n", i % 10).as_bytes(),
        );
        batch.extend_from_slice(format!("*2\r\n$4\r\nINCR\r\n$4\r\nk{i:03}\r\n").as_bytes());
    }
    raw.stream.write_all(&batch).unwrap();
    for i in 0..1000 {
        assert_eq!(raw.read_line(), "+OK\r\n");
        assert_eq!(raw.read_line(), format!(":{}\r\n", i % 10 + 1));
    }
    // A command split across writes is assembled.
    raw.send(b"*2\r\n$4\r\nECHO\r\n$5\r\nhe");
    std::thread::sleep(std::time::Duration::from_millis(50));
    raw.send(b"llo\r\n");
    assert_eq!(raw.read_line(), "$5\r\n");
    assert_eq!(raw.read_line(), "hello\r\n");
}

#[test]
fn malformed_requests_close_only_that_connection() {
    let server = TestServer::start();
    assert_rejected(
        &server,
        b"*1\r\n$1073741824\r\n",
        "ERR Protocol error: invalid bulk length",
    );
    assert_rejected(
        &server,
        b"*1\r\n$-5\r\n",
        "ERR Protocol error: invalid bulk length",
    );
    assert_rejected(
        &server,
        b"*abc\r\n",
        "ERR Protocol error: invalid multibulk length",
    );
    assert_rejected(
        &server,
        b"*3000000000\r\n",
        "ERR Protocol error: invalid multibulk length",
    );
    assert_rejected(
        &server,
        b"*2\r\n$3\r\nGET\r\n:1\r\n",
        "ERR Protocol error: expected '$', got ':'",
    );
    assert_rejected(
        &server,
        b"SET a \"unterminated\r\n",
        "ERR Protocol error: unbalanced quotes in request",
    );
    let mut garbage = vec![b'x'; 70 * 1024];
    garbage.push(b'y');
    assert_rejected(
        &server,
        &garbage,
        "ERR Protocol error: too big inline request",
    );
}

#[test]
fn disconnect_mid_command_and_random_garbage_do_not_hurt_the_server() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["SET", "stable", "1"]);
    for _ in 0..20 {
        let mut raw = server.raw();
        raw.send(b"*3\r\n$3\r\nSET\r\n$6\r\nstable\r\n$100\r\nonly part of the val");
        drop(raw);
    }
    // Pseudo-random bytes: the server answers with an error or waits, never crashes.
    let mut seed = 0x2545F4914F6CDD1Du64;
    for _ in 0..20 {
        let mut raw = server.raw();
        let junk: Vec<u8> = (0..512)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed & 0xff) as u8
            })
            .collect();
        raw.send(&junk);
        drop(raw);
    }
    assert_eq!(
        q::<String>(&mut c, &["GET", "stable"]),
        "1",
        "a partial SET must not apply"
    );
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

#[test]
fn two_hundred_concurrent_clients() {
    let server = TestServer::start();
    let threads: Vec<_> = (0..200)
        .map(|t| {
            let mut c = server.client();
            std::thread::spawn(move || {
                for i in 0..20 {
                    let key = format!("c{t}:{i}");
                    let _: () = q(&mut c, &["SET", &key, &t.to_string()]);
                    assert_eq!(q::<String>(&mut c, &["GET", &key]), t.to_string());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 4000);
}
