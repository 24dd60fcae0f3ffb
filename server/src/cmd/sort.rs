//! SORT and SORT_RO, with Redis 7.0's semantics, replies and errors.
//!
//! SORT reads the elements of a list, set or sorted set, orders them by their own value or
//! by values found through a BY pattern (`weight_*`, `obj_*->field`), keeps a LIMIT window,
//! and answers each element (or the values found through GET patterns). STORE writes the
//! answer as a new list instead (deleting the destination when it is empty).
//!
//! BY and GET patterns name keys only known once the elements are read, so a SORT that uses
//! them runs under every shard lock (like a whole-database command); plain SORT locks only
//! its source and destination.

use std::cmp::Ordering;

use bytes::Bytes;
use redyn_protocol::args::eq_ignore_case;
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::{CmdResult, CommandSpec, Ctx, Flag, ONE_KEY};
use crate::engine::{Kind, Meta, Txn};
use crate::types::{hash, list, set, string, TypeError};
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "sort",
        -2,
        &[Write, DenyOom, Offload],
        ONE_KEY,
        "generic",
        "1.0.0",
        "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.",
        sort,
    ),
    CommandSpec::new(
        "sort_ro",
        -2,
        &[ReadOnly, Offload],
        ONE_KEY,
        "generic",
        "7.0.0",
        "Returns the sorted elements of a list, a set, or a sorted set.",
        sort,
    ),
];

/// The parsed options of one SORT call.
#[derive(Debug, Default)]
struct SortOptions {
    desc: bool,
    alpha: bool,
    /// LIMIT offset count, as given.
    limit: Option<(i64, i64)>,
    /// BY pattern that names other keys (contains `*`).
    by: Option<Bytes>,
    /// BY a pattern without `*` (`nosort`): keep the elements' native order.
    dont_sort: bool,
    gets: Vec<Bytes>,
    store: Option<Bytes>,
}

impl SortOptions {
    /// Whether the patterns may read keys other than the source (then every shard is locked).
    fn reads_other_keys(&self) -> bool {
        let names_keys = |p: &Bytes| p.contains(&b'*');
        self.by.as_ref().is_some_and(names_keys) || self.gets.iter().any(names_keys)
    }
}

/// Parses the options after the key, as `sortCommandGeneric` does: a later ASC/DESC, BY or
/// STORE overrides an earlier one; STORE is a syntax error in SORT_RO.
fn parse_options(args: &[Bytes], read_only: bool) -> Result<SortOptions, CmdError> {
    let mut opts = SortOptions::default();
    let mut i = 0;
    while i < args.len() {
        let left = args.len() - i - 1;
        let word = &args[i];
        if eq_ignore_case(word, "asc") {
            opts.desc = false;
        } else if eq_ignore_case(word, "desc") {
            opts.desc = true;
        } else if eq_ignore_case(word, "alpha") {
            opts.alpha = true;
        } else if eq_ignore_case(word, "limit") && left >= 2 {
            let offset = errors::int_arg(&args[i + 1])?;
            let count = errors::int_arg(&args[i + 2])?;
            opts.limit = Some((offset, count));
            i += 2;
        } else if eq_ignore_case(word, "store") && left >= 1 && !read_only {
            opts.store = Some(args[i + 1].clone());
            i += 1;
        } else if eq_ignore_case(word, "by") && left >= 1 {
            let pattern = args[i + 1].clone();
            // A pattern without `*` cannot name per-element keys: nothing to sort by.
            opts.dont_sort = !pattern.contains(&b'*');
            opts.by = Some(pattern);
            i += 1;
        } else if eq_ignore_case(word, "get") && left >= 1 {
            opts.gets.push(args[i + 1].clone());
            i += 1;
        } else {
            return Err(errors::syntax());
        }
        i += 1;
    }
    Ok(opts)
}

/// The inclusive output window `[start, end]` of LIMIT over `len` elements (empty when
/// `end < start`), clamped as Redis 7.0.15 does so huge values cannot overflow.
fn limit_window(limit: Option<(i64, i64)>, len: i64) -> (i64, i64) {
    let (offset, count) = limit.unwrap_or((0, -1));
    let mut start = offset.clamp(0, len);
    let count = count.clamp(-1, len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    (start, end)
}

/// The value to sort by, per element.
enum SortKey {
    /// Numeric sort: the element's (or looked-up) value as a double; 0 when missing.
    Score(f64),
    /// ALPHA BY pattern: the looked-up value, `None` when missing (sorts first).
    Looked(Option<Vec<u8>>),
    /// ALPHA without BY: the element itself.
    Element,
}

struct Item {
    element: Vec<u8>,
    key: SortKey,
}

fn compare(a: &Item, b: &Item) -> Ordering {
    match (&a.key, &b.key) {
        // Equal scores fall back to the elements so the result is deterministic.
        (SortKey::Score(x), SortKey::Score(y)) => x
            .partial_cmp(y)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.element.cmp(&b.element)),
        (SortKey::Looked(x), SortKey::Looked(y)) => x.cmp(y),
        _ => a.element.cmp(&b.element),
    }
}

/// Parses a sort value as `strtod` with Redis's checks: the whole text must be a number
/// (leading spaces allowed; the empty string is 0), not NaN, and not out of range.
fn parse_sort_score(text: &[u8]) -> Option<f64> {
    if text.is_empty() {
        return Some(0.0);
    }
    let trimmed = std::str::from_utf8(text).ok()?.trim_start();
    let value: f64 = trimmed.parse().ok()?;
    let lower = trimmed.to_ascii_lowercase();
    let overflowed = value.is_infinite() && !lower.contains("inf");
    let digits = lower.split('e').next().unwrap_or("");
    let underflowed = value == 0.0 && digits.bytes().any(|c| (b'1'..=b'9').contains(&c));
    (!value.is_nan() && !overflowed && !underflowed).then_some(value)
}

/// Where a pattern finds its value for one element (`lookupKeyByPattern`).
#[derive(Debug, PartialEq)]
enum Lookup {
    /// `#`: the element itself.
    Element,
    /// The string at this key.
    Key(Vec<u8>),
    /// This field of the hash at this key (`*->field`).
    HashField(Vec<u8>, Vec<u8>),
    /// A pattern without `*`: never a value.
    Nothing,
}

/// Substitutes `element` for the first `*` of `pattern`; a `->field` suffix after it (with
/// a non-empty field) reads a hash field instead of a string.
fn resolve(pattern: &[u8], element: &[u8]) -> Lookup {
    if pattern == b"#" {
        return Lookup::Element;
    }
    let Some(star) = pattern.iter().position(|&c| c == b'*') else {
        return Lookup::Nothing;
    };
    let after_star = &pattern[star + 1..];
    let arrow = after_star
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&at| at + 2 < after_star.len());
    let (postfix, field) = match arrow {
        Some(at) => (&after_star[..at], Some(&after_star[at + 2..])),
        None => (after_star, None),
    };
    let mut key = Vec::with_capacity(star + element.len() + postfix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(postfix);
    match field {
        Some(field) => Lookup::HashField(key, field.to_vec()),
        None => Lookup::Key(key),
    }
}

/// The value a pattern finds for `element`: `None` when the key is missing or holds
/// another type than the pattern reads.
fn lookup(txn: &mut Txn, pattern: &[u8], element: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
    let found = match resolve(pattern, element) {
        Lookup::Element => return Ok(Some(element.to_vec())),
        Lookup::Nothing => return Ok(None),
        Lookup::Key(key) => string::get(txn, &key),
        Lookup::HashField(key, field) => match hash::load(txn, &key) {
            Ok(Some(meta)) => hash::get_field(txn, &key, &meta, &field),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        },
    };
    match found {
        Err(TypeError::WrongType) => Ok(None),
        other => Ok(other?),
    }
}

/// The value to sort on: a list, set or sorted set (WRONGTYPE for other types).
enum Source {
    Missing,
    List(Meta),
    Set(Meta),
    ZSet(Meta),
}

fn load_source(txn: &mut Txn, key: &[u8]) -> Result<Source, CmdError> {
    Ok(match txn.get(key)? {
        None => Source::Missing,
        Some(meta) => match meta.kind {
            Kind::List => Source::List(meta),
            Kind::Set => Source::Set(meta),
            Kind::ZSet => Source::ZSet(meta),
            _ => return Err(errors::wrong_type()),
        },
    })
}

impl Source {
    fn len(&self) -> i64 {
        match self {
            Source::Missing => 0,
            Source::List(meta) | Source::Set(meta) | Source::ZSet(meta) => meta.len as i64,
        }
    }

    /// Lists and sorted sets have a native order (a set's is byte order here).
    fn is_ordered(&self) -> bool {
        matches!(self, Source::List(_) | Source::ZSet(_))
    }

    /// Elements at forward positions `from..=to` in native order (all when `None`).
    fn elements(
        &self,
        ctx: &Ctx,
        txn: &Txn,
        key: &[u8],
        window: Option<(u64, u64)>,
    ) -> Result<Vec<Vec<u8>>, CmdError> {
        let len = self.len() as u64;
        let (from, to) = window.unwrap_or((0, len.saturating_sub(1)));
        if len == 0 || from > to {
            return Ok(Vec::new());
        }
        Ok(match self {
            Source::Missing => Vec::new(),
            Source::List(meta) => list::range(txn, key, meta, from, to)?,
            Source::Set(meta) => set::members(txn, key, meta)?,
            Source::ZSet(meta) => {
                let index = ctx.server.zsets.get(txn, key, meta)?;
                let entries = index.lock().range(from as usize, to as usize + 1);
                entries.into_iter().map(|(_, member)| member).collect()
            }
        })
    }
}

/// The elements SORT orders, and the window of them it outputs.
struct Loaded {
    elements: Vec<Vec<u8>>,
    start: i64,
    end: i64,
}

/// Loads the elements. Without sorting, a list or sorted set gives only the window asked
/// for, in native order (reversed by DESC), as Redis's direct load does.
fn load_elements(
    ctx: &Ctx,
    txn: &Txn,
    key: &[u8],
    source: &Source,
    opts: &SortOptions,
) -> Result<Loaded, CmdError> {
    let len = source.len();
    let (start, end) = limit_window(opts.limit, len);
    if !(opts.dont_sort && source.is_ordered()) {
        let elements = source.elements(ctx, txn, key, None)?;
        return Ok(Loaded {
            elements,
            start,
            end,
        });
    }
    let count = (end - start + 1).max(0);
    if count == 0 {
        return Ok(Loaded {
            elements: Vec::new(),
            start: 0,
            end: -1,
        });
    }
    let window = if opts.desc {
        ((len - 1 - end) as u64, (len - 1 - start) as u64)
    } else {
        (start as u64, end as u64)
    };
    let mut elements = source.elements(ctx, txn, key, Some(window))?;
    if opts.desc {
        elements.reverse();
    }
    Ok(Loaded {
        elements,
        start: 0,
        end: count - 1,
    })
}

/// Orders `elements` as the options say; the error is Redis's when a numeric sort meets a
/// value that is not a double.
fn sort_elements(
    txn: &mut Txn,
    elements: Vec<Vec<u8>>,
    opts: &SortOptions,
) -> Result<Vec<Vec<u8>>, CmdError> {
    let mut items = Vec::with_capacity(elements.len());
    for element in elements {
        let key = match (&opts.by, opts.alpha) {
            (Some(by), true) => SortKey::Looked(lookup(txn, by, &element)?),
            (None, true) => SortKey::Element,
            (by, false) => {
                let value = match by {
                    Some(by) => lookup(txn, by, &element)?,
                    None => Some(element.clone()),
                };
                let score = match value {
                    Some(text) => parse_sort_score(&text).ok_or_else(|| {
                        CmdError::new("ERR One or more scores can't be converted into double")
                    })?,
                    None => 0.0,
                };
                SortKey::Score(score)
            }
        };
        items.push(Item { element, key });
    }
    items.sort_by(|a, b| {
        let order = compare(a, b);
        if opts.desc {
            order.reverse()
        } else {
            order
        }
    });
    Ok(items.into_iter().map(|item| item.element).collect())
}

/// The output values of one element: itself, or one per GET pattern (`None` = missing).
fn output_values(
    txn: &mut Txn,
    element: &[u8],
    gets: &[Bytes],
) -> Result<Vec<Option<Vec<u8>>>, CmdError> {
    if gets.is_empty() {
        return Ok(vec![Some(element.to_vec())]);
    }
    gets.iter()
        .map(|pattern| lookup(txn, pattern, element))
        .collect()
}

/// Replaces `dst` with a list of `values` (deleting it when there are none); the reply is
/// the list's length.
fn store_list(ctx: &mut Ctx, mut txn: Txn, dst: &[u8], values: Vec<Vec<u8>>) -> CmdResult {
    let count = values.len() as i64;
    let existed = txn.delete(dst)?;
    if values.is_empty() {
        if existed {
            txn.notify('g', "del", dst);
            ctx.commit(txn)?;
        }
        return Ok(Reply::Int(0));
    }
    let mut meta = list::load_or_create(&mut txn, dst)?;
    for value in values {
        list::push(&mut txn, dst, &mut meta, list::End::Tail, value)?;
    }
    list::store(&mut txn, dst, meta)?;
    txn.notify('l', "sortstore", dst);
    ctx.commit(txn)?;
    Ok(Reply::Int(count))
}

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination], and SORT_RO (the same without STORE).
fn sort(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let read_only = eq_ignore_case(&args[0], "sort_ro");
    let mut opts = parse_options(&args[2..], read_only)?;
    let key = &args[1];
    let mut txn = if opts.reads_other_keys() {
        ctx.txn_all()
    } else {
        let mut keys: Vec<&[u8]> = vec![key];
        keys.extend(opts.store.as_deref());
        ctx.txn(&keys)
    };
    let source = load_source(&mut txn, key)?;
    if opts.dont_sort && matches!(source, Source::Set(_)) && opts.store.is_some() {
        // A set has no native order to keep: stored results are sorted so they do not
        // depend on the set's layout (Redis forces ALPHA here).
        (opts.dont_sort, opts.alpha, opts.by) = (false, true, None);
    }
    let loaded = load_elements(ctx, &txn, key, &source, &opts)?;
    let elements = if opts.dont_sort {
        loaded.elements
    } else {
        sort_elements(&mut txn, loaded.elements, &opts)?
    };
    let window = if loaded.end >= loaded.start {
        &elements[loaded.start as usize..=loaded.end as usize]
    } else {
        &[]
    };
    let mut values = Vec::with_capacity(window.len() * opts.gets.len().max(1));
    for element in window {
        values.extend(output_values(&mut txn, element, &opts.gets)?);
    }
    match opts.store.clone() {
        Some(dst) => {
            let values = values.into_iter().map(Option::unwrap_or_default).collect();
            store_list(ctx, txn, &dst, values)
        }
        None => Ok(Reply::Array(
            values.into_iter().map(Reply::opt_bulk).collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_resolve_like_lookup_key_by_pattern() {
        assert_eq!(resolve(b"#", b"a"), Lookup::Element);
        assert_eq!(resolve(b"nosort", b"a"), Lookup::Nothing);
        assert_eq!(resolve(b"w_*", b"a"), Lookup::Key(b"w_a".to_vec()));
        assert_eq!(resolve(b"w_*_x", b"a"), Lookup::Key(b"w_a_x".to_vec()));
        assert_eq!(
            resolve(b"o_*->f", b"a"),
            Lookup::HashField(b"o_a".to_vec(), b"f".to_vec())
        );
        // An arrow with no field after it is part of the key name.
        assert_eq!(resolve(b"x:*->", b"a"), Lookup::Key(b"x:a->".to_vec()));
        // Only the first `*` is substituted.
        assert_eq!(resolve(b"*-*", b"a"), Lookup::Key(b"a-*".to_vec()));
    }

    #[test]
    fn limit_windows_clamp_like_redis() {
        assert_eq!(limit_window(None, 5), (0, 4));
        assert_eq!(limit_window(Some((1, 2)), 5), (1, 2));
        assert_eq!(limit_window(Some((-10, 100)), 5), (0, 4));
        assert_eq!(limit_window(Some((5, 10)), 5), (4, 3));
        assert_eq!(limit_window(Some((0, 0)), 5), (0, -1));
        assert_eq!(limit_window(Some((2, i64::MAX)), 3), (2, 2));
        assert_eq!(limit_window(None, 0), (-1, -2));
    }

    #[test]
    fn sort_scores_parse_like_strtod_with_checks() {
        assert_eq!(parse_sort_score(b"1.5"), Some(1.5));
        assert_eq!(parse_sort_score(b" 2"), Some(2.0));
        assert_eq!(parse_sort_score(b""), Some(0.0));
        assert_eq!(parse_sort_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_sort_score(b"0e5"), Some(0.0));
        assert_eq!(parse_sort_score(b"abc"), None);
        assert_eq!(parse_sort_score(b"1x"), None);
        assert_eq!(parse_sort_score(b"nan"), None);
        assert_eq!(parse_sort_score(b"1e400"), None);
        assert_eq!(parse_sort_score(b"1e-400"), None);
    }
}
