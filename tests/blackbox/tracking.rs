//! Client-side caching: CLIENT TRACKING and its invalidation messages, as Redis 7 sends them
//! (RESP3 `invalidate` pushes, `__redis__:invalidate` messages for RESP2 redirection).
//! Raw connections are used so the exact frames and their order are checked.

use crate::harness::{error, q, RawConn, TestServer};

/// A decoded RESP2/RESP3 frame, flattened to what the assertions need.
#[derive(Debug, Clone, PartialEq)]
enum Frame {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(String),
    Null,
    Array(Vec<Frame>),
    Push(Vec<Frame>),
}

impl Frame {
    fn bulk(s: &str) -> Frame {
        Frame::Bulk(s.to_string())
    }

    fn bulks(items: &[&str]) -> Frame {
        Frame::Array(items.iter().map(|s| Frame::bulk(s)).collect())
    }

    /// `>2 invalidate [keys]`
    fn invalidate(keys: &[&str]) -> Frame {
        Frame::Push(vec![Frame::bulk("invalidate"), Frame::bulks(keys)])
    }
}

fn read_frame(conn: &mut RawConn) -> Frame {
    let line = conn.read_line();
    assert!(line.len() >= 3, "connection closed or timed out: {line:?}");
    let body = line[1..line.len() - 2].to_string();
    let items = |conn: &mut RawConn, n: i64| (0..n).map(|_| read_frame(conn)).collect();
    match line.as_bytes()[0] {
        b'+' => Frame::Simple(body),
        b'-' => Frame::Error(body),
        b':' => Frame::Int(body.parse().unwrap()),
        b'_' => Frame::Null,
        b'$' | b'=' => {
            let len: i64 = body.parse().unwrap();
            if len < 0 {
                return Frame::Null;
            }
            let data = conn.read_n(len as usize + 2);
            Frame::Bulk(String::from_utf8_lossy(&data[..len as usize]).into_owned())
        }
        b'*' | b'~' => {
            let n: i64 = body.parse().unwrap();
            if n < 0 {
                return Frame::Null;
            }
            Frame::Array(items(conn, n))
        }
        b'%' => {
            let n: i64 = body.parse().unwrap();
            Frame::Array(items(conn, n * 2))
        }
        b'>' => Frame::Push(items(conn, body.parse().unwrap())),
        other => panic!("unexpected frame type {:?} in {line:?}", other as char),
    }
}

fn send(conn: &mut RawConn, args: &[&str]) {
    let mut out = format!("*{}\r\n", args.len());
    for a in args {
        out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    conn.send(out.as_bytes());
}

/// Sends a command and returns the next frame (its reply, or a push sent before it).
fn call(conn: &mut RawConn, args: &[&str]) -> Frame {
    send(conn, args);
    read_frame(conn)
}

fn ok(conn: &mut RawConn, args: &[&str]) {
    assert_eq!(call(conn, args), Frame::Simple("OK".into()), "{args:?}");
}

/// A raw connection in RESP3.
fn resp3(server: &TestServer) -> RawConn {
    let mut conn = server.raw();
    let hello = call(&mut conn, &["HELLO", "3"]);
    assert!(matches!(hello, Frame::Array(_)), "{hello:?}");
    conn
}

fn client_id(conn: &mut RawConn) -> String {
    match call(conn, &["CLIENT", "ID"]) {
        Frame::Int(id) => id.to_string(),
        other => panic!("{other:?}"),
    }
}

/// Nothing is queued for `conn`: pushes queued before a command are written before its
/// reply, so the next frame after PING is PONG.
fn assert_nothing_pending(conn: &mut RawConn) {
    assert_eq!(call(conn, &["PING"]), Frame::Simple("PONG".into()));
}

#[test]
fn keys_read_by_a_resp3_client_are_invalidated_once_when_written() {
    let server = TestServer::start();
    let mut writer = server.client();
    let mut c = resp3(&server);
    ok(&mut c, &["CLIENT", "TRACKING", "on"]);
    q::<()>(&mut writer, &["SET", "k", "1"]);
    assert_eq!(call(&mut c, &["GET", "k"]), Frame::bulk("1"));
    q::<()>(&mut writer, &["SET", "unread", "1"]);
    q::<()>(&mut writer, &["SET", "k", "2"]);
    assert_eq!(read_frame(&mut c), Frame::invalidate(&["k"]));
    // The entry is gone after one invalidation until the key is read again.
    q::<()>(&mut writer, &["SET", "k", "3"]);
    assert_nothing_pending(&mut c);
    // Keys read through MGET and by any read command are tracked too.
    assert!(matches!(call(&mut c, &["MGET", "a", "b"]), Frame::Array(_)));
    q::<()>(&mut writer, &["DEL", "b"]);
    q::<()>(&mut writer, &["LPUSH", "b", "x"]);
    assert_eq!(read_frame(&mut c), Frame::invalidate(&["b"]));
    assert_nothing_pending(&mut c);
}

#[test]
fn own_writes_are_invalidated_after_the_reply_unless_noloop() {
    let server = TestServer::start();
    let mut c = resp3(&server);
    ok(&mut c, &["CLIENT", "TRACKING", "on"]);
    assert_eq!(call(&mut c, &["HSET", "h", "f", "1"]), Frame::Int(1));
    assert_eq!(call(&mut c, &["HGET", "h", "f"]), Frame::bulk("1"));
    assert_eq!(call(&mut c, &["HDEL", "h", "f"]), Frame::Int(1));
    assert_eq!(read_frame(&mut c), Frame::invalidate(&["h"]));
    // Inside MULTI the invalidation follows the whole EXEC reply.
    ok(&mut c, &["SET", "a", "1"]);
    call(&mut c, &["GET", "a"]);
    ok(&mut c, &["MULTI"]);
    call(&mut c, &["INCR", "a"]);
    call(&mut c, &["GET", "a"]);
    assert_eq!(
        call(&mut c, &["EXEC"]),
        Frame::Array(vec![Frame::Int(2), Frame::bulk("2")])
    );
    assert_eq!(read_frame(&mut c), Frame::invalidate(&["a"]));
    // NOLOOP: the client's own writes are not reported back to it.
    ok(&mut c, &["CLIENT", "TRACKING", "off"]);
    ok(&mut c, &["CLIENT", "TRACKING", "on", "NOLOOP"]);
    call(&mut c, &["GET", "a"]);
    call(&mut c, &["INCR", "a"]);
    assert_nothing_pending(&mut c);
}

#[test]
fn redirected_invalidations_reach_a_resp2_subscriber_on_the_invalidate_channel() {
    let server = TestServer::start();
    let mut writer = server.client();
    let mut target = server.raw();
    let target_id = client_id(&mut target);
    assert_eq!(
        call(&mut target, &["SUBSCRIBE", "__redis__:invalidate"]),
        Frame::Array(vec![
            Frame::bulk("subscribe"),
            Frame::bulk("__redis__:invalidate"),
            Frame::Int(1)
        ])
    );
    let mut c = server.client();
    q::<()>(
        &mut c,
        &["CLIENT", "TRACKING", "on", "REDIRECT", &target_id],
    );
    assert_eq!(
        q::<i64>(&mut c, &["CLIENT", "GETREDIR"]),
        target_id.parse::<i64>().unwrap()
    );
    q::<Option<String>>(&mut c, &["GET", "k"]);
    q::<()>(&mut writer, &["SET", "k", "1"]);
    assert_eq!(
        read_frame(&mut target),
        Frame::Array(vec![
            Frame::bulk("message"),
            Frame::bulk("__redis__:invalidate"),
            Frame::bulks(&["k"]),
        ])
    );
    // A flush invalidates everything: the key list is null.
    q::<()>(&mut writer, &["FLUSHALL"]);
    assert_eq!(
        read_frame(&mut target),
        Frame::Array(vec![
            Frame::bulk("message"),
            Frame::bulk("__redis__:invalidate"),
            Frame::Null,
        ])
    );
}

#[test]
fn bcast_announces_the_keys_of_one_command_once_per_prefix() {
    let server = TestServer::start();
    let mut writer = server.client();
    let mut c = resp3(&server);
    ok(
        &mut c,
        &[
            "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a:", "PREFIX", "b:",
        ],
    );
    q::<()>(&mut writer, &["MULTI"]);
    for key in ["a:1", "a:2", "b:1", "c:1"] {
        q::<()>(&mut writer, &["INCR", key]);
    }
    q::<Vec<i64>>(&mut writer, &["EXEC"]);
    assert_eq!(read_frame(&mut c), Frame::invalidate(&["a:1", "a:2"]));
    assert_eq!(read_frame(&mut c), Frame::invalidate(&["b:1"]));
    assert_nothing_pending(&mut c);
    // Expiry goes through the same write path.
    q::<()>(&mut writer, &["SET", "a:exp", "v", "PX", "20"]);
    assert_eq!(read_frame(&mut c), Frame::invalidate(&["a:exp"]));
    assert_eq!(read_frame(&mut c), Frame::invalidate(&["a:exp"]));
    // So do writes made by scripts.
    q::<()>(
        &mut writer,
        &["EVAL", "redis.call('set', KEYS[1], 'x')", "1", "b:lua"],
    );
    assert_eq!(read_frame(&mut c), Frame::invalidate(&["b:lua"]));
    let info: String = q(&mut writer, &["INFO", "stats"]);
    assert!(info.contains("tracking_total_prefixes:2\r\n"), "{info}");
    let list: String = q(&mut writer, &["CLIENT", "LIST"]);
    assert!(list.contains("flags=tB "), "{list}");
}

#[test]
fn optin_tracks_only_after_caching_yes_and_optout_skips_after_caching_no() {
    let server = TestServer::start();
    let mut writer = server.client();
    let mut c = resp3(&server);
    ok(&mut c, &["CLIENT", "TRACKING", "on", "OPTIN"]);
    call(&mut c, &["GET", "skipped"]);
    ok(&mut c, &["CLIENT", "CACHING", "yes"]);
    call(&mut c, &["GET", "cached"]);
    q::<()>(&mut writer, &["MSET", "skipped", "1", "cached", "1"]);
    assert_eq!(read_frame(&mut c), Frame::invalidate(&["cached"]));
    assert_nothing_pending(&mut c);
    ok(&mut c, &["CLIENT", "TRACKING", "off"]);
    ok(&mut c, &["CLIENT", "TRACKING", "on", "OPTOUT"]);
    ok(&mut c, &["CLIENT", "CACHING", "no"]);
    call(&mut c, &["GET", "skipped"]);
    call(&mut c, &["GET", "cached"]);
    q::<()>(&mut writer, &["MSET", "skipped", "2", "cached", "2"]);
    assert_eq!(read_frame(&mut c), Frame::invalidate(&["cached"]));
    assert_nothing_pending(&mut c);
}

#[test]
fn tracking_options_are_checked_with_redis_errors() {
    let server = TestServer::start();
    let mut c = server.client();
    let cases: &[(&[&str], &str)] = &[
        (&["CLIENT", "TRACKING", "on", "PREFIX", "a"], "ERR PREFIX option requires BCAST mode to be enabled"),
        (&["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"], "ERR OPTIN and OPTOUT are not compatible with BCAST"),
        (&["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"], "ERR You can't specify both OPTIN mode and OPTOUT mode"),
        (&["CLIENT", "TRACKING", "on", "REDIRECT", "9999"], "ERR The client ID you want redirect to does not exist"),
        (&["CLIENT", "TRACKING", "on", "REDIRECT", "x"], "ERR value is not an integer or out of range"),
        (&["CLIENT", "TRACKING", "on", "FOO"], "ERR syntax error"),
        (&["CLIENT", "TRACKING", "maybe"], "ERR syntax error"),
        (&["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO"],
         "ERR Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'. Prefixes for a single client must not overlap."),
        (&["CLIENT", "CACHING", "yes"], "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"),
        (&["CLIENT", "TRACKING"], "ERR wrong number of arguments for 'client|tracking' command"),
    ];
    for (args, expected) in cases {
        assert_eq!(&error(&mut c, args), expected, "{args:?}");
    }
    q::<()>(
        &mut c,
        &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOO"],
    );
    assert_eq!(
        error(&mut c, &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FO"]),
        "ERR Prefix 'FO' overlaps with an existing prefix 'FOO'. Prefixes for a single client must not overlap."
    );
    assert_eq!(
        error(&mut c, &["CLIENT", "TRACKING", "on"]),
        "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."
    );
    q::<()>(&mut c, &["CLIENT", "TRACKING", "off"]);
    q::<()>(&mut c, &["CLIENT", "TRACKING", "on", "OPTIN"]);
    assert_eq!(
        error(&mut c, &["CLIENT", "TRACKING", "on", "OPTOUT"]),
        "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."
    );
    assert_eq!(
        error(&mut c, &["CLIENT", "CACHING", "no"]),
        "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."
    );
}

#[test]
fn trackinginfo_getredir_info_and_client_list_report_the_state() {
    let server = TestServer::start();
    let mut c = resp3(&server);
    let id = client_id(&mut c);
    let info = |c: &mut RawConn| call(c, &["CLIENT", "TRACKINGINFO"]);
    assert_eq!(
        info(&mut c),
        Frame::Array(vec![
            Frame::bulk("flags"),
            Frame::bulks(&["off"]),
            Frame::bulk("redirect"),
            Frame::Int(-1),
            Frame::bulk("prefixes"),
            Frame::Array(vec![]),
        ])
    );
    assert_eq!(call(&mut c, &["CLIENT", "GETREDIR"]), Frame::Int(-1));
    ok(&mut c, &["CLIENT", "TRACKING", "on", "OPTIN", "NOLOOP"]);
    ok(&mut c, &["CLIENT", "CACHING", "yes"]);
    assert_eq!(
        info(&mut c),
        Frame::Array(vec![
            Frame::bulk("flags"),
            Frame::bulks(&["on", "optin", "caching-yes", "noloop"]),
            Frame::bulk("redirect"),
            Frame::Int(0),
            Frame::bulk("prefixes"),
            Frame::Array(vec![]),
        ])
    );
    assert_eq!(call(&mut c, &["CLIENT", "GETREDIR"]), Frame::Int(0));
    ok(&mut c, &["CLIENT", "CACHING", "yes"]);
    call(&mut c, &["MGET", "k1", "k2"]);
    let mut other = server.client();
    let stats: String = q(&mut other, &["INFO"]);
    for field in [
        "tracking_clients:1\r\n",
        "tracking_total_keys:2\r\n",
        "tracking_total_items:2\r\n",
        "tracking_total_prefixes:0\r\n",
    ] {
        assert!(stats.contains(field), "{field} in {stats}");
    }
    let list: String = q(&mut other, &["CLIENT", "LIST", "ID", &id]);
    assert!(
        list.contains(" flags=t ") && list.contains(" redir=0 "),
        "{list}"
    );
    ok(&mut c, &["CLIENT", "TRACKING", "off"]);
    let stats: String = q(&mut other, &["INFO"]);
    assert!(stats.contains("tracking_clients:0\r\n"), "{stats}");
}

#[test]
fn a_gone_redirection_target_is_reported_as_tracking_redir_broken() {
    let server = TestServer::start();
    let mut writer = server.client();
    let mut target = server.raw();
    let target_id = client_id(&mut target);
    let mut c = resp3(&server);
    ok(
        &mut c,
        &["CLIENT", "TRACKING", "on", "REDIRECT", &target_id],
    );
    call(&mut c, &["GET", "k"]);
    assert_eq!(call(&mut target, &["QUIT"]), Frame::Simple("OK".into()));
    assert!(target.is_closed());
    q::<()>(&mut writer, &["SET", "k", "1"]);
    assert_eq!(
        read_frame(&mut c),
        Frame::Push(vec![
            Frame::bulk("tracking-redir-broken"),
            Frame::Int(target_id.parse().unwrap())
        ])
    );
    let list: String = q(&mut writer, &["CLIENT", "LIST"]);
    assert!(list.contains("flags=tR "), "{list}");
}

#[test]
fn a_full_tracking_table_evicts_keys_with_invalidations() {
    let server = TestServer::start();
    let mut c = resp3(&server);
    ok(&mut c, &["CLIENT", "TRACKING", "on"]);
    call(&mut c, &["MGET", "k1", "k2", "k3"]);
    ok(&mut c, &["CONFIG", "SET", "tracking-table-max-keys", "1"]);
    let mut evicted = Vec::new();
    for _ in 0..2 {
        match read_frame(&mut c) {
            Frame::Push(items) if items[0] == Frame::bulk("invalidate") => {
                evicted.push(items[1].clone())
            }
            other => panic!("{other:?}"),
        }
    }
    let mut writer = server.client();
    let info: String = q(&mut writer, &["INFO", "stats"]);
    assert!(info.contains("tracking_total_keys:1\r\n"), "{info}");
}

#[test]
fn scripts_track_their_declared_keys_when_they_read() {
    let server = TestServer::start();
    let mut writer = server.client();
    let mut c = resp3(&server);
    ok(&mut c, &["CLIENT", "TRACKING", "on"]);
    // A script that only writes tracks nothing.
    call(
        &mut c,
        &["EVAL", "redis.call('set', 'other', 'bar')", "2", "k1", "k2"],
    );
    q::<()>(&mut writer, &["MSET", "k1", "1", "k2", "1"]);
    assert_nothing_pending(&mut c);
    // One that reads tracks the keys it was given.
    call(
        &mut c,
        &["EVAL", "redis.call('get', 'other')", "2", "k1", "k2"],
    );
    q::<()>(&mut writer, &["MSET", "k2", "2", "k1", "2"]);
    assert_eq!(read_frame(&mut c), Frame::invalidate(&["k2"]));
    assert_eq!(read_frame(&mut c), Frame::invalidate(&["k1"]));
}
