//! The durable change log read with XRANGE/XREVRANGE/XREAD/XLEN/XINFO, here fed by keyspace
//! events (`__stream__:__keyspace@<db>__`).

use redis::Value;

use crate::harness::{error, q, TestServer};

const LOG: &str = "__stream__:__keyspace@0__";

/// `(id, event, key)` of each entry of an XRANGE/XREAD entry list.
fn entries(value: &Value) -> Vec<(String, String, String)> {
    let Value::Array(items) = value else {
        panic!("not an array: {value:?}")
    };
    items
        .iter()
        .map(|entry| {
            let Value::Array(parts) = entry else {
                panic!("bad entry")
            };
            let id: String = redis::from_redis_value(parts[0].clone()).unwrap();
            let fields: Vec<String> = redis::from_redis_value(parts[1].clone()).unwrap();
            assert_eq!(fields[0], "event");
            assert_eq!(fields[2], "key");
            (id, fields[1].clone(), fields[3].clone())
        })
        .collect()
}

/// The entries of one stream in an XREAD reply (RESP2 shape).
fn xread_entries(value: &Value) -> Vec<(String, String, String)> {
    match value {
        Value::Nil => Vec::new(),
        Value::Array(streams) => {
            let Value::Array(pair) = &streams[0] else {
                panic!("bad reply")
            };
            entries(&pair[1])
        }
        other => panic!("unexpected XREAD reply {other:?}"),
    }
}

#[test]
fn keyspace_change_log_is_readable_with_xrange() {
    let server = TestServer::start_with(&["--notify-keyspace-events", "KEA"]);
    let mut con = server.client();
    let _: () = q(&mut con, &["SET", "a", "1"]);
    let _: i64 = q(&mut con, &["INCR", "a"]);
    let _: i64 = q(&mut con, &["DEL", "a"]);
    let all = entries(&q(&mut con, &["XRANGE", LOG, "-", "+"]));
    let events: Vec<(&str, &str)> = all
        .iter()
        .map(|(_, e, k)| (e.as_str(), k.as_str()))
        .collect();
    assert_eq!(events, vec![("set", "a"), ("incrby", "a"), ("del", "a")]);
    let ids: Vec<&String> = all.iter().map(|(id, _, _)| id).collect();
    let mut sorted = ids.clone();
    sorted.sort_by_key(|id| {
        let (ms, seq) = id.split_once('-').unwrap();
        (ms.parse::<u64>().unwrap(), seq.parse::<u64>().unwrap())
    });
    assert_eq!(ids, sorted, "IDs must be increasing");
    assert_eq!(q::<i64>(&mut con, &["XLEN", LOG]), 3);
    let newest = entries(&q(&mut con, &["XREVRANGE", LOG, "+", "-", "COUNT", "1"]));
    assert_eq!(newest[0].1, "del");
    // Exclusive start: everything after the first entry.
    let after_first = entries(&q(
        &mut con,
        &["XRANGE", LOG, &format!("({}", all[0].0), "+"],
    ));
    assert_eq!(after_first.len(), 2);
    let info: Vec<Value> = q(&mut con, &["XINFO", "STREAM", LOG]);
    assert_eq!(info[0], Value::BulkString(b"length".to_vec()));
    assert_eq!(info[1], Value::Int(3));
    assert_eq!(
        error(&mut con, &["XRANGE", LOG, "abc", "+"]),
        "ERR Invalid stream ID specified as stream command argument"
    );
    assert_eq!(
        error(&mut con, &["XREAD", "STREAMS", LOG, "other", "0"]),
        "ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified."
    );
    // Ordinary keys are not change logs.
    let _: () = q(&mut con, &["SET", "plain", "x"]);
    assert!(error(&mut con, &["XLEN", "plain"]).starts_with("WRONGTYPE"));
    assert_eq!(q::<i64>(&mut con, &["XLEN", "missing"]), 0);
}

#[test]
fn xread_block_is_woken_by_a_write_and_times_out_otherwise() {
    let server = TestServer::start_with(&["--notify-keyspace-events", "KEA"]);
    let mut reader = server.client();
    let timed_out: Value = q(&mut reader, &["XREAD", "BLOCK", "100", "STREAMS", LOG, "$"]);
    assert_eq!(timed_out, Value::Nil);
    let addr = server.url();
    let writer = std::thread::spawn(move || {
        crate::harness::wait_for_blocked_clients(&addr, 1);
        let mut con = redis::Client::open(addr).unwrap().get_connection().unwrap();
        let _: () = redis::cmd("SET")
            .arg("woke")
            .arg("1")
            .query(&mut con)
            .unwrap();
    });
    let got: Value = q(
        &mut reader,
        &["XREAD", "BLOCK", "20000", "STREAMS", LOG, "$"],
    );
    writer.join().unwrap();
    let got = xread_entries(&got);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].1.as_str(), got[0].2.as_str()), ("set", "woke"));
}

#[test]
fn consumer_resumes_after_disconnect_and_restart_exactly_once() {
    let mut server = TestServer::start_with(&["--notify-keyspace-events", "KEA"]);
    let mut con = server.client();
    for i in 0..10 {
        let _: () = q(&mut con, &["SET", &format!("k{i}"), "v"]);
    }
    // The consumer reads half, remembers its last ID, and goes away.
    let first = xread_entries(&q(&mut con, &["XREAD", "COUNT", "5", "STREAMS", LOG, "0"]));
    assert_eq!(first.len(), 5);
    let last_id = first.last().unwrap().0.clone();
    for i in 10..20 {
        let _: () = q(&mut con, &["SET", &format!("k{i}"), "v"]);
    }
    drop(con);
    assert_eq!(server.stop(), Some(0));
    server.restart();
    let mut con = server.client();
    let rest = xread_entries(&q(&mut con, &["XREAD", "STREAMS", LOG, &last_id]));
    let mut keys: Vec<String> = first.iter().map(|e| e.2.clone()).collect();
    keys.extend(rest.iter().map(|e| e.2.clone()));
    let expected: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
    assert_eq!(keys, expected, "every record exactly once, in order");
}
