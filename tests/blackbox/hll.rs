//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST): replies, Redis's
//! byte representation, the cardinality cache, encodings and error texts.

use redis::Value;

use crate::harness::{error, q, value, RealRedis, TestServer};

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

fn get_bytes(c: &mut redis::Connection, key: &str) -> Vec<u8> {
    redis::cmd("GET").arg(key).query(c).unwrap()
}

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    q(c, args)
}

#[test]
fn pfadd_and_pfcount() {
    let server = TestServer::start();
    let mut c = server.client();
    // PFADD with no elements still creates the key.
    assert_eq!(int(&mut c, &["PFADD", "h"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "h"]), 1);
    assert_eq!(int(&mut c, &["PFADD", "h"]), 0);
    assert_eq!(int(&mut c, &["PFCOUNT", "h"]), 0);
    assert_eq!(int(&mut c, &["PFADD", "h", "a", "b", "c"]), 1);
    assert_eq!(int(&mut c, &["PFADD", "h", "a", "b", "c"]), 0);
    assert_eq!(int(&mut c, &["PFADD", "h", ""]), 1);
    assert_eq!(int(&mut c, &["PFCOUNT", "h"]), 4);
    assert_eq!(int(&mut c, &["PFCOUNT", "missing"]), 0);
    // Larger sets stay within HLL's error (0.81% standard error; allow 5%).
    let elements: Vec<String> = (0..20_000).map(|i| format!("e{i}")).collect();
    for chunk in elements.chunks(1000) {
        let mut cmd = redis::cmd("PFADD");
        cmd.arg("big").arg(chunk);
        let _: i64 = cmd.query(&mut c).unwrap();
    }
    let count = int(&mut c, &["PFCOUNT", "big"]);
    assert!((19_000..=21_000).contains(&count), "{count}");
    // The TTL of an HLL survives adds.
    assert_eq!(int(&mut c, &["EXPIRE", "h", "100"]), 1);
    assert_eq!(int(&mut c, &["PFADD", "h", "zzz"]), 1);
    assert!(int(&mut c, &["TTL", "h"]) > 0);
}

#[test]
fn values_use_redis_bytes_and_cache() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(int(&mut c, &["PFADD", "h", "a", "b", "c"]), 1);
    let raw = get_bytes(&mut c, "h");
    assert_eq!(&raw[..5], b"HYLL\x01");
    // Stale cache flag set by PFADD, cleared by PFCOUNT with the count cached.
    assert_eq!(raw[15], 0x80);
    assert_eq!(int(&mut c, &["PFCOUNT", "h"]), 3);
    let raw = get_bytes(&mut c, "h");
    // Exactly what Redis 7.0 stores for PFADD h a b c + PFCOUNT h.
    let mut expected = b"HYLL\x01\0\0\0\x03\0\0\0\0\0\0\0".to_vec();
    expected.extend_from_slice(&[
        0x60, 0xf3, 0x80, 0x50, 0xb1, 0x84, 0x4b, 0xfb, 0x80, 0x42, 0x5a,
    ]);
    assert_eq!(raw, expected);
    assert_eq!(
        q::<String>(&mut c, &["PFDEBUG", "DECODE", "h"]),
        "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"
    );
    // A value copied from elsewhere works as an HLL.
    let _: () = redis::cmd("SET")
        .arg("copy")
        .arg(&raw)
        .query(&mut c)
        .unwrap();
    assert_eq!(int(&mut c, &["PFCOUNT", "copy"]), 3);
    assert_eq!(int(&mut c, &["PFADD", "h", "a"]), 0);
    assert_eq!(get_bytes(&mut c, "h")[15], 0x00);
}

#[test]
fn pfmerge_and_multi_key_pfcount() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(int(&mut c, &["PFADD", "h1", "a", "b", "c"]), 1);
    assert_eq!(int(&mut c, &["PFADD", "h2", "b", "c", "d"]), 1);
    assert_eq!(int(&mut c, &["PFADD", "h3", "c", "d", "e"]), 1);
    assert_eq!(int(&mut c, &["PFCOUNT", "h1", "h2", "h3", "missing"]), 5);
    // Multi-key PFCOUNT touches nothing.
    assert_eq!(get_bytes(&mut c, "h1")[15], 0x80);
    assert_eq!(
        q::<String>(&mut c, &["PFMERGE", "dest", "h1", "h2", "h3"]),
        "OK"
    );
    assert_eq!(int(&mut c, &["PFCOUNT", "dest"]), 5);
    // The destination's own registers count too.
    assert_eq!(q::<String>(&mut c, &["PFMERGE", "dest", "missing"]), "OK");
    assert_eq!(int(&mut c, &["PFCOUNT", "dest"]), 5);
    // PFMERGE with only a destination creates an empty HLL.
    assert_eq!(q::<String>(&mut c, &["PFMERGE", "empty"]), "OK");
    assert_eq!(int(&mut c, &["PFCOUNT", "empty"]), 0);
    // A dense input makes the destination dense.
    assert_eq!(int(&mut c, &["PFDEBUG", "TODENSE", "h3"]), 1);
    assert_eq!(q::<String>(&mut c, &["PFMERGE", "d2", "h1", "h3"]), "OK");
    assert_eq!(q::<String>(&mut c, &["PFDEBUG", "ENCODING", "d2"]), "dense");
    assert_eq!(int(&mut c, &["PFCOUNT", "d2"]), 5);
}

#[test]
fn pfdebug_subcommands() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(int(&mut c, &["PFADD", "h", "a"]), 1);
    assert_eq!(q::<String>(&mut c, &["PFDEBUG", "ENCODING", "h"]), "sparse");
    // "a" lands in register 12711 with value 2 (as in Redis).
    let Value::Array(registers) = value(&mut c, &["PFDEBUG", "GETREG", "h"]) else {
        panic!("GETREG answers an array");
    };
    assert_eq!(registers.len(), 16384);
    assert_eq!(registers[12711], Value::Int(2));
    assert_eq!(registers.iter().filter(|r| **r != Value::Int(0)).count(), 1);
    // GETREG leaves the value dense.
    assert_eq!(q::<String>(&mut c, &["PFDEBUG", "ENCODING", "h"]), "dense");
    assert_eq!(int(&mut c, &["STRLEN", "h"]), 16 + 12288);
    assert_eq!(int(&mut c, &["PFDEBUG", "TODENSE", "h"]), 0);
    assert_eq!(
        error(&mut c, &["PFDEBUG", "DECODE", "h"]),
        "ERR HLL encoding is not sparse"
    );
    assert_eq!(int(&mut c, &["PFCOUNT", "h"]), 1);
    assert_eq!(
        error(&mut c, &["PFDEBUG", "FOO", "h"]),
        "ERR Unknown PFDEBUG subcommand 'FOO'"
    );
    assert_eq!(
        error(&mut c, &["PFDEBUG", "GETREG", "missing"]),
        "ERR The specified key does not exist"
    );
    assert_eq!(q::<String>(&mut c, &["PFSELFTEST"]), "OK");
}

#[test]
fn sparse_values_turn_dense_past_the_configured_size() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["CONFIG", "SET", "hll-sparse-max-bytes", "100"]);
    let _: i64 = q(&mut c, &["PFADD", "h"]);
    let mut n = 0;
    while q::<String>(&mut c, &["PFDEBUG", "ENCODING", "h"]) == "sparse" {
        n += 1;
        let _: i64 = q(&mut c, &["PFADD", "h", &format!("x{n}")]);
        assert!(n < 200, "never promoted");
    }
    // Still sparse while it fit in 100 bytes: Redis 7.0 promotes at the 29th element.
    assert!((20..=40).contains(&n), "{n}");
    assert_eq!(int(&mut c, &["STRLEN", "h"]), 16 + 12288);
    assert_eq!(int(&mut c, &["PFCOUNT", "h"]), n);
}

#[test]
fn type_and_corruption_errors() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["SET", "str", "bar"]);
    assert_eq!(error(&mut c, &["PFADD", "str", "1"]), NOT_HLL);
    assert_eq!(error(&mut c, &["PFCOUNT", "str"]), NOT_HLL);
    assert_eq!(error(&mut c, &["PFCOUNT", "str", "other"]), NOT_HLL);
    assert_eq!(error(&mut c, &["PFMERGE", "dest", "str"]), NOT_HLL);
    assert_eq!(error(&mut c, &["PFMERGE", "str", "missing"]), NOT_HLL);
    assert_eq!(error(&mut c, &["PFDEBUG", "ENCODING", "str"]), NOT_HLL);
    let _: i64 = q(&mut c, &["RPUSH", "list", "a"]);
    assert!(error(&mut c, &["PFADD", "list", "1"]).starts_with("WRONGTYPE Operation"));
    // Corruptions, as Redis's own tests make them.
    assert_eq!(int(&mut c, &["PFADD", "h", "a", "b", "c"]), 1);
    let _: i64 = q(&mut c, &["APPEND", "h", "hello"]);
    assert_eq!(error(&mut c, &["PFCOUNT", "h"]), CORRUPT);
    assert_eq!(error(&mut c, &["PFCOUNT", "h", "h"]), CORRUPT);
    for (offset, patch) in [("0", "0123"), ("4", "x"), ("4", "\0")] {
        let _: Value = q(&mut c, &["DEL", "h"]);
        assert_eq!(int(&mut c, &["PFADD", "h", "a", "b", "c"]), 1);
        let _: i64 = q(&mut c, &["SETRANGE", "h", offset, patch]);
        assert_eq!(
            error(&mut c, &["PFCOUNT", "h"]),
            NOT_HLL,
            "{offset} {patch:?}"
        );
    }
    assert_eq!(
        error(&mut c, &["PFDEBUG", "ENCODING"]),
        "ERR wrong number of arguments for 'pfdebug' command"
    );
}

#[test]
fn pfadd_and_pfmerge_raise_pfadd_events() {
    use std::time::Duration;
    let server = TestServer::start_with(&["--notify-keyspace-events", "E$"]);
    let mut sub_con = server.client();
    let mut sub = sub_con.as_pubsub();
    sub.psubscribe("__keyevent@0__:*").unwrap();
    sub.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut c = server.client();
    for args in [
        &["PFADD", "h", "a"][..],
        &["PFADD", "h", "a"], // nothing changed: no event
        &["PFCOUNT", "h"],    // cache refresh: no event
        &["PFMERGE", "m", "h"],
    ] {
        let _: Value = q(&mut c, args);
    }
    for key in ["h", "m"] {
        let msg = sub.get_message().unwrap();
        assert_eq!(msg.get_channel_name(), "__keyevent@0__:pfadd");
        assert_eq!(msg.get_payload::<String>().unwrap(), key);
    }
}

/// Pseudo-random distinct elements (xorshift64: no repeats within its period).
fn elements(seed: &mut u64, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            format!("e{seed}")
        })
        .collect()
}

/// The same PFADDs leave the same bytes in redyn as in a real redis-server 7.0 (sparse, the
/// promotion to dense, dense, the cached cardinality after PFCOUNT, PFMERGE), and the
/// estimates stay within Redis's error bound (0.81 % standard error; 5 % allowed here).
#[test]
fn pfadd_and_pfmerge_bytes_equal_real_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = TestServer::start();
    let (mut ours, mut theirs) = (server.client(), real.client());
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut added = 0usize;
    for batch in [1, 2, 5, 20, 100, 500, 2_000, 5_000, 20_000] {
        let batch = elements(&mut seed, batch);
        added += batch.len();
        for c in [&mut ours, &mut theirs] {
            let _: i64 = redis::cmd("PFADD").arg("h").arg(&batch).query(c).unwrap();
        }
        assert_eq!(
            get_bytes(&mut ours, "h"),
            get_bytes(&mut theirs, "h"),
            "after {added} elements"
        );
        let count = int(&mut ours, &["PFCOUNT", "h"]);
        assert_eq!(count, int(&mut theirs, &["PFCOUNT", "h"]));
        let error = (count - added as i64).abs() as f64 / added as f64;
        assert!(error < 0.05, "{count} estimated for {added}");
        assert_eq!(get_bytes(&mut ours, "h"), get_bytes(&mut theirs, "h"));
    }
    let other = elements(&mut seed, 300);
    for c in [&mut ours, &mut theirs] {
        let _: i64 = redis::cmd("PFADD")
            .arg("small")
            .arg(&other)
            .query(c)
            .unwrap();
        let _: () = q(c, &["PFMERGE", "merged", "small", "h"]);
    }
    assert_eq!(
        get_bytes(&mut ours, "merged"),
        get_bytes(&mut theirs, "merged")
    );
}
