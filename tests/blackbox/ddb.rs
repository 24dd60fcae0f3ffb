//! Black-box tests: ddb (to be written).
