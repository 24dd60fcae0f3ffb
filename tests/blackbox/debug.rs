//! DEBUG behind `enable-debug-command`, and what a panicking command handler does: the
//! client gets an error, that one connection closes, everything else goes on.

use crate::harness::{error, eventually, free_port, http_get, info_number, q, TestServer};

const NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

#[test]
fn debug_is_refused_unless_enabled() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(error(&mut c, &["DEBUG", "SLEEP", "0"]), NOT_ALLOWED);
    assert_eq!(error(&mut c, &["DEBUG", "PANIC"]), NOT_ALLOWED);
    let local = TestServer::start_with(&["--enable-debug-command", "local"]);
    let _: () = q(&mut local.client(), &["DEBUG", "SLEEP", "0"]);
}

#[test]
fn debug_subcommands_and_errors() {
    let server = TestServer::start_with(&["--enable-debug-command", "yes"]);
    let mut c = server.client();
    let _: () = q(&mut c, &["DEBUG", "SLEEP", "0.01"]);
    let help: Vec<String> = q(&mut c, &["DEBUG", "HELP"]);
    assert!(help.iter().any(|l| l.starts_with("SLEEP")));
    assert_eq!(
        error(&mut c, &["DEBUG", "NOPE"]),
        "ERR unknown subcommand 'NOPE'. Try DEBUG HELP."
    );
    assert_eq!(
        error(&mut c, &["DEBUG"]),
        "ERR wrong number of arguments for 'debug' command"
    );
}

fn connected_clients(con: &mut redis::Connection) -> u64 {
    info_number(con, "clients", "connected_clients")
}

#[test]
fn a_panicking_handler_answers_an_error_and_closes_only_its_connection() {
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let server = TestServer::start_with(&[
        "--enable-debug-command",
        "yes",
        "--metrics-addr",
        &metrics_addr,
    ]);
    let mut other = server.client();
    let _: () = q(&mut other, &["SET", "k", "v"]);
    let _: i64 = q(&mut other, &["RPUSH", "l", "a", "b"]);

    let mut raw = server.raw();
    raw.send(b"*2\r\n$5\r\nDEBUG\r\n$5\r\nPANIC\r\n");
    assert_eq!(
        raw.read_line(),
        "-ERR internal error while running 'debug' (the connection will be closed)\r\n"
    );
    assert!(raw.is_closed(), "the panicked connection is closed");

    // A panic inside MULTI/EXEC: the transaction's earlier writes stand (as any EXEC's
    // do), the rest of the queue does not run, and that connection closes too.
    let mut raw = server.raw();
    raw.send(
        b"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*2\r\n$5\r\nDEBUG\r\n$5\r\nPANIC\r\n*1\r\n$4\r\nEXEC\r\n",
    );
    assert_eq!(raw.read_line(), "+OK\r\n");
    assert_eq!(raw.read_line(), "+QUEUED\r\n");
    assert_eq!(raw.read_line(), "+QUEUED\r\n");
    assert_eq!(raw.read_line(), "*2\r\n");
    assert_eq!(raw.read_line(), ":1\r\n");
    assert!(raw
        .read_line()
        .starts_with("-ERR internal error while running 'debug'"));
    assert!(raw.is_closed());

    // Everyone else, and all data, are untouched; the connection count is exact again.
    assert_eq!(q::<String>(&mut other, &["GET", "k"]), "v");
    assert_eq!(
        q::<Vec<String>>(&mut other, &["LRANGE", "l", "0", "-1"]),
        ["a", "b"]
    );
    assert_eq!(q::<i64>(&mut other, &["GET", "n"]), 1);
    assert!(eventually(5, || connected_clients(&mut other) == 1));
    let body = http_get(&metrics_addr, "/metrics").expect("metrics endpoint");
    assert!(
        body.lines()
            .any(|l| l.starts_with("redyn_command_panics_total{cmd=\"debug\"} 2")),
        "panic counter in:\n{body}"
    );
}
