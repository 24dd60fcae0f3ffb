//! Search shapes and the boxes that cover them, as Redis's `geohash_helper.c`: a search
//! looks at the geohash box holding the centre and its eight neighbours, at a step coarse
//! enough that those nine boxes cover the whole shape, then filters points by distance.

use super::hash::{self, HashBits, LAT_RANGE, LONG_RANGE};

/// Earth's quadratic mean radius for WGS-84, the radius Redis's distances use.
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
/// Half the Web Mercator square's width: the radius that needs a step-1 box.
const MERCATOR_MAX: f64 = 20037726.37;

fn deg_rad(degrees: f64) -> f64 {
    degrees * (std::f64::consts::PI / 180.0)
}

fn rad_deg(radians: f64) -> f64 {
    radians / (std::f64::consts::PI / 180.0)
}

/// Great-circle distance in meters between two points (haversine, as Redis).
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (lat1r, lon1r, lat2r, lon2r) = (deg_rad(lat1), deg_rad(lon1), deg_rad(lat2), deg_rad(lon2));
    let u = ((lat2r - lat1r) / 2.0).sin();
    let v = ((lon2r - lon1r) / 2.0).sin();
    2.0 * EARTH_RADIUS_IN_METERS * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

/// The step whose boxes are about as large as `range_meters` near `latitude`.
pub fn estimate_steps_by_radius(range_meters: f64, latitude: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    // Make sure the range is included in most of the base cases.
    step -= 2;
    // Boxes get narrower towards the poles: use wider ones there.
    if !(-66.0..=66.0).contains(&latitude) {
        step -= 1;
        if !(-80.0..=80.0).contains(&latitude) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// What a search covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Extent {
    /// BYRADIUS, in the search's unit.
    Radius(f64),
    /// BYBOX width and height, in the search's unit.
    Box { width: f64, height: f64 },
}

/// A search area: its centre, its extent, and the unit's size in meters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub longitude: f64,
    pub latitude: f64,
    pub extent: Extent,
    /// Meters per unit (m = 1, km = 1000, ft = 0.3048, mi = 1609.34).
    pub conversion: f64,
}

impl Shape {
    /// Half the extent in meters along (longitude, latitude).
    fn half_extent_meters(&self) -> (f64, f64) {
        match self.extent {
            Extent::Radius(r) => (r * self.conversion, r * self.conversion),
            Extent::Box { width, height } => (
                width / 2.0 * self.conversion,
                height / 2.0 * self.conversion,
            ),
        }
    }

    /// The distance from the centre to the farthest point of the shape, in meters.
    fn reach_meters(&self) -> f64 {
        let reach = match self.extent {
            Extent::Radius(r) => r,
            Extent::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        };
        reach * self.conversion
    }

    /// The bounding box `[min_lon, min_lat, max_lon, max_lat]`. Longitude spans widen away
    /// from the equator, so the edge nearer the pole decides the width.
    pub fn bounding_box(&self) -> [f64; 4] {
        let (half_width, half_height) = self.half_extent_meters();
        let lat_delta = rad_deg(half_height / EARTH_RADIUS_IN_METERS);
        let long_delta =
            |lat: f64| rad_deg(half_width / EARTH_RADIUS_IN_METERS / deg_rad(lat).cos());
        let long_delta_top = long_delta(self.latitude + lat_delta);
        let long_delta_bottom = long_delta(self.latitude - lat_delta);
        let long_delta = if self.latitude < 0.0 {
            long_delta_bottom
        } else {
            long_delta_top
        };
        [
            self.longitude - long_delta,
            self.latitude - lat_delta,
            self.longitude + long_delta,
            self.latitude + lat_delta,
        ]
    }

    /// The distance in meters from the centre to a point inside the shape, `None` outside.
    pub fn distance_if_inside(&self, longitude: f64, latitude: f64) -> Option<f64> {
        match self.extent {
            Extent::Radius(r) => {
                let d = distance(self.longitude, self.latitude, longitude, latitude);
                (d <= r * self.conversion).then_some(d)
            }
            Extent::Box { width, height } => {
                let (width_m, height_m) = (width * self.conversion, height * self.conversion);
                let lon_distance = distance(longitude, latitude, self.longitude, latitude);
                let lat_distance = distance(longitude, latitude, longitude, self.latitude);
                if lon_distance > width_m / 2.0 || lat_distance > height_m / 2.0 {
                    return None;
                }
                Some(distance(self.longitude, self.latitude, longitude, latitude))
            }
        }
    }

    /// The geohash boxes to scan, in Redis's order (centre, N, S, E, W, NE, NW, SE, SW),
    /// without the ones outside the bounding box and without a neighbour equal to the
    /// neighbour scanned just before (huge radii make neighbours coincide). Like Redis, a
    /// neighbour equal to the centre box is scanned again, so such a search can answer a
    /// point twice.
    pub fn covering_boxes(&self) -> Vec<HashBits> {
        let boxes = self.nine_boxes();
        let mut out: Vec<HashBits> = Vec::with_capacity(9);
        let mut last_neighbor: Option<HashBits> = None;
        for (i, b) in boxes.into_iter().enumerate() {
            if b.is_zero() || (last_neighbor.is_some() && last_neighbor == Some(b)) {
                continue;
            }
            if i > 0 {
                last_neighbor = Some(b);
            }
            out.push(b);
        }
        out
    }

    /// The centre box and its neighbours, unneeded ones zeroed (`geohashCalculateAreasByShapeWGS84`).
    fn nine_boxes(&self) -> [HashBits; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounding_box();
        let reach = self.reach_meters();
        let (lon, lat) = (self.longitude, self.latitude);
        let mut steps = estimate_steps_by_radius(reach, lat);
        let (mut centre, mut n) = boxes_at(lon, lat, steps);

        // The estimated step may leave part of the bounding box outside the nine boxes
        // (near a box's edge, obliquely, or across a pole): then use one step coarser.
        let decoded = |h: HashBits| hash::decode(LONG_RANGE, LAT_RANGE, h);
        let too_close = [
            decoded(n.north).is_some_and(|a| a.latitude.max < max_lat),
            decoded(n.south).is_some_and(|a| a.latitude.min > min_lat),
            decoded(n.east).is_some_and(|a| a.longitude.max < max_lon),
            decoded(n.west).is_some_and(|a| a.longitude.min > min_lon),
        ]
        .contains(&true);
        if steps > 1 && too_close {
            steps -= 1;
            (centre, n) = boxes_at(lon, lat, steps);
        }

        if steps >= 2 {
            if let Some(area) = decoded(centre) {
                let zero = HashBits::default();
                if area.latitude.min < min_lat {
                    (n.south, n.south_west, n.south_east) = (zero, zero, zero);
                }
                if area.latitude.max > max_lat {
                    (n.north, n.north_east, n.north_west) = (zero, zero, zero);
                }
                if area.longitude.min < min_lon {
                    (n.west, n.south_west, n.north_west) = (zero, zero, zero);
                }
                if area.longitude.max > max_lon {
                    (n.east, n.south_east, n.north_east) = (zero, zero, zero);
                }
            }
        }
        [
            centre,
            n.north,
            n.south,
            n.east,
            n.west,
            n.north_east,
            n.north_west,
            n.south_east,
            n.south_west,
        ]
    }
}

/// The box holding a point at `steps`, and its neighbours.
fn boxes_at(longitude: f64, latitude: f64, steps: u8) -> (HashBits, hash::Neighbors) {
    // The centre was validated when the shape was built; an invalid one yields a zero box,
    // which the scan skips (as Redis's zeroed hash).
    let centre = hash::encode_wgs84(longitude, latitude, steps).unwrap_or(HashBits {
        bits: 0,
        step: steps,
    });
    (centre, hash::neighbors(centre))
}

/// The score range `[min, max)` holding every point of a box.
pub fn score_range(b: HashBits) -> (u64, u64) {
    let next = HashBits {
        bits: b.bits + 1,
        step: b.step,
    };
    (b.align52(), next.align52())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circle(longitude: f64, latitude: f64, radius_km: f64) -> Shape {
        Shape {
            longitude,
            latitude,
            extent: Extent::Radius(radius_km),
            conversion: 1000.0,
        }
    }

    #[test]
    fn distance_matches_redis() {
        // GEODIST Sicily Palermo Catania on redis-server 7.0: 166274.1516 m.
        let (a, b) = (
            hash::decode_score(3479099956230698.0),
            hash::decode_score(3479447370796909.0),
        );
        assert_eq!(
            format!("{:.4}", distance(a.0, a.1, b.0, b.1)),
            "166274.1516"
        );
    }

    #[test]
    fn steps_shrink_with_the_radius_and_near_poles() {
        assert_eq!(estimate_steps_by_radius(0.0, 0.0), 26);
        assert!(estimate_steps_by_radius(1_000.0, 0.0) > estimate_steps_by_radius(100_000.0, 0.0));
        assert_eq!(
            estimate_steps_by_radius(1_000.0, 81.0) + 2,
            estimate_steps_by_radius(1_000.0, 0.0)
        );
        assert_eq!(estimate_steps_by_radius(1e9, 0.0), 1);
    }

    #[test]
    fn the_boxes_cover_every_point_inside() {
        let shape = circle(13.5, 38.0, 200.0);
        let ranges: Vec<(u64, u64)> = shape
            .covering_boxes()
            .into_iter()
            .map(score_range)
            .collect();
        for (lon, lat) in [(13.361389, 38.115556), (15.087269, 37.502669), (11.2, 37.9)] {
            let score = hash::score_of(lon, lat).unwrap();
            let (plon, plat) = hash::decode_score(score as f64);
            if shape.distance_if_inside(plon, plat).is_some() {
                assert!(ranges.iter().any(|&(lo, hi)| lo <= score && score < hi));
            }
        }
    }

    #[test]
    fn box_search_checks_both_axes() {
        let shape = Shape {
            longitude: 0.0,
            latitude: 0.0,
            extent: Extent::Box {
                width: 200.0,
                height: 20.0,
            },
            conversion: 1000.0,
        };
        assert!(shape.distance_if_inside(0.5, 0.0).is_some());
        assert!(shape.distance_if_inside(0.0, 0.5).is_none());
        assert!(shape.distance_if_inside(1.5, 0.0).is_none());
    }

    #[test]
    fn bounding_box_is_wider_towards_the_pole() {
        let north = circle(0.0, 60.0, 100.0).bounding_box();
        let south = circle(0.0, -60.0, 100.0).bounding_box();
        assert!((north[2] - north[0] - (south[2] - south[0])).abs() < 1e-9);
        assert!(north[2] - north[0] > circle(0.0, 0.0, 100.0).bounding_box()[2] * 2.0);
    }
}
