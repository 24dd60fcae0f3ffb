//! String commands: replies, options and Redis 7's error texts.

use redis::Value;

use crate::harness::{error, q, value, TestServer};

#[test]
fn get_set_and_set_options() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(value(&mut c, &["GET", "nope"]), Value::Nil);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v1"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v1");
    // NX / XX
    assert_eq!(value(&mut c, &["SET", "k", "v2", "NX"]), Value::Nil);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v2", "XX"]), "OK");
    assert_eq!(value(&mut c, &["SET", "absent", "v", "XX"]), Value::Nil);
    assert_eq!(value(&mut c, &["GET", "absent"]), Value::Nil);
    // GET option returns the old value
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v3", "GET"]), "v2");
    assert_eq!(value(&mut c, &["SET", "fresh", "x", "GET"]), Value::Nil);
    assert_eq!(
        value(&mut c, &["SET", "k", "v4", "NX", "GET"]),
        Value::BulkString(b"v3".to_vec())
    );
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v3");
    // Expiry options
    assert_eq!(q::<String>(&mut c, &["SET", "e", "v", "EX", "100"]), "OK");
    let ttl: i64 = q(&mut c, &["TTL", "e"]);
    assert!((99..=100).contains(&ttl));
    assert_eq!(
        q::<String>(&mut c, &["SET", "e", "v", "PX", "100000"]),
        "OK"
    );
    assert!(q::<i64>(&mut c, &["PTTL", "e"]) > 99_000);
    assert_eq!(q::<String>(&mut c, &["SET", "e", "v2", "KEEPTTL"]), "OK");
    assert!(q::<i64>(&mut c, &["PTTL", "e"]) > 99_000);
    assert_eq!(q::<String>(&mut c, &["SET", "e", "v3"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["TTL", "e"]), -1);
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 500;
    assert_eq!(
        q::<String>(&mut c, &["SET", "e", "v", "EXAT", &at.to_string()]),
        "OK"
    );
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "e"]), at as i64);
    assert_eq!(
        q::<String>(&mut c, &["SET", "e", "v", "PXAT", &(at * 1000).to_string()]),
        "OK"
    );
    assert_eq!(q::<i64>(&mut c, &["PEXPIRETIME", "e"]), (at * 1000) as i64);
    // A time in the past deletes the key.
    assert_eq!(q::<String>(&mut c, &["SET", "e", "v", "PXAT", "1"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "e"]), 0);
    // Errors
    for bad in [
        &["SET", "k", "v", "NX", "XX"][..],
        &["SET", "k", "v", "EX", "10", "PX", "100"],
        &["SET", "k", "v", "KEEPTTL", "EX", "10"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "BOGUS"],
    ] {
        assert_eq!(error(&mut c, bad), "ERR syntax error", "{bad:?}");
    }
    assert_eq!(
        error(&mut c, &["SET", "k", "v", "EX", "0"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        error(&mut c, &["SET", "k", "v", "EX", "-5"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        error(&mut c, &["SET", "k", "v", "EX", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut c, &["SET", "k", "v", "EX", "9223372036854775807"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        error(&mut c, &["SET", "k"]),
        "ERR wrong number of arguments for 'set' command"
    );
    assert_eq!(
        error(&mut c, &["GET"]),
        "ERR wrong number of arguments for 'get' command"
    );
}

#[test]
fn setnx_setex_getset_getdel_getex() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["SETNX", "a", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SETNX", "a", "2"]), 0);
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
    assert_eq!(q::<String>(&mut c, &["SETEX", "b", "100", "x"]), "OK");
    assert!((99..=100).contains(&q::<i64>(&mut c, &["TTL", "b"])));
    assert_eq!(q::<String>(&mut c, &["PSETEX", "b", "100000", "y"]), "OK");
    assert!(q::<i64>(&mut c, &["PTTL", "b"]) > 99_000);
    assert_eq!(
        error(&mut c, &["SETEX", "b", "0", "x"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(
        error(&mut c, &["PSETEX", "b", "-1", "x"]),
        "ERR invalid expire time in 'psetex' command"
    );
    assert_eq!(q::<String>(&mut c, &["GETSET", "b", "z"]), "y");
    assert_eq!(q::<i64>(&mut c, &["TTL", "b"]), -1, "GETSET clears the TTL");
    assert_eq!(value(&mut c, &["GETSET", "new", "1"]), Value::Nil);
    assert_eq!(q::<String>(&mut c, &["GETDEL", "new"]), "1");
    assert_eq!(value(&mut c, &["GETDEL", "new"]), Value::Nil);
    assert_eq!(q::<String>(&mut c, &["GETEX", "b"]), "z");
    assert_eq!(q::<String>(&mut c, &["GETEX", "b", "EX", "100"]), "z");
    assert!((99..=100).contains(&q::<i64>(&mut c, &["TTL", "b"])));
    assert_eq!(q::<String>(&mut c, &["GETEX", "b", "PERSIST"]), "z");
    assert_eq!(q::<i64>(&mut c, &["TTL", "b"]), -1);
    assert_eq!(value(&mut c, &["GETEX", "missing", "EX", "10"]), Value::Nil);
    assert_eq!(
        error(&mut c, &["GETEX", "b", "EX", "10", "PERSIST"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["GETEX", "b", "EX", "0"]),
        "ERR invalid expire time in 'getex' command"
    );
    let _: i64 = q(&mut c, &["HSET", "h", "f", "v"]);
    assert!(error(&mut c, &["GETDEL", "h"]).starts_with("WRONGTYPE"));
    assert!(error(&mut c, &["GETSET", "h", "v"]).starts_with("WRONGTYPE"));
}

#[test]
fn mget_mset_msetnx() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(q::<String>(&mut c, &["MSET", "a", "1", "b", "2"]), "OK");
    let _: i64 = q(&mut c, &["HSET", "h", "f", "v"]);
    assert_eq!(
        value(&mut c, &["MGET", "a", "b", "missing", "h"]),
        Value::Array(vec![
            Value::BulkString(b"1".to_vec()),
            Value::BulkString(b"2".to_vec()),
            Value::Nil,
            Value::Nil
        ])
    );
    assert_eq!(
        error(&mut c, &["MSET", "a", "1", "b"]),
        "ERR wrong number of arguments for 'mset' command"
    );
    assert_eq!(q::<i64>(&mut c, &["MSETNX", "c", "3", "a", "9"]), 0);
    assert_eq!(
        value(&mut c, &["GET", "c"]),
        Value::Nil,
        "MSETNX is all or nothing"
    );
    assert_eq!(q::<i64>(&mut c, &["MSETNX", "c", "3", "d", "4"]), 1);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["MGET", "c", "d"]),
        vec!["3", "4"]
    );
    // MSET with keys in many slots/shards is still applied as a whole.
    let mut args = vec!["MSET".to_string()];
    for i in 0..200 {
        args.push(format!("many:{i}"));
        args.push(i.to_string());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(q::<String>(&mut c, &refs), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "many:199"]), "199");
}

#[test]
fn append_strlen_getrange_setrange() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["APPEND", "s", "Hello"]), 5);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "s", " World"]), 11);
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "s"]), 11);
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "missing"]), 0);
    for (start, end, want) in [
        ("0", "4", "Hello"),
        ("-5", "-1", "World"),
        ("0", "-1", "Hello World"),
        ("6", "100", "World"),
        ("5", "2", ""),
        ("-100", "2", "Hel"),
        ("20", "30", ""),
    ] {
        assert_eq!(
            q::<String>(&mut c, &["GETRANGE", "s", start, end]),
            want,
            "{start} {end}"
        );
    }
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "missing", "0", "-1"]), "");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "s", "6", "Redis"]), 11);
    assert_eq!(q::<String>(&mut c, &["GET", "s"]), "Hello Redis");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "pad", "3", "x"]), 4);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "pad"]), b"\0\0\0x".to_vec());
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "nothing", "5", ""]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "nothing"]), 0);
    assert_eq!(
        error(&mut c, &["SETRANGE", "s", "-1", "x"]),
        "ERR offset is out of range"
    );
    assert_eq!(
        error(&mut c, &["SETRANGE", "s", "536870912", "x"]),
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
    // Binary-safe values.
    let blob: Vec<u8> = (0..=255u8).collect();
    let _: () = redis::cmd("SET")
        .arg("bin")
        .arg(&blob)
        .query(&mut c)
        .unwrap();
    let back: Vec<u8> = redis::cmd("GET").arg("bin").query(&mut c).unwrap();
    assert_eq!(back, blob);
}

#[test]
fn counters() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), 1);
    assert_eq!(q::<i64>(&mut c, &["INCRBY", "n", "10"]), 11);
    assert_eq!(q::<i64>(&mut c, &["DECR", "n"]), 10);
    assert_eq!(q::<i64>(&mut c, &["DECRBY", "n", "-5"]), 15);
    assert_eq!(q::<i64>(&mut c, &["DECRBY", "n", "20"]), -5);
    let _: () = q(&mut c, &["SET", "n", "9223372036854775806"]);
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), i64::MAX);
    assert_eq!(
        error(&mut c, &["INCR", "n"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        error(&mut c, &["DECRBY", "n", "-9223372036854775808"]),
        "ERR decrement would overflow"
    );
    let _: () = q(&mut c, &["SET", "s", "abc"]);
    assert_eq!(
        error(&mut c, &["INCR", "s"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut c, &["INCRBY", "n", "1.5"]),
        "ERR value is not an integer or out of range"
    );
    let _: () = q(&mut c, &["SET", "spaces", " 1"]);
    assert_eq!(
        error(&mut c, &["INCR", "spaces"]),
        "ERR value is not an integer or out of range"
    );
    // TTL survives INCR.
    let _: () = q(&mut c, &["SET", "t", "1", "EX", "100"]);
    let _: i64 = q(&mut c, &["INCR", "t"]);
    assert!(q::<i64>(&mut c, &["TTL", "t"]) > 0);
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "10.5"]), "10.5");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "0.1"]), "10.6");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "-5"]), "5.6");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "g", "5.0e3"]), "5000");
    assert_eq!(
        error(&mut c, &["INCRBYFLOAT", "f", "x"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        error(&mut c, &["INCRBYFLOAT", "s", "1"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        error(&mut c, &["INCRBYFLOAT", "f", "inf"]),
        "ERR increment would produce NaN or Infinity"
    );
    let _: i64 = q(&mut c, &["HSET", "h", "f", "1"]);
    assert_eq!(
        error(&mut c, &["INCR", "h"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert!(error(&mut c, &["GET", "h"]).starts_with("WRONGTYPE"));
    assert!(error(&mut c, &["APPEND", "h", "x"]).starts_with("WRONGTYPE"));
    // SET overwrites any type.
    assert_eq!(q::<String>(&mut c, &["SET", "h", "now a string"]), "OK");
    assert_eq!(q::<String>(&mut c, &["TYPE", "h"]), "string");
}

#[test]
fn concurrent_incr_is_atomic() {
    let server = TestServer::start();
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let mut c = server.client();
            std::thread::spawn(move || {
                for _ in 0..250 {
                    let _: i64 = q(&mut c, &["INCR", "shared"]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["GET", "shared"]), 5000);
}

#[test]
fn lcs_text_length_and_indexes() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["MSET", "a", "ohmytext", "b", "mynewtext"]);
    assert_eq!(q::<String>(&mut c, &["LCS", "a", "b"]), "mytext");
    assert_eq!(q::<i64>(&mut c, &["LCS", "a", "b", "LEN"]), 6);
    let range = |a: i64, b: i64| Value::Array(vec![Value::Int(a), Value::Int(b)]);
    let idx = value(&mut c, &["LCS", "a", "b", "IDX"]);
    assert_eq!(
        idx,
        Value::Array(vec![
            Value::BulkString(b"matches".to_vec()),
            Value::Array(vec![
                Value::Array(vec![range(4, 7), range(5, 8)]),
                Value::Array(vec![range(2, 3), range(0, 1)]),
            ]),
            Value::BulkString(b"len".to_vec()),
            Value::Int(6),
        ])
    );
    let with_len = value(
        &mut c,
        &["LCS", "a", "b", "idx", "minmatchlen", "3", "withmatchlen"],
    );
    assert_eq!(
        with_len,
        Value::Array(vec![
            Value::BulkString(b"matches".to_vec()),
            Value::Array(vec![Value::Array(vec![
                range(4, 7),
                range(5, 8),
                Value::Int(4)
            ])]),
            Value::BulkString(b"len".to_vec()),
            Value::Int(6),
        ])
    );
    // A negative MINMATCHLEN means no minimum; missing keys are empty strings.
    let all = value(&mut c, &["LCS", "a", "b", "IDX", "MINMATCHLEN", "-5"]);
    assert_eq!(all, idx);
    assert_eq!(q::<String>(&mut c, &["LCS", "a", "missing"]), "");
    assert_eq!(q::<i64>(&mut c, &["LCS", "missing", "nope", "LEN"]), 0);
}

#[test]
fn lcs_replies_a_map_in_resp3_and_checks_its_arguments() {
    let server = TestServer::start();
    let mut c = server.client_resp3();
    let _: () = q(&mut c, &["MSET", "a", "abc", "b", "xbc"]);
    let Value::Map(entries) = value(&mut c, &["LCS", "a", "b", "IDX"]) else {
        panic!("IDX answers a map in RESP3");
    };
    assert_eq!(entries[0].0, Value::BulkString(b"matches".to_vec()));
    assert_eq!(
        entries[1],
        (Value::BulkString(b"len".to_vec()), Value::Int(2))
    );
    assert_eq!(
        error(&mut c, &["LCS", "a", "b", "IDX", "LEN"]),
        "ERR If you want both the length and indexes, please just use IDX."
    );
    for bad in [
        &["LCS", "a", "b", "FOO"][..],
        &["LCS", "a", "b", "MINMATCHLEN"],
    ] {
        assert_eq!(error(&mut c, bad), "ERR syntax error", "{bad:?}");
    }
    assert_eq!(
        error(&mut c, &["LCS", "a", "b", "MINMATCHLEN", "x"]),
        "ERR value is not an integer or out of range"
    );
    let _: i64 = q(&mut c, &["RPUSH", "list", "x"]);
    // A wrong type wins over bad options, as in Redis.
    assert_eq!(
        error(&mut c, &["LCS", "a", "list", "FOO"]),
        "ERR The specified keys must contain string values"
    );
    assert_eq!(
        error(&mut c, &["LCS", "a"]),
        "ERR wrong number of arguments for 'lcs' command"
    );
    // The comparison table may not exceed proto-max-bulk-len.
    let _: () = q(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "1048576"]);
    let long = "x".repeat(1000);
    let _: () = q(&mut c, &["MSET", "l1", &long, "l2", &long]);
    assert_eq!(
        error(&mut c, &["LCS", "l1", "l2"]),
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
    );
}

/// Keys read from fjall (and so cached), then written, then moved to fjall again read as
/// written: the cache of rows read from fjall forgets a key when its newer row leaves the
/// write buffer.
#[test]
fn keys_cached_from_fjall_then_written_read_as_written_once_in_fjall() {
    let server = TestServer::start_with(&["--maxmemory", "32mb"]);
    let mut c = server.client();
    let _: () = q(&mut c, &["MSET", "rewritten", "old", "deleted", "old"]);
    let _: () = q(&mut c, &["SET", "counter", "1"]);
    server.move_to_fjall(&mut c);
    // Read from fjall: each answer (including "no such key") is cached.
    let read = |c: &mut redis::Connection| -> Vec<Option<String>> {
        q(c, &["MGET", "rewritten", "deleted", "created", "counter"])
    };
    let old = vec![
        Some("old".into()),
        Some("old".into()),
        None,
        Some("1".into()),
    ];
    assert_eq!(read(&mut c), old);
    let _: () = q(&mut c, &["SET", "rewritten", "new"]);
    let _: i64 = q(&mut c, &["DEL", "deleted"]);
    let _: () = q(&mut c, &["SET", "created", "new"]);
    let _: i64 = q(&mut c, &["INCR", "counter"]);
    let new = vec![
        Some("new".into()),
        None,
        Some("new".into()),
        Some("2".into()),
    ];
    assert_eq!(read(&mut c), new, "from the write buffer");
    server.move_to_fjall(&mut c);
    assert_eq!(read(&mut c), new, "from fjall");
    let _: i64 = q(&mut c, &["INCR", "counter"]);
    assert_eq!(q::<String>(&mut c, &["GET", "counter"]), "3");
}
