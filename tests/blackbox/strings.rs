//! Black-box tests: strings (to be written).
