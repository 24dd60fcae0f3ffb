//! Black-box tests: server (to be written).
