//! SORT and SORT_RO: orders, patterns, LIMIT, STORE and errors, as Redis 7.0 answers them.

use redis::Value;

use crate::harness::{error, q, value, TestServer};

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn rpush(c: &mut redis::Connection, key: &str, elements: &[&str]) {
    let mut args = vec!["RPUSH", key];
    args.extend_from_slice(elements);
    let _: i64 = q(c, &args);
}

#[test]
fn numeric_alpha_desc_and_limit() {
    let server = TestServer::start();
    let mut c = server.client();
    rpush(&mut c, "l", &["3", "10", "1", "2.5", "-4"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l"]),
        strings(&["-4", "1", "2.5", "3", "10"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "DESC"]),
        strings(&["10", "3", "2.5", "1", "-4"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "ALPHA"]),
        strings(&["-4", "1", "10", "2.5", "3"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "LIMIT", "1", "2"]),
        strings(&["1", "2.5"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "LIMIT", "-10", "100", "DESC", "ASC"]),
        strings(&["-4", "1", "2.5", "3", "10"])
    );
    assert!(q::<Vec<String>>(&mut c, &["SORT", "l", "LIMIT", "5", "10"]).is_empty());
    assert!(q::<Vec<String>>(&mut c, &["SORT", "missing"]).is_empty());
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["SORT_RO", "l", "LIMIT", "2", "9223372036854775807"]
        ),
        strings(&["2.5", "3", "10"])
    );
    // Sets and sorted sets sort by their members.
    let _: i64 = q(&mut c, &["SADD", "s", "5", "-1", "20"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "s"]),
        strings(&["-1", "5", "20"])
    );
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "z", "1", "a", "5", "b", "2", "c", "10", "d", "3", "e",
        ],
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "z", "ALPHA", "DESC"]),
        strings(&["e", "d", "c", "b", "a"])
    );
    // Equal numeric scores fall back to byte order.
    rpush(&mut c, "ties", &["b", "a", "c"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "ties", "BY", "nokey_*"]),
        strings(&["a", "b", "c"])
    );
}

#[test]
fn by_nosort_keeps_native_order_with_limit_and_desc() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "z", "1", "a", "5", "b", "2", "c", "10", "d", "3", "e",
        ],
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "z", "BY", "nosort"]),
        strings(&["a", "c", "e", "b", "d"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "z", "BY", "nosort", "DESC"]),
        strings(&["d", "b", "e", "c", "a"])
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "0", "2"]
        ),
        strings(&["d", "b"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "z", "BY", "nosort", "LIMIT", "1", "2"]),
        strings(&["c", "e"])
    );
    let _: i64 = q(&mut c, &["LPUSH", "l", "2", "1", "4", "3", "5"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "l", "BY", "nosort"]),
        strings(&["5", "3", "4", "1", "2"])
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &["SORT", "l", "BY", "nosort", "LIMIT", "0", "3", "STORE", "dst"]
        ),
        3
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "dst", "0", "-1"]),
        strings(&["5", "3", "4"])
    );
    // A set stored BY a constant is sorted ALPHA (it has no native order to keep).
    let _: i64 = q(&mut c, &["SADD", "s", "b", "aa", "a", "c"]);
    assert_eq!(
        q::<i64>(&mut c, &["SORT", "s", "BY", "_", "STORE", "dst"]),
        4
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "dst", "0", "-1"]),
        strings(&["a", "aa", "b", "c"])
    );
}

#[test]
fn by_and_get_patterns_read_strings_and_hash_fields() {
    let server = TestServer::start();
    let mut c = server.client();
    rpush(&mut c, "ids", &["1", "2", "3"]);
    let _: () = q(&mut c, &["MSET", "w_1", "30", "w_2", "10", "w_3", "20"]);
    let _: () = q(&mut c, &["MSET", "name_1", "one", "name_3", "three"]);
    for (id, weight) in [("1", "3"), ("2", "1"), ("3", "2")] {
        let _: i64 = q(&mut c, &["HSET", &format!("obj_{id}"), "weight", weight]);
    }
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "ids", "BY", "w_*"]),
        strings(&["2", "3", "1"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "ids", "BY", "obj_*->weight", "DESC"]),
        strings(&["1", "3", "2"])
    );
    assert_eq!(
        value(
            &mut c,
            &[
                "SORT",
                "ids",
                "BY",
                "w_*",
                "GET",
                "#",
                "GET",
                "name_*",
                "GET",
                "obj_*->weight"
            ]
        ),
        Value::Array(vec![
            Value::BulkString(b"2".to_vec()),
            Value::Nil,
            Value::BulkString(b"1".to_vec()),
            Value::BulkString(b"3".to_vec()),
            Value::BulkString(b"three".to_vec()),
            Value::BulkString(b"2".to_vec()),
            Value::BulkString(b"1".to_vec()),
            Value::BulkString(b"one".to_vec()),
            Value::BulkString(b"3".to_vec()),
        ])
    );
    // GET of a constant, of a key of another type, or of a missing field is nil.
    let _: i64 = q(&mut c, &["LPUSH", "name_2", "x"]);
    assert_eq!(
        value(
            &mut c,
            &["SORT", "ids", "GET", "constant", "LIMIT", "0", "1"]
        ),
        Value::Array(vec![Value::Nil])
    );
    assert_eq!(
        value(
            &mut c,
            &[
                "SORT",
                "ids",
                "GET",
                "name_*",
                "GET",
                "obj_*->nope",
                "LIMIT",
                "1",
                "1"
            ]
        ),
        Value::Array(vec![Value::Nil, Value::Nil])
    );
    // A trailing `->` with no field is part of the key name.
    let _: () = q(&mut c, &["SET", "x:1->", "100"]);
    assert_eq!(
        value(
            &mut c,
            &["SORT_RO", "ids", "BY", "nosort", "GET", "x:*->", "LIMIT", "0", "1"]
        ),
        Value::Array(vec![Value::BulkString(b"100".to_vec())])
    );
    // ALPHA BY: elements whose BY value is missing come first.
    let _: () = q(&mut c, &["MSET", "t_1", "b", "t_3", "a"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "ids", "BY", "t_*", "ALPHA"]),
        strings(&["2", "3", "1"])
    );
}

#[test]
fn store_writes_a_list_and_deletes_an_empty_result() {
    let server = TestServer::start();
    let mut c = server.client();
    rpush(&mut c, "l", &["3", "1", "2"]);
    let _: () = q(&mut c, &["SET", "dst", "old"]);
    let _: i64 = q(&mut c, &["EXPIRE", "dst", "100"]);
    assert_eq!(q::<i64>(&mut c, &["SORT", "l", "STORE", "dst"]), 3);
    assert_eq!(q::<String>(&mut c, &["TYPE", "dst"]), "list");
    assert_eq!(q::<i64>(&mut c, &["TTL", "dst"]), -1);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "dst", "0", "-1"]),
        strings(&["1", "2", "3"])
    );
    // GET values are stored; missing ones as empty strings.
    let _: () = q(&mut c, &["SET", "v_1", "one"]);
    assert_eq!(
        q::<i64>(
            &mut c,
            &["SORT", "l", "GET", "v_*", "GET", "#", "STORE", "dst"]
        ),
        6
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "dst", "0", "-1"]),
        strings(&["one", "1", "", "2", "", "3"])
    );
    // Storing onto the source itself works.
    assert_eq!(q::<i64>(&mut c, &["SORT", "l", "DESC", "STORE", "l"]), 3);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "l", "0", "-1"]),
        strings(&["3", "2", "1"])
    );
    // An empty result deletes the destination and creates nothing.
    assert_eq!(q::<i64>(&mut c, &["SORT", "missing", "STORE", "dst"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst"]), 0);
    assert_eq!(
        q::<i64>(&mut c, &["SORT", "l", "LIMIT", "10", "10", "STORE", "dst"]),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst"]), 0);
    // The last STORE wins.
    assert_eq!(
        q::<i64>(&mut c, &["SORT", "l", "STORE", "a", "STORE", "b"]),
        3
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "b"]), 1);
}

#[test]
fn errors_match_redis() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["SADD", "s", "1", "2", "not-a-double"]);
    assert_eq!(
        error(&mut c, &["SORT", "s"]),
        "ERR One or more scores can't be converted into double"
    );
    let _: i64 = q(&mut c, &["SADD", "n", "1", "2"]);
    let _: () = q(&mut c, &["MSET", "score:1", "10", "score:2", "x"]);
    assert_eq!(
        error(&mut c, &["SORT", "n", "BY", "score:*"]),
        "ERR One or more scores can't be converted into double"
    );
    // No STORE happens when the sort fails.
    let _ = error(&mut c, &["SORT", "s", "STORE", "dst"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst"]), 0);
    assert_eq!(
        error(&mut c, &["SORT_RO", "s", "STORE", "dst"]),
        "ERR syntax error"
    );
    assert_eq!(error(&mut c, &["SORT", "s", "BOGUS"]), "ERR syntax error");
    assert_eq!(
        error(&mut c, &["SORT", "s", "LIMIT", "1"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["SORT", "s", "LIMIT", "a", "1"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut c, &["SORT"]),
        "ERR wrong number of arguments for 'sort' command"
    );
    let _: () = q(&mut c, &["SET", "str", "x"]);
    assert!(error(&mut c, &["SORT", "str"]).starts_with("WRONGTYPE"));
    let _: i64 = q(&mut c, &["HSET", "h", "f", "v"]);
    assert!(error(&mut c, &["SORT_RO", "h", "ALPHA"]).starts_with("WRONGTYPE"));
}

#[test]
fn sort_inside_multi_exec() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["RPUSH", "l", "b", "a"]);
    let _: () = q(&mut c, &["MSET", "w_a", "2", "w_b", "1"]);
    let (by_weight, alpha): (Vec<String>, Vec<String>) = redis::pipe()
        .atomic()
        .cmd("SORT")
        .arg("l")
        .arg("BY")
        .arg("w_*")
        .cmd("SORT")
        .arg("l")
        .arg("ALPHA")
        .query(&mut c)
        .unwrap();
    assert_eq!(by_weight, strings(&["b", "a"]));
    assert_eq!(alpha, strings(&["a", "b"]));
}
