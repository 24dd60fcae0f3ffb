//! Black-box tests: persistence (to be written).
