//! Hash commands.

use std::collections::{HashMap, HashSet};

use redis::Value;

use crate::harness::{error, q, value, TestServer};

#[test]
fn hset_hget_hmget_hdel_hlen() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["HSET", "h", "a", "1", "b", "2"]), 2);
    assert_eq!(q::<i64>(&mut c, &["HSET", "h", "a", "10", "c", "3"]), 1);
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "a"]), "10");
    assert_eq!(value(&mut c, &["HGET", "h", "zz"]), Value::Nil);
    assert_eq!(value(&mut c, &["HGET", "missing", "a"]), Value::Nil);
    assert_eq!(
        value(&mut c, &["HMGET", "h", "a", "zz", "c"]),
        Value::Array(vec![
            Value::BulkString(b"10".to_vec()),
            Value::Nil,
            Value::BulkString(b"3".to_vec())
        ])
    );
    assert_eq!(
        value(&mut c, &["HMGET", "missing", "a"]),
        Value::Array(vec![Value::Nil])
    );
    assert_eq!(q::<String>(&mut c, &["HMSET", "h", "d", "4"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["HLEN", "h"]), 4);
    assert_eq!(q::<i64>(&mut c, &["HSETNX", "h", "a", "x"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HSETNX", "h", "e", "5"]), 1);
    assert_eq!(q::<i64>(&mut c, &["HEXISTS", "h", "e"]), 1);
    assert_eq!(q::<i64>(&mut c, &["HEXISTS", "h", "zz"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HSTRLEN", "h", "a"]), 2);
    assert_eq!(q::<i64>(&mut c, &["HSTRLEN", "h", "zz"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HDEL", "h", "a", "b", "zz"]), 2);
    assert_eq!(q::<i64>(&mut c, &["HLEN", "h"]), 3);
    assert_eq!(q::<i64>(&mut c, &["HDEL", "h", "c", "d", "e"]), 3);
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "h"]),
        0,
        "an emptied hash is deleted"
    );
    assert_eq!(q::<i64>(&mut c, &["HLEN", "h"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HDEL", "h", "a"]), 0);
    // A re-created hash does not see fields of its previous life.
    assert_eq!(q::<i64>(&mut c, &["HSET", "h", "new", "1"]), 1);
    assert_eq!(q::<Vec<String>>(&mut c, &["HKEYS", "h"]), vec!["new"]);
    // Errors
    assert_eq!(
        error(&mut c, &["HSET", "h", "a"]),
        "ERR wrong number of arguments for 'hset' command"
    );
    assert_eq!(
        error(&mut c, &["HSET", "h", "a", "1", "b"]),
        "ERR wrong number of arguments for 'hset' command"
    );
    assert_eq!(
        error(&mut c, &["HMSET", "h", "a", "1", "b"]),
        "ERR wrong number of arguments for 'hmset' command"
    );
    assert_eq!(
        error(&mut c, &["HGET", "h"]),
        "ERR wrong number of arguments for 'hget' command"
    );
    let _: () = q(&mut c, &["SET", "s", "v"]);
    for cmd in [
        &["HSET", "s", "a", "1"][..],
        &["HGET", "s", "a"],
        &["HGETALL", "s"],
        &["HDEL", "s", "a"],
        &["HLEN", "s"],
        &["HINCRBY", "s", "a", "1"],
        &["HSCAN", "s", "0"],
    ] {
        assert_eq!(
            error(&mut c, cmd),
            "WRONGTYPE Operation against a key holding the wrong kind of value",
            "{cmd:?}"
        );
    }
}

#[test]
fn hgetall_hkeys_hvals_resp2_and_resp3() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["HSET", "h", "name", "ada", "lang", "rust"]);
    let all: HashMap<String, String> = q(&mut c, &["HGETALL", "h"]);
    assert_eq!(all.len(), 2);
    assert_eq!(all["name"], "ada");
    let mut keys: Vec<String> = q(&mut c, &["HKEYS", "h"]);
    keys.sort();
    assert_eq!(keys, vec!["lang", "name"]);
    let mut vals: Vec<String> = q(&mut c, &["HVALS", "h"]);
    vals.sort();
    assert_eq!(vals, vec!["ada", "rust"]);
    assert_eq!(value(&mut c, &["HGETALL", "missing"]), Value::Array(vec![]));
    let mut c3 = server.client_resp3();
    match value(&mut c3, &["HGETALL", "h"]) {
        Value::Map(pairs) => assert_eq!(pairs.len(), 2),
        other => panic!("RESP3 HGETALL should be a map, got {other:?}"),
    }
}

#[test]
fn hincrby_and_hincrbyfloat() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["HINCRBY", "h", "n", "5"]), 5);
    assert_eq!(q::<i64>(&mut c, &["HINCRBY", "h", "n", "-7"]), -2);
    assert_eq!(
        error(&mut c, &["HINCRBY", "h", "n", "x"]),
        "ERR value is not an integer or out of range"
    );
    let _: i64 = q(
        &mut c,
        &["HSET", "h", "s", "abc", "big", "9223372036854775807"],
    );
    assert_eq!(
        error(&mut c, &["HINCRBY", "h", "s", "1"]),
        "ERR hash value is not an integer"
    );
    assert_eq!(
        error(&mut c, &["HINCRBY", "h", "big", "1"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "f", "10.5"]),
        "10.5"
    );
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "f", "-0.5"]),
        "10"
    );
    assert_eq!(
        error(&mut c, &["HINCRBYFLOAT", "h", "s", "1"]),
        "ERR hash value is not a float"
    );
    assert_eq!(
        error(&mut c, &["HINCRBYFLOAT", "h", "f", "x"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        error(&mut c, &["HINCRBYFLOAT", "h", "f", "inf"]),
        "ERR increment would produce NaN or Infinity"
    );
    assert_eq!(q::<i64>(&mut c, &["HLEN", "h"]), 4);
}

#[test]
fn hrandfield_counts() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(value(&mut c, &["HRANDFIELD", "missing"]), Value::Nil);
    assert_eq!(
        value(&mut c, &["HRANDFIELD", "missing", "3"]),
        Value::Array(vec![])
    );
    let _: i64 = q(&mut c, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    let one: String = q(&mut c, &["HRANDFIELD", "h"]);
    assert!(["a", "b", "c"].contains(&one.as_str()));
    let two: Vec<String> = q(&mut c, &["HRANDFIELD", "h", "2"]);
    assert_eq!(
        two.iter().collect::<HashSet<_>>().len(),
        2,
        "positive count: distinct"
    );
    let all: Vec<String> = q(&mut c, &["HRANDFIELD", "h", "10"]);
    assert_eq!(
        all.len(),
        3,
        "count larger than the hash returns every field once"
    );
    let repeats: Vec<String> = q(&mut c, &["HRANDFIELD", "h", "-10"]);
    assert_eq!(repeats.len(), 10, "negative count may repeat");
    let with_values: Vec<String> = q(&mut c, &["HRANDFIELD", "h", "2", "WITHVALUES"]);
    assert_eq!(with_values.len(), 4);
    for pair in with_values.chunks(2) {
        let expected = match pair[0].as_str() {
            "a" => "1",
            "b" => "2",
            _ => "3",
        };
        assert_eq!(pair[1], expected);
    }
    assert_eq!(
        value(&mut c, &["HRANDFIELD", "h", "0"]),
        Value::Array(vec![])
    );
    assert_eq!(
        error(&mut c, &["HRANDFIELD", "h", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut c, &["HRANDFIELD", "h", "1", "BOGUS"]),
        "ERR syntax error"
    );
    let mut c3 = server.client_resp3();
    match value(&mut c3, &["HRANDFIELD", "h", "2", "WITHVALUES"]) {
        Value::Array(items) => assert!(items
            .iter()
            .all(|i| matches!(i, Value::Array(p) if p.len() == 2))),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn hscan_returns_every_field_once() {
    let server = TestServer::start();
    let mut c = server.client();
    for i in 0..500 {
        let _: i64 = q(&mut c, &["HSET", "big", &format!("f{i}"), &i.to_string()]);
    }
    let mut cursor = "0".to_string();
    let mut seen = HashMap::new();
    let mut calls = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut c, &["HSCAN", "big", &cursor, "COUNT", "37"]);
        for pair in items.chunks(2) {
            assert!(
                seen.insert(pair[0].clone(), pair[1].clone()).is_none(),
                "duplicate {}",
                pair[0]
            );
        }
        calls += 1;
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 500);
    assert!(calls > 10, "COUNT was not honoured");
    let (next, items): (String, Vec<String>) = q(
        &mut c,
        &["HSCAN", "big", "0", "MATCH", "f4?", "COUNT", "1000"],
    );
    assert_eq!(next, "0");
    assert_eq!(items.len(), 20);
    let (next, items): (String, Vec<String>) = q(&mut c, &["HSCAN", "missing", "0"]);
    assert_eq!((next.as_str(), items.len()), ("0", 0));
    assert_eq!(error(&mut c, &["HSCAN", "big", "x"]), "ERR invalid cursor");
}

#[test]
fn big_hash_delete_is_immediate_and_persistent_data_survives_restart() {
    let mut server = TestServer::start();
    let mut c = server.client();
    // 50k fields via pipelined HSETs.
    for chunk in 0..50 {
        let mut pipe = redis::pipe();
        for i in 0..1000 {
            let n = chunk * 1000 + i;
            pipe.cmd("HSET")
                .arg("huge")
                .arg(format!("f{n}"))
                .arg(n)
                .ignore();
        }
        let _: () = pipe.query(&mut c).unwrap();
    }
    assert_eq!(q::<i64>(&mut c, &["HLEN", "huge"]), 50_000);
    let _: i64 = q(&mut c, &["HSET", "session:1", "user", "ada", "cart", "3"]);
    assert_eq!(q::<i64>(&mut c, &["DEL", "huge"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "huge"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HLEN", "huge"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HSET", "huge", "only", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["HLEN", "huge"]), 1);
    drop(c);
    assert_eq!(server.stop(), Some(0));
    server.restart();
    let mut c = server.client();
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HGETALL", "huge"]),
        vec!["only", "1"]
    );
    assert_eq!(q::<String>(&mut c, &["HGET", "session:1", "user"]), "ada");
    assert_eq!(q::<i64>(&mut c, &["HLEN", "session:1"]), 2);
}

#[test]
fn field_reads_follow_every_way_a_hash_changes() {
    // Field values are served from a cache once read: each step reads a field, changes the
    // hash another way, and reads again.
    let server = TestServer::start();
    let mut c = server.client();
    let get = |c: &mut redis::Connection, key: &str, field: &str| -> Option<String> {
        q(c, &["HGET", key, field])
    };
    let _: i64 = q(&mut c, &["HSET", "h", "f", "1", "g", "2"]);
    assert_eq!(get(&mut c, "h", "f").as_deref(), Some("1"));
    assert_eq!(get(&mut c, "h", "missing"), None);
    // Overwrite, increment, delete a field, create one that was read as absent.
    let _: i64 = q(&mut c, &["HSET", "h", "f", "one"]);
    assert_eq!(get(&mut c, "h", "f").as_deref(), Some("one"));
    let _: i64 = q(&mut c, &["HINCRBY", "h", "g", "40"]);
    assert_eq!(get(&mut c, "h", "g").as_deref(), Some("42"));
    let _: i64 = q(&mut c, &["HSET", "h", "missing", "now"]);
    assert_eq!(get(&mut c, "h", "missing").as_deref(), Some("now"));
    let _: i64 = q(&mut c, &["HDEL", "h", "missing"]);
    assert_eq!(get(&mut c, "h", "missing"), None);
    // A deleted and recreated hash does not show the old fields.
    let _: i64 = q(&mut c, &["DEL", "h"]);
    let _: i64 = q(&mut c, &["HSET", "h", "f", "fresh"]);
    assert_eq!(get(&mut c, "h", "f").as_deref(), Some("fresh"));
    assert_eq!(get(&mut c, "h", "g"), None);
    // RENAME, COPY and MOVE carry the fields; the old name has none.
    let _: () = q(&mut c, &["RENAME", "h", "h2"]);
    assert_eq!(get(&mut c, "h", "f"), None);
    assert_eq!(get(&mut c, "h2", "f").as_deref(), Some("fresh"));
    let _: i64 = q(&mut c, &["COPY", "h2", "h"]);
    let _: i64 = q(&mut c, &["HSET", "h", "f", "copy"]);
    assert_eq!(get(&mut c, "h2", "f").as_deref(), Some("fresh"));
    assert_eq!(get(&mut c, "h", "f").as_deref(), Some("copy"));
    let _: i64 = q(&mut c, &["MOVE", "h", "3"]);
    assert_eq!(get(&mut c, "h", "f"), None);
    let _: () = q(&mut c, &["SELECT", "3"]);
    assert_eq!(get(&mut c, "h", "f").as_deref(), Some("copy"));
    let _: () = q(&mut c, &["SELECT", "0"]);
    // Inside MULTI/EXEC, and after an expiry.
    let _: () = q(&mut c, &["MULTI"]);
    let _: String = q(&mut c, &["HSET", "h2", "f", "in-exec"]);
    let _: Vec<i64> = q(&mut c, &["EXEC"]);
    assert_eq!(get(&mut c, "h2", "f").as_deref(), Some("in-exec"));
    let _: i64 = q(&mut c, &["PEXPIRE", "h2", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(get(&mut c, "h2", "f"), None);
    let _: i64 = q(&mut c, &["HSET", "h2", "g", "after"]);
    assert_eq!(get(&mut c, "h2", "f"), None);
    // FLUSHALL forgets everything.
    let _: i64 = q(&mut c, &["HSET", "k", "f", "v"]);
    assert_eq!(get(&mut c, "k", "f").as_deref(), Some("v"));
    let _: () = q(&mut c, &["FLUSHALL"]);
    assert_eq!(get(&mut c, "k", "f"), None);
    let _: () = q(&mut c, &["SELECT", "3"]);
    assert_eq!(get(&mut c, "h", "f"), None);
}
