//! Black-box tests: keys (to be written).
