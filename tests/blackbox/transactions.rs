//! MULTI / EXEC / DISCARD / WATCH.

use redis::Value;

use crate::harness::{error, q, value, TestServer};

#[test]
fn multi_exec_discard() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(q::<String>(&mut c, &["MULTI"]), "OK");
    assert_eq!(
        value(&mut c, &["SET", "a", "1"]),
        Value::SimpleString("QUEUED".into())
    );
    assert_eq!(
        value(&mut c, &["INCR", "a"]),
        Value::SimpleString("QUEUED".into())
    );
    // A command failing at run time does not stop the others (checked on the wire, as the
    // redis crate turns an error inside EXEC's reply into an error of the whole call).
    let mut raw = server.raw();
    raw.send(b"MULTI\r\nSET b 1\r\nINCR b\r\nHSET b f v\r\nEXEC\r\n");
    for expected in [
        "+OK\r\n",
        "+QUEUED\r\n",
        "+QUEUED\r\n",
        "+QUEUED\r\n",
        "*3\r\n",
        "+OK\r\n",
        ":2\r\n",
    ] {
        assert_eq!(raw.read_line(), expected);
    }
    assert_eq!(
        raw.read_line(),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        value(&mut c, &["EXEC"]),
        Value::Array(vec![Value::Okay, Value::Int(2)])
    );
    assert_eq!(error(&mut c, &["EXEC"]), "ERR EXEC without MULTI");
    assert_eq!(error(&mut c, &["DISCARD"]), "ERR DISCARD without MULTI");
    let _: () = q(&mut c, &["MULTI"]);
    assert_eq!(
        error(&mut c, &["MULTI"]),
        "ERR MULTI calls can not be nested"
    );
    let _: Value = value(&mut c, &["SET", "a", "changed"]);
    assert_eq!(q::<String>(&mut c, &["DISCARD"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "2");
    // A command that fails to queue aborts the whole transaction.
    let _: () = q(&mut c, &["MULTI"]);
    let _: Value = value(&mut c, &["SET", "a", "x"]);
    assert_eq!(
        error(&mut c, &["GET"]),
        "ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        error(&mut c, &["EXEC"]),
        "EXECABORT Transaction discarded because of previous errors."
    );
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "2");
}

#[test]
fn watch_aborts_exec_when_a_key_changed() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut other = server.client();
    let _: () = q(&mut c, &["SET", "balance", "10"]);
    assert_eq!(q::<String>(&mut c, &["WATCH", "balance"]), "OK");
    let _: () = q(&mut other, &["SET", "balance", "20"]);
    let _: () = q(&mut c, &["MULTI"]);
    let _: Value = value(&mut c, &["INCRBY", "balance", "5"]);
    assert_eq!(
        value(&mut c, &["EXEC"]),
        Value::Nil,
        "EXEC aborts with a nil reply"
    );
    assert_eq!(q::<String>(&mut c, &["GET", "balance"]), "20");
    // Unmodified watched key: EXEC runs.
    let _: () = q(&mut c, &["WATCH", "balance", "unrelated"]);
    let _: () = q(&mut other, &["SET", "somethingelse", "1"]);
    let _: () = q(&mut c, &["MULTI"]);
    let _: Value = value(&mut c, &["INCRBY", "balance", "5"]);
    assert_eq!(q::<Vec<i64>>(&mut c, &["EXEC"]), vec![25]);
    // UNWATCH forgets.
    let _: () = q(&mut c, &["WATCH", "balance"]);
    let _: () = q(&mut other, &["INCR", "balance"]);
    let _: () = q(&mut c, &["UNWATCH"]);
    let _: () = q(&mut c, &["MULTI"]);
    let _: Value = value(&mut c, &["GET", "balance"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["EXEC"]), vec!["26"]);
    // Deleting and modifying hashes counts as a change too.
    let _: i64 = q(&mut c, &["HSET", "cart", "item", "1"]);
    let _: () = q(&mut c, &["WATCH", "cart"]);
    let _: i64 = q(&mut other, &["HINCRBY", "cart", "item", "1"]);
    let _: () = q(&mut c, &["MULTI"]);
    let _: Value = value(&mut c, &["HGET", "cart", "item"]);
    assert_eq!(value(&mut c, &["EXEC"]), Value::Nil);
    let _: () = q(&mut c, &["MULTI"]);
    assert_eq!(
        error(&mut c, &["WATCH", "x"]),
        "ERR WATCH inside MULTI is not allowed"
    );
    let _: () = q(&mut c, &["DISCARD"]);
}

/// A rejected EXEC ends the transaction even outside MULTI, with Redis's EXECABORT text.
#[test]
fn rejected_exec_answers_execabort_as_redis() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(
        error(&mut c, &["EXEC", "foo"]),
        "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"
    );
    assert_eq!(error(&mut c, &["EXEC"]), "ERR EXEC without MULTI");
}

/// A write that leaves the stored value as it was (SET or HSET of the same value) is still a
/// modification for WATCH, as in Redis (redyn skips rewriting the identical row).
#[test]
fn rewriting_the_same_value_still_aborts_exec() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut other = server.client();
    let _: () = q(&mut c, &["SET", "s", "same"]);
    let _: i64 = q(&mut c, &["HSET", "h", "f", "same"]);
    for (watched, rewrite) in [
        ("s", &["SET", "s", "same"][..]),
        ("h", &["HSET", "h", "f", "same"][..]),
    ] {
        let _: () = q(&mut c, &["WATCH", watched]);
        let _: Value = value(&mut other, rewrite);
        let _: () = q(&mut c, &["MULTI"]);
        let _: Value = value(&mut c, &["PING"]);
        assert_eq!(value(&mut c, &["EXEC"]), Value::Nil, "{rewrite:?}");
    }
    assert_eq!(q::<i64>(&mut c, &["HLEN", "h"]), 1);
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "f"]), "same");
}

#[test]
fn redis_crate_atomic_pipeline_and_concurrent_transactions() {
    let server = TestServer::start();
    let mut c = server.client();
    let (a, b): (i64, i64) = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("x")
        .cmd("INCR")
        .arg("x")
        .query(&mut c)
        .unwrap();
    assert_eq!((a, b), (1, 2));
    // Optimistic locking from 10 clients: every successful EXEC adds exactly one.
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let mut c = server.client();
            std::thread::spawn(move || {
                let mut done = 0;
                while done < 20 {
                    let _: () = q(&mut c, &["WATCH", "counter"]);
                    let current: Option<i64> = q(&mut c, &["GET", "counter"]);
                    let _: () = q(&mut c, &["MULTI"]);
                    let _: Value = value(
                        &mut c,
                        &["SET", "counter", &(current.unwrap_or(0) + 1).to_string()],
                    );
                    if value(&mut c, &["EXEC"]) != Value::Nil {
                        done += 1;
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(q::<i64>(&mut c, &["GET", "counter"]), 200);
}

/// As in Redis, FLUSHALL and FLUSHDB change the watched keys they delete, not watched keys
/// that did not exist.
#[test]
fn flushes_abort_exec_only_for_watched_keys_that_existed() {
    let server = TestServer::start();
    let mut c = server.client();
    for flush in ["FLUSHALL", "FLUSHDB"] {
        let exec_after_flush = |c: &mut redis::Connection| {
            q::<()>(c, &["WATCH", "x"]);
            q::<()>(c, &["SET", "other", "1"]);
            q::<()>(c, &[flush]);
            q::<()>(c, &["MULTI"]);
            q::<()>(c, &["PING"]);
            value(c, &["EXEC"])
        };
        q::<()>(&mut c, &["DEL", "x"]);
        assert_eq!(
            exec_after_flush(&mut c),
            Value::Array(vec![Value::SimpleString("PONG".into())]),
            "{flush} of a missing watched key"
        );
        q::<()>(&mut c, &["SET", "x", "30"]);
        assert_eq!(
            exec_after_flush(&mut c),
            Value::Nil,
            "{flush} of a watched key"
        );
    }
}
