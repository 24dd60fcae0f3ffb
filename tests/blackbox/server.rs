//! Server commands: INFO, COMMAND, CONFIG, DBSIZE, FLUSHDB, FLUSHALL, TIME, LASTSAVE, SHUTDOWN.

use std::collections::HashMap;

use redis::Value;

use crate::harness::{error, q, TestServer};

fn info_fields(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn info_sections_use_redis_field_names() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["SET", "a", "1"]);
    let _: () = q(&mut c, &["SET", "b", "1", "EX", "100"]);
    let all: String = q(&mut c, &["INFO"]);
    for section in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Keyspace",
    ] {
        assert!(all.contains(section), "missing {section}");
    }
    assert!(
        !all.contains("# Commandstats"),
        "commandstats is not a default section"
    );
    let f = info_fields(&all);
    assert_eq!(f["redis_version"], "7.2.0");
    assert_eq!(f["tcp_port"], server.addr.port().to_string());
    assert_eq!(f["connected_clients"], "1");
    assert_eq!(f["aof_enabled"], "1");
    assert!(f["used_memory"].parse::<u64>().unwrap() > 0);
    assert!(f["total_commands_processed"].parse::<u64>().unwrap() >= 3);
    assert!(all.contains("db0:keys=2,"), "{all}");
    let stats: String = q(&mut c, &["INFO", "commandstats"]);
    assert!(stats.starts_with("# Commandstats"));
    assert!(stats.contains("cmdstat_set:calls=2,"), "{stats}");
    let two: String = q(&mut c, &["INFO", "server", "clients"]);
    assert!(two.contains("# Server") && two.contains("# Clients") && !two.contains("# Memory"));
}

#[test]
fn command_table_introspection() {
    let server = TestServer::start();
    let mut c = server.client();
    let count: i64 = q(&mut c, &["COMMAND", "COUNT"]);
    assert!(count > 80, "{count}");
    let all: Vec<Value> = q(&mut c, &["COMMAND"]);
    assert_eq!(all.len() as i64, count);
    let info: Vec<Value> = q(&mut c, &["COMMAND", "INFO", "get", "nosuch"]);
    let Value::Array(get) = &info[0] else {
        panic!("{info:?}")
    };
    assert_eq!(get[0], Value::BulkString(b"get".to_vec()));
    assert_eq!(get[1], Value::Int(2));
    assert_eq!(
        (&get[3], &get[4], &get[5]),
        (&Value::Int(1), &Value::Int(1), &Value::Int(1))
    );
    assert_eq!(info[1], Value::Nil);
    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]);
    assert_eq!(keys, vec!["a", "b"]);
    assert_eq!(
        error(&mut c, &["COMMAND", "GETKEYS", "PING", "x"]),
        "ERR The command has no key arguments"
    );
    let docs: HashMap<String, Value> = q(&mut c, &["COMMAND", "DOCS", "hset"]);
    assert!(docs.contains_key("hset"));
}

#[test]
fn config_get_set() {
    let server = TestServer::start();
    let mut c = server.client();
    let got: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "appendfsync"]);
    assert_eq!(got["appendfsync"], "everysec");
    let many: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "append*", "save"]);
    assert_eq!(many["appendonly"], "yes");
    assert_eq!(many["save"], "");
    assert!(many.contains_key("appendfsync"));
    let ports: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "port"]);
    assert_eq!(ports["port"], server.addr.port().to_string());
    assert_eq!(
        q::<String>(&mut c, &["CONFIG", "SET", "appendfsync", "always"]),
        "OK"
    );
    let got: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "appendfsync"]);
    assert_eq!(got["appendfsync"], "always");
    let info: String = q(&mut c, &["INFO", "persistence"]);
    assert!(info.contains("appendfsync:always"));
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "save", ""]), "OK");
    assert_eq!(
        error(&mut c, &["CONFIG", "SET", "nosuch", "1"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    );
    assert_eq!(
        error(&mut c, &["CONFIG", "SET", "appendfsync", "sometimes"]),
        "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: always, everysec, no"
    );
    assert_eq!(
        error(&mut c, &["CONFIG", "SET", "databases", "1"]),
        "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
    );
    assert_eq!(q::<String>(&mut c, &["CONFIG", "RESETSTAT"]), "OK");
    assert_eq!(
        error(&mut c, &["CONFIG", "REWRITE"]),
        "ERR The server is running without a config file"
    );
}

#[test]
fn dbsize_flushdb_flushall_time_lastsave() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["MSET", "a", "1", "b", "2"]);
    let _: i64 = q(&mut c, &["HSET", "h", "f", "v"]);
    let _: () = q(&mut c, &["SELECT", "1"]);
    let _: () = q(&mut c, &["SET", "other", "1"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1);
    let _: () = q(&mut c, &["SELECT", "0"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 3);
    assert_eq!(q::<String>(&mut c, &["FLUSHDB"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HLEN", "h"]), 0);
    let _: () = q(&mut c, &["SELECT", "1"]);
    assert_eq!(
        q::<i64>(&mut c, &["DBSIZE"]),
        1,
        "FLUSHDB only flushes the current db"
    );
    assert_eq!(q::<String>(&mut c, &["FLUSHALL", "SYNC"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(error(&mut c, &["FLUSHALL", "NOW"]), "ERR syntax error");
    let (secs, micros): (String, String) = q(&mut c, &["TIME"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.parse::<u64>().unwrap().abs_diff(now) < 5);
    assert!(micros.parse::<u64>().unwrap() < 1_000_000);
    assert!(q::<i64>(&mut c, &["LASTSAVE"]) > 0);
    assert_eq!(q::<String>(&mut c, &["SAVE"]), "OK");
}

#[test]
fn shutdown_flushes_and_exits_zero() {
    let mut server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["SET", "kept", "yes"]);
    assert!(
        redis::cmd("SHUTDOWN").query::<Value>(&mut c).is_err(),
        "SHUTDOWN closes without a reply"
    );
    assert_eq!(server.wait_exit(), Some(0));
    server.restart();
    let mut c = server.client();
    assert_eq!(q::<String>(&mut c, &["GET", "kept"]), "yes");
}
