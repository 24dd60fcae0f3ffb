//! DUMP payloads: a serialized value, the RDB version (2 bytes, little-endian) and a CRC-64
//! (8 bytes, little-endian) of everything before it.

use super::read::Reader;
use super::{crc64, encode_value, RdbError, Result, Value};

/// The RDB version redyn's payloads carry: Redis 7.0's, so 7.0 accepts them.
pub const DUMP_RDB_VERSION: u16 = 10;
/// The newest version accepted: Redis 7.2 (11); its new set encoding is read too.
const MAX_RDB_VERSION: u16 = 11;
const TRAILER_LEN: usize = 10;

/// The DUMP payload of `value`.
pub fn dump_payload(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(&mut out, value);
    out.extend_from_slice(&DUMP_RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Checks the version and checksum of `payload` (Redis's `verifyDumpPayload`).
pub fn verify_payload(payload: &[u8]) -> Result<()> {
    if payload.len() < TRAILER_LEN {
        return Err(RdbError::Truncated);
    }
    let footer = &payload[payload.len() - TRAILER_LEN..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > MAX_RDB_VERSION {
        return Err(RdbError::Version(u32::from(version)));
    }
    let crc = u64::from_le_bytes(footer[2..].try_into().expect("8 bytes"));
    if crc64(&payload[..payload.len() - 8]) != crc {
        return Err(RdbError::Checksum);
    }
    Ok(())
}

/// The value of a DUMP payload. Version and checksum errors come first
/// ([`RdbError::Version`], [`RdbError::Checksum`], [`RdbError::Truncated`] for a payload
/// shorter than its trailer); anything else means the body is malformed.
pub fn parse_payload(payload: &[u8]) -> Result<Value> {
    verify_payload(payload)?;
    let body = &payload[..payload.len() - TRAILER_LEN];
    let mut reader = Reader::new(body);
    let kind = reader.u8()?;
    let value = reader.value(kind)?;
    if !reader.is_at_end() {
        return Err(RdbError::Invalid("trailing bytes"));
    }
    Ok(value)
}
