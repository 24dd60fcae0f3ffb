//! SETBIT/GETBIT at random offsets of one bitmap, for `bench/bits.sh`. Not run in CI.
//! redis-benchmark cannot do it: its `__rand_int__` is zero-padded to 12 digits, and Redis
//! refuses a bit offset with leading zeros.
//!
//! Usage: `bits_bench HOST:PORT setbit|getbit KEY MAX_BIT CLIENTS PIPELINE REQUESTS`.
//! Each of CLIENTS connections sends its share of REQUESTS in pipelines of PIPELINE
//! commands at offsets uniform in `0..MAX_BIT`. Prints `rps=<requests per second>`.

use std::thread;
use std::time::Instant;

/// xorshift64*: cheap and seeded per client, so runs are repeatable.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, command, key, max_bit, clients, pipeline, requests] = &args[..] else {
        eprintln!(
            "usage: bits_bench HOST:PORT setbit|getbit KEY MAX_BIT CLIENTS PIPELINE REQUESTS"
        );
        std::process::exit(2);
    };
    let parse = |s: &str| s.parse::<u64>().expect("a number");
    let (max_bit, clients, pipeline) = (parse(max_bit), parse(clients), parse(pipeline));
    let per_client = parse(requests) / clients;
    let url = format!("redis://{addr}/");
    let start = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|id| {
            let (url, command, key) = (url.clone(), command.clone(), key.clone());
            thread::spawn(move || {
                let mut con = redis::Client::open(url.as_str())
                    .and_then(|c| c.get_connection())
                    .expect("connect to the server under test");
                let mut rng = 0x9e37_79b9_7f4a_7c15 ^ (id + 1);
                let mut sent = 0;
                while sent < per_client {
                    let batch = pipeline.min(per_client - sent);
                    let mut pipe = redis::pipe();
                    for _ in 0..batch {
                        let cmd = pipe.cmd(&command).arg(&key).arg(next(&mut rng) % max_bit);
                        if command == "setbit" {
                            cmd.arg(next(&mut rng) & 1);
                        }
                    }
                    let _: Vec<i64> = pipe.query(&mut con).expect("reply");
                    sent += batch;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("client thread");
    }
    let secs = start.elapsed().as_secs_f64();
    println!("rps={:.0}", (per_client * clients) as f64 / secs);
}
