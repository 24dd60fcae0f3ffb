//! A first end-to-end check that the harness and server work together.

use crate::harness::{q, TestServer};

#[test]
fn ping_set_get_over_tcp() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<String>(&mut con, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut con, &["SET", "greeting", "hello"]), "OK");
    assert_eq!(q::<String>(&mut con, &["GET", "greeting"]), "hello");
}
