//! CONFIG GET/SET against the settings table: every documented setting, Redis's error texts,
//! all-or-nothing multi-pair SET, compatibility settings, flags, and live effect.

use std::collections::HashMap;

use crate::harness::{error, eventually, info_number, q, TestServer};

fn get(c: &mut redis::Connection, name: &str) -> String {
    let mut got: HashMap<String, String> = q(c, &["CONFIG", "GET", name]);
    got.remove(name)
        .unwrap_or_else(|| panic!("CONFIG GET {name} answered nothing"))
}

fn set(c: &mut redis::Connection, name: &str, value: &str) {
    let reply: String = q(c, &["CONFIG", "SET", name, value]);
    assert_eq!(reply, "OK", "CONFIG SET {name} {value}");
}

/// `(setting, value to set, what CONFIG GET then reports)` for every setting the README
/// documents as changeable at runtime.
const DOCUMENTED_MUTABLE: &[(&str, &str, &str)] = &[
    ("acl-pubsub-default", "allchannels", "allchannels"),
    ("appendfsync", "always", "always"),
    ("requirepass", "secret", "secret"),
    ("maxclients", "500", "500"),
    ("notify-keyspace-events", "KEA", "AKE"),
    ("proto-max-bulk-len", "2mb", "2097152"),
    (
        "client-output-buffer-limit",
        "pubsub 4mb 1mb 10",
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 4194304 1048576 10",
    ),
    ("changelog-retention", "100", "100"),
    ("timeout", "30", "30"),
    ("loglevel", "warning", "warning"),
    ("shard-split-ops", "5000", "5000"),
    ("shard-merge-ops", "10", "10"),
    ("shard-scale-window", "5", "5"),
    ("shard-scale-cooldown", "7.5", "7.5"),
    ("shards-min", "2", "2"),
    ("shards-max", "8", "8"),
    ("appendonly", "no", "no"),
    ("save", "900 1", "900 1"),
];

/// Settings fixed at start-up, as in Redis.
const DOCUMENTED_IMMUTABLE: &[(&str, &str)] = &[
    ("dir", "/tmp"),
    ("io-threads", "2"),
    ("shards", "8"),
    ("metrics-addr", "127.0.0.1:1"),
    ("databases", "4"),
];

#[test]
fn every_documented_setting_can_be_set_and_read_back() {
    let server = TestServer::start();
    let mut c = server.client();
    for (name, value, reported) in DOCUMENTED_MUTABLE {
        set(&mut c, name, value);
        assert_eq!(get(&mut c, name), *reported, "{name}");
    }
    for (name, value) in DOCUMENTED_IMMUTABLE {
        let before = get(&mut c, name);
        assert_eq!(
            error(&mut c, &["CONFIG", "SET", name, value]),
            format!("ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config")
        );
        assert_eq!(get(&mut c, name), before, "{name}");
    }
}

#[test]
fn changelog_retention_is_settable() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(get(&mut c, "changelog-retention"), "86400");
    set(&mut c, "changelog-retention", "100");
    assert_eq!(get(&mut c, "changelog-retention"), "100");
}

#[test]
fn invalid_values_give_redis_errors_and_keep_the_old_value() {
    let server = TestServer::start();
    let mut c = server.client();
    let cases = [
        (
            "maxclients",
            "many",
            "argument couldn't be parsed into an integer",
        ),
        (
            "appendfsync",
            "sometimes",
            "argument(s) must be one of the following: always, everysec, no",
        ),
        (
            "loglevel",
            "loud",
            "argument(s) must be one of the following: debug, verbose, notice, warning, nothing",
        ),
        (
            "timeout",
            "-1",
            "argument must be between 0 and 2147483647 inclusive",
        ),
        ("appendonly", "maybe", "argument must be 'yes' or 'no'"),
        (
            "proto-max-bulk-len",
            "lots",
            "argument must be a memory value",
        ),
        (
            "notify-keyspace-events",
            "Q",
            "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
        ),
        (
            "client-output-buffer-limit",
            "pubsub 1 2",
            "Wrong number of arguments in buffer limit configuration.",
        ),
    ];
    for (name, value, reason) in cases {
        let before = get(&mut c, name);
        assert_eq!(
            error(&mut c, &["CONFIG", "SET", name, value]),
            format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}")
        );
        assert_eq!(get(&mut c, name), before, "{name} changed");
    }
    assert_eq!(
        error(&mut c, &["CONFIG", "SET", "no-such-setting", "1"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'no-such-setting'"
    );
}

#[test]
fn multi_pair_set_is_all_or_nothing() {
    let server = TestServer::start();
    let mut c = server.client();
    let reply: String = q(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "maxclients",
            "321",
            "changelog-retention",
            "50",
        ],
    );
    assert_eq!(reply, "OK");
    assert_eq!(get(&mut c, "maxclients"), "321");
    assert_eq!(get(&mut c, "changelog-retention"), "50");
    let failures = [
        // Bad value last: the first pair must not stick.
        ["maxclients", "999", "timeout", "x"],
        // Immutable setting in the batch.
        ["maxclients", "999", "databases", "1"],
        // Unknown setting in the batch.
        ["maxclients", "999", "nosuch", "1"],
        // The same setting twice, once under its alias.
        [
            "hash-max-ziplist-value",
            "1",
            "hash-max-listpack-value",
            "2",
        ],
    ];
    for pairs in failures {
        let mut args = vec!["CONFIG", "SET"];
        args.extend(pairs);
        error(&mut c, &args);
        assert_eq!(get(&mut c, "maxclients"), "321", "{pairs:?}");
        assert_eq!(get(&mut c, "hash-max-listpack-value"), "64", "{pairs:?}");
    }
}

#[test]
fn redis_test_suite_settings_are_accepted() {
    let server = TestServer::start();
    let mut c = server.client();
    let settings = [
        ("hash-max-ziplist-value", "64"),
        ("hash-max-ziplist-entries", "512"),
        ("zset-max-ziplist-entries", "128"),
        ("zset-max-ziplist-value", "32"),
        ("list-max-ziplist-size", "-2"),
        ("set-max-intset-entries", "1024"),
        ("stream-node-max-entries", "10"),
        ("lazyfree-lazy-user-del", "yes"),
        ("maxmemory-policy", "allkeys-lru"),
        ("slowlog-log-slower-than", "-1"),
        ("latency-monitor-threshold", "200"),
        ("lua-time-limit", "10000"),
    ];
    for (name, value) in settings {
        set(&mut c, name, value);
        assert_eq!(get(&mut c, name), value, "{name}");
    }
    // An alias and its name are one setting.
    assert_eq!(get(&mut c, "hash-max-listpack-entries"), "512");
    set(&mut c, "maxmemory", "1kb");
    assert_eq!(get(&mut c, "maxmemory"), "1024");
    let listpack: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "*-max-*-entries"]);
    assert_eq!(listpack["zset-max-listpack-entries"], "128");
    assert_eq!(listpack["zset-max-ziplist-entries"], "128");
}

#[test]
fn command_line_flags_are_reported_by_config_get() {
    let server = TestServer::start_with(&[
        "--changelog-retention",
        "5",
        "--maxclients",
        "7",
        "--hash-max-ziplist-value",
        "32",
        "--list-max-listpack-size",
        "-3",
    ]);
    let mut c = server.client();
    assert_eq!(get(&mut c, "changelog-retention"), "5");
    assert_eq!(get(&mut c, "maxclients"), "7");
    assert_eq!(get(&mut c, "hash-max-listpack-value"), "32");
    assert_eq!(get(&mut c, "list-max-listpack-size"), "-3");
}

#[test]
fn maxclients_takes_effect_at_once() {
    let server = TestServer::start();
    let mut c = server.client();
    set(&mut c, "maxclients", "1");
    let mut second = server.raw();
    second.send(b"*1\r\n$4\r\nPING\r\n");
    assert_eq!(second.read_line(), "-ERR max number of clients reached\r\n");
    set(&mut c, "maxclients", "10");
    let mut third = server.client();
    assert_eq!(q::<String>(&mut third, &["PING"]), "PONG");
}

#[test]
fn autoscaler_settings_take_effect_at_once() {
    let server = TestServer::start();
    let mut c = server.client();
    let merges = |c: &mut redis::Connection| info_number(c, "shards", "shard_merges");
    assert_eq!(merges(&mut c), 0, "autoscaling is off by default");
    // An idle server is far below this merge threshold: shards merge once enabled.
    let reply: String = q(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "shard-split-ops",
            "1000000000",
            "shard-merge-ops",
            "1000000",
            "shard-scale-window",
            "0.2",
            "shard-scale-cooldown",
            "0.2",
        ],
    );
    assert_eq!(reply, "OK");
    assert!(
        eventually(10, || merges(&mut c) > 0),
        "the autoscaler did not pick up the new settings"
    );
}

#[test]
fn config_set_port_moves_the_listener() {
    let server = TestServer::start();
    let mut c = server.client();
    let old_port = get(&mut c, "port");
    // The same value changes nothing (tools write back all of CONFIG GET *).
    set(&mut c, "port", &old_port);
    // A port in use is refused with Redis's text, and nothing changes.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    assert_eq!(
        error(&mut c, &["CONFIG", "SET", "maxmemory", "12345", "port", &busy_port]),
        "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port"
    );
    assert_eq!(get(&mut c, "port"), old_port);
    assert_ne!(get(&mut c, "maxmemory"), "12345");
    // A free port: new clients connect there; the old port closes; this connection lives on.
    let new_port = crate::harness::free_port().to_string();
    set(&mut c, "port", &new_port);
    assert_eq!(get(&mut c, "port"), new_port);
    let url = format!("redis://127.0.0.1:{new_port}/");
    let moved = eventually(10, || {
        redis::Client::open(url.as_str())
            .unwrap()
            .get_connection()
            .is_ok()
    });
    assert!(moved, "no listener on the new port");
    let closed = eventually(10, || {
        std::net::TcpStream::connect(("127.0.0.1", old_port.parse::<u16>().unwrap())).is_err()
    });
    assert!(closed, "the old port still accepts");
    let pong: String = q(&mut c, &["PING"]);
    assert_eq!(pong, "PONG");
}

#[test]
fn own_fixed_settings_accept_only_their_value() {
    let server = TestServer::start();
    let mut c = server.client();
    for name in ["shards", "metrics-addr", "dynamodb-port"] {
        let value = get(&mut c, name);
        set(&mut c, name, &value);
    }
    assert_eq!(
        error(&mut c, &["CONFIG", "SET", "shards", "7"]),
        "ERR CONFIG SET failed (possibly related to argument 'shards') - can't set immutable config"
    );
}

#[test]
fn config_rewrite_keeps_comments_and_rewrites_values_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("redyn.conf");
    std::fs::write(
        &conf,
        "# My server\nmaxclients 100\n\n# Users\nuser default on nopass ~* &* +@all\nmaxclients 200\n",
    )
    .unwrap();
    let mut server = TestServer::start_with(&[conf.to_str().unwrap()]);
    let mut c = server.client();
    assert_eq!(get(&mut c, "maxclients"), "200");
    set(&mut c, "maxclients", "321");
    set(&mut c, "maxmemory-policy", "allkeys-lru");
    let ok: String = q(&mut c, &["CONFIG", "REWRITE"]);
    assert_eq!(ok, "OK");
    let text = std::fs::read_to_string(&conf).unwrap();
    // Comments, blank lines and user lines stay; the setting's first line takes the new
    // value and its repeat goes; new settings follow Redis's signature line.
    assert!(
        text.starts_with(
            "# My server\nmaxclients 321\n\n# Users\nuser default on nopass ~* &* +@all\n# Generated by CONFIG REWRITE\n"
        ),
        "{text}"
    );
    assert!(text.contains("\nmaxmemory-policy allkeys-lru\n"), "{text}");
    assert_eq!(text.matches("maxclients").count(), 1, "{text}");
    // The server starts again from the rewritten file with the same settings.
    drop(c);
    server.stop();
    server.restart();
    let mut c = server.client();
    assert_eq!(get(&mut c, "maxclients"), "321");
    assert_eq!(get(&mut c, "maxmemory-policy"), "allkeys-lru");
}
