//! Crash loop (issue 16): SIGKILL at random moments while several pipelining writers store
//! strings, hashes, sorted sets and DynamoDB items on a stream-enabled table (whose change
//! log gets a record per item), then restart on the same directory and check that every
//! acknowledged write — and its change record — is there. Under `always` and `everysec`
//! alike nothing acknowledged may be lost (Redis's guarantee: only a machine crash may cost
//! `everysec` its last second).
//!
//! CI runs `CRASHLOOP_ROUNDS` (default 10) rounds per mode; a long run:
//! `CRASHLOOP_ROUNDS=100 cargo test --release -p redyn-server --test blackbox crashloop -- --nocapture`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use redis::Value;
use serde_json::{json, Value as Json};

use crate::harness::{ddb, q, TestServer};

const TABLE: &str = "Crash";
/// Commands per pipeline: a writer's batch is acknowledged when all its replies arrived.
const PIPELINE: u64 = 16;

#[derive(Clone, Copy, Debug)]
enum Kind {
    String,
    Hash,
    SortedSet,
    Item,
}

const KINDS: [Kind; 4] = [Kind::String, Kind::Hash, Kind::SortedSet, Kind::Item];

/// The `i`-th write of writer `w` in round `r`.
fn command(kind: Kind, r: u64, w: usize, i: u64) -> redis::Cmd {
    match kind {
        Kind::String => redis::cmd("SET")
            .arg(format!("s:{r}:{w}:{i}"))
            .arg(i)
            .clone(),
        Kind::Hash => redis::cmd("HSET")
            .arg(format!("h:{r}:{w}"))
            .arg(i)
            .arg(i)
            .clone(),
        Kind::SortedSet => redis::cmd("ZADD")
            .arg(format!("z:{r}:{w}"))
            .arg(i)
            .arg(format!("m{i}"))
            .clone(),
        Kind::Item => redis::cmd("DDB.PUTITEM")
            .arg(
                json!({"TableName": TABLE,
                    "Item": {"pk": {"S": item_key(r, w, i)}, "n": {"N": i.to_string()}}})
                .to_string(),
            )
            .clone(),
    }
}

fn item_key(r: u64, w: usize, i: u64) -> String {
    format!("{r}:{w}:{i}")
}

/// Writes until the server dies; returns how many writes were acknowledged (whole
/// pipelines only: a pipeline cut short by the kill counts as not acknowledged).
fn write_until_killed(
    url: String,
    kind: Kind,
    r: u64,
    w: usize,
    acked: Arc<AtomicU64>,
    started: Arc<AtomicBool>,
) {
    let Ok(mut c) = redis::Client::open(url).and_then(|c| c.get_connection()) else {
        return;
    };
    let mut next = 0;
    loop {
        let mut pipe = redis::pipe();
        for i in next..next + PIPELINE {
            pipe.add_command(command(kind, r, w, i)).ignore();
        }
        if pipe.query::<()>(&mut c).is_err() {
            return;
        }
        next += PIPELINE;
        acked.store(next, Ordering::SeqCst);
        started.store(true, Ordering::SeqCst);
    }
}

/// Every acknowledged write of one writer, checked after the restart; returns how many
/// are missing.
fn lost_writes(c: &mut redis::Connection, kind: Kind, r: u64, w: usize, acked: u64) -> u64 {
    match kind {
        Kind::String => {
            let keys: Vec<String> = (0..acked).map(|i| format!("s:{r}:{w}:{i}")).collect();
            let mut lost = 0;
            for chunk in keys.chunks(1000) {
                let values: Vec<Option<String>> = redis::cmd("MGET").arg(chunk).query(c).unwrap();
                lost += values.iter().filter(|v| v.is_none()).count() as u64;
            }
            lost
        }
        Kind::Hash => {
            let fields: Vec<String> = (0..acked).map(|i| i.to_string()).collect();
            let mut lost = 0;
            for chunk in fields.chunks(1000) {
                let values: Vec<Option<String>> = redis::cmd("HMGET")
                    .arg(format!("h:{r}:{w}"))
                    .arg(chunk)
                    .query(c)
                    .unwrap();
                lost += values.iter().filter(|v| v.is_none()).count() as u64;
            }
            lost
        }
        Kind::SortedSet => {
            let members: Vec<String> = (0..acked).map(|i| format!("m{i}")).collect();
            let mut lost = 0;
            for chunk in members.chunks(1000) {
                let scores: Vec<Option<f64>> = redis::cmd("ZMSCORE")
                    .arg(format!("z:{r}:{w}"))
                    .arg(chunk)
                    .query(c)
                    .unwrap();
                lost += scores.iter().filter(|v| v.is_none()).count() as u64;
            }
            lost
        }
        Kind::Item => {
            let mut lost = 0;
            for start in (0..acked).step_by(500) {
                let mut pipe = redis::pipe();
                for i in start..(start + 500).min(acked) {
                    pipe.cmd("DDB.GETITEM").arg(
                        json!({"TableName": TABLE, "Key": {"pk": {"S": item_key(r, w, i)}}})
                            .to_string(),
                    );
                }
                let replies: Vec<String> = pipe.query(c).unwrap();
                lost += replies.iter().filter(|r| !r.contains("\"Item\"")).count() as u64;
            }
            lost
        }
    }
}

/// The item keys that have a record in the table's change log.
fn change_log_keys(c: &mut redis::Connection) -> HashSet<String> {
    let mut keys = HashSet::new();
    let mut after = "-".to_string();
    loop {
        let reply: Value = q(
            c,
            &[
                "XRANGE",
                &format!("__stream__:{TABLE}"),
                &after,
                "+",
                "COUNT",
                "5000",
            ],
        );
        let Value::Array(entries) = reply else {
            panic!("{reply:?}")
        };
        if entries.is_empty() {
            return keys;
        }
        for entry in &entries {
            let Value::Array(parts) = entry else { panic!() };
            let id: String = redis::from_redis_value(parts[0].clone()).unwrap();
            let fields: Vec<String> = redis::from_redis_value(parts[1].clone()).unwrap();
            let record: Json = serde_json::from_str(&fields[3]).unwrap();
            if let Some(pk) = record["dynamodb"]["Keys"]["pk"]["S"].as_str() {
                keys.insert(pk.to_string());
            }
            after = format!("({id}");
        }
    }
}

/// Runs `rounds` kill/restart rounds under `mode`; returns (acknowledged, lost).
fn crash_loop(mode: &str, rounds: u64, seed: u64) -> (u64, u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut server = TestServer::start_with(&["--appendfsync", mode]);
    let mut c = server.client();
    ddb(
        &mut c,
        "CREATETABLE",
        json!({"TableName": TABLE,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}}),
    );
    let (mut acknowledged, mut lost) = (0, 0);
    for r in 0..rounds {
        let writers: Vec<(Kind, Arc<AtomicU64>)> = KINDS
            .iter()
            .chain(KINDS.iter())
            .map(|&kind| (kind, Arc::new(AtomicU64::new(0))))
            .collect();
        let started: Vec<Arc<AtomicBool>> = writers
            .iter()
            .map(|_| Arc::new(AtomicBool::new(false)))
            .collect();
        let threads: Vec<_> = writers
            .iter()
            .zip(&started)
            .enumerate()
            .map(|(w, ((kind, acked), started))| {
                let (url, kind, acked, started) =
                    (server.url(), *kind, acked.clone(), started.clone());
                std::thread::spawn(move || write_until_killed(url, kind, r, w, acked, started))
            })
            .collect();
        // A random moment once every writer is under way.
        let all_started =
            crate::harness::eventually(60, || started.iter().all(|s| s.load(Ordering::SeqCst)));
        assert!(all_started, "writers did not start");
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        server.kill9();
        for t in threads {
            t.join().unwrap();
        }
        server.restart();
        let mut c = server.client();
        let logged = change_log_keys(&mut c);
        for (w, (kind, acked)) in writers.iter().enumerate() {
            let acked = acked.load(Ordering::SeqCst);
            acknowledged += acked;
            let missing = lost_writes(&mut c, *kind, r, w, acked);
            let unlogged = match kind {
                Kind::Item => (0..acked)
                    .filter(|&i| !logged.contains(&item_key(r, w, i)))
                    .count() as u64,
                _ => 0,
            };
            if missing + unlogged > 0 {
                eprintln!("{mode} round {r} writer {w} ({kind:?}): {missing} writes and {unlogged} change records lost of {acked}");
            }
            lost += missing + unlogged;
        }
    }
    (acknowledged, lost)
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_write() {
    let rounds: u64 = std::env::var("CRASHLOOP_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("CRASHLOOP_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    for mode in ["always", "everysec"] {
        let (acknowledged, lost) = crash_loop(mode, rounds, seed);
        eprintln!(
            "crash loop {mode}: {rounds} rounds, {acknowledged} acknowledged writes, {lost} lost (seed {seed})"
        );
        assert_eq!(
            lost, 0,
            "{mode}: acknowledged writes lost (CRASHLOOP_SEED={seed})"
        );
    }
}
