//! Black-box tests: connection (to be written).
