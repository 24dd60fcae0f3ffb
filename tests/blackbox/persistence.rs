//! Durability: restart after SIGTERM, kill -9 under every appendfsync mode, config files.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use serde_json::json;

use crate::harness::{create_simple_table, ddb, eventually, q, TestServer};

#[test]
fn sigterm_then_restart_keeps_everything() {
    let mut server = TestServer::start();
    let mut c = server.client();
    for i in 0..500 {
        let _: () = q(&mut c, &["SET", &format!("s{i}"), &i.to_string()]);
    }
    let _: i64 = q(&mut c, &["HSET", "h", "a", "1", "b", "2"]);
    let _: () = q(&mut c, &["SET", "ttl", "v", "EX", "1000"]);
    let _: () = q(&mut c, &["SELECT", "7"]);
    let _: () = q(&mut c, &["SET", "in7", "seven"]);
    drop(c);
    assert_eq!(server.stop(), Some(0), "SIGTERM exits cleanly");
    server.restart();
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 502);
    assert_eq!(q::<String>(&mut c, &["GET", "s499"]), "499");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HGETALL", "h"]),
        vec!["a", "1", "b", "2"]
    );
    assert!(q::<i64>(&mut c, &["TTL", "ttl"]) > 900);
    let _: () = q(&mut c, &["SELECT", "7"]);
    assert_eq!(q::<String>(&mut c, &["GET", "in7"]), "seven");
}

#[test]
fn kill9_under_appendfsync_always_loses_no_acknowledged_write() {
    let mut server = TestServer::start_with(&["--appendfsync", "always"]);
    let mut c = server.client();
    create_simple_table(&mut c, "Kill9", "id", "S");
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let mut c = server.client();
            std::thread::spawn(move || {
                for i in 0..500 {
                    let _: () = q(&mut c, &["SET", &format!("w{t}:{i}"), &i.to_string()]);
                    let _: i64 = q(&mut c, &["HSET", &format!("h{t}"), &format!("f{i}"), "v"]);
                    let item = json!({"id": {"S": format!("{t}:{i}")}, "n": {"N": i.to_string()}});
                    ddb(
                        &mut c,
                        "PUTITEM",
                        json!({"TableName": "Kill9", "Item": item}),
                    );
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    // Every write above was acknowledged; kill without any chance to flush.
    server.kill9();
    server.restart();
    let mut c = server.client();
    for t in 0..4 {
        assert_eq!(q::<i64>(&mut c, &["HLEN", &format!("h{t}")]), 500);
        for i in (0..500).step_by(7) {
            assert_eq!(
                q::<String>(&mut c, &["GET", &format!("w{t}:{i}")]),
                i.to_string()
            );
        }
    }
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 2004);
    let count = ddb(
        &mut c,
        "SCAN",
        json!({"TableName": "Kill9", "Select": "COUNT"}),
    );
    assert_eq!(count["Count"], 2000, "every acknowledged PutItem is back");
}

/// Redis's crash guarantee: under `everysec` (and `no`) a reply is sent only after the write
/// it acknowledges reached the OS, so killing the process, even in the middle of a stream of
/// pipelined writes, loses nothing acknowledged (only a machine crash could).
#[test]
fn kill9_under_appendfsync_everysec_loses_no_acknowledged_write() {
    for mode in ["everysec", "no"] {
        let mut server = TestServer::start_with(&["--appendfsync", mode]);
        let acked: Arc<Vec<AtomicI64>> = Arc::new((0..4).map(|_| AtomicI64::new(-1)).collect());
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let mut c = server.client();
                let acked = acked.clone();
                std::thread::spawn(move || {
                    for i in 0.. {
                        let set: redis::RedisResult<()> = redis::cmd("SET")
                            .arg(format!("w{t}:{i}"))
                            .arg(i)
                            .query(&mut c);
                        if set.is_err() {
                            return; // the server was killed
                        }
                        acked[t].store(i, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        // Kill while the writers are mid-stream, never at a quiet moment.
        assert!(eventually(30, || acked
            .iter()
            .all(|a| a.load(Ordering::SeqCst) >= 200)));
        server.kill9();
        for w in writers {
            w.join().unwrap();
        }
        server.restart();
        let mut c = server.client();
        for (t, last) in acked.iter().enumerate() {
            let last = last.load(Ordering::SeqCst);
            let keys: Vec<String> = (0..=last).map(|i| format!("w{t}:{i}")).collect();
            for chunk in keys.chunks(500) {
                let values: Vec<Option<String>> =
                    redis::cmd("MGET").arg(chunk).query(&mut c).unwrap();
                let lost: Vec<&String> = chunk
                    .iter()
                    .zip(&values)
                    .filter(|(_, v)| v.is_none())
                    .map(|(k, _)| k)
                    .collect();
                assert!(
                    lost.is_empty(),
                    "{mode}: acknowledged writes lost: {lost:?}"
                );
            }
        }
    }
}

/// The smallest memory budget makes the write buffer freeze every 4 MB, so rows are spread
/// over fjall (ingested layers), frozen layers and the active one, with deletions and
/// overwrites in each; kill -9 in the middle, restart, and every acknowledged write reads
/// back as written (and again after a second, clean restart).
#[test]
fn kill9_while_the_write_buffer_moves_rows_to_fjall_loses_nothing() {
    let mut server = TestServer::start_with(&["--maxmemory", "32mb"]);
    let mut c = server.client();
    let value = |i: usize, round: usize| format!("{round}:{i}:{}", "x".repeat(200));
    let mut lists: Vec<Vec<String>> = vec![Vec::new(); 10];
    for round in 0..4 {
        let mut pipe = redis::pipe();
        for i in 0..20_000 {
            if (i + round) % 7 == 0 {
                pipe.cmd("DEL").arg(format!("k{i}")).ignore();
            } else {
                pipe.cmd("SET")
                    .arg(format!("k{i}"))
                    .arg(value(i, round))
                    .ignore();
            }
            let field = format!("f{}", i % 500);
            pipe.cmd("HSET")
                .arg(format!("h{}", i % 5))
                .arg(field)
                .arg(round)
                .ignore();
            let list = i % lists.len();
            let element = format!("{round}-{i}");
            pipe.cmd("RPUSH")
                .arg(format!("l{list}"))
                .arg(&element)
                .ignore();
            lists[list].push(element);
            if i % 3 == 0 {
                pipe.cmd("LPOP").arg(format!("l{list}")).ignore();
                lists[list].remove(0);
            }
        }
        let () = pipe.query(&mut c).unwrap();
    }
    let segments = server.journal_segments();
    let newest = *segments.last().unwrap();
    let segments = segments.len();
    assert!(
        newest > 3,
        "the buffer froze several times ({segments} segments, newest {newest})"
    );
    server.kill9();
    for restart in ["after kill -9", "after a clean restart"] {
        server.restart();
        let mut c = server.client();
        for i in 0..20_000 {
            let got: Option<String> = q(&mut c, &["GET", &format!("k{i}")]);
            let expected = ((i + 3) % 7 != 0).then(|| value(i, 3));
            assert_eq!(got, expected, "k{i} {restart}");
        }
        for h in 0..5 {
            let fields: std::collections::HashMap<String, String> =
                q(&mut c, &["HGETALL", &format!("h{h}")]);
            assert_eq!(fields.len(), 100, "h{h} {restart}");
            assert!(fields.values().all(|v| v == "3"), "h{h} {restart}");
        }
        for (n, model) in lists.iter().enumerate() {
            let got: Vec<String> = q(&mut c, &["LRANGE", &format!("l{n}"), "0", "-1"]);
            assert_eq!(&got, model, "l{n} {restart}");
        }
        assert_eq!(
            q::<i64>(&mut c, &["DBSIZE"]),
            20_000 - 20_000 / 7 + 5 + 10,
            "{restart}"
        );
        assert_eq!(server.stop(), Some(0));
    }
}

#[test]
fn config_file_is_read_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("redyn.conf");
    std::fs::write(
        &conf,
        "# a redis.conf-style file\nrequirepass \"from file\"\nappendfsync no\nsave 900 1\ndaemonize no\n",
    )
    .unwrap();
    let conf = conf.to_str().unwrap().to_string();
    let server = TestServer::start_with(&[&conf, "--appendfsync", "always"]);
    let url = format!("redis://:from%20file@{}/", server.addr);
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    let got: std::collections::HashMap<String, String> =
        q(&mut c, &["CONFIG", "GET", "appendfsync"]);
    assert_eq!(got["appendfsync"], "always", "the flag wins over the file");
    let save: std::collections::HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "save"]);
    assert_eq!(save["save"], "900 1");
}
