//! MONITOR: `+OK`, then one line per command from every client in Redis's format (scripts
//! as `lua`, secrets redacted, MULTI/EXEC in execution order); and transactions while a
//! script is busy (MULTI allowed, a rejected EXEC aborts the transaction).

use std::time::Duration;

use crate::harness::{error, eventually, q, RawConn, TestServer};

/// Reads one MONITOR line, checking its timestamp and source, and returns the part after
/// the `[db source]` bracket.
fn monitor_line(raw: &mut RawConn, source: &str) -> String {
    let line = raw.read_line();
    let body = line
        .strip_prefix('+')
        .and_then(|l| l.strip_suffix("\r\n"))
        .unwrap_or_else(|| panic!("not a status line: {line:?}"));
    let (stamp, rest) = body.split_once(' ').expect("timestamp");
    let (secs, micros) = stamp.split_once('.').expect("seconds.micros");
    assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{line}");
    let (bracket, args) = rest.split_once("] ").expect("bracket");
    let (db, from) = bracket[1..].split_once(' ').expect("db and source");
    assert_eq!(db, "0", "{line}");
    if source == "client" {
        assert!(from.starts_with("127.0.0.1:"), "{line}");
    } else {
        assert_eq!(from, source, "{line}");
    }
    args.to_string()
}

fn start_monitor(server: &TestServer) -> RawConn {
    let mut raw = server.raw();
    raw.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    raw.send(b"MONITOR\r\n");
    assert_eq!(raw.read_line(), "+OK\r\n");
    raw
}

#[test]
fn monitor_shows_commands_from_every_client() {
    let server = TestServer::start();
    let mut raw = start_monitor(&server);
    let mut c = server.client();
    let _: () = q(&mut c, &["SET", "foo", "bar \"quoted\"\n"]);
    let _: String = q(&mut c, &["GET", "foo"]);
    assert_eq!(
        monitor_line(&mut raw, "client"),
        r#""SET" "foo" "bar \"quoted\"\n""#
    );
    assert_eq!(monitor_line(&mut raw, "client"), r#""GET" "foo""#);
    // Administrative commands are not shown; the next line is the PING.
    let _: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory"]);
    let _: String = q(&mut c, &["PING"]);
    assert_eq!(monitor_line(&mut raw, "client"), r#""PING""#);
}

#[test]
fn monitor_shows_scripts_transactions_and_redacts_secrets() {
    let server = TestServer::start();
    let mut raw = start_monitor(&server);
    let mut c = server.client();
    let _: () = q(
        &mut c,
        &["EVAL", "redis.call('set',KEYS[1],ARGV[1])", "1", "k", "v"],
    );
    assert!(monitor_line(&mut raw, "client").starts_with(r#""EVAL""#));
    assert_eq!(monitor_line(&mut raw, "lua"), r#""set" "k" "v""#);

    let mut pipe = redis::pipe();
    pipe.atomic().cmd("SET").arg("a").arg("1");
    let _: () = pipe.query(&mut c).unwrap();
    assert_eq!(monitor_line(&mut raw, "client"), r#""MULTI""#);
    assert_eq!(monitor_line(&mut raw, "client"), r#""SET" "a" "1""#);
    assert_eq!(monitor_line(&mut raw, "client"), r#""EXEC""#);

    let _ = redis::cmd("AUTH")
        .arg("nobody")
        .arg("secret")
        .query::<()>(&mut c);
    assert_eq!(
        monitor_line(&mut raw, "client"),
        r#""AUTH" "(redacted)" "(redacted)""#
    );
    let _ = redis::cmd("HELLO")
        .arg("2")
        .arg("AUTH")
        .arg("nobody")
        .arg("secret")
        .query::<redis::Value>(&mut c);
    assert_eq!(
        monitor_line(&mut raw, "client"),
        r#""HELLO" "2" "AUTH" "(redacted)" "(redacted)""#
    );
}

#[test]
fn monitor_twice_and_inside_multi() {
    let server = TestServer::start();
    let mut raw = start_monitor(&server);
    // A second MONITOR is ignored without a reply: the next line is the PING's.
    raw.send(b"MONITOR\r\nPING\r\n");
    assert_eq!(raw.read_line(), "+PONG\r\n");
    let mut c = server.client();
    let _: () = q(&mut c, &["MULTI"]);
    assert_eq!(
        error(&mut c, &["MONITOR"]),
        "ERR Command not allowed inside a transaction"
    );
}

/// Runs an endless script from another thread and waits until the server answers BUSY.
fn start_busy_script(
    server: &TestServer,
    c: &mut redis::Connection,
) -> std::thread::JoinHandle<()> {
    let _: () = q(c, &["CONFIG", "SET", "lua-time-limit", "10"]);
    let url = server.url();
    let runner = std::thread::spawn(move || {
        let mut r = redis::Client::open(url).unwrap().get_connection().unwrap();
        let _ = redis::cmd("EVAL")
            .arg("while true do end")
            .arg(0)
            .query::<()>(&mut r);
    });
    assert!(eventually(5, || {
        redis::cmd("GET")
            .arg("probe")
            .query::<Option<String>>(c)
            .is_err_and(|e| e.to_string().contains("BUSY"))
    }));
    runner
}

#[test]
fn multi_is_allowed_while_a_script_is_busy() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["SET", "xx", "1"]);
    let runner = start_busy_script(&server, &mut c);
    let mut t = server.client();
    let _: () = q(&mut t, &["MULTI"]);
    assert!(error(&mut t, &["INCR", "xx"]).starts_with("BUSY"));
    let _: () = q(&mut c, &["SCRIPT", "KILL"]);
    runner.join().unwrap();
    let _: String = q(&mut t, &["INCR", "xx"]);
    assert_eq!(
        error(&mut t, &["EXEC"]),
        "EXECABORT Transaction discarded because of previous errors."
    );
    assert_eq!(q::<String>(&mut c, &["GET", "xx"]), "1");
    assert_eq!(q::<String>(&mut t, &["PING"]), "PONG");
}

#[test]
fn exec_while_a_script_is_busy_aborts_the_transaction() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["SET", "xx", "1"]);
    let mut t = server.client();
    let _: () = q(&mut t, &["MULTI"]);
    let _: String = q(&mut t, &["INCR", "xx"]);
    let runner = start_busy_script(&server, &mut c);
    assert_eq!(
        error(&mut t, &["EXEC"]),
        "EXECABORT Transaction discarded because of: BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    let _: () = q(&mut c, &["SCRIPT", "KILL"]);
    runner.join().unwrap();
    assert_eq!(q::<String>(&mut c, &["GET", "xx"]), "1");
    // The transaction is over: commands run at once again.
    assert_eq!(q::<String>(&mut t, &["PING"]), "PONG");
    assert_eq!(error(&mut t, &["EXEC"]), "ERR EXEC without MULTI");
}
