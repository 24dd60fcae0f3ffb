//! Row-key encoding.
//!
//! Every stored row key starts with the key's 2-byte cluster slot, so a slot range is one
//! contiguous key range (shards own slot ranges; SCAN walks slots in order):
//!
//! ```text
//! metadata row:  slot(2) ‖ space(4) ‖ key_len(4) ‖ key
//! sub-row:       metadata row key ‖ version(8) ‖ type-specific sort key
//! ```
//!
//! `space` is the Redis db number (0..15) or a native table id. Everything here is
//! hand-encoded big-endian bytes: serde codecs do not preserve order, key bytes must.

use std::ops::Bound;

/// Number of cluster hash slots (as Redis Cluster).
pub const SLOTS: u16 = 16384;

/// Redis Cluster's key-to-slot mapping: CRC16 (XMODEM) of the key, or of the first
/// non-empty `{hash tag}` in it, modulo 16384.
// Not inlined: where its callers inlined it, the CRC's codegen varied between builds
// (66 to 112 instructions for a 16-byte key, from unrelated changes elsewhere).
#[inline(never)]
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = hash_tag(key).unwrap_or(key);
    XMODEM.checksum(hashed) % SLOTS
}

/// CRC16/XMODEM with 16 lookup tables (slice-by-16): every command hashes its keys at
/// least twice (lock scope, metadata row key), and a byte-at-a-time CRC was 5 % of a
/// pipelined GET's instructions.
const XMODEM: crc::Crc<u16, crc::Table<16>> =
    crc::Crc::<u16, crc::Table<16>>::new(&crc::CRC_16_XMODEM);

fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    // memchr: a byte-by-byte search for a brace that is rarely there cost a 16-byte key
    // ~80 instructions, once per command.
    let open = memchr::memchr(b'{', key)?;
    let close = memchr::memchr(b'}', &key[open + 1..])?;
    (close > 0).then(|| &key[open + 1..open + 1 + close])
}

/// Length of a metadata row key's header (slot, space, key length) before the key itself.
pub const META_HEADER: usize = 2 + 4 + 4;

/// Encodes the metadata row key of `key` in `space`.
pub fn meta_key(space: u32, key: &[u8]) -> Vec<u8> {
    meta_key_in_slot(key_slot(key), space, key)
}

/// [`meta_key`], given the key's slot.
pub fn meta_key_in_slot(slot: u16, space: u32, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(META_HEADER + key.len());
    out.extend_from_slice(&meta_prefix(slot, space, key));
    out.extend_from_slice(key);
    out
}

/// The fixed-length header of `key`'s metadata row key in `space`, given its slot: the
/// partition the write buffer keeps the row under.
pub fn meta_prefix(slot: u16, space: u32, key: &[u8]) -> [u8; META_HEADER] {
    let mut out = [0u8; META_HEADER];
    out[..2].copy_from_slice(&slot.to_be_bytes());
    out[2..6].copy_from_slice(&space.to_be_bytes());
    out[6..].copy_from_slice(&(key.len() as u32).to_be_bytes());
    out
}

/// Whether `raw` is the metadata row key of `key` in `space` (without hashing the key).
pub fn is_meta_key_of(raw: &[u8], space: u32, key: &[u8]) -> bool {
    raw.len() == META_HEADER + key.len()
        && raw[2..6] == space.to_be_bytes()
        && raw[META_HEADER..] == *key
}

/// A decoded metadata row key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaKeyParts<'a> {
    pub slot: u16,
    pub space: u32,
    pub key: &'a [u8],
}

/// Splits a metadata row key into its parts (`None` if it is not one).
pub fn decode_meta_key(raw: &[u8]) -> Option<MetaKeyParts<'_>> {
    if raw.len() < META_HEADER {
        return None;
    }
    let slot = u16::from_be_bytes([raw[0], raw[1]]);
    let space = u32::from_be_bytes(raw[2..6].try_into().ok()?);
    let len = u32::from_be_bytes(raw[6..10].try_into().ok()?) as usize;
    let key = raw.get(META_HEADER..META_HEADER + len)?;
    Some(MetaKeyParts { slot, space, key })
}

/// The slot stored at the front of any row key.
pub fn slot_of_row(raw: &[u8]) -> u16 {
    u16::from_be_bytes([raw[0], raw[1]])
}

/// The first row key of a slot (inclusive lower bound of the slot's range).
pub fn slot_start(slot: u16) -> [u8; 2] {
    slot.to_be_bytes()
}

/// Prefix shared by all sub-rows of one version of a key.
pub fn sub_prefix(meta_key: &[u8], version: u64) -> Vec<u8> {
    sub_row(meta_key, version, &[])
}

/// The row key of sub-row `sort_key` of one version of a key (allocated once, at its size).
pub fn sub_row(meta_key: &[u8], version: u64, sort_key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(meta_key.len() + 8 + sort_key.len());
    out.extend_from_slice(meta_key);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(sort_key);
    out
}

/// The length of a sub-row's prefix (see [`sub_prefix`]): its metadata row key and version.
/// Clamped to the row's length should the row be malformed.
pub fn sub_prefix_len(sub_row: &[u8]) -> usize {
    let key_len = sub_row.get(6..META_HEADER).map_or(0, |len| {
        u32::from_be_bytes(len.try_into().unwrap_or_default()) as usize
    });
    (META_HEADER + key_len + 8).min(sub_row.len())
}

/// A sub-row's user key, version and sort key (clamped to the row should it be malformed).
pub fn sub_row_parts(sub_row: &[u8]) -> (&[u8], u64, &[u8]) {
    let prefix_len = sub_prefix_len(sub_row);
    let version_at = prefix_len.saturating_sub(8);
    let key = sub_row.get(META_HEADER..version_at).unwrap_or_default();
    let version = sub_row[version_at..prefix_len]
        .try_into()
        .map_or(0, u64::from_be_bytes);
    (key, version, &sub_row[prefix_len..])
}

/// The longest row key fjall stores (its keys carry a 16-bit length). A row key is the
/// metadata key plus, for sub-rows, a version and the field or member, so this bounds the key
/// and field/member sizes together; [`Txn::commit`](super::Txn::commit) refuses longer rows
/// with [`EngineError::RowTooLong`](super::EngineError::RowTooLong) instead of letting fjall
/// panic.
pub const MAX_ROW_KEY: usize = u16::MAX as usize;

/// A scan bound fjall accepts, selecting exactly the stored rows the original selects.
/// Every stored row is at most [`MAX_ROW_KEY`] bytes, so for a longer bound `b` with
/// `t = b[..MAX_ROW_KEY]`: the only stored row that can lie between `t` and `b` is `t`
/// itself (any other row starting with `t` would be longer than `t`). Hence a lower bound at
/// `b` is "after `t`" and an upper bound at `b` is "up to and including `t`".
pub fn storable_bound(bound: Bound<Vec<u8>>, is_lower: bool) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(b) | Bound::Excluded(b) if b.len() > MAX_ROW_KEY => {
            let truncated = b[..MAX_ROW_KEY].to_vec();
            if is_lower {
                Bound::Excluded(truncated)
            } else {
                Bound::Included(truncated)
            }
        }
        other => other,
    }
}

/// The smallest byte string greater than every string starting with `prefix`
/// (exclusive upper bound for a prefix range), or `None` if there is none.
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < 0xff {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

/// Order-preserving encoding of an f64: encoded bytes compare like the numbers
/// (`-inf < -1 < -0 = 0`… with -0 folded into 0 so ZADD of -0 and 0 are the same score).
pub fn encode_f64(value: f64) -> [u8; 8] {
    let value = if value == 0.0 { 0.0 } else { value };
    let bits = value.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    ordered.to_be_bytes()
}

/// Inverse of [`encode_f64`].
pub fn decode_f64(raw: [u8; 8]) -> f64 {
    let ordered = u64::from_be_bytes(raw);
    let bits = if ordered >> 63 == 1 {
        ordered & !(1 << 63)
    } else {
        !ordered
    };
    f64::from_bits(bits)
}

/// Order-preserving encoding of an i64 (sign bit flipped, big-endian).
pub fn encode_i64(value: i64) -> [u8; 8] {
    ((value as u64) ^ (1 << 63)).to_be_bytes()
}

/// Inverse of [`encode_i64`].
pub fn decode_i64(raw: [u8; 8]) -> i64 {
    (u64::from_be_bytes(raw) ^ (1 << 63)) as i64
}

/// Order-preserving, self-delimiting encoding of a byte string, for sort keys that are
/// followed by more components: `0x00` is escaped as `0x00 0xFF` and the string ends with
/// `0x00 0x01`, so "a" < "a\0" < "ab" holds for the encodings too.
pub fn encode_bytes_escaped(value: &[u8], out: &mut Vec<u8>) {
    for &b in value {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
    out.extend_from_slice(&[0, 1]);
}

/// Decodes one [`encode_bytes_escaped`] string from the front of `raw`; returns the value and
/// the rest of the input.
pub fn decode_bytes_escaped(raw: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == 0 {
            match raw.get(i + 1)? {
                0xff => out.push(0),
                1 => return Some((out, &raw[i + 2..])),
                _ => return None,
            }
            i += 2;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slots_match_redis_cluster() {
        // Values from the Redis Cluster specification / CLUSTER KEYSLOT.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
    }

    proptest! {
        /// The slot is part of every stored row key: the table-driven CRC must agree with
        /// the byte-at-a-time reference on every input.
        #[test]
        fn crc_matches_the_reference(key in proptest::collection::vec(any::<u8>(), 0..200)) {
            let reference = crc16::State::<crc16::XMODEM>::calculate(&key);
            prop_assert_eq!(XMODEM.checksum(&key), reference);
        }
    }

    #[test]
    fn meta_key_round_trip() {
        let raw = meta_key(3, b"hello");
        let parts = decode_meta_key(&raw).unwrap();
        assert_eq!(parts.space, 3);
        assert_eq!(parts.key, b"hello");
        assert_eq!(parts.slot, key_slot(b"hello"));
    }

    #[test]
    fn a_sub_rows_prefix_is_its_metadata_key_and_version() {
        let prefix = sub_prefix(&meta_key(0, b"list"), 7);
        let mut row = prefix.clone();
        row.extend_from_slice(b"sort key");
        assert_eq!(&row[..sub_prefix_len(&row)], &prefix[..]);
        assert_eq!(sub_prefix_len(&prefix), prefix.len());
        assert_eq!(sub_prefix_len(b"short"), 5);
    }

    #[test]
    fn prefix_successor_bounds_prefix() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xff, 0xff]), None);
    }

    fn finite_or_inf() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>().prop_filter("no NaN", |v| !v.is_nan()),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(0.0),
            Just(-0.0),
        ]
    }

    proptest! {
        #[test]
        fn f64_encoding_preserves_order(a in finite_or_inf(), b in finite_or_inf()) {
            let (ea, eb) = (encode_f64(a), encode_f64(b));
            prop_assert_eq!(a.partial_cmp(&b).unwrap(), ea.cmp(&eb));
            let back = decode_f64(ea);
            prop_assert!(back == a);
        }

        #[test]
        fn i64_encoding_preserves_order(a in any::<i64>(), b in any::<i64>()) {
            prop_assert_eq!(a.cmp(&b), encode_i64(a).cmp(&encode_i64(b)));
            prop_assert_eq!(decode_i64(encode_i64(a)), a);
        }

        #[test]
        fn escaped_bytes_preserve_order(a in proptest::collection::vec(any::<u8>(), 0..8),
                                        b in proptest::collection::vec(any::<u8>(), 0..8),
                                        tail in proptest::collection::vec(any::<u8>(), 0..4)) {
            let (mut ea, mut eb) = (Vec::new(), Vec::new());
            encode_bytes_escaped(&a, &mut ea);
            encode_bytes_escaped(&b, &mut eb);
            prop_assert_eq!(a.cmp(&b), ea.cmp(&eb));
            // Followed by more components, the string still decodes and order still holds.
            let mut ea_tail = ea.clone();
            ea_tail.extend_from_slice(&tail);
            let (decoded, rest) = decode_bytes_escaped(&ea_tail).unwrap();
            prop_assert_eq!(&decoded, &a);
            prop_assert_eq!(rest, &tail[..]);
        }

        #[test]
        fn meta_keys_group_by_slot(a in proptest::collection::vec(any::<u8>(), 0..16)) {
            let raw = meta_key(0, &a);
            prop_assert_eq!(slot_of_row(&raw), key_slot(&a));
        }
    }
}
