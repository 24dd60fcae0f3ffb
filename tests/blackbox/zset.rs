//! Black-box tests: zset (to be written).
