//! Metrics endpoint, INFO shards/latencystats, and shard autoscaling under load.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::harness::{error, eventually, free_port, http_get, info_number, q, TestServer};

/// Parses Prometheus text format into `series -> value` (series includes its labels).
fn scrape(addr: &str) -> HashMap<String, f64> {
    let Some(body) = http_get(addr, "/metrics") else {
        return HashMap::new();
    };
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn shard_count(con: &mut redis::Connection) -> u64 {
    info_number(con, "shards", "shard_count")
}

#[test]
fn metrics_endpoint_counts_a_known_workload() {
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let server = TestServer::start_with(&["--metrics-addr", &metrics_addr]);
    let mut con = server.client();
    let _: () = q(
        &mut con,
        &["CONFIG", "SET", "notify-keyspace-events", "KEA"],
    );
    for i in 0..7 {
        let _: () = q(&mut con, &["SET", &format!("k{i}"), "v"]);
    }
    let _: redis::Value = q(
        &mut con,
        &[
            "XREAD",
            "COUNT",
            "3",
            "STREAMS",
            "__stream__:__keyspace@0__",
            "0",
        ],
    );
    let table = r#"{"TableName":"Tab1","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}]}"#;
    let _: String = q(&mut con, &["DDB.CREATETABLE", table]);
    for pk in ["a", "b"] {
        let item = format!(r#"{{"TableName":"Tab1","Item":{{"pk":{{"S":"{pk}"}}}}}}"#);
        let _: String = q(&mut con, &["DDB.PUTITEM", &item]);
    }
    for i in 0..3 {
        let _: Option<String> = q(&mut con, &["GET", &format!("k{i}")]);
    }
    error(&mut con, &["INCR", "k0"]);
    error(&mut con, &["INCR", "k1"]);
    let expected = [
        (r#"redyn_commands_total{cmd="set"}"#, 7.0),
        (r#"redyn_commands_total{cmd="get"}"#, 3.0),
        (r#"redyn_commands_total{cmd="incr"}"#, 2.0),
        (r#"redyn_command_errors_total{cmd="incr"}"#, 2.0),
        (r#"redyn_command_duration_seconds_count{cmd="set"}"#, 7.0),
        (r#"redyn_keys{db="0"}"#, 7.0),
        ("redyn_connected_clients", 1.0),
        ("redyn_changelog_records_total", 7.0),
        (r#"redyn_table_items{table="Tab1"}"#, 2.0),
        (r#"redyn_changelog_records{stream="__keyspace@0__"}"#, 7.0),
    ];
    let mut last = HashMap::new();
    let ok = eventually(30, || {
        last = scrape(&metrics_addr);
        expected
            .iter()
            .all(|(series, value)| last.get(*series) == Some(value))
    });
    assert!(ok, "expected {expected:?}, scraped {last:?}");
    for series in [
        "redyn_shard_count",
        "redyn_journal_bytes",
        "redyn_net_input_bytes_total",
        "redyn_net_output_bytes_total",
        "redyn_expired_keys_total",
        "redyn_shard_splits_total",
        r#"redyn_changelog_consumer_lag_seconds{stream="__keyspace@0__"}"#,
    ] {
        assert!(last.contains_key(series), "{series} missing from /metrics");
    }
    assert!(last
        .keys()
        .any(|k| k.starts_with("redyn_shard_ops_per_second{")));
    assert!(last
        .keys()
        .any(|k| k.starts_with(r#"redyn_command_duration_seconds_bucket{cmd="get",le="#)));
}

#[test]
fn info_reports_shards_commandstats_and_latencystats() {
    let server = TestServer::start_with(&["--shards", "4"]);
    let mut con = server.client();
    let _: () = q(&mut con, &["SET", "a", "1"]);
    assert_eq!(shard_count(&mut con), 4);
    let info: String = q(&mut con, &["INFO", "shards"]);
    assert!(info.contains("shard0:slots=0-4095,"), "{info}");
    assert!(info.contains("shard3:slots=12288-16383,"), "{info}");
    let stats: String = q(&mut con, &["INFO", "commandstats"]);
    assert!(stats.contains("cmdstat_set:calls=1,"), "{stats}");
    let latency: String = q(&mut con, &["INFO", "latencystats"]);
    assert!(
        latency.contains("latency_percentiles_usec_set:p50="),
        "{latency}"
    );
}

/// 50 clients append sequence numbers to their own keys while the autoscaler splits (low
/// thresholds); after the load stops it merges back. Every acknowledged append must then
/// be present exactly once and in order.
#[test]
fn autoscaler_splits_under_load_and_merges_after_without_losing_writes() {
    let mut server = TestServer::start_with(&[
        "--shards",
        "1",
        "--shard-split-ops",
        "200",
        "--shard-merge-ops",
        "20",
        "--shard-scale-window",
        "1",
        "--shard-scale-cooldown",
        "1",
        "--shards-max",
        "8",
    ]);
    let mut admin = server.client();
    assert_eq!(shard_count(&mut admin), 1);
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for c in 0..50 {
        let mut con = server.client();
        let stop = stop.clone();
        writers.push(std::thread::spawn(move || {
            let key = format!("log:{{{c}}}:{c}");
            let mut acked = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let _: u64 = q(&mut con, &["APPEND", &key, &format!("{acked},")]);
                acked += 1;
            }
            (key, acked)
        }));
    }
    let grew = eventually(120, || shard_count(&mut admin) >= 4);
    stop.store(true, Ordering::Relaxed);
    let results: Vec<(String, u64)> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    assert!(grew, "shard count did not rise under load");
    let shrank = eventually(120, || shard_count(&mut admin) <= 2);
    assert!(shrank, "shard count did not fall after the load stopped");
    let check = |con: &mut redis::Connection| {
        for (key, acked) in &results {
            let value: String = q(con, &["GET", key]);
            let expected: String = (0..*acked).map(|i| format!("{i},")).collect();
            assert_eq!(
                &value, &expected,
                "writes to {key} lost, duplicated or reordered"
            );
        }
    };
    check(&mut admin);
    // The layout survives a restart, and so does every write.
    let layout_before: String = q(&mut admin, &["INFO", "shards"]);
    drop(admin);
    assert_eq!(server.stop(), Some(0));
    server.restart();
    let mut con = server.client();
    check(&mut con);
    let layout_after: String = q(&mut con, &["INFO", "shards"]);
    let ranges = |s: &str| -> Vec<String> {
        s.lines()
            .filter_map(|l| {
                l.split_once(":slots=")
                    .map(|(_, r)| r.split(',').next().unwrap().to_string())
            })
            .collect()
    };
    assert_eq!(ranges(&layout_before), ranges(&layout_after));
}
