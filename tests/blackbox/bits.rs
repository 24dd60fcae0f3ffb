//! Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO):
//! replies, options, Redis 7.0's error texts, keyspace events, and a seeded random
//! comparison of BITCOUNT/BITPOS/BITOP against a bit-vector model.

use std::time::Duration;

use redis::Value;

use crate::harness::{error, info_number, q, value, TestServer};

fn set_bytes(c: &mut redis::Connection, key: &str, data: &[u8]) {
    let _: () = redis::cmd("SET").arg(key).arg(data).query(c).unwrap();
}

fn get_bytes(c: &mut redis::Connection, key: &str) -> Option<Vec<u8>> {
    redis::cmd("GET").arg(key).query(c).unwrap()
}

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    q(c, args)
}

fn ints(values: &[i64]) -> Value {
    Value::Array(values.iter().map(|&v| Value::Int(v)).collect())
}

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BAD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

#[test]
fn setbit_and_getbit() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(int(&mut c, &["SETBIT", "k", "1", "1"]), 0);
    assert_eq!(get_bytes(&mut c, "k").unwrap(), [0x40]);
    assert_eq!(int(&mut c, &["SETBIT", "k", "1", "1"]), 1);
    assert_eq!(int(&mut c, &["SETBIT", "k", "1", "0"]), 1);
    // Growing pads with zero bytes.
    assert_eq!(int(&mut c, &["SETBIT", "k", "23", "1"]), 0);
    assert_eq!(get_bytes(&mut c, "k").unwrap(), [0, 0, 1]);
    // SETBIT 0 on a missing key still creates it, one byte long.
    assert_eq!(int(&mut c, &["SETBIT", "z", "0", "0"]), 0);
    assert_eq!(get_bytes(&mut c, "z").unwrap(), [0]);
    // Works on any string, integer-looking ones included ("1" = 0x31).
    assert_eq!(q::<String>(&mut c, &["SET", "n", "1"]), "OK");
    assert_eq!(int(&mut c, &["GETBIT", "n", "2"]), 1);
    assert_eq!(int(&mut c, &["SETBIT", "n", "6", "1"]), 0);
    assert_eq!(q::<String>(&mut c, &["GET", "n"]), "3");
    for (offset, bit) in [(0, 0), (2, 1), (7, 1), (8, 0), (10_000, 0)] {
        assert_eq!(int(&mut c, &["GETBIT", "n", &offset.to_string()]), bit);
    }
    assert_eq!(int(&mut c, &["GETBIT", "missing", "5"]), 0);
    // The TTL survives SETBIT.
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100"]), 1);
    assert_eq!(int(&mut c, &["SETBIT", "k", "0", "1"]), 0);
    assert!(int(&mut c, &["TTL", "k"]) > 0);
}

#[test]
fn setbit_and_getbit_errors() {
    let server = TestServer::start();
    let mut c = server.client();
    for offset in ["-1", "4294967296", "x", "#1", "1.5"] {
        assert_eq!(error(&mut c, &["SETBIT", "k", offset, "1"]), BAD_OFFSET);
        assert_eq!(error(&mut c, &["GETBIT", "k", offset]), BAD_OFFSET);
    }
    // The largest offset inside 512MB is accepted by GETBIT (no allocation needed).
    assert_eq!(int(&mut c, &["GETBIT", "k", "4294967295"]), 0);
    for bit in ["2", "-1", "x", "10"] {
        assert_eq!(
            error(&mut c, &["SETBIT", "k", "0", bit]),
            "ERR bit is not an integer or out of range"
        );
    }
    let _: i64 = q(&mut c, &["RPUSH", "list", "a"]);
    assert!(error(&mut c, &["SETBIT", "list", "0", "1"]).starts_with("WRONGTYPE"));
    assert!(error(&mut c, &["GETBIT", "list", "0"]).starts_with("WRONGTYPE"));
    assert_eq!(
        error(&mut c, &["SETBIT", "k", "0"]),
        "ERR wrong number of arguments for 'setbit' command"
    );
    assert_eq!(int(&mut c, &["EXISTS", "k"]), 0);
}

#[test]
fn bit_offsets_follow_proto_max_bulk_len() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "1048576"]);
    // Byte 1048576 would make the string longer than the limit.
    assert_eq!(error(&mut c, &["SETBIT", "k", "8388608", "1"]), BAD_OFFSET);
    assert_eq!(
        error(&mut c, &["BITFIELD", "k", "SET", "u8", "#1048576", "1"]),
        BAD_OFFSET
    );
    assert_eq!(int(&mut c, &["SETBIT", "k", "8388607", "1"]), 0);
    assert_eq!(int(&mut c, &["STRLEN", "k"]), 1_048_576);
    assert_eq!(int(&mut c, &["BITPOS", "k", "1"]), 8_388_607);
}

#[test]
fn bitcount_ranges_and_units() {
    let server = TestServer::start();
    let mut c = server.client();
    set_bytes(&mut c, "s", b"foobar");
    assert_eq!(int(&mut c, &["BITCOUNT", "s"]), 26);
    assert_eq!(int(&mut c, &["BITCOUNT", "s", "0", "0"]), 4);
    assert_eq!(int(&mut c, &["BITCOUNT", "s", "1", "1"]), 6);
    assert_eq!(int(&mut c, &["BITCOUNT", "s", "1", "-2"]), 18);
    assert_eq!(int(&mut c, &["BITCOUNT", "s", "-2", "1"]), 0);
    assert_eq!(int(&mut c, &["BITCOUNT", "s", "0", "1000"]), 26);
    assert_eq!(int(&mut c, &["BITCOUNT", "s", "5", "30", "BIT"]), 17);
    assert_eq!(int(&mut c, &["BITCOUNT", "s", "0", "-1", "bit"]), 26);
    assert_eq!(int(&mut c, &["BITCOUNT", "s", "1", "1", "BYTE"]), 6);
    assert_eq!(int(&mut c, &["BITCOUNT", "s", "10", "-34", "BIT"]), 4);
    // Both negative and inverted: 0 before the unit is even looked at.
    assert_eq!(int(&mut c, &["BITCOUNT", "s", "-1", "-2", "nonsense"]), 0);
    assert_eq!(int(&mut c, &["BITCOUNT", "missing"]), 0);
    // Redis 7.0 answers 0 for a missing key whatever the other arguments.
    assert_eq!(int(&mut c, &["BITCOUNT", "missing", "0"]), 0);
    set_bytes(&mut c, "empty", b"");
    assert_eq!(int(&mut c, &["BITCOUNT", "empty", "0", "-1"]), 0);
    for bad in [
        &["BITCOUNT", "s", "0"][..],
        &["BITCOUNT", "s", "0", "1", "WORD"],
        &["BITCOUNT", "s", "0", "1", "BIT", "x"],
    ] {
        assert_eq!(error(&mut c, bad), "ERR syntax error", "{bad:?}");
    }
    assert_eq!(
        error(&mut c, &["BITCOUNT", "s", "x", "1"]),
        "ERR value is not an integer or out of range"
    );
    let _: i64 = q(&mut c, &["RPUSH", "list", "a"]);
    assert!(error(&mut c, &["BITCOUNT", "list"]).starts_with("WRONGTYPE"));
}

#[test]
fn bitpos_finds_set_and_clear_bits() {
    let server = TestServer::start();
    let mut c = server.client();
    set_bytes(&mut c, "s", &[0xff, 0xf0, 0x00]);
    assert_eq!(int(&mut c, &["BITPOS", "s", "0"]), 12);
    assert_eq!(int(&mut c, &["BITPOS", "s", "1"]), 0);
    assert_eq!(int(&mut c, &["BITPOS", "s", "1", "1"]), 8);
    assert_eq!(int(&mut c, &["BITPOS", "s", "1", "2"]), -1);
    assert_eq!(int(&mut c, &["BITPOS", "s", "0", "1", "-1", "BIT"]), 12);
    assert_eq!(int(&mut c, &["BITPOS", "s", "1", "9", "10", "bit"]), 9);
    assert_eq!(int(&mut c, &["BITPOS", "s", "1", "12", "-1", "BIT"]), -1);
    // Clear bits: without an end the string continues with zeros, with one it does not.
    set_bytes(&mut c, "full", &[0xff, 0xff]);
    assert_eq!(int(&mut c, &["BITPOS", "full", "0"]), 16);
    assert_eq!(int(&mut c, &["BITPOS", "full", "0", "1"]), 16);
    assert_eq!(int(&mut c, &["BITPOS", "full", "0", "3", "-1", "BIT"]), -1);
    assert_eq!(int(&mut c, &["BITPOS", "full", "0", "0", "-1"]), -1);
    // A missing key is all zeros; an empty string has no bits at all.
    assert_eq!(int(&mut c, &["BITPOS", "missing", "0"]), 0);
    assert_eq!(int(&mut c, &["BITPOS", "missing", "1"]), -1);
    set_bytes(&mut c, "empty", b"");
    assert_eq!(int(&mut c, &["BITPOS", "empty", "0"]), -1);
    // Errors, in Redis's order.
    assert_eq!(
        error(&mut c, &["BITPOS", "s", "2"]),
        "ERR The bit argument must be 1 or 0."
    );
    assert_eq!(
        error(&mut c, &["BITPOS", "s", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut c, &["BITPOS", "s", "1", "0", "1", "WORD"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["BITPOS", "s", "1", "0", "1", "BIT", "x"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["BITPOS", "s", "1", "0", "x"]),
        "ERR value is not an integer or out of range"
    );
    let _: i64 = q(&mut c, &["RPUSH", "list", "a"]);
    assert!(error(&mut c, &["BITPOS", "list", "1"]).starts_with("WRONGTYPE"));
}

#[test]
fn bitop_operations() {
    let server = TestServer::start();
    let mut c = server.client();
    set_bytes(&mut c, "a", &[0x01, 0x02, 0xff, 0xff]);
    set_bytes(&mut c, "b", &[0x01, 0x02, 0xff]);
    let cases: [(&str, &[u8]); 3] = [
        ("AND", &[0x01, 0x02, 0xff, 0x00]),
        ("or", &[0x01, 0x02, 0xff, 0xff]),
        ("Xor", &[0x00, 0x00, 0x00, 0xff]),
    ];
    for (op, expected) in cases {
        assert_eq!(int(&mut c, &["BITOP", op, "dest", "a", "b", "nokey"]), 4);
        let result = get_bytes(&mut c, "dest").unwrap();
        let expected: Vec<u8> = if op == "AND" {
            vec![0; 4] // the missing key is all zeros
        } else {
            expected.to_vec()
        };
        assert_eq!(result, expected, "{op}");
    }
    assert_eq!(int(&mut c, &["BITOP", "AND", "dest", "a", "b"]), 4);
    assert_eq!(get_bytes(&mut c, "dest").unwrap(), [1, 2, 0xff, 0]);
    assert_eq!(int(&mut c, &["BITOP", "NOT", "dest", "b"]), 3);
    assert_eq!(get_bytes(&mut c, "dest").unwrap(), [0xfe, 0xfd, 0x00]);
    // Destination may be a source.
    assert_eq!(int(&mut c, &["BITOP", "NOT", "b", "b"]), 3);
    assert_eq!(get_bytes(&mut c, "b").unwrap(), [0xfe, 0xfd, 0x00]);
    // The result replaces the destination, dropping its TTL.
    assert_eq!(int(&mut c, &["EXPIRE", "dest", "100"]), 1);
    assert_eq!(int(&mut c, &["BITOP", "OR", "dest", "a"]), 4);
    assert_eq!(int(&mut c, &["TTL", "dest"]), -1);
    // An empty result deletes the destination.
    assert_eq!(int(&mut c, &["BITOP", "OR", "dest", "nokey", "nokey2"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "dest"]), 0);
    assert_eq!(
        error(&mut c, &["BITOP", "NOT", "dest", "a", "b"]),
        "ERR BITOP NOT must be called with a single source key."
    );
    assert_eq!(
        error(&mut c, &["BITOP", "NAND", "dest", "a"]),
        "ERR syntax error"
    );
    let _: i64 = q(&mut c, &["RPUSH", "list", "a"]);
    assert!(error(&mut c, &["BITOP", "OR", "dest", "a", "list"]).starts_with("WRONGTYPE"));
    assert_eq!(
        error(&mut c, &["BITOP", "OR", "dest"]),
        "ERR wrong number of arguments for 'bitop' command"
    );
}

#[test]
fn bitfield_get_set_incrby() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(
        value(&mut c, &["BITFIELD", "k", "SET", "i8", "0", "-100"]),
        ints(&[0])
    );
    assert_eq!(
        value(
            &mut c,
            &["BITFIELD", "k", "set", "i8", "0", "101", "get", "i8", "0", "GET", "u4", "0"]
        ),
        ints(&[-100, 101, 6])
    );
    // `#n` addresses the n-th field of the type's width.
    let _: Value = q(&mut c, &["DEL", "k"]);
    for (i, v) in ["65", "66", "67"].iter().enumerate() {
        let _: Value = q(&mut c, &["BITFIELD", "k", "SET", "u8", &format!("#{i}"), v]);
    }
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "ABC");
    assert_eq!(
        value(&mut c, &["BITFIELD", "k", "INCRBY", "u8", "#0", "10"]),
        ints(&[75])
    );
    // Unaligned fields spanning bytes, and the widest types.
    let _: Value = q(&mut c, &["DEL", "w"]);
    assert_eq!(
        value(
            &mut c,
            &[
                "BITFIELD",
                "w",
                "SET",
                "i64",
                "3",
                "-9223372036854775808",
                "GET",
                "i64",
                "3",
                "SET",
                "u63",
                "70",
                "9223372036854775807",
                "GET",
                "u63",
                "70"
            ]
        ),
        ints(&[0, i64::MIN, 0, i64::MAX])
    );
    // Reads past the end see zeros; BITFIELD with only a key answers an empty array.
    assert_eq!(
        value(&mut c, &["BITFIELD", "missing", "GET", "u8", "1000"]),
        ints(&[0])
    );
    assert_eq!(value(&mut c, &["BITFIELD", "missing"]), ints(&[]));
    assert_eq!(int(&mut c, &["EXISTS", "missing"]), 0);
    // Writes keep the TTL.
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100"]), 1);
    let _: Value = q(&mut c, &["BITFIELD", "k", "SET", "u8", "0", "1"]);
    assert!(int(&mut c, &["TTL", "k"]) > 0);
}

#[test]
fn bitfield_overflow_modes() {
    let server = TestServer::start();
    let mut c = server.client();
    let run = |c: &mut redis::Connection, args: &[&str]| {
        let mut full = vec!["BITFIELD", "k"];
        full.extend_from_slice(args);
        value(c, &full)
    };
    let _: Value = run(&mut c, &["SET", "u8", "0", "100"]);
    assert_eq!(run(&mut c, &["INCRBY", "u8", "0", "257"]), ints(&[101]));
    assert_eq!(
        run(&mut c, &["OVERFLOW", "SAT", "INCRBY", "u8", "0", "257"]),
        ints(&[255])
    );
    assert_eq!(
        run(&mut c, &["overflow", "sat", "incrby", "u8", "0", "-300"]),
        ints(&[0])
    );
    assert_eq!(
        run(&mut c, &["OVERFLOW", "SAT", "INCRBY", "i8", "0", "200"]),
        ints(&[127])
    );
    assert_eq!(
        run(&mut c, &["OVERFLOW", "WRAP", "INCRBY", "i8", "0", "1"]),
        ints(&[-128])
    );
    // FAIL: nil and nothing written; OVERFLOW applies to the operations after it only.
    assert_eq!(
        run(
            &mut c,
            &[
                "INCRBY", "u8", "0", "-1", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1000", "GET",
                "u8", "0"
            ]
        ),
        Value::Array(vec![Value::Int(127), Value::Nil, Value::Int(127)])
    );
    // SET with a negative value on an unsigned type is a huge number: SAT clamps it to max.
    assert_eq!(
        run(
            &mut c,
            &["OVERFLOW", "SAT", "SET", "u8", "0", "-1", "GET", "u8", "0"]
        ),
        ints(&[127, 255])
    );
    assert_eq!(
        run(&mut c, &["OVERFLOW", "FAIL", "SET", "i8", "0", "128"]),
        Value::Array(vec![Value::Nil])
    );
}

#[test]
fn bitfield_errors_and_read_only_form() {
    let server = TestServer::start();
    let mut c = server.client();
    set_bytes(&mut c, "k", &[0xff, 0x6f]);
    for ty in ["u64", "i65", "I8", "i0", "x8", "u", "i08"] {
        assert_eq!(
            error(&mut c, &["BITFIELD", "k", "GET", ty, "0"]),
            BAD_TYPE,
            "{ty}"
        );
    }
    for offset in ["-1", "x", "#-1", "#x", "##1"] {
        assert_eq!(
            error(&mut c, &["BITFIELD", "k", "GET", "u8", offset]),
            BAD_OFFSET,
            "{offset}"
        );
    }
    assert_eq!(
        error(&mut c, &["BITFIELD", "k", "OVERFLOW", "FOO"]),
        "ERR Invalid OVERFLOW type specified"
    );
    for bad in [
        &["BITFIELD", "k", "FOO"][..],
        &["BITFIELD", "k", "GET", "u8"],
        &["BITFIELD", "k", "SET", "u8", "0"],
        &["BITFIELD", "k", "OVERFLOW"],
    ] {
        assert_eq!(error(&mut c, bad), "ERR syntax error", "{bad:?}");
    }
    assert_eq!(
        error(&mut c, &["BITFIELD", "k", "INCRBY", "u8", "0", "x"]),
        "ERR value is not an integer or out of range"
    );
    // A bad operation anywhere means none runs.
    assert_eq!(
        error(
            &mut c,
            &["BITFIELD", "k", "SET", "u8", "0", "0", "GET", "u64", "0"]
        ),
        BAD_TYPE
    );
    assert_eq!(get_bytes(&mut c, "k").unwrap(), [0xff, 0x6f]);
    // BITFIELD_RO: GET only.
    assert_eq!(
        value(
            &mut c,
            &["BITFIELD_RO", "k", "GET", "i8", "0", "GET", "u3", "#2"]
        ),
        ints(&[-1, 6])
    );
    assert_eq!(value(&mut c, &["BITFIELD_RO", "k"]), ints(&[]));
    assert_eq!(
        error(
            &mut c,
            &["BITFIELD_RO", "k", "SET", "u8", "0", "1", "GET", "u8", "0"]
        ),
        "ERR BITFIELD_RO only supports the GET subcommand"
    );
    let _: i64 = q(&mut c, &["RPUSH", "list", "a"]);
    assert!(error(&mut c, &["BITFIELD", "list", "GET", "u8", "0"]).starts_with("WRONGTYPE"));
    assert!(error(&mut c, &["BITFIELD", "list", "SET", "u8", "0", "1"]).starts_with("WRONGTYPE"));
}

#[test]
fn bit_commands_raise_keyspace_events() {
    let server = TestServer::start_with(&["--notify-keyspace-events", "E$g"]);
    let mut sub_con = server.client();
    let mut sub = sub_con.as_pubsub();
    sub.psubscribe("__keyevent@0__:*").unwrap();
    sub.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut c = server.client();
    let commands: &[&[&str]] = &[
        &["SETBIT", "b", "3", "1"],
        &["SETBIT", "b", "3", "1"], // no change: no event
        &["BITFIELD", "f", "SET", "u8", "0", "1"],
        &["BITFIELD", "f", "SET", "u8", "0", "1"], // no change: no event
        &["BITFIELD", "f", "GET", "u8", "0"],
        &["BITOP", "OR", "d", "b"],
        &["BITOP", "OR", "d", "nokey"],
        &["SETBIT", "last", "0", "1"],
    ];
    for args in commands {
        let _: Value = q(&mut c, args);
    }
    let expected = [
        ("setbit", "b"),
        ("setbit", "f"),
        ("set", "d"),
        ("del", "d"),
        ("setbit", "last"),
    ];
    for (event, key) in expected {
        let msg = sub.get_message().unwrap();
        assert_eq!(msg.get_channel_name(), format!("__keyevent@0__:{event}"));
        assert_eq!(msg.get_payload::<String>().unwrap(), key);
    }
}

#[test]
fn unchanged_bits_do_not_count_as_changes() {
    let server = TestServer::start();
    let mut c = server.client();
    let changes =
        |c: &mut redis::Connection| info_number(c, "persistence", "rdb_changes_since_last_save");
    let start = changes(&mut c);
    let _: i64 = q(&mut c, &["SETBIT", "k", "0", "0"]);
    assert_eq!(changes(&mut c), start + 1);
    let _: i64 = q(&mut c, &["SETBIT", "k", "0", "0"]);
    let _: Value = q(&mut c, &["BITFIELD", "k", "SET", "i5", "0", "0"]);
    assert_eq!(changes(&mut c), start + 1);
    let _: i64 = q(&mut c, &["SETBIT", "k", "0", "1"]);
    assert_eq!(changes(&mut c), start + 2);
    let _: () = q(&mut c, &["SAVE"]);
    assert_eq!(changes(&mut c), 0);
}

/// A small deterministic generator (xorshift64*), so failures replay from the seed (also
/// used by `chunked_strings`).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// Bytes biased towards runs of 0x00 and 0xff, where edge cases live.
    pub(crate) fn bytes(&mut self, max_len: u64) -> Vec<u8> {
        let len = self.below(max_len + 1);
        (0..len)
            .map(|_| match self.below(4) {
                0 => 0x00,
                1 => 0xff,
                _ => self.next() as u8,
            })
            .collect()
    }
}

/// The model: a value as a vector of bits, most significant bit of byte 0 first.
fn model_bits(value: &[u8]) -> Vec<bool> {
    value
        .iter()
        .flat_map(|b| (0..8).map(move |i| b & (0x80 >> i) != 0))
        .collect()
}

/// Redis's range rule, written out on bit indexes: returns the inclusive bit range.
fn model_range(len_bytes: usize, start: i64, end: i64, bit_unit: bool) -> Option<(usize, usize)> {
    let total = if bit_unit { len_bytes * 8 } else { len_bytes } as i64;
    let fix = |i: i64| (if i < 0 { total + i } else { i }).max(0);
    let (s, e) = (fix(start), fix(end).min(total - 1));
    if s > e {
        return None;
    }
    let (s, e) = (s as usize, e as usize);
    Some(if bit_unit { (s, e) } else { (s * 8, e * 8 + 7) })
}

fn model_bitcount(value: &[u8], range: Option<(i64, i64, bool)>) -> i64 {
    let bits = model_bits(value);
    let bounds = match range {
        None => (!bits.is_empty()).then(|| (0, bits.len() - 1)),
        Some((s, e, _)) if s < 0 && e < 0 && s > e => None,
        Some((s, e, unit)) => model_range(value.len(), s, e, unit),
    };
    bounds.map_or(0, |(a, b)| {
        bits[a..=b].iter().filter(|&&x| x).count() as i64
    })
}

fn model_bitpos(value: &[u8], bit: bool, start: Option<i64>, end: Option<i64>, unit: bool) -> i64 {
    let bits = model_bits(value);
    let bounds = match start {
        None => (!bits.is_empty()).then(|| (0, bits.len() - 1)),
        Some(s) => model_range(value.len(), s, end.unwrap_or(-1), unit),
    };
    let Some((a, b)) = bounds else { return -1 };
    match (a..=b).find(|&i| bits[i] == bit) {
        Some(i) => i as i64,
        None if bit || end.is_some() => -1,
        None => b as i64 + 1,
    }
}

fn model_bitop(op: &str, sources: &[Vec<u8>]) -> Vec<u8> {
    let len = sources.iter().map(Vec::len).max().unwrap_or(0);
    (0..len)
        .map(|i| {
            let byte = |s: &Vec<u8>| s.get(i).copied().unwrap_or(0);
            let mut acc = byte(&sources[0]);
            for s in &sources[1..] {
                acc = match op {
                    "AND" => acc & byte(s),
                    "OR" => acc | byte(s),
                    _ => acc ^ byte(s),
                };
            }
            if op == "NOT" {
                !acc
            } else {
                acc
            }
        })
        .collect()
}

#[test]
fn random_bit_queries_match_a_bit_vector_model() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut rng = Rng(0x5eed_b175_0000_0001);
    for round in 0..300 {
        let value = rng.bytes(40);
        set_bytes(&mut c, "v", &value);
        let len = value.len() as i64 * 8 + 10;
        let unit = rng.below(2) == 1;
        let unit_name = if unit { "BIT" } else { "BYTE" };
        let (s, e) = (rng.range(-len, len), rng.range(-len, len));
        let ctx = format!("round {round}: {value:?} {s} {e} {unit_name}");

        let whole = int(&mut c, &["BITCOUNT", "v"]);
        assert_eq!(whole, model_bitcount(&value, None), "{ctx}");
        let ranged = int(
            &mut c,
            &["BITCOUNT", "v", &s.to_string(), &e.to_string(), unit_name],
        );
        assert_eq!(ranged, model_bitcount(&value, Some((s, e, unit))), "{ctx}");

        for bit in [false, true] {
            let b = if bit { "1" } else { "0" };
            let plain = int(&mut c, &["BITPOS", "v", b]);
            assert_eq!(plain, model_bitpos(&value, bit, None, None, false), "{ctx}");
            let from = int(&mut c, &["BITPOS", "v", b, &s.to_string()]);
            assert_eq!(
                from,
                model_bitpos(&value, bit, Some(s), None, false),
                "{ctx}"
            );
            let between = int(
                &mut c,
                &["BITPOS", "v", b, &s.to_string(), &e.to_string(), unit_name],
            );
            let expected = model_bitpos(&value, bit, Some(s), Some(e), unit);
            assert_eq!(between, expected, "{ctx} bit {b}");
        }

        let op = ["AND", "OR", "XOR", "NOT"][rng.below(4) as usize];
        let count = if op == "NOT" {
            1
        } else {
            1 + rng.below(4) as usize
        };
        let sources: Vec<Vec<u8>> = (0..count).map(|_| rng.bytes(20)).collect();
        let mut cmd = redis::cmd("BITOP");
        cmd.arg(op).arg("dest");
        for (i, source) in sources.iter().enumerate() {
            set_bytes(&mut c, &format!("src{i}"), source);
            cmd.arg(format!("src{i}"));
        }
        let expected = model_bitop(op, &sources);
        let reply: i64 = cmd.query(&mut c).unwrap();
        assert_eq!(reply, expected.len() as i64, "{op} {sources:?}");
        let stored = get_bytes(&mut c, "dest");
        let expected = (!expected.is_empty()).then_some(expected);
        assert_eq!(stored, expected, "{op} {sources:?}");
    }
}
