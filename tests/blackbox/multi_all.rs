//! Every registered command inside MULTI … EXEC: none may hang the transaction or the
//! server. The command list comes from the server itself (`COMMAND`), so a newly added
//! command is covered automatically (with generic arguments until it gets a sample here).
//!
//! Each command runs on a fresh connection (so SELECT, HELLO, SUBSCRIBE… cannot leak into the
//! next one) over a small fixture, with a 10 s read timeout on every reply; after each EXEC a
//! second, long-lived client must still get its PING answered.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use redis::Value;

use crate::inproc::InProcServer;

/// Commands not run, and why: they end the connection or the server, or exist to stall it.
const SKIPPED: &[(&str, &str)] = &[
    ("shutdown", "stops the server"),
    ("quit", "closes the connection"),
    (
        "reset",
        "resets the connection, ending the transaction it would be tested in",
    ),
    ("monitor", "turns the connection into a command feed"),
    (
        "debug",
        "DEBUG SLEEP and friends stall the server on purpose",
    ),
];

/// Commands whose sample fails inside EXEC by design, and why.
const EXPECTED_ERRORS: &[(&str, &str)] = &[
    (
        "cluster",
        "a server without cluster support answers every CLUSTER call with an error (as Redis)",
    ),
    (
        "auth",
        "no password is configured, so AUTH answers an error (as in Redis)",
    ),
    (
        "subscribe",
        "redyn refuses to enter subscribe mode inside a transaction",
    ),
    (
        "psubscribe",
        "redyn refuses to enter subscribe mode inside a transaction",
    ),
    (
        "ssubscribe",
        "refused inside a transaction (Redis 7 refuses it too)",
    ),
];

/// The fixture each command runs against (keys of every type the samples use).
const FIXTURE: &[&[&str]] = &[
    &[
        "DEL", "k1", "k2", "k3", "k4", "h1", "z1", "z2", "dst", "empty", "x1",
    ],
    &["MSET", "k1", "1", "k2", "2"],
    &["SCRIPT", "LOAD", "return 1"],
    &[
        "FUNCTION",
        "LOAD",
        "REPLACE",
        "#!lua name=multilib\nredis.register_function{function_name='f1', callback=function() return 1 end, flags={'no-writes'}}",
    ],
    &["HSET", "h1", "f", "1", "g", "2"],
    &["ZADD", "z1", "1", "a", "2", "b"],
    &["ZADD", "z2", "1", "a", "3", "c"],
    &["RPUSH", "l1", "a", "b", "c"],
    &["SADD", "s1", "a", "b"],
    &["SADD", "s2", "b", "c"],
    &["PFADD", "p1", "a"],
    &["XADD", "x1", "1-1", "f", "v"],
    &["XGROUP", "CREATE", "x1", "g", "0"],
];

const STREAM: &str = "__stream__:events";
const TABLE: &str = "Tab";

/// Plausible arguments per command (after the name). Blocking commands wait on an empty key
/// with no timeout: inside MULTI they must answer at once anyway.
fn sample(name: &str) -> Option<Vec<String>> {
    let args: &[&str] = match name {
        "append" => &["k1", "x"],
        // Bitmaps and LCS.
        "setbit" => &["k3", "7", "1"],
        "getbit" => &["k1", "0"],
        "bitcount" => &["k1", "0", "-1", "BIT"],
        "bitpos" => &["k1", "1"],
        "bitop" => &["AND", "k3", "k1", "k2"],
        "bitfield" => &["k1", "INCRBY", "u8", "0", "1"],
        "bitfield_ro" => &["k1", "GET", "u8", "0"],
        "lcs" => &["k1", "k2"],
        // HyperLogLogs (`p1` is the fixture's).
        "pfadd" => &["p1", "b"],
        "pfcount" => &["p1"],
        "pfmerge" => &["p2", "p1"],
        "pfdebug" => &["ENCODING", "p1"],
        // Lists and sets (blocking forms wait on an empty key with no timeout).
        "lpush" | "rpush" | "lpushx" | "rpushx" => &["l1", "x"],
        "lpop" | "rpop" | "llen" => &["l1"],
        "lindex" => &["l1", "0"],
        "lset" => &["l1", "0", "x"],
        "lrange" | "ltrim" => &["l1", "0", "-1"],
        "lrem" => &["l1", "0", "a"],
        "linsert" => &["l1", "BEFORE", "b", "x"],
        "lpos" => &["l1", "b"],
        "sort" | "sort_ro" => &["l1", "ALPHA"],
        "lmove" => &["l1", "l2", "LEFT", "RIGHT"],
        "rpoplpush" => &["l1", "l2"],
        "lmpop" => &["1", "l1", "LEFT"],
        "blpop" | "brpop" => &["empty", "0"],
        "blmove" => &["empty", "l2", "LEFT", "RIGHT", "0"],
        "brpoplpush" => &["empty", "l2", "0"],
        "blmpop" => &["0", "1", "empty", "LEFT"],
        "sadd" | "srem" | "sismember" | "smismember" => &["s1", "a"],
        "smembers" | "scard" | "spop" | "srandmember" => &["s1"],
        "smove" => &["s1", "s2", "a"],
        "sinter" | "sunion" | "sdiff" => &["s1", "s2"],
        "sinterstore" | "sunionstore" | "sdiffstore" => &["s3", "s1", "s2"],
        "sintercard" => &["2", "s1", "s2"],
        "sscan" => &["s1", "0"],
        "auth" => &["secret"],
        "bgsave" | "dbsize" | "flushall" | "flushdb" | "lastsave" | "ping" | "randomkey"
        | "save" | "time" | "unwatch" | "multi" | "exec" | "discard" => &[],
        "bzmpop" => &["0", "1", "empty", "MIN"],
        "bzpopmax" | "bzpopmin" => &["empty", "0"],
        "client" => &["ID"],
        "latency" => &["LATEST"],
        "eval" | "eval_ro" => &["return redis.call('GET', KEYS[1])", "1", "k1"],
        // The SHA1 of "return 1", loaded by the fixture.
        "evalsha" | "evalsha_ro" => &["e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
        "script" => &["EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"],
        "fcall" | "fcall_ro" => &["f1", "0"],
        "function" => &["LIST"],
        "memory" => &["USAGE", "k1"],
        "slowlog" => &["GET"],
        "wait" => &["0", "0"],
        "role" | "readonly" | "readwrite" => &[],
        "command" => &["COUNT"],
        "config" => &["GET", "maxclients"],
        "copy" | "rename" | "renamenx" => &["k1", "k3"],
        "dump" => &["k1"],
        // DUMP of the string "v11553", one whose checksum bytes happen to be printable.
        "restore" => &["k3", "0", "\x00\x06v11553\n\x008\"O#7k.$", "REPLACE"],
        "decr" | "incr" | "exists" | "touch" | "ttl" | "pttl" | "type" | "unlink" | "get"
        | "getdel" | "strlen" | "persist" | "expiretime" | "pexpiretime" => &["k1"],
        "decrby" | "incrby" => &["k1", "2"],
        "incrbyfloat" => &["k1", "0.5"],
        "del" | "mget" => &["k1", "k2"],
        "echo" => &["hello"],
        "expire" => &["k1", "100"],
        "pexpire" => &["k1", "100000"],
        "expireat" => &["k1", "4000000000"],
        "pexpireat" => &["k1", "4000000000000"],
        "getex" => &["k1", "EX", "100"],
        "getrange" | "substr" => &["k1", "0", "-1"],
        "getset" => &["k1", "2"],
        "set" => &["k1", "v"],
        "setnx" => &["k3", "v"],
        "setex" => &["k1", "100", "v"],
        "psetex" => &["k1", "100000", "v"],
        "setrange" => &["k1", "0", "x"],
        "mset" => &["k1", "1", "k2", "2"],
        "msetnx" => &["k3", "1", "k4", "2"],
        "move" => &["k1", "1"],
        "object" => &["ENCODING", "k1"],
        "keys" => &["*"],
        "scan" => &["0"],
        "select" => &["1"],
        "info" => &["server"],
        "hello" => &["3"],
        "watch" => &["k1"],
        "hdel" | "hexists" | "hget" | "hstrlen" => &["h1", "f"],
        "hgetall" | "hkeys" | "hlen" | "hvals" | "hrandfield" => &["h1"],
        "hincrby" => &["h1", "f", "1"],
        "hincrbyfloat" => &["h1", "f", "1.5"],
        "hmget" => &["h1", "f", "g"],
        "hmset" | "hset" => &["h1", "f", "3"],
        "hsetnx" => &["h1", "n", "1"],
        "hscan" => &["h1", "0"],
        "zscan" => &["z1", "0"],
        "subscribe" | "ssubscribe" => &["news"],
        "psubscribe" => &["news.*"],
        "unsubscribe" | "sunsubscribe" | "punsubscribe" => &[],
        "publish" | "spublish" => &["news", "hello"],
        "pubsub" => &["CHANNELS"],
        "xlen" => &[STREAM],
        "xinfo" => &["STREAM", STREAM],
        "xrange" => &[STREAM, "-", "+"],
        "xrevrange" => &[STREAM, "+", "-"],
        "xread" => &["BLOCK", "0", "STREAMS", STREAM, "$"],
        "xadd" => &["x1", "*", "f", "v"],
        "xack" => &["x1", "g", "1-1"],
        "xdel" => &["x1", "1-1"],
        "xtrim" => &["x1", "MAXLEN", "100"],
        "xsetid" => &["x1", "5-0"],
        "xgroup" => &["CREATECONSUMER", "x1", "g", "c9"],
        "xreadgroup" => &["GROUP", "g", "c1", "STREAMS", "x1", ">"],
        "xpending" => &["x1", "g"],
        "xclaim" => &["x1", "g", "c1", "0", "1-1"],
        "xautoclaim" => &["x1", "g", "c1", "0", "0-0"],
        "zadd" => &["z1", "3", "c"],
        "acl" => &["WHOAMI"],
        "geoadd" => &["z2", "13.361389", "38.115556", "Palermo"],
        "geodist" => &["z1", "a", "b"],
        "geohash" | "geopos" => &["z1", "a"],
        "georadius" | "georadius_ro" => &["z1", "15", "37", "200", "km"],
        "georadiusbymember" | "georadiusbymember_ro" => &["z1", "a", "100", "km"],
        "geosearch" => &["z1", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
        "geosearchstore" => &[
            "dst",
            "z1",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "200",
            "km",
        ],
        "zcard" | "zpopmax" | "zpopmin" | "zrandmember" => &["z1"],
        "zcount" | "zrangebyscore" => &["z1", "-inf", "+inf"],
        "zrevrangebyscore" => &["z1", "+inf", "-inf"],
        "zlexcount" | "zrangebylex" | "zremrangebylex" => &["z1", "-", "+"],
        "zrevrangebylex" => &["z1", "+", "-"],
        "zdiff" | "zinter" | "zunion" | "zintercard" => &["2", "z1", "z2"],
        "zdiffstore" | "zinterstore" | "zunionstore" => &["dst", "2", "z1", "z2"],
        "zincrby" => &["z1", "1", "a"],
        "zmpop" => &["1", "z1", "MIN"],
        "zmscore" => &["z1", "a", "b"],
        "zrange" | "zrevrange" => &["z1", "0", "-1"],
        "zrangestore" => &["dst", "z1", "0", "-1"],
        "zrank" | "zrevrank" | "zrem" | "zscore" => &["z1", "a"],
        "zremrangebyrank" => &["z1", "0", "0"],
        "zremrangebyscore" => &["z1", "0", "1"],
        "cluster" => &["INFO"],
        _ => return table_sample(name).map(|body| vec![body.to_string()]),
    };
    Some(args.iter().map(|a| a.to_string()).collect())
}

/// The JSON request of each table command, against table `Tab` (hash key `id`).
fn table_sample(name: &str) -> Option<serde_json::Value> {
    use serde_json::json;
    let key = json!({"id": {"S": "a"}});
    Some(match name {
        "ddb.createtable" => json!({"TableName": TABLE,
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}),
        "ddb.describetable" | "ddb.deletetable" | "ddb.scan" | "ddb.describetimetolive" => {
            json!({"TableName": TABLE})
        }
        "ddb.listtables" => json!({}),
        "ddb.putitem" => json!({"TableName": TABLE, "Item": {"id": {"S": "a"}, "n": {"N": "1"}}}),
        "ddb.getitem" | "ddb.deleteitem" => json!({"TableName": TABLE, "Key": key}),
        "ddb.updateitem" => json!({"TableName": TABLE, "Key": key,
            "UpdateExpression": "SET n = :v",
            "ExpressionAttributeValues": {":v": {"N": "2"}}}),
        "ddb.query" => json!({"TableName": TABLE,
            "KeyConditionExpression": "id = :id",
            "ExpressionAttributeValues": {":id": {"S": "a"}}}),
        "ddb.batchgetitem" => json!({"RequestItems": {TABLE: {"Keys": [key]}}}),
        "ddb.batchwriteitem" => json!({"RequestItems": {TABLE: [
            {"PutRequest": {"Item": {"id": {"S": "b"}}}}]}}),
        "ddb.transactgetitems" => json!({"TransactItems": [
            {"Get": {"TableName": TABLE, "Key": key}}]}),
        "ddb.transactwriteitems" => json!({"TransactItems": [
            {"Put": {"TableName": TABLE, "Item": {"id": {"S": "c"}}}}]}),
        "ddb.updatetimetolive" => json!({"TableName": TABLE,
            "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "expires"}}),
        _ => return None,
    })
}

/// Arguments for a command without a sample: keys `k1`, `k2`… where the command takes keys,
/// `1` elsewhere, as many as its arity demands.
fn generic_args(arity: i64, first_key: i64) -> Vec<String> {
    let needed = (arity.unsigned_abs() as usize).saturating_sub(1);
    (1..=needed)
        .map(|position| {
            if first_key > 0 && position as i64 >= first_key {
                format!("k{position}")
            } else {
                "1".to_string()
            }
        })
        .collect()
}

/// A registered command as `COMMAND` describes it.
struct Registered {
    name: String,
    arity: i64,
    first_key: i64,
}

fn registered_commands(server: &InProcServer) -> Vec<Registered> {
    let mut con = server.client();
    let Value::Array(entries) = crate::harness::value(&mut con, &["COMMAND"]) else {
        panic!("COMMAND answers an array");
    };
    entries
        .into_iter()
        .map(|entry| {
            let Value::Array(fields) = entry else {
                panic!("COMMAND entry is an array");
            };
            let text = |v: &Value| match v {
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                Value::SimpleString(s) => s.clone(),
                other => panic!("command name {other:?}"),
            };
            let int = |v: &Value| match v {
                Value::Int(i) => *i,
                other => panic!("integer field {other:?}"),
            };
            Registered {
                name: text(&fields[0]),
                arity: int(&fields[1]),
                first_key: int(&fields[3]),
            }
        })
        .collect()
}

fn arity_ok(arity: i64, argc: usize) -> bool {
    let argc = argc as i64;
    if arity >= 0 {
        argc == arity
    } else {
        argc >= -arity
    }
}

/// A raw connection that reads whole RESP2/RESP3 replies, failing after 10 s of silence.
struct Conn {
    stream: TcpStream,
    parser: redis::Parser,
}

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        Conn {
            stream,
            parser: redis::Parser::new(),
        }
    }

    /// Sends a command and reads its reply; `Err` if none came (a hang) or it was garbled.
    fn try_call<S: AsRef<str>>(&mut self, args: &[S]) -> Result<Value, String> {
        let mut cmd = redis::cmd(args[0].as_ref());
        for arg in &args[1..] {
            cmd.arg(arg.as_ref());
        }
        self.stream
            .write_all(&cmd.get_packed_command())
            .map_err(|e| format!("write failed: {e}"))?;
        self.parser
            .parse_value(&mut self.stream)
            .map_err(|e| format!("no reply within 10s or a bad one: {e}"))
    }

    fn call<S: AsRef<str>>(&mut self, args: &[S]) -> Value {
        self.try_call(args).unwrap_or_else(|e| {
            let args: Vec<&str> = args.iter().map(|a| a.as_ref()).collect();
            panic!("{args:?}: {e}")
        })
    }
}

fn is_error(value: &Value) -> bool {
    matches!(value, Value::ServerError(_))
}

/// Runs `args` inside MULTI … EXEC on a fresh connection and checks the outcome.
fn check_in_multi(server: &InProcServer, prober: &mut Conn, args: &[String]) {
    let name = args[0].to_ascii_lowercase();
    let mut con = Conn::open(server.addr);
    for setup in FIXTURE {
        assert!(!is_error(&con.call(setup)), "fixture {setup:?}");
    }
    assert_eq!(con.call(&["MULTI"]), Value::Okay);
    let queued = con.call(args);
    let exec = con
        .try_call(&["EXEC"])
        .unwrap_or_else(|e| panic!("EXEC of MULTI {args:?}: {e}"));
    assert_eq!(
        prober.call(&["PING"]),
        Value::SimpleString("PONG".into()),
        "another client is answered after {args:?} in EXEC"
    );
    if queued != Value::SimpleString("QUEUED".into()) {
        // Refused at queue time (or a transaction-control command that runs at once):
        // EXEC answers whatever follows from that, but it answers.
        return;
    }
    let replies = match exec {
        Value::Array(replies) => replies,
        other => panic!("EXEC of {args:?} answered {other:?}"),
    };
    assert_eq!(replies.len(), 1, "EXEC of {args:?}: {replies:?}");
    let expected_error = EXPECTED_ERRORS.iter().any(|(n, _)| *n == name);
    assert_eq!(
        is_error(&replies[0]),
        expected_error,
        "{args:?} inside EXEC answered {:?}",
        replies[0]
    );
}

/// Runs every registered command that `include` selects, in `order`.
fn check_commands(
    server: &InProcServer,
    include: impl Fn(&str) -> bool,
    first: &[&str],
    last: &[&str],
) {
    let mut commands: Vec<Registered> = registered_commands(server)
        .into_iter()
        .filter(|c| include(&c.name))
        .filter(|c| !SKIPPED.iter().any(|(skipped, _)| *skipped == c.name))
        .collect();
    assert!(!commands.is_empty());
    let rank = |name: &str| {
        if let Some(i) = first.iter().position(|f| *f == name) {
            (0, i)
        } else if let Some(i) = last.iter().position(|l| *l == name) {
            (2, i)
        } else {
            (1, 0)
        }
    };
    commands.sort_by(|a, b| (rank(&a.name), &a.name).cmp(&(rank(&b.name), &b.name)));
    let mut prober = Conn::open(server.addr);
    for command in &commands {
        let args =
            sample(&command.name).unwrap_or_else(|| generic_args(command.arity, command.first_key));
        let mut full = vec![command.name.to_uppercase()];
        full.extend(args);
        assert!(
            arity_ok(command.arity, full.len()),
            "sample for {} does not fit its arity {}",
            command.name,
            command.arity
        );
        check_in_multi(server, &mut prober, &full);
    }
}

#[test]
fn every_redis_command_answers_inside_multi_exec() {
    let server = InProcServer::start();
    check_commands(&server, |name| !name.starts_with("ddb."), &[], &[]);
}

#[test]
fn every_table_command_answers_inside_multi_exec() {
    let server = InProcServer::start();
    check_commands(
        &server,
        |name| name.starts_with("ddb."),
        &["ddb.createtable", "ddb.putitem"],
        &["ddb.deletetable"],
    );
}
