//! Geospatial indexing the way Redis does it: a geo set is a sorted set whose scores are
//! 52-bit interleaved geohashes ([`hash`]), so ZRANGE and friends work on it and GEOADD
//! stores exactly the scores real Redis stores. Radius and box searches scan the score
//! ranges of nine geohash boxes around the centre and filter by distance ([`shape`]).
//!
//! Pure functions only: the commands (`cmd/geo.rs`) read and write the sorted set.

pub mod hash;
pub mod shape;

pub use hash::{decode_score, score_of, standard_geohash, valid_coordinates};
pub use shape::{distance, score_range, Extent, Shape};
