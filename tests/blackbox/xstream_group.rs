//! Stream consumer groups: XGROUP, XREADGROUP (NOACK, history, BLOCK), XACK, XPENDING,
//! XCLAIM, XAUTOCLAIM, XINFO GROUPS/CONSUMERS/STREAM FULL.

use redis::Value;

use crate::harness::{error, q, value, wait_for_blocked_clients, TestServer};
use crate::xstream::{ids, info_field, info_int, info_text, xread_reply};

fn setup(c: &mut redis::Connection) {
    for id in ["1-0", "2-0", "3-0", "4-0"] {
        let _: String = q(c, &["XADD", "s", id, "f", id]);
    }
    let _: () = q(c, &["XGROUP", "CREATE", "s", "g", "0"]);
}

fn read_group(c: &mut redis::Connection, consumer: &str, extra: &[&str], id: &str) -> Vec<String> {
    let mut args = vec!["XREADGROUP", "GROUP", "g", consumer];
    args.extend(extra);
    args.extend(["STREAMS", "s", id]);
    xread_reply(&value(c, &args))
        .into_iter()
        .flat_map(|(_, ids)| ids)
        .collect()
}

fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => panic!("not an array {other:?}"),
    }
}

#[test]
fn xgroup_subcommands_and_errors() {
    let server = TestServer::start();
    let mut c = server.client();
    assert!(error(&mut c, &["XGROUP", "CREATE", "s", "g", "$"])
        .starts_with("ERR The XGROUP subcommand requires the key to exist"));
    let _: () = q(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "s"]), "stream");
    assert_eq!(
        error(&mut c, &["XGROUP", "CREATE", "s", "g", "$"]),
        "BUSYGROUP Consumer Group name already exists"
    );
    let _: () = q(
        &mut c,
        &["XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "3"],
    );
    assert_eq!(
        error(
            &mut c,
            &["XGROUP", "CREATE", "s", "g3", "0", "ENTRIESREAD", "-2"]
        ),
        "ERR value for ENTRIESREAD must be positive or -1"
    );
    assert!(
        error(&mut c, &["XGROUP", "CREATE", "s", "g3", "0", "BOGUS"])
            .starts_with("ERR unknown subcommand or wrong number of arguments for 'CREATE'")
    );
    assert_eq!(
        error(&mut c, &["XGROUP", "CREATE", "s", "g3", "zz"]),
        "ERR Invalid stream ID specified as stream command argument"
    );
    assert_eq!(
        q::<i64>(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "alice"]),
        1
    );
    assert_eq!(
        q::<i64>(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "alice"]),
        0
    );
    assert_eq!(
        error(&mut c, &["XGROUP", "CREATECONSUMER", "s", "nog", "alice"]),
        "NOGROUP No such consumer group 'nog' for key name 's'"
    );
    let _: () = q(
        &mut c,
        &["XGROUP", "SETID", "s", "g", "5-0", "ENTRIESREAD", "2"],
    );
    let groups = list(&value(&mut c, &["XINFO", "GROUPS", "s"]));
    assert_eq!(groups.len(), 2);
    assert_eq!(info_text(&groups[0], "name"), "g");
    assert_eq!(info_text(&groups[0], "last-delivered-id"), "5-0");
    assert_eq!(info_int(&groups[0], "entries-read"), 2);
    assert_eq!(info_int(&groups[0], "consumers"), 1);
    assert_eq!(info_int(&groups[1], "entries-read"), 3);
    assert_eq!(
        q::<i64>(&mut c, &["XGROUP", "DELCONSUMER", "s", "g", "alice"]),
        0
    );
    assert_eq!(
        q::<i64>(&mut c, &["XGROUP", "DELCONSUMER", "s", "g", "nobody"]),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["XGROUP", "DESTROY", "s", "g2"]), 1);
    assert_eq!(q::<i64>(&mut c, &["XGROUP", "DESTROY", "s", "g2"]), 0);
    assert_eq!(
        info_int(&value(&mut c, &["XINFO", "STREAM", "s"]), "groups"),
        1
    );
    assert_eq!(
        error(&mut c, &["XGROUP", "HELP", "x"]),
        "ERR wrong number of arguments for 'xgroup|help' command"
    );
    assert!(matches!(value(&mut c, &["XGROUP", "HELP"]), Value::Array(lines) if lines.len() > 5));
    assert!(error(&mut c, &["XGROUP", "NOPE", "s"]).starts_with("ERR unknown subcommand 'NOPE'"));
    let _: () = q(&mut c, &["SET", "str", "x"]);
    assert!(error(&mut c, &["XGROUP", "CREATE", "str", "g", "$"]).starts_with("WRONGTYPE"));
    assert_eq!(
        error(&mut c, &["XINFO", "CONSUMERS", "s", "nog"]),
        "NOGROUP No such consumer group 'nog' for key name 's'"
    );
}

#[test]
fn xreadgroup_delivers_new_entries_and_history() {
    let server = TestServer::start();
    let mut c = server.client();
    setup(&mut c);
    assert_eq!(
        read_group(&mut c, "alice", &["COUNT", "2"], ">"),
        ["1-0", "2-0"]
    );
    assert_eq!(read_group(&mut c, "bob", &[], ">"), ["3-0", "4-0"]);
    assert_eq!(
        value(
            &mut c,
            &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"]
        ),
        Value::Nil
    );
    // History: the consumer's own pending entries after the ID; each read counts.
    assert_eq!(read_group(&mut c, "alice", &[], "0"), ["1-0", "2-0"]);
    assert_eq!(read_group(&mut c, "alice", &[], "1-0"), ["2-0"]);
    let _: i64 = q(&mut c, &["XDEL", "s", "2-0"]);
    let history = value(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"],
    );
    let Value::Array(streams) = history else {
        panic!()
    };
    let Value::Array(pair) = &streams[0] else {
        panic!()
    };
    let items = list(&pair[1]);
    assert_eq!(
        items[1],
        Value::Array(vec![Value::BulkString(b"2-0".to_vec()), Value::Nil])
    );
    // NOACK delivers without a PEL entry.
    let _: String = q(&mut c, &["XADD", "s", "5-0", "f", "v"]);
    assert_eq!(read_group(&mut c, "carol", &["NOACK"], ">"), ["5-0"]);
    let summary = list(&value(&mut c, &["XPENDING", "s", "g"]));
    assert_eq!(summary[0], Value::Int(4));
    let consumers: Vec<(String, String)> = redis::from_redis_value(summary[3].clone()).unwrap();
    assert_eq!(
        consumers,
        [("alice".into(), "2".into()), ("bob".into(), "2".into())]
    );
    let info = list(&value(&mut c, &["XINFO", "CONSUMERS", "s", "g"]));
    assert_eq!(info.len(), 3);
    assert_eq!(info_text(&info[2], "name"), "carol");
    assert_eq!(info_int(&info[2], "pending"), 0);
    // Errors.
    assert!(error(
        &mut c,
        &["XREADGROUP", "GROUP", "nog", "a", "STREAMS", "s", ">"]
    )
    .starts_with(
        "NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option"
    ));
    assert!(error(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", "$"]
    )
    .starts_with("ERR The $ ID is meaningless"));
    assert_eq!(
        error(
            &mut c,
            &["XREADGROUP", "COUNT", "1", "NOACK", "STREAMS", "s", ">"]
        ),
        "ERR Missing GROUP option for XREADGROUP"
    );
    assert!(error(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">", "x"]
    )
    .starts_with("ERR Unbalanced 'xreadgroup' list of streams"));
}

#[test]
fn blocking_xreadgroup_is_served_or_told_the_key_is_gone() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let spawn = |args: &'static [&'static str]| {
        let url = server.url();
        std::thread::spawn(move || {
            let mut r = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut cmd = redis::cmd("XREADGROUP");
            cmd.arg(args);
            cmd.query::<Value>(&mut r)
        })
    };
    let args: &'static [&'static str] = &["GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">"];
    let reader = spawn(args);
    wait_for_blocked_clients(&server.url(), 1);
    let id: String = q(&mut c, &["XADD", "s", "*", "f", "v"]);
    let reply = reader.join().unwrap().unwrap();
    assert_eq!(xread_reply(&reply), [("s".to_string(), vec![id])]);

    let reader = spawn(args);
    wait_for_blocked_clients(&server.url(), 1);
    let _: i64 = q(&mut c, &["DEL", "s"]);
    let err = reader.join().unwrap().unwrap_err();
    assert!(crate::harness::error_text(&err).contains("no longer exists"));

    let _: () = q(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let reader = spawn(args);
    wait_for_blocked_clients(&server.url(), 1);
    let _: i64 = q(&mut c, &["XGROUP", "DESTROY", "s", "g"]);
    let err = reader.join().unwrap().unwrap_err();
    assert!(crate::harness::error_text(&err).starts_with("NOGROUP"));

    // A timeout answers nil; inside MULTI the command does not block.
    let _: () = q(&mut c, &["XGROUP", "CREATE", "s", "g", "$"]);
    let reply = value(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "a",
            "BLOCK",
            "30",
            "STREAMS",
            "s",
            ">",
        ],
    );
    assert_eq!(reply, Value::Nil);
    let (reply,): (Value,) = redis::pipe()
        .atomic()
        .cmd("XREADGROUP")
        .arg(&["GROUP", "g", "a", "BLOCK", "0", "STREAMS", "s", ">"])
        .query(&mut c)
        .unwrap();
    assert_eq!(reply, Value::Nil);
}

#[test]
fn xack_and_xpending_ranges() {
    let server = TestServer::start();
    let mut c = server.client();
    setup(&mut c);
    let _ = read_group(&mut c, "alice", &["COUNT", "3"], ">");
    let _ = read_group(&mut c, "bob", &[], ">");
    let pending = list(&value(&mut c, &["XPENDING", "s", "g", "-", "+", "10"]));
    assert_eq!(pending.len(), 4);
    let first = list(&pending[0]);
    assert_eq!(first[0], Value::BulkString(b"1-0".to_vec()));
    assert_eq!(first[1], Value::BulkString(b"alice".to_vec()));
    assert_eq!(first[3], Value::Int(1));
    assert_eq!(
        list(&value(
            &mut c,
            &["XPENDING", "s", "g", "(1-0", "(4-0", "10"]
        ))
        .len(),
        2
    );
    assert_eq!(
        list(&value(
            &mut c,
            &["XPENDING", "s", "g", "-", "+", "10", "bob"]
        ))
        .len(),
        1
    );
    assert_eq!(
        list(&value(
            &mut c,
            &["XPENDING", "s", "g", "-", "+", "10", "nobody"]
        ))
        .len(),
        0
    );
    assert_eq!(
        list(&value(
            &mut c,
            &["XPENDING", "s", "g", "IDLE", "100000", "-", "+", "10"]
        ))
        .len(),
        0
    );
    assert_eq!(
        list(&value(
            &mut c,
            &["XPENDING", "s", "g", "IDLE", "0", "-", "+", "2"]
        ))
        .len(),
        2
    );
    assert_eq!(
        error(&mut c, &["XPENDING", "s", "g", "-", "+"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["XPENDING", "s", "g", "IDLE", "1", "-", "+"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["XPENDING", "s", "nog"]),
        "NOGROUP No such key 's' or consumer group 'nog'"
    );
    assert_eq!(
        error(&mut c, &["XACK", "s", "g", "1-0", "bad"]),
        "ERR Invalid stream ID specified as stream command argument"
    );
    assert_eq!(
        q::<i64>(&mut c, &["XACK", "s", "g", "1-0", "2-0", "9-0"]),
        2
    );
    assert_eq!(q::<i64>(&mut c, &["XACK", "s", "g", "1-0"]), 0);
    assert_eq!(q::<i64>(&mut c, &["XACK", "s", "nog", "3-0"]), 0);
    assert_eq!(q::<i64>(&mut c, &["XACK", "missing", "g", "3-0"]), 0);
    let summary = list(&value(&mut c, &["XPENDING", "s", "g"]));
    assert_eq!(summary[0], Value::Int(2));
    assert_eq!(summary[1], Value::BulkString(b"3-0".to_vec()));
    assert_eq!(summary[2], Value::BulkString(b"4-0".to_vec()));
    let _: i64 = q(&mut c, &["XACK", "s", "g", "3-0", "4-0"]);
    assert_eq!(
        value(&mut c, &["XPENDING", "s", "g"]),
        Value::Array(vec![Value::Int(0), Value::Nil, Value::Nil, Value::Nil])
    );
}

#[test]
fn xclaim_options() {
    let server = TestServer::start();
    let mut c = server.client();
    setup(&mut c);
    let _ = read_group(&mut c, "alice", &[], ">");
    // Too fresh for a 1-hour min idle time.
    assert_eq!(
        list(&value(
            &mut c,
            &["XCLAIM", "s", "g", "bob", "3600000", "1-0"]
        ))
        .len(),
        0
    );
    let claimed = value(&mut c, &["XCLAIM", "s", "g", "bob", "0", "1-0", "2-0"]);
    assert_eq!(ids(&claimed), ["1-0", "2-0"]);
    let row = list(&list(&value(&mut c, &["XPENDING", "s", "g", "1-0", "1-0", "1"]))[0]);
    assert_eq!(row[1], Value::BulkString(b"bob".to_vec()));
    assert_eq!(row[3], Value::Int(2));
    // JUSTID: IDs only, the delivery count stays.
    let just = value(&mut c, &["XCLAIM", "s", "g", "carol", "0", "1-0", "JUSTID"]);
    assert_eq!(just, Value::Array(vec![Value::BulkString(b"1-0".to_vec())]));
    // IDLE / RETRYCOUNT set the delivery time and count.
    let _ = value(
        &mut c,
        &[
            "XCLAIM",
            "s",
            "g",
            "carol",
            "0",
            "2-0",
            "IDLE",
            "500000",
            "RETRYCOUNT",
            "7",
            "JUSTID",
        ],
    );
    let row = list(&list(&value(&mut c, &["XPENDING", "s", "g", "2-0", "2-0", "1"]))[0]);
    assert!(matches!(row[2], Value::Int(idle) if idle >= 500000));
    assert_eq!(row[3], Value::Int(7));
    // FORCE creates a PEL entry for an entry never delivered; LASTID moves the group.
    let _: () = q(&mut c, &["XGROUP", "CREATE", "s", "g2", "$"]);
    assert_eq!(
        list(&value(&mut c, &["XCLAIM", "s", "g2", "dan", "0", "3-0"])).len(),
        0
    );
    let forced = value(
        &mut c,
        &[
            "XCLAIM", "s", "g2", "dan", "0", "3-0", "FORCE", "LASTID", "9-0", "TIME", "1",
        ],
    );
    assert_eq!(ids(&forced), ["3-0"]);
    let groups = list(&value(&mut c, &["XINFO", "GROUPS", "s"]));
    assert_eq!(info_text(&groups[1], "last-delivered-id"), "9-0");
    assert_eq!(info_int(&groups[1], "pending"), 1);
    // A deleted entry is dropped from the PEL instead of claimed.
    let _: i64 = q(&mut c, &["XDEL", "s", "4-0"]);
    assert_eq!(
        list(&value(&mut c, &["XCLAIM", "s", "g", "bob", "0", "4-0"])).len(),
        0
    );
    assert_eq!(
        list(&value(&mut c, &["XPENDING", "s", "g", "4-0", "4-0", "1"])).len(),
        0
    );
    assert_eq!(
        error(&mut c, &["XCLAIM", "s", "g", "bob", "x", "1-0"]),
        "ERR Invalid min-idle-time argument for XCLAIM"
    );
    assert_eq!(
        error(&mut c, &["XCLAIM", "s", "g", "bob", "0", "1-0", "BOGUS"]),
        "ERR Unrecognized XCLAIM option 'BOGUS'"
    );
    assert_eq!(
        error(
            &mut c,
            &["XCLAIM", "s", "g", "bob", "0", "1-0", "IDLE", "x"]
        ),
        "ERR Invalid IDLE option argument for XCLAIM"
    );
    assert_eq!(
        error(&mut c, &["XCLAIM", "s", "nog", "bob", "0", "1-0"]),
        "NOGROUP No such key 's' or consumer group 'nog'"
    );
}

#[test]
fn xautoclaim_iterates_and_reports_deleted_entries() {
    let server = TestServer::start();
    let mut c = server.client();
    setup(&mut c);
    let _ = read_group(&mut c, "alice", &[], ">");
    let _: i64 = q(&mut c, &["XDEL", "s", "2-0"]);
    let reply = list(&value(
        &mut c,
        &["XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "2"],
    ));
    assert_eq!(reply[0], Value::BulkString(b"3-0".to_vec()));
    assert_eq!(ids(&reply[1]), ["1-0"]);
    assert_eq!(
        reply[2],
        Value::Array(vec![Value::BulkString(b"2-0".to_vec())])
    );
    let reply = list(&value(
        &mut c,
        &["XAUTOCLAIM", "s", "g", "bob", "0", "3-0", "JUSTID"],
    ));
    assert_eq!(reply[0], Value::BulkString(b"0-0".to_vec()));
    assert_eq!(
        reply[1],
        Value::Array(vec![
            Value::BulkString(b"3-0".to_vec()),
            Value::BulkString(b"4-0".to_vec())
        ])
    );
    let reply = list(&value(
        &mut c,
        &["XAUTOCLAIM", "s", "g", "carol", "3600000", "0"],
    ));
    assert_eq!(reply[1], Value::Array(vec![]));
    assert_eq!(
        error(
            &mut c,
            &["XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "0"]
        ),
        "ERR COUNT must be > 0"
    );
    assert_eq!(
        error(&mut c, &["XAUTOCLAIM", "s", "g", "bob", "0", "0", "BOGUS"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["XAUTOCLAIM", "s", "g", "bob", "x", "0"]),
        "ERR Invalid min-idle-time argument for XAUTOCLAIM"
    );
    assert_eq!(
        error(&mut c, &["XAUTOCLAIM", "s", "nog", "bob", "0", "0"]),
        "NOGROUP No such key 's' or consumer group 'nog'"
    );
}

#[test]
fn xinfo_full_reports_groups_lag_and_pels() {
    let server = TestServer::start();
    let mut c = server.client();
    setup(&mut c);
    let _ = read_group(&mut c, "alice", &["COUNT", "1"], ">");
    let full = value(&mut c, &["XINFO", "STREAM", "s", "FULL"]);
    let groups = list(&info_field(&full, "groups"));
    assert_eq!(info_text(&groups[0], "last-delivered-id"), "1-0");
    assert_eq!(info_int(&groups[0], "entries-read"), 1);
    assert_eq!(info_int(&groups[0], "lag"), 3);
    assert_eq!(info_int(&groups[0], "pel-count"), 1);
    let consumers = list(&info_field(&groups[0], "consumers"));
    assert_eq!(info_text(&consumers[0], "name"), "alice");
    assert_eq!(info_int(&consumers[0], "pel-count"), 1);
    // A tombstone after the group's position makes the lag unknown.
    let _: i64 = q(&mut c, &["XDEL", "s", "3-0"]);
    let groups = list(&value(&mut c, &["XINFO", "GROUPS", "s"]));
    assert_eq!(info_field(&groups[0], "lag"), Value::Nil);
}
