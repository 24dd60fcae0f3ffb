//! Redis's compact in-string encodings, as they appear inside RDB strings: ziplist,
//! listpack, intset and zipmap. Each decodes to its elements, integers as decimal text.

use super::{RdbError, Result};

/// A bounds-checked cursor (the blobs come from untrusted payloads).
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Cursor<'a> {
        Cursor { data, pos: 0, what }
    }

    fn bad(&self) -> RdbError {
        RdbError::Invalid(self.what)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.bad())?;
        let slice = self.data.get(self.pos..end).ok_or_else(|| self.bad())?;
        self.pos = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn peek(&self) -> Result<u8> {
        self.data.get(self.pos).copied().ok_or_else(|| self.bad())
    }

    /// `n` little-endian bytes as a sign-extended integer.
    fn int_le(&mut self, n: usize) -> Result<i64> {
        let bytes = self.take(n)?;
        let mut raw = [0u8; 8];
        raw[..n].copy_from_slice(bytes);
        let shift = 64 - 8 * n as u32;
        Ok((i64::from_le_bytes(raw) << shift) >> shift)
    }

    fn u32_le(&mut self) -> Result<u32> {
        Ok(self.int_le(4)? as u32)
    }

    fn u16_le(&mut self) -> Result<u16> {
        Ok(self.int_le(2)? as u16)
    }
}

fn int_text(n: i64) -> Vec<u8> {
    n.to_string().into_bytes()
}

pub mod ziplist {
    //! Ziplist (Redis ≤ 6.2 small lists, hashes, sorted sets; inside quicklist 1 nodes).

    use super::{int_text, Cursor, Result};

    const END: u8 = 0xff;
    const BIG_PREVLEN: u8 = 0xfe;

    pub fn entries(blob: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut c = Cursor::new(blob, "ziplist");
        let total = c.u32_le()? as usize;
        if total != blob.len() {
            return Err(c.bad());
        }
        let _tail_offset = c.u32_le()?;
        let _count = c.u16_le()?;
        let mut out = Vec::new();
        while c.peek()? != END {
            if c.u8()? == BIG_PREVLEN {
                c.take(4)?;
            }
            out.push(entry(&mut c)?);
        }
        if c.pos + 1 != blob.len() {
            return Err(c.bad());
        }
        Ok(out)
    }

    fn entry(c: &mut Cursor) -> Result<Vec<u8>> {
        let enc = c.u8()?;
        let len = match enc >> 6 {
            0 => (enc & 0x3f) as usize,
            1 => (((enc & 0x3f) as usize) << 8) | c.u8()? as usize,
            2 => u32::from_be_bytes(c.take(4)?.try_into().expect("4 bytes")) as usize,
            _ => {
                let n = match enc {
                    0xc0 => c.int_le(2)?,
                    0xd0 => c.int_le(4)?,
                    0xe0 => c.int_le(8)?,
                    0xf0 => c.int_le(3)?,
                    0xfe => c.int_le(1)?,
                    0xf1..=0xfd => i64::from(enc & 0x0f) - 1,
                    _ => return Err(c.bad()),
                };
                return Ok(int_text(n));
            }
        };
        Ok(c.take(len)?.to_vec())
    }
}

pub mod listpack {
    //! Listpack (Redis 7 small hashes, sorted sets, quicklist 2 nodes).

    use super::{int_text, Cursor, Result};

    const END: u8 = 0xff;

    pub fn entries(blob: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut c = Cursor::new(blob, "listpack");
        let total = c.u32_le()? as usize;
        if total != blob.len() {
            return Err(c.bad());
        }
        let _count = c.u16_le()?;
        let mut out = Vec::new();
        while c.peek()? != END {
            let start = c.pos;
            out.push(entry(&mut c)?);
            let entry_len = c.pos - start;
            skip_backlen(&mut c, entry_len)?;
        }
        if c.pos + 1 != blob.len() {
            return Err(c.bad());
        }
        Ok(out)
    }

    fn entry(c: &mut Cursor) -> Result<Vec<u8>> {
        let enc = c.u8()?;
        let string_len = if enc & 0x80 == 0 {
            return Ok(int_text(i64::from(enc & 0x7f)));
        } else if enc & 0xc0 == 0x80 {
            (enc & 0x3f) as usize
        } else if enc & 0xe0 == 0xc0 {
            // 13-bit signed integer.
            let raw = (i64::from(enc & 0x1f) << 8) | i64::from(c.u8()?);
            return Ok(int_text(if raw >= 1 << 12 { raw - (1 << 13) } else { raw }));
        } else if enc & 0xf0 == 0xe0 {
            (((enc & 0x0f) as usize) << 8) | c.u8()? as usize
        } else {
            match enc {
                0xf0 => c.u32_le()? as usize,
                0xf1 => return Ok(int_text(c.int_le(2)?)),
                0xf2 => return Ok(int_text(c.int_le(3)?)),
                0xf3 => return Ok(int_text(c.int_le(4)?)),
                0xf4 => return Ok(int_text(c.int_le(8)?)),
                _ => return Err(c.bad()),
            }
        };
        Ok(c.take(string_len)?.to_vec())
    }

    /// Builds a listpack as Redis's `lpAppend` does: integers, and strings that spell an
    /// integer canonically, take the integer encodings; other strings the string ones.
    #[derive(Default)]
    pub struct Builder {
        body: Vec<u8>,
        count: usize,
    }

    /// The header's element count saturates here (`LP_HDR_NUMELE_UNKNOWN`).
    const COUNT_UNKNOWN: usize = u16::MAX as usize;
    const HEADER_LEN: usize = 6;

    impl Builder {
        pub fn int(&mut self, n: i64) {
            let mut encoded = Vec::with_capacity(9);
            if (0..=127).contains(&n) {
                encoded.push(n as u8);
            } else if (-4096..=4095).contains(&n) {
                let raw = (n as u16) & 0x1fff;
                encoded.extend_from_slice(&[0xc0 | (raw >> 8) as u8, raw as u8]);
            } else if let Ok(n) = i16::try_from(n) {
                encoded.push(0xf1);
                encoded.extend_from_slice(&n.to_le_bytes());
            } else if (-(1 << 23)..(1 << 23)).contains(&n) {
                encoded.push(0xf2);
                encoded.extend_from_slice(&n.to_le_bytes()[..3]);
            } else if let Ok(n) = i32::try_from(n) {
                encoded.push(0xf3);
                encoded.extend_from_slice(&n.to_le_bytes());
            } else {
                encoded.push(0xf4);
                encoded.extend_from_slice(&n.to_le_bytes());
            }
            self.push(&encoded);
        }

        pub fn string(&mut self, s: &[u8]) {
            if let Some(n) = canonical_i64(s) {
                return self.int(n);
            }
            let mut encoded = Vec::with_capacity(s.len() + 5);
            let len = s.len();
            if len < 64 {
                encoded.push(0x80 | len as u8);
            } else if len < 4096 {
                encoded.extend_from_slice(&[0xe0 | (len >> 8) as u8, len as u8]);
            } else {
                encoded.push(0xf0);
                encoded.extend_from_slice(&(len as u32).to_le_bytes());
            }
            encoded.extend_from_slice(s);
            self.push(&encoded);
        }

        /// Appends an encoded entry and its back-length (the entry's size, 7 bits per
        /// byte, most significant first, every byte but the first flagged with 128).
        fn push(&mut self, encoded: &[u8]) {
            self.body.extend_from_slice(encoded);
            let len = encoded.len() as u64;
            let width = backlen_width(encoded.len());
            for i in (0..width).rev() {
                let septet = ((len >> (7 * i)) & 127) as u8;
                let flag = if i + 1 == width { 0 } else { 128 };
                self.body.push(septet | flag);
            }
            self.count += 1;
        }

        pub fn finish(self) -> Vec<u8> {
            let total = HEADER_LEN + self.body.len() + 1;
            let mut out = Vec::with_capacity(total);
            out.extend_from_slice(&(total as u32).to_le_bytes());
            out.extend_from_slice(&(self.count.min(COUNT_UNKNOWN) as u16).to_le_bytes());
            out.extend_from_slice(&self.body);
            out.push(END);
            out
        }
    }

    /// The integer `s` spells if it is its canonical decimal text (Redis's
    /// `lpStringToInt64`): no sign but `-`, no leading zeros, no `-0`.
    fn canonical_i64(s: &[u8]) -> Option<i64> {
        if s.is_empty() || s.len() > 20 {
            return None;
        }
        let n: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
        (n.to_string().as_bytes() == s).then_some(n)
    }

    fn backlen_width(entry_len: usize) -> usize {
        match entry_len {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2097150 => 3,
            2097151..=268435454 => 4,
            _ => 5,
        }
    }

    /// Skips an entry's back-length, whose width follows from the entry's size.
    fn skip_backlen(c: &mut Cursor, entry_len: usize) -> Result<()> {
        c.take(backlen_width(entry_len))?;
        Ok(())
    }
}

pub mod intset {
    //! Intset (small all-integer sets): sorted little-endian integers of one width.

    use super::{int_text, Cursor, Result};

    pub fn members(blob: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut c = Cursor::new(blob, "intset");
        let width = c.u32_le()? as usize;
        if !matches!(width, 2 | 4 | 8) {
            return Err(c.bad());
        }
        let count = c.u32_le()? as usize;
        if blob.len() != 8 + count.saturating_mul(width) {
            return Err(c.bad());
        }
        (0..count).map(|_| Ok(int_text(c.int_le(width)?))).collect()
    }
}

pub mod zipmap {
    //! Zipmap (hashes in RDB files of Redis ≤ 2.4).

    use super::{Cursor, Result};

    const END: u8 = 0xff;
    const BIG_LEN: u8 = 254;

    pub fn pairs(blob: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut c = Cursor::new(blob, "zipmap");
        let _count = c.u8()?;
        let mut out = Vec::new();
        while c.peek()? != END {
            let field = string(&mut c)?;
            let len = length(&mut c)?;
            let free = c.u8()? as usize;
            let value = c.take(len)?.to_vec();
            c.take(free)?;
            out.push((field, value));
        }
        Ok(out)
    }

    fn length(c: &mut Cursor) -> Result<usize> {
        match c.u8()? {
            BIG_LEN => Ok(c.u32_le()? as usize),
            END => Err(c.bad()),
            n => Ok(n as usize),
        }
    }

    fn string(c: &mut Cursor) -> Result<Vec<u8>> {
        let len = length(c)?;
        Ok(c.take(len)?.to_vec())
    }
}
