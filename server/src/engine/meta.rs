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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
}

const FORMAT_V1: u8 = 1;

impl Meta {
    pub fn new(kind: Kind, version: u64) -> Meta {
        Meta {
            kind,
            expire_at: 0,
            version,
            len: 0,
            value: Vec::new(),
        }
    }

    pub fn string(value: Vec<u8>) -> Meta {
        Meta {
            value,
            ..Meta::new(Kind::String, 0)
        }
    }

    /// Whether the key keeps rows under its version (and so needs background reclaim when
    /// the version is dropped): every type with members, and strings stored in chunks
    /// (inline strings have version 0, which is never handed out).
    pub fn has_sub_rows(&self) -> bool {
        self.kind != Kind::String || self.version != 0
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
}
