//! Long strings stored in chunks (issue 12): every string command on values that cross the
//! inline/chunked threshold both ways, writes and reads spanning chunk boundaries, bitmap
//! commands on chunked values, restarts, DUMP/RESTORE, RENAME/COPY/MOVE, WATCH, and a
//! seeded random comparison against a byte-vector model with a restart half-way.

use redis::Value;

use crate::bits::Rng;
use crate::harness::{error, q, value, TestServer};
use crate::write_path::credited;

/// The server's chunk size, which is also the longest string kept inline (4 KiB unless
/// `REDYN_STRING_CHUNK_LOG2` says otherwise; the tests run with the default).
const CHUNK: usize = 4096;

fn set(c: &mut redis::Connection, key: &str, data: &[u8]) {
    let _: () = redis::cmd("SET").arg(key).arg(data).query(c).unwrap();
}

fn get(c: &mut redis::Connection, key: &str) -> Option<Vec<u8>> {
    redis::cmd("GET").arg(key).query(c).unwrap()
}

fn getrange(c: &mut redis::Connection, key: &str, start: i64, end: i64) -> Vec<u8> {
    redis::cmd("GETRANGE")
        .arg(key)
        .arg(start)
        .arg(end)
        .query(c)
        .unwrap()
}

fn setrange(c: &mut redis::Connection, key: &str, offset: usize, data: &[u8]) -> usize {
    redis::cmd("SETRANGE")
        .arg(key)
        .arg(offset)
        .arg(data)
        .query(c)
        .unwrap()
}

fn append(c: &mut redis::Connection, key: &str, data: &[u8]) -> usize {
    redis::cmd("APPEND").arg(key).arg(data).query(c).unwrap()
}

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    q(c, args)
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    q(c, &["OBJECT", "ENCODING", key])
}

/// `len` bytes that differ from chunk to chunk and inside a chunk.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ ((i / CHUNK) as u8))
        .collect()
}

/// Redis's GETRANGE index rules on a model value.
fn model_range(value: &[u8], start: i64, end: i64) -> Vec<u8> {
    let len = value.len() as i64;
    if len == 0 || (start < 0 && end < 0 && start > end) {
        return Vec::new();
    }
    let s = if start < 0 { len + start } else { start }.max(0);
    let e = if end < 0 { len + end } else { end }.max(0).min(len - 1);
    if s > e {
        return Vec::new();
    }
    value[s as usize..=e as usize].to_vec()
}

fn ones(value: &[u8]) -> i64 {
    value.iter().map(|b| i64::from(b.count_ones())).sum()
}

#[test]
fn strings_cross_the_threshold_both_ways() {
    let server = TestServer::start();
    let mut c = server.client();
    // At the threshold a string stays inline; one byte more moves it to chunks.
    let mut model = pattern(CHUNK, 1);
    set(&mut c, "s", &model);
    assert_eq!(encoding(&mut c, "s"), "raw");
    assert_eq!(append(&mut c, "s", b"x"), CHUNK + 1);
    model.push(b'x');
    assert_eq!(get(&mut c, "s").unwrap(), model);
    assert_eq!(int(&mut c, &["STRLEN", "s"]), model.len() as i64);
    assert_eq!(q::<String>(&mut c, &["TYPE", "s"]), "string");
    assert_eq!(encoding(&mut c, "s"), "raw");
    // Back inline with a small SET, then chunked again with a large one.
    set(&mut c, "s", b"12");
    assert_eq!(get(&mut c, "s").unwrap(), b"12");
    assert_eq!(encoding(&mut c, "s"), "int");
    assert_eq!(int(&mut c, &["INCR", "s"]), 13);
    let big = pattern(3 * CHUNK + 17, 2);
    set(&mut c, "s", &big);
    assert_eq!(get(&mut c, "s").unwrap(), big);
    assert_eq!(
        error(&mut c, &["INCR", "s"]),
        "ERR value is not an integer or out of range"
    );
    // SETRANGE grows a small string past the threshold; SET shrinks it again.
    set(&mut c, "g", b"head");
    assert_eq!(setrange(&mut c, "g", 2 * CHUNK, b"tail"), 2 * CHUNK + 4);
    let mut expected = b"head".to_vec();
    expected.resize(2 * CHUNK, 0);
    expected.extend_from_slice(b"tail");
    assert_eq!(get(&mut c, "g").unwrap(), expected);
    set(&mut c, "g", b"short");
    assert_eq!(get(&mut c, "g").unwrap(), b"short");
    assert_eq!(int(&mut c, &["STRLEN", "g"]), 5);
    // SETBIT grows one past the threshold too.
    set(&mut c, "b", &pattern(CHUNK, 3));
    assert_eq!(
        int(&mut c, &["SETBIT", "b", &(CHUNK * 8 + 7).to_string(), "1"]),
        0
    );
    let mut expected = pattern(CHUNK, 3);
    expected.push(1);
    assert_eq!(get(&mut c, "b").unwrap(), expected);
    // MSET of one key twice keeps the last value.
    let (first, second) = (pattern(2 * CHUNK + 1, 4), pattern(5 * CHUNK, 5));
    let _: () = redis::cmd("MSET")
        .arg("m")
        .arg(&first)
        .arg("m")
        .arg(&second)
        .query(&mut c)
        .unwrap();
    assert_eq!(get(&mut c, "m").unwrap(), second);
}

#[test]
fn commands_on_a_chunked_string() {
    let server = TestServer::start();
    let mut c = server.client();
    let big = pattern(10 * CHUNK + 123, 7);
    set(&mut c, "k", &big);
    // TTL commands keep the chunks.
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100"]), 1);
    assert!(int(&mut c, &["TTL", "k"]) > 0);
    assert_eq!(append(&mut c, "k", b"!"), big.len() + 1);
    assert!(int(&mut c, &["TTL", "k"]) > 0, "APPEND keeps the TTL");
    assert_eq!(int(&mut c, &["PERSIST", "k"]), 1);
    assert_eq!(int(&mut c, &["TTL", "k"]), -1);
    let mut model = big.clone();
    model.push(b'!');
    assert_eq!(get(&mut c, "k").unwrap(), model);
    // MGET mixes chunked, inline, missing and other-type keys.
    set(&mut c, "small", b"v");
    let _: () = q(&mut c, &["RPUSH", "list", "a"]);
    let got: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
        .arg(&["k", "small", "missing", "list"])
        .query(&mut c)
        .unwrap();
    assert_eq!(got, [Some(model.clone()), Some(b"v".to_vec()), None, None]);
    // SET … GET, GETSET, GETEX, GETDEL answer the whole old value.
    let replaced: Vec<u8> = redis::cmd("SET")
        .arg("k")
        .arg(&big)
        .arg("GET")
        .query(&mut c)
        .unwrap();
    assert_eq!(replaced, model);
    let old: Vec<u8> = redis::cmd("GETSET")
        .arg("k")
        .arg(&model)
        .query(&mut c)
        .unwrap();
    assert_eq!(old, big);
    let got: Vec<u8> = redis::cmd("GETEX")
        .arg("k")
        .arg("EX")
        .arg(50)
        .query(&mut c)
        .unwrap();
    assert_eq!(got, model);
    assert!(int(&mut c, &["TTL", "k"]) > 0);
    assert_eq!(int(&mut c, &["SETNX", "k", "x"]), 0);
    let got: Vec<u8> = redis::cmd("GETDEL").arg("k").query(&mut c).unwrap();
    assert_eq!(got, model);
    assert_eq!(get(&mut c, "k"), None);
    assert_eq!(int(&mut c, &["EXISTS", "k"]), 0);
    // DEL and UNLINK drop chunked strings; a new key of the name starts empty.
    set(&mut c, "d", &big);
    set(&mut c, "u", &big);
    assert_eq!(int(&mut c, &["DEL", "d"]), 1);
    assert_eq!(int(&mut c, &["UNLINK", "u"]), 1);
    assert_eq!(setrange(&mut c, "d", 2 * CHUNK, b"z"), 2 * CHUNK + 1);
    assert_eq!(getrange(&mut c, "d", 0, 10), vec![0; 11]);
    // LCS, SORT … GET and MEMORY USAGE see the whole value.
    set(&mut c, "a", &pattern(CHUNK + 1, 9));
    let lcs: i64 = q(&mut c, &["LCS", "a", "a", "LEN"]);
    assert_eq!(lcs, CHUNK as i64 + 1);
    let _: () = q(&mut c, &["RPUSH", "ids", "1"]);
    set(&mut c, "w_1", &big);
    let sorted: Vec<Vec<u8>> = redis::cmd("SORT")
        .arg(&["ids", "BY", "nosort", "GET", "w_*"])
        .query(&mut c)
        .unwrap();
    assert_eq!(sorted, std::slice::from_ref(&big));
    assert!(int(&mut c, &["MEMORY", "USAGE", "w_1"]) >= big.len() as i64);
    // A chunked string expires like any key.
    let _: () = q(&mut c, &["PEXPIRE", "w_1", "30"]);
    std::thread::sleep(std::time::Duration::from_millis(60));
    assert_eq!(get(&mut c, "w_1"), None);
}

#[test]
fn setbit_far_past_the_end() {
    let server = TestServer::start();
    let mut c = server.client();
    // A 100 MB bitmap from one SETBIT: only the last chunk is written.
    let last_bit = 838_860_799i64;
    assert_eq!(
        int(&mut c, &["SETBIT", "bm", &last_bit.to_string(), "1"]),
        0
    );
    assert_eq!(int(&mut c, &["STRLEN", "bm"]), 104_857_600);
    assert_eq!(int(&mut c, &["GETBIT", "bm", &last_bit.to_string()]), 1);
    assert_eq!(int(&mut c, &["GETBIT", "bm", "12345678"]), 0);
    assert_eq!(int(&mut c, &["BITCOUNT", "bm"]), 1);
    assert_eq!(int(&mut c, &["BITPOS", "bm", "1"]), last_bit);
    assert_eq!(int(&mut c, &["BITPOS", "bm", "0"]), 0);
    assert_eq!(getrange(&mut c, "bm", -2, -1), [0, 1]);
    assert_eq!(getrange(&mut c, "bm", 50_000_000, 50_000_003), [0; 4]);
    // A few more bits in the gap, then the counts over ranges.
    for bit in [0i64, 8 * 4095 + 7, 8 * 4096, 400_000_001] {
        assert_eq!(int(&mut c, &["SETBIT", "bm", &bit.to_string(), "1"]), 0);
    }
    assert_eq!(int(&mut c, &["BITCOUNT", "bm"]), 5);
    assert_eq!(int(&mut c, &["BITCOUNT", "bm", "0", "4095"]), 2);
    assert_eq!(int(&mut c, &["BITCOUNT", "bm", "32767", "32768", "BIT"]), 2);
    assert_eq!(int(&mut c, &["BITCOUNT", "bm", "-1", "-1"]), 1);
    assert_eq!(int(&mut c, &["BITPOS", "bm", "1", "1"]), 8 * 4095 + 7);
    assert_eq!(int(&mut c, &["BITPOS", "bm", "1", "4097"]), 400_000_001);
    assert_eq!(int(&mut c, &["BITPOS", "bm", "0", "0", "0", "BYTE"]), 1);
    assert_eq!(int(&mut c, &["SETBIT", "bm", "0", "0"]), 1);
    assert_eq!(int(&mut c, &["STRLEN", "bm"]), 104_857_600);
}

#[test]
fn a_write_to_a_100_mb_string_writes_one_chunk() {
    let server = TestServer::start();
    let mut c = server.client();
    int(&mut c, &["SETBIT", "bm", "838860799", "1"]);
    let written = [
        credited(&mut c, |c| {
            int(c, &["SETBIT", "bm", "400000000", "1"]);
        }),
        credited(&mut c, |c| {
            setrange(c, "bm", 60_000_000, b"abc");
        }),
        credited(&mut c, |c| {
            append(c, "bm", b"x");
        }),
        credited(&mut c, |c| {
            let _: Value = value(c, &["BITFIELD", "bm", "INCRBY", "u8", "800000000", "1"]);
        }),
    ];
    // A chunk, its row key and the metadata row; a whole rewrite would be 100 MB.
    for bytes in written {
        assert!(
            bytes > 0 && bytes < 2 * CHUNK as u64,
            "{written:?} bytes written"
        );
    }
}

#[test]
fn writes_and_reads_span_chunk_boundaries() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut model = pattern(3 * CHUNK + 5, 11);
    set(&mut c, "k", &model);
    // SETRANGE across one and two boundaries, and past the end.
    for (offset, len) in [
        (CHUNK - 3, 7),
        (CHUNK - 1, CHUNK + 2),
        (3 * CHUNK, 2 * CHUNK),
    ] {
        let patch = pattern(len, offset as u8);
        let new_len = setrange(&mut c, "k", offset, &patch);
        if model.len() < offset + len {
            model.resize(offset + len, 0);
        }
        model[offset..offset + len].copy_from_slice(&patch);
        assert_eq!(new_len, model.len());
    }
    // APPEND that fills the last chunk and starts a new one.
    let tail = pattern(CHUNK + 9, 99);
    assert_eq!(append(&mut c, "k", &tail), model.len() + tail.len());
    model.extend_from_slice(&tail);
    assert_eq!(get(&mut c, "k").unwrap(), model);
    let c4 = CHUNK as i64;
    for (start, end) in [
        (c4 - 2, c4 + 1),
        (c4, c4),
        (c4 - 1, c4 - 1),
        (0, 2 * c4),
        (c4 + 7, 4 * c4 + 1),
        (-c4 - 3, -1),
        (-1, -2),
        (5, 1),
        (-100_000, 3),
        (4 * c4, 1_000_000),
    ] {
        assert_eq!(
            getrange(&mut c, "k", start, end),
            model_range(&model, start, end),
            "GETRANGE {start} {end}"
        );
    }
}

#[test]
fn bit_commands_on_chunked_values() {
    let server = TestServer::start();
    let mut c = server.client();
    let a = pattern(3 * CHUNK + 100, 21);
    let b = pattern(2 * CHUNK + 1, 42);
    set(&mut c, "a", &a);
    set(&mut c, "b", &b);
    assert_eq!(int(&mut c, &["BITCOUNT", "a"]), ones(&a));
    let c4 = CHUNK as i64;
    assert_eq!(
        int(
            &mut c,
            &[
                "BITCOUNT",
                "a",
                &(c4 - 1).to_string(),
                &(2 * c4).to_string()
            ]
        ),
        ones(&a[CHUNK - 1..=2 * CHUNK])
    );
    let bit_lo = 8 * c4 - 3;
    let bit_hi = 16 * c4 + 2;
    let expected: i64 = (bit_lo..=bit_hi)
        .filter(|&i| a[(i / 8) as usize] & (0x80 >> (i % 8)) != 0)
        .count() as i64;
    assert_eq!(
        int(
            &mut c,
            &[
                "BITCOUNT",
                "a",
                &bit_lo.to_string(),
                &bit_hi.to_string(),
                "BIT"
            ]
        ),
        expected
    );
    // BITPOS finds a bit beyond the first chunk and a clear bit at the end.
    let mut z = vec![0u8; 3 * CHUNK];
    z[2 * CHUNK + 5] = 0x10;
    set(&mut c, "z", &z);
    assert_eq!(int(&mut c, &["BITPOS", "z", "1"]), 8 * (2 * c4 + 5) + 3);
    assert_eq!(int(&mut c, &["BITPOS", "z", "1", "-3"]), -1);
    let full = vec![0xffu8; 2 * CHUNK + 3];
    set(&mut c, "f", &full);
    assert_eq!(int(&mut c, &["BITPOS", "f", "0"]), 8 * full.len() as i64);
    assert_eq!(int(&mut c, &["BITPOS", "f", "0", "0", "-1"]), -1);
    // BITOP over chunked sources into a chunked destination.
    type ByteOp = fn(u8, u8) -> u8;
    let ops: [(&str, ByteOp); 3] = [
        ("AND", |x, y| x & y),
        ("OR", |x, y| x | y),
        ("XOR", |x, y| x ^ y),
    ];
    for (op, f) in ops {
        let len = int(&mut c, &["BITOP", op, "dst", "a", "b"]);
        let expected: Vec<u8> = (0..a.len())
            .map(|i| f(a[i], b.get(i).copied().unwrap_or(0)))
            .collect();
        assert_eq!(len, a.len() as i64);
        assert_eq!(get(&mut c, "dst").unwrap(), expected, "BITOP {op}");
    }
    int(&mut c, &["BITOP", "NOT", "dst", "b"]);
    let not: Vec<u8> = b.iter().map(|x| !x).collect();
    assert_eq!(get(&mut c, "dst").unwrap(), not);
    // BITFIELD across a chunk boundary, and reading far away in the same call.
    let boundary_bit = (8 * CHUNK - 4).to_string();
    let replies = value(
        &mut c,
        &[
            "BITFIELD",
            "z",
            "SET",
            "u8",
            &boundary_bit,
            "255",
            "GET",
            "u16",
            &boundary_bit,
            "INCRBY",
            "i5",
            "100",
            "1",
            "GET",
            "u8",
            "#2000000",
        ],
    );
    assert_eq!(
        replies,
        Value::Array(vec![
            Value::Int(0),
            Value::Int(0xff00),
            Value::Int(1),
            Value::Int(0)
        ])
    );
    assert_eq!(getrange(&mut c, "z", c4 - 1, c4), [0x0f, 0xf0]);
    assert_eq!(
        int(&mut c, &["STRLEN", "z"]),
        3 * c4,
        "GET does not grow the string"
    );
    let ro = value(&mut c, &["BITFIELD_RO", "z", "GET", "u8", &boundary_bit]);
    assert_eq!(ro, Value::Array(vec![Value::Int(255)]));
    // A write far past the end grows a chunked string with zeros.
    let far = (8 * 10 * CHUNK).to_string();
    let replies = value(&mut c, &["BITFIELD", "z", "SET", "u8", &far, "7"]);
    assert_eq!(replies, Value::Array(vec![Value::Int(0)]));
    assert_eq!(int(&mut c, &["STRLEN", "z"]), 10 * c4 + 1);
    assert_eq!(getrange(&mut c, "z", -2, -1), [0, 7]);
}

#[test]
fn chunked_strings_survive_restarts() {
    let mut server = TestServer::start();
    let mut c = server.client();
    let mut model = pattern(5 * CHUNK + 3, 13);
    set(&mut c, "k", &model);
    int(&mut c, &["SETBIT", "bm", "1000000", "1"]);
    server.stop();
    server.restart();
    let mut c = server.client();
    assert_eq!(get(&mut c, "k").unwrap(), model);
    assert_eq!(int(&mut c, &["GETBIT", "bm", "1000000"]), 1);
    assert_eq!(int(&mut c, &["STRLEN", "bm"]), 125_001);
    setrange(&mut c, "k", CHUNK - 1, b"ab");
    model[CHUNK - 1..CHUNK + 1].copy_from_slice(b"ab");
    int(&mut c, &["SETBIT", "bm", "7", "1"]);
    server.kill9();
    server.restart();
    let mut c = server.client();
    assert_eq!(get(&mut c, "k").unwrap(), model);
    assert_eq!(int(&mut c, &["BITCOUNT", "bm"]), 2);
}

#[test]
fn dump_restore_rename_copy_move_of_a_chunked_string() {
    let server = TestServer::start();
    let mut c = server.client();
    let big = pattern(4 * CHUNK + 77, 17);
    set(&mut c, "src", &big);
    let dumped: Vec<u8> = redis::cmd("DUMP").arg("src").query(&mut c).unwrap();
    let _: () = redis::cmd("RESTORE")
        .arg("restored")
        .arg(0)
        .arg(&dumped)
        .query(&mut c)
        .unwrap();
    assert_eq!(get(&mut c, "restored").unwrap(), big);
    assert_eq!(encoding(&mut c, "restored"), "raw");
    // RENAME onto an existing chunked key, COPY, COPY to another db, MOVE.
    set(&mut c, "other", &pattern(2 * CHUNK + 1, 1));
    let _: () = q(&mut c, &["RENAME", "src", "other"]);
    assert_eq!(get(&mut c, "src"), None);
    assert_eq!(get(&mut c, "other").unwrap(), big);
    assert_eq!(int(&mut c, &["COPY", "other", "copy"]), 1);
    assert_eq!(int(&mut c, &["COPY", "other", "copy", "DB", "3"]), 1);
    assert_eq!(int(&mut c, &["MOVE", "restored", "5"]), 1);
    // The copies are independent of the source.
    setrange(&mut c, "other", CHUNK, b"changed");
    assert_eq!(get(&mut c, "copy").unwrap(), big);
    assert_eq!(int(&mut c, &["DEL", "other"]), 1);
    assert_eq!(get(&mut c, "copy").unwrap(), big);
    let _: () = q(&mut c, &["SELECT", "3"]);
    assert_eq!(get(&mut c, "copy").unwrap(), big);
    let _: () = q(&mut c, &["SELECT", "5"]);
    assert_eq!(get(&mut c, "restored").unwrap(), big);
}

#[test]
fn watch_sees_chunk_writes() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut other = server.client();
    set(&mut c, "k", &pattern(3 * CHUNK, 5));
    for write in [
        &["SETBIT", "k", "100000", "1"][..],
        &["SETRANGE", "k", "5000", "x"],
        &["APPEND", "k", "y"],
    ] {
        let _: () = q(&mut c, &["WATCH", "k"]);
        let _: () = q(&mut other, write);
        let _: () = q(&mut c, &["MULTI"]);
        let _: () = q(&mut c, &["GET", "k"]);
        assert_eq!(
            value(&mut c, &["EXEC"]),
            Value::Nil,
            "{write:?} disturbs WATCH"
        );
    }
}

#[test]
fn random_operations_match_a_model() {
    let mut server = TestServer::start();
    let mut c = server.client();
    let mut rng = Rng(0x5eed_c4a2);
    let mut model: Vec<u8> = Vec::new();
    const OPS: usize = 400;
    for step in 0..OPS {
        if step == OPS / 2 {
            server.stop();
            server.restart();
            c = server.client();
            assert_eq!(get(&mut c, "k").unwrap_or_default(), model, "after restart");
        }
        // Offsets around the chunk boundaries up to a few chunks in.
        let offset = (rng.below(6) as usize * CHUNK + rng.below(64) as usize).saturating_sub(32);
        match rng.below(6) {
            0 => {
                let patch = rng.bytes(2 * CHUNK as u64);
                if patch.is_empty() {
                    continue;
                }
                setrange(&mut c, "k", offset, &patch);
                if model.len() < offset + patch.len() {
                    model.resize(offset + patch.len(), 0);
                }
                model[offset..offset + patch.len()].copy_from_slice(&patch);
            }
            1 => {
                let tail = rng.bytes(CHUNK as u64 + 10);
                assert_eq!(append(&mut c, "k", &tail), model.len() + tail.len());
                model.extend_from_slice(&tail);
            }
            2 => {
                let bit = offset * 8 + rng.below(8) as usize;
                let on = rng.below(2) == 1;
                let old = int(
                    &mut c,
                    &["SETBIT", "k", &bit.to_string(), if on { "1" } else { "0" }],
                );
                if model.len() <= bit / 8 {
                    model.resize(bit / 8 + 1, 0);
                }
                let mask = 0x80 >> (bit % 8);
                assert_eq!(old, i64::from(model[bit / 8] & mask != 0), "SETBIT {bit}");
                if on {
                    model[bit / 8] |= mask;
                } else {
                    model[bit / 8] &= !mask;
                }
            }
            3 => {
                let start = rng.below(6 * CHUNK as u64) as i64 - CHUNK as i64;
                let end = start + rng.below(3 * CHUNK as u64) as i64;
                assert_eq!(
                    getrange(&mut c, "k", start, end),
                    model_range(&model, start, end),
                    "GETRANGE {start} {end} of {}",
                    model.len()
                );
            }
            4 if rng.below(4) == 0 => {
                // Now and then a whole new value, small or large.
                let max_len = if rng.below(2) == 0 {
                    100
                } else {
                    3 * CHUNK as u64
                };
                model = rng.bytes(max_len);
                set(&mut c, "k", &model);
            }
            _ => {
                assert_eq!(int(&mut c, &["STRLEN", "k"]), model.len() as i64);
                assert_eq!(int(&mut c, &["BITCOUNT", "k"]), ones(&model));
            }
        }
    }
    assert_eq!(get(&mut c, "k").unwrap_or_default(), model);
}
