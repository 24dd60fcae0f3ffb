//! Pipelined batches (`cmd::pipeline`): consecutive simple commands of one connection's
//! buffered requests run as one engine batch. The replies must be exactly those of running
//! the commands one by one: compared with a real redis-server over random pipelines that
//! mix batchable commands with others, wrong types, errors and long (chunked) strings, and
//! with a model across a restart (acknowledged batched writes are durable).

use std::collections::{HashMap, VecDeque};

use redis::{ConnectionLike, Value};

use crate::harness::{info_number, q, RealRedis, Rng, TestServer};

const KEYS: &[&str] = &["k1", "k2", "l1", "l2", "s1", "h1", "c1"];

/// One random command over a few keys of every type (so many hit the wrong type); half the
/// time on the key of the command before it (`previous`), as pipelines of one key's reads
/// and writes (a batch keeps what one command read for the next one of the same key).
fn random_command(rng: &mut Rng, previous: Option<&str>) -> Vec<String> {
    let key = match previous {
        Some(key) if rng.below(2) == 0 => key.to_string(),
        _ => KEYS[rng.below(KEYS.len() as u64) as usize].to_string(),
    };
    let v = rng.below(6).to_string();
    let args: Vec<String> = match rng.below(24) {
        0 => vec!["SET".into(), key, v],
        1 => vec!["GET".into(), key],
        2 => vec!["INCR".into(), key],
        3 => vec!["LPUSH".into(), key, v.clone(), format!("{v}x")],
        4 => vec!["RPUSH".into(), key, v],
        5 => vec!["LPOP".into(), key],
        6 => vec!["RPOP".into(), key, "2".into()],
        7 => vec!["LRANGE".into(), key, "0".into(), "-1".into()],
        8 => vec!["LLEN".into(), key],
        9 => vec!["LINDEX".into(), key, "-1".into()],
        10 => vec!["SADD".into(), key, v.clone(), format!("m{v}")],
        11 => vec!["SREM".into(), key, v],
        12 => vec!["SISMEMBER".into(), key, v],
        13 => vec!["SCARD".into(), key],
        14 => vec!["HSET".into(), key, format!("f{v}"), v],
        15 => vec!["HGET".into(), key, format!("f{v}")],
        16 => vec!["DEL".into(), key],
        17 => vec!["EXISTS".into(), key],
        18 => vec!["TYPE".into(), key],
        19 => vec!["INCRBY".into(), key, "x".into()],
        20 => vec![
            "SET".into(),
            key,
            "v".repeat(5000 + rng.below(9000) as usize),
        ],
        21 => vec!["GET".into()],
        22 => vec!["HLEN".into(), key],
        // A count past the most members a set gets here (12): the pop empties the set, so it
        // leaves what Redis's would.
        _ => vec!["SPOP".into(), key, "20".into()],
    };
    args
}

fn pipeline_of(commands: &[Vec<String>]) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for args in commands {
        let mut cmd = redis::cmd(&args[0]);
        for arg in &args[1..] {
            cmd.arg(arg);
        }
        pipe.add_command(cmd);
    }
    pipe
}

/// SPOP returns the members in no particular order: compare them sorted.
fn comparable(command: &[String], reply: Value) -> Value {
    match (command[0].as_str(), reply) {
        ("SPOP", Value::Array(mut members)) => {
            members.sort_by_key(|m| format!("{m:?}"));
            Value::Array(members)
        }
        (_, reply) => reply,
    }
}

#[test]
fn pipelined_batches_answer_as_real_redis_does() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let mut server = TestServer::start();
    let mut ours = server.client();
    let mut theirs = real.client();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut compared = 0;
    for round in 0..300 {
        let len = 1 + rng.below(40) as usize;
        let mut commands: Vec<Vec<String>> = Vec::with_capacity(len);
        for _ in 0..len {
            let previous = commands.last().and_then(|c| c.get(1)).map(String::as_str);
            commands.push(random_command(&mut rng, previous));
        }
        let pipe = pipeline_of(&commands);
        let got: Vec<Value> = pipe.query(&mut ours).expect("redyn pipeline");
        let want: Vec<Value> = pipe.query(&mut theirs).expect("redis pipeline");
        for ((command, got), want) in commands.iter().zip(got).zip(want) {
            assert_eq!(
                comparable(command, got),
                comparable(command, want),
                "round {round}: {command:?} in {:?}",
                commands
                    .iter()
                    .filter(|c| c.get(1) == command.get(1))
                    .collect::<Vec<_>>()
            );
            compared += 1;
        }
    }
    assert!(compared > 3000, "only {compared} replies compared");
    // Everything acknowledged is there after a restart, as in redis-server.
    server.kill9();
    server.restart();
    let mut ours = server.client();
    for key in KEYS {
        let kind: String = q(&mut theirs, &["TYPE", key]);
        let read: &[&str] = match kind.as_str() {
            "string" => &["GET", key],
            "list" => &["LRANGE", key, "0", "-1"],
            "set" => &["SCARD", key],
            "hash" => &["HLEN", key],
            _ => &["EXISTS", key],
        };
        let got: Value = q(&mut ours, read);
        let want: Value = q(&mut theirs, read);
        assert_eq!(got, want, "{key} ({kind}) after restart");
    }
}

#[test]
fn pipelined_pushes_pops_and_counters_follow_a_model_across_a_restart() {
    let mut server = TestServer::start();
    let mut c = server.client();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut list: VecDeque<String> = VecDeque::new();
    let mut counters: HashMap<String, i64> = HashMap::new();
    for round in 0..200 {
        let mut pipe = redis::pipe();
        let mut expected: Vec<Value> = Vec::new();
        for _ in 0..1 + rng.below(64) {
            let element = format!("e{}", rng.below(1000));
            match rng.below(4) {
                0 => {
                    pipe.cmd("LPUSH").arg("queue").arg(&element);
                    list.push_front(element);
                    expected.push(Value::Int(list.len() as i64));
                }
                1 => {
                    pipe.cmd("RPOP").arg("queue");
                    expected.push(match list.pop_back() {
                        Some(e) => Value::BulkString(e.into_bytes()),
                        None => Value::Nil,
                    });
                }
                _ => {
                    let counter = format!("counter:{}", rng.below(20));
                    pipe.cmd("INCR").arg(&counter);
                    let n = counters.entry(counter).or_insert(0);
                    *n += 1;
                    expected.push(Value::Int(*n));
                }
            }
        }
        let got: Vec<Value> = pipe.query(&mut c).expect("pipeline");
        assert_eq!(got, expected, "round {round}");
        if round == 100 {
            server.kill9();
            server.restart();
            c = server.client();
        }
    }
    server.kill9();
    server.restart();
    let mut c = server.client();
    let stored: Vec<String> = q(&mut c, &["LRANGE", "queue", "0", "-1"]);
    assert_eq!(stored, Vec::from(list));
    for (counter, n) in counters {
        let got: i64 = q(&mut c, &["GET", &counter]);
        assert_eq!(got, n, "{counter}");
    }
}

/// `calls` and `failed_calls` of one command in INFO commandstats.
fn command_calls(c: &mut redis::Connection, command: &str) -> (u64, u64) {
    let stats: String = q(c, &["INFO", "commandstats"]);
    let Some(line) = stats
        .lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:")))
    else {
        return (0, 0);
    };
    let field = |name: &str| -> u64 {
        line.split(',')
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    (field("calls"), field("failed_calls"))
}

fn commands_processed(c: &mut redis::Connection) -> u64 {
    info_number(c, "stats", "total_commands_processed")
}

/// A batch counts its commands once per run of one command (see `BatchStats`): every call
/// and failure still shows in INFO commandstats and total_commands_processed, and CLIENT LIST
/// names the last command the connection ran.
#[test]
fn pipelined_batches_count_every_call_in_the_command_statistics() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut observer = server.client();
    let _: () = q(&mut c, &["SET", "text", "abc"]);
    let processed_before = commands_processed(&mut observer);
    let mut pipe = redis::pipe();
    for round in 0..5 {
        for _ in 0..7 {
            pipe.cmd("INCR").arg("counter");
        }
        // Fails: not an integer.
        pipe.cmd("INCR").arg("text");
        for _ in 0..3 {
            pipe.cmd("GET").arg("counter");
        }
        pipe.cmd("LPUSH").arg("list").arg(round);
        // Fails: wrong type.
        pipe.cmd("LPUSH").arg("text").arg(round);
    }
    pipe.cmd("RPOP").arg("list");
    // Sent as one write, read reply by reply (the error replies are part of the test).
    let packed = pipe.get_packed_pipeline();
    let replies = c.req_packed_commands(&packed, 0, 66).expect("pipeline");
    let errors = replies
        .iter()
        .filter(|r| matches!(r, Value::ServerError(_)))
        .count();
    assert_eq!(errors, 10);
    assert_eq!(replies[65], Value::BulkString(b"0".to_vec()));
    assert_eq!(command_calls(&mut observer, "incr"), (40, 5));
    assert_eq!(command_calls(&mut observer, "get"), (15, 0));
    assert_eq!(command_calls(&mut observer, "lpush"), (10, 5));
    assert_eq!(command_calls(&mut observer, "rpop"), (1, 0));
    // The pipeline's 66 commands, and the observer's INFO commands after the first one.
    let processed = commands_processed(&mut observer) - processed_before;
    assert_eq!(processed, 66 + 5);
    let clients: String = q(&mut observer, &["CLIENT", "LIST"]);
    let id: i64 = q(&mut c, &["CLIENT", "ID"]);
    let line = clients
        .lines()
        .find(|l| l.starts_with(&format!("id={id} ")))
        .expect("the pipelining client");
    assert!(line.contains(" cmd=rpop "), "{line}");
}
