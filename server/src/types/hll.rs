//! HyperLogLog in Redis's own string representation, so values are interchangeable with
//! Redis (GET/SET/DUMP-style copies keep working):
//!
//! ```text
//! +------+---+-----+----------+
//! | HYLL | E | N/U | Cardin.  |   16-byte header
//! +------+---+-----+----------+
//! ```
//! `E` is the encoding (0 dense, 1 sparse); the cardinality cache is 8 bytes little-endian,
//! its most significant bit set when stale. Dense: 16384 six-bit registers packed LSB first
//! (12288 bytes). Sparse: run-length opcodes `ZERO` (`00xxxxxx`, 1..64 zero registers),
//! `XZERO` (`01xxxxxx yyyyyyyy`, 1..16384 zero registers) and `VAL` (`1vvvvvxx`, 1..4
//! registers of value 1..32).
//!
//! Operations decode the registers into an array, update it, and write the value back only
//! when a register changed (a cardinality-cache refresh patches the header in place), so a
//! value keeps its exact bytes unless its content changes. Changed sparse values are
//! re-encoded in the most compact run-length form, and promoted to dense when a register
//! exceeds 32 or the sparse form would outgrow `hll-sparse-max-bytes`, as in Redis.

use crate::engine::MetaValue;

pub const REGISTERS: usize = 1 << P;
const P: u32 = 14;
/// Bits of the hash left for the run of zeros after the register index.
const Q: u32 = 64 - P;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
pub const HEADER: usize = 16;
pub const DENSE_SIZE: usize = HEADER + (REGISTERS * BITS).div_ceil(8);
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
const CACHE_STALE: u8 = 0x80;
/// 0.5 / ln(2): the estimator's constant for an infinite number of registers.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// Why a string cannot be used as a HyperLogLog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HllError {
    /// Not an HLL at all (bad magic, encoding or dense length): Redis's WRONGTYPE variant.
    NotHll,
    /// Looks like an HLL but its sparse runs do not add up (INVALIDOBJ).
    Corrupt,
}

pub type Registers = Box<[u8; REGISTERS]>;

fn empty_registers() -> Registers {
    Box::new([0u8; REGISTERS])
}

/// Checks what Redis checks before using a string as an HLL: magic, encoding, dense size.
pub fn validate(raw: &[u8]) -> Result<(), HllError> {
    if raw.len() < HEADER || &raw[..4] != b"HYLL" || raw[4] > SPARSE {
        return Err(HllError::NotHll);
    }
    if raw[4] == DENSE && raw.len() != DENSE_SIZE {
        return Err(HllError::NotHll);
    }
    Ok(())
}

pub fn is_dense(raw: &[u8]) -> bool {
    raw[4] == DENSE
}

/// A new, empty HLL: sparse, one XZERO run over every register, cardinality 0.
pub fn create() -> Vec<u8> {
    let mut raw = header(SPARSE);
    raw.extend_from_slice(&xzero(REGISTERS));
    raw
}

fn header(encoding: u8) -> Vec<u8> {
    let mut raw = Vec::with_capacity(HEADER);
    raw.extend_from_slice(b"HYLL");
    raw.extend_from_slice(&[encoding, 0, 0, 0]);
    raw.extend_from_slice(&[0; 8]);
    raw
}

/// MurmurHash64A (Austin Appleby), the hash Redis uses for HLL elements, with its seed.
pub fn murmur64a(data: &[u8]) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    const SEED: u64 = 0xadc8_3b19;
    let mut h = SEED ^ (data.len() as u64).wrapping_mul(M);
    let mut chunks = data.chunks_exact(8);
    for chunk in chunks.by_ref() {
        let mut k = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element lands in and the value it proposes: one more than the number
/// of trailing zeros of the hash bits above the index (at most Q + 1).
pub fn register_for(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

fn dense_get(registers: &[u8], index: usize) -> u8 {
    let bit = index * BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let low = u16::from(registers[byte]);
    let high = u16::from(registers.get(byte + 1).copied().unwrap_or(0));
    (((low | (high << 8)) >> shift) as u8) & REGISTER_MAX
}

fn dense_set(registers: &mut [u8], index: usize, value: u8) {
    let bit = index * BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let mask = u16::from(REGISTER_MAX) << shift;
    let value = u16::from(value) << shift;
    registers[byte] = (registers[byte] & !(mask as u8)) | value as u8;
    if let Some(next) = registers.get_mut(byte + 1) {
        *next = (*next & !((mask >> 8) as u8)) | (value >> 8) as u8;
    }
}

/// One sparse opcode, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

/// The sparse opcodes of `body`. A truncated XZERO reads its missing byte as zero, as
/// Redis does (its strings end with a NUL byte).
fn sparse_ops(body: &[u8]) -> impl Iterator<Item = Op> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let &b = body.get(pos)?;
        pos += 1;
        Some(match b >> 6 {
            0 => Op::Zero(usize::from(b & 0x3f) + 1),
            1 => {
                let low = body.get(pos).copied().unwrap_or(0);
                pos += 1;
                Op::XZero(((usize::from(b & 0x3f) << 8) | usize::from(low)) + 1)
            }
            _ => Op::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 0x3) + 1),
        })
    })
}

/// The registers of a validated HLL. A sparse value whose runs do not cover exactly every
/// register is corrupt.
pub fn registers(raw: &[u8]) -> Result<Registers, HllError> {
    let mut out = empty_registers();
    let body = &raw[HEADER..];
    if is_dense(raw) {
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = dense_get(body, i);
        }
        return Ok(out);
    }
    let mut index = 0usize;
    for op in sparse_ops(body) {
        match op {
            Op::Zero(len) | Op::XZero(len) => index += len,
            Op::Val(value, len) => {
                if index + len > REGISTERS {
                    return Err(HllError::Corrupt);
                }
                out[index..index + len].fill(value);
                index += len;
            }
        }
    }
    if index != REGISTERS {
        return Err(HllError::Corrupt);
    }
    Ok(out)
}

fn xzero(len: usize) -> [u8; 2] {
    let n = len - 1;
    [0x40 | (n >> 8) as u8, (n & 0xff) as u8]
}

/// The most compact sparse encoding of `regs` (`None` if a register is too large for it).
fn encode_sparse(regs: &[u8; REGISTERS]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < REGISTERS {
        let value = regs[i];
        let run = regs[i..].iter().take_while(|&&r| r == value).count();
        if value == 0 {
            let mut left = run;
            while left > 0 {
                if left > SPARSE_ZERO_MAX_LEN {
                    let len = left.min(SPARSE_XZERO_MAX_LEN);
                    out.extend_from_slice(&xzero(len));
                    left -= len;
                } else {
                    out.push((left - 1) as u8);
                    left = 0;
                }
            }
        } else {
            if value > SPARSE_VAL_MAX_VALUE {
                return None;
            }
            let mut left = run;
            while left > 0 {
                let len = left.min(SPARSE_VAL_MAX_LEN);
                out.push(0x80 | ((value - 1) << 2) | (len - 1) as u8);
                left -= len;
            }
        }
        i += run;
    }
    Some(out)
}

fn encode_dense(regs: &[u8; REGISTERS]) -> Vec<u8> {
    let mut body = vec![0u8; DENSE_SIZE - HEADER];
    for (i, &r) in regs.iter().enumerate() {
        dense_set(&mut body, i, r);
    }
    body
}

/// Rewrites `raw` (header kept, cache marked stale) with new registers: dense stays dense;
/// sparse stays sparse unless a register no longer fits it or it would exceed
/// `sparse_max_bytes` (header included).
fn store(raw: &mut MetaValue, regs: &[u8; REGISTERS], sparse_max_bytes: usize) {
    let sparse = if is_dense(raw) {
        None
    } else {
        encode_sparse(regs).filter(|body| HEADER + body.len() <= sparse_max_bytes)
    };
    raw.truncate(HEADER);
    match sparse {
        Some(body) => raw.extend_from_slice(&body),
        None => {
            raw[4] = DENSE;
            raw.extend_from_slice(&encode_dense(regs));
        }
    }
    raw[15] |= CACHE_STALE;
}

/// Marks the cached cardinality stale (a new HLL made by PFADD, as Redis does).
pub fn invalidate_cache(raw: &mut [u8]) {
    raw[15] |= CACHE_STALE;
}

/// PFADD: adds `elements` to the HLL in `raw`; returns whether a register changed.
pub fn add(
    raw: &mut MetaValue,
    elements: &[&[u8]],
    sparse_max_bytes: usize,
) -> Result<bool, HllError> {
    if is_dense(raw) {
        return Ok(add_dense(raw, elements));
    }
    let mut regs = registers(raw)?;
    let mut changed = false;
    for element in elements {
        let (index, value) = register_for(element);
        if value > regs[index] {
            regs[index] = value;
            changed = true;
        }
    }
    if changed {
        store(raw, &regs, sparse_max_bytes);
    }
    Ok(changed)
}

/// PFADD on a dense HLL: raises the touched registers in place, as Redis does, instead of
/// decoding and re-packing all 16,384 of them per call.
fn add_dense(raw: &mut [u8], elements: &[&[u8]]) -> bool {
    let body = &mut raw[HEADER..];
    let mut changed = false;
    for element in elements {
        let (index, value) = register_for(element);
        if value > dense_get(body, index) {
            dense_set(body, index, value);
            changed = true;
        }
    }
    if changed {
        invalidate_cache(raw);
    }
    changed
}

/// Raises every register of `max` to at least the HLL's (PFMERGE, multi-key PFCOUNT).
pub fn merge_into(max: &mut [u8; REGISTERS], raw: &[u8]) -> Result<(), HllError> {
    let regs = registers(raw)?;
    for (m, r) in max.iter_mut().zip(regs.iter()) {
        *m = (*m).max(*r);
    }
    Ok(())
}

/// PFMERGE's write: raises the destination's registers to `max` (the destination was one of
/// the inputs, so it only grows), converting it to dense first when `dense` (an input was
/// dense).
pub fn store_merged(
    raw: &mut MetaValue,
    max: &[u8; REGISTERS],
    dense: bool,
    sparse_max_bytes: usize,
) {
    if dense {
        raw[4] = DENSE;
    }
    store(raw, max, sparse_max_bytes);
}

/// PFCOUNT of one key: the cached cardinality when valid, else a fresh estimate that is
/// written into the header. Returns the count and whether `raw` changed.
pub fn count_cached(raw: &mut [u8]) -> Result<(u64, bool), HllError> {
    if raw[15] & CACHE_STALE == 0 {
        let cached = u64::from_le_bytes(raw[8..16].try_into().expect("8 bytes"));
        return Ok((cached, false));
    }
    let count = estimate(&*registers(raw)?);
    raw[8..16].copy_from_slice(&count.to_le_bytes());
    Ok((count, true))
}

/// The cardinality estimate of a register array (Otmar Ertl's improved estimator, as in
/// Redis 5+: "New cardinality estimation algorithms for HyperLogLog sketches").
pub fn estimate(regs: &[u8; REGISTERS]) -> u64 {
    let m = REGISTERS as f64;
    let mut histogram = [0u32; 64];
    for &r in regs.iter() {
        histogram[usize::from(r)] += 1;
    }
    let q = Q as usize;
    let mut z = m * tau((m - f64::from(histogram[q + 1])) / m);
    for j in (1..=q).rev() {
        z += f64::from(histogram[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

/// PFDEBUG TODENSE / GETREG: converts a sparse HLL to dense; returns whether it converted.
pub fn to_dense(raw: &mut MetaValue) -> Result<bool, HllError> {
    if is_dense(raw) {
        return Ok(false);
    }
    let regs = registers(raw)?;
    raw.truncate(HEADER);
    raw[4] = DENSE;
    raw.extend_from_slice(&encode_dense(&regs));
    Ok(true)
}

/// PFDEBUG DECODE: the sparse opcodes as Redis prints them (`z:len`, `Z:len`, `v:val,len`).
pub fn describe_sparse(raw: &[u8]) -> String {
    let ops: Vec<String> = sparse_ops(&raw[HEADER..])
        .map(|op| match op {
            Op::Zero(len) => format!("z:{len}"),
            Op::XZero(len) => format!("Z:{len}"),
            Op::Val(value, len) => format!("v:{value},{len}"),
        })
        .collect();
    ops.join(" ")
}

/// PFSELFTEST: checks register packing and that sparse and dense forms estimate alike and
/// within the expected error, as Redis's self test does.
pub fn self_test() -> Result<(), String> {
    // Dense packing: every register reads back what was written, neighbours untouched.
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut body = vec![0u8; DENSE_SIZE - HEADER];
    let mut expected = empty_registers();
    for _ in 0..1000 {
        for (i, slot) in expected.iter_mut().enumerate() {
            *slot = (next() % u64::from(REGISTER_MAX + 1)) as u8;
            dense_set(&mut body, i, *slot);
        }
        if (0..REGISTERS).any(|i| dense_get(&body, i) != expected[i]) {
            return Err("TESTFAILED Register error".into());
        }
    }
    // Sparse vs dense, and the estimate's relative error, growing up to a million elements.
    let mut sparse = MetaValue::from_vec(create());
    let mut dense = MetaValue::from_vec(create());
    to_dense(&mut dense).map_err(|_| "TESTFAILED dense conversion".to_string())?;
    let mut regs = empty_registers();
    let relative_error = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint = 10u64;
    let mut batch: Vec<Vec<u8>> = Vec::new();
    for n in 1..=1_000_000u64 {
        let element = next().to_le_bytes().to_vec();
        let (index, value) = register_for(&element);
        regs[index] = regs[index].max(value);
        batch.push(element);
        if n != checkpoint {
            continue;
        }
        let elements: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
        let corrupt = |_| "TESTFAILED corrupt HLL".to_string();
        add(&mut sparse, &elements, 3000).map_err(corrupt)?;
        add(&mut dense, &elements, 3000).map_err(corrupt)?;
        batch.clear();
        let from_sparse = estimate(&*registers(&sparse).map_err(corrupt)?);
        let from_dense = estimate(&*registers(&dense).map_err(corrupt)?);
        let direct = estimate(&regs);
        if from_sparse != from_dense || from_dense != direct {
            return Err(format!(
                "TESTFAILED sparse/dense mismatch at {n}: {from_sparse} vs {from_dense} vs {direct}"
            ));
        }
        // Redis's bound: six standard errors, and off by at most one at 10 elements
        // (collisions make more too likely there).
        let max_error = if n == 10 {
            1.0
        } else {
            (relative_error * 6.0 * n as f64).ceil()
        };
        let error = (direct as f64 - n as f64).abs();
        if error > max_error {
            return Err(format!("TESTFAILED Too big error. card:{n} abserr:{error}"));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_land_where_redis_puts_them() {
        // (register, value) read back with PFDEBUG GETREG from Redis 7.0 after PFADD of
        // each element alone; they cover the hash's 8-byte blocks and its tail.
        let cases: [(&[u8], (usize, u8)); 5] = [
            (b"a", (12711, 2)),
            (b"hello", (9216, 1)),
            (b"", (5938, 2)),
            (b"0123456789abcdefXYZ", (8222, 1)),
            (b"foo-12345", (11011, 2)),
        ];
        for (element, expected) in cases {
            assert_eq!(register_for(element), expected, "{element:?}");
        }
    }

    #[test]
    fn sparse_bytes_match_redis() {
        // PFADD x a b c on Redis 7.0, then PFCOUNT (which fills the cache with 3).
        let mut raw = MetaValue::from_vec(create());
        add(&mut raw, &[b"a", b"b", b"c"], 3000).unwrap();
        count_cached(&mut raw).unwrap();
        let mut expected = b"HYLL\x01\0\0\0\x03\0\0\0\0\0\0\0".to_vec();
        expected.extend_from_slice(&[
            0x60, 0xf3, 0x80, 0x50, 0xb1, 0x84, 0x4b, 0xfb, 0x80, 0x42, 0x5a,
        ]);
        assert_eq!(raw.to_vec(), expected);
        assert_eq!(
            describe_sparse(&raw),
            "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"
        );
    }

    #[test]
    fn dense_registers_pack_six_bits() {
        let mut body = vec![0u8; DENSE_SIZE - HEADER];
        dense_set(&mut body, 0, 63);
        dense_set(&mut body, 1, 1);
        dense_set(&mut body, REGISTERS - 1, 42);
        assert_eq!(body[0], 0x7f);
        assert_eq!(dense_get(&body, 0), 63);
        assert_eq!(dense_get(&body, 1), 1);
        assert_eq!(dense_get(&body, 2), 0);
        assert_eq!(dense_get(&body, REGISTERS - 1), 42);
    }

    #[test]
    fn sparse_round_trip_and_promotion() {
        let mut raw = MetaValue::from_vec(create());
        assert_eq!(raw.len(), HEADER + 2);
        assert_eq!(describe_sparse(&raw), "Z:16384");
        assert!(add(&mut raw, &[b"a", b"b", b"c"], 3000).unwrap());
        assert!(!is_dense(&raw));
        assert_eq!(raw[15] & CACHE_STALE, CACHE_STALE);
        assert!(!add(&mut raw, &[b"a"], 3000).unwrap());
        let (count, changed) = count_cached(&mut raw).unwrap();
        assert_eq!((count, changed), (3, true));
        assert_eq!(count_cached(&mut raw).unwrap(), (3, false));
        // Too small a sparse budget promotes to dense.
        add(&mut raw, &[b"d"], 20).unwrap();
        assert!(is_dense(&raw));
        assert_eq!(raw.len(), DENSE_SIZE);
        assert_eq!(estimate(&registers(&raw).unwrap()), 4);
    }

    #[test]
    fn dense_add_in_place_equals_repacking_the_registers() {
        let mut raw = MetaValue::from_vec(create());
        to_dense(&mut raw).unwrap();
        let mut model = registers(&raw).unwrap();
        for round in 0..50u32 {
            let owned: Vec<Vec<u8>> = (0..200)
                .map(|i| format!("el-{round}-{i}").into_bytes())
                .collect();
            let elements: Vec<&[u8]> = owned.iter().map(|e| e.as_slice()).collect();
            let mut expect_change = false;
            for element in &elements {
                let (index, value) = register_for(element);
                if value > model[index] {
                    model[index] = value;
                    expect_change = true;
                }
            }
            assert_eq!(add(&mut raw, &elements, 3000).unwrap(), expect_change);
            assert_eq!(raw[HEADER..], encode_dense(&model)[..]);
        }
        assert!(is_dense(&raw));
        assert_eq!(raw[15] & CACHE_STALE, CACHE_STALE);
        count_cached(&mut raw).unwrap();
        assert!(!add(&mut raw, &[b"el-0-0"], 3000).unwrap());
        assert_eq!(
            raw[15] & CACHE_STALE,
            0,
            "an unchanged HLL keeps its cached count"
        );
    }

    #[test]
    fn corrupt_values_are_detected() {
        let mut raw = MetaValue::from_vec(create());
        add(&mut raw, &[b"a"], 3000).unwrap();
        let mut longer = raw.clone();
        longer.extend_from_slice(b"hello");
        assert_eq!(registers(&longer).unwrap_err(), HllError::Corrupt);
        let mut magic = raw.clone();
        magic[0] = b'0';
        assert_eq!(validate(&magic), Err(HllError::NotHll));
        let mut dense_short = raw.clone();
        dense_short[4] = DENSE;
        assert_eq!(validate(&dense_short), Err(HllError::NotHll));
        assert_eq!(validate(&raw), Ok(()));
    }

    #[test]
    fn self_test_passes() {
        assert_eq!(self_test(), Ok(()));
    }
}
