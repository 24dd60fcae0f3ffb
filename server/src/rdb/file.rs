//! Whole RDB files (`dump.rdb`): `REDIS` + 4-digit version, auxiliary fields, then per
//! database a SELECTDB and its keys (each optionally preceded by expiry, idle or frequency
//! opcodes), then EOF and a CRC-64 of the file (0 when Redis wrote it with checksums off).

use super::read::{is_empty, Reader};
use super::{crc64, RdbError, Result, Value};

const OPCODE_FUNCTION2: u8 = 245;
const OPCODE_MODULE_AUX: u8 = 247;
const OPCODE_IDLE: u8 = 248;
const OPCODE_FREQ: u8 = 249;
const OPCODE_AUX: u8 = 250;
const OPCODE_RESIZEDB: u8 = 251;
const OPCODE_EXPIRETIME_MS: u8 = 252;
const OPCODE_EXPIRETIME: u8 = 253;
const OPCODE_SELECTDB: u8 = 254;
const OPCODE_EOF: u8 = 255;

/// Checksums were added in RDB version 5.
const FIRST_CHECKSUMMED_VERSION: u32 = 5;
/// The newest file version understood (Redis 7.2 writes 11).
const MAX_FILE_VERSION: u32 = 11;

/// One key of an RDB file.
#[derive(Debug, Clone, PartialEq)]
pub struct RdbEntry {
    pub db: u32,
    pub key: Vec<u8>,
    pub value: Value,
    /// Absolute expiry in Unix milliseconds, if any.
    pub expire_at_ms: Option<u64>,
}

/// A parsed RDB file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RdbFile {
    pub version: u32,
    /// Auxiliary fields (`redis-ver`, `ctime`, …) in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    pub entries: Vec<RdbEntry>,
    /// Empty collections found and skipped, as Redis skips them.
    pub skipped_empty: u64,
}

/// Parses a whole RDB file, checking its checksum when it has one.
pub fn parse_file(data: &[u8]) -> Result<RdbFile> {
    let mut entries = Vec::new();
    let mut file = for_each_entry(data, |entry| {
        entries.push(entry);
        Ok::<(), RdbError>(())
    })?;
    file.entries = entries;
    Ok(file)
}

/// Parses a whole RDB file, handing each key to `each` in file order instead of collecting
/// them (a 10 M-key file does not fit in memory decoded), and checks the checksum at the
/// end. The returned [`RdbFile`] has no entries.
pub fn for_each_entry<E: From<RdbError>>(
    data: &[u8],
    mut each: impl FnMut(RdbEntry) -> std::result::Result<(), E>,
) -> std::result::Result<RdbFile, E> {
    let mut r = Reader::new(data);
    let version = header(&mut r)?;
    let mut file = RdbFile {
        version,
        ..RdbFile::default()
    };
    let mut db = 0u32;
    let mut expire_at_ms = None;
    loop {
        match r.u8()? {
            OPCODE_EOF => break,
            OPCODE_SELECTDB => {
                db = u32::try_from(r.length()?).map_err(|_| RdbError::Invalid("db number"))?
            }
            OPCODE_RESIZEDB => {
                r.length()?;
                r.length()?;
            }
            OPCODE_AUX => file.aux.push((r.string()?, r.string()?)),
            OPCODE_EXPIRETIME_MS => expire_at_ms = Some(r.u64_le()?),
            OPCODE_EXPIRETIME => expire_at_ms = Some(u64::from(r.u32_le()?) * 1000),
            // LRU idle time and LFU frequency: redyn does not evict, so they are read past.
            OPCODE_IDLE => {
                r.length()?;
            }
            OPCODE_FREQ => {
                r.u8()?;
            }
            OPCODE_FUNCTION2 => {
                // A Lua function library: redyn has no functions to load it into.
                r.string()?;
            }
            OPCODE_MODULE_AUX => return Err(RdbError::Invalid("module data").into()),
            kind => {
                let key = r.string()?;
                let value = r.value_maybe_empty(kind)?;
                let expire_at_ms = expire_at_ms.take();
                if is_empty(&value) {
                    // Redis skips empty keys on load (with a warning) instead of failing.
                    file.skipped_empty += 1;
                    continue;
                }
                each(RdbEntry {
                    db,
                    key,
                    value,
                    expire_at_ms,
                })?;
            }
        }
    }
    if version >= FIRST_CHECKSUMMED_VERSION {
        let checked_len = r.position();
        let expected = r.u64_le()?;
        if expected != 0 && expected != crc64(&data[..checked_len]) {
            return Err(RdbError::Checksum.into());
        }
    }
    Ok(file)
}

fn header(r: &mut Reader) -> Result<u32> {
    let magic = r.bytes(9).map_err(|_| RdbError::Invalid("RDB header"))?;
    if &magic[..5] != b"REDIS" {
        return Err(RdbError::Invalid("RDB header"));
    }
    let version: u32 = std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or(RdbError::Invalid("RDB header"))?;
    if version == 0 || version > MAX_FILE_VERSION {
        return Err(RdbError::Version(version));
    }
    Ok(version)
}
