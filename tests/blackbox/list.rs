//! Lists: every command and option with Redis 7.0's replies and errors, blocking pops
//! (woken by other connections and by EXEC, timeouts, first-blocked-first-served), generic
//! key commands on lists, keyspace events, and a randomized model test across a restart.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use redis::Value;

use crate::harness::{error, q, value, wait_for_blocked_clients, Rng, TestServer};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn lrange(c: &mut redis::Connection, key: &str) -> Vec<String> {
    q(c, &["LRANGE", key, "0", "-1"])
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

#[test]
fn push_pop_len_index_set() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["RPUSH", "l", "a", "b", "c"]), 3);
    assert_eq!(q::<i64>(&mut c, &["LPUSH", "l", "y", "z"]), 5);
    assert_eq!(lrange(&mut c, "l"), strings(&["z", "y", "a", "b", "c"]));
    assert_eq!(q::<i64>(&mut c, &["LPUSHX", "l", "x"]), 6);
    assert_eq!(q::<i64>(&mut c, &["RPUSHX", "l", "d", "e"]), 8);
    assert_eq!(q::<i64>(&mut c, &["LPUSHX", "none", "x"]), 0);
    assert_eq!(q::<i64>(&mut c, &["RPUSHX", "none", "x"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "none"]), 0);
    assert_eq!(q::<i64>(&mut c, &["LLEN", "l"]), 8);
    assert_eq!(q::<i64>(&mut c, &["LLEN", "none"]), 0);
    assert_eq!(q::<String>(&mut c, &["LINDEX", "l", "0"]), "x");
    assert_eq!(q::<String>(&mut c, &["LINDEX", "l", "-1"]), "e");
    assert_eq!(value(&mut c, &["LINDEX", "l", "8"]), Value::Nil);
    assert_eq!(value(&mut c, &["LINDEX", "l", "-9"]), Value::Nil);
    assert_eq!(value(&mut c, &["LINDEX", "none", "x"]), Value::Nil);
    assert_eq!(
        error(&mut c, &["LINDEX", "l", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(q::<String>(&mut c, &["LSET", "l", "1", "Z"]), "OK");
    assert_eq!(q::<String>(&mut c, &["LSET", "l", "-1", "E"]), "OK");
    assert_eq!(
        error(&mut c, &["LSET", "l", "8", "v"]),
        "ERR index out of range"
    );
    assert_eq!(
        error(&mut c, &["LSET", "none", "0", "v"]),
        "ERR no such key"
    );
    assert_eq!(
        lrange(&mut c, "l"),
        strings(&["x", "Z", "y", "a", "b", "c", "d", "E"])
    );
    // Pops, with and without count.
    assert_eq!(q::<String>(&mut c, &["LPOP", "l"]), "x");
    assert_eq!(q::<String>(&mut c, &["RPOP", "l"]), "E");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LPOP", "l", "2"]),
        strings(&["Z", "y"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["RPOP", "l", "2"]),
        strings(&["d", "c"])
    );
    assert_eq!(value(&mut c, &["LPOP", "l", "0"]), Value::Array(vec![]));
    assert_eq!(
        error(&mut c, &["LPOP", "l", "-1"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        error(&mut c, &["RPOP", "l", "x"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        error(&mut c, &["LPOP", "l", "1", "2"]),
        "ERR wrong number of arguments for 'lpop' command"
    );
    assert_eq!(value(&mut c, &["LPOP", "none"]), Value::Nil);
    assert_eq!(value(&mut c, &["LPOP", "none", "1"]), Value::Nil);
    // Popping more than there is empties and deletes the list.
    assert_eq!(
        q::<Vec<String>>(&mut c, &["RPOP", "l", "10"]),
        strings(&["b", "a"])
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "l"]), 0);
}

#[test]
fn lrange_ltrim_index_rules() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["RPUSH", "l", "0", "1", "2", "3", "4", "5"]);
    let range = |c: &mut redis::Connection, a: &str, b: &str| -> Vec<String> {
        q(c, &["LRANGE", "l", a, b])
    };
    assert_eq!(range(&mut c, "1", "3"), strings(&["1", "2", "3"]));
    assert_eq!(range(&mut c, "-2", "-1"), strings(&["4", "5"]));
    assert_eq!(range(&mut c, "-100", "100").len(), 6);
    assert!(range(&mut c, "4", "2").is_empty());
    assert!(range(&mut c, "6", "10").is_empty());
    assert!(range(&mut c, "0", "-7").is_empty());
    assert!(q::<Vec<String>>(&mut c, &["LRANGE", "none", "0", "-1"]).is_empty());
    assert_eq!(
        error(&mut c, &["LRANGE", "l", "a", "1"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(q::<String>(&mut c, &["LTRIM", "l", "1", "-2"]), "OK");
    assert_eq!(lrange(&mut c, "l"), strings(&["1", "2", "3", "4"]));
    assert_eq!(q::<String>(&mut c, &["LTRIM", "l", "-100", "1"]), "OK");
    assert_eq!(lrange(&mut c, "l"), strings(&["1", "2"]));
    assert_eq!(q::<String>(&mut c, &["LTRIM", "none", "0", "1"]), "OK");
    assert_eq!(q::<String>(&mut c, &["LTRIM", "l", "5", "10"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "l"]), 0);
    // Pushes after a trim keep working at both ends.
    let _: i64 = q(&mut c, &["RPUSH", "t", "a", "b", "c", "d"]);
    let _: String = q(&mut c, &["LTRIM", "t", "1", "2"]);
    let _: i64 = q(&mut c, &["LPUSH", "t", "x"]);
    let _: i64 = q(&mut c, &["RPUSH", "t", "y"]);
    assert_eq!(lrange(&mut c, "t"), strings(&["x", "b", "c", "y"]));
    assert_eq!(q::<String>(&mut c, &["LINDEX", "t", "3"]), "y");
}

#[test]
fn lrem_and_linsert() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["RPUSH", "l", "a", "b", "a", "c", "a", "d", "a"]);
    assert_eq!(q::<i64>(&mut c, &["LREM", "l", "2", "a"]), 2);
    assert_eq!(lrange(&mut c, "l"), strings(&["b", "c", "a", "d", "a"]));
    assert_eq!(q::<i64>(&mut c, &["LREM", "l", "-1", "a"]), 1);
    assert_eq!(lrange(&mut c, "l"), strings(&["b", "c", "a", "d"]));
    assert_eq!(q::<i64>(&mut c, &["LREM", "l", "0", "zz"]), 0);
    assert_eq!(q::<i64>(&mut c, &["LREM", "none", "0", "a"]), 0);
    assert_eq!(
        error(&mut c, &["LREM", "l", "x", "a"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(q::<i64>(&mut c, &["LINSERT", "l", "BEFORE", "b", "X"]), 5);
    assert_eq!(q::<i64>(&mut c, &["LINSERT", "l", "after", "d", "Y"]), 6);
    assert_eq!(q::<i64>(&mut c, &["LINSERT", "l", "AFTER", "c", "M"]), 7);
    assert_eq!(q::<i64>(&mut c, &["LINSERT", "l", "before", "d", "N"]), 8);
    assert_eq!(
        lrange(&mut c, "l"),
        strings(&["X", "b", "c", "M", "a", "N", "d", "Y"])
    );
    assert_eq!(q::<i64>(&mut c, &["LINSERT", "l", "BEFORE", "zz", "v"]), -1);
    assert_eq!(
        q::<i64>(&mut c, &["LINSERT", "none", "BEFORE", "a", "v"]),
        0
    );
    assert_eq!(
        error(&mut c, &["LINSERT", "l", "MIDDLE", "a", "v"]),
        "ERR syntax error"
    );
    assert_eq!(q::<i64>(&mut c, &["LREM", "l", "0", "X"]), 1);
    for v in ["b", "c", "M", "a", "N", "d", "Y"] {
        let _: i64 = q(&mut c, &["LREM", "l", "1", v]);
    }
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "l"]), 0);
}

#[test]
fn lpos_options_and_errors() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["RPUSH", "p", "a", "b", "c", "a", "b", "c", "a"]);
    assert_eq!(q::<i64>(&mut c, &["LPOS", "p", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["LPOS", "p", "a", "RANK", "2"]), 3);
    assert_eq!(q::<i64>(&mut c, &["LPOS", "p", "a", "RANK", "-1"]), 6);
    assert_eq!(q::<i64>(&mut c, &["LPOS", "p", "a", "RANK", "-2"]), 3);
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "p", "a", "COUNT", "0"]),
        vec![0, 3, 6]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "p", "a", "COUNT", "2"]),
        vec![0, 3]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "p", "a", "COUNT", "0", "RANK", "-1"]),
        vec![6, 3, 0]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "p", "a", "COUNT", "0", "MAXLEN", "4"]),
        vec![0, 3]
    );
    assert_eq!(
        value(&mut c, &["LPOS", "p", "a", "RANK", "-2", "MAXLEN", "2"]),
        Value::Nil
    );
    assert_eq!(value(&mut c, &["LPOS", "p", "a", "RANK", "5"]), Value::Nil);
    assert_eq!(value(&mut c, &["LPOS", "p", "z"]), Value::Nil);
    assert_eq!(
        value(&mut c, &["LPOS", "p", "z", "COUNT", "3"]),
        Value::Array(vec![])
    );
    assert_eq!(value(&mut c, &["LPOS", "none", "a"]), Value::Nil);
    assert_eq!(
        value(&mut c, &["LPOS", "none", "a", "COUNT", "1"]),
        Value::Array(vec![])
    );
    assert_eq!(
        error(&mut c, &["LPOS", "p", "a", "RANK", "0"]),
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
    );
    assert_eq!(
        error(&mut c, &["LPOS", "p", "a", "COUNT", "-1"]),
        "ERR COUNT can't be negative"
    );
    assert_eq!(
        error(&mut c, &["LPOS", "p", "a", "MAXLEN", "-1"]),
        "ERR MAXLEN can't be negative"
    );
    assert_eq!(
        error(&mut c, &["LPOS", "p", "a", "FOO"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["LPOS", "p", "a", "RANK"]),
        "ERR syntax error"
    );
}

#[test]
fn lmove_rpoplpush_lmpop() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["RPUSH", "src", "a", "b", "c"]);
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "src", "dst", "LEFT", "RIGHT"]),
        "a"
    );
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "src", "dst", "right", "left"]),
        "c"
    );
    assert_eq!(lrange(&mut c, "dst"), strings(&["c", "a"]));
    // Same key: rotation.
    let _: i64 = q(&mut c, &["RPUSH", "src", "x"]);
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "src", "src", "LEFT", "RIGHT"]),
        "b"
    );
    assert_eq!(lrange(&mut c, "src"), strings(&["x", "b"]));
    assert_eq!(q::<String>(&mut c, &["RPOPLPUSH", "src", "dst"]), "b");
    assert_eq!(q::<String>(&mut c, &["RPOPLPUSH", "src", "dst"]), "x");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "src"]), 0);
    assert_eq!(lrange(&mut c, "dst"), strings(&["x", "b", "c", "a"]));
    assert_eq!(
        value(&mut c, &["LMOVE", "none", "dst", "LEFT", "LEFT"]),
        Value::Nil
    );
    assert_eq!(
        error(&mut c, &["LMOVE", "dst", "x", "UP", "LEFT"]),
        "ERR syntax error"
    );
    let _: String = q(&mut c, &["SET", "str", "v"]);
    assert_eq!(
        error(&mut c, &["LMOVE", "dst", "str", "LEFT", "LEFT"]),
        WRONGTYPE
    );
    assert_eq!(error(&mut c, &["RPOPLPUSH", "str", "dst"]), WRONGTYPE);
    assert_eq!(lrange(&mut c, "dst").len(), 4);
    // LMPOP
    assert_eq!(
        value(&mut c, &["LMPOP", "2", "none", "dst", "LEFT", "COUNT", "3"]),
        Value::Array(vec![
            bulk("dst"),
            Value::Array(vec![bulk("x"), bulk("b"), bulk("c")])
        ])
    );
    assert_eq!(
        value(&mut c, &["LMPOP", "1", "dst", "RIGHT", "COUNT", "10"]),
        Value::Array(vec![bulk("dst"), Value::Array(vec![bulk("a")])])
    );
    assert_eq!(value(&mut c, &["LMPOP", "1", "dst", "LEFT"]), Value::Nil);
    assert_eq!(
        error(&mut c, &["LMPOP", "2", "none", "str", "LEFT"]),
        WRONGTYPE
    );
    assert_eq!(
        error(&mut c, &["LMPOP", "0", "k", "LEFT"]),
        "ERR numkeys should be greater than 0"
    );
    assert_eq!(
        error(&mut c, &["LMPOP", "3", "k", "LEFT"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["LMPOP", "1", "k", "UP"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["LMPOP", "1", "k", "LEFT", "COUNT", "0"]),
        "ERR count should be greater than 0"
    );
}

#[test]
fn wrong_type_errors() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: String = q(&mut c, &["SET", "s", "v"]);
    for args in [
        &["LPUSH", "s", "a"][..],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["LLEN", "s"],
        &["LINDEX", "s", "0"],
        &["LSET", "s", "0", "a"],
        &["LRANGE", "s", "0", "1"],
        &["LTRIM", "s", "0", "1"],
        &["LREM", "s", "0", "a"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LPOS", "s", "a"],
        &["BLPOP", "none", "s", "0"],
    ] {
        assert_eq!(error(&mut c, args), WRONGTYPE, "{args:?}");
    }
    // A list is the wrong type for other families.
    let _: i64 = q(&mut c, &["RPUSH", "l", "a"]);
    assert_eq!(error(&mut c, &["GET", "l"]), WRONGTYPE);
    assert_eq!(error(&mut c, &["HSET", "l", "f", "v"]), WRONGTYPE);
}

#[test]
fn generic_commands_on_lists() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: i64 = q(&mut c, &["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "l"]), "list");
    // Redis 7.0 reports every list as a quicklist, small or large.
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "l"]),
        "quicklist"
    );
    let many: Vec<String> = (0..300).map(|i| format!("element-{i}")).collect();
    let mut push = redis::cmd("RPUSH");
    push.arg("big").arg(&many);
    let _: i64 = push.query(&mut c).unwrap();
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "big"]),
        "quicklist"
    );
    let (_, mut scanned): (String, Vec<String>) =
        q(&mut c, &["SCAN", "0", "TYPE", "list", "COUNT", "1000"]);
    scanned.sort();
    assert_eq!(scanned, strings(&["big", "l"]));
    assert_eq!(q::<i64>(&mut c, &["COPY", "l", "l2"]), 1);
    let _: i64 = q(&mut c, &["RPUSH", "l", "d"]);
    assert_eq!(lrange(&mut c, "l2"), strings(&["a", "b", "c"]));
    assert_eq!(q::<String>(&mut c, &["RENAME", "l", "l3"]), "OK");
    assert_eq!(lrange(&mut c, "l3"), strings(&["a", "b", "c", "d"]));
    let _: i64 = q(&mut c, &["LPUSH", "l3", "z"]);
    assert_eq!(q::<String>(&mut c, &["LINDEX", "l3", "0"]), "z");
    assert_eq!(q::<i64>(&mut c, &["MOVE", "l3", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "l3"]), 0);
    let _: String = q(&mut c, &["SELECT", "1"]);
    assert_eq!(lrange(&mut c, "l3"), strings(&["z", "a", "b", "c", "d"]));
    let _: String = q(&mut c, &["SELECT", "0"]);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRE", "l2", "50"]), 1);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(q::<i64>(&mut c, &["LLEN", "l2"]), 0);
    assert_eq!(q::<String>(&mut c, &["TYPE", "l2"]), "none");
    assert_eq!(q::<i64>(&mut c, &["DEL", "big"]), 1);
    assert_eq!(q::<i64>(&mut c, &["LLEN", "big"]), 0);
    // A new list at a deleted key does not see the old elements.
    let _: i64 = q(&mut c, &["RPUSH", "big", "fresh"]);
    assert_eq!(lrange(&mut c, "big"), strings(&["fresh"]));
}

#[test]
fn keyspace_events_use_redis_names() {
    let server = TestServer::start_with(&["--notify-keyspace-events", "Elg"]);
    let mut sub_con = server.client();
    let mut sub = sub_con.as_pubsub();
    sub.psubscribe("__keyevent@0__:*").unwrap();
    sub.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut c = server.client();
    let commands: &[&[&str]] = &[
        &["RPUSH", "l", "a", "b", "c"],
        &["LPUSH", "l", "z"],
        &["LINSERT", "l", "BEFORE", "a", "y"],
        &["LSET", "l", "0", "Z"],
        &["LREM", "l", "1", "y"],
        &["LTRIM", "l", "0", "2"],
        &["LMOVE", "l", "m", "LEFT", "RIGHT"],
        &["LPOP", "l"],
        &["RPOP", "l"],
    ];
    for args in commands {
        let _: Value = q(&mut c, args);
    }
    let expected = [
        ("rpush", "l"),
        ("lpush", "l"),
        ("linsert", "l"),
        ("lset", "l"),
        ("lrem", "l"),
        ("ltrim", "l"),
        ("rpush", "m"),
        ("lpop", "l"),
        ("lpop", "l"),
        ("rpop", "l"),
        ("del", "l"),
    ];
    for (event, key) in expected {
        let msg = sub.get_message().unwrap();
        assert_eq!(msg.get_channel_name(), format!("__keyevent@0__:{event}"));
        assert_eq!(msg.get_payload::<String>().unwrap(), key);
    }
}

/// A second connection to `server` that sends one command and reads its reply later.
fn spawn_blocked(server: &TestServer, args: &[&str]) -> std::thread::JoinHandle<Value> {
    let mut con = server.client();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    std::thread::spawn(move || {
        let mut cmd = redis::cmd(&args[0]);
        for a in &args[1..] {
            cmd.arg(a);
        }
        cmd.query(&mut con).unwrap()
    })
}

#[test]
fn blocking_pops_wake_time_out_and_answer_at_once() {
    let server = TestServer::start();
    let mut c = server.client();
    // Data already there: no blocking.
    let _: i64 = q(&mut c, &["RPUSH", "q2", "a", "b"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["BLPOP", "q1", "q2", "0"]),
        strings(&["q2", "a"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["BRPOP", "q1", "q2", "0"]),
        strings(&["q2", "b"])
    );
    // Timeouts: nil after about the requested time.
    let started = Instant::now();
    assert_eq!(value(&mut c, &["BLPOP", "q1", "0.2"]), Value::Nil);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(
        value(&mut c, &["BLMOVE", "q1", "q2", "LEFT", "LEFT", "0.05"]),
        Value::Nil
    );
    assert_eq!(
        value(&mut c, &["BRPOPLPUSH", "q1", "q2", "0.05"]),
        Value::Nil
    );
    assert_eq!(
        value(&mut c, &["BLMPOP", "0.05", "2", "q1", "q2", "LEFT"]),
        Value::Nil
    );
    assert_eq!(
        error(&mut c, &["BLPOP", "q", "-1"]),
        "ERR timeout is negative"
    );
    assert_eq!(
        error(&mut c, &["BLPOP", "q", "x"]),
        "ERR timeout is not a float or out of range"
    );
    assert_eq!(
        error(&mut c, &["BLMOVE", "a", "b", "LEFT", "UP", "0"]),
        "ERR syntax error"
    );
    // Woken by pushes from other connections.
    let url = server.url();
    let waiter = spawn_blocked(&server, &["BRPOP", "w1", "w2", "0"]);
    wait_for_blocked_clients(&url, 1);
    let _: i64 = q(&mut c, &["RPUSH", "w2", "x", "y"]);
    assert_eq!(
        waiter.join().unwrap(),
        Value::Array(vec![bulk("w2"), bulk("y")])
    );
    let waiter = spawn_blocked(&server, &["BLMOVE", "m1", "m2", "RIGHT", "LEFT", "0"]);
    wait_for_blocked_clients(&url, 1);
    let _: i64 = q(&mut c, &["RPUSH", "m1", "moved"]);
    assert_eq!(waiter.join().unwrap(), bulk("moved"));
    assert_eq!(lrange(&mut c, "m2"), strings(&["moved"]));
    let waiter = spawn_blocked(
        &server,
        &["BLMPOP", "0", "2", "n1", "n2", "RIGHT", "COUNT", "5"],
    );
    wait_for_blocked_clients(&url, 1);
    let _: i64 = q(&mut c, &["RPUSH", "n2", "1", "2", "3"]);
    assert_eq!(
        waiter.join().unwrap(),
        Value::Array(vec![
            bulk("n2"),
            Value::Array(vec![bulk("3"), bulk("2"), bulk("1")])
        ])
    );
    // Woken by a MULTI/EXEC: the waiter sees the state after EXEC.
    let waiter = spawn_blocked(&server, &["BLPOP", "t", "0"]);
    wait_for_blocked_clients(&url, 1);
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("LPUSH")
        .arg("t")
        .arg("a")
        .cmd("LPUSH")
        .arg("t")
        .arg("b")
        .cmd("LPUSH")
        .arg("t")
        .arg("c");
    let _: Value = pipe.query(&mut c).unwrap();
    assert_eq!(
        waiter.join().unwrap(),
        Value::Array(vec![bulk("t"), bulk("c")])
    );
    // A push undone in the same EXEC leaves the waiter blocked until its timeout.
    let waiter = spawn_blocked(&server, &["BLPOP", "u", "0.5"]);
    wait_for_blocked_clients(&url, 1);
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("LPUSH")
        .arg("u")
        .arg("a")
        .cmd("DEL")
        .arg("u");
    let _: Value = pipe.query(&mut c).unwrap();
    assert_eq!(waiter.join().unwrap(), Value::Nil);
    // Inside MULTI blocking commands answer at once as on timeout.
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("BLPOP")
        .arg("none")
        .arg("0")
        .cmd("BLMOVE")
        .arg("none")
        .arg("x")
        .arg("LEFT")
        .arg("LEFT")
        .arg("0")
        .cmd("BLMPOP")
        .arg("0")
        .arg("1")
        .arg("none")
        .arg("LEFT");
    let replies: Vec<Value> = pipe.query(&mut c).unwrap();
    assert_eq!(replies, vec![Value::Nil, Value::Nil, Value::Nil]);
    // A woken BRPOPLPUSH whose destination is not a list fails and leaves the element.
    let _: String = q(&mut c, &["SET", "target", "str"]);
    let waiter = std::thread::spawn({
        let mut con = server.client();
        move || {
            redis::cmd("BRPOPLPUSH")
                .arg("src")
                .arg("target")
                .arg("0")
                .query::<Value>(&mut con)
                .map_err(|e| crate::harness::error_text(&e))
        }
    });
    wait_for_blocked_clients(&url, 1);
    let _: i64 = q(&mut c, &["RPUSH", "src", "foo"]);
    assert_eq!(waiter.join().unwrap(), Err(WRONGTYPE.to_string()));
    assert_eq!(lrange(&mut c, "src"), strings(&["foo"]));
}

#[test]
fn blocked_clients_are_served_first_come_first_served() {
    let server = TestServer::start();
    let url = server.url();
    let mut c = server.client();
    let mut waiters = Vec::new();
    for i in 0..4 {
        waiters.push(spawn_blocked(&server, &["BLPOP", "other", "q", "0"]));
        wait_for_blocked_clients(&url, i + 1);
    }
    // One push of four elements: the first blocked gets the first element, and so on.
    let _: i64 = q(&mut c, &["RPUSH", "q", "1", "2", "3", "4"]);
    let got: Vec<Value> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
    let expected: Vec<Value> = ["1", "2", "3", "4"]
        .iter()
        .map(|e| Value::Array(vec![bulk("q"), bulk(e)]))
        .collect();
    assert_eq!(got, expected);
    // Pushes one at a time: still in blocking order, whatever thread wakes first.
    let mut waiters = Vec::new();
    for i in 0..3 {
        waiters.push(spawn_blocked(&server, &["BRPOP", "r", "0"]));
        wait_for_blocked_clients(&url, i + 1);
    }
    for e in ["a", "b", "c"] {
        let _: i64 = q(&mut c, &["RPUSH", "r", e]);
    }
    let got: Vec<Value> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
    let expected: Vec<Value> = ["a", "b", "c"]
        .iter()
        .map(|e| Value::Array(vec![bulk("r"), bulk(e)]))
        .collect();
    assert_eq!(got, expected);
    // A waiter that timed out gives its turn to the next one.
    let early = spawn_blocked(&server, &["BLPOP", "s", "0.3"]);
    wait_for_blocked_clients(&url, 1);
    let late = spawn_blocked(&server, &["BLPOP", "s", "0"]);
    wait_for_blocked_clients(&url, 2);
    assert_eq!(early.join().unwrap(), Value::Nil);
    let _: i64 = q(&mut c, &["RPUSH", "s", "x"]);
    assert_eq!(
        late.join().unwrap(),
        Value::Array(vec![bulk("s"), bulk("x")])
    );
}

/// Applies one random command to the server and to a `VecDeque` model.
fn random_step(c: &mut redis::Connection, rng: &mut Rng, model: &mut VecDeque<String>) {
    let element = format!("v{}", rng.below(6));
    let len = model.len() as i64;
    let index = |rng: &mut Rng| rng.below(2 * len as u64 + 3) as i64 - len - 1;
    match rng.below(8) {
        0 => {
            let _: i64 = q(c, &["LPUSH", "m", &element]);
            model.push_front(element);
        }
        1 => {
            let _: i64 = q(c, &["RPUSH", "m", &element]);
            model.push_back(element);
        }
        2 => {
            let got: Option<String> = q(c, &["LPOP", "m"]);
            assert_eq!(got, model.pop_front());
        }
        3 => {
            let got: Option<String> = q(c, &["RPOP", "m"]);
            assert_eq!(got, model.pop_back());
        }
        4 => {
            let i = index(rng);
            let at = if i < 0 { i + len } else { i };
            let mut cmd = redis::cmd("LSET");
            cmd.arg("m").arg(i).arg(&element);
            let result: redis::RedisResult<String> = cmd.query(c);
            if (0..len).contains(&at) {
                assert!(result.is_ok());
                model[at as usize] = element;
            } else {
                assert!(result.is_err());
            }
        }
        5 => {
            let (start, stop) = (index(rng), index(rng));
            let _: String = q(c, &["LTRIM", "m", &start.to_string(), &stop.to_string()]);
            let from = if start < 0 {
                (start + len).max(0)
            } else {
                start
            };
            let to = if stop < 0 {
                stop + len
            } else {
                stop.min(len - 1)
            };
            if from > to || from >= len {
                model.clear();
            } else {
                model.truncate(to as usize + 1);
                model.drain(..from as usize);
            }
        }
        6 => {
            let pivot = format!("v{}", rng.below(6));
            let after = rng.below(2) == 1;
            let got: i64 = q(
                c,
                &[
                    "LINSERT",
                    "m",
                    if after { "AFTER" } else { "BEFORE" },
                    &pivot,
                    &element,
                ],
            );
            let expected = match model.iter().position(|e| *e == pivot) {
                Some(p) => {
                    model.insert(p + usize::from(after), element);
                    model.len() as i64
                }
                None if model.is_empty() => 0,
                None => -1,
            };
            assert_eq!(got, expected);
        }
        _ => {
            let count = rng.below(5) as i64 - 2;
            let got: i64 = q(c, &["LREM", "m", &count.to_string(), &element]);
            let limit = if count == 0 {
                usize::MAX
            } else {
                count.unsigned_abs() as usize
            };
            let mut hits: Vec<usize> = model
                .iter()
                .enumerate()
                .filter(|(_, e)| **e == element)
                .map(|(i, _)| i)
                .collect();
            if count < 0 {
                hits.reverse();
            }
            hits.truncate(limit);
            hits.sort_unstable();
            for i in hits.iter().rev() {
                model.remove(*i);
            }
            assert_eq!(got, hits.len() as i64);
        }
    }
}

#[test]
fn randomized_operations_match_a_vecdeque_model_across_a_restart() {
    let mut server = TestServer::start();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut model: VecDeque<String> = VecDeque::new();
    let steps = 1200;
    let mut c = server.client();
    for step in 0..steps {
        if step == steps / 2 {
            server.stop();
            server.restart();
            c = server.client();
        }
        random_step(&mut c, &mut rng, &mut model);
        let expected: Vec<String> = model.iter().cloned().collect();
        assert_eq!(lrange(&mut c, "m"), expected, "after step {step}");
        assert_eq!(q::<i64>(&mut c, &["LLEN", "m"]), expected.len() as i64);
    }
}

/// A pipeline of `commands`, in MULTI/EXEC if `atomic`.
fn pipeline(atomic: bool, commands: &[&[&str]]) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    if atomic {
        pipe.atomic();
    }
    for args in commands {
        pipe.cmd(args[0]);
        for arg in &args[1..] {
            pipe.arg(*arg);
        }
    }
    pipe
}

/// LRANGE keeps the stretch it read for the next identical read (a feed's `LRANGE 0 99`):
/// every kind of change in between must show, whether it comes alone, pipelined with the
/// read, in MULTI/EXEC or from a script, and the reply is the same over RESP3 and in Lua.
#[test]
fn lrange_read_again_sees_every_change_in_between() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut other = server.client();
    let first3 = |c: &mut redis::Connection| q::<Vec<String>>(c, &["LRANGE", "f", "0", "2"]);
    q::<i64>(&mut c, &["RPUSH", "f", "a", "b", "c", "d"]);
    assert_eq!(first3(&mut c), strings(&["a", "b", "c"]));
    // Same positions, new values: LSET; RPOP then RPUSH reuses the tail position.
    q::<()>(&mut other, &["LSET", "f", "1", "B"]);
    assert_eq!(first3(&mut c), strings(&["a", "B", "c"]));
    q::<()>(&mut c, &["LTRIM", "f", "0", "2"]);
    assert_eq!(lrange(&mut c, "f"), strings(&["a", "B", "c"]));
    q::<String>(&mut other, &["RPOP", "f"]);
    q::<i64>(&mut other, &["RPUSH", "f", "C"]);
    assert_eq!(first3(&mut c), strings(&["a", "B", "C"]));
    assert_eq!(lrange(&mut c, "f"), strings(&["a", "B", "C"]));
    // A shorter read of a cached longer stretch, then the longer one again.
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "f", "0", "0"]),
        strings(&["a"])
    );
    assert_eq!(first3(&mut c), strings(&["a", "B", "C"]));
    // Pipelined: the write and the read in one batch, then the read alone.
    let (_, _, piped): (i64, (), Vec<String>) = pipeline(
        false,
        &[
            &["LPUSH", "f", "z"],
            &["LSET", "f", "1", "A"],
            &["LRANGE", "f", "0", "2"],
        ],
    )
    .query(&mut c)
    .unwrap();
    assert_eq!(piped, strings(&["z", "A", "B"]));
    assert_eq!(first3(&mut c), strings(&["z", "A", "B"]));
    // MULTI/EXEC and a script write between two reads.
    let (_, in_multi): ((), Vec<String>) = pipeline(
        true,
        &[&["LSET", "f", "0", "Z"], &["LRANGE", "f", "0", "2"]],
    )
    .query(&mut c)
    .unwrap();
    assert_eq!(in_multi, strings(&["Z", "A", "B"]));
    assert_eq!(first3(&mut c), strings(&["Z", "A", "B"]));
    let from_lua: Vec<String> = q(
        &mut other,
        &[
            "EVAL",
            "redis.call('LSET', KEYS[1], 2, 'b') return redis.call('LRANGE', KEYS[1], 0, 2)",
            "1",
            "f",
        ],
    );
    assert_eq!(from_lua, strings(&["Z", "A", "b"]));
    assert_eq!(first3(&mut c), strings(&["Z", "A", "b"]));
    // LINSERT and LREM shift positions; DEL and a new list under the same name.
    q::<i64>(&mut other, &["LINSERT", "f", "BEFORE", "A", "y"]);
    assert_eq!(first3(&mut c), strings(&["Z", "y", "A"]));
    q::<i64>(&mut other, &["LREM", "f", "1", "y"]);
    assert_eq!(first3(&mut c), strings(&["Z", "A", "b"]));
    q::<i64>(&mut other, &["DEL", "f"]);
    assert!(first3(&mut c).is_empty());
    q::<i64>(&mut other, &["RPUSH", "f", "n1", "n2", "n3"]);
    assert_eq!(first3(&mut c), strings(&["n1", "n2", "n3"]));
    // The cached stretch's reply over RESP3 and in Lua is the plain array.
    let mut resp3 = server.client_resp3();
    assert_eq!(first3(&mut resp3), strings(&["n1", "n2", "n3"]));
    let in_lua: Vec<String> = q(
        &mut c,
        &[
            "EVAL",
            "return redis.call('LRANGE', KEYS[1], 0, 2)",
            "1",
            "f",
        ],
    );
    assert_eq!(in_lua, strings(&["n1", "n2", "n3"]));
}

/// A queue's backlog that the write buffer has moved to fjall is popped with reads ahead
/// (one scan reads the next rows a pop will take and caches them): every change to those
/// rows in between must show. Pops from both ends, LSET of rows read ahead, pushes, RPOP
/// with a count, alone, pipelined and in MULTI/EXEC, against a `VecDeque` model.
#[test]
fn pops_of_a_backlog_in_fjall_see_every_change_to_rows_read_ahead() {
    // The smallest budget freezes the write buffer every 4 MB; frozen layers go to fjall.
    let server = TestServer::start_with(&["--maxmemory", "32mb"]);
    let mut c = server.client();
    let mut model: VecDeque<String> = VecDeque::new();
    let mut pipe = redis::pipe();
    for i in 0..3000 {
        let job = format!("job{i}");
        pipe.cmd("RPUSH").arg("q").arg(&job).ignore();
        model.push_back(job);
    }
    let () = pipe.query(&mut c).unwrap();
    server.move_to_fjall(&mut c);
    let mut rng = Rng(0x51ed_270b_a3c1_f00d);
    for step in 0..800 {
        let len = model.len();
        // An index among the rows the next pops from either end would read ahead.
        let near_end = |rng: &mut Rng| -> i64 {
            let span = len.min(260) as u64;
            let i = rng.below(span) as i64;
            if rng.below(2) == 0 {
                i
            } else {
                -1 - i
            }
        };
        let value = format!("set{step}");
        match rng.below(7) {
            0 => assert_eq!(
                q::<Option<String>>(&mut c, &["RPOP", "q"]),
                model.pop_back()
            ),
            1 => assert_eq!(
                q::<Option<String>>(&mut c, &["LPOP", "q"]),
                model.pop_front()
            ),
            2 if len > 0 => {
                let i = near_end(&mut rng);
                q::<()>(&mut c, &["LSET", "q", &i.to_string(), &value]);
                let at = if i < 0 { len as i64 + i } else { i };
                model[at as usize] = value;
            }
            3 => {
                let count = rng.below(5) + 1;
                let got: Option<Vec<String>> = q(&mut c, &["RPOP", "q", &count.to_string()]);
                let want: Vec<String> = (0..count).filter_map(|_| model.pop_back()).collect();
                assert_eq!(got.unwrap_or_default(), want, "step {step}");
            }
            // A pop, an LSET of the row the next pop takes, that pop: pipelined at the tail,
            // in MULTI/EXEC at the head.
            4 | 5 if len > 2 => {
                let tail = step % 2 == 0;
                let (pop, index) = if tail { ("RPOP", "-1") } else { ("LPOP", "0") };
                let (first, (), second): (String, (), String) = pipeline(
                    !tail,
                    &[&[pop, "q"], &["LSET", "q", index, &value], &[pop, "q"]],
                )
                .query(&mut c)
                .unwrap();
                let mut pop_model = || {
                    if tail {
                        model.pop_back()
                    } else {
                        model.pop_front()
                    }
                };
                assert_eq!(Some(first), pop_model());
                pop_model();
                assert_eq!(second, value, "step {step}");
            }
            _ => {
                let end = if rng.below(2) == 0 { "LPUSH" } else { "RPUSH" };
                q::<i64>(&mut c, &[end, "q", &value]);
                if end == "LPUSH" {
                    model.push_front(value);
                } else {
                    model.push_back(value);
                }
            }
        }
        if step % 100 == 99 {
            let all: Vec<String> = model.iter().cloned().collect();
            assert_eq!(lrange(&mut c, "q"), all, "after step {step}");
        }
    }
    let all: Vec<String> = model.iter().cloned().collect();
    assert_eq!(lrange(&mut c, "q"), all);
}

/// A row read ahead, then written and moved to fjall before its pop: the pop returns what
/// was written, not the copy read ahead.
#[test]
fn a_row_read_ahead_then_rewritten_pops_as_rewritten() {
    let server = TestServer::start_with(&["--maxmemory", "32mb"]);
    let mut c = server.client();
    let jobs: Vec<String> = (0..300).map(|i| format!("job{i}")).collect();
    let mut push = redis::cmd("RPUSH");
    push.arg("q").arg(&jobs);
    let _: i64 = push.query(&mut c).unwrap();
    server.move_to_fjall(&mut c);
    // Reads job299 and the 255 rows before it.
    assert_eq!(q::<String>(&mut c, &["RPOP", "q"]), "job299");
    q::<()>(&mut c, &["LSET", "q", "-1", "changed"]);
    server.move_to_fjall(&mut c);
    assert_eq!(q::<String>(&mut c, &["RPOP", "q"]), "changed");
    assert_eq!(q::<String>(&mut c, &["RPOP", "q"]), "job297");
}

/// Pops of rows already in fjall write no deletion (the rows stay, outside the list's ends,
/// until compaction removes them): no command may see them again. Every command that reads
/// a whole list or searches it, the key commands that copy one, pushes that reuse the
/// popped positions, the list emptied and created again, compactions over the rows, and a
/// restart, against a `VecDeque` model.
#[test]
fn rows_popped_from_fjall_stay_gone_for_every_command() {
    let mut server = TestServer::start_with(&["--maxmemory", "32mb"]);
    let mut c = server.client();
    let mut model: VecDeque<String> = (0..2000).map(|i| format!("job{i}")).collect();
    let mut push = redis::cmd("RPUSH");
    push.arg("q").arg(model.iter().collect::<Vec<_>>());
    let _: i64 = push.query(&mut c).unwrap();
    server.move_to_fjall(&mut c);
    let mut popped = Vec::new();
    for _ in 0..150 {
        assert_eq!(
            q::<Option<String>>(&mut c, &["RPOP", "q"]),
            model.pop_back()
        );
        assert_eq!(
            q::<Option<String>>(&mut c, &["LPOP", "q"]),
            model.pop_front()
        );
    }
    let got: Vec<String> = q(&mut c, &["RPOP", "q", "20"]);
    popped.extend(got.iter().cloned());
    assert_eq!(
        got,
        (0..20).filter_map(|_| model.pop_back()).collect::<Vec<_>>()
    );
    popped.extend([
        "job0".to_string(),
        "job1999".to_string(),
        "job140".to_string(),
    ]);
    server.move_to_fjall(&mut c);

    let check = |c: &mut redis::Connection, model: &VecDeque<String>, key: &str| {
        let all: Vec<String> = model.iter().cloned().collect();
        assert_eq!(lrange(c, key), all, "{key}");
        assert_eq!(q::<i64>(c, &["LLEN", key]), all.len() as i64);
        let reversed: Vec<String> = q(c, &["LPOS", key, &all[0], "RANK", "-1", "COUNT", "0"]);
        assert_eq!(reversed.len(), 1, "{key}");
    };
    check(&mut c, &model, "q");
    for gone in &popped {
        assert_eq!(
            q::<Option<i64>>(&mut c, &["LPOS", "q", gone]),
            None,
            "{gone}"
        );
        assert_eq!(q::<i64>(&mut c, &["LREM", "q", "0", gone]), 0, "{gone}");
        assert_eq!(q::<i64>(&mut c, &["LINSERT", "q", "BEFORE", gone, "x"]), -1);
    }
    let sorted: Vec<String> = q(&mut c, &["SORT", "q", "ALPHA"]);
    let mut want: Vec<String> = model.iter().cloned().collect();
    want.sort();
    assert_eq!(sorted, want);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "q"]),
        "quicklist"
    );
    q::<()>(&mut c, &["RENAME", "q", "q2"]);
    check(&mut c, &model, "q2");
    assert_eq!(q::<i64>(&mut c, &["COPY", "q2", "q3"]), 1);
    check(&mut c, &model, "q3");
    let dumped: Vec<u8> = q(&mut c, &["DUMP", "q3"]);
    let _: () = redis::cmd("RESTORE")
        .arg("q4")
        .arg(0)
        .arg(dumped)
        .query(&mut c)
        .unwrap();
    check(&mut c, &model, "q4");
    let copied = model.clone();

    // Pushes reuse the positions pops left (and their stale rows) behind.
    for i in 0..30 {
        let (head, tail) = (format!("new-head{i}"), format!("new-tail{i}"));
        q::<i64>(&mut c, &["LPUSH", "q2", &head]);
        q::<i64>(&mut c, &["RPUSH", "q2", &tail]);
        model.push_front(head);
        model.push_back(tail);
    }
    check(&mut c, &model, "q2");
    // A list emptied by pops (its rows left in fjall) and created again at the same key.
    let small: Vec<String> = (0..40).map(|i| format!("small{i}")).collect();
    let mut push = redis::cmd("RPUSH");
    push.arg("small").arg(&small);
    let _: i64 = push.query(&mut c).unwrap();
    server.move_to_fjall(&mut c);
    let all: Vec<String> = q(&mut c, &["RPOP", "small", "40"]);
    assert_eq!(all.len(), 40);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "small"]), 0);
    q::<i64>(&mut c, &["RPUSH", "small", "again"]);
    assert_eq!(lrange(&mut c, "small"), strings(&["again"]));

    // Compactions run over the stale rows (the filler moves fill fjall's first level).
    for _ in 0..3 {
        server.move_to_fjall(&mut c);
    }
    check(&mut c, &model, "q2");
    check(&mut c, &copied, "q4");
    server.stop();
    server.restart();
    let mut c = server.client();
    check(&mut c, &model, "q2");
    check(&mut c, &copied, "q3");
    assert_eq!(lrange(&mut c, "small"), strings(&["again"]));
}
