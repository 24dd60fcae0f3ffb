//! Bit-level operations on string values, as pure functions over byte slices: what SETBIT,
//! GETBIT, BITCOUNT, BITPOS, BITOP and BITFIELD compute, apart from storage so each rule can
//! be unit-tested on its own.
//!
//! Bits are numbered as Redis numbers them: bit 0 is the most significant bit of byte 0.

/// The bit at `offset` (0 past the end of the value: a string is zero-padded on the right).
pub fn get_bit(value: &[u8], offset: u64) -> bool {
    let byte = (offset / 8) as usize;
    value
        .get(byte)
        .is_some_and(|b| b & (0x80 >> (offset % 8)) != 0)
}

/// Sets or clears the bit at `offset` (which must lie inside `value`); returns its old value.
pub fn set_bit(value: &mut [u8], offset: u64, on: bool) -> bool {
    let byte = &mut value[(offset / 8) as usize];
    let mask = 0x80 >> (offset % 8);
    let old = *byte & mask != 0;
    if on {
        *byte |= mask;
    } else {
        *byte &= !mask;
    }
    old
}

/// Whether BITCOUNT/BITPOS ranges count bytes or bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Byte,
    Bit,
}

/// Resolves a BITCOUNT/BITPOS `start end` range over a value of `len` bytes into an inclusive
/// range of bit positions, with Redis's rules: negative indexes count from the end, both ends
/// are clamped into the value, and an inverted range is empty (`None`).
pub fn resolve_range(len: usize, start: i64, end: i64, unit: Unit) -> Option<(u64, u64)> {
    let total = match unit {
        Unit::Byte => len as i64,
        Unit::Bit => len as i64 * 8,
    };
    let from_end = |i: i64| if i < 0 { total.saturating_add(i) } else { i };
    let start = from_end(start).max(0);
    let end = from_end(end).max(0).min(total - 1);
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(match unit {
        Unit::Byte => (start * 8, end * 8 + 7),
        Unit::Bit => (start, end),
    })
}

/// The inclusive bit range covering all of a value of `len` bytes (`None` when empty).
pub fn whole(len: usize) -> Option<(u64, u64)> {
    (len > 0).then(|| (0, len as u64 * 8 - 1))
}

/// Number of set bits between bit positions `first` and `last` (inclusive, inside `value`).
pub fn count_ones(value: &[u8], first: u64, last: u64) -> u64 {
    let (first_byte, last_byte) = ((first / 8) as usize, (last / 8) as usize);
    // Count whole bytes (word by word), then take back the bits of the edge bytes that lie
    // outside the range.
    let bytes = &value[first_byte..=last_byte];
    let mut chunks = bytes.chunks_exact(8);
    let mut count: u64 = chunks
        .by_ref()
        .map(|c| u64::from(u64::from_ne_bytes(c.try_into().expect("8 bytes")).count_ones()))
        .sum();
    count += chunks
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>();
    let before = !(0xffu8 >> (first % 8));
    let after = 0xffu8.checked_shr((last % 8 + 1) as u32).unwrap_or(0);
    count -= u64::from((value[first_byte] & before).count_ones());
    count -= u64::from((value[last_byte] & after).count_ones());
    count
}

/// Position of the first bit equal to `bit` between `first` and `last` (inclusive, inside
/// `value`), if any.
pub fn first_bit(value: &[u8], bit: bool, first: u64, last: u64) -> Option<u64> {
    let (first_byte, last_byte) = ((first / 8) as usize, (last / 8) as usize);
    for (index, &byte) in value[first_byte..=last_byte].iter().enumerate() {
        let index = first_byte + index;
        // Look for a 1 in every case: searching for 0 is searching for 1 in the complement.
        let mut candidates = if bit { byte } else { !byte };
        if index == first_byte {
            candidates &= 0xff >> (first % 8);
        }
        if index == last_byte {
            candidates &= 0xffu8 << (7 - last % 8);
        }
        if candidates != 0 {
            return Some(index as u64 * 8 + u64::from(candidates.leading_zeros()));
        }
    }
    None
}

/// A BITOP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

impl BitOp {
    pub fn parse(name: &[u8]) -> Option<BitOp> {
        Some(match name.to_ascii_lowercase().as_slice() {
            b"and" => BitOp::And,
            b"or" => BitOp::Or,
            b"xor" => BitOp::Xor,
            b"not" => BitOp::Not,
            _ => return None,
        })
    }
}

/// The result of BITOP over `sources`: as long as the longest source, shorter ones (and
/// missing keys, given as empty) zero-padded. NOT takes exactly one source.
pub fn bitop(op: BitOp, sources: &[Vec<u8>]) -> Vec<u8> {
    let max_len = sources.iter().map(Vec::len).max().unwrap_or(0);
    let padded = |source: &Vec<u8>, i: usize| source.get(i).copied().unwrap_or(0);
    (0..max_len)
        .map(|i| {
            let mut bytes = sources.iter().map(|s| padded(s, i));
            let first = bytes.next().unwrap_or(0);
            match op {
                BitOp::Not => !first,
                BitOp::And => bytes.fold(first, |acc, b| acc & b),
                BitOp::Or => bytes.fold(first, |acc, b| acc | b),
                BitOp::Xor => bytes.fold(first, |acc, b| acc ^ b),
            }
        })
        .collect()
}

/// A BITFIELD integer type: `i1`..`i64` or `u1`..`u63`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldType {
    pub signed: bool,
    pub bits: u32,
}

/// How BITFIELD SET/INCRBY treat a value that does not fit the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

impl Overflow {
    pub fn parse(name: &[u8]) -> Option<Overflow> {
        Some(match name.to_ascii_lowercase().as_slice() {
            b"wrap" => Overflow::Wrap,
            b"sat" => Overflow::Sat,
            b"fail" => Overflow::Fail,
            _ => return None,
        })
    }
}

impl FieldType {
    /// Parses `i<bits>` / `u<bits>` (lower-case prefix only, as Redis). u64 is refused: its
    /// values would not fit the signed 64-bit integers Redis replies with.
    pub fn parse(arg: &[u8]) -> Option<FieldType> {
        let (&prefix, digits) = arg.split_first()?;
        let signed = match prefix {
            b'i' => true,
            b'u' => false,
            _ => return None,
        };
        let bits = redyn_protocol::args::parse_i64_strict(digits)?;
        let max = if signed { 64 } else { 63 };
        (1..=max).contains(&bits).then_some(FieldType {
            signed,
            bits: bits as u32,
        })
    }

    fn min(self) -> i128 {
        if self.signed {
            -(1i128 << (self.bits - 1))
        } else {
            0
        }
    }

    fn max(self) -> i128 {
        if self.signed {
            (1i128 << (self.bits - 1)) - 1
        } else {
            (1i128 << self.bits) - 1
        }
    }

    /// `value` reduced modulo 2^bits into the type's range (two's complement wrap-around).
    fn wrap(self, value: i128) -> i128 {
        let modulus = 1i128 << self.bits;
        let low = value.rem_euclid(modulus);
        if self.signed && low > self.max() {
            low - modulus
        } else {
            low
        }
    }

    /// The field's value at bit `offset` (zero past the end of `value`).
    pub fn get(self, value: &[u8], offset: u64) -> i64 {
        let raw = (0..u64::from(self.bits)).fold(0u64, |acc, i| {
            (acc << 1) | u64::from(get_bit(value, offset + i))
        });
        let sign_bit = 1u64 << (self.bits - 1);
        if self.signed && self.bits < 64 && raw & sign_bit != 0 {
            // Sign-extend into the bits above the field.
            (raw | (u64::MAX << self.bits)) as i64
        } else {
            raw as i64
        }
    }

    /// Writes the low `bits` bits of `field` at bit `offset` (which must lie inside `value`).
    pub fn put(self, value: &mut [u8], offset: u64, field: i64) {
        let raw = field as u64;
        for i in 0..self.bits {
            let bit = (raw >> (self.bits - 1 - i)) & 1 == 1;
            set_bit(value, offset + u64::from(i), bit);
        }
    }

    /// The value SET stores: Redis reads the argument as the type's own integer kind (a
    /// negative number given to an unsigned type is a huge unsigned one), then applies the
    /// overflow rule. `None` when FAIL refuses it.
    pub fn fit_set(self, arg: i64, overflow: Overflow) -> Option<i64> {
        let value = if self.signed {
            i128::from(arg)
        } else {
            i128::from(arg as u64)
        };
        self.fit(value, overflow)
    }

    /// The value INCRBY stores (`current + increment` under the overflow rule); `None` when
    /// FAIL refuses it.
    pub fn fit_incr(self, current: i64, increment: i64, overflow: Overflow) -> Option<i64> {
        self.fit(i128::from(current) + i128::from(increment), overflow)
    }

    fn fit(self, value: i128, overflow: Overflow) -> Option<i64> {
        let fitted = if value > self.max() || value < self.min() {
            match overflow {
                Overflow::Fail => return None,
                Overflow::Wrap => self.wrap(value),
                Overflow::Sat if value > self.max() => self.max(),
                Overflow::Sat => self.min(),
            }
        } else {
            value
        };
        Some(fitted as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_and_set_bits_msb_first() {
        let mut v = vec![0u8; 2];
        assert!(!set_bit(&mut v, 1, true));
        assert_eq!(v, [0x40, 0]);
        assert!(set_bit(&mut v, 1, false));
        set_bit(&mut v, 15, true);
        assert_eq!(v, [0, 1]);
        assert!(get_bit(&v, 15));
        assert!(!get_bit(&v, 14));
        assert!(!get_bit(&v, 1000));
    }

    #[test]
    fn ranges_follow_redis_index_rules() {
        assert_eq!(resolve_range(6, 0, -1, Unit::Byte), Some((0, 47)));
        assert_eq!(resolve_range(6, 1, -2, Unit::Byte), Some((8, 39)));
        assert_eq!(resolve_range(6, -2, 1, Unit::Byte), None);
        assert_eq!(resolve_range(6, 0, 1000, Unit::Byte), Some((0, 47)));
        assert_eq!(resolve_range(6, 10, -34, Unit::Bit), Some((10, 14)));
        assert_eq!(resolve_range(0, 0, -1, Unit::Byte), None);
        assert_eq!(resolve_range(4, 4, 10, Unit::Byte), None);
        assert_eq!(
            resolve_range(4, i64::MIN, i64::MAX, Unit::Bit),
            Some((0, 31))
        );
    }

    #[test]
    fn counts_with_partial_edge_bytes() {
        let v = b"foobar";
        let naive = |a: u64, b: u64| (a..=b).filter(|&i| get_bit(v, i)).count() as u64;
        for a in 0..48 {
            for b in a..48 {
                assert_eq!(count_ones(v, a, b), naive(a, b), "{a}..{b}");
            }
        }
        let long = b"__PPxxxxxxxxxxxxxxxxRR__";
        assert_eq!(count_ones(long, 16, 21 * 8 + 7), 74);
    }

    #[test]
    fn finds_first_bit_in_range() {
        let v = [0x00, 0xff, 0x00];
        assert_eq!(first_bit(&v, true, 0, 23), Some(8));
        assert_eq!(first_bit(&v, false, 8, 23), Some(16));
        assert_eq!(first_bit(&v, false, 8, 15), None);
        assert_eq!(first_bit(&v, true, 16, 23), None);
        assert_eq!(first_bit(&[0xff, 0xf0], false, 3, 15), Some(12));
        assert_eq!(first_bit(&[0x0f], true, 0, 3), None);
    }

    #[test]
    fn bitop_pads_shorter_sources() {
        let a = vec![0x01, 0x02, 0xff, 0xff];
        let b = vec![0x01, 0x02, 0xff];
        assert_eq!(bitop(BitOp::And, &[a.clone(), b.clone()]), [1, 2, 0xff, 0]);
        assert_eq!(
            bitop(BitOp::Or, &[a.clone(), b.clone()]),
            [1, 2, 0xff, 0xff]
        );
        assert_eq!(bitop(BitOp::Xor, &[a, b]), [0, 0, 0, 0xff]);
        assert_eq!(bitop(BitOp::Not, &[vec![0xaa, 0]]), [0x55, 0xff]);
        assert!(bitop(BitOp::Or, &[vec![], vec![]]).is_empty());
    }

    #[test]
    fn field_types_parse_like_redis() {
        assert_eq!(
            FieldType::parse(b"i64"),
            Some(FieldType {
                signed: true,
                bits: 64
            })
        );
        assert!(FieldType::parse(b"u63").is_some());
        for bad in [&b"u64"[..], b"i0", b"I8", b"i", b"", b"i08", b"x8", b"i65"] {
            assert_eq!(FieldType::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn fields_read_and_write_across_bytes() {
        let i8t = FieldType::parse(b"i8").unwrap();
        let u3 = FieldType::parse(b"u3").unwrap();
        let mut v = vec![0u8; 3];
        i8t.put(&mut v, 4, -100);
        assert_eq!(i8t.get(&v, 4), -100);
        assert_eq!(v, [0x09, 0xc0, 0]);
        assert_eq!(u3.get(&[0xff, 0x6f], 6), 6);
        let i64t = FieldType::parse(b"i64").unwrap();
        let mut w = vec![0u8; 9];
        i64t.put(&mut w, 3, i64::MIN);
        assert_eq!(i64t.get(&w, 3), i64::MIN);
        // Reads past the end see zeros.
        assert_eq!(
            i64t.get(&[0xff], 0),
            i64::from_be_bytes([0xff, 0, 0, 0, 0, 0, 0, 0])
        );
    }

    #[test]
    fn overflow_rules() {
        let u8t = FieldType::parse(b"u8").unwrap();
        let i8t = FieldType::parse(b"i8").unwrap();
        assert_eq!(u8t.fit_incr(100, 257, Overflow::Wrap), Some(101));
        assert_eq!(u8t.fit_incr(100, 257, Overflow::Sat), Some(255));
        assert_eq!(u8t.fit_incr(100, -255, Overflow::Sat), Some(0));
        assert_eq!(u8t.fit_incr(100, 257, Overflow::Fail), None);
        assert_eq!(i8t.fit_incr(100, 257, Overflow::Wrap), Some(101));
        assert_eq!(i8t.fit_incr(100, 257, Overflow::Sat), Some(127));
        assert_eq!(i8t.fit_incr(100, -255, Overflow::Sat), Some(-128));
        assert_eq!(i8t.fit_set(255, Overflow::Wrap), Some(-1));
        // A negative SET on an unsigned type is a huge unsigned number.
        assert_eq!(u8t.fit_set(-1, Overflow::Sat), Some(255));
        assert_eq!(u8t.fit_set(-1, Overflow::Wrap), Some(255));
        let i64t = FieldType::parse(b"i64").unwrap();
        assert_eq!(i64t.fit_incr(i64::MAX, 1, Overflow::Wrap), Some(i64::MIN));
        assert_eq!(i64t.fit_incr(i64::MIN, -1, Overflow::Sat), Some(i64::MIN));
        let u63 = FieldType::parse(b"u63").unwrap();
        assert_eq!(u63.fit_set(i64::MAX, Overflow::Fail), Some(i64::MAX));
        assert_eq!(u63.fit_incr(i64::MAX, 1, Overflow::Wrap), Some(0));
    }
}
