//! Key specs: COMMAND GETKEYS/GETKEYSANDFLAGS, COMMAND INFO's key specifications and
//! `movablekeys`, checked against the replies of real redis-server 7.0 when installed.

use redis::Value;

use crate::harness::{error, q, RealRedis, TestServer};

/// `COMMAND GETKEYSANDFLAGS` as `[(key, [flags])]`.
fn keys_and_flags(c: &mut redis::Connection, command: &[&str]) -> Vec<(String, Vec<String>)> {
    let mut args = vec!["COMMAND", "GETKEYSANDFLAGS"];
    args.extend_from_slice(command);
    q(c, &args)
}

fn pair(key: &str, flags: &[&str]) -> (String, Vec<String>) {
    (
        key.to_string(),
        flags.iter().map(|f| f.to_string()).collect(),
    )
}

#[test]
fn getkeysandflags_reports_each_keys_flags() {
    let server = TestServer::start();
    let mut c = server.client();
    // The conformance suite's cases (introspection-2).
    assert_eq!(
        keys_and_flags(&mut c, &["set", "k1", "v1"]),
        vec![pair("k1", &["OW", "update"])]
    );
    assert_eq!(
        keys_and_flags(&mut c, &["mset", "k1", "v1", "k2", "v2"]),
        vec![pair("k1", &["OW", "update"]), pair("k2", &["OW", "update"])]
    );
    assert_eq!(
        keys_and_flags(&mut c, &["LMOVE", "k1", "k2", "left", "right"]),
        vec![
            pair("k1", &["RW", "access", "delete"]),
            pair("k2", &["RW", "insert"])
        ]
    );
    assert_eq!(
        keys_and_flags(&mut c, &["sort", "k1", "store", "k2"]),
        vec![pair("k1", &["RO", "access"]), pair("k2", &["OW", "update"])]
    );
    // Flags that depend on the arguments: SET ... GET reads the old value.
    assert_eq!(
        keys_and_flags(&mut c, &["set", "k", "v", "GET"]),
        vec![pair("k", &["RW", "access", "update"])]
    );
    assert_eq!(
        keys_and_flags(&mut c, &["bitfield", "k", "GET", "u8", "0"]),
        vec![pair("k", &["RO", "access"])]
    );
    // Subcommands with keys, keyword-found keys.
    let keys: Vec<String> = q(
        &mut c,
        &["COMMAND", "GETKEYS", "xgroup", "create", "key", "g", "$"],
    );
    assert_eq!(keys, ["key"]);
    let keys: Vec<String> = q(
        &mut c,
        &[
            "COMMAND", "GETKEYS", "sort", "abc", "store", "invalid", "store", "stillbad", "store",
            "def",
        ],
    );
    assert_eq!(keys, ["abc", "def"]);
    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "eval", "return 1", "0"]);
    assert!(keys.is_empty());
    // Redis's errors, in its order.
    for (args, expected) in [
        (&["nosuch", "k"][..], "ERR Invalid command specified"),
        (&["ping", "x"], "ERR The command has no key arguments"),
        (
            &["config", "get", "x"],
            "ERR The command has no key arguments",
        ),
        (
            &["zunionstore", "d", "5", "a"],
            "ERR Invalid arguments specified for command",
        ),
    ] {
        let mut command = vec!["COMMAND", "GETKEYSANDFLAGS"];
        command.extend_from_slice(args);
        assert_eq!(error(&mut c, &command), expected, "{args:?}");
    }
    for short in [
        &["COMMAND", "GETKEYSANDFLAGS"][..],
        &["COMMAND", "GETKEYS", "get"],
    ] {
        let sub = short[1].to_ascii_lowercase();
        assert_eq!(
            error(&mut c, short),
            format!("ERR wrong number of arguments for 'command|{sub}' command")
        );
    }
}

/// GETKEYS / GETKEYSANDFLAGS requests whose replies (or errors) must equal Redis's.
const GETKEYS_CASES: &[&[&str]] = &[
    &["get", "k"],
    &["set", "k", "v", "EX", "10"],
    &["set", "k", "v", "get"],
    &["getex", "k", "PERSIST"],
    &["getdel", "k"],
    &["copy", "a", "b", "REPLACE"],
    &["rename", "a", "b"],
    &["del", "a", "b", "c"],
    &["exists", "a", "b"],
    &["touch", "a"],
    &["append", "a", "x"],
    &["incr", "a"],
    &["mset", "a", "1", "b", "2"],
    &["msetnx", "a", "1", "b", "2"],
    &["hset", "h", "f", "v"],
    &["hgetall", "h"],
    &["lpush", "l", "a"],
    &["lpop", "l"],
    &["rpoplpush", "a", "b"],
    &["blmove", "a", "b", "left", "left", "0"],
    &["lmpop", "2", "a", "b", "LEFT"],
    &["blmpop", "0", "2", "a", "b", "LEFT"],
    &["blpop", "a", "b", "0"],
    &["sadd", "s", "m"],
    &["smove", "a", "b", "m"],
    &["sunionstore", "d", "a", "b"],
    &["sintercard", "2", "a", "b", "LIMIT", "1"],
    &["zadd", "z", "1", "m"],
    &["zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"],
    &["zinter", "2", "a", "b"],
    &["zrangestore", "d", "s", "0", "-1"],
    &["zmpop", "1", "z", "MIN"],
    &["bzpopmin", "a", "b", "0"],
    &["xadd", "s", "*", "f", "v"],
    &["xread", "COUNT", "1", "STREAMS", "a", "b", "0", "0"],
    &["xreadgroup", "GROUP", "g", "c", "STREAMS", "a", "0"],
    &["xgroup", "create", "s", "g", "$"],
    &["xinfo", "stream", "s"],
    &["xgroup", "help"],
    &["memory", "stats"],
    &["config", "get", "x"],
    &["eval", "return 1", "2", "a", "b", "x"],
    &["fcall", "f", "1", "a"],
    &["sort", "k", "BY", "w_*", "GET", "store", "STORE", "d"],
    &["sort_ro", "k", "BY", "w_*"],
    &[
        "georadius",
        "g",
        "0",
        "0",
        "1",
        "km",
        "STORE",
        "a",
        "STOREDIST",
        "b",
    ],
    &[
        "geosearchstore",
        "d",
        "s",
        "FROMLONLAT",
        "0",
        "0",
        "BYRADIUS",
        "1",
        "km",
    ],
    &["bitop", "AND", "d", "a", "b"],
    &["bitfield", "k", "SET", "u8", "0", "1"],
    &["bitfield_ro", "k", "GET", "u8", "0"],
    &["pfmerge", "d", "a", "b"],
    &["pfcount", "a", "b"],
    &["object", "encoding", "k"],
    &["memory", "usage", "k"],
    &["dump", "k"],
    &["restore", "k", "0", "x"],
    &["lcs", "a", "b"],
    &["watch", "a", "b"],
    &["expire", "k", "10"],
    &["type", "k"],
    &["ttl", "k"],
    &["unlink", "a"],
    &["ping"],
    &["ping", "x"],
    &["nosuch"],
    &["nosuch", "x"],
    &["get"],
    &["get", "a", "b"],
    &["zunion", "9", "a"],
];

#[test]
fn getkeys_and_key_specs_match_real_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let mut real = real.client();
    let server = TestServer::start();
    let mut ours = server.client();
    let reply = |c: &mut redis::Connection, args: &[&str]| -> Result<Value, String> {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query::<Value>(c)
            .map_err(|e| crate::harness::error_text(&e))
    };
    for case in GETKEYS_CASES {
        for sub in ["GETKEYS", "GETKEYSANDFLAGS"] {
            let mut args = vec!["COMMAND", sub];
            args.extend_from_slice(case);
            assert_eq!(reply(&mut ours, &args), reply(&mut real, &args), "{args:?}");
        }
    }
    // COMMAND INFO: the key specifications (entry 8) and the flags' `movablekeys`, for
    // every command both servers have.
    let names: Vec<String> = q(&mut ours, &["COMMAND", "LIST"]);
    let mut compared = 0;
    for name in names.iter().filter(|n| !n.contains('|')) {
        let info = |c: &mut redis::Connection| -> Vec<Value> {
            match q::<Vec<Value>>(c, &["COMMAND", "INFO", name]).pop() {
                Some(Value::Array(fields)) => fields,
                _ => Vec::new(),
            }
        };
        let (r, o) = (info(&mut real), info(&mut ours));
        if r.is_empty() {
            continue;
        }
        compared += 1;
        assert_eq!(o[8], r[8], "{name}: key specs");
        let movable = |fields: &[Value]| format!("{:?}", fields[2]).contains("movablekeys");
        assert_eq!(movable(&o), movable(&r), "{name}: movablekeys");
    }
    assert!(compared > 150, "{compared}");
}
