//! Job-queue benchmark: `producers` threads LPUSH jobs onto one list while `consumers`
//! threads take them with BRPOP, the way Celery/Sidekiq/RQ-style workers use a Redis list.
//! Each job carries the time it was pushed, so a consumer measures its end-to-end latency
//! (push sent → pop answered). Prints jobs/s and latency percentiles as one line of
//! `key=value` pairs, for `bench/queue.sh` to tabulate. Not run in CI.
//!
//! With a `rate` (jobs/s over all producers) the producers pace themselves, so the list is
//! mostly empty and the latency is that of waking a blocked consumer, not of a backlog.
//!
//! Usage: cargo run --release --example queue_bench -- HOST:PORT [jobs] [producers] [consumers] [rate]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const QUEUE: &str = "bench:queue";
/// Seconds a consumer blocks before it checks whether every job is done.
const POP_TIMEOUT_SECS: f64 = 0.5;
/// Filler that makes a job about as big as a small serialized task (~100 bytes).
const PAYLOAD: &str = "task:send_welcome_email:args:[user-4711,template-3,locale-en-GB]:retries:3";

struct Settings {
    url: String,
    jobs: u64,
    producers: u64,
    consumers: u64,
    /// Jobs per second over all producers; 0 = as fast as they can.
    rate: u64,
}

fn settings() -> Settings {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| {
        args.get(i)
            .map(|s| s.parse().expect("counts are whole numbers"))
            .unwrap_or(default)
    };
    Settings {
        url: format!(
            "redis://{}/",
            args.first().map_or("127.0.0.1:6379", |s| s.as_str())
        ),
        jobs: number(1, 1_000_000),
        producers: number(2, 10),
        consumers: number(3, 10),
        rate: number(4, 0),
    }
}

fn connect(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|client| client.get_connection())
        .expect("connect to the server under test")
}

/// Pushes `count` jobs, one LPUSH each, stamped with the time since `start`; one every
/// `interval` when given (on a fixed schedule, so a late push does not delay the next).
fn produce(url: String, start: Instant, count: u64, interval: Option<Duration>) {
    let mut con = connect(&url);
    let began = Instant::now();
    for n in 0..count {
        if let Some(interval) = interval {
            let due = began + interval * n as u32;
            thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let job = format!("{} {PAYLOAD}", start.elapsed().as_nanos());
        let _: i64 = redis::cmd("LPUSH")
            .arg(QUEUE)
            .arg(job)
            .query(&mut con)
            .expect("LPUSH");
    }
}

/// What one consumer saw: each popped job's latency in µs, and when it popped its last job
/// (the run ends at the last pop, not when idle consumers notice and stop).
struct Consumed {
    latencies_us: Vec<u32>,
    last_pop: Option<Instant>,
}

/// Pops jobs until `done` reaches `jobs`.
fn consume(url: String, start: Instant, jobs: u64, done: Arc<AtomicU64>) -> Consumed {
    let mut con = connect(&url);
    let mut latencies = Vec::new();
    let mut last_pop = None;
    while done.load(Ordering::Relaxed) < jobs {
        let popped: Option<(String, String)> = redis::cmd("BRPOP")
            .arg(QUEUE)
            .arg(POP_TIMEOUT_SECS)
            .query(&mut con)
            .expect("BRPOP");
        let Some((_, job)) = popped else { continue };
        let pushed_ns: u128 = job
            .split(' ')
            .next()
            .and_then(|t| t.parse().ok())
            .expect("a job starts with its push time");
        let latency_us = (start.elapsed().as_nanos() - pushed_ns) / 1000;
        latencies.push(latency_us.min(u128::from(u32::MAX)) as u32);
        last_pop = Some(Instant::now());
        done.fetch_add(1, Ordering::Relaxed);
    }
    Consumed {
        latencies_us: latencies,
        last_pop,
    }
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn main() {
    let s = settings();
    let _: i64 = redis::cmd("DEL")
        .arg(QUEUE)
        .query(&mut connect(&s.url))
        .expect("DEL");
    let start = Instant::now();
    let done = Arc::new(AtomicU64::new(0));
    let consumers: Vec<_> = (0..s.consumers)
        .map(|_| {
            let (url, done) = (s.url.clone(), done.clone());
            thread::spawn(move || consume(url, start, s.jobs, done))
        })
        .collect();
    // Consumers are blocked on the empty list before the first job is pushed.
    thread::sleep(Duration::from_millis(200));
    let began = Instant::now();
    let interval =
        (s.rate > 0).then(|| Duration::from_secs_f64(s.producers as f64 / s.rate as f64));
    let producers: Vec<_> = (0..s.producers)
        .map(|i| {
            let share = s.jobs / s.producers + u64::from(i < s.jobs % s.producers);
            let url = s.url.clone();
            thread::spawn(move || produce(url, start, share, interval))
        })
        .collect();
    for p in producers {
        p.join().expect("producer");
    }
    let consumed: Vec<Consumed> = consumers
        .into_iter()
        .map(|c| c.join().expect("consumer"))
        .collect();
    let ended = consumed.iter().filter_map(|c| c.last_pop).max();
    let elapsed = ended.map_or(0.0, |end| (end - began).as_secs_f64());
    let mut latencies: Vec<u32> = consumed.into_iter().flat_map(|c| c.latencies_us).collect();
    latencies.sort_unstable();
    println!(
        "jobs={} seconds={elapsed:.2} jobs_per_s={:.0} p50_us={} p99_us={} max_us={}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0),
    );
}
