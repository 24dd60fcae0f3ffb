//! Pub/sub (RESP2 and RESP3), keyspace notifications, and the pub/sub output-buffer limit.

use std::time::Duration;

use crate::harness::{eventually, q, RawConn, TestServer};

/// RESP2 encoding of an array of bulk strings / integers (`:n` written as "#n").
fn frame(items: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", items.len()).into_bytes();
    for item in items {
        if let Some(n) = item.strip_prefix('#') {
            out.extend_from_slice(format!(":{n}\r\n").as_bytes());
        } else if *item == "(nil)" {
            out.extend_from_slice(b"$-1\r\n");
        } else {
            out.extend_from_slice(format!("${}\r\n{item}\r\n", item.len()).as_bytes());
        }
    }
    out
}

fn expect(conn: &mut RawConn, expected: &[u8]) {
    let got = conn.read_n(expected.len());
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
}

fn command(conn: &mut RawConn, args: &[&str]) {
    conn.send(&frame(args));
}

#[test]
fn subscribe_publish_unsubscribe_resp2() {
    let server = TestServer::start();
    let mut sub = server.raw();
    command(&mut sub, &["SUBSCRIBE", "news", "sport"]);
    expect(&mut sub, &frame(&["subscribe", "news", "#1"]));
    expect(&mut sub, &frame(&["subscribe", "sport", "#2"]));
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["PUBLISH", "news", "hello"]), 1);
    assert_eq!(q::<i64>(&mut con, &["PUBLISH", "nobody", "x"]), 0);
    expect(&mut sub, &frame(&["message", "news", "hello"]));
    assert_eq!(
        q::<Vec<redis::Value>>(&mut con, &["PUBSUB", "NUMSUB", "news", "other"]),
        vec![
            redis::Value::BulkString(b"news".to_vec()),
            redis::Value::Int(1),
            redis::Value::BulkString(b"other".to_vec()),
            redis::Value::Int(0)
        ]
    );
    let mut channels: Vec<String> = q(&mut con, &["PUBSUB", "CHANNELS"]);
    channels.sort();
    assert_eq!(channels, vec!["news", "sport"]);
    // Only pub/sub commands are allowed in RESP2 subscribe mode; PING answers as a push.
    command(&mut sub, &["GET", "x"]);
    expect(&mut sub, b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n");
    command(&mut sub, &["PING"]);
    expect(&mut sub, &frame(&["pong", ""]));
    // UNSUBSCRIBE without arguments leaves every channel, one frame each.
    command(&mut sub, &["UNSUBSCRIBE"]);
    let a = frame(&["unsubscribe", "news", "#1"]);
    let b = frame(&["unsubscribe", "sport", "#1"]);
    let got = sub.read_n(a.len() + b.len());
    let got = String::from_utf8_lossy(&got).to_string();
    assert!(got.contains("unsubscribe"), "{got}");
    assert!(got.ends_with(":0\r\n"), "{got}");
    command(&mut sub, &["UNSUBSCRIBE"]);
    expect(&mut sub, &frame(&["unsubscribe", "(nil)", "#0"]));
    // Out of subscribe mode, normal commands work again.
    command(&mut sub, &["PING"]);
    expect(&mut sub, b"+PONG\r\n");
    assert_eq!(q::<i64>(&mut con, &["PUBLISH", "news", "late"]), 0);
}

#[test]
fn patterns_and_shard_channels() {
    let server = TestServer::start();
    let mut sub = server.raw();
    command(&mut sub, &["PSUBSCRIBE", "news.*"]);
    expect(&mut sub, &frame(&["psubscribe", "news.*", "#1"]));
    command(&mut sub, &["SSUBSCRIBE", "orders"]);
    expect(&mut sub, &frame(&["ssubscribe", "orders", "#1"]));
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["PUBSUB", "NUMPAT"]), 1);
    assert_eq!(q::<i64>(&mut con, &["PUBLISH", "news.tech", "rust"]), 1);
    expect(
        &mut sub,
        &frame(&["pmessage", "news.*", "news.tech", "rust"]),
    );
    assert_eq!(q::<i64>(&mut con, &["PUBLISH", "sport", "x"]), 0);
    assert_eq!(q::<i64>(&mut con, &["SPUBLISH", "orders", "o1"]), 1);
    expect(&mut sub, &frame(&["smessage", "orders", "o1"]));
    let shard: Vec<String> = q(&mut con, &["PUBSUB", "SHARDCHANNELS"]);
    assert_eq!(shard, vec!["orders"]);
    command(&mut sub, &["PUNSUBSCRIBE"]);
    expect(&mut sub, &frame(&["punsubscribe", "news.*", "#0"]));
    command(&mut sub, &["SUNSUBSCRIBE", "orders"]);
    expect(&mut sub, &frame(&["sunsubscribe", "orders", "#0"]));
}

#[test]
fn resp3_clients_get_push_frames_and_keep_normal_commands() {
    let server = TestServer::start();
    let mut sub = server.raw();
    sub.send(b"HELLO 3\r\nPING\r\n");
    let hello_head = sub.read_line();
    assert!(hello_head.starts_with('%'), "{hello_head}");
    // Skip the rest of the HELLO map, up to the PING reply.
    while sub.read_line() != "+PONG\r\n" {}
    command(&mut sub, &["SUBSCRIBE", "ch"]);
    expect(&mut sub, b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    // RESP3 allows normal commands while subscribed.
    command(&mut sub, &["SET", "k", "v"]);
    expect(&mut sub, b"+OK\r\n");
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["PUBLISH", "ch", "hi"]), 1);
    expect(&mut sub, b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
}

/// Subscribes to every keyspace/keyevent channel, runs `commands`, and returns the
/// `(channel, message)` pairs received, in order.
fn notifications(
    server: &TestServer,
    commands: &[&[&str]],
    expected: usize,
) -> Vec<(String, String)> {
    let mut sub = server.raw();
    command(&mut sub, &["PSUBSCRIBE", "__key*__:*"]);
    expect(&mut sub, &frame(&["psubscribe", "__key*__:*", "#1"]));
    let mut con = server.client();
    for args in commands {
        let _: redis::Value = q(&mut con, args);
    }
    let mut out = Vec::new();
    for _ in 0..expected {
        assert_eq!(sub.read_line(), "*4\r\n");
        let mut parts = Vec::new();
        for _ in 0..4 {
            let _len = sub.read_line();
            parts.push(sub.read_line().trim_end().to_string());
        }
        out.push((parts[2].clone(), parts[3].clone()));
    }
    out
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(c, m)| (c.to_string(), m.to_string()))
        .collect()
}

#[test]
fn keyspace_notifications_use_redis_channels_and_messages() {
    let server = TestServer::start_with(&["--notify-keyspace-events", "KEA"]);
    let got = notifications(
        &server,
        &[
            &["SET", "k", "1"],
            &["INCRBY", "k", "5"],
            &["APPEND", "k", "0"],
            &["EXPIRE", "k", "100"],
            &["PERSIST", "k"],
            &["RENAME", "k", "k2"],
            &["DEL", "k2"],
        ],
        14,
    );
    assert_eq!(
        got,
        pairs(&[
            ("__keyspace@0__:k", "set"),
            ("__keyevent@0__:set", "k"),
            ("__keyspace@0__:k", "incrby"),
            ("__keyevent@0__:incrby", "k"),
            ("__keyspace@0__:k", "append"),
            ("__keyevent@0__:append", "k"),
            ("__keyspace@0__:k", "expire"),
            ("__keyevent@0__:expire", "k"),
            ("__keyspace@0__:k", "persist"),
            ("__keyevent@0__:persist", "k"),
            ("__keyspace@0__:k", "rename_from"),
            ("__keyevent@0__:rename_from", "k"),
            ("__keyspace@0__:k2", "rename_to"),
            ("__keyevent@0__:rename_to", "k2"),
        ])
    );
}

#[test]
fn expired_events_and_class_filtering() {
    let server = TestServer::start();
    let mut con = server.client();
    // Only keyevent notifications of the expired class ('x').
    let _: () = q(&mut con, &["CONFIG", "SET", "notify-keyspace-events", "Ex"]);
    let flags: Vec<String> = q(&mut con, &["CONFIG", "GET", "notify-keyspace-events"]);
    assert_eq!(flags, vec!["notify-keyspace-events", "xE"]);
    let got = notifications(
        &server,
        &[&["SET", "gone", "1", "PX", "50"], &["SET", "other", "1"]],
        1,
    );
    assert_eq!(got, pairs(&[("__keyevent@0__:expired", "gone")]));
    let err = crate::harness::error(&mut con, &["CONFIG", "SET", "notify-keyspace-events", "Q"]);
    assert!(err.contains("notify-keyspace-events"), "{err}");
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[test]
fn slow_subscriber_is_disconnected_by_the_output_buffer_limit() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: () = q(
        &mut con,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 4mb 1mb 1",
        ],
    );
    let mut slow = server.raw();
    command(&mut slow, &["SUBSCRIBE", "firehose"]);
    expect(&mut slow, &frame(&["subscribe", "firehose", "#1"]));
    // The subscriber now stops reading. Publish far more than the hard limit.
    let rss_before = rss_kb(server.pid());
    let payload = "x".repeat(64 * 1024);
    let mut delivered_to_slow = 0;
    for _ in 0..2000 {
        delivered_to_slow += q::<i64>(&mut con, &["PUBLISH", "firehose", &payload]);
    }
    assert!(
        delivered_to_slow < 2000,
        "the slow subscriber was never cut off"
    );
    assert!(
        eventually(30, || {
            let v: Vec<redis::Value> = q(&mut con, &["PUBSUB", "NUMSUB", "firehose"]);
            v.get(1) == Some(&redis::Value::Int(0))
        }),
        "slow subscriber still subscribed"
    );
    // 2000 x 64 KiB = 125 MiB was published; the server must not have buffered it all.
    let growth_mb = rss_kb(server.pid()).saturating_sub(rss_before) / 1024;
    assert!(growth_mb < 100, "RSS grew by {growth_mb} MiB");
    // Other clients are unaffected.
    assert_eq!(q::<String>(&mut con, &["PING"]), "PONG");
    std::thread::sleep(Duration::from_millis(10));
}

#[test]
fn hash_and_sorted_set_events() {
    let server = TestServer::start_with(&["--notify-keyspace-events", "Khz"]);
    let got = notifications(
        &server,
        &[
            &["HSET", "h", "f", "1"],
            &["HINCRBY", "h", "f", "2"],
            &["HINCRBYFLOAT", "h", "f", "0.5"],
            &["HDEL", "h", "f"],
            &["ZADD", "z", "1", "a", "2", "b"],
            &["ZINCRBY", "z", "1", "a"],
            &["ZREM", "z", "a"],
            &["ZPOPMIN", "z"],
        ],
        8,
    );
    assert_eq!(
        got,
        pairs(&[
            ("__keyspace@0__:h", "hset"),
            ("__keyspace@0__:h", "hincrby"),
            ("__keyspace@0__:h", "hincrbyfloat"),
            ("__keyspace@0__:h", "hdel"),
            ("__keyspace@0__:z", "zadd"),
            ("__keyspace@0__:z", "zincr"),
            ("__keyspace@0__:z", "zrem"),
            ("__keyspace@0__:z", "zpopmin"),
        ])
    );
}

#[test]
fn new_key_events_fire_only_when_a_key_is_added() {
    let server = TestServer::start_with(&["--notify-keyspace-events", "KEn"]);
    let got = notifications(
        &server,
        &[
            &["SET", "foo", "bar"],
            &["SET", "foo", "baz"],
            &["HSET", "h", "f", "v"],
            &["HSET", "h", "g", "v"],
            &["SET", "gone", "x"],
            &["PEXPIREAT", "gone", "1"],
            &["SET", "gone", "y"],
            &["SET", "bar", "bar"],
        ],
        10,
    );
    let mut expected = Vec::new();
    for key in ["foo", "h", "gone", "gone", "bar"] {
        expected.push((format!("__keyspace@0__:{key}"), "new".to_string()));
        expected.push(("__keyevent@0__:new".to_string(), key.to_string()));
    }
    assert_eq!(got, expected);
}
