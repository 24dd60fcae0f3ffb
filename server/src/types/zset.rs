//! Sorted sets: a partition ordered by (score, member) plus a member index (to be filled in).
