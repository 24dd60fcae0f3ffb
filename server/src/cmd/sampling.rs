//! Random sampling shared by HRANDFIELD and ZRANDMEMBER.

use bytes::Bytes;
use rand::seq::IndexedRandom;
use redyn_protocol::args::eq_ignore_case;

use super::errors::{self, CmdError};

/// Parses `key [count [WITH<word>]]`: the optional count and whether the `with` word
/// (WITHVALUES / WITHSCORES) was given.
pub fn parse_args(args: &[Bytes], with_word: &str) -> Result<(Option<i64>, bool), CmdError> {
    let count = match args.len() {
        2 => None,
        3 | 4 => Some(errors::int_arg(&args[2])?),
        _ => return Err(errors::syntax()),
    };
    let with = match args.get(3) {
        None => false,
        Some(arg) if eq_ignore_case(arg, with_word) => true,
        Some(_) => return Err(errors::syntax()),
    };
    if let Some(n) = count {
        if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
            return Err(CmdError::new("ERR value is out of range"));
        }
    }
    Ok((count, with))
}

/// Redis's sampling rules: a positive count picks distinct items (all of them when the
/// count is at least the size), a negative count picks |count| items with repeats.
pub fn pick<T: Clone>(items: &[T], count: i64) -> Vec<T> {
    let mut rng = rand::rng();
    if count >= 0 {
        items
            .choose_multiple(&mut rng, (count as usize).min(items.len()))
            .cloned()
            .collect()
    } else if items.is_empty() {
        Vec::new()
    } else {
        (0..count.unsigned_abs())
            .filter_map(|_| items.choose(&mut rng).cloned())
            .collect()
    }
}

/// One random item, if any.
pub fn pick_one<T: Clone>(items: &[T]) -> Option<T> {
    items.choose(&mut rand::rng()).cloned()
}
