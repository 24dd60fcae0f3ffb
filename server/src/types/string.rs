//! Strings: a one-item partition; the value lives inline in the metadata row.

use super::error::Result;
use crate::engine::{Kind, Meta, Txn};

/// The value of a string key (WRONGTYPE for other types).
pub fn get(txn: &mut Txn, key: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(super::get_of_kind(txn, key, Kind::String)?.map(|m| m.value))
}

/// Stores a string, replacing whatever the key held. `expire_at`: 0 = no expiry.
pub fn set(txn: &mut Txn, key: &[u8], value: Vec<u8>, expire_at: u64) -> Result<()> {
    let mut meta = Meta::string(value);
    meta.expire_at = expire_at;
    txn.put(key, meta)?;
    Ok(())
}

/// Replaces the value of a string key keeping its TTL (APPEND, SETRANGE, INCR…), or creates it.
pub fn update(txn: &mut Txn, key: &[u8], value: Vec<u8>) -> Result<()> {
    let expire_at = txn.get(key)?.map_or(0, |m| m.expire_at);
    set(txn, key, value, expire_at)
}

/// Applies `change` to the value of a string key, creating an empty one when the key is
/// missing and keeping its TTL (SETBIT, BITFIELD). The row is rewritten only when the value
/// changed (`Txn::put` skips identical rows). Returns `change`'s result.
pub fn modify<R>(txn: &mut Txn, key: &[u8], change: impl FnOnce(&mut Vec<u8>) -> R) -> Result<R> {
    let mut meta =
        super::get_of_kind(txn, key, Kind::String)?.unwrap_or_else(|| Meta::string(Vec::new()));
    let result = change(&mut meta.value);
    txn.put(key, meta)?;
    Ok(result)
}

/// One run of consecutive matching bytes of a longest common subsequence: inclusive ranges
/// in each string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LcsMatch {
    pub a: (usize, usize),
    pub b: (usize, usize),
}

impl LcsMatch {
    /// Bytes in the run (never 0: a run holds at least one matching byte).
    pub fn run_len(&self) -> usize {
        self.a.1 - self.a.0 + 1
    }
}

/// A longest common subsequence of two strings, with its matching runs listed from the end
/// of the strings backwards (the order LCS IDX replies with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lcs {
    pub text: Vec<u8>,
    pub matches: Vec<LcsMatch>,
}

/// Bytes of the dynamic-programming table [`lcs`] needs for strings of these lengths (LCS
/// refuses to allocate more than `proto-max-bulk-len`).
pub fn lcs_table_bytes(a_len: usize, b_len: usize) -> u128 {
    (a_len as u128 + 1) * (b_len as u128 + 1) * 4
}

/// The longest common subsequence of `a` and `b`, by Redis's dynamic-programming algorithm
/// and backtracking order, so ties resolve to the same subsequence Redis reports.
pub fn lcs(a: &[u8], b: &[u8]) -> Lcs {
    let width = b.len() + 1;
    // table[i * width + j] = LCS length of a[..i] and b[..j].
    let mut table = vec![0u32; (a.len() + 1) * width];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let at = |i: usize, j: usize| table[i * width + j];
    let mut text = Vec::with_capacity(at(a.len(), b.len()) as usize);
    let mut matches = Vec::new();
    let mut run: Option<LcsMatch> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        if a[i - 1] == b[j - 1] {
            text.push(a[i - 1]);
            match run.as_mut() {
                // Walking backwards, a match right before the run extends it.
                Some(r) if r.a.0 == i && r.b.0 == j => {
                    r.a.0 -= 1;
                    r.b.0 -= 1;
                }
                Some(_) => matches.extend(run.take()),
                None => {
                    run = Some(LcsMatch {
                        a: (i - 1, i - 1),
                        b: (j - 1, j - 1),
                    })
                }
            }
            i -= 1;
            j -= 1;
            if run.as_ref().is_some_and(|r| r.a.0 == 0 || r.b.0 == 0) {
                matches.extend(run.take());
            }
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            matches.extend(run.take());
        }
    }
    text.reverse();
    Lcs { text, matches }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcs_of_simple_strings() {
        let found = lcs(b"ohmytext", b"mynewtext");
        assert_eq!(found.text, b"mytext");
        assert_eq!(
            found.matches,
            [
                LcsMatch {
                    a: (4, 7),
                    b: (5, 8)
                },
                LcsMatch {
                    a: (2, 3),
                    b: (0, 1)
                },
            ]
        );
        assert_eq!(found.matches[0].run_len(), 4);
        assert!(lcs(b"", b"abc").text.is_empty());
        assert!(lcs(b"abc", b"xyz").matches.is_empty());
    }
}
