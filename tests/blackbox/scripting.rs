//! Lua scripting and functions: EVAL/EVALSHA/EVAL_RO, SCRIPT, FUNCTION, FCALL, the
//! Lua↔RESP conversions, the sandbox, errors, SCRIPT KILL and BUSY, persistence of
//! function libraries.

use std::time::Duration;

use redis::Value;

use crate::harness::{error, eventually, info_number, q, value, TestServer};

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

#[test]
fn eval_returns_converted_values() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(
        q::<String>(&mut c, &["EVAL", "return 'hello'", "0"]),
        "hello"
    );
    assert_eq!(q::<i64>(&mut c, &["EVAL", "return 100.5", "0"]), 100);
    assert_eq!(q::<i64>(&mut c, &["EVAL", "return true", "0"]), 1);
    assert_eq!(value(&mut c, &["EVAL", "return false", "0"]), Value::Nil);
    assert_eq!(
        value(&mut c, &["EVAL", "return {ok='fine'}", "0"]),
        Value::SimpleString("fine".into())
    );
    assert_eq!(
        error(
            &mut c,
            &["EVAL", "return {err='ERR this is an error'}", "0"]
        ),
        "ERR this is an error"
    );
    assert_eq!(
        value(&mut c, &["EVAL", "return {1,2,3,'ciao',{1,2},nil,5}", "0"]),
        Value::Array(vec![
            Value::Int(1),
            Value::Int(2),
            Value::Int(3),
            bulk("ciao"),
            Value::Array(vec![Value::Int(1), Value::Int(2)]),
        ])
    );
    assert_eq!(
        value(
            &mut c,
            &[
                "EVAL",
                "return {KEYS[1],KEYS[2],ARGV[1]}",
                "2",
                "a",
                "b",
                "c"
            ]
        ),
        Value::Array(vec![bulk("a"), bulk("b"), bulk("c")])
    );
    assert_eq!(
        value(&mut c, &["EVAL", "return _G", "0"]),
        Value::Array(vec![])
    );
}

#[test]
fn redis_call_converts_replies_and_reports_errors() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["SET", "x", "0"]);
    assert_eq!(
        value(
            &mut c,
            &[
                "EVAL",
                "local v = redis.pcall('incr', KEYS[1]) return {type(v), v}",
                "1",
                "x"
            ]
        ),
        Value::Array(vec![bulk("number"), Value::Int(1)])
    );
    assert_eq!(
        value(
            &mut c,
            &[
                "EVAL",
                "local v = redis.call('get', 'nokey') return {type(v), v == false}",
                "0"
            ]
        ),
        Value::Array(vec![bulk("boolean"), Value::Int(1)])
    );
    assert_eq!(
        value(
            &mut c,
            &["EVAL", "return redis.call('set', 'k', 'v')['ok']", "0"]
        ),
        bulk("OK")
    );
    let _: () = q(&mut c, &["SET", "str", "v"]);
    assert_eq!(
        value(
            &mut c,
            &["EVAL", "return redis.pcall('incr', 'str')['err']", "0"]
        ),
        bulk("ERR value is not an integer or out of range")
    );
    let e = error(
        &mut c,
        &["EVAL", "redis.call('lpush', KEYS[1], 'v')", "1", "str"],
    );
    assert!(
        e.starts_with("WRONGTYPE Operation against a key holding the wrong kind of value script: "),
        "{e}"
    );
    assert!(e.ends_with(", on @user_script:1."), "{e}");
    assert!(error(&mut c, &["EVAL", "redis.call('nosuch')", "0"])
        .starts_with("ERR Unknown Redis command called from script"));
    assert!(error(&mut c, &["EVAL", "redis.call('get','a','b')", "0"])
        .starts_with("ERR Wrong number of args calling Redis command from script"));
    assert!(error(&mut c, &["EVAL", "redis.call()", "0"])
        .starts_with("ERR Please specify at least one argument for this redis lib call"));
    assert!(error(&mut c, &["EVAL", "redis.call({})", "0"])
        .starts_with("ERR Lua redis lib command arguments must be strings or integers"));
    assert_eq!(
        error(&mut c, &["EVAL", "return redis.pcall('blpop','x',0)", "0"]),
        "ERR This Redis command is not allowed from script"
    );
    assert_eq!(
        error(
            &mut c,
            &["EVAL", "return redis.error_reply('MY code')", "0"]
        ),
        "MY code"
    );
    assert_eq!(
        error(&mut c, &["EVAL", "return redis.error_reply('bare')", "0"]),
        "ERR bare"
    );
    assert_eq!(
        value(&mut c, &["EVAL", "return redis.status_reply('FINE')", "0"]),
        Value::SimpleString("FINE".into())
    );
    assert_eq!(
        q::<String>(
            &mut c,
            &["EVAL", "return redis.sha1hex('Pizza & Mandolino')", "0"]
        ),
        "74822d82031af7493c20eefa13bd07ec4fada82f"
    );
    let e = error(&mut c, &["EVAL", "syntax error here", "0"]);
    assert!(
        e.starts_with("ERR Error compiling script (new function): user_script:1:"),
        "{e}"
    );
    assert!(error(&mut c, &["EVAL", "error('boom')", "0"])
        .starts_with("ERR user_script:1: boom script: "));
}

#[test]
fn numkeys_errors() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(
        error(&mut c, &["EVAL", "return 1", "-1"]),
        "ERR Number of keys can't be negative"
    );
    assert_eq!(
        error(&mut c, &["EVAL", "return 1", "3", "a"]),
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(
        error(&mut c, &["EVAL", "return 1", "x"]),
        "ERR value is not an integer or out of range"
    );
}

#[test]
fn evalsha_and_script_commands() {
    let server = TestServer::start();
    let mut c = server.client();
    let sha: String = q(&mut c, &["SCRIPT", "LOAD", "return 'loaded'"]);
    assert_eq!(sha, "b534286061d4b9e4026607613b95c06c06015ae8");
    assert_eq!(q::<String>(&mut c, &["EVALSHA", &sha, "0"]), "loaded");
    assert_eq!(
        q::<String>(&mut c, &["EVALSHA", &sha.to_uppercase(), "0"]),
        "loaded"
    );
    assert_eq!(
        q::<Vec<i64>>(
            &mut c,
            &[
                "SCRIPT",
                "EXISTS",
                &sha,
                "ffffffffffffffffffffffffffffffffffffffff"
            ]
        ),
        vec![1, 0]
    );
    assert_eq!(q::<String>(&mut c, &["SCRIPT", "FLUSH", "ASYNC"]), "OK");
    assert_eq!(
        error(&mut c, &["EVALSHA", &sha, "0"]),
        "NOSCRIPT No matching script. Please use EVAL."
    );
    assert_eq!(
        error(&mut c, &["SCRIPT", "FLUSH", "bad"]),
        "ERR SCRIPT FLUSH only support SYNC|ASYNC option"
    );
    assert_eq!(
        error(&mut c, &["SCRIPT", "KILL"]),
        "NOTBUSY No scripts in execution right now."
    );
    assert!(q::<Vec<String>>(&mut c, &["SCRIPT", "HELP"]).len() > 5);
    // EVAL caches the script too.
    let _: i64 = q(&mut c, &["EVAL", "return 1+1", "0"]);
    assert_eq!(
        q::<Vec<i64>>(
            &mut c,
            &[
                "SCRIPT",
                "EXISTS",
                "a27e7e8a43702b7046d4f6a7ccf5b60cef6b9bd9"
            ]
        ),
        vec![1]
    );
}

#[test]
fn read_only_scripts_and_shebang_flags() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["SET", "foo", "bar"]);
    assert_eq!(
        q::<String>(
            &mut c,
            &["EVAL_RO", "return redis.call('get', KEYS[1])", "1", "foo"]
        ),
        "bar"
    );
    assert!(error(
        &mut c,
        &["EVAL_RO", "redis.call('del', KEYS[1])", "1", "foo"]
    )
    .starts_with("ERR Write commands are not allowed from read-only scripts."));
    assert!(error(
        &mut c,
        &[
            "EVAL",
            "#!lua flags=no-writes\nredis.call('del', 'foo')",
            "0"
        ]
    )
    .starts_with("ERR Write commands are not allowed from read-only scripts."));
    assert_eq!(q::<i64>(&mut c, &["EVAL", "#!lua\nreturn 7", "0"]), 7);
    assert_eq!(
        error(&mut c, &["EVAL", "#!lua flags=foo\nreturn 1", "0"]),
        "ERR Unexpected flag in script shebang: foo"
    );
    assert_eq!(
        error(&mut c, &["EVAL", "#!lua name=x\nreturn 1", "0"]),
        "ERR Unknown lua shebang option: name=x"
    );
    let sha: String = q(
        &mut c,
        &["SCRIPT", "LOAD", "return redis.call('get', KEYS[1])"],
    );
    assert_eq!(
        q::<String>(&mut c, &["EVALSHA_RO", &sha, "1", "foo"]),
        "bar"
    );
}

#[test]
fn sandbox_protects_globals() {
    let server = TestServer::start();
    let mut c = server.client();
    assert!(error(&mut c, &["EVAL", "return a", "0"])
        .contains("Script attempted to access nonexistent global variable 'a'"));
    for script in [
        "a=10",
        "setmetatable(_G, {})",
        "local g = getmetatable(_G) g.__index = {}",
        "redis = 1",
        "_G = {}",
        "redis.call = 1",
        "cjson.encode = 1",
        "bit.lshift = 1",
        "cmsgpack.pack = 1",
    ] {
        let e = error(&mut c, &["EVAL", script, "0"]);
        assert!(
            e.contains("Attempt to modify a readonly table"),
            "{script}: {e}"
        );
    }
    for name in ["loadfile", "dofile", "print", "os", "io", "require"] {
        let e = error(&mut c, &["EVAL", &format!("return {name}"), "0"]);
        assert!(
            e.contains(&format!("nonexistent global variable '{name}'")),
            "{e}"
        );
    }
    assert!(error(
        &mut c,
        &[
            "EVAL",
            "return loadstring(string.dump(function() return 1 end))()",
            "0"
        ]
    )
    .contains("attempt to call a nil value"));
}

#[test]
fn libraries_cjson_cmsgpack_bit() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(
        q::<String>(
            &mut c,
            &[
                "EVAL",
                "return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')",
                "0"
            ]
        ),
        "0 -5000 -1 0.0003 1023.2 0"
    );
    assert_eq!(
        q::<String>(&mut c, &["EVAL", "return cjson.encode({1,2,'a'})", "0"]),
        "[1,2,\"a\"]"
    );
    assert_eq!(
        q::<String>(&mut c, &["EVAL", "return cjson.encode({k='v'})", "0"]),
        "{\"k\":\"v\"}"
    );
    let hex = "local e = cmsgpack.pack(ARGV[1] == 'f' and 0.1 or -1099511627776) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h";
    assert_eq!(
        q::<String>(&mut c, &["EVAL", hex, "0", "f"]),
        "cb3fb999999999999a"
    );
    assert_eq!(
        q::<String>(&mut c, &["EVAL", hex, "0", "i"]),
        "d3ffffff0000000000"
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "EVAL",
                "local t = cmsgpack.unpack(cmsgpack.pack({'a','b'})) return t",
                "0"
            ]
        ),
        vec!["a", "b"]
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &["EVAL", "return bit.bor(1,2,4,8,16,32,64,128)", "0"]
        ),
        255
    );
    assert_eq!(
        q::<String>(&mut c, &["EVAL", "return bit.tohex(255, 4)", "0"]),
        "00ff"
    );
}

#[test]
fn resp3_conversions_under_setresp() {
    let server = TestServer::start();
    let mut c = server.client_resp3();
    let _: i64 = q(&mut c, &["HSET", "h", "f", "v"]);
    assert_eq!(
        value(
            &mut c,
            &[
                "EVAL",
                "redis.setresp(3) return redis.call('hgetall', KEYS[1])",
                "1",
                "h"
            ]
        ),
        Value::Map(vec![(bulk("f"), bulk("v"))])
    );
    assert_eq!(
        value(
            &mut c,
            &[
                "EVAL",
                "redis.setresp(2) return redis.call('hgetall', KEYS[1])",
                "1",
                "h"
            ]
        ),
        Value::Array(vec![bulk("f"), bulk("v")])
    );
    assert_eq!(
        value(&mut c, &["EVAL", "redis.setresp(3) return true", "0"]),
        Value::Boolean(true)
    );
    assert_eq!(
        value(&mut c, &["EVAL", "return {double=3.5}", "0"]),
        Value::Double(3.5)
    );
    assert!(error(&mut c, &["EVAL", "redis.setresp(4)", "0"])
        .starts_with("ERR RESP version must be 2 or 3."));
}

#[test]
fn script_writes_are_atomic_and_select_stays_local() {
    let server = TestServer::start();
    let mut c = server.client();
    let script = "local c = tonumber(redis.call('get', KEYS[1]) or '0') if c > tonumber(ARGV[1]) then return redis.call('decr', KEYS[1]) end return c";
    let _: () = q(&mut c, &["SET", "n", "5"]);
    let got: Vec<i64> = (0..4)
        .map(|_| q(&mut c, &["EVAL", script, "1", "n", "2"]))
        .collect();
    assert_eq!(got, vec![4, 3, 2, 2]);
    let _: () = q(&mut c, &["SET", "k", "db0"]);
    let _: () = q(
        &mut c,
        &[
            "EVAL",
            "redis.call('select', 3) redis.call('set', 'k', 'db3')",
            "0",
        ],
    );
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "db0");
    let _: () = q(&mut c, &["SELECT", "3"]);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "db3");
}

#[test]
fn function_load_fcall_list_delete() {
    let server = TestServer::start();
    let mut c = server.client();
    let lib = "#!lua name=mylib\nredis.register_function('f1', function(keys, args) return redis.call('set', keys[1], args[1]) end)\nredis.register_function{function_name='f2', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reader'}";
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "LOAD", lib]), "mylib");
    assert_eq!(
        error(&mut c, &["FUNCTION", "LOAD", lib]),
        "ERR Library 'mylib' already exists"
    );
    assert_eq!(
        q::<String>(&mut c, &["FUNCTION", "LOAD", "REPLACE", lib]),
        "mylib"
    );
    assert_eq!(q::<String>(&mut c, &["FCALL", "f1", "1", "k", "v"]), "OK");
    assert_eq!(q::<String>(&mut c, &["FCALL_RO", "f2", "1", "k"]), "v");
    assert_eq!(
        error(&mut c, &["FCALL_RO", "f1", "1", "k", "v"]),
        "ERR Can not execute a script with write flag using *_ro command."
    );
    assert_eq!(
        error(&mut c, &["FCALL", "nosuch", "0"]),
        "ERR Function not found"
    );
    let list = value(&mut c, &["FUNCTION", "LIST", "WITHCODE"]);
    let text = format!("{list:?}");
    assert!(
        text.contains("mylib")
            && text.contains("reader")
            && text.contains("no-writes")
            && text.contains("register_function"),
        "{text}"
    );
    assert_eq!(
        value(&mut c, &["FUNCTION", "LIST", "LIBRARYNAME", "nomatch*"]),
        Value::Array(vec![])
    );
    assert_eq!(
        error(&mut c, &["FUNCTION", "LIST", "bad"]),
        "ERR Unknown argument bad"
    );
    assert_eq!(
        error(&mut c, &["FUNCTION", "LIST", "LIBRARYNAME"]),
        "ERR library name argument was not given"
    );
    assert_eq!(
        error(&mut c, &["FUNCTION", "LOAD", "return 1"]),
        "ERR Missing library metadata"
    );
    assert_eq!(
        error(&mut c, &["FUNCTION", "LOAD", "#!bad name=x\n"]),
        "ERR Engine 'bad' not found"
    );
    assert_eq!(
        error(&mut c, &["FUNCTION", "LOAD", "#!lua name=x\nreturn 1"]),
        "ERR No functions registered"
    );
    assert!(error(
        &mut c,
        &["FUNCTION", "LOAD", "#!lua name=x\nredis.call('ping')"]
    )
    .contains("nonexistent global variable 'call'"));
    assert!(error(
        &mut c,
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=x\nredis.register_function('f1', function() end)"
        ]
    )
    .contains("Function f1 already exists"));
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "DELETE", "mylib"]), "OK");
    assert_eq!(
        error(&mut c, &["FUNCTION", "DELETE", "mylib"]),
        "ERR Library not found"
    );
    assert_eq!(
        error(&mut c, &["FUNCTION", "FLUSH", "bad"]),
        "ERR FUNCTION FLUSH only supports SYNC|ASYNC option"
    );
    assert_eq!(
        error(&mut c, &["FUNCTION", "KILL"]),
        "NOTBUSY No scripts in execution right now."
    );
}

#[test]
fn function_dump_restore_and_stats() {
    let server = TestServer::start();
    let mut c = server.client();
    let lib = "#!lua name=lib1\nredis.register_function('hello', function() return 'hello' end)";
    let _: String = q(&mut c, &["FUNCTION", "LOAD", lib]);
    let payload: Vec<u8> = redis::cmd("FUNCTION").arg("DUMP").query(&mut c).unwrap();
    let _: () = q(&mut c, &["FUNCTION", "FLUSH"]);
    let restored: String = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&payload)
        .query(&mut c)
        .unwrap();
    assert_eq!(restored, "OK");
    assert_eq!(q::<String>(&mut c, &["FCALL", "hello", "0"]), "hello");
    let again: redis::RedisResult<String> = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&payload)
        .query(&mut c);
    assert!(again
        .unwrap_err()
        .to_string()
        .contains("Library lib1 already exists"));
    let replaced: String = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&payload)
        .arg("REPLACE")
        .query(&mut c)
        .unwrap();
    assert_eq!(replaced, "OK");
    assert_eq!(
        error(&mut c, &["FUNCTION", "RESTORE", "bad"]),
        "ERR DUMP payload version or checksum are wrong"
    );
    let stats: Vec<Value> = q(&mut c, &["FUNCTION", "STATS"]);
    assert_eq!(stats[0], bulk("running_script"));
    assert_eq!(stats[1], Value::Nil);
    assert_eq!(
        stats[3],
        Value::Array(vec![
            bulk("LUA"),
            Value::Array(vec![
                bulk("libraries_count"),
                Value::Int(1),
                bulk("functions_count"),
                Value::Int(1)
            ])
        ])
    );
}

#[test]
fn functions_survive_restart_and_script_cache_does_not() {
    let mut server = TestServer::start();
    let mut c = server.client();
    let _: String = q(
        &mut c,
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=keep\nredis.register_function('kept', function() return 42 end)",
        ],
    );
    let sha: String = q(&mut c, &["SCRIPT", "LOAD", "return 1"]);
    drop(c);
    assert_eq!(server.stop(), Some(0));
    server.restart();
    let mut c = server.client();
    assert_eq!(q::<i64>(&mut c, &["FCALL", "kept", "0"]), 42);
    assert_eq!(q::<Vec<i64>>(&mut c, &["SCRIPT", "EXISTS", &sha]), vec![0]);
}

#[test]
fn busy_script_can_be_killed() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["CONFIG", "SET", "busy-reply-threshold", "10"]);
    let url = server.url();
    let runner = std::thread::spawn(move || {
        let mut r = redis::Client::open(url).unwrap().get_connection().unwrap();
        redis::cmd("EVAL")
            .arg("while true do end")
            .arg(0)
            .query::<()>(&mut r)
            .unwrap_err()
            .to_string()
    });
    assert!(eventually(5, || error_or_pong(&mut c).starts_with("BUSY")));
    assert_eq!(
        error(&mut c, &["FUNCTION", "KILL"]).split(' ').next(),
        Some("BUSY")
    );
    assert_eq!(q::<String>(&mut c, &["SCRIPT", "KILL"]), "OK");
    let err = runner.join().unwrap();
    assert!(err.contains("killed by user"), "{err}");
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    std::thread::sleep(Duration::from_millis(10));
}

/// Commands sent while a script runs but before it is busy wait for it; they, and the
/// once-a-second metrics sampler, must not take the runtime's only worker thread while they
/// wait, or SCRIPT KILL could never be served (the conformance suite wedged this way).
#[test]
fn commands_waiting_for_a_script_leave_room_for_script_kill() {
    let server = TestServer::start();
    let mut c = server.client();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _: () = q(&mut c, &["CONFIG", "SET", "busy-reply-threshold", "1500"]);
    let url = server.url();
    let connect = move || {
        let con = redis::Client::open(url.clone())
            .unwrap()
            .get_connection()
            .unwrap();
        con.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        con
    };
    let mut runner_con = connect();
    let runner = std::thread::spawn(move || {
        redis::cmd("EVAL")
            .arg("while true do end")
            .arg(0)
            .query::<()>(&mut runner_con)
            .unwrap_err()
            .to_string()
    });
    let script_runs = |c: &mut redis::Connection| {
        let stats: redis::Value = redis::cmd("FUNCTION").arg("STATS").query(c).unwrap();
        !matches!(&stats, redis::Value::Array(v) if v.get(1) == Some(&redis::Value::Nil))
    };
    assert!(eventually(5, || script_runs(&mut c)));
    // Two readers arrive before the busy threshold: they wait for the script.
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let mut con = connect();
            std::thread::spawn(move || redis::cmd("GET").arg("k").query::<Option<String>>(&mut con))
        })
        .collect();
    // Past the threshold and past a metrics sample or two, the server still answers.
    std::thread::sleep(Duration::from_millis(2000));
    assert!(error_or_pong(&mut c).starts_with("BUSY"));
    assert_eq!(q::<String>(&mut c, &["SCRIPT", "KILL"]), "OK");
    let err = runner.join().unwrap();
    assert!(err.contains("killed by user"), "{err}");
    for reader in readers {
        match reader.join().unwrap() {
            Ok(v) => assert_eq!(v, None),
            Err(e) => assert!(e.to_string().contains("BUSY"), "{e}"),
        }
    }
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

#[test]
fn script_that_wrote_is_unkillable() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["CONFIG", "SET", "lua-time-limit", "10"]);
    let url = server.url();
    let _runner = std::thread::spawn(move || {
        let mut r = redis::Client::open(url).unwrap().get_connection().unwrap();
        let _ = redis::cmd("EVAL")
            .arg("redis.call('set','x','y') local i = 0 while i < 3e8 do i = i + 1 end")
            .arg(0)
            .query::<()>(&mut r);
    });
    assert!(eventually(5, || error_or_pong(&mut c).starts_with("BUSY")));
    assert!(error(&mut c, &["SCRIPT", "KILL"]).starts_with("UNKILLABLE"));
}

fn error_or_pong(c: &mut redis::Connection) -> String {
    match redis::cmd("PING").query::<String>(c) {
        Ok(s) => s,
        Err(e) => crate::harness::error_text(&e),
    }
}

#[test]
fn cmsgpack_round_trips_tables_of_100000_entries() {
    let server = TestServer::start();
    let mut c = server.client();
    let script = "
        local array, map = {}, {}
        for i = 1, 100000 do array[i] = i; map[tostring(i)] = i end
        local decoded = cmsgpack.unpack(cmsgpack.pack({a = array, m = map}))
        local count = 0
        for _ in pairs(decoded.m) do count = count + 1 end
        return {#decoded.a, count, decoded.a[100000], decoded.m['77777']}";
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["EVAL", script, "0"]),
        vec![100000, 100000, 100000, 77777]
    );
}

#[test]
fn redis_call_takes_thousands_of_arguments() {
    let server = TestServer::start();
    let mut c = server.client();
    let script = "local a = {} for i = 1, 7999 do a[i] = i end
                  return redis.call('lpush', 'l', unpack(a))";
    assert_eq!(q::<i64>(&mut c, &["EVAL", script, "0"]), 7999);
    assert_eq!(q::<i64>(&mut c, &["LLEN", "l"]), 7999);
}

#[test]
fn scripts_cannot_block_on_stream_reads() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let run = |c: &mut redis::Connection, call: &str| {
        error(
            c,
            &["EVAL", &format!("return redis.pcall({call})"), "1", "s"],
        )
    };
    assert_eq!(
        run(&mut c, "'xread','BLOCK',0,'STREAMS','s','$'"),
        "ERR xread command is not allowed with BLOCK option from scripts"
    );
    assert_eq!(
        run(
            &mut c,
            "'xreadgroup','group','g','c','BLOCK',0,'STREAMS','s','>'"
        ),
        "ERR xreadgroup command is not allowed with BLOCK option from scripts"
    );
    // Without BLOCK they read nothing, as they would outside a script.
    let script = "return redis.pcall('xreadgroup','group','g','block','STREAMS','s','>')";
    assert_eq!(value(&mut c, &["EVAL", script, "1", "s"]), Value::Nil);
}

#[test]
fn library_metadata_errors_follow_redis_order() {
    let server = TestServer::start();
    let mut c = server.client();
    let body = "\nredis.register_function('foo', function() return 1 end)";
    let load = |c: &mut redis::Connection, shebang: &str| {
        error(
            c,
            &["FUNCTION", "LOAD", "REPLACE", &format!("{shebang}{body}")],
        )
    };
    assert_eq!(load(&mut c, "#! name=test"), "ERR Engine '' not found");
    assert_eq!(
        load(&mut c, "#!bad name=bad-name"),
        "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
    );
    assert_eq!(
        error(&mut c, &["FUNCTION", "LOAD", "#!lua name=nonewline"]),
        "ERR Invalid library metadata"
    );
    assert_eq!(
        q::<String>(
            &mut c,
            &["FUNCTION", "LOAD", &format!("#!lua name=\"quoted\"{body}")]
        ),
        "quoted"
    );
}

#[test]
fn library_registration_errors() {
    let server = TestServer::start();
    let mut c = server.client();
    let twice = "#!lua name=lib2
        redis.register_function('f1', function() return 1 end)
        redis.register_function('f1', function() return 1 end)";
    assert_eq!(
        error(&mut c, &["FUNCTION", "LOAD", twice]),
        "ERR Error registering functions: ERR Function already exists in the library"
    );
    // The load-time environment holds only `redis`: no math, string, or getmetatable.
    for global in ["math", "string", "getmetatable", "type"] {
        let code = format!("#!lua name=lib3\nlocal x = {global}\nredis.register_function('f', function() return 1 end)");
        assert_eq!(
            error(&mut c, &["FUNCTION", "LOAD", &code]),
            format!("ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable '{global}'")
        );
    }
    // A function that kept the load-time API cannot register functions when called.
    let sneaky = "#!lua name=lib1
        local lib = redis
        lib.register_function('f2', function()
            lib.register_function('f1', function() return 1 end)
        end)";
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "LOAD", sneaky]), "lib1");
    assert_eq!(
        error(&mut c, &["FCALL", "f2", "0"]),
        "ERR redis.register_function can only be called on FUNCTION LOAD command script: f2, on @user_function:4."
    );
}

#[test]
fn lua_memory_stays_small_across_many_loads_and_runs() {
    let server = TestServer::start();
    let mut c = server.client();
    for _ in 0..2000 {
        let code = "#!lua name=test\nredis.register_function('test', function(KEYS) return redis.call('incr', KEYS[1]) end)";
        let _: String = q(&mut c, &["FUNCTION", "LOAD", "REPLACE", code]);
        let _: i64 = q(&mut c, &["FCALL", "test", "1", "x"]);
        let _: i64 = q(
            &mut c,
            &["EVAL", "return redis.call('incr', KEYS[1])", "1", "x"],
        );
    }
    let used = info_number(&mut c, "memory", "used_memory_lua");
    assert!(used < 100 * 1024, "used_memory_lua {used}");
}

#[test]
fn eval_shebang_errors_follow_redis() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(
        error(&mut c, &["EVAL", "#!not-lua\nreturn 1", "0"]),
        "ERR Unexpected engine in script shebang: #!not-lua"
    );
    assert_eq!(
        error(&mut c, &["SCRIPT", "LOAD", "#!LUA\nreturn 1"]),
        "ERR Unexpected engine in script shebang: #!LUA"
    );
    assert_eq!(
        error(&mut c, &["EVAL", "#!lua", "0"]),
        "ERR Invalid script shebang"
    );
    assert_eq!(
        error(&mut c, &["EVAL", "#!lua badger=data\nreturn 1", "0"]),
        "ERR Unknown lua shebang option: badger=data"
    );
    assert_eq!(
        q::<i64>(&mut c, &["EVAL", "#!lua flags=\nreturn 1", "0"]),
        1
    );
}

#[test]
fn acl_check_cmd_allows_known_commands_for_the_default_user() {
    let server = TestServer::start();
    let mut c = server.client();
    let script = "return redis.acl_check_cmd('set','xx',1)";
    assert_eq!(q::<i64>(&mut c, &["EVAL", script, "1", "xx"]), 1);
    let script = "return {pcall(redis.acl_check_cmd, 'hset', 'h', 'f', 'v')}";
    assert_eq!(q::<Vec<i64>>(&mut c, &["EVAL", script, "0"]), vec![1, 1]);
    let err = error(
        &mut c,
        &[
            "EVAL",
            "return redis.acl_check_cmd('invalid-cmd','arg')",
            "0",
        ],
    );
    assert!(
        err.starts_with("ERR Invalid command passed to redis.acl_check_cmd()"),
        "{err}"
    );
    let err = error(&mut c, &["EVAL", "return redis.acl_check_cmd()", "0"]);
    assert!(
        err.starts_with("ERR Please specify at least one argument for this redis lib call"),
        "{err}"
    );
}
