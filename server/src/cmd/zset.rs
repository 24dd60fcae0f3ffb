//! Sorted-set commands.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use redyn_protocol::args::{eq_ignore_case, parse_f64};
use redyn_protocol::glob::glob_match;
use redyn_protocol::{Reply, RespVersion};

use super::errors::{self, CmdError};
use super::keys::{parse_cursor, parse_scan_options, scan_reply};
use super::wait_queue::{self, Family};
use super::{parse_block_timeout, sampling, CmdResult, CommandSpec, Ctx, Flag, ONE_KEY};
use crate::engine::{Kind, Meta, Txn};
use crate::types::set;
use crate::types::zset::{self, Changes, ZsetIndexes};
use crate::types::zset_index::{cmp_entry, Entry, ZIndex};
use Flag::*;

const TWO_KEYS: super::table::KeySpec = (1, 2, 1);
/// Keys follow a numkeys argument (ZUNION…): declared without fixed positions.
const NUMKEYS: super::table::KeySpec = (0, 0, 0);

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("zadd", -4, &[Write, DenyOom, Fast], ONE_KEY, "sorted_set", "1.2.0", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", zadd),
    CommandSpec::new("zincrby", 4, &[Write, DenyOom, Fast], ONE_KEY, "sorted_set", "1.2.0", "Increments the score of a member in a sorted set.", zincrby),
    CommandSpec::new("zscore", 3, &[ReadOnly, Fast], ONE_KEY, "sorted_set", "1.2.0", "Returns the score of a member in a sorted set.", zscore),
    CommandSpec::new("zmscore", -3, &[ReadOnly, Fast], ONE_KEY, "sorted_set", "6.2.0", "Returns the score of one or more members in a sorted set.", zscore),
    CommandSpec::new("zcard", 2, &[ReadOnly, Fast], ONE_KEY, "sorted_set", "1.2.0", "Returns the number of members in a sorted set.", zcard),
    CommandSpec::new("zcount", 4, &[ReadOnly, Fast], ONE_KEY, "sorted_set", "2.0.0", "Returns the count of members in a sorted set that have scores within a range.", zcount),
    CommandSpec::new("zlexcount", 4, &[ReadOnly, Fast], ONE_KEY, "sorted_set", "2.8.9", "Returns the number of members in a sorted set within a lexicographical range.", zcount),
    CommandSpec::new("zrank", -3, &[ReadOnly, Fast], ONE_KEY, "sorted_set", "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores.", zrank),
    CommandSpec::new("zrevrank", -3, &[ReadOnly, Fast], ONE_KEY, "sorted_set", "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores.", zrank),
    CommandSpec::new("zrange", -4, &[ReadOnly], ONE_KEY, "sorted_set", "1.2.0", "Returns members in a sorted set within a range of indexes.", zrange),
    CommandSpec::new("zrangebyscore", -4, &[ReadOnly], ONE_KEY, "sorted_set", "1.0.5", "Returns members in a sorted set within a range of scores.", zrange),
    CommandSpec::new("zrevrangebyscore", -4, &[ReadOnly], ONE_KEY, "sorted_set", "2.2.0", "Returns members in a sorted set within a range of scores in reverse order.", zrange),
    CommandSpec::new("zrangebylex", -4, &[ReadOnly], ONE_KEY, "sorted_set", "2.8.9", "Returns members in a sorted set within a lexicographical range.", zrange),
    CommandSpec::new("zrevrangebylex", -4, &[ReadOnly], ONE_KEY, "sorted_set", "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order.", zrange),
    CommandSpec::new("zrevrange", -4, &[ReadOnly], ONE_KEY, "sorted_set", "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.", zrange),
    CommandSpec::new("zrangestore", -5, &[Write, DenyOom], TWO_KEYS, "sorted_set", "6.2.0", "Stores a range of members from sorted set in a key.", zrangestore),
    CommandSpec::new("zrem", -3, &[Write, Fast], ONE_KEY, "sorted_set", "1.2.0", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", zrem),
    CommandSpec::new("zremrangebyrank", 4, &[Write], ONE_KEY, "sorted_set", "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", zremrange),
    CommandSpec::new("zremrangebyscore", 4, &[Write], ONE_KEY, "sorted_set", "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", zremrange),
    CommandSpec::new("zremrangebylex", 4, &[Write], ONE_KEY, "sorted_set", "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", zremrange),
    CommandSpec::new("zpopmin", -2, &[Write, Fast], ONE_KEY, "sorted_set", "5.0.0", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", zpop),
    CommandSpec::new("zpopmax", -2, &[Write, Fast], ONE_KEY, "sorted_set", "5.0.0", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", zpop),
    CommandSpec::new("zmpop", -4, &[Write], NUMKEYS, "sorted_set", "7.0.0", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", zmpop),
    CommandSpec::new("bzpopmin", -3, &[Write, NoScript, Fast, Blocking], (1, -2, 1), "sorted_set", "5.0.0", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise.", bzpop),
    CommandSpec::new("bzpopmax", -3, &[Write, NoScript, Fast, Blocking], (1, -2, 1), "sorted_set", "5.0.0", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.", bzpop),
    CommandSpec::new("bzmpop", -5, &[Write, Blocking], NUMKEYS, "sorted_set", "7.0.0", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise.", bzmpop),
    CommandSpec::new("zrandmember", -2, &[ReadOnly], ONE_KEY, "sorted_set", "6.2.0", "Returns one or more random members from a sorted set.", zrandmember),
    CommandSpec::new("zscan", -3, &[ReadOnly], ONE_KEY, "sorted_set", "2.8.0", "Iterates over members and scores of a sorted set.", zscan),
    CommandSpec::new("zunion", -3, &[ReadOnly], NUMKEYS, "sorted_set", "6.2.0", "Returns the union of multiple sorted sets.", zsetop),
    CommandSpec::new("zinter", -3, &[ReadOnly], NUMKEYS, "sorted_set", "6.2.0", "Returns the intersect of multiple sorted sets.", zsetop),
    CommandSpec::new("zdiff", -3, &[ReadOnly], NUMKEYS, "sorted_set", "6.2.0", "Returns the difference between multiple sorted sets.", zsetop),
    CommandSpec::new("zunionstore", -4, &[Write, DenyOom], NUMKEYS, "sorted_set", "2.0.0", "Stores the union of multiple sorted sets in a key.", zsetop),
    CommandSpec::new("zinterstore", -4, &[Write, DenyOom], NUMKEYS, "sorted_set", "2.0.0", "Stores the intersect of multiple sorted sets in a key.", zsetop),
    CommandSpec::new("zdiffstore", -4, &[Write, DenyOom], NUMKEYS, "sorted_set", "6.2.0", "Stores the difference of multiple sorted sets in a key.", zsetop),
    CommandSpec::new("zintercard", -3, &[ReadOnly], NUMKEYS, "sorted_set", "7.0.0", "Returns the number of members of the intersect of multiple sorted sets.", zintercard),
];

fn indexes<'a>(ctx: &Ctx<'a>) -> &'a ZsetIndexes {
    &ctx.server.zsets
}

/// An existing sorted set with its index.
pub(super) struct Opened {
    pub(super) meta: Meta,
    pub(super) index: Arc<Mutex<ZIndex>>,
}

pub(super) fn open(ctx: &Ctx, txn: &mut Txn, key: &[u8]) -> Result<Option<Opened>, CmdError> {
    match zset::load(txn, key)? {
        Some(meta) => {
            let index = indexes(ctx).get(txn, key, &meta)?;
            Ok(Some(Opened { meta, index }))
        }
        None => Ok(None),
    }
}

pub(super) fn open_or_create(ctx: &Ctx, txn: &mut Txn, key: &[u8]) -> Result<Opened, CmdError> {
    if let Some(opened) = open(ctx, txn, key)? {
        return Ok(opened);
    }
    let meta = zset::load_or_create(txn, key)?;
    let index = indexes(ctx).fresh(txn, key, meta.version);
    Ok(Opened { meta, index })
}

/// Stores the set's metadata, commits, and then applies the changes to the index.
pub(super) fn finish(
    ctx: &mut Ctx,
    mut txn: Txn,
    key: &[u8],
    set: Opened,
    changes: Changes,
    event: &'static str,
) -> Result<(), CmdError> {
    if changes.is_empty() {
        return Ok(());
    }
    let emptied = zset::store(&mut txn, key, set.meta)?;
    txn.notify('z', event, key);
    if emptied {
        txn.notify('g', "del", key);
    }
    ctx.commit(txn)?;
    ZsetIndexes::apply(&set.index, changes);
    Ok(())
}

fn score_reply(score: f64) -> Reply {
    Reply::Double(score)
}

/// Members (and scores) as ZRANGE answers: flat in RESP2, [member, score] pairs in RESP3.
fn entries_reply(ctx: &Ctx, entries: Vec<Entry>, with_scores: bool) -> Reply {
    let resp3 = ctx.client.resp == RespVersion::Resp3;
    Reply::Array(if !with_scores {
        entries.into_iter().map(|(_, m)| Reply::bulk(m)).collect()
    } else if resp3 {
        entries
            .into_iter()
            .map(|(s, m)| Reply::Array(vec![Reply::bulk(m), score_reply(s)]))
            .collect()
    } else {
        entries
            .into_iter()
            .flat_map(|(s, m)| [Reply::bulk(m), score_reply(s)])
            .collect()
    })
}

fn parse_score(arg: &[u8]) -> Result<f64, CmdError> {
    errors::float_arg(arg)
}

fn zadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < args.len() {
        match args[i].to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            b"ch" => ch = true,
            b"incr" => incr = true,
            _ => break,
        }
        i += 1;
    }
    let pairs = &args[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(errors::syntax());
    }
    if nx && xx {
        return Err(CmdError::new(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Err(CmdError::new(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && pairs.len() != 2 {
        return Err(CmdError::new(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let scores = pairs
        .chunks(2)
        .map(|p| parse_score(&p[0]))
        .collect::<Result<Vec<_>, _>>()?;
    let mut txn = ctx.txn_args(&args[1..2]);
    if xx && zset::load(&mut txn, key)?.is_none() {
        return Ok(if incr { Reply::Nil } else { Reply::Int(0) });
    }
    let mut set = open_or_create(ctx, &mut txn, key)?;
    let mut changes = Changes::default();
    let (mut added, mut changed) = (0, 0);
    let mut incr_result = None;
    for (pair, score) in pairs.chunks(2).zip(scores) {
        let member = &pair[1];
        let old = changes.score(&set.index.lock(), member);
        let mut new = score;
        if incr {
            new = old.unwrap_or(0.0) + score;
            if new.is_nan() {
                return Err(CmdError::new("ERR resulting score is not a number (NaN)"));
            }
        }
        let allowed = match old {
            None => !xx,
            Some(old) => !nx && (!gt || new > old) && (!lt || new < old),
        };
        if !allowed {
            continue;
        }
        match old {
            None => added += 1,
            Some(old) if old != new => changed += 1,
            _ => {}
        }
        zset::set_score(&mut txn, key, &mut set.meta, member, old, new, &mut changes);
        incr_result = Some(new);
    }
    let event = if incr { "zincr" } else { "zadd" };
    finish(ctx, txn, key, set, changes, event)?;
    Ok(if incr {
        incr_result.map_or(Reply::Nil, score_reply)
    } else if ch {
        Reply::Int(added + changed)
    } else {
        Reply::Int(added)
    })
}

fn zincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let delta = parse_score(&args[2])?;
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let mut set = open_or_create(ctx, &mut txn, key)?;
    let mut changes = Changes::default();
    let old = changes.score(&set.index.lock(), &args[3]);
    let new = old.unwrap_or(0.0) + delta;
    if new.is_nan() {
        return Err(CmdError::new("ERR resulting score is not a number (NaN)"));
    }
    zset::set_score(
        &mut txn,
        key,
        &mut set.meta,
        &args[3],
        old,
        new,
        &mut changes,
    );
    finish(ctx, txn, key, set, changes, "zincr")?;
    Ok(score_reply(new))
}

/// ZSCORE and ZMSCORE.
fn zscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let set = open(ctx, &mut txn, key)?;
    let index = set.as_ref().map(|s| s.index.lock());
    let mut scores = Vec::with_capacity(args.len() - 2);
    for member in &args[2..] {
        let score = index.as_ref().and_then(|i| i.score(member));
        scores.push(score.map_or(Reply::Nil, score_reply));
    }
    if eq_ignore_case(&args[0], "zscore") {
        Ok(scores.pop().expect("one member"))
    } else {
        Ok(Reply::Array(scores))
    }
}

fn zcard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    Ok(Reply::Int(
        zset::load(&mut txn, &args[1])?.map_or(0, |m| m.len as i64),
    ))
}

/// A score bound: `1.5`, `(1.5`, `-inf`, `+inf`.
#[derive(Debug, Clone, Copy)]
struct ScoreBound {
    value: f64,
    exclusive: bool,
}

fn parse_score_bound(arg: &[u8]) -> Result<ScoreBound, CmdError> {
    let err = || CmdError::new("ERR min or max is not a float");
    let (exclusive, text) = match arg.strip_prefix(b"(") {
        Some(rest) => (true, rest),
        None => (false, arg),
    };
    let value = parse_f64(text).ok_or_else(err)?;
    Ok(ScoreBound { value, exclusive })
}

/// A lexicographic bound: `-`, `+`, `[a`, `(a`.
#[derive(Debug, Clone)]
enum LexBound {
    Min,
    Max,
    Inclusive(Vec<u8>),
    Exclusive(Vec<u8>),
}

fn parse_lex_bound(arg: &[u8]) -> Result<LexBound, CmdError> {
    match arg.first() {
        Some(b'-') if arg.len() == 1 => Ok(LexBound::Min),
        Some(b'+') if arg.len() == 1 => Ok(LexBound::Max),
        Some(b'[') => Ok(LexBound::Inclusive(arg[1..].to_vec())),
        Some(b'(') => Ok(LexBound::Exclusive(arg[1..].to_vec())),
        _ => Err(CmdError::new("ERR min or max not valid string range item")),
    }
}

/// What a range selects, in forward (ascending) terms.
#[derive(Debug, Clone)]
enum RangeBy {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

/// The forward positions `[start, end)` a range covers in `index`.
fn positions(index: &ZIndex, range: &RangeBy, rev: bool) -> (usize, usize) {
    let len = index.len() as i64;
    match range {
        RangeBy::Rank(start, stop) => {
            let norm = |v: i64| if v < 0 { v + len } else { v };
            let (mut s, mut e) = (norm(*start).max(0), norm(*stop));
            if e >= len {
                e = len - 1;
            }
            if s > e || s >= len {
                return (0, 0);
            }
            if rev {
                // Ranks count from the highest score.
                (s, e) = (len - 1 - e, len - 1 - s);
            }
            (s as usize, e as usize + 1)
        }
        RangeBy::Score(min, max) => {
            let start =
                index.count_below(|s, _| s < min.value || (min.exclusive && s == min.value));
            let end = index.count_below(|s, _| s < max.value || (!max.exclusive && s == max.value));
            (start, end.max(start))
        }
        RangeBy::Lex(min, max) => {
            let below_min = |m: &[u8]| match min {
                LexBound::Min => false,
                LexBound::Max => true,
                LexBound::Inclusive(b) => m < b.as_slice(),
                LexBound::Exclusive(b) => m <= b.as_slice(),
            };
            let below_max = |m: &[u8]| match max {
                LexBound::Min => false,
                LexBound::Max => true,
                LexBound::Inclusive(b) => m <= b.as_slice(),
                LexBound::Exclusive(b) => m < b.as_slice(),
            };
            let start = index.count_below(|_, m| below_min(m));
            let end = index.count_below(|_, m| below_max(m));
            (start, end.max(start))
        }
    }
}

/// Options of the unified ZRANGE form.
struct RangeQuery {
    range: RangeBy,
    rev: bool,
    limit: Option<(i64, i64)>,
    with_scores: bool,
}

/// The entries a range query selects, in output order.
fn select(index: &ZIndex, query: &RangeQuery) -> Vec<Entry> {
    let (start, end) = positions(index, &query.range, query.rev);
    let total = end - start;
    let (offset, count) = match query.limit {
        Some((offset, _)) if offset < 0 => return Vec::new(),
        Some((offset, count)) => (
            offset as usize,
            if count < 0 { total } else { count as usize },
        ),
        None => (0, total),
    };
    if offset >= total {
        return Vec::new();
    }
    let take = count.min(total - offset);
    if query.rev {
        let hi = end - offset;
        let mut out = index.range(hi - take, hi);
        out.reverse();
        out
    } else {
        index.range(start + offset, start + offset + take)
    }
}

/// Parses the arguments after `key` of ZRANGE (unified) and its older variants.
fn parse_range_query(name: &str, args: &[Bytes]) -> Result<RangeQuery, CmdError> {
    let (mut by_score, mut by_lex, mut rev) = (false, false, false);
    match name {
        "zrangebyscore" => by_score = true,
        "zrevrangebyscore" => (by_score, rev) = (true, true),
        "zrangebylex" => by_lex = true,
        "zrevrangebylex" => (by_lex, rev) = (true, true),
        "zrevrange" => rev = true,
        _ => {}
    }
    let unified = name == "zrange" || name == "zrangestore";
    let (mut limit, mut with_scores) = (None, false);
    let mut i = 2;
    while i < args.len() {
        match args[i].to_ascii_lowercase().as_slice() {
            // ZRANGESTORE stores scores anyway: WITHSCORES is a syntax error there.
            b"withscores" if name != "zrangestore" && (!by_lex || unified) => with_scores = true,
            b"limit" if i + 2 < args.len() && (by_score || by_lex || unified) => {
                limit = Some((
                    errors::int_arg(&args[i + 1])?,
                    errors::int_arg(&args[i + 2])?,
                ));
                i += 2;
            }
            b"byscore" if unified => by_score = true,
            b"bylex" if unified => by_lex = true,
            b"rev" if unified => rev = true,
            _ => return Err(errors::syntax()),
        }
        i += 1;
    }
    if by_score && by_lex {
        return Err(errors::syntax());
    }
    if limit.is_some() && !by_score && !by_lex {
        return Err(CmdError::new(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if with_scores && by_lex {
        return Err(CmdError::new(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    // Reverse forms name the bounds high-first.
    let (lo, hi) = if rev && (by_score || by_lex) {
        (&args[1], &args[0])
    } else {
        (&args[0], &args[1])
    };
    let range = if by_score {
        RangeBy::Score(parse_score_bound(lo)?, parse_score_bound(hi)?)
    } else if by_lex {
        RangeBy::Lex(parse_lex_bound(lo)?, parse_lex_bound(hi)?)
    } else {
        RangeBy::Rank(errors::int_arg(&args[0])?, errors::int_arg(&args[1])?)
    };
    Ok(RangeQuery {
        range,
        rev,
        limit,
        with_scores,
    })
}

fn command_name(args: &[Bytes]) -> String {
    String::from_utf8_lossy(&args[0]).to_ascii_lowercase()
}

fn zrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let query = parse_range_query(&command_name(args), &args[2..])?;
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(set) = open(ctx, &mut txn, &args[1])? else {
        return Ok(Reply::Array(vec![]));
    };
    let entries = select(&set.index.lock(), &query);
    Ok(entries_reply(ctx, entries, query.with_scores))
}

fn zrangestore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let query = parse_range_query("zrangestore", &args[3..])?;
    let (dst, src) = (&args[1], &args[2]);
    let mut txn = ctx.txn_args(&args[1..3]);
    let entries = match open(ctx, &mut txn, src)? {
        Some(set) => select(&set.index.lock(), &query),
        None => Vec::new(),
    };
    store_result(ctx, txn, dst, entries, "zrangestore")
}

/// Replaces `dst` with a sorted set of `entries` (deleting it when empty); returns the size.
pub(super) fn store_result(
    ctx: &mut Ctx,
    mut txn: Txn,
    dst: &[u8],
    entries: Vec<Entry>,
    event: &'static str,
) -> CmdResult {
    let count = entries.len() as i64;
    let existed = txn.delete(dst)?;
    if entries.is_empty() {
        if existed {
            txn.notify('g', "del", dst);
        }
        ctx.commit(txn)?;
        return Ok(Reply::Int(0));
    }
    let meta = Meta::new(Kind::ZSet, txn.engine().new_version()?);
    let index = indexes(ctx).fresh(&txn, dst, meta.version);
    let mut set = Opened { meta, index };
    let mut changes = Changes::default();
    for (score, member) in &entries {
        zset::set_score(
            &mut txn,
            dst,
            &mut set.meta,
            member,
            None,
            *score,
            &mut changes,
        );
    }
    finish(ctx, txn, dst, set, changes, event)?;
    Ok(Reply::Int(count))
}

/// ZCOUNT and ZLEXCOUNT.
fn zcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let range = if eq_ignore_case(&args[0], "zcount") {
        RangeBy::Score(parse_score_bound(&args[2])?, parse_score_bound(&args[3])?)
    } else {
        RangeBy::Lex(parse_lex_bound(&args[2])?, parse_lex_bound(&args[3])?)
    };
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(set) = open(ctx, &mut txn, &args[1])? else {
        return Ok(Reply::Int(0));
    };
    let (start, end) = positions(&set.index.lock(), &range, false);
    Ok(Reply::Int((end - start) as i64))
}

/// ZRANK and ZREVRANK [WITHSCORE]: O(log n) through the index.
fn zrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let with_score = match args.len() {
        3 => false,
        4 if eq_ignore_case(&args[3], "withscore") => true,
        _ => return Err(errors::syntax()),
    };
    let rev = eq_ignore_case(&args[0], "zrevrank");
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(set) = open(ctx, &mut txn, key)? else {
        return Ok(Reply::Nil);
    };
    let index = set.index.lock();
    let Some(score) = index.score(&args[2]) else {
        return Ok(Reply::Nil);
    };
    let mut rank = index.rank_of(score, &args[2]);
    if rev {
        rank = index.len() - 1 - rank;
    }
    Ok(if with_score {
        Reply::Array(vec![Reply::Int(rank as i64), score_reply(score)])
    } else {
        Reply::Int(rank as i64)
    })
}

fn zrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(mut set) = open(ctx, &mut txn, key)? else {
        return Ok(Reply::Int(0));
    };
    let mut changes = Changes::default();
    let mut removed = 0;
    let mut seen = std::collections::HashSet::new();
    for member in &args[2..] {
        if !seen.insert(member.clone()) {
            continue;
        }
        let current = changes.score(&set.index.lock(), member);
        if let Some(score) = current {
            zset::remove(&mut txn, key, &mut set.meta, member, score, &mut changes);
            removed += 1;
        }
    }
    finish(ctx, txn, key, set, changes, "zrem")?;
    Ok(Reply::Int(removed))
}

/// ZREMRANGEBYRANK / BYSCORE / BYLEX.
fn zremrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = command_name(args);
    let (range, event) = match name.as_str() {
        "zremrangebyrank" => (
            RangeBy::Rank(errors::int_arg(&args[2])?, errors::int_arg(&args[3])?),
            "zremrangebyrank",
        ),
        "zremrangebyscore" => (
            RangeBy::Score(parse_score_bound(&args[2])?, parse_score_bound(&args[3])?),
            "zremrangebyscore",
        ),
        _ => (
            RangeBy::Lex(parse_lex_bound(&args[2])?, parse_lex_bound(&args[3])?),
            "zremrangebylex",
        ),
    };
    let key = &args[1];
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(mut set) = open(ctx, &mut txn, key)? else {
        return Ok(Reply::Int(0));
    };
    let doomed = {
        let index = set.index.lock();
        let (start, end) = positions(&index, &range, false);
        index.range(start, end)
    };
    let mut changes = Changes::default();
    for (score, member) in &doomed {
        zset::remove(&mut txn, key, &mut set.meta, member, *score, &mut changes);
    }
    finish(ctx, txn, key, set, changes, event)?;
    Ok(Reply::Int(doomed.len() as i64))
}

/// Pops up to `count` lowest (or highest) entries of `key`; `None` if the key is missing.
fn pop_entries(
    ctx: &mut Ctx,
    txn: Txn,
    key: &[u8],
    max: bool,
    count: usize,
) -> Result<Option<Vec<Entry>>, CmdError> {
    let mut txn = txn;
    // A blocked client woken by a write is served from sorted sets only: a key that
    // became another type is passed over, as Redis does, rather than failing the command.
    let woken = ctx.client.block_deadline.is_some();
    if woken && txn.get(key)?.is_some_and(|meta| meta.kind != Kind::ZSet) {
        return Ok(None);
    }
    let Some(mut set) = open(ctx, &mut txn, key)? else {
        return Ok(None);
    };
    let popped = {
        let index = set.index.lock();
        let len = index.len();
        let n = count.min(len);
        if max {
            let mut top = index.range(len - n, len);
            top.reverse();
            top
        } else {
            index.range(0, n)
        }
    };
    let mut changes = Changes::default();
    for (score, member) in &popped {
        zset::remove(&mut txn, key, &mut set.meta, member, *score, &mut changes);
    }
    finish(
        ctx,
        txn,
        key,
        set,
        changes,
        if max { "zpopmax" } else { "zpopmin" },
    )?;
    Ok(Some(popped))
}

fn parse_pop_count(arg: &[u8]) -> Result<usize, CmdError> {
    match redyn_protocol::args::parse_i64_strict(arg) {
        Some(n) if n >= 0 => Ok(n as usize),
        Some(_) => Err(CmdError::new("ERR value is out of range, must be positive")),
        None => Err(errors::not_integer()),
    }
}

fn zpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let max = eq_ignore_case(&args[0], "zpopmax");
    let count = match args.len() {
        2 => None,
        3 => Some(parse_pop_count(&args[2])?),
        _ => return Err(errors::syntax()),
    };
    let txn = ctx.txn_args(&args[1..2]);
    let popped = pop_entries(ctx, txn, &args[1], max, count.unwrap_or(1))?.unwrap_or_default();
    if count.is_none() {
        // Without COUNT the reply is one flat [member, score] pair (or empty).
        return Ok(Reply::Array(
            popped
                .into_iter()
                .flat_map(|(s, m)| [Reply::bulk(m), score_reply(s)])
                .collect(),
        ));
    }
    Ok(entries_reply(ctx, popped, true))
}

/// Parses `numkeys key... ` at `args[at..]`; returns the keys and the index after them.
/// The errors are Redis's: ZMPOP/BZMPOP reject any non-positive or non-numeric count with
/// "numkeys should be greater than 0"; the set operations (ZINTERCARD included) parse an
/// integer first and then need at least one key.
fn parse_numkeys<'a>(
    args: &'a [Bytes],
    at: usize,
    cmd: &str,
) -> Result<(&'a [Bytes], usize), CmdError> {
    let is_mpop = cmd.ends_with("mpop");
    let n = match redyn_protocol::args::parse_i64_strict(&args[at]) {
        Some(n) if n > 0 => n,
        _ if is_mpop => return Err(CmdError::new("ERR numkeys should be greater than 0")),
        None => return Err(errors::not_integer()),
        Some(_) => {
            return Err(CmdError::new(format!(
                "ERR at least 1 input key is needed for '{cmd}' command"
            )))
        }
    };
    let end = (at as i64 + 1).saturating_add(n);
    if end > args.len() as i64 {
        return Err(errors::syntax());
    }
    let end = end as usize;
    Ok((&args[at + 1..end], end))
}

/// Parses `MIN|MAX [COUNT n]` of ZMPOP/BZMPOP.
fn parse_mpop_tail(args: &[Bytes]) -> Result<(bool, usize), CmdError> {
    let max = match args.first() {
        Some(a) if eq_ignore_case(a, "min") => false,
        Some(a) if eq_ignore_case(a, "max") => true,
        _ => return Err(errors::syntax()),
    };
    match args.len() {
        1 => Ok((max, 1)),
        3 if eq_ignore_case(&args[1], "count") => {
            match redyn_protocol::args::parse_i64_strict(&args[2]) {
                Some(n) if n > 0 => Ok((max, n as usize)),
                _ => Err(CmdError::new("ERR count should be greater than 0")),
            }
        }
        _ => Err(errors::syntax()),
    }
}

/// The first key with members, popped: `[key, [[member, score]…]]`.
fn mpop_first(
    ctx: &mut Ctx,
    keys: &[Bytes],
    max: bool,
    count: usize,
) -> Result<Option<Reply>, CmdError> {
    for key in keys {
        let txn = ctx.txn_args(std::slice::from_ref(key));
        if let Some(popped) = pop_entries(ctx, txn, key, max, count)? {
            if !popped.is_empty() {
                let pairs = popped
                    .into_iter()
                    .map(|(s, m)| Reply::Array(vec![Reply::bulk(m), score_reply(s)]))
                    .collect();
                return Ok(Some(Reply::Array(vec![
                    Reply::Bulk(key.clone()),
                    Reply::Array(pairs),
                ])));
            }
        }
    }
    Ok(None)
}

fn zmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (keys, next) = parse_numkeys(args, 1, "zmpop")?;
    let (max, count) = parse_mpop_tail(&args[next..])?;
    Ok(mpop_first(ctx, keys, max, count)?.unwrap_or(Reply::NilArray))
}

/// Whether `key` holds a sorted set a blocked client could pop from (keys of other types
/// never serve a sorted-set waiter).
fn has_members(txn: &mut Txn, key: &[u8]) -> bool {
    matches!(zset::load(txn, key), Ok(Some(_)))
}

/// The keys a blocked client may take from now, in order (see [`wait_queue::may_take`]).
fn keys_in_turn(ctx: &Ctx, keys: &[Bytes]) -> Vec<Bytes> {
    keys.iter()
        .filter(|key| wait_queue::may_take(ctx, Family::ZSet, key))
        .cloned()
        .collect()
}

/// BZPOPMIN/BZPOPMAX key... timeout: `[key, member, score]`, served in blocking order.
fn bzpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let max = eq_ignore_case(&args[0], "bzpopmax");
    let timeout = parse_block_timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    let serve = |ctx: &mut Ctx| {
        for key in keys_in_turn(ctx, keys) {
            let txn = ctx.txn_args(std::slice::from_ref(&key));
            let popped = pop_entries(ctx, txn, &key, max, 1)?.unwrap_or_default();
            if let Some((score, member)) = popped.into_iter().next() {
                return Ok(Some(Reply::Array(vec![
                    Reply::Bulk(key),
                    Reply::bulk(member),
                    score_reply(score),
                ])));
            }
        }
        Ok(None)
    };
    let (family, in_multi) = (Family::ZSet, Reply::NilArray);
    wait_queue::serve_or_block(ctx, family, keys, timeout, in_multi, has_members, serve)
}

/// BZMPOP timeout numkeys key... MIN|MAX [COUNT n], served in blocking order.
fn bzmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let timeout = parse_block_timeout(&args[1])?;
    let (keys, next) = parse_numkeys(args, 2, "bzmpop")?;
    let (max, count) = parse_mpop_tail(&args[next..])?;
    let serve = |ctx: &mut Ctx| {
        let keys = keys_in_turn(ctx, keys);
        mpop_first(ctx, &keys, max, count)
    };
    let (family, in_multi) = (Family::ZSet, Reply::NilArray);
    wait_queue::serve_or_block(ctx, family, keys, timeout, in_multi, has_members, serve)
}

fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (count, with_scores) = sampling::parse_args(args, "withscores")?;
    let mut txn = ctx.txn_args(&args[1..2]);
    let all = match open(ctx, &mut txn, &args[1])? {
        Some(set) => set.index.lock().range(0, usize::MAX),
        None => Vec::new(),
    };
    match count {
        None => Ok(Reply::opt_bulk(sampling::pick_one(&all).map(|(_, m)| m))),
        Some(count) => Ok(entries_reply(ctx, sampling::pick(&all, count), with_scores)),
    }
}

/// ZSCAN continues in (score, member) order after the last entry examined.
fn zscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let opts = parse_scan_options(&args[3..], false)?;
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(set) = open(ctx, &mut txn, &args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let index = set.index.lock();
    let start = match ctx.server.scan_cursors.resume_point(cursor) {
        Some(raw) if raw.len() >= 8 => {
            let score = f64::from_bits(u64::from_be_bytes(raw[..8].try_into().expect("8 bytes")));
            let member = &raw[8..];
            // Resume after the last entry returned, wherever it is now.
            index.count_below(|s, m| cmp_entry(s, m, score, member) != std::cmp::Ordering::Greater)
        }
        _ => 0,
    };
    let batch = index.range(start, start + opts.count);
    let more = start + batch.len() < index.len();
    let mut items = Vec::new();
    for (score, member) in &batch {
        if opts
            .pattern
            .as_ref()
            .is_none_or(|p| glob_match(p, member, false))
        {
            items.push(Reply::bulk(member.clone()));
            items.push(Reply::text(redyn_protocol::args::format_double_g17(*score)));
        }
    }
    let next = match (more, batch.last()) {
        (true, Some((score, member))) => {
            let mut raw = score.to_bits().to_be_bytes().to_vec();
            raw.extend_from_slice(member);
            ctx.server.scan_cursors.save(raw)
        }
        _ => 0,
    };
    Ok(scan_reply(next, items))
}

#[derive(Clone, Copy, PartialEq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(op: Aggregate, a: f64, b: f64) -> f64 {
    let r = match op {
        Aggregate::Sum => a + b,
        Aggregate::Min => a.min(b),
        Aggregate::Max => a.max(b),
    };
    // inf + -inf: Redis stores 0 rather than NaN.
    if r.is_nan() {
        0.0
    } else {
        r
    }
}

/// All entries of a source key as (score, member) pairs. Like Redis 7, a plain set is a
/// valid input whose members all score 1; other types are WRONGTYPE.
fn source_entries(ctx: &Ctx, txn: &mut Txn, key: &[u8]) -> Result<Vec<Entry>, CmdError> {
    if let Some(meta) = txn.get(key)?.filter(|meta| meta.kind == Kind::Set) {
        return Ok(set::members(txn, key, &meta)?
            .into_iter()
            .map(|member| (1.0, member))
            .collect());
    }
    Ok(match open(ctx, txn, key)? {
        Some(set) => set.index.lock().range(0, usize::MAX),
        None => Vec::new(),
    })
}

/// ZUNION/ZINTER/ZDIFF and their STORE forms.
fn zsetop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = command_name(args);
    let store = name.ends_with("store");
    let op = &name[1..5]; // "unio" | "inte" | "diff"
    let (dst, numkeys_at) = if store {
        (Some(&args[1]), 2)
    } else {
        (None, 1)
    };
    let (keys, mut i) = parse_numkeys(args, numkeys_at, &name)?;
    let mut weights: Option<Vec<f64>> = None;
    let mut agg = Aggregate::Sum;
    let mut with_scores = false;
    while i < args.len() {
        if eq_ignore_case(&args[i], "weights") && op != "diff" && i + keys.len() < args.len() {
            weights = Some(
                args[i + 1..=i + keys.len()]
                    .iter()
                    .map(|w| {
                        parse_f64(w).ok_or_else(|| CmdError::new("ERR weight value is not a float"))
                    })
                    .collect::<Result<_, _>>()?,
            );
            i += keys.len() + 1;
        } else if eq_ignore_case(&args[i], "aggregate") && op != "diff" && i + 1 < args.len() {
            agg = match args[i + 1].to_ascii_lowercase().as_slice() {
                b"sum" => Aggregate::Sum,
                b"min" => Aggregate::Min,
                b"max" => Aggregate::Max,
                _ => return Err(errors::syntax()),
            };
            i += 2;
        } else if eq_ignore_case(&args[i], "withscores") && !store {
            with_scores = true;
            i += 1;
        } else {
            return Err(errors::syntax());
        }
    }
    let mut all_keys: Vec<&[u8]> = keys.iter().map(|k| k.as_ref()).collect();
    if let Some(d) = dst {
        all_keys.push(d);
    }
    let mut txn = ctx.txn(&all_keys);
    let mut result: HashMap<Vec<u8>, f64> = HashMap::new();
    for (n, key) in keys.iter().enumerate() {
        let weight = weights.as_ref().map_or(1.0, |w| w[n]);
        let entries = source_entries(ctx, &mut txn, key)?;
        match op {
            "unio" => {
                for (score, member) in entries {
                    let weighted = aggregate(Aggregate::Sum, score * weight, 0.0);
                    result
                        .entry(member)
                        .and_modify(|s| *s = aggregate(agg, *s, weighted))
                        .or_insert(weighted);
                }
            }
            "inte" => {
                let weighted: HashMap<Vec<u8>, f64> = entries
                    .into_iter()
                    .map(|(s, m)| (m, aggregate(Aggregate::Sum, s * weight, 0.0)))
                    .collect();
                if n == 0 {
                    result = weighted;
                } else {
                    result = result
                        .into_iter()
                        .filter_map(|(m, s)| weighted.get(&m).map(|w| (m, aggregate(agg, s, *w))))
                        .collect();
                }
            }
            _ => {
                if n == 0 {
                    result = entries.into_iter().map(|(s, m)| (m, s)).collect();
                } else {
                    for (_, member) in entries {
                        result.remove(&member);
                    }
                }
            }
        }
    }
    let mut entries: Vec<Entry> = result.into_iter().map(|(m, s)| (s, m)).collect();
    entries.sort_by(|a, b| cmp_entry(a.0, &a.1, b.0, &b.1));
    match dst {
        Some(dst) => {
            let event = match op {
                "unio" => "zunionstore",
                "inte" => "zinterstore",
                _ => "zdiffstore",
            };
            store_result(ctx, txn, dst, entries, event)
        }
        None => Ok(entries_reply(ctx, entries, with_scores)),
    }
}

fn zintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (keys, next) = parse_numkeys(args, 1, "zintercard")?;
    let limit = match &args[next..] {
        [] => 0,
        [opt, n] if eq_ignore_case(opt, "limit") => match redyn_protocol::args::parse_i64_strict(n)
        {
            Some(v) if v >= 0 => v as usize,
            _ => return Err(CmdError::new("ERR LIMIT can't be negative")),
        },
        _ => return Err(errors::syntax()),
    };
    let mut txn = ctx.txn_args(keys);
    let mut common: Option<std::collections::HashSet<Vec<u8>>> = None;
    for key in keys {
        let members: std::collections::HashSet<Vec<u8>> = source_entries(ctx, &mut txn, key)?
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        common = Some(match common {
            None => members,
            Some(c) => c.intersection(&members).cloned().collect(),
        });
    }
    let count = common.map_or(0, |c| c.len());
    Ok(Reply::Int(
        if limit > 0 { count.min(limit) } else { count } as i64
    ))
}
