//! ACL: users, rules, AUTH/HELLO, NOPERM enforcement (commands, keys, channels), ACL LOG,
//! the aclfile and config `user` lines, scripts, and the categories checked against a real
//! redis-server when one is installed.

use redis::Value;
use std::collections::{BTreeMap, BTreeSet};

use crate::harness::{ddb_result, error, eventually, q, value, RealRedis, TestServer};

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
const NOPERM_KEYS: &str =
    "NOPERM this user has no permissions to access one of the keys used as arguments";
const NOPERM_CHANNELS: &str =
    "NOPERM this user has no permissions to access one of the channels used as arguments";

/// A connection authenticated as `user`.
fn login(server: &TestServer, user: &str, password: &str) -> redis::Connection {
    let mut con = server.client();
    let reply: String = q(&mut con, &["AUTH", user, password]);
    assert_eq!(reply, "OK");
    con
}

/// GETUSER as a field → value map (RESP2 flat array).
fn getuser(con: &mut redis::Connection, name: &str) -> BTreeMap<String, Value> {
    let Value::Array(items) = value(con, &["ACL", "GETUSER", name]) else {
        panic!("GETUSER answers an array");
    };
    items
        .chunks(2)
        .map(|pair| {
            let Value::BulkString(k) = &pair[0] else {
                panic!("field name")
            };
            (String::from_utf8_lossy(k).into_owned(), pair[1].clone())
        })
        .collect()
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("not text: {other:?}"),
    }
}

#[test]
fn setuser_getuser_and_list_describe_rules_as_redis() {
    let server = TestServer::start();
    let mut c = server.client();
    let hash_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    let _: () = q(
        &mut c,
        &[
            "ACL",
            "SETUSER",
            "bob",
            "on",
            ">123",
            "+@scripting",
            "+set",
            "~x*",
            "&ch*",
            "%R~r*",
            &format!("#{hash_abc}"),
        ],
    );
    let bob = getuser(&mut c, "bob");
    assert_eq!(
        bob["flags"],
        Value::Array(vec![Value::BulkString(b"on".to_vec())])
    );
    assert_eq!(
        bob["passwords"],
        Value::Array(vec![
            Value::BulkString(
                b"a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3".to_vec()
            ),
            Value::BulkString(hash_abc.as_bytes().to_vec()),
        ])
    );
    assert_eq!(text(&bob["commands"]), "-@all +@scripting +set");
    assert_eq!(text(&bob["keys"]), "~x* %R~r*");
    assert_eq!(text(&bob["channels"]), "&ch*");
    assert_eq!(bob["selectors"], Value::Array(vec![]));
    let list: Vec<String> = q(&mut c, &["ACL", "LIST"]);
    assert_eq!(
        list,
        vec![
            format!("user bob on #a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3 #{hash_abc} ~x* %R~r* resetchannels &ch* -@all +@scripting +set"),
            "user default on nopass ~* &* +@all".to_string(),
        ]
    );
    assert_eq!(value(&mut c, &["ACL", "GETUSER", "nobody"]), Value::Nil);
    let users: Vec<String> = q(&mut c, &["ACL", "USERS"]);
    assert_eq!(users, ["bob", "default"]);
}

#[test]
fn command_rules_are_recorded_like_redis() {
    let server = TestServer::start();
    let mut c = server.client();
    let cases: &[(&[&str], &str)] = &[
        (&["-@all", "-get"], "-@all"),
        (&["+@all", "-get", "-get"], "+@all -get"),
        (&["-@all", "+get", "-get", "+set"], "-@all +set"),
        (&["-@all", "+@read", "-get", "+get"], "-@all +@read"),
        (&["+@all", "-config|get"], "+@all -config|get"),
        (&["-@all", "+config|get", "-config"], "-@all"),
        (
            &["-@all", "+config", "-config|get"],
            "-@all +config -config|get",
        ),
        (&["+@all", "-@read", "+@read"], "+@all"),
        (
            &["allcommands", "nocommands", "+select|0"],
            "-@all +select|0",
        ),
    ];
    for (rules, expected) in cases {
        let _: i64 = q(&mut c, &["ACL", "DELUSER", "t"]);
        let mut args = vec!["ACL", "SETUSER", "t"];
        args.extend_from_slice(rules);
        let _: () = q(&mut c, &args);
        assert_eq!(
            text(&getuser(&mut c, "t")["commands"]),
            *expected,
            "{rules:?}"
        );
    }
}

#[test]
fn setuser_errors_use_redis_texts() {
    let server = TestServer::start();
    let mut c = server.client();
    let cases: &[(&str, &str)] = &[
        ("+foo", "Unknown command or category name in ACL"),
        ("+config|foo", "Unknown command or category name in ACL"),
        ("+@foo", "Unknown command or category name in ACL"),
        ("-select|0", "Unknown command or category name in ACL"),
        ("bar", "Syntax error"),
        ("%X~a", "Syntax error"),
        ("#abc", "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"),
        ("!abcd", "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"),
        ("<nope", "The password you are trying to remove from the user does not exist"),
        ("+config|get|x", "Allowing first-arg of a subcommand is not supported"),
    ];
    for (rule, message) in cases {
        assert_eq!(
            error(&mut c, &["ACL", "SETUSER", "x", rule]),
            format!("ERR Error in ACL SETUSER modifier '{rule}': {message}")
        );
    }
    assert_eq!(
        error(&mut c, &["ACL", "SETUSER", "x", "allkeys", "~a"]),
        "ERR Error in ACL SETUSER modifier '~a': Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
    );
    assert_eq!(
        error(&mut c, &["ACL", "SETUSER", "x", "allchannels", "&a"]),
        "ERR Error in ACL SETUSER modifier '&a': Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
    );
    // A failed SETUSER changes nothing, not even the rules before the bad one.
    assert_eq!(value(&mut c, &["ACL", "GETUSER", "x"]), Value::Nil);
    assert_eq!(
        error(&mut c, &["ACL", "SETUSER", "a b"]),
        "ERR Usernames can't contain spaces or null characters"
    );
    assert_eq!(
        error(&mut c, &["ACL", "DELUSER", "default"]),
        "ERR The 'default' user cannot be removed"
    );
    assert_eq!(
        error(&mut c, &["ACL", "FOO"]),
        "ERR unknown subcommand 'FOO'. Try ACL HELP."
    );
    assert_eq!(
        error(&mut c, &["ACL", "SETUSER"]),
        "ERR wrong number of arguments for 'acl|setuser' command"
    );
    assert_eq!(
        error(&mut c, &["ACL", "WHOAMI", "x"]),
        "ERR wrong number of arguments for 'acl|whoami' command"
    );
}

#[test]
fn auth_with_users_and_passwords() {
    let server = TestServer::start();
    let mut admin = server.client();
    let _: () = q(
        &mut admin,
        &[
            "ACL", "SETUSER", "alice", "on", ">pw1", ">pw2", "allkeys", "+@all",
        ],
    );
    let mut c = server.client();
    assert_eq!(error(&mut c, &["AUTH", "alice", "wrong"]), WRONGPASS);
    assert_eq!(error(&mut c, &["AUTH", "nobody", "pw1"]), WRONGPASS);
    let _: () = q(&mut c, &["AUTH", "alice", "pw2"]);
    let me: String = q(&mut c, &["ACL", "WHOAMI"]);
    assert_eq!(me, "alice");
    let info: String = q(&mut c, &["CLIENT", "INFO"]);
    assert!(info.contains(" user=alice "), "{info}");
    // Removing a password, disabling the user.
    let _: () = q(&mut admin, &["ACL", "SETUSER", "alice", "<pw1", "off"]);
    assert_eq!(
        error(&mut server.client(), &["AUTH", "alice", "pw2"]),
        WRONGPASS
    );
    let _: () = q(&mut admin, &["ACL", "SETUSER", "alice", "on"]);
    assert_eq!(
        error(&mut server.client(), &["AUTH", "alice", "pw1"]),
        WRONGPASS
    );
    login(&server, "alice", "pw2");
    // AUTH <password> with a nopass default user.
    assert_eq!(
        error(&mut server.client(), &["AUTH", "x"]),
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
    // nopass accepts any password.
    let _: () = q(
        &mut admin,
        &["ACL", "SETUSER", "free", "on", "nopass", "+ping"],
    );
    login(&server, "free", "anything");
    // Hashed passwords.
    let hash = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"; // "password"
    let _: () = q(
        &mut admin,
        &["ACL", "SETUSER", "h", "on", &format!("#{hash}"), "+ping"],
    );
    login(&server, "h", "password");
    let _: () = q(&mut admin, &["ACL", "SETUSER", "h", &format!("!{hash}")]);
    assert_eq!(
        error(&mut server.client(), &["AUTH", "h", "password"]),
        WRONGPASS
    );
    // A user allowed no commands can still AUTH as another one.
    let _: () = q(&mut admin, &["ACL", "SETUSER", "default", "-@all"]);
    let mut c = server.client();
    assert_eq!(
        error(&mut c, &["GET", "k"]),
        "NOPERM this user has no permissions to run the 'get' command"
    );
    let _: () = q(&mut c, &["AUTH", "alice", "pw2"]);
    let _: Option<String> = q(&mut c, &["GET", "k"]);
}

#[test]
fn default_user_password_requires_auth_for_new_connections() {
    let server = TestServer::start();
    let mut admin = server.client();
    let _: () = q(
        &mut admin,
        &["ACL", "SETUSER", "default", "resetpass", ">secret"],
    );
    let mut c = server.client();
    assert_eq!(
        error(&mut c, &["GET", "x"]),
        "NOAUTH Authentication required."
    );
    let _: () = q(&mut c, &["AUTH", "secret"]);
    let _: Option<String> = q(&mut c, &["GET", "x"]);
    // The admin connection authenticated earlier stays authenticated.
    let _: Option<String> = q(&mut admin, &["GET", "x"]);
    let _: () = q(&mut admin, &["ACL", "SETUSER", "default", "nopass"]);
    let mut fresh = server.client();
    let _: Option<String> = q(&mut fresh, &["GET", "x"]);
}

#[test]
fn requirepass_is_the_default_users_password() {
    let server = TestServer::start_with(&["--requirepass", "foo"]);
    let mut c = server.client();
    assert_eq!(error(&mut c, &["PING"]), "NOAUTH Authentication required.");
    let _: () = q(&mut c, &["AUTH", "default", "foo"]);
    let passwords = &getuser(&mut c, "default")["passwords"];
    assert_eq!(
        passwords,
        &Value::Array(vec![Value::BulkString(
            b"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae".to_vec()
        )])
    );
    let _: () = q(&mut c, &["CONFIG", "SET", "requirepass", "bar"]);
    assert_eq!(error(&mut server.client(), &["AUTH", "foo"]), WRONGPASS);
    let mut other = server.client();
    let _: () = q(&mut other, &["AUTH", "bar"]);
    // Another CONFIG SET does not undo a password given with ACL SETUSER.
    let _: () = q(&mut c, &["ACL", "SETUSER", "default", ">extra"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "maxclients", "1000"]);
    let _: () = q(&mut server.client(), &["AUTH", "extra"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "requirepass", ""]);
    let _: String = q(&mut server.client(), &["PING"]);
}

#[test]
fn hello_auth_and_reset() {
    let server = TestServer::start();
    let mut admin = server.client();
    let _: () = q(
        &mut admin,
        &["ACL", "SETUSER", "default", "resetpass", ">dpw"],
    );
    let _: () = q(
        &mut admin,
        &["ACL", "SETUSER", "carl", "on", ">cpw", "+@all", "~*"],
    );
    let mut c = server.client();
    assert_eq!(
        error(&mut c, &["HELLO", "3", "AUTH", "carl", "bad"]),
        WRONGPASS
    );
    let Value::Map(fields) = value(&mut c, &["HELLO", "3", "AUTH", "carl", "cpw"]) else {
        panic!("HELLO 3 answers a map");
    };
    assert!(!fields.is_empty());
    let me: String = q(&mut c, &["ACL", "WHOAMI"]);
    assert_eq!(me, "carl");
    // RESET returns to the default user, which needs a password now.
    let _: String = q(&mut c, &["RESET"]);
    assert_eq!(
        error(&mut c, &["GET", "x"]),
        "NOAUTH Authentication required."
    );
}

#[test]
fn too_many_failed_auths_close_the_connection() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for _ in 0..9 {
        raw.send(b"AUTH nobody wrong\r\n");
        assert_eq!(raw.read_line(), format!("-{WRONGPASS}\r\n"));
    }
    raw.send(b"AUTH nobody wrong\r\n");
    assert_eq!(raw.read_line(), format!("-{WRONGPASS}\r\n"));
    assert!(raw.is_closed());
}

#[test]
fn commands_subcommands_and_categories_are_enforced() {
    let server = TestServer::start();
    let mut admin = server.client();
    let _: () = q(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "u",
            "on",
            ">p",
            "allkeys",
            "+@read",
            "-strlen",
            "+config|get",
            "+select|0",
            "+acl",
            "+multi",
            "+exec",
        ],
    );
    let mut c = login(&server, "u", "p");
    let _: Option<String> = q(&mut c, &["GET", "k"]);
    assert_eq!(
        error(&mut c, &["SET", "k", "v"]),
        "NOPERM this user has no permissions to run the 'set' command"
    );
    assert_eq!(
        error(&mut c, &["STRLEN", "k"]),
        "NOPERM this user has no permissions to run the 'strlen' command"
    );
    let _: Vec<String> = q(&mut c, &["CONFIG", "GET", "port"]);
    assert_eq!(
        error(&mut c, &["CONFIG", "SET", "port", "1"]),
        "NOPERM this user has no permissions to run the 'config|set' command"
    );
    let _: () = q(&mut c, &["SELECT", "0"]);
    assert_eq!(
        error(&mut c, &["SELECT", "1"]),
        "NOPERM this user has no permissions to run the 'select' command"
    );
    // Inside MULTI the command is refused when queued, and EXEC aborts.
    let _: () = q(&mut c, &["MULTI"]);
    assert_eq!(
        error(&mut c, &["SET", "k", "v"]),
        "NOPERM this user has no permissions to run the 'set' command"
    );
    assert!(error(&mut c, &["EXEC"]).starts_with("EXECABORT"));
}

#[test]
fn key_patterns_with_read_and_write_permissions() {
    let server = TestServer::start();
    let mut admin = server.client();
    let _: () = q(
        &mut admin,
        &[
            "ACL", "SETUSER", "k", "on", ">p", "+@all", "~own:*", "%R~ro:*", "%W~wo:*", "%RW~rw:*",
        ],
    );
    let mut c = login(&server, "k", "p");
    let _: () = q(&mut c, &["SET", "own:1", "v"]);
    let _: () = q(&mut c, &["SET", "rw:1", "v"]);
    let _: () = q(&mut c, &["SET", "wo:1", "v"]);
    assert_eq!(error(&mut c, &["GET", "wo:1"]), NOPERM_KEYS);
    assert_eq!(error(&mut c, &["SET", "ro:1", "v"]), NOPERM_KEYS);
    let _: Option<String> = q(&mut c, &["GET", "ro:1"]);
    assert_eq!(error(&mut c, &["GET", "other"]), NOPERM_KEYS);
    // Every key of a multi-key command is checked.
    assert_eq!(error(&mut c, &["MGET", "own:1", "other"]), NOPERM_KEYS);
    let _: Vec<Option<String>> = q(&mut c, &["MGET", "own:1", "rw:1"]);
    // Movable keys (ZUNIONSTORE's numkeys).
    assert_eq!(
        error(&mut c, &["ZUNIONSTORE", "own:d", "2", "own:a", "other"]),
        NOPERM_KEYS
    );
    let _: () = q(&mut admin, &["ACL", "SETUSER", "k", "resetkeys", "allkeys"]);
    let _: Option<String> = q(&mut c, &["GET", "other"]);
}

/// `(command, DRYRUN's answer)` for a user with `%R~src:* %W~dst:* ~both:*`, as real
/// redis-server 7.0.15 answers: each key is checked with its own key-spec flags (reading
/// its data needs R; inserting, updating or deleting needs W; EXISTS/TYPE need neither).
const PER_KEY_CASES: &[(&str, Option<&str>)] = &[
    ("LMOVE src:1 dst:1 left right", Some("src:1")),
    ("LMOVE dst:1 src:1 left right", Some("dst:1")),
    ("SORT src:1 STORE dst:1", None),
    ("SORT dst:1 STORE src:1", Some("dst:1")),
    ("COPY src:1 dst:1", None),
    ("COPY dst:1 src:1", Some("dst:1")),
    ("EXISTS dst:1", None),
    ("EXISTS src:1", None),
    ("SET dst:1 v", None),
    ("SET dst:1 v GET", Some("dst:1")),
    ("GET dst:1", Some("dst:1")),
    ("GET src:1", None),
    ("SET src:1 v", Some("src:1")),
    ("DEL src:1", Some("src:1")),
    ("DEL dst:1", None),
    ("RPUSH dst:1 a", None),
    ("RPUSH src:1 a", Some("src:1")),
    ("BITFIELD src:1 GET u8 0", None),
    ("BITFIELD dst:1 SET u8 0 1", Some("dst:1")),
    ("BITFIELD dst:1 GET u8 0", Some("dst:1")),
    ("TYPE dst:1", None),
    ("TTL dst:1", Some("dst:1")),
    ("SUNIONSTORE dst:1 src:1 src:2", None),
    ("OBJECT ENCODING dst:1", None),
    ("MEMORY USAGE dst:1", None),
    ("APPEND dst:1 x", None),
    ("EVAL return 1 1 src:1", Some("src:1")),
    ("EVAL return 1 1 both:1", None),
    ("XADD dst:1 * a b", None),
];

/// Splits a case into arguments (`EVAL return 1 ...` keeps `return 1` as the script).
fn case_args(case: &str) -> Vec<String> {
    match case.strip_prefix("EVAL return 1 ") {
        Some(rest) => ["EVAL", "return 1"]
            .into_iter()
            .map(String::from)
            .chain(rest.split(' ').map(String::from))
            .collect(),
        None => case.split(' ').map(String::from).collect(),
    }
}

#[test]
fn read_and_write_patterns_check_each_keys_flags() {
    let server = TestServer::start();
    let mut admin = server.client();
    let _: () = q(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "kf",
            "on",
            ">p",
            "+@all",
            "%R~src:*",
            "%W~dst:*",
            "%RW~both:*",
        ],
    );
    let list: Vec<String> = q(&mut admin, &["ACL", "LIST"]);
    // As Redis lists it: `%RW~` is plain `~`.
    assert!(
        list.iter().any(|u| u.starts_with("user kf on #")
            && u.ends_with(" %R~src:* %W~dst:* ~both:* resetchannels +@all")),
        "{list:?}"
    );
    assert_eq!(
        text(&getuser(&mut admin, "kf")["keys"]),
        "%R~src:* %W~dst:* ~both:*"
    );
    let mut user = login(&server, "kf", "p");
    for (case, denied_key) in PER_KEY_CASES {
        let args = case_args(case);
        let mut dryrun = vec!["ACL".to_string(), "DRYRUN".into(), "kf".into()];
        dryrun.extend(args.iter().cloned());
        let dryrun: Vec<&str> = dryrun.iter().map(String::as_str).collect();
        let answer: String = q(&mut admin, &dryrun);
        let expected = denied_key.map_or("OK".to_string(), |key| {
            format!("This user has no permissions to access the '{key}' key")
        });
        assert_eq!(answer, expected, "DRYRUN {case}");
        // The command itself is refused (or not) the same way.
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        let ran = cmd.query::<Value>(&mut user);
        let noperm = ran
            .as_ref()
            .is_err_and(|e| crate::harness::error_text(e) == NOPERM_KEYS);
        assert_eq!(noperm, denied_key.is_some(), "{case}: {ran:?}");
        let _: () = q(&mut admin, &["FLUSHALL"]);
    }
}

#[test]
fn channel_patterns_for_publish_and_subscribe() {
    let server = TestServer::start();
    let mut admin = server.client();
    let _: () = q(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "ps",
            "on",
            ">p",
            "+@all",
            "allkeys",
            "resetchannels",
            "&news.*",
            "&__keyspace@0__:own*",
            "&__stream__:orders",
        ],
    );
    let mut c = login(&server, "ps", "p");
    let n: i64 = q(&mut c, &["PUBLISH", "news.today", "x"]);
    assert_eq!(n, 0);
    assert_eq!(error(&mut c, &["PUBLISH", "sports", "x"]), NOPERM_CHANNELS);
    assert_eq!(error(&mut c, &["SUBSCRIBE", "sports"]), NOPERM_CHANNELS);
    // A pattern must be one of the allowed patterns literally.
    assert_eq!(error(&mut c, &["PSUBSCRIBE", "news.t*"]), NOPERM_CHANNELS);
    assert_eq!(
        error(&mut c, &["SUBSCRIBE", "__keyspace@0__:other"]),
        NOPERM_CHANNELS
    );
    assert_eq!(
        error(&mut c, &["SUBSCRIBE", "__stream__:payments"]),
        NOPERM_CHANNELS
    );
    let mut sub = login(&server, "ps", "p");
    let _: Value = value(&mut sub, &["SUBSCRIBE", "__stream__:orders"]);
    let mut psub = login(&server, "ps", "p");
    let _: Value = value(&mut psub, &["PSUBSCRIBE", "news.*"]);
    let mut ks = login(&server, "ps", "p");
    let _: Value = value(&mut ks, &["SUBSCRIBE", "__keyspace@0__:own1"]);
    // Revoking channel permissions disconnects the user's subscribers (three of its four
    // connections); its connection that subscribed to nothing stays, as in Redis.
    let _: () = q(&mut admin, &["ACL", "SETUSER", "ps", "resetchannels"]);
    assert!(eventually(5, || {
        let list: String = q(&mut admin, &["CLIENT", "LIST"]);
        list.matches("user=ps ").count() == 1
    }));
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

#[test]
fn ddb_commands_check_table_names_as_keys() {
    let server = TestServer::start();
    let mut admin = server.client();
    let _: () = q(
        &mut admin,
        &["ACL", "SETUSER", "d", "on", ">p", "+@dynamodb", "~orders*"],
    );
    let mut c = login(&server, "d", "p");
    let create = |name: &str| {
        serde_json::json!({
            "TableName": name,
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"
        })
    };
    assert!(ddb_result(&mut c, "CREATETABLE", create("orders")).is_ok());
    let denied = ddb_result(&mut c, "CREATETABLE", create("payments")).unwrap_err();
    assert_eq!(denied, NOPERM_KEYS);
    let put = serde_json::json!({"TableName": "orders", "Item": {"id": {"S": "1"}}});
    assert!(ddb_result(&mut c, "PUTITEM", put).is_ok());
    let batch = serde_json::json!({"RequestItems": {
        "orders": {"Keys": [{"id": {"S": "1"}}]},
        "payments": {"Keys": [{"id": {"S": "1"}}]}
    }});
    assert_eq!(
        ddb_result(&mut c, "BATCHGETITEM", batch).unwrap_err(),
        NOPERM_KEYS
    );
    let transact = serde_json::json!({"TransactItems": [
        {"Put": {"TableName": "payments", "Item": {"id": {"S": "1"}}}}
    ]});
    assert_eq!(
        ddb_result(&mut c, "TRANSACTWRITEITEMS", transact).unwrap_err(),
        NOPERM_KEYS
    );
    // The category holds every DDB command, with @read/@write by access.
    let cat: Vec<String> = q(&mut admin, &["ACL", "CAT", "dynamodb"]);
    assert!(cat.contains(&"ddb.putitem".to_string()));
    let write: Vec<String> = q(&mut admin, &["ACL", "CAT", "write"]);
    assert!(write.contains(&"ddb.putitem".to_string()));
    let read: Vec<String> = q(&mut admin, &["ACL", "CAT", "read"]);
    assert!(read.contains(&"ddb.getitem".to_string()));
    assert!(!read.contains(&"ddb.putitem".to_string()));
}

#[test]
fn acl_log_records_denials_and_failed_auths() {
    let server = TestServer::start();
    let mut admin = server.client();
    let _: () = q(
        &mut admin,
        &[
            "ACL", "SETUSER", "al", "on", ">pw", "~a*", "+get", "+multi", "&c1",
        ],
    );
    let mut c = login(&server, "al", "pw");
    let _ = error(&mut c, &["GET", "b"]);
    let _ = error(&mut c, &["SET", "a", "1"]);
    let _ = error(&mut c, &["GET", "b"]);
    let _ = error(&mut server.client(), &["AUTH", "al", "wrong"]);
    let Value::Array(entries) = value(&mut admin, &["ACL", "LOG"]) else {
        panic!("ACL LOG answers an array");
    };
    assert_eq!(entries.len(), 3);
    let fields = |entry: &Value| -> BTreeMap<String, Value> {
        let Value::Array(items) = entry else {
            panic!("entry")
        };
        items
            .chunks(2)
            .map(|p| (text(&p[0]), p[1].clone()))
            .collect()
    };
    let auth = fields(&entries[0]);
    assert_eq!(text(&auth["reason"]), "auth");
    assert_eq!(text(&auth["object"]), "AUTH");
    assert_eq!(text(&auth["username"]), "al");
    assert_eq!(text(&auth["context"]), "toplevel");
    // A repeated failure moves its entry to the head.
    let command = fields(&entries[2]);
    assert_eq!(text(&command["reason"]), "command");
    assert_eq!(text(&command["object"]), "set");
    let key = fields(&entries[1]);
    assert_eq!(text(&key["reason"]), "key");
    assert_eq!(text(&key["object"]), "b");
    // The same failure twice is one entry with a count.
    assert_eq!(key["count"], Value::Int(2));
    assert!(text(&key["client-info"]).contains("user=al"));
    assert!(text(&key["age-seconds"]).parse::<f64>().is_ok());
    let Value::Array(one) = value(&mut admin, &["ACL", "LOG", "1"]) else {
        panic!("array");
    };
    assert_eq!(one.len(), 1);
    assert_eq!(
        error(&mut admin, &["ACL", "LOG", "x"]),
        "ERR value is not an integer or out of range"
    );
    // Inside MULTI the context says so.
    let _: () = q(&mut c, &["MULTI"]);
    let _ = error(&mut c, &["SET", "a", "1"]);
    let Value::Array(latest) = value(&mut admin, &["ACL", "LOG", "1"]) else {
        panic!("array");
    };
    assert_eq!(text(&fields(&latest[0])["context"]), "multi");
    let _: () = q(&mut admin, &["ACL", "LOG", "RESET"]);
    assert_eq!(value(&mut admin, &["ACL", "LOG"]), Value::Array(vec![]));
}

#[test]
fn deluser_disconnects_and_client_kill_user() {
    let server = TestServer::start();
    let mut admin = server.client();
    let _: () = q(
        &mut admin,
        &["ACL", "SETUSER", "gone", "on", ">p", "+@all", "~*"],
    );
    let _: () = q(
        &mut admin,
        &["ACL", "SETUSER", "kept", "on", ">p", "+@all", "~*"],
    );
    let _c1 = login(&server, "gone", "p");
    let _c2 = login(&server, "kept", "p");
    let list: String = q(&mut admin, &["CLIENT", "LIST"]);
    assert!(
        list.contains("user=gone") && list.contains("user=kept"),
        "{list}"
    );
    let deleted: i64 = q(&mut admin, &["ACL", "DELUSER", "gone", "nobody"]);
    assert_eq!(deleted, 1);
    let list: String = q(&mut admin, &["CLIENT", "LIST"]);
    assert!(!list.contains("user=gone"), "{list}");
    let killed: i64 = q(&mut admin, &["CLIENT", "KILL", "USER", "kept"]);
    assert_eq!(killed, 1);
    assert_eq!(
        error(&mut admin, &["CLIENT", "KILL", "USER", "nobody"]),
        "ERR No such user 'nobody'"
    );
}

#[test]
fn whoami_cat_genpass_dryrun_help() {
    let server = TestServer::start();
    let mut c = server.client();
    let me: String = q(&mut c, &["ACL", "WHOAMI"]);
    assert_eq!(me, "default");
    let cats: Vec<String> = q(&mut c, &["ACL", "CAT"]);
    assert_eq!(&cats[..3], ["keyspace", "read", "write"]);
    assert!(cats.contains(&"dynamodb".to_string()));
    let read: BTreeSet<String> = q(&mut c, &["ACL", "CAT", "READ"]);
    assert!(read.contains("get") && !read.contains("set"));
    let admin: BTreeSet<String> = q(&mut c, &["ACL", "CAT", "admin"]);
    assert!(admin.contains("config|set") && !admin.contains("config|help"));
    assert_eq!(
        error(&mut c, &["ACL", "CAT", "foo"]),
        "ERR Unknown category 'foo'"
    );
    let pass: String = q(&mut c, &["ACL", "GENPASS"]);
    assert_eq!(pass.len(), 64);
    assert!(pass.chars().all(|ch| ch.is_ascii_hexdigit()));
    let short: String = q(&mut c, &["ACL", "GENPASS", "5"]);
    assert_eq!(short.len(), 2);
    assert_eq!(
        error(&mut c, &["ACL", "GENPASS", "0"]),
        "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"
    );
    let _: () = q(
        &mut c,
        &["ACL", "SETUSER", "al", "on", "~a*", "+get", "+config|get"],
    );
    let ok: String = q(&mut c, &["ACL", "DRYRUN", "al", "GET", "a"]);
    assert_eq!(ok, "OK");
    let denied: String = q(&mut c, &["ACL", "DRYRUN", "al", "GET", "b"]);
    assert_eq!(denied, "This user has no permissions to access the 'b' key");
    let denied: String = q(&mut c, &["ACL", "DRYRUN", "al", "SET", "a", "1"]);
    assert_eq!(
        denied,
        "This user has no permissions to run the 'set' command"
    );
    let denied: String = q(&mut c, &["ACL", "DRYRUN", "al", "CONFIG", "SET", "a", "1"]);
    assert_eq!(
        denied,
        "This user has no permissions to run the 'config|set' command"
    );
    assert_eq!(
        error(&mut c, &["ACL", "DRYRUN", "nobody", "GET", "a"]),
        "ERR User 'nobody' not found"
    );
    assert_eq!(
        error(&mut c, &["ACL", "DRYRUN", "al", "foo"]),
        "ERR Command 'foo' not found"
    );
    assert_eq!(
        error(&mut c, &["ACL", "DRYRUN", "al", "GET"]),
        "ERR wrong number of arguments for 'get' command"
    );
    let help: Vec<String> = q(&mut c, &["ACL", "HELP"]);
    assert_eq!(
        help[0],
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert_eq!(help.len(), 29);
}

#[test]
fn selectors_add_alternative_permissions() {
    let server = TestServer::start();
    let mut admin = server.client();
    let _: () = q(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "sel",
            "on",
            ">p",
            "+get",
            "~a*",
            "(+set ~b*)",
        ],
    );
    let mut c = login(&server, "sel", "p");
    let _: Option<String> = q(&mut c, &["GET", "a1"]);
    let _: () = q(&mut c, &["SET", "b1", "v"]);
    assert_eq!(error(&mut c, &["SET", "a1", "v"]), NOPERM_KEYS);
    assert_eq!(error(&mut c, &["GET", "b1"]), NOPERM_KEYS);
    let list: Vec<String> = q(&mut admin, &["ACL", "LIST"]);
    let sel = list
        .iter()
        .find(|l| l.starts_with("user sel "))
        .expect("sel listed");
    assert!(
        sel.ends_with("~a* resetchannels -@all +get (~b* resetchannels -@all +set)"),
        "{list:?}"
    );
    let _: () = q(&mut admin, &["ACL", "SETUSER", "sel", "clearselectors"]);
    assert_eq!(
        error(&mut c, &["SET", "b1", "v"]),
        "NOPERM this user has no permissions to run the 'set' command"
    );
}

#[test]
fn scripts_run_as_the_calling_user() {
    let server = TestServer::start();
    let mut admin = server.client();
    let _: () = q(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "bob",
            "on",
            ">123",
            "+@scripting",
            "+set",
            "~x*",
        ],
    );
    let mut c = login(&server, "bob", "123");
    let allowed: i64 = q(
        &mut c,
        &[
            "EVAL",
            "return redis.acl_check_cmd('set','xx',1)",
            "1",
            "xx",
        ],
    );
    assert_eq!(allowed, 1);
    let denied: Option<i64> = q(
        &mut c,
        &[
            "EVAL",
            "return redis.acl_check_cmd('hset','xx','f',1)",
            "1",
            "xx",
        ],
    );
    assert_eq!(denied, None);
    let denied: Option<i64> = q(
        &mut c,
        &["EVAL", "return redis.acl_check_cmd('set','yy',1)", "0"],
    );
    assert_eq!(denied, None);
    assert!(error(
        &mut c,
        &[
            "EVAL",
            "return redis.acl_check_cmd('invalid-cmd','arg')",
            "0"
        ]
    )
    .contains("Invalid command passed to redis.acl_check_cmd()"));
    assert!(error(
        &mut c,
        &["EVAL", "return redis.call('hset','xx','f','v')", "1", "xx"]
    )
    .contains("The user executing the script can't run this command or subcommand"));
    assert!(error(&mut c, &["EVAL", "return redis.call('set','yy','v')", "0"])
        .contains("The user executing the script can't access at least one of the keys mentioned in the command"));
    // The EVAL's declared keys are checked before the script runs.
    assert_eq!(error(&mut c, &["EVAL", "return 1", "1", "yy"]), NOPERM_KEYS);
    let Value::Array(entries) = value(&mut admin, &["ACL", "LOG", "1"]) else {
        panic!("array");
    };
    let Value::Array(fields) = &entries[0] else {
        panic!("entry")
    };
    assert!(fields.contains(&Value::BulkString(b"toplevel".to_vec())));
    let _ = error(
        &mut c,
        &["EVAL", "return redis.call('hset','xx','f','v')", "1", "xx"],
    );
    let Value::Array(entries) = value(&mut admin, &["ACL", "LOG", "1"]) else {
        panic!("array");
    };
    let Value::Array(fields) = &entries[0] else {
        panic!("entry")
    };
    assert!(
        fields.contains(&Value::BulkString(b"lua".to_vec())),
        "{fields:?}"
    );
}

#[test]
fn aclfile_load_save_and_overrides_requirepass() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.acl");
    std::fs::write(
        &path,
        "user default on >filepw ~* &* +@all\nuser alice on >p1 ~* +@all\n",
    )
    .unwrap();
    let server = TestServer::start_with(&[
        "--aclfile",
        path.to_str().unwrap(),
        "--requirepass",
        "ignored",
    ]);
    let mut c = server.client();
    assert_eq!(error(&mut c, &["PING"]), "NOAUTH Authentication required.");
    assert_eq!(error(&mut c, &["AUTH", "ignored"]), WRONGPASS);
    let _: () = q(&mut c, &["AUTH", "filepw"]);
    login(&server, "alice", "p1");
    let _: () = q(&mut c, &["ACL", "SETUSER", "eve", "on", ">x", "+get"]);
    let _: () = q(&mut c, &["ACL", "SAVE"]);
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(saved.contains("user eve on #2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 resetchannels -@all +get"), "{saved}");
    // LOAD replaces every user; clients of users it drops are disconnected.
    let mut alice = login(&server, "alice", "p1");
    std::fs::write(
        &path,
        "user default on >filepw ~* &* +@all\nuser bob on >b ~* +@all\n",
    )
    .unwrap();
    let _: () = q(&mut c, &["ACL", "LOAD"]);
    let users: Vec<String> = q(&mut c, &["ACL", "USERS"]);
    assert_eq!(users, ["bob", "default"]);
    assert!(redis::cmd("PING").query::<String>(&mut alice).is_err());
    // A bad file changes nothing and says why.
    std::fs::write(&path, "user x on +nope\nfoo\n").unwrap();
    let err = error(&mut c, &["ACL", "LOAD"]);
    let p = path.display();
    assert_eq!(
        err,
        format!("ERR {p}:1: Error in applying operation '+nope': Unknown command or category name in ACL. {p}:2 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
    );
    let users: Vec<String> = q(&mut c, &["ACL", "USERS"]);
    assert_eq!(users, ["bob", "default"]);
}

#[test]
fn save_and_load_without_aclfile_fail() {
    let server = TestServer::start();
    let mut c = server.client();
    for sub in ["SAVE", "LOAD"] {
        assert!(error(&mut c, &["ACL", sub])
            .starts_with("ERR This Redis instance is not configured to use an ACL file."));
    }
}

#[test]
fn config_file_user_lines() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("redyn.conf");
    std::fs::write(
        &conf,
        "user default on nopass ~* &* +@all\nuser ro on >r ~* -@all +@read\n",
    )
    .unwrap();
    let server = TestServer::start_with(&[conf.to_str().unwrap()]);
    let mut c = login(&server, "ro", "r");
    let _: Option<String> = q(&mut c, &["GET", "x"]);
    assert_eq!(
        error(&mut c, &["SET", "x", "1"]),
        "NOPERM this user has no permissions to run the 'set' command"
    );
}

#[test]
fn command_info_reports_categories() {
    let server = TestServer::start();
    let mut c = server.client();
    let Value::Array(info) = value(
        &mut c,
        &["COMMAND", "INFO", "get", "flushall", "ddb.putitem"],
    ) else {
        panic!("array");
    };
    let cats = |entry: &Value| -> BTreeSet<String> {
        let Value::Array(fields) = entry else {
            panic!("entry")
        };
        let Value::Array(cats) = &fields[6] else {
            panic!("cats")
        };
        cats.iter().map(text).collect()
    };
    assert_eq!(
        cats(&info[0]),
        BTreeSet::from(["@read".into(), "@string".into(), "@fast".into()])
    );
    assert_eq!(
        cats(&info[1]),
        BTreeSet::from([
            "@keyspace".into(),
            "@write".into(),
            "@slow".into(),
            "@dangerous".into()
        ])
    );
    assert!(cats(&info[2]).contains("@dynamodb") && cats(&info[2]).contains("@write"));
}

/// Category membership differences from Redis 7.0 that redyn accepts: none at present.
const ACCEPTED_DIFFERENCES: &[&str] = &[];

#[test]
fn acl_cat_membership_matches_real_redis() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let mut real = redis.client();
    let server = TestServer::start();
    let mut ours = server.client();
    // Commands and subcommands (`config|get`) a server knows: COMMAND LIST, plus every
    // member of a category.
    let names = |con: &mut redis::Connection| -> BTreeSet<String> {
        let mut all: BTreeSet<String> = q(con, &["COMMAND", "LIST"]);
        for cat in q::<Vec<String>>(con, &["ACL", "CAT"]) {
            all.extend(q::<Vec<String>>(con, &["ACL", "CAT", &cat]));
        }
        all
    };
    let real_commands = names(&mut real);
    let our_commands = names(&mut ours);
    let common: BTreeSet<&String> = real_commands.intersection(&our_commands).collect();
    assert!(common.len() > 200, "{}", common.len());
    let mut differences = Vec::new();
    for category in q::<Vec<String>>(&mut real, &["ACL", "CAT"]) {
        let members = |con: &mut redis::Connection| -> BTreeSet<String> {
            q::<Vec<String>>(con, &["ACL", "CAT", &category])
                .into_iter()
                .filter(|c| common.contains(c))
                .collect()
        };
        let (r, o) = (members(&mut real), members(&mut ours));
        for missing in r.difference(&o) {
            differences.push(format!("@{category}: {missing} only in redis"));
        }
        for extra in o.difference(&r) {
            differences.push(format!("@{category}: {extra} only in redyn"));
        }
    }
    differences.retain(|d| !ACCEPTED_DIFFERENCES.contains(&d.as_str()));
    assert!(differences.is_empty(), "{differences:#?}");
}

/// Redis 7.0 checks queued commands again at EXEC: a rule changed between MULTI and EXEC
/// denies the command inside the EXEC reply (with EXEC-specific wording, checked against
/// redis-server 7.0.15) and logs it with context `multi`; the allowed ones still run.
#[test]
fn exec_checks_queued_commands_again() {
    let server = TestServer::start();
    let mut admin = server.client();
    let _: () = q(
        &mut admin,
        &["ACL", "SETUSER", "u", "on", "nopass", "~*", "&*", "+@all"],
    );
    let mut raw = server.raw();
    let line = |raw: &mut crate::harness::RawConn| raw.read_line().trim_end().to_string();
    raw.send(
        b"AUTH u x\r\nMULTI\r\nSET k v\r\nGET k\r\nPUBLISH ch m\r\nCLIENT ID\r\nGET other\r\n",
    );
    assert_eq!(line(&mut raw), "+OK");
    assert_eq!(line(&mut raw), "+OK");
    for _ in 0..5 {
        assert_eq!(line(&mut raw), "+QUEUED");
    }
    let _: () = q(&mut admin, &["SET", "k", "before"]);
    let _: () = q(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "u",
            "-set",
            "resetchannels",
            "-client|id",
            "resetkeys",
            "~k",
        ],
    );
    raw.send(b"EXEC\r\n");
    let changed = "-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ";
    assert_eq!(line(&mut raw), "*5");
    let command = format!("{changed}no permission to execute the command or subcommand");
    assert_eq!(line(&mut raw), command);
    // The denied SET did not run; GET still may.
    assert_eq!(line(&mut raw), "$6");
    assert_eq!(line(&mut raw), "before");
    assert_eq!(
        line(&mut raw),
        format!("{changed}no permission to access one of the channels used as arguments")
    );
    assert_eq!(line(&mut raw), command);
    assert_eq!(
        line(&mut raw),
        format!("{changed}no permission to touch the specified keys")
    );
    let Value::Array(entries) = value(&mut admin, &["ACL", "LOG"]) else {
        panic!("ACL LOG answers an array");
    };
    let logged: Vec<(String, String, String)> = entries
        .iter()
        .map(|entry| {
            let Value::Array(items) = entry else {
                panic!("entry")
            };
            let fields: BTreeMap<String, Value> = items
                .chunks(2)
                .map(|p| (text(&p[0]), p[1].clone()))
                .collect();
            (
                text(&fields["reason"]),
                text(&fields["context"]),
                text(&fields["object"]),
            )
        })
        .collect();
    let expected = [
        ("key", "multi", "other"),
        ("command", "multi", "client|id"),
        ("channel", "multi", "ch"),
        ("command", "multi", "set"),
    ]
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()));
    assert_eq!(logged, expected);
    let errors: String = q(&mut admin, &["INFO", "errorstats"]);
    assert!(errors.contains("errorstat_NOPERM:count=4"), "{errors}");
}

/// The `user` lines of ACL LIST, by user name.
fn acl_list(con: &mut redis::Connection) -> BTreeMap<String, String> {
    let lines: Vec<String> = q(con, &["ACL", "LIST"]);
    lines
        .into_iter()
        .map(|line| {
            let name = line.split(' ').nth(1).expect("user <name> …").to_string();
            (name, line)
        })
        .collect()
}

/// `acl-pubsub-default` gives new users, `reset` and new selectors their channels; existing
/// users and `default` keep theirs. ACL LIST lines as redis-server 7.0.15 prints them.
#[test]
fn acl_pubsub_default_sets_the_channels_of_new_users() {
    let server = TestServer::start();
    let mut admin = server.client();
    let got: Vec<String> = q(&mut admin, &["CONFIG", "GET", "acl-pubsub-default"]);
    assert_eq!(got, ["acl-pubsub-default", "resetchannels"]);
    let _: () = q(&mut admin, &["ACL", "SETUSER", "n1"]);
    let _: () = q(
        &mut admin,
        &["CONFIG", "SET", "acl-pubsub-default", "ALLCHANNELS"],
    );
    let got: Vec<String> = q(&mut admin, &["CONFIG", "GET", "acl-pubsub-default"]);
    assert_eq!(got, ["acl-pubsub-default", "allchannels"]);
    let _: () = q(
        &mut admin,
        &["ACL", "SETUSER", "n2", "on", "nopass", "+@all"],
    );
    let _: () = q(&mut admin, &["ACL", "SETUSER", "n3", "on", "(+get ~x)"]);
    let users = acl_list(&mut admin);
    assert_eq!(users["default"], "user default on nopass ~* &* +@all");
    assert_eq!(users["n1"], "user n1 off resetchannels -@all");
    assert_eq!(users["n2"], "user n2 on nopass &* +@all");
    assert_eq!(users["n3"], "user n3 on &* -@all (~x &* -@all +get)");
    let mut n2 = login(&server, "n2", "any");
    let receivers: i64 = q(&mut n2, &["PUBLISH", "anything", "m"]);
    assert_eq!(receivers, 0);
    // `reset` takes the setting in force when it runs.
    let _: () = q(&mut admin, &["ACL", "SETUSER", "n1", "reset"]);
    let _: () = q(
        &mut admin,
        &["CONFIG", "SET", "acl-pubsub-default", "resetchannels"],
    );
    let _: () = q(&mut admin, &["ACL", "SETUSER", "n2", "reset"]);
    let users = acl_list(&mut admin);
    assert_eq!(users["n1"], "user n1 off sanitize-payload &* -@all");
    assert_eq!(
        users["n2"],
        "user n2 off sanitize-payload resetchannels -@all"
    );
    assert_eq!(
        error(&mut admin, &["CONFIG", "SET", "acl-pubsub-default", "foo"]),
        "ERR CONFIG SET failed (possibly related to argument 'acl-pubsub-default') - argument(s) must be one of the following: allchannels, resetchannels"
    );
}

/// In the config file the setting applies to every `user` line, before or after it (Redis
/// loads the users once the whole file is read).
#[test]
fn acl_pubsub_default_in_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("redyn.conf");
    std::fs::write(
        &conf,
        "user cf on nopass +@all\nacl-pubsub-default allchannels\n",
    )
    .unwrap();
    let server = TestServer::start_with(&[conf.to_str().unwrap()]);
    let mut admin = server.client();
    let users = acl_list(&mut admin);
    assert_eq!(users["cf"], "user cf on nopass &* +@all");
    assert_eq!(users["default"], "user default on nopass ~* &* +@all");
    let mut cf = login(&server, "cf", "x");
    let _: Value = value(&mut cf, &["SUBSCRIBE", "any"]);
}
