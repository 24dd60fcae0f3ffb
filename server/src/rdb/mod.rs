//! Redis's own serialization format (RDB version 10, as Redis 7.0 writes it): the codec of
//! DUMP/RESTORE payloads and of whole RDB files.
//!
//! A pure codec: it turns bytes into a neutral [`Value`] and back and knows nothing of the
//! engine. Reading accepts every encoding Redis 7.0 (and 7.2's listpack sets) can produce —
//! plain, ziplist, listpack, intset, zipmap, quicklist 1 and 2, int-encoded and
//! LZF-compressed strings, streams of Redis 5 to 7.2. Writing emits the plain encodings
//! (string, list, set, zset 2, hash), which every Redis since 2.x loads, and streams as
//! Redis 7.0 writes them, so a DUMP from redyn restores in real Redis.

mod compact;
mod dump;
mod file;
mod lzf;
mod read;
mod stream;
mod write;

pub use dump::{dump_payload, parse_payload, verify_payload, DUMP_RDB_VERSION};
pub use file::{for_each_entry, parse_file, RdbEntry, RdbFile};
pub use stream::{
    EntriesRead, Id as StreamId, NodeEntry, PendingEntry, StreamConsumer, StreamGroup, StreamNode,
    StreamValue,
};
pub use write::encode_value;

/// A Redis value, independent of how either side stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(Vec<u8>),
    /// Elements from head to tail.
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    /// `(field, value)` pairs.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// `(member, score)` pairs.
    ZSet(Vec<(Vec<u8>, f64)>),
    Stream(Box<StreamValue>),
}

/// Why bytes are not a valid serialized value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RdbError {
    #[error("unexpected end of data")]
    Truncated,
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error("unsupported value type {0}")]
    UnsupportedType(u8),
    #[error("unsupported RDB version {0}")]
    Version(u32),
    #[error("checksum mismatch")]
    Checksum,
}

pub type Result<T> = std::result::Result<T, RdbError>;

/// Value type bytes (`RDB_TYPE_*` in Redis's rdb.h).
mod types {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    /// Redis 7.2 (RDB 11); loaded so 7.2 payloads restore too.
    pub const SET_LISTPACK: u8 = 20;
}

/// CRC-64 as Redis computes it (Jones polynomial, reflected): the DUMP trailer and the RDB
/// file checksum.
fn crc64(bytes: &[u8]) -> u64 {
    const REDIS: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);
    REDIS.checksum(bytes)
}

#[cfg(test)]
mod tests;
