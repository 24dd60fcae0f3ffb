//! Set commands, the generic commands on sets, keyspace events, and a randomized model test.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use redis::Value;

use crate::harness::{error, q, value, Rng, TestServer};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// Sorted members of a set reply.
fn sorted(con: &mut redis::Connection, args: &[&str]) -> Vec<String> {
    let mut members: Vec<String> = q(con, args);
    members.sort();
    members
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn sadd_srem_scard_sismember_smembers() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["SADD", "s", "a", "b", "c", "a"]), 3);
    assert_eq!(q::<i64>(&mut c, &["SADD", "s", "c", "d"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SADD", "s", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "s"]), 4);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "missing"]), 0);
    assert_eq!(
        sorted(&mut c, &["SMEMBERS", "s"]),
        strings(&["a", "b", "c", "d"])
    );
    assert_eq!(
        value(&mut c, &["SMEMBERS", "missing"]),
        Value::Array(vec![])
    );
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "s", "a"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "s", "z"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "missing", "a"]), 0);
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["SMISMEMBER", "s", "a", "z", "d"]),
        vec![1, 0, 1]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["SMISMEMBER", "missing", "a", "b"]),
        vec![0, 0]
    );
    assert_eq!(q::<i64>(&mut c, &["SREM", "s", "a", "z", "a"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SREM", "missing", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SREM", "s", "b", "c", "d"]), 3);
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "s"]),
        0,
        "an emptied set is deleted"
    );
    // A re-created set does not see members of its previous life.
    assert_eq!(q::<i64>(&mut c, &["SADD", "s", "new"]), 1);
    assert_eq!(sorted(&mut c, &["SMEMBERS", "s"]), strings(&["new"]));
    // Binary-safe members, including the empty string.
    assert_eq!(q::<i64>(&mut c, &["SADD", "bin", "", "a\0b", "\u{ff}"]), 3);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "bin", ""]), 1);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "bin", "a\0b"]), 1);
    // RESP3 replies SMEMBERS as a set.
    let mut c3 = server.client_resp3();
    match value(&mut c3, &["SMEMBERS", "s"]) {
        Value::Set(items) => assert_eq!(items, vec![Value::BulkString(b"new".to_vec())]),
        other => panic!("RESP3 SMEMBERS should be a set, got {other:?}"),
    }
    for (args, name) in [
        (&["SADD", "s"][..], "sadd"),
        (&["SREM", "s"], "srem"),
        (&["SMISMEMBER", "s"], "smismember"),
        (&["SISMEMBER", "s"], "sismember"),
        (&["SCARD"], "scard"),
        (&["SMEMBERS"], "smembers"),
        (&["SMOVE", "a", "b"], "smove"),
        (&["SINTER"], "sinter"),
        (&["SINTERSTORE", "d"], "sinterstore"),
        (&["SSCAN", "s"], "sscan"),
        (&["SPOP"], "spop"),
    ] {
        assert_eq!(
            error(&mut c, args),
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
}

#[test]
fn every_set_command_refuses_other_types() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["SET", "str", "v"]);
    let _: i64 = q(&mut c, &["SADD", "set", "a"]);
    for cmd in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SMEMBERS", "str"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SCARD", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "2"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "2"],
        &["SMOVE", "str", "set", "a"],
        &["SMOVE", "set", "str", "a"],
        &["SINTER", "set", "str"],
        &["SINTER", "missing", "str"],
        &["SUNION", "str", "set"],
        &["SDIFF", "set", "missing", "str"],
        &["SDIFF", "missing", "str"],
        &["SINTERSTORE", "d", "missing", "str"],
        &["SUNIONSTORE", "d", "set", "str"],
        &["SDIFFSTORE", "d", "str"],
        &["SINTERCARD", "2", "missing", "str"],
        &["SSCAN", "str", "0"],
    ] {
        assert_eq!(error(&mut c, cmd), WRONGTYPE, "{cmd:?}");
    }
    // A missing source answers 0 before the destination's type is looked at (as Redis).
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "missing", "str", "a"]), 0);
    // Failed commands wrote nothing.
    assert_eq!(q::<String>(&mut c, &["GET", "str"]), "v");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "d"]), 0);
    assert_eq!(sorted(&mut c, &["SMEMBERS", "set"]), strings(&["a"]));
}

#[test]
fn spop_with_and_without_count() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(value(&mut c, &["SPOP", "missing"]), Value::Nil);
    assert_eq!(
        value(&mut c, &["SPOP", "missing", "3"]),
        Value::Array(vec![])
    );
    let all = ["a", "b", "c", "d", "e", "f"];
    let mut args = vec!["SADD", "s"];
    args.extend(all);
    let _: i64 = q(&mut c, &args);
    let mut popped: Vec<String> = vec![q(&mut c, &["SPOP", "s"])];
    assert_eq!(value(&mut c, &["SPOP", "s", "0"]), Value::Array(vec![]));
    let two: Vec<String> = q(&mut c, &["SPOP", "s", "2"]);
    assert_eq!(two.len(), 2);
    popped.extend(two);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "s"]), 3);
    let rest: Vec<String> = q(&mut c, &["SPOP", "s", "10"]);
    assert_eq!(rest.len(), 3);
    popped.extend(rest);
    popped.sort();
    assert_eq!(popped, strings(&all), "every member popped exactly once");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "s"]), 0);
    // Errors, checked before the key is looked at.
    for count in ["-1", "a", "1.5"] {
        assert_eq!(
            error(&mut c, &["SPOP", "s", count]),
            "ERR value is out of range, must be positive"
        );
    }
    assert_eq!(error(&mut c, &["SPOP", "s", "1", "2"]), "ERR syntax error");
    // RESP3: a count pops into a set reply, without one a bulk or null.
    let mut c3 = server.client_resp3();
    let _: i64 = q(&mut c, &["SADD", "s", "x", "y"]);
    assert!(matches!(value(&mut c3, &["SPOP", "s", "1"]), Value::Set(v) if v.len() == 1));
    assert!(matches!(
        value(&mut c3, &["SPOP", "s"]),
        Value::BulkString(_)
    ));
    assert_eq!(value(&mut c3, &["SPOP", "s"]), Value::Nil);
    assert_eq!(value(&mut c3, &["SPOP", "s", "2"]), Value::Set(vec![]));
}

#[test]
fn srandmember_counts_and_errors() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(value(&mut c, &["SRANDMEMBER", "missing"]), Value::Nil);
    for count in ["5", "-5", "0"] {
        assert_eq!(
            value(&mut c, &["SRANDMEMBER", "missing", count]),
            Value::Array(vec![])
        );
    }
    let _: i64 = q(&mut c, &["SADD", "s", "a", "b", "c", "d", "e"]);
    let members: HashSet<String> = ["a", "b", "c", "d", "e"].map(String::from).into();
    let one: String = q(&mut c, &["SRANDMEMBER", "s"]);
    assert!(members.contains(&one));
    assert_eq!(
        value(&mut c, &["SRANDMEMBER", "s", "0"]),
        Value::Array(vec![])
    );
    let three: Vec<String> = q(&mut c, &["SRANDMEMBER", "s", "3"]);
    assert_eq!(three.len(), 3);
    assert_eq!(three.iter().collect::<HashSet<_>>().len(), 3, "distinct");
    assert!(three.iter().all(|m| members.contains(m)));
    let all: Vec<String> = q(&mut c, &["SRANDMEMBER", "s", "100"]);
    assert_eq!(all.iter().cloned().collect::<HashSet<_>>(), members);
    assert_eq!(all.len(), 5);
    let repeats: Vec<String> = q(&mut c, &["SRANDMEMBER", "s", "-50"]);
    assert_eq!(repeats.len(), 50);
    assert!(repeats.iter().all(|m| members.contains(m)));
    assert!(
        repeats.iter().collect::<HashSet<_>>().len() < 50,
        "50 picks of 5 members repeat"
    );
    assert_eq!(
        q::<i64>(&mut c, &["SCARD", "s"]),
        5,
        "SRANDMEMBER removes nothing"
    );
    assert_eq!(
        error(&mut c, &["SRANDMEMBER", "s", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(
        error(&mut c, &["SRANDMEMBER", "s", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut c, &["SRANDMEMBER", "s", "1", "2"]),
        "ERR syntax error"
    );
    // RESP3: SRANDMEMBER with a count is an array (it may repeat), as in Redis.
    let mut c3 = server.client_resp3();
    assert!(matches!(value(&mut c3, &["SRANDMEMBER", "s", "2"]), Value::Array(v) if v.len() == 2));
}

#[test]
fn random_picks_are_uniform() {
    let server = TestServer::start();
    let mut c = server.client();
    let members: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD".to_string(), "s".to_string()];
    args.extend(members.iter().cloned());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let _: i64 = q(&mut c, &refs);
    // 10 000 picks of 10 members: each expected 1000 times (σ ≈ 30); a first or last member
    // bias would show far outside 700..1300.
    let mut counts: HashMap<String, u32> = HashMap::new();
    let picks: Vec<String> = q(&mut c, &["SRANDMEMBER", "s", "-10000"]);
    for pick in picks {
        *counts.entry(pick).or_default() += 1;
    }
    for member in &members {
        let n = counts.get(member).copied().unwrap_or(0);
        assert!(
            (700..1300).contains(&n),
            "{member} picked {n} times: {counts:?}"
        );
    }
    // SPOP of one member out of ten, 2000 times: each member expected 200 times (σ ≈ 13).
    let mut popped: HashMap<String, u32> = HashMap::new();
    for _ in 0..2000 {
        let _: i64 = q(&mut c, &refs);
        let pick: String = q(&mut c, &["SPOP", "s"]);
        *popped.entry(pick).or_default() += 1;
    }
    for member in &members {
        let n = popped.get(member).copied().unwrap_or(0);
        assert!(
            (120..280).contains(&n),
            "{member} popped {n} times: {popped:?}"
        );
    }
}

#[test]
fn smove_between_sets() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["SADD", "src", "a", "b"]);
    let _: i64 = q(&mut c, &["SADD", "dst", "x"]);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "src", "dst", "a"]), 1);
    assert_eq!(sorted(&mut c, &["SMEMBERS", "src"]), strings(&["b"]));
    assert_eq!(sorted(&mut c, &["SMEMBERS", "dst"]), strings(&["a", "x"]));
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "src", "dst", "zz"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "missing", "dst", "a"]), 0);
    // Same source and destination: 1 when the member is there, nothing changes.
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "dst", "dst", "a"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "dst", "dst", "zz"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "dst"]), 2);
    // A member already in the destination leaves only the source changed.
    let _: i64 = q(&mut c, &["SADD", "src", "x"]);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "src", "dst", "x"]), 1);
    assert_eq!(sorted(&mut c, &["SMEMBERS", "src"]), strings(&["b"]));
    assert_eq!(q::<i64>(&mut c, &["SCARD", "dst"]), 2);
    // Moving the last member deletes the source and creates the destination.
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "src", "new", "b"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "src"]), 0);
    assert_eq!(sorted(&mut c, &["SMEMBERS", "new"]), strings(&["b"]));
}

#[test]
fn smove_of_a_member_already_in_destination_does_not_touch_a_watched_destination() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut other = server.client();
    let _: i64 = q(&mut c, &["SADD", "src", "a", "b"]);
    let _: i64 = q(&mut c, &["SADD", "dst", "a"]);
    let _: () = q(&mut c, &["WATCH", "dst"]);
    let _: () = q(&mut c, &["MULTI"]);
    let _: String = q(&mut c, &["SADD", "dst", "c"]);
    assert_eq!(q::<i64>(&mut other, &["SMOVE", "src", "dst", "a"]), 1);
    let exec = value(&mut c, &["EXEC"]);
    assert_eq!(
        exec,
        Value::Array(vec![Value::Int(1)]),
        "EXEC ran: dst was unchanged"
    );
    assert_eq!(q::<i64>(&mut c, &["SCARD", "dst"]), 2);
}

#[test]
fn sinter_sunion_sdiff_and_their_store_forms() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["SADD", "a", "1", "2", "3", "4", "x"]);
    let _: i64 = q(&mut c, &["SADD", "b", "2", "3", "5", "x"]);
    let _: i64 = q(&mut c, &["SADD", "c", "3", "x", "y"]);
    assert_eq!(
        sorted(&mut c, &["SINTER", "a", "b", "c"]),
        strings(&["3", "x"])
    );
    assert_eq!(
        sorted(&mut c, &["SINTER", "a"]),
        strings(&["1", "2", "3", "4", "x"])
    );
    assert_eq!(
        sorted(&mut c, &["SINTER", "a", "missing"]),
        Vec::<String>::new()
    );
    assert_eq!(
        sorted(&mut c, &["SUNION", "a", "missing", "c"]),
        strings(&["1", "2", "3", "4", "x", "y"])
    );
    assert_eq!(
        sorted(&mut c, &["SDIFF", "a", "b", "missing"]),
        strings(&["1", "4"])
    );
    assert_eq!(
        sorted(&mut c, &["SDIFF", "a", "b", "c"]),
        strings(&["1", "4"])
    );
    assert_eq!(
        sorted(&mut c, &["SDIFF", "missing", "a"]),
        Vec::<String>::new()
    );
    assert_eq!(sorted(&mut c, &["SDIFF", "a", "a"]), Vec::<String>::new());
    // A big second set: the difference probes instead of scanning it (same answer).
    let mut big = vec!["SADD".to_string(), "big".to_string()];
    big.extend((0..200).map(|i| i.to_string()));
    let refs: Vec<&str> = big.iter().map(String::as_str).collect();
    let _: i64 = q(&mut c, &refs);
    assert_eq!(sorted(&mut c, &["SDIFF", "a", "big"]), strings(&["x"]));
    assert_eq!(sorted(&mut c, &["SINTER", "big", "c"]), strings(&["3"]));
    // RESP3 set replies.
    let mut c3 = server.client_resp3();
    assert!(matches!(value(&mut c3, &["SINTER", "a", "b"]), Value::Set(v) if v.len() == 3));
    assert!(matches!(value(&mut c3, &["SUNION", "missing"]), Value::Set(v) if v.is_empty()));
    assert!(matches!(value(&mut c3, &["SDIFF", "a", "b"]), Value::Set(v) if v.len() == 2));

    // STORE forms overwrite a destination of any type and drop its TTL.
    let _: () = q(&mut c, &["SET", "dest", "string", "EX", "100"]);
    assert_eq!(q::<i64>(&mut c, &["SINTERSTORE", "dest", "a", "b"]), 3);
    assert_eq!(q::<String>(&mut c, &["TYPE", "dest"]), "set");
    assert_eq!(q::<i64>(&mut c, &["TTL", "dest"]), -1);
    assert_eq!(
        sorted(&mut c, &["SMEMBERS", "dest"]),
        strings(&["2", "3", "x"])
    );
    assert_eq!(q::<i64>(&mut c, &["SUNIONSTORE", "dest", "b", "c"]), 5);
    assert_eq!(
        sorted(&mut c, &["SMEMBERS", "dest"]),
        strings(&["2", "3", "5", "x", "y"])
    );
    assert_eq!(q::<i64>(&mut c, &["SDIFFSTORE", "dest", "a", "c"]), 3);
    assert_eq!(
        sorted(&mut c, &["SMEMBERS", "dest"]),
        strings(&["1", "2", "4"])
    );
    assert_eq!(q::<i64>(&mut c, &["SCARD", "dest"]), 3);
    // The destination may be one of the sources.
    assert_eq!(q::<i64>(&mut c, &["SINTERSTORE", "a", "a", "b"]), 3);
    assert_eq!(
        sorted(&mut c, &["SMEMBERS", "a"]),
        strings(&["2", "3", "x"])
    );
    assert_eq!(q::<i64>(&mut c, &["SUNIONSTORE", "a", "a", "c"]), 4);
    assert_eq!(
        sorted(&mut c, &["SMEMBERS", "a"]),
        strings(&["2", "3", "x", "y"])
    );
    // An empty result deletes the destination, whatever it held.
    let _: () = q(&mut c, &["SET", "dest", "v"]);
    assert_eq!(
        q::<i64>(&mut c, &["SINTERSTORE", "dest", "a", "missing"]),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dest"]), 0);
    let _: i64 = q(&mut c, &["SADD", "dest", "old"]);
    assert_eq!(q::<i64>(&mut c, &["SDIFFSTORE", "dest", "c", "c"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dest"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SUNIONSTORE", "dest", "missing"]), 0);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 4, "a, b, c, big");
}

#[test]
fn sintercard_limit_and_errors() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["SADD", "a", "1", "2", "3", "4"]);
    let _: i64 = q(&mut c, &["SADD", "b", "2", "3", "4", "5"]);
    assert_eq!(q::<i64>(&mut c, &["SINTERCARD", "2", "a", "b"]), 3);
    assert_eq!(q::<i64>(&mut c, &["SINTERCARD", "1", "a"]), 4);
    assert_eq!(
        q::<i64>(&mut c, &["SINTERCARD", "2", "a", "b", "LIMIT", "2"]),
        2
    );
    assert_eq!(
        q::<i64>(&mut c, &["SINTERCARD", "2", "a", "b", "limit", "0"]),
        3
    );
    assert_eq!(
        q::<i64>(&mut c, &["SINTERCARD", "2", "a", "b", "LIMIT", "9"]),
        3
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &["SINTERCARD", "2", "a", "b", "LIMIT", "1", "LIMIT", "0"]
        ),
        3,
        "the last LIMIT wins"
    );
    assert_eq!(q::<i64>(&mut c, &["SINTERCARD", "2", "a", "missing"]), 0);
    for numkeys in ["0", "-1", "x"] {
        assert_eq!(
            error(&mut c, &["SINTERCARD", numkeys, "a"]),
            "ERR numkeys should be greater than 0"
        );
    }
    assert_eq!(
        error(&mut c, &["SINTERCARD", "3", "a", "b"]),
        "ERR Number of keys can't be greater than number of args"
    );
    for tail in [&["b"][..], &["LIMIT"], &["FOO", "1"]] {
        let mut args = vec!["SINTERCARD", "1", "a"];
        args.extend(tail);
        assert_eq!(error(&mut c, &args), "ERR syntax error", "{tail:?}");
    }
    for limit in ["-1", "x"] {
        assert_eq!(
            error(&mut c, &["SINTERCARD", "1", "a", "LIMIT", limit]),
            "ERR LIMIT can't be negative"
        );
    }
    assert_eq!(
        error(&mut c, &["SINTERCARD", "1"]),
        "ERR wrong number of arguments for 'sintercard' command"
    );
}

#[test]
fn sscan_returns_every_member_once() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut args = vec!["SADD".to_string(), "s".to_string()];
    args.extend((0..250).map(|i| format!("m{i}")));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let _: i64 = q(&mut c, &refs);
    let mut seen = Vec::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, batch): (String, Vec<String>) =
            q(&mut c, &["SSCAN", "s", &cursor, "COUNT", "20"]);
        assert!(batch.len() <= 20);
        seen.extend(batch);
        calls += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert!(calls > 5, "COUNT bounds each call");
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 250);
    assert_eq!(unique.len(), 250);
    let (next, batch): (String, Vec<String>) = q(
        &mut c,
        &["SSCAN", "s", "0", "MATCH", "m1?", "COUNT", "1000"],
    );
    assert_eq!(next, "0");
    let mut batch = batch;
    batch.sort();
    assert_eq!(batch, (10..20).map(|i| format!("m{i}")).collect::<Vec<_>>());
    let (next, batch): (String, Vec<String>) = q(&mut c, &["SSCAN", "missing", "0"]);
    assert_eq!((next.as_str(), batch.len()), ("0", 0));
    assert_eq!(error(&mut c, &["SSCAN", "s", "x"]), "ERR invalid cursor");
    assert_eq!(
        error(&mut c, &["SSCAN", "s", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["SSCAN", "s", "0", "MATCH"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["SSCAN", "s", "0", "TYPE", "set"]),
        "ERR syntax error"
    );
}

#[test]
fn generic_commands_on_sets() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["SADD", "s", "a", "b"]);
    let _: () = q(&mut c, &["SET", "str", "v"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "s"]), "set");
    // SCAN TYPE set finds only sets.
    let (_, keys): (String, Vec<String>) =
        q(&mut c, &["SCAN", "0", "TYPE", "set", "COUNT", "1000"]);
    assert_eq!(keys, vec!["s"]);
    // RENAME, COPY and MOVE carry the members; the copies are independent.
    let _: () = q(&mut c, &["RENAME", "s", "r"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "s"]), 0);
    assert_eq!(sorted(&mut c, &["SMEMBERS", "r"]), strings(&["a", "b"]));
    assert_eq!(q::<i64>(&mut c, &["COPY", "r", "c"]), 1);
    let _: i64 = q(&mut c, &["SADD", "c", "z"]);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "r"]), 2);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "c"]), 3);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "c", "1"]), 1);
    let _: () = q(&mut c, &["SELECT", "1"]);
    assert_eq!(
        sorted(&mut c, &["SMEMBERS", "c"]),
        strings(&["a", "b", "z"])
    );
    let _: () = q(&mut c, &["SELECT", "0"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "c"]), 0);
    // EXPIRE applies to the whole set.
    let _: i64 = q(&mut c, &["PEXPIRE", "r", "50"]);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(q::<i64>(&mut c, &["SCARD", "r"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SADD", "r", "fresh"]), 1);
    assert_eq!(sorted(&mut c, &["SMEMBERS", "r"]), strings(&["fresh"]));
    // DEL removes the set; a new one starts empty.
    assert_eq!(q::<i64>(&mut c, &["DEL", "r"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "r"]), 0);
    // SET over a set replaces it.
    let _: i64 = q(&mut c, &["SADD", "r", "a"]);
    let _: () = q(&mut c, &["SET", "r", "v"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "r"]), "string");
}

#[test]
fn object_encoding_follows_redis_7_0() {
    let server = TestServer::start();
    let mut c = server.client();
    let enc = |c: &mut redis::Connection, key: &str| q::<String>(c, &["OBJECT", "ENCODING", key]);
    let _: i64 = q(&mut c, &["SADD", "ints", "1", "2", "-3"]);
    assert_eq!(enc(&mut c, "ints"), "intset");
    let _: i64 = q(&mut c, &["SADD", "ints", "a"]);
    assert_eq!(enc(&mut c, "ints"), "hashtable");
    // The conversion is one-way, as in Redis.
    let _: i64 = q(&mut c, &["SREM", "ints", "a"]);
    assert_eq!(enc(&mut c, "ints"), "hashtable");
    let _: i64 = q(&mut c, &["SADD", "words", "a"]);
    assert_eq!(enc(&mut c, "words"), "hashtable");
    // Not integers as Redis parses them.
    for odd in ["01", "+1", "1.0", "99999999999999999999"] {
        let _: i64 = q(&mut c, &["DEL", "odd"]);
        let _: i64 = q(&mut c, &["SADD", "odd", odd]);
        assert_eq!(enc(&mut c, "odd"), "hashtable", "{odd}");
    }
    // More than set-max-intset-entries (512) integers.
    let mut args = vec!["SADD".to_string(), "many".to_string()];
    args.extend((0..512).map(|i| i.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let _: i64 = q(&mut c, &refs);
    assert_eq!(enc(&mut c, "many"), "intset");
    let _: i64 = q(&mut c, &["SADD", "many", "512"]);
    assert_eq!(enc(&mut c, "many"), "hashtable");
    let _: () = q(&mut c, &["CONFIG", "SET", "set-max-intset-entries", "2"]);
    let _: i64 = q(&mut c, &["SADD", "small", "1", "2", "3"]);
    assert_eq!(enc(&mut c, "small"), "hashtable");
    // Stored results are encoded from their members.
    let _: () = q(&mut c, &["CONFIG", "SET", "set-max-intset-entries", "512"]);
    let _: i64 = q(&mut c, &["SADD", "mixed", "1", "2", "x"]);
    let _: i64 = q(&mut c, &["SINTERSTORE", "res", "mixed", "ints"]);
    assert_eq!(enc(&mut c, "res"), "intset");
    let _: i64 = q(&mut c, &["SUNIONSTORE", "res", "mixed", "ints"]);
    assert_eq!(enc(&mut c, "res"), "hashtable");
}

#[test]
fn keyspace_events_of_set_commands() {
    let server = TestServer::start_with(&["--notify-keyspace-events", "KEA"]);
    let mut c = server.client();
    let mut sub_con = server.client();
    let mut sub = sub_con.as_pubsub();
    sub.psubscribe("__keyevent@0__:*").unwrap();
    sub.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let commands: &[&[&str]] = &[
        &["SADD", "s", "a", "b", "c"],
        &["SADD", "s", "a"], // nothing added: no event
        &["SREM", "s", "a"],
        &["SREM", "s", "zz"], // nothing removed: no event
        &["SPOP", "s"],       // s keeps one of b, c
        &["SADD", "t", "x"],
        &["SMOVE", "s", "t", "x"], // not in s: no event
        &["SADD", "s", "x"],
        &["SMOVE", "s", "t", "x"], // already in t: srem only
        &["SMOVE", "t", "u", "x"], // t held only x: srem, del, then sadd on u
        &["SUNIONSTORE", "d", "s", "u"],
        &["SINTERSTORE", "d", "s", "d"],
        &["SDIFFSTORE", "d", "u", "s"],
        &["SINTERSTORE", "d", "s", "missing"], // empty result deletes d
        &["SPOP", "s", "5"],                   // s holds one member: popped and deleted
    ];
    for args in commands {
        let _: Value = q(&mut c, args);
    }
    let expected: Vec<(&str, &str)> = vec![
        ("sadd", "s"),
        ("srem", "s"),
        ("spop", "s"),
        ("sadd", "t"),
        ("sadd", "s"),
        ("srem", "s"),
        ("srem", "t"),
        ("del", "t"),
        ("sadd", "u"),
        ("sunionstore", "d"),
        ("sinterstore", "d"),
        ("sdiffstore", "d"),
        ("del", "d"),
        ("spop", "s"),
        ("del", "s"),
    ];
    let mut got = Vec::new();
    for _ in 0..expected.len() {
        let msg = sub.get_message().expect("event");
        let channel = msg
            .get_channel_name()
            .trim_start_matches("__keyevent@0__:")
            .to_string();
        let key: String = msg.get_payload().unwrap();
        got.push((channel, key));
    }
    let expected: Vec<(String, String)> = expected
        .into_iter()
        .map(|(e, k)| (e.to_string(), k.to_string()))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn randomized_operations_match_a_model_across_a_restart() {
    let mut server = TestServer::start();
    let mut c = server.client();
    let keys = ["k0", "k1", "k2"];
    let mut model: HashMap<&str, BTreeSet<String>> = HashMap::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let member = |rng: &mut Rng| format!("m{}", rng.below(40));
    for step in 0..1500 {
        if step == 750 {
            assert_eq!(server.stop(), Some(0));
            server.restart();
            c = server.client();
        }
        let key = keys[rng.below(3) as usize];
        match rng.below(6) {
            0 | 1 => {
                let members: Vec<String> =
                    (0..1 + rng.below(4)).map(|_| member(&mut rng)).collect();
                let mut args = vec!["SADD", key];
                args.extend(members.iter().map(String::as_str));
                let set = model.entry(key).or_default();
                let expected = members.iter().filter(|m| set.insert(m.to_string())).count();
                assert_eq!(q::<i64>(&mut c, &args), expected as i64, "step {step}");
            }
            2 => {
                let m = member(&mut rng);
                let set = model.entry(key).or_default();
                let expected = i64::from(set.remove(&m));
                assert_eq!(
                    q::<i64>(&mut c, &["SREM", key, &m]),
                    expected,
                    "step {step}"
                );
            }
            3 => {
                let count = rng.below(4);
                let popped: Vec<String> = q(&mut c, &["SPOP", key, &count.to_string()]);
                let set = model.entry(key).or_default();
                assert_eq!(popped.len(), (count as usize).min(set.len()), "step {step}");
                for m in &popped {
                    assert!(set.remove(m), "step {step}: popped {m} not in the set");
                }
            }
            4 => {
                let dst = keys[rng.below(3) as usize];
                let m = member(&mut rng);
                let present = model.entry(key).or_default().contains(&m);
                if present && key != dst {
                    model.get_mut(key).unwrap().remove(&m);
                    model.entry(dst).or_default().insert(m.clone());
                }
                assert_eq!(
                    q::<i64>(&mut c, &["SMOVE", key, dst, &m]),
                    i64::from(present),
                    "step {step}"
                );
            }
            _ => {
                let (a, b) = (keys[rng.below(3) as usize], keys[rng.below(3) as usize]);
                let result: BTreeSet<String> = model
                    .get(a)
                    .cloned()
                    .unwrap_or_default()
                    .intersection(&model.get(b).cloned().unwrap_or_default())
                    .cloned()
                    .collect();
                assert_eq!(
                    q::<i64>(&mut c, &["SINTERSTORE", key, a, b]),
                    result.len() as i64,
                    "step {step}"
                );
                model.insert(key, result);
            }
        }
        if step % 50 == 0 || step == 749 || step == 751 {
            for k in keys {
                let expected: Vec<String> = model
                    .get(k)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                assert_eq!(
                    sorted(&mut c, &["SMEMBERS", k]),
                    expected,
                    "step {step} {k}"
                );
                assert_eq!(q::<i64>(&mut c, &["SCARD", k]), expected.len() as i64);
                assert_eq!(
                    q::<i64>(&mut c, &["EXISTS", k]),
                    i64::from(!expected.is_empty())
                );
            }
        }
    }
}

/// SPOP from a large set (picked by seeks to random points, which remember the stretches
/// found empty) while other clients add and remove members: every pop returns a member
/// that was there, none twice, and draining the set leaves nothing behind.
#[test]
fn spop_drains_a_large_set_exactly_while_members_come_and_go() {
    let server = TestServer::start();
    drain_a_large_set_while_members_come_and_go(&server, false);
}

/// The same from a set whose rows fjall holds, popped from a pool read ahead by its seeks:
/// a member removed meanwhile (even by an SREM with an SADD, which leave the length the
/// pool expects) is never popped.
#[test]
fn spop_drains_a_large_set_in_fjall_exactly_while_members_come_and_go() {
    let server = TestServer::start_with(&["--maxmemory", "32mb"]);
    drain_a_large_set_while_members_come_and_go(&server, true);
}

/// A member of the (non-empty) model picked at random.
fn any_member(model: &BTreeSet<String>, rng: &mut Rng) -> String {
    let at = rng.below(model.len() as u64) as usize;
    model.iter().nth(at).cloned().expect("non-empty")
}

fn drain_a_large_set_while_members_come_and_go(server: &TestServer, in_fjall: bool) {
    let mut c = server.client();
    let mut model: BTreeSet<String> = BTreeSet::new();
    for chunk in (0..3000).collect::<Vec<u32>>().chunks(500) {
        let mut args = vec!["SADD".to_string(), "big".to_string()];
        for i in chunk {
            let member = format!("member:{i:05}");
            model.insert(member.clone());
            args.push(member);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let _: i64 = q(&mut c, &args);
    }
    if in_fjall {
        server.move_to_fjall(&mut c);
    }
    let mut rng = Rng(0x5eed_0007);
    let mut added = 0;
    let mut new_member = |rng: &mut Rng| {
        added += 1;
        // Perhaps inside a stretch SPOP has emptied.
        format!("member:{:05}x{added}", rng.below(3000))
    };
    while !model.is_empty() {
        match rng.below(20) {
            0 => {
                let member = new_member(&mut rng);
                let fresh: i64 = q(&mut c, &["SADD", "big", &member]);
                assert_eq!(fresh, 1);
                model.insert(member);
            }
            1 => {
                let member = any_member(&model, &mut rng);
                assert_eq!(q::<i64>(&mut c, &["SREM", "big", &member]), 1);
                model.remove(&member);
            }
            2 => {
                let popped: Vec<String> = q(&mut c, &["SPOP", "big", "3"]);
                assert_eq!(popped.len(), model.len().min(3));
                for member in popped {
                    assert!(model.remove(&member), "{member} popped but not in the set");
                }
            }
            3 => {
                // One member out, one in: the set's length stays what SPOP expects.
                let gone = any_member(&model, &mut rng);
                let member = new_member(&mut rng);
                let (removed, fresh): (i64, i64) = redis::pipe()
                    .atomic()
                    .cmd("SREM")
                    .arg("big")
                    .arg(&gone)
                    .cmd("SADD")
                    .arg("big")
                    .arg(&member)
                    .query(&mut c)
                    .unwrap();
                assert_eq!((removed, fresh), (1, 1));
                model.remove(&gone);
                model.insert(member);
            }
            _ => {
                let member: String = q(&mut c, &["SPOP", "big"]);
                assert!(model.remove(&member), "{member} popped but not in the set");
            }
        }
        if rng.below(200) == 0 {
            assert_eq!(q::<i64>(&mut c, &["SCARD", "big"]), model.len() as i64);
        }
    }
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "big"]), 0);
    assert_eq!(value(&mut c, &["SPOP", "big"]), Value::Nil);
}

/// Rows of keys created since start-up are read from the write buffer alone until a layer
/// holding them is ingested; then fjall is read too. Sets, hashes and lists created and
/// filled here, moved to fjall and read every way: nothing is missed.
#[test]
fn keys_created_since_start_read_whole_after_their_rows_reach_fjall() {
    let server = TestServer::start_with(&["--maxmemory", "32mb"]);
    let mut c = server.client();
    let members: Vec<String> = (0..400).map(|i| format!("m{i:03}")).collect();
    let mut sadd = redis::cmd("SADD");
    sadd.arg("s").arg(&members);
    let _: i64 = sadd.query(&mut c).unwrap();
    let mut rpush = redis::cmd("RPUSH");
    rpush.arg("l").arg(&members);
    let _: i64 = rpush.query(&mut c).unwrap();
    let mut hset = redis::cmd("HSET");
    hset.arg("h");
    for m in &members {
        hset.arg(m).arg(m);
    }
    let _: i64 = hset.query(&mut c).unwrap();
    server.move_to_fjall(&mut c);
    let all: BTreeSet<String> = members.iter().cloned().collect();
    let smembers: BTreeSet<String> = q(&mut c, &["SMEMBERS", "s"]);
    assert_eq!(smembers, all);
    assert!(q::<bool>(&mut c, &["SISMEMBER", "s", "m123"]));
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "l", "0", "-1"]),
        members
    );
    assert_eq!(q::<String>(&mut c, &["LINDEX", "l", "200"]), "m200");
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "m321"]), "m321");
    assert_eq!(
        q::<HashMap<String, String>>(&mut c, &["HGETALL", "h"]).len(),
        400
    );
    // SPOP drains the set through its random seeks: every member comes out once.
    let mut popped = BTreeSet::new();
    for _ in 0..400 {
        let member: String = q(&mut c, &["SPOP", "s"]);
        assert!(popped.insert(member));
    }
    assert_eq!(popped, all);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "s"]), 0);
}
