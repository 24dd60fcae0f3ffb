//! fjall in isolation (issue 15: "if fjall itself is the limit, measure it in isolation"):
//! the CPU time of the storage work a redyn write makes, without the server around it.
//! Writes rows shaped like redyn's metadata rows (`slot ‖ db ‖ len ‖ counter:%012d`, a small
//! value) for random keys of a 100,000-key space — what `redis-benchmark -t incr -r 100000`
//! makes redyn write — as fjall batches of 1 row (a command on its own) and of 16 rows (a
//! pipelined batch), then point-reads random keys. One thread, journal buffered (as redyn's
//! everysec), on a temporary directory. Prints CPU µs per row for each phase.
//!
//! Usage: `cargo run --release -p redyn-server --example fjall_floor [rows]` (default
//! 1,000,000 per phase). Not run in CI.

use std::time::Duration;

use fjall::{Database, KeyspaceCreateOptions};

/// xorshift64*: cheap, repeatable.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// A row key shaped like redyn's metadata row key of `counter:<n>` in db 0.
fn row_key(n: u64) -> Vec<u8> {
    let key = format!("counter:{n:012}");
    let slot = (n.wrapping_mul(0x9E37_79B9) % 16384) as u16;
    let mut out = Vec::with_capacity(10 + key.len());
    out.extend_from_slice(&slot.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key.as_bytes());
    out
}

/// This process's CPU time (user + system, all threads: fjall's flush workers included),
/// from /proc/self/stat in clock ticks (100 per second on Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("stat format") + 2..]
        .split(' ')
        .collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10)
}

fn main() {
    let rows: u64 = std::env::args()
        .nth(1)
        .map_or(1_000_000, |s| s.parse().expect("a number of rows"));
    let memtable: u64 = std::env::var("MEMTABLE_MB")
        .map_or(64, |s| s.parse().expect("MEMTABLE_MB: a number"))
        << 20;
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = Database::builder(dir.path())
        .manual_journal_persist(true)
        .open()
        .expect("open fjall");
    let mut rng = 0x1234_5678_9abc_def1u64;
    let mut keyspace = None;
    for batch_rows in [1u64, 16] {
        // A fresh keyspace per phase: each starts from an empty memtable.
        let fresh = db
            .keyspace(&format!("meta{batch_rows}"), || {
                KeyspaceCreateOptions::default().max_memtable_size(memtable)
            })
            .expect("keyspace");
        let keyspace = keyspace.insert(fresh);
        let started = cpu_time();
        for _ in 0..rows / batch_rows {
            let mut batch = db.batch();
            for _ in 0..batch_rows {
                let n = next(&mut rng) % 100_000;
                batch.insert(
                    keyspace,
                    row_key(n),
                    b"\x01\x00\x00\x00\x0512345".as_slice(),
                );
            }
            batch.commit().expect("commit");
        }
        let spent = cpu_time() - started;
        println!(
            "write, batches of {batch_rows:>2} rows: {:.2} CPU µs per row ({rows} rows)",
            spent.as_secs_f64() * 1e6 / rows as f64
        );
    }
    if std::env::var_os("BTREE").is_some() {
        btree_phase(rows);
    }
    let keyspace = keyspace.expect("written above");
    let started = cpu_time();
    let mut found = 0u64;
    for _ in 0..rows {
        let n = next(&mut rng) % 100_000;
        found += u64::from(keyspace.get(row_key(n)).expect("get").is_some());
    }
    let spent = cpu_time() - started;
    println!(
        "point read: {:.2} CPU µs per row ({rows} reads, {found} found)",
        spent.as_secs_f64() * 1e6 / rows as f64
    );
}

/// The same writes into a plain `BTreeMap` plus a journal buffer: what a write path of our
/// own (an ordered in-memory buffer flushed to fjall in sorted runs) would cost per row.
fn btree_phase(rows: u64) {
    let mut rng = 0x1234_5678_9abc_def1u64;
    let mut map = std::collections::BTreeMap::<Vec<u8>, Vec<u8>>::new();
    let mut journal = Vec::<u8>::with_capacity(1 << 20);
    let started = cpu_time();
    for _ in 0..rows {
        let n = next(&mut rng) % 100_000;
        let key = row_key(n);
        let value = b"\x01\x00\x00\x00\x0512345".to_vec();
        journal.extend_from_slice(&(key.len() as u32).to_le_bytes());
        journal.extend_from_slice(&key);
        journal.extend_from_slice(&value);
        if journal.len() > 1 << 20 {
            journal.clear();
        }
        map.insert(key, value);
    }
    let spent = cpu_time() - started;
    println!(
        "btree write: {:.2} CPU µs per row ({rows} rows, {} keys)",
        spent.as_secs_f64() * 1e6 / rows as f64,
        map.len()
    );
    let started = cpu_time();
    let mut found = 0u64;
    for _ in 0..rows {
        let n = next(&mut rng) % 100_000;
        found += u64::from(map.contains_key(&row_key(n)));
    }
    let spent = cpu_time() - started;
    println!(
        "btree point read: {:.2} CPU µs per row ({found} found)",
        spent.as_secs_f64() * 1e6 / rows as f64
    );
}
