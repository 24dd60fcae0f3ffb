//! Hashes: a partition whose sort keys are the fields.
