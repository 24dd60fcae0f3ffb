//! The metadata row every Redis key has (as Apache Kvrocks keeps one per key).
//!
//! Values are serde structs encoded with postcard behind a one-byte format version, so the
//! layout can evolve without ambiguity.

use serde::{Deserialize, Serialize};

/// The Redis data type stored under a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    String,
    Hash,
    ZSet,
    List,
    Set,
    Stream,
}

impl Kind {
    /// The name TYPE reports.
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Hash => "hash",
            Kind::ZSet => "zset",
            Kind::List => "list",
            Kind::Set => "set",
            Kind::Stream => "stream",
        }
    }
}

/// Metadata of one key: its type, expiry, current sub-row version and member count; strings
/// keep their value inline.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub kind: Kind,
    /// Absolute expiry in Unix milliseconds; 0 = no expiry.
    pub expire_at: u64,
    /// Sub-rows of this key live under this version; a new key gets a fresh version so old
    /// sub-rows are unreachable at once and can be reclaimed in the background.
    pub version: u64,
    /// Number of members (hash fields, zset members); a chunked string's byte length.
    pub len: u64,
    /// Inline value (strings; a chunked string's chunk size, see `types::string`).
    #[serde(with = "value_bytes")]
    pub value: MetaValue,
}

impl Clone for Meta {
    /// Written out for the value: `SmallVec`'s own `clone` collects an iterator byte by
    /// byte (~190 instructions for a list's 17-byte ends, on every pop and push), where
    /// `from_slice` copies them at once.
    fn clone(&self) -> Meta {
        Meta {
            kind: self.kind,
            expire_at: self.expire_at,
            version: self.version,
            len: self.len,
            value: MetaValue::from_slice(&self.value),
        }
    }
}

/// A metadata row's inline value: short ones (counters, most small strings) inside the
/// [`Meta`] itself, so a GET reads a cached key's value without following a second pointer,
/// and a SET or INCR allocates nothing for it.
pub type MetaValue = smallvec::SmallVec<[u8; 24]>;

/// [`MetaValue`] encoded as `serde_bytes` encodes a `Vec<u8>` (the stored format).
mod value_bytes {
    use std::fmt;

    use serde::de::{self, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    use super::MetaValue;

    pub fn serialize<S: Serializer>(value: &MetaValue, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<MetaValue, D::Error> {
        deserializer.deserialize_byte_buf(ValueVisitor)
    }

    struct ValueVisitor;

    impl<'de> Visitor<'de> for ValueVisitor {
        type Value = MetaValue;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("bytes")
        }

        fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<MetaValue, E> {
            Ok(MetaValue::from_slice(bytes))
        }

        fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<MetaValue, E> {
            Ok(super::meta_value(bytes))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MetaValue, A::Error> {
            let mut value = MetaValue::new();
            while let Some(byte) = seq.next_element()? {
                value.push(byte);
            }
            Ok(value)
        }
    }
}

/// `value` as a [`MetaValue`]: copied inline if short, else its heap buffer kept.
pub fn meta_value(value: Vec<u8>) -> MetaValue {
    if value.len() <= 24 {
        MetaValue::from_slice(&value)
    } else {
        MetaValue::from_vec(value)
    }
}

/// A list's sequence range `[head, tail)`, kept in its [`Meta::value`] as
/// `layout(1) ‖ head(8) ‖ tail(8)` (see `types::list`, which owns the list's layout). The
/// engine reads it too: list pops leave the rows they take from fjall without a deletion,
/// and the compaction filter removes rows outside the range (see [`super::compaction`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListEnds {
    pub head: u64,
    pub tail: u64,
}

impl ListEnds {
    /// Layout version of the list part of `Meta.value` (lets the layout evolve).
    const LAYOUT_V1: u8 = 1;

    /// The ends stored in a list's metadata (`None` if the value is not a list layout).
    pub fn read(meta: &Meta) -> Option<ListEnds> {
        match meta.value.split_first() {
            Some((&Self::LAYOUT_V1, rest)) if rest.len() == 16 => Some(ListEnds {
                head: u64::from_be_bytes(rest[..8].try_into().expect("8 bytes")),
                tail: u64::from_be_bytes(rest[8..].try_into().expect("8 bytes")),
            }),
            _ => None,
        }
    }

    /// Stores the ends (and the length they imply) in `meta`.
    pub fn write(self, meta: &mut Meta) {
        // 17 bytes: held inside the metadata, nothing allocated per push or pop.
        let mut value = MetaValue::new();
        value.push(Self::LAYOUT_V1);
        value.extend_from_slice(&self.head.to_be_bytes());
        value.extend_from_slice(&self.tail.to_be_bytes());
        meta.value = value;
        meta.len = self.tail - self.head;
    }

    /// Whether the list row with sort key `seq_key` (a big-endian sequence number) holds an
    /// element.
    pub fn holds(&self, seq_key: &[u8]) -> bool {
        match <[u8; 8]>::try_from(seq_key) {
            Ok(seq) => (self.head..self.tail).contains(&u64::from_be_bytes(seq)),
            Err(_) => false,
        }
    }
}

const FORMAT_V1: u8 = 1;

impl Meta {
    pub fn new(kind: Kind, version: u64) -> Meta {
        Meta {
            kind,
            expire_at: 0,
            version,
            len: 0,
            value: MetaValue::new(),
        }
    }

    pub fn string(value: Vec<u8>) -> Meta {
        Meta {
            value: meta_value(value),
            ..Meta::new(Kind::String, 0)
        }
    }

    /// Whether the key keeps rows under its version (and so needs background reclaim when
    /// the version is dropped): every type with members, and strings stored in chunks
    /// (inline strings have version 0, which is never handed out).
    pub fn has_sub_rows(&self) -> bool {
        self.kind != Kind::String || self.version != 0
    }

    /// Whether sub-row `sort_key` of this key's current version may hold data: every row
    /// may, except list rows outside the list's ends (left behind by pops).
    pub fn may_hold_sub_row(&self, sort_key: &[u8]) -> bool {
        match self.kind {
            Kind::List => ListEnds::read(self).is_none_or(|ends| ends.holds(sort_key)),
            _ => true,
        }
    }

    /// Whether the key is expired at `now_ms`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.value.len() + 24);
        out.push(FORMAT_V1);
        postcard::to_io(self, &mut out).expect("writing to a Vec cannot fail");
        out
    }

    /// [`Meta::encode`] straight into a row value: a small row is encoded on the stack and
    /// copied once, not encoded into a vector that is then copied again.
    pub fn encode_row(&self) -> fjall::Slice {
        let mut buf = [0u8; 128];
        buf[0] = FORMAT_V1;
        match postcard::to_slice(self, &mut buf[1..]) {
            Ok(body) => {
                let len = 1 + body.len();
                fjall::Slice::from(&buf[..len])
            }
            Err(_) => fjall::Slice::from(self.encode()),
        }
    }

    pub fn decode(raw: &[u8]) -> Result<Meta, crate::engine::EngineError> {
        match raw.split_first() {
            Some((&FORMAT_V1, body)) => postcard::from_bytes(body)
                .map_err(|e| crate::engine::EngineError::Corrupt(e.to_string())),
            _ => Err(crate::engine::EngineError::Corrupt(
                "unknown metadata format".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut m = Meta::new(Kind::Hash, 42);
        m.expire_at = 1234;
        m.len = 7;
        assert_eq!(Meta::decode(&m.encode()).unwrap(), m);
        let s = Meta::string(b"hello".to_vec());
        assert_eq!(Meta::decode(&s.encode()).unwrap(), s);
        assert!(Meta::decode(&[9, 1, 2]).is_err());
    }

    /// The stored format is the one a `Vec<u8>` value with `serde_bytes` had: rows written
    /// before the value moved inline read back, and rows written now read as they did.
    #[test]
    fn values_short_and_long_keep_the_stored_format() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Stored {
            kind: Kind,
            expire_at: u64,
            version: u64,
            len: u64,
            #[serde(with = "serde_bytes")]
            value: Vec<u8>,
        }
        for value in [
            Vec::new(),
            b"12".to_vec(),
            vec![7; 24],
            vec![9; 25],
            vec![1; 5000],
        ] {
            let meta = Meta {
                expire_at: 99,
                len: 3,
                ..Meta::string(value.clone())
            };
            let stored = Stored {
                kind: Kind::String,
                expire_at: 99,
                version: 0,
                len: 3,
                value: value.clone(),
            };
            let encoded = meta.encode();
            assert_eq!(encoded[1..], postcard::to_allocvec(&stored).unwrap()[..]);
            assert_eq!(&meta.encode_row()[..], &encoded[..]);
            assert_eq!(Meta::decode(&encoded).unwrap(), meta);
            assert_eq!(&Meta::decode(&encoded).unwrap().value[..], &value[..]);
        }
    }
}
