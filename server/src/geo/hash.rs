//! Geohash encoding as Redis does it (`geohash.c`): longitude and latitude are each cut into
//! `2^step` cells, and the two cell numbers are interleaved bit by bit (latitude on the even
//! bits, longitude on the odd ones), so nearby points share a prefix. At step 26 the hash
//! has 52 bits and fits a double exactly: that is a geo set's sorted-set score.
//!
//! Latitudes are limited to ±85.05112878° (the Web Mercator square), as in Redis, so the
//! scores — and everything derived from them — equal real Redis's for the same input.

/// Longitude limits (degrees).
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
/// Latitude limits (degrees): the poles cannot be encoded (EPSG:900913).
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;

/// The precision of stored scores: 26 steps per axis, 52 bits in all.
pub const STEP_MAX: u8 = 26;

/// A coordinate interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// The ranges geo sets encode against.
pub const LONG_RANGE: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
pub const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// A hash of `step` bits per axis (`2 * step` bits in `bits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    /// A cleared box: Redis zeroes neighbour boxes a search does not need.
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The hash left-aligned to 52 bits: the smallest score inside this box.
    pub fn align52(&self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }
}

/// The cell a hash stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub longitude: Range,
    pub latitude: Range,
}

/// The eight boxes around a hash, at the same step.
#[derive(Debug, Clone, Copy, Default)]
pub struct Neighbors {
    pub north: HashBits,
    pub south: HashBits,
    pub east: HashBits,
    pub west: HashBits,
    pub north_east: HashBits,
    pub north_west: HashBits,
    pub south_east: HashBits,
    pub south_west: HashBits,
}

/// Interleaves the low 32 bits of `x` (even positions) and `y` (odd positions).
fn interleave64(x: u32, y: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (u64::from(x), u64::from(y));
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

/// The inverse of [`interleave64`]: even bits in the low half, odd bits in the high half.
fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let (mut x, mut y) = (interleaved, interleaved >> 1);
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// Whether a point can be encoded at all (Redis's `extractLongLatOrReply` check).
pub fn valid_coordinates(longitude: f64, latitude: f64) -> bool {
    (LONG_MIN..=LONG_MAX).contains(&longitude) && (LAT_MIN..=LAT_MAX).contains(&latitude)
}

/// Encodes a point at `step` bits per axis against the given ranges (`None` outside them
/// or outside the geo limits, like `geohashEncode`).
pub fn encode(
    long_range: Range,
    lat_range: Range,
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<HashBits> {
    if step == 0 || step > 32 || !valid_coordinates(longitude, latitude) {
        return None;
    }
    if latitude < lat_range.min
        || latitude > lat_range.max
        || longitude < long_range.min
        || longitude > long_range.max
    {
        return None;
    }
    let cells = (1u64 << step) as f64;
    let lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min) * cells;
    let long_offset = (longitude - long_range.min) / (long_range.max - long_range.min) * cells;
    // Truncating casts, as C's double -> uint32_t conversion.
    Some(HashBits {
        bits: interleave64(lat_offset as u32, long_offset as u32),
        step,
    })
}

/// Encodes against the geo-set ranges.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    encode(LONG_RANGE, LAT_RANGE, longitude, latitude, step)
}

/// The score GEOADD stores for a point (`None` for invalid coordinates).
pub fn score_of(longitude: f64, latitude: f64) -> Option<u64> {
    encode_wgs84(longitude, latitude, STEP_MAX).map(|h| h.align52())
}

/// The cell a hash stands for (`None` for a zeroed hash).
pub fn decode(long_range: Range, lat_range: Range, hash: HashBits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let separated = deinterleave64(hash.bits);
    let lat_cell = separated as u32;
    let long_cell = (separated >> 32) as u32;
    let cells = (1u64 << hash.step) as f64;
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    Some(Area {
        latitude: Range {
            min: lat_range.min + (f64::from(lat_cell) / cells) * lat_scale,
            max: lat_range.min + (f64::from(lat_cell.wrapping_add(1)) / cells) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (f64::from(long_cell) / cells) * long_scale,
            max: long_range.min + (f64::from(long_cell.wrapping_add(1)) / cells) * long_scale,
        },
    })
}

/// Decodes against the geo-set ranges.
pub fn decode_wgs84(hash: HashBits) -> Option<Area> {
    decode(LONG_RANGE, LAT_RANGE, hash)
}

/// The centre of a cell, clamped to the geo limits.
pub fn area_center(area: &Area) -> (f64, f64) {
    let longitude = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let latitude = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (longitude, latitude)
}

/// The (longitude, latitude) a stored score stands for (`decodeGeohash`).
pub fn decode_score(score: f64) -> (f64, f64) {
    let hash = HashBits {
        bits: score as u64,
        step: STEP_MAX,
    };
    // A step-26 hash is never "zero", so decoding cannot fail.
    let area = decode_wgs84(hash).expect("step is non-zero");
    area_center(&area)
}

/// The standard 11-character geohash of a stored score (GEOHASH). Redis encodes against
/// latitude ±85°; a standard geohash uses ±90°, so the point is decoded and re-encoded.
pub fn standard_geohash(score: f64) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (longitude, latitude) = decode_score(score);
    let standard_lat = Range {
        min: -90.0,
        max: 90.0,
    };
    let bits =
        encode(LONG_RANGE, standard_lat, longitude, latitude, STEP_MAX).map_or(0, |h| h.bits);
    (0..11)
        .map(|i| {
            // 52 bits make ten characters and two bits; the 11th is "0" for compatibility.
            let index = if i == 10 {
                0
            } else {
                ((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize
            };
            ALPHABET[index] as char
        })
        .collect()
}

/// Moves a hash one cell along longitude (`east` = +1) keeping its latitude bits.
fn move_x(hash: &mut HashBits, east: bool) {
    let shift = 64 - u32::from(hash.step) * 2;
    let x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let y = hash.bits & 0x5555555555555555;
    let zz = 0x5555555555555555u64 >> shift;
    let x = if east {
        x.wrapping_add(zz + 1)
    } else {
        (x | zz).wrapping_sub(zz + 1)
    };
    hash.bits = (x & (0xaaaaaaaaaaaaaaaa >> shift)) | y;
}

/// Moves a hash one cell along latitude (`north` = +1) keeping its longitude bits.
fn move_y(hash: &mut HashBits, north: bool) {
    let shift = 64 - u32::from(hash.step) * 2;
    let x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let y = hash.bits & 0x5555555555555555;
    let zz = 0xaaaaaaaaaaaaaaaau64 >> shift;
    let y = if north {
        y.wrapping_add(zz + 1)
    } else {
        (y | zz).wrapping_sub(zz + 1)
    };
    hash.bits = x | (y & (0x5555555555555555 >> shift));
}

/// The eight neighbours of a hash (wrapping around at the grid's edges, as Redis does).
pub fn neighbors(hash: HashBits) -> Neighbors {
    let moved = |dx: Option<bool>, dy: Option<bool>| {
        let mut h = hash;
        if let Some(east) = dx {
            move_x(&mut h, east);
        }
        if let Some(north) = dy {
            move_y(&mut h, north);
        }
        h
    };
    Neighbors {
        east: moved(Some(true), None),
        west: moved(Some(false), None),
        south: moved(None, Some(false)),
        north: moved(None, Some(true)),
        north_west: moved(Some(false), Some(true)),
        north_east: moved(Some(true), Some(true)),
        south_east: moved(Some(true), Some(false)),
        south_west: moved(Some(false), Some(false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for (x, y) in [
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (0x3ffffff, 0x1234567),
            (u32::MAX, 7),
        ] {
            let separated = deinterleave64(interleave64(x, y));
            assert_eq!((separated as u32, (separated >> 32) as u32), (x, y));
        }
    }

    #[test]
    fn scores_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania on
        // redis-server 7.0, then ZSCORE.
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698));
        assert_eq!(score_of(15.087269, 37.502669), Some(3479447370796909));
        assert_eq!(score_of(200.0, 100.0), None);
        assert_eq!(score_of(0.0, 85.06), None);
    }

    #[test]
    fn decoding_gives_the_cell_centre() {
        let (lon, lat) = decode_score(3479099956230698.0);
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
    }

    #[test]
    fn standard_geohash_matches_redis() {
        assert_eq!(standard_geohash(3479099956230698.0), "sqc8b49rny0");
        assert_eq!(standard_geohash(3479447370796909.0), "sqdtr74hyu0");
    }

    #[test]
    fn neighbors_are_adjacent_cells() {
        let hash = encode_wgs84(10.0, 10.0, 8).unwrap();
        let area = decode_wgs84(hash).unwrap();
        let n = neighbors(hash);
        let north = decode_wgs84(n.north).unwrap();
        let east = decode_wgs84(n.east).unwrap();
        let south_west = decode_wgs84(n.south_west).unwrap();
        assert_eq!(north.latitude.min, area.latitude.max);
        assert_eq!(north.longitude, area.longitude);
        assert_eq!(east.longitude.min, area.longitude.max);
        assert_eq!(east.latitude, area.latitude);
        assert_eq!(south_west.latitude.max, area.latitude.min);
        assert_eq!(south_west.longitude.max, area.longitude.min);
    }

    #[test]
    fn neighbors_wrap_at_the_antimeridian() {
        let hash = encode_wgs84(179.99, 0.0, 4).unwrap();
        let east = decode_wgs84(neighbors(hash).east).unwrap();
        assert_eq!(east.longitude.min, LONG_MIN);
    }
}
