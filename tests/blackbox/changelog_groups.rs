//! Consumer groups on change logs (`__stream__:<table>` and the keyspace log): every group
//! command, the refused client writes, persistence across restart and kill -9, retention
//! against pending entries, the lag metric, and an end-to-end table-change pipeline with
//! three workers, one of which dies with records pending.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use redis::Value;
use serde_json::{json, Value as Json};

use crate::harness::{
    ddb, error, eventually, free_port, http_get, q, value, wait_for_blocked_clients, TestServer,
};
use crate::xstream::{ids, info_int, info_text};

const TABLE: &str = "Orders";
const LOG: &str = "__stream__:Orders";

fn create_streamed_table(con: &mut redis::Connection) {
    ddb(
        con,
        "CREATETABLE",
        json!({"TableName": TABLE,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}}),
    );
}

fn put(con: &mut redis::Connection, pk: &str, v: u64) {
    ddb(
        con,
        "PUTITEM",
        json!({"TableName": TABLE, "Item": {"pk": {"S": pk}, "v": {"N": v.to_string()}}}),
    );
}

fn update(con: &mut redis::Connection, pk: &str, v: u64) {
    ddb(
        con,
        "UPDATEITEM",
        json!({"TableName": TABLE, "Key": {"pk": {"S": pk}},
            "UpdateExpression": "SET v = :v",
            "ExpressionAttributeValues": {":v": {"N": v.to_string()}}}),
    );
}

fn delete(con: &mut redis::Connection, pk: &str) {
    ddb(
        con,
        "DELETEITEM",
        json!({"TableName": TABLE, "Key": {"pk": {"S": pk}}}),
    );
}

/// A change record as a worker sees it: stream ID, item key, event name, and the item's
/// `v` after the change (before it, for a REMOVE).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Change {
    id: String,
    pk: String,
    event: String,
    v: u64,
}

fn change(id: String, fields: &[String]) -> Change {
    assert_eq!(fields[0], "eventName");
    assert_eq!(fields[2], "record");
    let record: Json = serde_json::from_str(&fields[3]).unwrap();
    let image = match fields[1].as_str() {
        "REMOVE" => &record["dynamodb"]["OldImage"],
        _ => &record["dynamodb"]["NewImage"],
    };
    Change {
        id,
        pk: record["dynamodb"]["Keys"]["pk"]["S"]
            .as_str()
            .unwrap()
            .to_string(),
        event: fields[1].clone(),
        v: image["v"]["N"].as_str().unwrap().parse().unwrap(),
    }
}

/// The changes of an entry list (`[[id, [field, value, ...]], ...]`); entries whose record
/// is gone (`[id, nil]`) come back as `None`.
fn changes(entries: &Value) -> Vec<(String, Option<Change>)> {
    let Value::Array(entries) = entries else {
        panic!("not an entry list: {entries:?}")
    };
    entries
        .iter()
        .map(|entry| {
            let Value::Array(parts) = entry else {
                panic!("bad entry {entry:?}")
            };
            let id: String = redis::from_redis_value(parts[0].clone()).unwrap();
            match &parts[1] {
                Value::Nil => (id, None),
                Value::Array(items) if items.is_empty() => (id, None),
                fields => {
                    let fields: Vec<String> = redis::from_redis_value(fields.clone()).unwrap();
                    (id.clone(), Some(change(id, &fields)))
                }
            }
        })
        .collect()
}

/// XREADGROUP on the change log; the changes delivered (nothing on a timeout).
fn read_group(
    con: &mut redis::Connection,
    consumer: &str,
    extra: &[&str],
    id: &str,
) -> Vec<(String, Option<Change>)> {
    let mut args = vec!["XREADGROUP", "GROUP", "g", consumer];
    args.extend(extra);
    args.extend(["STREAMS", LOG, id]);
    match value(con, &args) {
        Value::Nil => Vec::new(),
        Value::Array(streams) => {
            let Value::Array(pair) = &streams[0] else {
                panic!("bad reply")
            };
            let key: String = redis::from_redis_value(pair[0].clone()).unwrap();
            assert_eq!(key, LOG);
            changes(&pair[1])
        }
        other => panic!("unexpected XREADGROUP reply {other:?}"),
    }
}

fn delivered_ids(entries: &[(String, Option<Change>)]) -> Vec<String> {
    entries.iter().map(|(id, _)| id.clone()).collect()
}

/// XPENDING summary: (count, per-consumer counts).
fn pending_summary(con: &mut redis::Connection) -> (i64, Vec<(String, String)>) {
    let Value::Array(parts) = value(con, &["XPENDING", LOG, "g"]) else {
        panic!("bad XPENDING reply")
    };
    let count: i64 = redis::from_redis_value(parts[0].clone()).unwrap();
    let consumers = match &parts[3] {
        Value::Nil => Vec::new(),
        other => redis::from_redis_value(other.clone()).unwrap(),
    };
    (count, consumers)
}

fn first_group(con: &mut redis::Connection) -> Value {
    let Value::Array(groups) = value(con, &["XINFO", "GROUPS", LOG]) else {
        panic!("bad XINFO GROUPS reply")
    };
    groups[0].clone()
}

#[test]
fn group_commands_work_on_a_table_change_log() {
    let server = TestServer::start();
    let mut c = server.client();
    create_streamed_table(&mut c);
    assert_eq!(
        q::<String>(&mut c, &["XGROUP", "CREATE", LOG, "g", "$"]),
        "OK"
    );
    assert_eq!(
        error(&mut c, &["XGROUP", "CREATE", LOG, "g", "0"]),
        "BUSYGROUP Consumer Group name already exists"
    );
    assert_eq!(q::<String>(&mut c, &["TYPE", LOG]), "stream");
    for (i, pk) in ["a", "b", "c", "d"].iter().enumerate() {
        put(&mut c, pk, i as u64);
    }
    let all = ids(&value(&mut c, &["XRANGE", LOG, "-", "+"]));
    assert_eq!(all.len(), 4);

    let group = first_group(&mut c);
    assert_eq!(info_int(&group, "lag"), 4);
    assert_eq!(info_int(&group, "entries-read"), 0);

    let first = read_group(&mut c, "alice", &["COUNT", "3"], ">");
    assert_eq!(delivered_ids(&first), all[..3]);
    let a = first[0].1.clone().unwrap();
    assert_eq!((a.pk.as_str(), a.event.as_str(), a.v), ("a", "INSERT", 0));
    let second = read_group(&mut c, "bob", &[], ">");
    assert_eq!(delivered_ids(&second), all[3..]);
    assert!(read_group(&mut c, "bob", &[], ">").is_empty());

    let group = first_group(&mut c);
    assert_eq!(info_int(&group, "consumers"), 2);
    assert_eq!(info_int(&group, "pending"), 4);
    assert_eq!(info_text(&group, "last-delivered-id"), all[3]);
    assert_eq!(info_int(&group, "lag"), 0);
    assert_eq!(
        pending_summary(&mut c),
        (
            4,
            vec![("alice".into(), "3".into()), ("bob".into(), "1".into())]
        )
    );

    // History read of alice's own pending entries, then acknowledgements.
    assert_eq!(
        delivered_ids(&read_group(&mut c, "alice", &[], "0")),
        all[..3]
    );
    assert_eq!(q::<i64>(&mut c, &["XACK", LOG, "g", &all[0], &all[0]]), 1);
    assert_eq!(q::<i64>(&mut c, &["XACK", LOG, "nogroup", &all[1]]), 0);
    assert_eq!(
        error(&mut c, &["XACK", LOG, "g", "bad-id"]),
        "ERR Invalid stream ID specified as stream command argument"
    );

    // XPENDING range form, with IDLE and per consumer.
    let Value::Array(rows) = value(&mut c, &["XPENDING", LOG, "g", "-", "+", "10", "alice"]) else {
        panic!()
    };
    assert_eq!(rows.len(), 2);
    let Value::Array(row) = &rows[0] else {
        panic!()
    };
    let row_id: String = redis::from_redis_value(row[0].clone()).unwrap();
    let delivered: i64 = redis::from_redis_value(row[3].clone()).unwrap();
    assert_eq!((row_id.as_str(), delivered), (all[1].as_str(), 2));
    let none: Value = value(
        &mut c,
        &["XPENDING", LOG, "g", "IDLE", "100000", "-", "+", "10"],
    );
    assert_eq!(none, Value::Array(vec![]));

    // XCLAIM moves one of alice's entries to carol; XAUTOCLAIM takes the rest.
    let claimed = value(&mut c, &["XCLAIM", LOG, "g", "carol", "0", &all[1]]);
    let claimed = changes(&claimed);
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].1.as_ref().unwrap().pk, "b");
    let Value::Array(auto) = value(
        &mut c,
        &["XAUTOCLAIM", LOG, "g", "carol", "0", "0-0", "JUSTID"],
    ) else {
        panic!()
    };
    let moved: Vec<String> = redis::from_redis_value(auto[1].clone()).unwrap();
    assert_eq!(moved, all[1..]);
    assert_eq!(
        pending_summary(&mut c).1,
        vec![("carol".into(), "3".into())]
    );

    // XINFO CONSUMERS / STREAM (FULL) see the group.
    let Value::Array(consumers) = value(&mut c, &["XINFO", "CONSUMERS", LOG, "g"]) else {
        panic!()
    };
    assert_eq!(consumers.len(), 3);
    let stream = value(&mut c, &["XINFO", "STREAM", LOG]);
    assert_eq!(info_int(&stream, "groups"), 1);
    assert_eq!(info_int(&stream, "length"), 4);
    assert_eq!(info_int(&stream, "entries-added"), 4);
    let full = value(&mut c, &["XINFO", "STREAM", LOG, "FULL"]);
    assert_eq!(ids(&crate::xstream::info_field(&full, "entries")), all);

    // Consumer and group management.
    assert_eq!(
        q::<i64>(&mut c, &["XGROUP", "CREATECONSUMER", LOG, "g", "dave"]),
        1
    );
    assert_eq!(
        q::<i64>(&mut c, &["XGROUP", "DELCONSUMER", LOG, "g", "carol"]),
        3
    );
    assert_eq!(pending_summary(&mut c).0, 0);
    assert_eq!(
        q::<String>(&mut c, &["XGROUP", "SETID", LOG, "g", "0"]),
        "OK"
    );
    assert_eq!(info_int(&first_group(&mut c), "lag"), 4);
    assert_eq!(read_group(&mut c, "dave", &[], ">").len(), 4);
    assert_eq!(q::<i64>(&mut c, &["XGROUP", "DESTROY", LOG, "g"]), 1);
    assert!(error(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "x", "STREAMS", LOG, ">"]
    )
    .starts_with("NOGROUP No such key '__stream__:Orders' or consumer group 'g'"));
    assert!(error(&mut c, &["XPENDING", LOG, "g"]).starts_with("NOGROUP"));
    assert!(error(&mut c, &["XINFO", "CONSUMERS", LOG, "g"]).starts_with("NOGROUP"));
}

#[test]
fn client_writes_to_change_logs_are_refused() {
    let server = TestServer::start();
    let mut c = server.client();
    create_streamed_table(&mut c);
    put(&mut c, "a", 1);
    let refused = "ERR __stream__ keys are change logs only the server writes: XADD, XDEL, XTRIM and XSETID are not allowed on them";
    let id = ids(&value(&mut c, &["XRANGE", LOG, "-", "+"])).remove(0);
    assert_eq!(error(&mut c, &["XADD", LOG, "*", "f", "v"]), refused);
    assert_eq!(error(&mut c, &["XDEL", LOG, &id]), refused);
    assert_eq!(error(&mut c, &["XTRIM", LOG, "MAXLEN", "0"]), refused);
    assert_eq!(error(&mut c, &["XSETID", LOG, "99-0"]), refused);
    assert_eq!(q::<i64>(&mut c, &["XLEN", LOG]), 1);
}

#[test]
fn the_keyspace_change_log_takes_groups_too() {
    let server = TestServer::start();
    let mut c = server.client();
    let log = "__stream__:__keyspace@0__";
    let _: () = q(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let _: () = q(&mut c, &["XGROUP", "CREATE", log, "g", "$"]);
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let reply = value(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "w", "STREAMS", log, ">"],
    );
    let delivered = crate::xstream::xread_reply(&reply);
    assert_eq!(delivered.len(), 1);
    assert!(!delivered[0].1.is_empty());
    let (count, _) = {
        let Value::Array(parts) = value(&mut c, &["XPENDING", log, "g"]) else {
            panic!()
        };
        (
            redis::from_redis_value::<i64>(parts[0].clone()).unwrap(),
            (),
        )
    };
    assert_eq!(count, delivered[0].1.len() as i64);
}

#[test]
fn a_blocked_group_reader_wakes_on_a_table_write() {
    let server = TestServer::start();
    let mut c = server.client();
    create_streamed_table(&mut c);
    let _: () = q(&mut c, &["XGROUP", "CREATE", LOG, "g", "$"]);
    let mut reader = server.client();
    let waiting = thread::spawn(move || read_group(&mut reader, "w", &["BLOCK", "10000"], ">"));
    wait_for_blocked_clients(&server.url(), 1);
    put(&mut c, "a", 7);
    let delivered = waiting.join().unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].1.as_ref().unwrap().v, 7);
}

#[test]
fn blocked_readers_never_miss_a_record_written_while_they_block() {
    // Many short blocking reads racing with writes: each read either gets a record or
    // times out, and every record is delivered exactly once in the end.
    let server = TestServer::start();
    let mut c = server.client();
    create_streamed_table(&mut c);
    let _: () = q(&mut c, &["XGROUP", "CREATE", LOG, "g", "$"]);
    let done = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let readers: Vec<_> = (0..2)
        .map(|n| {
            let (done, seen) = (done.clone(), seen.clone());
            let mut con = server.client();
            thread::spawn(move || {
                let name = format!("r{n}");
                loop {
                    let got = read_group(&mut con, &name, &["BLOCK", "50"], ">");
                    let empty = got.is_empty();
                    seen.lock().unwrap().extend(delivered_ids(&got));
                    if empty && done.load(Ordering::SeqCst) {
                        return;
                    }
                }
            })
        })
        .collect();
    for i in 0..200 {
        put(&mut c, &format!("k{}", i % 7), i);
    }
    thread::sleep(Duration::from_millis(200));
    done.store(true, Ordering::SeqCst);
    for r in readers {
        r.join().unwrap();
    }
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_by_key(|id| parse_id(id));
    assert_eq!(seen, ids(&value(&mut c, &["XRANGE", LOG, "-", "+"])));
}

fn parse_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap();
    (ms.parse().unwrap(), seq.parse().unwrap())
}

#[test]
fn group_state_survives_kill9_under_appendfsync_always() {
    let mut server = TestServer::start_with(&["--appendfsync", "always"]);
    let mut c = server.client();
    create_streamed_table(&mut c);
    let _: () = q(&mut c, &["XGROUP", "CREATE", LOG, "g", "0"]);
    for i in 0..5 {
        put(&mut c, &format!("k{i}"), i);
    }
    let all = ids(&value(&mut c, &["XRANGE", LOG, "-", "+"]));
    let delivered = read_group(&mut c, "w1", &["COUNT", "3"], ">");
    assert_eq!(delivered_ids(&delivered), all[..3]);
    assert_eq!(q::<i64>(&mut c, &["XACK", LOG, "g", &all[0]]), 1);
    let before = value(&mut c, &["XINFO", "STREAM", LOG, "FULL"]);

    server.kill9();
    server.restart();
    let mut c = server.client();
    assert_eq!(value(&mut c, &["XINFO", "STREAM", LOG, "FULL"]), before);
    // Acknowledged stays acknowledged; delivered-but-unacked stays pending.
    assert_eq!(
        pending_summary(&mut c),
        (2, vec![("w1".into(), "2".into())])
    );
    assert_eq!(
        delivered_ids(&read_group(&mut c, "w1", &[], "0")),
        all[1..3]
    );
    assert_eq!(delivered_ids(&read_group(&mut c, "w2", &[], ">")), all[3..]);
    assert_eq!(info_int(&first_group(&mut c), "lag"), 0);
    // New records after the restart continue the IDs and the group's count.
    put(&mut c, "late", 9);
    let group = first_group(&mut c);
    assert_eq!(info_int(&group, "lag"), 1);
    assert_eq!(info_int(&group, "entries-read"), 5);
}

#[test]
fn records_aging_out_drop_from_pending_and_are_skipped() {
    let mut server = TestServer::start_with(&["--changelog-retention", "1"]);
    let mut c = server.client();
    create_streamed_table(&mut c);
    let _: () = q(&mut c, &["XGROUP", "CREATE", LOG, "g", "0"]);
    for i in 0..3 {
        put(&mut c, &format!("k{i}"), i);
    }
    let all = ids(&value(&mut c, &["XRANGE", LOG, "-", "+"]));
    assert_eq!(read_group(&mut c, "w1", &["COUNT", "2"], ">").len(), 2);
    // The trimmer runs every 10 s: wait until every record aged out.
    assert!(eventually(25, || q::<i64>(&mut c, &["XLEN", LOG]) == 0));
    // A pending record that aged out comes back without fields from a history read...
    let history = read_group(&mut c, "w1", &[], "0");
    assert_eq!(delivered_ids(&history), all[..2]);
    assert!(history.iter().all(|(_, change)| change.is_none()));
    // ...and XAUTOCLAIM drops it from the PEL, listing it as deleted.
    let Value::Array(auto) = value(&mut c, &["XAUTOCLAIM", LOG, "g", "w2", "0", "0-0"]) else {
        panic!()
    };
    let deleted: Vec<String> = redis::from_redis_value(auto[2].clone()).unwrap();
    assert_eq!(deleted, all[..2]);
    assert_eq!(pending_summary(&mut c).0, 0);
    // The undelivered record that aged out is skipped, and the group's lag counts it
    // until the group reads past it.
    assert_eq!(info_int(&first_group(&mut c), "lag"), 1);
    put(&mut c, "fresh", 1);
    let next = read_group(&mut c, "w1", &[], ">");
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].1.as_ref().unwrap().pk, "fresh");
    assert_eq!(info_int(&first_group(&mut c), "lag"), 0);
    // The count of records added survives a restart even though none is kept.
    let added = info_int(&value(&mut c, &["XINFO", "STREAM", LOG]), "entries-added");
    assert_eq!(added, 4);
    server.stop();
    server.restart();
    let mut c = server.client();
    let stream = value(&mut c, &["XINFO", "STREAM", LOG]);
    assert_eq!(info_int(&stream, "entries-added"), 4);
    assert_eq!(info_int(&first_group(&mut c), "lag"), 0);
}

#[test]
fn group_lag_and_pending_are_exported_as_metrics() {
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let server = TestServer::start_with(&["--metrics-addr", &metrics_addr]);
    let mut c = server.client();
    create_streamed_table(&mut c);
    let _: () = q(&mut c, &["XGROUP", "CREATE", LOG, "g", "0"]);
    for i in 0..5 {
        put(&mut c, &format!("k{i}"), i);
    }
    read_group(&mut c, "w", &["COUNT", "2"], ">");
    let labels = r#"{stream="Orders",db="0",group="g"}"#;
    let gauge = |name: &str| -> Option<f64> {
        let body = http_get(&metrics_addr, "/metrics")?;
        let series = format!("{name}{labels} ");
        body.lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .and_then(|v| v.trim().parse().ok())
    };
    assert!(eventually(5, || gauge("redyn_changelog_group_lag")
        == Some(3.0)
        && gauge("redyn_changelog_group_pending") == Some(2.0)));
}

/// One item's changes keyed by stream ID: (event, v).
type ChangesById = BTreeMap<(u64, u64), (String, u64)>;

/// What the workers of the end-to-end test share: every change processed (with repeats),
/// and a replica of the table built by applying changes in ID order per item.
#[derive(Default)]
struct Processed {
    log: Vec<(String, Change)>,
    /// Per item: the newest change applied (`None` once deleted).
    replica: HashMap<String, (String, Option<u64>)>,
}

impl Processed {
    fn apply(&mut self, worker: &str, change: Change) {
        self.log.push((worker.to_string(), change.clone()));
        let newer = self
            .replica
            .get(&change.pk)
            .is_none_or(|(id, _)| parse_id(id) < parse_id(&change.id));
        if newer {
            let state = (change.event != "REMOVE").then_some(change.v);
            self.replica.insert(change.pk.clone(), (change.id, state));
        }
    }
}

/// One worker: XREADGROUP a batch, process it, XACK it; claims what dead workers left
/// pending with XAUTOCLAIM. `die_after_first_batch` makes it read one batch and vanish
/// without acking; it then returns the IDs it left pending.
fn worker(
    mut con: redis::Connection,
    name: String,
    processed: Arc<Mutex<Processed>>,
    stop: Arc<AtomicBool>,
    die_after_first_batch: bool,
) -> Vec<String> {
    let mut claim_cursor = "0-0".to_string();
    loop {
        let batch = read_group(&mut con, &name, &["COUNT", "5", "BLOCK", "50"], ">");
        if die_after_first_batch && !batch.is_empty() {
            // Killed mid-way: the connection drops with the batch delivered, not acked.
            return delivered_ids(&batch);
        }
        let mut handled = batch;
        let Value::Array(auto) = value(
            &mut con,
            &[
                "XAUTOCLAIM",
                LOG,
                "g",
                &name,
                "300",
                &claim_cursor,
                "COUNT",
                "20",
            ],
        ) else {
            panic!("bad XAUTOCLAIM reply")
        };
        claim_cursor = redis::from_redis_value(auto[0].clone()).unwrap();
        handled.extend(changes(&auto[1]));
        if handled.is_empty() && stop.load(Ordering::SeqCst) {
            return Vec::new();
        }
        let mut ack = vec!["XACK".to_string(), LOG.into(), "g".into()];
        for (id, change) in handled {
            processed
                .lock()
                .unwrap()
                .apply(&name, change.expect("records do not age out here"));
            ack.push(id);
        }
        if ack.len() > 3 {
            let args: Vec<&str> = ack.iter().map(String::as_str).collect();
            let _: i64 = q(&mut con, &args);
        }
    }
}

#[test]
fn three_workers_process_every_table_change_at_least_once_and_in_order_per_item() {
    let server = TestServer::start();
    let mut c = server.client();
    create_streamed_table(&mut c);
    let _: () = q(&mut c, &["XGROUP", "CREATE", LOG, "g", "$"]);
    let processed = Arc::new(Mutex::new(Processed::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3)
        .map(|n| {
            let (con, processed, stop) = (server.client(), processed.clone(), stop.clone());
            // Worker 2 dies after its first batch.
            thread::spawn(move || worker(con, format!("w{n}"), processed, stop, n == 2))
        })
        .collect();

    // The writer: per item a put, updates, and (for half the items) a delete, interleaved
    // across items. `expected` is each item's changes in write order.
    let mut expected: BTreeMap<String, Vec<(&str, u64)>> = BTreeMap::new();
    for round in 0..6u64 {
        for item in 0..12 {
            let pk = format!("item{item}");
            let changes = expected.entry(pk.clone()).or_default();
            match round {
                0 => {
                    put(&mut c, &pk, 0);
                    changes.push(("INSERT", 0));
                }
                5 if item % 2 == 0 => {
                    delete(&mut c, &pk);
                    changes.push(("REMOVE", 4));
                }
                5 => {}
                v => {
                    update(&mut c, &pk, v);
                    changes.push(("MODIFY", v));
                }
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    let total: usize = expected.values().map(Vec::len).sum();
    let deadline = Instant::now() + Duration::from_secs(30);
    while pending_summary(&mut c).0 > 0 || info_int(&first_group(&mut c), "lag") > 0 {
        assert!(Instant::now() < deadline, "the group did not drain");
        thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::SeqCst);
    let left_pending: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("worker panicked"))
        .collect();

    let processed = processed.lock().unwrap();
    // Every change processed at least once (some of the dead worker's batch twice at most).
    let unique: BTreeSet<&str> = processed.log.iter().map(|(_, ch)| ch.id.as_str()).collect();
    assert_eq!(unique.len(), total);
    assert_eq!(q::<i64>(&mut c, &["XLEN", LOG]), total as i64);
    // The dead worker left records pending, and live workers claimed and processed them.
    assert!(!left_pending.is_empty(), "worker w2 never got a batch");
    for id in &left_pending {
        assert!(
            unique.contains(id.as_str()),
            "{id} left by w2 was never processed"
        );
    }
    // Per item, the records in ID order are exactly the item's writes in order.
    let mut per_item: BTreeMap<String, ChangesById> = BTreeMap::new();
    for (_, ch) in &processed.log {
        per_item
            .entry(ch.pk.clone())
            .or_default()
            .insert(parse_id(&ch.id), (ch.event.clone(), ch.v));
    }
    for (pk, writes) in &expected {
        let seen: Vec<(&str, u64)> = per_item[pk]
            .values()
            .map(|(event, v)| (event.as_str(), *v))
            .collect();
        assert_eq!(&seen, writes, "changes of {pk}");
    }
    // Applying changes newest-wins by ID gives the table's final state.
    for (pk, writes) in &expected {
        let (event, v) = *writes.last().unwrap();
        let want = (event != "REMOVE").then_some(v);
        assert_eq!(processed.replica[pk].1, want, "replica of {pk}");
    }
    let Value::Array(consumers) = value(&mut c, &["XINFO", "CONSUMERS", LOG, "g"]) else {
        panic!()
    };
    assert_eq!(consumers.len(), 3);
}
