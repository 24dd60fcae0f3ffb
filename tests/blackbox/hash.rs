//! Black-box tests: hash (to be written).
