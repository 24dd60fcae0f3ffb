//! Connection commands: PING, ECHO, QUIT, HELLO, AUTH, SELECT, RESET, CLIENT.

use redis::Value;

use crate::harness::{error, q, value, TestServer};

#[test]
fn ping_echo_quit_and_unknown_commands() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(value(&mut c, &["PING"]), Value::SimpleString("PONG".into()));
    assert_eq!(q::<String>(&mut c, &["PING", "hi"]), "hi");
    assert_eq!(
        error(&mut c, &["PING", "a", "b"]),
        "ERR wrong number of arguments for 'ping' command"
    );
    assert_eq!(q::<String>(&mut c, &["ECHO", "hello"]), "hello");
    assert_eq!(
        error(&mut c, &["FOOBAR", "a", "b"]),
        "ERR unknown command 'FOOBAR', with args beginning with: 'a' 'b' "
    );
    assert_eq!(
        error(&mut c, &["FOOBAR"]),
        "ERR unknown command 'FOOBAR', with args beginning with: "
    );
    let mut raw = server.raw();
    raw.send(b"QUIT\r\n");
    assert_eq!(raw.read_line(), "+OK\r\n");
    assert!(raw.is_closed());
}

#[test]
fn hello_negotiates_resp3() {
    let server = TestServer::start();
    let mut c = server.client();
    let hello: Vec<Value> = q(&mut c, &["HELLO", "2"]);
    assert_eq!(hello[0], Value::BulkString(b"server".to_vec()));
    assert_eq!(hello[1], Value::BulkString(b"redis".to_vec()));
    assert_eq!(hello[4], Value::BulkString(b"proto".to_vec()));
    assert_eq!(hello[5], Value::Int(2));
    assert_eq!(
        error(&mut c, &["HELLO", "4"]),
        "NOPROTO unsupported protocol version"
    );
    assert_eq!(
        error(&mut c, &["HELLO", "x"]),
        "ERR Protocol version is not an integer or out of range"
    );
    assert_eq!(
        error(&mut c, &["HELLO", "3", "BOGUS"]),
        "ERR Syntax error in HELLO option 'BOGUS'"
    );
    let mut raw = server.raw();
    raw.send(b"HELLO 3 SETNAME app\r\n");
    assert_eq!(raw.read_line(), "%7\r\n");
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.starts_with("*0")) {
        lines.push(raw.read_line());
    }
    assert!(lines.contains(&":3\r\n".to_string()), "{lines:?}");
    // RESP3 types after HELLO 3: null, map, double.
    raw.send(b"GET missing\r\n");
    assert_eq!(raw.read_line(), "_\r\n");
    raw.send(b"CLIENT GETNAME\r\n");
    assert_eq!(raw.read_line(), "$3\r\n");
    assert_eq!(raw.read_line(), "app\r\n");
    raw.send(b"HSET h f v\r\nHGETALL h\r\n");
    assert_eq!(raw.read_line(), ":1\r\n");
    assert_eq!(raw.read_line(), "%1\r\n");
}

#[test]
fn auth_and_requirepass() {
    let server = TestServer::start_with(&["--requirepass", "s3cret"]);
    let client = redis::Client::open(server.url()).unwrap();
    let mut c = client.get_connection().unwrap();
    assert_eq!(
        error(&mut c, &["GET", "k"]),
        "NOAUTH Authentication required."
    );
    assert_eq!(
        error(&mut c, &["NOPE"]),
        "ERR unknown command 'NOPE', with args beginning with: "
    );
    assert_eq!(
        error(&mut c, &["AUTH", "wrong"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(
        error(&mut c, &["AUTH", "bob", "s3cret"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert!(error(&mut c, &["HELLO", "3"])
        .starts_with("NOAUTH HELLO must be called with the client already authenticated"));
    assert_eq!(q::<String>(&mut c, &["AUTH", "s3cret"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v"]), "OK");
    // HELLO with AUTH authenticates and switches protocol at once.
    let mut c2 = client.get_connection().unwrap();
    let hello: Vec<Value> = q(&mut c2, &["HELLO", "2", "AUTH", "default", "s3cret"]);
    assert_eq!(hello[5], Value::Int(2));
    assert_eq!(q::<String>(&mut c2, &["GET", "k"]), "v");
    // A client with the password in the URL works.
    let url = format!("redis://:s3cret@{}/", server.addr);
    let mut c3 = redis::Client::open(url).unwrap().get_connection().unwrap();
    assert_eq!(q::<String>(&mut c3, &["GET", "k"]), "v");
    // Without requirepass, AUTH <password> is an error.
    let open = TestServer::start();
    let mut o = open.client();
    assert_eq!(
        error(&mut o, &["AUTH", "x"]),
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
}

#[test]
fn client_subcommands() {
    let server = TestServer::start();
    let mut c = server.client();
    let id: i64 = q(&mut c, &["CLIENT", "ID"]);
    assert!(id > 0);
    assert_eq!(value(&mut c, &["CLIENT", "GETNAME"]), Value::Nil);
    assert_eq!(
        q::<String>(&mut c, &["CLIENT", "SETNAME", "worker-1"]),
        "OK"
    );
    assert_eq!(q::<String>(&mut c, &["CLIENT", "GETNAME"]), "worker-1");
    assert_eq!(
        error(&mut c, &["CLIENT", "SETNAME", "bad name"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    assert_eq!(
        q::<String>(&mut c, &["CLIENT", "SETINFO", "LIB-NAME", "redis-rs"]),
        "OK"
    );
    let info: String = q(&mut c, &["CLIENT", "INFO"]);
    assert!(info.contains(&format!("id={id} ")), "{info}");
    assert!(info.contains("name=worker-1"), "{info}");
    assert!(info.contains("lib-name=redis-rs"), "{info}");
    let mut other = server.client();
    let other_id: i64 = q(&mut other, &["CLIENT", "ID"]);
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    let only: String = q(&mut c, &["CLIENT", "LIST", "ID", &other_id.to_string()]);
    assert_eq!(only.lines().count(), 1);
    assert_eq!(
        q::<i64>(&mut c, &["CLIENT", "KILL", "ID", &other_id.to_string()]),
        1
    );
    assert!(crate::harness::eventually(10, || {
        let list: String = q(&mut c, &["CLIENT", "LIST"]);
        list.lines().count() == 1
    }));
    assert!(redis::cmd("PING").query::<String>(&mut other).is_err());
    assert!(error(&mut c, &["CLIENT", "FOO"])
        .starts_with("ERR unknown subcommand 'FOO'. Try CLIENT HELP."));
    assert_eq!(
        error(&mut c, &["CLIENT", "SETNAME"]),
        "ERR wrong number of arguments for 'client|setname' command"
    );
}

#[test]
fn select_and_reset() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: () = q(&mut c, &["SELECT", "2"]);
    let _: () = q(&mut c, &["SET", "in2", "v"]);
    assert_eq!(
        value(&mut c, &["RESET"]),
        Value::SimpleString("RESET".into())
    );
    assert_eq!(
        value(&mut c, &["GET", "in2"]),
        Value::Nil,
        "RESET selects db 0"
    );
}
