//! Function libraries on disk and in FUNCTION DUMP payloads.
//!
//! Libraries survive restarts in `functions.json` in the data directory (their code, in load
//! order), written to a temporary file and renamed so a crash leaves the old or the new
//! list, never half of one. A DUMP payload is the same list behind a magic tag and followed
//! by a checksum, so RESTORE refuses anything else with Redis's error.

use std::path::{Path, PathBuf};

use super::sha1_hex;

const FILE_NAME: &str = "functions.json";
const MAGIC: &[u8] = b"REDYNFN1";
const CHECKSUM_LEN: usize = 16;

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// The library codes saved in `dir` (none when the file does not exist).
pub fn load(dir: &Path) -> std::io::Result<Vec<String>> {
    match std::fs::read(path(dir)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Replaces the saved libraries with `codes`, atomically.
pub fn save(dir: &Path, codes: &[String]) -> std::io::Result<()> {
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let bytes = serde_json::to_vec(codes).map_err(std::io::Error::other)?;
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path(dir))
}

/// A FUNCTION DUMP payload for `codes`.
pub fn dump(codes: &[String]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend(serde_json::to_vec(codes).expect("strings serialise"));
    let checksum = sha1_hex(&out);
    out.extend(&checksum.as_bytes()[..CHECKSUM_LEN]);
    out
}

/// The library codes in a FUNCTION RESTORE payload, or `None` if it is not one of ours.
pub fn undump(payload: &[u8]) -> Option<Vec<String>> {
    if payload.len() < MAGIC.len() + CHECKSUM_LEN || !payload.starts_with(MAGIC) {
        return None;
    }
    let (body, checksum) = payload.split_at(payload.len() - CHECKSUM_LEN);
    if sha1_hex(body).as_bytes()[..CHECKSUM_LEN] != *checksum {
        return None;
    }
    serde_json::from_slice(&body[MAGIC.len()..]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_round_trips_and_rejects_tampering() {
        let codes = vec!["#!lua name=a\n".to_string()];
        let mut payload = dump(&codes);
        assert_eq!(undump(&payload), Some(codes));
        payload[MAGIC.len()] ^= 1;
        assert_eq!(undump(&payload), None);
        assert_eq!(undump(b"bad"), None);
    }

    #[test]
    fn saved_libraries_are_read_back() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_empty());
        save(dir.path(), &["x".to_string()]).unwrap();
        assert_eq!(load(dir.path()).unwrap(), vec!["x".to_string()]);
    }
}
