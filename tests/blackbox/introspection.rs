//! Client and introspection commands: CLIENT REPLY/KILL/UNBLOCK/PAUSE/LIST, MEMORY,
//! OBJECT ENCODING, SLOWLOG, LATENCY, INFO sections, COMMAND LIST/GETKEYS/INFO, WAIT,
//! ROLE, CONFIG GET/RESETSTAT.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use redis::Value;

use crate::harness::{error, q, value, wait_for_blocked_clients, TestServer};

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in {line}"))
}

fn info_field(c: &mut redis::Connection, section: &str, name: &str) -> Option<String> {
    let info: String = q(c, &["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
}

#[test]
fn client_reply_off_skip_on() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.send(b"CLIENT REPLY OFF\r\nPING a\r\nPING b\r\nCLIENT REPLY ON\r\nPING c\r\n");
    assert_eq!(raw.read_line(), "+OK\r\n");
    assert_eq!(raw.read_line(), "$1\r\n");
    assert_eq!(raw.read_line(), "c\r\n");
    raw.send(b"CLIENT REPLY SKIP\r\nPING d\r\nPING e\r\n");
    assert_eq!(raw.read_line(), "$1\r\n");
    assert_eq!(raw.read_line(), "e\r\n");
    // ON right after SKIP cancels the skip: its own OK is sent.
    raw.send(b"CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nPING\r\n");
    assert_eq!(raw.read_line(), "+OK\r\n");
    assert_eq!(raw.read_line(), "+PONG\r\n");
    let mut c = server.client();
    assert_eq!(
        error(&mut c, &["CLIENT", "REPLY", "MAYBE"]),
        "ERR syntax error"
    );
}

#[test]
fn client_reply_off_still_delivers_pubsub_pushes() {
    let server = TestServer::start();
    let mut sub = server.raw();
    sub.send(b"CLIENT REPLY OFF\r\nSUBSCRIBE ch\r\n");
    assert_eq!(sub.read_line(), "*3\r\n");
    assert_eq!(sub.read_line(), "$9\r\n");
    assert_eq!(sub.read_line(), "subscribe\r\n");
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "ch", "hi"]), 1);
    let mut rest = String::new();
    for _ in 0..10 {
        rest.push_str(&sub.read_line());
    }
    assert!(
        rest.contains("message\r\n$2\r\nch\r\n$2\r\nhi\r\n"),
        "{rest}"
    );
}

#[test]
fn client_list_fields_filters_and_errors() {
    let server = TestServer::start();
    let mut c = server.client();
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    let line = list.lines().next().unwrap();
    assert_eq!(field(line, "cmd"), "client|list");
    assert_eq!(field(line, "flags"), "N");
    assert_eq!(field(line, "multi"), "-1");
    // The running command is still in the query buffer: *2 $6 client $4 list = 26 bytes.
    assert_eq!(field(line, "qbuf"), "26");
    let info: String = q(&mut c, &["CLIENT", "INFO"]);
    assert_eq!(field(&info, "cmd"), "client|info");

    let mut sub = server.client();
    let _: Value = value(&mut sub, &["SUBSCRIBE", "x"]);
    let pubsub: String = q(&mut c, &["CLIENT", "LIST", "TYPE", "pubsub"]);
    assert_eq!(pubsub.lines().count(), 1);
    assert_eq!(field(pubsub.lines().next().unwrap(), "flags"), "P");
    let normal: String = q(&mut c, &["CLIENT", "LIST", "TYPE", "normal"]);
    assert_eq!(normal.lines().count(), 1);
    let none: String = q(&mut c, &["CLIENT", "LIST", "ID", "0"]);
    assert!(none.is_empty());
    assert_eq!(
        error(&mut c, &["CLIENT", "LIST", "TYPE", "bogus"]),
        "ERR Unknown client type 'bogus'"
    );
    assert_eq!(
        error(&mut c, &["CLIENT", "LIST", "ID", "x"]),
        "ERR Invalid client ID"
    );
    assert_eq!(
        error(&mut c, &["CLIENT", "LIST", "BOGUS"]),
        "ERR syntax error"
    );
    assert_eq!(q::<String>(&mut c, &["CLIENT", "NO-EVICT", "on"]), "OK");
    let info: String = q(&mut c, &["CLIENT", "INFO"]);
    assert_eq!(field(&info, "flags"), "e");
    assert_eq!(
        error(&mut c, &["CLIENT", "NO-EVICT", "maybe"]),
        "ERR syntax error"
    );
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "GETREDIR"]), -1);
}

#[test]
fn client_kill_filters() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(
        error(&mut c, &["CLIENT", "KILL"]),
        "ERR wrong number of arguments for 'client|kill' command"
    );
    assert_eq!(
        error(&mut c, &["CLIENT", "KILL", "ID", "10", "extra"]),
        "ERR syntax error"
    );
    for bad in ["str", "-1", "0"] {
        assert_eq!(
            error(&mut c, &["CLIENT", "KILL", "ID", bad]),
            "ERR client-id should be greater than 0"
        );
    }
    assert_eq!(
        error(&mut c, &["CLIENT", "KILL", "TYPE", "wrong"]),
        "ERR Unknown client type 'wrong'"
    );
    assert_eq!(
        error(&mut c, &["CLIENT", "KILL", "USER", "nobody"]),
        "ERR No such user 'nobody'"
    );
    assert_eq!(
        error(&mut c, &["CLIENT", "KILL", "SKIPME", "maybe"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["CLIENT", "KILL", "127.0.0.1:1"]),
        "ERR No such client"
    );

    // ADDR and LADDR take the ip:port CLIENT LIST shows.
    let mut victim = server.client();
    let info: String = q(&mut victim, &["CLIENT", "INFO"]);
    let addr = field(&info, "addr").to_string();
    let laddr = field(&info, "laddr").to_string();
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "KILL", "ADDR", &addr]), 1);
    assert!(redis::cmd("PING").query::<String>(&mut victim).is_err());
    let mut other = server.client();
    let _: String = q(&mut other, &["PING"]);
    // LADDR matches every client of this listener; SKIPME (default yes) spares the caller.
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "KILL", "LADDR", &laddr]), 1);
    assert!(redis::cmd("PING").query::<String>(&mut other).is_err());
    let mut third = server.client();
    let info: String = q(&mut third, &["CLIENT", "INFO"]);
    let third_addr = field(&info, "addr").to_string();
    assert_eq!(q::<String>(&mut c, &["CLIENT", "KILL", &third_addr]), "OK");
    // USER default and TYPE normal match; SKIPME no includes the caller, who still gets
    // the count before the connection closes.
    let _fourth = server.client();
    let n: i64 = q(
        &mut c,
        &[
            "CLIENT", "KILL", "USER", "default", "TYPE", "normal", "SKIPME", "no",
        ],
    );
    assert_eq!(n, 2);
    assert!(redis::cmd("PING").query::<String>(&mut c).is_err());
}

#[test]
fn client_unblock_timeout_and_error() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut blocked = server.client();
    let id: i64 = q(&mut blocked, &["CLIENT", "ID"]);
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id.to_string()]), 0);

    let url = server.url();
    let waiter = std::thread::spawn(move || {
        let mut b = blocked;
        let first = redis::cmd("BLPOP").arg("l").arg(0).query::<Value>(&mut b);
        let second = redis::cmd("BZPOPMIN")
            .arg("z")
            .arg(0)
            .query::<Value>(&mut b);
        (first, second)
    });
    wait_for_blocked_clients(&url, 1);
    let list: String = q(&mut c, &["CLIENT", "LIST", "ID", &id.to_string()]);
    assert!(field(&list, "flags").contains('b'), "{list}");
    assert_eq!(
        q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id.to_string(), "TIMEOUT"]),
        1
    );
    // Wait until the second command blocks (the blocked-clients count may not have moved).
    assert!(crate::harness::eventually(30, || {
        let list: String = q(&mut c, &["CLIENT", "LIST", "ID", &id.to_string()]);
        field(&list, "cmd") == "bzpopmin" && field(&list, "flags").contains('b')
    }));
    assert_eq!(
        q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id.to_string(), "ERROR"]),
        1
    );
    let (first, second) = waiter.join().unwrap();
    assert_eq!(first.unwrap(), Value::Nil);
    let err = second.unwrap_err();
    assert_eq!(
        crate::harness::error_text(&err),
        "UNBLOCKED client unblocked via CLIENT UNBLOCK"
    );
    assert_eq!(
        error(&mut c, &["CLIENT", "UNBLOCK", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut c, &["CLIENT", "UNBLOCK", "1", "LATER"]),
        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
    );
}

#[test]
fn client_unblock_releases_stream_reads() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut blocked = server.client();
    let id: i64 = q(&mut blocked, &["CLIENT", "ID"]);
    let url = server.url();
    let waiter = std::thread::spawn(move || {
        redis::cmd("XREAD")
            .arg("BLOCK")
            .arg(0)
            .arg("STREAMS")
            .arg("s")
            .arg("$")
            .query::<Value>(&mut blocked)
    });
    wait_for_blocked_clients(&url, 1);
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id.to_string()]), 1);
    assert_eq!(waiter.join().unwrap().unwrap(), Value::Nil);
}

#[test]
fn client_pause_write_holds_writes_until_unpause() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(
        q::<String>(&mut c, &["CLIENT", "PAUSE", "100000", "WRITE"]),
        "OK"
    );
    let mut reader = server.client();
    // Reads go on.
    assert_eq!(value(&mut reader, &["GET", "k"]), Value::Nil);
    let url = server.url();
    let writer = std::thread::spawn(move || {
        let mut w = reader;
        let started = Instant::now();
        let reply: String = redis::cmd("SET").arg("k").arg("v").query(&mut w).unwrap();
        (reply, started.elapsed())
    });
    wait_for_blocked_clients(&url, 1);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(q::<String>(&mut c, &["CLIENT", "UNPAUSE"]), "OK");
    let (reply, waited) = writer.join().unwrap();
    assert_eq!(reply, "OK");
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");

    // A timed pause ends by itself.
    assert_eq!(q::<String>(&mut c, &["CLIENT", "PAUSE", "300"]), "OK");
    let started = Instant::now();
    let _: String = q(&mut c, &["PING"]);
    assert!(started.elapsed() >= Duration::from_millis(200));

    assert_eq!(
        error(&mut c, &["CLIENT", "PAUSE", "abc"]),
        "ERR timeout is not an integer or out of range"
    );
    assert_eq!(
        error(&mut c, &["CLIENT", "PAUSE", "-1"]),
        "ERR timeout is negative"
    );
    assert_eq!(
        error(&mut c, &["CLIENT", "PAUSE", "10", "SOME"]),
        "ERR CLIENT PAUSE mode must be WRITE or ALL"
    );
}

#[test]
fn memory_usage_stats_doctor_help() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(value(&mut c, &["MEMORY", "USAGE", "missing"]), Value::Nil);
    let _: () = q(&mut c, &["SET", "small", "x"]);
    let _: () = q(&mut c, &["SET", "big", &"x".repeat(10_000)]);
    let small: i64 = q(&mut c, &["MEMORY", "USAGE", "small"]);
    let big: i64 = q(&mut c, &["MEMORY", "USAGE", "big"]);
    assert!(small > 0 && big > 10_000 && big > small, "{small} {big}");
    for i in 0..100 {
        let _: () = q(&mut c, &["HSET", "h", &format!("f{i}"), &"v".repeat(100)]);
    }
    let sampled: i64 = q(&mut c, &["MEMORY", "USAGE", "h"]);
    let all: i64 = q(&mut c, &["MEMORY", "USAGE", "h", "SAMPLES", "0"]);
    assert!(sampled > 100 * 100 && all > 100 * 100, "{sampled} {all}");
    assert_eq!(
        error(&mut c, &["MEMORY", "USAGE", "h", "SAMPLES", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut c, &["MEMORY", "USAGE", "h", "BOGUS"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["MEMORY", "USAGE"]),
        "ERR wrong number of arguments for 'memory|usage' command"
    );
    assert_eq!(
        error(&mut c, &["MEMORY", "FOO"]),
        "ERR unknown subcommand 'FOO'. Try MEMORY HELP."
    );
    let stats: HashMap<String, Value> = q(&mut c, &["MEMORY", "STATS"]);
    assert_eq!(stats["keys.count"], Value::Int(3));
    let doctor: String = q(&mut c, &["MEMORY", "DOCTOR"]);
    assert!(doctor.starts_with("Hi Sam"));
    let help: Vec<String> = q(&mut c, &["MEMORY", "HELP"]);
    assert!(help[0].starts_with("MEMORY <subcommand>"));
}

#[test]
fn object_encoding_follows_size_thresholds() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["HSET", "h", "f", "v"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "h"]),
        "listpack"
    );
    let _: () = q(&mut c, &["HSET", "h", "long", &"v".repeat(100)]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "h"]),
        "hashtable"
    );
    let _: () = q(&mut c, &["ZADD", "z", "1", "a"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "z"]),
        "listpack"
    );
    let _: () = q(&mut c, &["CONFIG", "SET", "zset-max-listpack-entries", "0"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "z"]),
        "skiplist"
    );
    let _: () = q(&mut c, &["RPUSH", "l", "a"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "l"]),
        "quicklist"
    );
    assert_eq!(value(&mut c, &["OBJECT", "ENCODING", "nokey"]), Value::Nil);
}

#[test]
fn slowlog_records_trims_and_resets() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    let _: () = q(&mut c, &["SLOWLOG", "RESET"]);
    let _: () = q(&mut c, &["CLIENT", "SETNAME", "logger"]);
    let args: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    let mut sadd = vec!["SADD", "s"];
    sadd.extend(args.iter().map(String::as_str));
    let _: i64 = q(&mut c, &sadd);
    let _: () = q(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    let entries: Vec<Value> = q(&mut c, &["SLOWLOG", "GET", "-1"]);
    // Newest first: sadd, client setname, slowlog reset (logged after it ran); the last
    // config set turned logging off before it could be logged.
    assert_eq!(entries.len(), 3, "{entries:?}");
    let Value::Array(sadd_entry) = &entries[0] else {
        panic!("{entries:?}")
    };
    assert_eq!(sadd_entry.len(), 6);
    let Value::Array(logged) = &sadd_entry[3] else {
        panic!()
    };
    assert_eq!(logged.len(), 32);
    assert_eq!(
        logged[31],
        Value::BulkString(b"... (11 more arguments)".to_vec())
    );
    assert_eq!(sadd_entry[5], Value::BulkString(b"logger".to_vec()));
    assert_eq!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]), 3);
    let one: Vec<Value> = q(&mut c, &["SLOWLOG", "GET", "1"]);
    assert_eq!(one.len(), 1);
    assert_eq!(
        error(&mut c, &["SLOWLOG", "GET", "-2"]),
        "ERR count should be greater than or equal to -1"
    );
    let _: () = q(&mut c, &["CONFIG", "SET", "slowlog-max-len", "1"]);
    assert_eq!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]), 1);
    let _: () = q(&mut c, &["SLOWLOG", "RESET"]);
    assert_eq!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]), 0);
    assert_eq!(
        error(&mut c, &["SLOWLOG", "LEN", "x"]),
        "ERR wrong number of arguments for 'slowlog|len' command"
    );
}

#[test]
fn latency_histogram_and_events() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]);
    let _: () = q(&mut c, &["SET", "a", "b"]);
    let _: () = q(&mut c, &["SET", "c", "d"]);
    let _: i64 = q(&mut c, &["CLIENT", "ID"]);
    let histo: HashMap<String, HashMap<String, Value>> = q(&mut c, &["LATENCY", "HISTOGRAM"]);
    assert_eq!(histo["set"]["calls"], Value::Int(2));
    assert_eq!(histo["config|resetstat"]["calls"], Value::Int(1));
    assert_eq!(histo["client|id"]["calls"], Value::Int(1));
    let some: HashMap<String, Value> = q(&mut c, &["LATENCY", "HISTOGRAM", "client", "nosuch"]);
    assert_eq!(some.keys().collect::<Vec<_>>(), vec!["client|id"]);
    assert_eq!(q::<i64>(&mut c, &["LATENCY", "RESET"]), 0);
    let latest: Vec<Value> = q(&mut c, &["LATENCY", "LATEST"]);
    assert!(latest.is_empty());
    let history: Vec<Value> = q(&mut c, &["LATENCY", "HISTORY", "command"]);
    assert!(history.is_empty());
    let doctor: String = q(&mut c, &["LATENCY", "DOCTOR"]);
    assert!(!doctor.is_empty());
    assert_eq!(
        error(&mut c, &["LATENCY", "GRAPH", "command"]),
        "ERR No samples available for event 'command'"
    );
    assert_eq!(
        error(&mut c, &["LATENCY", "HELP", "xxx"]),
        "ERR wrong number of arguments for 'latency|help' command"
    );

    // A command slower than latency-monitor-threshold is an event.
    let _: () = q(&mut c, &["CONFIG", "SET", "latency-monitor-threshold", "1"]);
    let keys: Vec<String> = (0..100_000).map(|i| format!("m{i}")).collect();
    let mut mset: Vec<&str> = vec!["SADD", "bigset"];
    mset.extend(keys.iter().map(String::as_str));
    let _: i64 = q(&mut c, &mset);
    let latest: Vec<Vec<Value>> = q(&mut c, &["LATENCY", "LATEST"]);
    assert_eq!(latest[0][0], Value::BulkString(b"command".to_vec()));
    // One sample per second with a slow command: on a loaded machine a later command may
    // cross the threshold too, in another second.
    let history: Vec<Value> = q(&mut c, &["LATENCY", "HISTORY", "command"]);
    assert!(!history.is_empty());
    assert_eq!(
        q::<i64>(&mut c, &["LATENCY", "RESET", "command", "other"]),
        1
    );
}

#[test]
fn info_sections_and_stats() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: String = q(&mut c, &["PING"]);
    let all: String = q(&mut c, &["INFO", "all"]);
    for needle in [
        "# Replication",
        "role:master",
        "connected_slaves:0",
        "master_repl_offset:0",
        "# Cluster",
        "cluster_enabled:0",
        "# Persistence",
        "# Keyspace",
        "# Errorstats",
        "used_cpu_user_children",
        "rejected_calls",
    ] {
        assert!(all.contains(needle), "INFO all lacks {needle}");
    }
    let default: String = q(&mut c, &["INFO"]);
    assert!(!default.contains("rejected_calls"));
    let cpu: String = q(&mut c, &["INFO", "CPU", "default"]);
    assert!(cpu.contains("used_memory") && cpu.matches("# CPU").count() == 1);

    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]);
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let _ = error(&mut c, &["LPUSH", "k", "x"]);
    let _ = error(&mut c, &["NOSUCHCMD"]);
    let _: i64 = q(&mut c, &["CLIENT", "ID"]);
    let _ = error(&mut c, &["CLIENT", "SETNAME"]);
    let stats: String = q(&mut c, &["INFO", "commandstats"]);
    assert!(stats.contains("cmdstat_set:calls=1,"), "{stats}");
    assert!(stats.contains("cmdstat_lpush:calls=1,") && stats.contains("failed_calls=1"));
    assert!(stats.contains("cmdstat_client|id:calls=1,"), "{stats}");
    assert!(stats.contains("cmdstat_client|setname:calls=0,"), "{stats}");
    assert!(!stats.contains("cmdstat_client:"), "{stats}");
    assert_eq!(
        info_field(&mut c, "errorstats", "errorstat_WRONGTYPE").as_deref(),
        Some("count=1")
    );
    assert_eq!(
        info_field(&mut c, "errorstats", "errorstat_ERR").as_deref(),
        Some("count=2")
    );
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]);
    assert_eq!(info_field(&mut c, "errorstats", "errorstat_ERR"), None);
    assert_eq!(info_field(&mut c, "commandstats", "cmdstat_set"), None);
}

#[test]
fn command_list_getkeys_and_info() {
    let server = TestServer::start();
    let mut c = server.client();
    let all: Vec<String> = q(&mut c, &["COMMAND", "LIST"]);
    assert!(all.contains(&"set".to_string()) && all.contains(&"client|list".to_string()));
    let pattern: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*re*"],
    );
    assert!(pattern.contains(&"config|resetstat".to_string()));
    assert!(pattern.contains(&"config|rewrite".to_string()));
    assert!(!pattern.contains(&"config|get".to_string()));
    let exact: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "get"]);
    assert_eq!(exact, vec!["get"]);
    let none: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nothing"],
    );
    assert!(none.is_empty());
    let hashes: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "hash"]);
    assert!(hashes.contains(&"hset".to_string()) && !hashes.contains(&"set".to_string()));
    let modules: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "MODULE", "m"]);
    assert!(modules.is_empty());
    for bad in [
        &["bad"][..],
        &["filterby", "bad"],
        &["filterby", "bad", "x"],
    ] {
        let mut args = vec!["COMMAND", "LIST"];
        args.extend_from_slice(bad);
        assert_eq!(error(&mut c, &args), "ERR syntax error");
    }

    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "MEMORY", "USAGE", "key"]);
    assert_eq!(keys, vec!["key"]);
    let mut zunion = vec![
        "COMMAND",
        "GETKEYS",
        "ZUNIONSTORE",
        "target",
        "3",
        "a",
        "b",
        "c",
    ];
    zunion.extend(["WEIGHTS", "1", "2", "3"]);
    let keys: Vec<String> = q(&mut c, &zunion);
    assert_eq!(keys, vec!["target", "a", "b", "c"]);
    assert_eq!(
        error(
            &mut c,
            &["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "x", "a"]
        ),
        "ERR Invalid arguments specified for command"
    );
    let info: Vec<Value> = q(&mut c, &["COMMAND", "INFO", "zunionstore", "get"]);
    let flags = |entry: &Value| format!("{entry:?}");
    assert!(flags(&info[0]).contains("movablekeys"));
    assert!(!flags(&info[1]).contains("movablekeys"));
}

#[test]
fn wait_role_and_config_get_patterns() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["WAIT", "0", "0"]), 0);
    assert_eq!(
        error(&mut c, &["WAIT", "0", "-1"]),
        "ERR timeout is negative"
    );
    assert_eq!(
        error(&mut c, &["WAIT", "x", "0"]),
        "ERR value is not an integer or out of range"
    );
    let role: Vec<Value> = q(&mut c, &["ROLE"]);
    assert_eq!(role[0], Value::BulkString(b"master".to_vec()));
    assert_eq!(role[1], Value::Int(0));

    let got: HashMap<String, String> = q(
        &mut c,
        &["CONFIG", "GET", "maxmemory", "maxmemory*", "bind", "*of"],
    );
    for name in [
        "maxmemory",
        "maxmemory-samples",
        "maxmemory-clients",
        "bind",
        "slaveof",
        "replicaof",
    ] {
        assert!(got.contains_key(name), "{name} missing from {got:?}");
    }
    let everything: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "*"]);
    assert!(!everything.contains_key("key-load-delay"));
    let hidden: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "key-load-delay"]);
    assert!(hidden.contains_key("key-load-delay"));
    assert!(
        error(&mut c, &["CONFIG", "SET", "maxmemory-clients", "200%"])
            .ends_with("percentage argument must be less or equal to 100")
    );
    assert_eq!(
        q::<String>(&mut c, &["CONFIG", "SET", "maxmemory-clients", "50%"]),
        "OK"
    );
}

#[test]
fn query_buffer_is_reported_and_released_when_idle() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut idle = server.client();
    let _: () = q(&mut idle, &["CLIENT", "SETNAME", "idle"]);
    let line = |c: &mut redis::Connection| {
        let list: String = q(c, &["CLIENT", "LIST"]);
        list.lines()
            .find(|l| l.contains("name=idle"))
            .unwrap()
            .to_string()
    };
    let total = |l: &str| {
        field(l, "qbuf").parse::<u64>().unwrap() + field(l, "qbuf-free").parse::<u64>().unwrap()
    };
    let first = line(&mut c);
    assert!((16384..32768).contains(&total(&first)), "{first}");
    assert!(crate::harness::eventually(10, || total(&line(&mut c)) == 0));
}

#[test]
fn cluster_answers_as_a_server_without_cluster_support() {
    let server = TestServer::start();
    let mut c = server.client();
    for args in [
        &["CLUSTER", "INFO"][..],
        &["CLUSTER", "HELP"],
        &["cluster", "keyslot", "k"],
    ] {
        assert_eq!(
            error(&mut c, args),
            "ERR This instance has cluster support disabled",
            "{args:?}"
        );
    }
    assert_eq!(
        error(&mut c, &["CLUSTER", "foo"]),
        "ERR unknown subcommand 'foo'. Try CLUSTER HELP."
    );
    assert_eq!(
        error(&mut c, &["CLUSTER", "INFO", "x"]),
        "ERR wrong number of arguments for 'cluster|info' command"
    );
    let listed: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "cl*help"],
    );
    assert!(listed.contains(&"cluster|help".to_string()));
    assert!(listed.contains(&"client|help".to_string()));
    let admin: Vec<String> = q(&mut c, &["ACL", "CAT", "admin"]);
    assert!(admin.contains(&"cluster|setslot".to_string()));
    assert!(!admin.contains(&"cluster|info".to_string()));
}

#[test]
fn info_memory_reports_lazyfree_counters() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["SADD", "s", "a", "b"]);
    let _: i64 = q(&mut c, &["UNLINK", "s"]);
    // Deletion happens in the command: nothing is ever left to a background free.
    assert_eq!(
        info_field(&mut c, "memory", "lazyfree_pending_objects").as_deref(),
        Some("0")
    );
    assert_eq!(
        info_field(&mut c, "memory", "lazyfreed_objects").as_deref(),
        Some("0")
    );
    assert_eq!(
        info_field(&mut c, "memory", "mem_not_counted_for_evict").as_deref(),
        Some("0")
    );
}

#[test]
fn command_list_aclcat_includes_subcommands_by_their_own_categories() {
    let server = TestServer::start();
    let mut c = server.client();
    let scripting: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "scripting"],
    );
    for name in ["eval", "script|kill", "function|load"] {
        assert!(scripting.contains(&name.to_string()), "{name}");
    }
    assert!(!scripting.contains(&"set".to_string()));
    let admin: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "admin"]);
    assert!(admin.contains(&"config|set".to_string()));
    assert!(!admin.contains(&"config|help".to_string()));
}
