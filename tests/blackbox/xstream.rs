//! Streams as a Redis type: XADD (IDs, NOMKSTREAM, MAXLEN/MINID/LIMIT), XRANGE/XREVRANGE,
//! XREAD (COUNT, BLOCK, `$`), XLEN, XDEL, XTRIM, XSETID, XINFO STREAM, generic key commands
//! on streams, keyspace events, and the refusal of client writes to change logs.

use std::time::Duration;

use redis::Value;

use crate::harness::{error, q, value, wait_for_blocked_clients, TestServer};

/// `(id, [field, value, ...])` of each entry of an entry list.
pub fn entries(value: &Value) -> Vec<(String, Vec<String>)> {
    let Value::Array(items) = value else {
        panic!("not an array: {value:?}")
    };
    items
        .iter()
        .map(|entry| redis::from_redis_value(entry.clone()).expect("entry"))
        .collect()
}

pub fn ids(value: &Value) -> Vec<String> {
    entries(value).into_iter().map(|(id, _)| id).collect()
}

fn xrange(con: &mut redis::Connection, key: &str, start: &str, end: &str) -> Vec<String> {
    ids(&value(con, &["XRANGE", key, start, end]))
}

/// A field of an XINFO-style flat `[name, value, ...]` reply.
pub fn info_field(reply: &Value, name: &str) -> Value {
    let Value::Array(items) = reply else {
        panic!("not an array: {reply:?}")
    };
    for pair in items.chunks(2) {
        let key: String = redis::from_redis_value(pair[0].clone()).unwrap();
        if key == name {
            return pair[1].clone();
        }
    }
    panic!("no field {name} in {reply:?}")
}

pub fn info_int(reply: &Value, name: &str) -> i64 {
    redis::from_redis_value(info_field(reply, name)).unwrap()
}

pub fn info_text(reply: &Value, name: &str) -> String {
    redis::from_redis_value(info_field(reply, name)).unwrap()
}

#[test]
fn xadd_generates_and_checks_ids() {
    let server = TestServer::start();
    let mut c = server.client();
    let auto: String = q(&mut c, &["XADD", "s", "*", "f", "v"]);
    let (ms, seq) = auto.split_once('-').unwrap();
    assert!(ms.parse::<u64>().unwrap() > 0);
    assert_eq!(seq, "0");
    let big = "99999999999999";
    assert_eq!(
        q::<String>(&mut c, &["XADD", "s", big, "f", "v"]),
        format!("{big}-0")
    );
    assert_eq!(
        q::<String>(&mut c, &["XADD", "s", &format!("{big}-*"), "f", "v"]),
        format!("{big}-1")
    );
    assert_eq!(
        q::<String>(&mut c, &["XADD", "s", "*", "f", "v"]),
        format!("{big}-2")
    );
    assert_eq!(
        error(&mut c, &["XADD", "s", "5-5", "f", "v"]),
        "ERR The ID specified in XADD is equal or smaller than the target stream top item"
    );
    assert_eq!(
        error(&mut c, &["XADD", "s2", "0-0", "f", "v"]),
        "ERR The ID specified in XADD must be greater than 0-0"
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "s2"]), 0);
    assert_eq!(q::<String>(&mut c, &["XADD", "s3", "0-*", "f", "v"]), "0-1");
    assert_eq!(
        error(&mut c, &["XADD", "s", "abc", "f", "v"]),
        "ERR Invalid stream ID specified as stream command argument"
    );
    assert_eq!(
        error(&mut c, &["XADD", "s", "*", "f"]),
        "ERR wrong number of arguments for 'xadd' command"
    );
    let max = "18446744073709551615-18446744073709551615";
    let _: String = q(&mut c, &["XADD", "top", max, "f", "v"]);
    assert_eq!(
        error(&mut c, &["XADD", "top", "*", "f", "v"]),
        "ERR The stream has exhausted the last possible ID, unable to add more items"
    );
    let _: String = q(
        &mut c,
        &["XADD", "seqmax", "1-18446744073709551615", "f", "v"],
    );
    assert!(error(&mut c, &["XADD", "seqmax", "1-*", "f", "v"]).contains("equal or smaller"));
    assert_eq!(
        q::<String>(&mut c, &["XADD", "seqmax", "*", "f", "v"])
            .split('-')
            .nth(1),
        Some("0")
    );
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s"]), 4);
    assert_eq!(q::<i64>(&mut c, &["XLEN", "missing"]), 0);
    let _: () = q(&mut c, &["SET", "str", "x"]);
    assert!(error(&mut c, &["XADD", "str", "*", "f", "v"]).starts_with("WRONGTYPE"));
    assert!(error(&mut c, &["XLEN", "str"]).starts_with("WRONGTYPE"));
}

#[test]
fn xadd_nomkstream_and_trimming_options() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(
        value(&mut c, &["XADD", "s", "NOMKSTREAM", "*", "f", "v"]),
        Value::Nil
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "s"]), 0);
    for i in 1..=10 {
        let _: String = q(
            &mut c,
            &["XADD", "s", "MAXLEN", "5", &format!("{i}"), "f", "v"],
        );
    }
    assert_eq!(
        xrange(&mut c, "s", "-", "+"),
        ["6-0", "7-0", "8-0", "9-0", "10-0"]
    );
    let _: String = q(&mut c, &["XADD", "s", "MINID", "=", "9", "11", "f", "v"]);
    assert_eq!(xrange(&mut c, "s", "-", "+"), ["9-0", "10-0", "11-0"]);
    let _: String = q(
        &mut c,
        &["XADD", "s", "NOMKSTREAM", "MAXLEN", "=", "1", "*", "f", "v"],
    );
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s"]), 1);
    // MAXLEN 0 on a new stream leaves an empty stream behind, as in Redis.
    let _: String = q(&mut c, &["XADD", "e", "MAXLEN", "0", "*", "f", "v"]);
    assert_eq!(q::<i64>(&mut c, &["XLEN", "e"]), 0);
    assert_eq!(q::<String>(&mut c, &["TYPE", "e"]), "stream");
    for (args, expected) in [
        (
            vec!["MAXLEN", "-1", "*"],
            "ERR The MAXLEN argument must be >= 0.",
        ),
        (
            vec!["MAXLEN", "x", "*"],
            "ERR value is not an integer or out of range",
        ),
        (
            vec!["MAXLEN", "1", "MINID", "1", "*"],
            "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
        ),
        (
            vec!["LIMIT", "5", "*"],
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ),
        (
            vec!["MAXLEN", "1", "LIMIT", "5", "*"],
            "ERR syntax error, LIMIT cannot be used without the special ~ option",
        ),
        (
            vec!["MAXLEN", "~", "1", "LIMIT", "-1", "*"],
            "ERR The LIMIT argument must be >= 0.",
        ),
        (
            vec!["MINID", "x", "*"],
            "ERR Invalid stream ID specified as stream command argument",
        ),
    ] {
        let mut cmd = vec!["XADD", "s"];
        cmd.extend(args);
        cmd.extend(["f", "v"]);
        assert_eq!(error(&mut c, &cmd), expected, "{cmd:?}");
    }
}

#[test]
fn approximate_trimming_removes_whole_nodes_only() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["CONFIG", "SET", "stream-node-max-entries", "10"]);
    for _ in 0..100 {
        let _: String = q(&mut c, &["XADD", "s", "*", "f", "v"]);
    }
    // Nodes of 10: `~ 55` keeps 60; LIMIT 30 stops after three nodes.
    let _: String = q(
        &mut c,
        &[
            "XADD", "s", "MAXLEN", "~", "55", "LIMIT", "30", "*", "f", "v",
        ],
    );
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s"]), 71);
    assert_eq!(q::<i64>(&mut c, &["XTRIM", "s", "MAXLEN", "~", "55"]), 10);
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s"]), 61);
    assert_eq!(q::<i64>(&mut c, &["XTRIM", "s", "MAXLEN", "=", "55"]), 6);
    assert_eq!(
        q::<i64>(&mut c, &["XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "1"]),
        0
    );
    let info = value(&mut c, &["XINFO", "STREAM", "s"]);
    assert_eq!(info_int(&info, "radix-tree-keys"), 7);
    // Exact MINID trims inside a node; approximate MINID only drops whole nodes.
    let first = xrange(&mut c, "s", "-", "+");
    assert_eq!(
        q::<i64>(&mut c, &["XTRIM", "s", "MINID", "~", &first[3]]),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["XTRIM", "s", "MINID", &first[3]]), 3);
    assert_eq!(xrange(&mut c, "s", "-", "+")[0], first[3]);
    assert_eq!(q::<i64>(&mut c, &["XTRIM", "missing", "MAXLEN", "0"]), 0);
    assert_eq!(
        error(&mut c, &["XTRIM", "s", "LIMIT", "1"]),
        "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
    );
    assert_eq!(
        error(&mut c, &["XTRIM", "s", "FOO", "1"]),
        "ERR syntax error"
    );
}

#[test]
fn xrange_and_xrevrange_bounds_and_count() {
    let server = TestServer::start();
    let mut c = server.client();
    for id in ["1-1", "1-2", "2-0", "3-5"] {
        let _: String = q(&mut c, &["XADD", "s", id, "f", id]);
    }
    assert_eq!(xrange(&mut c, "s", "-", "+"), ["1-1", "1-2", "2-0", "3-5"]);
    assert_eq!(xrange(&mut c, "s", "1", "1"), ["1-1", "1-2"]);
    assert_eq!(xrange(&mut c, "s", "(1-1", "(3-5"), ["1-2", "2-0"]);
    assert_eq!(xrange(&mut c, "s", "3", "1"), Vec::<String>::new());
    assert_eq!(
        ids(&value(&mut c, &["XREVRANGE", "s", "+", "-", "COUNT", "2"])),
        ["3-5", "2-0"]
    );
    assert_eq!(
        ids(&value(&mut c, &["XREVRANGE", "s", "(2-0", "-"])),
        ["1-2", "1-1"]
    );
    assert_eq!(
        value(&mut c, &["XRANGE", "s", "-", "+", "COUNT", "0"]),
        Value::Nil
    );
    assert_eq!(
        value(&mut c, &["XRANGE", "missing", "-", "+"]),
        Value::Array(vec![])
    );
    let got = entries(&value(&mut c, &["XRANGE", "s", "2", "2"]));
    assert_eq!(
        got,
        [("2-0".to_string(), vec!["f".to_string(), "2-0".to_string()])]
    );
    assert_eq!(
        error(&mut c, &["XRANGE", "s", "-", "+", "COUNT"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["XRANGE", "s", "x", "+"]),
        "ERR Invalid stream ID specified as stream command argument"
    );
    assert_eq!(
        error(
            &mut c,
            &[
                "XRANGE",
                "s",
                "(18446744073709551615-18446744073709551615",
                "+"
            ]
        ),
        "ERR invalid start ID for the interval"
    );
    assert_eq!(
        error(&mut c, &["XRANGE", "s", "-", "(0-0"]),
        "ERR invalid end ID for the interval"
    );
}

#[test]
fn xdel_xsetid_and_xinfo_stream() {
    let server = TestServer::start();
    let mut c = server.client();
    for id in ["1-0", "2-0", "3-0", "4-0"] {
        let _: String = q(&mut c, &["XADD", "s", id, "f", "v"]);
    }
    assert_eq!(q::<i64>(&mut c, &["XDEL", "s", "1-0", "3-0", "9-0"]), 2);
    assert_eq!(q::<i64>(&mut c, &["XDEL", "missing", "1-0"]), 0);
    assert_eq!(
        error(&mut c, &["XDEL", "s", "bad"]),
        "ERR Invalid stream ID specified as stream command argument"
    );
    let info = value(&mut c, &["XINFO", "STREAM", "s"]);
    assert_eq!(info_int(&info, "length"), 2);
    assert_eq!(info_text(&info, "last-generated-id"), "4-0");
    assert_eq!(info_text(&info, "max-deleted-entry-id"), "3-0");
    assert_eq!(info_int(&info, "entries-added"), 4);
    assert_eq!(info_text(&info, "recorded-first-entry-id"), "2-0");
    assert_eq!(info_int(&info, "groups"), 0);
    assert_eq!(
        ids(&Value::Array(vec![info_field(&info, "first-entry")])),
        ["2-0"]
    );
    assert_eq!(
        ids(&Value::Array(vec![info_field(&info, "last-entry")])),
        ["4-0"]
    );
    let full = value(&mut c, &["XINFO", "STREAM", "s", "FULL", "COUNT", "1"]);
    assert_eq!(ids(&info_field(&full, "entries")), ["2-0"]);
    assert_eq!(
        error(&mut c, &["XINFO", "STREAM", "missing"]),
        "ERR no such key"
    );
    assert!(error(&mut c, &["XINFO", "STREAM", "s", "BAD"])
        .starts_with("ERR unknown subcommand or wrong number"));
    assert_eq!(
        error(&mut c, &["XINFO", "HELP", "x"]),
        "ERR wrong number of arguments for 'xinfo|help' command"
    );
    assert!(error(&mut c, &["XINFO", "NOPE", "s"]).starts_with("ERR unknown subcommand 'NOPE'"));

    let _: () = q(
        &mut c,
        &[
            "XSETID",
            "s",
            "10-0",
            "ENTRIESADDED",
            "20",
            "MAXDELETEDID",
            "5-0",
        ],
    );
    let info = value(&mut c, &["XINFO", "STREAM", "s"]);
    assert_eq!(info_text(&info, "last-generated-id"), "10-0");
    assert_eq!(info_int(&info, "entries-added"), 20);
    assert_eq!(info_text(&info, "max-deleted-entry-id"), "5-0");
    assert_eq!(
        q::<String>(&mut c, &["XADD", "s", "10-*", "f", "v"]),
        "10-1"
    );
    assert!(error(&mut c, &["XSETID", "s", "3-0"])
        .contains("smaller than current max_deleted_entry_id"));
    assert!(
        error(&mut c, &["XSETID", "s", "9-0", "MAXDELETEDID", "1-0"])
            .contains("smaller than the target stream top item")
    );
    assert!(error(&mut c, &["XSETID", "s", "11-0", "ENTRIESADDED", "1"])
        .contains("smaller than the target stream length"));
    assert!(
        error(&mut c, &["XSETID", "s", "11-0", "MAXDELETEDID", "12-0"])
            .contains("smaller than the provided max_deleted_entry_id")
    );
    assert_eq!(
        error(&mut c, &["XSETID", "s", "11-0", "ENTRIESADDED", "-1"]),
        "ERR entries_added must be positive"
    );
    assert_eq!(
        error(&mut c, &["XSETID", "s", "11-0", "0"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["XSETID", "nokey", "1-0"]),
        "ERR no such key"
    );
}

/// The entries of each stream of an XREAD reply, RESP2 shape.
pub fn xread_reply(reply: &Value) -> Vec<(String, Vec<String>)> {
    match reply {
        Value::Nil => Vec::new(),
        Value::Array(streams) => streams
            .iter()
            .map(|pair| {
                let Value::Array(pair) = pair else {
                    panic!("bad reply")
                };
                (
                    redis::from_redis_value(pair[0].clone()).unwrap(),
                    ids(&pair[1]),
                )
            })
            .collect(),
        other => panic!("unexpected reply {other:?}"),
    }
}

#[test]
fn xread_reads_after_ids_and_blocks_for_new_entries() {
    let server = TestServer::start();
    let mut c = server.client();
    for id in ["1-0", "2-0", "3-0"] {
        let _: String = q(&mut c, &["XADD", "a", id, "f", "v"]);
    }
    let reply = value(
        &mut c,
        &["XREAD", "COUNT", "2", "STREAMS", "a", "missing", "1-0", "0"],
    );
    assert_eq!(
        xread_reply(&reply),
        [("a".to_string(), vec!["2-0".to_string(), "3-0".to_string()])]
    );
    assert_eq!(value(&mut c, &["XREAD", "STREAMS", "a", "$"]), Value::Nil);
    assert_eq!(
        value(&mut c, &["XREAD", "BLOCK", "50", "STREAMS", "a", "$"]),
        Value::Nil
    );
    assert!(error(&mut c, &["XREAD", "STREAMS", "a", "b", "0"])
        .starts_with("ERR Unbalanced 'xread' list of streams"));
    assert_eq!(
        error(&mut c, &["XREAD", "COUNT", "1", "a", "0"]),
        "ERR syntax error"
    );
    assert!(error(&mut c, &["XREAD", "STREAMS", "a", ">"])
        .starts_with("ERR The > ID can be specified only"));
    assert!(
        error(&mut c, &["XREAD", "GROUP", "g", "c", "STREAMS", "a", "0"])
            .starts_with("ERR The GROUP option is only supported by XREADGROUP")
    );
    assert_eq!(
        error(&mut c, &["XREAD", "BLOCK", "-1", "STREAMS", "a", "0"]),
        "ERR timeout is negative"
    );
    let _: () = q(&mut c, &["SET", "str", "x"]);
    assert!(error(&mut c, &["XREAD", "STREAMS", "str", "0"]).starts_with("WRONGTYPE"));

    // A blocked reader is woken by XADD from another connection, and by MULTI/EXEC.
    for via_multi in [false, true] {
        let url = server.url();
        let reader = std::thread::spawn(move || {
            let mut r = redis::Client::open(url).unwrap().get_connection().unwrap();
            let reply: Value = redis::cmd("XREAD")
                .arg(&["BLOCK", "0", "STREAMS", "a", "$"])
                .query(&mut r)
                .unwrap();
            xread_reply(&reply)
        });
        wait_for_blocked_clients(&server.url(), 1);
        // A write that is not an XADD does not answer the reader.
        let _: () = q(
            &mut c,
            &["XGROUP", "CREATE", "a", &format!("g{via_multi}"), "$"],
        );
        let id = if via_multi {
            let (id,): (String,) = redis::pipe()
                .atomic()
                .cmd("XADD")
                .arg(&["a", "*", "f", "v"])
                .query(&mut c)
                .unwrap();
            id
        } else {
            q(&mut c, &["XADD", "a", "*", "f", "v"])
        };
        assert_eq!(reader.join().unwrap(), [("a".to_string(), vec![id])]);
    }

    // A stream deleted and re-created while a reader waits on `$` serves the new entry.
    let url = server.url();
    let reader = std::thread::spawn(move || {
        let mut r = redis::Client::open(url).unwrap().get_connection().unwrap();
        let reply: Value = redis::cmd("XREAD")
            .arg(&["BLOCK", "0", "STREAMS", "a", "$"])
            .query(&mut r)
            .unwrap();
        xread_reply(&reply)
    });
    wait_for_blocked_clients(&server.url(), 1);
    let _: i64 = q(&mut c, &["DEL", "a"]);
    let _: i64 = q(&mut c, &["LPUSH", "a", "x"]);
    std::thread::sleep(Duration::from_millis(50));
    let _: i64 = q(&mut c, &["DEL", "a"]);
    let _: String = q(&mut c, &["XADD", "a", "99999999999999-0", "f", "v"]);
    assert_eq!(
        reader.join().unwrap(),
        [("a".to_string(), vec!["99999999999999-0".to_string()])]
    );
}

#[test]
fn resp3_xread_is_a_map_and_xinfo_a_map() {
    let server = TestServer::start();
    let mut c = server.client_resp3();
    let _: String = q(&mut c, &["XADD", "s", "1-0", "f", "v"]);
    assert!(matches!(
        value(&mut c, &["XREAD", "STREAMS", "s", "0"]),
        Value::Map(_)
    ));
    assert!(matches!(
        value(&mut c, &["XINFO", "STREAM", "s"]),
        Value::Map(_)
    ));
}

#[test]
fn generic_key_commands_work_on_streams() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: String = q(&mut c, &["XADD", "s{t}", "1-0", "f", "v"]);
    let _: () = q(&mut c, &["XGROUP", "CREATE", "s{t}", "g", "0"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "s{t}"]), "stream");
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "s{t}"]),
        "stream"
    );
    let (_, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "0", "TYPE", "stream"]);
    assert_eq!(keys, ["s{t}"]);
    assert_eq!(q::<i64>(&mut c, &["COPY", "s{t}", "c{t}"]), 1);
    let _: String = q(&mut c, &["XADD", "s{t}", "2-0", "f", "v"]);
    assert_eq!(xrange(&mut c, "c{t}", "-", "+"), ["1-0"]);
    let groups = value(&mut c, &["XINFO", "GROUPS", "c{t}"]);
    assert_eq!(entries_len(&groups), 1);
    let _: () = q(&mut c, &["RENAME", "c{t}", "r{t}"]);
    assert_eq!(xrange(&mut c, "r{t}", "-", "+"), ["1-0"]);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "r{t}", "100"]), 1);
    assert!(q::<i64>(&mut c, &["TTL", "r{t}"]) > 0);
    assert_eq!(q::<i64>(&mut c, &["DEL", "r{t}", "s{t}"]), 2);
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s{t}"]), 0);
}

fn entries_len(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.len(),
        other => panic!("not an array {other:?}"),
    }
}

#[test]
fn stream_writes_raise_keyspace_events() {
    let server = TestServer::start_with(&["--notify-keyspace-events", "Et"]);
    let mut c = server.client();
    let mut sub = server.client();
    let mut pubsub = sub.as_pubsub();
    pubsub.psubscribe("__keyevent@0__:*").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _: String = q(&mut c, &["XADD", "s", "MAXLEN", "1", "1-0", "f", "v"]);
    let _: String = q(&mut c, &["XADD", "s", "MAXLEN", "1", "2-0", "f", "v"]);
    let _: i64 = q(&mut c, &["XDEL", "s", "2-0"]);
    let _: () = q(&mut c, &["XSETID", "s", "5-0"]);
    let _: () = q(&mut c, &["XGROUP", "CREATE", "s", "g", "$"]);
    let _: i64 = q(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "alice"]);
    let _: () = q(&mut c, &["XGROUP", "SETID", "s", "g", "0"]);
    let _: i64 = q(&mut c, &["XGROUP", "DELCONSUMER", "s", "g", "alice"]);
    let _: i64 = q(&mut c, &["XGROUP", "DESTROY", "s", "g"]);
    let _: String = q(&mut c, &["XADD", "s", "6-0", "f", "v"]);
    let _: i64 = q(&mut c, &["XTRIM", "s", "MAXLEN", "0"]);
    let mut events = Vec::new();
    for _ in 0..12 {
        let msg = pubsub.get_message().unwrap();
        events.push(
            msg.get_channel_name()
                .trim_start_matches("__keyevent@0__:")
                .to_string(),
        );
    }
    assert_eq!(
        events,
        [
            "xadd",
            "xadd",
            "xtrim",
            "xdel",
            "xsetid",
            "xgroup-create",
            "xgroup-createconsumer",
            "xgroup-setid",
            "xgroup-delconsumer",
            "xgroup-destroy",
            "xadd",
            "xtrim"
        ]
    );
}

#[test]
fn change_logs_refuse_client_writes() {
    let server = TestServer::start();
    let mut c = server.client();
    let refused = "ERR __stream__ keys are change logs only the server writes: XADD, XDEL, XTRIM and XSETID are not allowed on them";
    let log = "__stream__:__keyspace@0__";
    assert_eq!(error(&mut c, &["XADD", log, "*", "f", "v"]), refused);
    assert_eq!(error(&mut c, &["XDEL", log, "1-0"]), refused);
    assert_eq!(error(&mut c, &["XTRIM", log, "MAXLEN", "0"]), refused);
    assert_eq!(error(&mut c, &["XSETID", log, "1-0"]), refused);
    assert_eq!(q::<i64>(&mut c, &["XLEN", log]), 0);
}

#[test]
fn streams_survive_a_restart() {
    let mut server = TestServer::start();
    let mut c = server.client();
    for id in ["1-0", "2-0", "3-0"] {
        let _: String = q(&mut c, &["XADD", "s", id, "f", id]);
    }
    let _: i64 = q(&mut c, &["XDEL", "s", "2-0"]);
    let _: () = q(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    let _: Value = q(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "1",
            "STREAMS",
            "s",
            ">",
        ],
    );
    let before = value(&mut c, &["XINFO", "STREAM", "s", "FULL"]);
    server.stop();
    server.restart();
    let mut c = server.client();
    assert_eq!(xrange(&mut c, "s", "-", "+"), ["1-0", "3-0"]);
    let after = value(&mut c, &["XINFO", "STREAM", "s", "FULL"]);
    assert_eq!(before, after);
}
