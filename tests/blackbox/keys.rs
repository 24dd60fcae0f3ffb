//! Keyspace commands, expiry and SCAN.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use redis::Value;

use crate::harness::{error, eventually, info_number, q, value, TestServer};

#[test]
fn del_exists_type_touch_unlink() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["MSET", "a", "1", "b", "2"]);
    let _: i64 = q(&mut c, &["HSET", "h", "f", "v"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "a", "b", "nope"]), 3);
    assert_eq!(q::<i64>(&mut c, &["TOUCH", "a", "nope"]), 1);
    assert_eq!(q::<String>(&mut c, &["TYPE", "a"]), "string");
    assert_eq!(q::<String>(&mut c, &["TYPE", "h"]), "hash");
    assert_eq!(q::<String>(&mut c, &["TYPE", "nope"]), "none");
    assert_eq!(q::<i64>(&mut c, &["DEL", "a", "h", "nope"]), 2);
    assert_eq!(q::<i64>(&mut c, &["UNLINK", "b", "b"]), 1);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(
        error(&mut c, &["DEL"]),
        "ERR wrong number of arguments for 'del' command"
    );
}

#[test]
fn keys_and_randomkey() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(value(&mut c, &["RANDOMKEY"]), Value::Nil);
    for k in ["user:1", "user:2", "user:10", "order:1", "u*x"] {
        let _: () = q(&mut c, &["SET", k, "v"]);
    }
    let mut got: Vec<String> = q(&mut c, &["KEYS", "user:?"]);
    got.sort();
    assert_eq!(got, vec!["user:1", "user:2"]);
    let mut all: Vec<String> = q(&mut c, &["KEYS", "*"]);
    all.sort();
    assert_eq!(all.len(), 5);
    let escaped: Vec<String> = q(&mut c, &["KEYS", "u\\*x"]);
    assert_eq!(escaped, vec!["u*x"]);
    let class: Vec<String> = q(&mut c, &["KEYS", "[ou]*:1"]);
    assert_eq!(class.len(), 2);
    let random: String = q(&mut c, &["RANDOMKEY"]);
    assert!(all.contains(&random));
}

fn full_scan(c: &mut redis::Connection, extra: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    loop {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(extra);
        let (next, keys): (String, Vec<String>) = q(c, &args);
        out.extend(keys);
        if next == "0" {
            return out;
        }
        cursor = next;
    }
}

#[test]
fn scan_match_count_type_and_errors() {
    let server = TestServer::start();
    let mut c = server.client();
    for i in 0..300 {
        let _: () = q(&mut c, &["SET", &format!("s:{i}"), "v"]);
    }
    for i in 0..20 {
        let _: i64 = q(&mut c, &["HSET", &format!("h:{i}"), "f", "v"]);
    }
    let all: HashSet<String> = full_scan(&mut c, &["COUNT", "7"]).into_iter().collect();
    assert_eq!(all.len(), 320);
    let hashes = full_scan(&mut c, &["TYPE", "hash"]);
    assert_eq!(hashes.len(), 20);
    assert!(hashes.iter().all(|k| k.starts_with("h:")));
    let matched = full_scan(&mut c, &["MATCH", "s:1?", "COUNT", "1000"]);
    assert_eq!(matched.len(), 10);
    assert_eq!(error(&mut c, &["SCAN", "abc"]), "ERR invalid cursor");
    assert_eq!(
        error(&mut c, &["SCAN", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["SCAN", "0", "COUNT", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(error(&mut c, &["SCAN", "0", "MATCH"]), "ERR syntax error");
    // Databases are separate keyspaces.
    let _: () = q(&mut c, &["SELECT", "3"]);
    assert!(full_scan(&mut c, &[]).is_empty());
}

/// Keys present for the whole scan are returned even while other keys come and go.
#[test]
fn scan_is_stable_under_concurrent_writes() {
    let server = TestServer::start();
    let mut c = server.client();
    let stable: HashSet<String> = (0..2000).map(|i| format!("stable:{i}")).collect();
    for k in &stable {
        let _: () = q(&mut c, &["SET", k, "v"]);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let mut w = server.client();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let _: () = q(&mut w, &["SET", &format!("churn:{i}"), "v"]);
                if i >= 50 {
                    let _: i64 = q(&mut w, &["DEL", &format!("churn:{}", i - 50)]);
                }
                i += 1;
            }
        })
    };
    let seen: HashSet<String> = full_scan(&mut c, &["COUNT", "10"]).into_iter().collect();
    stop.store(true, Ordering::Relaxed);
    churn.join().unwrap();
    let missing: Vec<_> = stable.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "SCAN missed {} stable keys",
        missing.len()
    );
}

#[test]
fn rename_renamenx_copy_move() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["SET", "a", "1", "EX", "100"]);
    assert_eq!(q::<String>(&mut c, &["RENAME", "a", "b"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a"]), 0);
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "1");
    assert!(q::<i64>(&mut c, &["TTL", "b"]) > 0, "RENAME keeps the TTL");
    assert_eq!(error(&mut c, &["RENAME", "nope", "x"]), "ERR no such key");
    assert_eq!(q::<String>(&mut c, &["RENAME", "b", "b"]), "OK");
    let _: i64 = q(&mut c, &["HSET", "h", "f1", "v1", "f2", "v2"]);
    assert_eq!(q::<String>(&mut c, &["RENAME", "h", "h2"]), "OK");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HGETALL", "h2"]),
        vec!["f1", "v1", "f2", "v2"]
    );
    // RENAME over an existing key replaces it (whatever its type).
    assert_eq!(q::<String>(&mut c, &["RENAME", "b", "h2"]), "OK");
    assert_eq!(q::<String>(&mut c, &["TYPE", "h2"]), "string");
    let _: () = q(&mut c, &["SET", "x", "1"]);
    let _: () = q(&mut c, &["SET", "y", "2"]);
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "x", "y"]), 0);
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "x", "z"]), 1);
    assert_eq!(error(&mut c, &["RENAMENX", "nope", "z"]), "ERR no such key");
    // COPY
    let _: i64 = q(&mut c, &["HSET", "src", "f", "v"]);
    assert_eq!(q::<i64>(&mut c, &["COPY", "src", "dst"]), 1);
    assert_eq!(q::<i64>(&mut c, &["COPY", "src", "dst"]), 0);
    let _: i64 = q(&mut c, &["HSET", "src", "g", "w"]);
    assert_eq!(q::<i64>(&mut c, &["COPY", "src", "dst", "REPLACE"]), 1);
    assert_eq!(q::<i64>(&mut c, &["HLEN", "dst"]), 2);
    let _: i64 = q(&mut c, &["HDEL", "src", "f"]);
    assert_eq!(
        q::<i64>(&mut c, &["HLEN", "dst"]),
        2,
        "a copy is independent"
    );
    assert_eq!(q::<i64>(&mut c, &["COPY", "src", "other", "DB", "5"]), 1);
    assert_eq!(q::<i64>(&mut c, &["COPY", "nope", "x"]), 0);
    assert_eq!(
        error(&mut c, &["COPY", "src", "src"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        error(&mut c, &["COPY", "src", "d", "DB", "99"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        error(&mut c, &["COPY", "src", "d", "BOGUS"]),
        "ERR syntax error"
    );
    // MOVE
    assert_eq!(q::<i64>(&mut c, &["MOVE", "y", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "y"]), 0);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "nope", "1"]), 0);
    assert_eq!(
        error(&mut c, &["MOVE", "z", "0"]),
        "ERR source and destination objects are the same"
    );
    let _: () = q(&mut c, &["SELECT", "1"]);
    assert_eq!(q::<String>(&mut c, &["GET", "y"]), "2");
    let _: () = q(&mut c, &["SELECT", "5"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HGETALL", "other"]),
        vec!["g", "w"]
    );
}

#[test]
fn expire_family_with_flags() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "nope", "10"]), 0);
    assert_eq!(q::<i64>(&mut c, &["TTL", "nope"]), -2);
    assert_eq!(q::<i64>(&mut c, &["PTTL", "nope"]), -2);
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "nope"]), -2);
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRETIME", "k"]), -1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100", "XX"]), 0);
    assert_eq!(
        q::<i64>(&mut c, &["EXPIRE", "k", "100", "GT"]),
        0,
        "no TTL counts as infinite"
    );
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100", "NX"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "200", "NX"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "50", "GT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "200", "GT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "300", "LT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "150", "LT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "160", "XX"]), 1);
    let ttl: i64 = q(&mut c, &["TTL", "k"]);
    assert!((159..=160).contains(&ttl), "{ttl}");
    assert!(q::<i64>(&mut c, &["PEXPIRE", "k", "5000"]) == 1);
    assert!(q::<i64>(&mut c, &["PTTL", "k"]) <= 5000);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(
        q::<i64>(&mut c, &["EXPIREAT", "k", &(now + 1000).to_string()]),
        1
    );
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), (now + 1000) as i64);
    assert_eq!(
        q::<i64>(
            &mut c,
            &["PEXPIREAT", "k", &((now + 2000) * 1000).to_string()]
        ),
        1
    );
    assert_eq!(
        q::<i64>(&mut c, &["PEXPIRETIME", "k"]),
        ((now + 2000) * 1000) as i64
    );
    // EXPIRETIME rounds to the nearest second, as Redis 7.0 (700 ms up, 300 ms down).
    for (ms, secs) in [(700, now + 2001), (300, now + 2000)] {
        let at = ((now + 2000) * 1000 + ms).to_string();
        assert_eq!(q::<i64>(&mut c, &["PEXPIREAT", "k", &at]), 1);
        assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), secs as i64);
    }
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 0);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);
    // Expiring in the past deletes the key.
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "-1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
    assert_eq!(
        error(&mut c, &["EXPIRE", "k", "10", "NX", "XX"]),
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    );
    assert_eq!(
        error(&mut c, &["EXPIRE", "k", "10", "GT", "LT"]),
        "ERR GT and LT options at the same time are not compatible"
    );
    assert_eq!(
        error(&mut c, &["EXPIRE", "k", "10", "ZZ"]),
        "ERR Unsupported option ZZ"
    );
    assert_eq!(
        error(&mut c, &["EXPIRE", "k", "ten"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut c, &["EXPIRE", "k", "9223372036854775807"]),
        "ERR invalid expire time in 'expire' command"
    );
}

#[test]
fn expired_keys_are_invisible_and_actively_removed() {
    let server = TestServer::start();
    let mut c = server.client();
    for i in 0..50 {
        let _: () = q(&mut c, &["SET", &format!("tmp:{i}"), "v", "PX", "30"]);
    }
    let _: i64 = q(&mut c, &["HSET", "tmphash", "f", "v"]);
    let _: i64 = q(&mut c, &["PEXPIRE", "tmphash", "30"]);
    let _: () = q(&mut c, &["SET", "keep", "v"]);
    std::thread::sleep(std::time::Duration::from_millis(60));
    // Invisible at once, whatever the background cycle has done yet.
    assert_eq!(value(&mut c, &["GET", "tmp:1"]), Value::Nil);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "tmp:2", "tmphash"]), 0);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["KEYS", "tmp*"]),
        Vec::<String>::new()
    );
    assert_eq!(q::<i64>(&mut c, &["HLEN", "tmphash"]), 0);
    // Removed without being touched: DBSIZE counts stored keys, as Redis does.
    assert!(
        eventually(30, || q::<i64>(&mut c, &["DBSIZE"]) == 1),
        "expired keys were not removed by the active cycle"
    );
    let expired = info_number(&mut c, "stats", "expired_keys");
    assert!(expired >= 51, "expired_keys={expired}");
}

#[test]
fn object_and_select() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["SET", "n", "12345"]);
    let _: () = q(&mut c, &["SET", "s", "short"]);
    let _: () = q(&mut c, &["SET", "l", &"x".repeat(100)]);
    let _: i64 = q(&mut c, &["HSET", "h", "f", "v"]);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "n"]), "int");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "s"]), "embstr");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "l"]), "raw");
    // Redis 7.0 reports a small hash as a listpack and a large one as a hashtable.
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "h"]),
        "listpack"
    );
    let _: i64 = q(&mut c, &["HSET", "h", "big", &"v".repeat(100)]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "h"]),
        "hashtable"
    );
    assert_eq!(
        value(&mut c, &["OBJECT", "ENCODING", "missing"]),
        Value::Nil
    );
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "REFCOUNT", "n"]), 1);
    assert!(error(&mut c, &["OBJECT", "NOPE", "n"]).starts_with("ERR unknown subcommand 'NOPE'"));
    assert_eq!(q::<String>(&mut c, &["SELECT", "15"]), "OK");
    assert_eq!(value(&mut c, &["GET", "n"]), Value::Nil);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(
        error(&mut c, &["SELECT", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        error(&mut c, &["SELECT", "x"]),
        "ERR value is not an integer or out of range"
    );
    let _: () = q(&mut c, &["SELECT", "0"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 4);
}
