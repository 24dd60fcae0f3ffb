//! Sorted sets: every command family, blocking pops, and a randomized model test.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::Value;

use crate::harness::{error, q, value, Rng, TestServer};

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn zadd_flags_zscore_zincrby_zcard() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["ZADD", "z", "1", "a", "2", "b"]), 2);
    assert_eq!(q::<i64>(&mut c, &["ZADD", "z", "5", "a", "3", "c"]), 1);
    assert_eq!(
        q::<i64>(&mut c, &["ZADD", "z", "CH", "6", "a", "3", "c", "4", "d"]),
        2
    );
    assert_eq!(
        q::<i64>(&mut c, &["ZADD", "z", "NX", "100", "a", "7", "e"]),
        1
    );
    assert_eq!(q::<String>(&mut c, &["ZSCORE", "z", "a"]), "6");
    assert_eq!(
        q::<i64>(&mut c, &["ZADD", "z", "XX", "7", "a", "8", "new"]),
        0
    );
    assert_eq!(value(&mut c, &["ZSCORE", "z", "new"]), Value::Nil);
    assert_eq!(q::<i64>(&mut c, &["ZADD", "z", "GT", "CH", "1", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["ZADD", "z", "GT", "CH", "9", "a"]), 1);
    assert_eq!(q::<i64>(&mut c, &["ZADD", "z", "LT", "CH", "10", "a"]), 0);
    assert_eq!(
        q::<String>(&mut c, &["ZADD", "z", "INCR", "1.5", "a"]),
        "10.5"
    );
    assert_eq!(
        value(&mut c, &["ZADD", "z", "NX", "INCR", "1", "a"]),
        Value::Nil
    );
    assert_eq!(q::<String>(&mut c, &["ZINCRBY", "z", "-0.5", "a"]), "10");
    assert_eq!(q::<String>(&mut c, &["ZINCRBY", "z", "2", "fresh"]), "2");
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "z"]), 6);
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "missing"]), 0);
    assert_eq!(
        value(&mut c, &["ZMSCORE", "z", "a", "nope", "b"]),
        Value::Array(vec![
            Value::BulkString(b"10".to_vec()),
            Value::Nil,
            Value::BulkString(b"2".to_vec())
        ])
    );
    // Scores: infinities, Redis's double formatting, NaN rejected.
    assert_eq!(
        q::<i64>(
            &mut c,
            &["ZADD", "f", "+inf", "top", "-inf", "bottom", "0.1", "x", "1e20", "y"]
        ),
        4
    );
    assert_eq!(q::<String>(&mut c, &["ZSCORE", "f", "top"]), "inf");
    assert_eq!(q::<String>(&mut c, &["ZSCORE", "f", "bottom"]), "-inf");
    // Redis 7.0 replies with `%.17g`.
    assert_eq!(
        q::<String>(&mut c, &["ZSCORE", "f", "x"]),
        "0.10000000000000001"
    );
    assert_eq!(q::<String>(&mut c, &["ZSCORE", "f", "y"]), "1e+20");
    assert_eq!(
        error(&mut c, &["ZADD", "f", "nan", "m"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        error(&mut c, &["ZINCRBY", "f", "-inf", "top"]),
        "ERR resulting score is not a number (NaN)"
    );
    assert_eq!(
        error(&mut c, &["ZADD", "f", "abc", "m"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        error(&mut c, &["ZADD", "f", "1"]),
        "ERR wrong number of arguments for 'zadd' command"
    );
    assert_eq!(
        error(&mut c, &["ZADD", "f", "1", "a", "2"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["ZADD", "f", "NX", "XX", "1", "a"]),
        "ERR XX and NX options at the same time are not compatible"
    );
    assert_eq!(
        error(&mut c, &["ZADD", "f", "GT", "LT", "1", "a"]),
        "ERR GT, LT, and/or NX options at the same time are not compatible"
    );
    assert_eq!(
        error(&mut c, &["ZADD", "f", "INCR", "1", "a", "2", "b"]),
        "ERR INCR option supports a single increment-element pair"
    );
    let _: () = q(&mut c, &["SET", "s", "v"]);
    assert!(error(&mut c, &["ZADD", "s", "1", "a"]).starts_with("WRONGTYPE"));
    assert!(error(&mut c, &["ZRANGE", "s", "0", "-1"]).starts_with("WRONGTYPE"));
    let mut c3 = server.client_resp3();
    assert_eq!(value(&mut c3, &["ZSCORE", "z", "a"]), Value::Double(10.0));
}

#[test]
fn ranks_and_ranges() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "lb", "10", "alice", "20", "bob", "15", "carol", "5", "dave", "15", "cat",
        ],
    );
    assert_eq!(q::<i64>(&mut c, &["ZRANK", "lb", "dave"]), 0);
    assert_eq!(q::<i64>(&mut c, &["ZRANK", "lb", "carol"]), 2);
    assert_eq!(q::<i64>(&mut c, &["ZREVRANK", "lb", "bob"]), 0);
    assert_eq!(value(&mut c, &["ZRANK", "lb", "nobody"]), Value::Nil);
    assert_eq!(value(&mut c, &["ZRANK", "none", "x"]), Value::Nil);
    assert_eq!(
        q::<(i64, String)>(&mut c, &["ZRANK", "lb", "alice", "WITHSCORE"]),
        (1, "10".into())
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "lb", "0", "-1"]),
        strings(&["dave", "alice", "carol", "cat", "bob"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "lb", "-2", "-1"]),
        strings(&["cat", "bob"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "lb", "3", "1"]),
        Vec::<String>::new()
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "lb", "0", "1", "WITHSCORES"]),
        strings(&["dave", "5", "alice", "10"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZREVRANGE", "lb", "0", "2"]),
        strings(&["bob", "cat", "carol"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "lb", "0", "0", "REV", "WITHSCORES"]),
        strings(&["bob", "20"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "lb", "(5", "15", "BYSCORE"]),
        strings(&["alice", "carol", "cat"])
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["ZRANGE", "lb", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"]
        ),
        strings(&["alice", "carol"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "lb", "+inf", "(10", "BYSCORE", "REV"]),
        strings(&["bob", "cat", "carol"])
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "ZRANGEBYSCORE",
                "lb",
                "10",
                "15",
                "WITHSCORES",
                "LIMIT",
                "0",
                "2"
            ]
        ),
        strings(&["alice", "10", "carol", "15"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZREVRANGEBYSCORE", "lb", "15", "10"]),
        strings(&["cat", "carol", "alice"])
    );
    assert_eq!(q::<i64>(&mut c, &["ZCOUNT", "lb", "(10", "+inf"]), 3);
    assert_eq!(q::<i64>(&mut c, &["ZCOUNT", "lb", "15", "15"]), 2);
    assert_eq!(
        error(&mut c, &["ZRANGE", "lb", "0", "1", "LIMIT", "0", "1"]),
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    );
    assert_eq!(
        error(&mut c, &["ZRANGE", "lb", "a", "b", "BYSCORE"]),
        "ERR min or max is not a float"
    );
    assert_eq!(
        error(&mut c, &["ZRANGE", "lb", "a", "1"]),
        "ERR value is not an integer or out of range"
    );
    // Lexicographic ranges among equal scores.
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e",
        ],
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGEBYLEX", "lex", "[b", "(d"]),
        strings(&["b", "c"])
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["ZRANGE", "lex", "-", "+", "BYLEX", "LIMIT", "3", "10"]
        ),
        strings(&["d", "e"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZREVRANGEBYLEX", "lex", "+", "(c"]),
        strings(&["e", "d"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "lex", "[d", "-", "BYLEX", "REV"]),
        strings(&["d", "c", "b", "a"])
    );
    assert_eq!(q::<i64>(&mut c, &["ZLEXCOUNT", "lex", "-", "[c"]), 3);
    assert_eq!(
        error(&mut c, &["ZRANGEBYLEX", "lex", "b", "+"]),
        "ERR min or max not valid string range item"
    );
    assert_eq!(
        error(&mut c, &["ZRANGE", "lex", "-", "+", "BYLEX", "WITHSCORES"]),
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    );
    // RESP3 WITHSCORES: pairs with double scores.
    let mut c3 = server.client_resp3();
    assert_eq!(
        value(&mut c3, &["ZRANGE", "lb", "0", "0", "WITHSCORES"]),
        Value::Array(vec![Value::Array(vec![
            Value::BulkString(b"dave".to_vec()),
            Value::Double(5.0)
        ])])
    );
}

#[test]
fn removal_store_and_pops() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f",
        ],
    );
    assert_eq!(q::<i64>(&mut c, &["ZREM", "z", "a", "a", "nope"]), 1);
    assert_eq!(q::<i64>(&mut c, &["ZREMRANGEBYRANK", "z", "0", "0"]), 1);
    assert_eq!(
        q::<i64>(&mut c, &["ZREMRANGEBYSCORE", "z", "(5", "+inf"]),
        1
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "z", "0", "-1"]),
        strings(&["c", "d", "e"])
    );
    assert_eq!(q::<i64>(&mut c, &["ZRANGESTORE", "dst", "z", "0", "1"]), 2);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "dst", "0", "-1", "WITHSCORES"]),
        strings(&["c", "3", "d", "4"])
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &["ZRANGESTORE", "dst", "z", "100", "200", "BYSCORE"]
        ),
        0
    );
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "dst"]),
        0,
        "an empty result deletes the destination"
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZPOPMIN", "z"]),
        strings(&["c", "3"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZPOPMAX", "z", "5"]),
        strings(&["e", "5", "d", "4"])
    );
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "z"]),
        0,
        "popping the last member deletes the key"
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZPOPMIN", "z"]),
        Vec::<String>::new()
    );
    assert_eq!(
        error(&mut c, &["ZPOPMIN", "z", "-1"]),
        "ERR value is out of range, must be positive"
    );
    let _: i64 = q(&mut c, &["ZADD", "lex", "0", "a", "0", "b", "0", "c"]);
    assert_eq!(q::<i64>(&mut c, &["ZREMRANGEBYLEX", "lex", "[a", "(c"]), 2);
    // ZMPOP
    let _: i64 = q(&mut c, &["ZADD", "m2", "1", "x", "2", "y"]);
    assert_eq!(
        value(&mut c, &["ZMPOP", "2", "empty", "m2", "MAX", "COUNT", "5"]),
        Value::Array(vec![
            Value::BulkString(b"m2".to_vec()),
            Value::Array(vec![
                Value::Array(vec![
                    Value::BulkString(b"y".to_vec()),
                    Value::BulkString(b"2".to_vec())
                ]),
                Value::Array(vec![
                    Value::BulkString(b"x".to_vec()),
                    Value::BulkString(b"1".to_vec())
                ]),
            ])
        ])
    );
    assert_eq!(value(&mut c, &["ZMPOP", "1", "m2", "MIN"]), Value::Nil);
    assert_eq!(
        error(&mut c, &["ZMPOP", "0", "m2", "MIN"]),
        "ERR numkeys should be greater than 0"
    );
    assert_eq!(
        error(&mut c, &["ZMPOP", "1", "m2", "SIDEWAYS"]),
        "ERR syntax error"
    );
}

#[test]
fn set_operations() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["ZADD", "a", "1", "x", "2", "y", "3", "z"]);
    let _: i64 = q(&mut c, &["ZADD", "b", "10", "y", "20", "z", "30", "w"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZUNION", "2", "a", "b", "WITHSCORES"]),
        strings(&["x", "1", "y", "12", "z", "23", "w", "30"])
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "ZINTER",
                "2",
                "a",
                "b",
                "WEIGHTS",
                "2",
                "1",
                "AGGREGATE",
                "MAX",
                "WITHSCORES"
            ]
        ),
        strings(&["y", "10", "z", "20"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZDIFF", "2", "a", "b"]),
        strings(&["x"])
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &["ZUNIONSTORE", "u", "2", "a", "b", "AGGREGATE", "MIN"]
        ),
        4
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "u", "0", "-1", "WITHSCORES"]),
        strings(&["x", "1", "y", "2", "z", "3", "w", "30"])
    );
    assert_eq!(q::<i64>(&mut c, &["ZINTERSTORE", "i", "2", "a", "b"]), 2);
    assert_eq!(q::<i64>(&mut c, &["ZDIFFSTORE", "d", "2", "b", "a"]), 1);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "d", "0", "-1"]),
        strings(&["w"])
    );
    assert_eq!(q::<i64>(&mut c, &["ZINTERCARD", "2", "a", "b"]), 2);
    assert_eq!(
        q::<i64>(&mut c, &["ZINTERCARD", "2", "a", "b", "LIMIT", "1"]),
        1
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZUNION", "2", "a", "missing"]),
        strings(&["x", "y", "z"])
    );
    assert_eq!(
        error(&mut c, &["ZUNION", "0", "a"]),
        "ERR at least 1 input key is needed for 'zunion' command"
    );
    assert_eq!(
        error(&mut c, &["ZUNION", "3", "a", "b"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["ZINTER", "2", "a", "b", "WEIGHTS", "1", "x"]),
        "ERR weight value is not a float"
    );
    let _: () = q(&mut c, &["SET", "str", "v"]);
    assert!(error(&mut c, &["ZUNION", "2", "a", "str"]).starts_with("WRONGTYPE"));
}

#[test]
fn zrandmember_and_zscan() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(value(&mut c, &["ZRANDMEMBER", "none"]), Value::Nil);
    for i in 0..300 {
        let _: i64 = q(&mut c, &["ZADD", "z", &i.to_string(), &format!("m{i}")]);
    }
    let two: Vec<String> = q(&mut c, &["ZRANDMEMBER", "z", "2", "WITHSCORES"]);
    assert_eq!(two.len(), 4);
    let repeats: Vec<String> = q(&mut c, &["ZRANDMEMBER", "z", "-500"]);
    assert_eq!(repeats.len(), 500);
    let mut cursor = "0".to_string();
    let mut seen = std::collections::HashSet::new();
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut c, &["ZSCAN", "z", &cursor, "COUNT", "17"]);
        for pair in items.chunks(2) {
            assert!(seen.insert(pair[0].clone()), "duplicate {}", pair[0]);
            assert_eq!(format!("m{}", pair[1]), pair[0]);
        }
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 300);
}

#[test]
fn blocking_pops_are_woken_by_other_clients_and_time_out() {
    let server = TestServer::start();
    let mut c = server.client();
    // Timeout: a nil array after about the requested time.
    let started = std::time::Instant::now();
    assert_eq!(value(&mut c, &["BZPOPMIN", "q1", "q2", "0.2"]), Value::Nil);
    assert!(started.elapsed() >= Duration::from_millis(150));
    // Data already there: no blocking.
    let _: i64 = q(&mut c, &["ZADD", "q2", "7", "job"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["BZPOPMIN", "q1", "q2", "1"]),
        strings(&["q2", "job", "7"])
    );
    // Woken by a ZADD from another connection.
    let url = server.url();
    let pusher = std::thread::spawn(move || {
        crate::harness::wait_for_blocked_clients(&url, 1);
        let mut other = redis::Client::open(url).unwrap().get_connection().unwrap();
        let _: i64 = redis::cmd("ZADD")
            .arg("q1")
            .arg("3")
            .arg("late")
            .query(&mut other)
            .unwrap();
        let _: i64 = redis::cmd("ZADD")
            .arg("q3")
            .arg("1")
            .arg("a")
            .arg("2")
            .arg("b")
            .query(&mut other)
            .unwrap();
    });
    assert_eq!(
        q::<Vec<String>>(&mut c, &["BZPOPMAX", "q1", "0"]),
        strings(&["q1", "late", "3"])
    );
    pusher.join().unwrap();
    assert_eq!(
        value(&mut c, &["BZMPOP", "1", "1", "q3", "MIN", "COUNT", "10"]),
        Value::Array(vec![
            Value::BulkString(b"q3".to_vec()),
            Value::Array(vec![
                Value::Array(vec![
                    Value::BulkString(b"a".to_vec()),
                    Value::BulkString(b"1".to_vec())
                ]),
                Value::Array(vec![
                    Value::BulkString(b"b".to_vec()),
                    Value::BulkString(b"2".to_vec())
                ]),
            ])
        ])
    );
    assert_eq!(
        value(&mut c, &["BZMPOP", "0.1", "1", "q3", "MIN"]),
        Value::Nil
    );
    assert_eq!(
        error(&mut c, &["BZPOPMIN", "q", "-1"]),
        "ERR timeout is negative"
    );
    assert_eq!(
        error(&mut c, &["BZPOPMIN", "q", "x"]),
        "ERR timeout is not a float or out of range"
    );
    // Inside MULTI a blocking pop does not block.
    let _: () = q(&mut c, &["MULTI"]);
    let _: Value = value(&mut c, &["BZPOPMIN", "empty", "0"]);
    assert_eq!(value(&mut c, &["EXEC"]), Value::Array(vec![Value::Nil]));
}

#[test]
fn randomized_operations_match_a_reference_model() {
    let mut server = TestServer::start();
    let mut c = server.client();
    let mut model: BTreeMap<String, f64> = BTreeMap::new();
    let mut rng = Rng(0x1234_5678_9abc_def0);
    let mut rand = move |n: u64| rng.below(n);
    let sorted = |model: &BTreeMap<String, f64>| {
        let mut v: Vec<(f64, String)> = model.iter().map(|(m, s)| (*s, m.clone())).collect();
        v.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then_with(|| a.1.cmp(&b.1)));
        v
    };
    for batch in 0..40 {
        for _ in 0..100 {
            let member = format!("m{}", rand(150));
            match rand(3) {
                0 => {
                    let score = rand(50) as f64 - 25.0;
                    let _: i64 = q(&mut c, &["ZADD", "model", &score.to_string(), &member]);
                    model.insert(member, score);
                }
                1 => {
                    let _: i64 = q(&mut c, &["ZREM", "model", &member]);
                    model.remove(&member);
                }
                _ => {
                    let delta = rand(10) as f64 - 3.0;
                    let _: String = q(&mut c, &["ZINCRBY", "model", &delta.to_string(), &member]);
                    *model.entry(member).or_insert(0.0) += delta;
                }
            }
        }
        if batch == 20 {
            // Half-way: restart, so the rank index is rebuilt from storage.
            drop(c);
            assert_eq!(server.stop(), Some(0));
            server.restart();
            c = server.client();
        }
        let expected = sorted(&model);
        let got: Vec<String> = q(&mut c, &["ZRANGE", "model", "0", "-1", "WITHSCORES"]);
        let flat: Vec<String> = expected
            .iter()
            .flat_map(|(s, m)| [m.clone(), redyn_score(*s)])
            .collect();
        assert_eq!(got, flat, "ZRANGE after batch {batch}");
        for (rank, (score, member)) in expected.iter().enumerate().step_by(7) {
            assert_eq!(q::<i64>(&mut c, &["ZRANK", "model", member]), rank as i64);
            assert_eq!(
                q::<i64>(&mut c, &["ZREVRANK", "model", member]),
                (expected.len() - 1 - rank) as i64
            );
            assert_eq!(
                q::<String>(&mut c, &["ZSCORE", "model", member]),
                redyn_score(*score)
            );
        }
        assert_eq!(q::<i64>(&mut c, &["ZCARD", "model"]), expected.len() as i64);
    }
}

/// Integral test scores print without a fraction, as Redis prints them.
fn redyn_score(s: f64) -> String {
    if s == 0.0 {
        "0".into()
    } else {
        format!("{s}")
    }
}

#[test]
fn big_sorted_set_delete_is_immediate() {
    let server = TestServer::start();
    let mut c = server.client();
    for chunk in 0..20 {
        let mut pipe = redis::pipe();
        let mut cmd = redis::cmd("ZADD");
        cmd.arg("big");
        for i in 0..5000 {
            cmd.arg(chunk * 5000 + i)
                .arg(format!("p{}", chunk * 5000 + i));
        }
        pipe.add_command(cmd).ignore();
        let _: () = pipe.query(&mut c).unwrap();
    }
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "big"]), 100_000);
    assert_eq!(q::<i64>(&mut c, &["ZREVRANK", "big", "p99999"]), 0);
    assert_eq!(q::<i64>(&mut c, &["DEL", "big"]), 1);
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "big"]), 0);
    assert_eq!(q::<i64>(&mut c, &["ZADD", "big", "1", "again"]), 1);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "big", "0", "-1"]),
        strings(&["again"])
    );
}

#[test]
fn set_operations_accept_plain_sets_with_score_one() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["SADD", "seta", "a", "b", "c"]), 3);
    assert_eq!(
        q::<i64>(&mut c, &["ZADD", "zsetb", "1", "b", "2", "c", "3", "d"]),
        3
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "ZUNIONSTORE",
                "zsetc",
                "2",
                "seta",
                "zsetb",
                "WEIGHTS",
                "2",
                "3"
            ]
        ),
        4
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "zsetc", "0", "-1", "WITHSCORES"]),
        strings(&["a", "2", "b", "5", "c", "8", "d", "9"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZINTER", "2", "seta", "zsetb", "WITHSCORES"]),
        strings(&["b", "2", "c", "3"])
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "ZINTER",
                "2",
                "zsetb",
                "seta",
                "WEIGHTS",
                "1",
                "5",
                "AGGREGATE",
                "MAX",
                "WITHSCORES"
            ]
        ),
        strings(&["b", "5", "c", "5"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZDIFF", "2", "seta", "zsetb", "WITHSCORES"]),
        strings(&["a", "1"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZDIFF", "2", "zsetb", "seta", "WITHSCORES"]),
        strings(&["d", "3"])
    );
    assert_eq!(
        q::<i64>(&mut c, &["ZDIFFSTORE", "zd", "2", "seta", "zsetb"]),
        1
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "zd", "0", "-1", "WITHSCORES"]),
        strings(&["a", "1"])
    );
    assert_eq!(q::<i64>(&mut c, &["ZINTERCARD", "2", "seta", "zsetb"]), 2);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZUNION", "2", "seta", "missing", "WITHSCORES"]),
        strings(&["a", "1", "b", "1", "c", "1"])
    );
    let _: () = q(&mut c, &["SET", "str", "v"]);
    assert!(error(&mut c, &["ZUNION", "2", "seta", "str"]).starts_with("WRONGTYPE"));
    let _: i64 = q(&mut c, &["HSET", "hash", "f", "v"]);
    assert!(error(&mut c, &["ZINTERCARD", "2", "hash", "seta"]).starts_with("WRONGTYPE"));
}

#[test]
fn scores_reply_with_17_significant_digits_in_both_protocols() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["ZADD", "z", "0.4289898231760551", "a", "3", "b"]);
    assert_eq!(
        q::<String>(&mut c, &["ZSCORE", "z", "a"]),
        "0.42898982317605511"
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        strings(&["a", "0.42898982317605511", "b", "3"])
    );
    assert_eq!(
        q::<String>(&mut c, &["ZINCRBY", "z", "0.1", "b"]),
        "3.1000000000000001"
    );
    let mut raw = server.raw();
    raw.send(b"HELLO 3\r\nZSCORE z a\r\nPING\r\n");
    let lines: Vec<String> = (0..200)
        .map(|_| raw.read_line())
        .take_while(|line| line != "+PONG\r\n" && !line.is_empty())
        .collect();
    assert!(
        lines.contains(&",0.42898982317605511\r\n".to_string()),
        "{lines:?}"
    );
}

#[test]
fn numkeys_and_count_errors_match_redis() {
    let server = TestServer::start();
    let mut c = server.client();
    for args in [
        &["ZMPOP", "0", "z", "MIN"][..],
        &["ZMPOP", "a", "z", "MIN"],
        &["ZMPOP", "-1", "z", "MAX"],
        &["BZMPOP", "1", "a", "z", "MIN"],
    ] {
        assert_eq!(error(&mut c, args), "ERR numkeys should be greater than 0");
    }
    for args in [
        &["ZMPOP", "1", "z", "MIN", "COUNT", "0"][..],
        &["ZMPOP", "1", "z", "MAX", "COUNT", "a"],
        &["ZMPOP", "2", "z", "y", "MAX", "COUNT", "-1"],
    ] {
        assert_eq!(error(&mut c, args), "ERR count should be greater than 0");
    }
    assert_eq!(
        error(&mut c, &["ZMPOP", "1", "z", "COUNT"]),
        "ERR syntax error"
    );
    for cmd in ["zunion", "zinter", "zdiff", "zintercard"] {
        assert_eq!(
            error(&mut c, &[cmd, "0", "k"]),
            format!("ERR at least 1 input key is needed for '{cmd}' command")
        );
        assert_eq!(
            error(&mut c, &[cmd, "x", "k"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(error(&mut c, &[cmd, "5", "k"]), "ERR syntax error");
    }
    for cmd in ["zunionstore", "zinterstore", "zdiffstore"] {
        assert_eq!(
            error(&mut c, &[cmd, "dst", "0", "k"]),
            format!("ERR at least 1 input key is needed for '{cmd}' command")
        );
    }
    assert_eq!(
        error(&mut c, &["ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES"]),
        "ERR syntax error"
    );
}

#[test]
fn woken_blocked_pop_passes_over_a_key_that_became_another_type() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut blocked = server.client();
    let waiter =
        std::thread::spawn(move || -> Vec<String> { q(&mut blocked, &["BZPOPMIN", "zkey", "0"]) });
    crate::harness::wait_for_blocked_clients(&server.url(), 1);
    let _: () = redis::pipe()
        .atomic()
        .cmd("ZADD")
        .arg("zkey")
        .arg(0)
        .arg("foo")
        .ignore()
        .cmd("DEL")
        .arg("zkey")
        .ignore()
        .cmd("SET")
        .arg("zkey")
        .arg("foo")
        .ignore()
        .query(&mut c)
        .unwrap();
    let _: i64 = q(&mut c, &["DEL", "zkey"]);
    let _: i64 = q(&mut c, &["ZADD", "zkey", "1", "bar"]);
    assert_eq!(waiter.join().unwrap(), strings(&["zkey", "bar", "1"]));
    // Not blocked: a key of another type is an error at once.
    let _: () = q(&mut c, &["SET", "str", "x"]);
    assert!(error(&mut c, &["BZPOPMIN", "str", "0"]).starts_with("WRONGTYPE"));
}
