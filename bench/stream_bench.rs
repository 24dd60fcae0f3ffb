//! Stream consumer-group benchmarks, for `bench/stream.sh`. Not run in CI. Two modes:
//!
//! * `group HOST:PORT entries consumers`: one producer XADDs `entries` entries (each
//!   stamped with its send time) to a stream while `consumers` workers of one group take
//!   them with XREADGROUP (COUNT 10) and XACK each batch. Prints entries/s and end-to-end
//!   latency (XADD sent → entry delivered) percentiles.
//! * `changelog HOST:PORT puts writers workers`: `writers` clients run DDB.PUTITEM at full
//!   speed on a stream-enabled table while `workers` consumers of one group drain
//!   `__stream__:<table>` with XREADGROUP + XACK; the group's lag (XINFO GROUPS) is sampled
//!   every 100 ms. Prints puts/s, peak lag, lag when the writers finish, and how long the
//!   group took to catch up after that.
//!
//! Output is one line of `key=value` pairs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use redis::Value;

const STREAM: &str = "bench:stream";
const TABLE: &str = "BenchOrders";
const GROUP: &str = "g";

fn connect(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|client| client.get_connection())
        .expect("connect to the server under test")
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// `(id, fields)` of the entries in an XREADGROUP reply (RESP2 shape).
fn delivered(reply: Value) -> Vec<(String, Vec<String>)> {
    let Value::Array(streams) = reply else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for stream in streams {
        let Value::Array(pair) = stream else { continue };
        let Some(Value::Array(entries)) = pair.into_iter().nth(1) else {
            continue;
        };
        for entry in entries {
            let Value::Array(parts) = entry else { continue };
            let id: String = redis::from_redis_value(parts[0].clone()).expect("entry id");
            let fields: Vec<String> = redis::from_redis_value(parts[1].clone()).unwrap_or_default();
            out.push((id, fields));
        }
    }
    out
}

/// XREADGROUP a batch of up to 10 for `consumer`, XACK it; returns the batch.
fn take_batch(
    con: &mut redis::Connection,
    key: &str,
    consumer: &str,
) -> Vec<(String, Vec<String>)> {
    let reply: Value = redis::cmd("XREADGROUP")
        .arg(
            &[
                "GROUP", GROUP, consumer, "COUNT", "10", "BLOCK", "100", "STREAMS", key, ">",
            ][..],
        )
        .query(con)
        .expect("XREADGROUP");
    let batch = delivered(reply);
    if !batch.is_empty() {
        let mut ack = redis::cmd("XACK");
        ack.arg(key).arg(GROUP);
        for (id, _) in &batch {
            ack.arg(id);
        }
        let _: i64 = ack.query(con).expect("XACK");
    }
    batch
}

fn group_mode(url: &str, entries: u64, consumers: u64) {
    let mut con = connect(url);
    let _: i64 = redis::cmd("DEL").arg(STREAM).query(&mut con).expect("DEL");
    let _: () = redis::cmd("XGROUP")
        .arg(&["CREATE", STREAM, GROUP, "$", "MKSTREAM"][..])
        .query(&mut con)
        .expect("XGROUP CREATE");
    let start = Instant::now();
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..consumers)
        .map(|n| {
            let (url, done) = (url.to_string(), done.clone());
            thread::spawn(move || {
                let mut con = connect(&url);
                let name = format!("c{n}");
                let mut latencies = Vec::new();
                let mut last = None;
                while done.load(Ordering::Relaxed) < entries {
                    let batch = take_batch(&mut con, STREAM, &name);
                    let now_ns = start.elapsed().as_nanos();
                    for (_, fields) in &batch {
                        let sent_ns: u128 = fields[1].parse().expect("send time");
                        latencies.push(((now_ns - sent_ns) / 1000).min(u32::MAX as u128) as u32);
                    }
                    if !batch.is_empty() {
                        last = Some(Instant::now());
                        done.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    }
                }
                (latencies, last)
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(200));
    let began = Instant::now();
    for _ in 0..entries {
        let _: String = redis::cmd("XADD")
            .arg(STREAM)
            .arg("*")
            .arg("t")
            .arg(start.elapsed().as_nanos().to_string())
            .arg("payload")
            .arg("order:4711:status:shipped:carrier:dhl")
            .query(&mut con)
            .expect("XADD");
    }
    let mut latencies = Vec::new();
    let mut ended = None;
    for w in workers {
        let (l, last) = w.join().expect("consumer");
        latencies.extend(l);
        ended = ended.max(last);
    }
    let seconds = ended.map_or(0.0, |e: Instant| (e - began).as_secs_f64());
    latencies.sort_unstable();
    println!(
        "entries={} seconds={seconds:.2} entries_per_s={:.0} p50_us={} p99_us={} max_us={}",
        latencies.len(),
        latencies.len() as f64 / seconds,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0),
    );
}

/// The group's lag from XINFO GROUPS (0 if not known yet).
fn group_lag(con: &mut redis::Connection, key: &str) -> u64 {
    let Ok(Value::Array(groups)) = redis::cmd("XINFO").arg("GROUPS").arg(key).query(con) else {
        return 0;
    };
    let Some(Value::Array(fields)) = groups.into_iter().next() else {
        return 0;
    };
    fields
        .chunks(2)
        .find(|pair| redis::from_redis_value::<String>(pair[0].clone()).is_ok_and(|k| k == "lag"))
        .and_then(|pair| redis::from_redis_value::<u64>(pair[1].clone()).ok())
        .unwrap_or(0)
}

fn changelog_mode(url: &str, puts: u64, writers: u64, workers: u64) {
    let key = format!("__stream__:{TABLE}");
    let mut con = connect(url);
    let _: Result<String, _> = redis::cmd("DDB.CREATETABLE")
        .arg(
            serde_json::json!({"TableName": TABLE,
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}})
            .to_string(),
        )
        .query(&mut con);
    let _: () = redis::cmd("XGROUP")
        .arg(&["CREATE", &key, GROUP, "$"][..])
        .query(&mut con)
        .expect("XGROUP CREATE");
    let writing = Arc::new(AtomicBool::new(true));
    let consumed = Arc::new(AtomicU64::new(0));
    let consumers: Vec<_> = (0..workers)
        .map(|n| {
            let (url, key, consumed) = (url.to_string(), key.clone(), consumed.clone());
            thread::spawn(move || {
                let mut con = connect(&url);
                let name = format!("w{n}");
                while consumed.load(Ordering::Relaxed) < puts {
                    let got = take_batch(&mut con, &key, &name).len() as u64;
                    consumed.fetch_add(got, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let began = Instant::now();
    let producers: Vec<_> = (0..writers)
        .map(|w| {
            let url = url.to_string();
            let share = puts / writers + u64::from(w < puts % writers);
            thread::spawn(move || {
                let mut con = connect(&url);
                for i in 0..share {
                    let item = serde_json::json!({"TableName": TABLE, "Item": {
                        "pk": {"S": format!("w{w}-{}", i % 5000)},
                        "qty": {"N": i.to_string()},
                        "status": {"S": "shipped"}}});
                    let _: String = redis::cmd("DDB.PUTITEM")
                        .arg(item.to_string())
                        .query(&mut con)
                        .expect("DDB.PUTITEM");
                }
            })
        })
        .collect();
    let sampler = {
        let (url, key, writing) = (url.to_string(), key.clone(), writing.clone());
        thread::spawn(move || {
            let mut con = connect(&url);
            let mut peak = 0;
            while writing.load(Ordering::Relaxed) {
                peak = peak.max(group_lag(&mut con, &key));
                thread::sleep(Duration::from_millis(100));
            }
            peak
        })
    };
    for p in producers {
        p.join().expect("writer");
    }
    let write_secs = began.elapsed().as_secs_f64();
    writing.store(false, Ordering::Relaxed);
    let peak = sampler.join().expect("sampler");
    let lag_at_end = group_lag(&mut con, &key);
    let drain_began = Instant::now();
    for c in consumers {
        c.join().expect("worker");
    }
    println!(
        "puts={puts} puts_per_s={:.0} peak_lag={} lag_when_writes_ended={lag_at_end} catch_up_s={:.2} final_lag={}",
        puts as f64 / write_secs,
        peak.max(lag_at_end),
        drain_began.elapsed().as_secs_f64(),
        group_lag(&mut con, &key),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| {
        args.get(i)
            .map(|s| s.parse().expect("counts are whole numbers"))
            .unwrap_or(default)
    };
    let url = format!(
        "redis://{}/",
        args.get(1).map_or("127.0.0.1:6379", |s| s.as_str())
    );
    match args.first().map(String::as_str) {
        Some("group") => group_mode(&url, number(2, 100_000), number(3, 4)),
        Some("changelog") => changelog_mode(&url, number(2, 100_000), number(3, 8), number(4, 4)),
        _ => eprintln!("usage: stream_bench group|changelog HOST:PORT ..."),
    }
}
