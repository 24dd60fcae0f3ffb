//! LZF decompression (the algorithm of liblzf, which Redis uses for `rdbcompression`).
//!
//! Only decompression is needed: redyn writes strings uncompressed, which Redis loads.

use super::{RdbError, Result};

/// Expands `input` into exactly `expected_len` bytes.
pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>> {
    let bad = || RdbError::Invalid("LZF data");
    let mut out = Vec::with_capacity(expected_len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            // A literal run of ctrl + 1 bytes.
            let run = input.get(i..i + ctrl + 1).ok_or_else(bad)?;
            out.extend_from_slice(run);
            i += ctrl + 1;
        } else {
            // A back reference: length in the top 3 bits (7 = one more length byte).
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i).ok_or_else(bad)? as usize;
                i += 1;
            }
            let low = *input.get(i).ok_or_else(bad)? as usize;
            i += 1;
            let distance = ((ctrl & 0x1f) << 8) + low + 1;
            let start = out.len().checked_sub(distance).ok_or_else(bad)?;
            // Byte by byte: the reference may overlap the bytes it produces.
            for k in 0..len + 2 {
                out.push(out[start + k]);
            }
        }
        if out.len() > expected_len {
            return Err(bad());
        }
    }
    if out.len() != expected_len {
        return Err(bad());
    }
    Ok(out)
}
