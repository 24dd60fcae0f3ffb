//! Clients blocked on the same keys, across connections: first blocked, first served for the
//! sorted-set blocking pops (lists: see `list.rs`); the turn handed on when the first in line
//! disconnects; list and sorted-set waiters on one key never holding each other up; one
//! waiter served per element whatever kind of write brings it, with nobody left behind; and
//! nothing lost or served twice under concurrent pushes and timeouts.

use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use redis::Value;

use crate::harness::{eventually, info_number, q, wait_for_blocked_clients, TestServer};

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn bulks(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| bulk(s)).collect())
}

fn blocked_clients(url: &str) -> u64 {
    let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
    info_number(&mut con, "clients", "blocked_clients")
}

fn wait_for_exactly_blocked(url: &str, n: u64) {
    assert!(
        eventually(30, || blocked_clients(url) == n),
        "expected {n} blocked clients, have {}",
        blocked_clients(url)
    );
}

/// A new connection that sends `args` and hands back the reply when it comes.
fn spawn_blocked(server: &TestServer, args: &[&str]) -> JoinHandle<Value> {
    let mut con = server.client();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    thread::spawn(move || {
        let mut cmd = redis::cmd(&args[0]);
        for a in &args[1..] {
            cmd.arg(a);
        }
        cmd.query(&mut con).unwrap()
    })
}

/// `n` connections blocked with `args`, one after the other (each blocked before the next).
fn block_in_order(server: &TestServer, n: usize, args: &[&str]) -> Vec<JoinHandle<Value>> {
    let already = blocked_clients(&server.url());
    (0..n)
        .map(|i| {
            let waiter = spawn_blocked(server, args);
            wait_for_blocked_clients(&server.url(), already + i as u64 + 1);
            waiter
        })
        .collect()
}

fn replies(waiters: Vec<JoinHandle<Value>>) -> Vec<Value> {
    waiters.into_iter().map(|w| w.join().unwrap()).collect()
}

/// A request in RESP, for a raw connection.
fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

#[test]
fn sorted_set_pops_serve_blocked_clients_in_blocking_order() {
    let server = TestServer::start();
    let mut c = server.client();
    // One ZADD of four members: the first blocked gets the lowest, and so on.
    let waiters = block_in_order(&server, 4, &["BZPOPMIN", "other", "z", "0"]);
    let _: i64 = q(
        &mut c,
        &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
    );
    assert_eq!(
        replies(waiters),
        vec![
            bulks(&["z", "a", "1"]),
            bulks(&["z", "b", "2"]),
            bulks(&["z", "c", "3"]),
            bulks(&["z", "d", "4"]),
        ]
    );
    // One member at a time: still blocking order, whichever connection wakes first.
    let waiters = block_in_order(&server, 3, &["BZPOPMAX", "zm", "0"]);
    for (score, member) in [("1", "x"), ("2", "y"), ("3", "z")] {
        let _: i64 = q(&mut c, &["ZADD", "zm", score, member]);
    }
    assert_eq!(
        replies(waiters),
        vec![
            bulks(&["zm", "x", "1"]),
            bulks(&["zm", "y", "2"]),
            bulks(&["zm", "z", "3"]),
        ]
    );
    // BZMPOP with COUNT: the first in line takes its count, the next what is left.
    let waiters = block_in_order(
        &server,
        3,
        &["BZMPOP", "0", "2", "none", "zc", "MIN", "COUNT", "2"],
    );
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "zc", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ],
    );
    let pairs =
        |items: &[(&str, &str)]| Value::Array(items.iter().map(|(m, s)| bulks(&[m, s])).collect());
    assert_eq!(
        replies(waiters),
        vec![
            Value::Array(vec![bulk("zc"), pairs(&[("a", "1"), ("b", "2")])]),
            Value::Array(vec![bulk("zc"), pairs(&[("c", "3"), ("d", "4")])]),
            Value::Array(vec![bulk("zc"), pairs(&[("e", "5")])]),
        ]
    );
    // A waiter that timed out gives its turn to the next one.
    let early = spawn_blocked(&server, &["BZPOPMIN", "zt", "0.3"]);
    wait_for_blocked_clients(&server.url(), 1);
    let late = spawn_blocked(&server, &["BZMPOP", "0", "1", "zt", "MAX"]);
    wait_for_blocked_clients(&server.url(), 2);
    assert_eq!(early.join().unwrap(), Value::Nil);
    let _: i64 = q(&mut c, &["ZADD", "zt", "7", "m"]);
    assert_eq!(
        late.join().unwrap(),
        Value::Array(vec![bulk("zt"), Value::Array(vec![bulks(&["m", "7"])])])
    );
}

#[test]
fn a_waiter_that_disconnects_hands_its_turn_to_the_next() {
    let server = TestServer::start();
    let url = server.url();
    let mut c = server.client();
    let cases: [(&[&str], &[&str], Value); 2] = [
        (
            &["BLPOP", "gone", "0"],
            &["RPUSH", "gone", "x"],
            bulks(&["gone", "x"]),
        ),
        (
            &["BZPOPMIN", "zgone", "0"],
            &["ZADD", "zgone", "1", "x"],
            bulks(&["zgone", "x", "1"]),
        ),
    ];
    for (block, push, expected) in cases {
        let mut first = server.raw();
        first.send(&resp(block));
        wait_for_blocked_clients(&url, 1);
        let second = spawn_blocked(&server, block);
        wait_for_blocked_clients(&url, 2);
        drop(first);
        wait_for_exactly_blocked(&url, 1);
        let _: i64 = q(&mut c, push);
        assert_eq!(second.join().unwrap(), expected);
        wait_for_exactly_blocked(&url, 0);
    }
}

#[test]
fn list_and_sorted_set_waiters_on_one_key_do_not_hold_each_other_up() {
    let server = TestServer::start();
    let url = server.url();
    let mut c = server.client();
    let list_waiter = spawn_blocked(&server, &["BLPOP", "k", "0"]);
    wait_for_blocked_clients(&url, 1);
    let zset_waiter = spawn_blocked(&server, &["BZPOPMIN", "k", "0"]);
    wait_for_blocked_clients(&url, 2);
    // The list waiter is first on `k`, but a sorted set there serves the sorted-set waiter.
    let _: i64 = q(&mut c, &["ZADD", "k", "1", "a"]);
    assert_eq!(zset_waiter.join().unwrap(), bulks(&["k", "a", "1"]));
    wait_for_exactly_blocked(&url, 1);
    let _: i64 = q(&mut c, &["RPUSH", "k", "x"]);
    assert_eq!(list_waiter.join().unwrap(), bulks(&["k", "x"]));
}

#[test]
fn every_element_serves_one_waiter_and_nobody_is_left_behind() {
    let server = TestServer::start();
    let url = server.url();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["RPUSH", "staging", "moved"]);
    let waiters = block_in_order(&server, 20, &["BRPOP", "jobs", "alt", "0"]);
    // Twelve elements, brought by every kind of write: a push of several elements, single
    // pushes, a MULTI/EXEC pushing to two keys, an LMOVE into a waited-on key, and a push to
    // the second key the waiters block on.
    let _: i64 = q(&mut c, &["RPUSH", "jobs", "1", "2", "3", "4", "5"]);
    let _: i64 = q(&mut c, &["LPUSH", "jobs", "6"]);
    let _: i64 = q(&mut c, &["LPUSH", "jobs", "7"]);
    let _: Value = redis::pipe()
        .atomic()
        .cmd("RPUSH")
        .arg("jobs")
        .arg("8")
        .cmd("RPUSH")
        .arg("alt")
        .arg("9")
        .query(&mut c)
        .unwrap();
    let _: String = q(&mut c, &["LMOVE", "staging", "jobs", "RIGHT", "LEFT"]);
    let _: i64 = q(&mut c, &["RPUSH", "alt", "10", "11"]);
    let mut waiters = waiters.into_iter();
    // The first twelve blocked are served, one element each ...
    let mut served: Vec<String> = waiters
        .by_ref()
        .take(12)
        .map(|w| {
            let reply: (String, String) = redis::from_redis_value(w.join().unwrap()).unwrap();
            reply.1
        })
        .collect();
    served.sort();
    let mut expected: Vec<String> = (1..=11).map(|i| i.to_string()).collect();
    expected.push("moved".into());
    expected.sort();
    assert_eq!(served, expected);
    // ... the other eight still wait, and nothing is left in the lists.
    wait_for_exactly_blocked(&url, 8);
    let lens: (i64, i64) = redis::pipe()
        .cmd("LLEN")
        .arg("jobs")
        .cmd("LLEN")
        .arg("alt")
        .query(&mut c)
        .unwrap();
    assert_eq!(lens, (0, 0));
    for i in 0..8 {
        let _: i64 = q(&mut c, &["LPUSH", "jobs", &format!("late{i}")]);
    }
    let late: Vec<Value> = replies(waiters.collect());
    let expected: Vec<Value> = (0..8)
        .map(|i| bulks(&["jobs", &format!("late{i}")]))
        .collect();
    assert_eq!(late, expected);
}

#[test]
fn concurrent_pushes_and_timeouts_lose_nothing_and_serve_nothing_twice() {
    const PRODUCERS: usize = 2;
    const JOBS_EACH: usize = 300;
    const CONSUMERS: usize = 8;
    let server = TestServer::start();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Consumers block with short timeouts, so timeouts keep racing with hand-overs.
    let consumers: Vec<JoinHandle<(Vec<String>, bool)>> = (0..CONSUMERS)
        .map(|_| {
            let mut con = server.client();
            thread::spawn(move || {
                let mut got = Vec::new();
                while Instant::now() < deadline {
                    let popped: Option<(String, String)> = redis::cmd("BRPOP")
                        .arg("work")
                        .arg("0.02")
                        .query(&mut con)
                        .unwrap();
                    match popped {
                        Some((_, job)) if job == "stop" => return (got, true),
                        Some((_, job)) => got.push(job),
                        None => {}
                    }
                }
                (got, false)
            })
        })
        .collect();
    // Producers push single jobs and batches of three (LPUSH keeps the list first in,
    // first out for BRPOP), pausing now and then so consumers block and time out.
    let producers: Vec<JoinHandle<()>> = (0..PRODUCERS)
        .map(|p| {
            let mut con = server.client();
            thread::spawn(move || {
                let mut i = 0;
                while i < JOBS_EACH {
                    let batch: Vec<String> = (i..(i + 1 + i % 3).min(JOBS_EACH))
                        .map(|j| format!("p{p}-{j}"))
                        .collect();
                    i += batch.len();
                    let _: i64 = redis::cmd("LPUSH")
                        .arg("work")
                        .arg(&batch)
                        .query(&mut con)
                        .unwrap();
                    if i % 20 == 0 {
                        thread::sleep(Duration::from_millis(25));
                    }
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let mut c = server.client();
    for _ in 0..CONSUMERS {
        let _: i64 = q(&mut c, &["LPUSH", "work", "stop"]);
    }
    let mut all = Vec::new();
    for consumer in consumers {
        let (got, stopped) = consumer.join().unwrap();
        assert!(stopped, "a consumer never got its stop element");
        all.extend(got);
    }
    all.sort();
    let mut expected: Vec<String> = (0..PRODUCERS)
        .flat_map(|p| (0..JOBS_EACH).map(move |j| format!("p{p}-{j}")))
        .collect();
    expected.sort();
    assert_eq!(all, expected);
    assert_eq!(q::<i64>(&mut c, &["LLEN", "work"]), 0);
}
