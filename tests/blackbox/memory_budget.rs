//! `maxmemory` as redyn's memory budget (issue 15): the flag, the config file, CONFIG SET
//! and GET, the INFO memory fields that show the budget and its split, and invalid values
//! refused with Redis's texts. redyn never evicts: data beyond the budget stays readable.

use std::collections::HashMap;

use crate::harness::{error, eventually, q, TestServer};

const MB: u64 = 1 << 20;

fn info_memory(c: &mut redis::Connection) -> HashMap<String, String> {
    info_section(c, "memory")
}

fn info_persistence(c: &mut redis::Connection) -> HashMap<String, String> {
    info_section(c, "persistence")
}

fn info_section(c: &mut redis::Connection, section: &str) -> HashMap<String, String> {
    let text: String = q(c, &["INFO", section]);
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn field(info: &HashMap<String, String>, name: &str) -> u64 {
    info.get(name)
        .unwrap_or_else(|| panic!("INFO memory has no {name}: {info:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number: {info:?}"))
}

fn config_get(c: &mut redis::Connection, name: &str) -> String {
    let mut got: HashMap<String, String> = q(c, &["CONFIG", "GET", name]);
    got.remove(name).expect("CONFIG GET answers")
}

#[test]
fn default_budget_is_512mb_split_between_caches_and_memtables() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(config_get(&mut c, "maxmemory"), (512 * MB).to_string());
    let info = info_memory(&mut c);
    assert_eq!(field(&info, "maxmemory"), 512 * MB);
    assert_eq!(info["maxmemory_human"], "512.00M");
    assert_eq!(field(&info, "maxmemory_block_cache"), 512 * MB / 100 * 40);
    assert_eq!(field(&info, "maxmemory_meta_cache"), 512 * MB / 100 * 20);
    assert_eq!(field(&info, "maxmemory_sub_cache"), 512 * MB / 100 * 10);
    assert_eq!(field(&info, "maxmemory_memtable"), 512 * MB / 100 * 30 / 3);
    assert_eq!(info["maxmemory_policy"], "noeviction");
    assert_eq!(info["mem_allocator"], "mimalloc");
}

#[test]
fn flag_sizes_every_part_including_the_block_cache() {
    let server = TestServer::start_with(&["--maxmemory", "256mb"]);
    let mut c = server.client();
    assert_eq!(config_get(&mut c, "maxmemory"), (256 * MB).to_string());
    let info = info_memory(&mut c);
    assert_eq!(info["maxmemory_human"], "256.00M");
    assert_eq!(field(&info, "maxmemory_block_cache"), 256 * MB / 100 * 40);
    assert_eq!(field(&info, "maxmemory_meta_cache"), 256 * MB / 100 * 20);
    assert_eq!(field(&info, "maxmemory_memtable"), 256 * MB / 100 * 30 / 3);
}

#[test]
fn config_file_sets_the_budget_and_rewrite_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("redyn.conf");
    std::fs::write(&conf, "maxmemory 1gb\n").unwrap();
    let server = TestServer::start_with(&[conf.to_str().unwrap()]);
    let mut c = server.client();
    assert_eq!(config_get(&mut c, "maxmemory"), (1u64 << 30).to_string());
    assert_eq!(info_memory(&mut c)["maxmemory_human"], "1.00G");
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "300mb"]);
    let _: () = q(&mut c, &["CONFIG", "REWRITE"]);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains(&format!("maxmemory {}", 300 * MB)), "{text}");
}

#[test]
fn config_set_resizes_row_caches_and_memtables_at_once_block_cache_at_restart() {
    let mut server = TestServer::start_with(&["--maxmemory", "256mb"]);
    let mut c = server.client();
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "1gb"]);
    assert_eq!(config_get(&mut c, "maxmemory"), (1u64 << 30).to_string());
    let info = info_memory(&mut c);
    assert_eq!(field(&info, "maxmemory"), 1 << 30);
    assert_eq!(
        field(&info, "maxmemory_meta_cache"),
        (1u64 << 30) / 100 * 20
    );
    assert_eq!(field(&info, "maxmemory_sub_cache"), (1u64 << 30) / 100 * 10);
    assert_eq!(
        field(&info, "maxmemory_memtable"),
        (1u64 << 30) / 100 * 30 / 3
    );
    // fjall's block cache cannot be resized while open: it keeps its size until restart.
    assert_eq!(field(&info, "maxmemory_block_cache"), 256 * MB / 100 * 40);

    // Redis's "no limit" is redyn's default budget; a tiny budget counts as 32 MB.
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    let info = info_memory(&mut c);
    assert_eq!(field(&info, "maxmemory"), 0);
    assert_eq!(field(&info, "maxmemory_meta_cache"), 512 * MB / 100 * 20);
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "1kb"]);
    assert_eq!(
        field(&info_memory(&mut c), "maxmemory_meta_cache"),
        32 * MB / 100 * 20
    );

    // Restarted with the flag it was started with, the block cache follows that flag.
    drop(c);
    server.stop();
    server.restart();
    let mut c = server.client();
    assert_eq!(
        field(&info_memory(&mut c), "maxmemory_block_cache"),
        256 * MB / 100 * 40
    );
}

#[test]
fn data_larger_than_the_budget_stays_readable() {
    // The smallest budget (32 MB) and ~48 MB of values: nothing is evicted or refused.
    let server = TestServer::start_with(&["--maxmemory", "1mb"]);
    let mut c = server.client();
    let value = "v".repeat(16 * 1024);
    for chunk in 0..30 {
        let mut pipe = redis::pipe();
        for i in 0..100 {
            pipe.cmd("SET")
                .arg(format!("key:{}", chunk * 100 + i))
                .arg(&value)
                .ignore();
        }
        let _: () = pipe.query(&mut c).expect("SET pipeline");
    }
    let n: u64 = q(&mut c, &["DBSIZE"]);
    assert_eq!(n, 3000);
    for i in [0, 1234, 2999] {
        let got: String = q(&mut c, &["GET", &format!("key:{i}")]);
        assert_eq!(got.len(), value.len());
    }
}

#[test]
fn invalid_values_are_refused_as_redis_refuses_them() {
    let server = TestServer::start();
    let mut c = server.client();
    for bad in ["lots", "-1", "1.5gb", "10%"] {
        assert_eq!(
            error(&mut c, &["CONFIG", "SET", "maxmemory", bad]),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value",
            "{bad}"
        );
    }
    assert_eq!(config_get(&mut c, "maxmemory"), (512 * MB).to_string());
    // Redis takes an empty value as 0.
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", ""]);
    assert_eq!(config_get(&mut c, "maxmemory"), "0");

    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_redyn"))
        .args(["--port", "0", "--maxmemory", "lots", "--dir"])
        .arg(dir.path())
        .args(["--metrics-addr", "off"])
        .output()
        .expect("run redyn");
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("argument must be a memory value"), "{text}");
}

/// The metadata cache holds decoded rows that commits keep current: with the smallest budget
/// (a 6 MB cache) it evicts rows between the writes of a key, and rows grow far past the size
/// they were cached at. Every write must stay visible.
#[test]
fn rows_rewritten_while_the_metadata_cache_evicts_them_read_back_exactly() {
    let server = TestServer::start_with(&["--maxmemory", "32mb"]);
    let mut c = server.client();
    let keys = 100_000u64;
    let mut expected = vec![0i64; keys as usize];
    let mut lengths = vec![0usize; keys as usize];
    for round in 0..3u64 {
        let mut pipe = redis::pipe();
        for i in 0..keys {
            // A different order each round, so rows come back after being evicted.
            let k = (i * 7919 + round * 104_729) % keys;
            pipe.cmd("INCRBY")
                .arg(format!("n:{k}"))
                .arg(k + round)
                .ignore();
            expected[k as usize] += (k + round) as i64;
            if k % 5 == round {
                // Grows the row far past what the cache weighed it with.
                let grow = "x".repeat(200 * (round as usize + 1));
                pipe.cmd("APPEND").arg(format!("s:{k}")).arg(&grow).ignore();
                lengths[k as usize] += grow.len();
            }
        }
        let _: () = pipe.query(&mut c).expect("write pipeline");
    }
    for start in (0..keys).step_by(5_000) {
        let names: Vec<String> = (start..start + 5_000).map(|k| format!("n:{k}")).collect();
        let got: Vec<i64> = redis::cmd("MGET").arg(&names).query(&mut c).unwrap();
        let want = &expected[start as usize..start as usize + 5_000];
        let wrong = (0..want.len()).find(|&i| got[i] != want[i]);
        assert_eq!(
            wrong,
            None,
            "first wrong counter n:{}",
            start as usize + wrong.unwrap_or(0)
        );
    }
    for k in (0..keys).step_by(97) {
        let len: usize = q(&mut c, &["STRLEN", &format!("s:{k}")]);
        assert_eq!(len, lengths[k as usize], "s:{k}");
    }
}

/// With `disk-read-threshold-us 0` every read command first has its keys' rows that only
/// fjall holds read on a blocking thread (as while reads go to the disk, see
/// `engine::disk_reads`): the replies are those of reads on the network thread, INFO counts
/// the rows read ahead, and a threshold no read reaches turns reading ahead off.
#[test]
fn reads_ahead_of_read_commands_answer_as_reads_on_the_network_thread() {
    let mut server =
        TestServer::start_with(&["--disk-read-threshold-us", "0", "--maxmemory", "32mb"]);
    let mut c = server.client();
    let journal_at_start = field(&info_persistence(&mut c), "journal_bytes");
    for i in 0..100 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), &format!("v{i}")]);
    }
    let _: () = q(&mut c, &["HSET", "h", "f", "x"]);
    // 24 MB more: the write buffer (4 MB layers at this budget) hands its layers but the
    // active one, the one with the rows above first, to fjall and drops their journal.
    let filler = "x".repeat(1 << 20);
    for i in 0..24 {
        let _: () = q(&mut c, &["SET", &format!("filler{i}"), &filler]);
    }
    let ingested = eventually(60, || {
        field(&info_persistence(&mut c), "journal_bytes") <= journal_at_start + (8 << 20)
    });
    assert!(ingested, "no layer left the write buffer");
    drop(c);
    // After a restart the rows are in fjall alone, not in the write buffer or the caches.
    server.stop();
    server.restart();
    let mut c = server.client();
    assert_eq!(config_get(&mut c, "disk-read-threshold-us"), "0");
    for i in 0..50 {
        let got: Option<String> = q(&mut c, &["GET", &format!("k{i}")]);
        assert_eq!(got, Some(format!("v{i}")));
    }
    let got: Vec<Option<String>> = q(&mut c, &["MGET", "k50", "nokey", "k51"]);
    assert_eq!(got, [Some("v50".into()), None, Some("v51".into())]);
    let got: i64 = q(&mut c, &["EXISTS", "k52", "nokey2"]);
    assert_eq!(got, 1);
    let got: String = q(&mut c, &["HGET", "h", "f"]);
    assert_eq!(got, "x");
    let got: String = q(&mut c, &["TYPE", "h"]);
    assert_eq!(got, "hash");
    // A pipeline runs as one batch (see `pipeline`), its keys read ahead together.
    let mut pipe = redis::pipe();
    for i in 53..59 {
        pipe.cmd("GET").arg(format!("k{i}"));
    }
    let got: Vec<String> = pipe.query(&mut c).expect("pipeline");
    assert_eq!(got, (53..59).map(|i| format!("v{i}")).collect::<Vec<_>>());
    let ahead = field(&info_persistence(&mut c), "stored_reads_ahead");
    // 50 GETs, 3 MGET keys, 2 EXISTS keys, the hash's row and 6 pipelined GETs.
    assert!(ahead >= 62, "rows read ahead: {ahead}");
    // Rows already cached are not read ahead again.
    let got: Option<String> = q(&mut c, &["GET", "k0"]);
    assert_eq!(got.as_deref(), Some("v0"));
    assert_eq!(
        field(&info_persistence(&mut c), "stored_reads_ahead"),
        ahead
    );

    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "disk-read-threshold-us", "1000000000"],
    );
    for i in 60..100 {
        let got: Option<String> = q(&mut c, &["GET", &format!("k{i}")]);
        assert_eq!(got, Some(format!("v{i}")));
    }
    assert_eq!(
        field(&info_persistence(&mut c), "stored_reads_ahead"),
        ahead
    );
    let err = error(&mut c, &["CONFIG", "SET", "disk-read-threshold-us", "-1"]);
    assert!(err.contains("disk-read-threshold-us"), "{err}");
}
