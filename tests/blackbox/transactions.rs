//! Black-box tests: transactions (to be written).
