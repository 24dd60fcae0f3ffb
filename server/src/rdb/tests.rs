use proptest::prelude::*;

use super::compact::{intset, listpack, ziplist};
use super::*;

#[test]
fn crc64_matches_redis_check_value() {
    // The check value from Redis's crc64.c self-test.
    assert_eq!(crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
}

#[test]
fn lzf_expands_literals_and_back_references() {
    // "abcabcabc": literal "abc" then a back reference of 6 bytes at distance 3.
    let compressed = [2, b'a', b'b', b'c', (4 << 5), 2];
    assert_eq!(lzf::decompress(&compressed, 9).unwrap(), b"abcabcabc");
    assert!(lzf::decompress(&compressed, 8).is_err());
    assert!(lzf::decompress(&[(1 << 5), 9], 3).is_err());
}

#[test]
fn int_encoded_strings_decode_as_text() {
    let mut r = read::Reader::new(&[0xc0, 0xff, 0xc1, 0x00, 0x80, 0xc2, 0x40, 0x42, 0x0f, 0x00]);
    assert_eq!(r.string().unwrap(), b"-1");
    assert_eq!(r.string().unwrap(), b"-32768");
    assert_eq!(r.string().unwrap(), b"1000000");
}

/// A listpack of `entries` (raw encoded entries without back-lengths).
fn listpack_of(entries: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in entries {
        body.extend_from_slice(e);
        body.push(e.len() as u8);
    }
    let total = 6 + body.len() + 1;
    let mut out = (total as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xff);
    out
}

#[test]
fn listpack_decodes_every_entry_encoding() {
    let blob = listpack_of(&[
        &[0x05],                            // 7-bit uint
        &[0x83, b'a', b'b', b'c'],          // 6-bit string
        &[0xdf, 0xff],                      // 13-bit int: -1
        &[0xf1, 0x00, 0x80],                // int16: -32768
        &[0xf2, 0x01, 0x00, 0x01],          // int24: 65537
        &[0xf3, 0xff, 0xff, 0xff, 0x7f],    // int32 max
        &[0xf4, 0, 0, 0, 0, 0, 0, 0, 0x80], // int64 min
    ]);
    let expected: Vec<Vec<u8>> = ["5", "abc", "-1", "-32768", "65537", "2147483647"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain([i64::MIN.to_string().into_bytes()])
        .collect();
    assert_eq!(listpack::entries(&blob).unwrap(), expected);
    let mut truncated = blob.clone();
    truncated.pop();
    assert!(listpack::entries(&truncated).is_err());
}

#[test]
fn ziplist_decodes_strings_and_integers() {
    let entries: &[&[u8]] = &[
        &[0x00, 0x02, b'h', b'i'],       // prevlen 0, 6-bit string
        &[0x04, 0xf1],                   // immediate 0
        &[0x02, 0xfe, 0x80],             // int8 -128
        &[0x03, 0xc0, 0x39, 0x30],       // int16 12345
        &[0x04, 0xf0, 0x00, 0x00, 0x80], // int24 min
    ];
    let body: Vec<u8> = entries.concat();
    let total = 10 + body.len() + 1;
    let mut blob = (total as u32).to_le_bytes().to_vec();
    blob.extend_from_slice(&0u32.to_le_bytes());
    blob.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    blob.extend_from_slice(&body);
    blob.push(0xff);
    let decoded: Vec<String> = ziplist::entries(&blob)
        .unwrap()
        .into_iter()
        .map(|e| String::from_utf8(e).unwrap())
        .collect();
    assert_eq!(decoded, ["hi", "0", "-128", "12345", "-8388608"]);
}

#[test]
fn intset_decodes_members() {
    let mut blob = 2u32.to_le_bytes().to_vec();
    blob.extend_from_slice(&2u32.to_le_bytes());
    blob.extend_from_slice(&(-5i16).to_le_bytes());
    blob.extend_from_slice(&300i16.to_le_bytes());
    assert_eq!(
        intset::members(&blob).unwrap(),
        [b"-5".to_vec(), b"300".to_vec()]
    );
    assert!(intset::members(&blob[..blob.len() - 1]).is_err());
}

#[test]
fn payload_trailer_is_checked() {
    let payload = dump_payload(&Value::String(b"bar".to_vec()));
    // What Redis 7.0 answers to SET foo bar; DUMP foo.
    assert_eq!(
        payload,
        b"\x00\x03bar\x0a\x00\xe6\xbe\x49\x60\xee\x66\xfd\x17".to_vec()
    );
    let mut corrupt = payload.clone();
    corrupt[2] ^= 1;
    assert_eq!(parse_payload(&corrupt), Err(RdbError::Checksum));
    assert_eq!(parse_payload(b"short"), Err(RdbError::Truncated));
}

#[test]
fn empty_collections_are_refused() {
    let payload = dump_payload(&Value::List(Vec::new()));
    assert!(matches!(parse_payload(&payload), Err(RdbError::Invalid(_))));
}

#[test]
fn duplicate_members_are_refused() {
    let dup = || b"m".to_vec();
    for value in [
        Value::Set(vec![dup(), dup()]),
        Value::Hash(vec![(dup(), b"1".to_vec()), (dup(), b"2".to_vec())]),
        Value::ZSet(vec![(dup(), 1.0), (dup(), 2.0)]),
    ] {
        assert!(matches!(
            parse_payload(&dump_payload(&value)),
            Err(RdbError::Invalid(_))
        ));
    }
    let list = Value::List(vec![dup(), dup()]);
    assert_eq!(parse_payload(&dump_payload(&list)).unwrap(), list);
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..80),
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 16000..16500),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let items = || prop::collection::vec(bytes(), 1..20);
    let unique = || prop::collection::btree_set(bytes(), 1..20).prop_map(Vec::from_iter);
    let score = any::<f64>().prop_filter("not NaN", |s| !s.is_nan());
    prop_oneof![
        bytes().prop_map(Value::String),
        items().prop_map(Value::List),
        unique().prop_map(Value::Set),
        prop::collection::btree_map(bytes(), bytes(), 1..20)
            .prop_map(|m| Value::Hash(m.into_iter().collect())),
        prop::collection::btree_map(bytes(), score, 1..20)
            .prop_map(|m| Value::ZSet(m.into_iter().collect())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn payloads_round_trip(v in value()) {
        prop_assert_eq!(parse_payload(&dump_payload(&v)).unwrap(), v);
    }

    #[test]
    fn corrupt_payloads_never_panic(v in value(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut payload = dump_payload(&v);
        let i = at.index(payload.len());
        payload[i] ^= 1 << bit;
        prop_assert!(parse_payload(&payload).is_err());
    }

    #[test]
    fn arbitrary_bodies_never_panic(kind in 0u8..21, body in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut r = read::Reader::new(&body);
        let _ = r.value(kind);
    }
}

#[test]
fn listpack_builder_round_trips_every_encoding() {
    let long = vec![b'x'; 5000];
    let mut lp = listpack::Builder::default();
    let ints = [
        0,
        127,
        128,
        -1,
        -4096,
        4095,
        -32768,
        32767,
        1 << 20,
        -(1 << 23),
        i32::MAX as i64,
        i64::MIN,
    ];
    for n in ints {
        lp.int(n);
    }
    let strings: [&[u8]; 5] = [b"", b"abc", b"007", &[b'y'; 100], &long];
    for s in strings {
        lp.string(s);
    }
    lp.string(b"-42");
    let mut expected: Vec<Vec<u8>> = ints.iter().map(|n| n.to_string().into_bytes()).collect();
    expected.extend(strings.iter().map(|s| s.to_vec()));
    expected.push(b"-42".to_vec());
    assert_eq!(listpack::entries(&lp.finish()).unwrap(), expected);
}

#[test]
fn stream_value_round_trips_through_the_codec() {
    let entry = |ms, deleted, fields: &[(&str, &str)]| NodeEntry {
        id: StreamId::new(ms, 0),
        deleted,
        fields: fields
            .iter()
            .map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect(),
    };
    let stream = StreamValue {
        nodes: vec![StreamNode {
            master: StreamId::new(1, 0),
            entries: vec![
                entry(1, true, &[("a", "1")]),
                entry(2, false, &[("a", "2")]),
                entry(3, false, &[("b", "x"), ("c", "")]),
            ],
        }],
        length: 2,
        last_id: StreamId::new(3, 0),
        first_id: StreamId::new(2, 0),
        max_deleted_id: StreamId::new(1, 0),
        entries_added: 3,
        groups: vec![StreamGroup {
            name: b"g".to_vec(),
            last_id: StreamId::new(3, 0),
            entries_read: EntriesRead::Unknown,
            pending: vec![PendingEntry {
                id: StreamId::new(2, 0),
                delivery_time: 1_700_000_000_000,
                delivery_count: 2,
            }],
            consumers: vec![StreamConsumer {
                name: b"alice".to_vec(),
                seen_time: 1_700_000_000_001,
                pending: vec![StreamId::new(2, 0)],
            }],
        }],
    };
    let value = Value::Stream(Box::new(stream));
    assert_eq!(parse_payload(&dump_payload(&value)).unwrap(), value);
}
