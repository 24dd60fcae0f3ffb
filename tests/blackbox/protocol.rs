//! Black-box tests: protocol (to be written).
