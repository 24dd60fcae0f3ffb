//! DUMP / RESTORE and `import-rdb` of streams: entries across nodes with deletions, the
//! stream's counters, consumer groups with their consumers and pending entries, both ways
//! with real Redis 7.0 (when `redis-server` is installed) and within redyn; payloads from
//! Redis 5 (RDB type 15); malformed payloads; change logs (dumped, never restored onto).

use redis::Value;
use serde_json::json;

use crate::dump::{dump, import_into, restore, restore_err, with_trailer};
use crate::harness::RealRedis;
use crate::harness::{ddb, q, TestServer};

/// Commands that build a stream with several nodes (3 entries each), entries deleted from
/// the middle and the head, an entry with other fields, two groups (one with an explicit
/// ENTRIESREAD), consumers with and without pending entries, an acknowledged entry and a
/// redelivered one.
const BUILD: &[&[&str]] = &[
    &["CONFIG", "SET", "stream-node-max-entries", "3"],
    &["XADD", "s", "1-1", "f", "1", "g", "x"],
    &["XADD", "s", "2-1", "f", "2", "g", "x"],
    &["XADD", "s", "3-1", "f", "3", "g", "x"],
    &["XADD", "s", "4-1", "f", "4", "g", "x"],
    &["XADD", "s", "5-1", "f", "-5", "g", "y"],
    &["XADD", "s", "6-1", "f", "6", "g", "x"],
    &[
        "XADD",
        "s",
        "7-1",
        "other",
        "a long value that is not a number at all",
    ],
    &["XADD", "s", "8-1", "f", "8", "g", "x"],
    &["XADD", "s", "9-1", "f", "99999999999", "g", ""],
    &["XADD", "s", "10-0", "f", "10", "g", "x"],
    &["XDEL", "s", "1-1", "5-1"],
    &["XGROUP", "CREATE", "s", "g1", "0"],
    &["XGROUP", "CREATE", "s", "g2", "4-1", "ENTRIESREAD", "3"],
    &[
        "XREADGROUP",
        "GROUP",
        "g1",
        "alice",
        "COUNT",
        "3",
        "STREAMS",
        "s",
        ">",
    ],
    &[
        "XREADGROUP",
        "GROUP",
        "g1",
        "bob",
        "COUNT",
        "2",
        "STREAMS",
        "s",
        ">",
    ],
    &["XACK", "s", "g1", "3-1"],
    &["XCLAIM", "s", "g1", "bob", "0", "2-1"],
    &["XGROUP", "CREATECONSUMER", "s", "g1", "carol"],
    &["XREADGROUP", "GROUP", "g2", "dave", "STREAMS", "s", ">"],
];

fn build(c: &mut redis::Connection) {
    for args in BUILD {
        let _: Value = q(c, args);
    }
}

/// XINFO STREAM FULL as (field, value) pairs, without `radix-tree-nodes` (the size of
/// Redis's radix tree, which redyn estimates).
fn info_full(c: &mut redis::Connection, key: &str) -> Vec<(String, Value)> {
    let reply: Vec<Value> = q(c, &["XINFO", "STREAM", key, "FULL"]);
    reply
        .chunks(2)
        .map(|pair| {
            let name: String = redis::from_redis_value(pair[0].clone()).unwrap();
            (name, pair[1].clone())
        })
        .filter(|(name, _)| name != "radix-tree-nodes")
        .collect()
}

fn field<'a>(info: &'a [(String, Value)], name: &str) -> &'a Value {
    &info.iter().find(|(n, _)| n == name).expect(name).1
}

#[test]
fn round_trip_keeps_entries_counters_groups_and_pending() {
    let server = TestServer::start();
    let mut c = server.client();
    build(&mut c);
    let payload = dump(&mut c, "s").unwrap();
    restore(&mut c, "copy", 0, &payload, &[]).unwrap();
    let original = info_full(&mut c, "s");
    assert_eq!(info_full(&mut c, "copy"), original);
    assert_eq!(field(&original, "length"), &Value::Int(8));
    assert_eq!(field(&original, "radix-tree-keys"), &Value::Int(4));
    assert_eq!(q::<String>(&mut c, &["TYPE", "copy"]), "stream");
    assert_eq!(
        q::<Value>(&mut c, &["XPENDING", "copy", "g1"]),
        q::<Value>(&mut c, &["XPENDING", "s", "g1"])
    );
    // Groups work on the copy: new entries are delivered, pending ones acknowledged.
    for key in ["s", "copy"] {
        let _: Value = q(&mut c, &["XADD", key, "11-0", "f", "11"]);
        let _: Value = q(&mut c, &["XACK", key, "g1", "2-1"]);
        let read: Value = q(
            &mut c,
            &["XREADGROUP", "GROUP", "g2", "dave", "STREAMS", key, ">"],
        );
        assert_ne!(read, Value::Nil, "{key}");
    }
    let (s, copy) = (info_full(&mut c, "s"), info_full(&mut c, "copy"));
    // The delivery times of this last read differ by a few ms; the rest is equal.
    assert_eq!(field(&s, "length"), field(&copy, "length"));
    assert_eq!(
        field(&s, "radix-tree-keys"),
        field(&copy, "radix-tree-keys")
    );
    assert_eq!(
        q::<i64>(&mut c, &["XACK", "copy", "g2", "11-0"]),
        q::<i64>(&mut c, &["XACK", "s", "g2", "11-0"])
    );
    // Approximate trimming removes whole nodes, the same ones in the copy.
    let trimmed: i64 = q(&mut c, &["XTRIM", "s", "MAXLEN", "~", "4"]);
    assert_eq!(
        q::<i64>(&mut c, &["XTRIM", "copy", "MAXLEN", "~", "4"]),
        trimmed
    );
    assert_eq!(
        q::<i64>(&mut c, &["XLEN", "copy"]),
        q::<i64>(&mut c, &["XLEN", "s"])
    );
}

#[test]
fn empty_streams_ttl_and_replace() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: Value = q(&mut c, &["XGROUP", "CREATE", "e", "g", "$", "MKSTREAM"]);
    let _: Value = q(&mut c, &["XADD", "gone", "5-5", "a", "b"]);
    let _: Value = q(&mut c, &["XDEL", "gone", "5-5"]);
    for key in ["e", "gone"] {
        let payload = dump(&mut c, key).unwrap();
        let copy = format!("{key}-copy");
        restore(&mut c, &copy, 100_000, &payload, &[]).unwrap();
        assert_eq!(info_full(&mut c, &copy), info_full(&mut c, key), "{key}");
        assert_eq!(q::<i64>(&mut c, &["XLEN", &copy]), 0);
        let pttl: i64 = q(&mut c, &["PTTL", &copy]);
        assert!((90_000..=100_000).contains(&pttl), "{pttl}");
    }
    let gone = info_full(&mut c, "gone-copy");
    assert_eq!(
        field(&gone, "max-deleted-entry-id"),
        &Value::BulkString(b"5-5".to_vec())
    );
    // An XADD after the restore must still be above the last ID.
    let err = crate::harness::error(&mut c, &["XADD", "gone-copy", "5-5", "a", "b"]);
    assert!(err.contains("equal or smaller"), "{err}");
    // REPLACE puts a stream over another type, and BUSYKEY guards without it.
    let _: Value = q(&mut c, &["SET", "str", "x"]);
    let payload = dump(&mut c, "e").unwrap();
    assert_eq!(
        restore_err(&mut c, "str", "0", &payload, &[]),
        "BUSYKEY Target key name already exists."
    );
    restore(&mut c, "str", 0, &payload, &["REPLACE"]).unwrap();
    assert_eq!(q::<String>(&mut c, &["TYPE", "str"]), "stream");
    assert_eq!(q::<i64>(&mut c, &["TTL", "str"]), -1);
}

/// The payload Redis's suite DUMPed from a Redis 5 instance (RDB type 15, LZF-compressed
/// listpack): `XADD x 1-0 data a` … `6-0 data f`, `XDEL x 3-0`, groups g1 and g2 at 0,
/// `XREADGROUP GROUP g1 c11 COUNT 4 STREAMS x >`, `XTRIM x MAXLEN = 2`.
const REDIS5_PAYLOAD: &[u8] = b"\x0F\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\xC3\x40\x4A\x40\x57\x16\x57\x00\x00\x00\x23\x00\x02\x01\x04\x01\x01\x01\x84\x64\x61\x74\x61\x05\x00\x01\x03\x01\x00\x20\x01\x03\x81\x61\x02\x04\x20\x0A\x00\x01\x40\x0A\x00\x62\x60\x0A\x00\x02\x40\x0A\x00\x63\x60\x0A\x40\x22\x01\x81\x64\x20\x0A\x40\x39\x20\x0A\x00\x65\x60\x0A\x00\x05\x40\x0A\x00\x66\x20\x0A\x00\xFF\x02\x06\x00\x02\x02\x67\x31\x05\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x01\x03\x63\x31\x31\x3E\xF7\x83\x43\x7A\x01\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x02\x67\x32\x00\x00\x00\x00\x09\x00\x3D\x52\xEF\x68\x67\x52\x1D\xFA";

#[test]
fn redis5_payload_restores_with_derived_counters() {
    let server = TestServer::start();
    let mut c = server.client();
    restore(&mut c, "x", 0, REDIS5_PAYLOAD, &[]).unwrap();
    let info = info_full(&mut c, "x");
    assert_eq!(field(&info, "length"), &Value::Int(2));
    assert_eq!(field(&info, "entries-added"), &Value::Int(2));
    assert_eq!(
        field(&info, "max-deleted-entry-id"),
        &Value::BulkString(b"0-0".to_vec())
    );
    assert_eq!(
        field(&info, "recorded-first-entry-id"),
        &Value::BulkString(b"5-0".to_vec())
    );
    let entries: Vec<(String, Vec<String>)> = q(&mut c, &["XRANGE", "x", "-", "+"]);
    assert_eq!(
        entries,
        [
            ("5-0".to_string(), vec!["data".to_string(), "e".to_string()]),
            ("6-0".to_string(), vec!["data".to_string(), "f".to_string()])
        ]
    );
    let groups: Vec<Vec<Value>> = q(&mut c, &["XINFO", "GROUPS", "x"]);
    let group_field = |g: &[Value], name: &str| -> Value {
        let at = g
            .iter()
            .position(|v| v == &Value::BulkString(name.as_bytes().to_vec()))
            .unwrap();
        g[at + 1].clone()
    };
    assert_eq!(group_field(&groups[0], "entries-read"), Value::Int(1));
    assert_eq!(group_field(&groups[0], "lag"), Value::Int(1));
    assert_eq!(group_field(&groups[0], "pending"), Value::Int(4));
    assert_eq!(group_field(&groups[1], "entries-read"), Value::Int(0));
    assert_eq!(group_field(&groups[1], "lag"), Value::Int(2));
    let pending: Vec<Value> = q(&mut c, &["XPENDING", "x", "g1", "-", "+", "10", "c11"]);
    assert_eq!(pending.len(), 4);
}

/// A stream payload (type 19) whose body after the type byte is `body`.
fn stream_payload(body: &[u8]) -> Vec<u8> {
    let mut out = vec![19u8];
    out.extend_from_slice(body);
    with_trailer(&out, 10)
}

#[test]
fn malformed_stream_payloads_are_refused() {
    let server = TestServer::start();
    let mut c = server.client();
    // No nodes, length 0, last ID 7-0, first 0-0, max deleted 0-0, 3 added, no groups.
    let empty = stream_payload(&[0, 0, 7, 0, 0, 0, 0, 0, 3, 0]);
    restore(&mut c, "ok", 0, &empty, &[]).unwrap();
    let info = info_full(&mut c, "ok");
    assert_eq!(
        field(&info, "last-generated-id"),
        &Value::BulkString(b"7-0".to_vec())
    );
    assert_eq!(field(&info, "entries-added"), &Value::Int(3));
    let bad = [
        // A length of 1 with no entries.
        stream_payload(&[0, 1, 7, 0, 0, 0, 0, 0, 3, 0]),
        // Cut short before the group count.
        stream_payload(&[0, 0, 7, 0, 0, 0, 0, 0, 3]),
        // A node key that is not 16 bytes.
        stream_payload(&[1, 2, 0, 0]),
        // A group "g" whose PEL holds 1-0 with no consumer owning it.
        stream_payload(&[
            0, 0, 7, 0, 0, 0, 0, 0, 3, 1, 1, b'g', 1, 0, 1, 1, //
            0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, //
            0, 0, 0, 0, 0, 0, 0, 0, 1, 0,
        ]),
        // The same group twice.
        stream_payload(&[
            0, 0, 7, 0, 0, 0, 0, 0, 3, 2, 1, b'g', 0, 0, 0, 0, 0, 1, b'g', 0, 0, 0, 0, 0,
        ]),
    ];
    for (i, payload) in bad.iter().enumerate() {
        assert_eq!(
            restore_err(&mut c, &format!("bad{i}"), "0", payload, &[]),
            "ERR Bad data format",
            "case {i}"
        );
    }
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "bad0", "bad1", "bad2", "bad3"]),
        0
    );
}

#[test]
fn change_logs_dump_but_refuse_restore() {
    let server = TestServer::start();
    let mut c = server.client();
    ddb(
        &mut c,
        "CREATETABLE",
        json!({"TableName": "Tab",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}}),
    );
    for pk in ["a", "b"] {
        ddb(
            &mut c,
            "PUTITEM",
            json!({"TableName": "Tab", "Item": {"pk": {"S": pk}}}),
        );
    }
    let log = "__stream__:Tab";
    let _: Value = q(&mut c, &["XGROUP", "CREATE", log, "workers", "0"]);
    let _: Value = q(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "workers",
            "w1",
            "COUNT",
            "1",
            "STREAMS",
            log,
            ">",
        ],
    );
    let payload = dump(&mut c, log).unwrap();
    restore(&mut c, "copy", 0, &payload, &[]).unwrap();
    assert_eq!(
        q::<Value>(&mut c, &["XRANGE", "copy", "-", "+"]),
        q::<Value>(&mut c, &["XRANGE", log, "-", "+"])
    );
    assert_eq!(q::<i64>(&mut c, &["XLEN", "copy"]), 2);
    assert_eq!(
        q::<Value>(&mut c, &["XPENDING", "copy", "workers"]),
        q::<Value>(&mut c, &["XPENDING", log, "workers"])
    );
    let refused = "ERR __stream__ keys are change logs only the server writes: XADD, XDEL, XTRIM and XSETID are not allowed on them";
    assert_eq!(
        restore_err(&mut c, log, "0", &payload, &["REPLACE"]),
        refused
    );
    assert_eq!(restore_err(&mut c, log, "0", &payload, &[]), refused);
    assert_eq!(q::<i64>(&mut c, &["XLEN", log]), 2);
}

#[test]
fn payloads_interoperate_with_real_redis() {
    let Some(real) = RealRedis::start() else {
        eprintln!("redis-server not installed: skipping live stream interop");
        return;
    };
    let mut r = real.client();
    let server = TestServer::start();
    let mut y = server.client();
    build(&mut r);
    build(&mut y);
    // Real Redis to redyn: everything XINFO STREAM FULL shows is restored.
    let payload = dump(&mut r, "s").unwrap();
    restore(&mut y, "from-redis", 0, &payload, &[]).unwrap();
    assert_eq!(info_full(&mut y, "from-redis"), info_full(&mut r, "s"));
    // redyn to real Redis.
    let payload = dump(&mut y, "s").unwrap();
    restore(&mut r, "from-redyn", 0, &payload, &[]).unwrap();
    assert_eq!(info_full(&mut r, "from-redyn"), info_full(&mut y, "s"));
    // Real Redis checks a redyn payload deeply when asked to.
    let _: Value = q(&mut r, &["CONFIG", "SET", "sanitize-dump-payload", "yes"]);
    restore(&mut r, "sanitized", 0, &payload, &[]).unwrap();
    assert_eq!(info_full(&mut r, "sanitized"), info_full(&mut y, "s"));
    // And back again: redis -> redyn -> redis keeps it whole.
    let payload = dump(&mut r, "from-redyn").unwrap();
    restore(&mut y, "again", 0, &payload, &[]).unwrap();
    assert_eq!(info_full(&mut y, "again"), info_full(&mut y, "s"));
}

#[test]
fn import_rdb_takes_streams() {
    let Some(real) = RealRedis::start() else {
        eprintln!("redis-server not installed: skipping stream RDB import");
        return;
    };
    let mut r = real.client();
    build(&mut r);
    let _: Value = q(&mut r, &["XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM"]);
    let _: Value = q(&mut r, &["SAVE"]);
    let mut server = TestServer::start();
    let report = import_into(&mut server, &real.dir().join("dump.rdb"));
    assert!(report.contains("imported 2 keys (stream=2)"), "{report}");
    let mut y = server.client();
    for key in ["s", "empty"] {
        assert_eq!(info_full(&mut y, key), info_full(&mut r, key), "{key}");
    }
}
