//! INFO commandstats of blocking commands: a call that blocks and is run again when woken
//! counts once, as in Redis, with its failure when the run that answers fails.

use std::thread;

use redis::Value;

use crate::harness::{q, wait_for_blocked_clients, TestServer};

/// The `cmdstat_<name>` line of INFO commandstats, if any.
fn cmdstat(c: &mut redis::Connection, name: &str) -> Option<String> {
    let stats: String = q(c, &["INFO", "commandstats"]);
    let prefix = format!("cmdstat_{name}:");
    stats
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()).map(str::to_string))
}

#[test]
fn woken_blocked_reads_count_once() {
    let server = TestServer::start();
    let mut c = server.client();
    let _: Value = q(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let _: Value = q(&mut c, &["CONFIG", "RESETSTAT"]);

    // Woken by a group's destruction: the re-run fails with -NOGROUP.
    let mut reader = server.client();
    let blocked = thread::spawn(move || {
        redis::cmd("XREADGROUP")
            .arg(&["GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">"])
            .query::<Value>(&mut reader)
    });
    wait_for_blocked_clients(&server.url(), 1);
    let _: Value = q(&mut c, &["XGROUP", "DESTROY", "s", "g"]);
    let err = blocked.join().unwrap().unwrap_err();
    assert_eq!(err.code(), Some("NOGROUP"), "{err}");
    let stat = cmdstat(&mut c, "xreadgroup").expect("xreadgroup counted");
    assert!(
        stat.starts_with("calls=1,") && stat.ends_with("rejected_calls=0,failed_calls=1"),
        "{stat}"
    );
    let errors: String = q(&mut c, &["INFO", "stats"]);
    assert!(errors.contains("total_error_replies:1\r\n"), "{errors}");

    // Woken by data: one successful call.
    let mut reader = server.client();
    let blocked = thread::spawn(move || {
        redis::cmd("XREAD")
            .arg(&["BLOCK", "0", "STREAMS", "s", "$"])
            .query::<Value>(&mut reader)
    });
    wait_for_blocked_clients(&server.url(), 1);
    let _: Value = q(&mut c, &["XADD", "s", "*", "f", "v"]);
    assert_ne!(blocked.join().unwrap().unwrap(), Value::Nil);
    let stat = cmdstat(&mut c, "xread").expect("xread counted");
    assert!(
        stat.starts_with("calls=1,") && stat.ends_with("failed_calls=0"),
        "{stat}"
    );
}
